"""Waiting on a ``bin/run-shadow`` started in the background: for what its journals show, never for a while.

A test that acts on a running run (pulls its kill switch, kills it, kills a
shard) waits for the condition it needs, read from the run's journals with
:class:`~actors.wire._journal.JournalReader` (a torn last record is simply
not read yet), with a deadline that only bounds a hang.  A run that must
still be going when the test acts is *held* (:func:`held_environ`): its
venue stops at a tick until the test lets it go on, so neither a fast
machine (the run over first) nor a slow one (a deadline too short) decides
the outcome.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from actors.wire._journal import JournalReader, Record

DEADLINE_S = 90.0
"""How long a test waits for a run to show what it waits for: only a hang takes that long (pytest's limit: 120 s)."""
HELD = Path(__file__).resolve().with_name("held")


def environ() -> dict[str, str]:
    """This process's environment without the ``MM_`` settings, which would change the runs."""
    return {key: value for key, value in os.environ.items() if not key.startswith("MM_")}


def held_environ(tick: int, release: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default :func:`environ`) for a run whose venue waits at ``tick`` until released.

    Released when the file ``release`` exists or the process's kill switch
    (SIGUSR1) has been pulled (``tests/e2e/held/sitecustomize.py``).
    """
    held = dict(environ() if base is None else base)
    held["PYTHONPATH"] = os.pathsep.join([str(HELD), *([held["PYTHONPATH"]] if held.get("PYTHONPATH") else [])])
    held["ACTORS_TEST_HOLD"] = f"{tick}:{release}"
    return held


@contextmanager
def running(command: Sequence[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """``command`` in the background, killed on the way out however the test ends: no run outlives its test."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        yield process
    finally:
        process.kill()
        process.communicate()


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    """Return once ``condition()`` holds; fail if ``process`` ends first or :data:`DEADLINE_S` passes."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"the run ended (exit {process.returncode}) before {what}: {err[-2000:]}")
        assert time.monotonic() < deadline, f"not within {DEADLINE_S:.0f} s: {what}"
        time.sleep(0.01)


def records(journal: Path) -> list[Record]:
    """The whole records of ``journal`` so far (none while it does not exist)."""
    return list(JournalReader(journal))


def shows(journal: Path, kind: str) -> bool:
    """Whether ``journal`` holds a record of ``kind`` (``place``, ``fill``, ``freeze``, ...)."""
    return any(record[0] == kind for record in records(journal))


def placed_an_order(venue_journal: Path) -> bool:
    """Whether the venue's journal shows an order placed: the run is trading."""
    return shows(venue_journal, "place")


def halted(store_journal: Path) -> bool:
    """Whether the store's journal shows the run halted (the store's ``freeze`` record)."""
    return shows(store_journal, "freeze")


def venue_tick(venue_journal: Path) -> int:
    """The last tick the venue's journal shows it moved to (0 before the first)."""
    ticks = [record[1] for record in records(venue_journal) if record[0] == "advance"]
    return int(ticks[-1]) if ticks else 0


def first_placement_tick(venue_journal: Path) -> int:
    """The tick at which the venue took its first order."""
    tick = 0
    for record in records(venue_journal):
        if record[0] == "advance":
            tick = int(record[1])
        elif record[0] == "place":
            return tick
    raise AssertionError(f"{venue_journal}: no order placed")
