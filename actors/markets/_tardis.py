"""Rows of Tardis.dev CSV files (``quotes``, ``book_ticker``, ``trades``, ``incremental_book_L2``,
``book_snapshot_N``) as market events.

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
from actors.markets._events import BOOK_RESET, DEPTH, NO_ASK, NO_BID, QUOTE, TRADE, MarketEvent, MarketEvents

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
INCREMENTAL_HEADER = ("exchange", "symbol", "timestamp", "local_timestamp", "is_snapshot", "side", "price", "amount")
SNAPSHOT_LEVELS = (5, 10, 25)
"""The ``book_snapshot_N`` data sets Tardis offers."""


def snapshot_header(levels: int) -> tuple[str, ...]:
    """``book_snapshot_N``'s header: the row's times, then asks[i] and bids[i] (price, amount) for each level."""
    fields = ["exchange", "symbol", "timestamp", "local_timestamp"]
    for i in range(levels):
        fields += [f"asks[{i}].price", f"asks[{i}].amount", f"bids[{i}].price", f"bids[{i}].amount"]
    return tuple(fields)


SNAPSHOT_HEADERS = tuple(snapshot_header(n) for n in SNAPSHOT_LEVELS)
_SIDES = {"bid": 1.0, "ask": -1.0}

Parse = Callable[[list[str]], MarketEvent]
_AGGRESSOR = {"buy": 1.0, "sell": -1.0}
"""A trade's ``side`` is its taker's (Tardis: ``buy``, ``sell`` or ``unknown``)."""


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
        symbol = symbols.get(row[1]) if len(row) == 8 else None  # _symbol_of inlined: a million rows a minute
        if symbol is None:
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
        local = to_us(row[3])
        return (local, TRADE, symbol, price, size, _AGGRESSOR.get(row[5], 0.0), float(local - to_us(row[2])))

    return parse


def incremental_book(_symbol: str, to_us: Callable[[str], int]) -> Callable[[list[str]], MarketEvents]:
    """A parser of ``incremental_book_L2`` rows: one level each, absolute sizes (0 removes the level).

    ``is_snapshot`` rows are the book's initial state (and again after
    Tardis reconnected to the venue): the first of a run of them starts a
    snapshot (a reset marker first), as Tardis documents.
    """
    symbols: dict[str, str] = {}
    in_snapshot: dict[str, bool] = {}

    def parse(row: list[str]) -> MarketEvents:
        symbol = _symbol_of(row, symbols)
        side = _SIDES.get(row[5])
        if side is None:
            raise ValueError(f"side must be bid or ask, got {row[5]!r}")
        price, size = float(row[6]), float(row[7])
        if not (0.0 < price < 1e15 and 0.0 <= size < 1e15):
            raise ValueError("price must be > 0 and amount >= 0")
        local = to_us(row[3])
        level = (local, DEPTH, symbol, price, size, side, float(local - to_us(row[2])))
        snapshot = row[4] == "true"
        if snapshot and not in_snapshot.get(symbol, False):
            in_snapshot[symbol] = True
            return [(local, DEPTH, symbol, 0.0, 0.0, BOOK_RESET, 0.0), level]
        if not snapshot and row[4] != "false":
            raise ValueError(f"is_snapshot must be true or false, got {row[4]!r}")
        in_snapshot[symbol] = snapshot
        return level

    return parse


def book_snapshot(_symbol: str, to_us: Callable[[str], int]) -> Callable[[list[str]], MarketEvents]:
    """A parser of ``book_snapshot_N`` rows: each row the whole top N, so a reset and its levels.

    A level Tardis left empty (the book had fewer levels) is absent.
    """
    symbols: dict[str, str] = {}

    def parse(row: list[str]) -> MarketEvents:
        count = len(row) - 4
        if count < 4 or count % 4:
            raise ValueError(f"expected 4 fields and 4 a level, got {len(row)}")
        raw = row[1]
        symbol = symbols.get(raw)
        if symbol is None:
            symbol = symbols[raw] = symbol_name(raw)
        local = to_us(row[3])
        latency = float(local - to_us(row[2]))
        events: list[MarketEvent] = [(local, DEPTH, symbol, 0.0, 0.0, BOOK_RESET, 0.0)]
        for at in range(4, len(row), 4):
            for offset, side in ((2, 1.0), (0, -1.0)):  # the bid, then the ask, of level i
                price_text, size_text = row[at + offset], row[at + offset + 1]
                if not price_text and not size_text:
                    continue
                price, size = float(price_text), float(size_text)
                if not (0.0 < price < 1e15 and 0.0 <= size < 1e15):
                    raise ValueError("prices must be > 0 and amounts >= 0")
                events.append((local, DEPTH, symbol, price, size, side, latency))
        return events

    return parse
