"""The synchronous baseline: the actors' cores, faults and all, run by one plain loop in one thread.

The same cores the roles call (the gateway's :class:`GatewayCore`, the
store's :class:`StoreCore`, risk's :class:`RiskRound`, each quoter's
strategy) on the same venue (the simulated one under its fault injector,
built by :func:`fake_exchange` as a run builds it), with no actor, no
runtime, no message encoded: what one core returns is queued, as it is, for
the core the dataflow sends it to (docs/DESIGN.md, "The dataflow"), and the
loop takes the oldest first.  That queue is one delivery order the actors
could have had (each sender's records to each receiver in order), and their
result is determined by the data, not by the delivery order (docs/DESIGN.md,
"The completeness rule", "Why the result is deterministic"), so the loop
reaches the state the actors reach: the report is the same, byte for byte,
built from the cores by the report's own code
(:func:`actors.assembly._report.report_of_cores`; ``tests/unit/test_baseline.py``
holds it over hostile venues, freezes, limits, flattening and recorded markets).

It is two things: the reference ``bin/bench`` measures the actors against
(the same work without messages), and a cross-check of the logic that
matters most, the cores' handling of a venue that errs, times out,
duplicates and reorders.

Refused (:class:`~actors.assembly._config.ConfigError`), since the answer
could not be the actors' and a different answer would be worse than none:

- a journal (``--journal``): a resumed run replays its journals into the
  cores and reconciles with the venue as it starts; a restarted store's
  reconciliation is sent at once, outside the tick order, so its result may
  depend on timing (docs/DESIGN.md, "Why the result is deterministic"); and
  the baseline writes nothing.
- the paced mode (``--pace realtime``): risk decides at a deadline on the
  clock, whatever has come by then; timing is what that mode is for.
- a handler that fails (a strategy that raises): the actors restart it in
  place and pull its symbol's quotes for the tick, then escalate to a halt; the baseline
  supervises nothing, so it stops with :class:`BaselineFailure` instead.

A sharded run (``--shards``, ``--cluster``) is run as one process: a
shard's venue draws what one venue holding every symbol would draw and the
coordinator decides with risk's round, so a sharded run's report is the
one-process report (docs/DESIGN.md, "Why the result is deterministic";
``tests/unit/test_venue_partitions.py``), and the baseline's is both.

Records the actors split into parts above ``actors.wire.MAX_ITEMS`` items
(a tick of more than about 2,500 symbols) go whole here; the cores take
either (a part is handled as the whole would be, in the same order).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from actors.assembly import _strategies as strategies
from actors.assembly._config import ConfigError, ShadowConfig
from actors.assembly._market_setup import Market, settle
from actors.assembly._report import render, report_of_cores
from actors.assembly._system import FINAL_SWEEPS, fake_exchange, general_settings, risk_limits
from actors.core._gateway import Effects, GatewayCore, Held, MassCancel, Report, Statuses
from actors.core._orders import OrderStore
from actors.core._risk import AVG_SCALE, OwnState, RiskEngine
from actors.core._risk_round import Halted, Output, Resumed, RiskRound, TickDecision
from actors.core._store import AskStatus, CancelNow, Effect, Forward, FreezeDone, Request, StoreCore
from actors.core._strategy import (
    MAX_LEVELS,
    MarketView,
    RestingOrder,
    Strategy,
    StrategyFill,
    StrategyInput,
    check_quotes,
)
from actors.core._types import Instrument
from actors.markets._data import MarketDataSource, RandomWalkMarket
from actors.markets._recorded import RecordedMarket
from actors.venues._faults import FaultyExchange
from actors.venues._simulated import FakeExchangeClient

__all__ = ["BaselineFailure", "SyncEngine", "refusal"]


class BaselineFailure(RuntimeError):
    """A core or a strategy raised: the actors would have restarted the handler; the baseline stops."""


def refusal(config: ShadowConfig) -> str:
    """Why the baseline cannot give the actors' report for ``config`` ("" if it can): see the module's docstring."""
    if config.journal:
        return "a journaled run (--journal) resumes from its journals and reconciles with the venue at once"
    if config.pace == "realtime":
        return "the paced mode (--pace realtime) decides at deadlines on the clock"
    return ""


# ------------------------------------------------------------ the records between cores, as the cores read them


class _Intent(NamedTuple):
    """A quoter's intent (what risk reads of the wire's ``QuoteIntent``)."""

    tick: int
    symbol: str
    mid_ticks: int
    bid_ticks: int
    bid_lots: int
    ask_ticks: int
    ask_lots: int


class _Levels(NamedTuple):
    """A quoter's intent of more than one level a side (what risk reads of the wire's ``QuoteLevels``)."""

    tick: int
    symbol: str
    mid_ticks: int
    bid_ticks: int
    bid_lots: int
    ask_ticks: int
    ask_lots: int
    levels: tuple[tuple[int, int, int], ...]


class _Mark(NamedTuple):
    """A quoter's mark (the wire's ``Mark``)."""

    tick: int
    symbol: str
    mid_ticks: int


class _Wanted(NamedTuple):
    """An approved order (the wire's ``OrderSpec``), its fields in the order of risk's ``OrderFields``."""

    symbol: str
    side: int
    price_ticks: int
    qty_lots: int
    reduce_only: bool
    number: int


class _WholeRequest(NamedTuple):
    """The store's request of a tick, whole (the wire's ``GatewayRequest`` in one part)."""

    tick: int
    cancels: tuple[Any, ...]
    places: tuple[Any, ...]
    frozen: bool
    status: tuple[str, ...]
    resumed: int
    flatten: bool
    part: int = 0
    last: bool = True


class _Word(NamedTuple):
    """The venue's word on one order (the wire's ``StatusItem``: no exchange id is "")."""

    client_id: str
    state: str
    exchange_order_id: str
    filled_lots: int


@dataclass
class _Quoter:
    """One symbol's quoter: its strategy, what it is told of itself, and what the halts it heard leave it sending
    (``roles._quoter.Quoter``)."""

    instrument: Instrument
    strategy: Strategy
    marks_only: bool = False
    resumed_at: int = 0
    position_lots: int = 0
    avg_price_ticks: float = 0.0
    resting: tuple[RestingOrder, ...] = ()
    fills: list[StrategyFill] = field(default_factory=list)
    blocked: dict[str, int] = field(default_factory=dict)

    def own(self, state: OwnState) -> None:
        """What the strategy is told of itself from the next tick on (``Quoter.on_own_state``)."""
        _, self.position_lots, average, flat, fills = state
        self.avg_price_ticks = average / AVG_SCALE
        self.resting = tuple(RestingOrder(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3))
        self.fills.extend(StrategyFill(fills[i], fills[i + 1], fills[i + 2], fills[i + 3])
                          for i in range(0, len(fills), 4))  # fmt: skip

    def record(self, tick: int, mid: int, tick_ms: float, market: MarketView) -> _Intent | _Levels | _Mark:
        """The tick's one record for risk, as ``Quoter.on_market_tick`` sends it."""
        instrument = self.instrument
        if self.marks_only:
            return _Mark(tick, instrument.symbol, mid)
        strategy = self.strategy
        fills, self.fills = self.fills, []
        state = StrategyInput(tick, (tick - 1) * tick_ms, instrument, market, strategy.params, self.position_lots,
                              self.avg_price_ticks, self.resting, tuple(fills))  # fmt: skip
        quotes = strategy.quote(state)
        reason = check_quotes(quotes, MAX_LEVELS)
        if reason:
            self.blocked[reason] = self.blocked.get(reason, 0) + 1
            return _Mark(tick, instrument.symbol, mid)
        bids, asks = quotes.bids, quotes.asks
        bid, bid_lots = (bids[0].price_ticks, bids[0].lots) if bids else (mid, 0)
        ask, ask_lots = (asks[0].price_ticks, asks[0].lots) if asks else (mid, 0)
        if len(bids) > 1 or len(asks) > 1:
            levels = tuple((1, level.price_ticks, level.lots) for level in bids)
            levels += tuple((-1, level.price_ticks, level.lots) for level in asks)
            return _Levels(tick, instrument.symbol, mid, bid, bid_lots, ask, ask_lots, levels)
        return _Intent(tick, instrument.symbol, mid, bid, bid_lots, ask, ask_lots)

    def freeze(self, halted: Halted) -> None:
        if halted.tick >= self.resumed_at:  # else a late copy of a freeze that a resume has ended
            self.marks_only = self.marks_only or not halted.keep_quoting

    def resume(self, resumed: Resumed) -> None:
        self.resumed_at = max(self.resumed_at, resumed.tick)


