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

A journaled session (``--journal DIR``) writes ``DIR/live.journal``: an
``open`` record as it opens (its first tick, its grid, its opening mids),
then each closed bucket's events, flushed before the feed sends the tick.
After a SIGKILL, :func:`read_live_journal` gives them back: the venue's
fill model replays them (:class:`ReplayedBuckets`), recovery marks risk's
decisions at their mids (:class:`JournaledMids`), and the new session
numbers its first bucket after the venue's last tick (:meth:`LiveSession.resume_at`),
naming the gap (:class:`Resumed`) instead of running the missed buckets as
empty ticks (docs/LIVE.md, "Resuming after a kill").

Deciding by message (``by_message``, docs/LIVE.md "Latency") cuts the
stream otherwise: a tick closes whenever the feed polls and something has
arrived (the stream wakes it), or ``bucket_us`` after the last tick if
nothing has, and it *names* the symbols it moved, those gone stale since the
last tick, and every symbol at the first: only their quoters decide it.  Its
ticks are not a replay's buckets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from actors.core._journal_records import JournalError
from actors.core._types import Instrument
from actors.markets._events import DEPTH, NO_ASK, NO_BID, QUOTE, MarketEvent
from actors.markets._recorded import Buckets, RecordedMarket, Recording, TickEvent, TopOfBook
from actors.wire._journal import Fingerprint, JournalReader, JournalWriter

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

    def wake_on_arrival(self, wake: Callable[[], object]) -> None:
        """Call ``wake()`` (from any thread) when an event arrives and none did since the last poll."""
        ...


class Tape:
    """Closed buckets' events, kept until each of ``readers`` has read them (the feed's mids, the venue's fills).

    Written by the feed's thread, read by the venue's after the tick's
    message: a lock, since two readers drop a bucket between them.
    """

    def __init__(self, readers: int) -> None:
        self.readers = readers
        self._buckets: dict[int, tuple[list[MarketEvent], int, list[TickEvent] | None]] = {}
        """Each bucket: its events, the readers still to read it, and its conversion once a reader made it."""
        self._units: dict[str, tuple[float, float]] | None = None
        self._lock = threading.Lock()

    def put(self, tick: int, events: list[MarketEvent]) -> None:
        """Bucket ``tick``'s events, in arrival order."""
        with self._lock:
            self._buckets[tick] = (events, self.readers, None)

    def read(self, tick: int) -> list[MarketEvent]:
        """Bucket ``tick``'s events (none if it was never put: past the session's end)."""
        with self._lock:
            held = self._buckets.get(tick)
            if held is None:
                return []
            events, left, converted = held
            if left <= 1:
                del self._buckets[tick]
            else:
                self._buckets[tick] = (events, left - 1, converted)
            return events

    def shared_units(self, units: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        """The units the tape's conversions are made in: the first reader's, if ``units`` are the same."""
        with self._lock:
            if self._units is None:
                self._units = units
            return self._units if self._units == units else units

    def read_converted(
        self, tick: int, units: dict[str, tuple[float, float]], convert: Callable[[list[MarketEvent]], list[TickEvent]]
    ) -> list[TickEvent]:
        """Bucket ``tick`` in the instruments' integers: converted once, by its first reader, for every reader in
        :meth:`shared_units` (the feed's mids and the venue's fills read the same bucket; each converted it)."""
        with self._lock:
            held = self._buckets.get(tick)
            if held is None:
                return []
            events, left, converted = held
            if converted is None or units is not self._units:
                mine = convert([event for event in events if event[2] in units])
                converted = mine if units is self._units else converted
            else:
                mine = converted
            if left <= 1:
                del self._buckets[tick]
            else:
                self._buckets[tick] = (events, left - 1, converted)
            return mine

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)


