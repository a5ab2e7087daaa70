"""The ExchangeGateway: the only actor that calls an ``IExchangeClient``.

Thin: each handler decodes a record, calls the gateway's core
(:mod:`actors.core._gateway`: tick order, placements in doubt, the freeze's
mass cancel, reduce-only at the venue) with the venue, and sends what the
core returned, numbered on its stream to the store.  What the core cannot
do lives here: the clock (tick-to-order latency, when the venue was found
empty), the log, and the wire.

Given ``worker_threads`` (a real venue), it never waits for the venue's
places, cancels and status queries: it hands them to a
:class:`~actors.venues._worker.VenueWorker` and returns, and each answer
comes back as a :class:`VenueAnswer` to itself, the venue's pushed fills
as :class:`VenueFills` (docs/LIVE.md, "Orders on a real venue: what exists").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

from actors.core._gateway import (
    FROZEN,
    MASS_CANCEL_ATTEMPTS,
    NOT_PLACED,
    PLACE,
    Effects,
    GatewayCore,
    Held,
    MassCancel,
    Report,
    Statuses,
)
from actors.roles._addresses import STORE
from actors.roles._supervision import SupervisedRole, escalation_reason
from actors.runtime._actor import handles
from actors.runtime._realtime import RealTimeRuntime
from actors.telemetry._logs import VENUE_ERRORS, event
from actors.venues._faults import FAULT_KINDS
from actors.venues._interface import IExchangeClient, SupportsAdvance, SupportsFaultCounts
from actors.venues._worker import VenueWorker
from actors.wire._codec import encode
from actors.wire._messages import (
    Ack,
    CancelOrders,
    FillItem,
    FinalSweep,
    Freeze,
    GatewayReport,
    GatewayRequest,
    MassCancelReport,
    OrderStatuses,
    PositionItem,
    ReconcileRequest,
    Refusal,
    Resume,
    StatusItem,
    StatusQuery,
    VenueAnswer,
    VenueFills,
    VenueState,
    VenueTick,
    parts,
    split_report,
)

if TYPE_CHECKING:
    from actors.core._gateway import Answer, Call
    from actors.core._types import Fill
    from actors.telemetry._telemetry import Telemetry

__all__ = ["FROZEN", "MASS_CANCEL_ATTEMPTS", "NOT_PLACED", "ExchangeGateway", "GatewaySnapshot"]

_Numbered = GatewayReport | MassCancelReport | OrderStatuses | VenueState
"""The records of the core's :data:`actors.core._gateway.ToStore`, numbered on the stream to the store
(messages.UNNUMBERED says why)."""


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
    place_to_answer_ns: list[int] = field(default_factory=list)
    """A real venue's: from the gateway handing a place to its worker (the engine's decision, sent) to the venue's
    answer, each placement's (docs/LIVE.md, "The gateway before a real venue")."""

    @classmethod
    def of(
        cls, core: GatewayCore, client: object, latencies_ns: Sequence[int] = (), venue_empty_at: float | None = None,
        place_to_answer_ns: Sequence[int] = (),
    ) -> GatewaySnapshot:
        """The snapshot of ``core``'s counters and ``client``'s injected faults (the actor's, or the baseline's)."""
        injected = client.injected if isinstance(client, SupportsFaultCounts) else {}
        return cls(
            core.frozen, core.places, core.cancels, core.exchange_errors, core.refused_after_freeze, core.reconciled,
            {kind: injected.get(kind, 0) for kind in FAULT_KINDS}, core.market_through, core.venue_open,
            core.mass_cancel_rounds, core.mass_cancel_error, list(latencies_ns), venue_empty_at,
            list(place_to_answer_ns),
        )  # fmt: skip


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
        worker_threads: int = 0,
    ) -> None:
        """``telemetry`` is told each tick-to-order latency.

        ``worker_threads``: 0 answers the venue's calls inline (a venue that
        moves with the market must be: tick order); more runs them
        concurrently on a :class:`VenueWorker` of that many threads
        (:data:`actors.venues._worker.WORKER_THREADS` for a real venue).
        """
        super().__init__()
        if worker_threads > 0 and isinstance(client, SupportsAdvance):
            raise ValueError("a venue that moves with the market is answered inline (tick order): no worker_threads")
        self.telemetry = telemetry
        self.client = client
        carried = counters or {}
        self.core = GatewayCore(
            market_through=market_through,
            exchange_errors=carried.get("exchange_errors", 0),
            reconciled=carried.get("reconciled", 0),
            keep_sent=measure_latency or telemetry is not None,
            concurrent=worker_threads > 0,
        )
        self.keep_latencies = measure_latency
        """Keep every latency for the report (paced mode); telemetry alone gets each one and keeps none."""
        self.ack_latencies_ns: list[int] = []
        self.venue_empty_at: float | None = None
        self.store_seq = 0
        """The number of the last record sent on the stream to the store."""
        self.worker: VenueWorker | None = None
        self.place_sent_ns: dict[str, int] = {}
        """Places out at the worker: client id -> when handed over (runtime clock, ns)."""
        self.place_to_answer_ns: list[int] = []
        if worker_threads > 0:
            runtime = self.runtime
            if not isinstance(runtime, RealTimeRuntime):
                raise ValueError("a venue worker's threads need a real-time runtime (threads or pool), not the sim's")
            self._counting = runtime
            self.worker = VenueWorker(client, self._answer_came, threads=worker_threads, dropped=self._call_dropped)
            client.subscribe(self._fills_came)
        else:
            client.subscribe(self.core.pushed)

    @handles(VenueTick)
    def on_venue_tick(self, tick: VenueTick) -> None:
        """The venue's market moved: handled once the request of the tick before has been sent."""
        self._do(self.core.market(tick.tick, tick.sent_ns, self.client))

    @handles(GatewayRequest)
    def on_gateway_request(self, request: GatewayRequest) -> None:
        """The store's request of a tick: sent to the venue once the venue is at that tick."""
        self._do(self.core.request(request, self.client))

    @handles(CancelOrders)
    def on_cancel_orders(self, request: CancelOrders) -> None:
        """Cancels outside the tick's request (a reconciliation's): sent at once."""
        self._do(self.core.cancel_now(request.tick, request.cancels, self.client))

    @handles(Freeze)
    def on_freeze(self, freeze: Freeze) -> None:
        """Refuse every placement from now on and mass-cancel at the venue, without waiting for anyone."""
        if self.worker is not None:
            self.worker.frozen.set()  # the places it holds, not made yet, are refused, never sent
        effects = self.core.freeze(freeze.tick, freeze.reason, self.client)
        if self.worker is not None and not self.core.frozen:
            self.worker.frozen.clear()  # a late copy of a freeze that a resume had ended: nothing froze
        self._do(effects)

    @handles(Resume)
    def on_resume(self, resume: Resume) -> None:
        """The halt is over: place again from request ``resume.tick`` on.

        It comes after the venue's tick ``resume.tick`` (risk decided that
        tick from its fills) and no later than that tick's request, which
        says it too: the same canonical point as a freeze.
        """
        self.core.resume(resume.tick)
        if self.worker is not None and not self.core.frozen:
            self.worker.frozen.clear()

    @handles(FinalSweep)
    def on_final_sweep(self, sweep: FinalSweep) -> None:
        """The run is over and halted with something still open: mass-cancel once more and report."""
        self._do(self.core.final_sweep(sweep.tick, self.client))

    @handles(ReconcileRequest)
    def on_reconcile_request(self, request: ReconcileRequest) -> None:
        """The store restarted: tell it what the venue holds."""
        self._do(self.core.venue_state(request.tick, self.client))

    @handles(StatusQuery)
    def on_status_query(self, query: StatusQuery) -> None:
        """The store reconciles after a restart: the venue's word on the orders it is unsure of, at once."""
        self._do(self.core.status(query.tick, query.client_ids, self.client))

    @handles(VenueAnswer)
    def on_venue_answer(self, answer: VenueAnswer) -> None:
        """The venue answered a call the worker made: reported to the store as the inline answer would be."""
        answered = answer.to_answer()
        sent_ns = self.place_sent_ns.pop(answered.call.client_id, None) if answered.call.kind == PLACE else None
        if sent_ns is not None:
            waited_ns = int(self.runtime.now() * 1e9) - sent_ns
            self.place_to_answer_ns.append(waited_ns)
            if self.telemetry is not None:
                self.telemetry.venue_answered(waited_ns / 1e9)
        self._do(self.core.answered(answered, self.client))

    @handles(VenueFills)
    def on_venue_fills(self, pushed: VenueFills) -> None:
        """The venue pushed fills (from its stream's thread): reported to the store at once."""
        self._do(self.core.fills_came([item.to_fill() for item in pushed.fills]))

    def on_stop(self) -> None:
        """The worker makes no more calls (those under way end; their answers find no one)."""
        if self.worker is not None:
            self.worker.close()

    def _answer_came(self, answer: Answer) -> None:
        """From a worker's thread: the answer, as a message to this gateway; the call is no longer in flight.

        Each call counts as a message in flight from when it is handed to the
        worker until its answer is (``wait_idle`` waits for it): a run that
        ends, or a freeze that waits for quiet, never leaves an answer behind.
        """
        try:
            self.runtime.tell(self.address, encode(VenueAnswer.of(answer)))
        finally:
            self._counting.in_flight_add(-1)

    def _call_dropped(self, call: Call) -> None:
        """A call the worker dropped unmade as the gateway stopped: no longer in flight."""
        self._counting.in_flight_add(-1)

    def _fills_came(self, fills: list[Fill]) -> None:
        """From the venue's stream thread: its fills, as a message to this gateway."""
        self.runtime.tell(self.address, encode(VenueFills(tuple(FillItem.from_fill(fill) for fill in fills))))

    def on_handler_failure(self, exc: Exception) -> None:
        """What the failed handler queued goes out, then what the core decided and owes (a tick's closing report)."""
        super().on_handler_failure(exc)
        self._do(self.core.after_failure(self.client))

    def escalate(self, exc: Exception) -> None:
        """The gateway gives up: nobody else can reach the venue, so it empties it first, then asks for the freeze.

        The store hears the mass cancel's report as after any freeze and
        settles its orders; risk's freeze then finds the gateway gone.
        """
        try:
            if self.worker is not None:
                self.worker.frozen.set()
            self._do(self.core.freeze(self.core.market_through, escalation_reason(self.address, exc), self.client))
        finally:
            super().escalate(exc)

    def on_restart(self, exc: Exception) -> None:
        """A failed handler may have lost an answer: settle doubts and tell the store what the venue holds."""
        self._do(self.core.restart(self.client))

    # ------------------------------------------------------------ what the core returned

    def _do(self, effects: Effects) -> None:
        """Note the venue's errors, measure, log each mass-cancel round, and send the records, numbered, in order."""
        for name, exc in effects.venue_errors:
            VENUE_ERRORS.note(name, exc)
        if effects.calls and self.worker is not None:
            self._counting.in_flight_add(len(effects.calls))
            sent_ns = int(self.runtime.now() * 1e9)
            for call in effects.calls:
                if call.kind == PLACE:
                    self.place_sent_ns[call.client_id] = sent_ns
                self.worker.submit(call)
        if effects.acked_sent_ns:
            now_ns = int(self.runtime.now() * 1e9)
            for sent in effects.acked_sent_ns:
                if self.keep_latencies:
                    self.ack_latencies_ns.append(now_ns - sent)
                if self.telemetry is not None:
                    self.telemetry.order_acknowledged((now_ns - sent) / 1e9)
        records: list[_Numbered] = []
        for item in effects.to_store:
            if isinstance(item, Report):
                records += split_report(_gateway_report(item))
            elif isinstance(item, MassCancel):
                if item.venue_empty and self.venue_empty_at is None:
                    self.venue_empty_at = self.runtime.now()
                _log_mass_cancel(item)
                records += _mass_cancel_reports(item)
            elif isinstance(item, Statuses):
                statuses = [StatusItem(s.client_id, s.state, s.exchange_order_id or "", s.filled_lots)
                            for s in item.statuses]  # fmt: skip
                records += [OrderStatuses(item.tick, part, item.requested_through) for part in parts(statuses)]
            else:
                records.append(_venue_state(item))
        if records:
            first, self.store_seq = self.store_seq + 1, self.store_seq + len(records)
            self.send_all([(STORE, replace(record, seq=seq)) for seq, record in enumerate(records, start=first)])

    def snapshot(self) -> GatewaySnapshot:
        """State for reports and tests."""
        return GatewaySnapshot.of(self.core, self.client, self.ack_latencies_ns, self.venue_empty_at,
                                  self.place_to_answer_ns)  # fmt: skip


