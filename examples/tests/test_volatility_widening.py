"""Tests of the example strategy, through the test kit (docs/STRATEGIES.md, "Testing your own")."""

from __future__ import annotations

import math

from actors import run
from actors.testing import StrategyHarness
from examples.volatility_widening import VolatilityWidening

MID = 6_000_000


def test_a_still_market_is_quoted_at_the_base_spread() -> None:
    harness = StrategyHarness(VolatilityWidening, params={"spread_bps": 10.0})
    steps = harness.run([MID] * 5)
    half = math.ceil(MID * 10.0 / 2e4)
    assert all(step.bid is not None and step.bid.price_ticks == MID - half for step in steps)
    assert all(step.sent for step in steps)


def test_the_quote_widens_by_widen_times_the_stdev_of_the_mid_changes() -> None:
    harness = StrategyHarness(VolatilityWidening, params={"widen": 3, "window": 4})
    steps = harness.run([MID, MID + 10, MID, MID + 10, MID])  # changes +10 -10 +10 -10: stdev 10
    half = math.ceil(MID * 10.0 / 2e4 + 3 * 10.0)
    last = steps[-1]
    assert last.bid is not None and last.ask is not None
    assert (last.bid.price_ticks, last.ask.price_ticks) == (MID - half, MID + half)


def test_a_bad_parameter_is_refused_as_the_run_would() -> None:
    try:
        StrategyHarness(VolatilityWidening, params={"window": 1})
    except ValueError as exc:
        assert "expected a number >= 2" in str(exc)
    else:
        raise AssertionError("window=1 was taken")


def test_it_runs_in_the_engine_with_the_same_report_on_two_runtimes() -> None:
    settings = {"strategy": VolatilityWidening, "strategy_params": {"widen": 2.0}, "iterations": 10}
    sim, threads = run(runtime="sim", **settings), run(runtime="threads", **settings)  # type: ignore[arg-type]
    assert sim == threads and sim.execution["ticks"] == 10
