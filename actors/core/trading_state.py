"""Risk's trading states and the one table of transitions between them.

The states are NautilusTrader's: ``ACTIVE`` (every pre-trade check applies,
nothing more), ``REDUCING`` (only orders that bring a symbol's position
toward zero pass) and ``HALTED`` (the freeze: no order at all, every open one
canceled).  Which event moves which state where is written once, in
:data:`TRANSITIONS`, so that no caller can invent a move (a halt that
"reduces", a resume from ``ACTIVE``): an event the table does not list for
the current state changes nothing and is not recorded.  Every move that
happens is kept, with the tick it happened at and why, for the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["TRANSITIONS", "Event", "TradingState", "TradingStateMachine", "Transition"]


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
    """The freeze: the edge fell, an operator pulled the kill switch, an actor gave up, positions differ."""
    RESUME = "resume"
    """A resumable halt is over (``--resume-after-ticks``)."""


TRANSITIONS: dict[tuple[TradingState, Event], TradingState] = {
    (TradingState.ACTIVE, Event.REDUCE): TradingState.REDUCING,
    (TradingState.REDUCING, Event.CLEAR): TradingState.ACTIVE,
    (TradingState.ACTIVE, Event.HALT): TradingState.HALTED,
    (TradingState.REDUCING, Event.HALT): TradingState.HALTED,
    (TradingState.HALTED, Event.RESUME): TradingState.ACTIVE,
}
"""Every legal move.  A halt wins over reducing; only a resume leaves ``HALTED``, and it lands on
``ACTIVE`` (whether to reduce again is judged afresh at the same decision)."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One move, as the report lists it."""

    tick: int
    source: TradingState
    target: TradingState
    reason: str

    def as_report(self) -> dict[str, object]:
        """``{tick, from, to, reason}``."""
        return {"tick": self.tick, "from": self.source.value, "to": self.target.value, "reason": self.reason}


class TradingStateMachine:
    """The current state and every move made so far."""

    def __init__(self, state: TradingState = TradingState.ACTIVE) -> None:
        self.state = state
        self.transitions: list[Transition] = []

    def fire(self, event: Event, tick: int, reason: str) -> Transition | None:
        """Apply ``event``: the move it makes, or None if the table has none from this state."""
        target = TRANSITIONS.get((self.state, event))
        if target is None:
            return None
        transition = Transition(tick, self.state, target, reason)
        self.state = target
        self.transitions.append(transition)
        return transition

    def restore(self, transition: Transition) -> None:
        """Replay a journaled move (after a crash); one the table does not allow from here is refused."""
        if transition.source is not self.state or _event(transition) is None:
            raise ValueError(f"not a legal move from {self.state.value}: {transition.source.value} -> "
                             f"{transition.target.value}")  # fmt: skip
        self.state = transition.target
        self.transitions.append(transition)


def _event(transition: Transition) -> Event | None:
    """The event that makes ``transition``'s move, if any does."""
    for (state, event), reached in TRANSITIONS.items():
        if state is transition.source and reached is transition.target:
            return event
    return None
