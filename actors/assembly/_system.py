"""Build, run and stop a whole engine on any runtime."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pykka

from actors.assembly import _strategies as strategies
from actors.assembly._config import ShadowConfig, resolve
from actors.assembly._market_setup import Market, fill_settings, live_fills, live_session, settle
from actors.assembly._real_venue import adapter_counts, check_sizes, real_venue, run_prefix
from actors.assembly._recovery import (
    JOURNALS,
    LIVE_JOURNAL,
    VENUE_JOURNAL,
    AtStart,
    Recovered,
    VenueDisagrees,
    agree_with_venue,
    carried_gateway_counters,
    finish,
    finish_key,
    finished_report,
    recover,
)
from actors.core._clock import FrozenClock
from actors.core._exchange import ExchangeError
from actors.core._orders import OrderStore
from actors.core._risk import RiskEngine, RiskLimits, client_number
from actors.core._types import Instrument
from actors.markets._data import MarketDataSource, RandomWalkMarket
from actors.markets.live._session import JournaledMids, LiveJournal, LiveSession, read_live_journal
from actors.roles._addresses import FEED, GATEWAY, QUOTERS, RISK, STORE, quoter
from actors.roles._feed import FeedProgress, TickFeed
from actors.roles._gateway import ExchangeGateway, GatewaySnapshot
from actors.roles._order_store import OrderStoreActor, StoreSnapshot
from actors.roles._quoter import Quoter, QuoterSnapshot
from actors.roles._risk_monitor import RiskMonitor, RiskSnapshot
from actors.runtime._base import Runtime
from actors.runtime._realtime import IdleTimeout
from actors.telemetry._logs import event, state_moved
from actors.telemetry._telemetry import Telemetry
from actors.venues._faults import ExchangeFaults, FaultyExchange
from actors.venues._fill_model import FillModel
from actors.venues._interface import (
    IExchangeClient,
    SupportsArmedClose,
    SupportsClose,
    SupportsStart,
    SupportsTick,
    WrapsVenue,
)
from actors.venues._recorded import RecordedVenue
from actors.venues._simulated import FakeExchangeClient
from actors.venues._worker import WORKER_THREADS
from actors.wire._codec import encode
from actors.wire._journal import JournalError, JournalLock, JournalReader, JournalWriter, journal_fingerprint
from actors.wire._messages import (
    CancelItem,
    CancelOrders,
    FeedTicks,
    FinalSweep,
    Freeze,
    FreezeRequest,
    ReconcileRequest,
    parts,
)

T = TypeVar("T")
Progress = Callable[[int, int], None]
PROGRESS_S = 0.5
"""How often a long run reports progress."""
OPERATOR = "Operator"
"""How an operator's freeze reason starts."""
STALL_S = 60.0
"""A run in which no tick is decided for this long has stalled: an error, not a hang."""


RUN_ENDED = "Operator: the run ended; every order at the venue is canceled"
"""The freeze a real venue's run ends with (:meth:`System.empty_the_venue`)."""
FINAL_SWEEPS = 3
"""Last mass cancels a halted run makes at its end while something is open (each one up to 8 tries)."""


