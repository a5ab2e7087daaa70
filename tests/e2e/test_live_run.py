"""The engine on a live market, fed by the local Binance stream server over real sockets on 127.0.0.1.

Nothing here sleeps for a while: each test waits for the condition it needs
(the subscription, a tick sent, a symbol stale) with a deadline that only
bounds a hang.  A live run's ticks are wall-clock buckets, so a run of N
ticks cannot end before N buckets have passed, however fast the machine.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from actors.assembly._config import resolve
from actors.assembly._market_setup import settle
from actors.assembly._recovery import LIVE_JOURNAL, STORE_JOURNAL, VENUE_JOURNAL
from actors.assembly._report import build_report
from actors.assembly._system import System
from actors.core._orders import OrderStore
from actors.core._strategy import Quotes, Strategy, StrategyInput
from actors.markets.live._client import LiveMarket
from actors.markets.live._session import read_live_journal
from actors.runtime import create_runtime
from actors.testing._binance_stream_server import BinanceStreamServer, generated
from actors.wire._journal import JournalReader, JournalWriter, journal_fingerprint
from tests.e2e.run_kit import environ, records, running, venue_tick

ROOT = Path(__file__).resolve().parents[2]
RUN_SHADOW = [sys.executable, str(ROOT / "bin" / "run-shadow")]
DEADLINE_S = 60.0
SYMBOLS = ["BTCUSDT", "ETHUSDT"]
MARKET = "live:binance:btcusdt,ethusdt"
COMPARED = ("orders", "fills", "positions", "pnl", "risk")
"""The report's sections that say what was ordered and what filled: a live run's and its replay's are equal."""

pytestmark = pytest.mark.e2e
AT_THE_TOUCH = f"{__name__}:AtTheTouch"


class AtTheTouch(Strategy):
    """Quotes at the best bid and ask, one lot more for each trade of the tick (up to 3) and each level beyond the
    best: its orders say whether it was given the same book, trades and depth in a live run and in its replay."""

    READS_OWN_STATE = False

    def quote(self, state: StrategyInput) -> Quotes:
        market = state.market
        lots = 1 + min(3, len(market.trades)) + len(market.bids) + len(market.asks)
        if market.bid_ticks >= market.ask_ticks:  # the mid alone: a tick either side of it
            return Quotes.two_sided(market.mid_ticks - 1, lots, market.mid_ticks + 1, lots)
        return Quotes.two_sided(market.bid_ticks, lots, market.ask_ticks, lots)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE_S:.0f} s: {what}"
        time.sleep(0.002)


def live_settings(server: BinanceStreamServer, **more: Any) -> dict[str, Any]:
    return {
        "market": [MARKET],
        "live_ws_url": server.url,
        "live_rest_url": server.rest_url,
        "tick_ms": 50,
        "decision_deadline_ms": 60_000,  # no tick decided at its deadline: the replay has none
        "spread_bps": 2,
        "edge_threshold": -100,
        **more,
    }


@contextmanager
def live_system(settings: dict[str, Any]) -> Iterator[tuple[System, threading.Thread]]:
    """A live system started, its run in a thread of its own; stopped on the way out."""
    system = System(create_runtime("threads"), resolve(overrides=settings, override_source="setting"))
    system.start()
    run = threading.Thread(target=system.run, daemon=True)
    run.start()
    try:
        yield system, run
    finally:
        if system.live is not None:
            system.live.end()
        run.join(DEADLINE_S)
        system.stop()


def sent_through(system: System, tick: int) -> Callable[[], bool]:
    return lambda: system.progress.sent_through >= tick


def replayed(directory: Path, iterations: int, **more: Any) -> dict[str, Any]:
    settings = {"market": [str(directory)], "iterations": iterations, "tick_ms": 50, "spread_bps": 2,
                "edge_threshold": -100, **more}  # fmt: skip
    system = System(create_runtime("threads"), resolve(overrides=settings, override_source="setting"))
    system.start()
    system.run()
    try:
        return build_report(system)
    finally:
        system.stop()


