"""Sharding without Ray (``--cluster in-process``): the shards and the coordinator give one process's report."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest

from actors.assembly._config import resolve
from actors.assembly._market_setup import settle
from actors.cli._mm_freeze import main as freeze_main
from actors.cli._run_shadow import main, run
from actors.cluster import partition, run_in_process
from actors.cluster._coordinator import CoordinatorRisk
from actors.cluster._coordinator_host import Coordinator
from actors.cluster._merge import empty_snapshot, merged_gateway, merged_store, unpack
from actors.cluster._records import BatchInbox, ShardBatch
from actors.cluster._settings import config_bytes, config_from_bytes
from actors.cluster._shard import Shard
from actors.core._risk_round import TickDecision

HOSTILE: dict[str, Any] = {
    "place_error_rate": 0.1, "cancel_error_rate": 0.1, "timeout_rate": 0.05, "duplicate_fill_rate": 0.1,
    "cancel_race_rate": 0.1, "reject_rate": 0.05, "out_of_order_rate": 0.2, "unknown_fill_rate": 0.1,
}  # fmt: skip
CASES: dict[str, dict[str, Any]] = {
    "honest": {"symbols_count": 7, "iterations": 30, "edge_threshold": -1000.0},
    "hostile venue": {"symbols_count": 7, "iterations": 40, "edge_threshold": 2.0, "edge_min_fills": 20, **HOSTILE},
    "hostile venue with an edge freeze": {"symbols_count": 7, "iterations": 40, "edge_threshold": 25.0,
                                          "edge_min_fills": 20, **HOSTILE},
    "a freeze whose mass cancel keeps failing": {"symbols_count": 8, "iterations": 40, "edge_threshold": 25.0,
                                                 "edge_min_fills": 20, "cancel_error_rate": 0.9, "timeout_rate": 0.3},
    "max-total binding": {"symbols_count": 9, "iterations": 25, "max_total": 20_000.0, "edge_threshold": -1000.0},
    "halt, resume and flatten": {"symbols_count": 6, "iterations": 60, "seed": 2, "edge_threshold": 25.0,
                                 "edge_min_fills": 5,
                                 "resume_after_ticks": 8, "flatten_on_halt": True, "flatten_ticks": 3,
                                 "max_order_usd": 2000.0},
    "reducing": {"symbols_count": 5, "iterations": 50, "reduce_above_usd": 800.0, "edge_threshold": -1000.0,
                 "max_orders_per_sec": 3, "max_open_orders": 1},
}  # fmt: skip


def config_of(**settings: Any) -> Any:
    return resolve(overrides=settings, override_source="setting")


def one_process(settings: dict[str, Any]) -> str:
    return run(config_of(**settings, runtime="sim"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_two_and_three_shards_print_the_bytes_of_one_process_on_the_sim(case: str) -> None:
    settings = CASES[case]
    expected = one_process(settings)
    for shards in (1, 2, 3):
        _, text, ended = run_in_process(config_of(**settings, shards=shards, cluster="in-process"))
        assert not ended.early
        assert text == expected, f"{shards} shards differ from one process ({case})"


def test_the_cases_are_not_trivial() -> None:
    """The cases above trade, refuse, freeze and resume: equality over them says something."""
    import json

    reports = {case: json.loads(one_process(settings)) for case, settings in CASES.items()}
    assert all(report["orders"]["placed"] > 50 for report in reports.values())
    assert reports["hostile venue"]["exchange"]["errors"] > 100
    assert reports["hostile venue"]["fills"]["unknown_ignored"] > 0
    assert reports["hostile venue with an edge freeze"]["risk"]["frozen"]
    assert reports["hostile venue with an edge freeze"]["exchange"]["errors"] > 0
    faults = reports["a freeze whose mass cancel keeps failing"]["exchange"]["faults_injected"]
    assert faults["mass_cancel_error"] > 1
    assert reports["max-total binding"]["risk"]["blocks_by_reason"].get("max-total", 0) > 0
    moves = [move["to"] for move in reports["halt, resume and flatten"]["risk"]["transitions"]]
    assert moves == ["HALTED", "ACTIVE", "HALTED"]
    assert reports["halt, resume and flatten"]["risk"]["flatten"]["orders"] > 0
    assert reports["reducing"]["risk"]["blocks_by_reason"]


def test_a_shard_count_above_the_symbols_leaves_no_shard_empty() -> None:
    assert partition(["B", "A", "C"], 5) == [["A"], ["B"], ["C"]]
    assert partition(["D", "C", "B", "A"], 2) == [["A", "C"], ["B", "D"]]
    with pytest.raises(ValueError):
        partition(["A"], 0)


def test_five_shards_of_three_symbols_print_one_process_s_bytes() -> None:
    settings = {"symbols_count": 3, "iterations": 15, "edge_threshold": -1000.0}
    _, text, _ = run_in_process(config_of(**settings, shards=5, cluster="in-process"))
    assert text == one_process(settings)


def test_a_batch_inbox_puts_batches_in_order_drops_copies_and_restarts_with_a_new_incarnation() -> None:
    inbox = BatchInbox()

    def batch(incarnation: int, seq: int) -> ShardBatch:
        return ShardBatch(0, incarnation, seq, (), (bytes([seq]),))

    assert inbox.accept(batch(0, 2)) == []
    assert [b.seq for b in inbox.accept(batch(0, 1))] == [1, 2]
    assert inbox.accept(batch(0, 2)) == [] and inbox.accept(batch(0, 1)) == []
    assert inbox.received == 2
    assert [b.seq for b in inbox.accept(batch(1, 1))] == [1]
    assert inbox.received == 1
    assert inbox.accept(batch(0, 3)) == []  # an incarnation that is gone


def test_settings_cross_a_process_as_msgpack_and_come_back_equal() -> None:
    config = config_of(symbols_count=4, iterations=9, market=[], shards=2)
    assert config_from_bytes(config_bytes(config)) == config


def test_an_operator_freeze_reaches_every_shard_and_is_confirmed_by_all() -> None:
    settings = {"symbols_count": 6, "iterations": 30, "edge_threshold": -1000.0}
    config = config_of(**settings, shards=3, cluster="in-process")
    original = Coordinator.wait

    def freeze_then_wait(self: Coordinator, *args: Any, **kwargs: Any) -> Any:
        self.freeze("test")
        return original(self, *args, **kwargs)

    Coordinator.wait = freeze_then_wait  # type: ignore[method-assign]
    try:
        report, _, _ = run_in_process(config)
    finally:
        Coordinator.wait = original  # type: ignore[method-assign]
    risk = json.loads(json.dumps(report))["risk"]
    assert risk["frozen"] and risk["freeze_confirmed"]
    assert risk["last_freeze_reason"] == "Operator: test"
    assert report["orders"]["open"] == 0  # type: ignore[index]


# ---------------------------------------------------------------- a shard that dies, in this process


def two_shards(tmp_path: Path, **settings: Any) -> tuple[Any, Coordinator, list[Shard]]:
    """A coordinator and two shards journaling under ``tmp_path``, wired by method calls, started."""
    config = settle(config_of(**settings, shards=2, cluster="in-process", journal=str(tmp_path))).config
    parts = partition(config.symbols, 2)
    shards: list[Shard] = []

    def port(index: int) -> Any:
        def deliver(data: bytes) -> None:
            shards[index].deliver(data)  # looked up when called: a killed shard is replaced in the list

        return deliver

    coordinator = Coordinator(config, parts, [port(0), port(1)])
    shards.extend(Shard(config, index, part, coordinator.deliver, incarnation=1, journal_root=str(tmp_path))
                  for index, part in enumerate(parts))  # fmt: skip
    for shard in shards:
        shard.start(config.iterations)
    return config, coordinator, shards


def stop_all(coordinator: Coordinator, shards: list[Shard]) -> None:
    for shard in shards:
        shard.stop()
    coordinator.stop()


def kill(shard: Shard) -> None:
    """As a SIGKILL leaves it: actors gone, journals neither flushed at the end nor closed, the lock released."""
    shard.runtime.shutdown()
    assert shard.system.lock is not None
    shard.system.lock.release()


def decided(coordinator: Coordinator, tick: int) -> None:
    deadline = time.monotonic() + 60  # only a stalled run takes that long
    while coordinator.risk.decided_through < tick:
        assert time.monotonic() < deadline, "the run stalled"
        time.sleep(0.005)


def decisions_held_from(tick: int, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The coordinator sends no decision from ``tick`` on until the event is set: the run cannot end first.

    A test that kills a shard once ``tick - 5`` is decided kills it mid-run
    on any machine, instead of racing the run's last ticks.
    """
    release = threading.Event()
    send = CoordinatorRisk.send_decision

    def held(risk: CoordinatorRisk, decision: TickDecision) -> None:
        if decision.tick >= tick:
            release.wait(60)  # only a failed test waits that long
        send(risk, decision)

    monkeypatch.setattr(CoordinatorRisk, "send_decision", held)
    return release