# ------------------------------------------------------------ the loop


class SyncEngine:
    """The cores of one run, and the queue of what each returned for the next: :meth:`run` gives the report."""

    def __init__(self, config: ShadowConfig) -> None:
        """The run ``config`` describes, as :class:`~actors.assembly._system.System` builds it; refused: ConfigError."""
        why = refusal(config)
        if why:
            raise ConfigError(f"the synchronous baseline cannot give the actors' report here: {why}")
        settled = settle(config)
        self.config = config = settled.config
        self.instruments: dict[str, Instrument] = settled.instruments
        self.recording: Market | None = settled.market
        self.market: MarketDataSource = (
            settled.market.feed_market()
            if settled.market is not None
            else RandomWalkMarket(self.instruments, config.seed, config.volatility_bps)
        )
        model = settled.market.fill_model() if config.fill_model == "market" and settled.market is not None else None
        self.venue: FakeExchangeClient | FaultyExchange = fake_exchange(config, fill_model=model)
        engine = RiskEngine(risk_limits(config), self.instruments)
        self.risk = RiskRound(engine, config.symbols, final_tick=config.iterations,
                              own=strategies.reads_own_state(config.strategy))  # fmt: skip
        self.store = StoreCore(OrderStore(retain_ticks=config.retain_ticks), final_tick=config.iterations)
        self.gateway = GatewayCore()
        self.venue.subscribe(self.gateway.pushed)
        strategy_for = strategies.factory(config.strategy, config.strategy_params, general_settings(config))
        self.quoters = {symbol: _Quoter(self.instruments[symbol], strategy_for(self.instruments[symbol]))
                        for symbol in config.symbols}  # fmt: skip
        self.queue: deque[tuple[Callable[[Any], None], Any]] = deque()
        """What a core returned, for the next core: (its handler, the record), oldest first."""
        self.sent_through = 0
        self.done_through = 0
        self.last = 0
        self.own: dict[str, OwnState] = {}
        """What each strategy is told of itself, changed since its quoter's last tick (as the feed keeps it)."""

    # ------------------------------------------------------------ running

    def run(self) -> dict[str, Any]:
        """Every configured tick, the run's closing mass cancels, then the report (as ``build_report`` gives it)."""
        self.feed_ticks(self.config.iterations)
        self.sweep_if_left_open()
        return self.report()

    def report_text(self) -> str:
        """:meth:`run`, rendered: the bytes ``bin/run-shadow`` prints for the same configuration."""
        return render(self.run())

    def feed_ticks(self, last: int) -> None:
        """Feed ticks up to ``last`` and handle everything they cause, until nothing is left to hand on."""
        self.last = max(self.last, last)
        self._fill_window()
        self._drain()

    def sweep_if_left_open(self) -> None:
        """Halted, the freeze unconfirmed or something open: ask the venue again, as ``System.run`` does at its end."""
        for _ in range(FINAL_SWEEPS):
            if not self.risk.engine.halted or (self.risk.confirmed and self.store.store.open_count() == 0):
                return
            self._gateway_said(self.gateway.final_sweep(self.risk.decided_through, self.venue))
            self._drain()

    def report(self) -> dict[str, Any]:
        """The report of the cores' state now."""
        blocks: dict[str, int] = {}
        for quoter in self.quoters.values():
            for reason, count in quoter.blocked.items():
                blocks[reason] = blocks.get(reason, 0) + count
        return report_of_cores(self.config, self.instruments, self.recording, store=self.store, risk=self.risk,
                               gateway=self.gateway, venue=self.venue, strategy_blocks=blocks,
                               market=self.market)  # fmt: skip

    def _drain(self) -> None:
        queue = self.queue
        try:
            while queue:
                handler, record = queue.popleft()
                handler(record)
        except Exception as exc:
            raise BaselineFailure(f"the synchronous baseline stops: {type(exc).__name__}: {exc} (the actors would "
                                  "restart the failed handler; the baseline supervises nothing)") from exc  # fmt: skip

    # ------------------------------------------------------------ the feed

    def _fill_window(self) -> None:
        """As the feed: ticks in flight up to ``ticks_in_flight`` past the last decided, each whole, in order."""
        window, post, market = self.config.ticks_in_flight, self.queue.append, self.market
        while self.sent_through < min(self.last, self.done_through + window):
            tick = self.sent_through + 1
            own, self.own = self.own, {}
            for symbol in self.quoters:
                if symbol in own:
                    post((self.quoters[symbol].own, own[symbol]))
                post((self._quote, (symbol, tick, market.mid_ticks(symbol, tick))))
            post((self._venue_tick, tick))
            self.sent_through = tick

    def _tick_done(self, decision: TickDecision) -> None:
        own = self.own
        for state in decision.own:
            before = own.get(state[0])
            own[state[0]] = state if before is None or not before[4] else (*state[:4], before[4] + state[4])
        tick = decision.tick
        self.done_through = max(self.done_through, tick)
        self._fill_window()

    # ------------------------------------------------------------ quoters

    def _quote(self, market_tick: tuple[str, int, int]) -> None:
        symbol, tick, mid = market_tick
        market = self.market
        stale = isinstance(market, RecordedMarket) and market.stale_after > 0 and market.stale(symbol, tick)
        if stale and not self.quoters[symbol].marks_only:  # as the feed and the quoter: the quotes are pulled
            self.queue.append((self._stale_mark, _Mark(tick, symbol, mid)))
            return
        record = self.quoters[symbol].record(tick, mid, self.config.tick_ms, MarketView.from_mid(mid))
        if not isinstance(record, _Mark):
            self.queue.append((self._intent, record))
        else:
            self.queue.append((self._mark, record))

    def _quoters_freeze(self, halted: Halted) -> None:
        for quoter in self.quoters.values():
            quoter.freeze(halted)

    def _quoters_resume(self, resumed: Resumed) -> None:
        for quoter in self.quoters.values():
            quoter.resume(resumed)

    # ------------------------------------------------------------ risk

    def _intent(self, intent: _Intent | _Levels) -> None:
        self._from_risk(self.risk.intent(intent))

    def _mark(self, mark: _Mark) -> None:
        self._from_risk(self.risk.mark(mark))

    def _stale_mark(self, mark: _Mark) -> None:
        self._from_risk(self.risk.mark(mark, pull=True))

    def _fills_applied(self, forward: Forward) -> None:
        self._from_risk(self.risk.fills(forward.fills, forward.tick if forward.closes else None, ended=forward.ended))

    def _freeze_complete(self, done: FreezeDone) -> None:
        self.risk.confirm(done.canceled)

    def _positions_at_venue(self, held: Held) -> None:
        self._from_risk(self.risk.reconcile(sorted(held.positions.items()), held.tick))

    def _from_risk(self, outputs: Iterable[Output]) -> None:
        """As the risk monitor: a halt or resume to the gateway, the store and every quoter; a decision to the store,
        then the feed's room for another tick.  Nothing is journaled, no deadline armed (both refused)."""
        post = self.queue.append
        for output in outputs:
            if isinstance(output, TickDecision):
                post((self._replace_quotes, output))
                post((self._tick_done, output))
            elif isinstance(output, Halted):
                post((self._gateway_freeze, output))
                post((self._store_freeze, output))
                post((self._quoters_freeze, output))
            elif isinstance(output, Resumed):
                post((self._gateway_resume, output))
                post((self._store_resume, output))
                post((self._quoters_resume, output))

    # ------------------------------------------------------------ the store

    def _replace_quotes(self, decision: TickDecision) -> None:
        orders = [_Wanted._make(fields) for fields in decision.orders]
        keep = [number for _, number in decision.keep]
        self._from_store(self.store.replace_quotes(decision.tick, decision.symbols, orders, flatten=decision.flatten,
                                                   keep=keep))  # fmt: skip

    def _store_freeze(self, halted: Halted) -> None:
        self.store.freeze(halted.tick)

    def _store_resume(self, resumed: Resumed) -> None:
        self.store.resume(resumed.tick)

    def _from_gateway(self, record: Report | MassCancel | Statuses | Held) -> None:
        """As the store takes each of the gateway's records (``roles._order_store.OrderStoreActor``)."""
        store = self.store
        if isinstance(record, Report):
            self._from_store(store.gateway_report(
                record.tick, acks=record.acks, rejects=record.rejects, canceled=record.canceled,
                cancel_failures=record.cancel_failures, fills=record.fills, closes=record.closes,
            ))  # fmt: skip
        elif isinstance(record, MassCancel):
            store.freeze(record.tick)  # the gateway's report may come before risk's freeze: it freezes the store
            self._from_store(store.mass_cancel_report(record.tick, record.canceled, final=True,
                                                      venue_open=record.still_open,
                                                      requested_through=record.requested_through))  # fmt: skip
        elif isinstance(record, Statuses):
            words = [_Word(s.client_id, s.state, s.exchange_order_id or "", s.filled_lots) for s in record.statuses]
            self._from_store(store.order_statuses(record.tick, words, record.requested_through))
        else:
            self._from_store(store.venue_state(record.tick, record.open_orders))
            self.queue.append((self._positions_at_venue, record))

    def _from_store(self, effects: list[Effect]) -> None:
        post = self.queue.append
        for effect in effects:
            if isinstance(effect, Request):
                post((self._gateway_request, _WholeRequest(effect.tick, effect.cancels, effect.places, effect.frozen,
                                                           effect.status, effect.resumed, effect.flatten)))  # fmt: skip
            elif isinstance(effect, Forward):
                post((self._fills_applied, effect))
            elif isinstance(effect, CancelNow):
                if effect.cancels:
                    post((self._gateway_cancel_now, effect))
            elif isinstance(effect, AskStatus):
                if effect.client_ids:
                    post((self._gateway_status, effect))
            elif isinstance(effect, FreezeDone):
                post((self._freeze_complete, effect))
            # a Log: the actor logs it; the baseline's report does not depend on it

    # ------------------------------------------------------------ the gateway

    def _venue_tick(self, tick: int) -> None:
        self._gateway_said(self.gateway.market(tick, 0, self.venue))

    def _gateway_request(self, request: _WholeRequest) -> None:
        self._gateway_said(self.gateway.request(request, self.venue))

    def _gateway_cancel_now(self, cancel: CancelNow) -> None:
        self._gateway_said(self.gateway.cancel_now(cancel.tick, cancel.cancels, self.venue))

    def _gateway_status(self, ask: AskStatus) -> None:
        self._gateway_said(self.gateway.status(ask.tick, ask.client_ids, self.venue))

    def _gateway_freeze(self, halted: Halted) -> None:
        self._gateway_said(self.gateway.freeze(halted.tick, halted.reason, self.venue))

    def _gateway_resume(self, resumed: Resumed) -> None:
        self.gateway.resume(resumed.tick)

    def _gateway_said(self, effects: Effects) -> None:
        post, handler = self.queue.append, self._from_gateway
        for record in effects.to_store:
            post((handler, record))
