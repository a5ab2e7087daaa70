"""Resting orders kept when wanted again, quotes of any levels, and what a strategy is told of itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from actors.assembly._report import build_report, render
from actors.core._risk import RiskEngine, RiskLimits
from actors.core._risk_round import RiskRound, TickDecision
from actors.core._store import Forward, StoreCore
from actors.core._strategy import Level, Quotes, Strategy, StrategyInput
from actors.core._types import Fill, Instrument, Side
from actors.runtime._sim import FaultPlan
from actors.testing import Sim
from actors.wire._messages import OrderSpec, QuoteIntent

BTC = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.0001"), Decimal("60000"))
MID = 6_000_000


def engine(**limits: Any) -> RiskEngine:
    return RiskEngine(RiskLimits(1e9, 1e10, -1e9, 1, **limits), {"BTCUSDT": BTC})


def decide(risk: RiskRound, tick: int, bid: int, ask: int, lots: int = 2) -> TickDecision:
    outputs = [*risk.intent(QuoteIntent(tick, "BTCUSDT", MID, bid, lots, ask, lots)), *risk.fills([], tick)]
    return next(output for output in outputs if isinstance(output, TickDecision))


def test_a_quote_wanted_again_keeps_its_orders_and_places_only_what_changed() -> None:
    risk = RiskRound(engine(), ["BTCUSDT"])
    first = decide(risk, 1, MID - 100, MID + 100)
    assert [order[1:4] for order in first.orders] == [(1, MID - 100, 2), (-1, MID + 100, 2)] and list(first.keep) == []
    again = decide(risk, 2, MID - 100, MID + 100)
    assert again.orders == [] and list(again.keep) == [("BTCUSDT", 1), ("BTCUSDT", 2)]
    moved = decide(risk, 3, MID - 100, MID + 90)  # the ask moved: it alone is replaced
    assert [order[1:4] for order in moved.orders] == [(-1, MID + 90, 2)] and list(moved.keep) == [("BTCUSDT", 1)]
    assert risk.engine.orders_kept == 3


def test_a_partly_filled_order_is_not_the_same_size_and_is_replaced() -> None:
    risk = RiskRound(engine(), ["BTCUSDT"])
    decide(risk, 1, MID - 100, MID + 100)
    list(risk.fills([Fill("F1", "X1", "CLI00000001", "BTCUSDT", Side.BUY, MID - 100, 1, 2)], None))
    second = decide(risk, 2, MID - 100, MID + 100)
    assert [order[1:4] for order in second.orders] == [(1, MID - 100, 2)] and list(second.keep) == [("BTCUSDT", 2)]


def test_only_new_orders_meet_the_rate_limit() -> None:
    risk = RiskRound(engine(max_orders_per_sec=2, tick_ms=100.0), ["BTCUSDT"])
    decide(risk, 1, MID - 100, MID + 100)  # two new orders: the second's whole budget
    kept = decide(risk, 2, MID - 100, MID + 100)
    assert kept.blocks == 0 and len(kept.keep) == 2  # kept orders are not new: no block
    moved = decide(risk, 3, MID - 90, MID + 100)
    assert moved.blocks == 1 and moved.orders == []  # the new bid is over the rate; the bid that rested is pulled


def test_an_order_the_store_says_ended_is_not_kept() -> None:
    risk = RiskRound(engine(), ["BTCUSDT"])
    decide(risk, 1, MID - 100, MID + 100)
    list(risk.fills([], None, ended=["CLI00000002"]))  # the ask was rejected
    second = decide(risk, 2, MID - 100, MID + 100)
    assert [order[1:4] for order in second.orders] == [(-1, MID + 100, 2)] and list(second.keep) == [("BTCUSDT", 1)]


def test_an_empty_side_pulls_that_side_and_any_number_of_levels_is_taken() -> None:
    risk = RiskRound(engine(), ["BTCUSDT"])
    decide(risk, 1, MID - 100, MID + 100)
    one_sided = decide(risk, 2, MID - 100, MID + 100, lots=0)
    assert one_sided.orders == [] and list(one_sided.keep) == [] and one_sided.symbols == ["BTCUSDT"]
    assert risk.engine.resting == {}


def test_the_store_cancels_what_is_not_kept_counts_what_is_and_says_a_lost_keep_ended() -> None:
    core = StoreCore()
    specs = [OrderSpec("BTCUSDT", 1, MID - 100, 2, number=1), OrderSpec("BTCUSDT", -1, MID + 100, 2, number=2)]
    core.replace_quotes(1, ["BTCUSDT"], specs)
    core.replace_quotes(2, ["BTCUSDT"], [OrderSpec("BTCUSDT", -1, MID + 90, 2, number=3)], keep=[1, 9])
    assert core.store.kept == 1
    assert core.store.get("CLI00000002").cancel_requested  # type: ignore[union-attr]
    assert not core.store.get("CLI00000001").cancel_requested  # type: ignore[union-attr]
    out = core.gateway_report(2, acks=[], rejects=[], canceled=[], cancel_failures=[], fills=[], closes=True)
    assert out == [Forward(2, (), True, ("CLI00000009",))]  # kept, but the store has no such order


SEEN: dict[int, list[tuple[int, int, int, int]]] = {}
"""What :class:`Recording` was told, per tick: (position, sum of every fill it was given, resting, bids wanted)."""


class Recording(Strategy):
    """Two levels a side, one side only on some ticks, and a raise on one; records what it is told."""

    READS_OWN_STATE: ClassVar[bool] = True

    def __init__(self, instrument: Instrument, params: Any) -> None:
        super().__init__(instrument, params)
        self.filled = 0

    def quote(self, state: StrategyInput) -> Quotes:
        self.filled += sum(fill.side * fill.lots for fill in state.fills)
        SEEN.setdefault(state.tick, []).append((state.position_lots, self.filled, len(state.resting), 0))
        if state.tick == 7:
            raise RuntimeError("a strategy that raises")
        mid, lots = state.market.mid_ticks, 3
        bids = (Level(mid - 2, lots), Level(mid - 4, lots))
        asks = () if state.tick % 5 == 0 else (Level(mid + 2, lots), Level(mid + 4, lots))
        return Quotes(bids, asks)


def run_recording(seed: int, delay: float) -> str:
    sim = Sim(seed, faults=FaultPlan(seed=seed, delay=delay, max_delay_steps=20), trace=False)
    try:
        system = sim.start_system(symbols_count=3, iterations=25, seed=3, fill_rate=0.5, edge_threshold=-1e6,
                                     strategy=Recording)  # fmt: skip
        system.run()
        return render(build_report(system))
    finally:
        sim.shutdown()


def test_a_strategy_is_told_its_own_position_and_fills_and_quotes_any_levels_with_one_report() -> None:
    SEEN.clear()
    first = run_recording(1, 0.0)
    assert all(position == filled for calls in SEEN.values() for position, filled, *_ in calls)
    assert any(position for calls in SEEN.values() for position, *_ in calls)  # it traded, and was told
    assert any(resting == 4 for calls in SEEN.values() for _, _, resting, _ in calls)  # two levels a side rest
    report = first
    assert '"strategy_blocks":{"raised":3}' in report.replace(" ", "")
    assert '"kept":0' not in report.replace(" ", "")
    for seed in (2, 3):
        assert run_recording(seed, 0.3) == first
