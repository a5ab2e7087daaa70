"""The log (telemetry/_logs.py): one line for each event an operator needs, and nothing that changes a report."""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from actors.assembly._config import resolve
from actors.assembly._market_setup import settle
from actors.cli._run_shadow import main
from actors.cluster._coordinator_host import Coordinator
from actors.cluster._shard import ShardFigures
from actors.markets._data import RandomWalkMarket
from actors.roles._addresses import FEED, GATEWAY
from actors.roles._feed import FeedProgress, TickFeed
from actors.telemetry._logs import VENUE_ERRORS, Tally, configure, event, run_started, settings_hash, shown
from actors.testing import Sim
from actors.wire._codec import encode
from actors.wire._messages import FeedTicks

Logged = dict[str, Any]


@contextmanager
def captured(level: str = "DEBUG") -> Iterator[list[Logged]]:
    """Every record logged meanwhile, as ``{"level", "message", **its event's fields}``."""
    records: list[Logged] = []

    def sink(message: Any) -> None:
        record = message.record
        records.append({"level": record["level"].name, "message": record["message"], **record["extra"]})

    handler = logger.add(sink, level=level, format="{message}")
    try:
        yield records
    finally:
        logger.remove(handler)


def of(records: list[Logged], name: str) -> list[Logged]:
    return [record for record in records if record.get("event") == name]


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    """The command replaces loguru's handlers with one on the stderr of its test: put the default back after."""
    yield
    logger.remove()
    logger.add(sys.stderr)


# ---------------------------------------------------------------- the handler


def test_json_lines_are_compact_objects_with_time_level_event_message_and_the_events_fields() -> None:
    out = io.StringIO()
    configure("INFO", "json", stream=out)
    try:
        event("state", tick=12, **{"from": "ACTIVE", "to": "HALTED"}).warning("state: ACTIVE -> HALTED at tick 12")
        logger.debug("not shown at INFO")
    finally:
        logger.remove()
        logger.add(sys.stderr)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and ", " not in lines[0].partition('"message"')[0]  # compact: no spaces between items
    line = json.loads(lines[0])
    assert list(line)[:4] == ["time", "level", "event", "message"]
    assert line["level"] == "WARNING" and line["event"] == "state" and line["tick"] == 12 and line["to"] == "HALTED"
    assert line["time"].endswith("Z") and "record" not in line  # not loguru's serialize


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_exception_is_one_line_unless_debug_shows_its_traceback_and_never_its_local_variables(
    log_format: str,
) -> None:
    def fail() -> None:
        secret_local = "must not be printed"  # noqa: F841 - diagnose would print it
        raise ValueError("boom")

    written = {}
    for level in ("WARNING", "DEBUG"):
        out = io.StringIO()
        configure(level, log_format, stream=out)
        try:
            try:
                fail()
            except ValueError as exc:
                logger.opt(exception=exc).error("handler of feed raised {!r}", exc)
        finally:
            logger.remove()
            logger.add(sys.stderr)
        written[level] = out.getvalue()
    assert written["WARNING"].count("\n") == 1 and "Traceback" not in written["WARNING"]
    assert "Traceback" in written["DEBUG"] and "in fail" in written["DEBUG"]
    assert "must not be printed" not in written["DEBUG"] and "│" not in written["DEBUG"]
    if log_format == "json":
        quiet, loud = json.loads(written["WARNING"]), json.loads(written["DEBUG"])
        assert quiet["exception"] == "ValueError: boom" and "traceback" not in quiet
        assert loud["traceback"].startswith("Traceback")


def test_the_start_line_names_the_run_and_a_short_hash_of_the_journals_fingerprint() -> None:
    config = settle(resolve(overrides={"symbols_count": 500, "seed": 5}, override_source="setting")).config
    with captured() as records:
        run_started(config)
    (start,) = of(records, "start")
    assert start["level"] == "INFO" and start["symbols"] == 500 and start["settings"] == settings_hash(config)
    assert "SYM00001, SYM00002, SYM00003, ..." in start["message"] and "SYM00004" not in start["message"]
    other = settle(resolve(overrides={"symbols_count": 500, "seed": 6}, override_source="setting")).config
    assert len(settings_hash(config)) == 12 and settings_hash(other) != settings_hash(config)
    assert shown(["A", "B"]) == "A, B"


