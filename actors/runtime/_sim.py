"""The ``sim`` runtime: a deterministic single-thread scheduler for tests.

No thread, no real sleep.  Messages wait in one FIFO queue per
sender -> receiver pair; each :meth:`SimRuntime.step` picks one non-empty pair
with a seeded RNG and delivers its head, so interleavings vary with the seed
but per-pair order never does, and the same seed always gives the same trace.
Time is virtual: :meth:`advance` fires timers in time order.  Faults (drop,
delay, duplicate, crash) are drawn from their own seeded stream.
"""

from __future__ import annotations

import hashlib
import heapq
import random
import sys
import zlib
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from queue import Full
from typing import TYPE_CHECKING, Any, NamedTuple

import msgpack
import pykka
from pykka import Timeout
from pykka._envelope import Envelope

from actors.runtime._actor import CRASH, InjectedCrash
from actors.runtime._base import (
    CLOCK,
    EXTERNAL,
    BlockingCallError,
    FailurePolicy,
    Runtime,
    TimerHandle,
)
from actors.runtime._loop import answer_dead, handle_envelope, refuse_closed
from actors.wire._codec import peek_type


class SimNotIdle(RuntimeError):
    """``run_until_idle`` hit its step budget: something keeps sending."""


@dataclass(frozen=True)
class FaultPlan:
    """Per-delivery fault probabilities, drawn from a stream seeded by ``seed``.

    ``targets`` limits faults to addresses starting with one of the given
    prefixes (None: every address).  Faults only apply to plain tells between
    actors, never to asks, stops or the runtime's own control messages.
    """

    seed: int = 0
    drop: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    max_delay_steps: int = 8
    crash: float = 0.0
    fail_after: float = 0.0
    """Chance a delivered message's handler fails part-way, after its side effects: it raises at one of
    its first sends (drawn), so what it did before (a venue call, earlier sends) stays done and the rest
    is never sent; a handler that sends less fails as it returns."""
    targets: tuple[str, ...] | None = None

    def applies_to(self, address: str) -> bool:
        """True if faults may hit messages to ``address``."""
        return self.targets is None or address.startswith(self.targets)


class TraceEntry(NamedTuple):
    """One delivery: step number, virtual time, sender, receiver, message type and contents.

    ``content`` is the CRC-32 of the delivered bytes (0 for what is not bytes:
    the runtime's stops, asks and injected crashes), so two deliveries of the
    same type with different field values are different entries.
    """

    step: int
    time: float
    sender: str
    receiver: str
    kind: str
    content: int = 0

    def line(self) -> str:
        """Stable text form, for people (the digest packs the fields themselves)."""
        return f"{self.step} {self.time:.6f} {self.sender}->{self.receiver} {self.kind} #{self.content:08x}"


class HandlerFailure(NamedTuple):
    """An exception a handler (or a supervision hook, or ``on_start``) raised, and where."""

    step: int
    address: str
    error: BaseException


FAIL_AFTER_SENDS = 4
"""A handler chosen to fail after its side effects raises at one of its first this many sends."""

MAX_FAILURES_KEPT = 100
"""``SimRuntime.failures`` keeps the first this many failures of a run."""


@dataclass
class FaultCounts:
    """How many faults were injected, by kind."""

    dropped: int = 0
    duplicated: int = 0
    delayed: int = 0
    crashed: int = 0
    failed_after: int = 0


class _Item(NamedTuple):
    envelope: Envelope[Any]
    eligible_step: int
    injected: bool  # a fault-made copy is never faulted again


class SimInbox:
    """The inbox of an actor in sim: ``put`` hands the envelope to the scheduler."""

    __slots__ = ("_sim", "closed", "current_sender", "owner")

    def __init__(self, sim: SimRuntime) -> None:
        self._sim = sim
        self.owner = "?"
        self.current_sender = EXTERNAL
        self.closed = False

    def put(self, envelope: Envelope[Any], /) -> None:
        """Queue for delivery by the scheduler; refused once the actor stopped."""
        if self.closed:
            refuse_closed(envelope, self.owner)
            return
        self._sim.enqueue(self._sim.current_address(), self, envelope)

    def get(self) -> Envelope[Any]:  # pragma: no cover - the scheduler delivers instead
        raise RuntimeError("sim inboxes are drained by the scheduler")

    def empty(self) -> bool:
        """True if the scheduler holds no message for this actor."""
        return not self._sim.pending_for(self)

    def depth(self) -> int:
        """Messages the scheduler holds for this actor (for metrics)."""
        return self._sim.pending_for(self)


