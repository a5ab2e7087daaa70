"""Each actor under the deterministic scheduler, with probes standing in for its peers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.core.exchange import FakeExchangeClient
from actors.core.orders import OrderStore
from actors.core.quoting import QuotingPolicy
from actors.core.risk import RiskEngine, RiskLimits
from actors.core.types import Instrument, OrderState, Side
from actors.messages import (
    Ack,
    CancelAll,
    CancelItem,
    DecideQuotes,
    ExchangeTick,
    FillItem,
    FillsApplied,
    Freeze,
    FreezeComplete,
    FreezeRequest,
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
)
from actors.roles.addresses import GATEWAY, RISK, STORE, quoter
from actors.roles.gateway import FROZEN, ExchangeGateway
from actors.roles.order_store import OrderStoreActor
from actors.roles.quoter import Quoter
from actors.roles.risk_monitor import RiskMonitor
from actors.testing import Sim
from actors.wire import Message, encode

BTC = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.0001"), Decimal("60000"))
ETH = Instrument("ETHUSDT", Decimal("0.01"), Decimal("0.001"), Decimal("3000"))
INSTRUMENTS = {"BTCUSDT": BTC, "ETHUSDT": ETH}


def tell(sim: Sim, address: str, record: Message) -> None:
    sim.tell(address, encode(record))


def empty_report(tick: int = 1, **parts: object) -> GatewayReport:
    fields: dict[str, object] = {"acks": (), "rejects": (), "canceled": (), "cancel_failures": (), "fills": ()}
    fields.update(parts)
    return GatewayReport(tick, **fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- quoter


def test_quoter_sends_risk_a_two_sided_intent_around_the_mid(sim: Sim) -> None:
    risk = sim.probe(RISK)
    sim.spawn(Quoter, quoter("BTCUSDT"), BTC, QuotingPolicy(spread_bps=10.0, quote_notional_usd=1000.0))
    tell(sim, quoter("BTCUSDT"), MarketTick(1, "BTCUSDT", 6_000_000))
    intent = risk.expect(QuoteIntent)
    assert intent.symbol == "BTCUSDT" and intent.tick == 1 and intent.mid_ticks == 6_000_000
    assert intent.bid_ticks < 6_000_000 < intent.ask_ticks
    assert intent.bid_lots == intent.ask_lots > 0


def test_quoter_never_quotes_after_a_freeze(sim: Sim) -> None:
    risk = sim.probe(RISK)
    sim.spawn(Quoter, quoter("BTCUSDT"), BTC, QuotingPolicy())
    tell(sim, quoter("BTCUSDT"), Freeze(1, "test"))
    tell(sim, quoter("BTCUSDT"), MarketTick(2, "BTCUSDT", 6_000_000))
    tell(sim, quoter("BTCUSDT"), MarketTick(2, "ETHUSDT", 6_000_000))  # not its symbol: ignored
    risk.expect_none(QuoteIntent)
    assert risk.messages(Mark) == [Mark(2, "BTCUSDT", 6_000_000)]  # positions stay marked to market


# ---------------------------------------------------------------- risk monitor


def start_risk(sim: Sim, **limits: float) -> None:
    values = {"max_inventory_usd": 10_000.0, "max_total_notional_usd": 50_000.0, "edge_freeze_threshold_bps": 3.0}
    values.update(limits)
    engine = RiskEngine(RiskLimits(**values, edge_min_fills=1), INSTRUMENTS)  # type: ignore[arg-type]
    sim.spawn(RiskMonitor, RISK, engine)


def intent(symbol: str = "BTCUSDT", tick: int = 1, lots: int = 2) -> QuoteIntent:
    return QuoteIntent(tick, symbol, 6_000_000, 5_997_000, lots, 6_003_000, lots)


def test_risk_decides_buffered_intents_in_symbol_order(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_risk(sim)
    tell(sim, RISK, intent("ETHUSDT"))
    tell(sim, RISK, intent("BTCUSDT"))
    tell(sim, RISK, DecideQuotes(1))
    replace = store.expect(ReplaceQuotes)
    assert replace.symbols == ("BTCUSDT", "ETHUSDT")
    assert [(o.symbol, o.side) for o in replace.orders] == [
        ("BTCUSDT", 1), ("BTCUSDT", -1), ("ETHUSDT", 1), ("ETHUSDT", -1)
    ]  # fmt: skip
    assert replace.risk_blocks == 0


def test_risk_blocks_orders_that_would_exceed_the_inventory_limit(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_risk(sim, max_inventory_usd=100.0)
    tell(sim, RISK, intent(lots=1000))  # 1000 lots x 0.0001 BTC x 60,000 USD = 6,000 USD > 100 USD
    tell(sim, RISK, DecideQuotes(1))
    replace = store.expect(ReplaceQuotes)
    assert replace.orders == ()
    assert replace.risk_blocks == 2
    assert sim.actor(RISK).snapshot().risk_blocks == 2  # type: ignore[attr-defined]


def test_risk_freezes_on_edge_degradation_and_broadcasts_to_everyone(sim: Sim) -> None:
    store, gateway, btc = sim.probe(STORE), sim.probe(GATEWAY), sim.probe(quoter("BTCUSDT"))
    start_risk(sim, edge_freeze_threshold_bps=3.0)
    tell(sim, RISK, intent())  # mark 60,000.00
    bad_buy = FillItem("FIL00000001", "ORD000001", "CLI00000001", "BTCUSDT", 1, 6_003_000, 2, 1)  # bought above mid
    tell(sim, RISK, FillsApplied(1, (bad_buy,)))
    store.expect_none(Freeze)  # the edge is judged once per tick, at the decision
    tell(sim, RISK, DecideQuotes(1))
    freeze = store.expect(Freeze)
    assert freeze.reason == "Edge degradation: -5.00 BPS < 3.00 BPS"
    assert gateway.expect(Freeze) == freeze
    store.expect_none(ReplaceQuotes)  # the tick's buffered intent dies with the freeze
    btc.expect_none(Freeze)  # quoters hear of it once the cancels are confirmed (off the critical path)
    tell(sim, RISK, FreezeComplete(1, 0))
    assert btc.expect(Freeze) == freeze
    snapshot = sim.actor(RISK).snapshot()  # type: ignore[attr-defined]
    assert snapshot.frozen and snapshot.freeze_events == 1 and snapshot.positions == {"BTCUSDT": 2}


def test_quoters_hear_of_an_unconfirmed_freeze_at_the_next_decision(sim: Sim) -> None:
    btc = sim.probe(quoter("BTCUSDT"))
    sim.probe(STORE)
    start_risk(sim)
    tell(sim, RISK, FreezeRequest("operator"))
    btc.expect_none(Freeze)
    tell(sim, RISK, DecideQuotes(2))
    assert btc.expect(Freeze).reason == "operator"
    tell(sim, RISK, FreezeComplete(2, 0))
    btc.expect_none(Freeze)  # told once


def test_frozen_risk_sends_no_more_orders(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_risk(sim)
    tell(sim, RISK, FreezeRequest("operator"))
    store.expect(Freeze)
    tell(sim, RISK, intent())
    tell(sim, RISK, DecideQuotes(2))
    store.expect_none(ReplaceQuotes)
    tell(sim, RISK, Mark(3, "BTCUSDT", 6_100_000))
    tell(sim, RISK, FreezeComplete(2, 0))
    sim.run_until_idle()
    snapshot = sim.actor(RISK).snapshot()  # type: ignore[attr-defined]
    assert snapshot.freeze_confirmed and snapshot.marks["BTCUSDT"] == 6_100_000


# ---------------------------------------------------------------- order store


def start_store(sim: Sim) -> OrderStore:
    core = OrderStore()
    sim.spawn(OrderStoreActor, STORE, core)
    return core


def quote_two(sim: Sim, tick: int = 1) -> None:
    orders = (OrderSpec("BTCUSDT", 1, 5_997_000, 2), OrderSpec("BTCUSDT", -1, 6_003_000, 2))
    tell(sim, STORE, ReplaceQuotes(tick, ("BTCUSDT",), orders, 0))


def test_store_creates_orders_with_deterministic_ids_and_asks_the_gateway(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    start_store(sim)
    quote_two(sim)
    request = gateway.expect(GatewayRequest)
    assert [p.client_id for p in request.places] == ["CLI00000001", "CLI00000002"]
    assert request.cancels == ()


def test_store_cancels_previous_quotes_before_placing_new_ones(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    core = start_store(sim)
    quote_two(sim)
    gateway.expect(GatewayRequest)
    tell(sim, STORE, empty_report(acks=(Ack("CLI00000001", "ORD000001"), Ack("CLI00000002", "ORD000002"))))
    quote_two(sim, tick=2)
    request = gateway.expect(GatewayRequest)
    assert request.cancels == (CancelItem("CLI00000001", "ORD000001"), CancelItem("CLI00000002", "ORD000002"))
    assert [p.client_id for p in request.places] == ["CLI00000003", "CLI00000004"]
    assert core.placed == 4


def test_reject_path_ends_in_rejected(sim: Sim) -> None:
    sim.probe(GATEWAY)
    core = start_store(sim)
    quote_two(sim)
    tell(sim, STORE, empty_report(rejects=(Refusal("CLI00000001", "rejected by venue"),)))
    sim.run_until_idle()
    order = core.get("CLI00000001")
    assert order is not None and order.state is OrderState.REJECTED


def test_partial_fill_then_cancel_counts_once_as_canceled(sim: Sim) -> None:
    sim.probe(GATEWAY)
    risk = sim.probe(RISK)
    core = start_store(sim)
    quote_two(sim)
    tell(sim, STORE, empty_report(acks=(Ack("CLI00000001", "ORD000001"),)))
    fill = FillItem("FIL00000001", "ORD000001", "CLI00000001", "BTCUSDT", 1, 5_997_000, 1, 1)
    tell(sim, STORE, empty_report(fills=(fill,)))
    assert risk.expect(FillsApplied).fills == (fill,)
    tell(sim, STORE, empty_report(canceled=("CLI00000001",)))
    sim.run_until_idle()
    order = core.get("CLI00000001")
    assert order is not None and order.state is OrderState.CANCELED and order.filled_lots == 1
    assert sim.actor(STORE).snapshot().partially_filled_then_canceled == 1  # type: ignore[attr-defined]


def test_duplicate_fill_is_applied_once(sim: Sim) -> None:
    sim.probe(GATEWAY)
    risk = sim.probe(RISK)
    core = start_store(sim)
    quote_two(sim)
    tell(sim, STORE, empty_report(acks=(Ack("CLI00000001", "ORD000001"),)))
    fill = FillItem("FIL00000001", "ORD000001", "CLI00000001", "BTCUSDT", 1, 5_997_000, 2, 1)
    tell(sim, STORE, empty_report(fills=(fill,)))
    tell(sim, STORE, empty_report(fills=(fill,)))
    sim.run_until_idle()
    assert len(risk.messages(FillsApplied)) == 1
    assert core.stats.duplicate_fills == 1
    order = core.get("CLI00000001")
    assert order is not None and order.state is OrderState.FILLED


def test_freeze_cancels_every_open_order_and_confirms(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    risk = sim.probe(RISK)
    core = start_store(sim)
    quote_two(sim)
    gateway.expect(GatewayRequest)
    tell(sim, STORE, empty_report(acks=(Ack("CLI00000001", "ORD000001"),)))  # CLI00000002 still pending
    tell(sim, STORE, Freeze(1, "test"))
    assert gateway.expect(CancelAll) == CancelAll(1)  # one mass cancel, not one message per order
    tell(sim, STORE, MassCancelReport(1, ("CLI00000001",), "", True))
    gateway.expect_none(GatewayRequest)  # the pending order has nothing to cancel yet
    tell(sim, STORE, empty_report(acks=(Ack("CLI00000002", "ORD000002"),)))
    late = gateway.expect(GatewayRequest)  # the late ack is canceled at once
    assert late.cancels == (CancelItem("CLI00000002", "ORD000002"),)
    tell(sim, STORE, empty_report(cancel_failures=(Refusal("CLI00000002", "unknown order"),)))
    assert risk.expect(FreezeComplete).canceled == 2
    assert core.open_orders() == []
    quote_two(sim, tick=3)
    gateway.expect_none(GatewayRequest)


def test_a_failed_mass_cancel_falls_back_to_one_cancel_per_order(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    risk = sim.probe(RISK)
    start_store(sim)
    quote_two(sim)
    gateway.expect(GatewayRequest)
    tell(sim, STORE, empty_report(acks=(Ack("CLI00000001", "ORD000001"), Ack("CLI00000002", "ORD000002"))))
    tell(sim, STORE, Freeze(1, "test"))
    gateway.expect(CancelAll)
    tell(sim, STORE, MassCancelReport(1, (), "exchange error: cancel all: connection reset", True))
    retry = gateway.expect(GatewayRequest)
    assert {c.client_id for c in retry.cancels} == {"CLI00000001", "CLI00000002"}
    tell(sim, STORE, empty_report(canceled=("CLI00000001", "CLI00000002")))
    assert risk.expect(FreezeComplete).canceled == 2


# ---------------------------------------------------------------- gateway


def start_gateway(sim: Sim, **options: float) -> None:
    sim.spawn(ExchangeGateway, GATEWAY, FakeExchangeClient(seed=1, **options))  # type: ignore[arg-type]


def place(client_id: str, side: Side = Side.BUY) -> PlaceItem:
    return PlaceItem(client_id, "BTCUSDT", int(side), 5_997_000, 2)


def test_gateway_reports_acks_and_venue_rejects(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_gateway(sim, reject_rate=1.0)
    tell(sim, GATEWAY, GatewayRequest(1, (), (place("CLI00000001"),)))
    report = store.expect(GatewayReport)
    assert report.acks == () and [r.client_id for r in report.rejects] == ["CLI00000001"]


def test_gateway_streams_fills_when_the_venue_moves(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_gateway(sim, fill_rate=1.0, partial_fill_rate=0.0)
    tell(sim, GATEWAY, GatewayRequest(1, (), (place("CLI00000001"),)))
    ack = store.expect(GatewayReport).acks[0]
    tell(sim, GATEWAY, ExchangeTick(2))
    fills = store.expect(GatewayReport).fills
    traded = [(f.client_id, f.exchange_order_id, f.qty_lots) for f in fills]
    assert traded == [("CLI00000001", ack.exchange_order_id, 2)]


def test_gateway_cancels_and_reports_cancel_of_a_filled_order_as_a_failure(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_gateway(sim, fill_rate=1.0, partial_fill_rate=0.0)
    tell(sim, GATEWAY, GatewayRequest(1, (), (place("CLI00000001"), place("CLI00000002", Side.SELL))))
    acks = store.expect(GatewayReport).acks
    tell(sim, GATEWAY, GatewayRequest(1, (CancelItem("CLI00000001", acks[0].exchange_order_id),), ()))
    assert store.expect(GatewayReport).canceled == ("CLI00000001",)
    tell(sim, GATEWAY, ExchangeTick(2))
    store.expect(GatewayReport)
    tell(sim, GATEWAY, GatewayRequest(2, (CancelItem("CLI00000002", acks[1].exchange_order_id),), ()))
    assert store.expect(GatewayReport).cancel_failures == (Refusal("CLI00000002", "already filled"),)


def test_gateway_places_nothing_after_a_freeze(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_gateway(sim)
    tell(sim, GATEWAY, Freeze(1, "test"))
    tell(sim, GATEWAY, GatewayRequest(1, (), (place("CLI00000001"),)))
    assert store.expect(GatewayReport).rejects == (Refusal("CLI00000001", FROZEN),)
    assert sim.actor(GATEWAY).snapshot().places == 0  # type: ignore[attr-defined]


# ---------------------------------------------------------------- whole system


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_freeze_cancels_every_open_order_in_a_running_system(seed: int) -> None:
    sim = Sim(seed)
    system = sim.start_system(symbols=["BTCUSDT", "ETHUSDT"], seed=7, iterations=3, edge_threshold=-1000.0)
    system.run()
    assert system.store_snapshot().open_orders != []
    tell(sim, RISK, FreezeRequest("operator kill switch"))
    sim.run_until_idle()
    assert system.store_snapshot().open_orders == []
    risk = system.risk_snapshot()
    assert risk.frozen and risk.freeze_confirmed and risk.last_freeze_reason == "operator kill switch"
    placed = system.store_snapshot().placed
    system.run(2)
    assert system.store_snapshot().placed == placed  # nothing is placed after a freeze
    system.stop()
