"""Risk: pre-trade limits, positions, realised edge and the freeze.

Realised edge over all fills, each marked against the mid at the time of the
fill (``side`` +1 buy, -1 sell)::

    edge_bps = 1e4 * sum(side * (mark - price) * qty) / sum(price * qty)     (USD amounts)

Buying below the mid or selling above it is positive edge.  Once at least
``edge_min_fills`` fills are in and the edge is below the threshold, trading
freezes with the reason ``Edge degradation: 2.40 BPS < 3.00 BPS``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from actors.core.quoting import Quote
from actors.core.types import Fill, Instrument, Side


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The limits risk enforces."""

    max_inventory_usd: float
    max_total_notional_usd: float
    edge_freeze_threshold_bps: float
    edge_min_fills: int = 10


@dataclass(frozen=True, slots=True)
class Decision:
    """A pre-trade verdict; ``reason`` says why an order was blocked."""

    allowed: bool
    reason: str = ""


ALLOW = Decision(True)


def freeze_reason(edge_bps: float, threshold_bps: float) -> str:
    """The freeze reason text, exactly as reports and operators expect it."""
    return f"Edge degradation: {edge_bps:.2f} BPS < {threshold_bps:.2f} BPS"


class RiskEngine:
    """Positions and marks by symbol, the edge accumulators, and the freeze flag."""

    def __init__(self, limits: RiskLimits, instruments: Mapping[str, Instrument]) -> None:
        self.limits = limits
        self.instruments = dict(instruments)
        self.marks: dict[str, int] = {}
        self._positions: dict[str, int] = {}
        self._notional: dict[str, float] = {}
        self._running_total = 0.0  # O(1) limit checks; reports re-sum in sorted order
        self.frozen = False
        self.freeze_events = 0
        self.last_freeze_reason = ""
        self.fills_applied = 0
        self._edge_usd = 0.0
        self._volume_usd = 0.0
        self.block_reasons: Counter[str] = Counter()
        """Refused sides by kind of reason (``max-inv``, ``max-total``, ``frozen``): bounded, for metrics."""

    # ------------------------------------------------------------ state

    def update_mark(self, symbol: str, mid_ticks: int) -> None:
        """The latest mid of ``symbol``."""
        self.marks[symbol] = mid_ticks
        self._refresh_notional(symbol)

    def position(self, symbol: str) -> int:
        """Signed lots held in ``symbol``."""
        return self._positions.get(symbol, 0)

    def positions(self) -> dict[str, int]:
        """Non-zero positions, sorted by symbol."""
        return {s: lots for s, lots in sorted(self._positions.items()) if lots}

    def position_usd(self, symbol: str) -> float:
        """Signed position x mark of ``symbol`` in USD (0 before its first mark)."""
        lots = self._positions.get(symbol, 0)
        mark = self.marks.get(symbol)
        if mark is None or lots == 0:
            return 0.0
        return self.instruments[symbol].notional_usd(mark, lots) * (1 if lots > 0 else -1)

    def notional_usd(self, symbol: str) -> float:
        """|position| x mark of ``symbol``."""
        return self._notional.get(symbol, 0.0)

    def total_notional_usd(self) -> float:
        """Sum of |position| x mark, summed in sorted symbol order (reproducible to the bit)."""
        return sum(self._notional[s] for s in sorted(self._notional))

    # ------------------------------------------------------------ pre-trade

    def check_order(self, symbol: str, side: Side, price_ticks: int, qty_lots: int) -> Decision:
        """Frozen blocks everything; an order that grows |position| must fit both limits."""
        if self.frozen:
            return Decision(False, "frozen")
        position = self._positions.get(symbol, 0)
        projected = position + int(side) * qty_lots
        if abs(projected) <= abs(position):
            return ALLOW
        instrument = self.instruments[symbol]
        mark = self.marks.get(symbol, price_ticks)
        exposure = instrument.notional_usd(mark, projected)
        limits = self.limits
        if exposure > limits.max_inventory_usd:
            return Decision(False, f"max-inv: {symbol} {exposure:.2f} USD > {limits.max_inventory_usd:.2f} USD")
        total = self._running_total - self.notional_usd(symbol) + exposure
        if total > limits.max_total_notional_usd:
            return Decision(False, f"max-total: {total:.2f} USD > {limits.max_total_notional_usd:.2f} USD")
        return ALLOW

    def approve_quotes(self, quotes: Mapping[str, Quote]) -> tuple[list[tuple[str, Side, int, int]], int]:
        """Check both sides of every quote in sorted symbol order.

        Returns the approved orders as (symbol, side, price ticks, lots) and
        the number of blocked sides.  Sorted order makes the outcome of limits
        that compare symbols independent of the order quotes arrived in.
        """
        approved: list[tuple[str, Side, int, int]] = []
        blocked = 0
        for symbol in sorted(quotes):
            quote = quotes[symbol]
            sides = ((Side.BUY, quote.bid_ticks, quote.bid_lots), (Side.SELL, quote.ask_ticks, quote.ask_lots))
            for side, price, lots in sides:
                decision = self.check_order(symbol, side, price, lots)
                if decision.allowed:
                    approved.append((symbol, side, price, lots))
                else:
                    blocked += 1
                    self.block_reasons[decision.reason.partition(":")[0]] += 1
        return approved, blocked

    # ------------------------------------------------------------ post-trade

    def apply_fill(self, fill: Fill) -> None:
        """Position and edge from one fill, marked at the symbol's current mid."""
        instrument = self.instruments[fill.symbol]
        mark = self.marks.get(fill.symbol, fill.price_ticks)
        side = int(fill.side)
        self._positions[fill.symbol] = self._positions.get(fill.symbol, 0) + side * fill.qty_lots
        self._edge_usd += (
            side
            * (instrument.price_usd(mark) - instrument.price_usd(fill.price_ticks))
            * float(instrument.lot_size)
            * fill.qty_lots
        )
        self._volume_usd += instrument.notional_usd(fill.price_ticks, fill.qty_lots)
        self.fills_applied += 1
        self._refresh_notional(fill.symbol)

    def realised_edge_bps(self) -> float | None:
        """Edge over every fill so far, None before the first."""
        if self._volume_usd <= 0:
            return None
        return 1e4 * self._edge_usd / self._volume_usd

    def evaluate_edge(self) -> str | None:
        """Freeze (and return the reason) if the edge has fallen below the threshold."""
        edge = self.realised_edge_bps()
        limits = self.limits
        if self.frozen or edge is None or self.fills_applied < limits.edge_min_fills:
            return None
        if edge >= limits.edge_freeze_threshold_bps:
            return None
        reason = freeze_reason(edge, limits.edge_freeze_threshold_bps)
        self.freeze(reason)
        return reason

    def freeze(self, reason: str) -> bool:
        """Freeze trading; True only for the call that froze (later calls change nothing)."""
        if self.frozen:
            return False
        self.frozen = True
        self.freeze_events += 1
        self.last_freeze_reason = reason
        return True

    def _refresh_notional(self, symbol: str) -> None:
        lots = self._positions.get(symbol, 0)
        mark = self.marks.get(symbol)
        value = 0.0 if mark is None or lots == 0 else self.instruments[symbol].notional_usd(mark, lots)
        self._running_total += value - self._notional.get(symbol, 0.0)
        if value:
            self._notional[symbol] = value
        else:
            self._notional.pop(symbol, None)
