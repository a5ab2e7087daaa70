"""The ``threads`` runtime: stock ``pykka.ThreadingActor``, one thread per actor.

The reference runtime, fine for tens of symbols.  What it adds to stock pykka:
an inbox that counts messages in flight (for :meth:`wait_idle`), records who
sent each message, and refuses messages atomically once the actor is stopping
(stock pykka checks "alive" and enqueues without a lock and can lose a message
that races a stop); a timer thread; and no global ``ActorRegistry`` entry.
"""

from __future__ import annotations

import heapq
import queue
import threading
import time
from typing import Any

import pykka
from pykka import ActorDeadError
from pykka._envelope import Envelope

from actors.runtime.base import CLOCK, EXTERNAL, Runtime, TimerHandle


class IdleTimeout(TimeoutError):
    """``wait_idle`` ran out of time with messages still in flight."""


class CountingInbox:
    """A FIFO inbox that counts in-flight messages and knows each message's sender."""

    __slots__ = ("_closed", "_lock", "_queue", "_runtime", "current_sender", "owner")

    def __init__(self, runtime: ThreadsRuntime) -> None:
        self._runtime = runtime
        self._queue: queue.SimpleQueue[tuple[str, Envelope[Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self.owner = "?"
        self.current_sender = EXTERNAL

    def put(self, envelope: Envelope[Any], /) -> None:
        """Enqueue, or raise ``ActorDeadError`` if the actor is stopping (atomically)."""
        sender = self._runtime.current_address()
        with self._lock:
            if self._closed:
                raise ActorDeadError(f"{self.owner} stopped")
            self._runtime.in_flight_add(1)
            self._queue.put((sender, envelope))

    def get(self) -> Envelope[Any]:
        """Next envelope (blocking); remembers its sender for the handler."""
        sender, envelope = self._queue.get()
        self.current_sender = sender
        return envelope

    def empty(self) -> bool:
        """True if nothing is queued."""
        return self._queue.empty()

    def close(self) -> None:
        """Refuse every later ``put``."""
        with self._lock:
            self._closed = True


class _ThreadsMixin:
    """Put in front of an actor class: the runtime's side of pykka's hooks."""

    _actors_runtime: ThreadsRuntime
    address: str = "?"
    actor_inbox: CountingInbox

    def _create_actor_inbox(self) -> CountingInbox:
        return CountingInbox(self._actors_runtime)

    def _actor_loop_setup(self) -> None:
        self._actors_runtime.set_current(self.address)
        super()._actor_loop_setup()  # type: ignore[misc]

    def _handle_receive(self, message: Any) -> Any:
        try:
            return super()._handle_receive(message)  # type: ignore[misc]
        finally:
            self._actors_runtime.in_flight_add(-1)

    def _stop(self) -> None:
        self.actor_inbox.close()
        self._actors_runtime.actor_stopped(self.address)
        super()._stop()  # type: ignore[misc]

    def _handle_failure(self, *exc_info: Any) -> None:
        self.actor_inbox.close()
        self._actors_runtime.actor_stopped(self.address)
        super()._handle_failure(*exc_info)  # type: ignore[misc]

    def _actor_loop_teardown(self) -> None:
        self.actor_inbox.close()
        runtime = self._actors_runtime
        while not self.actor_inbox.empty():
            envelope = self.actor_inbox.get()
            if envelope.reply_to is not None:
                if isinstance(envelope.message, pykka.messages._ActorStop):
                    envelope.reply_to.set(None)
                else:
                    envelope.reply_to.set_exception(
                        exc_info=(ActorDeadError, ActorDeadError(f"{self.address} stopped"), None)
                    )
            elif not isinstance(envelope.message, pykka.messages._ActorStop):
                runtime.dead_letter(self.actor_inbox.current_sender, self.address, "actor stopped", envelope.message)
            runtime.in_flight_add(-1)


class ThreadsRuntime(Runtime):
    """One OS thread per actor; real time; quiescence by counting messages in flight."""

    name = "threads"

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._timers: list[TimerHandle] = []
        self._timer_cond = threading.Condition()
        self._timer_thread: threading.Thread | None = None
        self._closing = False

    def mixin(self) -> type[Any]:
        return _ThreadsMixin

    def actor_bases(self) -> tuple[type[Any], ...]:
        return (pykka.ThreadingActor,)

    # ------------------------------------------------------------ context

    def set_current(self, address: str) -> None:
        """Mark the calling thread as running ``address``'s handlers."""
        self._local.address = address

    def current_address(self) -> str:
        address: str = getattr(self._local, "address", EXTERNAL)
        return address

    # ------------------------------------------------------------ quiescence

    def in_flight_add(self, delta: int) -> None:
        """Adjust the in-flight count; a delivery (delta -1) is counted in stats."""
        with self._idle:
            self._in_flight += delta
            if delta < 0:
                self.stats.delivered += 1
                if self._in_flight == 0:
                    self._idle.notify_all()

    def wait_idle(self, timeout: float | None = 60.0) -> None:
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise IdleTimeout(f"threads runtime not idle after {timeout}s: {self._in_flight} messages in flight")

    # ------------------------------------------------------------ stop

    def await_stopped(self, refs: list[pykka.ActorRef[Any]], timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for ref in refs:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            ref.actor_stopped.wait(remaining)

    def shutdown(self) -> None:
        super().shutdown()
        with self._timer_cond:
            self._closing = True
            self._timer_cond.notify_all()
        if self._timer_thread is not None:
            self._timer_thread.join()

    # ------------------------------------------------------------ time

    def now(self) -> float:
        return time.monotonic()

    def schedule(self, delay: float, address: str, message: object) -> TimerHandle:
        handle = TimerHandle(self.now() + max(0.0, delay), next(self._timer_seq), address, message)
        with self._timer_cond:
            if self._timer_thread is None:
                self._timer_thread = threading.Thread(target=self._run_timers, name="actors-timers", daemon=True)
                self._timer_thread.start()
            heapq.heappush(self._timers, handle)
            self._timer_cond.notify_all()
        return handle

    def _run_timers(self) -> None:
        self.set_current(CLOCK)
        with self._timer_cond:
            while not self._closing:
                if not self._timers:
                    self._timer_cond.wait()
                    continue
                head = self._timers[0]
                wait = head.when - self.now()
                if wait > 0:
                    self._timer_cond.wait(wait)
                    continue
                heapq.heappop(self._timers)
                if not head.cancelled:
                    self._timer_cond.release()
                    try:
                        self.tell(head.address, head.message)
                    finally:
                        self._timer_cond.acquire()
