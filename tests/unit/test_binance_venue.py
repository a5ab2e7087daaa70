"""BinanceSpotVenue against the local Binance server (the simulated venue behind it), over real sockets."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from actors.core._exchange import CancelOutcome, ExchangeError, PlaceRequest
from actors.core._types import Side
from actors.testing._binance_venue_server import BinanceVenueServer
from actors.venues._binance import BinanceSpotVenue, Credentials, CredentialsError
from actors.venues._binance_rules import SpotSymbol
from actors.venues._interface import IExchangeClient
from actors.venues._simulated import FakeExchangeClient

KEY = "testkey-" + "a1b2c3d4" * 7
SECRET = "testsecret-" + "e5f6a7b8" * 7
SYMBOLS = {
    "BTCUSDT": SpotSymbol("BTCUSDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001")),
    "ETHUSDT": SpotSymbol("ETHUSDT", "ETH", "USDT", Decimal("0.01"), Decimal("0.0001")),
}


def wait_for(condition: Callable[[], bool], what: str, deadline_s: float = 30.0) -> None:
    """Wait for the condition itself, with a generous deadline (never a fixed sleep)."""
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[BinanceVenueServer]:
    venue = FakeExchangeClient(seed=7, fill_rate=0.0)
    with BinanceVenueServer(venue, SYMBOLS, api_key=KEY, secret=SECRET,
                            balances={"BTC": "1", "ETH": "10", "USDT": "100000"}) as srv:  # fmt: skip
        yield srv


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def venue(server: BinanceVenueServer, clock: Clock) -> Iterator[BinanceSpotVenue]:
    adapter = BinanceSpotVenue(SYMBOLS, Credentials(KEY, SECRET), base_url=server.rest_url,
                               stream_url=server.stream_url, flat_balances={"BTC": "1", "ETH": "10"},
                               clock=clock)  # fmt: skip
    yield adapter
    adapter.close()


def buy(client_id: str, price: int = 5_000_000, lots: int = 100, symbol: str = "BTCUSDT") -> PlaceRequest:
    return PlaceRequest(client_id, symbol, Side.BUY, price, lots)


def test_the_adapter_is_a_venue(venue: BinanceSpotVenue) -> None:
    assert isinstance(venue, IExchangeClient)


def test_place_status_open_orders_and_cancel_go_through_the_simulated_venue(
    server: BinanceVenueServer, venue: BinanceSpotVenue
) -> None:
    placed = venue.place(buy("CLI00000001"))
    assert placed.accepted and placed.exchange_order_id is not None
    assert server.open_orders() == ["CLI00000001"]
    assert [(o.client_id, o.price_ticks, o.qty_lots) for o in venue.get_orders()] == [("CLI00000001", 5_000_000, 100)]
    assert venue.order_status("CLI00000001").state == "open"
    assert venue.order_status("CLI-never").state == "unknown"
    assert venue.cancel(placed.exchange_order_id).answer is CancelOutcome.CANCELED
    assert venue.cancel(placed.exchange_order_id).answer is CancelOutcome.ALREADY_CANCELED
    assert venue.order_status("CLI00000001").state == "canceled"
    assert venue.get_orders() == []


def test_a_refused_placement_is_a_reject_with_the_venues_words(venue: BinanceSpotVenue) -> None:
    assert venue.place(buy("CLI00000002")).accepted
    again = venue.place(buy("CLI00000002"))
    assert not again.accepted and again.reason == "Duplicate order sent."


def test_cancel_all_empties_every_symbol(server: BinanceVenueServer, venue: BinanceSpotVenue) -> None:
    venue.place(buy("CLI00000003"))
    venue.place(buy("CLI00000004", symbol="ETHUSDT", price=300_000, lots=10))
    canceled = venue.cancel_all()
    assert sorted(o.client_id for o in canceled) == ["CLI00000003", "CLI00000004"]
    assert server.open_orders() == [] and venue.get_orders() == []


def test_fills_arrive_on_the_stream_once_each_and_move_the_position(
    server: BinanceVenueServer, venue: BinanceSpotVenue
) -> None:
    venue.start_stream()
    wait_for(venue.stream_up.is_set, "the user stream")
    server.duplicate_reports = True
    placed = venue.place(buy("CLI00000005"))
    assert server.fill("CLI00000005", "BTCUSDT")
    fills: list = []
    wait_for(lambda: bool(fills.extend(venue.stream_fills()) or fills), "the fill")
    assert [(f.client_id, f.exchange_order_id, f.qty_lots, f.price_ticks) for f in fills] == [
        ("CLI00000005", placed.exchange_order_id, 100, 5_000_000)]  # fmt: skip
    wait_for(lambda: venue.duplicates >= 1, "the duplicate report")
    assert venue.stream_fills() == []
    assert venue.get_positions() == {"BTCUSDT": 100}
    assert venue.cancel(placed.exchange_order_id or "").answer is CancelOutcome.ALREADY_FILLED


def test_late_reports_and_a_dropped_stream_lose_no_fill_and_repeat_none(
    server: BinanceVenueServer, venue: BinanceSpotVenue
) -> None:
    venue.start_stream()
    wait_for(venue.stream_up.is_set, "the user stream")
    venue.place(buy("CLI00000006"))
    venue.place(buy("CLI00000007"))
    server.hold_reports()
    server.fill("CLI00000006", "BTCUSDT")
    assert server.drop_stream() == 1
    wait_for(lambda: venue.counters.stream_reconnects == 1, "the reconnect and its catch-up")
    server.fill("CLI00000007", "BTCUSDT")
    assert server.release_reports() == 2  # late: the catch-up read the first already
    fills: list = []
    wait_for(lambda: bool(fills.extend(venue.stream_fills()) or len(fills) >= 2), "both fills")
    assert sorted(f.client_id for f in fills) == ["CLI00000006", "CLI00000007"]
    assert venue.stream_fills() == []


def test_an_expired_listen_key_is_replaced_and_the_stream_goes_on(
    server: BinanceVenueServer, venue: BinanceSpotVenue
) -> None:
    venue.start_stream()
    wait_for(venue.stream_up.is_set, "the user stream")
    assert server.expire_listen_key() == 1
    wait_for(lambda: venue.counters.listen_keys == 2 and server.streams_open() == 1, "a new listen key")
    venue.place(buy("CLI00000008"))
    server.fill("CLI00000008", "BTCUSDT")
    fills: list = []
    wait_for(lambda: bool(fills.extend(venue.stream_fills()) or fills), "the fill after the new key")
    assert [f.client_id for f in fills] == ["CLI00000008"]


def test_a_place_whose_answer_was_lost_is_settled_by_its_client_id_and_never_sent_twice(
    server: BinanceVenueServer, venue: BinanceSpotVenue
) -> None:
    server.lose_answers("POST", "/api/v3/order")
    placed = venue.place(buy("CLI00000009"))
    assert placed.accepted and placed.exchange_order_id is not None
    assert server.answers_lost == 1 and venue.counters.lost_answers == 1
    assert server.requests.count(("POST", "/api/v3/order")) == 1
    assert server.venue.placed == 1 and server.open_orders() == ["CLI00000009"]


def test_a_429_backs_off_for_its_retry_after_and_counts_what_was_held(
    server: BinanceVenueServer, venue: BinanceSpotVenue, clock: Clock
) -> None:
    server.throttle(429, retry_after=5)
    with pytest.raises(ExchangeError, match="429"):
        venue.get_orders()
    sent = len(server.requests)
    with pytest.raises(ExchangeError, match="back off"):
        venue.place(buy("CLI00000010"))
    assert len(server.requests) == sent  # held: nothing sent while backing off
    clock.now += 5.0
    assert venue.place(buy("CLI00000010")).accepted
    assert (venue.backoff.rate_limited, venue.budget.dropped) == (1, 1)
    server.throttle(418, retry_after=120)
    with pytest.raises(ExchangeError, match="418"):
        venue.get_orders()
    assert venue.backoff.wait(clock.now) == 120.0


def test_a_bad_signature_is_refused_by_the_server(server: BinanceVenueServer, clock: Clock) -> None:
    wrong = BinanceSpotVenue(SYMBOLS, Credentials(KEY, "not-the-secret"), base_url=server.rest_url,
                             stream_url=server.stream_url, clock=clock)  # fmt: skip
    with pytest.raises(ExchangeError, match="-1022"):
        wrong.get_orders()
    assert server.venue.placed == 0


def test_keys_appear_in_no_output(
    server: BinanceVenueServer,
    venue: BinanceSpotVenue,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts = [repr(venue), str(venue), repr(Credentials(KEY, SECRET))]
    server.lose_answers("POST", "/api/v3/order")
    texts.append(repr(venue.place(buy("CLI00000011"))))
    server.throttle(429, retry_after=1)
    for call in (venue.get_orders, venue.get_positions, lambda: venue.order_status("x")):
        try:
            texts.append(repr(call()))
        except ExchangeError as exc:
            texts.append(f"{exc!r} {exc}")
    captured = capsys.readouterr()
    texts += [captured.out, captured.err, caplog.text, repr(venue.counters)]
    for text in texts:
        assert KEY not in text and SECRET not in text


def test_keys_come_from_the_environment_or_a_file_only_its_owner_reads(tmp_path: Path) -> None:
    assert Credentials.from_environment({"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}).key == KEY
    with pytest.raises(CredentialsError, match="BINANCE_API_SECRET not set"):
        Credentials.from_environment({"BINANCE_API_KEY": KEY})
    path = tmp_path / "keys"
    path.write_text(f"{KEY}\n{SECRET}\n")
    path.chmod(0o644)
    with pytest.raises(CredentialsError, match="others may read") as refused:
        Credentials.from_file(path)
    assert KEY not in str(refused.value) and SECRET not in str(refused.value)
    path.chmod(0o600)
    assert Credentials.from_file(path).key == KEY


def test_the_real_venue_needs_an_explicit_flag() -> None:
    with pytest.raises(ValueError, match="allow_real"):
        BinanceSpotVenue(SYMBOLS, Credentials(KEY, SECRET), base_url="https://api.binance.com")
    BinanceSpotVenue(SYMBOLS, Credentials(KEY, SECRET), base_url="https://api.binance.com",
                     stream_url="wss://stream.binance.com:9443", allow_real=True)  # fmt: skip
