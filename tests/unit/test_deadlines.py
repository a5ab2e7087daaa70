"""Every request is tracked: an answer that never comes is chased, a refused cancel comes back after a backoff."""

from __future__ import annotations

from actors.messages import (
    Ack,
    CancelItem,
    GatewayReport,
    GatewayRequest,
    OrderSpec,
    Refusal,
    ReplaceQuotes,
    StatusQuery,
)
from actors.roles.addresses import GATEWAY, RISK, STORE
from actors.roles.order_store import ANSWER_DEADLINE_TICKS, OrderStoreActor
from actors.testing import Sim
from actors.wire import encode

BUY = (OrderSpec("BTCUSDT", 1, 100, 1),)


def decide(sim: Sim, tick: int, orders: tuple[OrderSpec, ...] = (), symbols: tuple[str, ...] = ()) -> None:
    sim.tell(STORE, encode(ReplaceQuotes(tick, symbols, orders, 0)))


def answers(tick: int, acks: tuple[Ack, ...] = (), failures: tuple[Refusal, ...] = ()) -> bytes:
    return encode(GatewayReport(tick, acks, (), (), failures, ()))


def test_a_placement_without_an_answer_by_its_deadline_is_asked_about_at_the_venue(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    sim.probe(RISK)
    sim.spawn(OrderStoreActor, STORE)
    decide(sim, 1, BUY, ("BTCUSDT",))
    gateway.expect(GatewayRequest)
    for tick in range(2, 1 + ANSWER_DEADLINE_TICKS):
        decide(sim, tick)
        gateway.expect(GatewayRequest)
    decide(sim, 1 + ANSWER_DEADLINE_TICKS)  # the ack of tick 1 never came
    assert gateway.expect(StatusQuery) == StatusQuery(1 + ANSWER_DEADLINE_TICKS, ("CLI00000001",))


def test_an_answered_placement_is_not_asked_about(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    sim.probe(RISK)
    sim.spawn(OrderStoreActor, STORE)
    decide(sim, 1, BUY, ("BTCUSDT",))
    sim.tell(STORE, answers(1, (Ack("CLI00000001", "ORD000001"),)))
    for tick in range(2, 4 + ANSWER_DEADLINE_TICKS):
        decide(sim, tick)
    gateway.expect_none(StatusQuery)


def test_a_cancel_the_venue_keeps_refusing_is_sent_again_less_and_less_often(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    sim.probe(RISK)
    sim.spawn(OrderStoreActor, STORE)
    decide(sim, 1, BUY, ("BTCUSDT",))
    gateway.expect(GatewayRequest)
    sim.tell(STORE, answers(1, (Ack("CLI00000001", "ORD000001"),)))
    decide(sim, 2, (), ("BTCUSDT",))  # the quote is pulled: its cancel goes out
    sent_at = []
    for tick in range(2, 80):
        if tick > 2:
            decide(sim, tick)
        request = gateway.expect(GatewayRequest)
        if request.cancels:
            assert request.cancels == (CancelItem("CLI00000001", "ORD000001"),)
            sent_at.append(tick)
            refusal = Refusal("CLI00000001", "exchange error: connection reset")
            sim.tell(STORE, answers(tick, failures=(refusal,)))
    assert sent_at == [2, 3, 5, 9, 17, 33, 65]
