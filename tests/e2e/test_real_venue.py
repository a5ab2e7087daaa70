"""The engine on a real venue's API: Binance spot's REST and user stream served on 127.0.0.1 by the local server, the
simulated venue behind it, reached through the engine's own client over real sockets, beside a live market fed by
the local stream server.

Nothing here waits for a while: each test waits for the condition it needs (a tick decided, an order open at the
venue) with a deadline that only bounds a hang.  The market and the venue's fills move on their own clock in a
driver thread, as a real market does; no assertion depends on how far they got.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from actors.assembly._config import resolve
from actors.assembly._report import build_report
from actors.assembly._system import RUN_ENDED, System
from actors.cli._run_shadow import KILL_SWITCH_REASON, main
from actors.core._exchange import PlaceRequest
from actors.core._types import Side
from actors.runtime import create_runtime
from actors.testing._binance_stream_server import BinanceStreamServer, generated
from actors.testing._binance_usdm_server import BinanceUsdmVenueServer
from actors.testing._binance_venue_server import BinanceVenueServer
from actors.venues._binance import BinanceSpotVenue, Credentials
from actors.venues._binance_rules import SpotSymbol
from actors.venues._binance_usdm import BinanceUsdmVenue
from actors.venues._simulated import FakeExchangeClient
from tests.e2e.run_kit import environ, running

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
RUN_SHADOW = [sys.executable, str(ROOT / "bin" / "run-shadow")]
DEADLINE_S = 60.0
KEY = "e2ekey-" + "9f8e7d6c" * 7
SECRET = "e2esecret-" + "1a2b3c4d" * 7
SYMBOLS = ["BTCUSDT", "ETHUSDT"]
MARKET = "live:binance:btcusdt,ethusdt"
SPOT = {
    "BTCUSDT": SpotSymbol("BTCUSDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.0001")),
    "ETHUSDT": SpotSymbol("ETHUSDT", "ETH", "USDT", Decimal("0.01"), Decimal("0.001")),
}
"""The venue's sizes: the catalogue's, which the engine trades with (actors/core/_instruments.py)."""
FLAT = "BTC=1,ETH=10"
"""The balances that count as flat: the server's account starts with them, so the run starts flat."""


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE_S:.0f} s: {what}"
        time.sleep(0.005)


@dataclass
class Venue:
    """The live market's server, the venue's server, and the thread that moves both."""

    market: BinanceStreamServer
    server: BinanceVenueServer
    fills: threading.Event
    """Set while the venue trades (its fill model moves with the market); cleared, nothing fills."""
    usdm: bool = False
    """USDⓈ-M's demo (its own server, market and positions) rather than spot's testnet."""

    def client(self) -> BinanceSpotVenue:
        """Someone else's client on the same account (a person, another run)."""
        return BinanceSpotVenue(SPOT, Credentials(KEY, SECRET), base_url=self.server.rest_url,
                                stream_url=self.server.stream_url)  # fmt: skip

    def positions(self) -> dict[str, int]:
        flat = {"BTC": "1", "ETH": "10"}
        client = BinanceSpotVenue(SPOT, Credentials(KEY, SECRET), base_url=self.server.rest_url,
                                  stream_url=self.server.stream_url, flat_balances=flat)  # fmt: skip
        try:
            return client.get_positions()
        finally:
            client.close()

    def settings(self, **more: Any) -> dict[str, Any]:
        spot = {"market": [MARKET], "venue": "binance-testnet", "flat_balances": FLAT}
        usdm = {"market": [MARKET.replace("live:binance:", "live:binance-usdm:")], "venue": "binance-usdm-demo"}
        return {
            **(usdm if self.usdm else spot), "live_ws_url": self.market.url, "live_rest_url": self.market.rest_url,
            "tick_ms": 50, "decision_deadline_ms": 60_000, "spread_bps": 2, "edge_threshold": -100,
            "venue_rest_url": self.server.rest_url, "venue_stream_url": self.server.stream_url,
            "max_orders_per_sec": 100, **more,
        }  # fmt: skip

    def flags(self, *more: str) -> list[str]:
        return [
            *RUN_SHADOW, "--market", MARKET, "--live-ws-url", self.market.url, "--live-rest-url", self.market.rest_url,
            "--tick-ms", "50", "--decision-deadline-ms", "60000", "--spread-bps", "2", "--edge-threshold", "-100",
            "--venue", "binance-testnet", "--venue-rest-url", self.server.rest_url, "--venue-stream-url",
            self.server.stream_url, "--flat-balances", FLAT, "--max-orders-per-sec", "100", *more,
        ]  # fmt: skip


