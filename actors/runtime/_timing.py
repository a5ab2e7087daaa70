"""Optional per-role timing of message handling, and a histogram cheap enough for a hot path.

Off unless a runtime is given a :class:`HandlingTimes` (``Runtime.time_handlers``):
then every actor spawned afterwards gets a :class:`Buckets` of its own, which
only the thread running that actor writes, so counting needs no lock; the
buckets of one role are summed when someone reads them (a Prometheus scrape).
Off, the only cost is one attribute test per message (docs/OBSERVABILITY.md,
"What it costs").
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

HANDLING_BOUNDS_S: tuple[float, ...] = (1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.025, 0.1)
"""Upper bounds (seconds) of the handling-time buckets: a handler takes microseconds to a few milliseconds."""


class Buckets:
    """A histogram: counts per upper bound (the last slot is +Inf) and the sum, written by one thread."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        """Count one observation (seconds)."""
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def merged(self, others: Sequence[Buckets]) -> Buckets:
        """A new histogram with this one's bounds holding the sum of ``others`` (read while they are written)."""
        result = Buckets(self.bounds)
        for other in others:
            counts = list(other.counts)  # one copy: a count may move on while we add, never backwards
            for index, count in enumerate(counts):
                result.counts[index] += count
            result.total += other.total
        return result

    @property
    def count(self) -> int:
        """Observations so far."""
        return sum(self.counts)


def role_of(address: str) -> str:
    """The role of an address: ``quoter.BTCUSDT`` -> ``quoter``; bounded, so usable as a metric label."""
    return address.partition(".")[0]


class HandlingTimes:
    """Per-role message handling times: one :class:`Buckets` per actor, summed by role on reading."""

    def __init__(self, bounds: Sequence[float] = HANDLING_BOUNDS_S) -> None:
        self.bounds = tuple(bounds)
        self._by_role: dict[str, list[Buckets]] = {}
        self._lock = threading.Lock()

    def for_actor(self, address: str) -> Buckets:
        """A fresh histogram for the actor at ``address`` (spawning is rare: a lock is fine here)."""
        buckets = Buckets(self.bounds)
        with self._lock:
            self._by_role.setdefault(role_of(address), []).append(buckets)
        return buckets

    def by_role(self) -> dict[str, Buckets]:
        """Each role's actors summed, roles sorted."""
        with self._lock:
            roles = {role: list(series) for role, series in self._by_role.items()}
        empty = Buckets(self.bounds)
        return {role: empty.merged(series) for role, series in sorted(roles.items())}
