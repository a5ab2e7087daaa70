"""A shadow run killed mid-run resumes from its journal and loses nothing, counters included; a finished one stays."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from actors.assembly._config import resolve
from actors.assembly._recovery import JOURNALS, STORE_JOURNAL, VENUE_JOURNAL
from actors.assembly._system import fake_exchange
from actors.core._orders import OrderStore
from actors.core._types import OrderState
from actors.wire._journal import JournalReader
from tests.e2e.run_kit import (
    DEADLINE_S,
    environ,
    held_environ,
    placed_an_order,
    records,
    running,
    venue_tick,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ["--symbols-count", "5", "--iterations", "2500", "--max-total", "1000000", "--runtime", "pool"]
UNENDING = 1_000_000
"""Ticks for a run that a test stops: no machine gets to its end first (the ticks are not in a journal's settings)."""

pytestmark = pytest.mark.e2e


def shadow(journal: Path, *more: str) -> AbstractContextManager[subprocess.Popen[str]]:
    """``bin/run-shadow`` with :data:`FLAGS` (then ``more``) on ``journal``, in the background."""
    return running([sys.executable, str(ROOT / "bin" / "run-shadow"), *FLAGS, *more, "--journal", str(journal)],
                   environ())  # fmt: skip


def replay_store(journal: Path) -> tuple[OrderStore, set[str], set[str]]:
    """The store rebuilt from a journal, the client ids it acknowledged and the fill ids it applied."""
    store = OrderStore(retain_ticks=3)
    acked, fills = set(), set()
    for record in JournalReader(journal / STORE_JOURNAL):
        if record[0] in ("freeze", "finished"):
            continue
        if record[0] == "ack":
            acked.add(record[1])
        applied = store.replay(record)
        if applied is not None:
            fills.add(applied.fill_id)
    return store, acked, fills


def whole_records(path: Path, data: bytes) -> int:
    """How many leading bytes of ``data`` are whole journal records."""
    path.write_bytes(data)
    reader = JournalReader(path)
    for _ in reader:
        pass
    return reader.valid_bytes


def traded_and_filled(journal: Path, ticks: int) -> bool:
    """Whether the store's journal shows orders acknowledged and filled and the venue went ``ticks`` ticks."""
    kinds = {record[0] for record in records(journal / STORE_JOURNAL)}
    return {"ack", "fill"} <= kinds and venue_tick(journal / VENUE_JOURNAL) >= ticks


def test_a_run_killed_mid_way_resumes_from_its_journal_and_loses_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    with shadow(journal, "--iterations", str(UNENDING)) as victim:  # killed long before its end, on any machine
        wait_until(lambda: traded_and_filled(journal, 50), victim, "50 ticks of trading")
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    last = venue_tick(journal / VENUE_JOURNAL) + 100  # the resumed run goes 100 ticks past the venue's last
    before = {name: (journal / name).read_bytes() for name in (STORE_JOURNAL, VENUE_JOURNAL)}
    _, acked_before, fills_before = replay_store(journal)
    assert acked_before and fills_before

    with shadow(journal, "--iterations", str(last)) as survivor:
        out, err = survivor.communicate(timeout=DEADLINE_S)
    assert survivor.returncode == 0, err
    report = json.loads(out)

    execution, orders = report["execution"], report["orders"]
    assert 0 < execution["resumed_after_tick"] < last and execution["ticks"] == last
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"] + orders["open"]
    assert report["risk"]["frozen"] is False  # risk's positions agreed with the venue's on reconciliation
    # the journals only grew past a torn last record: nothing acknowledged or applied was rewritten or lost
    for name, data in before.items():
        kept = whole_records(tmp_path / f"before-{name}", data)
        assert (journal / name).read_bytes()[:kept] == data[:kept]
    store_after, acked_after, fills_after = replay_store(journal)
    assert acked_before <= acked_after and fills_before <= fills_after
    assert store_after.placed == orders["placed"]
    # and the positions the store applied are the venue's, fill for fill
    copy = tmp_path / "venue"
    copy.mkdir()
    (copy / VENUE_JOURNAL).write_bytes((journal / VENUE_JOURNAL).read_bytes())
    config = resolve(overrides={"symbols_count": 5, "max_total": 1e6}, override_source="setting")
    venue = fake_exchange(config, copy)
    positions: dict[str, int] = {}
    counted: set[str] = set()
    for record in JournalReader(journal / STORE_JOURNAL):
        if record[0] == "fill" and record[1] in fills_after and record[1] not in counted:
            counted.add(record[1])  # a fill journaled again (a duplicate delivery) was applied once
            positions[record[4]] = positions.get(record[4], 0) + record[5] * record[7]
    assert {s: q for s, q in sorted(positions.items()) if q} == venue.get_positions()


@pytest.mark.parametrize("runtime", ["pool", "sim"])
def test_ctrl_c_ends_with_one_line_and_a_journal_that_resumes(tmp_path: Path, runtime: str) -> None:
    journal = tmp_path / "journal"
    flags = ["--runtime", runtime, "--symbols-count", "5", "--journal", str(journal), "--edge-threshold=-1e9"]
    command = [sys.executable, str(ROOT / "bin" / "run-shadow"), *flags]
    with running([*command, "--iterations", str(UNENDING)], environ()) as process:
        wait_until(lambda: placed_an_order(journal / VENUE_JOURNAL), process, "its venue took an order")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=DEADLINE_S)
    assert process.returncode == 130 and out == ""
    assert err.strip().splitlines() == [f"run-shadow: interrupted; rerun with --journal {journal} to resume"]
    resumed = subprocess.run(
        [*command, "--iterations", "5"], capture_output=True, text=True, env=environ(), timeout=DEADLINE_S, check=False
    )
    report = json.loads(resumed.stdout)
    assert resumed.returncode == 0 and report["execution"]["resumed_after_tick"] is not None
    orders = report["orders"]
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"] + orders["open"]


