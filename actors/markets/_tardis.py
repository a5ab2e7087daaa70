"""Rows of Tardis.dev CSV files (``quotes``, ``book_ticker``, ``trades``) as market events.

Tardis writes a header and timestamps in microseconds since the epoch (the
unit is still told per file, :mod:`actors.markets._timestamps`: a file
converted to nanoseconds is not read as the year 52,000).  The replay orders
by ``local_timestamp`` (when the recorder received the row, monotonic in a
Tardis file) rather than the exchange's ``timestamp``, which may step back
between rows: it is the order a live feed would have seen.

Tardis leaves a quote's side empty when that side of the book is empty
(``binance,BTCUSDT,..,..,,,100.5,2``: no ask).  The side is then absent
(:data:`~actors.markets._events.NO_BID`, :data:`~actors.markets._events.NO_ASK`),
not an error and not a price of 0 (NautilusTrader's loader reads 0, which
would halve the mid).
"""

from __future__ import annotations

from collections.abc import Callable

from actors.core._instruments import canonical_symbol
from actors.markets._events import NO_ASK, NO_BID, QUOTE, TRADE, MarketEvent

QUOTES_HEADER = (
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "ask_amount",
    "ask_price",
    "bid_price",
    "bid_amount",
)
TRADES_HEADER = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount")

Parse = Callable[[list[str]], MarketEvent]


def symbol_name(raw: str) -> str:
    """A venue's symbol as the engine names it: upper case, no separators (``btc-usdt`` -> ``BTCUSDT``)."""
    return canonical_symbol(raw)


def _symbol_of(row: list[str], symbols: dict[str, str]) -> str:
    """The engine's name of a row's symbol (a Tardis row has 8 fields; the symbol is the second)."""
    if len(row) != 8:
        raise ValueError(f"expected 8 fields, got {len(row)}")
    raw = row[1]
    symbol = symbols.get(raw)
    if symbol is None:
        symbol = symbols[raw] = symbol_name(raw)
    return symbol


def quotes(_symbol: str, to_us: Callable[[str], int]) -> Parse:
    """A parser of quotes / book_ticker rows; it raises ValueError (or IndexError) on a row that is not one.

    It caches raw names to engine names (a file names few symbols, a million times).
    """
    symbols: dict[str, str] = {}

    def parse(row: list[str]) -> MarketEvent:
        symbol = _symbol_of(row, symbols)
        if not (row[5] and row[6] and row[4] and row[7]):
            return _one_sided(row, symbol, to_us)
        ask_size, ask, bid, bid_size = float(row[4]), float(row[5]), float(row[6]), float(row[7])
        if not (bid > 0.0 and ask > 0.0 and 0.0 <= bid_size < 1e15 and 0.0 <= ask_size < 1e15 and ask < 1e15):
            raise ValueError("prices must be > 0 and sizes >= 0")
        return (to_us(row[3]), QUOTE, symbol, bid, bid_size, ask, ask_size)

    return parse


def _one_sided(row: list[str], symbol: str, to_us: Callable[[str], int]) -> MarketEvent:
    """A quote with an empty side (both its price and its amount empty): that side absent."""
    if bool(row[4]) != bool(row[5]) or bool(row[6]) != bool(row[7]):
        raise ValueError("a side's price and amount are both empty (no such side) or both given")
    ask_size, ask = (float(row[4]), float(row[5])) if row[5] else (0.0, NO_ASK)
    bid, bid_size = (float(row[6]), float(row[7])) if row[6] else (NO_BID, 0.0)
    if not ((bid > 0.0 or not row[6]) and ask > 0.0 and (ask < 1e15 or not row[5])
            and 0.0 <= bid_size < 1e15 and 0.0 <= ask_size < 1e15):  # fmt: skip
        raise ValueError("prices must be > 0 and sizes >= 0")
    return (to_us(row[3]), QUOTE, symbol, bid, bid_size, ask, ask_size)


def trades(_symbol: str, to_us: Callable[[str], int]) -> Parse:
    """A parser of trades rows; it raises ValueError (or IndexError) on a row that is not one."""
    symbols: dict[str, str] = {}

    def parse(row: list[str]) -> MarketEvent:
        symbol = _symbol_of(row, symbols)
        price, size = float(row[6]), float(row[7])
        if not (0.0 < price < 1e15 and 0.0 <= size < 1e15):
            raise ValueError("price must be > 0 and amount >= 0")
        return (to_us(row[3]), TRADE, symbol, price, size, 0.0, 0.0)

    return parse
