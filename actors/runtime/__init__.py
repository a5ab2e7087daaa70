"""Runtimes: where actors written once as ``pykka.Actor`` subclasses actually run.

``create_runtime("threads" | "pool" | "sim", ...)`` picks one by name; actor code never
names a runtime.
"""

from __future__ import annotations

from typing import Any

from actors.runtime._actor import CRASH, InjectedCrash, MessageActor, handles
from actors.runtime._base import CLOCK, EXTERNAL, FailurePolicy, Runtime, RuntimeStats, TimerHandle
from actors.runtime._directory import AddressTaken, Directory
from actors.runtime._pool import PoolRuntime
from actors.runtime._realtime import IdleTimeout
from actors.runtime._sim import FaultPlan, SimNotIdle, SimRuntime
from actors.runtime._threads import ThreadsRuntime

RUNTIMES: dict[str, type[Runtime]] = {"pool": PoolRuntime, "sim": SimRuntime, "threads": ThreadsRuntime}
"""Runtimes by the name used in ``--runtime`` and the config."""


def create_runtime(name: str, **options: Any) -> Runtime:
    """Build the runtime called ``name``; ``options`` go to its constructor, but ``reliable`` (see ``Runtime``)."""
    try:
        cls = RUNTIMES[name]
    except KeyError:
        raise ValueError(f"unknown runtime {name!r} (expected one of: {', '.join(sorted(RUNTIMES))})") from None
    reliable = bool(options.pop("reliable", False))
    runtime = cls(**options)
    runtime.reliable = reliable
    return runtime


__all__ = [
    "CLOCK",
    "CRASH",
    "EXTERNAL",
    "RUNTIMES",
    "AddressTaken",
    "Directory",
    "FailurePolicy",
    "FaultPlan",
    "IdleTimeout",
    "InjectedCrash",
    "MessageActor",
    "PoolRuntime",
    "Runtime",
    "RuntimeStats",
    "SimNotIdle",
    "SimRuntime",
    "ThreadsRuntime",
    "TimerHandle",
    "create_runtime",
    "handles",
]
