"""Holds a test's run at one tick of its venue, so a test acts on a run that cannot end first.

``tests/e2e/run_kit.py`` puts this directory on ``PYTHONPATH`` and sets
``ACTORS_TEST_HOLD=TICK:PATH`` for the runs it starts; Python imports this
module as every such process starts (Ray's shard processes included: they
inherit the environment).  Then the fake venue's ``advance`` waits, from
``TICK`` on, until the test lets the run go on, and at most :data:`HOLD_S`
seconds, so a test that fails never leaves a run held for ever.  A run held
at a tick is a run that is still going, however fast or slow the machine: a
test that pulls the kill switch, or kills a shard, once it sees the run
trading, lands while it trades.

The test lets the run go on by creating the file ``PATH``, once it has seen
in the journals what it waited for.  A pull of ``bin/run-shadow``'s kill
switch (SIGUSR1) lets it go on too, as soon as the pull is on its way to
risk: when the run's wait loop has let it in (:meth:`Runtime.admit_from_outside`),
or at once where the venue is held on the main thread (the sim: nothing else
can run, and it lets the pull in at its next step).  Those runs cannot show
the test anything while held: under the sim and the pool runtime (one
worker) every actor waits for the venue.

Nothing is imported before the run imports it: each module is patched as it
loads (a finder on ``sys.meta_path``), from wherever the run imports it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

HOLD_S = 100.0
"""The longest a run is held: bounds a failed test's wait (pytest's limit: 120 s); a passing test never waits it."""

admitted = threading.Event()
"""Set once the run's wait loop has let a signal handler's request in."""


def released(release: Path) -> bool:
    """Whether the run may go on: the test said so, or the kill switch's pull is on its way to risk."""
    if release.exists() or admitted.is_set():
        return True
    pulled = getattr(signal.getsignal(signal.SIGUSR1), "pulled", False) is True
    return pulled and threading.current_thread() is threading.main_thread()


def hold_venue(module: ModuleType, tick: int, release: Path) -> None:
    """The fake venue's ``advance`` first waits at ``tick`` (or the first later one) until :func:`released`."""
    advance: Callable[[Any, int], None] = module.FakeExchangeClient.advance
    waiting = [True]

    def held(venue: Any, at: int) -> None:
        if at >= tick and waiting[0]:
            deadline = time.monotonic() + HOLD_S
            while not released(release) and time.monotonic() < deadline:
                time.sleep(0.01)
            waiting[0] = False
        advance(venue, at)

    module.FakeExchangeClient.advance = held


def note_admissions(module: ModuleType) -> None:
    """``Runtime.admit_from_outside`` sets :data:`admitted` when it lets a queued request in (if there is one)."""
    admit: Callable[[Any], None] | None = getattr(module.Runtime, "admit_from_outside", None)
    if admit is None:
        return

    def admit_and_note(runtime: Any) -> None:
        outside = getattr(runtime, "_outside", None)  # what signal handlers queued
        queued = outside is not None and not outside.empty()
        admit(runtime)
        if queued:
            admitted.set()

    module.Runtime.admit_from_outside = admit_and_note


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: it wraps the loader of each module in ``patches`` to patch the module once it has run."""

    def __init__(self, patches: dict[str, Callable[[ModuleType], None]]) -> None:
        self.patches = patches

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        patch = self.patches.pop(name, None)
        if patch is None:
            return None
        if not self.patches:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or not isinstance(spec.loader, importlib.abc.Loader):
            return spec
        execute = spec.loader.exec_module

        def exec_and_patch(module: ModuleType) -> None:
            execute(module)
            patch(module)

        spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


_hold = os.environ.get("ACTORS_TEST_HOLD")
if _hold:
    _tick, _release = _hold.split(":", 1)
    sys.meta_path.insert(0, _PatchOnImport({
        "actors.venues._simulated": lambda module: hold_venue(module, int(_tick), Path(_release)),
        "actors.runtime._base": note_admissions,
    }))  # fmt: skip
