"""How long to wait before reconnecting: exponential backoff with jitter, reset after a healthy connection.

Pure (its random numbers come from the generator it is given).  Jitter keeps
many clients, or many runs, from reconnecting in step after a venue-wide drop
(the reconnect storms peers report); the cap keeps a long outage from growing
the wait without bound.
"""

from __future__ import annotations

import random


class Backoff:
    """Delays of ``initial * factor**n`` seconds capped at ``maximum``, each cut by up to ``jitter`` of itself."""

    def __init__(
        self,
        initial_s: float = 0.1,
        maximum_s: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if not (0.0 < initial_s <= maximum_s and factor >= 1.0 and 0.0 <= jitter <= 1.0):
            raise ValueError("backoff needs 0 < initial <= maximum, factor >= 1 and 0 <= jitter <= 1")
        self.initial_s, self.maximum_s, self.factor, self.jitter = initial_s, maximum_s, factor, jitter
        self._rng = rng or random.Random()
        self.attempt = 0
        """Failures since the last reset."""

    def next_delay(self) -> float:
        """The wait before the next attempt (and one more failure counted)."""
        base = min(self.maximum_s, self.initial_s * self.factor ** min(self.attempt, 64))
        self.attempt += 1
        return base * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        """A connection was healthy: the next failure waits the initial delay again."""
        self.attempt = 0
