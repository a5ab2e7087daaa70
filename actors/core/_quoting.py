"""Quoting: a symmetric two-sided quote around the mid."""

from __future__ import annotations

import math
from dataclasses import dataclass

from actors.core._types import Instrument


@dataclass(frozen=True, slots=True)
class Quote:
    """Bid and ask, in ticks and lots."""

    symbol: str
    bid_ticks: int
    bid_lots: int
    ask_ticks: int
    ask_lots: int


@dataclass(frozen=True, slots=True)
class QuotingPolicy:
    """Full spread in bps and the USD size of each side."""

    spread_bps: float = 10.0
    quote_notional_usd: float = 1000.0

    def __post_init__(self) -> None:
        if not self.spread_bps > 0 or not self.quote_notional_usd > 0:
            raise ValueError("spread_bps and quote_notional_usd must be > 0")

    def quote(self, instrument: Instrument, mid_ticks: int) -> Quote:
        """Bid and ask at least one tick away from the mid, at least one lot each."""
        half = max(1, math.ceil(mid_ticks * self.spread_bps / 2e4))
        price = instrument.lot_value_usd(mid_ticks)
        lots = max(1, round(self.quote_notional_usd / price)) if price > 0 else 1
        return Quote(instrument.symbol, max(1, mid_ticks - half), lots, mid_ticks + half, lots)
