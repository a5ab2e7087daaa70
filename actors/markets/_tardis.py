"""Rows of Tardis.dev CSV files (``quotes``, ``book_ticker``, ``trades``) as market events.

Tardis writes a header and timestamps in microseconds since the epoch.  The
replay orders by ``local_timestamp`` (when the recorder received the row,
monotonic in a Tardis file) rather than the exchange's ``timestamp``, which
may step back between rows: it is the order a live feed would have seen.
"""

from __future__ import annotations

from actors.core.instruments import canonical_symbol
from actors.markets.events import QUOTE, TRADE, Event

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


def parse_quote(row: list[str], symbols: dict[str, str]) -> Event:
    """A quotes / book_ticker row; ValueError (or IndexError) if it is not one.

    ``symbols`` caches raw names to engine names (a file names few symbols, a million times).
    """
    symbol = _symbol_of(row, symbols)
    ask_size, ask, bid, bid_size = float(row[4]), float(row[5]), float(row[6]), float(row[7])
    if not (bid > 0.0 and ask > 0.0 and 0.0 <= bid_size < 1e15 and 0.0 <= ask_size < 1e15 and ask < 1e15):
        raise ValueError("prices must be > 0 and sizes >= 0")
    return (int(row[3]), QUOTE, symbol, bid, bid_size, ask, ask_size)


def parse_trade(row: list[str], symbols: dict[str, str]) -> Event:
    """A trades row; ValueError (or IndexError) if it is not one."""
    symbol = _symbol_of(row, symbols)
    price, size = float(row[6]), float(row[7])
    if not (0.0 < price < 1e15 and 0.0 <= size < 1e15):
        raise ValueError("price must be > 0 and amount >= 0")
    return (int(row[3]), TRADE, symbol, price, size, 0.0, 0.0)
