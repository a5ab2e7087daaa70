"""Rows of Binance's public data dumps (``bookTicker``, ``aggTrades``) as market events.

The dumps carry no symbol column: the symbol is the start of the file's
name, as Binance names them (``BTCUSDT-bookTicker-2024-01-01.csv``).  They
come with or without a header, and with timestamps in milliseconds (older
dumps) or microseconds (spot since 2025): a value below 10**14 is taken as
milliseconds, since 10**14 us is 1973 and 10**14 ms is the year 5138.
``bookTicker`` is ordered by ``transaction_time``, the clock ``aggTrades``
also uses, so quotes and trades merge on one time line.
"""

from __future__ import annotations

import re

from actors.markets.events import QUOTE, TRADE, Event

BOOK_TICKER_HEADER = (
    "update_id", "best_bid_price", "best_bid_qty", "best_ask_price", "best_ask_qty", "transaction_time", "event_time",
)  # fmt: skip
AGG_TRADES_HEADER = (
    "agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time", "is_buyer_maker",
)  # fmt: skip
MICROSECONDS_FROM = 10**14
_FILE_SYMBOL = re.compile(r"^([A-Za-z0-9]{2,20})-")
_BOOLEANS = {"true", "false", "True", "False", "TRUE", "FALSE"}


def symbol_of_file(name: str) -> str | None:
    """``BTCUSDT-aggTrades-2024-01-01.csv.gz`` -> ``BTCUSDT``; None if the name does not say."""
    match = _FILE_SYMBOL.match(name)
    return match.group(1).upper() if match else None


def microseconds(text: str) -> int:
    """A dump's timestamp in microseconds, whichever unit the file used."""
    value = int(text)
    return value * 1000 if value < MICROSECONDS_FROM else value


def looks_like_agg_trades(row: list[str]) -> bool:
    """A headerless row's shape: aggTrades ends with booleans (is_buyer_maker[, is_best_match])."""
    return len(row) in (7, 8) and row[6] in _BOOLEANS


def parse_book_ticker(row: list[str], symbol: str) -> Event:
    """A bookTicker row; ValueError (or IndexError) if it is not one."""
    if len(row) != 7:
        raise ValueError(f"expected 7 fields, got {len(row)}")
    bid, bid_size, ask, ask_size = float(row[1]), float(row[2]), float(row[3]), float(row[4])
    if not (bid > 0.0 and ask > 0.0 and 0.0 <= bid_size < 1e15 and 0.0 <= ask_size < 1e15 and ask < 1e15):
        raise ValueError("prices must be > 0 and sizes >= 0")
    return (microseconds(row[5]), QUOTE, symbol, bid, bid_size, ask, ask_size)


def parse_agg_trade(row: list[str], symbol: str) -> Event:
    """An aggTrades row (7 fields, or 8 with ``is_best_match``); ValueError (or IndexError) if it is not one."""
    if len(row) not in (7, 8) or row[6] not in _BOOLEANS:
        raise ValueError(f"expected 7 or 8 fields ending with is_buyer_maker, got {len(row)}")
    price, size = float(row[1]), float(row[2])
    if not (0.0 < price < 1e15 and 0.0 <= size < 1e15):
        raise ValueError("price must be > 0 and quantity >= 0")
    return (microseconds(row[5]), TRADE, symbol, price, size, 0.0, 0.0)
