"""The Quoter: one per symbol; turns a mid price into a two-sided quote intent.

Its one output edge is to risk: exactly one record per market tick, a
:class:`QuoteIntent` or, once frozen, a :class:`Mark` (docs/DESIGN.md, "The
completeness rule"), and as it stops for good a :class:`QuoterStopped`, so
risk stops counting on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.core.quoting import QuotingPolicy
from actors.core.types import Instrument
from actors.roles.addresses import RISK
from actors.roles.supervision import SupervisedRole, escalation_reason
from actors.runtime.actor import handles
from actors.wire.messages import Freeze, Mark, MarketTick, QuoteIntent, QuoterStopped, Resume


@dataclass(frozen=True)
class QuoterSnapshot:
    """What a quoter reports about itself."""

    symbol: str
    frozen: bool
    intents_sent: int
    ticks_ignored: int


class Quoter(SupervisedRole):
    """Quotes around each mid it is told; after a final freeze it never quotes again."""

    def __init__(self, instrument: Instrument, policy: QuotingPolicy) -> None:
        super().__init__()
        self.instrument = instrument
        self.policy = policy
        self.frozen = False
        self.marks_only = False
        """Frozen for good: only marks from now on.  A resumable halt keeps the intents coming (:class:`Freeze`)."""
        self.resumed_at = 0
        self.intents_sent = 0
        self.ticks_ignored = 0
        self.last_tick = 0
        self.owed: MarketTick | None = None
        """The tick being handled, until its record is sent: owed to risk as a mark should the handler fail."""

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
        quote = self.policy.quote(self.instrument, tick.mid_ticks)
        self.intents_sent += 1
        self.owed = None
        self.send(
            RISK,
            QuoteIntent(
                tick.tick, tick.symbol, tick.mid_ticks, quote.bid_ticks, quote.bid_lots, quote.ask_ticks, quote.ask_lots
            ),
        )

    def on_handler_failure(self, exc: Exception) -> None:
        """A tick whose handler failed still gets its one record: a mark, so risk decides it (without a quote)."""
        super().on_handler_failure(exc)
        tick, self.owed = self.owed, None
        if tick is not None:
            self.send(RISK, Mark(tick.tick, tick.symbol, tick.mid_ticks))

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
        return QuoterSnapshot(self.instrument.symbol, self.frozen, self.intents_sent, self.ticks_ignored)