def test_a_shard_rebuilt_from_its_journal_rejoins_and_the_run_completes_with_counts_that_add_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = decisions_held_from(30, monkeypatch)
    config, coordinator, shards = two_shards(tmp_path, symbols_count=6, iterations=80, edge_threshold=-1000.0,
                                             **HOSTILE)  # fmt: skip
    try:
        decided(coordinator, 25)
        kill(shards[1])
        shards[1] = Shard(config, 1, partition(config.symbols, 2)[1], coordinator.deliver, incarnation=2,
                          journal_root=str(tmp_path))  # fmt: skip
        release.set()
        shards[1].rejoin(coordinator.rejoin(1))
        ended = coordinator.wait(lambda: [shard.figures() for shard in shards], restart_timeout=30.0)
        report, _ = coordinator.report([shard.snapshot() for shard in shards])
    finally:
        release.set()
        stop_all(coordinator, shards)
    assert not ended.early
    orders = report["orders"]
    assert report["execution"]["ticks"] == 80
    assert report["execution"]["resumed_after_tick"] is not None  # shard 1 did resume from its journal
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"] + orders["open"]
    assert not str(report["risk"]["last_freeze_reason"] or "").startswith("Reconciliation"), report["risk"]
    assert orders["placed"] > 200


def test_a_shard_that_stays_gone_freezes_every_shard_naming_it_and_the_report_lists_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = decisions_held_from(15, monkeypatch)
    _, coordinator, shards = two_shards(tmp_path, symbols_count=6, iterations=400, edge_threshold=-1000.0)
    try:
        decided(coordinator, 10)
        kill(shards[1])
        release.set()
        ended = coordinator.wait(lambda: [shards[0].figures(), None], restart_timeout=0.5)  # it never comes back
        report, text = coordinator.report([shards[0].snapshot(), b""])
    finally:
        release.set()
        shards[0].stop()
        coordinator.stop()
    assert ended.early and ended.decided_through < 400
    assert report["risk"]["frozen"]
    assert report["risk"]["last_freeze_reason"] == (
        "Shard lost: shard 1 (3 symbols: SYM00002, SYM00004, SYM00006) not back within 0.5 s"
    )
    assert report["shards"] == {"lost": [1], "lost_symbols": 3}
    assert "freeze_incomplete" in report["risk"]  # shard 1's venue never confirmed: the operator must look
    assert text.endswith("\n")


