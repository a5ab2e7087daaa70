"""Killed again and again, cut at any record: a resumed run still settles every order and a freeze confirms.

Two ways of losing the engine mid-run.  A real ``bin/run-shadow`` on a
hostile venue is killed with SIGKILL at random moments, over twenty times,
each time resumed on the same journal; and the store journal of a short run
is cut at every record boundary in turn (the venue, an outside system,
keeps all it did).  After either, the resumed engine must finish, and a
freeze must end with no order open in the store or at the venue and
``freeze_confirmed``, with the store's positions equal to the venue's.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from actors.assembly._config import ShadowConfig, resolve
from actors.assembly._recovery import STORE_JOURNAL, VENUE_JOURNAL
from actors.assembly._system import System
from actors.roles._addresses import RISK
from actors.runtime import create_runtime
from actors.wire._codec import encode
from actors.wire._journal import JournalReader, JournalWriter
from actors.wire._messages import FreezeRequest
from tests.e2e.run_kit import environ, running, wait_until

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = {
    "place_error_rate": 0.05,
    "cancel_error_rate": 0.2,
    "timeout_rate": 0.1,
    "duplicate_fill_rate": 0.1,
    "out_of_order_rate": 0.2,
    "cancel_race_rate": 0.1,
}
KILLS = 22

pytestmark = pytest.mark.e2e


def flags(settings: dict[str, Any]) -> list[str]:
    return [f"--{key.replace('_', '-')}={value}" for key, value in settings.items()]


def freeze_on_resume(config: ShadowConfig) -> tuple[dict[str, Any], list[str], dict[str, int], list[Any]]:
    """Resume ``config``'s journal in this process, pull the kill switch, and say what is left.

    Before the freeze, once resumed and reconciled, the store's open orders
    must be exactly the venue's: nothing open on one side only, nothing
    left PENDING.  Returns risk's freeze state, the store's open orders,
    the venue's positions and the venue's open orders.
    """
    system = System(create_runtime(config.runtime), config)
    try:
        system.start()
        reconciled = system.store_snapshot().open_orders
        assert reconciled == [o.client_id for o in system.venue.get_orders()], "store and venue differ after resume"
        system.runtime.tell(RISK, encode(FreezeRequest("the test's kill switch")))
        system.runtime.wait_idle()
        risk = system.risk_snapshot()
        store = system.store_snapshot()
        state = {"frozen": risk.frozen, "confirmed": risk.freeze_confirmed, "positions": dict(risk.positions)}
        return state, store.open_orders, system.venue.get_positions(), system.venue.get_orders()
    finally:
        system.stop()


def assert_settled_by_a_freeze(config: ShadowConfig) -> None:
    state, store_open, venue_positions, venue_open = freeze_on_resume(config)
    assert store_open == [] and venue_open == [], f"open after the freeze: store {store_open}, venue {venue_open}"
    assert state["frozen"] and state["confirmed"], state
    assert {s: q for s, q in state["positions"].items() if q} == venue_positions


@pytest.mark.timeout(600)  # 22 starts, each replaying a longer journal: about 60 s on a busy 2-core machine
def test_a_run_killed_over_twenty_times_at_random_moments_settles_every_order_at_a_freeze(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    settings: dict[str, Any] = {"symbols_count": 6, "iterations": 100_000, "max_total": 1e6, "runtime": "pool",
                                **HOSTILE}  # fmt: skip
    command = [sys.executable, str(ROOT / "bin" / "run-shadow"), *flags(settings), "--journal", str(journal)]
    store = journal / STORE_JOURNAL
    moments = random.Random(11)
    sizes = []
    for _ in range(KILLS):
        size = store.stat().st_size if store.exists() else 0
        with running(command, environ()) as victim:  # 100,000 ticks: killed long before its end, on any machine
            # this run has appended to the journal (it only grows past a torn tail): then a random moment more
            wait_until(lambda: store.exists() and store.stat().st_size > size, victim, "the run journaled")  # noqa: B023
            time.sleep(moments.uniform(0.0, 0.4))  # the moment of the kill, not a wait for anything
            victim.send_signal(signal.SIGKILL)
            victim.communicate()
        assert victim.returncode == -signal.SIGKILL
        sizes.append(store.stat().st_size)
    assert sizes == sorted(sizes) and len(set(sizes)) == KILLS  # every run got somewhere before it died
    config = resolve(overrides={**settings, "journal": str(journal)}, override_source="setting")
    assert_settled_by_a_freeze(config)
    # and the journal, frozen by that resume, still resumes: the freeze stays confirmed, nothing is open
    finished = subprocess.run([*command[:-2], "--iterations=5", "--journal", str(journal)], capture_output=True,
                              text=True, env=environ(), timeout=300, check=False)  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    assert report["orders"]["open"] == 0 and report["risk"]["freeze_confirmed"] is True


def record_boundaries(path: Path) -> list[int]:
    """Every offset of ``path`` at which a whole record ends, the header's first."""
    ends: list[int] = []
    reader = JournalReader(path)
    for _ in reader:
        ends.append(reader.valid_bytes)
    return ends


def test_a_store_journal_cut_at_every_record_boundary_resumes_and_settles_every_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each cut of the store journal is paired with the venue's journal as it was when the store wrote that far.

    The store writes ahead (a create is on disk before its request leaves),
    so the venue can never hold an order the store's cut does not know; but
    it may have acted on requests whose answers the store never recorded.
    """
    original = tmp_path / "original"
    flushed: list[tuple[int, int]] = []  # (store bytes, venue bytes) on disk after every flush of either
    sizes = {STORE_JOURNAL: 0, VENUE_JOURNAL: 0}
    flush = JournalWriter.flush

    def flush_and_note(writer: JournalWriter) -> None:
        flush(writer)
        sizes[writer.path.name] = writer.path.stat().st_size
        flushed.append((sizes[STORE_JOURNAL], sizes[VENUE_JOURNAL]))

    monkeypatch.setattr(JournalWriter, "flush", flush_and_note)
    settings: dict[str, Any] = {"symbols_count": 3, "iterations": 6, "max_total": 1e6, "runtime": "sim", **HOSTILE}
    config = resolve(overrides={**settings, "journal": str(original)}, override_source="setting")
    system = System(create_runtime("sim"), config)
    system.start()
    system.run()
    system.stop()
    monkeypatch.setattr(JournalWriter, "flush", flush)
    store_bytes = (original / STORE_JOURNAL).read_bytes()
    venue_bytes = (original / VENUE_JOURNAL).read_bytes()
    boundaries = record_boundaries(original / STORE_JOURNAL)
    assert len(boundaries) > 50
    for cut in boundaries:
        venue_cut = next(venue for store, venue in flushed if store >= cut)
        directory = tmp_path / f"cut-{cut}"
        directory.mkdir()
        (directory / STORE_JOURNAL).write_bytes(store_bytes[:cut])
        (directory / VENUE_JOURNAL).write_bytes(venue_bytes[:venue_cut])
        resumed = replace(config, journal=str(directory))
        try:
            assert_settled_by_a_freeze(resumed)
        except AssertionError as failure:
            raise AssertionError(f"store journal cut at byte {cut} of {len(store_bytes)}: {failure}") from None
