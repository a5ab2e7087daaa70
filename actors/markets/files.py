"""Recorded market files: recognised, streamed row by row, validated, merged on one time line.

A file is never loaded whole: :class:`MarketFile` yields one validated
event per row from an open stream, plain or gzip (told by its first bytes,
not its name), so a replay's memory does not grow with the file.  Its
format is named (:data:`FORMATS`) or recognised from the header, or, for a
headerless Binance dump, from the shape of the first row.

A bad row is one line naming the file and the line (:class:`MarketDataError`),
or, with ``on_bad_row="skip"``, counted by kind (:data:`BAD_ROW_KINDS`) and
left out: a row that does not parse, a row earlier than the one before it
in the same file, a quote whose bid is at or above its ask.  Every reader of
the same file skips the same rows, so a run that skips is still deterministic.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import heapq
import io
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from actors.markets import _binance, _tardis
from actors.markets.events import QUOTE, Event, MarketDataError

BAD_ROW_POLICIES = ("error", "skip")


@dataclass(frozen=True)
class Format:
    """One file layout: its header, how a row becomes an event, where the symbol comes from."""

    name: str
    header: tuple[str, ...]
    quotes: bool
    symbol_in_file_name: bool
    parse: Callable[[list[str], Any], Event]
    """Takes the row and the file's context: the symbol (Binance) or a cache of symbol names (Tardis)."""


FORMATS: dict[str, Format] = {
    "tardis-quotes": Format("tardis-quotes", _tardis.QUOTES_HEADER, True, False, _tardis.parse_quote),
    "tardis-trades": Format("tardis-trades", _tardis.TRADES_HEADER, False, False, _tardis.parse_trade),
    "binance-book-ticker": Format(
        "binance-book-ticker", _binance.BOOK_TICKER_HEADER, True, True, _binance.parse_book_ticker
    ),
    "binance-agg-trades": Format(
        "binance-agg-trades", _binance.AGG_TRADES_HEADER, False, True, _binance.parse_agg_trade
    ),
}
"""Every layout by the name ``--market-format`` takes (Tardis ``book_ticker`` files have the quotes layout)."""
FORMAT_NAMES = ("auto", "tardis-quotes", "tardis-book-ticker", "tardis-trades", "binance-book-ticker",
                "binance-agg-trades")  # fmt: skip
"""What ``--market-format`` takes: ``auto`` (recognise each file) or one layout for every file."""
_ALIASES = {"tardis-book-ticker": "tardis-quotes"}


def open_text(path: Path) -> IO[str]:
    """``path`` as text, decompressed if its first bytes are gzip's; OSError if it cannot be opened."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        # fewer, larger reads of the stream; the caller closes what it is handed (SIM115)
        unzipped = io.BufferedReader(gzip.open(path, "rb"), buffer_size=1 << 16)  # noqa: SIM115
        return io.TextIOWrapper(unzipped, encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")  # -sig: a byte-order mark some exporters write is not data


def _first_row(path: Path) -> list[str] | None:
    try:
        with open_text(path) as handle:
            for _ in range(100):  # a bounded look: a file of one endless line is not read to its end
                line = handle.readline(1 << 16)
                if not line:
                    break
                row = next(csv.reader([line]), [])
                if row:
                    return row
    except FileNotFoundError:
        raise MarketDataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MarketDataError(f"{path}: is a directory") from None
    except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error) as exc:
        raise MarketDataError(f"{path}: cannot read: {exc}") from None
    return None


def detect_format(path: Path, named: str = "auto") -> tuple[Format, bool]:
    """The file's format and whether its first row is a header; MarketDataError if unknown or empty."""
    first = _first_row(path)
    if first is None:
        raise MarketDataError(f"{path}: empty: no rows")
    header = tuple(cell.strip() for cell in first)
    if named != "auto":
        fmt = FORMATS[_ALIASES.get(named, named)]
        return fmt, _is_header(header, fmt)
    for fmt in FORMATS.values():
        if _is_header(header, fmt):
            return fmt, True
    if len(first) in (7, 8) and all(cell.strip().lstrip("-").replace(".", "", 1).isdigit() for cell in first[:6]):
        fmt = FORMATS["binance-agg-trades" if _binance.looks_like_agg_trades(first) else "binance-book-ticker"]
        if len(first) == 7 or fmt.name == "binance-agg-trades":
            return fmt, False
    shown = ",".join(first)[:120]
    raise MarketDataError(
        f"{path}:1: unknown market format (first row {shown!r}); name it with --market-format "
        f"({', '.join(FORMAT_NAMES[1:])})"
    )