@pytest.mark.parametrize("strategy", ["symmetric", AT_THE_TOUCH])
def test_a_live_session_recorded_then_replayed_gives_the_same_orders_and_fills(tmp_path: Path, strategy: str) -> None:
    """The live run's tick k is the bucket [start + (k-1) T, start + k T) of receive times, ``start`` the first
    message's time rounded down to a whole T, as the replay cuts the recording; each symbol's mid before its first
    quote is that quote's, as the replay's (the live run waits for every symbol's first quote to send tick 1).  A
    strategy quoting at the touch reads the top of book and the trades each tick carries: the replay's."""
    messages = list(generated(SYMBOLS, 600, seed=5, start_price=100.0))
    rounds = [messages[start : start + 40] for start in range(0, len(messages), 40)]
    iterations = len(rounds) + 2
    with BinanceStreamServer() as server:
        settings = live_settings(server, record=str(tmp_path), iterations=iterations, strategy=strategy)
        with live_system(settings) as (system, run):
            live = system.live
            assert live is not None
            wait_until(lambda: any(server.subscriptions()), "the streams subscribed")
            for number, batch in enumerate(rounds, start=1):
                server.replay(batch)
                wait_until(sent_through(system, number), f"tick {number} sent")
            run.join(DEADLINE_S)
            assert not run.is_alive()
            report = build_report(system)
    again = replayed(tmp_path, iterations, strategy=strategy)
    assert report["fills"]["count"] > 0 and report["orders"]["placed"] > 0  # something to compare
    assert report["latency"]["ticks_decided_at_deadline"] == 0
    assert report["live"]["quotes_pulled_stale"] == 0  # a session with a stale symbol would replay differently
    for section in COMPARED:
        assert report[section] == again[section], section


def test_a_depth_session_is_recorded_and_replays_with_the_same_book_orders_and_fills(tmp_path: Path) -> None:
    """With ``--live-depth`` the book the client applied (the snapshot, then each diff) goes to the ticks, to the
    venue's matching and to an ``incremental_book_L2`` file; the replay of that file gives the same ticks: a
    strategy sizing by the depth levels it is given orders the same, and the venue fills the same."""
    messages = list(generated(SYMBOLS, 400, seed=7, start_price=100.0))
    rounds = [messages[start : start + 40] for start in range(0, len(messages), 40)]
    iterations = len(rounds) + 2
    with BinanceStreamServer() as server:
        for symbol in SYMBOLS:
            server.set_book(symbol, [("99.98", "2"), ("99.97", "3")], [("100.02", "2"), ("100.03", "3")])
        settings = live_settings(server, record=str(tmp_path), iterations=iterations, strategy=AT_THE_TOUCH,
                                 live_depth=True, live_stale_ms=600_000, live_down_ms=86_400_000)  # fmt: skip
        with live_system(settings) as (system, run):
            live = system.live
            assert live is not None
            market = live.stream
            assert isinstance(market, LiveMarket)
            wait_until(lambda: all(market.book(s)[0] for s in SYMBOLS), "both books live from their snapshots")
            for number, batch in enumerate(rounds, start=1):
                for stream, data in batch:
                    server.replay([(stream, data)])
                    if stream.endswith("@bookTicker"):  # the book moves with the quote: its best is the quote
                        server.depth(data["s"], bids=[(data["b"], data["B"])], asks=[(data["a"], data["A"])])
                wait_until(sent_through(system, number), f"tick {number} sent")
            run.join(DEADLINE_S)
            assert not run.is_alive()
            report = build_report(system)
    names = sorted(p.name.split("_")[1] for p in tmp_path.iterdir())
    assert names == ["incremental", "quotes", "trades"]
    again = replayed(tmp_path, iterations, strategy=AT_THE_TOUCH)
    assert report["fills"]["count"] > 0 and report["orders"]["placed"] > 0
    assert report["latency"]["ticks_decided_at_deadline"] == 0 and report["live"]["quotes_pulled_stale"] == 0
    assert again["market"]["depth"]["rows"] > 0 and again["market"]["depth"]["gaps"] == {}  # the replay read the depth
    for section in COMPARED:
        assert report[section] == again[section], section


