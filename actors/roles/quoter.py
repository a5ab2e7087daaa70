"""The Quoter: one per symbol; turns a mid price into a two-sided quote intent."""

from __future__ import annotations

from dataclasses import dataclass

from actors.core.quoting import QuotingPolicy
from actors.core.types import Instrument
from actors.messages import Freeze, Mark, MarketTick, QuoteIntent
from actors.roles.addresses import RISK
from actors.roles.supervision import SupervisedRole
from actors.runtime.actor import handles


@dataclass(frozen=True)
class QuoterSnapshot:
    """What a quoter reports about itself."""

    symbol: str
    frozen: bool
    intents_sent: int
    ticks_ignored: int


class Quoter(SupervisedRole):
    """Quotes around each mid it is told; after a freeze it never quotes again."""

    def __init__(self, instrument: Instrument, policy: QuotingPolicy) -> None:
        super().__init__()
        self.instrument = instrument
        self.policy = policy
        self.frozen = False
        self.intents_sent = 0
        self.ticks_ignored = 0

    @handles(MarketTick)
    def on_market_tick(self, tick: MarketTick) -> None:
        """Send risk the quote for this tick; once frozen, only the mark."""
        if tick.symbol != self.instrument.symbol:
            self.ticks_ignored += 1
            return
        if self.frozen:
            self.ticks_ignored += 1
            self.send(RISK, Mark(tick.tick, tick.symbol, tick.mid_ticks))
            return
        quote = self.policy.quote(self.instrument, tick.mid_ticks)
        self.intents_sent += 1
        self.send(
            RISK,
            QuoteIntent(
                tick.tick, tick.symbol, tick.mid_ticks, quote.bid_ticks, quote.bid_lots, quote.ask_ticks, quote.ask_lots
            ),
        )

    @handles(Freeze)
    def on_freeze(self, _freeze: Freeze) -> None:
        """Stop quoting for good."""
        self.frozen = True

    def snapshot(self) -> QuoterSnapshot:
        """State for reports and tests (call through a proxy or in sim)."""
        return QuoterSnapshot(self.instrument.symbol, self.frozen, self.intents_sent, self.ticks_ignored)