def _gateway_report(report: Report) -> GatewayReport:
    acks = tuple(Ack(*ack) for ack in report.acks)
    rejects = tuple(Refusal(*refused) for refused in report.rejects)
    failures = tuple(Refusal(*refused) for refused in report.cancel_failures)
    fills = tuple(FillItem.from_fill(fill) for fill in report.fills)
    return GatewayReport(report.tick, acks, rejects, tuple(report.canceled), failures, fills, report.closes)


def _mass_cancel_reports(round_: MassCancel) -> list[MassCancelReport]:
    """The round in parts; only the final one says what is still open and the error."""
    chunks, records = parts(round_.canceled), []
    for number, chunk in enumerate(chunks, start=1):
        final = number == len(chunks)
        error, still_open = (round_.error, round_.still_open) if final else ("", -1)
        records.append(MassCancelReport(round_.tick, chunk, error, final, still_open, round_.reason,
                                        round_.requested_through))  # fmt: skip
    return records


def _venue_state(held: Held) -> VenueState:
    positions = tuple(PositionItem(symbol, lots) for symbol, lots in sorted(held.positions.items()))
    return VenueState(held.tick, tuple(Ack(*order) for order in held.open_orders), positions)


def _log_mass_cancel(round_: MassCancel) -> None:
    """One line a round: INFO once the venue is empty, WARNING while it is not (with the next round's tick)."""
    tick, number, canceled = round_.tick, round_.round, len(round_.canceled)
    bound = event("mass_cancel", tick=tick, round=number, canceled=canceled, still_open=round_.still_open,
                  error=round_.error, reason=round_.reason)  # fmt: skip
    if round_.venue_empty:
        bound.info("mass cancel round {} at tick {}: {} canceled, the venue holds no open order",
                   number, tick, canceled)  # fmt: skip
        return
    still = "unknown" if round_.still_open < 0 else str(round_.still_open)
    bound.warning(
        "mass cancel round {} at tick {}: {} canceled, still open at the venue: {} ({}); next round at tick {}",
        number, tick, canceled, still, round_.error or "no error", round_.next_round_tick,
    )  # fmt: skip
