"""What this machine's cores did over a stretch of time: for the benchmark's figures (docs/SCALING.md).

A run time on a virtual machine says little by itself: its cores may be
busy with our processes, idle while a process waits, or taken by the
hypervisor for another guest (*steal*).  Linux counts all three in
``/proc/stat``; a benchmark reads the counters before and after a run and
reports them beside its time.  Elsewhere the counters are not there, and
the figures say so (None).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

STAT = "/proc/stat"


@dataclass(frozen=True)
class CpuClock:
    """Cumulative CPU seconds of every core at one moment, and the wall clock then."""

    wall_s: float
    busy_s: float
    """user, nice, system, irq and softirq: work done, ours or anyone's on this machine."""
    steal_s: float
    """Time the hypervisor ran another guest on our cores."""


def cpu_clock() -> CpuClock | None:
    """This machine's counters now, or None where there is no ``/proc/stat`` (not Linux)."""
    try:
        with open(STAT, encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[1:9])
    tick = float(os.sysconf("SC_CLK_TCK"))
    return CpuClock(time.perf_counter(), (user + nice + system + irq + softirq) / tick, steal / tick)


def cores_used(before: CpuClock | None, after: CpuClock | None) -> dict[str, float] | None:
    """Between two readings: cores busy on average, and the share of the cores' time stolen (percent)."""
    if before is None or after is None or after.wall_s <= before.wall_s:
        return None
    wall = after.wall_s - before.wall_s
    cores = os.cpu_count() or 1
    return {
        "busy_cores": round((after.busy_s - before.busy_s) / wall, 2),
        "steal_pct": round(100 * (after.steal_s - before.steal_s) / (wall * cores), 1),
    }
