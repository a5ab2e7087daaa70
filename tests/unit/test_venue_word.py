"""The venue's word is the truth after any crash: every journal cut on its own, anywhere, or missing.

A short run that freezes (and a hostile one that goes on trading) is
journaled whole; then each journal alone is cut at every record boundary
(at a sample of them for the longer ones) and at random byte offsets, or
removed, and the run resumed.  After the resume the report's positions are
the venue's, the counts add up, and a freeze ends confirmed with nothing
open (docs/RELIABILITY.md, "The venue's word after a crash").
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from actors.assembly._config import ShadowConfig, resolve
from actors.assembly._market_setup import settle
from actors.assembly._recovery import JOURNALS, RISK_JOURNAL, STORE_JOURNAL, VENUE_JOURNAL, rebuild_from_venue
from actors.assembly._system import fake_exchange
from actors.cli._run_shadow import run
from actors.core._exchange import PlaceRequest
from actors.core._orders import OrderStore
from actors.core._types import Side
from actors.venues._interface import SupportsHistory
from actors.venues._recorded import RecordedVenue
from actors.wire._journal import JournalReader

FREEZING: dict[str, Any] = {"edge_threshold": 8.0, "iterations": 16, "runtime": "sim"}
"""Two symbols, ten fills, a halt for edge at tick 11, then the mass cancel: every kind of record a run writes."""
TRADING: dict[str, Any] = {
    "iterations": 12, "symbols_count": 3, "timeout_rate": 0.2, "cancel_error_rate": 0.2, "duplicate_fill_rate": 0.2,
    "out_of_order_rate": 0.2, "cancel_race_rate": 0.2, "edge_threshold": -100.0, "runtime": "sim",
}  # fmt: skip
"""A hostile venue and no halt: the resumed run trades on, so what was rebuilt is traded on too."""


def config(settings: dict[str, Any], journal: Path, **more: Any) -> ShadowConfig:
    return resolve(overrides={**settings, "journal": str(journal), **more}, override_source="setting")


def boundaries(path: Path) -> list[int]:
    """Every offset at which a record of ``path`` ends (its header's end first)."""
    reader = JournalReader(path)
    ends = [reader.record_offset for _ in reader][1:]
    return [*ends, reader.valid_bytes]


def venue_positions(settings: ShadowConfig, journal: Path) -> dict[str, str]:
    """The venue's positions as its own journal gives them, in the report's quantities."""
    instruments = settle(settings).instruments
    venue = fake_exchange(settings, journal)
    inner = getattr(venue, "inner", venue)
    try:
        held = inner.get_positions()
    finally:
        inner.close()
    return {symbol: str(instruments[symbol].quantity(lots)) for symbol, lots in held.items()}


def resumed_agrees_with_the_venue(
    whole: Path, scratch: Path, name: str, cut: int | None, *, settings: dict[str, Any], iterations: int
) -> dict[str, Any]:
    """Cut ``name`` of a copy of ``whole`` at ``cut`` (None: remove it), resume to ``iterations``, check, report."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(whole, scratch)
    if cut is None:
        (scratch / name).unlink()
    else:
        with open(scratch / name, "r+b") as file:
            file.truncate(cut)
    resumed = config(settings, scratch, iterations=iterations)
    report = json.loads(run(resumed))
    where = f"{name} cut at {cut}"
    mine = {s: line["qty"] for s, line in report["positions"]["by_symbol"].items() if Decimal(line["qty"])}
    assert mine == venue_positions(resumed, scratch), where
    orders = report["orders"]
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"] + orders["open"], where
    if report["risk"]["frozen"]:
        assert report["risk"]["freeze_confirmed"] and orders["open"] == 0, where
    return report


@pytest.fixture(scope="module")
def freezing_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    whole = tmp_path_factory.mktemp("freezing")
    report = json.loads(run(config(FREEZING, whole)))
    assert report["risk"]["frozen"] and report["fills"]["count"] >= 5 and report["positions"]["by_symbol"]
    yield whole


@pytest.mark.parametrize("name", JOURNALS)
def test_each_journal_cut_at_every_record_or_missing_resumes_into_the_venues_positions_and_a_confirmed_freeze(
    freezing_run: Path, tmp_path: Path, name: str
) -> None:
    ends = boundaries(freezing_run / name)
    if len(ends) > 60:  # the store's and the venue's: every record of the first ticks, then every third
        ends = ends[:30] + ends[30::3]
    rebuilt = 0
    for cut in [None, *ends]:
        scratch = tmp_path / "cut"
        report = resumed_agrees_with_the_venue(freezing_run, scratch, name, cut, settings=FREEZING, iterations=16)
        assert report["risk"]["frozen"], f"{name} cut at {cut}: the halt was lost"
        rebuilt += sum(report["execution"].get("rebuilt_from_venue", {}).values())  # the last: the whole run again
    if name != RISK_JOURNAL:
        assert rebuilt > 0  # the venue's word was needed, not just the journals


def test_journals_cut_at_random_bytes_resume_into_the_venues_positions(freezing_run: Path, tmp_path: Path) -> None:
    draw = random.Random(20261206)
    for name in JOURNALS:
        size = (freezing_run / name).stat().st_size
        for cut in sorted(draw.sample(range(1, size), 8)):
            resumed_agrees_with_the_venue(freezing_run, tmp_path / "cut", name, cut, settings=FREEZING, iterations=16)


@pytest.mark.parametrize("name", [STORE_JOURNAL, VENUE_JOURNAL])
def test_a_hostile_run_cut_anywhere_trades_on_from_the_venues_word(tmp_path: Path, name: str) -> None:
    """The store's journal cut: rebuilt, trading goes on.  The venue's: it lost what it did, so the run halts."""
    whole = tmp_path / "whole"
    run(config(TRADING, whole))
    ends = boundaries(whole / name)
    halts = []
    for cut in ends[:: max(1, len(ends) // 25)]:
        report = resumed_agrees_with_the_venue(whole, tmp_path / "cut", name, cut, settings=TRADING, iterations=18)
        reason = report["risk"]["last_freeze_reason"]
        if name == STORE_JOURNAL:
            assert not report["risk"]["frozen"], f"cut at {cut}: {reason}"
        elif report["risk"]["frozen"]:
            assert reason.startswith("Reconciliation: the venue "), f"cut at {cut}: {reason}"
            halts.append(cut)
    assert name == STORE_JOURNAL or halts  # a venue cut before the end lost what it did


def test_orders_the_stores_journal_lost_are_adopted_and_what_the_venue_traded_is_applied(tmp_path: Path) -> None:
    venue = RecordedVenue(tmp_path / VENUE_JOURNAL, fill_rate=0.0)
    venue.advance(1)
    for number, side in ((1, Side.BUY), (2, Side.SELL), (3, Side.BUY)):
        venue.place(PlaceRequest(f"CLI{number:08d}", "BTCUSDT", side, 100, 5))
    venue.cancel("ORD000003")
    venue.fill_now("ORD000001")
    for tick in range(2, 6):  # past the ticks a restored venue streams again
        venue.advance(tick)
        venue.stream_fills()
    venue.close()
    restored = RecordedVenue(tmp_path / VENUE_JOURNAL, fill_rate=0.0)
    assert isinstance(restored, SupportsHistory)
    store = OrderStore()
    store.create("BTCUSDT", Side.BUY, 100, 5, 1, number=1)  # the journal kept the first order, not its fill
    rebuilt = rebuild_from_venue(store, restored.history())
    assert rebuilt.orders == 2 and [fill.fill_id for fill in rebuilt.applied] == ["FIL000001-1"]
    states = {order: store.get(f"CLI0000000{order}").state.value for order in (1, 2, 3)}  # type: ignore[union-attr]
    assert states == {1: "FILLED", 2: "OPEN", 3: "CANCELED"}
    assert rebuilt.cancel == [("CLI00000002", "ORD000002")]  # open at the venue, wanted by nobody after the crash
    assert rebuild_from_venue(store, restored.history()).orders == 0  # a second look adds nothing
