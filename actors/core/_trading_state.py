"""Risk's trading states and the one table of transitions between them.

The states are NautilusTrader's: ``ACTIVE`` (every pre-trade check applies,
nothing more), ``REDUCING`` (only orders that bring a symbol's position
toward zero pass) and ``HALTED`` (no order at all, every open one
canceled).  Which event moves which state where is written once, in
:data:`TRANSITIONS`, so that no caller can invent a move (a halt that
"reduces", a resume from ``ACTIVE``): an event the table does not list for
the current state changes nothing and is not recorded.  Every move that
happens is kept, with the tick it happened at and why, for the report.

A halt has a cause of one :class:`HaltKind`, carried with its move; which
kinds may be lifted is the table's too (:data:`RESUMABLE`): only the edge,
the one cause risk can see go away.  The reason text stays beside the kind,
for the report and the log; a record that carries only the text (a journal
written before kinds existed, a report, a request on the wire) is mapped to
its kind by :func:`halt_kind`, the one place that reads the text.

Names: the state is ``HALTED`` and entering it is a halt, everywhere in the
code; "freeze" names only the protocol that empties the venue after a halt
(the wire's ``Freeze``, ``FreezeRequest`` and ``FreezeComplete``, and
whether it is confirmed), and the report's field names (``frozen``,
``freeze_tick``, ``last_freeze_reason`` ...), which users parse, stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

__all__ = ["RESUMABLE", "TRANSITIONS", "Event", "HaltKind", "TradingState", "TradingStateMachine", "Transition",
           "halt_kind"]  # fmt: skip


class TradingState(StrEnum):
    """Where trading stands."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class Event(StrEnum):
    """What can move the state."""

    REDUCE = "reduce"
    """An exposure passed its reduce-above threshold."""
    CLEAR = "clear"
    """Every exposure is back at or below its threshold."""
    HALT = "halt"
    """Halt: the edge fell, an operator pulled the kill switch, an actor gave up, positions differ."""
    RESUME = "resume"
    """A resumable halt is over (``--resume-after-ticks``)."""


class HaltKind(StrEnum):
    """Why trading halted; each value is how its reason text begins (``"Edge degradation: 2.40 BPS < ..."``)."""

    EDGE = "Edge degradation"
    """The realised edge fell below the threshold (:func:`actors.core._risk.edge_halt_reason`)."""
    OPERATOR = "Operator"
    """An operator pulled the kill switch (``SIGUSR1``, ``mm-freeze``, ``System.freeze``)."""
    ESCALATION = "Escalation"
    """An actor gave up after repeated failures."""
    RECONCILIATION = "Reconciliation"
    """Risk's positions differ from the venue's, or the venue knows less than the journals."""
    JOURNAL = "Journal"
    """Risk's journal cannot be written: the run is no longer durable."""
    SHARD_LOST = "Shard lost"
    """A shard of a sharded run did not come back in time."""
    MARKET_DOWN = "Market down"
    """A live market gave nothing to trust (every symbol stale) for longer than ``--live-down-ms``.  Final: the
    run's picture of the market, and its recording, has a hole; a human looks before it trades again (a single
    stale symbol only has its quotes pulled, and they come back with its market)."""
    OTHER = "other"
    """A request naming none of the above (a test's, the bench's)."""

    @property
    def resumable(self) -> bool:
        """Whether a halt of this kind may be lifted (:data:`RESUMABLE`)."""
        return self in RESUMABLE


TRANSITIONS: dict[tuple[TradingState, Event], TradingState] = {
    (TradingState.ACTIVE, Event.REDUCE): TradingState.REDUCING,
    (TradingState.REDUCING, Event.CLEAR): TradingState.ACTIVE,
    (TradingState.ACTIVE, Event.HALT): TradingState.HALTED,
    (TradingState.REDUCING, Event.HALT): TradingState.HALTED,
    (TradingState.HALTED, Event.RESUME): TradingState.ACTIVE,
}
"""Every legal move.  A halt wins over reducing; only a resume leaves ``HALTED``, and it lands on
``ACTIVE`` (whether to reduce again is judged afresh at the same decision)."""

RESUMABLE: frozenset[HaltKind] = frozenset({HaltKind.EDGE})
"""The halts a resume may lift (with ``--resume-after-ticks``); every other kind is final, and one that comes
during a resumable halt makes that halt final."""

_KINDS = {kind.value: kind for kind in HaltKind if kind is not HaltKind.OTHER}


def halt_kind(reason: str) -> HaltKind:
    """The kind of a halt known only by its reason text: the text up to its first colon names it.

    For what carries no kind: a journal's move (journals hold the text
    alone, and those written before kinds existed must stay resumable), a
    report's ``last_freeze_reason``, a :class:`FreezeRequest` from the wire.
    Text that names no kind is :attr:`HaltKind.OTHER`, never resumable.
    """
    return _KINDS.get(reason.partition(":")[0], HaltKind.OTHER)


@dataclass(frozen=True, slots=True)
class Transition:
    """One move, as the report lists it."""

    tick: int
    source: TradingState
    target: TradingState
    reason: str
    kind: HaltKind | None = field(default=None, compare=False)
    """A move to ``HALTED``: its cause (not in the report, which has the reason text); None for other moves."""

    def as_report(self) -> dict[str, object]:
        """``{tick, from, to, reason}``."""
        return {"tick": self.tick, "from": self.source.value, "to": self.target.value, "reason": self.reason}


class TradingStateMachine:
    """The current state and every move made so far."""

    def __init__(self, state: TradingState = TradingState.ACTIVE) -> None:
        self.state = state
        self.transitions: list[Transition] = []

    def fire(self, event: Event, tick: int, reason: str, kind: HaltKind | None = None) -> Transition | None:
        """Apply ``event``: the move it makes, or None if the table has none from this state.

        ``kind``: a halt's cause (required for :attr:`Event.HALT`, ignored otherwise).
        """
        target = TRANSITIONS.get((self.state, event))
        if target is None:
            return None
        if target is TradingState.HALTED and kind is None:
            raise ValueError(f"a halt at tick {tick} without its kind: {reason!r}")
        transition = Transition(tick, self.state, target, reason, kind if target is TradingState.HALTED else None)
        self.state = target
        self.transitions.append(transition)
        return transition

    def restore(self, transition: Transition) -> Transition:
        """Replay a journaled move (after a crash); one the table does not allow from here is refused.

        A halt journaled with its reason text alone gets its kind from it
        (:func:`halt_kind`).  Returns the move as kept.
        """
        if transition.source is not self.state or _event(transition) is None:
            raise ValueError(f"not a legal move from {self.state.value}: {transition.source.value} -> "
                             f"{transition.target.value}")  # fmt: skip
        if transition.target is TradingState.HALTED and transition.kind is None:
            transition = replace(transition, kind=halt_kind(transition.reason))
        self.state = transition.target
        self.transitions.append(transition)
        return transition


def _event(transition: Transition) -> Event | None:
    """The event that makes ``transition``'s move, if any does."""
    for (state, event), reached in TRANSITIONS.items():
        if state is transition.source and reached is transition.target:
            return event
    return None
