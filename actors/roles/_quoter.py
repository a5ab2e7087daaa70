"""The Quoter: one per symbol; asks its strategy for the quotes of each tick and sends them to risk.

Its one output edge is to risk: exactly one record per market tick, a
:class:`QuoteIntent` or, once frozen, a :class:`Mark` (docs/DESIGN.md, "The
completeness rule"), and as it stops for good a :class:`QuoterStopped`, so
risk stops counting on it.

The strategy (:mod:`actors.core._strategy`) is called once per tick with a
:class:`StrategyInput`: the market of the tick, and what it is told of
itself as of risk's decision of tick ``tick - ticks_in_flight`` (its
position, average price, resting orders, and the fills since the last
call: the :class:`OwnState` the feed sends just before the tick, when it
changed).  What it returns is checked first (:func:`check_quotes`): quotes
that make no sense are blocked, counted by reason in :attr:`Quoter.blocked`,
and the tick's record is a mark (what rests of the symbol stays as it is).
Quotes with one level a side at most go as a :class:`QuoteIntent` (a side
with 0 lots: none there), more as a :class:`QuoteLevels`; a side left empty
pulls that side's resting orders, no quote at all pulls them all (counted
in :attr:`Quoter.one_sided`).  A strategy that raises fails the handler:
the tick's record is an empty intent, pulling the symbol's quotes for the
tick, counted as ``raised`` (:meth:`Quoter.on_handler_failure`), and the
quoter restarts in place, then escalates, as every role does
(:mod:`actors.roles._supervision`).
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.core._quoting import QuotingPolicy
from actors.core._risk import AVG_SCALE
from actors.core._strategy import (
    MAX_LEVELS,
    RAISED,
    RestingOrder,
    Strategy,
    StrategyFill,
    StrategyInput,
    Symmetric,
    check_quotes,
)
from actors.core._types import Instrument
from actors.roles._addresses import RISK
from actors.roles._supervision import SupervisedRole, escalation_reason
from actors.runtime._actor import handles
from actors.wire._messages import (
    Freeze,
    LevelItem,
    Mark,
    MarketTick,
    OwnState,
    QuoteIntent,
    QuoteLevels,
    QuoterStopped,
    Resume,
)


@dataclass(frozen=True)
class QuoterSnapshot:
    """What a quoter reports about itself."""

    symbol: str
    frozen: bool
    intents_sent: int
    ticks_ignored: int
    blocked: dict[str, int] | None = None
    """Ticks whose quotes the strategy got wrong, by reason (:data:`actors.core._strategy.BLOCK_REASONS`)."""
    one_sided: int = 0
    """Ticks the strategy wanted a side (or both) empty: that side's resting orders pulled."""


