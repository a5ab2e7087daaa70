"""The synchronous baseline runs the actors' cores, faults and all; its report is the actors', byte for byte."""

from __future__ import annotations

import json

import pytest

from actors.assembly import _strategies as strategies
from actors.assembly._baseline import BaselineFailure, SyncEngine
from actors.assembly._config import ConfigError, ShadowConfig, resolve
from actors.cli._run_shadow import RunIncomplete, parse_config, run
from actors.core._store import Forward, StoreCore
from actors.core._strategy import Quotes, StrategyInput, Symmetric
from actors.core._types import Fill, Side
from actors.wire import _messages as wire_messages
from tests.unit.test_golden_reports import CONFIGURATIONS, GOLDEN, HOSTILE

LIVE: dict[str, str] = {
    "hostile-edge-freeze": f"--symbols-count 5 --iterations 40 {HOSTILE} --edge-threshold 20",
    "hostile-seed-1": f"--seed 1 --symbols-count 4 --iterations 40 {HOSTILE} --edge-threshold 25",
    "hostile-seed-2": f"--seed 2 --symbols-count 4 --iterations 40 {HOSTILE} --edge-threshold 10",
    "hostile-seed-3": f"--seed 3 --symbols-count 4 --iterations 40 {HOSTILE} --edge-threshold 25",
    "hostile-flatten": f"--symbols-count 5 --edge-threshold 20 --iterations 40 --flatten-on-halt true {HOSTILE}",
    "hostile-resume-flatten": "--symbols BTCUSDT,ETHUSDT,SOLUSDT --seed 21 --edge-threshold 5 --iterations 60 "
    f"--resume-after-ticks 5 --edge-window-fills 10 --flatten-on-halt true --flatten-ticks 2 {HOSTILE}",
    "flatten-timeouts-seed-1": "--seed 1 --edge-threshold 8 --iterations 40 --flatten-on-halt true --timeout-rate 0.9",
    "flatten-timeouts-seed-4": "--seed 4 --edge-threshold 8 --iterations 40 --flatten-on-halt true --timeout-rate 0.9",
    "hostile-order-rate": f"--symbols-count 3 --iterations 30 --max-open-orders 4 --max-orders-per-sec 3 "
    f"--retain-ticks 50 {HOSTILE} --edge-threshold -100",
    "hostile-limits": f"--symbols-count 4 --iterations 40 --max-inv 1500 --max-total 3000 --fill-rate 0.9 "
    f"--partial-fill-rate 0.5 {HOSTILE} --edge-threshold -100",
    "hostile-refusing-venue": "--iterations 40 --cancel-error-rate 0.95 --timeout-rate 0.5 --edge-threshold 8",
    "hostile-market-sample": f"--market sample {HOSTILE} --edge-threshold -100 --maker-fee-bps 1",
    "hostile-ticks-in-flight-8": f"--symbols-count 6 --iterations 30 --ticks-in-flight 8 {HOSTILE} --edge-threshold 18",
    "hostile-inventory-skew": f"--symbols-count 3 --iterations 30 --strategy inventory-skew {HOSTILE} "
    "--edge-threshold -100",
}
"""Name -> flags run both ways here, on each runtime (the golden reports add the rest, below)."""


def actors_report(config: ShadowConfig) -> str:
    """What ``bin/run-shadow`` prints for ``config`` (a freeze that could not complete still gives its report)."""
    try:
        return run(config)
    except RunIncomplete as incomplete:
        return incomplete.report


def baseline_report(config: ShadowConfig) -> str:
    return SyncEngine(config).report_text()


@pytest.mark.parametrize("runtime", ["sim", "pool"])
@pytest.mark.parametrize("name", sorted(LIVE))
def test_the_baseline_report_is_run_shadows_byte_for_byte_on_a_hostile_venue(name: str, runtime: str) -> None:
    config = parse_config([*LIVE[name].split(), "--runtime", runtime], {})
    expected = actors_report(config)
    assert '"faults_injected"' in expected
    assert baseline_report(config) == expected


