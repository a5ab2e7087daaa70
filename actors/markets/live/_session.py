"""A live market cut into wall-clock ticks: what the feed sends and the venue matches, as its recording's replay does.

Tick *k* is the bucket ``[start + (k-1) * bucket, start + k * bucket)`` of
receive times, ``start`` being the first event's receive time rounded down
to a whole bucket: the cut :class:`~actors.markets._recorded.Recording` makes
of the recorded files.  A bucket is closed once the stream client has been
polled past its end (:meth:`LiveMarket.poll` closes the books: nothing
arriving later is stamped inside it), so its events are exactly the rows a
replay of the recording puts in it.

The session *opens* when every symbol has had a two-sided quote: each
symbol's mid before its first quote is that quote's mid, as in a replay
(which reads ahead in its files; a live run cannot, so it waits).  Until
then no tick is sent; the ticks whose buckets passed meanwhile are sent at
once when it opens.  From then on, each closed bucket is one tick:

- the feed's ticks (mid, top of book with sizes, the bucket's trades, and
  with depth the book's levels) come from the bucket's events by the recorded
  market's rules (:class:`~actors.markets._recorded.RecordedMarket`, reading
  the tape): what the replay of the recording gives;
- the venue's fill model reads the same bucket from the tape (:class:`TapeBuckets`);
- the symbols the client calls stale as the bucket closes (silent for too
  long, not heard from since a reconnect, a depth book waiting for its
  snapshot) have their quotes pulled;
- a market whose every symbol stays stale for ``down_after_us`` is down.

Nothing here blocks or sleeps; the feed calls :meth:`LiveSession.advance`
when it wakes, and asks :meth:`LiveSession.next_wake_s` when to wake next.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from actors.core._types import Instrument
from actors.markets._events import DEPTH, NO_ASK, NO_BID, QUOTE, MarketEvent
from actors.markets._recorded import Buckets, RecordedMarket, Recording, TopOfBook

WAIT_TO_OPEN_S = 0.05
"""How often the feed looks for the session's opening (a tick is no use before it)."""


class NoteLike(Protocol):
    """Something that happened on the stream (:class:`~actors.markets.live._client.Note`)."""

    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...


class StatusLike(Protocol):
    """The client's counters (:class:`~actors.markets.live._client.LiveStatus`)."""

    @property
    def connected(self) -> bool: ...
    @property
    def counts(self) -> dict[str, int]: ...
    @property
    def last_error(self) -> str: ...


class Stream(Protocol):
    """What the session needs of the stream client (:class:`~actors.markets.live._client.LiveMarket`)."""

    def start(self) -> None:
        """Start receiving (returns at once)."""
        ...

    def stop(self) -> None:
        """Stop receiving; close the recording."""
        ...

    def drain_notes(self) -> Sequence[NoteLike]:
        """What happened since the last call."""
        ...

    def stale_changes(self, now_us: int) -> list[tuple[str, bool]]:
        """Symbols gone stale (True) or fresh (False) by silence since the last call."""
        ...

    def status(self) -> StatusLike:
        """The counters now."""
        ...

    def now_us(self) -> int:
        """The receive clock now."""
        ...

    def poll(self, until_us: int) -> list[MarketEvent]:
        """Every event received at or before ``until_us`` not handed out yet, closing the books up to it."""
        ...

    def stale(self, now_us: int) -> frozenset[str]:
        """The symbols not to quote on at ``now_us``."""
        ...


class Tape:
    """Closed buckets' events, kept until each of ``readers`` has read them (the feed's mids, the venue's fills).

    Written by the feed's thread, read by the venue's after the tick's
    message: a lock, since two readers drop a bucket between them.
    """

    def __init__(self, readers: int) -> None:
        self.readers = readers
        self._buckets: dict[int, tuple[list[MarketEvent], int]] = {}
        self._lock = threading.Lock()

    def put(self, tick: int, events: list[MarketEvent]) -> None:
        """Bucket ``tick``'s events, in arrival order."""
        with self._lock:
            self._buckets[tick] = (events, self.readers)

    def read(self, tick: int) -> list[MarketEvent]:
        """Bucket ``tick``'s events (none if it was never put: past the session's end)."""
        with self._lock:
            held = self._buckets.get(tick)
            if held is None:
                return []
            events, left = held
            if left <= 1:
                del self._buckets[tick]
            else:
                self._buckets[tick] = (events, left - 1)
            return events

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)