class SimFuture(pykka.Future[Any]):
    """A future resolved by running the scheduler, never by waiting.

    pykka builds futures as ``type(future)()``, so the scheduler is a class
    attribute of a per-runtime subclass (``SimRuntime.future_class``).
    """

    _sim: SimRuntime

    def __init__(self) -> None:
        super().__init__()
        self._done = False
        self._value: Any = None
        self._exc_info: Any = None

    def get(self, *, timeout: float | None = None) -> Any:
        """Run the scheduler until this future is set; refused inside a handler.

        ``timeout`` is virtual seconds: the scheduler runs while the virtual
        clock has not passed it, so ``timeout=0`` polls without delivering.
        """
        try:
            return super().get(timeout=timeout)
        except NotImplementedError:
            pass
        if self._sim.running_handler:
            raise BlockingCallError(
                "tell, don't block: a handler called .get() on a future; in sim this would deadlock "
                "and on pool it would starve a worker. Send a request with a correlation id and "
                "handle the reply as a message instead."
            )
        sim = self._sim
        deadline = None if timeout is None else sim.now() + timeout
        while not self._done and (deadline is None or (timeout and sim.now() <= deadline)) and sim.step():
            pass
        if not self._done:
            waited = "sim went idle" if deadline is None else f"{timeout}s of virtual time passed"
            raise Timeout(f"{waited} before the future was set")
        if self._exc_info is not None:
            exc_type, exc_value, exc_tb = self._exc_info
            if exc_value is None:
                exc_value = exc_type()
            raise exc_value.with_traceback(exc_tb)
        return self._value

    def set(self, value: Any | None = None) -> None:
        """Resolve with ``value``."""
        if self._done or self._get_hook is not None:
            raise Full
        self._done, self._value = True, value

    def set_exception(self, exc_info: Any = None) -> None:
        """Resolve with an exception (the current one by default)."""
        if self._done or self._get_hook is not None:
            raise Full
        self._done, self._exc_info = True, exc_info or sys.exc_info()

    def set_get_hook(self, func: Any) -> None:
        """pykka's hook used by ``Future.map`` and friends."""
        if self._done:
            raise Full
        super().set_get_hook(func)


if TYPE_CHECKING:  # the mixin is always put in front of a pykka.Actor: type it as one, so super() calls are checked
    _ActorBase = pykka.Actor
else:
    _ActorBase = object


class _SimMixin(_ActorBase):
    """Put in front of an actor class: pykka's hooks served by the scheduler.

    pykka documents three methods for implementors of new actor types
    (``_create_actor_inbox``, ``_create_future``, ``_start_actor_loop``);
    those are the hooks used.  Stopping and failing have no such hook, and
    the runtime must hear of both whatever the actor's own ``on_stop`` /
    ``on_failure`` do, so ``_stop`` and ``_handle_failure`` are extended
    (pykka's own body still runs, through ``super()``); the actor's loop is this
    runtime's, so it calls pykka's ``_actor_loop_setup`` itself, as pykka's own loop does.
    """

    _actors_runtime: SimRuntime
    address: str = "?"
    actor_inbox: SimInbox

    def _create_actor_inbox(self) -> SimInbox:  # type: ignore[override]  # pykka's is a staticmethod; ours needs the actor's runtime (pykka calls it on the instance)
        return SimInbox(self._actors_runtime)

    @classmethod
    def _create_future(cls) -> SimFuture:
        return cls._actors_runtime.future_class()

    def _start_actor_loop(self) -> None:
        self._actors_runtime.start_actor(self)

    def _stop(self) -> None:
        self.actor_inbox.closed = True
        self._actors_runtime.actor_stopped(self.address)
        super()._stop()

    def _handle_failure(self, *exc_info: Any) -> None:
        """A plain pykka actor's ``on_receive`` or any actor's ``on_start`` raised: kept, then pykka's stop."""
        self._actors_runtime.keep_failure(self.address, exc_info[1])
        self.actor_inbox.closed = True
        self._actors_runtime.actor_stopped(self.address)
        super()._handle_failure(*exc_info)


