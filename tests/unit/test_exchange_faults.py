"""The hostile venue, and what the gateway and the store make of each fault."""

from __future__ import annotations

from dataclasses import replace

import pytest

from actors.assembly._system import System
from actors.core._exchange import ExchangeError, ExchangeTimeout, PlaceRequest
from actors.core._types import Fill, OrderState, Side
from actors.roles._addresses import GATEWAY, RISK, STORE
from actors.roles._gateway import NOT_PLACED, ExchangeGateway
from actors.testing import Sim
from actors.venues._faults import FAULT_KINDS, UNKNOWN_SYMBOL, ExchangeFaults, FaultyExchange
from actors.venues._simulated import FakeExchangeClient
from actors.wire._codec import encode
from actors.wire._messages import (
    CancelItem,
    CancelOrders,
    Freeze,
    FreezeRequest,
    GatewayReport,
    GatewayRequest,
    MassCancelReport,
    PlaceItem,
    VenueTick,
)


def venue(**rates: float) -> FaultyExchange:
    honest = FakeExchangeClient(seed=1, fill_rate=1.0, reject_rate=0.0, partial_fill_rate=0.0)
    return FaultyExchange(honest, ExchangeFaults(**rates), seed=5)


def request(n: int) -> PlaceRequest:
    return PlaceRequest(f"CLI{n:08d}", "BTCUSDT", Side.BUY, 6_000_000, 2)


def test_rates_are_validated_and_a_venue_may_refuse_every_cancel() -> None:
    with pytest.raises(ValueError, match="place_error rate must be in"):
        ExchangeFaults(place_error=1.5)
    assert ExchangeFaults(cancel_error=1.0, timeout=1.0).any
    assert not ExchangeFaults().any and ExchangeFaults(unknown_fill=0.1).any


def test_a_place_error_never_reaches_the_venue() -> None:
    faulty = venue(place_error=1.0)
    with pytest.raises(ExchangeError, match="connection reset"):
        faulty.place(request(1))
    assert faulty.get_orders() == [] and faulty.injected["place_error"] == 1


def test_a_place_timeout_may_or_may_not_have_placed_the_order() -> None:
    faulty = venue(timeout=0.99)
    outcomes = set()
    for n in range(1, 40):
        with pytest.raises(ExchangeTimeout):
            faulty.place(request(n))
        outcomes.add(any(o.client_id == f"CLI{n:08d}" for o in faulty.get_orders()))
    assert outcomes == {True, False}


def test_a_cancel_error_leaves_the_order_live_and_a_retry_draws_again() -> None:
    faulty = venue(cancel_error=0.5)
    placed = [faulty.place(request(n)).exchange_order_id for n in range(1, 30)]
    failures = 0
    for exchange_id in placed:
        assert exchange_id is not None
        while True:
            try:
                assert faulty.cancel(exchange_id).ok
                break
            except ExchangeError:
                failures += 1
                assert any(o.exchange_order_id == exchange_id for o in faulty.get_orders())
    assert failures == faulty.injected["cancel_error"] > 0
    assert faulty.get_orders() == []


def test_a_cancel_racing_a_fill_is_refused_and_the_fill_is_streamed() -> None:
    faulty = venue(cancel_race=1.0)
    exchange_id = faulty.place(request(1)).exchange_order_id
    assert exchange_id is not None
    assert faulty.cancel(exchange_id).reason == "already filled"
    fills = faulty.stream_fills()
    assert [(f.exchange_order_id, f.qty_lots) for f in fills] == [(exchange_id, 2)]


