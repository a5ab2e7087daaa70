"""The gateway in front of a real venue: its calls made by a venue worker, its answers coming back as messages.

On the threads and the pool runtime, with a venue whose answers wait for the test
(never a sleep), and with ``BinanceSpotVenue`` against the local Binance
server over real sockets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TypeVar

import pytest

from actors.core._exchange import (
    CancelOutcome,
    CancelResult,
    ExchangeError,
    ExchangeOrder,
    ExchangeTimeout,
    OrderStatus,
    PlaceRequest,
    PlaceResult,
)
from actors.core._gateway import CANCEL, FROZEN, PLACE, STATUS, Answer, Call
from actors.core._types import Fill, Side
from actors.roles._addresses import GATEWAY, STORE
from actors.roles._gateway import ExchangeGateway
from actors.runtime import Runtime, create_runtime
from actors.runtime._realtime import IdleTimeout
from actors.testing import Probe
from actors.testing._binance_venue_server import BinanceVenueServer
from actors.venues._binance import BinanceSpotVenue, Credentials
from actors.venues._binance_rules import SpotSymbol
from actors.venues._interface import FillListener
from actors.venues._simulated import FakeExchangeClient
from actors.venues._worker import VenueWorker
from actors.wire._codec import Message, decode, encode
from actors.wire._messages import (
    GatewayReport,
    GatewayRequest,
    OrderStatuses,
    PlaceItem,
    StatusQuery,
    VenueAnswer,
    VenueTick,
)

KEY = "testkey-" + "a1b2c3d4" * 7
SECRET = "testsecret-" + "e5f6a7b8" * 7
SYMBOLS = {"BTCUSDT": SpotSymbol("BTCUSDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"))}
DEADLINE_S = 30.0
M = TypeVar("M", bound=Message)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Wait for the condition itself, with a generous deadline (never a fixed sleep)."""
    end = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


