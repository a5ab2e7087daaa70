"""``bin/run-shadow --market``: the packaged sample, the same bytes on every runtime, bad data, a kill and a resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from actors.assembly._recovery import STORE_JOURNAL, VENUE_JOURNAL
from actors.markets._sample import generate
from tests.e2e.run_kit import held_environ, running, shows, venue_tick, wait_until
from tests.unit.market_kit import binance_agg_trades, binance_book_ticker, tardis_quotes

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_735_689_600_000_000

pytestmark = pytest.mark.e2e


def run_shadow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")} | (env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / "bin" / "run-shadow"), *args],
        capture_output=True, text=True, env=environ, timeout=120, check=False,
    )  # fmt: skip


def report_of(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = run_shadow(*args, env=env)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_the_packaged_sample_replays_with_market_fills_and_a_pnl() -> None:
    report = report_of("--market", "sample", "--edge-threshold=-100", "--maker-fee-bps", "2")
    market, execution, orders = report["market"], report["execution"], report["orders"]
    assert market["fill_model"] == "market" and market["files"] == 2 and market["tick_ms"] == 1000.0
    assert market["quotes"] >= 3000 and market["trades"] >= 500
    assert execution["symbols"] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]  # from the files
    assert execution["iterations"] == execution["ticks"] == market["buckets"] == 120  # 2 minutes in 1 s buckets
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"] + orders["open"]
    assert report["fills"]["count"] > 0
    pnl = report["pnl"]
    assert pnl["fees_usd"] > 0 and pnl["maker_fee_bps"] == 2.0
    overall = pnl["realised_usd"] + pnl["unrealised_usd"] - pnl["fees_usd"]
    assert abs(pnl["total_usd"] - overall) <= 0.02
    assert set(pnl["by_symbol"]) <= {"BTCUSDT", "ETHUSDT", "SOLUSDT"}


def test_a_recorded_run_prints_the_same_bytes_on_threads_pool_and_sim() -> None:
    flags = ["--market", "sample", "--edge-threshold=-100", "--maker-fee-bps=-1", "--cancel-race-rate", "0.1"]
    outputs = {runtime: run_shadow(*flags, "--runtime", runtime) for runtime in ("threads", "pool", "sim")}
    assert all(done.returncode == 0 for done in outputs.values()), {r: d.stderr for r, d in outputs.items()}
    assert outputs["threads"].stdout == outputs["pool"].stdout == outputs["sim"].stdout
    assert json.loads(outputs["sim"].stdout)["fills"]["count"] > 0


def test_symbols_filter_the_files_and_ticks_follow_tick_ms_and_iterations(tmp_path: Path) -> None:
    report = report_of("--market", "sample", "--symbols", "ETHUSDT", "--tick-ms", "500")
    assert report["execution"]["symbols"] == ["ETHUSDT"]
    assert report["execution"]["ticks"] == report["market"]["buckets"] == 240
    assert report_of("--market", "sample", "--iterations", "7")["execution"]["ticks"] == 7
    assert report_of(env={"MM_MARKET": "sample", "MM_ITERATIONS": "3"})["execution"]["ticks"] == 3


def test_binance_dumps_in_a_directory_replay(tmp_path: Path) -> None:
    ms = T0 // 1000
    book = [(ms + 250 * i, 100.0 + (i % 7), 1.0, 100.5 + (i % 7), 2.0) for i in range(40)]
    binance_book_ticker(tmp_path / "BTCUSDT-bookTicker-2025-01-01.csv", book, header=False)
    trades = [(ms + 250 * i + 1, 99.0 + (i % 9), 0.5, i % 2 == 0) for i in range(40)]
    binance_agg_trades(tmp_path / "BTCUSDT-aggTrades-2025-01-01.csv", trades, header=True)
    report = report_of("--market", str(tmp_path), "--spread-bps", "50", "--edge-threshold=-1000")
    assert report["execution"]["symbols"] == ["BTCUSDT"] and report["market"]["buckets"] == 10
    assert report["market"]["quotes"] == 40 and report["market"]["trades"] == 40
    assert report["fills"]["count"] > 0


def bad_rows_file(tmp_path: Path) -> Path:
    path = tardis_quotes(tmp_path / "q.csv", [(T0 + i * 1000, "BTCUSDT", 100.0, 1.0, 101.0, 1.0) for i in range(5)])
    with path.open("a") as handle:
        handle.write(f"binance,BTCUSDT,{T0},{T0},1,101,100,1\n")  # line 7: back in time
        handle.write(f"binance,BTCUSDT,{T0 + 9000},{T0 + 9000},1,100,101,1\n")  # line 8: crossed
    return path


def test_bad_rows_end_the_run_with_one_line_or_are_skipped_and_counted(tmp_path: Path) -> None:
    path = bad_rows_file(tmp_path)
    done = run_shadow("--market", str(path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and f"{path}:7: goes back in time" in done.stderr
    report = report_of("--market", str(path), "--on-bad-row", "skip")
    assert report["market"]["skipped_bad_rows"] == {"back_in_time": 1, "crossed": 1, "malformed": 0}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--market", "/nonexistent/q.csv"], "--market /nonexistent/q.csv: no such file or directory"),
        (["--market", "{odd}"], "odd.csv:1: unknown market format"),
        (["--market", "{odd}", "--market-format", "tardis-trades"], "odd.csv:1: neither the tardis-trades header"),
        (["--fill-model", "market"], "--fill-model: the market fill model needs --market files"),
        (["--market", "sample", "--symbols", "XRPUSDT"], "--symbols: XRPUSDT is not in the --market files"),
        (["--market", "sample", "--symbols-count", "3"], "--symbols-count: the symbols come from the --market"),
        (["--market", "sample", "--instruments", "{odd}"], "--instruments"),
        (["--market-format", "csv"], "--market-format: expected one of auto"),
    ],
)
def test_bad_market_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n")
    done = run_shadow(*[arg.replace("{odd}", str(odd)) for arg in args])
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.count("\n") == 1 and needle in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_an_instruments_table_sets_tick_and_lot(tmp_path: Path) -> None:
    table = tmp_path / "instruments.toml"
    table.write_text('[BTCUSDT]\ntick_size = "0.1"\nlot_size = "0.001"\n')
    report = report_of("--market", "sample", "--symbols", "BTCUSDT", "--instruments", str(table),
                       "--edge-threshold=-100")  # fmt: skip
    position = report["positions"]["by_symbol"].get("BTCUSDT")
    assert position is not None and len(position["mark"].split(".")[1]) == 1  # a mark in whole 0.1 ticks
    assert len(position["qty"].split(".")[1]) == 3


def test_a_journaled_recorded_run_killed_mid_way_resumes_on_the_same_market(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"], seconds=1200, seed=3, quote_every_us=250_000)
    flags = ["--market", str(data), "--runtime", "pool", "--edge-threshold=-1000", "--max-total", "1e9",
             "--max-inv", "1e9"]  # fmt: skip
    journal = tmp_path / "journal"
    command = [sys.executable, str(ROOT / "bin" / "run-shadow"), *flags, "--journal", str(journal)]

    def mid_way() -> bool:  # past tick 300 with fills; held at tick 600 (of 1,200) until killed, on any machine
        return venue_tick(journal / VENUE_JOURNAL) >= 300 and shows(journal / STORE_JOURNAL, "fill")

    with running(command, held_environ(600, tmp_path / "never")) as victim:
        wait_until(mid_way, victim, "300 ticks with fills")
        victim.send_signal(signal.SIGKILL)
    resumed = report_of(*flags, "--journal", str(journal))
    execution, orders = resumed["execution"], resumed["orders"]
    assert 0 < execution["resumed_after_tick"] < 1200 and execution["ticks"] == 1200
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"] + orders["open"]
    assert resumed["risk"]["frozen"] is False  # the venue's replay met the same market: positions agreed
    assert resumed["risk"]["last_freeze_reason"] is None
    # the books span the kill: every symbol's PnL is there, and it adds up
    assert resumed["market"]["buckets"] == 1200 and resumed["fills"]["count"] > 0
    assert set(resumed["pnl"]["by_symbol"]) == set(execution["symbols"])
    for line in resumed["pnl"]["by_symbol"].values():
        assert abs(line["total_usd"] - (line["realised_usd"] + line["unrealised_usd"] - line["fees_usd"])) <= 0.02
    # the journal was written under these files: other bytes are refused
    (data / "generated-tardis-trades.csv.gz").unlink()
    refused = run_shadow(*flags, "--journal", str(journal))
    assert refused.returncode == 2 and "--journal" in refused.stderr
