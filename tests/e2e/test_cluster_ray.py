"""Sharded runs on a local Ray instance, as a user runs them: ``bin/run-shadow --shards N``, ``bin/mm-freeze``.

Ray is the ``cluster`` extra; ``bin/install-test-deps`` installs it, so these
run in CI (2 cores: at most 3 shards, generous timeouts).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from actors.assembly._recovery import STORE_JOURNAL, VENUE_JOURNAL
from tests.e2e.run_kit import DEADLINE_S, halted, held_environ, placed_an_order, shows, wait_until

ray = pytest.importorskip("ray", reason="the cluster extra: pip install -e '.[cluster]'")

ROOT = Path(__file__).resolve().parents[2]
RUN_SHADOW = ROOT / "bin" / "run-shadow"
MM_FREEZE = ROOT / "bin" / "mm-freeze"
HOSTILE = [
    "--symbols-count", "7", "--iterations", "40", "--edge-threshold", "25", "--edge-min-fills", "20",
    "--place-error-rate", "0.1", "--cancel-error-rate", "0.1", "--timeout-rate", "0.05",
    "--duplicate-fill-rate", "0.1", "--cancel-race-rate", "0.1", "--reject-rate", "0.05",
    "--out-of-order-rate", "0.2", "--unknown-fill-rate", "0.1",
]  # fmt: skip
ADDRESS = re.compile(r"on Ray at (\S+) .*--run (\S+)")

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600), pytest.mark.xdist_group("ray")]  # one Ray instance at a time


def environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MM_", "RAY_ADDRESS"))}


def run_shadow(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUN_SHADOW), *args], capture_output=True, text=True, env=environ(),
                          timeout=timeout, check=False)  # fmt: skip


HOLD_TICK = 30
"""The background runs below are held at this tick of every shard's venue until the test lets them go on."""