def test_duplicates_replay_with_the_symbols_next_fills_unknown_fills_and_reordering() -> None:
    faulty = venue(duplicate_fill=1.0, unknown_fill=1.0, out_of_order=1.0)
    for n in range(1, 4):
        faulty.place(request(n))
    faulty.advance(1)
    first = faulty.stream_fills()
    venue_fills = [f for f in first if f.symbol != UNKNOWN_SYMBOL]
    assert [f.fill_id for f in venue_fills] == sorted((f.fill_id for f in venue_fills), reverse=True)
    assert [f.symbol for f in first][-1] == UNKNOWN_SYMBOL  # the stranger follows its symbol's group
    assert sum(f.symbol == UNKNOWN_SYMBOL for f in first) == 1
    assert faulty.stream_fills() == []  # nothing new traded: the duplicates wait for the symbol's next fills
    faulty.place(request(4))
    faulty.advance(2)
    second = faulty.stream_fills()
    assert {f.fill_id for f in venue_fills} <= {f.fill_id for f in second}  # each streamed again
    assert {f.client_id for f in second if f.symbol != UNKNOWN_SYMBOL} == {f"CLI{n:08d}" for n in range(1, 5)}
    assert faulty.injected == {"duplicate_fill": 4, "unknown_fill": 2, "out_of_order": 2}
    assert set(faulty.injected) <= set(FAULT_KINDS)


def test_a_stranger_is_named_after_its_groups_first_new_fill_and_never_twice() -> None:
    faulty = venue(duplicate_fill=1.0, unknown_fill=1.0)
    strangers = []
    for tick in range(1, 6):
        faulty.place(PlaceRequest(f"CLI{tick:08d}", "BTCUSDT", Side.BUY, 6_000_000, 2))
        faulty.place(PlaceRequest(f"CLI{tick + 100:08d}", "ETHUSDT", Side.SELL, 300_000, 2))
        faulty.advance(tick)
        strangers += [f for f in faulty.stream_fills() if f.symbol == UNKNOWN_SYMBOL]
    assert len({f.fill_id for f in strangers}) == len(strangers) == 10  # a group per symbol and tick, duplicates too
    assert strangers[:2] == [
        Fill("FILX000001-1", "ORDX000001-1", "CLIX000001-1", UNKNOWN_SYMBOL, Side.BUY, 1, 1, 1),
        Fill("FILX000101-1", "ORDX000101-1", "CLIX000101-1", UNKNOWN_SYMBOL, Side.BUY, 1, 1, 1),
    ]


def test_the_same_seed_injects_the_same_faults() -> None:
    def run() -> list[object]:
        faulty = venue(place_error=0.3, timeout=0.3, duplicate_fill=0.5)
        seen: list[object] = []
        for n in range(1, 20):
            try:
                seen.append(faulty.place(request(n)))
            except ExchangeError as exc:
                seen.append(str(exc))
        faulty.advance(1)
        return [*seen, *faulty.stream_fills(), *faulty.stream_fills()]

    assert run() == run()


# ---------------------------------------------------------------- the gateway


def place(n: int) -> PlaceItem:
    return PlaceItem(f"CLI{n:08d}", "BTCUSDT", int(Side.BUY), 5_997_000, 2)


def test_the_gateway_settles_timed_out_placements_from_the_venues_open_orders(sim: Sim) -> None:
    store = sim.probe(STORE)
    faulty = venue(timeout=0.99)
    sim.spawn(ExchangeGateway, GATEWAY, faulty)
    sim.tell(GATEWAY, encode(VenueTick(1, 0)))
    sim.tell(GATEWAY, encode(GatewayRequest(1, (), tuple(place(n) for n in range(1, 21)))))
    assert store.expect(GatewayReport).closes  # the venue's tick 1
    report = store.expect(GatewayReport)
    live = {o.client_id: o.exchange_order_id for o in faulty.get_orders()}
    assert {a.client_id: a.exchange_order_id for a in report.acks} == live and live
    assert {r.client_id for r in report.rejects} == {f"CLI{n:08d}" for n in range(1, 21)} - set(live)
    assert {r.reason for r in report.rejects} == {NOT_PLACED}


