"""The OrderStore actor: the one source of truth for every order and its state.

It turns risk's approved quotes into orders (cancel/replace: the symbol's open
orders are canceled before the new ones are placed), applies what the gateway
reports, forwards first-time fills to risk, and after a freeze settles every
open order from the gateway's mass cancel and confirms when none is left.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from loguru import logger

from actors.core._lifecycle import Settle, awaiting_answer, settle
from actors.core.orders import NOT_OPEN_AT_VENUE, FillOutcome, IllegalTransition, Order, OrderStore
from actors.core.types import OrderState, Side
from actors.roles.addresses import GATEWAY, RISK
from actors.roles.supervision import SupervisedRole
from actors.runtime.actor import handles
from actors.telemetry.logs import event
from actors.wire.messages import (
    UNNUMBERED,
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
    StatusItem,
    StatusQuery,
    VenueState,
    parts,
    split_request,
)

if TYPE_CHECKING:
    from actors.telemetry.order_events import OrderEvents

ANSWER_DEADLINE_TICKS = 2
"""Ticks after its request by which every order in it has its answer.

The gateway answers a request at once and settles a placement in doubt at
the next market tick, and its reports reach the store in order before the
fills that close the tick after; so an order unanswered two ticks on lost
its answer, and the store asks the venue."""


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


class OrderStoreActor(SupervisedRole):
    """Owns the :class:`OrderStore`; every order state change happens here.

    Its inputs come in a canonical order without any buffering: the
    gateway's records arrive in the gateway's order (one sender, FIFO), and
    risk's decision of tick t can only come after the store forwarded the
    fills that close t, which it did after the gateway's answers to t-1
    (docs/DESIGN.md, "Why the result is deterministic").
    """

    urgent: ClassVar[bool] = True  # on the critical path of every tick and of a freeze

    def __init__(
        self, store: OrderStore | None = None, *, requested_through: int = 0, events: OrderEvents | None = None,
        final_tick: int | None = None,
    ) -> None:  # fmt: skip
        """``events``: told of every order event (the event log, the metrics), stamped with the record's tick.

        ``final_tick``: the run's last tick, after whose request none
        follows (a follow-up cancel then goes at once: :meth:`_follow_up`).
        """
        super().__init__()
        self.final_tick = final_tick
        self.store = store if store is not None else OrderStore()
        self.events = events
        if events is not None:
            self.store.listener = events
        self.frozen = False
        self.freeze_confirmed = False
        self.freeze_tick = 0
        self.freeze_confirmed_at: float | None = None
        self.venue_empty = False
        self.canceled_since_freeze = 0
        self.refused_after_freeze = 0
        self.flattening = False
        """The request being built flattens positions though frozen (:attr:`ReplaceQuotes.flatten`)."""
        self.resumed_at = 0
        """The tick of the last :class:`Resume`; every request says it, so the gateway resumes at request ``tick``."""
        self.last_tick = requested_through
        self.requested_through = requested_through
        self.closed_through = requested_through
        self.reconciliations = 0
        self.orphans_canceled = 0
        self.duplicates_ignored = 0
        self.gateway_seq = 0
        """The number of the last record taken from the gateway's stream (a copy is recognised by it)."""
        self.replaced_at: dict[str, int] = {}
        self.tick_cancels: list[CancelItem] = []
        self.tick_places: list[PlaceItem] = []
        self.follow_ups: list[CancelItem] = []
        """Cancels the gateway's answers call for (an ack after the cancel was wanted, the venue's word on an order).

        They go with the next request (:meth:`_follow_up`)."""
        self.seq = 0
        self.request_owed: int | None = None
        """The tick whose request is being built: owed to the gateway should the handler fail."""
        self.awaiting: deque[tuple[int, tuple[str, ...]]] = deque()
        """(deadline tick, client ids) of every request sent, oldest first."""
        self.deadlines_missed = 0

    @handles(ReplaceQuotes)
    def on_replace_quotes(self, replace: ReplaceQuotes) -> None:
        """Cancel the symbols' open orders and create the new ones; one request per tick to the gateway."""
        self._stamp(replace.tick)
        tick = replace.tick
        copy = replace.symbols and self.replaced_at.get(replace.symbols[0]) == tick
        if tick <= self.requested_through or copy:
            self.duplicates_ignored += 1  # the same decision delivered twice: act on it once
            return
        if replace.last:
            self.request_owed = tick
        if self.frozen and not replace.flatten:
            self.refused_after_freeze += len(replace.orders)
        else:
            self.flattening = self.flattening or replace.flatten
            self._replace(replace)
        if replace.last:
            self._send_request(tick)

    def _replace(self, replace: ReplaceQuotes) -> None:
        tick = replace.tick
        if tick > self.last_tick:
            self.last_tick = tick
            self.store.expire(tick)
        for symbol in replace.symbols:
            self.replaced_at[symbol] = tick
        specs = [(o.symbol, Side(o.side), o.price_ticks, o.qty_lots) for o in replace.orders]
        numbers = [o.number for o in replace.orders]
        to_cancel, created = self.store.replace_quotes(replace.symbols, specs, tick, numbers)
        self.tick_cancels.extend(CancelItem(o.client_id, o.exchange_order_id) for o in to_cancel if o.exchange_order_id)
        self.tick_places.extend(
            PlaceItem(o.client_id, o.symbol, int(o.side), o.price_ticks, o.qty_lots, spec.reduce_only)
            for o, spec in zip(created, replace.orders, strict=True)
        )

    def _send_request(self, tick: int) -> None:
        """The tick's one request: earlier follow-ups, refused cancels due again, this tick's cancels, placements.

        Frozen, once the mass cancel has emptied the venue, refused cancels
        (a flattening order's) are still retried and late acks still canceled:
        a cancel is never a placement, and nothing else would cancel them.

        Every order in it gets a deadline (:data:`ANSWER_DEADLINE_TICKS`);
        one still unanswered then is asked about (:meth:`_chase_unanswered`).
        """
        unanswered = self._chase_unanswered(tick)
        cancels = list(self.follow_ups)  # frozen, only the venue's answers call for them (:meth:`_follow_up`)
        if not self.frozen or self.venue_empty:  # frozen, until the venue is empty the mass cancel answers for all
            due = self.store.due_cancels(tick)
            cancels += [CancelItem(o.client_id, o.exchange_order_id) for o in due if o.exchange_order_id]
        if not self.frozen or self.flattening:  # frozen: the last tick's flattening orders, replaced by this tick's
            cancels.extend(self.tick_cancels)
        flatten, self.flattening = self.flattening, False
        places = self.tick_places
        self.follow_ups, self.tick_cancels, self.tick_places = [], [], []
        self.requested_through = tick
        if cancels or places or unanswered:
            sent = tuple(c.client_id for c in cancels) + tuple(p.client_id for p in places) + unanswered
            self.awaiting.append((tick + ANSWER_DEADLINE_TICKS, sent))
        self.request_owed = None  # queued below: the outbox sends it even past a failure
        whole = GatewayRequest(
            tick,
            tuple(cancels),
            tuple(places),
            self.frozen,
            status=unanswered,
            resumed=self.resumed_at,
            flatten=flatten,
        )
        self.send_all((GATEWAY, request) for request in split_request(whole))

    def _chase_unanswered(self, tick: int) -> tuple[str, ...]:
        """Orders of requests past their deadline still waiting for their answer: to ask the venue about.

        Still PENDING (no ack, no reject), or with a cancel out that was
        neither confirmed nor refused: the answer was lost on the way.  They
        ride in the tick's request; the venue's word (:class:`OrderStatuses`)
        settles them, and they get a new deadline should that answer be lost too.
        """
        unanswered: list[str] = []
        awaiting, get = self.awaiting, self.store.get
        while awaiting and awaiting[0][0] <= tick:
            for client_id in awaiting.popleft()[1]:
                order = get(client_id)
                if order is None or order.state.is_terminal:
                    continue
                if awaiting_answer(order):
                    unanswered.append(client_id)
        self.deadlines_missed += len(unanswered)
        return tuple(unanswered)

    @handles(GatewayReport)
    def on_gateway_report(self, report: GatewayReport) -> None:
        """Apply acks, rejects, cancels and fills, in that order; forward the fills, closing the tick if it does."""
        if self._copy_from_gateway(report.seq):
            return
        self._stamp(report.tick)
        follow_ups: list[CancelItem] = []
        for ack in report.acks:
            order = self._guard(self.store.acknowledge, ack.client_id, ack.exchange_order_id)
            if order is not None and order.cancel_requested and (not self.frozen or self.venue_empty):
                follow_ups.append(CancelItem(order.client_id, ack.exchange_order_id))
        self._follow_up(report.tick, follow_ups)
        for refusal in report.rejects:
            self._guard(self.store.reject, refusal.client_id, refusal.reason)
        for client_id in report.canceled:
            self._cancel_answered(client_id, True, "")
        for refusal in report.cancel_failures:
            self._cancel_answered(refusal.client_id, False, refusal.reason)
        applied = [item for item in report.fills if self._apply_fill(item)]
        closes = report.closes and report.tick > self.closed_through
        if closes:
            self.closed_through = report.tick
        self._forward_fills(applied, closes=closes)
        self._confirm_freeze_if_done()

    def _forward_fills(self, applied: list[FillItem], *, closes: bool) -> None:
        """Fills applied for the first time go on to risk, numbered; the last part closes the tick if it does."""
        if applied or closes:
            chunks = parts(applied)
            records = []
            for number, chunk in enumerate(chunks, start=1):
                self.seq += 1
                records.append(
                    (RISK, FillsApplied(self.closed_through, chunk, self.seq, closes and number == len(chunks)))
                )
            self.send_all(records)

    # ------------------------------------------------------------ the freeze

    @handles(Freeze)
    def on_freeze(self, freeze: Freeze) -> None:
        """Refuse new orders from now on; the gateway's mass cancel answers for every open one."""
        self._enter_freeze(freeze.tick, freeze.reason)

    def _enter_freeze(self, tick: int, reason: str) -> None:
        if self.frozen or tick < self.resumed_at:
            return  # frozen already, or a late copy of a freeze that a resume has ended
        self.frozen = True
        self.freeze_tick = tick
        if self.store.journal is not None:
            self.store.journal.append(["freeze", tick, reason])
        for order in self.store.open_orders():
            self.store.request_cancel(order.client_id)
        self.follow_ups.clear()

    @handles(Resume)
    def on_resume(self, resume: Resume) -> None:
        """The halt is over: the next ``ReplaceQuotes`` (of ``resume.tick``) makes orders again.

        Risk sends this before that tick's ``ReplaceQuotes`` (one sender, in
        order), and after the store sent the fills closing the tick, which it
        did after every mass-cancel report of the halt: none comes later.
        """
        if resume.tick <= self.resumed_at:
            return  # a copy delivered twice
        self.resumed_at = resume.tick
        if not self.frozen:
            return
        self.frozen = False
        self.venue_empty = False
        self.freeze_confirmed = False
        self.canceled_since_freeze = 0
        if self.store.journal is not None:
            self.store.journal.append(["resume", resume.tick, resume.reason])

    @handles(MassCancelReport)
    def on_mass_cancel_report(self, report: MassCancelReport) -> None:
        """Close what the mass cancel canceled; once the venue holds nothing open, neither do we.

        The report may come before risk's own ``Freeze`` (the gateway heard
        first): it freezes the store the same way.  An order still open here
        once the venue has none open was not open there: it filled (its fill
        came just before), or was canceled earlier and the answer was lost.
        An order whose request the gateway had not handled yet never reached
        the venue: the gateway's refusal ("frozen") settles it when it comes.
        """
        if self._copy_from_gateway(report.seq):
            return
        self._stamp(report.tick)
        self._enter_freeze(report.tick, report.reason)
        self.canceled_since_freeze += self.store.confirm_cancels(report.canceled)
        if report.final and report.venue_open == 0:
            self.venue_empty = True
            for order in self.store.open_orders():
                if order.created_tick <= report.requested_through:  # later ones: the gateway refuses them
                    self._cancel_answered(order.client_id, False, NOT_OPEN_AT_VENUE)
        self._confirm_freeze_if_done()

    @handles(VenueState)
    def on_venue_state(self, state: VenueState) -> None:
        """Reconcile with the venue, both ways; risk checks the positions.

        Open at the venue but unknown, finished or rejected here: an orphan,
        canceled.  Still PENDING here: its ack was lost; acknowledged (and
        canceled if that was wanted).  Open or PENDING here but not open at
        the venue: the venue is asked what became of it (:class:`StatusQuery`)
        and its word settles the order.
        """
        if self._copy_from_gateway(state.seq):
            return
        self._stamp(state.tick)
        self.reconciliations += 1
        at_venue = {ack.client_id: ack.exchange_order_id for ack in state.open_orders}
        cancels: list[CancelItem] = []
        for client_id, exchange_order_id in at_venue.items():
            order = self.store.get(client_id)
            if order is None or order.state.is_terminal:
                self.orphans_canceled += 1
                cancels.append(CancelItem(client_id, exchange_order_id))
            elif order.state is OrderState.PENDING:
                self._guard(self.store.acknowledge, client_id, exchange_order_id)
                if order.cancel_requested or self.frozen:
                    cancels.append(CancelItem(client_id, exchange_order_id))
        self._send_cancels(state.tick, cancels)
        unsettled = [o.client_id for o in self.store.open_orders() if o.client_id not in at_venue]
        self._ask_status(state.tick, unsettled)
        self.send(RISK, state)
        _log_reconciliation(state, len(cancels), len(unsettled))

    @handles(OrderStatuses)
    def on_order_statuses(self, answer: OrderStatuses) -> None:
        """Settle each order from the venue's word (docs/RELIABILITY.md, "Reconciliation").

        Fills the venue counts but never sent (lost beyond its redelivery)
        are applied as one fill for the difference at the order's price, so
        positions stay the venue's; a late real fill is then refused as an
        overfill.  A PENDING order of a tick whose request the gateway has
        not handled yet is left alone: it is still on its way.
        """
        if self._copy_from_gateway(answer.seq):
            return
        self._stamp(answer.tick)
        cancels: list[CancelItem] = []
        fills: list[FillItem] = []
        for item in answer.statuses:
            order = self.store.get(item.client_id)
            if order is None or order.state.is_terminal:
                if item.state == "open" and item.exchange_order_id:
                    self.orphans_canceled += 1
                    cancels.append(CancelItem(item.client_id, item.exchange_order_id))
                continue
            if item.filled_lots > order.filled_lots and item.exchange_order_id:
                fill = self._venue_counted_fill(order, item, answer.tick)
                if self._apply_fill(fill):
                    fills.append(fill)
            if order.state.is_terminal:
                continue
            verdict = settle(item.state, order.state, requested=order.created_tick <= answer.requested_through)
            if verdict is Settle.ACKNOWLEDGE:
                if order.state is OrderState.PENDING:
                    self._guard(self.store.acknowledge, item.client_id, item.exchange_order_id)
                if order.cancel_requested or self.frozen:
                    cancels.append(CancelItem(item.client_id, item.exchange_order_id))
            elif verdict is Settle.CANCELED:
                self._cancel_answered(item.client_id, False, "already canceled" if item.state in ("canceled", "filled")
                                      else "unknown order")  # fmt: skip
            elif verdict is Settle.REJECT:
                self._guard(self.store.reject, item.client_id, f"{item.state} at the venue")
        self._forward_fills(fills, closes=False)
        self._follow_up(answer.tick, cancels)
        self._confirm_freeze_if_done()

    def _follow_up(self, tick: int, cancels: list[CancelItem]) -> None:
        """Cancels that an answer of the gateway's calls for: with the next tick's request, frozen or not.

        The venue moves on its own inputs: a cancel sent at once would reach
        it before or after its next market tick depending on how fast the
        actors ran (a fill racing it then came in one piece or two), but the
        next request comes after that tick on every runtime.  After the
        final tick's request none follows and the venue moves no more: then,
        frozen, they go at once (every open order must go); not frozen, they
        wait as the run's quotes do.
        """
        if self.frozen and self.final_tick is not None and self.requested_through >= self.final_tick:
            self._send_cancels(tick, cancels)
        else:
            self.follow_ups.extend(cancels)

    def _venue_counted_fill(self, order: Order, item: StatusItem, tick: int) -> FillItem:
        """One fill for the lots the venue says traded and the store never heard of."""
        lots = item.filled_lots - order.filled_lots
        fill_id = f"{order.client_id}:venue:{item.filled_lots}"
        side = int(order.side)
        return FillItem(fill_id, item.exchange_order_id, order.client_id, order.symbol, side, order.price_ticks, lots,
                        tick)  # fmt: skip

    def _ask_status(self, tick: int, client_ids: list[str]) -> None:
        for part in parts(client_ids) if client_ids else ():
            self.send(GATEWAY, StatusQuery(max(tick, self.last_tick), part))

    def _send_cancels(self, tick: int, cancels: list[CancelItem]) -> None:
        for part in parts(cancels) if cancels else ():
            self.send(GATEWAY, CancelOrders(max(tick, self.last_tick), part))

    def on_handler_failure(self, exc: Exception) -> None:
        """A tick whose handler failed still gets its one request, so the venue moves on.

        Orders created but left out of it stay PENDING until their deadline,
        when the venue's word settles them (never sent: "unknown", rejected).
        """
        super().on_handler_failure(exc)
        tick, self.request_owed = self.request_owed, None
        if tick is not None and tick > self.requested_through:
            self.tick_cancels, self.tick_places = [], []
            self._send_request(tick)
            unsure = tuple(o.client_id for o in self.store.open_orders() if awaiting_answer(o))
            self.awaiting.append((tick + ANSWER_DEADLINE_TICKS, unsure))

    def on_restart(self, exc: Exception) -> None:
        """The failed handler may have stopped half-way: check every order against the venue."""
        self.send(GATEWAY, ReconcileRequest(self.last_tick))

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

    def _copy_from_gateway(self, seq: int) -> bool:
        """A record of the gateway's numbered stream already taken (a copy delivered twice): it changes nothing."""
        if seq == UNNUMBERED:
            return False
        if seq <= self.gateway_seq:
            self.duplicates_ignored += 1
            return True
        self.gateway_seq = seq
        return False

    def _stamp(self, tick: int) -> None:
        """The tick the order events of this handler belong to: the tick of the record handled."""
        if self.events is not None:
            self.events.tick = tick

    def _cancel_answered(self, client_id: str, ok: bool, reason: str) -> None:
        order = self.store.get(client_id)
        if order is None:
            logger.debug(
                "store: cancel of {} answered ({}): not an order of ours (an orphan or forgotten)",
                client_id,
                reason or "ok",
            )
            return
        was_open = order is not None and order.state.is_open
        if self._guard(self.store.cancel_answered, client_id, ok, reason) is None:
            return
        if self.frozen and was_open and order is not None and order.state is OrderState.CANCELED:
            self.canceled_since_freeze += 1

    def _apply_fill(self, item: FillItem) -> bool:
        try:
            outcome = self.store.apply_fill(item.to_fill())
        except IllegalTransition as exc:
            logger.error("store: fill {} refused: {}", item.fill_id, exc)
            return False
        if outcome is not FillOutcome.APPLIED:
            logger.debug("store: fill {} not applied: {}", item.fill_id, outcome.name)  # counted in the report
        return outcome is FillOutcome.APPLIED

    def _confirm_freeze_if_done(self) -> None:
        """Confirmed when the venue reported nothing open and the store agrees."""
        if self.frozen and self.venue_empty and not self.freeze_confirmed and self.store.open_count() == 0:
            self.freeze_confirmed = True
            self.freeze_confirmed_at = self.runtime.now()
            self.send(RISK, FreezeComplete(self.freeze_tick, self.canceled_since_freeze))

    def _guard(self, operation: Callable[..., Order], *args: object) -> Order | None:
        """Run a store transition; an illegal one is logged (the core counts it) and skipped."""
        try:
            return operation(*args)
        except IllegalTransition as exc:
            logger.error("store: {}", exc)
            return None

    def snapshot(self) -> StoreSnapshot:
        """State for reports and tests."""
        stats = self.store.stats
        return StoreSnapshot(
            placed=self.store.placed,
            counts={state.value: count for state, count in self.store.counts().items()},
            open_orders=[o.client_id for o in self.store.open_orders()],
            frozen=self.frozen,
            duplicate_fills=stats.duplicate_fills,
            unknown_fills=stats.unknown_fills,
            partially_filled_then_canceled=stats.partially_filled_then_canceled,
            illegal_transitions=stats.illegal_transitions,
            refused_after_freeze=self.refused_after_freeze,
            freeze_confirmed_at=self.freeze_confirmed_at,
        )


def _log_reconciliation(state: VenueState, canceled: int, asked: int) -> None:
    """What a reconciliation with the venue changes: WARNING if it cancels or asks about anything, else INFO."""
    bound = event("reconcile", tick=state.tick, venue_open=len(state.open_orders), canceled=canceled, asked=asked)
    level = "WARNING" if canceled or asked else "INFO"
    bound.log(level, "reconcile at tick {}: the venue holds {} open orders; {} to cancel (orphans, or wanted "
              "canceled), {} open here but not there asked about", state.tick, len(state.open_orders), canceled,
              asked)  # fmt: skip
