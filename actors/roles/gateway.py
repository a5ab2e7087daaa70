"""The ExchangeGateway: the only actor that calls an ``IExchangeClient``.

It handles the venue's market ticks and the store's requests in tick order
(docs/DESIGN.md, "The completeness rule"): the venue moves to tick t only
once the store's request of tick t-1 has been sent to it, and the request of
tick t is sent only once the venue is at t, so every order meets the same
market on every runtime.  The venue pushes its fills (``subscribe``); the
gateway reports them with the tick they happened in, one record closing each
market tick.  At a freeze the gateway mass-cancels at the venue itself, on
risk's word or the store's, whichever comes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

from actors.core._reduce_only import reduce_only_refusal
from actors.core.exchange import ExchangeError, ExchangeOrder, ExchangeTimeout, PlaceRequest
from actors.core.orders import cancel_backoff_ticks
from actors.core.types import Fill, Side
from actors.roles.addresses import STORE
from actors.roles.supervision import SupervisedRole, escalation_reason
from actors.runtime.actor import handles
from actors.telemetry.logs import VENUE_ERRORS, event
from actors.venues.faults import FAULT_KINDS
from actors.venues.interface import IExchangeClient, SupportsAdvance, SupportsFaultCounts
from actors.wire.messages import (
    Ack,
    CancelItem,
    CancelOrders,
    FillItem,
    FinalSweep,
    Freeze,
    GatewayReport,
    GatewayRequest,
    MassCancelReport,
    OrderStatuses,
    PlaceItem,
    PositionItem,
    ReconcileRequest,
    Refusal,
    Resume,
    StatusItem,
    StatusQuery,
    VenueState,
    VenueTick,
    parts,
    split_report,
)

if TYPE_CHECKING:
    from actors.telemetry.telemetry import Telemetry


class _VenueView:
    """What the venue holds, for checking a request's reduce-only placements (``actors.core._reduce_only``).

    Read once per request; each order let through counts as working from
    then on, so two placements of one request cannot both use the same room.
    """

    def __init__(self, positions: dict[str, int], orders: list[ExchangeOrder], error: str = "") -> None:
        self.positions = positions
        self.by_symbol: dict[str, list[ExchangeOrder]] = {}
        for order in orders:
            self.by_symbol.setdefault(order.symbol, []).append(order)
        self.spent: dict[tuple[str, int], int] = {}
        self.error = error

    def refusal(self, place: PlaceItem) -> str | None:
        """Why ``place`` would grow or flip the venue's position, or None if it only reduces it."""
        if self.error:
            return self.error
        symbol, orders = place.symbol, self.by_symbol.get(place.symbol, [])
        position, spent = self.positions.get(symbol, 0), self.spent.get((symbol, place.side), 0)
        return reduce_only_refusal(symbol, Side(place.side), place.qty_lots, position, orders, spent=spent)

    def spend(self, place: PlaceItem) -> None:
        """``place`` goes out: its lots are working on its side from now on."""
        key = (place.symbol, place.side)
        self.spent[key] = self.spent.get(key, 0) + place.qty_lots


ToStore = GatewayReport | MassCancelReport | OrderStatuses | VenueState
"""What the gateway sends the store, on its numbered stream."""

FROZEN = "frozen: no order is placed after a freeze"
NOT_PLACED = "not placed: the venue has no such order after a timeout"
MASS_CANCEL_ATTEMPTS = 8
"""Mass cancels tried in a row in one round at a freeze.

Each attempt draws anew at a hostile venue: a venue that fails two calls in
three is emptied in the first round nine times in ten (1 - 0.67^8).  A round
that fails is followed by another after a backoff of 1, 2, 4 ... market
ticks capped at 64 (:func:`actors.core.orders.cancel_backoff_ticks`), so a
venue that refuses for good is asked a bounded number of times and the run
ends on time, its report saying what stayed open (docs/RELIABILITY.md)."""


