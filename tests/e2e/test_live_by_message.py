"""A live run deciding by message (``--live-decide message``, docs/LIVE.md "Latency"), fed by the local Binance
stream server over real sockets on 127.0.0.1.

A tick closes as messages arrive and names the symbols they moved: only those quoters decide it, the others keep
what rests.  Nothing here waits for a while or counts on speed: each test waits for the condition it needs with a
deadline that only bounds a hang, and no figure of latency is asserted (speed is for the benchmark,
``tests/e2e/live_latency.py``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from actors.assembly._report import build_report
from actors.testing._binance_stream_server import BinanceStreamServer
from tests.e2e.run_kit import environ, running
from tests.e2e.test_live_run import (
    DEADLINE_S,
    MARKET,
    RUN_SHADOW,
    SYMBOLS,
    live_settings,
    live_system,
    wait_until,
)

pytestmark = pytest.mark.e2e
BTC, ETH = SYMBOLS


def counts_add_up(orders: dict[str, object]) -> bool:
    placed, filled, canceled, rejected, still = (orders[key] for key in ("placed", "filled", "canceled", "rejected",
                                                                          "open"))  # fmt: skip
    return placed == filled + canceled + rejected + still  # type: ignore[operator]


def test_each_tick_decides_only_the_symbols_its_messages_moved_and_the_others_keep_their_orders() -> None:
    with BinanceStreamServer() as server:
        settings = live_settings(server, iterations=100_000, live_decide="message", live_stale_ms=600_000,
                                 live_down_ms=86_400_000)  # fmt: skip
        with live_system(settings) as (system, run):
            live = system.live
            assert live is not None and live.by_message
            wait_until(lambda: any(server.subscriptions()), "the streams subscribed")
            server.book_ticker(ETH, "99.99", "5", "100.01", "5")
            server.book_ticker(BTC, "99.99", "5", "100.01", "5")
            def resting(symbol: str) -> list[str]:
                return sorted(order.client_id for order in system.venue.get_orders() if order.symbol == symbol)

            wait_until(lambda: bool(resting(ETH)) and bool(resting(BTC)), "the first tick's orders (every symbol's)")
            eth_orders = resting(ETH)
            for number in range(1, 6):  # BTCUSDT alone moves: a tick for each move, naming BTCUSDT alone
                named = live.names_sent  # a tick with nothing new (a bucket passed) names nobody
                server.book_ticker(BTC, f"{99.99 - number / 100:.2f}", "5", f"{100.01 - number / 100:.2f}", "5")
                wait_until(lambda: live.names_sent > named, f"the tick of move {number}")  # noqa: B023
            ticks = system.progress.sent_through
            wait_until(lambda: system.progress.done_through >= ticks, "every tick sent decided")
            live.end()
            run.join(DEADLINE_S)
            assert not run.is_alive()
            btc, eth = system.quoter_snapshot(BTC), system.quoter_snapshot(ETH)
            still_eth = resting(ETH)
            report = build_report(system)
    assert eth.intents_sent == 1 and btc.intents_sent == 6  # ETHUSDT's quoter decided the first tick alone
    assert still_eth == eth_orders  # untouched: its orders rest as placed
    assert report["live"]["decide"]["by"] == "message"
    assert report["live"]["decide"]["symbols_named"] == btc.intents_sent + eth.intents_sent
    assert report["latency"]["message_to_order_ms"]["n"] >= 1
    assert counts_add_up(report["orders"]) and report["orders"]["placed"] > len(eth_orders)


def test_a_kill_switch_deciding_by_message_ends_with_nothing_open_and_the_counts_adding_up() -> None:
    with BinanceStreamServer() as server:
        settings = live_settings(server, iterations=100_000, live_decide="message", live_stale_ms=600_000,
                                 live_down_ms=86_400_000)  # fmt: skip
        with live_system(settings) as (system, run):
            live = system.live
            assert live is not None
            wait_until(lambda: any(server.subscriptions()), "the streams subscribed")
            for symbol in SYMBOLS:
                server.book_ticker(symbol, "99.99", "5", "100.01", "5")
            wait_until(lambda: bool(system.venue.get_orders()), "the first tick's orders (for the freeze to cancel)")
            system.freeze("the test pulls the kill switch")
            after = system.progress.sent_through + 2
            price = 0

            def moving_and_decided() -> bool:
                nonlocal price
                price += 1  # ticks keep coming after the halt: quoters send marks, nothing is placed
                server.book_ticker(BTC, "99.99", str(price), "100.01", "5")
                return system.progress.done_through >= after

            wait_until(moving_and_decided, "two ticks decided after the kill switch")
            live.end()
            run.join(DEADLINE_S)
            assert not run.is_alive()
            open_at_venue = system.venue.get_orders()
            report = build_report(system)
    assert report["risk"]["frozen"] and report["risk"]["freeze_confirmed"]
    assert report["risk"]["last_freeze_reason"].startswith("Operator: ")
    assert open_at_venue == [] and report["orders"]["open"] == 0 and counts_add_up(report["orders"])


def test_a_silent_symbol_deciding_by_message_is_pulled_while_the_other_trades_on() -> None:
    with BinanceStreamServer() as server:
        settings = live_settings(server, iterations=100_000, live_decide="message", live_stale_ms=100,
                                 live_down_ms=86_400_000)  # fmt: skip
        with live_system(settings) as (system, run):
            live = system.live
            assert live is not None
            wait_until(lambda: any(server.subscriptions()), "the streams subscribed")
            server.book_ticker(ETH, "99.99", "5", "100.01", "5")
            price = 0

            def btc_moving_and(condition: bool) -> bool:
                nonlocal price
                price += 1
                server.book_ticker(BTC, "99.99", str(price), "100.01", "5")  # BTCUSDT never goes quiet
                return condition

            wait_until(lambda: btc_moving_and(system.progress.done_through >= 1), "the first tick decided")
            wait_until(lambda: btc_moving_and(live.stale_pulls >= 1), "ETHUSDT stale")
            pulled_at = system.progress.sent_through
            wait_until(lambda: btc_moving_and(system.progress.done_through > pulled_at), "a tick decided after it")
            live.end()
            run.join(DEADLINE_S)
            symbols = sorted({order.symbol for order in system.venue.get_orders()})
            report = build_report(system)
    assert symbols == [BTC]  # ETHUSDT's quotes pulled, BTCUSDT's rest
    assert report["live"]["quotes_pulled_stale"] >= 1 and counts_add_up(report["orders"])


def test_a_market_down_deciding_by_message_halts_trading_naming_it_with_nothing_left_open() -> None:
    with BinanceStreamServer() as server:
        command = [*RUN_SHADOW, "--market", MARKET, "--live-ws-url", server.url, "--live-rest-url", server.rest_url,
                   "--tick-ms", "20", "--iterations", "100", "--live-stale-ms", "60", "--live-down-ms", "200",
                   "--live-decide", "message"]  # fmt: skip
        with running(command, environ()) as process:
            wait_until(lambda: any(server.subscriptions()) or process.poll() is not None, "the subscription")
            for symbol in SYMBOLS:
                server.book_ticker(symbol, "99.99", "5", "100.01", "5")  # the market opens, then says nothing
            out, err = process.communicate(timeout=DEADLINE_S)
    assert process.returncode == 0, err
    report = json.loads(out)
    assert report["risk"]["frozen"] and report["risk"]["freeze_confirmed"] and report["orders"]["open"] == 0
    assert report["risk"]["last_freeze_reason"].startswith("Market down: BTCUSDT,ETHUSDT stale for ")
    assert report["live"]["decide"]["by"] == "message" and counts_add_up(report["orders"])


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--live-decide", "message", "--journal", "JOURNAL"], "--journal"),
        (["--live-decide", "message", "--entry-latency-ms", "5"], "--entry-latency-ms"),
        (["--live-decide", "message", "--market", "sample"], "live"),
    ],
)
def test_what_deciding_by_message_cannot_take_is_one_line_naming_it_and_exit_2(
    tmp_path: Path, flags: list[str], named: str
) -> None:
    flags = [str(tmp_path / "journal") if flag == "JOURNAL" else flag for flag in flags]
    market = [] if "--market" in flags else ["--market", MARKET]
    done = subprocess.run([*RUN_SHADOW, *market, *flags], capture_output=True, text=True, env=environ(), timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and named in done.stderr, done.stderr


def test_a_run_deciding_by_message_ends_cleanly_while_the_market_goes_on_talking() -> None:
    """``--iterations`` ticks and the report, however much the market says meanwhile; nothing undelivered logged."""
    with BinanceStreamServer() as server:
        command = [*RUN_SHADOW, "--market", MARKET, "--live-ws-url", server.url, "--live-rest-url", server.rest_url,
                   "--tick-ms", "20", "--iterations", "30", "--live-decide", "message"]  # fmt: skip
        with running(command, environ()) as process:
            wait_until(lambda: any(server.subscriptions()) or process.poll() is not None, "the subscription")
            price = 0

            def talking_until_it_ends() -> bool:
                nonlocal price
                price += 1
                server.book_ticker(SYMBOLS[price % 2], "99.99", str(price), "100.01", "5")
                return process.poll() is not None

            wait_until(talking_until_it_ends, "the run's end")
            out, err = process.communicate(timeout=DEADLINE_S)
    assert process.returncode == 0, err
    assert json.loads(out)["execution"]["ticks"] == 30
    assert "dead letter" not in err, err
