"""Rows of Binance's public data dumps (``bookTicker``, ``aggTrades``, ``trades``) as market events.

The dumps carry no symbol column: the symbol is the start of the file's
name, as Binance names them: ``BTCUSDT-bookTicker-2024-01-01.csv`` (spot
and USDⓈ-M), ``BTCUSD_PERP-trades-2024-01-01.zip`` (COIN-M perpetual),
``BTCUSDT_240927-bookTicker-2024-06-01.zip`` (delivery); the engine's name
drops the ``_`` (``BTCUSDPERP``, ``BTCUSDT240927``), as it does for a Tardis
symbol.  Files come plain, gzip or zip (one CSV inside, as
``data.binance.vision`` ships them), with or without a header, with
timestamps in milliseconds (futures, older spot) or microseconds (spot since
2025): the unit is told per file (:mod:`actors.markets._timestamps`).

``bookTicker`` is ordered by ``transaction_time``, the clock the trades use,
so quotes and trades merge on one time line.  ``trades`` dumps come in three
layouts: spot, headerless, ``id,price,qty,quote_qty,time,is_buyer_maker,
is_best_match``; USDⓈ-M, with a header, without ``is_best_match``; COIN-M,
with a header, ``base_qty`` for ``quote_qty``.  A trade's size is ``qty``,
the venue's own unit (contracts on COIN-M, as its bookTicker sizes are).

Depth comes two ways.  Binance's own depth files (``T_DEPTH``: a
``depth_snap`` and a ``depth_update`` CSV, ``symbol,timestamp,
first_update_id,last_update_id,side,update_type,price,qty,pu``), one level
a row, an update's rows sharing its ids; and captures of the WebSocket
stream as hftbacktest's collector writes them: a line is the local time
(nanoseconds, or any unit told as usual) and the raw message
(``depthUpdate``, ``trade``, ``aggTrade``, ``bookTicker``, and the REST
snapshot ``{"lastUpdateId": ...}``).  Both give each update's ids before its
levels, so the book (:mod:`actors.markets._depth`) tells a gap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from actors.core._instruments import canonical_symbol
from actors.markets._events import BOOK_RESET, BOOK_UPDATE, DEPTH, QUOTE, TRADE, MarketEvent, MarketEvents

BOOK_TICKER_HEADER = (
    "update_id", "best_bid_price", "best_bid_qty", "best_ask_price", "best_ask_qty", "transaction_time", "event_time",
)  # fmt: skip
AGG_TRADES_HEADER = (
    "agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time", "is_buyer_maker",
)  # fmt: skip
AGG_TRADES_HEADERS = (AGG_TRADES_HEADER, (*AGG_TRADES_HEADER, "is_best_match"))
TRADES_HEADER = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker")
"""USDⓈ-M futures ``trades``; spot's, headerless, add ``is_best_match``; COIN-M's have ``base_qty``."""
TRADES_HEADERS = (
    TRADES_HEADER,
    (*TRADES_HEADER, "is_best_match"),
    ("id", "price", "qty", "base_qty", "time", "is_buyer_maker"),
)
DEPTH_HEADER = ("symbol", "timestamp", "first_update_id", "last_update_id", "side", "update_type", "price", "qty",
                "pu")  # fmt: skip
CAPTURE_LINE = re.compile(r"^[0-9]{9,20} [{\[]")
"""A capture's line: a timestamp, one space, a JSON message."""
_CAPTURE_SYMBOL = re.compile(r"^([A-Za-z0-9]{2,20})_")
"""hftbacktest's collector names a capture ``btcusdt_20240808.gz``."""
_FILE_SYMBOL = re.compile(r"^([A-Za-z0-9]{2,20}(?:_[A-Za-z0-9]{1,12})?)-")
_BOOLEANS = frozenset({"true", "false", "True", "False", "TRUE", "FALSE"})
_TRUE = frozenset({"true", "True", "TRUE"})
"""``is_buyer_maker`` true: the seller took the bid (aggressor -1)."""

Parse = Callable[[list[str]], MarketEvent]


def symbol_of_file(name: str) -> str | None:
    """``BTCUSDT-aggTrades-2024-01-01.csv.gz`` -> ``BTCUSDT``, ``BTCUSD_PERP-trades-...`` -> ``BTCUSDPERP``; None if
    the name does not say."""
    match = _FILE_SYMBOL.match(name)
    return canonical_symbol(match.group(1)) if match else None