class TapeBuckets(Buckets):
    """:class:`Buckets` over the tape instead of files: the same conversion to the instruments' integers."""

    def __init__(self, recording: Recording, tape: Tape) -> None:
        super().__init__(recording)
        self._tape = tape

    def next_raw(self) -> list[MarketEvent]:
        """Bucket ``through + 1`` as it arrived."""
        self.through += 1
        units = self._units
        return [event for event in self._tape.read(self.through) if event[2] in units]


class _TapeMarket(RecordedMarket):
    """The recorded market's mids, read from the tape (never rewound: a live session is not replayed in place)."""

    def __init__(self, recording: Recording, tape: Tape, *, levels: int = 5) -> None:
        self._tape = tape
        super().__init__(recording, levels=levels)

    def _rewind(self) -> None:
        super()._rewind()
        self._buckets = TapeBuckets(self._recording, self._tape)


def tape_recording(instruments: Mapping[str, Instrument], bucket_us: int) -> Recording:
    """A recording with no file, for :class:`TapeBuckets` (which reads only its instruments)."""
    return Recording.cut(
        (), instruments, first_us=0, last_us=0, bucket_us=bucket_us,
        first_mids={s: float(i.start_price) for s, i in instruments.items()}, quoted=frozenset(instruments),
    )  # fmt: skip


@dataclass
class TickFacts:
    """What the feed needs of one closed tick besides its mids."""

    stale: frozenset[str]
    """Symbols whose quotes are pulled at this tick."""
    newest_us: int
    """Receive time of the newest message at or before the tick's end (0: none yet): what the tick's orders answer."""