@contextmanager
def venue(
    balances: dict[str, str] | None = None, sizes: dict[str, SpotSymbol] | None = None, *, usdm: bool = False
) -> Iterator[Venue]:
    """Both servers started, and a driver moving the market (quotes and trades) and the venue (its fills)."""
    simulated = FakeExchangeClient(seed=3, fill_rate=0.3, reject_rate=0.0, partial_fill_rate=0.3)
    held = balances or {"BTC": "1", "ETH": "10", "USDT": "1000000"}
    stop, fills = threading.Event(), threading.Event()
    fills.set()
    server_class = BinanceUsdmVenueServer if usdm else BinanceVenueServer
    with BinanceStreamServer() as market, server_class(simulated, sizes or SPOT, api_key=KEY, secret=SECRET,
                                                       balances=held) as server:  # fmt: skip

        def drive() -> None:
            messages = list(generated(SYMBOLS, 200_000, seed=5, start_price=100.0))
            for step, start in enumerate(range(0, len(messages), 20), start=1):
                if stop.is_set():
                    return
                market.replay(messages[start : start + 20])
                if fills.is_set():
                    server.advance(step)
                time.sleep(0.01)  # the market's own pace; nothing waits on it

        driver = threading.Thread(target=drive, daemon=True)
        driver.start()
        try:
            yield Venue(market, server, fills, usdm)
        finally:
            stop.set()
            driver.join(DEADLINE_S)


@contextmanager
def keys_in_environment() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET")}
    os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"] = KEY, SECRET
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_system(place: Venue, iterations: int, **more: Any) -> tuple[System, dict[str, Any]]:
    """A whole run in this process, ended as the command ends it (the venue emptied), and its report."""
    with keys_in_environment():
        system = System(create_runtime("threads"), resolve(overrides=place.settings(iterations=iterations, **more),
                                                           override_source="setting"))  # fmt: skip
    try:
        system.start()
        system.run()
        system.empty_the_venue()
        return system, build_report(system)
    finally:
        system.stop()


def counts_add_up(report: dict[str, Any]) -> None:
    orders = report["orders"]
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"] + orders["open"], orders


def test_a_run_places_and_cancels_through_the_client_and_its_freeze_leaves_the_venue_empty_and_confirmed() -> None:
    with venue() as place:
        _system, report = run_system(place, 30)
        open_at_venue, held = place.server.open_orders(), place.positions()
        methods = {request for request in place.server.requests}
    assert report["orders"]["placed"] > 0 and report["orders"]["canceled"] > 0 and report["fills"]["count"] > 0
    assert ("POST", "/api/v3/order") in methods and ("DELETE", "/api/v3/order") in methods
    counts_add_up(report)
    assert report["orders"]["open"] == 0 and open_at_venue == []
    assert report["risk"]["frozen"] and report["risk"]["freeze_confirmed"]
    assert report["risk"]["last_freeze_reason"] == RUN_ENDED
    positions = {symbol: Decimal(line["qty"]) for symbol, line in report["positions"]["by_symbol"].items()}
    assert positions == {symbol: lots * SPOT[symbol].lot_size for symbol, lots in held.items()}  # the venue's
    assert report["venue"]["at_start"] == {"open_orders": 0, "canceled": 0, "adopted": 0, "positions": {}}
    waits = report["venue"]["place_to_answer_ms"]  # each place sent to the venue, timed to its answer
    assert 0 < waits["n"] <= report["orders"]["placed"]  # not those the gateway refused unsent (after the freeze)
    assert 0 < waits["p50"] <= waits["p99"] <= waits["max"]