class SimRuntime(Runtime):
    """Deterministic scheduler: seeded interleaving, per-pair FIFO, virtual time, faults."""

    name = "sim"

    def __init__(
        self,
        seed: int = 0,
        *,
        faults: FaultPlan | None = None,
        auto_advance: bool = False,
        max_steps: int = 1_000_000,
        trace: bool = True,
        reliable: bool = False,
    ) -> None:
        super().__init__()
        self.reliable = reliable
        self.seed = seed
        self.faults = faults
        self.auto_advance = auto_advance
        self.max_steps = max_steps
        self.tracing = trace
        self.trace: list[TraceEntry] = []
        self.failures: list[HandlerFailure] = []
        """Exceptions raised by handlers, in order (the first :data:`MAX_FAILURES_KEPT`); the
        ``sim`` fixture fails a test that has any, unless it is marked ``expect_failures``."""
        self._digest = hashlib.sha256()
        self._digested = 0  # entries of self.trace (append-only) already in self._digest
        self.fault_counts = FaultCounts()
        self._rng = random.Random(seed)
        self._fault_rng = random.Random(f"faults:{faults.seed if faults else 0}")
        self._queues: dict[tuple[str, SimInbox], deque[_Item]] = {}
        self._senders_of: dict[SimInbox, set[str]] = {}  # receiver -> senders with a queue: O(1) teardown
        self._ready: list[tuple[str, SimInbox]] = []
        self._ready_at: dict[tuple[str, SimInbox], int] = {}
        self._blocked: list[tuple[int, int, tuple[str, SimInbox]]] = []
        self._pending: Counter[SimInbox] = Counter()
        self._actors: dict[SimInbox, pykka.Actor] = {}
        self._by_address: dict[str, pykka.Actor] = {}
        self._current: str | None = None
        self._fail_at_send: int | None = None  # sends left before the running handler fails (fail_after)
        self._time = 0.0
        self._timers: list[TimerHandle] = []
        self._steps = 0
        self._seq = 0
        self._received: Counter[str] = Counter()
        self.future_class: type[SimFuture] = type("SimFuture", (SimFuture,), {"_sim": self})

    def mixin(self) -> type[Any]:
        return _SimMixin

    # ------------------------------------------------------------ context

    @property
    def running_handler(self) -> bool:
        """True while an actor's handler is running."""
        return self._current is not None

    def current_address(self) -> str:
        return self._current or EXTERNAL

    @property
    def steps(self) -> int:
        """Deliveries so far."""
        return self._steps

    # ------------------------------------------------------------ actors

    def start_actor(self, actor: pykka.Actor) -> None:
        """Adopt ``actor`` (the runtime holds it: no thread does) and run its ``on_start``."""
        inbox = actor.actor_inbox
        assert isinstance(inbox, SimInbox)
        if inbox.owner == "?":  # started with pykka's Actor.start(), not spawn()
            inbox.owner = f"{type(actor).__name__}-{id(actor):x}"
            actor.address = inbox.owner  # type: ignore[attr-defined]  # a plain pykka actor gets the runtime's address attribute here
        self._actors[inbox] = actor
        self._by_address[inbox.owner] = actor
        previous, self._current = self._current, inbox.owner
        try:
            actor._actor_loop_setup()
        finally:
            self._current = previous
        if actor.actor_stopped.is_set():
            self._teardown(inbox)

    def await_stopped(self, refs: list[pykka.ActorRef[Any]], timeout: float | None) -> None:
        self.run_until_idle()

    def crash(self, address: str) -> None:
        """Make the actor at ``address`` fail in its next handler run (fault injection)."""
        self.fault_counts.crashed += 1
        self.tell(address, CRASH)

    def report_failure(self, address: str, exc: BaseException, policy: FailurePolicy) -> None:
        """The failure hook: counted and logged as on every runtime, and kept in :attr:`failures`."""
        self.keep_failure(address, exc)
        super().report_failure(address, exc, policy)

    def keep_failure(self, address: str, exc: BaseException) -> None:
        """Add to :attr:`failures` (while fewer than :data:`MAX_FAILURES_KEPT` are kept)."""
        if len(self.failures) < MAX_FAILURES_KEPT:
            self.failures.append(HandlerFailure(self._steps, address, exc))

    def actor(self, address: str) -> pykka.Actor:
        """The actor object at ``address`` (tests may inspect it between steps)."""
        actor = self._by_address.get(address)
        if actor is None:
            raise KeyError(f"no actor at {address!r}")
        return actor

    # ------------------------------------------------------------ queues

    def enqueue(self, sender: str, inbox: SimInbox, envelope: Envelope[Any], *, injected: bool = False) -> None:
        """Queue ``envelope`` on the sender -> receiver pair, applying fault injection."""
        if not injected and self._fail_at_send is not None and sender == self._current:
            if self._fail_at_send == 0:
                self._fail_at_send = None
                raise InjectedCrash(f"injected failure of {sender} after its side effects")
            self._fail_at_send -= 1
        eligible = self._steps
        plan = self.faults
        if plan is not None and not injected and self._faultable(envelope, inbox.owner):
            draw = self._fault_rng.random
            if draw() < plan.drop:
                self.fault_counts.dropped += 1
                return
            if draw() < plan.delay:
                self.fault_counts.delayed += 1
                eligible += 1 + self._fault_rng.randrange(plan.max_delay_steps)
            if draw() < plan.duplicate:
                self.fault_counts.duplicated += 1
                self._push(sender, inbox, _Item(envelope, eligible, True))
            if draw() < plan.crash:
                self.fault_counts.crashed += 1
                self._push(sender, inbox, _Item(Envelope(CRASH), eligible, True))
        self._push(sender, inbox, _Item(envelope, eligible, injected))

    def _faultable(self, envelope: Envelope[Any], owner: str) -> bool:
        assert self.faults is not None
        return (
            envelope.reply_to is None
            and isinstance(envelope.message, bytes)
            and self._current is not None
            and self.faults.applies_to(owner)
        )

    def _push(self, sender: str, inbox: SimInbox, item: _Item) -> None:
        key = (sender, inbox)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._senders_of.setdefault(inbox, set()).add(sender)
        queue.append(item)
        self._pending[inbox] += 1
        if len(queue) == 1:
            self._make_ready_or_blocked(key, item.eligible_step)

    def _make_ready_or_blocked(self, key: tuple[str, SimInbox], eligible_step: int) -> None:
        if eligible_step <= self._steps:
            self._ready_at[key] = len(self._ready)
            self._ready.append(key)
        else:
            self._seq += 1
            heapq.heappush(self._blocked, (eligible_step, self._seq, key))

    def _unready(self, key: tuple[str, SimInbox]) -> None:
        index = self._ready_at.pop(key)
        last = self._ready.pop()
        if last != key:
            self._ready[index] = last
            self._ready_at[last] = index

    def pending_for(self, inbox: SimInbox) -> int:
        """Messages queued for ``inbox``."""
        return self._pending[inbox]

    def pending(self) -> int:
        """Messages queued in total."""
        return sum(self._pending.values())

    # ------------------------------------------------------------ running

    def step(self) -> bool:
        """Deliver one message; False if nothing is deliverable (timers aside).

        Refused inside a handler: a nested delivery would run another handler
        (perhaps this actor's own stop) in the middle of the current one.
        """
        if self._current is not None:
            raise BlockingCallError(
                f"tell, don't block: {self._current}'s handler tried to run the scheduler "
                "(step, run_until_idle or a blocking wait); schedule a timer or send a message instead."
            )
        self.admit_from_outside()  # what a signal handler queued, let in between two steps
        self._release_blocked()
        if not self._ready:
            if not self._blocked:
                return False
            self._steps = self._blocked[0][0]  # nothing else to do: let delayed messages through
            self._release_blocked()
        key = self._ready[self._rng.randrange(len(self._ready))]
        queue = self._queues[key]
        item = queue.popleft()
        sender, inbox = key
        self._pending[inbox] -= 1
        self._unready(key)
        if queue:
            self._make_ready_or_blocked(key, queue[0].eligible_step)
        else:
            del self._queues[key]
            self._forget_sender(key)
        self._deliver(sender, inbox, item.envelope)
        return True

    def _release_blocked(self) -> None:
        while self._blocked and self._blocked[0][0] <= self._steps:
            _, _, key = heapq.heappop(self._blocked)
            self._ready_at[key] = len(self._ready)
            self._ready.append(key)

    def _deliver(self, sender: str, inbox: SimInbox, envelope: Envelope[Any]) -> None:
        actor = self._actors[inbox]
        self._steps += 1
        self.stats.delivered += 1
        self._received[inbox.owner] += 1
        if self.tracing:
            message = envelope.message
            if type(message) is bytes:  # what actors send: its contents are part of the trace
                kind, content = peek_type(message), zlib.crc32(message)
            else:
                kind, content = "CRASH" if message is CRASH else peek_type(message), 0
            self.trace.append(TraceEntry(self._steps, self._time, sender, inbox.owner, kind, content))
        inbox.current_sender = sender
        self._current = inbox.owner
        plan = self.faults
        fails = (
            plan is not None and plan.fail_after > 0.0 and type(envelope.message) is bytes
            and envelope.reply_to is None and plan.applies_to(inbox.owner)
            and self._fault_rng.random() < plan.fail_after
        )  # fmt: skip
        if fails:
            self.fault_counts.failed_after += 1
            self._fail_at_send = self._fault_rng.randrange(FAIL_AFTER_SENDS)
        try:
            handle_envelope(actor, envelope)
            if fails and self._fail_at_send is not None and not actor.actor_stopped.is_set():
                self._fail_at_send = None  # it sent less than drawn: it fails as it returns
                handle_envelope(actor, Envelope(CRASH))
        finally:
            self._current = None
            self._fail_at_send = None
        if actor.actor_stopped.is_set():
            self._teardown(inbox)

    def _forget_sender(self, key: tuple[str, SimInbox]) -> None:
        senders = self._senders_of.get(key[1])
        if senders is not None:
            senders.discard(key[0])
            if not senders:
                del self._senders_of[key[1]]

    def _teardown(self, inbox: SimInbox) -> None:
        """A stopped actor: answer its pending asks, dead-letter its pending tells."""
        del self._actors[inbox]
        self._by_address.pop(inbox.owner, None)
        for sender in sorted(self._senders_of.pop(inbox, ())):
            key = (sender, inbox)
            queue = self._queues.pop(key)
            if key in self._ready_at:
                self._unready(key)
            for item in queue:
                envelope = item.envelope
                if not answer_dead(envelope, inbox.owner) and not isinstance(
                    envelope.message, pykka.messages._ActorStop
                ):
                    self.dead_letter(key[0], inbox.owner, "actor stopped", envelope.message)
        if self._blocked:
            self._blocked = [b for b in self._blocked if b[2][1] is not inbox]
            heapq.heapify(self._blocked)
        del self._pending[inbox]

    def run_until_idle(self, max_steps: int | None = None) -> int:
        """Deliver until nothing is deliverable; return the number of deliveries.

        With ``auto_advance`` the clock jumps to the next timer whenever the
        system is idle.  Raises :class:`SimNotIdle`, naming the busiest
        receivers, if ``max_steps`` deliveries do not reach idle.
        """
        budget = self.max_steps if max_steps is None else max_steps
        start = self._steps
        self._received.clear()
        while True:
            self._drain(start, budget)
            timer = self._next_timer() if self.auto_advance else None
            if timer is None:
                return self._steps - start
            if self._steps - start >= budget:
                raise SimNotIdle(f"not idle after {budget} deliveries: timers keep firing (next at {timer.when:.6f} s)")
            self._fire_due(timer.when, start, budget)

    def _drain(self, start: int, budget: int) -> None:
        """Deliver what is deliverable now; no timer fires."""
        while self.step():
            if self._steps - start >= budget and (self._ready or self._blocked):
                busiest = ", ".join(f"{a} ({n})" for a, n in self._received.most_common(5))
                pending = self.pending()
                raise SimNotIdle(
                    f"not idle after {budget} deliveries; busiest receivers: {busiest}; {pending} messages pending"
                )

    def wait_idle(self, timeout: float | None = 60.0) -> None:
        """Run to idle, however many deliveries that takes (a whole shadow run is one wait)."""
        self.run_until_idle(max_steps=sys.maxsize)

    # ------------------------------------------------------------ time

    def now(self) -> float:
        return self._time

    def schedule(self, delay: float, address: str, message: object) -> TimerHandle:
        handle = TimerHandle(self._time + max(0.0, delay), next(self._timer_seq), address, message)
        heapq.heappush(self._timers, handle)
        return handle

    def _next_timer(self) -> TimerHandle | None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0] if self._timers else None

    def _fire_due(self, until: float, start: int | None = None, budget: int | None = None) -> None:
        """Fire the timers due by ``until`` in time order, delivering what each causes (no later timer fires)."""
        start = self._steps if start is None else start
        budget = self.max_steps if budget is None else budget
        timer = self._next_timer()
        while timer is not None and timer.when <= until:
            heapq.heappop(self._timers)
            self._time = max(self._time, timer.when)
            previous, self._current = self._current, None
            try:
                self._tell_as(CLOCK, timer.address, timer.message)
            finally:
                self._current = previous
            self._drain(start, budget)
            timer = self._next_timer()

    def notify(self, address: str, message: object) -> bool:
        """A supervision notice: queued like a tell from the running actor, but never dropped, copied or delayed."""
        return self._tell_as(self.current_address(), address, message)

    def _tell_as(self, sender: str, address: str, message: object) -> bool:
        """Queue ``message`` from ``sender`` past fault injection (timers, notices); dead letter if nobody is there."""
        ref = self.directory.get(address)
        inbox = None if ref is None else ref.actor_inbox
        if not isinstance(inbox, SimInbox) or inbox.closed:
            self.dead_letter(sender, address, "no such actor", message)
            return False
        self.enqueue(sender, inbox, Envelope(message), injected=True)
        return True

    def advance(self, seconds: float) -> None:
        """Move virtual time forward, firing due timers in time order (running to idle after each)."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self._time + seconds
        self._fire_due(target)
        self._time = target

    def pass_time(self, seconds: float) -> None:
        self.advance(seconds)

    # ------------------------------------------------------------ trace

    def trace_lines(self) -> list[str]:
        """The trace as stable text lines."""
        return [entry.line() for entry in self.trace]

    def digest(self) -> str:
        """SHA-256 of the trace, message contents included: same seed and scenario give the same digest.

        Incremental: each call hashes only the deliveries since the last one,
        so an invariant may ask for it after every delivery.
        """
        if not self.tracing:
            raise RuntimeError("this sim keeps no trace (trace=False), so it has no digest")
        trace = self.trace
        if len(trace) < self._digested:  # a test cleared the trace: start over
            self._digest, self._digested = hashlib.sha256(), 0
        if len(trace) > self._digested:  # each entry packed on its own: the same bytes however often it is called
            self._digest.update(b"".join(map(msgpack.Packer().pack, trace[self._digested :])))
            self._digested = len(trace)
        return self._digest.copy().hexdigest()


def first_difference(a: Iterable[TraceEntry], b: Iterable[TraceEntry]) -> tuple[int, str, str] | None:
    """Index and lines of the first delivery where two traces differ, or None."""
    left, right = list(a), list(b)
    for index, (x, y) in enumerate(zip(left, right, strict=False)):
        if x != y:
            return index, x.line(), y.line()
    if len(left) == len(right):
        return None
    index = min(len(left), len(right))
    left_line = left[index].line() if index < len(left) else "<end>"
    right_line = right[index].line() if index < len(right) else "<end>"
    return index, left_line, right_line
