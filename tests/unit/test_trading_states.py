"""The trading states and the pre-trade checks, in the pure core: one table of moves, one verdict per order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from actors.core._exchange import ExchangeOrder
from actors.core._quoting import Quote
from actors.core._reduce_only import reduce_only_refusal, reduce_only_room
from actors.core._risk import (
    HALTED,
    MAX_OPEN_ORDERS,
    MAX_ORDER_USD,
    MAX_ORDERS_PER_SEC,
    PRICE_BAND,
    REDUCE_ONLY,
    RiskEngine,
    RiskLimits,
)
from actors.core._trading_state import TRANSITIONS, Event, HaltKind, TradingState, TradingStateMachine, Transition
from actors.core._types import Fill, Instrument, Side

BTC = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.0001"), Decimal("60000"))
ETH = Instrument("ETHUSDT", Decimal("0.01"), Decimal("0.001"), Decimal("3000"))
MID = 6_000_000  # 60,000.00 USD; 1,000 lots = 6,000 USD
ACTIVE, REDUCING, HALT = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


def engine(**limits: Any) -> RiskEngine:
    risk = RiskEngine(RiskLimits(1e6, 1e7, 3.0, 1, **limits), {"BTCUSDT": BTC, "ETHUSDT": ETH})
    risk.update_mark("BTCUSDT", MID)
    risk.update_mark("ETHUSDT", 300_000)
    risk.begin_decision(1)
    return risk


def fill(side: Side, price: int, lots: int, symbol: str = "BTCUSDT", n: int = 1) -> Fill:
    return Fill(f"FIL{n:08d}", f"ORD{n:06d}", f"CLI{n:08d}", symbol, side, price, lots, 1)


# ---------------------------------------------------------------- the table


def test_the_table_allows_exactly_five_moves_and_only_a_resume_leaves_halted() -> None:
    assert {(source, event): target for (source, event), target in TRANSITIONS.items()} == {
        (ACTIVE, Event.REDUCE): REDUCING,
        (REDUCING, Event.CLEAR): ACTIVE,
        (ACTIVE, Event.HALT): HALT,
        (REDUCING, Event.HALT): HALT,
        (HALT, Event.RESUME): ACTIVE,
    }


@pytest.mark.parametrize("event", [Event.REDUCE, Event.CLEAR, Event.HALT])
def test_an_event_the_table_does_not_list_changes_nothing_and_is_not_recorded(event: Event) -> None:
    machine = TradingStateMachine(HALT)
    assert machine.fire(event, 3, "ignored") is None
    assert machine.state is HALT and machine.transitions == []


def test_every_move_is_recorded_with_its_tick_and_reason() -> None:
    machine = TradingStateMachine()
    machine.fire(Event.REDUCE, 2, "over")
    machine.fire(Event.HALT, 5, "edge", HaltKind.EDGE)
    assert [t.as_report() for t in machine.transitions] == [
        {"tick": 2, "from": "ACTIVE", "to": "REDUCING", "reason": "over"},
        {"tick": 5, "from": "REDUCING", "to": "HALTED", "reason": "edge"},
    ]
    assert [t.kind for t in machine.transitions] == [None, HaltKind.EDGE]


def test_a_halt_without_its_kind_is_refused() -> None:
    machine = TradingStateMachine()
    with pytest.raises(ValueError, match="without its kind"):
        machine.fire(Event.HALT, 5, "edge")
    assert machine.state is ACTIVE and machine.transitions == []


def test_a_journaled_move_the_table_does_not_allow_is_refused_on_restore() -> None:
    machine = TradingStateMachine()
    with pytest.raises(ValueError, match="not a legal move"):
        machine.restore(Transition(1, HALT, REDUCING, "nonsense"))
    with pytest.raises(ValueError, match="not a legal move"):
        machine.restore(Transition(1, REDUCING, ACTIVE, "not where we are"))
    machine.restore(Transition(1, ACTIVE, HALT, "edge"))
    assert machine.state is HALT


# ---------------------------------------------------------------- REDUCING


def test_a_symbol_above_reduce_above_usd_is_reduce_only_and_the_others_are_not() -> None:
    risk = engine(reduce_above_usd=5_000.0)
    risk.apply_fill(fill(Side.BUY, MID, 1_000))  # 6,000 USD long
    move = risk.update_reducing(4)
    assert move is not None and move.target is REDUCING and move.tick == 4
    assert move.reason == "reduce-above-usd: BTCUSDT 6000.00 USD > 5000.00 USD"
    blocked = risk.check_order("BTCUSDT", Side.BUY, MID, 1)
    assert not blocked.allowed and blocked.kind == REDUCE_ONLY
    assert risk.check_order("BTCUSDT", Side.SELL, MID, 500).allowed  # toward zero
    assert risk.check_order("ETHUSDT", Side.BUY, 300_000, 1).allowed  # another symbol trades as usual


def test_a_reduce_only_order_that_would_cross_zero_is_blocked_however_little_it_crosses() -> None:
    risk = engine(reduce_above_usd=5_000.0)
    risk.apply_fill(fill(Side.BUY, MID, 1_000))
    risk.update_reducing(4)
    crossing = risk.check_order("BTCUSDT", Side.SELL, MID, 1_001)  # 1,000 long to 1 short: |position| shrinks
    assert not crossing.allowed and crossing.kind == REDUCE_ONLY
    assert risk.check_order("BTCUSDT", Side.SELL, MID, 1_000).allowed  # exactly to flat
    risk.update_reducing(5)
    assert risk.check_order("ETHUSDT", Side.SELL, 300_000, 1).allowed  # flat and not reduce-only: opens as usual


def test_the_total_threshold_makes_every_symbol_reduce_only_and_clears_when_back_below() -> None:
    risk = engine(reduce_above_total_usd=5_000.0)
    risk.apply_fill(fill(Side.BUY, MID, 1_000))
    assert risk.update_reducing(2) is not None and risk.state is REDUCING
    assert risk.check_order("ETHUSDT", Side.BUY, 300_000, 1).kind == REDUCE_ONLY  # flat, but every symbol reduces
    risk.apply_fill(fill(Side.SELL, MID, 500, n=2))  # 3,000 USD: back below
    move = risk.update_reducing(3)
    assert move is not None and move.source is REDUCING and move.target is ACTIVE
    assert risk.check_order("ETHUSDT", Side.BUY, 300_000, 1).allowed


def test_reducing_is_not_judged_while_halted() -> None:
    risk = engine(reduce_above_usd=1.0)
    risk.apply_fill(fill(Side.BUY, MID, 1_000))
    risk.halt("Operator: test", 1, kind=HaltKind.OPERATOR)
    assert risk.update_reducing(2) is None and risk.state is HALT


# ---------------------------------------------------------------- the pre-trade checks


def test_an_order_above_max_order_usd_is_blocked_whichever_way_it_goes() -> None:
    risk = engine(max_order_usd=5_000.0)
    risk.apply_fill(fill(Side.BUY, MID, 5_000))  # long: a sell reduces, and is still too big
    for side in (Side.BUY, Side.SELL):
        decision = risk.check_order("BTCUSDT", side, MID, 1_000)  # 6,000 USD
        assert not decision.allowed and decision.kind == MAX_ORDER_USD
        assert decision.reason == "max-order-usd: BTCUSDT 6000.00 USD > 5000.00 USD"
    assert risk.check_order("BTCUSDT", Side.BUY, MID, 800).allowed  # 4,800 USD


def test_an_order_priced_outside_the_band_around_the_mid_is_refused_as_a_fat_finger() -> None:
    risk = engine(price_band_bps=10.0)
    assert risk.check_order("BTCUSDT", Side.BUY, MID - 6_000, 1).allowed  # 10 bps below: at the edge
    far = risk.check_order("BTCUSDT", Side.BUY, MID - 6_001, 1)
    assert not far.allowed and far.kind == PRICE_BAND
    assert risk.check_order("BTCUSDT", Side.SELL, MID + 60_000, 1).kind == PRICE_BAND  # 100 bps above


def test_the_open_order_limit_counts_what_this_decision_approved_for_the_symbol() -> None:
    risk = engine(max_open_orders=1)
    approved, blocked = risk.approve_quotes({"BTCUSDT": Quote("BTCUSDT", MID - 100, 1, MID + 100, 1)})
    assert len(approved) == 1 and blocked == 1 and risk.blocks_by_reason == {MAX_OPEN_ORDERS: 1}
    risk.begin_decision(2)  # the next decision replaces the resting one: one may rest again
    approved, _ = risk.approve_quotes({"BTCUSDT": Quote("BTCUSDT", MID - 100, 1, MID + 100, 1)})
    assert len(approved) == 1


def test_the_order_rate_limit_counts_per_second_of_the_tick_clock() -> None:
    risk = engine(max_orders_per_sec=3, tick_ms=250.0)  # four ticks a second: ticks 1-4, 5-8, ...
    assert [risk.second_of(tick) for tick in (1, 4, 5, 8, 9)] == [0, 0, 1, 1, 2]
    quote = {"BTCUSDT": Quote("BTCUSDT", MID - 100, 1, MID + 100, 1)}
    approved_by_tick = []
    for tick in range(1, 6):
        risk.begin_decision(tick)
        approved_by_tick.append(len(risk.approve_quotes(quote)[0]))
    assert approved_by_tick == [2, 1, 0, 0, 2]  # 3 in second 0, then a new second
    assert risk.blocks_by_reason == {MAX_ORDERS_PER_SEC: 5}


def test_halted_blocks_first_and_each_block_is_counted_by_its_kind() -> None:
    risk = engine(price_band_bps=1.0, max_order_usd=1.0)
    risk.approve_quotes({"BTCUSDT": Quote("BTCUSDT", MID - 10_000, 1_000, MID, 1_000)})
    assert risk.blocks_by_reason == {PRICE_BAND: 1, MAX_ORDER_USD: 1}
    risk.halt("Operator: test", 1, kind=HaltKind.OPERATOR)
    assert risk.check_order("BTCUSDT", Side.SELL, MID, 1).kind == HALTED


def test_with_no_check_configured_the_verdicts_are_the_old_ones() -> None:
    risk = engine()
    assert risk.check_order("BTCUSDT", Side.BUY, 1, 10_000_000).allowed is False  # max-inv still applies
    assert risk.check_order("BTCUSDT", Side.BUY, MID * 3, 1).allowed  # no band, no size limit


# ---------------------------------------------------------------- HALTED and the way back


def test_an_edge_halt_is_final_without_resume_after_ticks() -> None:
    risk = engine()
    risk.apply_fill(fill(Side.BUY, MID + 1_000, 100))  # bought above the mid: negative edge
    assert risk.evaluate_edge(5) is not None and risk.state is HALT
    assert not risk.halt_resumable and risk.resume_due(10_000) is None


def test_a_resumable_halt_resumes_only_after_its_ticks_and_once_the_remarked_edge_is_back() -> None:
    risk = engine(resume_after_ticks=3, edge_window_fills=5)
    risk.apply_fill(fill(Side.BUY, MID + 1_000, 100))
    assert risk.evaluate_edge(5) is not None and risk.halt_resumable
    assert risk.resume_due(7) is None  # too soon
    assert risk.resume_due(8) is None  # the fill still looks bad at today's mid
    risk.update_mark("BTCUSDT", MID + 2_000)  # the market moved back in the fill's favour: 1.67 bps, not enough
    assert risk.resume_due(9) is None
    risk.update_mark("BTCUSDT", MID + 3_000)
    assert risk.resume_due(10) == "Resume: edge over the last 1 fills 3.33 BPS >= 3.00 BPS"
    assert risk.state is ACTIVE
    assert [(t.tick, t.target) for t in risk.transitions] == [(5, HALT), (10, ACTIVE)]


def test_after_a_resume_the_edge_is_judged_afresh_and_needs_its_minimum_fills_again() -> None:
    risk = RiskEngine(RiskLimits(1e6, 1e7, 3.0, 2, resume_after_ticks=1), {"BTCUSDT": BTC})
    risk.update_mark("BTCUSDT", MID)
    risk.apply_fill(fill(Side.BUY, MID + 1_000, 100))
    risk.apply_fill(fill(Side.BUY, MID + 1_000, 100, n=2))
    assert risk.evaluate_edge(1) is not None
    risk.update_mark("BTCUSDT", MID + 3_000)
    assert risk.resume_due(2) is not None
    risk.apply_fill(fill(Side.BUY, MID + 4_000, 1, n=3))  # one bad fill: not enough for a verdict
    assert risk.evaluate_edge(3) is None and risk.state is ACTIVE
    assert risk.realised_edge_bps() is not None and risk.realised_edge_bps() < 0  # the report's edge: every fill


@pytest.mark.parametrize("kind", [kind for kind in HaltKind if kind is not HaltKind.EDGE])
def test_only_a_halt_for_edge_can_be_resumed(kind: HaltKind) -> None:
    risk = engine(resume_after_ticks=1)
    risk.halt(f"{kind.value}: test", 1, kind=kind)
    assert not risk.halt_resumable and risk.resume_due(100) is None


def test_a_final_cause_during_a_resumable_halt_makes_it_final() -> None:
    risk = engine(resume_after_ticks=1)
    risk.apply_fill(fill(Side.BUY, MID + 1_000, 100))
    risk.evaluate_edge(1)
    assert risk.halt_resumable
    assert risk.halt("Escalation: quoter gave up", 2, kind=HaltKind.ESCALATION) is False  # already halted: one halt
    assert not risk.halt_resumable and risk.halts == 1
    assert risk.halt_reason == "Escalation: quoter gave up" and risk.finals == [(2, "Escalation: quoter gave up")]


# ---------------------------------------------------------------- flattening


def test_flattening_sells_a_long_at_the_bid_and_buys_a_short_at_the_ask_once_confirmed() -> None:
    risk = engine(flatten_on_halt=True, flatten_ticks=2)
    risk.apply_fill(fill(Side.BUY, MID, 300))
    risk.apply_fill(fill(Side.SELL, 300_000, 200, symbol="ETHUSDT", n=2))
    risk.halt("Operator: test", 4, kind=HaltKind.OPERATOR)
    touches = {
        "BTCUSDT": Quote("BTCUSDT", MID - 3_000, 1, MID + 3_000, 1),
        "ETHUSDT": Quote("ETHUSDT", 299_850, 1, 300_150, 1),
    }
    assert risk.flatten(4, touches, confirmed=True, last=False) is None  # the halt's own tick: cancels first
    assert risk.flatten(5, touches, confirmed=False, last=False) is None  # not confirmed yet
    plan = risk.flatten(5, touches, confirmed=True, last=False)
    assert plan == (
        ["BTCUSDT", "ETHUSDT"],
        [("BTCUSDT", Side.SELL, MID - 3_000, 300), ("ETHUSDT", Side.BUY, 300_150, 200)],
        0,
    )
    risk.apply_fill(fill(Side.SELL, MID - 3_000, 300, n=3))  # BTC is flat now
    assert risk.flatten(6, touches, confirmed=True, last=False) == (
        ["BTCUSDT", "ETHUSDT"],
        [("ETHUSDT", Side.BUY, 300_150, 200)],
        0,
    )
    assert risk.flatten(7, touches, confirmed=True, last=False) == (["ETHUSDT"], [], 0)  # window over: cancel
    assert risk.flatten(8, touches, confirmed=True, last=False) is None
    assert risk.flatten_orders == 3


def test_flattening_orders_still_pass_the_price_band() -> None:
    risk = engine(flatten_on_halt=True, price_band_bps=2.0)
    risk.apply_fill(fill(Side.BUY, MID, 1_000))
    risk.halt("Operator: test", 1, kind=HaltKind.OPERATOR)
    touches = {"BTCUSDT": Quote("BTCUSDT", MID - 3_000, 1, MID + 3_000, 1)}  # 5 BPS from the mid
    assert risk.flatten(2, touches, confirmed=True, last=False) == ([], [], 1)
    assert risk.blocks_by_reason == {PRICE_BAND: 1}


def test_a_position_above_the_order_size_limit_is_flattened_in_the_largest_orders_that_fit() -> None:
    risk = engine(flatten_on_halt=True, max_order_usd=1_000.0)
    risk.apply_fill(fill(Side.BUY, MID, 1_000))  # 6,000 USD to sell: above the size limit
    risk.halt("Operator: test", 1, kind=HaltKind.OPERATOR)
    bid = MID - 3_000  # 5.997 USD a lot: 166 lots is 995.50 USD, 167 would be 1,001.50
    touches = {"BTCUSDT": Quote("BTCUSDT", bid, 1, MID + 3_000, 1)}
    assert risk.flatten(2, touches, confirmed=True, last=False) == (["BTCUSDT"], [("BTCUSDT", Side.SELL, bid, 166)], 0)
    risk.apply_fill(fill(Side.SELL, bid, 900, n=2))  # 100 lots left: fits whole
    assert risk.flatten(3, touches, confirmed=True, last=False) == (["BTCUSDT"], [("BTCUSDT", Side.SELL, bid, 100)], 0)
    assert risk.blocks_by_reason == {}


def test_a_symbol_not_even_one_lot_of_which_fits_the_size_limit_is_blocked_not_flattened() -> None:
    risk = engine(flatten_on_halt=True, max_order_usd=5.0)  # one lot is 5.997 USD
    risk.apply_fill(fill(Side.BUY, MID, 10))
    risk.halt("Operator: test", 1, kind=HaltKind.OPERATOR)
    touches = {"BTCUSDT": Quote("BTCUSDT", MID - 3_000, 1, MID + 3_000, 1)}
    assert risk.flatten(2, touches, confirmed=True, last=False) == ([], [], 1)
    assert risk.blocks_by_reason == {MAX_ORDER_USD: 1}


def test_flattening_is_held_back_by_neither_the_open_order_nor_the_rate_limit_and_counts_in_neither() -> None:
    risk = engine(flatten_on_halt=True, max_open_orders=1, max_orders_per_sec=1)
    risk.apply_fill(fill(Side.BUY, MID, 100))
    risk.apply_fill(fill(Side.SELL, 300_000, 100, symbol="ETHUSDT", n=2))
    approved, blocked = risk.approve_quotes({"BTCUSDT": Quote("BTCUSDT", MID - 10, 1, MID + 10, 1)})
    assert (len(approved), blocked) == (1, 1)  # ACTIVE: the one order of this second, and the rate is used up
    quoting_blocks = dict(risk.blocks_by_reason)
    risk.halt("Operator: test", 1, kind=HaltKind.OPERATOR)
    touches = {s: Quote(s, mid - 10, 1, mid + 10, 1) for s, mid in (("BTCUSDT", MID), ("ETHUSDT", 300_000))}
    for tick in (2, 3):  # the same second of the tick clock
        risk.begin_decision(tick)
        symbols, orders, blocked = risk.flatten(tick, touches, confirmed=True, last=False) or ([], [], -1)
        assert (symbols, len(orders), blocked) == (["BTCUSDT", "ETHUSDT"], 2, 0)
    assert risk.blocks_by_reason == quoting_blocks


# ---------------------------------------------------------------- reduce-only at the venue


def venue_order(side: Side, qty: int, filled: int = 0, symbol: str = "BTCUSDT") -> ExchangeOrder:
    return ExchangeOrder("ORD000001", "CLI00000001", symbol, side, MID, qty, filled, "open")


def test_a_reduce_only_order_may_trade_what_is_left_after_the_lots_still_working_toward_zero() -> None:
    working = [venue_order(Side.SELL, 30, filled=10), venue_order(Side.BUY, 5), venue_order(Side.SELL, 50, symbol="X")]
    assert reduce_only_room("BTCUSDT", Side.SELL, 100, working) == 80
    assert reduce_only_refusal("BTCUSDT", Side.SELL, 80, 100, working) is None
    assert reduce_only_refusal("BTCUSDT", Side.SELL, 81, 100, working) == (
        "reduce-only: BTCUSDT 81 lots > 80 left to reduce at the venue (position 100)"
    )


@pytest.mark.parametrize(("side", "position"), [(Side.SELL, 0), (Side.SELL, -5), (Side.BUY, 5)])
def test_an_order_that_would_only_grow_or_open_a_position_has_no_room_to_reduce(side: Side, position: int) -> None:
    assert reduce_only_room("BTCUSDT", side, position, []) == 0
    assert reduce_only_refusal("BTCUSDT", side, 1, position, []) is not None


def test_an_earlier_flattening_order_still_working_leaves_nothing_for_a_second_one() -> None:
    assert reduce_only_refusal("BTCUSDT", Side.SELL, 100, 100, [venue_order(Side.SELL, 100)]) is not None