class TapeBuckets(Buckets):
    """:class:`Buckets` over the tape instead of files: the same conversion to the instruments' integers."""

    def __init__(self, recording: Recording, tape: Tape, *, through: int = 0) -> None:
        """``through``: the last bucket already handed out (a resumed session's first tick is the next one)."""
        super().__init__(recording)
        self._tape = tape
        self.through = through
        self._units = tape.shared_units(self._units)

    def next_raw(self) -> list[MarketEvent]:
        """Bucket ``through + 1`` as it arrived."""
        self.through += 1
        units = self._units
        return [event for event in self._tape.read(self.through) if event[2] in units]

    def next_bucket(self) -> list[TickEvent]:
        """Bucket ``through + 1`` in the instruments' integers, converted once for the tape's readers."""
        self.through += 1
        return self._tape.read_converted(self.through, self._units, self.convert)


class _TapeMarket(RecordedMarket):
    """The recorded market's mids, read from the tape (never rewound: a live session is not replayed in place)."""

    def __init__(self, recording: Recording, tape: Tape, *, levels: int = 5, first_tick: int = 1) -> None:
        self._tape = tape
        self._first_tick = first_tick
        super().__init__(recording, levels=levels)

    def _rewind(self) -> None:
        super()._rewind()
        self._buckets = TapeBuckets(self._recording, self._tape, through=self._first_tick - 1)


def tape_recording(instruments: Mapping[str, Instrument], bucket_us: int) -> Recording:
    """A recording with no file, for :class:`TapeBuckets` (which reads only its instruments)."""
    return Recording.cut(
        (), instruments, first_us=0, last_us=0, bucket_us=bucket_us,
        first_mids={s: float(i.start_price) for s, i in instruments.items()}, quoted=frozenset(instruments),
    )  # fmt: skip


OPEN = "open"
"""A journaled session's opening: ``["open", first_tick, start_us, bucket_us, {symbol: first_mid}, depth]``."""
TICK = "tick"
"""A journaled closed bucket: ``["tick", k, [[receive_us, kind, symbol, a, b, c, d], ...]]`` (its events)."""


@dataclass(frozen=True)
class Opening:
    """How one journaled session cut its time into ticks: tick *k* ends at ``start_us + k * bucket_us``."""

    first_tick: int
    start_us: int
    bucket_us: int
    first_mids: Mapping[str, float]
    depth: bool

    def record(self) -> list[Any]:
        """The journal's ``open`` record."""
        return [OPEN, self.first_tick, self.start_us, self.bucket_us, dict(self.first_mids), self.depth]

    def recording(self, instruments: Mapping[str, Instrument]) -> Recording:
        """The recording the session's ticks were cut by (its start set back to tick 0 of its grid)."""
        return Recording.cut(
            (), instruments, first_us=self.start_us, last_us=self.start_us, bucket_us=self.bucket_us,
            first_mids=self.first_mids, quoted=frozenset(instruments), depth=self.depth,
        )  # fmt: skip


@dataclass
class LiveJournal:
    """What a killed live session journaled: its openings and each tick's events (later sessions' win)."""

    openings: list[Opening] = field(default_factory=list)
    ticks: dict[int, list[MarketEvent]] = field(default_factory=dict)
    valid_bytes: int = 0
    """Bytes of whole records: where the resumed session's writer goes on (a torn tail is cut off)."""

    @property
    def last_tick(self) -> int:
        """The last tick journaled (0: none)."""
        return max(self.ticks, default=0)

    def opening_of(self, tick: int) -> Opening | None:
        """The session that journaled ``tick`` (the latest opening at or before it); None before any."""
        found = None
        for opening in self.openings:
            if opening.first_tick <= tick:
                found = opening
        return found


