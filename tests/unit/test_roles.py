"""Each actor under the deterministic scheduler, with probes standing in for its peers."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from actors.core._orders import OrderStore
from actors.core._quoting import QuotingPolicy
from actors.core._risk import RiskEngine, RiskLimits
from actors.core._types import Instrument, OrderState, Side
from actors.roles._addresses import FEED, GATEWAY, RISK, STORE, quoter
from actors.roles._gateway import FROZEN, ExchangeGateway
from actors.roles._order_store import OrderStoreActor
from actors.roles._quoter import Quoter
from actors.roles._risk_monitor import RiskMonitor
from actors.testing import Sim
from actors.venues._simulated import FakeExchangeClient
from actors.wire._codec import Message, encode
from actors.wire._messages import (
    Ack,
    CancelItem,
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
    QuoterStopped,
    Refusal,
    ReplaceQuotes,
    TickDone,
    VenueTick,
)

BTC = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.0001"), Decimal("60000"))
ETH = Instrument("ETHUSDT", Decimal("0.01"), Decimal("0.001"), Decimal("3000"))
INSTRUMENTS = {"BTCUSDT": BTC, "ETHUSDT": ETH}


def tell(sim: Sim, address: str, record: Message) -> None:
    sim.tell(address, encode(record))


def empty_report(tick: int = 1, **parts: object) -> GatewayReport:
    fields: dict[str, object] = {"acks": (), "rejects": (), "canceled": (), "cancel_failures": (), "fills": ()}
    fields["closes"] = False
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


def start_risk(sim: Sim, symbols: tuple[str, ...] = ("BTCUSDT",), **limits: float) -> None:
    values = {"max_inventory_usd": 10_000.0, "max_total_notional_usd": 50_000.0, "edge_freeze_threshold_bps": 3.0}
    values.update(limits)
    engine = RiskEngine(RiskLimits(**values, edge_min_fills=1), INSTRUMENTS)  # type: ignore[arg-type]
    sim.spawn(RiskMonitor, RISK, engine, symbols)


def intent(symbol: str = "BTCUSDT", tick: int = 1, lots: int = 2) -> QuoteIntent:
    return QuoteIntent(tick, symbol, 6_000_000, 5_997_000, lots, 6_003_000, lots)


def closing(tick: int, *fills: FillItem) -> FillsApplied:
    """The store's record that closes ``tick``'s fills (numbered by tick: one record per tick here)."""
    return FillsApplied(tick, fills, tick, True)


BOTH = ("BTCUSDT", "ETHUSDT")


def test_risk_decides_buffered_intents_in_symbol_order(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_risk(sim, BOTH)
    tell(sim, RISK, intent("ETHUSDT"))
    tell(sim, RISK, intent("BTCUSDT"))
    tell(sim, RISK, closing(1))
    replace = store.expect(ReplaceQuotes)
    assert replace.symbols == ("BTCUSDT", "ETHUSDT")
    assert [(o.symbol, o.side) for o in replace.orders] == [
        ("BTCUSDT", 1), ("BTCUSDT", -1), ("ETHUSDT", 1), ("ETHUSDT", -1)
    ]  # fmt: skip
    assert replace.risk_blocks == 0


def test_risk_does_not_decide_a_tick_with_an_intent_missing(sim: Sim) -> None:
    store, feed = sim.probe(STORE), sim.probe(FEED)
    start_risk(sim, BOTH)
    tell(sim, RISK, intent("ETHUSDT"))
    tell(sim, RISK, closing(1))
    store.expect_none(ReplaceQuotes)
    feed.expect_none(TickDone)
    tell(sim, RISK, intent("BTCUSDT"))
    assert store.expect(ReplaceQuotes).symbols == ("BTCUSDT", "ETHUSDT")
    assert feed.expect(TickDone) == TickDone(1)


def test_risk_does_not_decide_a_tick_before_the_store_closes_its_fills(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_risk(sim, BOTH)
    tell(sim, RISK, intent("ETHUSDT"))
    tell(sim, RISK, intent("BTCUSDT"))
    store.expect_none(ReplaceQuotes)
    buy = FillItem("FIL00000001", "ORD000001", "CLI00000001", "BTCUSDT", 1, 5_997_000, 2, 1)
    tell(sim, RISK, closing(1, buy))
    store.expect(ReplaceQuotes)
    assert sim.actor(RISK).snapshot().positions == {"BTCUSDT": 2}  # type: ignore[attr-defined]


def test_a_frozen_quoters_mark_counts_as_its_input(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_risk(sim, BOTH)
    tell(sim, RISK, intent("BTCUSDT"))
    tell(sim, RISK, Mark(1, "ETHUSDT", 300_000))
    tell(sim, RISK, closing(1))
    replace = store.expect(ReplaceQuotes)
    assert replace.symbols == ("BTCUSDT",)  # decided, and only the intent is quoted
    assert sim.actor(RISK).snapshot().marks["ETHUSDT"] == 300_000  # type: ignore[attr-defined]


def test_risk_decides_ticks_in_order_though_a_later_tick_is_complete_first(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_risk(sim)
    tell(sim, RISK, intent(tick=2))
    tell(sim, RISK, intent(tick=1))  # quoters run ahead: tick 2's intent came first
    tell(sim, RISK, closing(1))
    store.expect(ReplaceQuotes)
    store.expect_none(ReplaceQuotes)  # tick 2 waits for its fills to be closed
    tell(sim, RISK, closing(2))
    sim.run_until_idle()
    assert [r.tick for r in store.messages(ReplaceQuotes)] == [1, 2]


def test_a_stopped_quoter_is_no_longer_waited_for(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_risk(sim, BOTH)
    tell(sim, RISK, intent("BTCUSDT"))
    tell(sim, RISK, closing(1))
    store.expect_none(ReplaceQuotes)
    tell(sim, RISK, QuoterStopped("ETHUSDT", 0))
    assert store.expect(ReplaceQuotes).symbols == ("BTCUSDT",)


def test_a_copy_of_the_stores_fills_moves_positions_once(sim: Sim) -> None:
    sim.probe(STORE)
    start_risk(sim)
    buy = FillItem("FIL00000001", "ORD000001", "CLI00000001", "BTCUSDT", 1, 5_997_000, 2, 1)
    tell(sim, RISK, intent())
    tell(sim, RISK, closing(1, buy))
    tell(sim, RISK, closing(1, buy))  # delivered twice
    sim.run_until_idle()
    assert sim.actor(RISK).snapshot().positions == {"BTCUSDT": 2}  # type: ignore[attr-defined]


def test_risk_blocks_orders_that_would_exceed_the_inventory_limit(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_risk(sim, max_inventory_usd=100.0)
    tell(sim, RISK, intent(lots=1000))  # 1000 lots x 0.0001 BTC x 60,000 USD = 6,000 USD > 100 USD
    tell(sim, RISK, closing(1))
    replace = store.expect(ReplaceQuotes)
    assert replace.orders == ()
    assert replace.risk_blocks == 2
    assert sim.actor(RISK).snapshot().risk_blocks == 2  # type: ignore[attr-defined]


def test_risk_freezes_on_edge_degradation_and_broadcasts_to_everyone_at_once(sim: Sim) -> None:
    store, gateway, btc = sim.probe(STORE), sim.probe(GATEWAY), sim.probe(quoter("BTCUSDT"))
    start_risk(sim, edge_freeze_threshold_bps=3.0)
    tell(sim, RISK, intent())  # mark 60,000.00
    bad_buy = FillItem("FIL00000001", "ORD000001", "CLI00000001", "BTCUSDT", 1, 6_003_000, 2, 1)  # bought above mid
    tell(sim, RISK, closing(1, bad_buy))
    freeze = store.expect(Freeze)
    assert freeze == Freeze(1, "Edge degradation: -5.00 BPS < 3.00 BPS")
    assert gateway.expect(Freeze) == freeze
    assert btc.expect(Freeze) == freeze  # quoters too, at once
    replace = store.expect(ReplaceQuotes)  # the tick still gets its one record, empty
    assert replace.tick == 1 and replace.orders == () and replace.symbols == ()
    tell(sim, RISK, FreezeComplete(1, 0))
    sim.run_until_idle()
    snapshot = sim.actor(RISK).snapshot()  # type: ignore[attr-defined]
    assert snapshot.frozen and snapshot.freeze_confirmed and snapshot.positions == {"BTCUSDT": 2}


def test_frozen_risk_sends_no_more_orders_and_keeps_marking(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_risk(sim)
    tell(sim, RISK, FreezeRequest("operator"))
    store.expect(Freeze)
    tell(sim, RISK, intent())
    tell(sim, RISK, closing(1))
    assert store.expect(ReplaceQuotes).orders == ()
    tell(sim, RISK, Mark(2, "BTCUSDT", 6_100_000))
    tell(sim, RISK, closing(2))
    tell(sim, RISK, FreezeComplete(2, 0))
    sim.run_until_idle()
    snapshot = sim.actor(RISK).snapshot()  # type: ignore[attr-defined]
    assert snapshot.freeze_confirmed and snapshot.marks["BTCUSDT"] == 6_100_000


def test_a_tick_decided_at_its_deadline_before_its_fills_are_in_pulls_every_quote(sim: Sim) -> None:
    store = sim.probe(STORE)
    engine = RiskEngine(RiskLimits(10_000.0, 50_000.0, 3.0, 1), INSTRUMENTS)
    sim.spawn(RiskMonitor, RISK, engine, BOTH, deadline_s=0.05)
    tell(sim, RISK, intent("BTCUSDT"))
    tell(sim, RISK, intent("ETHUSDT"))  # every intent, but the store has not closed tick 1's fills
    store.expect_none(ReplaceQuotes)
    sim.advance(0.05)
    replace = store.expect(ReplaceQuotes)
    assert replace.orders == () and replace.symbols == ("BTCUSDT", "ETHUSDT") and replace.risk_blocks == 4


def test_a_decision_deadline_decides_without_the_missing_intent_and_drops_it_later(sim: Sim) -> None:
    store = sim.probe(STORE)
    engine = RiskEngine(RiskLimits(10_000.0, 50_000.0, 3.0, 1), INSTRUMENTS)
    sim.spawn(RiskMonitor, RISK, engine, BOTH, deadline_s=0.05)
    tell(sim, RISK, intent("BTCUSDT"))
    tell(sim, RISK, closing(1))
    store.expect_none(ReplaceQuotes)
    sim.advance(0.05)
    replace = store.expect(ReplaceQuotes)
    assert replace.symbols == ("BTCUSDT", "ETHUSDT")  # the silent symbol's quotes are pulled, not left resting
    assert {o.symbol for o in replace.orders} == {"BTCUSDT"}
    tell(sim, RISK, intent("ETHUSDT"))  # late
    sim.run_until_idle()
    snapshot = sim.actor(RISK).snapshot()  # type: ignore[attr-defined]
    assert snapshot.late_inputs == 1 and snapshot.decided_at_deadline == 1


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


def test_store_sends_one_request_per_tick_even_with_nothing_to_do(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    start_store(sim)
    tell(sim, STORE, ReplaceQuotes(1, (), (), 0))
    assert gateway.expect(GatewayRequest) == GatewayRequest(1, (), (), False, True)
    tell(sim, STORE, ReplaceQuotes(1, (), (), 0))  # a copy: one request per tick
    gateway.expect_none(GatewayRequest)


def test_store_closes_a_venue_tick_for_risk_even_without_fills(sim: Sim) -> None:
    risk = sim.probe(RISK)
    start_store(sim)
    tell(sim, STORE, empty_report(tick=1, closes=True))
    assert risk.expect(FillsApplied) == FillsApplied(1, (), 1, True)
    tell(sim, STORE, empty_report(tick=1, closes=True))  # a copy closes nothing twice
    risk.expect_none(FillsApplied)


def test_a_late_ack_of_an_order_whose_cancel_is_wanted_is_canceled_with_the_next_request(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    start_store(sim)
    quote_two(sim)
    gateway.expect(GatewayRequest)  # CLI00000001/2 still pending: their placements are in doubt
    quote_two(sim, tick=2)  # cancels wanted: only marked, nothing to cancel at the venue yet
    assert gateway.expect(GatewayRequest).cancels == ()
    tell(sim, STORE, empty_report(acks=(Ack("CLI00000001", "ORD000001"),)))
    gateway.expect_none(GatewayRequest)
    tell(sim, STORE, ReplaceQuotes(3, (), (), 0))
    assert gateway.expect(GatewayRequest).cancels == (CancelItem("CLI00000001", "ORD000001"),)


def test_freeze_is_settled_from_the_gateways_mass_cancel_and_confirmed(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    risk = sim.probe(RISK)
    core = start_store(sim)
    quote_two(sim)
    gateway.expect(GatewayRequest)
    tell(sim, STORE, empty_report(acks=(Ack("CLI00000001", "ORD000001"),)))  # CLI00000002 still pending
    tell(sim, STORE, Freeze(1, "test"))
    gateway.expect_none(GatewayRequest)  # the gateway mass-cancels on risk's word, not the store's
    tell(sim, STORE, MassCancelReport(1, ("CLI00000001",), "", True, 0, "test", 1))
    assert risk.expect(FreezeComplete).canceled == 2  # the pending one was not open at the venue either
    assert core.open_orders() == []
    quote_two(sim, tick=2)
    request = gateway.expect(GatewayRequest)
    assert request.frozen and request.places == ()  # the tick's record, empty, says the store is frozen


def test_orders_whose_request_the_gateway_had_not_handled_are_settled_by_its_refusal(sim: Sim) -> None:
    sim.probe(GATEWAY)
    risk = sim.probe(RISK)
    core = start_store(sim)
    quote_two(sim, tick=2)  # the kill switch is pulled while this request is on its way
    tell(sim, STORE, MassCancelReport(2, (), "", True, 0, "operator", 1))  # the gateway had handled up to tick 1
    risk.expect_none(FreezeComplete)
    assert [o.state for o in core.open_orders()] == [OrderState.PENDING, OrderState.PENDING]
    refused = tuple(Refusal(f"CLI0000000{n}", FROZEN) for n in (1, 2))
    tell(sim, STORE, empty_report(tick=2, rejects=refused))
    assert risk.expect(FreezeComplete).canceled == 0
    assert core.counts()[OrderState.REJECTED] == 2 and core.stats.illegal_transitions == 0


def test_freeze_is_not_confirmed_while_the_venue_still_holds_orders(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    risk = sim.probe(RISK)
    core = start_store(sim)
    quote_two(sim)
    gateway.expect(GatewayRequest)
    tell(sim, STORE, empty_report(acks=(Ack("CLI00000001", "ORD000001"), Ack("CLI00000002", "ORD000002"))))
    tell(sim, STORE, MassCancelReport(1, (), "exchange error: cancel all: connection reset", True, 2, "test", 1))
    risk.expect_none(FreezeComplete)
    assert sim.actor(STORE).snapshot().frozen  # type: ignore[attr-defined]  # the report alone froze the store
    tell(sim, STORE, MassCancelReport(2, ("CLI00000001", "CLI00000002"), "", True, 0, "test", 1))
    assert risk.expect(FreezeComplete).canceled == 2
    assert core.open_orders() == []


# ---------------------------------------------------------------- gateway


def start_gateway(sim: Sim, **options: float) -> FakeExchangeClient:
    venue = FakeExchangeClient(seed=1, **options)  # type: ignore[arg-type]
    sim.spawn(ExchangeGateway, GATEWAY, venue)
    return venue


def place(client_id: str, side: Side = Side.BUY) -> PlaceItem:
    return PlaceItem(client_id, "BTCUSDT", int(side), 5_997_000, 2)


def request(tick: int, cancels: tuple[CancelItem, ...] = (), places: tuple[PlaceItem, ...] = ()) -> GatewayRequest:
    return GatewayRequest(tick, cancels, places)


def test_gateway_reports_acks_and_venue_rejects(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_gateway(sim, reject_rate=1.0)
    tell(sim, GATEWAY, VenueTick(1, 0))
    assert store.expect(GatewayReport).closes
    tell(sim, GATEWAY, request(1, places=(place("CLI00000001"),)))
    report = store.expect(GatewayReport)
    assert report.acks == () and [r.client_id for r in report.rejects] == ["CLI00000001"]


def test_gateway_does_not_move_the_venue_past_a_tick_whose_placements_it_has_not_sent(sim: Sim) -> None:
    store = sim.probe(STORE)
    venue = start_gateway(sim, fill_rate=1.0, partial_fill_rate=0.0)
    tell(sim, GATEWAY, VenueTick(1, 0))
    tell(sim, GATEWAY, VenueTick(2, 0))  # the market runs ahead
    sim.run_until_idle()
    assert venue.tick == 1 and len(store.messages(GatewayReport)) == 1
    tell(sim, GATEWAY, request(1, places=(place("CLI00000001"),)))
    sim.run_until_idle()
    assert venue.tick == 2  # now the order meets tick 2's market, on every runtime
    closing_report = store.messages(GatewayReport)[-1]
    assert closing_report.closes and closing_report.tick == 2
    assert [f.client_id for f in closing_report.fills] == ["CLI00000001"]  # the venue pushed its fill


def test_gateway_holds_a_request_until_the_venue_is_at_its_tick(sim: Sim) -> None:
    sim.probe(STORE)
    venue = start_gateway(sim)
    tell(sim, GATEWAY, request(1, places=(place("CLI00000001"),)))
    sim.run_until_idle()
    assert venue.get_orders() == []
    tell(sim, GATEWAY, VenueTick(1, 0))
    sim.run_until_idle()
    assert [o.client_id for o in venue.get_orders()] == ["CLI00000001"]


def test_gateway_reports_cancel_of_a_filled_order_as_a_failure(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_gateway(sim, fill_rate=1.0, partial_fill_rate=0.0)
    tell(sim, GATEWAY, VenueTick(1, 0))
    tell(sim, GATEWAY, request(1, places=(place("CLI00000001"),)))
    store.expect(GatewayReport)
    acks = store.expect(GatewayReport).acks
    tell(sim, GATEWAY, VenueTick(2, 0))
    assert store.expect(GatewayReport).fills  # traded in full at tick 2
    tell(sim, GATEWAY, request(2, cancels=(CancelItem("CLI00000001", acks[0].exchange_order_id),)))
    assert store.expect(GatewayReport).cancel_failures == (Refusal("CLI00000001", "already filled"),)


def test_gateway_mass_cancels_at_the_venue_on_risks_word_alone(sim: Sim) -> None:
    store = sim.probe(STORE)
    venue = start_gateway(sim)
    tell(sim, GATEWAY, VenueTick(1, 0))
    tell(sim, GATEWAY, request(1, places=(place("CLI00000001"), place("CLI00000002", Side.SELL))))
    sim.run_until_idle()
    assert len(venue.get_orders()) == 2
    tell(sim, GATEWAY, Freeze(1, "test"))
    report = store.expect(MassCancelReport)
    assert replace(report, seq=0) == MassCancelReport(1, ("CLI00000001", "CLI00000002"), "", True, 0, "test", 1)
    assert venue.get_orders() == []


def test_a_frozen_request_freezes_the_gateway_before_risks_word_arrives(sim: Sim) -> None:
    store = sim.probe(STORE)
    venue = start_gateway(sim)
    tell(sim, GATEWAY, VenueTick(1, 0))
    tell(sim, GATEWAY, request(1, places=(place("CLI00000001"),)))
    sim.run_until_idle()
    tell(sim, GATEWAY, VenueTick(2, 0))
    tell(sim, GATEWAY, GatewayRequest(2, (), (place("CLI00000002"),), True))
    assert store.expect(MassCancelReport).canceled == ("CLI00000001",)
    assert venue.get_orders() == [] and sim.actor(GATEWAY).snapshot().places == 1  # type: ignore[attr-defined]


def test_a_copy_of_a_part_of_a_split_request_is_sent_to_the_venue_once(sim: Sim) -> None:
    sim.probe(STORE)
    venue = start_gateway(sim)
    tell(sim, GATEWAY, VenueTick(1, 0))
    first = GatewayRequest(1, (), (place("CLI00000001"),), False, False, 0)
    tell(sim, GATEWAY, first)
    tell(sim, GATEWAY, first)  # delivered twice
    tell(sim, GATEWAY, GatewayRequest(1, (), (place("CLI00000002"),), False, True, 1))
    sim.run_until_idle()
    assert [o.client_id for o in venue.get_orders()] == ["CLI00000001", "CLI00000002"]
    assert sim.actor(GATEWAY).snapshot().places == 2  # type: ignore[attr-defined]


def test_gateway_places_nothing_after_a_freeze(sim: Sim) -> None:
    store = sim.probe(STORE)
    start_gateway(sim)
    tell(sim, GATEWAY, Freeze(1, "test"))
    tell(sim, GATEWAY, VenueTick(1, 0))
    tell(sim, GATEWAY, request(1, places=(place("CLI00000001"),)))
    sim.run_until_idle()
    assert store.messages(GatewayReport)[-1].rejects == (Refusal("CLI00000001", FROZEN),)
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


def test_a_refused_cancel_of_a_flattening_order_is_retried_though_frozen(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    start_store(sim)
    tell(sim, STORE, Freeze(1, "test"))
    tell(sim, STORE, MassCancelReport(1, (), "", True, 0, "test", 1))  # the venue is empty: flattening starts
    flatten = (OrderSpec("BTCUSDT", -1, 5_997_000, 2),)
    tell(sim, STORE, ReplaceQuotes(2, ("BTCUSDT",), flatten, 0, flatten=True))
    assert [p.client_id for p in gateway.expect(GatewayRequest).places] == ["CLI00000001"]
    tell(sim, STORE, empty_report(tick=2, acks=(Ack("CLI00000001", "ORD000001"),)))
    tell(sim, STORE, ReplaceQuotes(3, ("BTCUSDT",), (), 0, flatten=True))  # the window closes: cancel what is left
    assert gateway.expect(GatewayRequest).cancels == (CancelItem("CLI00000001", "ORD000001"),)
    tell(sim, STORE, empty_report(tick=3, cancel_failures=(Refusal("CLI00000001", "exchange error: timeout"),)))
    tell(sim, STORE, ReplaceQuotes(4, (), (), 0))  # frozen, nothing more to flatten: the retry still goes
    request = gateway.expect(GatewayRequest)
    assert request.frozen and request.cancels == (CancelItem("CLI00000001", "ORD000001"),)
