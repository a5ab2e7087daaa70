"""What every runtime provides: spawning, addressing, telling, timers, quiescence,
dead letters and the failure hook.

An actor class is written once as a ``pykka.Actor`` subclass.  A runtime
supplies the concrete machinery by mixing its own class in front of the actor
class (the way pykka's own test-suite mixes runtimes in), implementing pykka's
three hooks ``_create_actor_inbox``, ``_create_future`` and
``_start_actor_loop``.  Actor code never names a runtime.
"""

from __future__ import annotations

import abc
import itertools
import queue
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

import pykka
from loguru import logger

from actors.runtime._directory import AddressTaken, Directory
from actors.runtime._timing import HandlingTimes, role_of
from actors.wire._codec import peek_type

EXTERNAL = "external"
"""Sender name of a message told from outside any actor (a test, the driver)."""

CLOCK = "clock"
"""Sender name of a message delivered by a timer."""

FailurePolicy = Literal["resume", "restart", "stop"]
"""What an actor does after a handler raised: keep going as it is; restart
(its ``on_restart`` hook rebuilds what the failure may have broken) within a
budget, then stop and escalate; or stop and escalate at once."""

A = TypeVar("A", bound=pykka.Actor)


class BlockingCallError(RuntimeError):
    """A handler blocked on another actor (``.get()`` on a future, running the scheduler): tell, don't block."""


@dataclass
class RuntimeStats:
    """Counters every runtime keeps; read them after ``wait_idle``."""

    delivered: int = 0
    dead_letters: int = 0
    failures: int = 0
    restarts: int = 0
    escalations: int = 0
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    restarts_by_role: Counter[str] = field(default_factory=Counter)


class TimerHandle:
    """A scheduled message; :meth:`cancel` prevents its delivery."""

    __slots__ = ("address", "cancelled", "message", "seq", "when")

    def __init__(self, when: float, seq: int, address: str, message: object) -> None:
        self.when = when
        self.seq = seq
        self.address = address
        self.message = message
        self.cancelled = False

    def cancel(self) -> None:
        """Drop the message if it has not fired yet (idempotent)."""
        self.cancelled = True

    def __lt__(self, other: TimerHandle) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)


