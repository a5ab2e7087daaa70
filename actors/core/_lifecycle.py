"""An order's life cycle: everything that decides an order's state lives here.

::

    PENDING ──ack──► OPEN ──fill──► PARTIALLY_FILLED ──last fill──► FILLED
       │  │            │                    │
       │  └──fill──────┼───(a fill implies the ack)
       │               └──canceled──► CANCELED ◄──canceled──┘
       └──reject──► REJECTED          (and PENDING ──canceled──► CANCELED)

An order's cancel has a state of its own beside the order's::

    NONE ──request──► REQUESTED ──refused──► BACKING_OFF ──due──► REQUESTED
      │                                           ▲
      └──refused (a cancel sent for the store)────┘
    (any) ──answered (the venue holds nothing live)──► DONE

Four tables, read top to bottom, in the spirit of h11's ``_state`` module:

- :data:`TRANSITIONS`: what each event does in each state.  A pair that is
  not in the table is an illegal transition: :func:`step` raises
  :class:`IllegalTransition` and the store counts it and changes nothing.
  Some events are legal and change nothing: an answer heard twice, a cancel
  confirmed after the fill won the race, a fill of an order already
  canceled (it traded before the cancel took effect).  Each such case names
  the counter it is counted in.
- :data:`CANCEL_TRANSITIONS`: the cancel's own states (:class:`CancelState`),
  and :data:`CANCEL_ANSWERS`: which answers to a cancel
  (:class:`actors.core._exchange.CancelOutcome`) end the order and which
  send the cancel into its backoff.
- :func:`awaiting_answer`, :func:`cancel_can_go` and
  :func:`cancel_means_canceled`: the questions the store and its actor ask
  about an order in flight (is an answer owed by the venue? may a cancel be
  sent now? does this answer to a cancel end the order?).
- :data:`VENUE_WORD`: what the venue's word about an order (an order-status
  answer, docs/RELIABILITY.md, "Every request is tracked") does to an order
  that is still open or PENDING here.

Terminal states (FILLED, CANCELED, REJECTED) are never left.  The store
(:mod:`actors.core._orders`) keeps indexes and counts; its actor
(:mod:`actors.roles._order_store`) applies the venue's answers; neither
decides a state on its own.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from actors.core._exchange import CancelOutcome
from actors.core._types import OrderState

PENDING, OPEN, PARTIALLY_FILLED = OrderState.PENDING, OrderState.OPEN, OrderState.PARTIALLY_FILLED
FILLED, CANCELED, REJECTED = OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED


class IllegalTransition(ValueError):
    """An order was asked to move to a state its current state cannot reach."""


class OrderEvent(enum.Enum):
    """What can happen to an order."""

    __hash__ = object.__hash__  # as OrderState: members are singletons, and the table is looked up per event

    ACK = "ack"
    REJECT = "reject"
    FILL = "fill"
    """A fill that leaves lots to trade."""
    LAST_FILL = "last fill"
    """A fill of every lot still open."""
    CANCELED = "canceled"
    """The venue confirmed the cancel, or holds nothing live under the order's id."""


@dataclass(frozen=True, slots=True)
class OrderMove:
    """Where an event takes an order, and the store counter it is counted in when it is no ordinary move."""

    to: OrderState
    counted_as: str | None = None


