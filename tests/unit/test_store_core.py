"""The order store's core alone: no runtime, no actor, records in and effects out (actors.core._store)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from actors.core._store import (
    ANSWER_DEADLINE_TICKS,
    AskStatus,
    Cancel,
    CancelNow,
    Effect,
    Forward,
    FreezeDone,
    Log,
    Place,
    Request,
    StoreCore,
    Wanted,
)
from actors.core._types import OrderState
from actors.wire._messages import Ack, FillItem, OrderSpec, Refusal, StatusItem

BTC = "BTCUSDT"


def buy(price: int = 100, lots: int = 2, number: int = 0) -> OrderSpec:
    return OrderSpec(BTC, 1, price, lots, number=number)


def only(effects: Sequence[Effect], kind: type[Effect]) -> list[Effect]:
    return [effect for effect in effects if isinstance(effect, kind)]


def request_of(effects: Sequence[Effect]) -> Request:
    requests = only(effects, Request)
    assert len(requests) == 1, effects
    request = requests[0]
    assert isinstance(request, Request)
    return request


def placed(core: StoreCore, tick: int, *orders: OrderSpec) -> Request:
    """Decide ``tick`` with ``orders`` for BTC and return the tick's request."""
    return request_of(core.replace_quotes(tick, (BTC,), orders))


def quiet(core: StoreCore, tick: int) -> Request:
    """A decision of ``tick`` that touches no symbol: the tick's request carries only what is owed."""
    return request_of(core.replace_quotes(tick, (), ()))


def ack(core: StoreCore, tick: int, client_id: str, exchange_id: str) -> list[Effect]:
    return core.gateway_report(tick, acks=(Ack(client_id, exchange_id),), rejects=(), canceled=(), cancel_failures=(),
                               fills=())  # fmt: skip


# ------------------------------------------------------------ requests and deadlines


def test_a_decision_becomes_one_request_that_cancels_the_symbols_open_orders_before_placing() -> None:
    core = StoreCore()
    first = placed(core, 1, buy())
    assert first.places == (Place("CLI00000001", BTC, 1, 100, 2, False),) and first.cancels == ()
    ack(core, 1, "CLI00000001", "ORD1")
    second = placed(core, 2, buy(101))
    assert second.cancels == (Cancel("CLI00000001", "ORD1"),)
    assert [p.client_id for p in second.places] == ["CLI00000002"] and second.tick == 2 and not second.frozen


def test_a_decision_in_parts_is_requested_once_its_last_part_came() -> None:
    core = StoreCore()
    assert core.replace_quotes(1, (BTC,), (buy(),), last=False) == []
    request = request_of(core.replace_quotes(1, ("ETHUSDT",), (OrderSpec("ETHUSDT", -1, 50, 1),), last=True))
    assert [p.symbol for p in request.places] == [BTC, "ETHUSDT"]


def test_the_same_decision_delivered_twice_is_acted_on_once() -> None:
    core = StoreCore()
    placed(core, 1, buy())
    assert core.replace_quotes(1, (BTC,), (buy(),)) == []
    assert core.duplicates_ignored == 1 and core.store.placed == 1


def test_an_order_unanswered_by_its_deadline_rides_in_the_next_request_as_a_question() -> None:
    core = StoreCore()
    placed(core, 1, buy())
    for tick in range(2, 1 + ANSWER_DEADLINE_TICKS):
        assert quiet(core, tick).status == ()
    assert quiet(core, 1 + ANSWER_DEADLINE_TICKS).status == ("CLI00000001",)
    assert core.deadlines_missed == 1


def test_an_answered_order_is_never_asked_about() -> None:
    core = StoreCore()
    placed(core, 1, buy())
    ack(core, 1, "CLI00000001", "ORD1")
    statuses = [quiet(core, tick).status for tick in range(2, 3 + 2 * ANSWER_DEADLINE_TICKS)]
    assert statuses == [()] * len(statuses) and core.deadlines_missed == 0


def test_a_refused_cancel_waits_out_its_backoff_then_goes_again_in_a_request() -> None:
    core = StoreCore()
    placed(core, 1, buy())
    ack(core, 1, "CLI00000001", "ORD1")
    placed(core, 2)  # the symbol is replaced with nothing: its order's cancel goes
    core.gateway_report(2, acks=(), rejects=(), canceled=(), cancel_failures=(Refusal("CLI00000001", "busy"),),
                        fills=())  # fmt: skip
    cancels = [quiet(core, tick).cancels for tick in range(3, 12)]
    assert Cancel("CLI00000001", "ORD1") in [c for tick_cancels in cancels for c in tick_cancels]


