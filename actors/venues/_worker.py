"""The venue worker: the gateway's calls to a real venue, made on threads of its own, answered by message.

A venue 20-200 ms away would hold the gateway's handler for as long as
each call takes, one order at a time.  The gateway's core instead sends each
place, cancel and status query as a :class:`~actors.core._gateway.Call`
(:attr:`~actors.core._gateway.Effects.calls`), its role hands them to a
:class:`VenueWorker` and returns at once; the worker makes each call on one
of its threads (so up to ``threads`` at once: a venue adapter such as
:class:`~actors.venues._binance.BinanceSpotVenue` keeps one keep-alive
connection per thread) and gives the answer to ``deliver``, which tells it
to the gateway as a message (``VenueAnswer``).  docs/LIVE.md, "Orders on a
real venue: what exists".

A venue that moves with the market (a simulated one) has no worker: the
core answers it inline, so every runtime gives the same reports.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from actors.core._exchange import ExchangeTimeout, PlaceResult
from actors.core._gateway import FROZEN, PLACE, Answer, Call, Venue, perform

__all__ = ["WORKER_THREADS", "VenueWorker"]

WORKER_THREADS = 8
"""Threads of a real venue's worker, unless told otherwise: eight calls under way at once.

Binance spot takes 50 orders per 10 s on an account, so eight calls 20-200 ms
each are more than the venue lets through; the figures in docs/LIVE.md
("The gateway before a real venue") show what more threads buy."""


class VenueWorker:
    """Makes venue calls on ``threads`` threads; each call's :class:`Answer` goes to ``deliver`` (from that thread).

    Every call is answered exactly once: a venue that raises anything but
    an ``ExchangeError`` is answered with an :class:`ExchangeTimeout` (the
    outcome unknown), so a place is settled by the venue's word on its
    client id, never by placing it again.
    """

    def __init__(
        self,
        venue: Venue,
        deliver: Callable[[Answer], None],
        *,
        threads: int = WORKER_THREADS,
        dropped: Callable[[Call], None] | None = None,
    ) -> None:
        """``dropped`` is told each call :meth:`close` drops unmade (so a count of calls under way stays right)."""
        if threads < 1:
            raise ValueError(f"a venue worker needs at least one thread, not {threads}")
        self.venue = venue
        self.threads = threads
        self._deliver = deliver
        self._dropped = dropped
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="venue-worker")
        self._lock = threading.Lock()
        self._queued: dict[Future[None], Call] = {}
        self.sent = 0
        self.answered = 0
        self.frozen = threading.Event()
        """Set by the gateway's freeze: a place not yet made is refused here, never sent (cleared by a resume)."""
        self.refused_frozen = 0

    def submit(self, call: Call) -> None:
        """Make ``call`` on a free thread (queued if every thread is busy); returns at once."""
        with self._lock:
            self.sent += 1
        future = self._pool.submit(self._run, call)
        with self._lock:
            self._queued[future] = call
        future.add_done_callback(self._forget)  # at once if it is done already

    @property
    def in_flight(self) -> int:
        """Calls submitted and not answered yet."""
        with self._lock:
            return self.sent - self.answered

    def close(self) -> None:
        """Make no more calls: those queued are dropped (the store's deadlines settle them), those under way end."""
        with self._lock:
            queued = list(self._queued.items())
        dropped = [call for future, call in queued if future.cancel()]
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._dropped is not None:
            for call in dropped:
                self._dropped(call)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._queued.pop(future, None)

    def _run(self, call: Call) -> None:
        if call.kind == PLACE and self.frozen.is_set():  # queued before the freeze: no order goes out after it
            with self._lock:
                self.refused_frozen += 1
                self.answered += 1
            self._deliver(Answer(call, placed=PlaceResult(call.client_id, False, None, FROZEN)))
            return
        try:
            answer = perform(call, self.venue)
        except Exception as exc:  # a venue's own failure: the call may have taken effect, the venue's word will say
            error = ExchangeTimeout(f"{call.kind} {call.client_id}: the venue raised {type(exc).__name__}: {exc}")
            answer = Answer(call, error=error)
        with self._lock:
            self.answered += 1
        self._deliver(answer)