def test_a_cancel_refused_as_already_filled_brings_the_fill_along(sim: Sim) -> None:
    store = sim.probe(STORE)
    sim.spawn(ExchangeGateway, GATEWAY, venue(cancel_race=1.0))
    sim.tell(GATEWAY, encode(VenueTick(1, 0)))
    sim.tell(GATEWAY, encode(GatewayRequest(1, (), (place(1),))))
    store.expect(GatewayReport)
    ack = store.expect(GatewayReport).acks[0]
    sim.tell(GATEWAY, encode(CancelOrders(1, (CancelItem(ack.client_id, ack.exchange_order_id),))))
    report = store.expect(GatewayReport)
    assert [r.reason for r in report.cancel_failures] == ["already filled"]
    assert [f.client_id for f in report.fills] == [ack.client_id]  # pushed by the venue during the cancel
    sim.tell(GATEWAY, encode(VenueTick(2, 0)))
    assert store.expect(GatewayReport).fills == ()  # nothing new: the fill is not pushed twice


# ---------------------------------------------------------------- whole system

HOSTILE = {
    "place_error_rate": 0.1,
    "cancel_error_rate": 0.3,
    "timeout_rate": 0.1,
    "duplicate_fill_rate": 0.2,
    "out_of_order_rate": 0.3,
    "unknown_fill_rate": 0.2,
    "cancel_race_rate": 0.2,
}


def hostile_system(sim: Sim, **config: object) -> System:
    settings = {"symbols_count": 6, "iterations": 12, "seed": 3, "fill_rate": 0.5, "max_total": 1e6}
    return sim.start_system(**{**settings, **HOSTILE, **config})


@pytest.mark.parametrize("seed", range(6))
def test_every_order_reaches_a_defined_state_on_a_hostile_venue(seed: int) -> None:
    sim = Sim(seed)
    system = hostile_system(sim, edge_threshold=-1e9)
    system.run()
    store = system.store_snapshot()
    counts = store.counts
    assert store.placed == sum(counts.values())
    assert counts[OrderState.PENDING.value] == 0  # nothing left in doubt between ticks
    injected = system.gateway_snapshot().faults_injected
    assert all(injected[kind] > 0 for kind in ("cancel_error", "place_error", "place_timeout", "duplicate_fill"))
    venue_positions = system.exchange.get_positions()
    assert system.risk_snapshot().positions == venue_positions  # every fill applied exactly once
    system.stop()


@pytest.mark.parametrize("seed", range(4))
def test_a_freeze_on_a_hostile_venue_still_ends_with_zero_open_orders(seed: int) -> None:
    sim = Sim(seed)
    system = hostile_system(sim, edge_threshold=-1e9, iterations=4)
    system.run()
    assert system.store_snapshot().open_orders
    sim.tell(RISK, encode(FreezeRequest("operator")))
    sim.run_until_idle()
    assert system.store_snapshot().open_orders == [] and system.exchange.get_orders() == []
    assert system.risk_snapshot().freeze_confirmed
    system.stop()


# ---------------------------------------------------------------- mass cancel


def test_a_mass_cancel_cancels_every_open_order_once() -> None:
    honest = FakeExchangeClient(seed=1, fill_rate=0.0, reject_rate=0.0)
    for n in range(1, 4):
        honest.place(request(n))
    assert [o.client_id for o in honest.cancel_all()] == [f"CLI{n:08d}" for n in range(1, 4)]
    assert honest.get_orders() == [] and honest.cancel_all() == []


def test_a_mass_cancel_can_fail_or_time_out_and_each_attempt_draws_anew() -> None:
    faulty = venue(cancel_error=0.5, timeout=0.3)
    outcomes = []
    for _ in range(30):
        try:
            faulty.cancel_all()
            outcomes.append("ok")
        except ExchangeTimeout:
            outcomes.append("timeout")
        except ExchangeError:
            outcomes.append("error")
    assert set(outcomes) == {"ok", "timeout", "error"}


def test_the_gateway_answers_a_mass_cancel_with_fills_first_then_the_final_part(sim: Sim) -> None:
    store = sim.probe(STORE)
    faulty = venue(cancel_race=0.0)
    sim.spawn(ExchangeGateway, GATEWAY, faulty)
    sim.tell(GATEWAY, encode(VenueTick(1, 0)))
    sim.tell(GATEWAY, encode(GatewayRequest(1, (), (place(1), place(2)))))
    store.expect(GatewayReport)
    store.expect(GatewayReport)
    sim.tell(GATEWAY, encode(Freeze(1, "test")))
    report = store.expect(MassCancelReport)
    assert replace(report, seq=0) == MassCancelReport(1, ("CLI00000001", "CLI00000002"), "", True, 0, "test", 1)
    assert faulty.get_orders() == []


