"""pykka's own test-suite, run against our runtimes (``bin/conformance``).

pykka's tests take a ``runtime`` fixture parametrised over a ``RUNTIMES``
dict in their ``conftest.py``; each entry names an actor base class, an event
class, a future class and a sleep function.  ``bin/conformance`` downloads
pykka's source distribution at run time (nothing of pykka is committed here),
inserts one line into that conftest which adds the runtimes built by
:func:`extra_runtimes`, and runs the suite.  pytest's output goes to stderr;
stdout gets one JSON line of counts.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pykka

from actors.runtime._pool import PoolFuture, PoolRuntime, _PoolMixin
from actors.runtime._sim import SimRuntime, _SimMixin

HOOK = (
    "from actors.tools.conformance import extra_runtimes as _extra\n"
    "RUNTIMES.update(_extra(Runtime, pytest, {names!r}))\n"
)
PIP_DOWNLOAD = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
PYTEST = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "-o", "addopts="]
ANCHOR = '@pytest.fixture(scope="session", params=RUNTIMES.values())'


# In sim, time is virtual: a sleep inside a handler takes no time, and a sleep
# or a wait in the test itself lets the scheduler run until nothing is left.
class _SimEvent(threading.Event):
    """An event whose ``wait`` first runs the sim until idle: in sim, time passes only when asked."""

    sim: SimRuntime

    def wait(self, timeout: float | None = None) -> bool:
        if not self.is_set():
            self.sim.run_until_idle()
        return super().wait(0)


def extra_runtimes(runtime_type: Callable[..., Any], pytest: Any, names: Sequence[str]) -> dict[str, Any]:
    """pytest params for pykka's ``runtime`` fixture: our runtimes as pykka's tests expect them."""
    params: dict[str, Any] = {}
    if "pool" in names:
        pool = PoolRuntime()
        pool_runtime = runtime_type(
            name="pool",
            actor_class=type("PoolActor", (_PoolMixin, pykka.Actor), {"_actors_runtime": pool}),
            event_class=threading.Event,
            future_class=PoolFuture,
            sleep_func=time.sleep,
        )
        params["pool"] = pytest.param(pool_runtime, id="pool")
    if "sim" in names:
        sim = SimRuntime(0)
        sim_runtime = runtime_type(
            name="sim",
            actor_class=type("SimActor", (_SimMixin, pykka.Actor), {"_actors_runtime": sim}),
            event_class=type("SimEvent", (_SimEvent,), {"sim": sim}),
            future_class=sim.future_class,
            sleep_func=lambda _seconds: None if sim.running_handler else sim.run_until_idle(),
        )
        params["sim"] = pytest.param(sim_runtime, id="sim")
    return params


def hook_conftest(text: str, names: Sequence[str]) -> str:
    """pykka's conftest with our runtimes added to its ``RUNTIMES`` just before the fixture reads it."""
    if ANCHOR not in text:
        raise ValueError("pykka's conftest has no runtime fixture to hook into")
    return text.replace(ANCHOR, HOOK.format(names=list(names)) + "\n\n" + ANCHOR)


def summarise(pytest_output: str) -> dict[str, int]:
    """The counts on pytest's last line: ``{"passed": 274, "failed": 1, ...}``."""
    lines = pytest_output.strip().splitlines() or [""]
    found = re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)", lines[-1])
    return {kind.rstrip("s") if kind.startswith("error") else kind: int(count) for count, kind in found}


def main(argv: Sequence[str] | None = None) -> int:
    """Download pykka's sdist, hook our runtimes in, run its tests; the last stdout line is JSON counts."""
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__)
    parser.add_argument("--runtimes", default="pool,sim", help="comma-separated: pool, sim (default both)")
    parser.add_argument("--version", default=metadata.version("pykka"), help="pykka version (default: installed)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    names = [n for n in args.runtimes.split(",") if n]
    unknown = sorted(set(names) - {"pool", "sim"}) or ([] if names else ["(none)"])
    if unknown:
        parser.exit(2, f"conformance: --runtimes {args.runtimes!r}: expected pool and/or sim, got {unknown}\n")
    workdir = Path(tempfile.mkdtemp(prefix="pykka-conformance-"))
    try:
        subprocess.run(
            [*PIP_DOWNLOAD, f"pykka=={args.version}", "-d", str(workdir)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with tarfile.open(next(workdir.glob("pykka-*.tar.gz"))) as tar:
            tar.extractall(workdir, filter="data")
        source = next(p for p in workdir.iterdir() if p.is_dir())
        conftest = source / "tests" / "conftest.py"
        try:
            conftest.write_text(hook_conftest(conftest.read_text(), names))
        except ValueError as exc:
            parser.exit(2, f"conformance: pykka {args.version}: {exc}\n")
        done = subprocess.run(
            [*PYTEST, "-k", " or ".join(names), "--timeout", "60", *args.pytest_args],
            cwd=source,
            capture_output=True,
            text=True,
            check=False,
        )
        sys.stderr.write(done.stdout[-4000:])
        counts = summarise(done.stdout)
        sys.stdout.write(json.dumps({"pykka": args.version, "runtimes": names, **counts}, sort_keys=True) + "\n")
        return done.returncode
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