def test_a_usdm_run_arms_the_venues_cancel_on_disconnect_and_ends_empty_with_the_venues_positions() -> None:
    with venue(usdm=True) as place:
        _system, report = run_system(place, 30)
        open_at_venue = place.server.open_orders()
        methods = {request for request in place.server.requests}
        armed = dict(place.server.countdown_sets)
        running_countdowns = [symbol for symbol in SYMBOLS if place.server.countdown_of(symbol) is not None]
        client = BinanceUsdmVenue(SPOT, Credentials(KEY, SECRET), base_url=place.server.rest_url,
                                  stream_url=place.server.stream_url, countdown_ms=0)  # fmt: skip
        try:
            held = client.get_positions()
        finally:
            client.close()
    assert ("POST", "/fapi/v1/order") in methods and ("DELETE", "/fapi/v1/order") in methods
    assert report["orders"]["placed"] > 0 and report["fills"]["count"] > 0
    counts_add_up(report)
    assert report["orders"]["open"] == 0 and open_at_venue == [] and report["risk"]["freeze_confirmed"]
    assert set(armed) == set(SYMBOLS) and report["venue"]["adapter"]["armed"] >= len(SYMBOLS)
    assert running_countdowns == []  # disarmed by the clean exit (after the report: the adapter closes last)
    positions = {symbol: Decimal(line["qty"]) for symbol, line in report["positions"]["by_symbol"].items()}
    assert positions == {symbol: lots * SPOT[symbol].lot_size for symbol, lots in held.items() if lots}


def test_a_run_through_lost_answers_429s_repeated_and_late_reports_a_dropped_stream_and_an_expired_key_loses_nothing(
) -> None:
    """What real venues do, during a run: every invariant holds, and each fill is counted once."""
    injected: dict[str, int] = {}
    with venue() as place:
        server = place.server
        with keys_in_environment():
            system = System(create_runtime("threads"), resolve(overrides=place.settings(iterations=200),
                                                               override_source="setting"))  # fmt: skip
        try:
            system.start()
            server.duplicate_reports = True  # every execution report twice, from the first order on
            server.lose_answers("POST", "/api/v3/order", 3)  # the first three places: carried out, answer lost
            server.throttle(429, 1, 2)
            runner = threading.Thread(target=system.run)
            runner.start()

            def posts() -> int:
                return sum(1 for request in list(server.requests) if request == ("POST", "/api/v3/order"))

            wait_until(lambda: posts() >= 10 or not runner.is_alive(), "ten places")
            server.hold_reports()
            wait_until(lambda: posts() >= 20 or not runner.is_alive(), "twenty places")
            wait_until(lambda: server.streams_open() >= 1, "the user stream connected")
            injected["dropped"] = server.drop_stream()
            injected["released"] = server.release_reports()
            wait_until(lambda: posts() >= 30 or not runner.is_alive(), "thirty places")
            wait_until(lambda: server.streams_open() >= 1, "the user stream connected again")
            injected["expired"] = server.expire_listen_key()
            runner.join(DEADLINE_S * 4)
            assert not runner.is_alive()
            system.empty_the_venue()
            report = build_report(system)
        finally:
            system.stop()
        open_at_venue, held, trades = server.open_orders(), place.positions(), server.trade_count()
    assert injected["dropped"] >= 1 and injected["expired"] >= 1, injected  # the faults landed mid-run
    counts_add_up(report)
    assert report["orders"]["open"] == 0 and open_at_venue == [] and report["risk"]["freeze_confirmed"]
    assert report["fills"]["count"] == trades  # none lost, none counted twice
    positions = {symbol: Decimal(line["qty"]) for symbol, line in report["positions"]["by_symbol"].items()}
    assert positions == {symbol: lots * SPOT[symbol].lot_size for symbol, lots in held.items()}
    adapter = report["venue"]["adapter"]
    assert adapter["lost_answers"] >= 1 and adapter["rate_limited"] >= 1 and adapter["stream_reconnects"] >= 2
    assert adapter["listen_keys"] >= 2