def test_a_silent_symbol_has_its_quotes_pulled_while_the_other_trades_on(tmp_path: Path) -> None:
    with BinanceStreamServer() as server:
        settings = live_settings(server, iterations=100_000, live_stale_ms=100, live_down_ms=86_400_000)
        with live_system(settings) as (system, _run):
            live = system.live
            assert live is not None
            wait_until(lambda: any(server.subscriptions()), "the streams subscribed")
            server.book_ticker("ETHUSDT", "99.99", "5", "100.01", "5")
            price = 0

            def btc_quoted_and(condition: Callable[[], bool]) -> Callable[[], bool]:
                def check() -> bool:
                    nonlocal price
                    price += 1
                    server.book_ticker("BTCUSDT", "99.99", f"{price}", "100.01", "5")  # BTCUSDT never goes quiet
                    return condition()

                return check

            wait_until(btc_quoted_and(lambda: system.progress.done_through >= 1), "the first tick decided")
            wait_until(btc_quoted_and(lambda: live.stale_pulls >= 1), "ETHUSDT stale")
            first_pull = system.progress.sent_through
            decided_after = btc_quoted_and(lambda: system.progress.done_through > first_pull)
            wait_until(decided_after, "a tick decided after it")
            live.end()
            _run.join(DEADLINE_S)
            symbols = sorted({order.symbol for order in system.venue.get_orders()})
            report = build_report(system)
    assert symbols == ["BTCUSDT"]  # ETHUSDT's quotes pulled, BTCUSDT's rest
    assert report["live"]["quotes_pulled_stale"] >= 1 and report["live"]["stream"]["stale_episodes"] >= 1


def test_a_market_down_longer_than_its_limit_halts_trading_naming_it() -> None:
    with BinanceStreamServer() as server:
        command = [*RUN_SHADOW, "--market", MARKET, "--live-ws-url", server.url, "--live-rest-url", server.rest_url,
                   "--tick-ms", "20", "--iterations", "100", "--live-stale-ms", "60",
                   "--live-down-ms", "200"]  # fmt: skip
        with running(command, environ()) as process:
            wait_until(lambda: any(server.subscriptions()) or process.poll() is not None, "the subscription")
            server.book_ticker("BTCUSDT", "99.99", "5", "100.01", "5")
            server.book_ticker("ETHUSDT", "99.99", "5", "100.01", "5")  # the market opens, then says nothing
            out, err = process.communicate(timeout=DEADLINE_S)
    assert process.returncode == 0, err
    report = json.loads(out)
    assert report["risk"]["frozen"] and report["risk"]["freeze_confirmed"]
    assert report["risk"]["last_freeze_reason"].startswith("Market down: BTCUSDT,ETHUSDT stale for ")
    assert "live market: Market down: " in err


def test_a_dropped_connection_reconnects_and_pulls_the_quotes_until_the_market_speaks_again() -> None:
    with BinanceStreamServer() as server:
        settings = live_settings(server, iterations=100_000, live_stale_ms=60_000)
        with live_system(settings) as (system, _run):
            live = system.live
            assert live is not None
            wait_until(lambda: any(server.subscriptions()), "the streams subscribed")
            for symbol in SYMBOLS:
                server.book_ticker(symbol, "99.99", "5", "100.01", "5")
            wait_until(lambda: system.progress.done_through >= 1, "the first tick decided")
            server.disconnect()
            wait_until(lambda: live.stale_pulls >= 2, "both symbols pulled after the drop")
            # subscribed, not only connected: a frame sent before the server took the new SUBSCRIBE reaches nobody
            wait_until(lambda: live.stream.status().subscribed, "the connection back, its streams subscribed")
            for symbol in SYMBOLS:
                server.book_ticker(symbol, "99.98", "5", "100.02", "5")
            wait_until(lambda: not live.stream.stale(live.stream.now_us()), "the market back")
            status = live.stream.status()
    assert status.counts["reconnects"] >= 1 and status.counts["connections"] >= 2


