"""A live session deciding by message (docs/LIVE.md, "Latency"), with no socket and no runtime: a stream of our
own (:class:`ScriptedStream`) on a clock the test moves.  A tick closes as messages arrive, names the symbols
they moved (every symbol at the first, a symbol gone stale once), and the client wakes the feed once per poll."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest

from actors.assembly._config import ConfigError, resolve
from actors.core._types import Instrument
from actors.markets._events import QUOTE, MarketEvent
from actors.markets.live._client import LiveMarket, LiveSettings
from actors.markets.live._session import LiveSession, Tape

BTC = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.001"), Decimal("100"))
ETH = Instrument("ETHUSDT", Decimal("0.01"), Decimal("0.001"), Decimal("100"))
INSTRUMENTS = {"BTCUSDT": BTC, "ETHUSDT": ETH}
BUCKET_US = 100_000


class ScriptedStream:
    """The session's stream: events the test queues, stale symbols it says, a clock it moves."""

    def __init__(self) -> None:
        self.now = 1_000_000
        self.queued: list[MarketEvent] = []
        self.stale_now: frozenset[str] = frozenset()

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def drain_notes(self) -> list[object]:
        return []

    def stale_changes(self, now_us: int) -> list[tuple[str, bool]]:
        return []

    def status(self) -> object:
        raise NotImplementedError

    def now_us(self) -> int:
        return self.now

    def poll(self, until_us: int) -> list[MarketEvent]:
        taken = [event for event in self.queued if event[0] <= until_us]
        self.queued = [event for event in self.queued if event[0] > until_us]
        return taken

    def stale(self, now_us: int) -> frozenset[str]:
        return self.stale_now

    def wake_on_arrival(self, wake: Callable[[], object]) -> None: ...

    def quote(self, symbol: str, bid: float = 99.99, ask: float = 100.01) -> None:
        self.now += 10
        self.queued.append((self.now, QUOTE, symbol, bid, 5.0, ask, 5.0))
        self.now += 10


def session() -> tuple[LiveSession, ScriptedStream]:
    stream = ScriptedStream()
    live = LiveSession(stream, INSTRUMENTS, BUCKET_US, Tape(1), down_after_us=10**9, by_message=True)
    return live, stream


def opened() -> tuple[LiveSession, ScriptedStream]:
    """A session whose first tick (every symbol named) has gone."""
    live, stream = session()
    stream.quote("BTCUSDT")
    stream.quote("ETHUSDT")
    assert live.advance() == [1]
    assert live.facts(1).names == frozenset(INSTRUMENTS)
    return live, stream


def test_no_tick_closes_before_every_symbol_has_quoted_and_the_first_names_every_symbol() -> None:
    live, stream = session()
    stream.quote("BTCUSDT")
    assert live.advance() == [] and not live.opened
    stream.quote("ETHUSDT")
    assert live.advance() == [1]
    facts = live.facts(1)
    assert facts.names == frozenset(INSTRUMENTS) and facts.stale == frozenset()
    assert [event[2] for event in live.tape.read(1)] == ["BTCUSDT", "ETHUSDT"]


def test_a_tick_closes_as_messages_arrive_and_names_only_the_symbols_they_moved() -> None:
    live, stream = opened()
    stream.quote("ETHUSDT", 99.98, 100.02)
    assert live.advance() == [2]  # long before a bucket has passed
    facts = live.facts(2)
    assert facts.names == frozenset({"ETHUSDT"}) and facts.newest_us == live.tape.read(2)[-1][0]
    assert live.top_of_book("ETHUSDT", 2).mid == 10_000
    stream.quote("BTCUSDT")
    stream.quote("BTCUSDT", 99.97, 100.01)
    assert live.advance() == [3] and live.facts(3).names == frozenset({"BTCUSDT"})
    assert len(live.tape.read(3)) == 2 and live.names_sent == 2 + 1 + 1


def test_nothing_arriving_closes_no_tick_until_a_bucket_has_passed_then_one_naming_nothing() -> None:
    live, stream = opened()
    assert live.advance() == []
    assert 0 < live.next_wake_s() <= BUCKET_US / 1e6
    stream.now += BUCKET_US
    assert live.advance() == [2]
    assert live.facts(2).names == frozenset() and live.tape.read(2) == []


def test_a_symbol_gone_stale_is_named_once_with_its_quotes_pulled_and_again_when_it_speaks() -> None:
    live, stream = opened()
    stream.stale_now = frozenset({"ETHUSDT"})
    stream.now += BUCKET_US  # staleness is asked of every symbol once a bucket
    assert live.advance() == [2]
    facts = live.facts(2)
    assert facts.names == frozenset({"ETHUSDT"}) and facts.stale == frozenset({"ETHUSDT"}) and live.stale_pulls == 1
    stream.now += BUCKET_US
    assert live.advance() == [3] and live.facts(3).names == frozenset()  # pulled already: not named again
    stream.stale_now = frozenset()
    stream.quote("ETHUSDT")
    assert live.advance() == [4]
    facts = live.facts(4)
    assert facts.names == frozenset({"ETHUSDT"}) and facts.stale == frozenset() and live.stale_pulls == 1


def test_every_symbol_stale_for_the_limit_is_a_market_down() -> None:
    stream = ScriptedStream()
    live = LiveSession(stream, INSTRUMENTS, BUCKET_US, Tape(1), down_after_us=3 * BUCKET_US, by_message=True)
    stream.quote("BTCUSDT")
    stream.quote("ETHUSDT")
    live.advance()
    stream.stale_now = frozenset(INSTRUMENTS)
    for _ in range(2):
        stream.now += BUCKET_US
        live.advance()
        assert not live.down
    stream.now += 2 * BUCKET_US
    live.advance()
    assert live.down


def test_the_client_wakes_its_engine_once_per_poll_however_many_frames_arrive() -> None:
    market = LiveMarket(LiveSettings(symbols=("BTCUSDT",)))
    wakes: list[int] = []
    market.wake_on_arrival(lambda: wakes.append(1))
    frame = json.dumps({"stream": "btcusdt@bookTicker",
                        "data": {"u": 1, "s": "BTCUSDT", "b": "99.99", "B": "5", "a": "100.01", "A": "5"}})  # fmt: skip
    market._on_frame(frame)
    market._on_frame(frame)
    assert len(wakes) == 1
    assert len(market.poll(market.now_us())) == 2
    market._on_frame('{"result":null,"id":7}')  # a reply queues nothing: no wake
    market._on_frame("not json")  # nor does a bad frame
    assert len(wakes) == 1
    market._on_frame(frame)
    assert len(wakes) == 2


def test_deciding_by_message_runs_on_the_pool_unless_a_runtime_is_named_and_needs_a_live_market() -> None:
    market = {"market": ["live:binance:btcusdt,ethusdt"], "live_decide": "message"}
    assert resolve(overrides=market, override_source="setting").runtime == "pool"
    named = resolve(overrides={**market, "runtime": "threads"}, override_source="setting")
    assert named.runtime == "threads" and named.live_decide == "message"
    assert resolve(overrides={"market": market["market"]}, override_source="setting").runtime == "threads"
    with pytest.raises(ConfigError, match="live_decide: decides a live market's ticks"):
        resolve(overrides={"live_decide": "message"}, override_source="setting")
    with pytest.raises(ConfigError, match="cancel_latency_ms: not with --live-decide message"):
        resolve(overrides={**market, "cancel_latency_ms": 5.0}, override_source="setting")