class FailingCore(StoreCore):
    """Fails after building the orders of tick ``fails_at``, before its request is made."""

    def __init__(self, fails_at: int = 1) -> None:
        super().__init__()
        self.fails_at = fails_at

    def _replace(self, tick: int, symbols: Sequence[str], orders: Sequence[Wanted]) -> None:
        super()._replace(tick, symbols, orders)
        if tick == self.fails_at:
            raise RuntimeError("fails half-way")


def test_a_failure_while_a_request_was_built_still_owes_that_tick_its_request() -> None:
    core = FailingCore()
    with pytest.raises(RuntimeError):
        core.replace_quotes(1, (BTC,), (buy(number=1),))
    effects = core.owed_request()
    owed = request_of(effects)
    assert owed.tick == 1 and owed.places == () and core.requested_through == 1
    # left out, so never sent: rejected at once, and said ended to risk before its next decision, which would
    # otherwise keep an order the venue never saw (or not, had a reconciliation's answer settled it first)
    assert core.store.get("CLI00000001").state is OrderState.REJECTED  # type: ignore[union-attr]
    assert only(effects, Forward) == [Forward(0, (), False, ("CLI00000001",))]
    assert core.awaiting[-1] == (1 + ANSWER_DEADLINE_TICKS, ())  # nothing to ask the venue about
    assert core.owed_request() == []  # owed once


def test_a_decision_that_failed_half_way_keeps_nothing_into_the_next() -> None:
    core = FailingCore(fails_at=2)
    placed(core, 1, buy(number=1), buy(101, number=2))
    ack(core, 1, "CLI00000001", "ORD1")
    ack(core, 1, "CLI00000002", "ORD2")
    with pytest.raises(RuntimeError):
        core.replace_quotes(2, (BTC,), (), keep=[1])  # keeps 1, cancels 2
    core.owed_request()
    assert core.store.kept == 1
    third = placed(core, 3)  # keeps nothing: every open order of the symbol goes
    assert third.cancels == (Cancel("CLI00000001", "ORD1"),) and core.store.kept == 1


def test_a_copy_of_a_gateway_record_is_recognised_by_its_number() -> None:
    core = StoreCore()
    assert not core.is_copy(1) and not core.is_copy(2)
    assert core.is_copy(2) and core.is_copy(1) and not core.is_copy(0) and core.duplicates_ignored == 2


# ------------------------------------------------------------ fills


def test_fills_applied_for_the_first_time_are_forwarded_and_close_their_tick_once() -> None:
    core = StoreCore()
    placed(core, 1, buy())
    fill = FillItem("F1", "ORD1", "CLI00000001", BTC, 1, 100, 2, 1)
    effects = core.gateway_report(1, acks=(), rejects=(), canceled=(), cancel_failures=(), fills=(fill, fill),
                                  closes=True)  # fmt: skip
    (forward,) = only(effects, Forward)
    assert isinstance(forward, Forward) and forward.fills == (fill.to_fill(),) and forward.closes and forward.tick == 1
    assert only(effects, Log)  # the duplicate is not applied, and says so
    again = core.gateway_report(1, acks=(), rejects=(), canceled=(), cancel_failures=(), fills=(), closes=True)
    assert only(again, Forward) == []  # tick 1 is closed already


# ------------------------------------------------------------ frozen


def frozen_with_an_open_order() -> StoreCore:
    core = StoreCore()
    placed(core, 1, buy())
    ack(core, 1, "CLI00000001", "ORD1")
    assert core.freezes(2)
    core.freeze(2)
    return core


def test_frozen_a_decision_makes_no_orders_and_its_orders_are_counted_as_refused() -> None:
    core = frozen_with_an_open_order()
    request = placed(core, 3, buy(), buy(101))
    assert request.places == () and request.frozen and core.refused_after_freeze == 2


def test_frozen_a_flattening_decision_still_places_its_orders() -> None:
    core = frozen_with_an_open_order()
    request = request_of(core.replace_quotes(3, (BTC,), (OrderSpec(BTC, -1, 99, 1, reduce_only=True),), flatten=True))
    assert request.flatten and [p.reduce_only for p in request.places] == [True]


def test_the_mass_cancel_that_empties_the_venue_settles_every_order_and_confirms_the_freeze() -> None:
    core = frozen_with_an_open_order()
    placed(core, 2)
    core.replace_quotes(3, (BTC,), (buy(),), flatten=True)  # created after the gateway's last request: not settled
    effects = core.mass_cancel_report(2, (), final=True, venue_open=0, requested_through=2)
    assert core.store.get("CLI00000001").state is OrderState.CANCELED  # type: ignore[union-attr]
    assert core.store.get("CLI00000002").state is OrderState.PENDING  # type: ignore[union-attr]
    assert only(effects, FreezeDone) == []  # one order is still on its way
    refused = core.gateway_report(3, acks=(), rejects=(Refusal("CLI00000002", "frozen"),), canceled=(),
                                  cancel_failures=(), fills=())  # fmt: skip
    assert refused == [FreezeDone(2, 1)]


