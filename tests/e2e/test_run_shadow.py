"""End-to-end: ``bin/run-shadow`` as a subprocess, the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import actors
from actors.cli._run_shadow import main

ROOT = Path(__file__).resolve().parents[2]
RUN_SHADOW = ROOT / "bin" / "run-shadow"
EXAMPLE = [
    "--shadow",
    "--symbols", "BTCUSDT,ETHUSDT",
    "--iterations", "20",
    "--max-inv", "10000",
    "--max-total", "50000",
    "--edge-threshold", "3.0",
    "--fill-rate", "0.7",
    "--reject-rate", "0.05",
]  # fmt: skip

pytestmark = pytest.mark.e2e


def run_shadow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, str(RUN_SHADOW), *args], capture_output=True, text=True, env=environ, timeout=120, check=False
    )


def report_of(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    done = run_shadow(*args, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1
    report = json.loads(done.stdout)
    assert isinstance(report, dict)
    return report


def test_example_command_prints_one_sorted_compact_json_line() -> None:
    done = run_shadow(*EXAMPLE)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert done.stdout == json.dumps(report, sort_keys=True, separators=(",", ":")) + "\n"
    orders = report["orders"]
    assert set(orders) >= {"placed", "filled", "canceled", "rejected", "open", "risk_blocks"}
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"] + orders["open"]
    assert orders["placed"] > 0
    assert report["execution"]["iterations"] == 20
    assert report["execution"]["symbols"] == ["BTCUSDT", "ETHUSDT"]
    assert set(report["risk"]) >= {"frozen", "freeze_events", "last_freeze_reason"}
    assert "total_notional_usd" in report["positions"]


def test_same_flags_give_byte_identical_output_twice() -> None:
    first = run_shadow(*EXAMPLE)
    second = run_shadow(*EXAMPLE)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


def test_threads_and_sim_runtimes_print_the_same_bytes() -> None:
    threads = run_shadow(*EXAMPLE, "--runtime", "threads", "--symbols", "BTCUSDT,ETHUSDT,SOLUSDT,XRPUSDT")
    sim = run_shadow(*EXAMPLE, "--runtime", "sim", "--symbols", "BTCUSDT,ETHUSDT,SOLUSDT,XRPUSDT")
    assert threads.returncode == sim.returncode == 0, threads.stderr + sim.stderr
    assert threads.stdout == sim.stdout


@pytest.mark.parametrize("freezing", [False, True], ids=["no-freeze", "freeze"])
def test_threads_pool_and_sim_print_the_same_bytes_at_50_symbols(freezing: bool) -> None:
    flags = ["--symbols-count", "50", "--iterations", "10", "--max-total", "1000000", "--fill-rate", "0.7"]
    flags += ["--edge-threshold", "30", "--edge-min-fills", "20"] if freezing else ["--edge-threshold", "-1000"]
    outputs = {runtime: run_shadow(*flags, "--runtime", runtime) for runtime in ("threads", "pool", "sim")}
    assert all(done.returncode == 0 for done in outputs.values()), [done.stderr for done in outputs.values()]
    assert outputs["threads"].stdout == outputs["pool"].stdout == outputs["sim"].stdout
    report = json.loads(outputs["pool"].stdout)
    assert len(report["execution"]["symbols"]) == 50 and report["risk"]["frozen"] is freezing


HOSTILE = ["--place-error-rate", "0.1", "--cancel-error-rate", "0.2", "--timeout-rate", "0.1",
           "--duplicate-fill-rate", "0.2", "--out-of-order-rate", "0.3", "--unknown-fill-rate", "0.2",
           "--cancel-race-rate", "0.2"]  # fmt: skip


def test_a_hostile_venue_with_a_freeze_at_30_symbols_gives_the_same_bytes_on_every_runtime() -> None:
    flags = ["--symbols-count", "30", "--iterations", "15", "--max-total", "1000000", "--fill-rate", "0.5", *HOSTILE]
    flags += ["--edge-threshold", "30", "--edge-min-fills", "30"]  # and a freeze on top
    outputs = {runtime: run_shadow(*flags, "--runtime", runtime) for runtime in ("threads", "pool", "sim")}
    assert all(done.returncode == 0 for done in outputs.values()), [done.stderr for done in outputs.values()]
    assert outputs["threads"].stdout == outputs["pool"].stdout == outputs["sim"].stdout
    report = json.loads(outputs["sim"].stdout)
    assert sum(report["exchange"]["faults_injected"].values()) > 0 and report["risk"]["frozen"] is True
    orders = report["orders"]
    assert orders["open"] == 0 and orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"]


def test_the_paced_mode_runs_in_real_time_and_its_counts_add_up() -> None:
    flags = ["--pace", "realtime", "--tick-ms", "5", "--iterations", "40", "--runtime", "pool", "--symbols-count", "20"]
    # risk decides a tick once its inputs are in: a busy machine's late inputs are waited for, not dropped
    report = report_of(*flags, "--max-total", "1000000", "--decision-deadline-ms", "10000")
    orders, latency = report["orders"], report["latency"]
    assert isinstance(orders, dict) and isinstance(latency, dict)
    assert report["execution"]["ticks"] == 40  # type: ignore[index]
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"] + orders["open"] > 0
    figures = latency["tick_to_order_ms"]
    assert figures["n"] > 0 and 0 < figures["p50"] <= figures["p99"] <= figures["max"]


def test_the_asap_report_has_no_latency_section() -> None:
    assert "latency" not in report_of(*EXAMPLE)


def test_a_different_seed_gives_a_different_report() -> None:
    assert report_of(*EXAMPLE, "--seed", "1") != report_of(*EXAMPLE, "--seed", "2")


def test_edge_degradation_freezes_and_leaves_no_open_order() -> None:
    report = report_of(*EXAMPLE, "--edge-threshold", "50", "--edge-min-fills", "3", "--iterations", "30")
    risk = report["risk"]
    assert isinstance(risk, dict) and isinstance(report["orders"], dict)
    assert risk["frozen"] is True
    assert risk["freeze_events"] == 1
    assert risk["freeze_confirmed"] is True
    reason = risk["last_freeze_reason"]
    assert isinstance(reason, str) and reason.startswith("Edge degradation: ") and reason.endswith(" BPS < 50.00 BPS")
    assert report["orders"]["open"] == 0


def test_no_freeze_when_the_threshold_is_never_reached() -> None:
    report = report_of(*EXAMPLE, "--edge-threshold", "-1000")
    assert report["risk"] == {**report["risk"], "frozen": False, "freeze_events": 0, "last_freeze_reason": None}  # type: ignore[dict-item]


def test_tight_inventory_limit_blocks_orders() -> None:
    report = report_of(*EXAMPLE, "--max-inv", "500", "--edge-threshold", "-1000")
    orders = report["orders"]
    assert isinstance(orders, dict) and orders["risk_blocks"] > 0


def test_python_dash_m_actors_prints_the_same_as_the_launcher() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    module = subprocess.run(
        [sys.executable, "-m", "actors", *EXAMPLE], capture_output=True, text=True, env=environ, check=False, cwd=ROOT
    )
    assert module.returncode == 0, module.stderr
    assert module.stdout == run_shadow(*EXAMPLE).stdout


def test_run_shadow_demo_returns_exactly_what_the_cli_prints(capsys: pytest.CaptureFixture[str]) -> None:
    text = actors.run_shadow_demo(
        symbols=["BTCUSDT", "ETHUSDT"],
        iterations=20,
        max_inventory_usd_per_symbol=10000,
        max_total_notional_usd=50000,
        edge_freeze_threshold_bps=3.0,
        fill_rate=0.7,
        reject_rate=0.05,
    )
    assert main(EXAMPLE, environ={}) == 0
    assert capsys.readouterr().out == text


def test_environment_overrides_config_file_and_flags_override_environment(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text('iterations = 3\nsymbols = ["SOLUSDT"]\n')
    from_file = report_of("--config", str(config))
    assert from_file["execution"] == {**from_file["execution"], "iterations": 3, "symbols": ["SOLUSDT"]}  # type: ignore[dict-item]
    from_env = report_of("--config", str(config), env={"MM_ITERATIONS": "4"})
    assert from_env["execution"]["iterations"] == 4  # type: ignore[index]
    from_flag = report_of("--config", str(config), "--iterations", "5", env={"MM_ITERATIONS": "4"})
    assert from_flag["execution"]["iterations"] == 5  # type: ignore[index]


def test_frozen_clock_variable_is_accepted() -> None:
    assert report_of(*EXAMPLE, env={"MM_FREEZE_UTC_ISO": "2030-06-01T12:00:00Z"})["orders"]


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--bogus"], {}, "--bogus"),
        (["--iterations", "abc"], {}, "--iterations"),
        (["--iterations", "0"], {}, "--iterations"),
        (["--max-inv", "-5"], {}, "--max-inv"),
        (["--max-total", "nan"], {}, "--max-total"),
        (["--fill-rate", "1.5"], {}, "--fill-rate"),
        (["--reject-rate", "-0.1"], {}, "--reject-rate"),
        (["--symbols", ""], {}, "--symbols"),
        (["--symbols", "BTCUSDT,,ETH"], {}, "--symbols"),
        (["--symbols", "BTC$USDT"], {}, "--symbols"),
        (["--symbols", "BTCUSDT,BTCUSDT"], {}, "duplicate"),
        (["--runtime", "fibers"], {}, "--runtime"),
        (["--symbols", "BTCUSDT", "--symbols-count", "3"], {}, "not both"),
        ([], {"MM_FREEZE_UTC_ISO": "yesterday"}, "MM_FREEZE_UTC_ISO"),
        ([], {"MM_SEED": "x"}, "MM_SEED"),
        (["--config", "/nonexistent/run.toml"], {}, "no such file"),
        (["--iterations", "inf"], {}, "--iterations"),
        (["--max-inv", "0"], {}, "--max-inv"),
        (["--spread-bps", "inf"], {}, "finite"),
        (["--seed", "-1"], {}, "--seed"),
        (["--cancel-error-rate", "1.5"], {}, "--cancel-error-rate"),
        (["--timeout-rate", "2"], {}, "--timeout-rate"),
        (["--duplicate-fill-rate", "x"], {}, "--duplicate-fill-rate"),
        (["--retain-ticks", "0"], {}, "--retain-ticks"),
        (["--log-level", "LOUD"], {}, "--log-level"),
        (["--symbols-count", "-3"], {}, "--symbols-count"),
        ([], {"MM_FREEZE_UTC_ISO": "2025-13-01T00:00:00Z"}, "MM_FREEZE_UTC_ISO"),
        ([], {"MM_RUNTIME": "fibers"}, "MM_RUNTIME"),
        ([], {"MM_FILL_RATE": "-1"}, "MM_FILL_RATE"),
        (["--journal-fsync", "maybe"], {}, "--journal-fsync"),
        (["--no-journal-fsync", "true"], {}, "--no-journal-fsync: takes no value"),
        (["--fil-rate", "0.5"], {}, "unknown flag --fil-rate; did you mean --fill-rate?"),
        (["--flaten-on-halt"], {}, "did you mean --flatten-on-halt?"),
        (["--journal", "/dev/null"], {}, "--journal /dev/null"),
        (["--pace", "fast"], {}, "--pace"),
        (["--tick-ms", "0"], {}, "--tick-ms"),
        (["--decision-deadline-ms", "-1"], {}, "--decision-deadline-ms"),
        (["--ticks-in-flight", "0"], {}, "--ticks-in-flight"),
        ([], {"MM_PACE": "slow"}, "MM_PACE"),
        (["--events", "e" * 300], {}, "--events eeee"),  # ENAMETOOLONG was a 32-line traceback
        (["--market", "m" * 300], {}, "name too long"),
        ([], {"MM_JOURNAL": "j" * 300}, "--journal jjjj"),
    ],
)
def test_bad_input_gives_one_clear_line_and_exit_status_2(args: list[str], env: dict[str, str], needle: str) -> None:
    done = run_shadow(*args, env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert needle in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("iterations = \n", "invalid TOML"),
        ("colour = 'red'\n", "unknown key 'colour'"),
        ("iterations = 'many'\n", "integer"),
        ("fill_rate = true\n", "number"),
        ("symbols = 3\n", "symbols"),
        ("symbols = []\n", "at least one symbol"),
        ("max_inv = '100'\n", "max_inv: expected an integer or a number, got str"),
        ("iterations = 2.5\n", "iterations: expected an integer, got float"),
        ("seed = 1\nseed = 2\n", "invalid TOML"),
        ("runtime = 3\n", "runtime"),
        ("[risk]\nmax_inv = 5\n", "unknown key 'risk'"),
        ("max_inventory = 5\n", "unknown key 'max_inventory'; did you mean 'max_inv'?"),
    ],
)
def test_bad_config_file_gives_one_clear_line_and_exit_status_2(tmp_path: Path, content: str, needle: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)
    done = run_shadow("--config", str(config))
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert needle in done.stderr


def test_unreadable_config_file_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "binary.toml"
    config.write_bytes(b"\xff\xfe\x00bad")
    done = run_shadow("--config", str(config))
    assert done.returncode == 2 and done.stdout == ""
    assert "cannot read" in done.stderr or "invalid TOML" in done.stderr


def test_help_lists_every_flag_in_groups_with_defaults() -> None:
    done = run_shadow("--help", env={"COLUMNS": "100"})
    assert done.returncode == 0 and done.stderr == ""
    for flag in ("--shadow", "--symbols", "--iterations", "--max-inv", "--max-total", "--edge-threshold",
                 "--fill-rate", "--reject-rate", "--seed", "--runtime", "--config", "--log-level",
                 "--no-flatten-on-halt", "--no-journal-fsync"):  # fmt: skip
        assert flag in done.stdout
    for title in ("run", "market", "strategy", "risk and limits", "simulated venue and faults", "outputs", "journal",
                  "cluster"):  # fmt: skip
        assert f"\n{title}:\n" in done.stdout
    assert "--max-inv USD" in done.stdout and "(default: 10000 USD)" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 100


def test_a_switch_alone_runs_as_its_value_true_did() -> None:
    flags = ("--edge-threshold", "8", "--iterations", "40", "--runtime", "sim")
    switched = run_shadow(*flags, "--flatten-on-halt")
    assert switched.returncode == 0, switched.stderr
    assert switched.stdout == run_shadow(*flags, "--flatten-on-halt", "true").stdout
    assert json.loads(switched.stdout)["risk"]["flatten"]["orders"] > 0
