"""The operator's kill switch: SIGUSR1 to a running ``bin/run-shadow`` halts it, and the report says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from actors.assembly._recovery import STORE_JOURNAL
from actors.cli._run_shadow import KILL_SWITCH_REASON
from tests.e2e.run_kit import DEADLINE_S, first_placement_tick, halted, held_environ, placed_an_order, wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


HOLD_TICK = 50
"""The runs below are held at this tick of their venue until the pull has halted them (tests/e2e/run_kit.py)."""


def pulled_while_trading(flags: list[str], venue: Path) -> dict[str, Any]:
    """``bin/run-shadow`` with ``flags``, SIGUSR1 once its venue's journal shows an order placed; its report (exit 0).

    The run is held at :data:`HOLD_TICK` of its venue until the store beside
    it has journaled the halt, so on any machine the pull lands while the run
    trades: after its first order, before its last tick (``flags`` run past
    :data:`HOLD_TICK`, with ``--journal``).
    """
    release = venue.parent / "released"
    process = subprocess.Popen([sys.executable, str(ROOT / "bin" / "run-shadow"), *flags], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=held_environ(HOLD_TICK, release))  # fmt: skip
    try:
        wait_until(lambda: placed_an_order(venue), process, "its venue took an order")
        process.send_signal(signal.SIGUSR1)
        wait_until(lambda: halted(venue.with_name(STORE_JOURNAL)), process, "its store journaled the halt")
        release.touch()
        out, err = process.communicate(timeout=DEADLINE_S)
    finally:
        process.kill()
    assert process.returncode == 0, err
    report: dict[str, Any] = json.loads(out)
    assert first_placement_tick(venue) <= report["risk"]["freeze_tick"] <= HOLD_TICK + 1  # halted while it traded
    return report


@pytest.mark.parametrize("runtime", ["threads", "pool", "sim"])
def test_sigusr1_halts_a_running_shadow_run_for_good_and_the_report_shows_the_operator(
    tmp_path: Path, runtime: str
) -> None:
    journal = tmp_path / "journal"  # only to see that the run is trading before the switch is pulled
    flags = ["--runtime", runtime, "--symbols-count", "5", "--iterations", "600", "--edge-threshold=-1e9",
             "--resume-after-ticks", "1", "--journal", str(journal)]  # fmt: skip
    report = pulled_while_trading(flags, journal / "venue.journal")
    risk = report["risk"]
    assert risk["last_freeze_reason"] == KILL_SWITCH_REASON and KILL_SWITCH_REASON.startswith("Operator")
    assert risk["frozen"] and risk["state"] == "HALTED" and risk["freeze_confirmed"]  # an operator's halt is final
    assert [move["to"] for move in risk["transitions"]] == ["HALTED"]
    assert 0 < risk["freeze_tick"] < 600 and report["execution"]["ticks"] == 600
    assert report["orders"]["open"] == 0 and report["orders"]["placed"] > 0


def test_sigusr1_halts_every_shard_of_an_in_process_sharded_run(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    flags = ["--shards", "2", "--cluster", "in-process", "--symbols-count", "6", "--iterations", "600",
             "--edge-threshold=-1e9", "--journal", str(journal)]  # fmt: skip
    report = pulled_while_trading(flags, journal / "shard-1" / "venue.journal")
    risk = report["risk"]
    assert risk["last_freeze_reason"] == KILL_SWITCH_REASON and risk["frozen"] and risk["freeze_confirmed"]
    assert 0 < risk["freeze_tick"] < 600 and report["execution"]["ticks"] == 600
    assert report["orders"]["open"] == 0 and report["orders"]["placed"] > 0


def test_a_deferred_freeze_makes_the_pull_from_its_own_thread_once_and_none_after_the_run() -> None:
    from actors.cluster._kill_switch import DeferredFreeze

    told: list[tuple[str, str]] = []
    pull = DeferredFreeze(lambda reason: told.append((reason, threading.current_thread().name)))
    pull.freeze_from_signal("first")
    pull.freeze_from_signal("second")  # a second pull changes nothing
    deadline = time.monotonic() + DEADLINE_S  # only a hang takes that long
    while not told and time.monotonic() < deadline:
        time.sleep(0.01)
    pull.close()
    assert told == [("first", "kill-switch")] and pull.sent
    late = DeferredFreeze(lambda reason: told.append((reason, "late")))
    late.close()
    assert not late.thread.is_alive()  # nothing is left that could make a pull from now on
    late.freeze_from_signal("after the run")
    assert told == [("first", "kill-switch")]


def test_a_kill_switch_pulled_before_the_system_exists_halts_it_as_it_starts() -> None:
    from actors.assembly._config import resolve
    from actors.cli._run_shadow import KillSwitch, run

    pulled = KillSwitch()
    pulled(signal.SIGUSR1, None)  # as if the signal came while the flags were read
    config = resolve(overrides={"runtime": "sim", "iterations": 5}, override_source="setting")
    risk = json.loads(run(config, kill_switch=pulled))["risk"]
    assert risk["last_freeze_reason"] == KILL_SWITCH_REASON and risk["freeze_tick"] == 0 and risk["frozen"]


def test_sigusr1_during_start_up_does_not_kill_the_command() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    code = (  # the signal lands while the flags are parsed, before any system exists
        "import os, signal, sys; import actors.cli._run_shadow as cli; real = cli.parse_config; "
        "cli.parse_config = lambda *a: (os.kill(os.getpid(), signal.SIGUSR1), real(*a))[1]; "
        "sys.exit(cli.main(['--runtime', 'sim', '--iterations', '3']))"
    )
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, env=environ, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["risk"]["last_freeze_reason"] == KILL_SWITCH_REASON


def test_sigusr1_while_the_launcher_imports_the_engine_halts_the_run_instead_of_killing_it(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    code = (  # the signal lands as bin/run-shadow imports actors.cli._run_shadow, long before main() runs
        "import os, runpy, signal, sys\n"
        "class Pull:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'actors.cli._run_shadow': os.kill(os.getpid(), signal.SIGUSR1)\n"
        "sys.meta_path.insert(0, Pull())\n"
        "sys.argv = ['run-shadow', '--runtime', 'sim', '--iterations', '3']\n"
        f"runpy.run_path({str(ROOT / 'bin' / 'run-shadow')!r}, run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=60,
                          check=False, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    risk = json.loads(done.stdout)["risk"]
    assert risk["last_freeze_reason"] == KILL_SWITCH_REASON and risk["freeze_tick"] == 0


def test_sigusr1_as_the_command_returns_neither_kills_it_nor_loses_the_report() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    code = (  # the operator pulls once the run is over, as bin/run-shadow exits
        "import os, runpy, signal, sys, time\n"
        "sys.argv = ['run-shadow', '--runtime', 'sim', '--iterations', '3']\n"
        "try:\n"
        f"    runpy.run_path({str(ROOT / 'bin' / 'run-shadow')!r}, run_name='__main__')\n"
        "finally:\n"  # a Python handler left now would be reset to the default (kill) as the interpreter exits
        "    sys.stderr.write(f'disposition {signal.getsignal(signal.SIGUSR1)!r}')\n"
        "    os.kill(os.getpid(), signal.SIGUSR1); time.sleep(0.05)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith("disposition <Handlers.SIG_IGN: 1>")
    assert json.loads(done.stdout)["execution"]["ticks"] == 3


# ---------------------------------------------------------------- a sharded run: the pull always lands


def pulled_sharded_run(monkeypatch: pytest.MonkeyPatch, *, pull_as_the_wait_ends: bool = False) -> dict[str, Any]:
    """An in-process sharded run's report, the kill switch pulled before it starts, or as its wait first ends."""
    from actors.assembly._config import resolve
    from actors.cli._run_shadow import KillSwitch, run
    from actors.cluster._coordinator_host import Coordinator

    switch = KillSwitch()
    if pull_as_the_wait_ends:
        original = Coordinator.wait
        calls: list[int] = []

        def pulled_as_it_returns(self: Coordinator, *args: Any, **kwargs: Any) -> Any:
            ended = original(self, *args, **kwargs)
            if not calls:  # the operator's signal, landing as the wait found the run over
                calls.append(1)
                switch(signal.SIGUSR1, None)
            return ended

        monkeypatch.setattr(Coordinator, "wait", pulled_as_it_returns)
    else:
        switch(signal.SIGUSR1, None)  # as if the signal came while the flags were read, or Ray started
    settings = {"symbols_count": 6, "iterations": 20, "edge_threshold": -1000.0, "shards": 2, "cluster": "in-process"}
    report: dict[str, Any] = json.loads(run(resolve(overrides=settings, override_source="setting"), kill_switch=switch))
    return report


