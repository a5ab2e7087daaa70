"""The fake exchange: deterministic, keyed by what each draw is about."""

from __future__ import annotations

import pytest

from actors.core._clock import FrozenClock
from actors.core._exchange import PlaceRequest
from actors.core._types import Side
from actors.venues._interface import IExchangeClient, SupportsAdvance
from actors.venues._simulated import FakeExchangeClient


def request(n: int, side: Side = Side.BUY, qty: int = 10) -> PlaceRequest:
    return PlaceRequest(f"CLI{n:08d}", "BTCUSDT", side, 6_000_000, qty)


def run(venue: IExchangeClient, ticks: int = 5, orders: int = 20) -> list[object]:
    for n in range(1, orders + 1):
        venue.place(request(n))
    for tick in range(1, ticks + 1):
        assert isinstance(venue, SupportsAdvance)
        venue.advance(tick)
    return list(venue.stream_fills())


def test_the_same_seed_gives_the_same_fills() -> None:
    assert run(FakeExchangeClient(seed=3)) == run(FakeExchangeClient(seed=3))


def test_different_seeds_give_different_fills() -> None:
    assert run(FakeExchangeClient(seed=3)) != run(FakeExchangeClient(seed=4))


def test_reject_decisions_do_not_depend_on_arrival_order() -> None:
    forward = FakeExchangeClient(seed=9, reject_rate=0.5)
    backward = FakeExchangeClient(seed=9, reject_rate=0.5)
    ahead = {n: forward.place(request(n)).accepted for n in range(1, 41)}
    behind = {n: backward.place(request(n)).accepted for n in range(40, 0, -1)}
    assert ahead == behind
    assert 0 < sum(ahead.values()) < 40


def test_reject_rate_extremes() -> None:
    assert not FakeExchangeClient(reject_rate=1.0).place(request(1)).accepted
    result = FakeExchangeClient(reject_rate=0.0).place(request(1))
    assert result.accepted and result.exchange_order_id == "ORD000001"


def test_invalid_and_duplicate_placements_are_rejected_with_a_reason() -> None:
    venue = FakeExchangeClient()
    assert venue.place(PlaceRequest("CLI1", "BTCUSDT", Side.BUY, 0, 1)).reason == "invalid price or quantity"
    venue.place(request(1))
    assert venue.place(request(1)).reason == "duplicate client id"


def test_fill_rate_extremes() -> None:
    assert run(FakeExchangeClient(fill_rate=0.0)) == []
    fills = run(FakeExchangeClient(fill_rate=1.0, partial_fill_rate=0.0), ticks=1)
    assert len(fills) == 20


def test_partial_fills_never_exceed_the_order() -> None:
    venue = FakeExchangeClient(seed=5, fill_rate=0.8, partial_fill_rate=0.9)
    fills = run(venue, ticks=30)
    by_order: dict[str, int] = {}
    for item in fills:
        by_order[item.exchange_order_id] = by_order.get(item.exchange_order_id, 0) + item.qty_lots  # type: ignore[attr-defined]
    assert all(total <= 10 for total in by_order.values())
    assert any(item.qty_lots < 10 for item in fills)  # type: ignore[attr-defined]
    seen: dict[str, int] = {}
    for item in fills:  # each order's fills are numbered 1, 2, ... after its own number
        k = seen[item.exchange_order_id] = seen.get(item.exchange_order_id, 0) + 1  # type: ignore[attr-defined]
        assert item.fill_id == f"FIL{item.exchange_order_id.removeprefix('ORD')}-{k}"  # type: ignore[attr-defined]
    assert max(seen.values()) > 1  # some order traded more than once
    assert sum(venue.get_positions().values()) == sum(by_order.values())


def test_cancel_outcomes() -> None:
    venue = FakeExchangeClient(fill_rate=1.0, partial_fill_rate=0.0)
    venue.place(request(1))
    venue.place(request(2))
    assert venue.cancel("ORD000001").ok
    assert venue.cancel("ORD000001").reason == "already canceled"
    venue.advance(1)
    assert venue.cancel("ORD000002").reason == "already filled"
    assert venue.cancel("ORD999999").reason == "unknown order"
    assert venue.get_orders() == []


