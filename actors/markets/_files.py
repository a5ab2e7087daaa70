"""Recorded market files: recognised, streamed row by row, validated, merged on one time line.

A file is never loaded whole: :class:`MarketFile` yields one validated
event per row from an open stream, plain, gzip or zip (one CSV inside, as
Binance ships them; told by the first bytes, not the name), so a replay's
memory does not grow with the file.  Its format is named (:data:`FORMATS`)
or recognised from the header, or, for a headerless Binance dump, from the
shape of the first row; a named format whose header is another's is refused,
not read as rows.  Its timestamp unit is told from the first row
(:mod:`actors.markets._timestamps`) or named.

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
import itertools
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from actors.markets import _binance, _tardis
from actors.markets._depth import Sequencer
from actors.markets._events import (
    BOOK_RESET,
    BOOK_UPDATE,
    DEPTH,
    NO_ASK,
    NO_BID,
    QUOTE,
    MarketDataError,
    MarketEvent,
    MarketEvents,
)
from actors.markets._timestamps import CONVERTERS, UNITS, unit_of

BAD_ROW_POLICIES = ("error", "skip")
TIME_UNITS = ("auto", *UNITS)
"""What ``--market-time-unit`` takes: ``auto`` (told from each file's first row) or one unit for every file."""
_READ_ERRORS = (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error, zipfile.BadZipFile)
"""What reading a damaged file raises: a truncated gzip or zip, a bad CRC, bytes that are not UTF-8."""

Parser = Callable[[str, Callable[[str], int]], Callable[[list[str]], MarketEvents]]
"""Makes a file's row parser from its symbol (Binance: from the file name) and its timestamp converter; a row
parser returns one event, or a list of them (a snapshot's levels, a message's)."""


@dataclass(frozen=True)
class Format:
    """One file layout: its header(s), how a row becomes an event, where the symbol and the time are."""

    name: str
    headers: tuple[tuple[str, ...], ...]
    """The header this layout is written with (the first), and the variants recognised as it."""
    quotes: bool
    symbol_in_file_name: bool
    parser: Parser
    time_column: int
    """The column the replay orders by (its name is in the header)."""
    raw_lines: bool = False
    """Rows are whole lines, not CSV (a capture: a timestamp and a JSON message a line); no header."""

    @property
    def header(self) -> tuple[str, ...]:
        """The layout's header, as a named format expects it."""
        return self.headers[0]

    @property
    def time_name(self) -> str:
        """The name of the time column."""
        return self.header[self.time_column]


FORMATS: dict[str, Format] = {
    "tardis-quotes": Format("tardis-quotes", (_tardis.QUOTES_HEADER,), True, False, _tardis.quotes, 3),
    "tardis-trades": Format("tardis-trades", (_tardis.TRADES_HEADER,), False, False, _tardis.trades, 3),
    "binance-book-ticker": Format(
        "binance-book-ticker", (_binance.BOOK_TICKER_HEADER,), True, True, _binance.book_ticker, 5
    ),
    "binance-agg-trades": Format(
        "binance-agg-trades", _binance.AGG_TRADES_HEADERS, False, True, _binance.agg_trades, 5
    ),
    "binance-trades": Format("binance-trades", _binance.TRADES_HEADERS, False, True, _binance.trades, 4),
    "tardis-book-l2": Format(
        "tardis-book-l2", (_tardis.INCREMENTAL_HEADER,), True, False, _tardis.incremental_book, 3
    ),
    "tardis-book-snapshot": Format(
        "tardis-book-snapshot", _tardis.SNAPSHOT_HEADERS, True, False, _tardis.book_snapshot, 3
    ),
    "binance-depth": Format("binance-depth", (_binance.DEPTH_HEADER,), True, False, _binance.depth, 1),
    "binance-ws-capture": Format(
        "binance-ws-capture", (("local_timestamp message",),), True, False, _binance.capture, 0, raw_lines=True
    ),
}
"""Every layout by the name ``--market-format`` takes (Tardis ``book_ticker`` files have the quotes layout)."""
FORMAT_NAMES = ("auto", "tardis-quotes", "tardis-book-ticker", "tardis-trades", "tardis-book-l2",
                "tardis-book-snapshot", "binance-book-ticker", "binance-agg-trades", "binance-trades", "binance-depth",
                "binance-ws-capture")  # fmt: skip
"""What ``--market-format`` takes: ``auto`` (recognise each file) or one layout for every file."""
_ALIASES = {"tardis-book-ticker": "tardis-quotes"}
_GZIP = b"\x1f\x8b"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
"""A zip's first bytes: a member's header, or the end record of an empty archive."""


def open_text(path: Path) -> IO[str]:
    """``path`` as text, decompressed if its first bytes are gzip's or zip's; OSError if it cannot be opened.

    A zip must hold one file (Binance's hold one CSV): several would need an
    order between them that the archive does not give.
    """
    with path.open("rb") as probe:
        magic = probe.read(4)
    if magic[:2] == _GZIP:
        # fewer, larger reads of the stream; the caller closes what it is handed (SIM115)
        unzipped = io.BufferedReader(gzip.open(path, "rb"), buffer_size=1 << 16)  # noqa: SIM115
        return io.TextIOWrapper(unzipped, encoding="utf-8-sig", newline="")
    if magic in _ZIP:
        return io.TextIOWrapper(_zip_member(path), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")  # -sig: a byte-order mark some exporters write is not data


def _zip_member(path: Path) -> IO[bytes]:
    """The one file of the zip at ``path``, open (it keeps the archive's file open until it is closed)."""
    with zipfile.ZipFile(path) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            names = ", ".join(info.filename for info in members[:3]) + (", ..." if len(members) > 3 else "")
            held = f"{len(members)} files ({names})" if members else "no file"
            raise MarketDataError(f"{path}: a zip holding {held}; expected one CSV inside, as Binance ships them")
        if members[0].flag_bits & 0x1:
            raise MarketDataError(f"{path}: the zip's {members[0].filename} is encrypted; expected a plain CSV")
        try:
            return archive.open(members[0])
        except NotImplementedError as exc:  # a compression method zipfile does not read
            raise MarketDataError(f"{path}: cannot read the zip's {members[0].filename}: {exc}") from None


Row = tuple[int, list[str]]
"""A row and the line it starts on."""


def _first_rows(path: Path) -> list[Row]:
    """The first two non-blank rows (a header and a row, or two rows), each with its line."""
    rows: list[Row] = []
    try:
        with open_text(path) as handle:
            for number in range(1, 101):  # a bounded look: a file of one endless line is not read to its end
                line = handle.readline(1 << 16)
                if not line:
                    break
                # a capture's JSON message is no CSV: the line is the row
                row = [line.rstrip("\r\n")] if _binance.CAPTURE_LINE.match(line) else next(csv.reader([line]), [])
                if row:
                    rows.append((number, row))
                    if len(rows) == 2:
                        break
    except FileNotFoundError:
        raise MarketDataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MarketDataError(f"{path}: is a directory") from None
    except _READ_ERRORS as exc:
        raise MarketDataError(f"{path}: cannot read: {exc}") from None
    return rows


def detect_format(path: Path, named: str = "auto") -> tuple[Format, bool]:
    """The file's format and whether its first row is a header; MarketDataError if unknown, empty or mismatched."""
    return _detect(path, _first_rows(path), named)


def _detect(path: Path, rows: list[Row], named: str) -> tuple[Format, bool]:
    if not rows:
        raise MarketDataError(f"{path}: empty: no rows")
    line, first = rows[0]
    if len(first) == 1 and _binance.CAPTURE_LINE.match(first[0]) and named in ("auto", "binance-ws-capture"):
        return FORMATS["binance-ws-capture"], False
    header = tuple(cell.strip() for cell in first)
    recognised = next((fmt for fmt in FORMATS.values() if header in fmt.headers), None)
    if named != "auto":
        fmt = FORMATS[_ALIASES.get(named, named)]
        if recognised is fmt:
            return fmt, True
        expected = ",".join(fmt.header)
        if recognised is not None:
            raise MarketDataError(
                f"{path}:{line}: a {recognised.name} header, not the {named} header ({expected}); "
                f"--market-format auto reads it as {recognised.name}"
            )
        try:
            fmt.parser("X", _lenient_time)(first)
        except (ValueError, IndexError, OverflowError) as exc:
            shown = ",".join(first)[:120]
            raise MarketDataError(
                f"{path}:{line}: neither the {named} header ({expected}) nor a {named} row ({exc}): {shown!r}"
            ) from None
        return fmt, False
    if recognised is not None:
        return recognised, True
    if _binance.looks_like_trades(first) and _numbers(first[:5]):
        return FORMATS["binance-trades"], False
    if len(first) in (7, 8) and _numbers(first[:6]):
        fmt = FORMATS["binance-agg-trades" if _binance.looks_like_agg_trades(first) else "binance-book-ticker"]
        if len(first) == 7 or fmt.name == "binance-agg-trades":
            return fmt, False
    shown = ",".join(first)[:120]
    raise MarketDataError(
        f"{path}:{line}: unknown market format (first row {shown!r}); name it with --market-format "
        f"({', '.join(FORMAT_NAMES[1:])})"
    )


def _numbers(cells: list[str]) -> bool:
    return all(cell.strip().lstrip("-").replace(".", "", 1).isdigit() for cell in cells)


def _lenient_time(text: str) -> int:
    """A timestamp in any unit, to see whether a row parses (its unit is told after)."""
    return int(float(text))


def _time_unit(path: Path, fmt: Format, row: Row | None, named: str) -> str:
    """The unit of the file's timestamps: ``named``, or told from its first row; MarketDataError if it cannot be."""
    if named != "auto":
        return named
    if row is None:
        return "us"  # no row: nothing to convert
    line, cells = row
    text = cells[fmt.time_column].strip() if len(cells) > fmt.time_column else ""
    if fmt.raw_lines:
        text = text.partition(" ")[0]
    try:
        float(text)
    except ValueError:
        return "us"  # not a time at all: the row is malformed, and said so when it is read
    unit = unit_of(text)
    if unit is None:
        raise MarketDataError(
            f"{path}:{line}: cannot tell the unit of {fmt.time_name} {text}: in seconds, milliseconds, "
            "microseconds or nanoseconds since 1970 it is no time from 2000 to 2100; "
            "name the unit with --market-time-unit (s, ms, us, ns)"
        )
    return unit


class MarketFile:
    """One market file, read as a stream of validated events (iterate it; each iteration reads it anew)."""

    def __init__(
        self, path: Path, named_format: str = "auto", *, on_bad_row: str = "error", time_unit: str = "auto"
    ) -> None:
        if on_bad_row not in BAD_ROW_POLICIES:
            raise ValueError(f"on_bad_row must be one of {BAD_ROW_POLICIES}, got {on_bad_row!r}")
        if time_unit not in TIME_UNITS:
            raise ValueError(f"time_unit must be one of {TIME_UNITS}, got {time_unit!r}")
        self.path = path
        rows = _first_rows(path)
        self.format, self.has_header = _detect(path, rows, named_format)
        data = rows[1:] if self.has_header else rows
        self.time_unit = _time_unit(path, self.format, data[0] if data else None, time_unit)
        """The unit the file writes its timestamps in (``s``, ``ms``, ``us``, ``ns``)."""
        self.on_bad_row = on_bad_row
        self.skipped: Counter[str] = Counter()
        """Rows left out by the last complete iteration, by kind."""
        self.symbol = ""
        if self.format.raw_lines:
            self.symbol = _binance.capture_symbol(path.name)
        if self.format.symbol_in_file_name:
            symbol = _binance.symbol_of_file(path.name)
            if symbol is None:
                raise MarketDataError(
                    f"{path}: a Binance dump names its symbol in the file name (BTCUSDT-bookTicker-2024-01-01.csv, "
                    "BTCUSD_PERP-trades-2024-01-01.zip)"
                )
            self.symbol = symbol

    def __iter__(self) -> Iterator[MarketEvent]:
        path, fmt = self.path, self.format
        parse = fmt.parser(self.symbol, CONVERTERS[self.time_unit])
        skip = self.on_bad_row == "skip"
        skipped: Counter[str] = Counter()
        last = -(1 << 62)
        reader: Any = None
        try:
            with open_text(path) as handle:
                lines = _bounded_lines(handle, path)
                reader = _LineRows(lines) if fmt.raw_lines else csv.reader(lines)
                if self.has_header:
                    next((row for row in reader if row), None)  # blank lines before the header are no rows
                for row in reader:
                    if not row:
                        continue
                    try:
                        parsed = parse(row)
                    except (ValueError, IndexError, OverflowError, KeyError, TypeError) as exc:
                        if not skip:
                            line = reader.line_num
                            what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
                            raise MarketDataError(f"{path}:{line}: malformed {fmt.name} row: {what}") from None
                        skipped["malformed"] += 1
                        continue
                    if type(parsed) is list:  # a row of several events, all of its time (a snapshot, a message)
                        if not parsed:
                            continue
                        event = parsed[0]
                    else:
                        event = parsed  # type: ignore[assignment]  # a list is handled above
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
                    if type(parsed) is list:
                        yield from parsed
                    else:
                        yield event
        except _READ_ERRORS as exc:
            line = max(reader.line_num, 1) if reader is not None else 1
            raise MarketDataError(f"{path}:{line}: cannot read: {exc}") from None
        self.skipped = skipped


class _LineRows:
    """Whole lines as rows of one field (a capture's JSON is no CSV), counted as :func:`csv.reader` counts."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.line_num = 0

    def __iter__(self) -> Iterator[list[str]]:
        for line in self._lines:
            self.line_num += 1
            text = line.rstrip("\r\n")
            yield [text] if text.strip() else []


MAX_LINE_CHARS = 1 << 20
"""A market row is short; a longer line (a file that is not market data, a line with no end) is refused
before it is held whole in memory."""


LINE_CHUNK_CHARS = 1 << 18
"""Text read at a time; its lines are handed out from a list (one read and one split per chunk, not per line)."""


def _bounded_lines(handle: IO[str], path: Path) -> Iterator[str]:
    """The lines of ``handle``, each read with a bound: memory never follows one line's length."""
    return itertools.chain.from_iterable(_line_chunks(handle, path))


def _line_chunks(handle: IO[str], path: Path) -> Iterator[list[str]]:
    """The lines of ``handle`` a chunk at a time, split as ``readline`` splits them (``newline=""``: at ``\n``,
    ``\r`` or ``\r\n``); a line longer than :data:`MAX_LINE_CHARS` is refused once the lines before it are out."""
    read, number, carry = handle.read, 0, ""
    while True:
        chunk = read(LINE_CHUNK_CHARS)
        lines = io.StringIO(carry + chunk, newline="").readlines() if chunk else [carry] if carry else []
        carry = ""
        if chunk and lines and not lines[-1].endswith("\n"):  # a line cut by the chunk (or a \r before a \n)
            carry = lines.pop()
        if lines and max(map(len, lines)) >= MAX_LINE_CHARS:
            for index, line in enumerate(lines):
                if len(line) > MAX_LINE_CHARS or (len(line) == MAX_LINE_CHARS and not line.endswith("\n")):
                    yield lines[:index]
                    _too_long(path, number + index + 1)
        number += len(lines)
        if lines:
            yield lines
        if len(carry) >= MAX_LINE_CHARS:
            _too_long(path, number + 1)
        if not chunk:
            return


def _too_long(path: Path, number: int) -> None:
    limit = f"{MAX_LINE_CHARS:,}"
    raise MarketDataError(f"{path}:{number}: a line longer than {limit} characters: not a market row")


def merged(files: Sequence[MarketFile]) -> Iterator[MarketEvent]:
    """Every file's events on one time line; equal timestamps keep the files' order (stable, deterministic)."""
    if len(files) == 1:
        return iter(files[0])
    return heapq.merge(*files, key=_timestamp)


def _timestamp(event: MarketEvent) -> int:
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


Span = tuple[int, int, str]
"""(first us, last us, file name)."""


@dataclass
class SymbolSummary:
    """What a scan learnt of one symbol."""

    first_mid: float = 0.0
    first_at: int = 1 << 62
    has_quotes: bool = False
    """Some file quotes both its sides at least once: its mid comes from quotes, else from its trades."""
    price_decimals: int = 0
    size_decimals: int = 0
    seen: int = 0
    max_price: float = 0.0
    """The highest price (ask or trade): it must fit the wire in ticks.  Sizes need no bound: only our
    orders' sizes, never the market's, cross the wire."""
    min_price: float = float("inf")
    """The lowest price (bid or trade): it must be at least one tick, or prices round to nothing."""
    quote_spans: list[Span] = field(default_factory=list)
    """Each file's first and last two-sided quote of the symbol (the rows that move its mid)."""
    quote_holes: list[Span] = field(default_factory=list)
    """Each file's longest stretch between two such quotes."""
    trade_spans: list[Span] = field(default_factory=list)
    """As ``quote_spans``, for trades (the mid of a symbol no file quotes)."""
    trade_holes: list[Span] = field(default_factory=list)


@dataclass
class Scan:
    """One pass over every file, before the run: the time span, the symbols, the rows, the bad rows."""

    first_us: int = 1 << 62
    last_us: int = -(1 << 62)
    quotes: int = 0
    trades: int = 0
    depth: int = 0
    """Depth rows: levels, snapshots' starts and updates' ids (:mod:`actors.markets._depth`)."""
    depth_gaps: Counter[str] = field(default_factory=Counter)
    """Sequence gaps by symbol, on the files' merged time line (each makes the book stale until a snapshot)."""
    depth_stale: Counter[str] = field(default_factory=Counter)
    """Updates not applied by symbol because the book was stale."""
    skipped: Counter[str] = field(default_factory=Counter)
    symbols: dict[str, SymbolSummary] = field(default_factory=dict)
    files: list[Span] = field(default_factory=list)
    """Each file's first and last row (none for a file with no row)."""

    @property
    def rows(self) -> int:
        """Rows replayed (bad rows skipped are not among them)."""
        return self.quotes + self.trades + self.depth


DECIMALS_FROM_ROWS = 100
"""A symbol's price and size decimals (its tick and lot when no table names it) are read from its first rows."""


def scan(files: Sequence[MarketFile]) -> Scan:
    """Read every file once: every bad row is found before the run starts (an error, or counted).

    A quote with a side absent moves no mid (it is held): it counts as a
    quote, and its present side bounds the prices, but only a two-sided quote
    sets a symbol's first mid (or, before any, a one-sided one's price, as a
    trade's would).
    """
    result = Scan()
    with_depth = []
    for market_file in files:
        before = result.depth
        _scan_file(market_file, result)
        result.skipped.update(market_file.skipped)
        if result.depth > before:
            with_depth.append(market_file)
    if with_depth:
        _count_gaps(with_depth, result)
    return result


def _count_gaps(files: Sequence[MarketFile], result: Scan) -> None:
    """The depth files once more, merged (a snapshot and its updates may be in two files): the gaps."""
    sequences: dict[str, Sequencer] = {}
    for event in merged(files):
        if event[1] != DEPTH or event[5] not in (BOOK_RESET, BOOK_UPDATE):
            continue
        sequence = sequences.get(event[2])
        if sequence is None:
            sequence = sequences[event[2]] = Sequencer()
        if event[5] == BOOK_RESET:
            sequence.snapshot(int(event[4]))
        else:
            sequence.update(int(event[3]), int(event[4]), int(event[6]))
    for symbol, sequence in sorted(sequences.items()):
        if sequence.gaps:
            result.depth_gaps[symbol] = sequence.gaps
        if sequence.stale_updates:
            result.depth_stale[symbol] = sequence.stale_updates


def _scan_file(market_file: MarketFile, result: Scan) -> None:  # noqa: PLR0915 -- one loop, inlined: once per row
    symbols = result.symbols
    moves: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
    """Per symbol, for two-sided quotes [0] and trades [1]: [first, last, longest hole, where it starts]."""
    file_first: int | None = None
    at = 0
    opening: dict[str, list[float]] = {}
    """Per symbol with depth: [time of its first levels, best bid, best ask] among them (a snapshot's)."""
    for event in market_file:
        at, kind, symbol = event[0], event[1], event[2]
        if file_first is None:
            file_first = at
        summary = symbols.get(symbol)
        if summary is None:
            summary = symbols[symbol] = SymbolSummary()
        if kind == QUOTE:
            result.quotes += 1
            bid, ask = event[3], event[5]
            two_sided = bid != NO_BID and ask != NO_ASK
            if two_sided:
                if not summary.has_quotes or at < summary.first_at:
                    summary.has_quotes, summary.first_at, summary.first_mid = True, at, (bid + ask) / 2
            elif not summary.has_quotes and at < summary.first_at:
                summary.first_at, summary.first_mid = at, bid if bid != NO_BID else ask
            high = ask if ask != NO_ASK else bid
            low = bid if bid != NO_BID else ask
            track = moves[0] if two_sided else None
        elif kind == DEPTH:
            result.depth += 1
            side = event[5]
            if side != 1.0 and side != -1.0:  # noqa: PLR1714 -- a marker: its fields are ids, not prices
                continue
            high = low = event[3]
            if not summary.has_quotes and at < summary.first_at:
                summary.first_at, summary.first_mid = at, high
            _opening(opening, summary, event)
            track = moves[0]
        else:
            result.trades += 1
            high = low = event[3]
            if not summary.has_quotes and at < summary.first_at:
                summary.first_at, summary.first_mid = at, low
            track = moves[1]
        if high > summary.max_price:  # noqa: PLR1730 -- a comparison, not a call: a million times a minute
            summary.max_price = high
        if 0.0 < low < summary.min_price:
            summary.min_price = low
        if track is not None:
            span = track.get(symbol)
            if span is None:
                track[symbol] = [at, at, 0, at]
            else:
                if at - span[1] > span[2]:
                    span[2], span[3] = at - span[1], span[1]
                span[1] = at
        if summary.seen < DECIMALS_FROM_ROWS:
            summary.seen += 1
            prices = [p for p in (event[3], event[5]) if p not in (NO_BID, NO_ASK)] if kind == QUOTE else [event[3]]
            sizes = (event[4], event[6]) if kind == QUOTE else (event[4],)  # a depth level: price and size
            summary.price_decimals = max(summary.price_decimals, 0, *map(_decimals, prices))
            summary.size_decimals = max(summary.size_decimals, *map(_decimals, sizes))
    name = market_file.path.name
    if file_first is not None:  # the rows of a file are in time order: its first and last rows bound it
        result.files.append((file_first, at, name))
        result.first_us = min(result.first_us, file_first)
        result.last_us = max(result.last_us, at)
    for symbol, move in moves[0].items():
        _record(symbols[symbol].quote_spans, symbols[symbol].quote_holes, move, name)
    for symbol, move in moves[1].items():
        _record(symbols[symbol].trade_spans, symbols[symbol].trade_holes, move, name)


def _opening(opening: dict[str, list[float]], summary: SymbolSummary, event: MarketEvent) -> None:
    """A symbol's first mid from depth: the best bid and ask among its first levels (a snapshot's, one time)."""
    at, symbol, price, size, side = event[0], event[2], event[3], event[4], event[5]
    first = opening.get(symbol)
    if first is None:
        first = opening[symbol] = [float(at), 0.0, NO_ASK]
    if first[0] != at or size <= 0.0:
        return
    if side > 0.0:
        first[1] = max(first[1], price)
    else:
        first[2] = min(first[2], price)
    if first[1] != NO_BID and first[2] != NO_ASK and first[1] < first[2] and (
        not summary.has_quotes or at <= summary.first_at
    ):
        summary.has_quotes, summary.first_at, summary.first_mid = True, at, (first[1] + first[2]) / 2


def _record(spans: list[Span], holes: list[Span], move: list[int], name: str) -> None:
    """One file's span and longest hole of a symbol's mid-moving rows."""
    first, last, hole, hole_at = move
    spans.append((first, last, name))
    if hole > 0:
        holes.append((hole_at, hole_at + hole, name))


def _decimals(value: float) -> int:
    """Decimal places of a price or size as the file wrote it (repr gives the shortest exact form)."""
    text = repr(value)
    if "e" in text or "E" in text:
        mantissa, _, exponent = text.lower().partition("e")
        places = len(mantissa.partition(".")[2].rstrip("0")) - int(exponent)
        return max(0, min(12, places))
    return min(12, len(text.partition(".")[2].rstrip("0")))
