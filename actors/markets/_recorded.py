"""A recorded market replayed in time buckets: the mids the feed sends, the events the venue matches.

Time drives a recorded run.  Tick *k* is the bucket
``[start + (k-1) * bucket, start + k * bucket)`` of the files' time line
(``start`` is the first row's time rounded down to a whole bucket, so
1-second buckets fall on whole seconds).  A symbol's mid in tick *k* is the
mid of its last quote in that bucket, in whole ticks of its instrument
(rounded down); a quiet symbol keeps the mid it had, and so does a symbol
whose quote lacks a side (a one-sided book has no mid, and the side left
is half a spread from one); before its first quote it has the mid of its
first quote (the recording's opening price).  A
symbol that no file quotes (trades only) takes its last trade's price.

Each reader (:class:`RecordedMarket` for the feed, the market fill model for
the venue) streams the files itself, a bucket at a time: the feed and the
venue live in different actors, and two cursors over the same bytes need no
lock.  Nothing but the current bucket is held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from actors.core._types import Instrument
from actors.markets._events import NO_ASK, NO_BID, QUOTE, MarketEvent
from actors.markets._files import MarketFile, merged

TickEvent = tuple[int, str, int, int, int, int]
"""An event in the instrument's integers: ``(QUOTE, symbol, bid ticks, bid lots, ask ticks, ask lots)`` or
``(TRADE, symbol, price ticks, lots, 0, 0)``.  An absent side is 0 ticks (no bid) or :data:`NO_ASK_TICKS`, with 0
lots: nobody is ahead of an order there, and nothing there trades with it."""
NO_ASK_TICKS = 1 << 62
"""An absent ask in ticks: above every price."""


@dataclass(frozen=True)
class Recording:
    """The files of a recorded run and how its time line is cut into ticks."""

    files: tuple[MarketFile, ...]
    instruments: Mapping[str, Instrument]
    start_us: int
    bucket_us: int
    buckets: int
    first_mids: Mapping[str, int]
    """Each symbol's opening mid in ticks: its mid until its first quote."""
    quoted: frozenset[str]
    """Symbols some file quotes; the others are marked at their last trade."""

    @classmethod
    def cut(
        cls,
        files: Sequence[MarketFile],
        instruments: Mapping[str, Instrument],
        *,
        first_us: int,
        last_us: int,
        bucket_us: int,
        first_mids: Mapping[str, float],
        quoted: frozenset[str],
    ) -> Recording:
        """Cut ``[first_us, last_us]`` into buckets of ``bucket_us`` starting on a whole bucket."""
        if bucket_us <= 0:
            raise ValueError(f"a bucket must last at least 1 us, got {bucket_us}")
        start = (first_us // bucket_us) * bucket_us
        buckets = max(1, (last_us - start) // bucket_us + 1)
        mids = {s: max(1, round(first_mids[s] / float(i.tick_size))) for s, i in instruments.items()}
        return cls(tuple(files), dict(instruments), start, bucket_us, buckets, mids, quoted)


class Buckets:
    """The recording's events in the instruments' integers, one bucket at a time, in time order."""

    def __init__(self, recording: Recording) -> None:
        self._recording = recording
        self._units = {
            s: (float(i.tick_size), float(i.lot_size)) for s, i in recording.instruments.items()
        }  # fmt: skip
        self._events: Iterator[MarketEvent] = merged(recording.files)
        self._pending: MarketEvent | None = None
        self.through = 0
        """The last bucket handed out."""

    def next_raw(self) -> list[MarketEvent]:
        """The events of bucket ``through + 1`` as the files have them (none once the files are done)."""
        self.through += 1
        recording = self._recording
        end = recording.start_us + self.through * recording.bucket_us
        units = self._units
        bucket: list[MarketEvent] = []
        event = self._pending
        events = self._events
        if event is None:
            event = next(events, None)
        while event is not None and event[0] < end:
            if event[2] in units:
                bucket.append(event)
            event = next(events, None)
        self._pending = event
        return bucket

    def next_bucket(self) -> list[TickEvent]:
        """The events of bucket ``through + 1`` in the instruments' integers, for the traded symbols only."""
        units = self._units
        bucket: list[TickEvent] = []
        for _, kind, symbol, price, size, ask, ask_size in self.next_raw():
            tick, lot = units[symbol]
            if kind != QUOTE:
                bucket.append((kind, symbol, max(1, round(price / tick)), int(size / lot + 1e-9), 0, 0))
                continue
            bucket.append(
                (kind, symbol, max(1, round(price / tick)) if price != NO_BID else 0, int(size / lot + 1e-9),
                 max(1, round(ask / tick)) if ask != NO_ASK else NO_ASK_TICKS, int(ask_size / lot + 1e-9))
            )  # fmt: skip
        return bucket


class RecordedMarket:
    """The feed's :class:`~actors.markets._data.MarketDataSource` over a recording.

    O(rows) over a whole run when asked in increasing tick order, as the
    feed asks; asked for an earlier tick (recovery after a crash marks a
    position at the last tick again) it reads the files again from the start.
    """

    def __init__(self, recording: Recording) -> None:
        self._recording = recording
        self._rewind()

    def _rewind(self) -> None:
        self._buckets = Buckets(self._recording)
        self._ticks = {s: float(i.tick_size) for s, i in self._recording.instruments.items()}
        self._mids: dict[str, int] = dict(self._recording.first_mids)

    def mid_ticks(self, symbol: str, tick: int) -> int:
        """The mid of ``symbol``'s last quote at or before bucket ``tick``."""
        if symbol not in self._mids:
            raise KeyError(f"no market data for symbol {symbol!r}")
        if tick < self._buckets.through:
            self._rewind()
        quoted, mids, ticks = self._recording.quoted, self._mids, self._ticks
        while self._buckets.through < tick:
            for _, kind, name, price, _, ask, _ in self._buckets.next_raw():
                size = ticks[name]
                if kind == QUOTE:
                    if price != NO_BID and ask != NO_ASK:  # one side absent: the mid is held (docs/EXECUTION.md)
                        mids[name] = (max(1, round(price / size)) + max(1, round(ask / size))) // 2
                elif name not in quoted:
                    mids[name] = max(1, round(price / size))
        return mids[symbol]
