"""End-to-end: the HTML report in a real browser (headless Chromium), the charts against the report, JSON logs.

Chromium is Debian's ``chromium`` package; ``.ci/run`` installs it where it
is missing.  Without it the browser test fails and says so: it is not skipped.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.assembly._config import resolve
from actors.assembly._html_report import collect_series, plotly_bundle
from actors.core._instruments import instrument_for
from actors.markets._data import RandomWalkMarket
from actors.telemetry import read_events
from tests.e2e.test_run_shadow import run_shadow

pytestmark = pytest.mark.e2e

SAMPLE = ["--iterations", "80", "--fill-rate", "0.5", "--seed", "3", "--edge-threshold", "5"]
"""The run of docs/run-report.png: two symbols, a freeze at tick 12."""

_STATUS = re.compile(r'<pre id="render-status"[^>]*? data-status="(\w+)"[^>]*>(.*?)</pre>', re.S)
PAGE_LIMIT = 1_500_000
"""Bytes the page of the README's example may take (4,875,205 with plotly's full bundle; 1,220,031 with the basic)."""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "headless Chromium is needed: apt-get install -y chromium (.ci/run does it)"
    return found


def rendered(page: Path) -> dict[str, object]:
    """Load ``page`` in headless Chromium, let its scripts run, and read what the page says it drew."""
    done = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=30000",
         "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # no network: self-contained
         "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = _STATUS.search(done.stdout)
    assert found is not None, "no #render-status in the page Chromium loaded"
    status: dict[str, object] = json.loads(found.group(2)) if found.group(1) != "pending" else {"status": "pending"}
    return status


def test_the_html_report_draws_every_chart_in_a_real_browser_without_a_script_error(tmp_path: Path) -> None:
    page, events = tmp_path / "run.html", tmp_path / "events.csv"
    done = run_shadow(*SAMPLE, "--html", str(page), "--events", str(events), "--html-symbols", "2")
    assert done.returncode == 0, done.stderr
    text = page.read_text(encoding="utf-8")
    assert plotly_bundle() in text  # inlined; and Chromium below runs behind a proxy that reaches nothing
    assert page.stat().st_size < PAGE_LIMIT
    assert rendered(page) == {"status": "rendered", "charts": 6, "drawn": 6, "errors": []}  # 2 symbols + 4
    broken = tmp_path / "broken.html"  # the check itself can fail: a page whose script throws
    broken.write_text(text.replace("const figures = JSON.parse", "undefinedFunction();\nconst figures = JSON.parse"))
    status = rendered(broken)
    assert status["status"] == "pending"


def test_a_recorded_market_run_is_watched_with_its_own_symbols_and_sizes(tmp_path: Path) -> None:
    # Found at the merge (2026-12-01): the watch was built before --market settled the symbols, and the
    # store's event listener failed on every order (the store gave up, the run stopped at tick 4).
    page, events, metrics = tmp_path / "run.html", tmp_path / "events.csv", tmp_path / "run.prom"
    done = run_shadow("--market", "sample", "--edge-threshold", "-100", "--iterations", "30", "--html", str(page),
                      "--events", str(events), "--metrics-file", str(metrics))  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
    report = json.loads(done.stdout)
    rows = list(read_events(events))
    assert report["orders"]["placed"] > 0 and sum(row.event == "create" for row in rows) == report["orders"]["placed"]
    assert f"mm_orders_placed_total {float(report['orders']['placed'])}" in metrics.read_text()
    assert rendered(page) == {"status": "rendered", "charts": 7, "drawn": 7, "errors": []}  # 3 symbols + 4


def test_html_symbols_chooses_how_many_symbols_get_a_chart(tmp_path: Path) -> None:
    page = tmp_path / "many.html"
    done = run_shadow("--symbols-count", "12", "--iterations", "10", "--html", str(page), "--html-symbols", "3")
    assert done.returncode == 0, done.stderr
    assert rendered(page) == {"status": "rendered", "charts": 7, "drawn": 7, "errors": []}
    assert page.read_text().count("mid, our bid and ask, fills") == 3


def test_the_charts_are_drawn_from_the_events_and_agree_with_the_report(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    done = run_shadow(*SAMPLE, "--events", str(events))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    config = resolve(overrides={"iterations": 80, "seed": 3}, override_source="setting")
    instruments = {s: instrument_for(s, 3) for s in config.symbols}
    series = collect_series(read_events(events), ticks=80, shown=config.symbols, instruments=instruments,
                            market=RandomWalkMarket(instruments, 3, config.volatility_bps))  # fmt: skip
    assert round(series.edge_bps[-1] or math.nan, 2) == report["risk"]["realised_edge_bps"]
    assert round(series.total_notional_usd[-1], 2) == report["positions"]["total_notional_usd"]
    assert sum(series.placed) == report["orders"]["placed"]
    assert sum(series.canceled) == report["orders"]["canceled"]
    assert sum(series.filled) == report["orders"]["filled"]
    assert not any(series.placed[report["risk"]["freeze_tick"] :])  # nothing placed after the freeze


def test_json_logs_are_one_object_a_line_and_text_stays_the_default() -> None:
    noisy = ["--log-level", "INFO", "--iterations", "5", "--duplicate-fill-rate", "0.5", "--fill-rate", "0.7"]
    done = run_shadow("--log-format", "json", *noisy)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines, "INFO logs were expected: the run's start and end"
    for line in lines:
        record = json.loads(line)
        assert record["level"] in {"INFO", "WARNING", "ERROR"} and record["event"] and record["message"]
    events = [json.loads(line)["event"] for line in lines]
    assert events[0] == "start" and events[-1] == "end"
    text = run_shadow(*noisy)
    assert text.stderr and all(" | INFO " in line and not line.startswith("{") for line in text.stderr.splitlines())


# ---------------------------------------------------------------- found by review (2026-12-01)


def test_an_output_that_is_an_input_of_the_run_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    journal = tmp_path / "j"
    assert run_shadow("--iterations", "3", "--journal", str(journal)).returncode == 0
    saved = (journal / "store.journal").read_bytes()
    done = run_shadow("--iterations", "3", "--journal", str(journal), "--events", str(journal / "store.journal"))
    assert done.returncode == 2 and done.stdout == "" and "is an input of the run (--journal" in done.stderr
    assert (journal / "store.journal").read_bytes() == saved  # was truncated before anything was checked
    market = tmp_path / "market"
    market.mkdir()
    for sample in (Path(__file__).resolve().parents[2] / "actors" / "sample_market").glob("*.gz"):
        (market / sample.name).write_bytes(sample.read_bytes())
    done = run_shadow("--market", str(market), "--events", str(market / "events.csv"))
    assert done.returncode == 2 and "is an input of the run (--market" in done.stderr
    assert not (market / "events.csv").exists()


def test_a_resumed_run_counts_the_journals_fills_in_its_metrics(tmp_path: Path) -> None:
    journal, metrics = tmp_path / "j", tmp_path / "run.prom"
    flags = ["--fill-rate", "0.6", "--edge-threshold", "-100", "--journal", str(journal)]
    assert run_shadow("--iterations", "10", *flags).returncode == 0
    done = run_shadow("--iterations", "20", *flags, "--metrics-file", str(metrics))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["execution"]["resumed_after_tick"] == 10
    assert f"mm_fills_total {float(report['fills']['count'])}" in metrics.read_text()


def test_the_html_pnl_pays_the_maker_fee_as_the_report_does(tmp_path: Path) -> None:
    page, events = tmp_path / "fee.html", tmp_path / "events.csv"
    done = run_shadow("--market", "sample", "--edge-threshold", "-100", "--maker-fee-bps", "1", "--html", str(page),
                      "--events", str(events))  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    config = resolve(overrides={"market": ["sample"]}, override_source="setting")
    from actors.assembly._market_setup import settle  # the recorded market's symbols, sizes and mids

    settled = settle(config)
    assert settled.market is not None
    series = collect_series(read_events(events), ticks=report["execution"]["ticks"], shown=(),
                            instruments=settled.instruments, market=settled.market.feed_market(),
                            maker_fee_bps=1.0)  # fmt: skip
    assert report["pnl"]["fees_usd"] > 0 and math.isclose(series.pnl_usd[-1], report["pnl"]["total_usd"], abs_tol=0.01)


def test_with_json_logs_every_line_on_stderr_parses_even_the_commands_own_error(tmp_path: Path) -> None:
    done = run_shadow("--log-format", "json", "--cancel-error-rate", "1", "--fill-rate", "0.002", "--edge-threshold",
                      "1e9", "--edge-min-fills", "1")  # fmt: skip
    assert done.returncode == 1 and done.stdout  # the freeze could not complete: the report, then one line
    lines = done.stderr.strip().splitlines()
    assert lines and all(json.loads(line)["message"] for line in lines)
    assert "the freeze could not complete" in json.loads(lines[-1])["message"]
    assert json.loads(lines[-1])["event"] == "error" and json.loads(lines[-1])["level"] == "ERROR"


# ---------------------------------------------------------------- outputs never hurt trading (issue: "never forget")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: a disk that fills up for real.  Mounting needs root; elsewhere the test is skipped (the
    unit tests inject the same failure into the writer: tests/unit/test_telemetry.py)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True,
                             check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@pytest.mark.parametrize("output", ["events", "html-temporary-log"])
def test_a_full_disk_under_an_output_changes_no_byte_of_the_report_and_is_one_warning(
    output: str, small_disk: Path, tmp_path: Path
) -> None:
    flags = ["--symbols-count", "4", "--iterations", "100"]  # an event log of about 180 kB: three times the disk
    expected = run_shadow(*flags)
    assert expected.returncode == 0, expected.stderr
    if output == "events":
        done = run_shadow(*flags, "--events", str(small_disk / "run.csv"))
    else:  # the HTML report's event log is a temporary file, under TMPDIR
        done = run_shadow(*flags, "--html", str(tmp_path / "run.html"), env={"TMPDIR": str(small_disk)})
    assert done.returncode == 0 and done.stdout == expected.stdout, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if "| state: " not in line]  # a halt's line aside
    assert len(lines) == 1 and "| WARNING  |" in lines[0] and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "failed and is switched off; the run goes on: " in lines[0] and "No space left on device" in lines[0]
    assert lines[0].split("| WARNING  | ", 1)[1].startswith("--events" if output == "events" else "--html")
    assert not (tmp_path / "run.html").exists()
    assert os.listdir(small_disk) == (["run.csv"] if output == "events" else [])  # no temporary log left
