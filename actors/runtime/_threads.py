"""The ``threads`` runtime: stock ``pykka.ThreadingActor``, one thread per actor.

The reference runtime, fine for tens of symbols.  What it adds to stock pykka
(see :mod:`actors.runtime._realtime`): an inbox that counts messages in flight
(for ``wait_idle``), records who sent each message, and refuses messages
atomically once the actor is stopping (stock pykka checks "alive" and enqueues
without a lock, and can lose a message that races a stop); a timer thread; and
no global ``ActorRegistry`` entry.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Any

import pykka
from pykka._envelope import Envelope

from actors.runtime._base import EXTERNAL
from actors.runtime._loop import refuse_closed
from actors.runtime._realtime import RealTimeRuntime


class CountingInbox:
    """A FIFO inbox that counts in-flight messages and knows each message's sender."""

    __slots__ = ("_runtime", "_queue", "_lock", "_closed", "owner", "current_sender")

    def __init__(self, runtime: RealTimeRuntime) -> None:
        self._runtime = runtime
        self._queue: queue.SimpleQueue[tuple[str, Envelope[Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self.owner = "?"
        self.current_sender = EXTERNAL

    def put(self, envelope: Envelope[Any], /) -> None:
        """Enqueue, or refuse (atomically) once the actor is stopping: see :func:`refuse_closed`."""
        sender = self._runtime.current_address()
        with self._lock:
            if self._closed:
                refuse_closed(envelope, self.owner)
                return
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

    def depth(self) -> int:
        """Messages waiting (for metrics: read from any thread)."""
        return self._queue.qsize()

    def close(self) -> None:
        """Refuse every later ``put``."""
        with self._lock:
            self._closed = True


if TYPE_CHECKING:  # the mixin is always put in front of a pykka.Actor: type it as one, so super() calls are checked
    _ActorBase = pykka.Actor
else:
    _ActorBase = object


class _ThreadsMixin(_ActorBase):
    """Put in front of an actor class: the runtime's side of pykka's hooks.

    pykka documents three methods for implementors of new actor types
    (``_create_actor_inbox``, ``_create_future``, ``_start_actor_loop``);
    those are the hooks used.  Stopping and failing have no such hook, and
    the runtime must hear of both whatever the actor's own ``on_stop`` /
    ``on_failure`` do, so ``_stop`` and ``_handle_failure`` are extended (and ``_actor_loop_setup``,
    ``_handle_receive``, ``_actor_loop_teardown`` to name the running actor and count what is in flight)
    (pykka's own body still runs, through ``super()``).
    """

    _actors_runtime: ThreadsRuntime
    address: str = "?"
    actor_inbox: CountingInbox

    def _create_actor_inbox(self) -> CountingInbox:  # type: ignore[override]  # pykka's is a staticmethod; ours needs the actor's runtime (pykka calls it on the instance)
        return CountingInbox(self._actors_runtime)

    def _actor_loop_setup(self) -> None:
        self._actors_runtime.set_current(self.address)
        super()._actor_loop_setup()

    def _handle_receive(self, message: Any) -> Any:
        try:
            return super()._handle_receive(message)
        finally:
            self._actors_runtime.in_flight_add(-1)

    def _stop(self) -> None:
        self.actor_inbox.close()
        self._actors_runtime.actor_stopped(self.address)
        super()._stop()

    def _handle_failure(self, *exc_info: Any) -> None:
        self.actor_inbox.close()
        self._actors_runtime.actor_stopped(self.address)
        super()._handle_failure(*exc_info)

    def _actor_loop_teardown(self) -> None:
        self._actors_runtime.drain_stopped(self)


class ThreadsRuntime(RealTimeRuntime):
    """One OS thread per actor; real time; quiescence by counting messages in flight."""

    name = "threads"

    def mixin(self) -> type[Any]:
        return _ThreadsMixin

    def actor_bases(self) -> tuple[type[Any], ...]:
        return (pykka.ThreadingActor,)
