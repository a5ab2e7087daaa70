"""Build, run and stop a whole engine on any runtime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pykka

from actors.config import ShadowConfig, resolve
from actors.core.clock import FrozenClock
from actors.core.exchange import FakeExchangeClient, IExchangeClient
from actors.core.exchange_faults import ExchangeFaults, FaultyExchange
from actors.core.instruments import instrument_for
from actors.core.market_data import MarketDataSource, RandomWalkMarket
from actors.core.orders import OrderStore
from actors.core.quoting import QuotingPolicy
from actors.core.recorded_venue import RecordedVenue
from actors.core.risk import RiskEngine, RiskLimits
from actors.core.types import Instrument
from actors.messages import Freeze, ReconcileRequest
from actors.recovery import VENUE_JOURNAL, Recovered, recover_store
from actors.roles.addresses import GATEWAY, QUOTERS, RISK, STORE, quoter
from actors.roles.driver import TickDriver
from actors.roles.gateway import ExchangeGateway, GatewaySnapshot
from actors.roles.order_store import OrderStoreActor, StoreSnapshot
from actors.roles.quoter import Quoter, QuoterSnapshot
from actors.roles.risk_monitor import RiskMonitor, RiskSnapshot
from actors.runtime.base import Runtime
from actors.wire import encode

T = TypeVar("T")
Progress = Callable[[int, int], None]


class System:
    """A running engine: one quoter per symbol, risk, store and gateway on one runtime."""

    def __init__(
        self,
        runtime: Runtime,
        config: ShadowConfig,
        *,
        exchange: IExchangeClient | None = None,
        market: MarketDataSource | None = None,
    ) -> None:
        self.runtime = runtime
        self.config = config
        self.instruments: dict[str, Instrument] = {s: instrument_for(s, config.seed) for s in config.symbols}
        self.market = market or RandomWalkMarket(self.instruments, config.seed, config.volatility_bps)
        self.journal_dir = Path(config.journal) if config.journal else None
        self.exchange = exchange or fake_exchange(config, self.journal_dir)
        self.driver = TickDriver(runtime, self.market, config.symbols)
        self.recovered: Recovered | None = None
        self.resumed_after_tick: int | None = None
        self.risk: pykka.ActorRef[Any]
        self.store: pykka.ActorRef[Any]
        self.gateway: pykka.ActorRef[Any]

    @classmethod
    def build(cls, runtime: Runtime, **settings: Any) -> System:
        """A system from defaults overridden by ``settings`` (config keys, e.g. ``symbols=[...]``)."""
        config = resolve(overrides=settings, override_source="setting")
        return cls(runtime, replace(config, runtime=runtime.name))

    def start(self) -> None:
        """Spawn every actor; the gateway first, quoters last (each only sends downstream)."""
        config = self.config
        limits = RiskLimits(config.max_inv, config.max_total, config.edge_threshold, config.edge_min_fills)
        policy = QuotingPolicy(config.spread_bps, config.quote_notional_usd)
        store = OrderStore(retain_ticks=config.retain_ticks)
        engine = RiskEngine(limits, self.instruments)
        if self.journal_dir is not None:
            self.recovered = recover_store(self.journal_dir, store, engine, self.market, fsync=config.journal_fsync)
        freeze = self.recovered.freeze if self.recovered else None
        self.gateway = self.runtime.spawn(ExchangeGateway, GATEWAY, self.exchange)
        self.store = self.runtime.spawn(OrderStoreActor, STORE, store)
        self.risk = self.runtime.spawn(RiskMonitor, RISK, engine, freeze_tick=freeze[0] if freeze else None)
        for symbol in config.symbols:
            self.runtime.spawn(Quoter, quoter(symbol), self.instruments[symbol], policy)
        if self.recovered is not None and self.recovered.records:
            self._resume(freeze)

    @property
    def venue(self) -> IExchangeClient:
        """The venue itself, under the fault injector if there is one."""
        venue: IExchangeClient = getattr(self.exchange, "inner", self.exchange)
        return venue

    def _resume(self, freeze: tuple[int, str] | None) -> None:
        """After a crash: carry on after the venue's last tick, frozen if we were, reconciled first."""
        tick = int(getattr(self.venue, "tick", 0))
        self.resumed_after_tick = self.driver.ticks_run = tick
        runtime = self.runtime
        if freeze is not None:
            record = encode(Freeze(freeze[0], freeze[1]))
            for address in [STORE, GATEWAY, *runtime.directory.group(QUOTERS)]:
                runtime.tell(address, record)
        runtime.tell(GATEWAY, encode(ReconcileRequest(tick)))
        runtime.wait_idle()

    def run(self, iterations: int | None = None, progress: Progress | None = None) -> None:
        """Run ``iterations`` more ticks (default: up to the configured number)."""
        total = self.config.iterations - self.driver.ticks_run if iterations is None else iterations
        first = self.driver.ticks_run + 1
        for tick in range(first, first + total):
            self.driver.run_tick(tick)
            if progress is not None:
                progress(tick - first + 1, total)

    def stop(self) -> None:
        """Stop every actor and the runtime, then close the journals."""
        self.runtime.shutdown()
        if self.recovered is not None and self.recovered.store.journal is not None:
            self.recovered.store.journal.close()
        close = getattr(self.venue, "close", None)
        if close is not None:
            close()

    # ------------------------------------------------------------ observation

    def _ask_snapshot(self, ref: pykka.ActorRef[Any], kind: type[T]) -> T:
        self.runtime.wait_idle()
        snapshot = ref.proxy().snapshot().get()
        assert isinstance(snapshot, kind)
        return snapshot

    def store_snapshot(self) -> StoreSnapshot:
        """The order store's state, once the system is idle."""
        return self._ask_snapshot(self.store, StoreSnapshot)

    def risk_snapshot(self) -> RiskSnapshot:
        """The risk monitor's state, once the system is idle."""
        return self._ask_snapshot(self.risk, RiskSnapshot)

    def gateway_snapshot(self) -> GatewaySnapshot:
        """The gateway's counters, once the system is idle."""
        return self._ask_snapshot(self.gateway, GatewaySnapshot)

    def quoter_snapshot(self, symbol: str) -> QuoterSnapshot:
        """One quoter's state, once the system is idle."""
        ref = self.runtime.directory.get(quoter(symbol))
        if ref is None:
            raise KeyError(f"no quoter for {symbol!r}")
        return self._ask_snapshot(ref, QuoterSnapshot)


