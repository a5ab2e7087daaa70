"""Reduce-only at the venue: how much an order may trade without growing or flipping a position.

Risk sizes a reduce-only order from its own position, which lags the venue's
by the fills in flight, and a hostile venue can fill an order in the very
request that tries to cancel it (a cancel race), or refuse the cancel so
the earlier order keeps working.  Checked against the venue's position and
its open orders at the moment of placing, the order is truly reduce-only:
the lots still working on the reducing side are counted as spent.
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.core._exchange import ExchangeOrder
from actors.core._types import Side

__all__ = ["VenueView", "reduce_only_refusal", "reduce_only_room"]


def reduce_only_room(symbol: str, side: Side, position: int, open_orders: Iterable[ExchangeOrder]) -> int:
    """Lots an order of ``symbol`` on ``side`` may still trade toward zero (0: it would only grow |position|)."""
    if int(side) * position >= 0:
        return 0
    working = sum(o.qty_lots - o.filled_lots for o in open_orders if o.symbol == symbol and int(o.side) == int(side))
    return max(0, abs(position) - working)


def reduce_only_refusal(
    symbol: str, side: Side, qty_lots: int, position: int, open_orders: Iterable[ExchangeOrder], *, spent: int = 0
) -> str | None:
    """Why an order of ``qty_lots`` is not reduce-only at the venue, or None if it is.

    ``spent``: lots of the same side let through since the venue was read (earlier orders of the same request).
    """
    room = max(0, reduce_only_room(symbol, side, position, open_orders) - spent)
    if qty_lots <= room:
        return None
    return f"reduce-only: {symbol} {qty_lots} lots > {room} left to reduce at the venue (position {position})"


class VenueView:
    """What the venue holds, for checking one request's reduce-only placements.

    Read once per request (after its cancels); each order let through counts
    as working from then on, so two placements of one request cannot both
    use the same room.  A view the venue could not give (``error``) refuses
    every placement with that error: the safe side.
    """

    def __init__(self, positions: dict[str, int], orders: Iterable[ExchangeOrder], error: str = "") -> None:
        self.positions = positions
        self.by_symbol: dict[str, list[ExchangeOrder]] = {}
        for order in orders:
            self.by_symbol.setdefault(order.symbol, []).append(order)
        self.spent: dict[tuple[str, int], int] = {}
        self.error = error

    def refusal(self, symbol: str, side: Side, qty_lots: int) -> str | None:
        """Why this placement would grow or flip the venue's position, or None if it only reduces it."""
        if self.error:
            return self.error
        position, spent = self.positions.get(symbol, 0), self.spent.get((symbol, int(side)), 0)
        return reduce_only_refusal(symbol, side, qty_lots, position, self.by_symbol.get(symbol, []), spent=spent)

    def spend(self, symbol: str, side: Side, qty_lots: int) -> None:
        """The placement goes out: its lots are working on its side from now on."""
        key = (symbol, int(side))
        self.spent[key] = self.spent.get(key, 0) + qty_lots
