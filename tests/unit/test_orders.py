"""The order state machine and store: transitions, exactly-once fills, and the counting invariant."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from actors.core._orders import FillOutcome, IllegalTransition, OrderStore
from actors.core._types import Fill, OrderState, Side


def fill(order_id: str, qty: int, fill_id: str = "FIL00000001", exchange_id: str = "ORD000001") -> Fill:
    return Fill(fill_id, exchange_id, order_id, "BTCUSDT", Side.BUY, 100, qty, 1)


def new_store() -> tuple[OrderStore, str]:
    store = OrderStore()
    return store, store.create("BTCUSDT", Side.BUY, 100, 4, 1).client_id


def test_client_ids_are_deterministic_and_sequential() -> None:
    store = OrderStore()
    ids = [store.create("BTCUSDT", Side.BUY, 100, 1, 1).client_id for _ in range(3)]
    assert ids == ["CLI00000001", "CLI00000002", "CLI00000003"]
    assert OrderStore(id_prefix="X", id_width=3).create("A", Side.SELL, 1, 1, 0).client_id == "X001"


def test_orders_need_a_positive_price_and_quantity() -> None:
    with pytest.raises(ValueError, match="positive"):
        OrderStore().create("BTCUSDT", Side.BUY, 100, 0, 1)


def test_ack_fill_and_fill_again_reach_filled() -> None:
    store, cid = new_store()
    store.acknowledge(cid, "ORD000001")
    assert store.apply_fill(fill(cid, 1)) is FillOutcome.APPLIED
    assert store.get(cid).state is OrderState.PARTIALLY_FILLED  # type: ignore[union-attr]
    assert store.apply_fill(fill(cid, 3, "FIL00000002")) is FillOutcome.APPLIED
    order = store.get(cid)
    assert order is not None and order.state is OrderState.FILLED and order.remaining_lots == 0
    assert store.open_count() == 0 and store.by_exchange_id("ORD000001") is order


def test_duplicate_fill_is_applied_once() -> None:
    store, cid = new_store()
    store.acknowledge(cid, "ORD000001")
    assert store.apply_fill(fill(cid, 1)) is FillOutcome.APPLIED
    assert store.apply_fill(fill(cid, 1)) is FillOutcome.DUPLICATE
    assert store.get(cid).filled_lots == 1  # type: ignore[union-attr]
    assert store.stats.duplicate_fills == 1


def test_fill_for_an_unknown_order_and_an_overfill_change_nothing() -> None:
    store, cid = new_store()
    assert store.apply_fill(fill("CLI99999999", 1, exchange_id="ORD999999")) is FillOutcome.UNKNOWN_ORDER
    assert store.apply_fill(fill(cid, 5)) is FillOutcome.OVERFILL
    assert store.stats.unknown_fills == 1 and store.stats.overfills == 1
    assert store.get(cid).filled_lots == 0  # type: ignore[union-attr]


def test_a_fill_on_a_pending_order_implies_its_ack() -> None:
    store, cid = new_store()
    assert store.apply_fill(fill(cid, 4)) is FillOutcome.APPLIED
    assert store.by_exchange_id("ORD000001") is store.get(cid)


def test_a_fill_found_by_exchange_id_alone_is_applied() -> None:
    store, cid = new_store()
    store.acknowledge(cid, "ORD000001")
    assert store.apply_fill(fill("", 2)) is FillOutcome.APPLIED


def test_reject_path_ends_in_rejected() -> None:
    store, cid = new_store()
    store.reject(cid, "rejected by venue")
    order = store.get(cid)
    assert order is not None and order.state is OrderState.REJECTED and order.reason == "rejected by venue"
    assert store.counts()[OrderState.REJECTED] == 1 and store.open_orders() == []


def test_partial_fill_then_cancel_counts_as_canceled() -> None:
    store, cid = new_store()
    store.acknowledge(cid, "ORD000001")
    store.apply_fill(fill(cid, 1))
    assert store.request_cancel(cid) is True
    assert store.request_cancel(cid) is False  # already requested
    store.confirm_cancel(cid)
    assert store.get(cid).state is OrderState.CANCELED  # type: ignore[union-attr]
    assert store.stats.partially_filled_then_canceled == 1


def test_cancel_racing_a_fill_fill_first() -> None:
    store, cid = new_store()
    store.acknowledge(cid, "ORD000001")
    store.request_cancel(cid)
    store.apply_fill(fill(cid, 4))
    assert store.confirm_cancel(cid).state is OrderState.FILLED
    assert store.stats.cancel_after_fill == 1


def test_cancel_racing_a_fill_cancel_first() -> None:
    store, cid = new_store()
    store.acknowledge(cid, "ORD000001")
    store.confirm_cancel(cid)
    assert store.apply_fill(fill(cid, 2)) is FillOutcome.APPLIED
    order = store.get(cid)
    assert order is not None and order.state is OrderState.CANCELED and order.filled_lots == 2
    assert store.stats.fills_after_cancel == 1
    assert store.confirm_cancel(cid).state is OrderState.CANCELED  # idempotent


def test_a_pending_order_is_canceled_once_acknowledged() -> None:
    store, cid = new_store()
    assert store.request_cancel(cid) is False  # no exchange id yet: the caller waits for the ack
    order = store.acknowledge(cid, "ORD000001")
    assert order.cancel_requested and order.state is OrderState.OPEN


def test_a_refused_cancel_stays_wanted_and_comes_back_after_a_backoff_that_doubles_up_to_a_cap() -> None:
    store, cid = new_store()
    store.acknowledge(cid, "ORD000001")
    store.request_cancel(cid)
    due_at, now = [], 0
    for _ in range(10):
        store.cancel_rejected(cid, "exchange error: timeout")
        order = store.get(cid)
        assert order is not None and order.state is OrderState.OPEN and order.cancel_requested
        assert store.request_cancel(cid) is False  # wanted already: no second cancel in flight
        tick = now
        while not store.due_cancels(tick):
            tick += 1
        due_at.append(tick - now)
        now = tick
        store.expire(now)
    assert due_at == [1, 2, 4, 8, 16, 32, 64, 64, 64, 64]
    store.cancel_answered(cid, False, "already canceled")
    assert store.due_cancels(10_000) == [] and store.request_cancel("CLI99999999") is False


def test_a_refused_cancel_of_an_order_that_filled_meanwhile_is_not_tried_again() -> None:
    store, cid = new_store()
    store.acknowledge(cid, "ORD000001")
    store.request_cancel(cid)
    store.cancel_rejected(cid, "already filled")
    assert store.apply_fill(fill(cid, 4)) is FillOutcome.APPLIED
    assert store.due_cancels(100) == []


@pytest.mark.parametrize(
    "illegal",
    [
        lambda s, c: s.acknowledge(c, "ORD000002"),
        lambda s, c: s.reject(c, "late"),
        lambda s, c: s.acknowledge("CLI99999999", "ORD000009"),
        lambda s, c: s.confirm_cancel("CLI99999999"),
        lambda s, c: s.cancel_rejected("CLI99999999", "x"),
    ],
)
def test_illegal_transitions_are_counted_raised_and_change_nothing(illegal: object) -> None:
    store, cid = new_store()
    store.acknowledge(cid, "ORD000001")
    with pytest.raises(IllegalTransition):
        illegal(store, cid)  # type: ignore[operator]
    assert store.stats.illegal_transitions == 1
    assert store.get(cid).state is OrderState.OPEN  # type: ignore[union-attr]


def test_rejected_orders_can_be_neither_canceled_nor_filled() -> None:
    store, cid = new_store()
    store.reject(cid, "no")
    with pytest.raises(IllegalTransition):
        store.confirm_cancel(cid)
    with pytest.raises(IllegalTransition):
        store.apply_fill(fill(cid, 1))
    assert store.stats.illegal_transitions == 2


def test_open_orders_by_symbol_in_creation_order() -> None:
    store = OrderStore()
    a = store.create("BTCUSDT", Side.BUY, 1, 1, 1)
    b = store.create("ETHUSDT", Side.BUY, 1, 1, 1)
    c = store.create("BTCUSDT", Side.SELL, 1, 1, 1)
    assert store.open_orders("BTCUSDT") == [a, c]
    assert store.open_orders() == [a, b, c]
    store.reject(a.client_id, "x")
    assert store.open_orders("BTCUSDT") == [c] and store.open_orders("SOLUSDT") == []


class StoreMachine(RuleBasedStateMachine):
    """Random operation sequences; the counting invariant must always hold."""

    def __init__(self) -> None:
        super().__init__()
        self.store = OrderStore()
        self.ids: list[str] = []
        self.fill_ids = 0
        self.terminal: dict[str, OrderState] = {}

    def pick(self, index: int) -> str | None:
        return self.ids[index % len(self.ids)] if self.ids else None

    @rule(qty=st.integers(1, 5))
    def create(self, qty: int) -> None:
        self.ids.append(self.store.create("BTCUSDT", Side.BUY, 100, qty, 0).client_id)

    @rule(index=st.integers(0, 50))
    def acknowledge(self, index: int) -> None:
        cid = self.pick(index)
        if cid is not None:
            with contextlib.suppress(IllegalTransition):
                self.store.acknowledge(cid, "ORD" + cid[3:])

    @rule(index=st.integers(0, 50))
    def reject(self, index: int) -> None:
        cid = self.pick(index)
        if cid is not None:
            with contextlib.suppress(IllegalTransition):
                self.store.reject(cid, "x")

    @rule(index=st.integers(0, 50))
    def cancel(self, index: int) -> None:
        cid = self.pick(index)
        if cid is not None:
            self.store.request_cancel(cid)
            with contextlib.suppress(IllegalTransition):
                self.store.confirm_cancel(cid)

    @rule(index=st.integers(0, 50), qty=st.integers(1, 5), replay=st.booleans())
    def fill(self, index: int, qty: int, replay: bool) -> None:
        cid = self.pick(index)
        if cid is None:
            return
        if not replay or self.fill_ids == 0:
            self.fill_ids += 1
        with contextlib.suppress(IllegalTransition):
            self.store.apply_fill(Fill(f"FIL{self.fill_ids}", "ORD" + cid[3:], cid, "BTCUSDT", Side.BUY, 100, qty, 0))

    @invariant()
    def counts_add_up(self) -> None:
        counts = self.store.counts()
        terminal = counts[OrderState.FILLED] + counts[OrderState.CANCELED] + counts[OrderState.REJECTED]
        assert self.store.placed == terminal + self.store.open_count()
        assert self.store.open_count() == len(self.store.open_orders())

    @invariant()
    def terminal_states_are_final_and_fills_bounded(self) -> None:
        for cid in self.ids:
            order = self.store.get(cid)
            assert order is not None and 0 <= order.filled_lots <= order.qty_lots
            if cid in self.terminal:
                assert order.state is self.terminal[cid]
            elif order.state.is_terminal:
                self.terminal[cid] = order.state


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def test_finished_orders_are_forgotten_after_retain_ticks_and_counts_stay() -> None:
    store = OrderStore(retain_ticks=2)
    store.expire(1)
    filled = store.create("BTCUSDT", Side.BUY, 100, 1, 1).client_id
    still_open = store.create("BTCUSDT", Side.SELL, 101, 1, 1).client_id
    store.acknowledge(filled, "ORD000001")
    store.acknowledge(still_open, "ORD000002")
    assert store.apply_fill(fill(filled, 1)) is FillOutcome.APPLIED
    assert store.expire(2) == 0 and store.get(filled) is not None  # finished at tick 1: kept until tick 3
    assert store.expire(3) == 1
    assert store.get(filled) is None and store.by_exchange_id("ORD000001") is None
    assert store.get(still_open) is not None  # open orders are never forgotten
    assert store.placed == 2 and store.counts()[OrderState.FILLED] == 1 and store.forgotten == 1
    # a late duplicate of the forgotten order's fill is counted unknown, never applied again
    assert store.apply_fill(fill(filled, 1)) is FillOutcome.UNKNOWN_ORDER
    assert store.counts()[OrderState.FILLED] == 1
    assert store.create("BTCUSDT", Side.BUY, 100, 1, 3).client_id == "CLI00000003"


def test_without_retain_ticks_nothing_is_forgotten() -> None:
    store, cid = new_store()
    store.reject(cid, "no")
    assert store.expire(1_000) == 0 and store.get(cid) is not None


def test_a_mass_cancel_answer_confirms_each_order_once_and_skips_strangers() -> None:
    store = OrderStore()
    ids = [store.create("BTCUSDT", Side.BUY, 100, 2, 1).client_id for _ in range(3)]
    for n, client_id in enumerate(ids, start=1):
        store.acknowledge(client_id, f"ORD{n:06d}")
    store.apply_fill(fill(ids[0], 2))  # filled before the mass cancel arrived: stays FILLED
    assert store.confirm_cancels([*ids, "CLI99999999", ids[1]]) == 2
    assert [store.get(i).state for i in ids] == [OrderState.FILLED, OrderState.CANCELED, OrderState.CANCELED]  # type: ignore[union-attr]
    assert store.open_count() == 0 and store.stats.illegal_transitions == 0