TRANSITIONS: Mapping[tuple[OrderState, OrderEvent], OrderMove] = {
    # waiting for the venue's answer to the placement
    (PENDING, OrderEvent.ACK): OrderMove(OPEN),
    (PENDING, OrderEvent.REJECT): OrderMove(REJECTED),
    (PENDING, OrderEvent.FILL): OrderMove(PARTIALLY_FILLED),  # the fill implies the ack
    (PENDING, OrderEvent.LAST_FILL): OrderMove(FILLED),
    (PENDING, OrderEvent.CANCELED): OrderMove(CANCELED),
    # resting at the venue
    (OPEN, OrderEvent.ACK): OrderMove(OPEN, "duplicate_answers"),
    (OPEN, OrderEvent.FILL): OrderMove(PARTIALLY_FILLED),
    (OPEN, OrderEvent.LAST_FILL): OrderMove(FILLED),
    (OPEN, OrderEvent.CANCELED): OrderMove(CANCELED),
    (PARTIALLY_FILLED, OrderEvent.ACK): OrderMove(PARTIALLY_FILLED, "duplicate_answers"),
    (PARTIALLY_FILLED, OrderEvent.FILL): OrderMove(PARTIALLY_FILLED),
    (PARTIALLY_FILLED, OrderEvent.LAST_FILL): OrderMove(FILLED),
    (PARTIALLY_FILLED, OrderEvent.CANCELED): OrderMove(CANCELED, "partially_filled_then_canceled"),
    # terminal: never left; some answers still arrive and change nothing
    (FILLED, OrderEvent.ACK): OrderMove(FILLED, "duplicate_answers"),
    (FILLED, OrderEvent.CANCELED): OrderMove(FILLED, "cancel_after_fill"),  # the fill won the race
    (CANCELED, OrderEvent.ACK): OrderMove(CANCELED, "duplicate_answers"),
    (CANCELED, OrderEvent.FILL): OrderMove(CANCELED, "fills_after_cancel"),  # traded before the cancel took effect
    (CANCELED, OrderEvent.LAST_FILL): OrderMove(CANCELED, "fills_after_cancel"),
    (CANCELED, OrderEvent.CANCELED): OrderMove(CANCELED),  # confirmed again (a mass cancel after a cancel)
    (REJECTED, OrderEvent.REJECT): OrderMove(REJECTED, "duplicate_answers"),
}
"""Every legal (state, event) pair.  A pair not listed is illegal."""


_VERBS = {OrderEvent.ACK: "acknowledge", OrderEvent.REJECT: "reject", OrderEvent.FILL: "fill",
          OrderEvent.LAST_FILL: "fill", OrderEvent.CANCELED: "cancel"}  # fmt: skip


def step(client_id: str, state: OrderState, event: OrderEvent) -> OrderMove:
    """The transition ``event`` makes from ``state``; :class:`IllegalTransition` if there is none."""
    transition = TRANSITIONS.get((state, event))
    if transition is None:
        raise IllegalTransition(f"cannot {_VERBS[event]} {client_id} in state {state.value}")
    return transition


class CancelState(enum.Enum):
    """Where an order's cancel stands (the store keeps it beside the order's state)."""

    __hash__ = object.__hash__

    NONE = "no cancel wanted"
    REQUESTED = "wanted: out at the venue, or waiting for the order's ack to go out"
    BACKING_OFF = "refused or unanswered: waits out its backoff before it goes again"
    DONE = "answered: the venue holds nothing live under the order"


class CancelEvent(enum.Enum):
    """What can happen to an order's cancel."""

    __hash__ = object.__hash__

    REQUEST = "request"
    """The store wants the order canceled."""
    REFUSED = "refused"
    """An answer that does not end the order (:data:`CANCEL_ANSWERS`): it is tried again after a backoff."""
    DUE = "due"
    """Its backoff is over: it goes again."""
    ANSWERED = "answered"
    """An answer that ends the order."""


CANCEL_TRANSITIONS: Mapping[tuple[CancelState, CancelEvent], CancelState] = {
    (CancelState.NONE, CancelEvent.REQUEST): CancelState.REQUESTED,
    (CancelState.NONE, CancelEvent.REFUSED): CancelState.BACKING_OFF,  # a cancel sent for the store (reconciling)
    (CancelState.REQUESTED, CancelEvent.REFUSED): CancelState.BACKING_OFF,
    (CancelState.BACKING_OFF, CancelEvent.REFUSED): CancelState.BACKING_OFF,  # one cancel answered twice: longer
    (CancelState.BACKING_OFF, CancelEvent.DUE): CancelState.REQUESTED,
    **{(state, CancelEvent.ANSWERED): CancelState.DONE for state in CancelState},
}
"""Every legal (cancel state, event) pair, for an order that is not terminal (a terminal one's cancel is over).

Asking again for a cancel already wanted is no event: the store sends nothing."""


def cancel_step(client_id: str, state: CancelState, event: CancelEvent) -> CancelState:
    """Where ``event`` takes a cancel in ``state``; :class:`IllegalTransition` if nowhere."""
    to = CANCEL_TRANSITIONS.get((state, event))
    if to is None:
        raise IllegalTransition(f"cannot apply {event.value} to the cancel of {client_id}: {state.value}")
    return to


CANCEL_ANSWERS: Mapping[CancelOutcome, CancelEvent] = {
    outcome: CancelEvent.ANSWERED if outcome.ends_order else CancelEvent.REFUSED for outcome in CancelOutcome
}
"""What each answer to a cancel does: ANSWERED moves the order to CANCELED (a FILLED one stays FILLED: the fill
won the race); REFUSED leaves the order as it is (a fill closes it, or the cancel goes again after its backoff)."""


