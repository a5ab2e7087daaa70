"""Hand-made market files for tests: a few rows in the real layouts, written where a test says."""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Iterable
from pathlib import Path

from actors.markets._binance import AGG_TRADES_HEADER, BOOK_TICKER_HEADER
from actors.markets._tardis import QUOTES_HEADER, TRADES_HEADER

Quote = tuple[int, str, float | None, float, float | None, float]
"""(local timestamp us, symbol, bid, bid size, ask, ask size); a side whose price is None is written empty, as
Tardis writes an empty side of the book."""
Trade = tuple[int, str, str, float, float]
"""(local timestamp us, symbol, side, price, amount)"""


def _write(path: Path, lines: Iterable[str], *, zipped: bool = False) -> Path:
    text = "".join(line + "\n" for line in lines)
    if zipped:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def zip_of(path: Path, members: dict[str, str]) -> Path:
    """A zip archive of ``members`` (name -> text), as Binance ships its dumps (one CSV each)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def _side(price: float | None, size: float) -> tuple[str, str]:
    return ("", "") if price is None else (f"{price:g}", f"{size:g}")


def tardis_quotes(path: Path, quotes: Iterable[Quote], *, zipped: bool = False) -> Path:
    """A Tardis ``quotes`` file (exchange timestamp = local timestamp - 1)."""
    rows = (f"binance,{s},{t - 1},{t},{_side(a, asz)[1]},{_side(a, asz)[0]},{_side(b, bsz)[0]},{_side(b, bsz)[1]}"
            for t, s, b, bsz, a, asz in quotes)  # fmt: skip
    return _write(path, [",".join(QUOTES_HEADER), *rows], zipped=zipped)


def tardis_trades(path: Path, trades: Iterable[Trade], *, zipped: bool = False) -> Path:
    """A Tardis ``trades`` file."""
    rows = (f"binance,{s},{t - 1},{t},{n},{side},{p:g},{q:g}" for n, (t, s, side, p, q) in enumerate(trades, 1))
    return _write(path, [",".join(TRADES_HEADER), *rows], zipped=zipped)


def binance_book_ticker(path: Path, rows: Iterable[tuple[int, float, float, float, float]], *, header: bool) -> Path:
    """A Binance bookTicker dump: (transaction time, bid, bid qty, ask, ask qty) -> with event time + 1."""
    lines = [f"{n},{b:g},{bq:g},{a:g},{aq:g},{t},{t + 1}" for n, (t, b, bq, a, aq) in enumerate(rows, 1)]
    return _write(path, ([",".join(BOOK_TICKER_HEADER)] if header else []) + lines)


def binance_agg_trades(path: Path, rows: Iterable[tuple[int, float, float, bool]], *, header: bool) -> Path:
    """A Binance aggTrades dump: (transact time, price, quantity, is buyer maker)."""
    lines = [f"{n},{p:g},{q:g},{n},{n},{t},{str(m).lower()}" for n, (t, p, q, m) in enumerate(rows, 1)]
    return _write(path, ([",".join(AGG_TRADES_HEADER)] if header else []) + lines)


def binance_trades(path: Path, rows: Iterable[tuple[int, float, float, bool]], *, header: str = "") -> Path:
    """A Binance trades dump: (time, price, qty, is buyer maker); headerless (spot, 7 fields with is_best_match) or
    with ``header`` (futures: 6 fields, the fourth ``quote_qty`` or, COIN-M, ``base_qty``)."""
    best = "" if header else ",true"
    lines = [f"{n},{p:g},{q:g},{p * q:g},{t},{str(m).lower()}{best}" for n, (t, p, q, m) in enumerate(rows, 1)]
    return _write(path, ([header] if header else []) + lines)