def start_shadow(*args: str, release: Path) -> tuple[subprocess.Popen[str], str, str]:
    """A sharded run in the background, once its shards are up: the process, the cluster's address, the run's name.

    Every shard's venue waits at :data:`HOLD_TICK` until the file ``release``
    exists (tests/e2e/run_kit.py): the run is still going when the test acts
    on it, on any machine.
    """
    process = subprocess.Popen([sys.executable, str(RUN_SHADOW), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env=held_environ(HOLD_TICK, release, environ()))  # fmt: skip
    assert process.stderr is not None
    deadline = time.monotonic() + DEADLINE_S
    for line in process.stderr:
        found = ADDRESS.search(line)
        if found:
            return process, found.group(1), found.group(2)
        assert time.monotonic() < deadline, "the run never said where its shards are"
    raise AssertionError(f"the run ended before its shards were up: {process.wait()}")


def finish(process: subprocess.Popen[str], release: Path | None) -> tuple[int, dict[str, object], str]:
    """Let the held run go on (``release``; None: a run not held), and its exit status, report and stderr (killed
    after 400 s: a hang)."""
    if release is not None:
        release.touch()
    try:
        out, err = process.communicate(timeout=400)
    finally:
        process.kill()
    return process.returncode, json.loads(out) if out.strip() else {}, err


def test_two_and_three_shards_on_ray_print_the_bytes_of_one_process_on_a_hostile_venue() -> None:
    one = run_shadow(*HOSTILE, "--runtime", "sim")
    assert one.returncode == 0, one.stderr
    for shards in ("2", "3"):
        sharded = run_shadow(*HOSTILE, "--shards", shards)
        assert sharded.returncode == 0, sharded.stderr[-2000:]
        assert sharded.stdout == one.stdout, f"--shards {shards} differs from one process"


def test_one_shard_on_ray_prints_the_bytes_of_one_process_and_reports_what_it_cost() -> None:
    """In this process (the driver's side of the Ray host runs here): the text, and the figures the bench reads."""
    from actors.assembly._config import resolve
    from actors.cli._run_shadow import run
    from actors.cluster._ray import run_on_ray

    settings = {"symbols_count": 5, "iterations": 30, "edge_threshold": -1000.0}
    one = run(resolve(overrides=settings, override_source="setting"))
    figures: dict[str, object] = {}
    config = resolve(overrides={**settings, "shards": 1, "cluster": "local"}, override_source="setting")
    text, ended = run_on_ray(config, figures=figures)
    assert text == one and not ended.early
    expected = {"start_s", "run_s", "shard_peak_rss_mb", "coordinator_peak_rss_mb", "freeze_latency_ms", "machine"}
    assert set(figures) >= expected
    assert figures["freeze_latency_ms"] is None  # nothing froze
    peaks = figures["shard_peak_rss_mb"]
    assert isinstance(peaks, list) and len(peaks) == 1 and peaks[0] > 10
    cpu = figures["shard_cpu_s"]  # the shard did the run's work: CPU seconds of its own, the coordinator's beside
    assert isinstance(cpu, list) and len(cpu) == 1 and cpu[0] > 0
    assert isinstance(figures["coordinator_cpu_s"], float) and figures["coordinator_cpu_s"] > 0


def test_mm_freeze_from_another_process_freezes_every_shard_and_the_freeze_is_confirmed(tmp_path: Path) -> None:
    release = tmp_path / "release"
    process, address, name = start_shadow("--shards", "2", "--symbols-count", "20", "--iterations", "60",
                                          "--edge-threshold", "-1000", "--runtime", "pool",
                                          release=release)  # fmt: skip
    try:
        done = subprocess.run([sys.executable, str(MM_FREEZE), "--cluster", address, "--reason", "x", "--run", "other"],
                              capture_output=True, text=True, env=environ(), timeout=120, check=False)  # fmt: skip
        assert done.returncode == 2 and f"no sharded run on the cluster at {address} named other" in done.stderr
        done = subprocess.run([sys.executable, str(MM_FREEZE), "--cluster", address, "--run", name, "--reason",
                               "desk says stop"], capture_output=True, text=True, env=environ(), timeout=120,
                              check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"froze {name}" in done.stderr  # the coordinator has the request: the run may go on
    finally:
        code, report, err = finish(process, release)
    assert code == 0, err[-2000:]
    risk = report["risk"]
    assert isinstance(risk, dict)
    assert risk["frozen"] and risk["freeze_confirmed"]
    assert risk["last_freeze_reason"] == "Operator: desk says stop"
    assert risk["freeze_tick"] <= HOLD_TICK + 1  # it landed while the run went on
    orders = report["orders"]
    assert isinstance(orders, dict) and orders["open"] == 0
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"]


def test_sigusr1_to_the_command_freezes_every_shard_as_mm_freeze_does(tmp_path: Path) -> None:
    from actors.cli._run_shadow import KILL_SWITCH_REASON

    release, journal = tmp_path / "release", tmp_path / "journal"
    # threads: a shard's store journals the halt while its venue is held (the pool's one worker would wait)
    process, _address, _name = start_shadow("--shards", "2", "--symbols-count", "10", "--iterations", "60",
                                            "--edge-threshold", "-1000", "--runtime", "threads", "--journal",
                                            str(journal), release=release)  # fmt: skip
    shard_journals = [journal / f"shard-{index}" for index in (0, 1)]
    try:
        wait_until(lambda: all(placed_an_order(shard / VENUE_JOURNAL) for shard in shard_journals), process,
                   "both shards took orders")  # fmt: skip
        process.send_signal(signal.SIGUSR1)
        wait_until(lambda: all(halted(shard / STORE_JOURNAL) for shard in shard_journals), process,
                   "both shards' stores journaled the halt")  # fmt: skip
    finally:
        code, report, err = finish(process, release)
    assert code == 0, err[-2000:]
    risk = report["risk"]
    assert isinstance(risk, dict) and risk["last_freeze_reason"] == KILL_SWITCH_REASON
    assert risk["frozen"] and risk["freeze_confirmed"] and risk["state"] == "HALTED"
    orders = report["orders"]
    assert isinstance(orders, dict) and orders["open"] == 0


def shard_pid(address: str, name: str, index: int) -> int:
    """The process id of one shard of the run ``name`` on the cluster at ``address``."""
    script = (  # a client of a local instance: token auth, and the loopback as its node (actors/cluster/_address.py)
        "import os; os.environ.setdefault('RAY_AUTH_MODE', 'token');"
        "os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0'); import ray;"
        f"ray.init(address={address!r}, namespace='mm-shadow', log_to_driver=False);"
        f"print(ray.get(ray.get_actor({name + '-shard-' + str(index)!r}).pid.remote()))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environ(), timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1])


def test_a_shard_killed_mid_run_comes_back_replays_its_journal_and_the_counts_add_up(tmp_path: Path) -> None:
    release, journal = tmp_path / "release", tmp_path / "journal"
    process, address, name = start_shadow("--shards", "2", "--symbols-count", "20", "--iterations", "80",
                                          "--edge-threshold", "-1000", "--runtime", "pool",
                                          "--journal", str(journal), release=release)  # fmt: skip
    try:
        wait_until(lambda: shows(journal / "shard-1" / STORE_JOURNAL, "fill"), process, "shard 1 trading")
        os.kill(shard_pid(address, name, 1), signal.SIGKILL)
    finally:
        code, report, err = finish(process, release)
    assert code == 0, err[-3000:]
    execution, orders, risk = report["execution"], report["orders"], report["risk"]
    assert isinstance(execution, dict) and isinstance(orders, dict) and isinstance(risk, dict)
    assert execution["ticks"] == 80
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"] + orders["open"]
    assert not str(risk["last_freeze_reason"] or "").startswith("Reconciliation"), risk
    assert "shards" not in report
    assert (journal / "shard-1" / "incarnation").read_text() == "2"  # it did die and come back


def test_a_shard_that_does_not_come_back_freezes_every_shard_naming_it(tmp_path: Path) -> None:
    release, journal = tmp_path / "release", tmp_path / "journal"
    process, address, name = start_shadow("--shards", "2", "--symbols-count", "20", "--iterations", "80",
                                          "--edge-threshold", "-1000", "--runtime", "pool", "--journal",
                                          str(journal), "--shard-restart-timeout", "5", release=release)  # fmt: skip
    try:
        store = journal / "shard-1" / STORE_JOURNAL
        wait_until(lambda: shows(store, "fill"), process, "shard 1 trading")
        store.unlink()
        store.mkdir()  # the restarted shard cannot open its journal: it never comes back
        os.kill(shard_pid(address, name, 1), signal.SIGKILL)
    finally:
        code, report, err = finish(process, release)
    assert code == 1, err[-3000:]
    risk = report["risk"]
    assert isinstance(risk, dict) and risk["frozen"]
    assert str(risk["last_freeze_reason"]).startswith("Shard lost: shard 1 (10 symbols")
    assert report["shards"] == {"lost": [1], "lost_symbols": 10}
    assert "the run stopped after tick" in err or "freeze could not complete" in err


def test_without_ray_two_shards_end_with_one_line_saying_how_to_install_it(tmp_path: Path) -> None:
    hide = tmp_path / "ray.py"
    hide.write_text("raise ImportError('hidden for this test')\n")
    env = environ() | {"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    done = subprocess.run([sys.executable, str(RUN_SHADOW), "--shards", "2", "--symbols-count", "3"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "run-shadow: error: --shards 2: sharding over processes needs Ray: pip install -e '.[cluster]' "
        "(or --cluster in-process)"
    ]


# ---------------------------------------------------------------- signals, and what a run leaves behind


def in_session(process: subprocess.Popen[str]) -> dict[int, str]:
    """The live processes of the run ``process`` started in a session of its own: the driver and all of Ray's."""
    listing = subprocess.run(["ps", "-ww", "-eo", "pid=,sid=,stat=,args="], capture_output=True, text=True,
                             check=True)  # fmt: skip  # -ww: whole command lines, whatever COLUMNS says
    found: dict[int, str] = {}
    for line in listing.stdout.splitlines():
        pid, sid, stat, args = line.split(None, 3)
        if int(sid) == process.pid and not stat.startswith("Z"):
            found[int(pid)] = args
    return found


def started_alone(*args: str, release: Path | None = None) -> tuple[subprocess.Popen[str], str, list[str]]:
    """A sharded run in a session of its own (so that all its processes can be found), once its shards are up:
    the process, the run's name, the stderr lines so far.  With ``release``, held as :func:`start_shadow`'s are."""
    env = environ() if release is None else held_environ(HOLD_TICK, release, environ())
    process = subprocess.Popen([sys.executable, str(RUN_SHADOW), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)  # fmt: skip
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:
        lines.append(line)
        found = ADDRESS.search(line)
        if found:
            return process, found.group(2), lines
    raise AssertionError(f"the run ended before its shards were up: {process.wait()} {''.join(lines)}")


def nothing_left(process: subprocess.Popen[str], name: str) -> None:
    """Wait until no process of the run and none of its shards' temporary journals are left (a generous deadline)."""
    deadline = time.monotonic() + 120
    temporary = Path(tempfile.gettempdir())
    while True:
        left, files = in_session(process), sorted(temporary.glob(f"mm-{name}-*"))
        if not left and not files:
            return
        assert time.monotonic() < deadline, f"left behind: {left} {files}"
        time.sleep(0.1)


def test_sigterm_to_a_run_on_ray_ends_it_in_one_line_and_leaves_no_process_and_no_file() -> None:
    """As ``docker stop`` or systemd stop it: not Ray's stack dump and SIGABRT; nor a line of Ray's on stderr."""
    process, name, lines = started_alone("--shards", "2", "--symbols-count", "40", "--iterations", "100000",
                                         "--edge-threshold", "-1000", "--runtime", "pool")  # fmt: skip
    try:
        assert any("ray::ShardHost" in args for args in in_session(process).values())
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 143 and out == ""
    said = [*lines, *err.splitlines(keepends=True)]
    assert len(said) == 2 and said[0].startswith("run-shadow: 2 shards on Ray at") and "Ray's own log: " in said[0]
    assert said[1] == "run-shadow: stopped by SIGTERM\n"
    log = Path(said[0].partition("Ray's own log: ")[2].partition(")")[0])
    assert "Started a local Ray instance" in log.read_text()  # Ray's words went there
    nothing_left(process, name)


@pytest.mark.parametrize("killed", ["driver", "coordinator"])
def test_a_driver_or_coordinator_killed_outright_leaves_no_process_and_no_temporary_journal(killed: str) -> None:
    process, name, _ = started_alone("--shards", "2", "--symbols-count", "40", "--iterations", "100000",
                                     "--edge-threshold", "-1000", "--runtime", "pool")  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(list(Path(tempfile.gettempdir()).glob(f"mm-{name}-*"))) < 2:  # the shards journal there
            assert time.monotonic() < deadline, "the shards made no temporary journal"
            time.sleep(0.05)
        if killed == "driver":
            process.kill()
        else:
            (pid,) = [pid for pid, args in in_session(process).items() if args.startswith("ray::CoordinatorHost")]
            os.kill(pid, signal.SIGKILL)
        out, err = process.communicate(timeout=300)
    finally:
        process.kill()
    if killed == "coordinator":
        assert process.returncode == 1 and out == ""
        assert err.strip().splitlines() == [
            "run-shadow: error: the coordinator died (The actor died unexpectedly before finishing this task.); "
            "the run cannot finish"
        ]
    nothing_left(process, name)


def listening(pids: set[int]) -> list[str]:
    """The local addresses the processes ``pids`` listen on (TCP), from ``ss -ltnpH``."""
    listing = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in listing.splitlines():
        columns = line.split()
        owners = {int(pid) for pid in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            found.append(columns[3])
    return found


def test_a_local_instance_listens_on_the_loopback_address_only(tmp_path: Path) -> None:
    """Ray 2.60 listens on every address unless told the node is the loopback one (docs/SCALING.md)."""
    release = tmp_path / "release"
    process, _, _ = started_alone("--shards", "2", "--symbols-count", "10", "--iterations", "100",
                                  "--edge-threshold", "-1000", "--runtime", "pool", release=release)  # fmt: skip
    try:
        addresses = listening(set(in_session(process)))
    finally:
        code, _, err = finish(process, release)
    assert code == 0, err[-3000:]
    assert len(addresses) >= 3  # the GCS, the raylet, the workers at least
    hosts = {address.rpartition(":")[0] for address in addresses}
    assert hosts <= {"127.0.0.1", "[::ffff:127.0.0.1]", "[::1]"}, addresses


def test_a_shard_away_longer_than_the_restart_timeout_freezes_every_shard_naming_it(tmp_path: Path) -> None:
    """Ray brings a killed shard back in about 1.5 s: with --shard-restart-timeout 0.2 that is too long."""
    release = tmp_path / "release"  # held at HOLD_TICK: the run is still going when its shard is killed
    process, _, _ = started_alone("--shards", "2", "--symbols-count", "40", "--iterations", "3000",
                                  "--edge-threshold", "-1000", "--runtime", "pool",
                                  "--shard-restart-timeout", "0.2", release=release)  # fmt: skip
    try:
        shards = [pid for pid, args in in_session(process).items() if args.startswith("ray::ShardHost")]
        assert len(shards) == 2
        os.kill(shards[0], signal.SIGKILL)
    finally:
        code, report, err = finish(process, release)
    assert code == 0, err[-3000:]
    risk = report["risk"]
    assert isinstance(risk, dict) and risk["frozen"] and risk["freeze_confirmed"]
    reason = str(risk["last_freeze_reason"])
    assert reason.startswith("Shard lost: shard ") and reason.endswith("not back within 0.2 s")
    assert "shards" not in report  # it came back: its orders are in the counts


def test_sigusr1_while_ray_starts_halts_the_run_before_any_order() -> None:
    """The freeze reaches the shards before they start (kept aside, it used to be lost and the run stalled)."""
    from actors.cli._run_shadow import KILL_SWITCH_REASON

    process = subprocess.Popen([sys.executable, str(RUN_SHADOW), "--shards", "2", "--symbols-count", "40",
                                "--iterations", "50", "--edge-threshold", "-1000", "--runtime", "pool"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ(),
                               start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not any("_reaper.py" in args for args in in_session(process).values()):  # started before Ray is
            assert process.poll() is None and time.monotonic() < deadline, "the run never started Ray"
            time.sleep(0.01)
        process.send_signal(signal.SIGUSR1)
    finally:
        code, report, err = finish(process, None)
    assert code == 0, err[-3000:]
    risk, orders = report["risk"], report["orders"]
    assert isinstance(risk, dict) and isinstance(orders, dict)
    assert risk["last_freeze_reason"] == KILL_SWITCH_REASON and risk["freeze_tick"] == 0 and risk["freeze_confirmed"]
    assert orders["placed"] == 0