@dataclass
class LiveSession:
    """A live market as ticks of ``bucket_us`` (see the module's docstring)."""

    stream: Stream
    instruments: Mapping[str, Instrument]
    bucket_us: int
    tape: Tape
    down_after_us: int
    start_us: int | None = None
    """Set when the session opens: the start of tick 1's bucket."""
    closed_through: int = 0
    """The last tick whose bucket is closed."""
    down_since_us: int | None = None
    """The end of the first bucket of the current stretch with every symbol stale (None: not down)."""
    levels: int = 5
    """Depth levels a side each tick carries (``--market-levels``, as a replay's)."""
    depth: bool = False
    """The stream brings depth: the venue matches on the books, as a replay of a recording with depth rows does."""
    stale_pulls: int = 0
    """Symbol-ticks whose quotes were pulled for a stale market."""
    ended: bool = False
    """No tick after the last one sent: the run is ending (Ctrl-C) and reports what it did."""
    _waiting: list[MarketEvent] = field(default_factory=list)
    _first_mids: dict[str, float] = field(default_factory=dict)
    _facts: dict[int, TickFacts] = field(default_factory=dict)
    _mids: RecordedMarket | None = None
    _newest_us: int = 0
    _openings: dict[str, list[float]] = field(default_factory=dict)
    _when_open: list[Callable[[Recording], None]] = field(default_factory=list)

    @property
    def opened(self) -> bool:
        """Every symbol has had a two-sided quote: ticks flow."""
        return self.start_us is not None

    @property
    def unquoted(self) -> list[str]:
        """Symbols not quoted yet (before the opening), in order."""
        return [s for s in self.instruments if s not in self._first_mids]

    def end(self) -> None:
        """Close no bucket any more (safe from any thread: the feed reads it as it wakes)."""
        self.ended = True

    def advance(self) -> list[int]:
        """Poll the stream up to now; the ticks whose buckets closed since the last call, in order."""
        if self.ended:
            return []
        stream = self.stream
        now = stream.now_us()
        events = stream.poll(now - 1)
        if events:
            self._waiting.extend(events)
        if self.start_us is None and not self._open(events):
            return []
        start = self.start_us
        assert start is not None
        bucket = self.bucket_us
        closed = (now - start) // bucket  # every event up to now - 1 is in: a bucket ending by now is whole
        ticks = list(range(self.closed_through + 1, closed + 1))
        waiting = self._waiting
        taken = 0
        for tick in ticks:
            end = start + tick * bucket
            cut = taken
            while cut < len(waiting) and waiting[cut][0] < end:
                cut += 1
            events_of_tick = waiting[taken:cut]
            taken = cut
            if events_of_tick:
                self._newest_us = events_of_tick[-1][0]
            self.tape.put(tick, events_of_tick)
            stale = stream.stale(end - 1) & frozenset(self.instruments)
            self.stale_pulls += len(stale)
            self._facts[tick] = TickFacts(stale, self._newest_us)
            self._note_down(stale, end)
        if taken:
            del waiting[:taken]
        self.closed_through = max(self.closed_through, closed)
        return ticks

    def _open(self, events: list[MarketEvent]) -> bool:
        """Note each symbol's first two-sided quote; open once every symbol has one.

        A symbol's first two-sided quote is its first two-sided bookTicker or
        its first depth levels (a snapshot's, all at one time) if those are
        two-sided and come first: the rule of the replay's scan
        (:func:`actors.markets._files._opening`), which must find the same
        opening mids in the recording.
        """
        first, openings = self._first_mids, self._openings
        for event in events:
            kind, symbol = event[1], event[2]
            if kind == QUOTE:
                if symbol not in first and event[3] != NO_BID and event[5] != NO_ASK:
                    first[symbol] = (event[3] + event[5]) / 2
            elif kind == DEPTH and event[5] in (1.0, -1.0):  # a level (not a marker)
                opening = openings.get(symbol)
                if opening is None:
                    if symbol in first:  # quoted before its first levels: the quote's mid stands
                        continue
                    opening = openings[symbol] = [float(event[0]), NO_BID, NO_ASK]
                if opening[0] != event[0] or event[4] <= 0.0:
                    continue
                if event[5] > 0.0:
                    opening[1] = max(opening[1], event[3])
                else:
                    opening[2] = min(opening[2], event[3])
                if opening[1] != NO_BID and opening[2] != NO_ASK and opening[1] < opening[2]:
                    first[symbol] = (opening[1] + opening[2]) / 2
        if len(first) < len(self.instruments) or not self._waiting:
            return False
        recording = Recording.cut(
            (), self.instruments, first_us=self._waiting[0][0], last_us=self._waiting[0][0],
            bucket_us=self.bucket_us, first_mids=first, quoted=frozenset(self.instruments), depth=self.depth,
        )  # fmt: skip
        self.start_us = recording.start_us
        self._mids = _TapeMarket(recording, self.tape, levels=self.levels)
        for told in self._when_open:
            told(recording)
        return True

    def when_open(self, told: Callable[[Recording], None]) -> None:
        """Call ``told`` with the session's recording (its start, its buckets) as it opens (on the feed's thread,
        before its first tick goes out: a reader of later ticks sees it)."""
        self._when_open.append(told)

    def _note_down(self, stale: frozenset[str], end_us: int) -> None:
        if len(stale) < len(self.instruments):
            self.down_since_us = None
        elif self.down_since_us is None:
            self.down_since_us = end_us

    def down_for_us(self) -> int:
        """How long (µs of closed buckets) every symbol has been stale; 0 when some symbol is live."""
        if self.down_since_us is None or self.start_us is None:
            return 0
        return self.start_us + self.closed_through * self.bucket_us - self.down_since_us + self.bucket_us

    @property
    def down(self) -> bool:
        """Every symbol stale for at least ``down_after_us``."""
        return self.down_for_us() >= self.down_after_us

    def facts(self, tick: int) -> TickFacts:
        """The stale symbols and the newest message of closed ``tick`` (asked once, as it is sent)."""
        return self._facts.pop(tick)

    def mid_ticks(self, symbol: str, tick: int) -> int:
        """The mid of ``symbol`` at closed ``tick`` (the recorded market's rule; asked in tick order)."""
        if self._mids is None:
            raise KeyError(f"the live market has not opened: no mid for {symbol!r} yet")
        return self._mids.mid_ticks(symbol, tick)

    def top_of_book(self, symbol: str, tick: int) -> TopOfBook:
        """``symbol``'s market at closed ``tick``: what the replay of the recording gives (asked in tick order)."""
        if self._mids is None:
            raise KeyError(f"the live market has not opened: no market for {symbol!r} yet")
        return self._mids.top_of_book(symbol, tick)

    def next_wake_s(self) -> float:
        """Seconds until the next bucket closes (before the opening: a short look again)."""
        if self.start_us is None:
            return WAIT_TO_OPEN_S
        end = self.start_us + (self.closed_through + 1) * self.bucket_us
        return max(0.0, (end - self.stream.now_us()) / 1e6)
