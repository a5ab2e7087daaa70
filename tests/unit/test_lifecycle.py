"""The order life cycle's tables: what they allow, what they refuse, and that they cover every case."""

from __future__ import annotations

import itertools

import pytest

from actors.core._exchange import STATUS_STATES, CancelOutcome
from actors.core._lifecycle import (
    CANCEL_ANSWERS,
    CANCEL_TRANSITIONS,
    TRANSITIONS,
    VENUE_WORD,
    CancelEvent,
    CancelState,
    Here,
    IllegalTransition,
    OrderEvent,
    Settle,
    awaiting_answer,
    cancel_can_go,
    cancel_means_canceled,
    cancel_step,
    settle,
    step,
)
from actors.core._orders import Order, OrderStats
from actors.core._types import OrderState, Side


def test_a_terminal_state_is_never_left() -> None:
    for (state, event), transition in TRANSITIONS.items():
        if state.is_terminal:
            assert transition.to is state, (state, event)


def test_every_pair_outside_the_table_is_refused_naming_the_order_and_its_state() -> None:
    for state, event in itertools.product(OrderState, OrderEvent):
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


def order(state: OrderState, *, xid: str | None = None, cancel: CancelState = CancelState.NONE) -> Order:
    return Order("CLI1", "BTCUSDT", Side.BUY, 100, 2, 1, state=state, exchange_order_id=xid, cancel=cancel)


def test_an_answer_is_owed_while_pending_or_while_a_cancel_is_out_unanswered() -> None:
    assert awaiting_answer(order(OrderState.PENDING))
    assert awaiting_answer(order(OrderState.OPEN, xid="ORD1", cancel=CancelState.REQUESTED))
    assert not awaiting_answer(order(OrderState.OPEN, xid="ORD1", cancel=CancelState.BACKING_OFF))
    assert not awaiting_answer(order(OrderState.OPEN, xid="ORD1"))
    assert not awaiting_answer(order(OrderState.CANCELED, xid="ORD1", cancel=CancelState.REQUESTED))


def test_a_cancel_is_requested_once_and_goes_again_only_after_a_refusal_and_its_backoff() -> None:
    requested = cancel_step("CLI1", CancelState.NONE, CancelEvent.REQUEST)
    backing_off = cancel_step("CLI1", requested, CancelEvent.REFUSED)
    assert (requested, backing_off) == (CancelState.REQUESTED, CancelState.BACKING_OFF)
    assert cancel_step("CLI1", backing_off, CancelEvent.DUE) is CancelState.REQUESTED
    for state in (CancelState.REQUESTED, CancelState.BACKING_OFF, CancelState.DONE):
        with pytest.raises(IllegalTransition, match="CLI1"):
            cancel_step("CLI1", state, CancelEvent.REQUEST)  # the store sends nothing for a cancel already wanted
    with pytest.raises(IllegalTransition):
        cancel_step("CLI1", CancelState.REQUESTED, CancelEvent.DUE)  # only a refused cancel waits for its turn


def test_an_answer_that_ends_the_order_ends_its_cancel_from_any_state() -> None:
    assert {state for (state, event), to in CANCEL_TRANSITIONS.items() if event is CancelEvent.ANSWERED
            and to is CancelState.DONE} == set(CancelState)  # fmt: skip
    others = {to for (_, event), to in CANCEL_TRANSITIONS.items() if event is not CancelEvent.ANSWERED}
    assert CancelState.DONE not in others


def test_every_cancel_outcome_is_decided_and_only_those_where_nothing_is_live_end_the_order() -> None:
    assert set(CANCEL_ANSWERS) == set(CancelOutcome)
    ending = {outcome for outcome in CancelOutcome if cancel_means_canceled(outcome)}
    assert ending == {CancelOutcome.CANCELED, CancelOutcome.ALREADY_CANCELED, CancelOutcome.UNKNOWN_ORDER,
                      CancelOutcome.NOT_OPEN_AT_VENUE}  # fmt: skip


def test_a_cancel_answer_written_as_text_reads_back_as_the_outcome_it_was_written_for() -> None:
    for outcome in CancelOutcome:
        read = CancelOutcome.read(outcome is CancelOutcome.CANCELED, outcome.text(""))
        assert read is outcome
    assert CancelOutcome.read(False, "the venue's own words") is CancelOutcome.REFUSED
    assert CancelOutcome.read(False, "canceled") is CancelOutcome.REFUSED  # only ok says CANCELED


def test_a_venues_own_words_travel_unless_they_would_read_as_another_decision() -> None:
    assert CancelOutcome.ALREADY_CANCELED.text("Order was canceled by the user") == "already canceled"
    assert CancelOutcome.FAILED.text("exchange error: connection reset") == "exchange error: connection reset"
    assert CancelOutcome.ALREADY_FILLED.text("already filled") == "already filled"
    assert CancelOutcome.REFUSED.text("unknown order") == "refused"  # would read as "nothing live": the outcome's own


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