def read_live_journal(path: Path, instruments: Mapping[str, Instrument], fingerprint: Fingerprint) -> LiveJournal:
    """``path``'s sessions and ticks (none if it does not exist); :class:`JournalError` (one line) if it is not
    one this run wrote: other settings (the fingerprint), or a record out of place, named with its offset.

    A session resumed at tick *r* opens with ``first_tick`` *r + 1*: what
    an earlier session journaled from there on never reached the venue, and
    is dropped.
    """
    reader = JournalReader(path, fingerprint=fingerprint)
    journal = LiveJournal()
    last = 0
    for raw in reader:
        try:
            last = _read_record(raw, journal, last, instruments)
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise JournalError(f"{path}: damaged at byte {reader.record_offset}: {exc}") from None
    journal.valid_bytes = reader.valid_bytes
    return journal


def _read_record(raw: list[Any], journal: LiveJournal, last: int, instruments: Mapping[str, Instrument]) -> int:
    """Add one record to ``journal``; the last tick journaled after it."""
    kind = raw[0]
    if kind == OPEN:
        _, first_tick, start_us, bucket_us, mids, depth = raw
        if not (isinstance(first_tick, int) and isinstance(start_us, int) and isinstance(bucket_us, int)):
            raise ValueError(f"an open record with a tick, a start and a bucket that are not integers: {raw[:4]!r}")
        if first_tick < 1 or first_tick > last + 1 or bucket_us <= 0:
            raise ValueError(f"a session opening at tick {first_tick} after tick {last}")
        if not isinstance(mids, dict) or sorted(mids) != sorted(instruments):
            raise ValueError(f"an opening of other symbols than the run's: {mids!r}")
        opening = Opening(first_tick, start_us, bucket_us, {s: float(m) for s, m in mids.items()}, bool(depth))
        journal.openings = [o for o in journal.openings if o.first_tick < first_tick] + [opening]
        for tick in [t for t in journal.ticks if t >= first_tick]:
            del journal.ticks[tick]
        return first_tick - 1
    if kind == TICK:
        _, tick, events = raw
        if not journal.openings:
            raise ValueError("a tick before any session opened")
        if tick != last + 1:
            raise ValueError(f"tick {tick} after tick {last}")
        journal.ticks[tick] = [_event(event) for event in events]
        return int(tick)
    raise ValueError(f"not a live journal's record: {kind!r}")


def _event(raw: list[Any]) -> MarketEvent:
    at, kind, symbol, a, b, c, d = raw
    if not isinstance(at, int) or not isinstance(kind, int) or not isinstance(symbol, str):
        raise ValueError(f"not a market event: {raw!r}")
    return (at, kind, symbol, float(a), float(b), float(c), float(d))


class ReplayedBuckets(TapeBuckets):
    """The venue's buckets after a kill: the journaled ones while its journal replays, then the live tape's."""

    def __init__(self, recording: Recording, tape: Tape, journal: LiveJournal) -> None:
        super().__init__(recording, tape)
        self._journaled = dict(journal.ticks)

    def next_bucket(self) -> list[TickEvent]:
        """Bucket ``through + 1``: the journal's while it holds it, else the tape's."""
        if self.through + 1 in self._journaled:
            return self.convert(self.next_raw())
        return super().next_bucket()

    def next_raw(self) -> list[MarketEvent]:
        """Bucket ``through + 1``: the journal's while it holds it, else the tape's."""
        tick = self.through + 1
        events = self._journaled.pop(tick, None)
        if events is None:
            return super().next_raw()
        self.through = tick
        units = self._units
        return [event for event in events if event[2] in units]

    def end_replay(self) -> None:
        """The venue is restored: what the journal holds past its last tick never reached it (the tape's go on)."""
        self._journaled.clear()