class System:
    """A running engine: one quoter per symbol, risk, store and gateway on one runtime."""

    def __init__(
        self,
        runtime: Runtime,
        config: ShadowConfig,
        *,
        exchange: IExchangeClient | None = None,
        market: MarketDataSource | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        """``telemetry``: watch the run (metrics, event log, progress); None costs nothing."""
        self.runtime = runtime
        self.telemetry = telemetry
        settled = settle(config)  # reads --market and --instruments files; nothing is locked or written yet
        self.config = config = settled.config
        self.instruments: dict[str, Instrument] = settled.instruments
        self.recording: Market | None = settled.market
        """The recorded market replayed, if ``--market`` named one."""
        self.live: LiveSession | None = None
        """The live market (``--market live:...``): its stream starts with the run and stops with it."""
        self.live_journal: LiveJournal | None = None
        """A journaled live run's ``live.journal`` as it was found: the killed session's ticks (docs/LIVE.md)."""
        self.journal_dir = Path(config.journal) if config.journal else None
        self.lock = JournalLock(self.journal_dir) if self.journal_dir is not None else None
        self.finished: str | None = None
        """The report of the run the journal holds finished under these settings: print it, start nothing."""
        self.final_report: str | None = None
        """Set once the run is done and reported: :meth:`stop` writes it into the journal as finished."""
        try:
            if self.journal_dir is not None:
                fingerprint = journal_fingerprint(config)
                check_journals(self.journal_dir, fingerprint)
                self.finished = finished_report(self.journal_dir, finish_key(config), fingerprint)
            journaled = self.journal_dir if self.finished is None else None  # a finished journal is only read
            self._settle_live(journaled)
            if market is None:
                recorded = settled.market
                market = recorded.feed_market() if recorded else self.live
            self.market = market or RandomWalkMarket(self.instruments, config.seed, config.volatility_bps)
            if exchange is None and config.real_venue:
                exchange = real_venue(config, self.instruments)  # one line if it cannot be had (keys, host)
            self.exchange = exchange or fake_exchange(config, journaled, fill_model=self._fill_model())
            if self.live_journal is not None and journaled is not None:
                check_live_journal(journaled, self.live_journal, self.venue)
        except BaseException:
            self._release()
            raise
        self.progress = FeedProgress()
        self.ended_early: int | None = None
        """Set if the run could not go on to the tick it was asked for: the feed's last finished tick."""
        self.recovered: Recovered | None = None
        self.resumed_after_tick: int | None = None
        self._emptied = False
        self.venue_empty = False
        """A real venue's run ended with the venue confirmed empty (only then is its cancel-on-disconnect disarmed)."""
        self.at_start: AtStart | None = None
        """What a real venue held as the run started, and what the run did with it (:func:`agree_with_venue`)."""
        self.risk: pykka.ActorRef[Any]
        self.store: pykka.ActorRef[Any]
        self.gateway: pykka.ActorRef[Any]

    @classmethod
    def build(cls, runtime: Runtime, *, exchange: IExchangeClient | None = None, **settings: Any) -> System:
        """A system from defaults overridden by ``settings`` (config keys, e.g. ``symbols=[...]``).

        ``exchange``: the venue to trade on (any :class:`IExchangeClient`);
        by default the simulated venue the settings describe.  ``strategy``:
        a built-in's name, ``package.module:Class``, or the class itself;
        ``strategy_params``: its parameters as a dict.
        """
        if "strategy" in settings:
            settings["strategy"] = strategies.spec_of(settings["strategy"])
        config = resolve(overrides=settings, override_source="setting")
        return cls(runtime, replace(config, runtime=runtime.name), exchange=exchange)

    def start(self) -> None:
        """Spawn every actor; the gateway first, the feed last (each only sends downstream).

        After a crash the run resumes after the venue's last tick: every
        actor starts counting ticks from there, with the counters it had.
        """
        if self.finished is not None:
            raise RuntimeError("the journal holds this run finished: print System.finished, start nothing")
        config = self.config
        limits = risk_limits(config)
        strategy_for = strategies.factory(config.strategy, config.strategy_params, general_settings(config))
        store = OrderStore(retain_ticks=config.retain_ticks)
        engine = RiskEngine(limits, self.instruments)
        venue = self.venue
        if config.real_venue:
            self._start_on_real_venue(store, engine)
        venue_tick = venue.tick if self.journal_dir is not None and isinstance(venue, SupportsTick) else 0
        if self.journal_dir is not None:
            engine.track_own = strategies.reads_own_state(config.strategy)  # the replayed fills make the averages
            live_journal = self.live_journal
            marks = JournaledMids(live_journal, self.instruments) if live_journal is not None else self.market
            self.recovered = recover(
                self.journal_dir, store, engine, marks, config.symbols, reached=venue_tick,
                final_tick=config.iterations, fsync=config.journal_fsync, fingerprint=journal_fingerprint(config),
                keep_fills_after=self._fills_to_keep_after(), venue=venue,
            )  # fmt: skip
        recovered = self.recovered
        engine.take_own()  # the fills before a kill were told before it: the first decision tells the rest
        if engine.halted and limits.flatten_on_halt:  # flattening orders open at the kill: canceled as the window ends
            engine.flattening = {order.symbol for order in store.open_orders()}
        elif not engine.halted:  # what rests at the kill is what risk may keep
            for order in store.open_orders():
                if not order.cancel_requested:
                    engine.rest(order.symbol, client_number(order.client_id), int(order.side), order.price_ticks,
                                order.remaining_lots)  # fmt: skip
        resumed = recovered is not None and (recovered.records > 0 or venue_tick > 0)
        tick = self._start_tick(venue_tick) if resumed else 0
        if resumed:
            self.resumed_after_tick = tick
        freeze = (engine.halted_at, engine.halt_reason) if resumed and engine.halted else None  # either journal
        paced = config.pace == "realtime"
        runtime = self.runtime
        counters = carried_gateway_counters(self.exchange) if resumed else {}
        telemetry = self.telemetry
        if telemetry is not None:
            telemetry.bind(runtime)
            telemetry.orders.start_from(store, engine.fills_applied)  # after the replay: the log holds this run's
        timed = telemetry if telemetry is not None and telemetry.metrics else None
        self.gateway = runtime.spawn(
            ExchangeGateway, GATEWAY, self.exchange, market_through=tick, measure_latency=paced, counters=counters,
            telemetry=timed, worker_threads=WORKER_THREADS if config.real_venue else 0,  # a real venue: never waited on
        )  # fmt: skip
        events = telemetry.orders if telemetry is not None else None
        self.store = runtime.spawn(
            OrderStoreActor, STORE, store, requested_through=tick, events=events, final_tick=config.iterations
        )
        self.risk = self._spawn_risk(engine, tick, freeze)
        for symbol in config.symbols:
            runtime.spawn(Quoter, quoter(symbol), self.instruments[symbol], strategy_for(self.instruments[symbol]),
                          tick_ms=config.tick_ms)  # fmt: skip
        pace_s = config.tick_ms / 1000.0 if paced else None
        window = config.ticks_in_flight
        self._start_live(tick)
        runtime.spawn(
            TickFeed, FEED, self.market, config.symbols, fed_through=tick, window=window, pace_s=pace_s,
            progress=self.progress, live=self.live,
        )  # fmt: skip
        if resumed:
            _log_resume(tick, self.journal_dir, recovered, engine.state.value, freeze)
            self._resume(tick, freeze, engine.halt_resumable or limits.flatten_on_halt)

    def _start_on_real_venue(self, store: OrderStore, engine: RiskEngine) -> None:
        """Before the first quote on a real venue: its sizes are the engine's, the run's client ids are its own, and
        its open orders and positions are where the run starts (:func:`agree_with_venue`)."""
        config, venue = self.config, self.venue
        try:
            if isinstance(venue, SupportsStart):
                venue.start()  # the account's own rate limits, the cancel-on-disconnect armed, the user stream
        except ExchangeError as exc:
            raise VenueDisagrees(f"cannot start on the venue: {exc}") from None
        try:
            check_sizes(venue, self.instruments, f"--venue {config.venue}")
        except ExchangeError as exc:
            raise VenueDisagrees(f"cannot read the venue's sizes: {exc}") from None
        store.id_prefix = run_prefix()
        self.at_start = agree_with_venue(store, engine, venue, config.symbols, adopt=config.unknown_orders == "adopt")
        _log_at_start(self.at_start, config.unknown_orders)

    def _settle_live(self, journaled: Path | None) -> None:
        """A live market's session (not started), and with ``journaled`` its journal as the killed run left it.

        A finished journal's run gets none: it connects to nothing and records nothing.
        """
        config = self.config
        if not config.live or self.finished is not None:
            return
        self.live = live_session(config, self.instruments)
        if journaled is not None:
            fingerprint = journal_fingerprint(config)
            self.live_journal = read_live_journal(journaled / LIVE_JOURNAL, self.instruments, fingerprint)

    def _start_live(self, tick: int) -> None:
        """A live market's stream starts (it returns at once; ticks come as its buckets close), its first bucket
        the tick after ``tick``, the venue's last; journaled to ``live.journal`` with ``--journal``."""
        live, config = self.live, self.config
        if live is None:
            return
        live.resume_at(tick, self.live_journal)
        if self.journal_dir is not None:
            kept = self.live_journal.valid_bytes if self.live_journal is not None else None
            live.journal = JournalWriter(self.journal_dir / LIVE_JOURNAL, fsync=config.journal_fsync,
                                         keep_bytes=kept, fingerprint=journal_fingerprint(config))  # fmt: skip
        live.stream.start()

    def _fills_to_keep_after(self) -> int | None:
        """How many of the journal's fills to skip before keeping the rest (a restarted shard's); None: keep none."""
        return None

    def _start_tick(self, venue_tick: int) -> int:
        """The tick a resumed run's actors count from: the venue's last (a restarted shard: the coordinator's)."""
        return venue_tick

    def _spawn_risk(self, engine: RiskEngine, tick: int, freeze: tuple[int, str] | None) -> pykka.ActorRef[Any]:
        """The actor at ``RISK``: the risk monitor (a shard puts its link to the coordinator there instead)."""
        config, recovered = self.config, self.recovered
        paced = config.pace == "realtime"
        return self.runtime.spawn(
            RiskMonitor,
            RISK,
            engine,
            config.symbols,
            decided_through=tick,
            halt_tick=freeze[0] if freeze else None,
            final_tick=config.iterations,
            deadline_s=config.decision_deadline_ms / 1000.0 if paced else None,
            journal=recovered.risk_journal if recovered else None,
            risk_blocks=recovered.risk_blocks if recovered else 0,
            telemetry=self.telemetry,
            own=strategies.reads_own_state(config.strategy),
            named=config.live and config.live_decide == "message",
        )

    def _fill_model(self) -> FillModel | None:
        """The market's fill model for the venue, or None for the venue's own coin flip."""
        if self.config.fill_model == "market" and self.recording is not None:
            return self.recording.fill_model()
        if self.config.fill_model == "market" and self.live is not None:
            return live_fills(self.live, fill_settings(self.config), self.live_journal)
        return None

    @property
    def venue(self) -> IExchangeClient:
        """The venue itself, under the fault injector if there is one (:class:`WrapsVenue`)."""
        return self.exchange.inner if isinstance(self.exchange, WrapsVenue) else self.exchange

    @property
    def ticks_run(self) -> int:
        """The last tick risk reported decided to the feed (as the feed saw it)."""
        return self.progress.done_through

    def _resume(self, tick: int, freeze: tuple[int, str] | None, keep_quoting: bool) -> None:
        """After a crash: frozen if we were, reconciled with the venue before the first new tick."""
        runtime = self.runtime
        if freeze is not None:
            record = encode(Freeze(freeze[0], freeze[1], keep_quoting))
            for address in [GATEWAY, STORE, *runtime.directory.group(QUOTERS)]:
                runtime.tell(address, record)
        runtime.tell(GATEWAY, encode(ReconcileRequest(tick)))
        orphans = [CancelItem(*order) for order in self.recovered.rebuilt.cancel] if self.recovered is not None else []
        for part in parts(orphans) if orphans else ():
            runtime.tell(GATEWAY, encode(CancelOrders(tick, part)))  # adopted from the venue, wanted by nobody
        runtime.wait_idle()

    def freeze(self, reason: str) -> None:
        """The operator's kill switch: halt trading now, for good, with ``reason`` (prefixed ``Operator: ``).

        Safe from any thread.  It takes effect when risk hears it, like any
        operator's freeze (docs/DESIGN.md, "Why the result is deterministic").
        Before the system has started it is kept, and risk hears it before
        the first tick (told to no one, it was dead-lettered and lost).
        """
        if RISK in self.runtime.directory:
            self.runtime.tell(RISK, operator_request(reason))
        else:
            self.runtime.tell_from_outside(RISK, operator_request(reason))  # let in as the run starts

    def freeze_from_signal(self, reason: str) -> None:
        """:meth:`freeze` from a signal handler (``bin/run-shadow`` on SIGUSR1): queued, sent within one wait.

        The run's wait loop (or, under the sim, its next step) lets it in;
        the handler itself takes no lock (:meth:`Runtime.tell_from_outside`).
        """
        self.runtime.tell_from_outside(RISK, operator_request(reason))

    def run(self, iterations: int | None = None, progress: Progress | None = None) -> None:
        """Feed ``iterations`` more ticks (default: up to the configured number) and wait until they are done.

        The only wait of a run: the feed keeps a bounded number of ticks in
        flight on its own, and the system is idle once the last one is done
        (paced, it is idle between ticks: the clock moves on until the last
        is decided).  Idle with ticks undecided means an actor on the path
        stopped for good: the run ends there and the report says how far it
        got.  No progress for ``STALL_S`` seconds is an error.
        """
        first = self.progress.sent_through
        last = self.config.iterations if iterations is None else first + iterations
        total = last - first
        if total <= 0:
            return
        self.runtime.admit_from_outside()  # a kill switch pulled before the run: risk hears it before any tick
        self.runtime.tell(FEED, encode(FeedTicks(last)))
        paced = self.config.pace == "realtime"
        seen, quiet_since = self.progress.done_through, time.monotonic()
        waited_idle = 0.0
        while self.progress.done_through < last:
            self.runtime.admit_from_outside()  # a kill switch pulled during the last wait
            try:
                self.runtime.wait_idle(timeout=PROGRESS_S)
                idle = True
            except IdleTimeout:
                idle = False
            done = self.progress.done_through
            if done != seen or (self.live is not None and not self.live.opened):  # a market not open is no stall
                seen, quiet_since = done, time.monotonic()
            elif time.monotonic() - quiet_since > STALL_S:
                raise IdleTimeout(f"no tick decided for {STALL_S:.0f} s (last decided: {done})")
            if progress is not None:
                progress(done - first, total)
            if done >= last:
                break
            if idle and self.live is not None and self.live.ended and done >= self.progress.sent_through:
                break  # a live run ended by the user: the ticks sent are decided, no other will come
            # Idle with ticks undecided: an actor on the path stopped for good.  Paced, the clock
            # first gets the time every tick needs to be sent and decided at its deadline.
            feed_gone = FEED not in self.runtime.directory  # it gave up: no tick will come any more
            if idle and (not paced or feed_gone or waited_idle > self._paced_grace_s()):
                self.ended_early = done
                break
            if paced:
                step = self.config.tick_ms / 1000.0
                waited_idle = waited_idle + step if idle and self.progress.sent_through >= last else 0.0
                self.runtime.pass_time(step)
        if progress is not None:
            progress(total, total)
        self._sweep_if_left_open()

    def end_live(self) -> None:
        """A live run stopped by the user (Ctrl-C, SIGTERM): no tick after those sent, which are decided, then the
        last sweep, as at any run's end; its iterations are the ticks it ran.  (``live.end()`` from any thread ends
        a :meth:`run` the same way.)"""
        if self.live is None:
            return
        self.live.end()
        self.run()
        self.config = replace(self.config, iterations=self.progress.sent_through)

    def live_report(self) -> dict[str, Any] | None:
        """The live market's section of the report (None on any other market): what the stream did, what was pulled."""
        live = self.live
        if live is None:
            return None
        status = live.stream.status()
        counts = status.counts
        names = ("connections", "reconnects", "frames", "quotes", "trades", "bad_frames", "gaps", "snapshots",
                 "stale_episodes")  # fmt: skip
        section: dict[str, Any] = {
            "venue": self.config.market[0],
            "start_us": live.start_us,
            "stream": {name: counts.get(name, 0) for name in names},
            "quotes_pulled_stale": live.stale_pulls,
            "recorded_to": self.config.record or None,
            "resumed": live.resumed.as_report() if live.resumed is not None else None,
        }
        if live.by_message:  # docs/LIVE.md, "Latency": ticks as messages came, each deciding what it named
            section["decide"] = {"by": "message", "symbols_named": live.names_sent}
        return section

    def venue_report(self) -> dict[str, Any] | None:
        """A real venue's section of the report (None on the simulated one): its name, what it held at the start, and
        what its adapter counted (:func:`actors.assembly._real_venue.adapter_counts`)."""
        if not self.config.real_venue:
            return None
        return {
            "name": self.config.venue,
            "at_start": self.at_start.as_report() if self.at_start is not None else None,
            "adapter": adapter_counts(self.venue),
        }

    def empty_the_venue(self) -> None:
        """A real venue's run is over: freeze (the kill switch's path), so that every order there is canceled and
        the venue confirms none is open, then the last sweeps if something is (docs/LIVE.md).

        Once per run; a run frozen already only gets the sweeps.  A simulated
        venue's run is left as it is: its orders end with the process.
        """
        if not self.config.real_venue or self._emptied:
            return
        self._emptied = True
        if RISK not in self.runtime.directory or GATEWAY not in self.runtime.directory:
            self.venue_empty = _cancel_all_directly(self.venue)  # no freeze to go through: the venue itself, once
            return
        if not self.risk_snapshot().frozen:
            self.freeze(RUN_ENDED)
            self.runtime.wait_idle()
        self._sweep_if_left_open()
        risk = self.risk_snapshot()
        self.venue_empty = risk.freeze_confirmed and not self.store_snapshot().open_orders

    def _sweep_if_left_open(self) -> None:
        """A halted run whose freeze is unconfirmed or that holds an open order asks the venue once more, at its end.

        A cancel that was still backing off (a flattening order's, say), or a
        mass cancel whose last answer said something was open, is settled by
        a last mass cancel: a confirmed freeze means nothing is open, and
        nothing open means confirmed (docs/RELIABILITY.md, "A confirmed freeze").
        """
        for _ in range(FINAL_SWEEPS):
            risk = self.risk_snapshot()
            if not risk.frozen or (risk.freeze_confirmed and not self.store_snapshot().open_orders):
                return
            self.runtime.tell(GATEWAY, encode(FinalSweep(risk.decided_through)))
            self.runtime.wait_idle()

    def _paced_grace_s(self) -> float:
        """How long a paced run may sit idle after its last tick before it is over: two deadlines and a tick."""
        return 2 * self.config.decision_deadline_ms / 1000.0 + self.config.tick_ms / 1000.0

    def stop(self) -> None:
        """Stop every actor and the runtime, then close the journals.

        With a :attr:`final_report`, the venue's and risk's journals are
        closed first and the report is written last into the store's: the
        journal holds a finished run.
        """
        try:
            self.empty_the_venue()  # a real venue is left with nothing open, however the run ended
        except Exception as exc:  # stopping goes on; the log says what was left
            event("venue_not_emptied").error("the run could not cancel its orders at the venue: {}", exc)
        self.runtime.shutdown()
        if self.live is not None:
            self.live.stream.stop()  # closes the recording too
            _close(self.live.close_journal)
        venue = self.venue
        if isinstance(venue, SupportsArmedClose) and not self.venue_empty:
            # the venue's cancel-on-disconnect stays armed: what the run could not cancel, the venue will
            closed = _close(lambda: venue.close(disarm=False))
        else:
            closed = _close(venue.close if isinstance(venue, SupportsClose) else None)
        recovered = self.recovered
        if recovered is not None:
            if recovered.risk_journal is not None:
                closed = _close(recovered.risk_journal.close) and closed
            journal, directory, report = recovered.store.journal, self.journal_dir, self.final_report
            if isinstance(journal, JournalWriter):  # the store's sink is the file this system opened
                if closed and report is not None and directory is not None:
                    _close(lambda: finish(directory, journal, finish_key(self.config), report))
                _close(journal.close)
        self._release()

    def _release(self) -> None:
        if self.lock is not None:
            self.lock.release()

    # ------------------------------------------------------------ observation

    def _ask_snapshot(self, address: str, kind: type[T]) -> T:
        """The actor's snapshot once the system is idle; read directly if the actor has stopped for good."""
        self.runtime.admit_from_outside()
        self.runtime.wait_idle()
        actor = self.runtime.last_instance(address)
        if actor is None:
            raise KeyError(f"no actor at {address!r}")
        try:
            snapshot = actor.actor_ref.proxy().snapshot().get()
        except pykka.ActorDeadError:
            snapshot = actor.snapshot()  # it gave up: nothing runs it any more, its state is final
        assert isinstance(snapshot, kind)
        return snapshot

    def store_snapshot(self) -> StoreSnapshot:
        """The order store's state, once the system is idle."""
        return self._ask_snapshot(STORE, StoreSnapshot)

    def risk_snapshot(self) -> RiskSnapshot:
        """The risk monitor's state, once the system is idle."""
        return self._ask_snapshot(RISK, RiskSnapshot)

    def gateway_snapshot(self) -> GatewaySnapshot:
        """The gateway's counters, once the system is idle."""
        return self._ask_snapshot(GATEWAY, GatewaySnapshot)

    def quoter_blocks(self) -> dict[str, int]:
        """Every quoter's blocked ticks by reason, summed (sorted by reason), once the system is idle."""
        total: dict[str, int] = {}
        for symbol in self.config.symbols:
            for reason, count in (self.quoter_snapshot(symbol).blocked or {}).items():
                total[reason] = total.get(reason, 0) + count
        return dict(sorted(total.items()))

    def quoter_snapshot(self, symbol: str) -> QuoterSnapshot:
        """One quoter's state, once the system is idle."""
        return self._ask_snapshot(quoter(symbol), QuoterSnapshot)


def _log_resume(
    tick: int, journal_dir: Path | None, recovered: Recovered | None, state: str, freeze: tuple[int, str] | None
) -> None:
    """The resume line (INFO): where the run goes on from and what the journals gave back; what the venue added."""
    records, fills = (recovered.records, recovered.fills) if recovered is not None else (0, 0)
    torn = recovered is not None and recovered.torn_tail
    event("resume", tick=tick, journal=str(journal_dir), records=records, fills=fills, state=state,
          freeze_reason=freeze[1] if freeze else None, torn_tail=torn).info(
        "resume after tick {} from {}: {} store records and {} fills replayed, state {}{}{}; reconciling with the "
        "venue", tick, journal_dir, records, fills, state, f" (halted at tick {freeze[0]}: {freeze[1]})" if freeze
        else "", ", a torn last record dropped" if torn else "",
    )  # fmt: skip
    rebuilt = recovered.rebuilt if recovered is not None else None
    if rebuilt is not None and rebuilt.halted is not None:
        state_moved(rebuilt.halted)
    if rebuilt is not None and (rebuilt.orders or rebuilt.applied or rebuilt.positions):
        positions = ", ".join(f"{symbol} {lots:+d} lots" for symbol, lots in rebuilt.positions.items()) or "none"
        event("rebuilt", tick=tick, orders=rebuilt.orders, fills=len(rebuilt.applied), positions=rebuilt.positions,
              canceled=len(rebuilt.cancel)).warning(
            "the journals lacked what the venue holds: {} orders adopted ({} still open there, canceled), {} fills "
            "applied, positions taken from the venue: {}", rebuilt.orders, len(rebuilt.cancel), len(rebuilt.applied),
            positions,
        )  # fmt: skip


def _log_at_start(at_start: AtStart, policy: str) -> None:
    """What the real venue held as the run started (WARNING when it held orders or a position, else INFO)."""
    positions = ", ".join(f"{symbol} {lots:+d} lots" for symbol, lots in at_start.positions.items()) or "none"
    bound = event("venue_at_start", open_orders=at_start.open_orders, canceled=at_start.canceled,
                  adopted=at_start.adopted, positions=at_start.positions, policy=policy)  # fmt: skip
    done = f"{at_start.adopted} adopted" if policy == "adopt" else f"{at_start.canceled} canceled, none left open"
    line = "the venue held {} open orders this run did not place ({}); positions taken from the venue: {}"
    if at_start.open_orders or at_start.positions:
        bound.warning(line, at_start.open_orders, done, positions)
    else:
        bound.info(line, at_start.open_orders, done, positions)


def operator_request(reason: str) -> bytes:
    """The operator's kill switch as the record risk takes: a FreezeRequest whose reason says who pulled it."""
    text = reason if reason.startswith(OPERATOR) else f"{OPERATOR}: {reason}"
    return encode(FreezeRequest(text))


def _close(close: Callable[[], None] | None) -> bool:
    """Run a journal's closing step; a failure (a full disk) is logged, the journal keeps what it had."""
    try:
        if close is not None:
            close()
    except (OSError, JournalError) as exc:
        event("journal_error").error("closing a journal failed: {}", exc)
        return False
    return True


def check_journals(journal_dir: Path, fingerprint: dict[str, Any]) -> None:
    """Refuse a directory whose journals were written under other settings before anything is written to it.

    A refused run must leave the directory as it found it, so every header
    is read first (reading stops at the first record).
    """
    for name in (*JOURNALS, LIVE_JOURNAL):
        for _ in JournalReader(journal_dir / name, fingerprint=fingerprint):
            break


def check_live_journal(journal_dir: Path, journal: LiveJournal, venue: IExchangeClient) -> None:
    """Refuse a live journal that lacks ticks the venue's journal went through: the venue was replayed against
    an empty market for them, and would not be what it was (a journal deleted or cut short by hand)."""
    reached = venue.tick if isinstance(venue, SupportsTick) else 0
    if journal.last_tick < reached:
        raise JournalError(
            f"{journal_dir / LIVE_JOURNAL}: holds the market up to tick {journal.last_tick}, but the venue's journal "
            f"went on to tick {reached}: the venue cannot be restored without it"
        )


def fake_exchange(
    config: ShadowConfig, journal_dir: Path | None = None, *, fill_model: FillModel | None = None
) -> FakeExchangeClient | FaultyExchange:
    """The shadow run's venue, as ``config`` describes it: honest or hostile, journaled or not.

    With ``fill_model = "market"`` and no model given, the venue reads the
    recording itself (a journaled venue replays its journal against it).
    """
    if fill_model is None and config.fill_model == "market" and config.market:
        recording = settle(config).market
        fill_model = recording.fill_model() if recording else None
    options: dict[str, Any] = {
        "seed": config.seed,
        "fill_rate": config.fill_rate,
        "reject_rate": config.reject_rate,
        "partial_fill_rate": config.partial_fill_rate,
        "clock": FrozenClock.parse(config.freeze_utc_iso),
        "retain_ticks": config.retain_ticks,
        "fill_model": fill_model,
    }
    if journal_dir is not None:
        fingerprint = journal_fingerprint(config)
        venue: FakeExchangeClient = RecordedVenue(journal_dir / VENUE_JOURNAL, fingerprint=fingerprint, **options)
    else:
        venue = FakeExchangeClient(**options)
    faults = exchange_faults(config)
    return FaultyExchange(venue, faults, config.seed) if faults.any else venue


def general_settings(config: ShadowConfig) -> dict[str, float]:
    """The run's settings a built-in strategy's parameter of the same name defaults to."""
    return {"spread_bps": config.spread_bps, "quote_notional_usd": config.quote_notional_usd}


def risk_limits(config: ShadowConfig) -> RiskLimits:
    """The limits and trading-state settings of ``config``."""
    return RiskLimits(
        config.max_inv,
        config.max_total,
        config.edge_threshold,
        config.edge_min_fills,
        reduce_above_usd=config.reduce_above_usd,
        reduce_above_total_usd=config.reduce_above_total_usd,
        max_order_usd=config.max_order_usd,
        price_band_bps=config.price_band_bps,
        max_open_orders=config.max_open_orders,
        max_orders_per_sec=config.max_orders_per_sec,
        tick_ms=config.tick_ms,
        resume_after_ticks=config.resume_after_ticks,
        edge_window_fills=config.edge_window_fills,
        flatten_on_halt=config.flatten_on_halt,
        flatten_ticks=config.flatten_ticks,
    )


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



def _cancel_all_directly(venue: IExchangeClient) -> bool:
    """The engine's actors are gone (risk or the gateway failed for good): cancel at the venue itself, once, and
    say whether it then holds nothing open (logged either way; never raises)."""
    try:
        venue.cancel_all()
        left = venue.get_orders()
    except ExchangeError as exc:
        event("venue_not_emptied").error("the run could not cancel its orders at the venue: {}", exc)
        return False
    if left:
        event("venue_not_emptied").error("the venue still holds {} open orders of the run's symbols", len(left))
    return not left