def _is_header(cells: tuple[str, ...], fmt: Format) -> bool:
    """The format's header (aggTrades dumps may add ``is_best_match``)."""
    return cells == fmt.header or (fmt.name == "binance-agg-trades" and cells == (*fmt.header, "is_best_match"))


class MarketFile:
    """One market file, read as a stream of validated events (iterate it; each iteration reads it anew)."""

    def __init__(self, path: Path, named_format: str = "auto", *, on_bad_row: str = "error") -> None:
        if on_bad_row not in BAD_ROW_POLICIES:
            raise ValueError(f"on_bad_row must be one of {BAD_ROW_POLICIES}, got {on_bad_row!r}")
        self.path = path
        self.format, self.has_header = detect_format(path, named_format)
        self.on_bad_row = on_bad_row
        self.skipped: Counter[str] = Counter()
        """Rows left out by the last complete iteration, by kind."""
        self.symbol = ""
        if self.format.symbol_in_file_name:
            symbol = _binance.symbol_of_file(path.name)
            if symbol is None:
                raise MarketDataError(
                    f"{path}: a Binance dump names its symbol in the file name (BTCUSDT-bookTicker-....csv)"
                )
            self.symbol = symbol

    def __iter__(self) -> Iterator[Event]:
        path, fmt = self.path, self.format
        parse = fmt.parse
        context: object = self.symbol if fmt.symbol_in_file_name else {}
        skip = self.on_bad_row == "skip"
        skipped: Counter[str] = Counter()
        last = -(1 << 62)
        reader: Any = None
        try:
            with open_text(path) as handle:
                reader = csv.reader(_bounded_lines(handle, path))
                if self.has_header:
                    next((row for row in reader if row), None)  # blank lines before the header are no rows
                for row in reader:
                    if not row:
                        continue
                    try:
                        event = parse(row, context)
                    except (ValueError, IndexError, OverflowError) as exc:
                        if not skip:
                            line = reader.line_num
                            raise MarketDataError(f"{path}:{line}: malformed {fmt.name} row: {exc}") from None
                        skipped["malformed"] += 1
                        continue
                    if event[0] < last:
                        if not skip:
                            line = reader.line_num
                            raise MarketDataError(
                                f"{path}:{line}: goes back in time ({event[0]} us after {last} us); "
                                "--on-bad-row skip leaves such rows out"
                            )
                        skipped["back_in_time"] += 1
                        continue
                    if event[1] == QUOTE and event[3] >= event[5]:
                        if not skip:
                            line = reader.line_num
                            raise MarketDataError(
                                f"{path}:{line}: crossed quote (bid {event[3]:g} >= ask {event[5]:g}); "
                                "--on-bad-row skip leaves such rows out"
                            )
                        skipped["crossed"] += 1
                        continue
                    last = event[0]
                    yield event
        except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error) as exc:
            line = max(reader.line_num, 1) if reader is not None else 1
            raise MarketDataError(f"{path}:{line}: cannot read: {exc}") from None
        self.skipped = skipped


MAX_LINE_CHARS = 1 << 20
"""A market row is short; a longer line (a file that is not market data, a line with no end) is refused
before it is held whole in memory."""


def _bounded_lines(handle: IO[str], path: Path) -> Iterator[str]:
    """The lines of ``handle``, each read with a bound: memory never follows one line's length."""
    readline, number = handle.readline, 0
    while True:
        line = readline(MAX_LINE_CHARS)
        if not line:
            return
        number += 1
        if len(line) == MAX_LINE_CHARS and not line.endswith("\n"):
            limit = f"{MAX_LINE_CHARS:,}"
            raise MarketDataError(f"{path}:{number}: a line longer than {limit} characters: not a market row")
        yield line


