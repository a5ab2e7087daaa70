"""The OrderStore actor: the one source of truth for every order and its state.

It turns risk's approved quotes into orders (cancel/replace: the symbol's open
orders not wanted again are canceled before the new ones are placed), applies what the gateway
reports, forwards first-time fills to risk, and after a freeze settles every
open order from the gateway's mass cancel and confirms when none is left.
What to do with each record is decided by its core, :class:`actors.core._store.StoreCore`;
this actor decodes, calls the core, journals and sends what the core returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from loguru import logger

from actors.core._journal_records import FreezeRecord, ResumeRecord
from actors.core._orders import OrderStore
from actors.core._store import (
    ANSWER_DEADLINE_TICKS,
    AskStatus,
    CancelNow,
    Effect,
    Forward,
    FreezeDone,
    Request,
    StoreCore,
)
from actors.roles._addresses import GATEWAY, RISK
from actors.roles._supervision import SupervisedRole
from actors.runtime._actor import handles
from actors.telemetry._logs import event
from actors.wire._codec import Message
from actors.wire._messages import (
    CancelItem,
    CancelOrders,
    FillItem,
    FillsApplied,
    Freeze,
    FreezeComplete,
    GatewayReport,
    GatewayRequest,
    MassCancelReport,
    OrderStatuses,
    PlaceItem,
    ReconcileRequest,
    ReplaceQuotes,
    Resume,
    StatusQuery,
    VenueState,
    parts,
    split_request,
)

if TYPE_CHECKING:
    from actors.telemetry._order_events import EventLog

__all__ = ["ANSWER_DEADLINE_TICKS", "OrderStoreActor", "StoreSnapshot"]


@dataclass(frozen=True)
class StoreSnapshot:
    """Order counts and open orders, for reports and tests."""

    placed: int
    counts: dict[str, int]
    open_orders: list[str]
    frozen: bool
    duplicate_fills: int
    unknown_fills: int
    partially_filled_then_canceled: int
    illegal_transitions: int
    refused_after_freeze: int
    freeze_confirmed_at: float | None  # runtime clock when no order was left open; timing, never reported
    kept: int = 0
    """Open orders a decision kept, wanted again (the report's ``orders.kept``)."""

    @classmethod
    def of(cls, core: StoreCore, freeze_confirmed_at: float | None = None) -> StoreSnapshot:
        """The snapshot of ``core``'s state (the actor's, or the synchronous baseline's core)."""
        store = core.store
        stats = store.stats
        return cls(
            placed=store.placed,
            counts={state.value: count for state, count in store.counts().items()},
            open_orders=[o.client_id for o in store.open_orders()],
            frozen=core.frozen,
            duplicate_fills=stats.duplicate_fills,
            unknown_fills=stats.unknown_fills,
            partially_filled_then_canceled=stats.partially_filled_then_canceled,
            illegal_transitions=stats.illegal_transitions,
            refused_after_freeze=core.refused_after_freeze,
            freeze_confirmed_at=freeze_confirmed_at,
            kept=store.kept,
        )


class OrderStoreActor(SupervisedRole):
    """Owns the :class:`OrderStore` (through its :class:`StoreCore`); every order state change happens here.

    Its inputs come in a canonical order without any buffering: the
    gateway's records arrive in the gateway's order (one sender, FIFO), and
    risk's decision of tick t can only come after the store forwarded the
    fills that close t, which it did after the gateway's answers to t-1
    (docs/DESIGN.md, "Why the result is deterministic").
    """

    urgent: ClassVar[bool] = True  # on the critical path of every tick and of a freeze

    def __init__(
        self, store: OrderStore | None = None, *, requested_through: int = 0, events: EventLog | None = None,
        final_tick: int | None = None,
    ) -> None:  # fmt: skip
        """``events``: told of every order event (the event log, the metrics), stamped with the record's tick.

        ``final_tick``: the run's last tick, after whose request none follows (``StoreCore._follow_up``).
        """
        super().__init__()
        self.core = StoreCore(store, requested_through=requested_through, final_tick=final_tick)
        self.store = self.core.store
        self.events = events
        if events is not None:
            self.store.listener = events
        self.freeze_confirmed_at: float | None = None
        self.seq = 0
        """The number of the last :class:`FillsApplied` sent to risk."""

    # ------------------------------------------------------------ inputs

    @handles(ReplaceQuotes)
    def on_replace_quotes(self, replace: ReplaceQuotes) -> None:
        """Cancel the symbols' open orders and create the new ones; one request per tick to the gateway."""
        self._stamp(replace.tick)
        self._do(self.core.replace_quotes(replace.tick, replace.symbols, replace.orders, last=replace.last,
                                          flatten=replace.flatten, keep=replace.keep))  # fmt: skip

    @handles(GatewayReport)
    def on_gateway_report(self, report: GatewayReport) -> None:
        """Apply acks, rejects, cancels and fills, in that order; forward the fills, closing the tick if it does."""
        if not self._fresh(report.seq, report.tick):
            return
        r = report
        effects = self.core.gateway_report(r.tick, acks=r.acks, rejects=r.rejects, canceled=r.canceled,
                                           cancel_failures=r.cancel_failures, fills=r.fills,
                                           closes=r.closes)  # fmt: skip
        self._do(effects)

    @handles(Freeze)
    def on_freeze(self, freeze: Freeze) -> None:
        """Refuse new orders from now on; the gateway's mass cancel answers for every open one."""
        self._freeze(freeze.tick, freeze.reason)

    @handles(Resume)
    def on_resume(self, resume: Resume) -> None:
        """The halt is over: the next ``ReplaceQuotes`` (of ``resume.tick``) makes orders again."""
        if self.core.resume(resume.tick) and self.store.journal is not None:
            self.store.journal.append(ResumeRecord(resume.tick, resume.reason))

    @handles(MassCancelReport)
    def on_mass_cancel_report(self, report: MassCancelReport) -> None:
        """Close what the mass cancel canceled (the report freezes the store if risk's freeze is still on its way)."""
        if not self._fresh(report.seq, report.tick):
            return
        self._freeze(report.tick, report.reason)
        self._do(self.core.mass_cancel_report(report.tick, report.canceled, final=report.final,
                                              venue_open=report.venue_open,
                                              requested_through=report.requested_through))  # fmt: skip

    @handles(VenueState)
    def on_venue_state(self, state: VenueState) -> None:
        """Reconcile with the venue, both ways (``StoreCore.venue_state``); risk checks the positions."""
        if not self._fresh(state.seq, state.tick):
            return
        effects = self.core.venue_state(state.tick, state.open_orders)
        self._do(effects)
        self.send(RISK, state)
        canceled = sum(len(e.cancels) for e in effects if isinstance(e, CancelNow))
        asked = sum(len(e.client_ids) for e in effects if isinstance(e, AskStatus))
        _log_reconciliation(state, canceled, asked)

    @handles(OrderStatuses)
    def on_order_statuses(self, answer: OrderStatuses) -> None:
        """Settle each order from the venue's word (``StoreCore.order_statuses``)."""
        if not self._fresh(answer.seq, answer.tick):
            return
        self._do(self.core.order_statuses(answer.tick, answer.statuses, answer.requested_through))

    def on_handler_failure(self, exc: Exception) -> None:
        """A tick whose handler failed still gets its one request, so the venue moves on (``StoreCore.owed_request``).

        What the failed handler queued goes out first.
        """
        super().on_handler_failure(exc)
        self._do(self.core.owed_request())

    def on_restart(self, exc: Exception) -> None:
        """The failed handler may have stopped half-way: check every order against the venue."""
        self.send(GATEWAY, ReconcileRequest(self.core.last_tick))

    # ------------------------------------------------------------ what the core returned

    def _freeze(self, tick: int, reason: str) -> None:
        """Freeze the store, the freeze journaled ahead of the cancels it requests (write-ahead)."""
        if not self.core.freezes(tick):
            return  # frozen already, or a late copy of a freeze that a resume has ended
        if self.store.journal is not None:
            self.store.journal.append(FreezeRecord(tick, reason))
        self.core.freeze(tick)

    def _do(self, effects: list[Effect]) -> None:
        """Send, in order, the records the core's effects call for; log its lines."""
        for effect in effects:
            sends: list[tuple[str, Message]]
            if isinstance(effect, Request):
                cancels = tuple(CancelItem(*c) for c in effect.cancels)
                places = tuple(PlaceItem(*p) for p in effect.places)
                whole = GatewayRequest(effect.tick, cancels, places, effect.frozen, status=effect.status,
                                       resumed=effect.resumed, flatten=effect.flatten)  # fmt: skip
                sends = [(GATEWAY, request) for request in split_request(whole)]
            elif isinstance(effect, Forward):
                sends = self._fills_applied(effect)
            elif isinstance(effect, CancelNow):
                cancels = tuple(CancelItem(*c) for c in effect.cancels)
                sends = [(GATEWAY, CancelOrders(effect.tick, part)) for part in (parts(cancels) if cancels else ())]
            elif isinstance(effect, AskStatus):
                ids = effect.client_ids
                sends = [(GATEWAY, StatusQuery(effect.tick, part)) for part in (parts(ids) if ids else ())]
            elif isinstance(effect, FreezeDone):
                self.freeze_confirmed_at = self.runtime.now()
                sends = [(RISK, FreezeComplete(effect.tick, effect.canceled))]
            else:
                logger.log(effect.level, effect.text)
                continue
            if sends:
                self.send_all(sends)

    def _fills_applied(self, forward: Forward) -> list[tuple[str, Message]]:
        """Fills applied for the first time go on to risk, numbered; the last part closes the tick if it does."""
        chunks = parts([FillItem.from_fill(fill) for fill in forward.fills])
        records: list[tuple[str, Message]] = []
        for number, chunk in enumerate(chunks, start=1):
            self.seq += 1
            final = number == len(chunks)
            ended = forward.ended if final else ()
            records.append((RISK, FillsApplied(forward.tick, chunk, self.seq, forward.closes and final, ended)))
        return records

    # ------------------------------------------------------------ durability

    def before_sending(self) -> None:
        """Write-ahead: what a message depends on is in the journal before the message leaves."""
        if self.store.journal is not None:
            self.store.journal.flush()

    def after_message(self) -> None:
        """Every change a handler made reaches the journal file before the next message (the event log's too)."""
        if self.store.journal is not None:
            self.store.journal.flush()
            if self.events is not None:
                self.events.flush()  # a killed run's log holds what its journal holds, less at most this message

    # ------------------------------------------------------------ helpers

    def _fresh(self, seq: int, tick: int) -> bool:
        """A gateway record not taken before (a copy delivered twice changes nothing), its order events stamped."""
        if self.core.is_copy(seq):
            return False
        self._stamp(tick)
        return True

    def _stamp(self, tick: int) -> None:
        """The tick the order events of this handler belong to: the tick of the record handled."""
        if self.events is not None:
            self.events.tick = tick

    def snapshot(self) -> StoreSnapshot:
        """State for reports and tests."""
        return StoreSnapshot.of(self.core, self.freeze_confirmed_at)


def _log_reconciliation(state: VenueState, canceled: int, asked: int) -> None:
    """What a reconciliation with the venue changes: WARNING if it cancels or asks about anything, else INFO."""
    bound = event("reconcile", tick=state.tick, venue_open=len(state.open_orders), canceled=canceled, asked=asked)
    level = "WARNING" if canceled or asked else "INFO"
    bound.log(level, "reconcile at tick {}: the venue holds {} open orders; {} to cancel (orphans, or wanted "
              "canceled), {} open here but not there asked about", state.tick, len(state.open_orders), canceled,
              asked)  # fmt: skip
