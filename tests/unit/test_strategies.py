"""Strategies: the built-ins' arithmetic against their formulas, the nonsense check, plugging one in, every runtime."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.assembly._config import ConfigError, resolve
from actors.assembly._report import build_report, render
from actors.assembly._system import System
from actors.core._quoting import QuotingPolicy
from actors.core._strategy import (
    BAD_PRICE,
    BAD_SIZE,
    CROSSED,
    NOT_QUOTES,
    TOO_MANY_LEVELS,
    Level,
    MarketView,
    Quotes,
    StrategyInput,
    Symmetric,
    _check_levels,
    as_quote,
    check_quotes,
)
from actors.runtime import create_runtime
from actors.testing import StrategyHarness
from actors.wire._journal import journal_fingerprint

ROOT = Path(__file__).resolve().parents[2]
MID = 6_000_000  # BTCUSDT at 60,000.0 in 0.01 ticks


# ------------------------------------------------------------ the built-ins' arithmetic


@pytest.mark.parametrize("mid", [1, 7, 999, 60_000, MID, 123_456_789])
def test_symmetric_quotes_exactly_what_the_quoting_policy_did(mid: int) -> None:
    harness = StrategyHarness("symmetric")
    step = harness.step(mid)
    old = QuotingPolicy(10.0, 1000.0).quote(harness.instrument, mid)
    assert step.bid == Level(old.bid_ticks, old.bid_lots) and step.ask == Level(old.ask_ticks, old.ask_lots)
    assert step.sent


def test_inventory_skew_flat_is_symmetric() -> None:
    skew, symmetric = StrategyHarness("inventory-skew"), StrategyHarness("symmetric")
    for mid in (MID, MID + 1234, MID - 77):
        assert skew.step(mid).quotes == symmetric.step(mid).quotes


def test_inventory_skew_shifts_against_a_long_position_and_cuts_its_bid_by_the_formula() -> None:
    harness = StrategyHarness("inventory-skew", params={"skew_bps": 20.0, "max_position_usd": 4000.0})
    instrument = harness.instrument
    lots = max(1, round(1000.0 / (instrument.price_usd(MID) * instrument.lot_float)))
    position = lots  # worth ~1,000 USD: a quarter of the limit
    step = harness.step(MID, position=position)
    u = position * instrument.lot_float * instrument.price_usd(MID) / 4000.0
    center = round(MID * (1 - 20.0 * u / 1e4))
    half = max(1, math.ceil(MID * 10.0 / 2e4))
    assert 0.2 < u < 0.3
    assert step.bid == Level(center - half, round(lots * (1 - u)))
    assert step.ask == Level(center + half, lots)
    assert step.bid is not None and step.bid.price_ticks < MID - half  # lower than flat: it wants to sell


def test_inventory_skew_stops_adding_at_the_limit_on_either_side() -> None:
    harness = StrategyHarness("inventory-skew", params={"max_position_usd": 100.0})
    long = harness.step(MID, position=10_000)
    short = harness.step(MID, position=-10_000)
    assert long.bid is None and long.ask is not None and not long.sent
    assert short.ask is None and short.bid is not None


def test_avellaneda_stoikov_matches_the_papers_reservation_price_and_spread() -> None:
    gamma, sigma, kappa, horizon = 0.5, 3.0, 0.8, 40
    harness = StrategyHarness(
        "avellaneda-stoikov", params={"gamma": gamma, "sigma": sigma, "kappa": kappa, "horizon_ticks": horizon}
    )
    instrument = harness.instrument
    lots = max(1, round(1000.0 / (instrument.price_usd(MID) * instrument.lot_float)))
    step = harness.step(MID, position=2 * lots)
    q = 2.0
    reservation = MID - q * gamma * sigma**2 * horizon
    spread = gamma * sigma**2 * horizon + (2 / gamma) * math.log(1 + gamma / kappa)
    assert step.bid == Level(math.floor(reservation - spread / 2), lots)
    assert step.ask == Level(math.ceil(reservation + spread / 2), lots)
    assert reservation < MID  # long: it quotes lower


def test_avellaneda_stoikov_estimates_sigma_from_the_mids_and_kappa_from_the_trades() -> None:
    harness = StrategyHarness("avellaneda-stoikov", params={"sigma_window": 3, "kappa_window": 3})
    strategy: Any = harness.strategy
    harness.step(MID)
    harness.step(MID + 4)
    harness.step(MID + 4 - 2, trades=[(MID + 2 + 5, 1), (MID + 2 - 3, 2)])
    alpha = 2 / (3 + 1)
    variance = 16.0 + alpha * (4.0 - 16.0)  # the first sample is the mean; then the EWMA
    assert strategy.variance.mean == pytest.approx(variance)
    distance = 5.0 + alpha * (3.0 - 5.0)
    assert strategy.distance.mean == pytest.approx(distance)
    no_trades = StrategyInput(4, 0.0, harness.instrument, MarketView.from_mid(MID), {})
    assert strategy.kappa(no_trades) == pytest.approx(1 / distance)


def test_avellaneda_stoikov_without_a_trade_uses_the_spread_setting_as_its_liquidity_term() -> None:
    bid, ask = as_quote(1000.0, 0.0, gamma=0.1, sigma=0.0, time_left=10, kappa=None, fallback_spread=4.0)
    assert (bid, ask) == (998, 1002)


# ------------------------------------------------------------ nonsense is blocked with a reason


@pytest.mark.parametrize(
    ("quotes", "reason"),
    [
        ("buy!", NOT_QUOTES),
        (Quotes((Level(0, 1),), ()), BAD_PRICE),
        (Quotes((Level(float("nan"), 1),), ()), BAD_PRICE),  # type: ignore[arg-type]
        (Quotes((Level(100, 0),), ()), BAD_SIZE),
        (Quotes((), (Level(100, 1.5),)), BAD_SIZE),  # type: ignore[arg-type]
        (Quotes((Level(101, 1),), (Level(100, 1),)), CROSSED),
        (Quotes((Level(100, 1),), (Level(100, 1),)), CROSSED),
        (Quotes(tuple(Level(99 - n, 1) for n in range(11)), (Level(101, 1),)), TOO_MANY_LEVELS),
        (Quotes((Level(99, 1),), (Level(101, 1),)), ""),
        (Quotes(), ""),
    ],
)
def test_check_quotes_names_what_is_wrong(quotes: object, reason: str) -> None:
    assert check_quotes(quotes) == reason


def test_levels_must_be_in_order_when_more_than_one_is_allowed() -> None:
    assert check_quotes(Quotes((Level(98, 1), Level(99, 1)), (Level(101, 1),)), max_levels=5) == CROSSED
    assert check_quotes(Quotes((Level(99, 1), Level(98, 1)), (Level(101, 1), Level(102, 1))), max_levels=5) == ""


class Crossed(Symmetric):
    """Quotes its bid above its ask on even ticks."""

    def quote(self, state: StrategyInput) -> Quotes:
        mid = state.market.mid_ticks
        return Quotes((Level(mid + 5, 1),), (Level(mid - 5, 1),)) if state.tick % 2 == 0 else super().quote(state)


class Raising(Symmetric):
    """Raises on every tick of one symbol."""

    def quote(self, state: StrategyInput) -> Quotes:
        if state.symbol == "ETHUSDT":
            raise RuntimeError("no quote for you")
        return super().quote(state)


def _run(runtime_name: str, **settings: Any) -> tuple[str, System]:
    runtime = create_runtime(runtime_name, **({"seed": 3} if runtime_name == "sim" else {}))
    system = System.build(runtime, **settings)
    try:
        system.start()
        system.run()
        return render(build_report(system)), system
    finally:
        system.stop()


def test_a_strategy_that_quotes_nonsense_is_blocked_and_counted_and_the_run_goes_on() -> None:
    runtime = create_runtime("sim", seed=3)
    system = System.build(runtime, strategy=Crossed, iterations=10, edge_threshold=-1e9)
    try:
        system.start()
        system.run()
        snapshot = system.quoter_snapshot("BTCUSDT")
        assert snapshot.blocked == {CROSSED: 5} and snapshot.intents_sent == 5
        assert system.risk_snapshot().decided_through == 10
    finally:
        system.stop()


@pytest.mark.expect_failures
def test_a_strategy_that_raises_is_supervised_restarted_then_escalated_to_a_freeze() -> None:
    report, _ = _run("sim", strategy=Raising, iterations=10, edge_threshold=-1e9)
    assert '"ticks":10' in report and '"handler_failures":0' not in report
    assert "Escalation: quoter.ETHUSDT stopped after repeated failures (RuntimeError: no quote for you)" in report


# ------------------------------------------------------------ plugging one in


def test_a_strategy_and_its_parameters_come_from_flags_a_file_table_and_python(tmp_path: Path) -> None:
    config_file = tmp_path / "run.toml"
    config_file.write_text('[strategy]\nname = "avellaneda-stoikov"\ngamma = 0.3\nhorizon_ticks = 10\n')
    config = resolve(config_file=config_file, overrides={"strategy_params": ["gamma=0.5", "sigma=2"]})
    assert config.strategy == "avellaneda-stoikov"
    assert config.strategy_params == (("gamma", 0.5), ("horizon_ticks", 10), ("sigma", 2.0))
    other = resolve(config_file=config_file, overrides={"strategy": "inventory-skew"})
    assert other.strategy_params == ()  # the file's parameters were the other strategy's
    env = resolve(environ={"MM_STRATEGY": "inventory-skew", "MM_STRATEGY_PARAMS": "skew_bps=3,max_position_usd=50"})
    assert env.strategy_params == (("max_position_usd", 50.0), ("skew_bps", 3.0))
    typed = resolve(overrides={"strategy": "inventory-skew", "strategy_params": {"skew_bps": 2}}, typed=True)
    assert typed.strategy_params == (("skew_bps", 2.0),)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--strategy", "simetric"], "flag --strategy 'simetric': no built-in strategy 'simetric'; did you mean "
                                     "'symmetric'?"),
        (["--strategy", "no_such_pkg.mod:Cls"], "cannot import no_such_pkg.mod: ModuleNotFoundError"),
        (["--strategy", "actors.core._strategy:Missing"], "module actors.core._strategy has no Missing"),
        (["--strategy", "actors.core._types:Instrument"], "is not a strategy"),
        (["--strategy", "inventory-skew", "--strategy-param", "skew=1"], "flag --strategy-param skew: inventory-skew "
                                                                         "has no parameter 'skew'"),
        (["--strategy", "inventory-skew", "--strategy-param", "skew_bps=wide"], "flag --strategy-param skew_bps: "
                                                                                "expected a number, got 'wide'"),
        (["--strategy-param", "spread_bps"], "expected KEY=VALUE, got 'spread_bps'"),
    ],
)  # fmt: skip
def test_a_bad_strategy_or_parameter_is_one_line_naming_it_and_exit_2(args: list[str], line: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "run-shadow"), "--runtime", "sim", "--iterations", "2", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and line in done.stderr, done.stderr


def test_python_refuses_a_bad_parameter_with_a_config_error() -> None:
    with pytest.raises(ConfigError, match="argument strategy_params gamma: expected a number > 0"):
        resolve(overrides={"strategy": "avellaneda-stoikov", "strategy_params": {"gamma": -1.0}},
                override_source="argument", typed=True)  # fmt: skip


def test_the_fingerprint_names_the_strategy_only_when_it_is_not_the_default() -> None:
    default = journal_fingerprint(resolve())
    assert "strategy" not in default and "strategy_params" not in default
    skew = journal_fingerprint(resolve(overrides={"strategy": "inventory-skew", "strategy_params": ["skew_bps=3"]}))
    assert skew["strategy"] == "inventory-skew" and skew["strategy_params"] == {"skew_bps": 3.0}
    assert skew != journal_fingerprint(resolve(overrides={"strategy": "inventory-skew"}))


def test_the_default_report_has_no_strategy_section_and_another_strategy_is_named_in_it() -> None:
    default, _ = _run("sim", iterations=5)
    chosen, _ = _run("sim", iterations=5, strategy="inventory-skew", strategy_params={"skew_bps": 4.0})
    assert '"strategy"' not in default
    assert '"strategy":{"name":"inventory-skew","params":{"skew_bps":4.0}}' in chosen


@pytest.mark.parametrize("name", ["inventory-skew", "avellaneda-stoikov"])
def test_each_built_in_gives_the_same_bytes_on_every_runtime(name: str) -> None:
    settings = {"strategy": name, "iterations": 30, "symbols_count": 5, "edge_threshold": -1e9}
    reports = {runtime: _run(runtime, **settings)[0] for runtime in ("sim", "pool", "threads")}
    assert len(set(reports.values())) == 1, reports
    assert f'"name":"{name}"' in reports["sim"]


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(*(st.one_of(st.integers(-2, 5), st.booleans(), st.floats(allow_nan=True)) for _ in range(4))),
    st.integers(0, 2),
)
def test_the_one_level_shortcut_of_check_quotes_agrees_with_the_rules_one_by_one(
    values: tuple[object, object, object, object], max_levels: int
) -> None:
    bid_price, bid_lots, ask_price, ask_lots = values
    quotes = Quotes((Level(bid_price, bid_lots),), (Level(ask_price, ask_lots),))  # type: ignore[arg-type]  # junk on purpose
    assert check_quotes(quotes, max_levels) == _check_levels(quotes.bids, quotes.asks, max_levels)
