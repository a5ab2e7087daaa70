"""What a service manager and a terminal send: SIGTERM and SIGHUP end a run as Ctrl-C does, from the first moment.

``docker stop`` and systemd send SIGTERM, a closed terminal SIGHUP: the run
ends with one line, exit 128 + the signal's number, and a journal that
resumes.  The launchers (``bin/run-shadow``, ``python -m actors``) handle
them, and the kill switch, before the engine's modules load.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actors.cli._run_shadow import KILL_SWITCH_REASON
from actors.wire._journal import JournalError, JournalReader

ROOT = Path(__file__).resolve().parents[2]
RUN_SHADOW = ROOT / "bin" / "run-shadow"

pytestmark = pytest.mark.e2e


def environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MM_")} | {"PYTHONPATH": str(ROOT)}


def trading(venue: Path) -> bool:
    """Whether the venue's journal holds a placement yet (read as it is written: a half-written record is not read)."""
    try:
        return venue.exists() and any(record[0] == "place" for record in JournalReader(venue))
    except JournalError:  # its header not written in full yet
        return False


def stopped_while_trading(flags: list[str], venue: Path, number: int) -> tuple[int, str, str]:
    """``bin/run-shadow`` with ``flags``, sent signal ``number`` once its venue trades; exit status, stdout, stderr."""
    process = subprocess.Popen([sys.executable, str(RUN_SHADOW), *flags], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environ())  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not trading(venue):
            assert process.poll() is None and time.monotonic() < deadline, "the run did not start trading"
            time.sleep(0.01)
        process.send_signal(number)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, out, err


@pytest.mark.parametrize(("number", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_end_a_run_in_one_line_with_the_signal_s_status_and_a_journal_that_resumes(
    tmp_path: Path, number: int, status: int
) -> None:
    journal = tmp_path / "journal"
    flags = ["--runtime", "pool", "--symbols-count", "5", "--journal", str(journal), "--edge-threshold=-1e9"]
    code, out, err = stopped_while_trading([*flags, "--iterations", "1000000"], journal / "venue.journal", number)
    name = signal.Signals(number).name
    assert code == status and out == ""
    assert err.strip().splitlines() == [f"run-shadow: stopped by {name}; rerun with --journal {journal} to resume"]
    resumed = subprocess.run([sys.executable, str(RUN_SHADOW), *flags, "--iterations", "5"], capture_output=True,
                             text=True, env=environ(), timeout=120, check=False)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["execution"]["resumed_after_tick"] is not None


def test_sigterm_ends_an_in_process_sharded_run_in_one_line(tmp_path: Path) -> None:
    """No resume hint (a whole sharded run cannot go on yet), and no dead letters of the shards stopping mid-tick."""
    journal = tmp_path / "journal"
    flags = ["--shards", "2", "--cluster", "in-process", "--symbols-count", "6", "--iterations", "1000000",
             "--edge-threshold=-1e9", "--journal", str(journal)]  # fmt: skip
    code, out, err = stopped_while_trading(flags, journal / "shard-1" / "venue.journal", signal.SIGTERM)
    assert code == 143 and out == ""
    assert err.strip().splitlines() == ["run-shadow: stopped by SIGTERM"]


def launched_while_importing(launch: str, number: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``launch`` (Python lines that start the command) run with signal ``number`` sent while it imports the CLI."""
    code = (
        "import os, runpy, signal, sys\n"
        "class Pull:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == 'actors.cli._run_shadow': os.kill(os.getpid(), {int(number)})\n"
        "sys.meta_path.insert(0, Pull())\n"
        "sys.argv = ['run-shadow', '--runtime', 'sim', '--iterations', '3']\n"
        f"{launch}\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ(), timeout=120,
                          check=False, cwd=cwd)  # fmt: skip


LAUNCHERS = {
    "bin/run-shadow": f"runpy.run_path({str(RUN_SHADOW)!r}, run_name='__main__')",
    "python -m actors": "runpy.run_module('actors', run_name='__main__', alter_sys=True)",
}


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_sigterm_while_the_launcher_imports_the_engine_ends_it_in_one_line(tmp_path: Path, launcher: str) -> None:
    done = launched_while_importing(LAUNCHERS[launcher], signal.SIGTERM, tmp_path)
    assert done.returncode == 143 and done.stdout == ""
    assert done.stderr.strip().splitlines() == ["run-shadow: stopped by SIGTERM"]


def test_sigusr1_while_python_m_actors_imports_the_engine_halts_the_run_instead_of_killing_it(tmp_path: Path) -> None:
    """``python -m actors`` imported the whole engine before any handler existed: a pull then killed the process."""
    done = launched_while_importing(LAUNCHERS["python -m actors"], signal.SIGUSR1, tmp_path)
    assert done.returncode == 0, done.stderr
    risk = json.loads(done.stdout)["risk"]
    assert risk["last_freeze_reason"] == KILL_SWITCH_REASON and risk["freeze_tick"] == 0