def test_a_kill_switch_pulled_before_a_sharded_run_starts_halts_every_shard_before_any_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The freeze reaches the shards before they start: it was kept aside, never handed on, and the run stalled."""
    from actors.assembly._config import resolve
    from actors.cli._run_shadow import KillSwitch, run

    report = pulled_sharded_run(monkeypatch)
    risk = report["risk"]
    assert risk["last_freeze_reason"] == KILL_SWITCH_REASON and risk["freeze_tick"] == 0 and risk["freeze_confirmed"]
    assert report["orders"]["placed"] == 0 and report["execution"]["ticks"] == 20
    one = KillSwitch()
    one(signal.SIGUSR1, None)
    settings = {"symbols_count": 6, "iterations": 20, "edge_threshold": -1000.0, "runtime": "sim"}
    assert report == json.loads(run(resolve(overrides=settings, override_source="setting"), kill_switch=one))


def test_a_pull_that_comes_as_a_sharded_run_s_wait_ends_is_in_its_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """The thread that hands the pull on is closed only once the pull is made, and the coordinator waits for it."""
    report = pulled_sharded_run(monkeypatch, pull_as_the_wait_ends=True)
    risk = report["risk"]
    assert risk["last_freeze_reason"] == KILL_SWITCH_REASON and risk["frozen"] and risk["freeze_confirmed"]
    assert risk["freeze_tick"] == 20 and report["orders"]["open"] == 0 and report["orders"]["placed"] > 0


def test_a_freeze_once_a_sharded_run_is_over_changes_nothing_and_says_so() -> None:
    from actors.assembly._config import resolve
    from actors.cluster import partition
    from actors.cluster._coordinator_host import Coordinator

    config = resolve(overrides={"symbols_count": 4, "iterations": 3, "shards": 2}, override_source="setting")
    coordinator = Coordinator(config, partition(config.symbols, 2), [lambda _data: None, lambda _data: None])
    try:
        assert coordinator.freeze("desk says stop")  # taken: the run is not over
        assert not coordinator.close()  # a freeze since the wait last looked: the host waits again
        coordinator.freezes_looked = coordinator.freezes  # as the next look records
        assert coordinator.close()
        assert not coordinator.freeze("too late")  # bin/mm-freeze says so, exit 2
    finally:
        coordinator.stop()


@pytest.mark.parametrize("runtime", ["sim", "pool"])
def test_system_freeze_before_the_system_starts_halts_the_run_before_any_order(runtime: str) -> None:
    """It was told to an address with no actor yet: dead-lettered, and the run traded on."""
    from actors.assembly._report import build_report
    from actors.assembly._system import System
    from actors.runtime import create_runtime

    system = System.build(create_runtime(runtime), symbols_count=4, iterations=10, edge_threshold=-1000.0)
    system.freeze("desk says stop")
    try:
        system.start()
        system.run()
        report = build_report(system)
    finally:
        system.stop()
    risk = report["risk"]
    assert risk["last_freeze_reason"] == "Operator: desk says stop" and risk["freeze_tick"] == 0
    assert report["orders"]["placed"] == 0 and report["messages"]["dead_letters"] == 0