@dataclass(frozen=True)
class GatewaySnapshot:
    """Call counts, for reports and tests."""

    frozen: bool
    places: int
    cancels: int
    exchange_errors: int
    refused_after_freeze: int
    reconciled: int
    faults_injected: dict[str, int]
    market_through: int
    venue_open: int
    """Orders the venue still held open after the last mass cancel (-1: could not be asked; 0 before any)."""
    mass_cancel_rounds: int
    mass_cancel_error: str
    ack_latencies_ns: list[int] = field(default_factory=list)
    venue_empty_at: float | None = None  # runtime clock when a freeze's mass cancel left nothing open; timing only


class ExchangeGateway(SupervisedRole):
    """Turns store requests into exchange calls and the venue's answers and pushes into reports."""

    urgent: ClassVar[bool] = True  # on the critical path of every tick and of a freeze

    def __init__(
        self,
        client: IExchangeClient,
        *,
        market_through: int = 0,
        measure_latency: bool = False,
        counters: dict[str, int] | None = None,  # exchange_errors, reconciled carried over a crash (assembly.recovery)
        telemetry: Telemetry | None = None,
    ) -> None:
        """``telemetry`` is told each tick-to-order latency."""
        super().__init__()
        self.telemetry = telemetry
        self.client = client
        self.frozen = False
        self.freeze_reason = ""
        self.resumed_at = 0
        self.venue_empty = False
        self.venue_empty_at: float | None = None
        self.venue_open = 0
        self.mass_cancel_rounds = 0
        self.mass_cancel_error = ""
        self.next_mass_cancel_tick = 0
        self.closing_owed: int | None = None
        """The market tick being handled, until its closing report is sent (owed should the handler fail)."""
        self.places = 0
        self.cancels = 0
        self.exchange_errors = (counters or {}).get("exchange_errors", 0)
        self.refused_after_freeze = 0
        self.reconciled = (counters or {}).get("reconciled", 0)
        self.market_through = market_through
        self.requested_through = market_through
        self.markets: dict[int, VenueTick] = {}
        self.requests: dict[int, list[GatewayRequest]] = {}
        self.parts_seen: set[tuple[int, int]] = set()
        self.placed_since_tick: set[str] = set()
        self.duplicates_ignored = 0
        self.request_owed: GatewayRequest | None = None
        """A request whose freeze is under way: to handle again should its handler fail there."""
        self.store_seq = 0
        """The number of the last record sent on the stream to the store."""
        self.in_doubt: dict[str, str] = {}
        self.pushed: list[Fill] = []
        self.advancing: SupportsAdvance | None = client if isinstance(client, SupportsAdvance) else None
        """The venue as one that moves with the market (a simulated one); None for a venue that moves by itself."""
        self.keep_latencies = measure_latency
        """Keep every latency for the report (paced mode); telemetry alone gets each one and keeps none."""
        self.measure_latency = measure_latency or telemetry is not None
        self.tick_sent_ns: dict[int, int] = {}
        self.ack_latencies_ns: list[int] = []
        client.subscribe(self.pushed.extend)

    # ------------------------------------------------------------ tick order

    @handles(VenueTick)
    def on_venue_tick(self, tick: VenueTick) -> None:
        """The venue's market moved: handled once the request of the tick before has been sent."""
        if tick.tick <= self.market_through or tick.tick in self.markets:
            self.duplicates_ignored += 1
            return
        self.markets[tick.tick] = tick
        self._progress()

    @handles(GatewayRequest)
    def on_gateway_request(self, request: GatewayRequest) -> None:
        """The store's request of a tick: sent to the venue once the venue is at that tick."""
        key = (request.tick, request.part)
        if request.tick <= self.requested_through or key in self.parts_seen:
            self.duplicates_ignored += 1  # a copy of a request, or of a part of one, delivered twice
            return
        self.parts_seen.add(key)
        if request.tick > self.market_through:
            self.requests.setdefault(request.tick, []).append(request)
            return
        self._handle_request(request)
        self._progress()

    def _progress(self) -> None:
        """Move the venue, and send buffered requests, for as long as tick order allows."""
        while self.requested_through >= self.market_through and self.market_through + 1 in self.markets:
            following = self.market_through + 1
            self._handle_market(self.markets.pop(following))
            for request in self.requests.pop(following, []):
                self._handle_request(request)

    def _handle_market(self, tick: VenueTick) -> None:
        """Settle placements in doubt (before the venue moves), move the venue, report what it pushed."""
        self.market_through = tick.tick
        self.closing_owed = tick.tick
        self.placed_since_tick.clear()
        if self.measure_latency:
            self.tick_sent_ns[tick.tick] = tick.sent_ns
        acks, rejects = self._settle_doubts()
        if self.frozen and not self.venue_empty and tick.tick >= self.next_mass_cancel_tick:
            self._mass_cancel(tick.tick)  # the last round failed and its backoff is over: try again
        if self.advancing is not None:
            self.advancing.advance(tick.tick)
        self.closing_owed = None  # queued in the outbox by the report: sent even past a failure
        self._report(tick.tick, acks, rejects, [], [], closes=True)

    def on_handler_failure(self, exc: Exception) -> None:
        """A market tick whose handler failed still gets its closing record, so risk can decide it.

        A request whose handling failed in its freeze's mass cancel is handled
        again (frozen now, its freeze is not done twice; cancels are
        idempotent, its placements are refused), and buffered ticks and
        requests go on: nothing else would move them once all have arrived.
        """
        super().on_handler_failure(exc)
        tick, self.closing_owed = self.closing_owed, None
        if tick is not None:
            self._report(tick, [], [], [], [], closes=True)
        request, self.request_owed = self.request_owed, None
        if request is not None:
            self._handle_request(request)
        self._progress()

    def _handle_request(self, request: GatewayRequest) -> None:
        """Cancels first (they free risk), then placements; report everything back.

        A placement that timed out is in doubt until the venue's open orders
        say whether it exists.  A cancel that failed or was refused brings the
        venue's new fills along: the order may have traded ("already filled",
        or a fill racing a lost answer), and the store closes it at once.
        """
        if request.resumed > self.resumed_at:
            self._resume(request.resumed)  # the store heard risk's Resume before this gateway did
        if request.frozen and not self.frozen:
            self.request_owed = request  # the freeze's mass cancel sends: should one fail, handled again
            self._freeze(request.tick, self.freeze_reason or "the store reports a freeze")
            self.request_owed = None
        if request.last:
            self.requested_through = request.tick
            self.parts_seen = {key for key in self.parts_seen if key[0] > request.tick}
        canceled, cancel_failures = self._cancel(request.cancels)
        acks, rejects = self._place_all(request)
        sent = self.tick_sent_ns.pop(request.tick, None) if request.last else None
        if acks and sent is not None:
            latency_ns = int(self.runtime.now() * 1e9) - sent
            if self.keep_latencies:
                self.ack_latencies_ns.append(latency_ns)
            if self.telemetry is not None:
                self.telemetry.order_acknowledged(latency_ns / 1e9)
        doubt_acks, doubt_rejects = self._settle_doubts()
        self._report(request.tick, acks + doubt_acks, rejects + doubt_rejects, canceled, cancel_failures)
        if request.status:
            self._answer_status(request.tick, request.status)

    def _place_all(self, request: GatewayRequest) -> tuple[list[Ack], list[Refusal]]:
        """The request's placements, in order: acknowledged, refused, or in doubt (a timeout)."""
        acks: list[Ack] = []
        rejects: list[Refusal] = []
        view: _VenueView | None = None
        for place in request.places:
            if place.client_id in self.placed_since_tick:
                self.duplicates_ignored += 1  # the same request delivered twice: place once
                continue
            self.placed_since_tick.add(place.client_id)
            if self.frozen and not request.flatten:
                self.refused_after_freeze += 1
                rejects.append(Refusal(place.client_id, FROZEN))
                continue
            if self.frozen or place.reduce_only:
                view = view if view is not None else self._venue_view()
                refusal = view.refusal(place)
                if refusal is not None:
                    rejects.append(Refusal(place.client_id, refusal))
                    continue
                view.spend(place)  # placed, in doubt or refused by the venue: counted as working (the safe side)
            self.places += 1
            try:
                placed = self.client.place(
                    PlaceRequest(place.client_id, place.symbol, Side(place.side), place.price_ticks, place.qty_lots)
                )
            except ExchangeTimeout as exc:
                self.exchange_errors += 1
                VENUE_ERRORS.note("place_timeout", exc)
                self.in_doubt[place.client_id] = place.symbol
                continue
            except ExchangeError as exc:
                self.exchange_errors += 1
                VENUE_ERRORS.note("place", exc)
                rejects.append(Refusal(place.client_id, f"exchange error: {exc}"))
                continue
            if placed.accepted and placed.exchange_order_id is not None:
                acks.append(Ack(place.client_id, placed.exchange_order_id))
            else:
                rejects.append(Refusal(place.client_id, placed.reason or "rejected"))
        return acks, rejects

    def _venue_view(self) -> _VenueView:
        """The venue's positions and open orders, read once for a request's reduce-only placements.

        Read after the request's cancels: a cancel that failed leaves the
        earlier order working (its lots count as spent), a cancel that raced
        a fill moved the position (docs/EXECUTION.md, "Flattening on halt").
        Queries are never faulted; should one fail, every reduce-only order
        of the request is refused, which is the safe side.
        """
        try:
            return _VenueView(self.client.get_positions(), self.client.get_orders())
        except ExchangeError as exc:
            self.exchange_errors += 1
            VENUE_ERRORS.note("read_venue", exc)
            return _VenueView({}, [], error=f"reduce-only: cannot read the venue: {exc}")

    @handles(CancelOrders)
    def on_cancel_orders(self, request: CancelOrders) -> None:
        """Cancels outside the tick's request (a reconciliation's): sent at once."""
        canceled, failures = self._cancel(request.cancels)
        self._report(request.tick, [], [], canceled, failures)

    def _cancel(self, cancels: tuple[CancelItem, ...]) -> tuple[list[str], list[Refusal]]:
        canceled: list[str] = []
        failures: list[Refusal] = []
        for cancel in cancels:
            self.cancels += 1
            try:
                result = self.client.cancel(cancel.exchange_order_id)
            except ExchangeError as exc:
                self.exchange_errors += 1
                VENUE_ERRORS.note("cancel", exc)
                failures.append(Refusal(cancel.client_id, f"exchange error: {exc}"))
                continue
            if result.ok:
                canceled.append(cancel.client_id)
            else:
                failures.append(Refusal(cancel.client_id, result.reason))
        return canceled, failures

    def _report(
        self,
        tick: int,
        acks: list[Ack],
        rejects: list[Refusal],
        canceled: list[str],
        failures: list[Refusal],
        *,
        closes: bool = False,
    ) -> None:
        """Answers and whatever the venue pushed meanwhile; nothing if empty, unless it ``closes`` a tick."""
        fills = self._fills()
        if acks or rejects or canceled or failures or fills or closes:
            report = GatewayReport(tick, tuple(acks), tuple(rejects), tuple(canceled), tuple(failures), fills, closes)
            self._to_store(split_report(report))

    def _to_store(self, records: Sequence[ToStore]) -> None:
        """Send ``records`` to the store, each numbered on the gateway's stream (messages.UNNUMBERED says why)."""
        numbered = []
        for record in records:
            self.store_seq += 1
            numbered.append((STORE, replace(record, seq=self.store_seq)))
        self.send_all(numbered)

    def _settle_doubts(self) -> tuple[list[Ack], list[Refusal]]:
        """Placements that got no answer: acked if the venue has them open, rejected if not.

        Runs before the venue moves again, so an order that was placed cannot
        have traded out of the open list in between.  If the venue cannot be
        asked, the orders stay in doubt (PENDING in the store) for the next tick.
        """
        acks: list[Ack] = []
        rejects: list[Refusal] = []
        if not self.in_doubt:
            return acks, rejects
        try:
            venue_orders = self.client.get_orders()
        except ExchangeError as exc:
            self.exchange_errors += 1
            VENUE_ERRORS.note("get_orders", exc)
            return acks, rejects
        live = {order.client_id: order.exchange_order_id for order in venue_orders if order.client_id in self.in_doubt}
        for client_id in self.in_doubt:
            exchange_order_id = live.get(client_id)
            if exchange_order_id is not None:
                acks.append(Ack(client_id, exchange_order_id))
            else:
                rejects.append(Refusal(client_id, NOT_PLACED))
        self.reconciled += len(self.in_doubt)
        self.in_doubt.clear()
        return acks, rejects

    def _fills(self) -> tuple[FillItem, ...]:
        """What the venue pushed since the last report."""
        fills = tuple(FillItem.from_fill(f) for f in self.pushed)
        self.pushed.clear()  # in place: the venue holds this list's extend as its listener
        return fills

    def _poll_fills(self, tick: int) -> None:
        """Ask the venue for fills it has not pushed (reconciliation: a venue's stream may have gaps)."""
        try:
            self.pushed.extend(self.client.stream_fills())
        except ExchangeError as exc:
            self.exchange_errors += 1
            VENUE_ERRORS.note("stream_fills", exc)

    # ------------------------------------------------------------ the freeze

    @handles(Freeze)
    def on_freeze(self, freeze: Freeze) -> None:
        """Refuse every placement from now on and mass-cancel at the venue, without waiting for anyone."""
        self._freeze(freeze.tick, freeze.reason)

    def _freeze(self, tick: int, reason: str) -> None:
        if self.frozen or tick < self.resumed_at:
            return  # frozen already, or a late copy of a freeze that a resume has ended
        self.frozen = True
        self.freeze_reason = reason
        self._mass_cancel(tick)

    @handles(Resume)
    def on_resume(self, resume: Resume) -> None:
        """The halt is over: place again from request ``resume.tick`` on.

        It comes after the venue's tick ``resume.tick`` (risk decided that
        tick from its fills) and no later than that tick's request, which
        says it too: the same canonical point as a freeze.
        """
        self._resume(resume.tick)

    def _resume(self, tick: int) -> None:
        if tick <= self.resumed_at:
            return
        self.resumed_at = tick
        self.frozen = False
        self.freeze_reason = ""
        self.venue_empty = False
        self.next_mass_cancel_tick = 0

    def _mass_cancel(self, tick: int) -> None:
        """Cancel everything at the venue until it holds nothing open (a few tries), then tell the store.

        Placements in doubt are settled first and what the venue pushed is
        reported, so the store knows every order the venue could name before
        it hears that the venue holds none open.
        """
        acks, rejects = self._settle_doubts()
        canceled: list[str] = []
        error, still_open = "", -1
        for _ in range(MASS_CANCEL_ATTEMPTS):
            try:
                canceled.extend(order.client_id for order in self.client.cancel_all())
                error = ""
            except ExchangeError as exc:
                self.exchange_errors += 1
                VENUE_ERRORS.note("cancel_all", exc)
                error = f"exchange error: {exc}"
            try:
                still_open = len(self.client.get_orders())
            except ExchangeError as exc:
                self.exchange_errors += 1
                VENUE_ERRORS.note("get_orders", exc)
                still_open, error = -1, f"exchange error: {exc}"
            if still_open == 0:
                break
        self.venue_empty = still_open == 0
        self.venue_open, self.mass_cancel_error = still_open, error
        self.mass_cancel_rounds += 1
        self.next_mass_cancel_tick = tick + cancel_backoff_ticks(self.mass_cancel_rounds)
        if self.venue_empty and self.venue_empty_at is None:
            self.venue_empty_at = self.runtime.now()
        self.cancels += len(canceled)
        self._log_mass_cancel(tick, len(canceled))
        self._report(tick, acks, rejects, [], [])
        chunks = parts(canceled)
        records = []
        for number, chunk in enumerate(chunks, start=1):
            final = number == len(chunks)
            open_count = still_open if final else -1
            error_text = error if final else ""
            reason, through = self.freeze_reason, self.requested_through
            records.append(MassCancelReport(tick, chunk, error_text, final, open_count, reason, through))
        self._to_store(records)

    def _log_mass_cancel(self, tick: int, canceled: int) -> None:
        """One line a round: INFO once the venue is empty, WARNING while it is not (with the next round's tick)."""
        bound = event("mass_cancel", tick=tick, round=self.mass_cancel_rounds, canceled=canceled,
                      still_open=self.venue_open, error=self.mass_cancel_error, reason=self.freeze_reason)  # fmt: skip
        if self.venue_empty:
            bound.info("mass cancel round {} at tick {}: {} canceled, the venue holds no open order",
                       self.mass_cancel_rounds, tick, canceled)  # fmt: skip
            return
        still = "unknown" if self.venue_open < 0 else str(self.venue_open)
        bound.warning(
            "mass cancel round {} at tick {}: {} canceled, still open at the venue: {} ({}); next round at tick {}",
            self.mass_cancel_rounds, tick, canceled, still, self.mass_cancel_error or "no error",
            self.next_mass_cancel_tick,
        )  # fmt: skip

    # ------------------------------------------------------------ reconciliation

    @handles(FinalSweep)
    def on_final_sweep(self, sweep: FinalSweep) -> None:
        """The run is over and halted with something still open: mass-cancel once more and report."""
        if self.frozen:
            self._mass_cancel(max(sweep.tick, self.market_through))

    @handles(ReconcileRequest)
    def on_reconcile_request(self, request: ReconcileRequest) -> None:
        """The store restarted: tell it what the venue holds."""
        self._send_venue_state(request.tick)

    @handles(StatusQuery)
    def on_status_query(self, query: StatusQuery) -> None:
        """The store reconciles after a restart: the venue's word on the orders it is unsure of, at once."""
        self._answer_status(query.tick, query.client_ids)

    def _answer_status(self, tick: int, client_ids: tuple[str, ...]) -> None:
        """The venue's word on each order, its new fills and settled placements reported first.

        An order the venue cannot be asked about now is left out; the store
        asks again at its next deadline.
        """
        self._poll_fills(tick)
        acks, rejects = self._settle_doubts()
        self._report(tick, acks, rejects, [], [])
        statuses: list[StatusItem] = []
        for client_id in client_ids:
            try:
                status = self.client.order_status(client_id)
            except ExchangeError as exc:
                self.exchange_errors += 1
                VENUE_ERRORS.note("order_status", exc)
                continue
            exchange_order_id = status.exchange_order_id or ""
            statuses.append(StatusItem(client_id, status.state, exchange_order_id, status.filled_lots))
        self._to_store([OrderStatuses(tick, part, self.requested_through) for part in parts(statuses)])

    def escalate(self, exc: Exception) -> None:
        """The gateway gives up: nobody else can reach the venue, so it empties it first, then asks for the freeze.

        The store hears the mass cancel's report as after any freeze and
        settles its orders; risk's freeze then finds the gateway gone.
        """
        reason = escalation_reason(self.address, exc)
        try:
            self._freeze(self.market_through, reason)
        finally:
            super().escalate(exc)

    def on_restart(self, exc: Exception) -> None:
        """A failed handler may have lost an answer: settle doubts and tell the store what the venue holds.

        Frozen, the mass cancel is done again (it is idempotent), so a store
        that never heard the last one's report hears that the venue is empty.
        """
        self._send_venue_state(self.market_through)
        if self.frozen:
            self._mass_cancel(self.market_through)

    def _send_venue_state(self, tick: int) -> None:
        """New fills and settled placements first (FIFO to the store), then the venue's open orders and positions."""
        acks, rejects = self._settle_doubts()
        self._poll_fills(tick)
        self._report(tick, acks, rejects, [], [])
        try:
            orders = self.client.get_orders()
            positions = self.client.get_positions()
        except ExchangeError as exc:
            self.exchange_errors += 1
            VENUE_ERRORS.note("read_venue", exc)
            return
        open_orders = tuple(Ack(o.client_id, o.exchange_order_id) for o in orders)
        held = tuple(PositionItem(symbol, lots) for symbol, lots in sorted(positions.items()))
        self._to_store([VenueState(tick, open_orders, held)])

    def snapshot(self) -> GatewaySnapshot:
        """State for reports and tests."""
        injected = self.client.injected if isinstance(self.client, SupportsFaultCounts) else {}
        return GatewaySnapshot(
            self.frozen,
            self.places,
            self.cancels,
            self.exchange_errors,
            self.refused_after_freeze,
            self.reconciled,
            {kind: injected.get(kind, 0) for kind in FAULT_KINDS},
            self.market_through,
            self.venue_open,
            self.mass_cancel_rounds,
            self.mass_cancel_error,
            list(self.ack_latencies_ns),
            self.venue_empty_at,
        )