class JournaledMids:
    """A killed live session's mids, tick by tick, from its journal: what risk's journaled decisions were marked at.

    Each session's ticks are read by the recorded market's rules from its
    own opening, as the feed read them live.  A tick past the journal's
    last holds its mids (recovery marks the fills no decision applied at the
    tick after the venue's last, which the kill kept from being journaled).
    """

    def __init__(self, journal: LiveJournal, instruments: Mapping[str, Instrument]) -> None:
        self._mids: dict[int, dict[str, int]] = {}
        self._opening: dict[str, int] = {}
        openings = journal.openings
        last = journal.last_tick
        for index, opening in enumerate(openings):
            through = openings[index + 1].first_tick - 1 if index + 1 < len(openings) else last
            recording = opening.recording(instruments)
            if index == 0:
                self._opening = dict(recording.first_mids)
            tape = Tape(1)
            for tick in range(opening.first_tick, through + 1):
                tape.put(tick, journal.ticks.get(tick, []))
            market = _TapeMarket(recording, tape, first_tick=opening.first_tick)
            for tick in range(opening.first_tick, through + 1):
                self._mids[tick] = {symbol: market.mid_ticks(symbol, tick) for symbol in instruments}
        self._last = last

    def mid_ticks(self, symbol: str, tick: int) -> int:
        """The mid of ``symbol`` at ``tick`` as the session had it (past the journal: its last)."""
        mids = self._mids.get(min(tick, self._last))
        if mids is None:
            return self._opening[symbol]
        return mids[symbol]