def test_orders_someone_else_left_at_the_venue_are_canceled_before_the_first_quote() -> None:
    with venue() as place:
        someone = place.client()
        left = [someone.place(PlaceRequest("web_1", "BTCUSDT", Side.BUY, 5_000, 100)),
                someone.place(PlaceRequest("mm00000000-00000001", "ETHUSDT", Side.SELL, 20_000, 100))]  # fmt: skip
        someone.close()
        assert all(placed.accepted for placed in left) and len(place.server.open_orders()) == 2
        with keys_in_environment():
            system = System(create_runtime("threads"), resolve(overrides=place.settings(iterations=10),
                                                               override_source="setting"))  # fmt: skip
        try:
            system.start()
            open_before_the_first_tick = place.server.open_orders()
            system.run()
            system.empty_the_venue()
            report = build_report(system)
        finally:
            system.stop()
        open_at_the_end = place.server.open_orders()
    assert open_before_the_first_tick == []
    assert report["venue"]["at_start"]["open_orders"] == 2 and report["venue"]["at_start"]["canceled"] == 2
    assert open_at_the_end == [] and report["risk"]["freeze_confirmed"]
    counts_add_up(report)


def test_with_unknown_orders_adopt_they_are_kept_managed_and_canceled_at_the_end() -> None:
    with venue() as place:
        someone = place.client()
        kept = someone.place(PlaceRequest("web_2", "BTCUSDT", Side.BUY, 5_000, 100))
        someone.close()
        settings = place.settings(iterations=10, unknown_orders="adopt")
        with keys_in_environment():
            system = System(create_runtime("threads"), resolve(overrides=settings, override_source="setting"))
        try:
            system.start()
            still_open_at_start = place.server.open_orders()
            adopted = list(system.store_snapshot().open_orders)  # under the run's own client id, its number 1
            system.run()
            system.empty_the_venue()
            report = build_report(system)
        finally:
            system.stop()
        open_at_the_end = place.server.open_orders()
    assert kept.accepted and still_open_at_start == ["web_2"]
    assert len(adopted) == 1 and adopted[0].startswith("mm") and adopted[0].endswith("-00000001")
    assert report["venue"]["at_start"]["adopted"] == 1 and report["venue"]["at_start"]["canceled"] == 0
    assert open_at_the_end == [] and report["risk"]["freeze_confirmed"]
    counts_add_up(report)


def test_a_position_held_at_the_venue_is_taken_at_start_and_the_run_ends_with_the_venues() -> None:
    with venue({"BTC": "1.5", "ETH": "10", "USDT": "1000000"}) as place:
        _system, report = run_system(place, 10)
        held = place.positions()
    assert report["venue"]["at_start"]["positions"] == {"BTCUSDT": 5_000}  # 0.5 BTC above the flat 1
    positions = {symbol: Decimal(line["qty"]) for symbol, line in report["positions"]["by_symbol"].items()}
    assert positions == {symbol: lots * SPOT[symbol].lot_size for symbol, lots in held.items()}
    assert report["pnl"]["by_symbol"]["BTCUSDT"]  # booked at the first mark


