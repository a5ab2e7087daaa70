"""The deterministic test kit.

- the ``sim`` fixture (from ``actors._pytest_plugin``, registered with pytest
  through the ``pytest11`` entry point): a fresh :class:`Sim`, the ``sim``
  runtime plus test helpers; a handler that raises fails the test unless the
  test is marked ``@pytest.mark.expect_failures`` (:func:`describe_failures`);
- :class:`Probe`: an actor that records what it receives, with ``expect``;
- :func:`explore`: a scenario under many seeds with an invariant checked after
  every delivery; the first failure names its seed and how to replay it;
- :func:`check_determinism`: runs a scenario twice with one seed and reports
  the first delivery where the traces differ;
- :class:`StrategyHarness` (:mod:`actors.testing._strategy_harness`): a
  strategy alone, fed scripted ticks, trades and fills, no actors.

In sim every message between actors crosses the real msgpack codec, so nothing
unserialisable slips through a test.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from actors.runtime._actor import MessageActor
from actors.runtime._sim import MAX_FAILURES_KEPT, FaultPlan, SimRuntime, TraceEntry, first_difference
from actors.wire._codec import Message, WireError, decode

if TYPE_CHECKING:
    from actors.assembly._system import System

M = TypeVar("M", bound=Message)


def __getattr__(name: str) -> Any:
    """:class:`StrategyHarness` and :class:`Step`, imported when first asked for (they bring in the assembly)."""
    if name in ("StrategyHarness", "Step"):
        from actors.testing import _strategy_harness as strategy_harness

        return getattr(strategy_harness, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Received:
    """One message a probe received."""

    sender: str
    message: Message | bytes


class Probe(MessageActor):
    """An actor that records every message sent to it, decoded when possible."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []
        self._consumed = 0

    def on_receive(self, message: Any) -> Any:
        """Record instead of dispatching."""
        try:
            record: Message | bytes = decode(message)
        except WireError:
            record = bytes(message) if isinstance(message, (bytes, bytearray)) else repr(message).encode()
        self.received.append(Received(self.sender, record))
        return None

    def take(self, kind: type[M]) -> M | None:
        """The oldest not-yet-taken message of type ``kind``, or None."""
        for index in range(self._consumed, len(self.received)):
            item = self.received[index].message
            if isinstance(item, kind):
                self._consumed = index + 1
                return item
        return None


class ProbeHandle:
    """Test-side handle of a :class:`Probe` running in a :class:`Sim`."""

    def __init__(self, sim: Sim, address: str) -> None:
        self.sim = sim
        self.address = address

    @property
    def actor(self) -> Probe:
        """The probe actor itself."""
        actor = self.sim.actor(self.address)
        assert isinstance(actor, Probe)
        return actor

    @property
    def received(self) -> list[Received]:
        """Everything received so far, in order."""
        return self.actor.received

    def messages(self, kind: type[M]) -> list[M]:
        """Every received message of type ``kind``."""
        return [r.message for r in self.received if isinstance(r.message, kind)]

    def expect(self, kind: type[M], within: int = 10_000) -> M:
        """Run the scheduler (at most ``within`` deliveries) until a ``kind`` arrives."""
        for _ in range(within + 1):
            found = self.actor.take(kind)
            if found is not None:
                return found
            if not self.sim.step():
                break
        got = ", ".join(type(r.message).__name__ for r in self.received) or "nothing"
        raise AssertionError(f"{self.address} expected {kind.__name__} within {within} deliveries; received: {got}")

    def expect_none(self, kind: type[M]) -> None:
        """Run to idle and assert no (further) ``kind`` arrived."""
        self.sim.run_until_idle()
        found = self.actor.take(kind)
        if found is not None:
            raise AssertionError(f"{self.address} received unexpected {found!r}")


class Sim(SimRuntime):
    """The ``sim`` runtime with test helpers: probes, invariant hook, whole systems."""

    def __init__(self, seed: int = 0, **options: Any) -> None:
        super().__init__(seed, **options)
        self.invariant: Callable[[Sim], None] | None = None

    def probe(self, address: str = "probe") -> ProbeHandle:
        """Start a probe actor at ``address``."""
        self.spawn(Probe, address)
        return ProbeHandle(self, address)

    def _deliver(self, sender: str, inbox: Any, envelope: Any) -> None:
        super()._deliver(sender, inbox, envelope)
        if self.invariant is not None:
            self.invariant(self)

    def start_system(self, **config: Any) -> System:
        """Build and start a whole engine on this runtime (see ``actors.assembly._system``)."""
        from actors.assembly._system import System

        system = System.build(self, **config)
        system.start()
        return system


