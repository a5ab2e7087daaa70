"""Golden reports: the bytes of 34 configurations' reports, committed, so a change that moves one is seen.

Every runtime, the venue's faults, freezes and resumes, flattening, every
limit, a recorded market, shards in process, and runs resumed from their
journal.  A change that means to move a report regenerates them and says so
in its commit: ``ACTORS_REGEN_GOLDEN=1 pytest -n 0 tests/unit/test_golden_reports.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from actors.cli._run_shadow import parse_config, run

GOLDEN = Path(__file__).parent / "golden"

HOSTILE = ("--timeout-rate 0.2 --cancel-error-rate 0.2 --place-error-rate 0.1 --duplicate-fill-rate 0.2 "
           "--out-of-order-rate 0.2 --unknown-fill-rate 0.1 --cancel-race-rate 0.2")  # fmt: skip

CONFIGURATIONS: dict[str, str] = {
    "default-sim": "--runtime sim",
    "default-threads": "--runtime threads",
    "default-pool": "--runtime pool",
    "readme-example": "--symbols BTCUSDT,ETHUSDT --iterations 20 --max-inv 10000 --max-total 50000 "
    "--edge-threshold 3.0 --fill-rate 0.7 --reject-rate 0.05 --runtime sim",
    "edge-freeze": "--edge-threshold 8 --iterations 40 --runtime sim",
    "edge-freeze-pool": "--edge-threshold 8 --iterations 40 --runtime pool",
    "resume-after-halt": "--symbols BTCUSDT,ETHUSDT,SOLUSDT --seed 21 --edge-threshold 5 --iterations 60 "
    "--resume-after-ticks 5 --edge-window-fills 10 --runtime sim",
    "flatten-on-halt": "--edge-threshold 8 --iterations 40 --flatten-on-halt true --runtime sim",
    "flatten-hostile": f"--edge-threshold 8 --iterations 40 --flatten-on-halt true {HOSTILE} --runtime sim",
    "resume-flatten": "--symbols BTCUSDT,ETHUSDT,SOLUSDT --seed 21 --edge-threshold 5 --iterations 60 "
    "--resume-after-ticks 5 --edge-window-fills 10 --flatten-on-halt true --flatten-ticks 2 --runtime sim",
    "hostile": f"--symbols-count 5 --iterations 40 {HOSTILE} --edge-threshold -100 --runtime sim",
    "hostile-freeze": f"--symbols-count 5 --iterations 40 {HOSTILE} --edge-threshold 20 --runtime sim",
    "hostile-pool": f"--symbols-count 5 --iterations 40 {HOSTILE} --edge-threshold -100 --runtime pool",
    "timeouts": "--iterations 40 --timeout-rate 0.9 --edge-threshold 8 --runtime sim",
    "cancel-errors": "--iterations 40 --cancel-error-rate 0.95 --edge-threshold 8 --runtime sim",
    "rejects": "--iterations 30 --reject-rate 0.5 --runtime sim",
    "max-inv": "--iterations 40 --max-inv 2000 --fill-rate 0.9 --runtime sim",
    "max-total": "--symbols-count 4 --iterations 40 --max-total 2000 --fill-rate 0.9 --runtime sim",
    "reduce-above": "--iterations 40 --reduce-above-usd 300 --fill-rate 0.8 --edge-threshold -100 --runtime sim",
    "reduce-above-total": "--symbols-count 3 --iterations 40 --reduce-above-total-usd 800 --fill-rate 0.8 "
    "--edge-threshold -100 --runtime sim",
    "price-band": "--iterations 20 --price-band-bps 3 --runtime sim",
    "max-order": "--iterations 20 --max-order-usd 500 --quote-notional-usd 600 --runtime sim",
    "open-orders-rate": "--symbols-count 3 --iterations 30 --max-open-orders 4 --max-orders-per-sec 3 "
    "--retain-ticks 50 --timeout-rate 0.3 --runtime sim",
    "spread-volatility": "--iterations 40 --spread-bps 4 --volatility-bps 30 --partial-fill-rate 0.6 --runtime sim",
    "many-symbols-pool": "--symbols-count 120 --iterations 10 --runtime pool",
    "ticks-in-flight-1": f"--symbols-count 4 --iterations 30 --ticks-in-flight 1 {HOSTILE} --runtime sim",
    "seed-7": "--seed 7 --symbols-count 3 --iterations 30 --runtime sim",
    "market-sample": "--market sample --edge-threshold -100 --maker-fee-bps 1 --runtime sim",
    "market-sample-pool": "--market sample --edge-threshold -100 --maker-fee-bps 1 --runtime pool",
    "shards-2": "--shards 2 --symbols-count 6 --iterations 20 --edge-threshold -100",
    "shards-3-hostile": f"--shards 3 --symbols-count 6 --iterations 20 {HOSTILE} --edge-threshold 15",
}
"""Name -> flags.  The journaled ones are below: each runs part way, then is resumed to its end."""

JOURNALED: dict[str, tuple[str, int, int]] = {
    "journal-resume": ("--symbols-count 3 --runtime sim", 15, 30),
    "journal-resume-hostile": (f"--symbols-count 3 {HOSTILE} --edge-threshold -100 --runtime sim", 15, 30),
    "journal-resume-frozen": ("--edge-threshold 8 --runtime sim", 20, 40),
}
"""Name -> (flags, ticks of the first run, ticks of the resumed run)."""


def report_of(flags: str) -> str:
    return run(parse_config(flags.split(), {}))


def check(name: str, report: str) -> None:
    path = GOLDEN / f"{name}.json"
    if os.environ.get("ACTORS_REGEN_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(report + "\n")
    assert path.exists(), f"no golden report {path.name}: regenerate (see this module's docstring)"
    assert report + "\n" == path.read_text(), f"{name}: the report's bytes moved ({path})"


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_a_configurations_report_has_its_golden_bytes(name: str) -> None:
    check(name, report_of(CONFIGURATIONS[name]))


@pytest.mark.parametrize("name", sorted(JOURNALED))
def test_a_run_resumed_from_its_journal_has_its_golden_bytes(name: str, tmp_path: Path) -> None:
    flags, first, total = JOURNALED[name]
    journal = f"--journal {tmp_path / 'journal'}"
    report_of(f"{flags} {journal} --iterations {first}")
    check(name, report_of(f"{flags} {journal} --iterations {total}"))


def test_there_are_at_least_thirty_golden_reports() -> None:
    assert len(CONFIGURATIONS) + len(JOURNALED) >= 30
    kept = {path.stem for path in GOLDEN.glob("*.json")}
    assert kept == set(CONFIGURATIONS) | set(JOURNALED), "a golden report without its configuration, or the reverse"