# ---------------------------------------------------------------- events of a run


def test_every_move_of_the_trading_state_is_logged_with_its_reason_at_a_level_the_default_shows() -> None:
    with captured() as records:
        system = Sim(1).start_system(iterations=20, reduce_above_total_usd=1000.0)
        system.run(10)
        system.freeze("drill")
        system.run()
        moves = system.risk_snapshot().transitions
        system.stop()
    logged = [(r["tick"], r["from"], r["to"], r["reason"]) for r in of(records, "state")]
    assert len(moves) >= 3 and logged == [(m.tick, m.source.value, m.target.value, m.reason) for m in moves]
    assert {r["level"] for r in of(records, "state")} == {"WARNING"}  # conf/default.toml: log_level = "WARNING"
    assert {to for _, _, to, _ in logged} == {"REDUCING", "ACTIVE", "HALTED"}
    assert logged[-1][2:] == ("HALTED", "Operator: drill")


def test_a_freeze_logs_each_mass_cancel_round_with_what_the_venue_still_holds() -> None:
    with captured() as records:
        system = Sim(1).start_system(edge_threshold=8.0, iterations=40)
        system.run()
        rounds = system.gateway_snapshot().mass_cancel_rounds
        system.stop()
    logged = of(records, "mass_cancel")
    assert rounds >= 1 and len(logged) == rounds
    assert logged[-1]["still_open"] == 0 and logged[-1]["level"] == "INFO"

    with captured() as records:  # a venue that refuses every mass cancel: a WARNING a round, naming the next
        system = Sim(1).start_system(edge_threshold=8.0, iterations=40, cancel_error_rate=1.0)
        system.run()
        rounds = system.gateway_snapshot().mass_cancel_rounds
        system.stop()
    logged = of(records, "mass_cancel")
    assert rounds > 1 and len(logged) == rounds
    failed = [r for r in logged if r["still_open"] != 0]
    assert failed and all(r["level"] == "WARNING" and "next round at tick" in r["message"] for r in failed)


def test_venue_errors_are_one_line_per_kind_then_counted_into_the_next() -> None:
    VENUE_ERRORS.flush()  # what other runs of this process left
    with captured() as records:
        system = Sim(1).start_system(iterations=30, place_error_rate=1.0)
        system.run()
        errors = system.gateway_snapshot().exchange_errors
        system.stop()
        during = len(of(records, "venue_error"))
        VENUE_ERRORS.flush()
    logged = of(records, "venue_error")
    assert errors > 10 and during == 1  # the first at once; the rest within the window are counted
    assert {r["kind"] for r in logged} == {"place"} and sum(r["count"] for r in logged) == errors


def test_a_tally_writes_a_kind_again_once_its_window_is_over_with_the_count_since() -> None:
    now = [0.0]
    tally = Tally(10.0, clock=lambda: now[0])
    with captured() as records:
        for second in range(25):
            now[0] = float(second)
            tally.note("cancel", f"error {second}")
        tally.flush()
    counts = [r["count"] for r in of(records, "venue_error")]
    assert counts == [1, 10, 10, 4] and sum(counts) == 25  # at 0, 10 and 20 s, then the rest at the end


class LaggingSim(Sim):
    """A sim whose actors read a clock ``lag`` seconds ahead of its timers: a feed that wakes up late."""

    lag = 0.0

    def now(self) -> float:
        return super().now() + self.lag


def test_a_paced_feed_that_falls_behind_says_how_far_and_the_progress_keeps_the_worst() -> None:
    sim = LaggingSim(0, auto_advance=True)
    sim.probe(GATEWAY)
    progress = FeedProgress()
    sim.spawn(TickFeed, FEED, RandomWalkMarket({}, 0, 1.0), [], pace_s=0.01, progress=progress)
    with captured() as records:
        sim.tell(FEED, encode(FeedTicks(3)))
        assert sim.step()  # the first tick goes out, on time
        sim.lag = 0.5
        sim.run_until_idle()
    sim.shutdown()
    (behind,) = of(records, "pace_behind")  # once: the next lines wait PACE_EVERY_S
    assert behind["level"] == "WARNING" and behind["tick"] == 2 and behind["ticks_behind"] == 50
    assert progress.worst_late_s == pytest.approx(0.5) and progress.sent_through == 3