class ExplorationFailure(AssertionError):
    """An invariant failed under some seed; the message says how to replay it."""

    def __init__(
        self, seed: int, step: int, error: BaseException, trace_tail: list[str], replay: str | None = None
    ) -> None:
        self.seed = seed
        self.step = step
        self.error = error
        tail = "\n  ".join(trace_tail)
        command = replay.format(seed=seed) if replay else f"explore([{seed}], scenario, invariant)"
        super().__init__(
            f"invariant failed under seed {seed} at delivery {step}: {error!r}\n"
            f"replay: {command}\n"
            f"last deliveries:\n  {tail}"
        )


@dataclass
class ExplorationReport:
    """What :func:`explore` ran."""

    seeds: int = 0
    deliveries: int = 0
    faults: dict[str, int] = field(default_factory=dict)


def explore(
    seeds: Iterable[int],
    scenario: Callable[[Sim], object],
    invariant: Callable[[Sim], None],
    *,
    faults: Callable[[int], FaultPlan | None] | None = None,
    final: Callable[[Sim], None] | None = None,
    replay: str | None = None,
    **options: Any,
) -> ExplorationReport:
    """Run ``scenario`` once per seed, checking ``invariant`` after every delivery.

    ``faults(seed)`` may give each run a fault plan; ``final`` is checked once
    the scenario returns; ``options`` go to each :class:`Sim` (``reliable``,
    ``auto_advance``, ...).  The first failure raises :class:`ExplorationFailure`
    naming the seed and how to replay it (``replay``, formatted with ``seed``).
    """
    report = ExplorationReport()
    for seed in seeds:
        sim = Sim(seed, faults=faults(seed) if faults else None, **options)
        sim.invariant = invariant
        try:
            scenario(sim)
            if final is not None:
                final(sim)
        except Exception as exc:
            raise ExplorationFailure(seed, sim.steps, exc, sim.trace_lines()[-20:], replay) from exc
        finally:
            sim.invariant = None
            sim.shutdown()
        report.seeds += 1
        report.deliveries += sim.steps
        for name, count in vars(sim.fault_counts).items():
            report.faults[name] = report.faults.get(name, 0) + count
    return report


class DeterminismError(AssertionError):
    """Two runs with the same seed delivered differently."""


def check_determinism(scenario: Callable[[Sim], object], seed: int = 0, **options: Any) -> list[TraceEntry]:
    """Run ``scenario`` twice under ``seed``; raise at the first differing delivery, else return the trace.

    Deliveries are compared with their contents (a CRC-32 of the bytes), so a
    run that sends the same types in the same order with other field values
    differs too.  ``options`` go to :class:`Sim`; the trace is always kept.
    """
    traces = []
    for _ in range(2):
        sim = Sim(seed, **{**options, "trace": True})
        try:
            scenario(sim)
        finally:
            sim.shutdown()
        traces.append(sim.trace)
    diff = first_difference(traces[0], traces[1])
    if diff is not None:
        index, left, right = diff
        first, second = traces[0][index : index + 1], traces[1][index : index + 1]
        same_delivery = first and second and first[0]._replace(content=0) == second[0]._replace(content=0)
        what = " (the same delivery with other contents)" if same_delivery else ""
        raise DeterminismError(f"seed {seed}: traces differ at delivery {index}{what}: {left!r} vs {right!r}")
    return traces[0]


def describe_failures(sim: SimRuntime, start: int = 0, *, limit: int = 10) -> str:
    """What the ``sim`` fixture says about the failures a test did not expect (``sim.failures[start:]``).

    Each one by delivery and address, then the first one's traceback.
    """
    failures = sim.failures[start:]
    more = " or more" if len(sim.failures) >= MAX_FAILURES_KEPT else ""
    lines = [
        f"{len(failures)}{more} handler failure(s) under the sim fixture; if they are the point of the test, "
        "mark it @pytest.mark.expect_failures"
    ]
    lines += [f"  delivery {f.step}, {f.address}: {f.error!r}" for f in failures[:limit]]
    if len(failures) > limit:
        lines.append(f"  ... and {len(failures) - limit} more")
    if failures:
        lines.append("the first one:")
        lines += traceback.format_exception(failures[0].error)
    return "\n".join(line.rstrip("\n") for line in lines)
