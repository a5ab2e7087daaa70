"""A live session recorded through the local Binance stream server is a market ``bin/run-shadow --market DIR`` runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actors.markets._events import MarketEvent
from actors.markets.live._client import LiveMarket
from actors.markets.live._recorder import Recorder
from actors.testing._binance_stream_server import BinanceStreamServer, generated
from tests.unit.test_live_stream import received, settings_for, subscribed, wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_a_recorded_live_session_replays_with_market_dir_and_the_same_bytes_twice(tmp_path: Path) -> None:
    messages = list(generated(["BTCUSDT", "ETHUSDT"], 600, seed=5, start_price=3000.0))
    with BinanceStreamServer() as server:
        market = LiveMarket(
            settings_for(server, symbols=("BTCUSDT", "ETHUSDT")), recorder=Recorder(tmp_path, "binance")
        )
        with market:
            wait_until(subscribed(market), "the subscription")
            server.replay(messages)
            events: list[MarketEvent] = []
            wait_until(received(market, events, len(messages)), "every message")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    runs = [
        subprocess.run(
            [sys.executable, str(ROOT / "bin" / "run-shadow"), "--market", str(tmp_path)],
            capture_output=True,
            text=True,
            env=environ,
            timeout=120,
            check=False,
        )
        for _ in range(2)
    ]
    assert runs[0].returncode == 0, runs[0].stderr
    report = json.loads(runs[0].stdout)
    assert report["orders"]["placed"] > 0
    assert runs[0].stdout == runs[1].stdout