def merged(files: Sequence[MarketFile]) -> Iterator[Event]:
    """Every file's events on one time line; equal timestamps keep the files' order (stable, deterministic)."""
    if len(files) == 1:
        return iter(files[0])
    return heapq.merge(*files, key=_timestamp)


def _timestamp(event: Event) -> int:
    return event[0]


def file_identity(path: Path) -> tuple[str, int, str]:
    """(name, size, blake2b of the bytes): what a journal is written under, wherever the file is moved."""
    digest = hashlib.blake2b(digest_size=16)
    size = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise MarketDataError(f"{path}: cannot read: {exc}") from None
    return (path.name, size, digest.hexdigest())


@dataclass
class SymbolSummary:
    """What a scan learnt of one symbol."""

    first_mid: float = 0.0
    first_at: int = 1 << 62
    has_quotes: bool = False
    price_decimals: int = 0
    size_decimals: int = 0
    seen: int = 0
    max_price: float = 0.0
    """The highest price (ask or trade): it must fit the wire in ticks.  Sizes need no bound: only our
    orders' sizes, never the market's, cross the wire."""
    min_price: float = float("inf")
    """The lowest price (bid or trade): it must be at least one tick, or prices round to nothing."""


@dataclass
class Scan:
    """One pass over every file, before the run: the time span, the symbols, the rows, the bad rows."""

    first_us: int = 1 << 62
    last_us: int = -(1 << 62)
    quotes: int = 0
    trades: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    symbols: dict[str, SymbolSummary] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows replayed (bad rows skipped are not among them)."""
        return self.quotes + self.trades


DECIMALS_FROM_ROWS = 100
"""A symbol's price and size decimals (its tick and lot when no table names it) are read from its first rows."""


def scan(files: Sequence[MarketFile]) -> Scan:
    """Read every file once: every bad row is found before the run starts (an error, or counted)."""
    result = Scan()
    for market_file in files:
        symbols = result.symbols
        for event in market_file:
            at, kind, symbol = event[0], event[1], event[2]
            summary = symbols.get(symbol)
            if summary is None:
                summary = symbols[symbol] = SymbolSummary()
            high = event[5] if kind == QUOTE else event[3]
            if high > summary.max_price:  # noqa: PLR1730 -- a comparison, not a call: a million times a minute
                summary.max_price = high
            low = event[3]  # the bid, or the trade's price
            if low < summary.min_price:  # noqa: PLR1730
                summary.min_price = low
            if kind == QUOTE:
                result.quotes += 1
                if not summary.has_quotes or at < summary.first_at:
                    summary.has_quotes, summary.first_at, summary.first_mid = True, at, (event[3] + event[5]) / 2
            else:
                result.trades += 1
                if not summary.has_quotes and at < summary.first_at:
                    summary.first_at, summary.first_mid = at, event[3]
            if summary.seen < DECIMALS_FROM_ROWS:
                summary.seen += 1
                prices = (event[3], event[5]) if kind == QUOTE else (event[3],)
                sizes = (event[4], event[6]) if kind == QUOTE else (event[4],)
                summary.price_decimals = max(summary.price_decimals, *map(_decimals, prices))
                summary.size_decimals = max(summary.size_decimals, *map(_decimals, sizes))
            result.first_us = min(result.first_us, at)
            result.last_us = max(result.last_us, at)
        result.skipped.update(market_file.skipped)
    return result


def _decimals(value: float) -> int:
    """Decimal places of a price or size as the file wrote it (repr gives the shortest exact form)."""
    text = repr(value)
    if "e" in text or "E" in text:
        mantissa, _, exponent = text.lower().partition("e")
        places = len(mantissa.partition(".")[2].rstrip("0")) - int(exponent)
        return max(0, min(12, places))
    return min(12, len(text.partition(".")[2].rstrip("0")))