class GatedVenue:
    """A venue whose places wait until the test opens the gate; it counts how many wait at once."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self._lock = threading.Lock()
        self.waiting = 0
        self.most_waiting = 0
        self.placed: list[str] = []
        self.listener: FillListener | None = None

    def place(self, request: PlaceRequest) -> PlaceResult:
        with self._lock:
            self.placed.append(request.client_id)
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
        opened = self.gate.wait(DEADLINE_S)  # the test opens it; bounded so a failing test cannot hang
        with self._lock:
            self.waiting -= 1
        return PlaceResult(request.client_id, opened, f"X{request.client_id}" if opened else None, "gate shut")

    def cancel(self, exchange_order_id: str) -> CancelResult:
        return CancelResult(exchange_order_id, True)

    def cancel_all(self) -> list[ExchangeOrder]:
        return []

    def get_orders(self) -> list[ExchangeOrder]:
        return []

    def get_positions(self) -> dict[str, int]:
        return {}

    def order_status(self, client_id: str) -> OrderStatus:
        return OrderStatus(client_id, "unknown")

    def stream_fills(self) -> list[Fill]:
        return []

    def subscribe(self, listener: FillListener) -> None:
        self.listener = listener


@pytest.fixture(params=["threads", "pool"])
def runtime(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    rt = create_runtime(request.param)
    rt.spawn(Probe, STORE)
    yield rt
    rt.shutdown()


def tell(runtime: Runtime, record: Message) -> None:
    runtime.tell(GATEWAY, encode(record))


def received(runtime: Runtime, kind: type[M]) -> list[M]:
    probe = runtime.last_instance(STORE)
    assert isinstance(probe, Probe)
    return [r.message for r in list(probe.received) if isinstance(r.message, kind)]


def acks(runtime: Runtime) -> list[str]:
    return [ack.client_id for report in received(runtime, GatewayReport) for ack in report.acks]


def place(n: int) -> PlaceItem:
    return PlaceItem(f"CLI{n:08d}", "BTCUSDT", int(Side.BUY), 5_000_000, 100)


def test_the_gateway_handles_other_messages_while_its_places_wait_at_the_venue_all_at_once(runtime: Runtime) -> None:
    venue, outstanding = GatedVenue(), 6
    runtime.spawn(ExchangeGateway, GATEWAY, venue, worker_threads=outstanding)
    try:
        tell(runtime, GatewayRequest(1, (), tuple(place(n) for n in range(outstanding))))
        wait_for(lambda: venue.waiting == outstanding, "every place at the venue at once")
        with pytest.raises(
            IdleTimeout
        ):  # a call under way counts as a message in flight: never idle with the gate shut
            runtime.wait_idle(timeout=0.05)
        tell(runtime, VenueTick(1, 0))  # the gateway is free: it closes the tick while every place waits
        wait_for(lambda: any(r.closes for r in received(runtime, GatewayReport)), "the tick's closing report")
        assert acks(runtime) == [] and venue.waiting == outstanding
        assert venue.listener is not None
        venue.listener([Fill("F1", "X1", "CLI00000000", "BTCUSDT", Side.BUY, 5_000_000, 100, 0)])
        # the pushed fill, a message too, is reported at once (no tick need come: after a run's last freeze none does)
        wait_for(lambda: any(r.fills for r in received(runtime, GatewayReport)), "the pushed fill's report")
        reported = next(r for r in received(runtime, GatewayReport) if r.fills)
        assert [(f.fill_id, f.tick) for f in reported.fills] == [("F1", 1)]  # stamped with the last market tick
        assert not reported.closes and venue.waiting == outstanding
    finally:
        venue.gate.set()
    runtime.wait_idle(timeout=DEADLINE_S)  # idle once every answer is in
    assert sorted(acks(runtime)) == [place(n).client_id for n in range(outstanding)]
    assert venue.most_waiting == outstanding


@pytest.fixture
def server() -> Iterator[BinanceVenueServer]:
    venue = FakeExchangeClient(seed=7, fill_rate=0.0)
    with BinanceVenueServer(venue, SYMBOLS, api_key=KEY, secret=SECRET,
                            balances={"BTC": "1", "USDT": "100000"}) as srv:  # fmt: skip
        yield srv


@pytest.fixture
def binance(server: BinanceVenueServer) -> Iterator[BinanceSpotVenue]:
    adapter = BinanceSpotVenue(SYMBOLS, Credentials(KEY, SECRET), base_url=server.rest_url,
                               stream_url=server.stream_url, flat_balances={"BTC": "1"})  # fmt: skip
    yield adapter
    adapter.close()


def test_a_place_the_venue_accepted_whose_answer_was_lost_is_placed_once_through_the_gateway(
    runtime: Runtime, server: BinanceVenueServer, binance: BinanceSpotVenue
) -> None:
    runtime.spawn(ExchangeGateway, GATEWAY, binance, worker_threads=4)
    server.lose_answers("POST", "/api/v3/order")
    tell(runtime, GatewayRequest(1, (), (place(1),)))
    wait_for(lambda: acks(runtime) == [place(1).client_id], "the ack, settled by the client id")
    tell(runtime, GatewayRequest(1, (), (place(1),)))  # the same request delivered again
    tell(runtime, VenueTick(1, 0))
    wait_for(lambda: any(r.closes for r in received(runtime, GatewayReport)), "the tick's closing report")
    assert server.answers_lost == 1 and binance.counters.resolved_by_status == 1
    assert server.requests.count(("POST", "/api/v3/order")) == 1
    assert server.venue.placed == 1 and server.open_orders() == [place(1).client_id]


def test_a_place_whose_answer_and_whose_status_were_lost_is_settled_by_the_stores_status_query_never_placed_again(
    runtime: Runtime, server: BinanceVenueServer, binance: BinanceSpotVenue
) -> None:
    runtime.spawn(ExchangeGateway, GATEWAY, binance, worker_threads=4)
    gateway = runtime.last_instance(GATEWAY)
    assert isinstance(gateway, ExchangeGateway)
    server.lose_answers("POST", "/api/v3/order")
    server.lose_answers("GET", "/api/v3/order")  # the adapter's own question about it goes unanswered too
    tell(runtime, GatewayRequest(1, (), (place(2),)))
    wait_for(lambda: gateway.core.lost_answers == 1, "the place's answer given up as lost")
    assert acks(runtime) == [] and received(runtime, OrderStatuses) == []
    tell(runtime, StatusQuery(3, (place(2).client_id,)))  # what the store asks at the answer's deadline
    wait_for(lambda: bool(received(runtime, OrderStatuses)), "the venue's word on the order")
    (statuses,) = received(runtime, OrderStatuses)
    assert [(s.client_id, s.state) for s in statuses.statuses] == [(place(2).client_id, "open")]
    assert server.requests.count(("POST", "/api/v3/order")) == 1 and server.venue.placed == 1


def test_a_venue_that_moves_with_the_market_gets_no_worker(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="answered inline"):
        runtime.spawn(ExchangeGateway, GATEWAY, FakeExchangeClient(seed=1), worker_threads=2)


def test_a_worker_closed_drops_the_calls_it_has_not_begun_and_says_which() -> None:
    venue, answers, dropped = GatedVenue(), list[Answer](), list[Call]()
    worker = VenueWorker(venue, answers.append, threads=1, dropped=dropped.append)
    calls = [Call(PLACE, 1, f"CLI{n:08d}", "BTCUSDT", 1, 5_000_000, 100) for n in range(3)]
    for call in calls:
        worker.submit(call)
    wait_for(lambda: venue.waiting == 1, "the first call under way")
    worker.close()
    assert dropped == calls[1:]
    venue.gate.set()
    wait_for(lambda: len(answers) == 1, "the call under way answered")
    assert answers[0].call == calls[0] and answers[0].placed is not None and answers[0].placed.accepted


def test_a_frozen_worker_refuses_the_places_it_holds_and_never_sends_them_but_still_makes_cancels() -> None:
    venue, answers = GatedVenue(), list[Answer]()
    worker = VenueWorker(venue, answers.append, threads=1)
    first = Call(PLACE, 1, "CLI00000000", "BTCUSDT", 1, 5_000_000, 100)
    held = [Call(PLACE, 1, f"CLI0000000{n}", "BTCUSDT", 1, 5_000_000, 100) for n in (1, 2)]
    for call in (first, *held):
        worker.submit(call)
    wait_for(lambda: venue.waiting == 1, "the first place under way")
    worker.frozen.set()  # the freeze comes while two places wait in the queue
    worker.submit(Call(CANCEL, 1, "CLI00000000", exchange_order_id="X0"))
    venue.gate.set()
    wait_for(lambda: len(answers) == 4, "every call answered")
    refused = [a for a in answers if a.placed is not None and not a.placed.accepted]
    assert [a.call for a in refused] == held and all(a.placed.reason == FROZEN for a in refused if a.placed)
    assert venue.placed == ["CLI00000000"] and worker.refused_frozen == 2  # the held places never reached the venue
    assert any(a.call.kind == CANCEL and a.canceled is not None for a in answers)
    worker.close()


@pytest.mark.parametrize(
    "answer",
    [
        Answer(Call(PLACE, 3, "CLI1", "BTCUSDT", -1, 5, 6, reduce_only=True), placed=PlaceResult("CLI1", True, "X1")),
        Answer(Call(PLACE, 3, "CLI1", "BTCUSDT", 1, 5, 6), placed=PlaceResult("CLI1", False, None, "too small")),
        Answer(Call(CANCEL, 4, "CLI1", exchange_order_id="X1"), canceled=CancelResult("X1", True)),
        Answer(
            Call(CANCEL, 4, "CLI1", exchange_order_id="X1"),
            canceled=CancelResult("X1", False, "gone", CancelOutcome.ALREADY_FILLED),
        ),
        Answer(Call(STATUS, 5, "CLI1", batch=2), status=OrderStatus("CLI1", "open", "X1", 3)),
        Answer(Call(STATUS, 5, "CLI1", batch=2), status=OrderStatus("CLI1", "unknown")),
        Answer(Call(PLACE, 3, "CLI1", "BTCUSDT", 1, 5, 6), error=ExchangeTimeout("place CLI1: no answer")),
        Answer(Call(CANCEL, 4, "CLI1", exchange_order_id="X1"), error=ExchangeError("cancel: connection reset")),
    ],
)
def test_a_venue_answer_crosses_the_wire_as_it_was_given(answer: Answer) -> None:
    record = decode(encode(VenueAnswer.of(answer)))
    assert isinstance(record, VenueAnswer)
    back = record.to_answer()
    assert (back.call, back.placed, back.canceled, back.status) == (answer.call, answer.placed, answer.canceled,
                                                                    answer.status)  # fmt: skip
    assert (type(back.error), str(back.error)) == (type(answer.error), str(answer.error))
