"""A handler that fails part-way, or a journal that cannot be written, never leaves a tick undecided.

Each test is a case an adversarial review found (2026-12-01): the run used to
stop there with every actor alive (or with trading not frozen), a limbo the
engine must never reach (docs/RELIABILITY.md, "Failures after a side effect").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actors.assembly._recovery import STORE_JOURNAL, recover
from actors.core._gateway import GatewayCore, Venue
from actors.core._instruments import instrument_for
from actors.core._orders import OrderStore
from actors.core._risk import RiskEngine, RiskLimits
from actors.core._risk_round import Halted
from actors.markets._data import RandomWalkMarket
from actors.roles._addresses import FEED, GATEWAY, RISK, STORE
from actors.roles._risk_monitor import RiskMonitor
from actors.runtime._sim import FaultPlan
from actors.testing import Sim
from actors.wire._codec import encode
from actors.wire._journal import JournalError, JournalWriter
from actors.wire._messages import FeedTicks, FreezeRequest


def full_disk(journal: Any, *, at_call: int, for_good: bool) -> Any:
    """Make ``journal.flush`` raise ENOSPC at its ``at_call``-th call (and after, ``for_good``); the real flush."""
    flush, calls = journal.flush, [0]

    def failing() -> None:
        calls[0] += 1
        if calls[0] == at_call or (for_good and calls[0] > at_call):
            raise OSError(28, "No space left on device")
        flush()

    journal.flush = failing
    return flush


def journaled_run(journal: Path) -> tuple[Sim, Any]:
    """Two symbols for 30 ticks, journaled in ``journal``, started under a sim."""
    sim = Sim(1)
    return sim, sim.start_system(symbols=["BTCUSDT", "ETHUSDT"], iterations=30, edge_threshold=-1e9,
                                 journal=str(journal))  # fmt: skip


def fail_at_next_send(sim: Sim) -> None:
    """What ``FaultPlan(fail_after)`` draws for a delivery: the running handler raises at its next send."""
    sim._fail_at_send = 0


@pytest.mark.expect_failures
def test_risk_failing_as_it_sends_an_edge_freeze_still_decides_the_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = Sim(1)
    announce, hit = RiskMonitor.announce_halt, []

    def failing_announce(self: RiskMonitor, halted: Halted) -> None:
        if not hit:
            hit.append(halted.tick)
            fail_at_next_send(sim)
        announce(self, halted)

    monkeypatch.setattr(RiskMonitor, "announce_halt", failing_announce)
    system = sim.start_system(symbols=["BTCUSDT", "ETHUSDT"], iterations=40, edge_threshold=8)
    system.run()
    risk = sim.last_instance(RISK)
    assert hit and system.ended_early is None and risk.decided_through == 40 and not risk.round.pending()
    assert risk.engine.halted and risk.freeze_confirmed
    sim.shutdown()


@pytest.mark.expect_failures
def test_a_gateway_failing_as_it_sends_the_mass_cancel_of_a_request_that_froze_it_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handle, state = GatewayCore._handle_request, {"hit": False, "sim": None}

    def failing_handle(self: GatewayCore, request: Any, venue: Venue) -> None:
        if request.frozen and not self.frozen and not state["hit"]:
            state["hit"] = True
            fail_at_next_send(state["sim"])  # type: ignore[arg-type]
        handle(self, request, venue)

    monkeypatch.setattr(GatewayCore, "_handle_request", failing_handle)
    for seed in range(200):  # the store's flag must reach the gateway before risk's freeze does: some seeds
        sim = state["sim"] = Sim(seed)
        system = sim.start_system(symbols=["BTCUSDT", "ETHUSDT", "SOLUSDT"], iterations=12, edge_threshold=-1e9)
        system.run(4)
        sim.tell(FEED, encode(FeedTicks(5)))
        sim.tell(RISK, encode(FreezeRequest("kill switch")))
        sim.run_until_idle()
        system.run(7)
        if state["hit"]:
            gateway = sim.last_instance(GATEWAY)
            assert system.ended_early is None and system.progress.done_through == 12
            core = gateway.core
            assert core.requested_through == 12 and not core.requests and not core.markets
            assert gateway.client.get_orders() == []
            sim.shutdown()
            return
        sim.shutdown()
    pytest.fail("no seed let the store's frozen request reach the gateway first")


@pytest.mark.expect_failures
def test_a_paced_feed_failing_as_it_sends_a_tick_keeps_the_pace() -> None:
    sim = Sim(1, faults=FaultPlan(seed=2, fail_after=0.1, targets=(FEED,)), auto_advance=True)
    system = sim.start_system(symbols=["BTCUSDT"], iterations=20, pace="realtime", tick_ms=100)
    system.run()
    assert sim.fault_counts.failed_after > 0 and system.ended_early is None
    assert system.progress.sent_through == system.progress.done_through == 20
    sim.shutdown()


@pytest.mark.expect_failures
def test_a_risk_journal_that_cannot_be_written_freezes_trading_and_the_run_ends(tmp_path: Path) -> None:
    sim, system = journaled_run(tmp_path)
    assert system.recovered is not None and system.recovered.risk_journal is not None
    journal = system.recovered.risk_journal
    flush = full_disk(journal, at_call=10, for_good=False)
    system.run()
    risk = sim.last_instance(RISK)
    assert system.ended_early is None and risk.decided_through == 30
    assert risk.engine.halted and risk.snapshot().last_freeze_reason.startswith("Journal: cannot write risk.journal")
    assert sim.last_instance(GATEWAY).client.get_orders() == []
    journal.flush = flush  # type: ignore[method-assign]
    system.stop()


@pytest.mark.expect_failures
def test_a_store_whose_journal_keeps_failing_still_gets_its_freeze_request_out(tmp_path: Path) -> None:
    sim, system = journaled_run(tmp_path)
    journal = sim.actor(STORE).store.journal  # type: ignore[attr-defined]
    flush = full_disk(journal, at_call=40, for_good=True)
    system.run()
    assert STORE not in sim.directory  # it gave up; its escalation did not wait behind its write-ahead
    assert sim.last_instance(RISK).engine.halted
    assert sim.last_instance(GATEWAY).client.get_orders() == []
    journal.flush = flush
    system.stop()


@pytest.mark.parametrize("record", [["create", "BTCUSDT"], ["ack", "CLI00000001"], ["fill", 1, 2]])
def test_a_well_framed_record_no_store_wrote_is_refused_naming_its_offset(tmp_path: Path, record: list[Any]) -> None:
    writer = JournalWriter(tmp_path / STORE_JOURNAL)
    writer.append(record)
    writer.close()
    instruments = {"BTCUSDT": instrument_for("BTCUSDT", 42)}
    engine = RiskEngine(RiskLimits(1e4, 5e4, 3.0), instruments)
    with pytest.raises(JournalError, match=f"{STORE_JOURNAL}: damaged at byte"):
        recover(tmp_path, OrderStore(), engine, RandomWalkMarket(instruments, 42), ["BTCUSDT"], reached=0,
                final_tick=5, fsync=False)  # fmt: skip
