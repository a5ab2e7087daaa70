"""The ExchangeGateway: the only actor that calls an ``IExchangeClient``."""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger

from actors.core.exchange import ExchangeError, IExchangeClient, PlaceRequest, SupportsAdvance
from actors.core.types import Side
from actors.messages import Ack, ExchangeTick, FillItem, Freeze, GatewayReport, GatewayRequest, Refusal
from actors.roles.addresses import STORE
from actors.runtime.actor import MessageActor, handles

FROZEN = "frozen: no order is placed after a freeze"


@dataclass(frozen=True)
class GatewaySnapshot:
    """Call counts, for reports and tests."""

    frozen: bool
    places: int
    cancels: int
    exchange_errors: int
    refused_after_freeze: int


class ExchangeGateway(MessageActor):
    """Turns store requests into exchange calls and exchange answers into reports."""

    def __init__(self, client: IExchangeClient) -> None:
        super().__init__()
        self.client = client
        self.frozen = False
        self.places = 0
        self.cancels = 0
        self.exchange_errors = 0
        self.refused_after_freeze = 0

    @handles(GatewayRequest)
    def on_gateway_request(self, request: GatewayRequest) -> None:
        """Cancels first (they free risk), then placements; report everything back."""
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
            if self.frozen:
                self.refused_after_freeze += 1
                rejects.append(Refusal(place.client_id, FROZEN))
                continue
            self.places += 1
            try:
                placed = self.client.place(
                    PlaceRequest(place.client_id, place.symbol, Side(place.side), place.price_ticks, place.qty_lots)
                )
            except ExchangeError as exc:
                self.exchange_errors += 1
                rejects.append(Refusal(place.client_id, f"exchange error: {exc}"))
                continue
            if placed.accepted and placed.exchange_order_id is not None:
                acks.append(Ack(place.client_id, placed.exchange_order_id))
            else:
                rejects.append(Refusal(place.client_id, placed.reason or "rejected"))
        self.send(
            STORE,
            GatewayReport(request.tick, tuple(acks), tuple(rejects), tuple(canceled), tuple(cancel_failures), ()),
        )

    @handles(ExchangeTick)
    def on_exchange_tick(self, tick: ExchangeTick) -> None:
        """Let a simulated venue move to ``tick``, then stream what traded."""
        if isinstance(self.client, SupportsAdvance):
            self.client.advance(tick.tick)
        try:
            fills = self.client.stream_fills()
        except ExchangeError as exc:
            self.exchange_errors += 1
            logger.warning("gateway: stream_fills failed at tick {}: {}", tick.tick, exc)
            return
        if fills:
            items = tuple(FillItem.from_fill(f) for f in fills)
            self.send(STORE, GatewayReport(tick.tick, (), (), (), (), items))

    @handles(Freeze)
    def on_freeze(self, _freeze: Freeze) -> None:
        """Refuse every placement from now on (cancels still go through)."""
        self.frozen = True

    def snapshot(self) -> GatewaySnapshot:
        """State for reports and tests."""
        return GatewaySnapshot(self.frozen, self.places, self.cancels, self.exchange_errors, self.refused_after_freeze)