def test_the_freeze_is_confirmed_once_the_venue_and_the_store_hold_nothing_open() -> None:
    core = frozen_with_an_open_order()
    assert core.mass_cancel_report(2, ("CLI00000001",), final=False, venue_open=-1, requested_through=1) == []
    effects = core.mass_cancel_report(2, (), final=True, venue_open=0, requested_through=1)
    assert effects == [FreezeDone(2, 1)] and core.freeze_confirmed
    assert core.mass_cancel_report(2, (), final=True, venue_open=0, requested_through=1) == []  # confirmed once


def test_a_late_copy_of_a_freeze_that_a_resume_ended_does_not_freeze_again() -> None:
    core = frozen_with_an_open_order()
    assert core.resume(5) and not core.frozen
    assert not core.resume(5)  # the same resume twice
    assert not core.freezes(4)
    core.freeze(4)
    assert not core.frozen and core.freezes(6)


def test_frozen_before_the_venue_is_empty_an_ack_for_an_order_wanted_canceled_is_left_to_the_mass_cancel() -> None:
    core = StoreCore()
    placed(core, 1, buy())
    core.freeze(1)
    assert core.store.get("CLI00000001").cancel_requested  # type: ignore[union-attr]
    ack(core, 1, "CLI00000001", "ORD1")
    assert core.follow_ups == []
    core.mass_cancel_report(1, (), final=True, venue_open=1, requested_through=1)  # the venue still holds one
    assert not core.venue_empty


def test_after_the_final_tick_a_frozen_store_sends_follow_up_cancels_at_once() -> None:
    core = StoreCore(final_tick=2)
    placed(core, 1, buy())
    placed(core, 2)
    core.freeze(2)
    core.mass_cancel_report(2, (), final=True, venue_open=1, requested_through=2)  # the venue still holds one
    word = StatusItem("CLI00000001", "open", "ORD1", 0)
    effects = core.order_statuses(2, (word,), requested_through=2)
    assert effects == [CancelNow(2, (Cancel("CLI00000001", "ORD1"),))]


# ------------------------------------------------------------ reconciliation


def test_reconciliation_cancels_orphans_acknowledges_lost_acks_and_asks_about_the_rest() -> None:
    core = StoreCore()
    placed(core, 1, buy(), buy(101))  # CLI00000001 stays PENDING (its ack was lost), CLI00000002 is not at the venue
    open_there = (Ack("CLI00000001", "ORD1"), Ack("CLI00009999", "ORD9"))
    effects = core.venue_state(3, open_there)
    assert effects == [CancelNow(3, (Cancel("CLI00009999", "ORD9"),)), AskStatus(3, ("CLI00000002",))]
    assert core.store.get("CLI00000001").state is OrderState.OPEN  # type: ignore[union-attr]
    assert core.orphans_canceled == 1 and core.reconciliations == 1


def test_the_venues_word_settles_orders_and_adds_the_lots_it_counts_but_never_sent() -> None:
    core = StoreCore()
    placed(core, 1, buy(), buy(101), buy(102))
    ack(core, 1, "CLI00000001", "ORD1")
    words = (StatusItem("CLI00000001", "open", "ORD1", 1), StatusItem("CLI00000002", "unknown", "", 0),
             StatusItem("CLI00000003", "canceled", "ORD3", 0))  # fmt: skip
    effects = core.order_statuses(3, words, requested_through=1)
    (forward,) = only(effects, Forward)
    assert isinstance(forward, Forward)
    assert [(f.fill_id, f.qty_lots, f.price_ticks) for f in forward.fills] == [("CLI00000001:venue:1", 1, 100)]
    states = [core.store.get(f"CLI0000000{n}").state for n in (1, 2, 3)]  # type: ignore[union-attr]
    assert states == [OrderState.PARTIALLY_FILLED, OrderState.REJECTED, OrderState.CANCELED]


def test_an_order_whose_request_the_gateway_has_not_handled_is_left_alone_by_the_venues_word() -> None:
    core = StoreCore()
    placed(core, 1)
    placed(core, 2, buy())
    effects = core.order_statuses(2, (StatusItem("CLI00000001", "unknown", "", 0),), requested_through=1)
    assert effects == [] and core.store.get("CLI00000001").state is OrderState.PENDING  # type: ignore[union-attr]


def test_an_illegal_transition_is_logged_counted_and_skipped() -> None:
    core = StoreCore()
    placed(core, 1, buy())
    ack(core, 1, "CLI00000001", "ORD1")
    effects = ack(core, 1, "CLI00000001", "ORD2")  # the same order under another id
    assert [effect.level for effect in only(effects, Log)] == ["ERROR"]  # type: ignore[union-attr]
    assert core.store.stats.illegal_transitions == 1