def test_a_resumed_run_says_where_it_goes_on_from_and_what_reconciling_with_the_venue_found(tmp_path: Path) -> None:
    settings: dict[str, Any] = {"seed": 2, "place_error_rate": 0.1, "timeout_rate": 0.1, "journal": str(tmp_path)}
    first = Sim(1).start_system(iterations=12, **settings)
    first.run()
    first.stop()
    with captured() as records:
        resumed = Sim(1).start_system(iterations=30, **settings)
        resumed.stop()
    (resume,) = of(records, "resume")
    assert resume["tick"] == 12 and resume["records"] > 0 and resume["level"] == "INFO"
    (reconcile,) = of(records, "reconcile")
    assert reconcile["tick"] == 12 and {"venue_open", "canceled", "asked"} <= reconcile.keys()


def test_a_shard_that_stops_answering_is_logged_lost_back_and_given_up_on() -> None:
    config = settle(resolve(overrides={"symbols_count": 4, "shards": 2, "cluster": "in-process"},
                            override_source="setting")).config  # fmt: skip
    coordinator = Coordinator(config, [config.symbols[:2], config.symbols[2:]], [lambda _: None, lambda _: None])
    answers = ShardFigures(0, 0, 0, True)
    try:
        with captured() as records:
            coordinator._judge_lost([None, answers], 30.0, time.monotonic())
            coordinator._judge_lost([None, answers], 30.0, time.monotonic())  # still gone: said once
            coordinator._judge_lost([answers, answers], 30.0, time.monotonic())
            coordinator._judge_lost([answers, None], 30.0, time.monotonic())
            coordinator.lost[1] = time.monotonic() - 60.0  # gone for a minute
            coordinator._judge_lost([answers, None], 30.0, time.monotonic())
            coordinator._judge_lost([answers, None], 30.0, time.monotonic())  # asked again, logged once
    finally:
        coordinator.stop()
    assert [(r["event"], r["shard"]) for r in records if str(r.get("event", "")).startswith("shard_")] == [
        ("shard_lost", 0), ("shard_back", 0), ("shard_lost", 1), ("shard_given_up", 1),
    ]  # fmt: skip
    assert "not back within 30 s: freezing every shard" in of(records, "shard_given_up")[0]["message"]


# ---------------------------------------------------------------- the command


def test_the_command_logs_start_and_end_and_its_stdout_is_the_report_alone(
    capsys: pytest.CaptureFixture[str], restored_handlers: None
) -> None:
    flags = ["--iterations", "5", "--runtime", "sim"]
    assert main(flags, environ={}) == 0
    quiet = capsys.readouterr()
    assert quiet.err == ""  # the default level: an ordinary run writes nothing on stderr
    assert main([*flags, "--log-level", "INFO", "--log-format", "json"], environ={}) == 0
    loud = capsys.readouterr()
    assert loud.out == quiet.out and loud.out.count("\n") == 1  # logging changes nothing in the report
    lines = [json.loads(line) for line in loud.err.splitlines()]
    assert [line["event"] for line in lines] == ["start", "end"]
    end, report = lines[1], json.loads(loud.out)
    assert (end["ticks"], end["placed"], end["fills"], end["pnl_usd"], end["state"]) == (
        5, report["orders"]["placed"], report["fills"]["count"], report["pnl"]["total_usd"], report["risk"]["state"]
    )  # fmt: skip


def test_a_handler_that_raises_is_one_line_on_stderr_with_no_traceback(
    capsys: pytest.CaptureFixture[str], restored_handlers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    honest = RandomWalkMarket.mid_ticks

    def breaks_at_tick_4(self: RandomWalkMarket, symbol: str, tick: int) -> int:
        if tick >= 4:
            raise OSError("the market's file changed under the run")
        return honest(self, symbol, tick)

    monkeypatch.setattr(RandomWalkMarket, "mid_ticks", breaks_at_tick_4)
    assert main(["--iterations", "8", "--runtime", "sim"], environ={}) == 1  # the feed gave up: the run stopped
    done = capsys.readouterr()
    assert json.loads(done.out)["execution"]["ticks"] == 3 and done.out.count("\n") == 1
    assert "Traceback" not in done.err and "│" not in done.err
    assert "handler of feed raised OSError" in done.err and "the run stopped after tick 3" in done.err.splitlines()[-1]