def test_each_fill_is_streamed_once_and_ticks_do_not_go_back() -> None:
    venue = FakeExchangeClient(fill_rate=1.0, partial_fill_rate=0.0)
    venue.place(request(1))
    venue.advance(1)
    venue.advance(1)  # the same tick again trades nothing more
    assert len(venue.stream_fills()) == 1
    assert venue.stream_fills() == []
    with pytest.raises(ValueError, match="back"):
        venue.advance(0)


def test_open_orders_and_positions_are_reported() -> None:
    venue = FakeExchangeClient(fill_rate=0.0)
    venue.place(request(1))
    venue.place(request(2, Side.SELL))
    assert [o.exchange_order_id for o in venue.get_orders()] == ["ORD000001", "ORD000002"]
    assert venue.get_positions() == {}


def test_rates_outside_zero_one_are_refused() -> None:
    with pytest.raises(ValueError, match="fill_rate"):
        FakeExchangeClient(fill_rate=1.5)


def test_the_venue_uses_the_frozen_clock() -> None:
    clock = FrozenClock.parse("2030-01-01T00:00:00Z")
    assert FakeExchangeClient(clock=clock).clock.iso(3) == "2030-01-01T00:00:03Z"


def test_the_venue_forgets_finished_orders_after_retain_ticks() -> None:
    venue = FakeExchangeClient(seed=1, fill_rate=0.0, reject_rate=0.0, retain_ticks=1)
    first = venue.place(request(1)).exchange_order_id
    assert first is not None and venue.cancel(first).ok
    venue.advance(1)  # canceled at tick 0, forgotten once tick 1 is reached
    assert venue.cancel(first).reason == "unknown order"
    assert venue.place(request(2)).exchange_order_id == "ORD000002"  # the client id's number, not a count
    assert venue.place(request(1)).accepted  # the forgotten client id is free again


def test_an_exchange_id_is_the_client_ids_number_so_rejected_orders_leave_a_gap() -> None:
    venue = FakeExchangeClient(seed=9, reject_rate=0.5)
    answers = {n: venue.place(request(n)) for n in range(1, 41)}
    accepted = [n for n, answer in answers.items() if answer.accepted]
    assert 0 < len(accepted) < 40
    assert all(answers[n].exchange_order_id == f"ORD{n:06d}" for n in accepted)
    assert all(answer.exchange_order_id is None for answer in answers.values() if not answer.accepted)


def test_a_number_wider_than_six_digits_gives_a_wider_exchange_id_and_a_retry_gets_no_second_one() -> None:
    venue = FakeExchangeClient()
    wide = PlaceRequest("CLI12345678", "BTCUSDT", Side.BUY, 6_000_000, 1)
    assert venue.place(wide).exchange_order_id == "ORD12345678"
    assert venue.place(wide).reason == "duplicate client id"
    assert [o.exchange_order_id for o in venue.get_orders()] == ["ORD12345678"]


def test_a_client_id_without_a_number_or_with_one_already_taken_gets_an_id_of_the_venues_own_count() -> None:
    venue = FakeExchangeClient(fill_rate=1.0, partial_fill_rate=0.0)
    named = PlaceRequest("alpha", "BTCUSDT", Side.BUY, 6_000_000, 1)
    assert venue.place(named).exchange_order_id == "ORDV000001"
    assert venue.place(request(1)).exchange_order_id == "ORD000001"
    same_number = PlaceRequest("other-1", "BTCUSDT", Side.BUY, 6_000_000, 1)
    assert venue.place(same_number).exchange_order_id == "ORDV000002"  # ORD000001 is taken: never two orders per id
    venue.advance(1)
    fills = {f.client_id: f.fill_id for f in venue.stream_fills()}
    assert fills == {"alpha": "FILV000001-1", "CLI00000001": "FIL000001-1", "other-1": "FILV000002-1"}