def looks_like_agg_trades(row: list[str]) -> bool:
    """A headerless row's shape: aggTrades ends with booleans after the time (is_buyer_maker[, is_best_match])."""
    return len(row) in (7, 8) and row[6] in _BOOLEANS and row[5] not in _BOOLEANS


def looks_like_trades(row: list[str]) -> bool:
    """A headerless row's shape: trades has is_buyer_maker sixth (and spot's is_best_match seventh)."""
    return len(row) in (6, 7) and row[5] in _BOOLEANS and (len(row) == 6 or row[6] in _BOOLEANS)


def book_ticker(symbol: str, to_us: Callable[[str], int]) -> Parse:
    """A parser of bookTicker rows; it raises ValueError (or IndexError) on a row that is not one."""

    def parse(row: list[str]) -> MarketEvent:
        if len(row) != 7:
            raise ValueError(f"expected 7 fields, got {len(row)}")
        bid, bid_size, ask, ask_size = float(row[1]), float(row[2]), float(row[3]), float(row[4])
        if not (bid > 0.0 and ask > 0.0 and 0.0 <= bid_size < 1e15 and 0.0 <= ask_size < 1e15 and ask < 1e15):
            raise ValueError("prices must be > 0 and sizes >= 0")
        return (to_us(row[5]), QUOTE, symbol, bid, bid_size, ask, ask_size)

    return parse


def agg_trades(symbol: str, to_us: Callable[[str], int]) -> Parse:
    """A parser of aggTrades rows (7 fields, or 8 with ``is_best_match``)."""

    def parse(row: list[str]) -> MarketEvent:
        if len(row) not in (7, 8) or row[6] not in _BOOLEANS:
            raise ValueError(f"expected 7 or 8 fields ending with is_buyer_maker, got {len(row)}")
        price, size = float(row[1]), float(row[2])
        if not (0.0 < price < 1e15 and 0.0 <= size < 1e15):
            raise ValueError("price must be > 0 and quantity >= 0")
        return (to_us(row[5]), TRADE, symbol, price, size, -1.0 if row[6] in _TRUE else 1.0, 0.0)

    return parse


def trades(symbol: str, to_us: Callable[[str], int]) -> Parse:
    """A parser of trades rows (6 fields, or spot's 7 with ``is_best_match``)."""

    def parse(row: list[str]) -> MarketEvent:
        if len(row) not in (6, 7) or row[5] not in _BOOLEANS:
            raise ValueError(f"expected 6 or 7 fields with is_buyer_maker sixth, got {len(row)}")
        price, size = float(row[1]), float(row[2])
        if not (0.0 < price < 1e15 and 0.0 <= size < 1e15):
            raise ValueError("price must be > 0 and qty >= 0")
        return (to_us(row[4]), TRADE, symbol, price, size, -1.0 if row[5] in _TRUE else 1.0, 0.0)

    return parse


def depth(_symbol: str, to_us: Callable[[str], int]) -> Callable[[list[str]], MarketEvents]:
    """A parser of ``T_DEPTH`` rows (snap and update files alike): each update's ids, then its levels.

    The first row of a snapshot (``update_type`` ``snap``) starts it with a
    reset carrying its ``last_update_id``; the first row of an update
    (``set``) with new ids puts them first, ``pu`` -1 (spot) meaning none.
    """
    symbols: dict[str, str] = {}
    current: list[str] = ["", "", ""]
    """The last row's update_type, first_update_id, last_update_id."""

    def parse(row: list[str]) -> MarketEvents:
        if len(row) != 9:
            raise ValueError(f"expected 9 fields, got {len(row)}")
        raw = row[0]
        symbol = symbols.get(raw)
        if symbol is None:
            symbol = symbols[raw] = canonical_symbol(raw)
        side = 1.0 if row[4] == "b" else -1.0 if row[4] == "a" else 0.0
        price, size = float(row[6]), float(row[7])
        if not (side and 0.0 < price < 1e15 and 0.0 <= size < 1e15):
            raise ValueError("side must be b or a, price > 0 and qty >= 0")
        at = to_us(row[1])
        level = (at, DEPTH, symbol, price, size, side, 0.0)
        kind, first, final = row[5], row[2], row[3]
        if kind == current[0] and first == current[1] and final == current[2]:
            return level
        current[:] = kind, first, final
        if kind == "snap":
            return [(at, DEPTH, symbol, 0.0, float(final), BOOK_RESET, 0.0), level]
        if kind != "set":
            raise ValueError(f"update_type must be snap or set, got {kind!r}")
        return [(at, DEPTH, symbol, float(first), float(final), BOOK_UPDATE, float(row[8])), level]

    return parse


