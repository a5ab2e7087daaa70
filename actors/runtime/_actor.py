"""``MessageActor``: the base of every role, written once for every runtime.

It receives msgpack bytes, decodes them (a bad payload becomes a counted,
logged dead letter and the actor keeps going), dispatches on the record type
to the method marked ``@handles(Type)``, and routes handler exceptions to the
runtime's failure hook.  It talks to other actors only through
``self.send(address, record)``, which always crosses the real codec.

On a runtime whose transport may lose messages (``Runtime.reliable``) every
record it sends to another actor is numbered, acknowledged and resent on a
deadline, and what it receives is handed to its handlers once and in order
(:mod:`actors.runtime._reliable`); handlers see no difference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pykka

from actors.runtime._base import EXTERNAL, FailurePolicy
from actors.runtime._reliable import ACK_AFTER_S, AckDue, Delivered, ReliableLinks, ResendDue, Sequenced
from actors.wire._codec import Message, WireError, decode, encode

if TYPE_CHECKING:
    from actors.runtime._base import Runtime, TimerHandle
    from actors.runtime._timing import Buckets

M = TypeVar("M", bound=Message)
Handler = Callable[[Any, Any], None]


_TRANSPORT = frozenset({Delivered, ResendDue, AckDue})
"""Records of reliable delivery that the actor answers itself (:mod:`actors.runtime._reliable`)."""


class InjectedCrash(RuntimeError):
    """Raised inside a handler by fault injection (sim's ``crash``)."""


CRASH = object()
"""Told to an actor by fault injection: its next handler run raises :class:`InjectedCrash`."""


def handles(kind: type[M]) -> Callable[[Callable[[Any, M], None]], Callable[[Any, M], None]]:
    """Mark a method as the handler of wire record ``kind``."""

    def mark(method: Callable[[Any, M], None]) -> Callable[[Any, M], None]:
        method._handles = kind  # type: ignore[attr-defined]  # a function takes attributes; typing cannot say so
        return method

    return mark


class MessageActor(pykka.Actor):
    """A pykka actor that speaks the wire protocol; subclass it and add ``@handles`` methods."""

    failure_policy: ClassVar[FailurePolicy] = "resume"
    urgent: ClassVar[bool] = False
    """On the pool runtime, served before ordinary actors (for the few singletons on a critical path)."""
    max_restarts: ClassVar[int] = 5
    """Restarts allowed (policy ``restart``) before the actor stops and escalates."""
    restarts: int = 0
    _handlers: ClassVar[dict[type[Message], Handler]] = {}
    _actors_runtime: ClassVar[Runtime]
    address: str = "?"
    _links: ReliableLinks | None = None
    """This actor's numbered links, made on its first reliable send or receive."""
    _resend_timer: TimerHandle | None = None
    _ack_timer: TimerHandle | None = None
    _timing: Buckets | None = None
    """Set by a runtime that times handlers (``Runtime.time_handlers``); None costs one test per message."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers = dict(cls._handlers)
        for value in vars(cls).values():
            kind = getattr(value, "_handles", None)
            if kind is not None:
                handlers[kind] = value
        cls._handlers = handlers

    # ------------------------------------------------------------ outgoing

    @property
    def runtime(self) -> Runtime:
        """The runtime this actor was started on (supplied by the runtime's mixin)."""
        return self._actors_runtime

    def send(self, address: str, record: Message) -> None:
        """Tell ``record`` to ``address`` as wire bytes; never blocks."""
        self._actors_runtime.tell(address, self.seal(address, encode(record)))

    def broadcast(self, group: str, record: Message) -> None:
        """Tell ``record`` to every actor in ``group``, in sorted address order, encoding once."""
        data = encode(record)
        runtime = self._actors_runtime
        for address in runtime.directory.group(group):
            runtime.tell(address, self.seal(address, data))

    def notify(self, address: str, record: Message) -> None:
        """Tell ``record`` as a supervision notice (``Runtime.notify``): unnumbered, never lost, not queued.

        For what an actor that gives up must still get out (its freeze
        request): it may have no one left to resend it, and an outbox that
        cannot flush (a full disk under the store's write-ahead) must not hold it.
        """
        self._actors_runtime.notify(address, encode(record))

    def seal(self, address: str, data: bytes) -> bytes:
        """``data`` as it must travel to ``address``: numbered and kept for resending on a reliable runtime.

        Seal a record once, when it is queued: a send retried after a failure
        then carries the same number, and the receiver keeps one copy.
        """
        runtime = self._actors_runtime
        if not runtime.reliable:
            return data
        links = self._links
        if links is None:
            links = self._links = ReliableLinks()
        sealed = links.number(address, data, runtime.now())
        if self._resend_timer is None:
            self._arm_resend()
        return sealed

    def schedule(self, delay: float, record: Message) -> TimerHandle:
        """Tell ``record`` to this actor after ``delay`` seconds of the runtime's clock."""
        return self._actors_runtime.schedule(delay, self.address, encode(record))

    @property
    def sender(self) -> str:
        """Address of the actor that sent the message being handled."""
        return getattr(self.actor_inbox, "current_sender", EXTERNAL) or EXTERNAL

    # ------------------------------------------------------------ incoming

    def on_receive(self, message: Any) -> Any:
        """Decode, dispatch, and keep going whatever the payload or the handler does."""
        if message is CRASH:
            self._fail(InjectedCrash(f"injected crash of {self.address}"))
            return None
        record = self._decode(message)
        if record is None:
            return None
        kind = type(record)
        if kind is Sequenced:
            self._on_sequenced(record)  # type: ignore[arg-type]  # the exact-type test (hot path) does not narrow
        elif kind in _TRANSPORT:
            try:
                self._on_transport(record)
            except Exception as exc:  # a send that failed: supervised like a handler (what is unacked is resent)
                self._fail(exc)
        else:
            self._dispatch(record, message)
        return None

    def _on_transport(self, record: Message) -> None:
        if type(record) is Delivered:
            if self._links is not None:
                self._links.acknowledged(self.sender, record.through, self._actors_runtime.now())
        elif type(record) is ResendDue:
            self._resend()
        else:
            self._acknowledge()

    def _decode(self, message: Any) -> Message | None:
        try:
            return decode(message)
        except WireError as exc:
            self._actors_runtime.dead_letter(self.sender, self.address, f"undecodable: {exc}", message)
            return None

    def _dispatch(self, record: Message, message: Any) -> None:
        """Run ``record``'s handler, then :meth:`after_message`; a failure of either goes to :meth:`_fail`."""
        runtime = self._actors_runtime
        handler = self._handlers.get(type(record))
        if handler is None:
            runtime.dead_letter(self.sender, self.address, f"unhandled: {type(record).__name__}", message)
            return
        failure: Exception | None = None
        timing = self._timing
        started = time.perf_counter() if timing is not None else 0.0
        try:
            handler(self, record)
        except Exception as exc:  # the failure hook decides what happens next
            failure = exc
        if timing is not None:
            timing.observe(time.perf_counter() - started)
        try:
            self.after_message()
        except Exception as exc:  # a full disk while the store flushes its journal: supervised like the handler
            if failure is not None:
                runtime.report_failure(self.address, failure, self.failure_policy)
            failure = exc
        if failure is not None:
            self._fail(failure)

    # ------------------------------------------------------------ reliable delivery

    def _on_sequenced(self, sequenced: Sequenced) -> None:
        """Hand over, in order, what this record makes deliverable; owe its sender an acknowledgement."""
        links = self._links
        if links is None:
            links = self._links = ReliableLinks()
        ready = links.receive(self.sender, sequenced.seq, sequenced.payload)
        if self._ack_timer is None:
            self._ack_timer = self._actors_runtime.schedule(ACK_AFTER_S, self.address, encode(AckDue()))
        for payload in ready:
            if self.actor_stopped.is_set():
                return  # it gave up on an earlier one: the rest are dead letters to a stopped actor
            record = self._decode(payload)
            if record is not None:
                self._dispatch(record, payload)

    def _acknowledge(self) -> None:
        self._ack_timer = None
        if self._links is None:
            return
        runtime = self._actors_runtime
        for sender, ack in self._links.acks_owed():
            if sender in runtime.directory:
                runtime.tell(sender, encode(ack))

    def _resend(self) -> None:
        """Send again what waited too long for its acknowledgement; forget receivers that are gone."""
        self._resend_timer = None
        links = self._links
        if links is None:
            return
        runtime = self._actors_runtime
        for receiver in [address for address in links.outgoing if address not in runtime.directory]:
            links.forget(receiver)  # stopped for good: its records are dead letters, never acknowledged
        try:
            for receiver, records in links.due(runtime.now()):
                for data in records:
                    runtime.tell(receiver, data)
        finally:
            if links.waiting():
                self._arm_resend()

    def _arm_resend(self) -> None:
        runtime = self._actors_runtime
        assert self._links is not None
        deadline = self._links.next_deadline()
        if deadline is not None:
            delay = max(0.0, deadline - runtime.now())
            self._resend_timer = runtime.schedule(delay, self.address, encode(ResendDue()))

    def after_message(self) -> None:
        """Hook: called after every handled message, failed or not (the store flushes its journal)."""

    def _fail(self, exc: Exception) -> None:
        """Apply the failure policy; a hook that fails too is a failure of its own, never a silent stop.

        An exception whose class says ``fatal = True`` (bad input data that a
        restart would only read again) skips the restarts and escalates.

        A failing ``on_restart`` means the actor cannot rebuild itself: it
        escalates at once.  A failing ``escalate`` is logged and counted, and
        the actor still stops.
        """
        runtime = self._actors_runtime
        runtime.report_failure(self.address, exc, self.failure_policy)
        self._hook(self.on_handler_failure, exc)
        if self.failure_policy == "resume":
            return
        if self.failure_policy == "restart" and self.restarts < self.max_restarts and not getattr(exc, "fatal", False):
            self.restarts += 1
            runtime.report_supervision(self.address, "restart", f"{self.restarts} of {self.max_restarts}")
            rebuild_failure = self._hook(self.on_restart, exc)
            if rebuild_failure is None:
                return
            exc = rebuild_failure
        runtime.report_supervision(self.address, "escalate", f"stopping after {exc!r}")
        self._hook(self.escalate, exc)
        self._stop()

    def _hook(self, hook: Callable[[Exception], None], exc: Exception) -> Exception | None:
        """Run a supervision hook; what it raised (reported as a failure of its own), or None."""
        try:
            hook(exc)
        except Exception as hook_exc:
            self._actors_runtime.report_failure(self.address, hook_exc, self.failure_policy)
            return hook_exc
        return None

    def on_handler_failure(self, exc: Exception) -> None:
        """Hook for subclasses: called after a handler raised, before the policy applies."""

    def on_restart(self, exc: Exception) -> None:
        """Hook: rebuild what a failed handler may have left half-done (policy ``restart``).

        A restart here is in place: the actor keeps its address, its mailbox
        (no message is lost) and the state its owner chose to keep; this hook
        re-derives the rest, for instance by reconciling with the venue.
        """

    def escalate(self, exc: Exception) -> None:
        """Hook: tell whoever must know before this actor stops for good (default: log only)."""
