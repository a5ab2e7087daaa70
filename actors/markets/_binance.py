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
"""

from __future__ import annotations

import re
from collections.abc import Callable

from actors.core._instruments import canonical_symbol
from actors.markets._events import QUOTE, TRADE, MarketEvent

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
_FILE_SYMBOL = re.compile(r"^([A-Za-z0-9]{2,20}(?:_[A-Za-z0-9]{1,12})?)-")
_BOOLEANS = frozenset({"true", "false", "True", "False", "TRUE", "FALSE"})

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
        return (to_us(row[5]), TRADE, symbol, price, size, 0.0, 0.0)

    return parse


def trades(symbol: str, to_us: Callable[[str], int]) -> Parse:
    """A parser of trades rows (6 fields, or spot's 7 with ``is_best_match``)."""

    def parse(row: list[str]) -> MarketEvent:
        if len(row) not in (6, 7) or row[5] not in _BOOLEANS:
            raise ValueError(f"expected 6 or 7 fields with is_buyer_maker sixth, got {len(row)}")
        price, size = float(row[1]), float(row[2])
        if not (0.0 < price < 1e15 and 0.0 <= size < 1e15):
            raise ValueError("price must be > 0 and qty >= 0")
        return (to_us(row[4]), TRADE, symbol, price, size, 0.0, 0.0)

    return parse