class Quoter(SupervisedRole):
    """Quotes what its strategy wants at each mid it is told; after a final freeze it never quotes again."""

    def __init__(
        self,
        instrument: Instrument,
        strategy: Strategy | QuotingPolicy,
        *,
        tick_ms: float = 100.0,
        max_levels: int = MAX_LEVELS,
    ) -> None:
        """``strategy``: this symbol's own instance (a bare :class:`QuotingPolicy` is the symmetric strategy).

        ``tick_ms``: the market time of a tick, for :attr:`StrategyInput.elapsed_ms`.
        """
        super().__init__()
        self.instrument = instrument
        if isinstance(strategy, QuotingPolicy):
            strategy = Symmetric(
                instrument, {"spread_bps": strategy.spread_bps, "quote_notional_usd": strategy.quote_notional_usd}
            )
        self.strategy = strategy
        self.tick_ms = tick_ms
        self.max_levels = max_levels
        self.blocked: dict[str, int] = {}
        self.one_sided = 0
        self.frozen = False
        self.marks_only = False
        """Frozen for good: only marks from now on.  A resumable halt keeps the intents coming (:class:`Freeze`)."""
        self.resumed_at = 0
        self.intents_sent = 0
        self.ticks_ignored = 0
        self.last_tick = 0
        self.owed: MarketTick | None = None
        """The tick being handled, until its record is sent: owed to risk should the handler fail."""
        self.position_lots = 0
        self.avg_price_ticks = 0.0
        self.resting: tuple[RestingOrder, ...] = ()
        self.fills: list[StrategyFill] = []
        """What the strategy is told of itself (:class:`OwnState`); the fills since its last call."""

    @handles(OwnState)
    def on_own_state(self, own: OwnState) -> None:
        """What the strategy is told of itself from the next tick on (the feed sends it just before that tick)."""
        self.position_lots = own.position_lots
        self.avg_price_ticks = own.avg_price_e6 / AVG_SCALE
        flat = own.resting
        self.resting = tuple(RestingOrder(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3))
        fills = own.fills
        self.fills.extend(StrategyFill(fills[i], fills[i + 1], fills[i + 2], fills[i + 3])
                          for i in range(0, len(fills), 4))  # fmt: skip

    @handles(MarketTick)
    def on_market_tick(self, tick: MarketTick) -> None:
        """Send risk the quote for this tick; once frozen, only the mark."""
        if tick.symbol != self.instrument.symbol:
            self.ticks_ignored += 1
            return
        if tick.tick <= self.last_tick:
            self.ticks_ignored += 1  # a copy delivered twice: risk has this tick's record already
            return
        self.last_tick = tick.tick
        self.owed = tick
        if self.marks_only:
            self.ticks_ignored += 1
            self.owed = None  # queued in the outbox by the send: sent even past a failure
            self.send(RISK, Mark(tick.tick, tick.symbol, tick.mid_ticks))
            return
        if tick.stale:  # a live market not to rest quotes on: risk cancels what rests, places nothing
            self.owed = None
            self.send(RISK, Mark(tick.tick, tick.symbol, tick.mid_ticks, pull=True))
            return
        strategy = self.strategy
        fills, self.fills = self.fills, []
        state = StrategyInput(
            tick.tick, (tick.tick - 1) * self.tick_ms, self.instrument, tick.market(),
            strategy.params, self.position_lots, self.avg_price_ticks, self.resting, tuple(fills),
        )  # fmt: skip
        quotes = strategy.quote(state)
        reason = check_quotes(quotes, self.max_levels)
        if reason:
            self.blocked[reason] = self.blocked.get(reason, 0) + 1
            self.owed = None
            self.send(RISK, Mark(tick.tick, tick.symbol, tick.mid_ticks))
            return
        bids, asks = quotes.bids, quotes.asks
        if not (bids and asks):
            self.one_sided += 1
        self.intents_sent += 1
        self.owed = None
        if len(bids) > 1 or len(asks) > 1:
            self.send(
                RISK,
                QuoteLevels(
                    tick.tick,
                    tick.symbol,
                    tick.mid_ticks,
                    tuple(LevelItem(1, level.price_ticks, level.lots) for level in bids),
                    tuple(LevelItem(-1, level.price_ticks, level.lots) for level in asks),
                ),
            )
            return  # fmt: skip
        mid = tick.mid_ticks
        bid, bid_lots = (bids[0].price_ticks, bids[0].lots) if bids else (mid, 0)
        ask, ask_lots = (asks[0].price_ticks, asks[0].lots) if asks else (mid, 0)
        self.send(RISK, QuoteIntent(tick.tick, tick.symbol, mid, bid, bid_lots, ask, ask_lots))

    def on_handler_failure(self, exc: Exception) -> None:
        """A tick whose handler failed (its strategy raised) still gets its one record: an intent with no level,
        which pulls the symbol's quotes for the tick (counted ``raised``)."""
        super().on_handler_failure(exc)
        tick, self.owed = self.owed, None
        if tick is not None:
            self.blocked[RAISED] = self.blocked.get(RAISED, 0) + 1
            mid = tick.mid_ticks
            self.send(RISK, QuoteIntent(tick.tick, tick.symbol, mid, mid, 0, mid, 0))

    @handles(Freeze)
    def on_freeze(self, freeze: Freeze) -> None:
        """Stop quoting for good, or, if the halt may be lifted, go on quoting what risk will ignore until then."""
        if freeze.tick < self.resumed_at:
            return  # a late copy of a freeze that a resume has ended
        self.frozen = True
        self.marks_only = self.marks_only or not freeze.keep_quoting

    @handles(Resume)
    def on_resume(self, resume: Resume) -> None:
        """The halt is over: nothing changes in what is sent (the intents never stopped), only the state."""
        self.resumed_at = max(self.resumed_at, resume.tick)
        self.frozen = self.marks_only

    def escalate(self, exc: Exception) -> None:
        """Tell risk to count on this quoter no more, and to freeze from the first tick without it."""
        self.notify(RISK, QuoterStopped(self.instrument.symbol, self.last_tick, escalation_reason(self.address, exc)))

    def snapshot(self) -> QuoterSnapshot:
        """State for reports and tests (call through a proxy or in sim)."""
        blocked = dict(sorted(self.blocked.items()))
        symbol = self.instrument.symbol
        return QuoterSnapshot(symbol, self.frozen, self.intents_sent, self.ticks_ignored, blocked, self.one_sided)
