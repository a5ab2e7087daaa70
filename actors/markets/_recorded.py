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
the venue) reads the files a bucket at a time.  In one process the two share
one parse (:class:`SharedBuckets`): whichever reaches a bucket first reads
and converts it, and it is held until the other has taken it too (the feed
runs at most ``ticks_in_flight`` ticks ahead of the venue, so a few buckets
at most; beyond :data:`HOLD_EVENTS` events the one behind parses its own).
Nothing but those buckets is held in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from actors.core._types import Instrument
from actors.markets._depth import DepthBook
from actors.markets._events import DEPTH, NO_ASK, NO_BID, QUOTE, TRADE, MarketEvent
from actors.markets._files import MarketFile, merged

TickEvent = tuple[int, int, str, int, int, int, int]
"""An event in the instrument's integers, after its time in us: ``(us, QUOTE, symbol, bid ticks, bid lots, ask
ticks, ask lots)``, ``(us, TRADE, symbol, price ticks, lots, aggressor, feed latency us)`` or ``(us, DEPTH,
symbol, price ticks, lots, side, feed latency us)`` (side +1 bid, -1 ask; a marker: ``(us, DEPTH, symbol, 0,
snapshot id, RESET, 0)``, ``(us, DEPTH, symbol, first id, final id, UPDATE, previous final id)``,
:mod:`actors.markets._depth`).  An absent quote side is
0 ticks (no bid) or :data:`NO_ASK_TICKS`, with 0 lots: nobody is ahead of an order there, and nothing there trades
with it."""
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
    depth: bool = False
    """Some file has depth rows: the venue matches those symbols' orders on their books."""

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
        depth: bool = False,
    ) -> Recording:
        """Cut ``[first_us, last_us]`` into buckets of ``bucket_us`` starting on a whole bucket."""
        if bucket_us <= 0:
            raise ValueError(f"a bucket must last at least 1 us, got {bucket_us}")
        start = (first_us // bucket_us) * bucket_us
        buckets = max(1, (last_us - start) // bucket_us + 1)
        mids = {s: max(1, round(first_mids[s] / float(i.tick_size))) for s, i in instruments.items()}
        return cls(tuple(files), dict(instruments), start, bucket_us, buckets, mids, quoted, depth)


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
        return self.convert(self.next_raw())

    def convert(self, raw: list[MarketEvent]) -> list[TickEvent]:
        """``raw`` (events of the traded symbols, as the files have them) in the instruments' integers."""
        units = self._units
        bucket: list[TickEvent] = []
        for at, kind, symbol, price, size, ask, ask_size in raw:
            tick, lot = units[symbol]
            if kind == QUOTE and price != NO_BID and ask != NO_ASK:  # the most common row first
                bucket.append((at, kind, symbol, max(1, round(price / tick)), int(size / lot + 1e-9),
                               max(1, round(ask / tick)), int(ask_size / lot + 1e-9)))  # fmt: skip
                continue
            if kind == DEPTH:
                if ask == 1.0 or ask == -1.0:  # noqa: PLR1714 -- a level (else a marker: ids, kept whole)
                    bucket.append((at, kind, symbol, max(1, round(price / tick)), int(size / lot + 1e-9), int(ask),
                                   int(ask_size)))  # fmt: skip
                else:
                    bucket.append((at, kind, symbol, int(price), int(size), int(ask), int(ask_size)))
                continue
            if kind != QUOTE:
                bucket.append((at, kind, symbol, max(1, round(price / tick)), int(size / lot + 1e-9), int(ask),
                               int(ask_size)))  # fmt: skip
                continue
            bucket.append(
                (at, kind, symbol, max(1, round(price / tick)) if price != NO_BID else 0, int(size / lot + 1e-9),
                 max(1, round(ask / tick)) if ask != NO_ASK else NO_ASK_TICKS, int(ask_size / lot + 1e-9))
            )  # fmt: skip
        return bucket


HOLD_EVENTS = 250_000
"""Events :class:`SharedBuckets` holds at most for a reader behind: past it, that reader parses the files itself
(a bounded hand-off: memory does not follow a reader that lags, or one that never reads)."""


class SharedBuckets:
    """One parse of the recording for several readers in one process (the feed's mids and the venue's fills).

    Each :meth:`reader` is a :class:`Buckets` of its own, giving the same
    buckets in the same order as a private one would: the first reader to
    reach bucket *k* converts it (under a lock: the feed and the venue may be
    on two threads) and holds it until every other reader has taken it.  The
    events are shared, read-only.  A reader that asks for a bucket no longer
    held (the hold was full, or it went back to the start) leaves the share
    and reads the files itself from then on: the same events, at today's
    cost.  Before it, each reader parsed every row again (two of the
    replay's three passes over the files).
    """

    def __init__(self, recording: Recording, *, hold_events: int = HOLD_EVENTS) -> None:
        self._recording = recording
        self._source = Buckets(recording)
        self._held: dict[int, tuple[list[TickEvent], int]] = {}
        """Buckets read and not yet taken by every reader: (events, readers still to take them)."""
        self._held_events = 0
        self._readers = 0
        self._hold_events = hold_events
        self._lock = threading.Lock()

    def reader(self) -> Buckets:
        """A new reader, from the first bucket (it must ask for every bucket in order, or leave)."""
        with self._lock:
            self._readers += 1
        return _SharedReader(self._recording, self)

    @property
    def held(self) -> int:
        """Buckets held for a reader behind (for tests: it stays small)."""
        with self._lock:
            return len(self._held)

    def take(self, tick: int) -> list[TickEvent] | None:
        """Bucket ``tick`` for one reader (that reader's next), or None if it is no longer held."""
        with self._lock:
            held = self._held.get(tick)
            if held is not None:
                events, left = held
                if left <= 1:
                    del self._held[tick]
                    self._held_events -= len(events)
                else:
                    self._held[tick] = (events, left - 1)
                return events
            source = self._source
            if tick != source.through + 1:
                return None
            events = source.next_bucket()
            others = self._readers - 1
            if others > 0 and self._held_events + len(events) <= self._hold_events:
                self._held[tick] = (events, others)
                self._held_events += len(events)
            return events

    def leave(self, next_tick: int) -> None:
        """A reader whose next bucket is ``next_tick`` reads no more from the share: hold nothing for it."""
        with self._lock:
            self._readers -= 1
            for tick in [t for t in self._held if t >= next_tick]:
                events, left = self._held[tick]
                if left <= 1:
                    del self._held[tick]
                    self._held_events -= len(events)
                else:
                    self._held[tick] = (events, left - 1)


class _SharedReader(Buckets):
    """A reader of :class:`SharedBuckets`; once out of it, a private :class:`Buckets` over the files."""

    def __init__(self, recording: Recording, shared: SharedBuckets) -> None:  # no files opened unless it leaves
        self._recording = recording
        self._shared: SharedBuckets | None = shared
        self._own: Buckets | None = None
        self.through = 0

    def next_bucket(self) -> list[TickEvent]:
        """Bucket ``through + 1``, from the share while it holds it."""
        tick = self.through + 1
        shared = self._shared
        if shared is not None:
            events = shared.take(tick)
            if events is not None:
                self.through = tick
                return events
            self.close()
        own = self._private()
        events = own.next_bucket()
        self.through = own.through
        return events

    def next_raw(self) -> list[MarketEvent]:
        """Bucket ``through + 1`` as the files have it (read privately: the share holds converted buckets)."""
        self.close()
        own = self._private()
        events = own.next_raw()
        self.through = own.through
        return events

    def close(self) -> None:
        """Leave the share (a reader dropped, or one going back to the start): nothing is held for it."""
        if self._shared is not None:
            self._shared.leave(self.through + 1)
            self._shared = None

    def _private(self) -> Buckets:
        own = self._own
        if own is None:
            own = self._own = Buckets(self._recording)
            while own.through < self.through:  # catch up unconverted: the buckets already taken
                own.next_raw()
        return own


MAX_TRADES = 1_000
"""Trades of a bucket a market tick carries at most (the last ones): a busy minute's would outgrow the wire."""


@dataclass(frozen=True, slots=True)
class TopOfBook:
    """What the feed tells a quoter of its symbol at a tick, in ticks and lots.

    ``bid``/``ask`` are the last two-sided top of book at or before the
    tick (0, 0 before the first: the mid alone is known); ``trades`` the
    bucket's (price, lots, aggressor), oldest first, the last
    :data:`MAX_TRADES`; ``bids``/``asks`` the book's best levels, best first,
    on depth data (empty on quotes).
    """

    mid: int
    bid: int = 0
    bid_lots: int = 0
    ask: int = 0
    ask_lots: int = 0
    trades: tuple[tuple[int, int, int], ...] = ()
    bids: tuple[tuple[int, int], ...] = ()
    asks: tuple[tuple[int, int], ...] = ()


class RecordedMarket:
    """The feed's :class:`~actors.markets._data.MarketDataSource` over a recording, and its tops of book.

    O(rows) over a whole run when asked in increasing tick order, as the
    feed asks; asked for an earlier tick (recovery after a crash marks a
    position at the last tick again) it reads the files again from the start.
    A symbol with depth data has its book kept (:class:`~actors.markets._depth.DepthBook`):
    its mid is the book's at the end of each bucket, while the book is live
    and two-sided; ``levels`` of it go with each tick.

    ``stale_after_us`` (0: never): a symbol with no quote (no book change; a
    trade, for a symbol no file quotes) for longer than this is stale
    (:meth:`stale`) until its next one, and the feed pulls its quotes.
    """

    def __init__(
        self, recording: Recording, *, levels: int = 5, stale_after_us: int = 0, buckets: Buckets | None = None
    ) -> None:
        """``buckets``: where the events come from the first time through (a :meth:`SharedBuckets.reader`);
        None, or after a rewind, the files themselves."""
        self._recording = recording
        self.levels = levels
        self.stale_after = 0 if stale_after_us <= 0 else stale_after_us // recording.bucket_us + 1
        """Ticks without a quote after which a symbol is stale (0: never): silent for longer than ``stale_after_us``."""
        self._first: Buckets | None = buckets
        self._shared = buckets if isinstance(buckets, _SharedReader) else None
        self._rewind()

    def _rewind(self) -> None:
        first, self._first = self._first, None
        if first is None and self._shared is not None:
            self._shared.close()  # going back to the start: the share holds nothing more for this reader
            self._shared = None
        self._buckets = first if first is not None else Buckets(self._recording)
        self._mids: dict[str, int] = dict(self._recording.first_mids)
        self._tops: dict[str, tuple[int, int, int, int]] = {}
        self._trades: dict[str, list[tuple[int, int, int]]] = {}
        self._books: dict[str, DepthBook] = {}
        self._heard: dict[str, int] = dict.fromkeys(self._mids, 0)
        self._stale_before = 0
        """Stale symbol-ticks of stretches a quote has ended."""

    def mid_ticks(self, symbol: str, tick: int) -> int:
        """The mid of ``symbol``'s last quote at or before bucket ``tick``."""
        self._advance(symbol, tick)
        return self._mids[symbol]

    def top_of_book(self, symbol: str, tick: int) -> TopOfBook:
        """The mid, the top of book, the bucket's trades and the book's levels of ``symbol`` at ``tick``."""
        self._advance(symbol, tick)
        mid = self._mids[symbol]
        top = self._tops.get(symbol)
        trades = tuple(self._trades.get(symbol, ())[-MAX_TRADES:])
        book = self._books.get(symbol)
        if book is not None and self.levels > 0:
            bids, asks = book.levels(self.levels)
            return TopOfBook(mid, *(top or (0, 0, 0, 0)), trades, bids, asks)
        return TopOfBook(mid, *(top or (0, 0, 0, 0)), trades)

    def stale(self, symbol: str, tick: int) -> bool:
        """True if ``symbol`` has had no quote for longer than ``stale_after_us`` at ``tick``."""
        self._advance(symbol, tick)
        return self.stale_after > 0 and tick - self._heard[symbol] >= self.stale_after

    def stale_ticks(self, through: int) -> int:
        """Symbol-ticks stale from tick 1 to ``through`` (a quote ends a stretch; counted as ticks pass)."""
        after = self.stale_after
        if after <= 0 or not self._heard:
            return 0
        self._advance(next(iter(self._heard)), through)
        return self._stale_before + sum(max(0, through - heard - after + 1) for heard in self._heard.values())

    def _heard_from(self, names: set[str], bucket: int) -> None:
        """``names`` had a quote in ``bucket``: a stale stretch before it ends and is counted."""
        heard, after = self._heard, self.stale_after
        for name in names:
            self._stale_before += max(0, bucket - heard[name] - after)
            heard[name] = bucket

    def _advance(self, symbol: str, tick: int) -> None:
        if symbol not in self._mids:
            raise KeyError(f"no market data for symbol {symbol!r}")
        if tick < self._buckets.through:
            self._rewind()
        quoted, mids, tops, books = self._recording.quoted, self._mids, self._tops, self._books
        while self._buckets.through < tick:
            trades: dict[str, list[tuple[int, int, int]]] = {}
            moved: set[str] = set()
            fresh: set[str] = set()
            for _, kind, name, price, size, ask, ask_size in self._buckets.next_bucket():
                if kind == QUOTE:
                    fresh.add(name)
                    if price != 0 and ask != NO_ASK_TICKS:  # one side absent: the mid is held (docs/EXECUTION.md)
                        mids[name] = (price + ask) // 2
                        tops[name] = (price, size, ask, ask_size)
                elif kind == TRADE:
                    trades.setdefault(name, []).append((price, size, ask))
                    if name not in quoted:
                        mids[name] = price
                        fresh.add(name)
                else:
                    book = books.get(name)
                    if book is None:
                        book = books[name] = DepthBook()
                    book.apply(price, size, ask, ask_size)
                    moved.add(name)
            for name in moved:
                book = books[name]
                if book.live and book.best_bid and book.best_ask:
                    bid, ask = book.best_bid, book.best_ask
                    mids[name] = (bid + ask) // 2
                    tops[name] = (bid, book.bids[bid], ask, book.asks[ask])
            if self.stale_after:
                self._heard_from(fresh | moved, self._buckets.through)
            self._trades = trades

