"""What a sharded run leaves behind on this machine if its driver dies: ended by a process of its own.

A run on a local Ray instance owns that instance: its driver (``bin/run-shadow``)
started it, and stops it as the run ends, however it ends, and removes the
shards' temporary journals.  A driver killed outright (SIGKILL, the OOM
killer) does neither: Ray's own processes die with it, but its agents and its
workers can outlive it for a minute (measured: 20 to 60 s), and the temporary
journals would stay for good.  So the driver starts this script beside it,
as a plain script (``python -I -S _reaper.py``: the standard library only,
nothing of the engine), and tells it on its standard input, one JSON object
a line, what to clean up:

- ``{"glob": PATTERN}``: the shards' temporary journal directories;
- ``{"pids": [...], "raylet": PID}``: the instance's processes the driver
  started and the raylet's (its agents), and its raylet, whose workers carry
  ``RAY_RAYLET_PID`` in their environment;
- ``{"done": true}``: the driver cleaned up itself.

At the end of its input without ``done`` (the driver is gone: the kernel
closed the pipe), it kills those processes, waits until they are gone and
removes those directories.  It ignores the signals a terminal or a service
manager sends a process group (SIGINT, SIGTERM, SIGHUP): it must outlive the
driver they end, and it ends by itself as soon as the driver has.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

GONE_S = 10.0
"""How long to wait for the killed processes to be gone before the directories are removed anyway."""


def main() -> int:
    """Read what to clean up until the driver is done or gone; clean up if it is gone."""
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(number, signal.SIG_IGN)
    patterns: list[str] = []
    pids: set[int] = set()
    marks: set[str] = set()
    for line in sys.stdin:
        try:
            told = json.loads(line)
        except ValueError:
            continue
        if told.get("done"):
            return 0
        if "glob" in told:
            patterns.append(str(told["glob"]))
        pids.update(int(pid) for pid in told.get("pids", ()))
        if "raylet" in told:
            marks.add(f"RAY_RAYLET_PID={int(told['raylet'])}")
    targets = {pid for pid in pids if _is_ray(pid)} | _marked(marks)
    targets.discard(os.getpid())
    for pid in targets:
        with contextlib.suppress(OSError):  # gone already
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + GONE_S
    while any(_alive(pid) for pid in targets) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pattern in patterns:
        for path in glob.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)
    return 0


def _marked(marks: set[str]) -> set[int]:
    """Processes whose environment holds one of ``marks`` (the instance's workers)."""
    found: set[int] = set()
    if not marks:
        return found
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(item.decode(errors="replace") in marks for item in environ):
            found.add(int(entry.name))
    return found


def _is_ray(pid: int) -> bool:
    """Whether ``pid`` is still one of Ray's processes (a pid can be reused by then)."""
    try:
        return b"ray" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie waiting for its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


if __name__ == "__main__":
    sys.exit(main())