def fake_exchange(config: ShadowConfig, journal_dir: Path | None = None) -> FakeExchangeClient | FaultyExchange:
    """The shadow run's venue, as ``config`` describes it: honest or hostile, journaled or not."""
    options: dict[str, Any] = {
        "seed": config.seed,
        "fill_rate": config.fill_rate,
        "reject_rate": config.reject_rate,
        "partial_fill_rate": config.partial_fill_rate,
        "clock": FrozenClock.parse(config.freeze_utc_iso),
        "retain_ticks": config.retain_ticks,
    }
    if journal_dir is not None:
        venue: FakeExchangeClient = RecordedVenue(journal_dir / VENUE_JOURNAL, **options)
    else:
        venue = FakeExchangeClient(**options)
    faults = exchange_faults(config)
    return FaultyExchange(venue, faults, config.seed) if faults.any else venue


def exchange_faults(config: ShadowConfig) -> ExchangeFaults:
    """The fault rates of ``config`` (keys ``<fault>_rate``)."""
    return ExchangeFaults(
        place_error=config.place_error_rate,
        cancel_error=config.cancel_error_rate,
        timeout=config.timeout_rate,
        duplicate_fill=config.duplicate_fill_rate,
        out_of_order=config.out_of_order_rate,
        unknown_fill=config.unknown_fill_rate,
        cancel_race=config.cancel_race_rate,
    )
