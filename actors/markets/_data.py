"""Market data: a seeded random walk of mids per symbol, or a recorded file replayed."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

from actors.core._keyed_random import gauss
from actors.core._types import Instrument


class MarketDataSource(Protocol):
    """Mid prices in ticks by symbol and tick."""

    def mid_ticks(self, symbol: str, tick: int) -> int:
        """The mid of ``symbol`` at ``tick``."""
        ...


MAX_MID_TICKS = 1 << 52
"""The walk stays below this many ticks, so a price (and a notional in lots) always fits the wire's integers,
however long a run and however high the volatility (found by review: 1,000 bps passed 2**64 in 16,285 ticks)."""


class RandomWalkMarket:
    """Log-normal random walk; each step drawn from (seed, symbol, tick), so symbols are independent."""

    def __init__(self, instruments: Mapping[str, Instrument], seed: int, volatility_bps: float = 8.0) -> None:
        self._start = {s: max(1, i.to_ticks(i.start_price)) for s, i in instruments.items()}
        self._seed = seed
        self._sigma = volatility_bps / 1e4
        self._last: dict[str, tuple[int, int]] = {}

    def mid_ticks(self, symbol: str, tick: int) -> int:
        """O(1) when asked in increasing tick order per symbol (the walk is cached)."""
        start = self._start.get(symbol)
        if start is None:
            raise KeyError(f"no market data for symbol {symbol!r}")
        at, mid = self._last.get(symbol, (0, start))
        if tick < at:
            at, mid = 0, start
        while at < tick:
            at += 1
            mid = min(MAX_MID_TICKS, max(1, round(mid * math.exp(self._sigma * gauss(self._seed, "walk", symbol, at)))))
        self._last[symbol] = (at, mid)
        return mid


class ReplayMarket:
    """Replays a CSV of ``tick,symbol,mid_price``; a missing tick carries the last mid forward."""

    def __init__(self, mids: Mapping[str, Mapping[int, int]]) -> None:
        self._ticks = {s: sorted(by_tick) for s, by_tick in mids.items()}
        self._mids = {s: dict(by_tick) for s, by_tick in mids.items()}

    @classmethod
    def from_csv(cls, path: Path, instruments: Mapping[str, Instrument]) -> ReplayMarket:
        """Read a recording; a malformed row is a ValueError naming its line."""
        mids: dict[str, dict[int, int]] = {}
        with path.open(newline="", encoding="utf-8") as handle:
            for line, row in enumerate(csv.reader(handle), start=1):
                if line == 1 and row[:1] == ["tick"]:
                    continue
                try:
                    tick_text, symbol, price_text = row
                    instrument = instruments[symbol]
                    mids.setdefault(symbol, {})[int(tick_text)] = instrument.to_ticks(Decimal(price_text))
                except (ValueError, KeyError, InvalidOperation) as exc:
                    raise ValueError(f"{path}:{line}: bad row {row!r} ({exc!r})") from None
        return cls(mids)

    def mid_ticks(self, symbol: str, tick: int) -> int:
        """The recorded mid at ``tick`` or the last one before it."""
        by_tick = self._mids.get(symbol)
        if by_tick is None:
            raise KeyError(f"no market data for symbol {symbol!r}")
        if tick in by_tick:
            return by_tick[tick]
        earlier = [t for t in self._ticks[symbol] if t <= tick]
        if not earlier:
            raise KeyError(f"no market data for {symbol!r} at or before tick {tick}")
        return by_tick[earlier[-1]]