def test_ctrl_c_ends_an_open_ended_live_run_with_its_report(tmp_path: Path) -> None:
    with BinanceStreamServer() as server:
        command = [*RUN_SHADOW, "--market", MARKET, "--live-ws-url", server.url, "--live-rest-url", server.rest_url,
                   "--tick-ms", "20", "--record", str(tmp_path)]  # fmt: skip
        with running(command, environ()) as process:
            wait_until(lambda: any(server.subscriptions()) or process.poll() is not None, "the subscription")
            for symbol in SYMBOLS:
                server.book_ticker(symbol, "99.99", "5", "100.01", "5")
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=DEADLINE_S)
    assert process.returncode == 0, err
    report = json.loads(out)
    assert report["live"]["venue"] == MARKET and report["execution"]["iterations"] == report["execution"]["ticks"]
    assert sorted(p.name.split("_")[1] for p in tmp_path.iterdir()) == ["quotes", "trades"]


def test_without_the_live_extra_a_live_market_is_one_line_naming_the_install_and_exit_2(tmp_path: Path) -> None:
    hidden = tmp_path / "websockets"
    hidden.mkdir()
    (hidden / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    env = environ()
    env["PYTHONPATH"] = str(tmp_path)
    done = subprocess.run([*RUN_SHADOW, "--market", MARKET], capture_output=True, text=True, env=env, timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "pip install -e '.[live]'" in done.stderr, done.stderr


# ------------------------------------------------------------ a journaled live run: killed, resumed, finished

UNENDING = 10_000_000
"""Ticks a run to be killed is asked for: it is killed long before, on any machine."""


def journaled_command(server: BinanceStreamServer, journal: Path, iterations: int, *more: str) -> list[str]:
    return [*RUN_SHADOW, "--market", MARKET, "--live-ws-url", server.url, "--live-rest-url", server.rest_url,
            "--tick-ms", "50", "--spread-bps", "2", "--edge-threshold", "-100", "--decision-deadline-ms", "60000",
            "--journal", str(journal), "--iterations", str(iterations), *more]  # fmt: skip


class Market:
    """The local server's market, moved a few messages at a time, each time a waiting test looks."""

    def __init__(self, server: BinanceStreamServer, *, depth: bool = False) -> None:
        """``depth``: the book moves with each quote (its best is the quote), from a snapshot of two levels a side."""
        self.server = server
        self.messages = generated(SYMBOLS, 10_000_000, seed=11, start_price=100.0)
        self.depth = depth
        if depth:
            for symbol in SYMBOLS:
                server.set_book(symbol, [("99.98", "2"), ("99.97", "3")], [("100.02", "2"), ("100.03", "3")])

    def moving(self, condition: Callable[[], bool]) -> Callable[[], bool]:
        def check() -> bool:
            for stream, data in itertools.islice(self.messages, 4):
                self.server.replay([(stream, data)])
                if self.depth and stream.endswith("@bookTicker"):
                    self.server.depth(data["s"], bids=[(data["b"], data["B"])], asks=[(data["a"], data["A"])])
            return condition()

        return check

    def until_ended(self, process: subprocess.Popen[str]) -> tuple[str, str]:
        """Move the market until ``process`` ends (it ends when its ticks are run: buckets of wall-clock time)."""
        wait_until(self.moving(lambda: process.poll() is not None), "the run to end")
        return process.communicate(timeout=DEADLINE_S)


def traded_and_filled(journal: Path) -> bool:
    kinds = {record[0] for record in records(journal / STORE_JOURNAL)}
    return {"ack", "fill"} <= kinds


def store_of(journal: Path) -> tuple[OrderStore, set[str]]:
    """The store rebuilt from its journal, and the fill ids it applied."""
    store, fills = OrderStore(retain_ticks=3), set()
    for record in JournalReader(journal / STORE_JOURNAL):
        if record[0] in ("freeze", "finished"):
            continue
        applied = store.replay(record)
        if applied is not None:
            fills.add(applied.fill_id)
    return store, fills


def restored_venue_orders(
    server: BinanceStreamServer, journal: Path, into: Path, recorded: Path, more: dict[str, Any]
) -> list[str]:
    """The client ids open at the venue restored from its journal and the live journal, as a resume restores it.

    Under the run's settings, ``--record`` included (it is in the journals' fingerprint): the system built
    creates a recording's files in ``recorded`` (it never starts, so they stay empty).
    """
    into.mkdir()
    for name in (VENUE_JOURNAL, LIVE_JOURNAL):
        (into / name).write_bytes((journal / name).read_bytes())
    settings = live_settings(server, journal=str(into), record=str(recorded), **more)
    system = System(create_runtime("threads"), resolve(overrides=settings, override_source="setting"))
    try:
        return sorted(order.client_id for order in system.venue.get_orders())
    finally:
        system.stop()


MATCHING = {
    "on-quotes-and-trades": {},
    "on-the-depth-book": {"live_depth": True, "live_stale_ms": 600_000, "live_down_ms": 86_400_000},
    "with-latencies": {"entry_latency_ms": 45.0, "cancel_latency_ms": 45.0},
}
"""How the venue matches: on the quotes and trades, on the depth book, with orders and cancels that take time to
land (measured on the session's grid, which a resume moves)."""


def flags_of(settings: dict[str, Any]) -> list[str]:
    flags: list[str] = []
    for key, value in settings.items():
        flag = f"--{key.replace('_', '-')}"
        flags += [flag] if value is True else [flag, str(value)]
    return flags


@pytest.mark.parametrize("matching", list(MATCHING))
def test_a_journaled_live_session_killed_with_sigkill_resumes_on_the_live_market_naming_the_gap(
    tmp_path: Path, matching: str
) -> None:
    """The venue's journal replays against the ticks the live journal kept, so the venue comes back as it was; the
    resumed session's first bucket is the tick after the venue's last, and the report names the time between.
    Killed twice: the second resume replays the venue over two sessions' ticks, each on its own grid."""
    journal, recorded = tmp_path / "journal", tmp_path / "recorded"
    more = MATCHING[matching]
    with BinanceStreamServer() as server:
        market = Market(server, depth=bool(more.get("live_depth")))
        command = journaled_command(server, journal, UNENDING, "--record", str(recorded), *flags_of(more))
        reached, fills_before, killed_recordings = [0], set(), {}
        for _ in range(2):
            with running(command, environ()) as victim:
                def trading_on(before: set[str] = fills_before, after_tick: int = reached[-1]) -> bool:
                    """An order acknowledged and a fill since the last kill, on a tick the venue had not reached."""
                    return (traded_and_filled(journal) and store_of(journal)[1] > before
                            and venue_tick(journal / VENUE_JOURNAL) > after_tick)  # fmt: skip

                wait_until(market.moving(lambda: trading_on() or victim.poll() is not None), "a new fill")
                victim.send_signal(signal.SIGKILL)
                victim.communicate()
            assert victim.returncode == -signal.SIGKILL
            reached.append(venue_tick(journal / VENUE_JOURNAL))
            fills_before = store_of(journal)[1]
            killed_recordings |= {p.name: p.read_bytes() for p in recorded.iterdir() if p.name not in killed_recordings}
        last = reached[-1] + 20
        again = journaled_command(server, journal, last, "--record", str(recorded), *flags_of(more), "--log-level",
                                  "INFO")  # fmt: skip
        with running(again, environ()) as survivor:
            out, err = market.until_ended(survivor)
        assert survivor.returncode == 0, err
        # --record across each kill: the killed sessions' files are as they left them, the last one's are new ones
        assert len(list(recorded.iterdir())) == 3 * len(killed_recordings) // 2
        assert all((recorded / name).read_bytes() == data for name, data in killed_recordings.items())
        at_venue = restored_venue_orders(server, journal, tmp_path / "venue", recorded, more)
    report = json.loads(out)
    execution, orders, resumed = report["execution"], report["orders"], report["live"]["resumed"]
    assert f"resume after tick {reached[-1]} " in err
    assert execution["resumed_after_tick"] == reached[-1] and execution["ticks"] == last
    assert resumed["after_tick"] == reached[-1]
    assert resumed["down_s"] == round(resumed["ticks_missed"] * 0.05, 3)  # both grids start on a whole tick
    assert orders["placed"] == orders["filled"] + orders["canceled"] + orders["rejected"] + orders["open"]
    risk = report["risk"]
    assert not risk["frozen"], risk["last_freeze_reason"]  # positions agreed with the restored venue's at reconciling
    store, fills_after = store_of(journal)
    assert fills_before <= fills_after and store.placed == orders["placed"]
    assert sorted(order.client_id for order in store.open_orders()) == at_venue
    settings = live_settings(server, journal=str(journal), record=str(recorded), **more)
    settled = settle(resolve(overrides=settings, override_source="setting"))
    sessions = read_live_journal(journal / LIVE_JOURNAL, settled.instruments, journal_fingerprint(settled.config))
    assert [opening.first_tick for opening in sessions.openings] == [1, reached[1] + 1, reached[2] + 1]
    assert sessions.last_tick >= last


def test_a_journaled_live_run_not_killed_ends_and_its_finished_journal_prints_the_same_report_connecting_to_nothing(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal"
    with BinanceStreamServer() as server:
        market = Market(server)
        command = journaled_command(server, journal, 12)
        with running(command, environ()) as first:
            out, err = market.until_ended(first)
        assert first.returncode == 0, err
        before = {path.name: path.read_bytes() for path in journal.iterdir() if path.name != "lock"}
        accepted = server.accepted
        again = subprocess.run(command, capture_output=True, text=True, env=environ(), timeout=120, check=False)
        assert again.returncode == 0, again.stderr
        assert server.accepted == accepted  # nothing connected: a finished run runs nothing
    assert again.stdout == out
    assert {path.name: path.read_bytes() for path in journal.iterdir() if path.name != "lock"} == before
    report = json.loads(out)
    assert report["execution"]["ticks"] == 12 and report["execution"]["resumed_after_tick"] is None
    assert report["live"]["resumed"] is None and report["orders"]["placed"] > 0
    assert sorted(before) == sorted([LIVE_JOURNAL, STORE_JOURNAL, VENUE_JOURNAL, "risk.journal"])


def live_journal_of_another_market(path: Path, server: BinanceStreamServer) -> None:
    """A live journal written by a run on Binance USDⓈ-M: another venue's data."""
    settings = live_settings(server, market=["live:binance-usdm:btcusdt,ethusdt"])
    config = settle(resolve(overrides=settings, override_source="setting")).config
    JournalWriter(path, fingerprint=journal_fingerprint(config)).close()


def live_journal_with_a_tick_before_its_opening(path: Path, server: BinanceStreamServer) -> None:
    config = settle(resolve(overrides=live_settings(server), override_source="setting")).config
    writer = JournalWriter(path, fingerprint=journal_fingerprint(config))
    writer.append(["tick", 1, []])
    writer.close()


def no_live_journal_beside_a_venue_journal_at_tick_1(path: Path, server: BinanceStreamServer) -> None:
    config = settle(resolve(overrides=live_settings(server), override_source="setting")).config
    writer = JournalWriter(path.with_name(VENUE_JOURNAL), fingerprint=journal_fingerprint(config))
    writer.append(["advance", 1])
    writer.close()


@pytest.mark.parametrize(
    ("write", "said"),
    [(live_journal_of_another_market, "written with data_identity="),
     (live_journal_with_a_tick_before_its_opening, "damaged at byte "),
     (no_live_journal_beside_a_venue_journal_at_tick_1, "holds the market up to tick 0, but the venue's journal")],
    ids=["another-market", "a-tick-before-its-opening", "missing-while-the-venue-went-on"],
)  # fmt: skip
def test_a_live_journal_not_this_runs_is_refused_in_one_line_with_exit_2(
    tmp_path: Path, write: Callable[[Path, BinanceStreamServer], None], said: str
) -> None:
    journal = tmp_path / "journal"
    journal.mkdir()
    with BinanceStreamServer() as server:
        write(journal / LIVE_JOURNAL, server)
        command = journaled_command(server, journal, 12)  # the settings live_settings gives
        done = subprocess.run(command, capture_output=True, text=True, env=environ(), timeout=120, check=False)
        assert server.accepted == 0
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and LIVE_JOURNAL in done.stderr and said in done.stderr, done.stderr