def test_a_mass_cancel_the_venue_keeps_refusing_is_tried_again_as_the_market_moves(sim: Sim) -> None:
    store = sim.probe(STORE)
    faulty = venue(cancel_error=0.99)  # almost every mass cancel fails in transport
    faulty.inner.fill_rate = 0.0
    sim.spawn(ExchangeGateway, GATEWAY, faulty)
    sim.tell(GATEWAY, encode(VenueTick(1, 0)))
    sim.tell(GATEWAY, encode(GatewayRequest(1, (), (place(1), place(2)))))
    sim.run_until_idle()
    assert len(faulty.get_orders()) == 2
    sim.tell(GATEWAY, encode(Freeze(1, "test")))
    sim.run_until_idle()
    tick = 1
    while faulty.get_orders() and tick < 200:
        tick += 1
        sim.tell(GATEWAY, encode(VenueTick(tick, 0)))
        sim.tell(GATEWAY, encode(GatewayRequest(tick, (), (), True)))
        sim.run_until_idle()
    assert faulty.get_orders() == [] and tick > 1  # it took more than the first attempts
    finals = [r for r in store.messages(MassCancelReport) if r.final]
    assert [r.venue_open for r in finals][-1] == 0 and all(r.venue_open == 2 for r in finals[:-1])


def test_the_venue_is_emptied_at_a_freeze_even_when_the_store_is_gone() -> None:
    sim = Sim(4)
    system = sim.start_system(symbols_count=5, iterations=3, edge_threshold=-1e9, fill_rate=0.0, max_total=1e6)
    system.run()
    assert system.venue.get_orders()
    sim.stop(STORE)
    sim.run_until_idle()
    sim.tell(RISK, encode(FreezeRequest("operator")))
    sim.run_until_idle()
    assert system.venue.get_orders() == []  # the gateway cancels on risk's word alone
    system.stop()


def test_a_cancel_races_fill_pushed_in_the_tick_its_symbol_already_traded_in_draws_anew() -> None:
    inner = FakeExchangeClient(seed=1, fill_rate=1.0, reject_rate=0.0, partial_fill_rate=0.0)
    faulty = FaultyExchange(inner, ExchangeFaults(unknown_fill=0.5, cancel_race=1.0), seed=5)
    pushed: list[list[Fill]] = []
    faulty.subscribe(pushed.append)
    symbols = [f"SYM{n:02d}" for n in range(1, 41)]
    for n, symbol in enumerate(symbols, start=1):
        faulty.place(PlaceRequest(f"CLI{n:08d}", symbol, Side.BUY, 1_000, 1))
    faulty.advance(1)  # every symbol's first group at tick 1
    (first,) = pushed
    for n, symbol in enumerate(symbols, start=1):
        faulty.place(PlaceRequest(f"CLI{n + 100:08d}", symbol, Side.BUY, 1_000, 1))
        assert faulty.cancel(f"ORD{n + 100:06d}").reason == "already filled"  # raced: pushed on its own at tick 1
    seconds = pushed[1:]
    assert len(seconds) == 40

    def stranger_after(batch: list[Fill], symbol: str) -> bool:
        at = max(i for i, fill in enumerate(batch) if fill.symbol == symbol)
        return at + 1 < len(batch) and batch[at + 1].symbol == UNKNOWN_SYMBOL

    in_first = [stranger_after(first, symbol) for symbol in symbols]
    in_second = [stranger_after(batch, symbol) for batch, symbol in zip(seconds, symbols, strict=True)]
    assert 0 < sum(in_first) < 40 and 0 < sum(in_second) < 40
    assert in_first != in_second  # (1, symbol, 2) is a key of its own, not the tick's first group's again
    assert faulty.injected["unknown_fill"] == sum(in_first) + sum(in_second)
