"""Profit and loss by symbol, the way a venue's statement computes it (average cost).

Each symbol keeps its signed position, the average price it was opened at
and the profit it realised.  A fill that grows the position (or opens it)
moves the average price; a fill against it realises
``closed lots x lot size x (fill price - average price)`` for a long (the
opposite sign for a short), and a fill that flips the position opens the
rest at the fill's price.  Unrealised profit is the open position marked at
the latest mid; fees are the traded notional times the maker fee (negative
for a rebate).  ``total = realised + unrealised - fees``.

Example: buy 2 at 100, buy 2 at 110 (average 105), sell 3 at 120: realised
3 x (120 - 105) = 45; 1 left long at 105, marked at 118: unrealised 13;
traded 2x100 + 2x110 + 3x120 = 780, at 2 bps: fees 0.156; total 57.844.

An inverse contract (:class:`InverseLine`) keeps its books in the base
coin, as the venues that list them do: a contract is worth a fixed amount of
USD, so a long of N contracts of value V from price A to B makes
``N x V x (1/A - 1/B)`` coin, and its average entry price is the harmonic
mean of the fill prices (``contracts / sum(contracts / price)``).  The report
converts the coin figures to USD at the symbol's mark.

Floats, summed in a fixed order (fills in the store's order), so the same
fills give the same figures to the bit on every runtime and after a resume.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class PnlLine:
    """One symbol's books: position in lots, its average price (USD), what it realised and traded (USD)."""

    position: int = 0
    average_usd: float = 0.0
    realised_usd: float = 0.0
    traded_usd: float = 0.0

    def apply(self, signed_lots: int, price_usd: float, lot_size: float) -> None:
        """One fill: ``signed_lots`` > 0 bought, < 0 sold, at ``price_usd``."""
        self.traded_usd += abs(signed_lots) * lot_size * price_usd
        position = self.position
        if position == 0 or (position > 0) == (signed_lots > 0):
            held = abs(position)
            self.average_usd = (self.average_usd * held + price_usd * abs(signed_lots)) / (held + abs(signed_lots))
            self.position = position + signed_lots
            return
        closed = min(abs(signed_lots), abs(position))
        direction = 1 if position > 0 else -1
        self.realised_usd += direction * closed * lot_size * (price_usd - self.average_usd)
        self.position = position + signed_lots
        if self.position == 0:
            self.average_usd = 0.0
        elif (self.position > 0) != (position > 0):
            self.average_usd = price_usd  # flipped: the rest opens at this fill's price

    def unrealised_usd(self, mark_usd: float, lot_size: float) -> float:
        """The open position marked at ``mark_usd``."""
        return self.position * lot_size * (mark_usd - self.average_usd)


@dataclass(slots=True)
class InverseLine(PnlLine):
    """An inverse contract's books: position in lots, average entry price (USD per coin, the harmonic mean), and
    what it realised and traded in the base coin (the inherited ``realised_usd`` and ``traded_usd`` stay 0).

    Example: long 10 contracts of 100 USD from 50,000, sold at 55,000:
    realised 10 x 100 x (1/50,000 - 1/55,000) = 0.0018182 coin, which at a
    mark of 55,000 is 100 USD; traded 1,000/50,000 + 1,000/55,000 coin.
    """

    realised_coin: float = 0.0
    traded_coin: float = 0.0

    def apply(self, signed_lots: int, price_usd: float, lot_size: float) -> None:
        """One fill: ``signed_lots`` > 0 bought, < 0 sold, at ``price_usd``; ``lot_size``: one lot's value in USD."""
        lots = abs(signed_lots)
        self.traded_coin += lots * lot_size / price_usd
        position = self.position
        if position == 0 or (position > 0) == (signed_lots > 0):
            held = abs(position)
            entry = held / self.average_usd if held else 0.0  # sum(lots / price) of what is held
            self.average_usd = (held + lots) / (entry + lots / price_usd)
            self.position = position + signed_lots
            return
        closed = min(lots, abs(position))
        direction = 1 if position > 0 else -1
        self.realised_coin += direction * closed * lot_size * (1.0 / self.average_usd - 1.0 / price_usd)
        self.position = position + signed_lots
        if self.position == 0:
            self.average_usd = 0.0
        elif (self.position > 0) != (position > 0):
            self.average_usd = price_usd  # flipped: the rest opens at this fill's price

    def unrealised_coin(self, mark_usd: float, lot_size: float) -> float:
        """The open position marked at ``mark_usd``, in coin."""
        if self.position == 0 or mark_usd <= 0:
            return 0.0
        return self.position * lot_size * (1.0 / self.average_usd - 1.0 / mark_usd)

    def unrealised_usd(self, mark_usd: float, lot_size: float) -> float:
        """The open position marked at ``mark_usd``, in coin converted to USD at the mark."""
        return self.unrealised_coin(mark_usd, lot_size) * mark_usd


def fees_usd(traded_usd: float, maker_fee_bps: float) -> float:
    """Fees on ``traded_usd`` of maker fills; negative is a rebate."""
    return traded_usd * maker_fee_bps / 1e4