def test_the_live_configurations_freeze_flatten_limit_and_meet_every_fault() -> None:
    """The cases above do what they are named for: otherwise their equality would cross-check less than it seems."""
    reports = {name: json.loads(baseline_report(parse_config(flags.split(), {}))) for name, flags in LIVE.items()}
    frozen = {name for name, report in reports.items() if report["risk"]["freeze_events"]}
    assert frozen >= {"hostile-edge-freeze", "hostile-seed-1", "hostile-seed-2", "hostile-seed-3", "hostile-flatten",
                      "hostile-resume-flatten", "hostile-refusing-venue", "hostile-ticks-in-flight-8"}  # fmt: skip
    assert all(reports[name]["risk"]["flatten"]["orders"] > 0 for name in LIVE if "flatten" in name)
    assert reports["hostile-resume-flatten"]["risk"]["state"] != "HALTED" or len(
        reports["hostile-resume-flatten"]["risk"]["transitions"]) > 1  # fmt: skip
    assert reports["hostile-order-rate"]["risk"]["blocks_by_reason"]["max-orders-per-sec"] > 0
    assert {"max-inv", "max-total"} <= reports["hostile-limits"]["risk"]["blocks_by_reason"].keys()
    assert reports["hostile-market-sample"]["market"]["quotes"] > 0
    injected = [report["exchange"]["faults_injected"] for report in reports.values()]
    assert all(any(faults[kind] for faults in injected) for kind in injected[0])  # every kind of fault, somewhere


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_the_baseline_gives_each_golden_configurations_bytes(name: str) -> None:
    """Every runtime's, every limit's, the recorded market's; the sharded ones give the one-process bytes by design."""
    config = parse_config(CONFIGURATIONS[name].split(), {})
    assert baseline_report(config) + "\n" == (GOLDEN / f"{name}.json").read_text()


def test_a_sharded_run_in_process_gives_the_baselines_report() -> None:
    flags = f"--shards 2 --cluster in-process --symbols-count 6 --iterations 30 {HOSTILE} --edge-threshold 18"
    config = parse_config(flags.split(), {})
    expected = actors_report(config)
    assert '"freeze_events":1' in expected
    assert baseline_report(config) == expected


def test_records_the_actors_split_into_parts_give_the_report_the_baseline_gives_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wire_messages, "MAX_ITEMS", 2)  # every decision, request and report in parts
    config = parse_config(f"--symbols-count 5 --iterations 30 {HOSTILE} --edge-threshold 20 --runtime sim".split(), {})
    assert baseline_report(config) == actors_report(config)


# ------------------------------------------------------------ what it refuses


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        ("--journal {tmp}", "--journal"),
        ("--pace realtime --tick-ms 10", "--pace realtime"),
    ],
)
def test_a_configuration_whose_report_could_differ_is_refused_in_one_line(
    flags: str, named: str, tmp_path: object
) -> None:
    config = parse_config(flags.format(tmp=tmp_path).split(), {})
    with pytest.raises(ConfigError, match=f"baseline cannot give the actors' report here: .*{named}") as refused:
        SyncEngine(config)
    assert "\n" not in str(refused.value)


class Raising(Symmetric):
    """Quotes until tick 3, then raises: the actors would restart the quoter; the baseline has no supervisor."""

    def quote(self, state: StrategyInput) -> Quotes:
        if state.tick >= 3:
            raise RuntimeError("no quote for you")
        return super().quote(state)


class OneSided(Symmetric):
    """Quotes the bid alone on even ticks: those ticks are sent to risk as marks."""

    def quote(self, state: StrategyInput) -> Quotes:
        quotes = super().quote(state)
        return Quotes(quotes.bids, ()) if state.tick % 2 == 0 else quotes


def test_a_strategy_that_raises_stops_the_baseline_with_what_raised() -> None:
    config = resolve(overrides={"strategy": strategies.spec_of(Raising), "iterations": 5}, override_source="setting")
    with pytest.raises(BaselineFailure, match="RuntimeError: no quote for you"):
        SyncEngine(config).run()


def test_a_strategy_that_quotes_one_side_gives_the_actors_report() -> None:
    settings = {"strategy": strategies.spec_of(OneSided), "iterations": 20, "edge_threshold": -100.0}
    config = resolve(overrides=settings, override_source="setting")
    assert baseline_report(config) == actors_report(config)


# ------------------------------------------------------------ what it needs of the cores


def test_a_core_fill_reads_as_a_reported_one_so_the_store_core_takes_the_gateway_cores_fills_as_they_are() -> None:
    fill = Fill("F1", "ORD1", "CLI00000001", "BTCUSDT", Side.BUY, 100, 2, 1)
    assert fill.to_fill() is fill
    core = StoreCore()
    effects = core.gateway_report(1, acks=(), rejects=(), canceled=(), cancel_failures=(), fills=(fill,), closes=True)
    forward = next(effect for effect in effects if isinstance(effect, Forward))
    assert forward.closes and forward.tick == 1 and core.store.stats.unknown_fills == 1  # no order of ours: counted
