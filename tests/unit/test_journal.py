"""Journals: append, flush, read back, survive a torn tail, refuse garbage; the recorded venue and recovery."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgpack
import pytest

from actors.assembly._config import ShadowConfig, resolve
from actors.assembly._recovery import (
    RISK_JOURNAL,
    STORE_JOURNAL,
    finish_key,
    finished_report,
    recover,
)
from actors.cli._run_shadow import run
from actors.core._exchange import PlaceRequest
from actors.core._instruments import instrument_for
from actors.core._orders import OrderStore
from actors.core._risk import RiskEngine, RiskLimits
from actors.core._types import OrderState, Side
from actors.markets._data import RandomWalkMarket
from actors.roles._addresses import RISK
from actors.testing import Sim
from actors.venues._recorded import RecordedVenue
from actors.wire import _journal as journal_module
from actors.wire._codec import encode
from actors.wire._journal import JournalError, JournalLock, JournalReader, JournalWriter, journal_fingerprint
from actors.wire._messages import FreezeRequest


def test_records_round_trip_and_flush_only_writes_when_something_is_pending(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "j")
    writer.append(["create", "BTCUSDT", 1, 100, 2, 1])
    writer.flush()
    writer.flush()
    writer.append(["ack", "CLI00000001", "ORD000001"])
    writer.close()
    expected = [["create", "BTCUSDT", 1, 100, 2, 1], ["ack", "CLI00000001", "ORD000001"]]
    assert list(JournalReader(tmp_path / "j")) == expected
    assert writer.records == 2 and writer.flushes == 2


HEADER = journal_module._frame(["journal", journal_module.JOURNAL_VERSION, {}])


def test_a_journal_is_read_in_chunks_so_records_may_straddle_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a long run's journal outgrows msgpack's 100 MiB buffer: reading it whole failed (found 2026-11-25)
    monkeypatch.setattr(journal_module, "CHUNK_BYTES", 7)
    path = tmp_path / "j"
    writer = JournalWriter(path)
    records = [["create", "SYM00001", 1, 100 + n, 5, n] for n in range(50)]
    for record in records:
        writer.append(record)
    writer.close()
    whole = path.stat().st_size
    with path.open("ab") as handle:
        handle.write(journal_module._frame(["ack", "CLI00000001", "ORD000001"])[:-3])  # torn
    reader = JournalReader(path)
    assert list(reader) == records
    assert reader.torn_tail and reader.valid_bytes == whole


def test_a_torn_last_record_is_dropped_and_cut_off_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "j"
    whole = HEADER + journal_module._frame(["expire", 1])
    path.write_bytes(whole + journal_module._frame(["expire", 2])[:-1])
    reader = JournalReader(path)
    assert list(reader) == [["expire", 1]] and reader.torn_tail and reader.valid_bytes == len(whole)
    writer = JournalWriter(path, keep_bytes=reader.valid_bytes)
    writer.append(["expire", 3])
    writer.close()
    assert list(JournalReader(path)) == [["expire", 1], ["expire", 3]]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"\xc1\xc1" * 8, "bad frame header"),
        (msgpack.packb({"not": "a frame", "at": "all"}), "bad frame header"),
        (journal_module._frame(["expire", 2])[:-1] + b"\x03", "checksum mismatch"),
        (journal_module._frame([7]), "not a journal record"),
        (journal_module._frame([]), "not a journal record"),
    ],
)
def test_damage_is_a_journal_error_naming_the_file_and_the_offset(tmp_path: Path, data: bytes, needle: str) -> None:
    first = HEADER + journal_module._frame(["expire", 1])
    (tmp_path / "j").write_bytes(first + data)
    with pytest.raises(JournalError, match=f"j: .*{needle}") as caught:
        list(JournalReader(tmp_path / "j"))
    assert f"byte {len(first)}" in str(caught.value)


def test_every_flipped_bit_of_a_journal_is_found_or_is_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "j"
    writer = JournalWriter(path, fingerprint={"seed": 1})
    records = [["create", "BTCUSDT", 1, 100 + n, 2, n] for n in range(5)]
    for record in records:
        writer.append(record)
    writer.close()
    data = path.read_bytes()
    undetected = 0
    for bit in range(len(data) * 8):
        damaged = bytearray(data)
        damaged[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(damaged))
        reader = JournalReader(path, fingerprint={"seed": 1})
        try:
            list(reader)
        except JournalError:
            continue
        undetected += 1
    assert undetected == 0  # every flipped bit, the lengths' included, is damage named with its offset


def test_a_journal_of_another_version_or_program_is_refused(tmp_path: Path) -> None:
    (tmp_path / "v1").write_bytes(msgpack.packb(["expire", 1, 2, 3, 4, 5, 6, 7]))  # the unframed format of version 1
    with pytest.raises(JournalError, match="v1: damaged at byte 0: bad frame header"):
        list(JournalReader(tmp_path / "v1"))
    (tmp_path / "v9").write_bytes(journal_module._frame(["journal", 9, {}]))
    with pytest.raises(JournalError, match="journal version 9"):
        list(JournalReader(tmp_path / "v9"))
    (tmp_path / "other").write_bytes(journal_module._frame(["expire", 1]))
    with pytest.raises(JournalError, match="no journal header"):
        list(JournalReader(tmp_path / "other"))


def test_a_journal_written_under_other_settings_is_refused_naming_the_difference(tmp_path: Path) -> None:
    JournalWriter(tmp_path / "j", fingerprint={"seed": 1, "symbols": ["BTCUSDT"]}).close()
    with pytest.raises(JournalError, match=r"written with seed=1, this run has seed=2: use another --journal"):
        list(JournalReader(tmp_path / "j", fingerprint={"seed": 2, "symbols": ["BTCUSDT"]}))
    assert list(JournalReader(tmp_path / "j", fingerprint={"seed": 1, "symbols": ["BTCUSDT"]})) == []


def test_one_run_at_a_time_in_a_journal_directory(tmp_path: Path) -> None:
    first = JournalLock(tmp_path)
    with pytest.raises(JournalError, match="in use by another run"):
        JournalLock(tmp_path)
    first.release()
    JournalLock(tmp_path).release()


@pytest.mark.parametrize("name", ["store.journal", "lock"])
def test_a_fifo_where_a_journal_file_belongs_is_refused_instead_of_blocking(tmp_path: Path, name: str) -> None:
    os.mkfifo(tmp_path / name)
    with pytest.raises(JournalError, match=f"{name}: not a regular file"):
        if name == "lock":
            JournalLock(tmp_path)
        else:
            list(JournalReader(tmp_path / name))
    with pytest.raises(JournalError, match="not a regular file"):
        JournalWriter(tmp_path / name)


def test_an_unwritable_journal_is_a_journal_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(JournalError, match="cannot write"):
        JournalWriter(tmp_path / "file" / "j")


def test_replaying_a_store_journal_rebuilds_the_same_store(tmp_path: Path) -> None:
    live = OrderStore(retain_ticks=1, journal=JournalWriter(tmp_path / "j"))
    first = live.create("BTCUSDT", Side.BUY, 100, 2, 1).client_id
    second = live.create("BTCUSDT", Side.SELL, 110, 2, 1).client_id
    live.acknowledge(first, "ORD000001")
    live.reject(second, "no")
    with pytest.raises(Exception, match="cannot reject"):
        live.reject(first, "too late")  # refused live, refused again on replay
    live.expire(3)
    assert live.journal is not None
    live.journal.close()
    rebuilt = OrderStore(retain_ticks=1)
    for record in JournalReader(tmp_path / "j"):
        rebuilt.replay(record)
    assert rebuilt.counts() == live.counts() and rebuilt.placed == 2 and rebuilt.forgotten == live.forgotten
    assert rebuilt.get(first).state is OrderState.OPEN  # type: ignore[union-attr]
    with pytest.raises(JournalError, match="unknown order-store operation"):
        rebuilt.replay(["teleport"])


def test_a_restored_venue_has_its_orders_and_streams_recent_fills_again(tmp_path: Path) -> None:
    path = tmp_path / "venue.journal"
    venue = RecordedVenue(path, seed=1, fill_rate=1.0, partial_fill_rate=0.0)
    venue.place(PlaceRequest("CLI00000001", "BTCUSDT", Side.BUY, 100, 2))
    venue.place(PlaceRequest("CLI00000002", "BTCUSDT", Side.SELL, 110, 2))
    venue.advance(1)
    streamed = venue.stream_fills()
    venue.place(PlaceRequest("CLI00000003", "BTCUSDT", Side.BUY, 100, 1))
    venue.close()
    restored = RecordedVenue(path, seed=1, fill_rate=1.0, partial_fill_rate=0.0)
    assert restored.replayed == 5 and restored.get_positions() == venue.get_positions()
    assert [o.client_id for o in restored.get_orders()] == ["CLI00000003"]
    assert restored.stream_fills() == streamed  # the engine may have died before it recorded them
    restored.close()


def test_a_frozen_run_stays_frozen_after_recovery(tmp_path: Path) -> None:
    settings = {"symbols": ["BTCUSDT", "ETHUSDT"], "iterations": 6, "journal": str(tmp_path), "edge_threshold": -1e9}
    sim = Sim(1)
    system = sim.start_system(**settings)
    system.run(3)
    sim.tell(RISK, encode(FreezeRequest("operator")))
    sim.run_until_idle()
    placed = system.store_snapshot().placed
    system.stop()
    assert (tmp_path / STORE_JOURNAL).stat().st_size > 0

    again = Sim(1)
    resumed = again.start_system(**settings)
    assert resumed.resumed_after_tick == 3
    risk = resumed.risk_snapshot()
    assert risk.frozen and risk.last_freeze_reason == "operator"
    resumed.run()
    store = resumed.store_snapshot()
    assert store.placed == placed and store.open_orders == [] and resumed.ticks_run == 6
    resumed.stop()


# ------------------------------------------------------------ risk's decisions, the injector's notes, a finished run


def test_a_record_in_risks_journal_that_is_not_a_decision_is_refused_naming_the_file_and_offset(tmp_path: Path) -> None:
    instruments = {"BTCUSDT": instrument_for("BTCUSDT", 42)}
    writer = JournalWriter(tmp_path / RISK_JOURNAL)
    writer.append(["decided", 1, 0, 0])
    writer.append(["decided", 2, "no blocks", 0])
    writer.close()
    offset = len(HEADER) + len(journal_module._frame(["decided", 1, 0, 0]))
    engine = RiskEngine(RiskLimits(1e4, 5e4, 3.0), instruments)
    with pytest.raises(JournalError, match=f"{RISK_JOURNAL}: damaged at byte {offset}: not a decision of risk's"):
        recover(tmp_path, OrderStore(), engine, RandomWalkMarket(instruments, 42), ["BTCUSDT"], reached=0,
                final_tick=5, fsync=False)  # fmt: skip


def test_a_venue_journal_record_no_venue_wrote_is_refused_naming_its_offset(tmp_path: Path) -> None:
    path = tmp_path / "venue.journal"
    writer = JournalWriter(path)
    writer.append(["advance", 1])
    writer.append(["note", ["fault", "meteor_strike"]])
    writer.close()
    offset = len(HEADER) + len(journal_module._frame(["advance", 1]))
    with pytest.raises(JournalError, match=f"venue.journal: damaged at byte {offset}: unknown fault-injector note"):
        RecordedVenue(path, seed=1)


def finished_run(journal: Path, **more: Any) -> tuple[ShadowConfig, str]:
    config = resolve(overrides={"symbols_count": 2, "iterations": 6, "journal": str(journal), **more},
                     override_source="setting")  # fmt: skip
    return config, run(config)


def test_a_finished_run_is_given_back_under_its_settings_while_no_journal_moved(tmp_path: Path) -> None:
    config, report = finished_run(tmp_path)
    fingerprint, key = journal_fingerprint(config), finish_key(config)
    assert finished_report(tmp_path, key, fingerprint) == report
    assert finished_report(tmp_path, {**key, "iterations": 7}, fingerprint) is None  # more ticks: a resume
    for other in ({**key, "pace": "realtime"}, {**key, "iterations": 5}):  # nothing left to run under other settings
        with pytest.raises(JournalError, match="holds a run that finished under iterations=6, pace=asap"):
            finished_report(tmp_path, other, fingerprint)
    for name in (RISK_JOURNAL, "venue.journal"):
        saved = (tmp_path / name).read_bytes()
        with (tmp_path / name).open("ab") as grown:
            grown.write(journal_module._frame(["decided", 7, 0, 0] if name == RISK_JOURNAL else ["advance", 7]))
        assert finished_report(tmp_path, key, fingerprint) is None  # something happened after it finished
        (tmp_path / name).write_bytes(saved)
    with (tmp_path / STORE_JOURNAL).open("ab") as torn:
        torn.write(journal_module._frame(["expire", 7])[:-2])
    assert finished_report(tmp_path, key, fingerprint) is None


@pytest.mark.parametrize(
    "record",
    [["finished", {"iterations": 6}, "{}"], ["finished", {"iterations": 6}, 7, {}], ["finished", [], "{}", {}],
     ["finished", {"iterations": 6}, "{}", {"venue.journal": 1}], ["finished", {"iterations": 6}, "{}", 5]],
)  # fmt: skip
def test_a_finished_record_that_is_not_one_is_refused_naming_its_offset(tmp_path: Path, record: list[Any]) -> None:
    writer = JournalWriter(tmp_path / STORE_JOURNAL)
    writer.append(["expire", 1])
    writer.append(record)
    writer.close()
    offset = len(HEADER) + len(journal_module._frame(["expire", 1]))
    with pytest.raises(JournalError, match=f"{STORE_JOURNAL}: damaged at byte {offset}: not a finished run's record"):
        finished_report(tmp_path, {"iterations": 6}, {})
