"""The market-data feed: puts market ticks in flight, a bounded number at a time.

It is the only thing that moves a run forward, and it does so by data alone:
tick t goes to every quoter (its symbol's mid; on a recorded or live market
also its top of book with sizes, the bucket's trades and, on depth data, the
book's levels: :class:`MarketTick`) and to the gateway (the venue's market moves),
and nothing else is said about t.  A synthetic market has a mid only, and
the tick says so (no top of book: the strategy sees bid = ask = mid).  Before a
quoter's tick goes what its strategy is told of itself, when it changed:
risk's last :class:`TickDone` says it (docs/STRATEGIES.md).  In the
deterministic mode (``asap``) a new tick goes out when risk reports an older
one decided, so at most ``window`` ticks are in flight and quoters work on
later ticks while risk decides earlier ones.  In the paced mode a tick goes
out every ``pace_s`` seconds of the runtime's clock, decided or not, as a
live feed would (docs/DESIGN.md).  On a live market (``live``) a tick goes
out as its wall-clock bucket closes (:mod:`actors.markets.live._session`),
with the symbols whose market is stale marked so (their quotes are pulled),
and a market down too long halts trading (docs/LIVE.md).  A live market
deciding by message (``LiveSession.by_message``) wakes the feed as messages
arrive; each tick goes only to the quoters of the symbols it names, and risk
is told those names (:class:`TickSymbols`), so a tick costs what moved, not
every symbol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from actors.core._trading_state import HaltKind
from actors.markets._data import MarketDataSource
from actors.markets._recorded import RecordedMarket, TopOfBook
from actors.markets.live._session import LiveSession
from actors.roles._addresses import GATEWAY, RISK, quoter
from actors.roles._supervision import SupervisedRole
from actors.runtime._actor import handles
from actors.runtime._base import TimerHandle
from actors.telemetry._logs import PACE_EVERY_S, Throttle, event
from actors.wire._codec import encode
from actors.wire._messages import (
    FeedTicks,
    FreezeRequest,
    MarketTick,
    OwnState,
    PaceTick,
    TickDone,
    TickSymbols,
    VenueTick,
)

ARRIVED = -1
"""The :class:`PaceTick` a live stream sends the feed as messages arrive (deciding by message): poll now."""


@dataclass
class FeedProgress:
    """How far the feed got; written by the feed alone, read by whoever shows progress."""

    sent_through: int = 0
    done_through: int = 0
    worst_late_s: float = 0.0
    """Paced mode: the latest a tick went out after its time on the pace's grid (0: never a whole tick late)."""