class InFlight(Protocol):
    """What the two questions below read of an order."""

    @property
    def state(self) -> OrderState: ...
    @property
    def exchange_order_id(self) -> str | None: ...
    @property
    def cancel(self) -> CancelState: ...


def awaiting_answer(order: InFlight) -> bool:
    """The venue owes an answer: still PENDING, or a cancel is out that was neither confirmed nor refused.

    (A refused cancel waiting out its backoff owes nothing.)
    """
    return not order.state.is_terminal and (order.state is PENDING or order.cancel is CancelState.REQUESTED)


def cancel_can_go(order: InFlight) -> bool:
    """A cancel may be sent now: the venue knows the order (acknowledged, under its id) and it is live.

    A PENDING order's cancel waits for its ack: the venue could not find it yet.
    """
    return order.exchange_order_id is not None and order.state is not PENDING and not order.state.is_terminal


NOT_OPEN_AT_VENUE = CancelOutcome.NOT_OPEN_AT_VENUE.value
"""The store's own answer for an order the venue no longer holds once a freeze's mass cancel is done."""

NOT_LIVE = frozenset(
    outcome for outcome in CancelOutcome if outcome.ends_order and outcome is not CancelOutcome.CANCELED
)
"""Cancel refusals meaning the venue holds no live order: it is canceled for us too."""


def cancel_means_canceled(outcome: CancelOutcome) -> bool:
    """A cancel's answer that makes the order CANCELED: confirmed, or refused because nothing is live there.

    Any other answer (ALREADY_FILLED, a transport error) leaves the order
    as it was: a fill will close it, or the cancel is tried again.
    """
    return CANCEL_ANSWERS[outcome] is CancelEvent.ANSWERED


class Here(enum.Enum):
    """Where an order open or PENDING here stands, as far as the venue's word about it goes."""

    __hash__ = object.__hash__

    ON_ITS_WAY = "PENDING, its request not handled by the gateway yet"
    PENDING = "PENDING, requested"
    LIVE = "acknowledged, open or partly filled"


class Settle(enum.Enum):
    """What the venue's word does to an order still open or PENDING here."""

    ACKNOWLEDGE = "acknowledge"
    """Open there: acknowledged if PENDING here (its ack was lost), and canceled if that is wanted."""
    CANCELED = "canceled"
    """Nothing live there under its id: CANCELED, as an answer "already canceled" would."""
    REJECT = "reject"
    """Never placed there: REJECTED."""
    WAIT = "wait"
    """Still on its way to the venue: left alone."""


_ANY = (Here.ON_ITS_WAY, Here.PENDING, Here.LIVE)

VENUE_WORD: Mapping[tuple[str, Here], Settle] = {
    **{("open", here): Settle.ACKNOWLEDGE for here in _ANY},
    **{("canceled", here): Settle.CANCELED for here in _ANY},
    **{("filled", here): Settle.CANCELED for here in _ANY},  # its fills settle the lots; nothing is live there
    ("rejected", Here.ON_ITS_WAY): Settle.WAIT,
    ("rejected", Here.PENDING): Settle.REJECT,
    ("rejected", Here.LIVE): Settle.CANCELED,
    ("unknown", Here.ON_ITS_WAY): Settle.WAIT,
    ("unknown", Here.PENDING): Settle.REJECT,
    ("unknown", Here.LIVE): Settle.CANCELED,
}
"""The venue's word about an order open or PENDING here (``OrderStatuses``), and what settles it.
A word the venue does not define counts as "unknown"."""


def settle(word: str, state: OrderState, requested: bool) -> Settle:
    """What the venue's ``word`` does to an order in ``state`` (``requested``: the gateway has handled its request)."""
    here = Here.LIVE if state is not PENDING else Here.PENDING if requested else Here.ON_ITS_WAY
    verdict = VENUE_WORD.get((word, here))
    return verdict if verdict is not None else VENUE_WORD[("unknown", here)]


__all__ = [
    "CANCEL_ANSWERS",
    "CANCEL_TRANSITIONS",
    "NOT_LIVE",
    "NOT_OPEN_AT_VENUE",
    "TRANSITIONS",
    "VENUE_WORD",
    "CancelEvent",
    "CancelState",
    "OrderEvent",
    "Here",
    "IllegalTransition",
    "InFlight",
    "Settle",
    "OrderMove",
    "awaiting_answer",
    "cancel_can_go",
    "cancel_means_canceled",
    "cancel_step",
    "settle",
    "step",
]
