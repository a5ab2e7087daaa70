"""The live market's building blocks: Binance's stream protocol, the depth book's update-id rules, staleness,
backoff, the recorder; and the stream client against the local Binance stream server over real sockets on
127.0.0.1, with every failure the server can be told to make.

Nothing here waits for a while: each test waits for the condition it needs (:func:`wait_until`), with a
deadline that only bounds a hang.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from actors.markets import _tardis
from actors.markets._events import BOOK_RESET, DEPTH, QUOTE, TRADE, MarketEvent
from actors.markets._files import MarketFile, merged
from actors.markets.live import INSTALL_HINT, LiveClientMissing, require_client
from actors.markets.live._backoff import Backoff
from actors.markets.live._book import BookState, DepthBook
from actors.markets.live._client import LiveMarket, LiveSettings, wall_clock_us
from actors.markets.live._protocol import (
    BadFrame,
    DepthDiff,
    Quote,
    Reply,
    Trade,
    parse_frame,
    parse_snapshot,
    stream_names,
)
from actors.markets.live._recorder import DEPTH_HEADER, QUOTES_HEADER, TRADES_HEADER, Recorder
from actors.markets.live._staleness import StalenessTracker
from actors.testing._binance_stream_server import BinanceStreamServer, generated

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 60.0
BTC = frozenset({"BTCUSDT"})


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Return once ``condition()`` holds; fail naming ``what`` if the deadline (only a hang reaches it) passes."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.005)


# -- the protocol (pure) ------------------------------------------------------------------------------------------


def test_a_spot_book_ticker_as_binance_documents_it_becomes_a_quote_stamped_with_the_receive_time() -> None:
    text = (
        '{"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000",'
        '"B":"31.21000000","a":"25.36520000","A":"40.66000000"}}'
    )
    frame = parse_frame(text, 123, frozenset({"BNBUSDT"}))
    assert frame == Quote((123, QUOTE, "BNBUSDT", 25.3519, 31.21, 25.3652, 40.66), 0)


def test_an_agg_trade_whose_buyer_made_the_market_is_a_sell_by_the_taker() -> None:
    text = (
        '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":12345,'
        '"p":"0.001","q":"100","f":100,"l":105,"T":123456785,"m":true,"M":true}}'
    )
    frame = parse_frame(text, 7, BTC)
    assert frame == Trade((7, TRADE, "BTCUSDT", 0.001, 100.0, -1.0, 7.0 - 123456785000), 123456785000, 12345, "sell")


def test_a_usdm_depth_update_carries_its_previous_final_id() -> None:
    text = (
        '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":157,'
        '"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","0"]]}}'
    )
    frame = parse_frame(text, 7, BTC)
    assert frame == DepthDiff("BTCUSDT", 157, 160, 149, ((0.0024, 10.0),), ((0.0026, 0.0),))


def test_a_subscription_reply_and_an_error_reply_are_told_apart() -> None:
    assert parse_frame('{"result": null, "id": 3}', 0, BTC) == Reply(3, None)
    error = parse_frame('{"code": 2, "msg": "Invalid request", "id": 4}', 0, BTC)
    assert isinstance(error, Reply) and error.id == 4 and error.error is not None and "Invalid request" in error.error


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        ("not json", "not JSON"),
        (b"\x00\x01", "binary"),
        ("[1, 2]", "not a JSON object"),
        ('{"hello": 1}', "unexpected frame"),
        ('{"stream":"btcusdt@kline_1m","data":{"s":"BTCUSDT"}}', "unexpected stream"),
        ('{"stream":"ethusdt@bookTicker","data":{"u":1,"s":"ETHUSDT","b":"1","B":"1","a":"2","A":"1"}}', "not"),
        ('{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"2","B":"1","a":"1","A":"1"}}', "crossed"),
        ('{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"x","B":"1","a":"1","A":"1"}}', "malformed"),
        ('{"stream":"btcusdt@aggTrade","data":{"s":"BTCUSDT","p":"1"}}', "malformed"),
        ('{"stream":"btcusdt@aggTrade","data":{"s":"BTCUSDT","a":1,"p":"-1","q":"1","T":1,"m":true}}', "price"),
    ],
)
def test_a_frame_the_protocol_does_not_send_is_a_bad_frame_saying_why(frame: str | bytes, says: str) -> None:
    with pytest.raises(BadFrame, match=says):
        parse_frame(frame, 0, BTC)


def test_the_streams_subscribed_are_book_ticker_and_agg_trade_and_depth_when_asked() -> None:
    assert stream_names(["BTCUSDT"], False) == ["btcusdt@bookTicker", "btcusdt@aggTrade"]
    assert stream_names(["BTCUSDT"], True)[-1] == "btcusdt@depth@100ms"


def test_a_rest_snapshot_gives_its_last_update_id_and_levels_and_a_non_snapshot_is_refused() -> None:
    last, bids, asks = parse_snapshot(b'{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[]}')
    assert (last, bids, asks) == (1027024, ((4.0, 431.0),), ())
    with pytest.raises(ValueError, match="not a depth snapshot"):
        parse_snapshot(b'{"code": -1121}')


# -- the depth book's update-id rules (pure) ----------------------------------------------------------------------


def diff(first: int, final: int, bids: tuple[tuple[float, float], ...] = (), previous: int | None = None) -> DepthDiff:
    return DepthDiff("BTCUSDT", first, final, previous, bids, ())


def test_a_spot_book_waits_for_its_snapshot_then_applies_the_buffered_diffs_that_follow_it() -> None:
    book = DepthBook("BTCUSDT", futures=False)
    assert book.on_diff(diff(99, 100, ((1.0, 5.0),))) == "buffered"
    assert book.on_diff(diff(101, 103, ((2.0, 6.0),))) == "buffered"
    assert book.state is BookState.WAITING
    assert book.on_snapshot(100, ((1.0, 1.0),), ((3.0, 1.0),))
    assert book.live and book.last_id == 103
    assert book.bids == {1.0: 1.0, 2.0: 6.0}  # the diff up to 100 was in the snapshot already: dropped


def test_a_spot_snapshot_older_than_the_first_buffered_diff_is_refused_for_another() -> None:
    book = DepthBook("BTCUSDT", futures=False)
    book.on_diff(diff(110, 112))
    assert not book.on_snapshot(100, (), ())
    assert book.state is BookState.WAITING


def test_a_spot_diff_that_skips_update_ids_makes_the_book_stale_until_a_new_snapshot() -> None:
    book = DepthBook("BTCUSDT", futures=False)
    book.on_snapshot(100, ((1.0, 1.0),), ())
    assert book.on_diff(diff(101, 101, ((1.0, 0.0),))) == "applied"
    assert book.bids == {}
    assert book.on_diff(diff(99, 100)) == "old"
    assert book.on_diff(diff(105, 106)) == "gap"
    assert book.state is BookState.STALE and book.gaps == 1
    assert book.on_diff(diff(107, 107, ((2.0, 1.0),))) == "buffered"
    assert book.on_snapshot(106, ((1.5, 1.0),), ())
    assert book.live and book.bids == {1.5: 1.0, 2.0: 1.0} and book.snapshots == 2


def test_a_usdm_book_checks_each_diffs_previous_final_id() -> None:
    book = DepthBook("BTCUSDT", futures=True)
    book.on_diff(diff(90, 95, previous=89))
    book.on_diff(diff(96, 101, ((1.0, 2.0),), previous=95))
    assert book.on_snapshot(98, (), ())  # U <= 98 <= u: the diff 96..101 is the first applied
    assert book.live and book.last_id == 101 and book.bids == {1.0: 2.0}
    assert book.on_diff(diff(102, 104, previous=101)) == "applied"
    assert book.on_diff(diff(108, 110, previous=107)) == "gap"
    assert book.state is BookState.STALE


def test_a_usdm_diff_that_follows_a_snapshot_taken_before_any_diff_is_applied() -> None:
    book = DepthBook("BTCUSDT", futures=True)
    book.on_snapshot(100, (), ())
    assert book.on_diff(diff(101, 102, previous=100)) == "applied"


def test_a_disconnect_makes_a_live_book_stale() -> None:
    book = DepthBook("BTCUSDT", futures=False)
    book.on_snapshot(1, (), ())
    book.lost()
    assert book.state is BookState.STALE


# -- staleness and backoff (pure, fake clock) ---------------------------------------------------------------------


def test_a_symbol_is_stale_until_heard_from_and_again_after_the_silence_limit() -> None:
    tracker = StalenessTracker(["BTCUSDT", "ETHUSDT"], stale_after_us=1_000)
    assert tracker.stale(0) == {"BTCUSDT", "ETHUSDT"}
    tracker.seen("BTCUSDT", 10_000)
    assert tracker.stale(11_000) == {"ETHUSDT"}
    assert tracker.stale(11_001) == {"BTCUSDT", "ETHUSDT"}


def test_each_change_between_fresh_and_stale_is_reported_once_and_episodes_are_counted() -> None:
    tracker = StalenessTracker(["BTCUSDT"], stale_after_us=1_000)
    assert tracker.changes(0) == []  # stale from the start: no change
    tracker.seen("BTCUSDT", 5)
    assert tracker.changes(6) == [("BTCUSDT", False)]
    assert tracker.changes(7) == []
    assert tracker.changes(2_000) == [("BTCUSDT", True)]
    assert tracker.episodes == 1
    tracker.seen("BTCUSDT", 2_001)
    tracker.forget()
    assert tracker.is_stale("BTCUSDT", 2_002)


def test_backoff_grows_by_its_factor_up_to_its_cap_with_jitter_below_each_step_and_resets() -> None:
    backoff = Backoff(0.1, 1.0, 2.0, jitter=0.5, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(8)]
    for step, delay in enumerate(delays):
        base = min(1.0, 0.1 * 2**step)
        assert base * 0.5 <= delay <= base
    assert len(set(delays)) == len(delays)  # jittered: no two alike
    backoff.reset()
    assert backoff.next_delay() <= 0.1


def test_backoff_refuses_settings_that_make_no_sense() -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(0.0, 1.0)


# -- the library check ------------------------------------------------------------------------------------------


def test_without_the_websockets_library_the_command_line_says_how_to_install_it_and_exits_2() -> None:
    code = (
        "import sys; sys.modules['websockets'] = None; sys.modules['websockets.version'] = None\n"
        "from actors.markets.live import exit_unless_client; exit_unless_client()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and INSTALL_HINT in done.stderr and "Traceback" not in done.stderr


def test_with_the_library_installed_the_check_passes_and_its_error_is_a_market_data_error() -> None:
    require_client()
    assert issubclass(LiveClientMissing, ValueError)


# -- the client against the local server, over real sockets -----------------------------------------------------


@pytest.fixture
def server() -> Iterator[BinanceStreamServer]:
    with BinanceStreamServer() as started:
        yield started


def settings_for(server: BinanceStreamServer, **overrides: object) -> LiveSettings:
    values: dict[str, object] = {
        "symbols": ("BTCUSDT",),
        "ws_url": server.url,
        "rest_url": server.rest_url,
        "backoff_initial_ms": 10,
        "backoff_max_ms": 200,
        "seed": 1,
    }
    values.update(overrides)
    return LiveSettings(**values)  # type: ignore[arg-type]


def subscribed(market: LiveMarket, connections: int = 1) -> Callable[[], bool]:
    def check() -> bool:
        status = market.status()
        return status.subscribed and status.counts.get("connections", 0) >= connections

    return check


def received(market: LiveMarket, into: list[MarketEvent], count: int) -> Callable[[], bool]:
    def check() -> bool:
        into.extend(market.poll(wall_clock_us() + 10**9))
        return len(into) >= count

    return check


def test_the_client_subscribes_to_its_streams_and_hands_quotes_and_trades_to_the_engine(
    server: BinanceStreamServer,
) -> None:
    with LiveMarket(settings_for(server, symbols=("BTCUSDT", "ETHUSDT"))) as market:
        wait_until(subscribed(market), "the subscription")
        assert server.subscriptions() == [frozenset(stream_names(["BTCUSDT", "ETHUSDT"], False))]
        server.book_ticker("BTCUSDT", "100.00", "1.5", "100.10", "2.0")
        server.agg_trade("ETHUSDT", "3000.5", "0.25", buyer_maker=True)
        events: list[MarketEvent] = []
        wait_until(received(market, events, 2), "two events")
    assert [e[1:6] for e in events] == [
        (QUOTE, "BTCUSDT", 100.0, 1.5, 100.1),
        (TRADE, "ETHUSDT", 3000.5, 0.25, -1.0),  # the buyer was the maker: a seller took it
    ]
    assert events[0][0] <= events[1][0]


def test_poll_hands_out_only_what_arrived_up_to_the_time_it_is_given(server: BinanceStreamServer) -> None:
    with LiveMarket(settings_for(server)) as market:
        wait_until(subscribed(market), "the subscription")
        server.book_ticker("BTCUSDT", "1.00", "1", "1.01", "1")
        events: list[MarketEvent] = []
        wait_until(received(market, events, 1), "the first quote")
        server.book_ticker("BTCUSDT", "1.00", "2", "1.01", "2")
        wait_until(lambda: market.status().counts.get("quotes") == 2, "the second quote")
        assert market.poll(events[0][0] - 1) == []
        later = market.poll(wall_clock_us() + 10**9)
    assert len(later) == 1 and later[0][4] == 2.0 and later[0][0] >= events[0][0]


def test_a_dropped_connection_is_opened_again_and_every_stream_subscribed_again(server: BinanceStreamServer) -> None:
    with LiveMarket(settings_for(server)) as market:
        wait_until(subscribed(market), "the subscription")
        server.book_ticker("BTCUSDT", "1.00", "1", "1.01", "1")
        wait_until(lambda: market.status().counts.get("quotes") == 1, "the first quote")
        assert server.disconnect() == 1
        wait_until(subscribed(market, connections=2), "the second subscription")
        assert [r["params"] for r in server.requests] == [stream_names(["BTCUSDT"], False)] * 2
        assert server.subscriptions() == [frozenset(stream_names(["BTCUSDT"], False))]
        server.book_ticker("BTCUSDT", "1.00", "3", "1.01", "1")
        wait_until(lambda: market.status().counts.get("quotes") == 2, "a quote after the reconnect")
        status = market.status()
        notes = [note.kind for note in market.drain_notes()]
    assert status.counts["reconnects"] == 1 and "ConnectionClosed" in status.last_error
    assert notes.count("connected") == 2 and notes.count("disconnected") == 1


def test_after_a_disconnect_a_symbol_is_stale_until_it_is_heard_from_again(server: BinanceStreamServer) -> None:
    with LiveMarket(settings_for(server, stale_after_ms=3_600_000)) as market:
        wait_until(subscribed(market), "the subscription")
        server.book_ticker("BTCUSDT", "1.00", "1", "1.01", "1")
        wait_until(lambda: not market.stale(wall_clock_us()), "the symbol fresh")
        server.silence()  # so nothing refreshes it between the drop and the check
        server.disconnect()
        wait_until(subscribed(market, connections=2), "the second subscription")
        assert market.stale(wall_clock_us()) == BTC
        server.silence(False)
        server.book_ticker("BTCUSDT", "1.00", "1", "1.01", "1")
        wait_until(lambda: not market.stale(wall_clock_us()), "the symbol fresh again")


def test_the_24_hour_disconnect_is_a_normal_reconnect(server: BinanceStreamServer) -> None:
    with LiveMarket(settings_for(server)) as market:
        wait_until(subscribed(market), "the subscription")
        assert server.expire() == 1
        wait_until(subscribed(market, connections=2), "the second subscription")
        status = market.status()
    assert status.counts["reconnects"] == 1 and "1000" in status.last_error


def test_a_silent_stream_makes_its_symbol_stale_and_a_frame_makes_it_fresh(server: BinanceStreamServer) -> None:
    with LiveMarket(settings_for(server, stale_after_ms=50, silence_reconnect_ms=3_600_000)) as market:
        wait_until(subscribed(market), "the subscription")
        server.book_ticker("BTCUSDT", "1.00", "1", "1.01", "1")
        events: list[MarketEvent] = []
        wait_until(received(market, events, 1), "a quote")
        heard = events[0][0]
        assert market.stale(heard) == frozenset() and market.stale(heard + 50_001) == BTC
        assert market.stale_changes(heard) == [("BTCUSDT", False)]
        server.silence()
        wait_until(lambda: market.stale(wall_clock_us()) == BTC, "the symbol stale")
        assert market.stale_changes(wall_clock_us()) == [("BTCUSDT", True)]
        server.silence(False)
        server.book_ticker("BTCUSDT", "1.00", "1", "1.01", "1")
        wait_until(received(market, events, 2), "a quote after the silence")
        assert market.stale(events[1][0]) == frozenset()
        assert market.status().counts.get("reconnects", 0) == 0


def test_a_connection_silent_past_its_limit_is_opened_anew(server: BinanceStreamServer) -> None:
    with LiveMarket(settings_for(server, silence_reconnect_ms=100)) as market:
        wait_until(subscribed(market), "the subscription")
        wait_until(lambda: server.accepted >= 2, "a second connection")
        wait_until(subscribed(market, connections=2), "the second subscription")
        assert "no frame for 100 ms" in market.status().last_error


def test_a_gap_in_depth_update_ids_makes_the_book_stale_until_a_snapshot_rebuilds_it(
    server: BinanceStreamServer,
) -> None:
    server.set_book("BTCUSDT", [("100.00", "1.0")], [("100.10", "2.0")])
    with LiveMarket(settings_for(server, depth=True, stale_after_ms=3_600_000)) as market:
        wait_until(subscribed(market), "the subscription")
        wait_until(lambda: market.book("BTCUSDT")[0], "the first snapshot")
        server.book_ticker("BTCUSDT", "100.00", "1", "100.10", "2")
        wait_until(lambda: not market.stale(wall_clock_us()), "the symbol fresh")
        server.depth("BTCUSDT", bids=[("100.01", "3")])
        wait_until(lambda: market.book("BTCUSDT")[1][0] == (100.01, 3.0), "the diff applied")
        server.hold_snapshots()
        server.depth("BTCUSDT", bids=[("100.02", "4")], skip=5)
        wait_until(lambda: market.status().counts["gaps"] == 1, "the gap")
        wait_until(lambda: market.status().counts.get("snapshot_failures", 0) >= 1, "a snapshot refused")
        assert market.book("BTCUSDT")[0] is False
        assert market.stale(wall_clock_us()) == BTC
        server.hold_snapshots(False)
        wait_until(lambda: market.book("BTCUSDT")[0], "the book rebuilt")
        live, bids, asks = market.book("BTCUSDT")
        assert live
        assert market.stale(wall_clock_us()) == frozenset()
        assert market.status().counts["snapshots"] == 2
    assert bids == ((100.02, 4.0), (100.01, 3.0), (100.0, 1.0)) and asks == ((100.1, 2.0),)


def test_a_usdm_book_is_kept_by_previous_ids_and_rebuilt_after_a_gap() -> None:
    with BinanceStreamServer(futures=True) as server:
        server.set_book("BTCUSDT", [("50000.0", "1")], [("50000.1", "1")])
        settings = settings_for(server, venue="binance-usdm", depth=True)
        with LiveMarket(settings) as market:
            wait_until(lambda: market.book("BTCUSDT")[0], "the first snapshot")
            server.book_ticker("BTCUSDT", "50000.0", "1", "50000.1", "1")
            server.depth("BTCUSDT", asks=[("50000.1", "0"), ("50000.2", "5")])
            wait_until(lambda: market.book("BTCUSDT")[2] == ((50000.2, 5.0),), "the diff applied")
            server.depth("BTCUSDT", bids=[("49999.9", "2")], skip=1)
            wait_until(lambda: market.status().counts["snapshots"] == 2, "the rebuild")
            wait_until(lambda: market.book("BTCUSDT")[0], "the book live again")
            assert market.book("BTCUSDT")[1] == ((50000.0, 1.0), (49999.9, 2.0))
            events: list[MarketEvent] = []
            wait_until(lambda: received(market, events, 1)() and any(e[1] == QUOTE for e in events), "the quote")
    assert next(e for e in events if e[1] == QUOTE)[1:] == (QUOTE, "BTCUSDT", 50000.0, 1.0, 50000.1, 1.0)
    assert market.status().counts["gaps"] == 1


def test_bad_frames_are_counted_and_the_stream_goes_on(server: BinanceStreamServer) -> None:
    with LiveMarket(settings_for(server)) as market:
        wait_until(subscribed(market), "the subscription")
        bad = [
            "garbage",
            b"\x00\xff",
            '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"2","B":"1","a":"1","A":"1"}}',
            '{"stream":"dogeusdt@aggTrade","data":{"s":"DOGEUSDT"}}',
            '{"stream":"btcusdt@bookTicker","data":{"s":"BTCUSDT"}}',
        ]
        for frame in bad:
            server.send_raw(frame)
        server.book_ticker("BTCUSDT", "1.00", "1", "1.01", "1")
        events: list[MarketEvent] = []
        wait_until(received(market, events, 1), "the good quote after the bad frames")
        status = market.status()
        notes = [note for note in market.drain_notes() if note.kind == "bad_frame"]
    assert status.counts["bad_frames"] == len(bad) and status.counts.get("reconnects", 0) == 0
    assert len(notes) == len(bad) and status.connected


def test_the_client_answers_the_servers_ping_frames(server: BinanceStreamServer) -> None:
    with LiveMarket(settings_for(server)) as market:
        wait_until(subscribed(market), "the subscription")
        assert server.ping() == 1


def test_the_server_answers_subscribe_unsubscribe_and_list_with_binances_shapes(server: BinanceStreamServer) -> None:
    from websockets.sync.client import connect

    with connect(f"{server.url}/stream") as ws:
        ws.send('{"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "btcusdt@bookTicker"], "id": 1}')
        assert ws.recv(timeout=DEADLINE_S) == '{"result": null, "id": 1}'
        ws.send('{"method": "UNSUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 2}')
        assert ws.recv(timeout=DEADLINE_S) == '{"result": null, "id": 2}'
        ws.send('{"method": "LIST_SUBSCRIPTIONS", "id": 3}')
        assert ws.recv(timeout=DEADLINE_S) == '{"result": ["btcusdt@bookTicker"], "id": 3}'
        ws.send("{not json")
        assert '"code": 3' in str(ws.recv(timeout=DEADLINE_S))
    with connect(f"{server.url}/stream?streams=btcusdt@aggTrade") as ws:
        wait_until(lambda: server.open_connections() == 1, "the combined-stream connection")
        sent = server.agg_trade("BTCUSDT", "1.5", "2")
        assert '"stream": "btcusdt@aggTrade"' in str(ws.recv(timeout=DEADLINE_S))
    assert sent["m"] is False and sent["M"] is True


# -- recording: what arrived, read back by the file readers -----------------------------------------------------


def test_the_recorders_headers_are_the_tardis_layouts_the_readers_know() -> None:
    assert QUOTES_HEADER == _tardis.QUOTES_HEADER and TRADES_HEADER == _tardis.TRADES_HEADER


def test_a_recorded_session_reads_back_event_by_event(server: BinanceStreamServer, tmp_path: Path) -> None:
    messages = list(generated(["BTCUSDT", "ETHUSDT"], 400, seed=3))
    recorder = Recorder(tmp_path, "binance")
    market = LiveMarket(settings_for(server, symbols=("BTCUSDT", "ETHUSDT")), recorder=recorder)
    with market:
        wait_until(subscribed(market), "the subscription")
        assert server.replay(messages) == len(messages)
        events: list[MarketEvent] = []
        wait_until(received(market, events, len(messages)), "every message")
    quotes = list(MarketFile(recorder.quotes_path))
    trades = list(MarketFile(recorder.trades_path))
    assert quotes == [e for e in events if e[1] == QUOTE]
    assert trades == [e for e in events if e[1] == TRADE]
    assert len(quotes) + len(trades) == len(messages) and trades and quotes
    assert MarketFile(recorder.quotes_path).format.name == "tardis-quotes"
    first_trade = recorder.trades_path.read_text().splitlines()[1].split(",")
    assert first_trade[0] == "binance" and first_trade[5] in ("buy", "sell")


def test_a_depth_session_hands_out_the_applied_book_and_records_it_as_incremental_book_l2_read_back_event_by_event(
    server: BinanceStreamServer, tmp_path: Path
) -> None:
    """The snapshot's levels (a reset first), each applied diff's levels, at a gap every level at size 0 (the layout
    has no ids to say the book is not to be trusted), then the rebuilt book: as the events handed out, and as the
    replay's reader gives them back from the files."""
    server.set_book("BTCUSDT", [("100.00", "1.0")], [("100.10", "2.0")])
    recorder = Recorder(tmp_path, "binance", depth=True)
    market = LiveMarket(settings_for(server, depth=True, stale_after_ms=3_600_000), recorder=recorder)
    events: list[MarketEvent] = []
    with market:
        wait_until(lambda: market.book("BTCUSDT")[0], "the first snapshot")
        server.book_ticker("BTCUSDT", "100.00", "1", "100.10", "2")
        server.depth("BTCUSDT", bids=[("100.01", "3")], asks=[("100.10", "0"), ("100.11", "1")])
        wait_until(lambda: market.book("BTCUSDT")[2] == ((100.11, 1.0),), "the diff applied")
        server.depth("BTCUSDT", bids=[("100.02", "4")], skip=5)
        wait_until(lambda: market.status().counts["snapshots"] == 2 and market.book("BTCUSDT")[0], "the rebuild")
        wait_until(received(market, events, 15), "every event")
    depth = [(e[3], e[4], e[5]) for e in events if e[1] == DEPTH]
    reset = (0.0, 0.0, BOOK_RESET)
    assert depth == [
        reset, (100.0, 1.0, 1.0), (100.1, 2.0, -1.0),  # the snapshot
        (100.01, 3.0, 1.0), (100.1, 0.0, -1.0), (100.11, 1.0, -1.0),  # the diff
        (100.0, 0.0, 1.0), (100.01, 0.0, 1.0), (100.11, 0.0, -1.0),  # the gap: nothing known
        reset, (100.02, 4.0, 1.0), (100.01, 3.0, 1.0), (100.0, 1.0, 1.0), (100.11, 1.0, -1.0),  # the new snapshot
    ]  # fmt: skip
    assert recorder.depth_path is not None
    book = MarketFile(recorder.depth_path)
    assert book.format.name == "tardis-book-l2" and book.format.header == DEPTH_HEADER
    assert list(merged([MarketFile(recorder.quotes_path), MarketFile(recorder.trades_path), book])) == events


def test_a_second_recording_in_the_same_directory_never_overwrites_the_first(tmp_path: Path) -> None:
    first = Recorder(tmp_path, "binance", started_us=1_700_000_000_000_000)
    second = Recorder(tmp_path, "binance", started_us=1_700_000_000_000_000)
    first.close()
    second.close()
    assert first.quotes_path != second.quotes_path and len(list(tmp_path.iterdir())) == 4
