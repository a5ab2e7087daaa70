"""``bin/sweep`` as a user runs it: cells as run-shadow's reports byte for byte, a failing cell, Ctrl-C, the page."""

from __future__ import annotations

import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.run_kit import DEADLINE_S, environ, held_environ
from tests.unit.market_kit import tardis_quotes

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_735_689_600_000_000

pytestmark = pytest.mark.e2e


def sweep(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bin" / "sweep"), *args],
        capture_output=True, text=True, env=env or environ(), cwd=cwd, timeout=120, check=False,
    )  # fmt: skip


def table(out: Path) -> list[dict[str, str]]:
    with (out / "sweep.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_each_cell_gives_the_bytes_run_shadow_gives_with_its_settings(tmp_path: Path) -> None:
    done = sweep("--out", "out", "--jobs", "2", "--market", "sample", "--iterations", "8", "--edge-threshold", "-100",
                 "--grid", "strategy=symmetric,inventory-skew", "--grid", "spread_bps=5,20",
                 "--grid-param", "skew_bps=15", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)  # one JSON line, nothing else on stdout
    assert done.stdout.count("\n") == 1
    assert {k: summary[k] for k in ("cells", "ok", "failed", "not_run")} == {"cells": 4, "ok": 4, "failed": 0,
                                                                             "not_run": 0}  # fmt: skip
    lines = done.stderr.splitlines()
    assert lines[0] == "sweep: 4 cells, 2 at a time, into out"
    assert sorted(line.split(" ", 2)[1] for line in lines[1:]) == ["1/4", "2/4", "3/4", "4/4"]  # one per cell
    rows = table(tmp_path / "out")
    assert [(r["cell"], r["strategy"], r["spread_bps"], r["skew_bps"]) for r in rows] == [
        ("1", "symmetric", "5", ""), ("2", "symmetric", "20", ""),
        ("3", "inventory-skew", "5", "15"), ("4", "inventory-skew", "20", "15"),
    ]  # fmt: skip
    for row in rows:
        command = shlex.split(row["command"])
        assert command[0] == "bin/run-shadow"
        single = subprocess.run([sys.executable, str(ROOT / "bin" / "run-shadow"), *command[1:]], capture_output=True,
                                env=environ(), cwd=tmp_path, timeout=120, check=False)  # fmt: skip
        assert single.returncode == 0, single.stderr
        kept = (tmp_path / "out" / row["report"]).read_bytes()
        assert kept == single.stdout, row["cell"]
        report = json.loads(kept)
        assert float(row["pnl_usd"]) == report["pnl"]["total_usd"] and int(row["fills"]) == report["fills"]["count"]
        assert row["status"] == "ok" and float(row["max_abs_position_usd"]) >= 0
    assert not list((tmp_path / "out").glob("cells/*/events.csv"))  # used for max |position|, then removed


def test_a_cell_that_fails_is_reported_and_the_others_go_on(tmp_path: Path) -> None:
    path = tardis_quotes(tmp_path / "q.csv", [(T0 + i * 1000, "BTCUSDT", 100.0, 1.0, 101.0, 1.0) for i in range(5)])
    with path.open("a") as handle:
        handle.write(f"binance,BTCUSDT,{T0 + 9000},{T0 + 9000},1,100,101,1\n")  # line 7: crossed
    done = sweep("--out", "out", "--jobs", "2", "--market", str(path), "--grid", "on_bad_row=error,skip",
                 "--grid", "seed=1,2", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr
    rows = table(tmp_path / "out")
    assert [(r["on_bad_row"], r["status"]) for r in rows] == [
        ("error", "failed"), ("error", "failed"), ("skip", "ok"), ("skip", "ok"),
    ]  # fmt: skip
    assert all(r["error"].startswith("run-shadow: error: ") and "q.csv:7" in r["error"] for r in rows[:2])
    assert all(r["pnl_usd"] == "" and r["report"] == "" for r in rows[:2])
    failed = [line for line in done.stderr.splitlines() if ": failed: run-shadow: error: " in line]
    assert len(failed) == 2
    assert json.loads(done.stdout)["failed"] == 2


def test_ctrl_c_stops_the_running_cells_and_still_writes_what_finished(tmp_path: Path) -> None:
    release = tmp_path / "never"  # the cells of 40 ticks are held at tick 10 until the sweep stops them
    err = tmp_path / "stderr"
    with err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "bin" / "sweep"), "--out", "out", "--jobs", "2", "--market", "sample",
             "--runtime", "sim", "--grid", "iterations=5,40,41"],
            stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=tmp_path, env=held_environ(10, release),
        )  # fmt: skip
        try:
            deadline = time.monotonic() + DEADLINE_S
            second = tmp_path / "out" / "cells" / "2" / "stderr.log"  # past tick 7 (it logs the halt), held at 10
            while "cell 1 (iterations=5): ok" not in err.read_text() or "at tick 7" not in _text(second):
                assert process.poll() is None, err.read_text()
                assert time.monotonic() < deadline, err.read_text()
                time.sleep(0.01)
            process.send_signal(signal.SIGINT)
            out, _ = process.communicate(timeout=DEADLINE_S)
        finally:
            process.kill()
    said = err.read_text()
    assert process.returncode == 130, said
    assert "sweep: interrupted: 1 of 3 cells finished" in said
    assert [r["cell"] for r in table(tmp_path / "out")] == ["1"]
    assert json.loads(out)["not_run"] == 2 and (tmp_path / "out" / "sweep.html").exists()
    for cell in ("2", "3"):  # 3 may have been starting: stopped before it could say anything
        left = tmp_path / "out" / "cells" / cell
        assert not (left / "report.json").exists() and not (left / "report.json.partial").exists()
    assert "run-shadow: interrupted" in (tmp_path / "out" / "cells" / "2" / "stderr.log").read_text()


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_a_bad_input_is_one_line_exit_2_and_no_directory(tmp_path: Path) -> None:
    done = sweep("--out", "out", "--grid", "spread_bps=5,0", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "sweep: error: cell 2 (spread_bps=0): flag --spread-bps: expected a number > 0, got '0'\n"
    assert not (tmp_path / "out").exists()


def test_the_page_draws_a_chart_per_figure_in_a_real_browser(tmp_path: Path) -> None:
    from tests.e2e.test_observe import rendered

    done = sweep("--out", "out", "--market", "sample", "--iterations", "5", "--grid", "spread_bps=5,10",
                 "--grid", "seed=1,2", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = rendered(tmp_path / "out" / "sweep.html")
    assert status == {"status": "rendered", "charts": 4, "drawn": 4, "errors": []}


def test_mm_sweep_is_the_installed_name_of_bin_sweep() -> None:
    text = (ROOT / "setup.cfg").read_text()
    assert "mm-sweep = actors.cli._sweep:main" in text and os.access(ROOT / "bin" / "sweep", os.X_OK)
