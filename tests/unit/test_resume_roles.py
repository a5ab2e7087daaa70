"""Resume and flattening at each role: who takes orders again when, and what a late copy of a freeze does."""

from __future__ import annotations

from decimal import Decimal

from actors.core._quoting import QuotingPolicy
from actors.core._types import Instrument, Side
from actors.roles._addresses import GATEWAY, RISK, STORE
from actors.roles._gateway import FROZEN, ExchangeGateway
from actors.roles._order_store import OrderStoreActor
from actors.roles._quoter import Quoter
from actors.testing import Sim
from actors.venues._simulated import FakeExchangeClient
from actors.wire._codec import Message, encode
from actors.wire._messages import (
    Ack,
    Freeze,
    GatewayReport,
    GatewayRequest,
    Mark,
    MarketTick,
    MassCancelReport,
    OrderSpec,
    PlaceItem,
    QuoteIntent,
    Refusal,
    ReplaceQuotes,
    Resume,
    VenueTick,
)

BTC = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.0001"), Decimal("60000"))
BUY = (OrderSpec("BTCUSDT", 1, 5_997_000, 2),)


def tell(sim: Sim, address: str, record: Message) -> None:
    sim.tell(address, encode(record))
    sim.run_until_idle()


def place(client_id: str) -> PlaceItem:
    return PlaceItem(client_id, "BTCUSDT", int(Side.BUY), 5_997_000, 2)


def gateway_at(sim: Sim) -> FakeExchangeClient:
    venue = FakeExchangeClient(seed=1, fill_rate=0.0)
    sim.spawn(ExchangeGateway, GATEWAY, venue)
    return venue


def test_a_resumed_gateway_places_again_from_the_resume_tick_on(sim: Sim) -> None:
    store = sim.probe(STORE)
    venue = gateway_at(sim)
    tell(sim, GATEWAY, VenueTick(1, 0))
    tell(sim, GATEWAY, Freeze(1, "Edge degradation", keep_quoting=True))
    tell(sim, GATEWAY, GatewayRequest(1, (), (place("CLI00000001"),), True))
    assert store.messages(GatewayReport)[-1].rejects == (Refusal("CLI00000001", FROZEN),)
    tell(sim, GATEWAY, VenueTick(2, 0))
    tell(sim, GATEWAY, Resume(2, "Resume: back"))
    tell(sim, GATEWAY, GatewayRequest(2, (), (place("CLI00000002"),), False, resumed=2))
    assert [o.client_id for o in venue.get_orders()] == ["CLI00000002"]


def test_a_request_that_says_resumed_resumes_a_gateway_that_has_not_heard_risk_yet(sim: Sim) -> None:
    sim.probe(STORE)
    venue = gateway_at(sim)
    tell(sim, GATEWAY, VenueTick(1, 0))
    tell(sim, GATEWAY, Freeze(1, "Edge degradation"))
    tell(sim, GATEWAY, GatewayRequest(1, (), (), True))
    tell(sim, GATEWAY, VenueTick(2, 0))
    tell(sim, GATEWAY, GatewayRequest(2, (), (place("CLI00000002"),), False, resumed=2))  # before Resume(2)
    assert [o.client_id for o in venue.get_orders()] == ["CLI00000002"]
    tell(sim, GATEWAY, Resume(2, "Resume: back"))  # then risk's word: nothing changes
    assert not sim.actor(GATEWAY).core.frozen  # type: ignore[attr-defined]


def test_a_late_copy_of_an_ended_freeze_does_not_freeze_the_gateway_again(sim: Sim) -> None:
    sim.probe(STORE)
    venue = gateway_at(sim)
    tell(sim, GATEWAY, VenueTick(1, 0))
    tell(sim, GATEWAY, Freeze(1, "Edge degradation"))
    tell(sim, GATEWAY, GatewayRequest(1, (), (), True))
    tell(sim, GATEWAY, VenueTick(2, 0))
    tell(sim, GATEWAY, Resume(2, "Resume: back"))
    tell(sim, GATEWAY, GatewayRequest(2, (), (place("CLI00000002"),), False, resumed=2))
    tell(sim, GATEWAY, Freeze(1, "Edge degradation"))  # delivered again, late
    assert not sim.actor(GATEWAY).core.frozen and len(venue.get_orders()) == 1  # type: ignore[attr-defined]


class ShortVenue(FakeExchangeClient):
    """A venue where we are short 3 lots of BTCUSDT: a buy of up to 3 reduces it."""

    def get_positions(self) -> dict[str, int]:
        return {"BTCUSDT": -3}


def test_a_frozen_gateway_places_a_flattening_request_and_nothing_else(sim: Sim) -> None:
    store = sim.probe(STORE)
    venue = ShortVenue(seed=1, fill_rate=0.0)
    sim.spawn(ExchangeGateway, GATEWAY, venue)
    tell(sim, GATEWAY, VenueTick(1, 0))
    tell(sim, GATEWAY, Freeze(1, "Operator: test", keep_quoting=True))
    tell(sim, GATEWAY, GatewayRequest(1, (), (place("CLI00000001"),), True))
    tell(sim, GATEWAY, VenueTick(2, 0))
    tell(sim, GATEWAY, GatewayRequest(2, (), (place("CLI00000002"),), True, flatten=True))
    assert [o.client_id for o in venue.get_orders()] == ["CLI00000002"]
    assert store.messages(GatewayReport)[-3].rejects == (Refusal("CLI00000001", FROZEN),)