def run_once(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "bin" / "run-shadow"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=environ(), timeout=DEADLINE_S, check=False)


def test_a_journal_written_under_other_settings_is_refused_in_one_line(tmp_path: Path) -> None:
    assert run_once("--symbols-count", "3", "--iterations", "5", "--journal", str(tmp_path)).returncode == 0
    done = run_once("--symbols-count", "3", "--iterations", "5", "--journal", str(tmp_path), "--seed", "7")
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert "written with seed=42, this run has seed=7" in line and "Traceback" not in done.stderr


def test_a_damaged_journal_is_named_with_its_offset_in_one_line(tmp_path: Path) -> None:
    assert run_once("--symbols-count", "3", "--iterations", "5", "--journal", str(tmp_path)).returncode == 0
    path = tmp_path / STORE_JOURNAL
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    done = run_once("--symbols-count", "3", "--iterations", "6", "--journal", str(tmp_path))
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert f"{path}: damaged at byte" in line


def test_a_second_run_on_a_journal_in_use_is_refused_and_the_journal_stays_usable(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    command = [sys.executable, str(ROOT / "bin" / "run-shadow"), *FLAGS, "--journal", str(journal)]
    with running(command, held_environ(20, tmp_path / "never")) as first:  # held at tick 20 while the second starts
        wait_until(lambda: venue_tick(journal / VENUE_JOURNAL) >= 20, first, "its venue at tick 20")
        second = run_once(*FLAGS, "--journal", str(journal))
        assert second.returncode == 2 and second.stdout == ""
        assert second.stderr.strip().splitlines() == [
            f"run-shadow: error: --journal {journal}: {journal}: in use by another run"
        ]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=DEADLINE_S)
    third = run_once(*FLAGS, "--iterations", "40", "--journal", str(journal))
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["execution"]["resumed_after_tick"] is not None


# ---------------------------------------------------------------- a finished run, and counters across a kill


def journals(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in JOURNALS}


def test_a_finished_journal_rerun_prints_the_same_bytes_and_leaves_every_journal_as_it_was(tmp_path: Path) -> None:
    flags = ["--symbols-count", "3", "--iterations", "20", "--journal", str(tmp_path)]
    first = run_once(*flags)
    assert first.returncode == 0 and first.stdout == run_once(*flags[:4]).stdout  # as if there were no journal
    finished = journals(tmp_path)
    for _ in range(2):
        again = run_once(*flags)
        assert (again.returncode, again.stdout, again.stderr) == (0, first.stdout, "")
        assert journals(tmp_path) == finished
    more = run_once(*flags, "--iterations", "30")  # the last flag wins: 30 ticks, 20 of them done
    execution = json.loads(more.stdout)["execution"]
    assert more.returncode == 0 and execution["resumed_after_tick"] == 20 and execution["ticks"] == 30
    grown = journals(tmp_path)
    assert all(grown[name].startswith(data) and len(grown[name]) > len(data) for name, data in finished.items())


def test_a_damaged_finished_record_is_refused_in_one_line(tmp_path: Path) -> None:
    flags = ["--symbols-count", "3", "--iterations", "5", "--journal", str(tmp_path)]
    assert run_once(*flags).returncode == 0
    path = tmp_path / STORE_JOURNAL
    data = bytearray(path.read_bytes())
    data[-40] ^= 0x01  # inside the report, the last record
    path.write_bytes(bytes(data))
    done = run_once(*flags)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert f"{path}: damaged at byte" in line


