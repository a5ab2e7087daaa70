"""The synchronous baseline: the same pure core, the same order of work per tick, no actors.

It is what the actor pipeline is measured against (``bin/bench``) and, since it
makes the same decisions in the same order, a cross-check of the engine: for
the same configuration it must reach the same order counts and positions
(``tests/unit/test_baseline.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.assembly._config import ShadowConfig
from actors.assembly._system import exchange_faults, fake_exchange
from actors.core._exchange import PlaceRequest
from actors.core._instruments import instrument_for
from actors.core._orders import FillOutcome, OrderStore
from actors.core._quoting import Quote, QuotingPolicy
from actors.core._risk import RiskEngine, RiskLimits
from actors.markets._data import RandomWalkMarket


@dataclass(frozen=True)
class BaselineResult:
    """What the baseline reached: comparable with the actor system's report."""

    placed: int
    counts: dict[str, int]
    risk_blocks: int
    fills: int
    positions: dict[str, int]
    frozen: bool
    last_freeze_reason: str


class SyncEngine:
    """Drives the core in a plain loop, in the order the actors' dataflow handles a tick (docs/DESIGN.md)."""

    def __init__(self, config: ShadowConfig) -> None:
        if exchange_faults(config).any:
            raise ValueError("the baseline drives an honest venue: set every exchange fault rate to 0")
        self.config = config
        self.instruments = {s: instrument_for(s, config.seed) for s in config.symbols}
        self.market = RandomWalkMarket(self.instruments, config.seed, config.volatility_bps)
        self.exchange = fake_exchange(config)
        limits = RiskLimits(config.max_inv, config.max_total, config.edge_threshold, config.edge_min_fills)
        self.risk = RiskEngine(limits, self.instruments)
        self.store = OrderStore(retain_ticks=config.retain_ticks)
        self.policy = QuotingPolicy(config.spread_bps, config.quote_notional_usd)
        self.risk_blocks = 0

    def run(self) -> BaselineResult:
        """Run every configured tick."""
        for tick in range(1, self.config.iterations + 1):
            self.run_tick(tick)
        return self.result()

    def run_tick(self, tick: int) -> None:
        """Marks, the venue moves and its fills apply, the edge, then the quotes in symbol order."""
        quotes: dict[str, Quote] = {}
        for symbol in self.config.symbols:
            mid = self.market.mid_ticks(symbol, tick)
            self.risk.update_mark(symbol, mid)
            if not self.risk.halted:
                quotes[symbol] = self.policy.quote(self.instruments[symbol], mid)
        self.exchange.advance(tick)
        fills = [f for f in self.exchange.stream_fills() if self.store.apply_fill(f) is FillOutcome.APPLIED]
        self.risk.apply_fills(fills)
        if fills and self.risk.evaluate_edge() is not None:
            self._cancel_all()
        if self.risk.halted or not quotes:
            return
        risk, store = self.risk, self.store
        approved, blocked = risk.approve_quotes(quotes)
        self.risk_blocks += blocked
        store.expire(tick)
        keep = {store.client_id_of(number) for _, number in risk.kept}
        numbers = list(risk.number_orders(len(approved)))
        to_cancel, created = store.replace_quotes(sorted(quotes), approved, tick, numbers, keep)
        for order in to_cancel:
            self._cancel(order.client_id, order.exchange_order_id)
        for order, number in zip(created, numbers, strict=True):
            risk.rest(order.symbol, number, int(order.side), order.price_ticks, order.qty_lots)
        for order in created:
            placed = self.exchange.place(
                PlaceRequest(order.client_id, order.symbol, order.side, order.price_ticks, order.qty_lots)
            )
            if placed.accepted and placed.exchange_order_id is not None:
                self.store.acknowledge(order.client_id, placed.exchange_order_id)
            else:
                self.store.reject(order.client_id, placed.reason)
                risk.forget([order.client_id])

    def _cancel(self, client_id: str, exchange_order_id: str | None) -> None:
        assert exchange_order_id is not None  # every order is acknowledged synchronously here
        answer = self.exchange.cancel(exchange_order_id)
        self.store.cancel_answered(client_id, answer.ok, answer.reason)

    def _cancel_all(self) -> None:
        for order in self.store.open_orders():
            if self.store.request_cancel(order.client_id):
                self._cancel(order.client_id, order.exchange_order_id)

    def result(self) -> BaselineResult:
        """Counts, positions and the freeze, as reached so far."""
        counts = {state.value: n for state, n in self.store.counts().items()}
        return BaselineResult(
            placed=self.store.placed,
            counts=counts,
            risk_blocks=self.risk_blocks,
            fills=self.risk.fills_applied,
            positions=self.risk.positions(),
            frozen=self.risk.halted,
            last_freeze_reason=self.risk.halt_reason,
        )
