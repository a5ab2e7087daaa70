"""The stream client: a venue's public streams, received in a thread of their own, handed to the engine as events.

:class:`LiveMarket` runs an asyncio loop in its own thread.  It connects to
``<ws_url>/stream``, subscribes (SUBSCRIBE, in chunks) to ``bookTicker`` and
``aggTrade`` (and ``depth@100ms`` when asked) for its symbols, parses every
frame into the engine's market events (:mod:`actors.markets._events`, stamped
with the local receive time in µs) and puts them on a thread-safe queue.

The engine's side is three calls, from one thread:

- :meth:`LiveMarket.poll` ``(until_us)``: every event received up to ``until_us``, in arrival order (the feed
  calls it at each wall-clock tick boundary and gets that bucket's events);
- :meth:`LiveMarket.stale` ``(now_us)``: the symbols whose market cannot be trusted now (quotes pulled);
- :meth:`LiveMarket.status` and :meth:`LiveMarket.drain_notes`: counters, and what happened (to log);
- :meth:`LiveMarket.wake_on_arrival` ``(wake)``: ``wake()`` is called (from the client's thread) when an event
  is queued and none was since the last poll, so a feed deciding by message polls at once instead of at the
  next bucket's end.

Streams fail, so: a dropped connection, a handshake or subscription failure,
or a connection silent for ``silence_reconnect_ms`` is closed and opened anew
after an exponential backoff with jitter (reset once a connection has lived
``healthy_after_ms``, so the venue's 24-hour disconnect is a normal, prompt
reconnect), and everything is subscribed again.  Every symbol is stale from a
disconnect until it is heard from again, or when nothing has come for
``stale_after_ms``; with depth, a symbol is also stale while its book waits
for a snapshot (:mod:`.book`).  A frame that does not parse is counted and
skipped; the stream goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import random
import threading
import time
import urllib.request
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from actors.core._instruments import canonical_symbol
from actors.markets._events import BOOK_RESET, DEPTH, MarketEvent
from actors.markets.live._backoff import Backoff
from actors.markets.live._book import DepthBook, Levels
from actors.markets.live._protocol import (
    VENUES,
    BadFrame,
    DepthDiff,
    Quote,
    Reply,
    Trade,
    Venue,
    parse_frame,
    parse_snapshot,
    stream_names,
    subscribe_message,
)
from actors.markets.live._recorder import Recorder
from actors.markets.live._staleness import StalenessTracker


@dataclass(frozen=True)
class LiveSettings:
    """What a live market connects to and how it copes; every URL is a setting (tests, proxies, testnets)."""

    venue: str = "binance"
    """A key of :data:`~actors.markets.live._protocol.VENUES`: ``binance`` (spot) or ``binance-usdm``."""
    symbols: tuple[str, ...] = ("BTCUSDT",)
    depth: bool = False
    """Subscribe to depth diffs too and keep a book per symbol from REST snapshots."""
    ws_url: str = ""
    """WebSocket base URL; empty: the venue's (``wss://stream.binance.com:9443``, ``wss://fstream.binance.com``)."""
    rest_url: str = ""
    """REST base URL for depth snapshots; empty: the venue's (``https://api.binance.com``, ``https://fapi...``)."""
    stale_after_ms: int = 5_000
    silence_reconnect_ms: int = 30_000
    """A connection that brings no frame for this long is taken as dead and opened anew."""
    backoff_initial_ms: int = 100
    backoff_max_ms: int = 30_000
    healthy_after_ms: int = 30_000
    open_timeout_ms: int = 10_000
    ping_interval_ms: int = 20_000
    """Our keepalive pings (the venue pings us too; the library answers its pings with pongs)."""
    depth_limit: int = 1000
    """Levels a snapshot asks for (Binance: spot up to 5000; USDⓈ-M 5, 10, 20, 50, 100, 500 or 1000)."""
    subscribe_chunk: int = 200
    """Streams a SUBSCRIBE names (Binance takes up to 1024 streams a connection, few requests a second)."""
    seed: int | None = None
    """Seeds the backoff's jitter (None: unseeded)."""

    def __post_init__(self) -> None:
        if self.venue not in VENUES:
            raise ValueError(f"unknown venue {self.venue!r} (known: {', '.join(VENUES)})")
        if not self.symbols:
            raise ValueError("a live market needs at least one symbol")
        for name in (
            "stale_after_ms",
            "silence_reconnect_ms",
            "backoff_initial_ms",
            "backoff_max_ms",
            "open_timeout_ms",
            "ping_interval_ms",
            "depth_limit",
            "subscribe_chunk",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")

    @property
    def endpoints(self) -> Venue:
        """The venue, with the URLs these settings override."""
        venue = VENUES[self.venue]
        return Venue(
            venue.name,
            (self.ws_url or venue.ws_url).rstrip("/"),
            (self.rest_url or venue.rest_url).rstrip("/"),
            venue.depth_path,
            venue.futures,
            venue.tardis_exchange,
        )


@dataclass(frozen=True)
class Note:
    """Something that happened on the stream, for the engine's log: when (µs), what kind, one line."""

    at_us: int
    kind: str
    """``connected``, ``subscribed``, ``disconnected``, ``bad_frame``, ``gap``, ``snapshot``, ``snapshot_failed``."""
    text: str


@dataclass(frozen=True)
class LiveStatus:
    """The client's counters at one moment (see :meth:`LiveMarket.status`)."""

    connected: bool
    subscribed: bool
    counts: dict[str, int] = field(default_factory=dict)
    """``connections``, ``reconnects``, ``frames``, ``quotes``, ``trades``, ``depth_diffs``, ``bad_frames``,
    ``gaps``, ``snapshots``, ``snapshot_failures``, ``stale_episodes``... (a missing key is 0)."""
    stale: frozenset[str] = frozenset()
    last_error: str = ""


class _Resubscribe(Exception):
    """The session must end and start anew (a subscription refused, a silent connection)."""


MAX_NOTES = 1000


def wall_clock_us() -> int:
    """Now, µs since the epoch: the receive time a recording's ``local_timestamp`` holds."""
    return time.time_ns() // 1000


class LiveMarket:
    """A venue's public streams for some symbols, received in a thread of its own (start, poll, stop)."""

    def __init__(
        self, settings: LiveSettings, *, recorder: Recorder | None = None, clock_us: Callable[[], int] = wall_clock_us
    ) -> None:
        self.settings = settings
        self.symbols = tuple(canonical_symbol(s) for s in settings.symbols)
        self._symbol_set = frozenset(self.symbols)
        self._endpoints = settings.endpoints
        self._recorder = recorder
        self._clock = clock_us
        self._queue: queue.SimpleQueue[MarketEvent] = queue.SimpleQueue()
        self._pending: MarketEvent | None = None
        self._lock = threading.Lock()
        self._tracker = StalenessTracker(self.symbols, settings.stale_after_ms * 1000)
        futures = self._endpoints.futures
        self._books = {s: DepthBook(s, futures=futures) for s in self.symbols} if settings.depth else {}
        self._counts: Counter[str] = Counter()
        self._notes: deque[Note] = deque(maxlen=MAX_NOTES)
        self._connected = False
        self._subscribed = False
        self._last_error = ""
        self._last_us = 0
        self._closed_us = 0
        """The last receive time :meth:`poll` handed out up to: later frames are stamped after it."""
        self._in_snapshot: dict[str, bool] = {}
        """Per symbol, whether its last depth row was a snapshot's: a recording's reader starts a snapshot (a reset)
        at the first of a run of them only, so the events handed out do the same (:meth:`_depth_rows`)."""
        self._awaiting: set[int] = set()
        self._next_id = 0
        self._snapshot_tasks: dict[str, asyncio.Task[None]] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._wake: Callable[[], object] | None = None
        self._woken = False
        """``wake`` was called since the last poll (one call is enough: the poll takes everything queued)."""

    # -- the engine's side (one thread) -------------------------------------------------------------------------

    def start(self) -> None:
        """Start receiving (returns at once; the first connection is made in the client's thread)."""
        if self._thread is not None:
            raise RuntimeError("a LiveMarket starts once")
        self._thread = threading.Thread(target=self._thread_main, name="live-market", daemon=True)
        self._thread.start()
        self._started.wait()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close the connection, stop the thread, close the recording (idempotent)."""
        loop, main = self._loop, self._main
        if loop is not None and main is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(main.cancel)
        if self._thread is not None:
            self._thread.join(timeout_s)

    def __enter__(self) -> LiveMarket:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def wake_on_arrival(self, wake: Callable[[], object]) -> None:
        """Call ``wake()`` when an event is queued and none was since the last :meth:`poll` (set before start)."""
        self._wake = wake

    def poll(self, until_us: int) -> list[MarketEvent]:
        """Every event received at or before ``until_us`` not handed out yet, in arrival order (never blocks).

        It closes the books up to ``until_us`` (if that is not in the
        future): a frame is stamped and queued under the lock this takes, and
        every later one is stamped after ``until_us``, so what one poll
        leaves out no later poll hands out with a time at or before it.  A
        live run's tick bucket is then exactly the events a replay of its
        recording puts in that bucket, however late the feed polls and
        whatever the wall clock does.
        """
        events: list[MarketEvent] = []
        with self._lock:
            self._woken = False
            self._closed_us = max(self._closed_us, min(until_us, self._clock()))
            pending = self._pending
            if pending is not None:
                if pending[0] > until_us:
                    return events
                events.append(pending)
                self._pending = None
            get = self._queue.get_nowait
            while True:
                try:
                    event = get()
                except queue.Empty:
                    break
                if event[0] > until_us:
                    self._pending = event
                    break
                events.append(event)
        return events

    def now_us(self) -> int:
        """The receive clock now (µs since the epoch): what the next frame would be stamped at least."""
        with self._lock:
            return max(self._clock(), self._last_us + 1, self._closed_us + 1)

    def stale(self, now_us: int) -> frozenset[str]:
        """The symbols whose market is not to be quoted on at ``now_us``: silent too long, or their book not live."""
        with self._lock:
            stale = self._tracker.stale(now_us)
            books = frozenset(s for s, book in self._books.items() if not book.live)
        return stale | books

    def stale_changes(self, now_us: int) -> list[tuple[str, bool]]:
        """Symbols that went stale (True) or fresh (False) since the last call, by silence (for counting, logging)."""
        with self._lock:
            return self._tracker.changes(now_us)

    def status(self, now_us: int | None = None) -> LiveStatus:
        """The counters, and the stale symbols at ``now_us`` (default: now)."""
        now = self._clock() if now_us is None else now_us
        stale = self.stale(now)
        with self._lock:
            counts = dict(self._counts)
            counts["stale_episodes"] = self._tracker.episodes
            counts["gaps"] = sum(book.gaps for book in self._books.values())
            counts["snapshots"] = sum(book.snapshots for book in self._books.values())
            return LiveStatus(self._connected, self._subscribed, counts, stale, self._last_error)

    def book(self, symbol: str, depth: int = 10) -> tuple[bool, Levels, Levels]:
        """(live, bids, asks) of ``symbol``'s depth book: the best ``depth`` levels a side (depth must be asked for)."""
        with self._lock:
            book = self._books[symbol]
            return (book.live, *book.levels(depth))

    def drain_notes(self) -> list[Note]:
        """What happened on the stream since the last call, oldest first (the last :data:`MAX_NOTES` kept)."""
        with self._lock:
            notes = list(self._notes)
            self._notes.clear()
        return notes

    # -- the client's thread --------------------------------------------------------------------------------------

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._main = loop.create_task(self._run())
            self._started.set()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._main)
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            self._started.set()
            loop.close()
            if self._recorder is not None:
                self._recorder.close()

    async def _run(self) -> None:
        settings = self.settings
        backoff = Backoff(
            settings.backoff_initial_ms / 1000, settings.backoff_max_ms / 1000, rng=random.Random(settings.seed)
        )
        while True:
            opened = time.monotonic()
            try:
                await self._session()
            except asyncio.CancelledError:
                self._lost("stopped", stopped=True)
                raise
            except Exception as exc:  # whatever ended the session, the answer is to reconnect
                self._lost(f"{type(exc).__name__}: {exc}"[:200])
            if time.monotonic() - opened >= settings.healthy_after_ms / 1000:
                backoff.reset()
            delay = backoff.next_delay()
            with self._lock:
                self._counts["reconnects"] += 1
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        settings, endpoints = self.settings, self._endpoints
        async with connect(
            f"{endpoints.ws_url}/stream",
            open_timeout=settings.open_timeout_ms / 1000,
            ping_interval=settings.ping_interval_ms / 1000,
            ping_timeout=settings.ping_interval_ms / 1000,
            close_timeout=1,
            max_size=1 << 22,
            compression=None,  # Binance's streams are not compressed; inflating costs latency
        ) as ws:
            self._on_connected()
            streams = stream_names(list(self.symbols), settings.depth)
            for start in range(0, len(streams), settings.subscribe_chunk):
                self._next_id += 1
                self._awaiting.add(self._next_id)
                await ws.send(
                    subscribe_message("SUBSCRIBE", streams[start : start + settings.subscribe_chunk], self._next_id)
                )
            for symbol in self._books:
                self._want_snapshot(symbol)
            await self._receive(ws)

    async def _receive(self, ws: ClientConnection) -> None:
        silence = self.settings.silence_reconnect_ms / 1000
        while True:
            try:
                message = await asyncio.wait_for(ws.recv(), silence)
            except TimeoutError:
                raise _Resubscribe(f"no frame for {self.settings.silence_reconnect_ms} ms") from None
            self._on_frame(message)

    def _on_frame(self, message: str | bytes) -> None:
        """Stamp, parse and queue one frame, all under the lock (:meth:`poll` relies on it).

        Receive times strictly increase, even if the wall clock steps back,
        and come after every bucket already polled: a recording's replay
        orders its rows by them (quotes and trades are two files merged by
        time), and the live run's buckets must be the replay's.
        """
        recorder = self._recorder
        with self._lock:
            woken = self._woken
            self._woken = True
            now = self._stamp()
            try:
                frame = parse_frame(message, now, self._symbol_set)
            except BadFrame as exc:
                self._counts["frames"] += 1
                self._counts["bad_frames"] += 1
                self._notes.append(Note(now, "bad_frame", str(exc)))
                self._woken = woken  # nothing queued
                return
            self._counts["frames"] += 1
            if isinstance(frame, Quote):
                self._counts["quotes"] += 1
                self._tracker.seen(frame.event[2], now)
                self._queue.put(frame.event)
                if recorder is not None:
                    recorder.quote(frame.event, frame.exchange_us)
            elif isinstance(frame, Trade):
                self._counts["trades"] += 1
                self._tracker.seen(frame.event[2], now)
                self._queue.put(frame.event)
                if recorder is not None:
                    recorder.trade(frame.event, frame.exchange_us, frame.trade_id, frame.side)
            elif isinstance(frame, DepthDiff):
                self._on_depth(frame, now)
            else:
                self._woken = woken  # nothing queued
                self._on_reply(frame, now)
                return
        if not woken and self._wake is not None:
            self._wake()  # outside the lock: the feed's poll takes it

    def _stamp(self) -> int:
        """(Under the lock.)  A receive time: after every one given before and every bucket polled."""
        self._last_us = max(self._clock(), self._last_us + 1, self._closed_us + 1)
        return self._last_us

    def _on_depth(self, diff: DepthDiff, now: int) -> None:
        """(Under the lock.)  An applied diff's levels go out as depth events; a gap empties the book handed out."""
        self._counts["depth_diffs"] += 1
        book = self._books.get(diff.symbol)
        if book is None:
            self._counts["bad_frames"] += 1
            self._notes.append(Note(now, "bad_frame", f"depth for {diff.symbol}, which has no book"))
            return
        self._tracker.seen(diff.symbol, now)
        said = book.on_diff(diff)
        if said == "applied":
            self._depth_rows(diff.symbol, now, diff.bids, diff.asks, snapshot=False)
        elif said == "gap":  # the book was live, and keeps its levels: they go, as far as the engine knows
            self._depth_rows(diff.symbol, now, *_removed(book), snapshot=False)
            self._notes.append(
                Note(
                    now,
                    "gap",
                    f"{diff.symbol}: depth update ids skip ({diff.first_id} after "
                    f"{book.last_id}); stale until a snapshot",
                )
            )
        if not book.live:
            self._want_snapshot(diff.symbol)

    def _depth_rows(self, symbol: str, now: int, bids: Levels, asks: Levels, *, snapshot: bool) -> None:
        """(Under the lock.)  Levels as the depth events a recording's reader gives for its rows, recorded too.

        The book handed out (to the tape, to the recording) is what the live
        book *applied*: a snapshot's whole book (``incremental_book_L2``'s
        ``is_snapshot`` rows, a reset before the first of a run of them), each
        applied diff's levels, and at a gap or a disconnect every level
        removed (Tardis's layout has no update ids: an emptied book is how it
        says the levels are not to be trusted until the next snapshot).
        """
        if not (bids or asks):
            return
        put, recorder = self._queue.put, self._recorder
        if snapshot and not self._in_snapshot.get(symbol, False):
            put((now, DEPTH, symbol, 0.0, 0.0, BOOK_RESET, 0.0))
        self._in_snapshot[symbol] = snapshot
        for side, levels in ((1.0, bids), (-1.0, asks)):
            for price, size in levels:
                event = (now, DEPTH, symbol, price, size, side, 0.0)
                put(event)
                if recorder is not None:
                    recorder.depth(event, snapshot=snapshot)

    def _on_reply(self, reply: Reply, now: int) -> None:
        """(Under the lock.)"""
        if reply.error is not None:
            raise _Resubscribe(f"subscription {reply.id} refused: {reply.error}")
        self._awaiting.discard(reply.id)
        if not self._awaiting and not self._subscribed:
            self._subscribed = True
            self._notes.append(Note(now, "subscribed", f"{len(self.symbols)} symbols"))

    def _on_connected(self) -> None:
        with self._lock:
            self._connected = True
            self._counts["connections"] += 1
            self._notes.append(Note(self._clock(), "connected", self._endpoints.ws_url))

    def _lost(self, why: str, *, stopped: bool = False) -> None:
        """The session ended: every symbol stale until heard from again, every book until a new snapshot (its levels
        removed from the book handed out, unless the client is stopping: then nothing more is handed out)."""
        for task in self._snapshot_tasks.values():
            task.cancel()
        self._snapshot_tasks.clear()
        with self._lock:
            was = self._connected
            self._connected = self._subscribed = False
            self._awaiting.clear()
            self._tracker.forget()
            now = self._stamp() if self._books and not stopped else 0
            for symbol, book in self._books.items():
                if book.live and not stopped:
                    self._depth_rows(symbol, now, *_removed(book), snapshot=False)
                book.lost()
            self._last_error = why
            if was:
                self._notes.append(Note(self._clock(), "disconnected", why))
            if self._recorder is not None:
                self._recorder.flush()

    def _want_snapshot(self, symbol: str) -> None:
        task = self._snapshot_tasks.get(symbol)
        if task is None or task.done():
            self._snapshot_tasks[symbol] = asyncio.get_running_loop().create_task(self._snapshot(symbol))

    async def _snapshot(self, symbol: str) -> None:
        """Fetch snapshots until ``symbol``'s book is live (a failed or too old one is retried, waiting longer)."""
        endpoints = self._endpoints
        url = f"{endpoints.rest_url}{endpoints.depth_path}?symbol={symbol}&limit={self.settings.depth_limit}"
        wait = 0.05
        while True:
            try:
                body = await asyncio.to_thread(_fetch, url, self.settings.open_timeout_ms / 1000)
                last_id, bids, asks = parse_snapshot(body)
            except (OSError, ValueError) as exc:
                with self._lock:
                    self._counts["snapshot_failures"] += 1
                    self._notes.append(Note(self._clock(), "snapshot_failed", f"{symbol}: {exc}"[:200]))
            else:
                with self._lock:
                    book = self._books[symbol]
                    if not book.on_snapshot(last_id, bids, asks):
                        self._counts["snapshots_too_old"] += 1
                    elif book.live:
                        now = self._stamp()
                        self._tracker.seen(symbol, now)  # a fresh book: the symbol's market is known now
                        self._depth_rows(symbol, now, *book.levels(len(book.bids) + len(book.asks)), snapshot=True)
                        self._notes.append(Note(now, "snapshot", f"{symbol}: book rebuilt at {last_id}"))
                        return
            await asyncio.sleep(wait)
            wait = min(wait * 2, 5.0)


def _removed(book: DepthBook) -> tuple[Levels, Levels]:
    """Every level of ``book`` at size 0."""
    return tuple((price, 0.0) for price in book.bids), tuple((price, 0.0) for price in book.asks)


def _fetch(url: str, timeout_s: float) -> bytes:
    """GET ``url``'s body (in a worker thread: urllib blocks); OSError on failure (HTTP errors included)."""
    request = urllib.request.Request(url, headers={"User-Agent": "actors-live"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        body: Any = response.read()
    return bytes(body)
