"""What the two real-thread runtimes (``threads`` and ``pool``) share.

Quiescence by counting messages in flight (incremented when a message is
queued, decremented when it has been handled or dead-lettered), the calling
thread's current actor for sender identity, a single timer thread, and the
teardown of a stopped actor's inbox.
"""

from __future__ import annotations

import heapq
import threading
import time
from typing import Any

import pykka

from actors.runtime._base import CLOCK, EXTERNAL, Runtime, TimerHandle
from actors.runtime._loop import answer_dead


class IdleTimeout(TimeoutError):
    """``wait_idle`` ran out of time with messages still in flight."""


class RealTimeRuntime(Runtime):
    """Base of runtimes whose actors run on real threads, in real time."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()
        self._idle_lock = threading.Lock()  # a plain lock, taken as itself: this is taken twice per message
        self._idle = threading.Condition(self._idle_lock)
        self._in_flight = 0
        self._timers: list[TimerHandle] = []
        self._timer_cond = threading.Condition()
        self._timer_thread: threading.Thread | None = None
        self._closing = False

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
        with self._idle_lock:  # the lock's own (C) enter, not the condition's: the same lock, a cheaper call
            self._in_flight += delta
            if delta < 0:
                self.stats.delivered += 1
                if self._in_flight == 0:
                    self._idle.notify_all()

    def wait_idle(self, timeout: float | None = 60.0) -> None:
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                busy = f"{self._in_flight} messages in flight"
                raise IdleTimeout(f"{self.name} runtime not idle after {timeout}s: {busy}")

    # ------------------------------------------------------------ stop

    def drain_stopped(self, actor: Any) -> None:
        """Empty a stopped actor's inbox: asks get ``ActorDeadError``, tells become dead letters."""
        inbox = actor.actor_inbox
        inbox.close()
        while not inbox.empty():
            envelope = inbox.get()
            if not answer_dead(envelope, actor.address) and not isinstance(envelope.message, pykka.messages._ActorStop):
                self.dead_letter(inbox.current_sender, actor.address, "actor stopped", envelope.message)
            self.in_flight_add(-1)

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

    def pass_time(self, seconds: float) -> None:
        time.sleep(seconds)

    def schedule(self, delay: float, address: str, message: object) -> TimerHandle:
        handle = TimerHandle(self.now() + max(0.0, delay), next(self._timer_seq), address, message)
        with self._timer_cond:
            if self._timer_thread is None:
                self._timer_thread = threading.Thread(target=self._run_timers, name="actors-timers", daemon=True)
                self._timer_thread.start()
            heapq.heappush(self._timers, handle)
            if self._timers[0] is handle:  # due before any other: the timer thread must wait less (else it need not
                self._timer_cond.notify_all()  # wake: a tick's decision deadline, armed each tick, costs no switch)
        return handle

    def _run_timers(self) -> None:
        self.set_current(CLOCK)
        with self._timer_cond:
            while not self._closing:
                if not self._timers:
                    self._timer_cond.wait()
                    continue
                head = self._timers[0]
                if head.cancelled:  # dropped at once, not slept until: a decided tick's deadline wakes nobody
                    heapq.heappop(self._timers)
                    continue
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