def capture_symbol(name: str) -> str:
    """The symbol a capture's file name gives (``btcusdt_20240808.gz`` -> ``BTCUSDT``), or ``""``."""
    match = _CAPTURE_SYMBOL.match(name)
    return canonical_symbol(match.group(1)) if match else ""


def capture(symbol: str, to_us: Callable[[str], int]) -> Callable[[list[str]], MarketEvents]:
    """A parser of a WebSocket capture's lines (each handed whole, as a row of one field).

    A message names its symbol (``s``); a REST snapshot does not, and is the
    symbol of the messages before it, or of the file's name.  Other messages
    (mark prices, errors) are no market rows: nothing.
    """
    last = [symbol]

    def parse(row: list[str]) -> MarketEvents:
        stamp, _, text = row[0].partition(" ")
        local = to_us(stamp)
        message = json.loads(text)
        if not isinstance(message, dict):
            raise ValueError("expected a JSON object after the timestamp")
        data = message.get("data", message)
        kind = data.get("e")
        if kind is None:
            if "lastUpdateId" not in data:
                return []
            if not last[0]:
                raise ValueError("a snapshot before any message naming its symbol, in a file whose name does not")
            return _capture_snapshot(local, last[0], data)
        name = last[0] = canonical_symbol(str(data["s"]))
        if kind == "depthUpdate":
            latency = float(local - int(data.get("T", data["E"])) * 1000)
            events: list[MarketEvent] = [
                (local, DEPTH, name, float(data["U"]), float(data["u"]), BOOK_UPDATE, float(data.get("pu", -1)))
            ]
            _levels(events, local, name, data["b"], 1.0, latency=latency)
            _levels(events, local, name, data["a"], -1.0, latency=latency)
            return events
        if kind in ("trade", "aggTrade"):
            if data.get("X", "MARKET") != "MARKET":
                return []  # futures' insurance-fund and ADL trades are no market trades
            price, size = float(data["p"]), float(data["q"])
            if not (0.0 < price < 1e15 and 0.0 <= size < 1e15):
                raise ValueError("price must be > 0 and quantity >= 0")
            latency = float(local - int(data.get("T", data["E"])) * 1000)
            return (local, TRADE, name, price, size, -1.0 if data["m"] else 1.0, latency)
        if kind == "bookTicker":
            bid, bid_size, ask, ask_size = float(data["b"]), float(data["B"]), float(data["a"]), float(data["A"])
            if not (bid > 0.0 and 0.0 < ask < 1e15 and 0.0 <= bid_size < 1e15 and 0.0 <= ask_size < 1e15):
                raise ValueError("prices must be > 0 and sizes >= 0")
            return (local, QUOTE, name, bid, bid_size, ask, ask_size)
        return []

    return parse


def _capture_snapshot(local: int, symbol: str, data: dict[str, Any]) -> list[MarketEvent]:
    events: list[MarketEvent] = [(local, DEPTH, symbol, 0.0, float(data["lastUpdateId"]), BOOK_RESET, 0.0)]
    _levels(events, local, symbol, data["bids"], 1.0, latency=0.0)
    _levels(events, local, symbol, data["asks"], -1.0, latency=0.0)
    return events


def _levels(events: list[MarketEvent], local: int, symbol: str, levels: list[list[str]], side: float, *,
            latency: float) -> None:  # fmt: skip
    for price_text, size_text in levels:
        price, size = float(price_text), float(size_text)
        if not (0.0 < price < 1e15 and 0.0 <= size < 1e15):
            raise ValueError("prices must be > 0 and quantities >= 0")
        events.append((local, DEPTH, symbol, price, size, side, latency))
