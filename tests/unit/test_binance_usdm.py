"""BinanceUsdmVenue against the local USDⓈ-M server (the simulated venue behind it), over real sockets."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import actors
from actors.core._exchange import CancelOutcome, ExchangeError, PlaceRequest
from actors.core._types import Side
from actors.testing._binance_usdm_server import BinanceUsdmVenueServer
from actors.venues._binance import Credentials
from actors.venues._binance_rules import Limit, SpotSymbol
from actors.venues._binance_usdm import BinanceUsdmVenue
from actors.venues._interface import IExchangeClient
from actors.venues._simulated import FakeExchangeClient
from tests.unit.test_binance_venue import KEY, SECRET, Clock, wait_for

SYMBOLS = {
    "BTCUSDT": SpotSymbol("BTCUSDT", "BTC", "USDT", Decimal("0.1"), Decimal("0.001")),
    "ETHUSDT": SpotSymbol("ETHUSDT", "ETH", "USDT", Decimal("0.01"), Decimal("0.001")),
}


@pytest.fixture
def server() -> Iterator[BinanceUsdmVenueServer]:
    venue = FakeExchangeClient(seed=7, fill_rate=0.0)
    with BinanceUsdmVenueServer(venue, SYMBOLS, api_key=KEY, secret=SECRET) as srv:
        yield srv


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def venue(server: BinanceUsdmVenueServer, clock: Clock) -> Iterator[BinanceUsdmVenue]:
    adapter = BinanceUsdmVenue(SYMBOLS, Credentials(KEY, SECRET), base_url=server.rest_url,
                               stream_url=server.stream_url, clock=clock, countdown_ms=0)  # fmt: skip
    yield adapter
    adapter.close()


def buy(client_id: str, price: int = 500_000, lots: int = 100, symbol: str = "BTCUSDT") -> PlaceRequest:
    return PlaceRequest(client_id, symbol, Side.BUY, price, lots)


def test_the_futures_adapter_is_a_venue(venue: BinanceUsdmVenue) -> None:
    assert isinstance(venue, IExchangeClient)


def test_place_status_open_orders_and_cancel_go_through_the_futures_paths(
    server: BinanceUsdmVenueServer, venue: BinanceUsdmVenue
) -> None:
    placed = venue.place(buy("CLI00000001"))
    assert placed.accepted and placed.exchange_order_id is not None
    assert server.open_orders() == ["CLI00000001"]
    assert [(o.client_id, o.price_ticks, o.qty_lots) for o in venue.get_orders()] == [("CLI00000001", 500_000, 100)]
    assert venue.order_status("CLI00000001").state == "open"
    assert venue.order_status("CLI-never").state == "unknown"
    assert venue.cancel(placed.exchange_order_id).answer is CancelOutcome.CANCELED
    assert venue.cancel(placed.exchange_order_id).answer is CancelOutcome.ALREADY_CANCELED
    assert venue.get_orders() == []
    paths = {path for _, path in server.requests}
    assert paths == {"/fapi/v1/order", "/fapi/v1/openOrders"}


def test_post_only_is_gtx_and_a_duplicate_is_refused_with_the_venues_words(
    server: BinanceUsdmVenueServer, venue: BinanceUsdmVenue
) -> None:
    venue.post_only = True
    assert venue.place(buy("CLI00000002")).accepted
    assert server._by_client_id[("BTCUSDT", "CLI00000002")].time_in_force == "GTX"
    again = venue.place(buy("CLI00000002"))
    assert not again.accepted and again.reason == "ClientOrderId is duplicated."


def test_cancel_all_empties_every_symbol_and_names_what_it_canceled(
    server: BinanceUsdmVenueServer, venue: BinanceUsdmVenue
) -> None:
    venue.place(buy("CLI00000003"))
    venue.place(buy("CLI00000004", symbol="ETHUSDT", price=30_000, lots=10))
    canceled = venue.cancel_all()
    assert sorted((o.client_id, o.status) for o in canceled) == [
        ("CLI00000003", "canceled"), ("CLI00000004", "canceled")]  # fmt: skip
    assert server.open_orders() == [] and venue.get_orders() == []
    assert ("DELETE", "/fapi/v1/allOpenOrders") in server.requests


def test_fills_arrive_once_each_despite_duplicates_and_the_position_is_the_venues(
    server: BinanceUsdmVenueServer, venue: BinanceUsdmVenue
) -> None:
    venue.start_stream()
    wait_for(venue.stream_up.is_set, "the user stream")
    server.duplicate_reports = True
    placed = venue.place(buy("CLI00000005"))
    assert server.fill("CLI00000005", "BTCUSDT")
    fills: list = []
    wait_for(lambda: bool(fills.extend(venue.stream_fills()) or fills), "the fill")
    assert [(f.client_id, f.exchange_order_id, f.qty_lots, f.price_ticks) for f in fills] == [
        ("CLI00000005", placed.exchange_order_id, 100, 500_000)]  # fmt: skip
    wait_for(lambda: venue.duplicates >= 1, "the duplicate report")
    assert venue.stream_fills() == []
    assert venue.get_positions() == {"BTCUSDT": 100}
    assert venue.cancel(placed.exchange_order_id or "").answer is CancelOutcome.ALREADY_FILLED


def test_a_reduce_only_order_is_sent_as_such_and_refused_when_it_would_not_reduce(
    server: BinanceUsdmVenueServer, venue: BinanceUsdmVenue
) -> None:
    sell = PlaceRequest("CLI00000006", "BTCUSDT", Side.SELL, 510_000, 50, reduce_only=True)
    refused = venue.place(sell)
    assert not refused.accepted and refused.reason == "ReduceOnly Order is rejected."
    venue.place(buy("CLI00000007"))
    server.fill("CLI00000007", "BTCUSDT")
    assert venue.place(PlaceRequest("CLI00000008", "BTCUSDT", Side.SELL, 510_000, 50, reduce_only=True)).accepted
    assert server._by_client_id[("BTCUSDT", "CLI00000008")].reduce_only


def test_late_reports_and_a_dropped_stream_lose_no_fill_and_repeat_none(
    server: BinanceUsdmVenueServer, venue: BinanceUsdmVenue
) -> None:
    venue.start_stream()
    wait_for(venue.stream_up.is_set, "the user stream")
    venue.place(buy("CLI00000009"))
    venue.place(buy("CLI00000010"))
    server.hold_reports()
    server.fill("CLI00000009", "BTCUSDT")
    assert server.drop_stream() == 1
    wait_for(lambda: ("GET", "/fapi/v1/userTrades") in server.requests, "the reconnect's catch-up by userTrades")
    server.fill("CLI00000010", "BTCUSDT")
    assert server.release_reports() == 2
    fills: list = []
    wait_for(lambda: bool(fills.extend(venue.stream_fills()) or len(fills) >= 2), "both fills")
    assert sorted((f.client_id, f.side) for f in fills) == [("CLI00000009", Side.BUY), ("CLI00000010", Side.BUY)]
    assert venue.stream_fills() == []


def test_an_expired_listen_key_is_replaced_on_the_futures_path(
    server: BinanceUsdmVenueServer, venue: BinanceUsdmVenue
) -> None:
    venue.start_stream()
    wait_for(venue.stream_up.is_set, "the user stream")
    assert server.expire_listen_key() == 1
    wait_for(lambda: server.requests.count(("POST", "/fapi/v1/listenKey")) == 2, "a new listen key")
    wait_for(lambda: server.stream_connections == 2 and server.streams_open() == 1, "the stream on the new key")


def test_a_place_whose_answer_was_lost_is_accepted_once(
    server: BinanceUsdmVenueServer, venue: BinanceUsdmVenue
) -> None:
    server.lose_answers("POST", "/fapi/v1/order")
    placed = venue.place(buy("CLI00000011"))
    assert placed.accepted and placed.exchange_order_id is not None
    assert server.answers_lost == 1 and venue.counters.lost_answers == 1
    assert server.requests.count(("POST", "/fapi/v1/order")) == 1
    assert server.venue.placed == 1 and server.open_orders() == ["CLI00000011"]


def test_a_429_and_a_418_hold_every_request_until_their_retry_after(
    server: BinanceUsdmVenueServer, venue: BinanceUsdmVenue, clock: Clock
) -> None:
    server.throttle(429, retry_after=5)
    with pytest.raises(ExchangeError, match="429"):
        venue.get_orders()
    sent = len(server.requests)
    with pytest.raises(ExchangeError, match="back off"):
        venue.place(buy("CLI00000012"))
    assert len(server.requests) == sent
    clock.now += 5.0
    assert venue.place(buy("CLI00000012")).accepted
    assert (venue.backoff.rate_limited, venue.budget.dropped) == (1, 1)
    server.throttle(418, retry_after=120)
    with pytest.raises(ExchangeError, match="418"):
        venue.get_positions()
    assert venue.backoff.wait(clock.now) == 120.0


def test_the_limits_are_read_from_exchange_info_at_start(server: BinanceUsdmVenueServer, clock: Clock) -> None:
    server.rate_limits = (Limit("REQUEST_WEIGHT", 60.0, 2400), Limit("ORDERS", 10.0, 300), Limit("ORDERS", 60.0, 1200))
    adapter = BinanceUsdmVenue(SYMBOLS, Credentials(KEY, SECRET), base_url=server.rest_url,
                               stream_url=server.stream_url, clock=clock, countdown_ms=0)  # fmt: skip
    try:
        adapter.start()
        assert tuple(adapter.budget.limits) == server.rate_limits
        assert ("GET", "/fapi/v1/exchangeInfo") in server.requests
    finally:
        adapter.close()


def test_the_venues_used_weight_raises_the_local_estimate(
    server: BinanceUsdmVenueServer, venue: BinanceUsdmVenue
) -> None:
    server.use_weight(1000)  # another process on this IP used 1,000 this minute
    venue.get_orders()
    weight = next(limit for limit in venue.budget.limits if limit.kind == "REQUEST_WEIGHT")
    level = venue.budget.store.level(venue.budget.key(weight))  # type: ignore[attr-defined]
    assert venue.counters.used_weight >= 1000 and level >= 1000


# -- cancel-on-disconnect ----------------------------------------------------------------------------------------------


def protected(server: BinanceUsdmVenueServer, countdown_ms: int, rearm_every_s: float) -> BinanceUsdmVenue:
    return BinanceUsdmVenue(SYMBOLS, Credentials(KEY, SECRET), base_url=server.rest_url, stream_url=server.stream_url,
                            countdown_ms=countdown_ms, rearm_every_s=rearm_every_s)  # fmt: skip


def test_the_countdown_is_armed_for_every_symbol_before_the_first_order_and_re_armed(
    server: BinanceUsdmVenueServer,
) -> None:
    adapter = protected(server, countdown_ms=60_000, rearm_every_s=0.02)
    try:
        assert adapter.place(buy("CLI00000013")).accepted
        first = server.requests.index(("POST", "/fapi/v1/countdownCancelAll"))
        assert first < server.requests.index(("POST", "/fapi/v1/order"))
        assert server.countdown_of("BTCUSDT") is not None and server.countdown_of("ETHUSDT") is not None
        wait_for(lambda: min(server.countdown_sets.values()) >= 3, "three re-arms of each symbol")
    finally:
        adapter.close()
    assert server.countdown_of("BTCUSDT") is None and server.countdown_of("ETHUSDT") is None  # disarmed
    assert server.open_orders() == ["CLI00000013"] and server.countdowns_fired == []
    assert adapter.countdown.disarmed == 2


def test_an_adapter_that_stops_re_arming_leaves_the_venue_to_cancel_every_order(
    server: BinanceUsdmVenueServer,
) -> None:
    adapter = protected(server, countdown_ms=300, rearm_every_s=0.1)
    adapter.place(buy("CLI00000014"))
    adapter.place(buy("CLI00000015", symbol="ETHUSDT", price=30_000, lots=10))
    assert sorted(server.open_orders()) == ["CLI00000014", "CLI00000015"]
    adapter.close(disarm=False)  # the process died: nobody re-arms, nobody disarms
    wait_for(lambda: server.open_orders() == [], "the venue's countdown to cancel everything")
    assert sorted(server.countdowns_fired) == ["BTCUSDT", "ETHUSDT"]


def test_futures_keys_appear_in_no_output(
    server: BinanceUsdmVenueServer,
    venue: BinanceUsdmVenue,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts = [repr(venue), str(venue)]
    server.lose_answers("POST", "/fapi/v1/order")
    texts.append(repr(venue.place(buy("CLI00000016"))))
    server.throttle(429, retry_after=1)
    for call in (venue.get_orders, venue.get_positions, lambda: venue.order_status("x")):
        try:
            texts.append(repr(call()))
        except ExchangeError as exc:
            texts.append(f"{exc!r} {exc}")
    captured = capsys.readouterr()
    texts += [captured.out, captured.err, caplog.text, repr(venue.counters), repr(venue.countdown)]
    for text in texts:
        assert KEY not in text and SECRET not in text


def test_the_demo_is_the_default_and_a_real_host_needs_the_flag() -> None:
    demo = BinanceUsdmVenue(SYMBOLS, Credentials(KEY, SECRET))
    assert repr(demo).startswith("BinanceUsdmVenue(https://demo-fapi.binance.com")
    with pytest.raises(ValueError, match="allow_real"):
        BinanceUsdmVenue(SYMBOLS, Credentials(KEY, SECRET), base_url="https://fapi.binance.com")
    BinanceUsdmVenue(SYMBOLS, Credentials(KEY, SECRET), base_url="https://fapi.binance.com",
                     stream_url="wss://fstream.binance.com", allow_real=True)  # fmt: skip


# One shard's adapter: 20 places through the shared budget (a day's window: nothing drains while it runs).
SHARD = """
import sys
from decimal import Decimal
from pathlib import Path
from actors.core._exchange import ExchangeError, PlaceRequest
from actors.core._types import Side
from actors.venues._binance import Credentials
from actors.venues._binance_rules import Budget, Limit, SpotSymbol
from actors.venues._binance_usdm import BinanceUsdmVenue
from actors.venues._shared_buckets import FileBuckets
url, stream, path, shard, key, secret = sys.argv[1:7]
budget = Budget(limits=(Limit("ORDERS", 86400.0, 20),), store=FileBuckets(Path(path)), account="acct", ip="host")
venue = BinanceUsdmVenue({"BTCUSDT": SpotSymbol("BTCUSDT", "BTC", "USDT", Decimal("0.1"), Decimal("0.001"))},
                         Credentials(key, secret), base_url=url, stream_url=stream, budget=budget, max_wait_s=0.0,
                         countdown_ms=0)
placed = 0
for i in range(20):
    try:
        placed += venue.place(PlaceRequest(f"S{shard}-{i}", "BTCUSDT", Side.BUY, 500_000, 1)).accepted
    except ExchangeError:
        pass
print(placed, venue.budget.dropped)
"""


def test_two_shard_processes_on_one_account_send_together_no_more_than_the_limit_allows(
    server: BinanceUsdmVenueServer, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(actors.__file__).resolve().parents[1])}
    args = [server.rest_url, server.stream_url, str(tmp_path / "buckets")]
    shards = [subprocess.Popen([sys.executable, "-c", SHARD, *args, str(n), KEY, SECRET], stdout=subprocess.PIPE,
                               text=True, env=env) for n in range(2)]  # fmt: skip
    results = [tuple(map(int, shard.communicate(timeout=120)[0].split())) for shard in shards]
    assert sum(placed for placed, _ in results) == 16  # 80 % of 20: places leave the cancels' reserve
    assert sum(dropped for _, dropped in results) == 24  # the rest never left the shards
    assert server.requests.count(("POST", "/fapi/v1/order")) == 16 and len(server.open_orders()) == 16
