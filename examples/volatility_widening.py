"""A user strategy, written from docs/STRATEGIES.md alone: a symmetric quote that widens with recent volatility.

Run it::

    bin/run-shadow --strategy examples.volatility_widening:VolatilityWidening --strategy-param widen=3

(from the repository's root, so that ``examples`` imports).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

from actors import Instrument, Level, Param, ParamValue, Quotes, Strategy, StrategyInput, base_lots


class VolatilityWidening(Strategy):
    """Half spread = ``max(1, ceil(mid * spread_bps / 2e4 + widen * stdev))`` ticks.

    ``stdev`` is the standard deviation of the last ``window`` mid changes, in
    ticks (0 until two changes are seen).  Sizes are the symmetric rule's.
    """

    PARAMS = (
        Param("spread_bps", float, 10.0, "the spread in a still market, bps", above=0),
        Param("quote_notional_usd", float, 1000.0, "USD size of each side", above=0),
        Param("widen", float, 2.0, "ticks of half spread added per tick of stdev", low=0),
        Param("window", int, 20, "mid changes the stdev is taken over", low=2),
    )

    def __init__(self, instrument: Instrument, params: Mapping[str, ParamValue]) -> None:
        super().__init__(instrument, params)
        self.changes: deque[int] = deque(maxlen=int(self.params["window"]))
        self.last_mid: int | None = None

    def stdev(self) -> float:
        """The standard deviation of the changes kept (population), in ticks."""
        if len(self.changes) < 2:
            return 0.0
        mean = sum(self.changes) / len(self.changes)
        return math.sqrt(sum((change - mean) ** 2 for change in self.changes) / len(self.changes))

    def quote(self, state: StrategyInput) -> Quotes:
        """One level a side, wider as the mid moves more."""
        mid = state.market.mid_ticks
        if self.last_mid is not None:
            self.changes.append(mid - self.last_mid)
        self.last_mid = mid
        spread_bps, widen = float(self.params["spread_bps"]), float(self.params["widen"])
        half = max(1, math.ceil(mid * spread_bps / 2e4 + widen * self.stdev()))
        lots = base_lots(self.instrument, mid, float(self.params["quote_notional_usd"]))
        return Quotes((Level(max(1, mid - half), lots),), (Level(mid + half, lots),))