def test_a_run_killed_mid_run_leaves_nothing_open_once_run_again_and_no_output_holds_the_keys(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY}\n{SECRET}\n")
    keys.chmod(0o600)
    env = {name: value for name, value in environ().items() if not name.startswith("BINANCE_")}
    outputs: list[str] = []
    with venue() as place:
        first = place.flags("--keys-file", str(keys), "--log-level", "DEBUG", "--events", str(tmp_path / "1.csv"),
                            "--metrics-file", str(tmp_path / "1.prom"))  # fmt: skip
        with running(first, env) as process:
            wait_until(lambda: bool(place.server.open_orders()) or process.poll() is not None,
                       "the run's orders open at the venue")  # fmt: skip
            assert process.poll() is None, process.communicate()[1][-2000:]
            place.fills.clear()  # what the kill leaves stays open until the next run
            process.send_signal(signal.SIGKILL)
            out, err = process.communicate(timeout=DEADLINE_S)
            outputs += [out, err]
        left_by_the_kill = place.server.open_orders()
        again = place.flags("--keys-file", str(keys), "--log-level", "DEBUG", "--iterations", "10", "--events",
                            str(tmp_path / "2.csv"), "--metrics-file", str(tmp_path / "2.prom"))  # fmt: skip
        with running(again, env) as process:
            out, err = process.communicate(timeout=DEADLINE_S * 2)
            outputs += [out, err]
        open_at_the_end, held = place.server.open_orders(), place.positions()
    assert process.returncode == 0, err[-3000:]
    report = json.loads(out)
    assert left_by_the_kill and not set(left_by_the_kill) & {o for o in open_at_the_end}
    assert report["venue"]["at_start"]["open_orders"] == len(left_by_the_kill)
    assert report["venue"]["at_start"]["canceled"] == len(left_by_the_kill)
    assert open_at_the_end == [] and report["risk"]["freeze_confirmed"] and report["orders"]["open"] == 0
    counts_add_up(report)
    positions = {symbol: Decimal(line["qty"]) for symbol, line in report["positions"]["by_symbol"].items()}
    assert positions == {symbol: lots * SPOT[symbol].lot_size for symbol, lots in held.items()}
    written = {path.name: path.read_text() for path in sorted(tmp_path.iterdir()) if path.name != "keys"}
    assert written["2.csv"] and written["2.prom"] and "1.csv" in written  # the killed run wrote no metrics file
    killed = {client_id.split("-")[0] for client_id in left_by_the_kill}  # its events file was not flushed yet
    again_ids = {line.split(",")[2].split("-")[0] for line in written["2.csv"].splitlines()[1:]}
    assert len(killed) == len(again_ids) == 1 and killed != again_ids  # no client id used twice
    outputs += written.values()
    for text in outputs:
        assert KEY not in text and SECRET not in text


def test_without_the_live_extra_a_real_venue_is_the_live_markets_one_line_and_exit_2(tmp_path: Path) -> None:
    hidden = tmp_path / "websockets"
    hidden.mkdir()
    (hidden / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    env = {**environ(), "PYTHONPATH": str(tmp_path), "BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}
    done = subprocess.run([*RUN_SHADOW, "--market", MARKET, "--venue", "binance-testnet"], capture_output=True,
                          text=True, env=env, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "pip install -e '.[live]'" in done.stderr, done.stderr


@pytest.mark.parametrize(("stop", "reason"), [(signal.SIGUSR1, KILL_SWITCH_REASON), (signal.SIGINT, RUN_ENDED)])
def test_the_kill_switch_and_ctrl_c_each_end_with_nothing_open_at_the_venue_and_confirmed(
    stop: signal.Signals, reason: str
) -> None:
    env = {**environ(), "BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}
    with venue() as place:
        iterations = ["--iterations", "40"] if stop == signal.SIGUSR1 else []  # Ctrl-C ends an open-ended run
        with running(place.flags(*iterations), env) as process:
            wait_until(lambda: bool(place.server.open_orders()) or process.poll() is not None,
                       "the run's orders open at the venue")  # fmt: skip
            process.send_signal(stop)
            out, err = process.communicate(timeout=DEADLINE_S * 2)
        open_at_the_end = place.server.open_orders()
    assert process.returncode == 0, err[-3000:]
    report = json.loads(out)
    assert report["risk"]["last_freeze_reason"] == reason and report["risk"]["freeze_events"] == 1
    assert report["risk"]["freeze_confirmed"] and report["orders"]["open"] == 0 and open_at_the_end == []
    counts_add_up(report)


def test_a_venue_whose_lot_is_not_the_engines_is_refused_before_anything_is_placed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    finer = {**SPOT, "ETHUSDT": SpotSymbol("ETHUSDT", "ETH", "USDT", Decimal("0.01"), Decimal("0.0001"))}
    with venue(sizes=finer) as place:
        someone = place.client()
        assert someone.sizes()["ETHUSDT"] == (Decimal("0.01"), Decimal("0.0001"))
        someone.close()
        with keys_in_environment():
            status = main([*place.flags("--iterations", "5")[2:]], environ={})
        placed = [request for request in place.server.requests if request == ("POST", "/api/v3/order")]
    err = capsys.readouterr().err
    assert status == 2 and placed == [] and err.count("\n") == 1, err
    assert "ETHUSDT trades at the venue in ticks of 0.01 and lots of 0.0001, the engine's are 0.01 and 0.001" in err