# ---------------------------------------------------------------- the command's refusals


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--pace", "realtime"], "--pace realtime: not available with --shards/--cluster yet"),
        (["--events", "x.csv"], "--events: not available with --shards/--cluster yet"),
        (["--cluster", "127.0.0.1:1"], "--cluster 127.0.0.1:1: nothing answers there"),
        (["--cluster", "no-port"], "--cluster no-port: expected HOST:PORT"),
    ],
)
def test_a_sharded_run_refuses_what_it_cannot_do_in_one_line(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--shards", "2", "--symbols-count", "3", *flags], environ={}) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"run-shadow: error: {message}")


def test_a_finished_sharded_journal_prints_its_report_again_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--shards", "2", "--cluster", "in-process", "--symbols-count", "3", "--iterations", "5",
             "--journal", str(tmp_path)]  # fmt: skip
    assert main(flags, environ={}) == 0
    first = capsys.readouterr().out
    journals = {path: path.read_bytes() for path in sorted(tmp_path.glob("shard-*/*.journal"))}
    assert len(journals) == 6
    assert main(flags, environ={}) == 0
    assert capsys.readouterr().out == first
    assert {path: path.read_bytes() for path in journals} == journals  # nothing started, nothing written


def test_a_sharded_journal_that_cannot_be_rerun_is_refused_saying_what_would_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--cluster", "in-process", "--symbols-count", "4", "--journal", str(tmp_path)]
    assert main([*base, "--shards", "2", "--iterations", "5"], environ={}) == 0
    capsys.readouterr()
    assert main([*base, "--shards", "3", "--iterations", "5"], environ={}) == 2
    assert "holds a run sharded over 2 shards: give --shards 2, or another directory" in capsys.readouterr().err
    assert main([*base, "--shards", "2", "--iterations", "9"], environ={}) == 2
    err = capsys.readouterr().err
    assert "holds a sharded run that finished under iterations=5, pace=asap: rerun it with those" in err
    assert "--iterations to go on" not in err  # what one process's journal can do, a sharded one cannot yet