def test_a_flattening_order_that_would_grow_or_double_a_position_at_the_venue_is_refused(sim: Sim) -> None:
    store = sim.probe(STORE)
    venue = ShortVenue(seed=1, fill_rate=0.0)
    sim.spawn(ExchangeGateway, GATEWAY, venue)
    tell(sim, GATEWAY, VenueTick(1, 0))
    tell(sim, GATEWAY, Freeze(1, "Operator: test", keep_quoting=True))
    sell = PlaceItem("CLI00000001", "BTCUSDT", int(Side.SELL), 6_003_000, 2)
    tell(sim, GATEWAY, GatewayRequest(1, (), (), True))
    tell(sim, GATEWAY, VenueTick(2, 0))
    tell(sim, GATEWAY, GatewayRequest(2, (), (sell, place("CLI00000002"), place("CLI00000003")), True, flatten=True))
    assert [o.client_id for o in venue.get_orders()] == ["CLI00000002"]  # 2 of the 3 lots short are working
    refused = {r.client_id: r.reason for r in store.messages(GatewayReport)[-1].rejects}
    assert refused == {
        "CLI00000001": "reduce-only: BTCUSDT 2 lots > 0 left to reduce at the venue (position -3)",
        "CLI00000003": "reduce-only: BTCUSDT 2 lots > 1 left to reduce at the venue (position -3)",
    }


def test_a_resumed_store_takes_orders_again_and_says_so_in_its_requests(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    sim.probe(RISK)
    sim.spawn(OrderStoreActor, STORE)
    tell(sim, STORE, Freeze(1, "Edge degradation", keep_quoting=True))
    tell(sim, STORE, MassCancelReport(1, (), "", True, 0, "Edge degradation", 0))
    tell(sim, STORE, ReplaceQuotes(1, ("BTCUSDT",), BUY, 0))
    assert gateway.expect(GatewayRequest) == GatewayRequest(1, (), (), True)  # refused while frozen
    tell(sim, STORE, Resume(2, "Resume: back"))
    tell(sim, STORE, ReplaceQuotes(2, ("BTCUSDT",), BUY, 0))
    request = gateway.expect(GatewayRequest)
    assert not request.frozen and request.resumed == 2 and [p.client_id for p in request.places] == ["CLI00000001"]
    tell(sim, STORE, Freeze(1, "Edge degradation"))  # a late copy of the ended freeze changes nothing
    tell(sim, STORE, ReplaceQuotes(3, ("BTCUSDT",), BUY, 0))
    assert not gateway.expect(GatewayRequest).frozen


def test_a_frozen_store_takes_flattening_orders_and_cancels_the_last_ticks(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    sim.probe(RISK)
    sim.spawn(OrderStoreActor, STORE)
    tell(sim, STORE, Freeze(1, "Operator: test", keep_quoting=True))
    tell(sim, STORE, MassCancelReport(1, (), "", True, 0, "Operator: test", 0))
    tell(sim, STORE, ReplaceQuotes(1, ("BTCUSDT",), BUY, 0))  # not flagged: refused
    assert gateway.expect(GatewayRequest).places == ()
    tell(sim, STORE, ReplaceQuotes(2, ("BTCUSDT",), BUY, 0, flatten=True))
    first = gateway.expect(GatewayRequest)
    assert first.frozen and first.flatten and [p.client_id for p in first.places] == ["CLI00000001"]
    tell(sim, STORE, GatewayReport(2, (Ack("CLI00000001", "ORD1"),), (), (), (), ()))
    tell(sim, STORE, ReplaceQuotes(3, ("BTCUSDT",), (), 0, flatten=True))  # the window closed: cancel it
    last = gateway.expect(GatewayRequest)
    assert [c.client_id for c in last.cancels] == ["CLI00000001"] and last.places == ()


def test_a_quoter_keeps_quoting_through_a_resumable_halt_and_only_marks_after_a_final_one(sim: Sim) -> None:
    risk = sim.probe(RISK)
    sim.spawn(Quoter, "quoter.BTCUSDT", BTC, QuotingPolicy(10.0, 1000.0))
    tell(sim, "quoter.BTCUSDT", Freeze(1, "Edge degradation", keep_quoting=True))
    tell(sim, "quoter.BTCUSDT", MarketTick(2, "BTCUSDT", 6_000_000))
    assert isinstance(risk.expect(QuoteIntent), QuoteIntent)
    tell(sim, "quoter.BTCUSDT", Resume(3, "Resume: back"))
    assert not sim.actor("quoter.BTCUSDT").frozen  # type: ignore[attr-defined]
    tell(sim, "quoter.BTCUSDT", Freeze(1, "Edge degradation", keep_quoting=True))  # a late copy: ignored
    assert not sim.actor("quoter.BTCUSDT").frozen  # type: ignore[attr-defined]
    tell(sim, "quoter.BTCUSDT", Freeze(4, "Operator: test"))
    tell(sim, "quoter.BTCUSDT", MarketTick(5, "BTCUSDT", 6_000_000))
    assert isinstance(risk.expect(Mark), Mark)