HOSTILE = ["--symbols-count", "3", "--max-inv", "3000", "--max-total", "6000", "--place-error-rate", "0.1",
           "--cancel-error-rate", "0.2", "--timeout-rate", "0.1"]  # fmt: skip
EVERY_FAULT_AND_A_FREEZE = [*HOSTILE, "--duplicate-fill-rate", "0.2", "--out-of-order-rate", "0.3",
                            "--unknown-fill-rate", "0.1", "--cancel-race-rate", "0.2", "--edge-min-fills", "50",
                            "--edge-threshold", "10"]  # fmt: skip


def counters(report: dict[str, Any]) -> dict[str, Any]:
    """The report's counters that a crash splits in two: the venue's errors and faults, risk's blocks, orders kept."""
    return {"exchange": report["exchange"], "risk_blocks": report["orders"]["risk_blocks"],
            "kept": report["orders"]["kept"]}  # fmt: skip


def cut_like(whole: Path, stopped: Path, into: Path) -> None:
    """``whole``'s journals cut at a record boundary: where those of ``stopped`` end (the same run stopped early).

    A run stopped after tick k wrote exactly what the longer run wrote up
    to the end of tick k (then its finished record, left out here), so the
    cut is the longer run killed right there.
    """
    into.mkdir()
    for name in JOURNALS:
        data = (stopped / name).read_bytes()
        if name == STORE_JOURNAL:
            reader = JournalReader(stopped / name)
            records = list(reader)
            assert records[-1][0] == "finished"
            data = data[: reader.record_offset]
        assert (whole / name).read_bytes().startswith(data)
        (into / name).write_bytes(data)


def agrees_with_the_venue(journal: Path, flags: list[str]) -> bool:
    """The store's open orders are the venue's, none PENDING: a resume has nothing to reconcile."""
    store = OrderStore(retain_ticks=3)
    for record in JournalReader(journal / STORE_JOURNAL):
        if record[0] not in ("freeze", "finished"):
            store.replay(record)
    copy = journal.parent / f"{journal.name}-venue"
    copy.mkdir()
    (copy / VENUE_JOURNAL).write_bytes((journal / VENUE_JOURNAL).read_bytes())
    settings = {flags[i][2:].replace("-", "_"): flags[i + 1] for i in range(0, len(flags), 2)}
    venue = fake_exchange(resolve(overrides=settings, override_source="setting"), copy)
    at_venue = sorted(order.client_id for order in venue.get_orders())
    open_here = store.open_orders()
    return sorted(o.client_id for o in open_here) == at_venue and all(o.state is not OrderState.PENDING
                                                                        for o in open_here)  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "freezes"),
    [(HOSTILE, False), (EVERY_FAULT_AND_A_FREEZE, True)],
    ids=["hostile", "every-fault-and-a-freeze"],
)
def test_counters_spanning_a_kill_equal_those_of_the_run_never_killed(
    tmp_path: Path, flags: list[str], freezes: bool
) -> None:
    whole = tmp_path / "whole"
    straight = run_once(*flags, "--iterations", "40", "--journal", str(whole))
    assert straight.returncode == 0, straight.stderr
    expected = json.loads(straight.stdout)
    for tick in range(10, 20):  # the first tick after which the store and the venue agree (see below)
        stopped = tmp_path / f"stopped-{tick}"
        before = run_once(*flags, "--iterations", str(tick), "--journal", str(stopped))
        assert before.returncode == 0, before.stderr
        if agrees_with_the_venue(stopped, flags):
            break
    else:
        pytest.fail("no tick from 10 to 19 after which the store's open orders are the venue's")
    killed = tmp_path / "killed"
    cut_like(whole, stopped, killed)
    resumed = run_once(*flags, "--iterations", "40", "--journal", str(killed))
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["execution"]["resumed_after_tick"] == tick
    assert report["execution"].pop("rebuilt_from_venue") == {"fills": 0, "orders": 0, "positions": 0}  # none lost
    freeze_tick = expected["risk"]["freeze_tick"]
    assert (freeze_tick is not None and freeze_tick > tick and expected["risk"]["freeze_confirmed"]) is freezes
    carried = counters(json.loads(before.stdout))
    # both halves count something
    assert carried["risk_blocks"] > 0 and carried["exchange"]["errors"] > 0 and carried["kept"] > 0
    assert counters(report)["kept"] > carried["kept"]
    assert counters(report) == counters(expected)
    # and the rest of the report too, but for what the venue's redelivery of its last two ticks adds
    for section in ("fills", "orders", "execution"):
        for key in ("unknown_ignored", "duplicate_fills_ignored", "resumed_after_tick"):
            report[section].pop(key, None), expected[section].pop(key, None)
    assert report == expected