class Runtime(abc.ABC):
    """Base of the ``threads``, ``pool`` and ``sim`` runtimes."""

    name: ClassVar[str]
    reliable: bool = False
    """Number, acknowledge and resend every record between actors (:mod:`actors.runtime._reliable`):
    for a transport that may lose messages.  Off by default: one process's mailboxes lose none."""

    def __init__(self) -> None:
        self.directory = Directory()
        self.stats = RuntimeStats()
        self._stats_lock = threading.Lock()
        self._combined: dict[type[Any], type[Any]] = {}
        self._timer_seq = itertools.count()
        self._spawn_order: dict[str, pykka.ActorRef[Any]] = {}
        self._instances: dict[str, Any] = {}
        self._outside: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self.handling_times: HandlingTimes | None = None
        """Per-role handling times of actors spawned after :meth:`time_handlers`; None: not timed."""

    def time_handlers(self, times: HandlingTimes) -> None:
        """Time every handler of the actors spawned from now on (metrics); off by default, it costs nothing then."""
        self.handling_times = times

    def mailbox_depths(self) -> dict[str, int]:
        """Messages waiting, summed by role (``quoter.*`` is one role), roles sorted; safe from any thread.

        Each inbox counts its own (``depth()``); a scrape reads this while
        actors run, so the figures are a moment's, not a consistent cut.
        """
        depths: dict[str, int] = {}
        directory = self.directory
        for address, actor in list(self._instances.items()):
            if address in directory:
                role = role_of(address)
                depths[role] = depths.get(role, 0) + actor.actor_inbox.depth()
        return dict(sorted(depths.items()))

    # ------------------------------------------------------------ actor classes

    @abc.abstractmethod
    def mixin(self) -> type[Any]:
        """The class put first in the MRO of every actor started on this runtime."""

    def actor_bases(self) -> tuple[type[Any], ...]:
        """Concrete pykka bases appended after the actor class (threads adds ThreadingActor)."""
        return ()

    def actor_class(self, cls: type[A]) -> type[A]:
        """``cls`` made runnable on this runtime (cached per class)."""
        combined = self._combined.get(cls)
        if combined is None:
            combined = type(cls.__name__, (self.mixin(), cls, *self.actor_bases()), {"_actors_runtime": self})
            self._combined[cls] = combined
        return combined

    # ------------------------------------------------------------ life cycle

    def spawn(self, cls: type[Any], address: str, *args: Any, **kwargs: Any) -> pykka.ActorRef[Any]:
        """Start ``cls(*args, **kwargs)`` at ``address``; O(1), no global registry.

        ``cls`` is typed ``type[Any]``: actor classes are abstract to mypy until
        a runtime supplies pykka's hooks, which is exactly what happens here.
        """
        if address in self.directory:
            raise AddressTaken(f"address {address!r} is already registered")
        actor: Any = self.actor_class(cls)(*args, **kwargs)
        actor.address = address
        actor.actor_inbox.owner = address
        if self.handling_times is not None:
            actor._timing = self.handling_times.for_actor(address)
        self.directory.register(address, actor.actor_ref)
        self._spawn_order[address] = actor.actor_ref
        self._instances[address] = actor
        actor._start_actor_loop()
        ref: pykka.ActorRef[Any] = actor.actor_ref
        return ref

    def last_instance(self, address: str) -> Any:
        """The actor object last spawned at ``address``, alive or stopped (None if never).

        A stopped actor runs no handler any more, so its final state can be
        read directly: how a report still tells what an actor that gave up had done.
        """
        return self._instances.get(address)

    def actor_stopped(self, address: str) -> None:
        """Called by a stopping actor: forget its address (O(1))."""
        self.directory.unregister(address)
        self._spawn_order.pop(address, None)

    def stop(self, address: str) -> None:
        """Ask the actor at ``address`` to stop after the messages already sent to it."""
        ref = self.directory.get(address)
        if ref is not None:
            ref.stop(block=False)

    def stop_all(self, timeout: float | None = 30.0) -> None:
        """Stop every actor, last started first; O(n) for n actors."""
        refs = list(self._spawn_order.values())
        for ref in reversed(refs):
            try:
                ref.stop(block=False)
            except pykka.ActorDeadError:
                continue
        self.await_stopped(refs, timeout)

    @abc.abstractmethod
    def await_stopped(self, refs: list[pykka.ActorRef[Any]], timeout: float | None) -> None:
        """Block (or, in sim, run) until every ref in ``refs`` has stopped."""

    def shutdown(self) -> None:
        """Stop every actor and release the runtime's own resources."""
        self.stop_all()

    # ------------------------------------------------------------ messaging

    def tell(self, address: str, message: object) -> bool:
        """Deliver ``message`` to ``address``; a missing or stopped receiver is a dead letter."""
        ref = self.directory.get(address)
        if ref is None:
            self.dead_letter(self.current_address(), address, "no such actor", message)
            return False
        try:
            ref.tell(message)
        except pykka.ActorDeadError:
            self.dead_letter(self.current_address(), address, "actor stopped", message)
            return False
        return True

    def tell_from_outside(self, address: str, message: object) -> None:
        """Tell from a signal handler: queued, and let in by :meth:`admit_from_outside`.

        A signal handler runs on the main thread between any two bytecodes,
        perhaps while that thread holds a lock a tell needs (the runtime's
        idle condition, an inbox's), or in the middle of a sim step; so it
        only puts the message on a queue whose ``put`` is reentrant
        (``queue.SimpleQueue``), and the main thread tells it later.
        """
        self._outside.put((address, message))

    def admit_from_outside(self) -> None:
        """Tell what signal handlers queued (call it outside any lock: the sim at each step, a run's wait loop)."""
        outside = self._outside
        while not outside.empty():  # cheap when nothing came, as it is at nearly every sim step
            address, message = outside.get_nowait()
            self.tell(address, message)

    def notify(self, address: str, message: object) -> bool:
        """Deliver a supervision notice (an actor giving up tells risk so): like :meth:`tell`, never lost.

        A notice is the runtime's own word, as a monitor's "actor stopped" is
        in Erlang or Akka: it is not numbered on a reliable link (the actor
        that sends it is about to stop and could never resend it) and no
        fault injection drops it.  In one process it is a tell.
        """
        return self.tell(address, message)

    @abc.abstractmethod
    def current_address(self) -> str:
        """Address of the actor whose handler is running here, or :data:`EXTERNAL`."""

    # ------------------------------------------------------------ time

    @abc.abstractmethod
    def now(self) -> float:
        """Seconds on this runtime's clock (real on threads, virtual in sim)."""

    @abc.abstractmethod
    def pass_time(self, seconds: float) -> None:
        """Let ``seconds`` of this runtime's clock pass outside any actor (real: sleep; sim: advance)."""

    @abc.abstractmethod
    def schedule(self, delay: float, address: str, message: object) -> TimerHandle:
        """Tell ``message`` to ``address`` after ``delay`` seconds of this runtime's clock."""

    # ------------------------------------------------------------ quiescence

    @abc.abstractmethod
    def wait_idle(self, timeout: float | None = 60.0) -> None:
        """Return once no message is in flight (sim: run until then)."""

    # ------------------------------------------------------------ accounting

    def dead_letter(self, sender: str, receiver: str, reason: str, message: object) -> None:
        """Count and log a message that could not be delivered or decoded; never raises."""
        with self._stats_lock:
            self.stats.dead_letters += 1
            self.stats.dead_letter_reasons[reason.partition(":")[0]] += 1
        logger.bind(event="dead_letter").warning("dead letter {} -> {} ({}): {}", sender, receiver, peek_type(message),
                                                 reason)  # fmt: skip

    def report_failure(self, address: str, exc: BaseException, policy: FailurePolicy) -> None:
        """The failure hook: count and log an exception raised by a handler."""
        with self._stats_lock:
            self.stats.failures += 1
        logger.bind(event="handler_failed").opt(exception=exc).error(  # the traceback: only where DEBUG is shown
            "handler of {} raised {!r}; policy: {}", address, exc, policy
        )

    def report_supervision(self, address: str, action: Literal["restart", "escalate"], detail: str) -> None:
        """Count and log what supervision did with a failed actor."""
        with self._stats_lock:
            if action == "restart":
                self.stats.restarts += 1
                self.stats.restarts_by_role[role_of(address)] += 1
            else:
                self.stats.escalations += 1
        logger.bind(event="supervision").warning("supervision: {} {}: {}", action, address, detail)
