"""``MessageActor``: the base of every role, written once for every runtime.

It receives msgpack bytes, decodes them (a bad payload becomes a counted,
logged dead letter and the actor keeps going), dispatches on the record type
to the method marked ``@handles(Type)``, and routes handler exceptions to the
runtime's failure hook.  It talks to other actors only through
``self.send(address, record)``, which always crosses the real codec.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pykka

from actors.runtime.base import EXTERNAL, FailurePolicy
from actors.wire import Message, WireError, decode, encode

if TYPE_CHECKING:
    from actors.runtime.base import Runtime, TimerHandle
    from actors.runtime.timing import Buckets

M = TypeVar("M", bound=Message)
Handler = Callable[[Any, Any], None]


class InjectedCrash(RuntimeError):
    """Raised inside a handler by fault injection (sim's ``crash``)."""


CRASH = object()
"""Told to an actor by fault injection: its next handler run raises :class:`InjectedCrash`."""


def handles(kind: type[M]) -> Callable[[Callable[[Any, M], None]], Callable[[Any, M], None]]:
    """Mark a method as the handler of wire record ``kind``."""

    def mark(method: Callable[[Any, M], None]) -> Callable[[Any, M], None]:
        method._handles = kind  # type: ignore[attr-defined]
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
        self._actors_runtime.tell(address, encode(record))

    def broadcast(self, group: str, record: Message) -> None:
        """Tell ``record`` to every actor in ``group``, in sorted address order, encoding once."""
        data = encode(record)
        runtime = self._actors_runtime
        for address in runtime.directory.group(group):
            runtime.tell(address, data)

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
        runtime = self._actors_runtime
        if message is CRASH:
            self._fail(InjectedCrash(f"injected crash of {self.address}"))
            return None
        try:
            record = decode(message)
        except WireError as exc:
            runtime.dead_letter(self.sender, self.address, f"undecodable: {exc}", message)
            return None
        handler = self._handlers.get(type(record))
        if handler is None:
            runtime.dead_letter(self.sender, self.address, f"unhandled: {type(record).__name__}", message)
            return None
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
        return None

    def after_message(self) -> None:
        """Hook: called after every handled message, failed or not (the store flushes its journal)."""

    def _fail(self, exc: Exception) -> None:
        """Apply the failure policy; a hook that fails too is a failure of its own, never a silent stop.

        A failing ``on_restart`` means the actor cannot rebuild itself: it
        escalates at once.  A failing ``escalate`` is logged and counted, and
        the actor still stops.
        """
        runtime = self._actors_runtime
        runtime.report_failure(self.address, exc, self.failure_policy)
        self._hook(self.on_handler_failure, exc)
        if self.failure_policy == "resume":
            return
        if self.failure_policy == "restart" and self.restarts < self.max_restarts:
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