class TickFeed(SupervisedRole):
    """Sends each market tick once, in order, to every quoter and to the gateway."""

    def __init__(
        self,
        market: MarketDataSource,
        symbols: Sequence[str],
        *,
        fed_through: int = 0,
        window: int = 4,
        pace_s: float | None = None,
        progress: FeedProgress | None = None,
        live: LiveSession | None = None,
    ) -> None:
        """``live``: the feed's ticks are a live market's closed buckets (``market`` is then ``live``)."""
        super().__init__()
        if window < 1:
            raise ValueError(f"the feed needs at least one tick in flight, got {window}")
        self.market = market
        self.addresses = [(symbol, quoter(symbol)) for symbol in symbols]
        self.address_of = dict(self.addresses)
        self.window = window
        self.pace_s = pace_s
        self.last = fed_through
        self.progress = progress or FeedProgress()
        self.progress.sent_through = self.progress.done_through = fed_through
        self.pacing_since: float | None = None
        self.paced_from = fed_through
        self.behind = Throttle(PACE_EVERY_S)
        self.live = live
        self.live_waking = False
        self.live_timer: TimerHandle | None = None
        """The next timed wake of a live market's feed (cancelled once no tick follows)."""
        self.live_held = False
        """Deciding by message, ``window`` ticks were in flight at the last wake: the next decision wakes the feed."""
        self.market_down_asked = False
        self.not_open = Throttle(live.down_after_us / 1e6 if live is not None else PACE_EVERY_S)
        self.own: dict[str, OwnState] = {}
        """What each strategy is told of itself, changed since its quoter's last tick (risk's :class:`TickDone`)."""

    @handles(FeedTicks)
    def on_feed_ticks(self, feed: FeedTicks) -> None:
        """Feed up to ``feed.last``: at once up to the window, or from now on at the pace."""
        self.last = max(self.last, feed.last)
        if self.live is not None:
            if self.live.by_message:  # the stream wakes the feed as messages arrive (from its own thread)
                self.live.stream.wake_on_arrival(partial(self.runtime.tell, self.address, encode(PaceTick(ARRIVED))))
            if not self.live_waking:
                self.live_waking = True
                self._live_wake()
        elif self.pace_s is None:
            self._fill_window()
        elif self.pacing_since is None:
            self.pacing_since = self.runtime.now()
            self.paced_from = self.progress.sent_through
            self._paced_tick(self.paced_from + 1)

    @handles(TickDone)
    def on_tick_done(self, done: TickDone) -> None:
        """Risk decided ``done.tick``: room for another tick, which takes what the strategies are told of themselves
        as of this decision (in the asap mode, tick ``done.tick + window``)."""
        own = self.own
        for state in done.own:
            before = own.get(state.symbol)
            if before is not None and before.fills:  # not sent yet: its fills are still the strategy's news
                own[state.symbol] = OwnState(state.symbol, state.position_lots, state.avg_price_e6, state.resting,
                                             before.fills + state.fills)  # fmt: skip
            else:
                own[state.symbol] = state
        progress = self.progress
        progress.done_through = max(progress.done_through, done.tick)
        if self.pace_s is None and self.live is None:
            self._fill_window()
        elif self.live_held:  # deciding by message, the window was full: what arrived meanwhile goes now
            self.live_held = False
            self._live_wake(timer=False)

    @handles(PaceTick)
    def on_pace_tick(self, pace: PaceTick) -> None:
        """Paced mode: the clock says it is time for ``pace.tick`` (or past it: a tick that failed goes now)."""
        if self.live is not None:
            if pace.tick != ARRIVED or self.live_waking:
                self._live_wake(timer=pace.tick != ARRIVED)
        elif pace.tick > self.progress.sent_through:
            self._paced_tick(self.progress.sent_through + 1)

    def _paced_tick(self, tick: int) -> None:
        """Schedule the next tick on the pace's grid (no drift), then send ``tick``.

        In that order: a failure sending this tick must not stop the pace
        (nothing else would wake the feed); the next wake-up sends the tick
        that failed first.
        """
        if tick > self.last or self.pace_s is None or self.pacing_since is None:
            self.pacing_since = None
            return
        now = self.runtime.now()
        due = self.pacing_since + (tick - self.paced_from) * self.pace_s
        self.schedule(max(0.0, due - now), PaceTick(tick + 1))
        if now > due:  # the next tick is due already: this one is a whole tick late or more
            self._behind(tick, now - due + self.pace_s)
        self._send(tick)

    def _behind(self, tick: int, late_s: float) -> None:
        """The run cannot keep its pace: say how far behind it is, at most every :data:`PACE_EVERY_S`."""
        progress = self.progress
        progress.worst_late_s = max(progress.worst_late_s, late_s)
        if self.pace_s is not None and self.behind.due(self.runtime.now()):
            ticks = round(late_s / self.pace_s)
            event("pace_behind", tick=tick, late_s=round(late_s, 3), ticks_behind=ticks).warning(
                "pace: tick {} went out {:.2f} s late, {} ticks behind a tick every {:g} ms; the engine cannot "
                "keep the pace", tick, late_s, ticks, self.pace_s * 1000,
            )  # fmt: skip

    def _live_wake(self, *, timer: bool = True) -> None:
        """A live market: send every tick whose bucket closed, say what the stream did, and wake at the next close.

        Scheduled first, as the paced mode does: a failure sending must not
        stop the ticks.  A tick that failed to go out is not sent again (its
        bucket is gone from the stream): risk decides it at its deadline.
        Woken by an arrival (``timer`` false, deciding by message), the timer
        already set stays the only one.  Deciding by message, no tick closes
        while ``window`` ticks are in flight: what arrives meanwhile waits for
        the next decision and goes in one larger tick (a slower engine decides
        fewer, larger ticks instead of falling behind).
        """
        live = self.live
        assert live is not None
        progress = self.progress
        if live.ended or progress.sent_through >= self.last:
            self._live_quiet(live)
            return
        self.live_held = live.by_message and progress.sent_through - progress.done_through >= self.window
        ticks = live.advance() if not self.live_held else []
        if timer:  # an arrival's wake leaves the stream's news to the timer's (it costs every symbol)
            self.live_timer = self.schedule(live.next_wake_s(), PaceTick(0))
            self._live_news(live)
        for tick in ticks:
            if tick > self.last:
                break
            self._send(tick)
        if progress.sent_through >= self.last:  # the last tick is out: the run may end before the next wake
            self._live_quiet(live)
        if live.down and not self.market_down_asked:
            self.market_down_asked = True
            symbols = ",".join(live.instruments)
            why = live.stream.status().last_error or "no error"
            reason = (f"{HaltKind.MARKET_DOWN.value}: {symbols} stale for {live.down_for_us() / 1e6:.1f} s "
                      f"(limit {live.down_after_us / 1e6:g} s; last error: {why})")  # fmt: skip
            event("market_down", tick=self.progress.sent_through, reason=reason).error("live market: {}", reason)
            self.send(RISK, FreezeRequest(reason))

    def _live_quiet(self, live: LiveSession) -> None:
        """No tick follows: the timer set and the stream's arrivals must not wake a feed that may have stopped
        (each would be a dead letter); a later :class:`FeedTicks` wakes it again."""
        self.live_waking = False
        if self.live_timer is not None:
            self.live_timer.cancel()
            self.live_timer = None
        if live.by_message:
            live.stream.wake_on_arrival(_no_wake)

    def _live_news(self, live: LiveSession) -> None:
        """Log what the stream did (connections, gaps, bad frames) and which symbols went stale or came back."""
        for note in live.stream.drain_notes():
            quiet = note.kind in ("connected", "subscribed", "snapshot")
            log = event("live_stream", kind=note.kind)
            (log.info if quiet else log.warning)("live market: {}: {}", note.kind, note.text)
        for symbol, stale in live.stream.stale_changes(live.stream.now_us()):
            if stale:
                event("market_stale", symbol=symbol, stale=True).warning(
                    "live market: {} stale (silent longer than --live-stale-ms, or not heard from since a "
                    "reconnect); its quotes are pulled", symbol,
                )  # fmt: skip
            else:
                event("market_stale", symbol=symbol, stale=False).info("live market: {} live", symbol)
        if not live.opened and self.not_open.due(self.runtime.now()):
            event("market_not_open", unquoted=live.unquoted).warning(
                "live market: waiting for a first quote of {} before the first tick", ", ".join(live.unquoted)
            )

    def _fill_window(self) -> None:
        progress = self.progress
        while progress.sent_through < min(self.last, progress.done_through + self.window):
            self._send(progress.sent_through + 1)

    def _send(self, tick: int) -> None:
        """Every record of ``tick``, built before any is sent: a tick goes out whole or not at all."""
        market, live = self.market, self.live
        own, self.own = self.own, {}
        records = [] if not own else [(address, encode(own[symbol])) for symbol, address in self.addresses
                                      if symbol in own]  # fmt: skip
        sent_ns = int(self.runtime.now() * 1e9)
        if live is not None:  # the latency measured is the newest market message's: how old it is now
            facts = live.facts(tick)
            stale, names = facts.stale, facts.names
            if facts.newest_us:
                sent_ns -= max(0, live.stream.now_us() - facts.newest_us) * 1000
            if names is not None:  # deciding by message: the venue first (its report closes the tick), then risk
                address_of = self.address_of
                named = tuple(sorted(names))
                records += [(GATEWAY, encode(VenueTick(tick, sent_ns))), (RISK, encode(TickSymbols(tick, named)))]
                records += [(address_of[symbol], encode(_live_tick(tick, symbol, live, symbol in stale)))
                            for symbol in named]  # fmt: skip
                self.progress.sent_through = tick
                self.send_encoded(records)
                return
            records += [(address, encode(_live_tick(tick, symbol, live, symbol in stale)))
                        for symbol, address in self.addresses]  # fmt: skip
        elif isinstance(market, RecordedMarket):
            records += [(address, encode(_recorded_tick(tick, symbol, market))) for symbol, address in self.addresses]
        else:
            records += [(address, encode(MarketTick(tick, symbol, market.mid_ticks(symbol, tick))))
                        for symbol, address in self.addresses]  # fmt: skip
        records.append((GATEWAY, encode(VenueTick(tick, sent_ns))))
        self.progress.sent_through = tick
        self.send_encoded(records)  # through the outbox: all of it goes out, even past a failure

    def on_restart(self, exc: Exception) -> None:
        """A tick that could not be built was not sent: try again, as a message, so a repeated failure escalates."""
        if self.pace_s is None and self.live is None:
            self.send(self.address, FeedTicks(self.last))


