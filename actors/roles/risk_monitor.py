"""The RiskMonitor: pre-trade checks, positions, realised edge and the freeze.

Intents of a tick are buffered and decided together on ``DecideQuotes`` in
sorted symbol order: limit checks compare symbols (total notional), so the
decision must not depend on the order in which quoters' messages arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from actors.core.quoting import Quote
from actors.core.risk import RiskEngine
from actors.messages import (
    DecideQuotes,
    FillsApplied,
    Freeze,
    FreezeComplete,
    FreezeRequest,
    Mark,
    OrderSpec,
    QuoteIntent,
    ReplaceQuotes,
    VenueState,
    split_replace,
)
from actors.roles.addresses import GATEWAY, QUOTERS, STORE
from actors.roles.supervision import SupervisedRole, escalation_reason
from actors.runtime.actor import handles


@dataclass(frozen=True)
class RiskSnapshot:
    """What the risk monitor reports."""

    frozen: bool
    freeze_events: int
    last_freeze_reason: str
    freeze_tick: int | None
    freeze_confirmed: bool
    canceled_at_freeze: int
    risk_blocks: int
    freeze_decided_at: float | None  # runtime clock when risk decided the freeze; timing, never reported
    fills: int
    realised_edge_bps: float | None
    positions: dict[str, int]
    marks: dict[str, int]
    total_notional_usd: float


class RiskMonitor(SupervisedRole):
    """Owns the :class:`RiskEngine`; the only actor that decides a freeze."""

    urgent: ClassVar[bool] = True  # on the critical path of every tick and of a freeze

    def __init__(self, engine: RiskEngine, *, freeze_tick: int | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.pending: dict[str, QuoteIntent] = {}
        self.risk_blocks = 0
        self.last_tick = 0
        self.freeze_tick = freeze_tick
        self.unsent_freeze: Freeze | None = None
        self.unjudged_fills = False
        self.reconciliations = 0
        self.fills_since_decision: set[str] = set()
        self.duplicate_fills_ignored = 0
        self.freeze_confirmed = False
        self.canceled_at_freeze = 0
        self.freeze_decided_at: float | None = None

    @handles(QuoteIntent)
    def on_quote_intent(self, intent: QuoteIntent) -> None:
        """Record the mark and buffer the intent until the tick's decision."""
        self.engine.update_mark(intent.symbol, intent.mid_ticks)
        self.last_tick = max(self.last_tick, intent.tick)
        if not self.engine.frozen:
            self.pending[intent.symbol] = intent

    @handles(Mark)
    def on_mark(self, mark: Mark) -> None:
        """Keep marking positions to market after a freeze."""
        self.engine.update_mark(mark.symbol, mark.mid_ticks)

    @handles(DecideQuotes)
    def on_decide_quotes(self, decide: DecideQuotes) -> None:
        """Judge the tick's fills (perhaps freezing), then check every buffered intent in symbol order."""
        self.fills_since_decision.clear()
        self._tell_quoters()  # a freeze still unconfirmed from an earlier phase reaches the quoters now
        if self.unjudged_fills:
            self.unjudged_fills = False
            reason = self.engine.evaluate_edge()
            if reason is not None:
                self._broadcast_freeze(decide.tick, reason)
        intents, self.pending = self.pending, {}
        if self.engine.frozen or not intents:
            return
        quotes = {
            symbol: Quote(symbol, i.bid_ticks, i.bid_lots, i.ask_ticks, i.ask_lots) for symbol, i in intents.items()
        }
        approved, blocks = self.engine.approve_quotes(quotes)
        self.risk_blocks += blocks
        orders = tuple(OrderSpec(symbol, int(side), price, lots) for symbol, side, price, lots in approved)
        for replace in split_replace(ReplaceQuotes(decide.tick, tuple(sorted(intents)), orders, blocks)):
            self.send(STORE, replace)

    @handles(FillsApplied)
    def on_fills_applied(self, applied: FillsApplied) -> None:
        """Update positions; the edge is judged once per tick, at the decision, whatever the batching.

        A record delivered twice must not move positions twice: fill ids seen
        since the last decision are skipped (a copy arrives in the same phase).
        """
        seen = self.fills_since_decision
        for item in applied.fills:
            if item.fill_id in seen:
                self.duplicate_fills_ignored += 1
                continue
            seen.add(item.fill_id)
            self.engine.apply_fill(item.to_fill())
        self.unjudged_fills = True

    @handles(FreezeRequest)
    def on_freeze_request(self, request: FreezeRequest) -> None:
        """An operator (or a test) pulls the kill switch."""
        if self.engine.freeze(request.reason):
            self._broadcast_freeze(self.last_tick, request.reason)

    @handles(FreezeComplete)
    def on_freeze_complete(self, done: FreezeComplete) -> None:
        """The store confirms no order is open any more; now the quoters hear of the freeze."""
        self._tell_quoters()
        self.freeze_confirmed = True
        self.canceled_at_freeze = done.canceled

    @handles(VenueState)
    def on_venue_state(self, state: VenueState) -> None:
        """After a restart: positions that differ from the venue's mean a fill was lost or doubled; freeze."""
        self.reconciliations += 1
        venue = {item.symbol: item.lots for item in state.positions if item.lots}
        mine = self.engine.positions()
        differ = sorted(symbol for symbol in venue.keys() | mine.keys() if venue.get(symbol) != mine.get(symbol))
        if differ and self.engine.freeze(f"Reconciliation: positions differ from the venue in {', '.join(differ)}"):
            self._broadcast_freeze(state.tick, self.engine.last_freeze_reason)

    def escalate(self, exc: Exception) -> None:
        """Risk itself gives up: freeze with what it has left, since nobody else can."""
        reason = escalation_reason(self.address, exc)
        if self.engine.freeze(reason):
            self._broadcast_freeze(self.last_tick, reason)
        self._tell_quoters()  # risk stops next: nobody would tell them later

    def _broadcast_freeze(self, tick: int, reason: str) -> None:
        """Tell the store and the gateway at once; the quoters once the cancels are confirmed.

        The cancels are the freeze's critical path, and they are Python sharing
        one GIL: telling 10,000 quoters at the same time halves their speed.
        Meanwhile the quoters cannot create an order anyway: risk drops their
        intents and the store and gateway refuse.  The quoters hear of the
        freeze on ``FreezeComplete`` or, if that is slow to come, at the next
        decision, whichever is first.
        """
        self.freeze_decided_at = self.runtime.now()
        self.pending.clear()
        self.freeze_tick = tick
        self.unsent_freeze = freeze = Freeze(tick, reason)
        self.send(STORE, freeze)
        self.send(GATEWAY, freeze)

    def _tell_quoters(self) -> None:
        if self.unsent_freeze is not None:
            self.broadcast(QUOTERS, self.unsent_freeze)
            self.unsent_freeze = None

    def snapshot(self) -> RiskSnapshot:
        """State for reports and tests."""
        engine = self.engine
        return RiskSnapshot(
            frozen=engine.frozen,
            freeze_events=engine.freeze_events,
            last_freeze_reason=engine.last_freeze_reason,
            freeze_tick=self.freeze_tick,
            freeze_confirmed=self.freeze_confirmed,
            canceled_at_freeze=self.canceled_at_freeze,
            risk_blocks=self.risk_blocks,
            freeze_decided_at=self.freeze_decided_at,
            fills=engine.fills_applied,
            realised_edge_bps=engine.realised_edge_bps(),
            positions=engine.positions(),
            marks=dict(sorted(engine.marks.items())),
            total_notional_usd=engine.total_notional_usd(),
        )