def test_an_unfinished_sharded_journal_is_refused_both_ways_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = Coordinator.wait

    def interrupted(self: Coordinator, *args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # as Ctrl-C stops the run mid-way: the shards stop, their journals unfinished

    Coordinator.wait = interrupted  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            run_in_process(config_of(symbols_count=4, iterations=5, shards=2, journal=str(tmp_path)))
    finally:
        Coordinator.wait = original  # type: ignore[method-assign]
    for flags in (["--shards", "2", "--cluster", "in-process"], []):
        assert main(["--symbols-count", "4", "--iterations", "5", "--journal", str(tmp_path), *flags],
                    environ={}) == 2  # fmt: skip
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line == (f"run-shadow: error: --journal {tmp_path}: holds a sharded run that did not finish: a whole "
                        "sharded run cannot go on from its journals yet (a shard that dies comes back during the "
                        "run); give another directory")  # fmt: skip


def test_in_process_shards_through_the_command_print_the_one_process_report(capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--symbols-count", "4", "--iterations", "12", "--edge-threshold", "-1000"]
    assert main([*flags, "--runtime", "sim"], environ={}) == 0
    one = capsys.readouterr().out
    assert main([*flags, "--shards", "3", "--cluster", "in-process"], environ={}) == 0
    assert capsys.readouterr().out == one


def serving(answer: bytes | None) -> tuple[str, threading.Thread]:
    """A listener on a free local port that answers its one connection with ``answer`` and closes it (None: silence)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        with listener:
            connection, _ = listener.accept()
            with connection:
                connection.settimeout(60)  # only a failed test waits that long
                connection.recv(64)
                if answer is None:
                    while connection.recv(64):  # silent, the connection open, until the client gives up and closes it
                        pass
                else:
                    connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"127.0.0.1:{listener.getsockname()[1]}", thread


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (b"\x00\x00\x18\x04\x00\x00\x00\x00\x00", ""),  # a gRPC server's first frame: SETTINGS (a Ray GCS's, as seen)
        (b"HTTP/1.0 400 Bad request\r\n\r\n", "not a Ray cluster: what answers there does not speak gRPC"),
        (b"SSH-2.0-OpenSSH_9.2\r\n", "not a Ray cluster: what answers there does not speak gRPC"),
        (b"", "not a Ray cluster: what answers there does not speak gRPC"),  # closes at once
        (None, "not a Ray cluster: no answer in HTTP/2 (timed out)"),
    ],
)
def test_a_cluster_address_is_checked_for_grpc_before_ray_waits_minutes_on_it(
    answer: bytes | None, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actors.cluster import _address

    # a server that answers gets 60 s (a busy machine's pause is no silence); the silent one times out at 0.2 s
    monkeypatch.setattr(_address, "ANSWER_TIMEOUT_S", 0.2 if answer is None else 60.0)
    address, server = serving(answer)
    said = _address.unreachable(address)
    assert said.startswith(why) if why else said == ""
    server.join(timeout=60)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--cluster", "127.0.0.1:1", "--reason", "x"], "mm-freeze: error: --cluster 127.0.0.1:1: nothing answers"),
        (["--cluster", "nowhere", "--reason", "x"], "mm-freeze: error: --cluster nowhere: expected HOST:PORT"),
        (["--cluster", "127.0.0.1:1", "--reason", "  "], "mm-freeze: error: --reason: give a reason"),
    ],
)
def test_mm_freeze_says_what_is_wrong_in_one_line(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert freeze_main(flags) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message)


def test_a_lost_shard_counts_nothing_and_mass_cancel_faults_count_once_over_the_shards() -> None:
    shard = unpack(msgpack.packb({**empty_snapshot(), "mass_cancel_faults": [["mass_cancel_error", 5, 1]]}))
    shard["gateway"] = {**shard["gateway"], "exchange_errors": 3, "venue_open": 0, "mass_cancel_error": "",
                        "faults_injected": {"mass_cancel_error": 1, "place_error": 2}}  # fmt: skip
    other = {**shard, "mass_cancel_faults": [["mass_cancel_error", 5, 1], ["mass_cancel_error", 6, 1]]}
    other["gateway"] = {**shard["gateway"], "exchange_errors": 2, "faults_injected": {"mass_cancel_error": 2}}
    gateway = merged_gateway([shard, other])
    assert gateway.faults_injected == {"mass_cancel_error": 2, "place_error": 2}  # the union: (5, 1), (6, 1)
    assert gateway.exchange_errors == (3 - 1) + (2 - 2) + 2
    assert merged_gateway([shard, unpack(msgpack.packb(empty_snapshot()))]).venue_open == -1
    assert merged_store([unpack(msgpack.packb(empty_snapshot()))]).placed == 0


def test_a_journal_of_the_other_kind_is_refused_both_ways(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one, sharded = tmp_path / "one", tmp_path / "sharded"
    base = ["--symbols-count", "3", "--iterations", "4"]
    assert main([*base, "--journal", str(one)], environ={}) == 0
    assert main([*base, "--shards", "2", "--cluster", "in-process", "--journal", str(sharded)], environ={}) == 0
    capsys.readouterr()
    assert main([*base, "--shards", "2", "--cluster", "in-process", "--journal", str(one)], environ={}) == 2
    assert "holds a one-process run's journals" in capsys.readouterr().err
    assert main([*base, "--journal", str(sharded)], environ={}) == 2
    said = capsys.readouterr().err
    assert "holds a run sharded over 2 shards, finished: rerun it with --shards 2 to print its report" in said
    assert main([*base, "--shards", "2", "--journal", str(sharded)], environ={}) == 0  # and doing that works
    assert json.loads(capsys.readouterr().out)["execution"]["ticks"] == 4


class Clock:
    """The coordinator's ``time``, moved only by the test: a busy machine's pauses do not count as a shard's."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def test_a_shard_that_misses_one_look_and_answers_again_is_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actors.cluster import _coordinator_host

    clock = Clock()
    monkeypatch.setattr(_coordinator_host, "time", clock)
    _, coordinator, shards = two_shards(tmp_path, symbols_count=6, iterations=60, edge_threshold=-1000.0)
    looks = [0]

    def figures() -> list[Any]:
        looks[0] += 1
        answers = [shard.figures() for shard in shards]
        if looks[0] == 2:
            clock.now += 0.6  # a look longer than the restart timeout, then shard 1 missing: then it answers again
            answers[1] = None
        return answers

    try:
        ended = coordinator.wait(figures, restart_timeout=0.5)
        clock.now += 0.6
        assert not coordinator.given_up(1, 0.5)  # what the Ray host asks before it leaves a shard out of the report
        report, _ = coordinator.report([shard.snapshot() for shard in shards])
    finally:
        stop_all(coordinator, shards)
    assert not ended.early
    assert "shards" not in report and not report["risk"]["frozen"]


def test_a_decision_too_big_for_one_message_goes_to_a_shard_in_several_batches() -> None:
    settings = {"symbols_count": 30, "iterations": 6, "edge_threshold": -1000.0}
    import actors.cluster._coordinator as coordinator_module

    saved = coordinator_module.BATCH_BYTES
    coordinator_module.BATCH_BYTES = 200  # a few records a batch
    try:
        _, text, _ = run_in_process(config_of(**settings, shards=2, cluster="in-process"))
    finally:
        coordinator_module.BATCH_BYTES = saved
    assert text == one_process(settings)


def test_a_coordinator_given_a_runs_batches_again_decides_every_tick_alone() -> None:
    """The bench's coordinator replay: the batches a 2-shard run sent, replayed into fresh coordinators."""
    from actors.tools._cluster_bench import coordinator_replay

    figures = coordinator_replay(12, 6, rounds=2)
    assert figures["batches"] >= 2 * 6  # at least one batch per shard and tick
    assert len(figures["replay_s_of_rounds"]) == 2
    assert 0 < figures["replay_s"] <= max(figures["replay_s_of_rounds"])


def test_the_split_ceiling_times_the_workload_whole_and_as_two_halves_side_by_side() -> None:
    """The bench's bound on 1 against 2 shards: real engine runs in child processes, timed."""
    from actors.tools._cluster_bench import split_ceiling

    figures = split_ceiling(8, 3, rounds=2)
    assert len(figures["of_rounds"]) == 2
    assert figures["pair_s"] == min(entry["pair_s"] for entry in figures["of_rounds"]) > 0
    # the ratios are of the unrounded times, the times shown rounded to the millisecond
    assert figures["whole_over_pair"] == pytest.approx(figures["whole_s"] / figures["pair_s"], abs=0.01)
    assert figures["pair_efficiency"] == pytest.approx(2 * figures["half_s"] / figures["pair_s"], abs=0.01)
    for entry in figures["of_rounds"]:  # what the cores did over each job (Linux; None elsewhere)
        assert set(entry["machine"]) == {"whole", "pair", "half"}
        assert all(used is None or used["busy_cores"] > 0 for used in entry["machine"].values())


def test_the_cores_used_between_two_readings_are_the_busy_and_stolen_seconds_over_the_wall_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from actors.cluster import _machine

    monkeypatch.setattr(_machine.os, "cpu_count", lambda: 2)
    before, after = _machine.CpuClock(10.0, 100.0, 4.0), _machine.CpuClock(20.0, 115.0, 5.0)
    assert _machine.cores_used(before, after) == {"busy_cores": 1.5, "steal_pct": 5.0}  # 15 s busy, 1 of 20 stolen
    assert _machine.cores_used(None, after) is None and _machine.cores_used(after, before) is None


def test_the_machine_clock_counts_a_busy_loop_as_busy_time_where_there_is_a_proc_stat() -> None:
    from actors.cluster import _machine

    before = _machine.cpu_clock()
    if before is None:
        assert not Path(_machine.STAT).exists()
        return
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline:
        pass
    used = _machine.cores_used(before, _machine.cpu_clock())
    assert used is not None and used["busy_cores"] >= 0.5 and 0 <= used["steal_pct"] <= 100


def test_a_shard_away_longer_than_the_restart_timeout_freezes_every_shard_naming_it_though_it_came_back(
    tmp_path: Path,
) -> None:
    """Measured from its last answer: a look at a dead shard on Ray can wait until it is back, and never see it gone."""
    config, coordinator, shards = two_shards(tmp_path, symbols_count=6, iterations=60, edge_threshold=-1000.0,
                                             shard_restart_timeout=0.2)  # fmt: skip
    try:
        decided(coordinator, 10)
        kill(shards[1])
        coordinator.answered[1] = time.monotonic() - 1.5  # it last answered 1.5 s before it is back
        shards[1] = Shard(config, 1, partition(config.symbols, 2)[1], coordinator.deliver, incarnation=2,
                          journal_root=str(tmp_path))  # fmt: skip
        shards[1].rejoin(coordinator.rejoin(1))
        ended = coordinator.wait(lambda: [shard.figures() for shard in shards], restart_timeout=0.2)
        report, _ = coordinator.report([shard.snapshot() for shard in shards])
    finally:
        stop_all(coordinator, shards)
    risk = report["risk"]
    assert risk["last_freeze_reason"] == (
        "Shard lost: shard 1 (3 symbols: SYM00002, SYM00004, SYM00006) not back within 0.2 s"
    )
    assert risk["frozen"] and risk["freeze_confirmed"] and report["orders"]["open"] == 0  # it is back: confirmed
    assert not ended.early and "shards" not in report


def test_a_shard_that_rejoins_after_a_freeze_at_tick_0_hears_it() -> None:
    """Tick 0 meant "not frozen" in the rejoin record: a shard killed during the start missed a start-up freeze."""
    from actors.cluster._records import Rejoin
    from actors.wire._codec import decode

    config = settle(config_of(symbols_count=4, iterations=5, shards=2, cluster="in-process")).config
    parts = partition(config.symbols, 2)
    shards: list[Shard] = []
    coordinator = Coordinator(config, parts, [lambda _data: None, lambda _data: None])  # the rejoin carries it
    try:
        assert coordinator.freeze("desk says stop")  # before any decision: tick 0
        coordinator.risk_snapshot()  # risk has taken it
        data = coordinator.rejoin(1)
        record = decode(data)
        assert isinstance(record, Rejoin) and record.freeze_tick == 0
        shards.append(Shard(config, 1, parts[1], lambda _data: None, incarnation=2))
        shards[0].rejoin(data)
        shards[0].runtime.wait_idle()
        assert shards[0].system.store_snapshot().frozen
    finally:
        for shard in shards:
            shard.stop()
        coordinator.stop()