def _no_wake() -> None:
    """What a live stream calls as messages arrive once the feed sends no more ticks: nothing."""


def _recorded_tick(tick: int, symbol: str, market: RecordedMarket) -> MarketTick:
    """A recorded tick: the mid, the top of book with sizes, the bucket's trades, the levels beyond the best; stale
    if the symbol has had no quote for longer than ``stale_market_ms`` (its quotes pulled, as a live market's)."""
    stale = market.stale_after > 0 and market.stale(symbol, tick)  # no quote for stale_market_ms: pulled
    return _market_tick(tick, symbol, market.top_of_book(symbol, tick), stale)


def _live_tick(tick: int, symbol: str, live: LiveSession, stale: bool) -> MarketTick:
    """A live tick: the recorded tick's content, read from the session's tape as the replay of its recording reads
    it from the files (docs/LIVE.md), and whether the symbol's market is stale."""
    return _market_tick(tick, symbol, live.top_of_book(symbol, tick), stale)


def _market_tick(tick: int, symbol: str, top: TopOfBook, stale: bool) -> MarketTick:
    """``top`` as the wire carries it: trades and the levels beyond the best flattened into ints."""
    trades = tuple(value for trade in top.trades for value in trade)
    bids = tuple(value for level in top.bids[1:] for value in level)
    asks = tuple(value for level in top.asks[1:] for value in level)
    return MarketTick(tick, symbol, top.mid, top.bid, top.bid_lots, top.ask, top.ask_lots, trades, bids, asks, stale)
