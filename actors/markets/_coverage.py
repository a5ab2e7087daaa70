"""Where recorded files leave a symbol's mid standing still: files that do not overlap, long stretches of no quote.

A replay holds a symbol's last mid until its next quote (trade, for a
symbol no file quotes), and the venue fills orders against the trades of
every file: a quotes file of 4 minutes beside a trades file of 2 hours gave
146 fills, every one after the last quote, judged against a mid that stood
still for two hours.  :func:`gaps` finds such stretches from the scan (each
file's span and longest hole per symbol, :class:`~actors.markets._files.Scan`)
without reading the files again, and :func:`describe` names each with its
files, for the one warning line the command prints before the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from actors.markets._files import Scan, Span

LONG_GAP_US = 60_000_000
"""A stretch with nothing that moves a mid is named once it is longer than this (and than 10 ticks)."""


@dataclass(frozen=True)
class Gap:
    """A stretch of the run with no row at all (``symbol`` empty), or no row that moves ``symbol``'s mid."""

    symbol: str
    rows: str
    """What ``symbol`` lacks there: ``quote`` (or ``trade``, for a symbol no file quotes)."""
    start_us: int
    end_us: int
    before: str
    """The file whose rows end where the stretch starts ("" at the run's start)."""
    after: str
    """The file whose rows start again where it ends ("" at the run's end)."""


def gaps(result: Scan, symbols: Iterable[str], longer_than_us: int) -> list[Gap]:
    """Every stretch longer than ``longer_than_us``: first where no file has a row, then each symbol's own."""
    found = [Gap("", "", start, end, before, after) for start, end, before, after in
             _uncovered(result.files, result.first_us, result.last_us, longer_than_us)]  # fmt: skip
    for symbol in symbols:
        summary = result.symbols.get(symbol)
        if summary is None:
            continue
        spans, holes = (
            (summary.quote_spans, summary.quote_holes) if summary.has_quotes else (summary.trade_spans,
                                                                                   summary.trade_holes)
        )  # fmt: skip
        pieces = _without_holes(spans, holes, longer_than_us)
        for start, end, before, after in _uncovered(pieces, result.first_us, result.last_us, longer_than_us):
            if not any(gap.start_us <= start and end <= gap.end_us for gap in found if not gap.symbol):
                found.append(Gap(symbol, "quote" if summary.has_quotes else "trade", start, end, before, after))
    return found


def _without_holes(spans: list[Span], holes: list[Span], longer_than_us: int) -> list[Span]:
    """Each file's span of a symbol, cut in two around its longest hole if that is long."""
    long_holes = {name: (start, end) for start, end, name in holes if end - start > longer_than_us}
    pieces: list[Span] = []
    for first, last, name in spans:
        hole = long_holes.get(name)
        if hole is None:
            pieces.append((first, last, name))
        else:
            pieces.extend([(first, hole[0], name), (hole[1], last, name)])
    return pieces


def _uncovered(spans: list[Span], first_us: int, last_us: int, longer_than_us: int) -> list[tuple[int, int, str, str]]:
    """The stretches of ``[first_us, last_us]`` longer than ``longer_than_us`` that no span covers, each with the
    file ending before it and the file starting after it."""
    stretches: list[tuple[int, int, str, str]] = []
    reached, reached_by = first_us, ""
    for start, end, name in sorted(spans):
        if start - reached > longer_than_us:
            stretches.append((reached, start, reached_by, name))
        if end > reached or not reached_by:
            reached, reached_by = max(reached, end), name
    if last_us - reached > longer_than_us:
        stretches.append((reached, last_us, reached_by, ""))
    return stretches


def describe(gap: Gap) -> str:
    """One gap in words: what is missing, from when to when, how long, and the files around it."""
    what = f"{gap.symbol} has no {gap.rows}" if gap.symbol else "no file has a row"
    span = f"from {_when(gap.start_us)} to {_when(gap.end_us)} ({duration(gap.end_us - gap.start_us)}"
    if gap.before and gap.after:
        around = f"{gap.before} ends, {gap.after} starts" if gap.before != gap.after else f"inside {gap.before}"
    elif gap.before:
        around = f"after {gap.before} ends"
    else:
        around = f"before {gap.after} starts"
    return f"{what} {span}: {around})"


def _when(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(us: int) -> str:
    """``2 h 2 min``, ``45 s``, ``68 d 23 h``: two units at most, enough to judge a gap by."""
    seconds = us // 1_000_000
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value} {unit}" for value, unit in parts[:2] if value or unit == parts[0][1])
