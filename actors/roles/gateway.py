"""The ExchangeGateway: the only actor that calls an ``IExchangeClient``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from loguru import logger

from actors.core.exchange import ExchangeError, ExchangeTimeout, IExchangeClient, PlaceRequest, SupportsAdvance
from actors.core.exchange_faults import FAULT_KINDS
from actors.core.types import Side
from actors.messages import (
    Ack,
    CancelAll,
    ExchangeTick,
    FillItem,
    Freeze,
    GatewayReport,
    GatewayRequest,
    MassCancelReport,
    PositionItem,
    ReconcileRequest,
    Refusal,
    VenueState,
    parts,
    split_report,
)
from actors.roles.addresses import STORE
from actors.roles.supervision import SupervisedRole
from actors.runtime.actor import handles

FROZEN = "frozen: no order is placed after a freeze"
NOT_PLACED = "not placed: the venue has no such order after a timeout"


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


class ExchangeGateway(SupervisedRole):
    """Turns store requests into exchange calls and exchange answers into reports."""

    urgent: ClassVar[bool] = True  # on the critical path of every tick and of a freeze

    def __init__(self, client: IExchangeClient) -> None:
        super().__init__()
        self.client = client
        self.frozen = False
        self.places = 0
        self.cancels = 0
        self.exchange_errors = 0
        self.refused_after_freeze = 0
        self.reconciled = 0
        self.last_tick = 0
        self.placed_since_tick: set[str] = set()
        self.duplicates_ignored = 0
        self.in_doubt: dict[str, str] = {}
        self.advances = isinstance(client, SupportsAdvance)

    @handles(GatewayRequest)
    def on_gateway_request(self, request: GatewayRequest) -> None:
        """Cancels first (they free risk), then placements; report everything back.

        A placement that timed out is in doubt until the venue's open orders
        say whether it exists.  A cancel that failed or was refused brings the
        venue's new fills along: the order may have traded ("already filled",
        or a fill racing a lost answer), and the store closes it at once.
        """
        self.last_tick = max(self.last_tick, request.tick)
        canceled: list[str] = []
        cancel_failures: list[Refusal] = []
        for cancel in request.cancels:
            self.cancels += 1
            try:
                result = self.client.cancel(cancel.exchange_order_id)
            except ExchangeError as exc:
                self.exchange_errors += 1
                cancel_failures.append(Refusal(cancel.client_id, f"exchange error: {exc}"))
                continue
            if result.ok:
                canceled.append(cancel.client_id)
            else:
                cancel_failures.append(Refusal(cancel.client_id, result.reason))
        acks: list[Ack] = []
        rejects: list[Refusal] = []
        for place in request.places:
            if place.client_id in self.placed_since_tick:
                self.duplicates_ignored += 1  # the same request delivered twice: place once
                continue
            self.placed_since_tick.add(place.client_id)
            if self.frozen:
                self.refused_after_freeze += 1
                rejects.append(Refusal(place.client_id, FROZEN))
                continue
            self.places += 1
            try:
                placed = self.client.place(
                    PlaceRequest(place.client_id, place.symbol, Side(place.side), place.price_ticks, place.qty_lots)
                )
            except ExchangeTimeout:
                self.exchange_errors += 1
                self.in_doubt[place.client_id] = place.symbol
                continue
            except ExchangeError as exc:
                self.exchange_errors += 1
                rejects.append(Refusal(place.client_id, f"exchange error: {exc}"))
                continue
            if placed.accepted and placed.exchange_order_id is not None:
                acks.append(Ack(place.client_id, placed.exchange_order_id))
            else:
                rejects.append(Refusal(place.client_id, placed.reason or "rejected"))
        self._reconcile(acks, rejects)
        fills = self._stream_fills(request.tick) if cancel_failures else ()
        report = GatewayReport(
            request.tick, tuple(acks), tuple(rejects), tuple(canceled), tuple(cancel_failures), fills
        )
        for part in split_report(report):
            self.send(STORE, part)

    @handles(ExchangeTick)
    def on_exchange_tick(self, tick: ExchangeTick) -> None:
        """Settle placements still in doubt, let a simulated venue move to ``tick``, stream what traded."""
        self.last_tick = max(self.last_tick, tick.tick)
        self.placed_since_tick.clear()
        self._report_news(tick.tick, advance=True)

    def _report_news(self, tick: int, *, advance: bool = False) -> None:
        """Settle placements in doubt (before the venue moves), then send the store them and new fills."""
        acks: list[Ack] = []
        rejects: list[Refusal] = []
        self._reconcile(acks, rejects)
        if advance and self.advances:
            self.client.advance(tick)  # type: ignore[attr-defined]
        fills = self._stream_fills(tick)
        if fills or acks or rejects:
            for part in split_report(GatewayReport(tick, tuple(acks), tuple(rejects), (), (), fills)):
                self.send(STORE, part)

    def _reconcile(self, acks: list[Ack], rejects: list[Refusal]) -> None:
        """Placements that got no answer: acked if the venue has them open, rejected if not.

        Runs before the venue moves again, so an order that was placed cannot
        have traded out of the open list in between.  If the venue cannot be
        asked, the orders stay in doubt (PENDING in the store) for the next tick.
        """
        if not self.in_doubt:
            return
        try:
            venue_orders = self.client.get_orders()
        except ExchangeError as exc:
            self.exchange_errors += 1
            logger.warning("gateway: cannot reconcile {} placements: {}", len(self.in_doubt), exc)
            return
        live = {order.client_id: order.exchange_order_id for order in venue_orders if order.client_id in self.in_doubt}
        for client_id in self.in_doubt:
            exchange_order_id = live.get(client_id)
            if exchange_order_id is not None:
                acks.append(Ack(client_id, exchange_order_id))
            else:
                rejects.append(Refusal(client_id, NOT_PLACED))
        self.reconciled += len(self.in_doubt)
        self.in_doubt.clear()

    def _stream_fills(self, tick: int) -> tuple[FillItem, ...]:
        try:
            fills = self.client.stream_fills()
        except ExchangeError as exc:
            self.exchange_errors += 1
            logger.warning("gateway: stream_fills failed at tick {}: {}", tick, exc)
            return ()
        return tuple(FillItem.from_fill(f) for f in fills)

    @handles(CancelAll)
    def on_cancel_all(self, request: CancelAll) -> None:
        """A freeze: one mass cancel at the venue, then what traded meanwhile, then the canceled ids."""
        self.last_tick = max(self.last_tick, request.tick)
        error = ""
        try:
            canceled = [order.client_id for order in self.client.cancel_all()]
        except ExchangeError as exc:
            self.exchange_errors += 1
            canceled, error = [], f"exchange error: {exc}"
        self.cancels += len(canceled)
        fills = self._stream_fills(request.tick)
        for part in split_report(GatewayReport(request.tick, (), (), (), (), fills)) if fills else ():
            self.send(STORE, part)
        chunks = parts(canceled)
        for number, chunk in enumerate(chunks, start=1):
            last = number == len(chunks)
            self.send(STORE, MassCancelReport(request.tick, chunk, error if last else "", last))

    @handles(ReconcileRequest)
    def on_reconcile_request(self, request: ReconcileRequest) -> None:
        """The store restarted: tell it what the venue holds."""
        self._send_venue_state(request.tick)

    def on_restart(self, exc: Exception) -> None:
        """A failed handler may have lost an answer: settle doubts and tell the store what the venue holds."""
        self._send_venue_state(self.last_tick)

    def _send_venue_state(self, tick: int) -> None:
        """New fills and settled placements first (FIFO to the store), then the venue's open orders and positions."""
        self._report_news(tick)
        try:
            orders = self.client.get_orders()
            positions = self.client.get_positions()
        except ExchangeError as exc:
            self.exchange_errors += 1
            logger.warning("gateway: cannot read the venue's state at tick {}: {}", tick, exc)
            return
        open_orders = tuple(Ack(o.client_id, o.exchange_order_id) for o in orders)
        held = tuple(PositionItem(symbol, lots) for symbol, lots in sorted(positions.items()))
        self.send(STORE, VenueState(tick, open_orders, held))

    @handles(Freeze)
    def on_freeze(self, _freeze: Freeze) -> None:
        """Refuse every placement from now on (cancels still go through)."""
        self.frozen = True

    def snapshot(self) -> GatewaySnapshot:
        """State for reports and tests."""
        return GatewaySnapshot(
            self.frozen,
            self.places,
            self.cancels,
            self.exchange_errors,
            self.refused_after_freeze,
            self.reconciled,
            {kind: getattr(self.client, "injected", {}).get(kind, 0) for kind in FAULT_KINDS},
        )