@dataclass(frozen=True)
class Resumed:
    """The gap a kill left: the report's ``live.resumed``."""

    after_tick: int
    """The venue's last tick before the kill; the resumed session's first is the next."""
    down_us: int
    """From the end of that tick on the old session's grid to the start of the resumed session's first bucket."""
    bucket_us: int

    def as_report(self) -> dict[str, Any]:
        """``after_tick``, ``down_s``, ``ticks_missed`` (whole buckets of the old grid that no tick ran)."""
        return {"after_tick": self.after_tick, "down_s": round(self.down_us / 1e6, 3),
                "ticks_missed": self.down_us // self.bucket_us}  # fmt: skip


@dataclass
class TickFacts:
    """What the feed needs of one closed tick besides its mids."""

    stale: frozenset[str]
    """Symbols whose quotes are pulled at this tick."""
    newest_us: int
    """Receive time of the newest message at or before the tick's end (0: none yet): what the tick's orders answer."""
    names: frozenset[str] | None = None
    """Deciding by message: the symbols the tick names, whose quoters alone decide it (None: every symbol)."""


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
    journal: JournalWriter | None = None
    """``live.journal`` (``--journal``): the opening and each closed bucket's events, flushed before it is sent."""
    resumed: Resumed | None = None
    """Set as a session resumed after a kill opens: the gap it left."""
    _old_end_us: int | None = None
    """A resumed session: the end of the venue's last tick on the killed session's grid."""
    _when_resumed: list[Callable[[], None]] = field(default_factory=list)
    by_message: bool = False
    """A tick closes as messages arrive and names the symbols they moved (see the module's docstring)."""
    _waiting: list[MarketEvent] = field(default_factory=list)
    _first_mids: dict[str, float] = field(default_factory=dict)
    _facts: dict[int, TickFacts] = field(default_factory=dict)
    _mids: RecordedMarket | None = None
    _newest_us: int = 0
    _openings: dict[str, list[float]] = field(default_factory=dict)
    _when_open: list[Callable[[Recording], None]] = field(default_factory=list)
    _closed_end_us: int = 0
    """Deciding by message: when the last tick closed."""
    names_sent: int = 0
    """Deciding by message: symbol-ticks named (each a quoter's decision), over every tick closed."""
    _stale_named: frozenset[str] = frozenset()
    """Deciding by message: the symbols stale at the last tick (one that goes stale is named once, and pulled)."""
    _stale_checked_us: int = 0
    """Deciding by message: when every symbol's staleness was last asked (once a bucket: it costs every symbol)."""

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
        if self.by_message:
            return self._advance_by_message(now)
        bucket = self.bucket_us
        closed = (now - start) // bucket  # every event up to now - 1 is in: a bucket ending by now is whole
        ticks = list(range(self.closed_through + 1, closed + 1))
        waiting, journal = self._waiting, self.journal
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
            if journal is not None:
                journal.append([TICK, tick, [list(event) for event in events_of_tick]])
            stale = stream.stale(end - 1) & frozenset(self.instruments)
            self.stale_pulls += len(stale)
            self._facts[tick] = TickFacts(stale, self._newest_us)
            self._note_down(stale, end)
        if taken:
            del waiting[:taken]
        self.closed_through = max(self.closed_through, closed)
        if journal is not None and ticks:
            journal.flush()  # before the feed sends them: risk cannot decide a tick the journal lacks
        return ticks

    def _advance_by_message(self, now: int) -> list[int]:
        """One tick of everything waiting, naming what moved; none if nothing came and a bucket has not passed."""
        waiting = self._waiting
        first = self.closed_through == 0
        if not waiting and not first and now < self._closed_end_us + self.bucket_us:
            return []
        tick = self.closed_through + 1
        moved = frozenset(event[2] for event in waiting)
        if first or self.depth or now >= self._stale_checked_us + self.bucket_us:
            stale = self.stream.stale(now - 1) & frozenset(self.instruments)
            self._stale_checked_us = now
        else:  # in between, a symbol heard from is live again; who fell silent is found within a bucket
            stale = self._stale_named - moved
        names = frozenset(self.instruments) if first else moved | (stale - self._stale_named)
        self._stale_named = stale
        if waiting:
            self._newest_us = waiting[-1][0]
        self.tape.put(tick, waiting)
        self._waiting = []
        pulled = stale & names
        self.stale_pulls += len(pulled)
        self.names_sent += len(names)
        self._facts[tick] = TickFacts(pulled, self._newest_us, names)
        self._closed_end_us = now
        self._note_down(stale, now)
        self.closed_through = tick
        return [tick]

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
        resumed_at = self.closed_through  # a resumed session's first bucket is the tick after the venue's last
        if resumed_at:
            opened_us = recording.start_us
            recording = replace(recording, start_us=opened_us - resumed_at * self.bucket_us)
            if self._old_end_us is not None:
                self.resumed = Resumed(resumed_at, max(0, opened_us - self._old_end_us), self.bucket_us)
        self.start_us = recording.start_us
        self._mids = _TapeMarket(recording, self.tape, levels=self.levels, first_tick=resumed_at + 1)
        if self.journal is not None:
            opened = Opening(resumed_at + 1, recording.start_us, self.bucket_us, dict(first), self.depth)
            self.journal.append(opened.record())
            self.journal.flush()
        for told in self._when_open:
            told(recording)
        return True

    def resume_at(self, reached: int, journal: LiveJournal | None) -> None:
        """Number the first bucket ``reached + 1`` (the venue's last tick was ``reached``): called before the
        stream starts.  ``journal``: the killed session's, whose grid the gap is measured on."""
        self.closed_through = reached
        opening = journal.opening_of(reached) if journal is not None else None
        if opening is not None:
            self._old_end_us = opening.start_us + reached * opening.bucket_us
        for told in self._when_resumed:
            told()

    def when_resumed(self, told: Callable[[], None]) -> None:
        """Call ``told`` once the venue is restored and the session knows its first tick (:meth:`resume_at`)."""
        self._when_resumed.append(told)

    def close_journal(self) -> None:
        """Flush and close ``live.journal`` (at the run's end)."""
        if self.journal is not None:
            self.journal.close()

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
        if self.by_message:
            return self._closed_end_us - self.down_since_us + self.bucket_us
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
        if self.by_message:  # arrivals wake the feed sooner (LiveMarket.wake_on_arrival)
            return max(0.0, (self._closed_end_us + self.bucket_us - self.stream.now_us()) / 1e6)
        end = self.start_us + (self.closed_through + 1) * self.bucket_us
        return max(0.0, (end - self.stream.now_us()) / 1e6)
