"""The order life cycle's tables: what they allow, what they refuse, and that they cover every case."""

from __future__ import annotations

import itertools

import pytest

from actors.core._lifecycle import (
    TRANSITIONS,
    VENUE_WORD,
    Event,
    Here,
    IllegalTransition,
    Settle,
    awaiting_answer,
    cancel_can_go,
    settle,
    step,
)
from actors.core.exchange import STATUS_STATES
from actors.core.orders import Order, OrderStats
from actors.core.types import OrderState, Side


def test_a_terminal_state_is_never_left() -> None:
    for (state, event), transition in TRANSITIONS.items():
        if state.is_terminal:
            assert transition.to is state, (state, event)


def test_every_pair_outside_the_table_is_refused_naming_the_order_and_its_state() -> None:
    for state, event in itertools.product(OrderState, Event):
        if (state, event) in TRANSITIONS:
            assert step("CLI1", state, event) is TRANSITIONS[(state, event)]
        else:
            with pytest.raises(IllegalTransition, match=f"CLI1 in state {state.value}"):
                step("CLI1", state, event)


def test_every_counter_a_transition_names_is_a_store_counter() -> None:
    counters = set(OrderStats.__dataclass_fields__)
    assert {t.counted_as for t in TRANSITIONS.values() if t.counted_as} <= counters


def test_only_a_placement_answer_leaves_pending_for_open_or_rejected() -> None:
    into_open = {state for (state, _), t in TRANSITIONS.items() if t.to is OrderState.OPEN and state is not t.to}
    into_rejected = {state for (state, _), t in TRANSITIONS.items() if t.to is OrderState.REJECTED}
    assert into_open == {OrderState.PENDING} and into_rejected <= {OrderState.PENDING, OrderState.REJECTED}


def order(state: OrderState, *, xid: str | None = None, cancel: bool = False, retry: int | None = None) -> Order:
    placed = Order("CLI1", "BTCUSDT", Side.BUY, 100, 2, 1, state=state, exchange_order_id=xid)
    placed.cancel_requested, placed.retry_tick = cancel, retry
    return placed


def test_an_answer_is_owed_while_pending_or_while_a_cancel_is_out_unanswered() -> None:
    assert awaiting_answer(order(OrderState.PENDING))
    assert awaiting_answer(order(OrderState.OPEN, xid="ORD1", cancel=True))
    assert not awaiting_answer(order(OrderState.OPEN, xid="ORD1", cancel=True, retry=9))  # refused, backing off
    assert not awaiting_answer(order(OrderState.OPEN, xid="ORD1"))
    assert not awaiting_answer(order(OrderState.CANCELED, xid="ORD1", cancel=True))


def test_a_cancel_goes_only_to_a_live_order_the_venue_knows() -> None:
    assert cancel_can_go(order(OrderState.OPEN, xid="ORD1"))
    assert cancel_can_go(order(OrderState.PARTIALLY_FILLED, xid="ORD1"))
    assert not cancel_can_go(order(OrderState.PENDING))  # its cancel waits for the ack
    assert not cancel_can_go(order(OrderState.FILLED, xid="ORD1"))


def test_the_venues_word_settles_every_order_for_every_word_the_venue_defines() -> None:
    assert {(word, here) for word in STATUS_STATES for here in Here} == set(VENUE_WORD)


def test_an_order_on_its_way_is_left_alone_unless_the_venue_already_has_it() -> None:
    assert settle("unknown", OrderState.PENDING, requested=False) is Settle.WAIT
    assert settle("open", OrderState.PENDING, requested=False) is Settle.ACKNOWLEDGE
    assert settle("unknown", OrderState.PENDING, requested=True) is Settle.REJECT
    assert settle("unknown", OrderState.OPEN, requested=True) is Settle.CANCELED
    assert settle("filled", OrderState.PARTIALLY_FILLED, requested=True) is Settle.CANCELED
    assert settle("a word nobody defined", OrderState.PENDING, requested=True) is Settle.REJECT  # as "unknown"
