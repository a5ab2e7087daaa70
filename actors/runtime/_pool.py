"""The ``pool`` runtime: many actors multiplexed over a few worker threads.

An actor is a mailbox plus a "scheduled" flag.  Telling an idle actor puts it
on a shared run queue; a worker takes it, handles up to ``batch`` messages one
at a time, and puts it back at the end of the run queue if more are waiting,
so one busy actor cannot starve the others.  Only the worker holding an actor
runs it (one message at a time per actor), and a single FIFO mailbox keeps
every sender -> receiver pair in order.  No thread per actor means an actor
costs a few hundred bytes, and nothing but the runtime keeps it alive.

Actors whose class says ``urgent = True`` (the engine's few singletons: risk,
store, gateway) wait on a second run queue that workers serve first.  A freeze
showed why: the store's mass cancel, told after ten thousand quoters were told
``Freeze``, waited behind all of them in one FIFO run queue (freeze latency at
10,000 symbols: 287 ms p50 with one queue, see docs/PERFORMANCE.md for after).
Urgent actors must stay few and must not keep each other busy, or ordinary
actors would starve.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any

import pykka
from pykka._envelope import Envelope

from actors.runtime._base import BlockingCallError
from actors.runtime._loop import handle_envelope, refuse_closed
from actors.runtime._realtime import RealTimeRuntime


class PoolBlockingCallError(BlockingCallError):
    """A handler on a pool worker called ``.get()`` on an unresolved future."""


class PoolInbox:
    """Mailbox of one pooled actor; ``put`` schedules the actor when it was idle."""

    __slots__ = (
        "_actor", "_closed", "_lock", "_queue", "_runtime", "_scheduled", "current_sender", "owner", "urgent",
    )  # fmt: skip

    def __init__(self, runtime: PoolRuntime) -> None:
        self._runtime = runtime
        self._actor: Any = None
        self._queue: deque[tuple[str, Envelope[Any]]] = deque()
        self._lock = threading.Lock()
        self._closed = False
        self._scheduled = False
        self.owner = "?"
        self.current_sender = "external"
        self.urgent = False

    def put(self, envelope: Envelope[Any], /) -> None:
        """Enqueue (atomically refused once the actor stops) and schedule the actor if idle."""
        sender = self._runtime.current_address()
        with self._lock:
            if self._closed:
                refuse_closed(envelope, self.owner)
                return
            self._runtime.in_flight_add(1)
            self._queue.append((sender, envelope))
            if self._scheduled or self._actor is None:
                return
            self._scheduled = True
        self._runtime.make_runnable(self)

    def get(self) -> Envelope[Any]:
        """Next envelope (never blocks: the runtime only calls it when one is queued)."""
        sender, envelope = self._queue.popleft()
        self.current_sender = sender
        return envelope

    def empty(self) -> bool:
        """True if nothing is queued."""
        return not self._queue

    def depth(self) -> int:
        """Messages waiting (for metrics: read from any thread)."""
        return len(self._queue)

    def close(self) -> None:
        """Refuse every later ``put``."""
        with self._lock:
            self._closed = True

    def attach(self, actor: Any) -> None:
        """Bind the actor once it is started; schedule it if messages arrived meanwhile."""
        self.urgent = bool(getattr(actor, "urgent", False))
        with self._lock:
            self._actor = actor
            if not self._queue or self._scheduled:
                return
            self._scheduled = True
        self._runtime.make_runnable(self)

    def run(self, batch: int) -> None:
        """Handle up to ``batch`` messages, then reschedule or go idle."""
        actor = self._actor
        runtime = self._runtime
        runtime.set_current(self.owner)
        try:
            for _ in range(batch):
                if not self._queue or actor.actor_stopped.is_set():
                    break
                runtime.handle_one(actor, self.get())
        finally:
            runtime.set_current("external")
        if actor.actor_stopped.is_set():
            runtime.teardown(actor)
            return
        with self._lock:
            if not self._queue:
                self._scheduled = False
                return
        runtime.make_runnable(self)


class PoolFuture(pykka.ThreadingFuture[Any]):
    """A threading future that refuses to block a pool worker."""

    def get(self, *, timeout: float | None = None) -> Any:
        """Block the caller until set; refused on a worker thread (tell, don't block)."""
        if getattr(_worker, "active", False) and self._result is None and self._get_hook is None:
            raise PoolBlockingCallError(
                "tell, don't block: a handler on a pool worker called .get() on a future; "
                "that would starve the worker. Send a request and handle the reply as a message."
            )
        return super().get(timeout=timeout)


_worker = threading.local()


if TYPE_CHECKING:  # the mixin is always put in front of a pykka.Actor: type it as one, so super() calls are checked
    _ActorBase = pykka.Actor
else:
    _ActorBase = object


class _PoolMixin(_ActorBase):
    """Put in front of an actor class: pykka's hooks served by the pool.

    pykka documents three methods for implementors of new actor types
    (``_create_actor_inbox``, ``_create_future``, ``_start_actor_loop``);
    those are the hooks used.  Stopping and failing have no such hook, and
    the runtime must hear of both whatever the actor's own ``on_stop`` /
    ``on_failure`` do, so ``_stop`` and ``_handle_failure`` are extended
    (pykka's own body still runs, through ``super()``); the actor's loop is this
    runtime's, so it calls pykka's ``_actor_loop_setup`` itself, as pykka's own loop does.
    """

    _actors_runtime: PoolRuntime
    address: str = "?"
    actor_inbox: PoolInbox

    def _create_actor_inbox(self) -> PoolInbox:  # type: ignore[override]  # pykka's is a staticmethod; ours needs the actor's runtime (pykka calls it on the instance)
        return PoolInbox(self._actors_runtime)

    @staticmethod
    def _create_future() -> PoolFuture:
        return PoolFuture()

    def _start_actor_loop(self) -> None:
        if self.actor_inbox.owner == "?":
            self.actor_inbox.owner = self.address = f"{type(self).__name__}-{id(self):x}"
        self._actors_runtime.adopt(self)
        self._actors_runtime.set_current(self.address)
        try:
            self._actor_loop_setup()
        finally:
            self._actors_runtime.set_current("external")
        if self.actor_stopped.is_set():
            self._actors_runtime.teardown(self)
            return
        self.actor_inbox.attach(self)

    def _stop(self) -> None:
        self.actor_inbox.close()
        self._actors_runtime.actor_stopped(self.address)
        super()._stop()

    def _handle_failure(self, *exc_info: Any) -> None:
        self.actor_inbox.close()
        self._actors_runtime.actor_stopped(self.address)
        super()._handle_failure(*exc_info)


class PoolRuntime(RealTimeRuntime):
    """Actors multiplexed over ``workers`` threads (default one).

    One by measurement (docs/PERFORMANCE.md): handlers are pure Python under
    one GIL, so a second worker adds no parallelism, only lock and GIL
    hand-offs; at 10,000 symbols one worker ran 9 % more orders/s and froze
    the venue in 45 ms p50 / 48 ms p99 against 49 / 81 ms with two.  More
    workers pay off only for handlers that block outside the GIL (fsync).
    """

    name = "pool"

    def __init__(self, workers: int | None = None, batch: int = 64) -> None:
        super().__init__()
        self.workers = workers or 1
        self.batch = batch
        self._run_queue: deque[PoolInbox] = deque()
        self._urgent_queue: deque[PoolInbox] = deque()
        self._run_lock = threading.Lock()
        self._run_cond = threading.Condition(self._run_lock)
        self._waiting = 0
        """Workers waiting for an actor to run: only then does making one runnable need a notify."""
        self._threads: list[threading.Thread] = []
        self._closing_workers = False
        self._held: dict[int, Any] = {}
        self._held_lock = threading.Lock()

    def mixin(self) -> type[Any]:
        return _PoolMixin

    # ------------------------------------------------------------ actors

    def adopt(self, actor: Any) -> None:
        """Hold a strong reference: no thread keeps a pooled actor alive."""
        with self._held_lock:
            self._held[id(actor)] = actor
        if not self._threads:
            self._start_workers()

    def teardown(self, actor: Any) -> None:
        """A stopped actor: answer its pending asks, dead-letter its tells, release it."""
        self.drain_stopped(actor)
        with self._held_lock:
            self._held.pop(id(actor), None)

    def tell(self, address: str, message: object) -> bool:
        """``Runtime.tell`` straight to the receiver's inbox, whose ``put`` refuses a stopped actor as pykka's does.

        pykka's ``ActorRef.tell`` first asks ``is_alive()``; the inbox is
        closed before the actor is marked stopped, so the inbox's own refusal
        (``ActorDeadError``, under its lock) is the same test, made once.
        """
        ref = self.directory.get(address)
        if ref is None:
            self.dead_letter(self.current_address(), address, "no such actor", message)
            return False
        try:
            ref.actor_inbox.put(Envelope(message))
        except pykka.ActorDeadError:
            self.dead_letter(self.current_address(), address, "actor stopped", message)
            return False
        return True

    def handle_one(self, actor: Any, envelope: Envelope[Any]) -> None:
        """pykka's per-message loop body for one envelope; the message is then no longer in flight."""
        try:
            handle_envelope(actor, envelope)
        finally:
            self.in_flight_add(-1)

    # ------------------------------------------------------------ workers

    def make_runnable(self, inbox: PoolInbox) -> None:
        """Queue ``inbox``'s actor for a worker."""
        with self._run_lock:  # the lock's own (C) enter: a tell costs this once
            (self._urgent_queue if inbox.urgent else self._run_queue).append(inbox)
            if self._waiting:  # every worker busy (the caller often one of them): each will look at the queue
                self._run_cond.notify()

    def _start_workers(self) -> None:
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"actors-pool-{index}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        _worker.active = True
        queue, urgent, cond, batch = self._run_queue, self._urgent_queue, self._run_cond, self.batch
        while True:
            with self._run_lock:
                while not queue and not urgent and not self._closing_workers:
                    self._waiting += 1
                    try:
                        cond.wait()
                    finally:
                        self._waiting -= 1
                if not queue and not urgent:
                    return
                inbox = urgent.popleft() if urgent else queue.popleft()
            inbox.run(batch)

    def await_stopped(self, refs: list[pykka.ActorRef[Any]], timeout: float | None) -> None:
        super().await_stopped(refs, timeout)

    def shutdown(self) -> None:
        super().shutdown()
        with self._run_cond:
            self._closing_workers = True
            self._run_cond.notify_all()
        for thread in self._threads:
            thread.join()
