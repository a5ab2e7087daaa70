"""Instruments as venues define them (spot, linear, inverse), and a recorded market's own times in its outputs.

The inverse run is golden-style: a small BitMEX XBTUSD recording written
here, its report's bytes committed (``inverse-xbtusd.golden.json`` beside
this module, not in ``golden/``, whose files are test_golden_reports.py's
configurations), regenerated with ``ACTORS_REGEN_GOLDEN=1`` as they are.
"""

from __future__ import annotations

import json
import math
import os
from decimal import Decimal
from pathlib import Path

import pytest
from loguru import logger
from prometheus_client.parser import text_string_to_metric_families

from actors.assembly._config import ConfigError, resolve
from actors.assembly._instrument_file import load_instruments
from actors.assembly._market_setup import settle, warn_market_gaps
from actors.cli._run_shadow import main
from actors.core._clock import MarketClock
from actors.core._instruments import Spec, instrument_for
from tests.unit.market_kit import tardis_quotes, tardis_trades

GOLDEN = Path(__file__).parent / "inverse-xbtusd.golden.json"
T0_US = 1_709_251_200_000_000
"""2024-03-01T00:00:00Z: a recording that is not the frozen clock's day."""


def xbtusd_files(directory: Path) -> list[Path]:
    """60 s of BitMEX XBTUSD (contracts of 1 USD): a quote every 250 ms swinging 60,000 +- 300, a trade through each
    side every second, so both sides of the engine's quotes fill."""
    quotes, trades = [], []
    for n in range(240):
        mid = 60_000 + round(300 * math.sin(n / 20)) + 0.25  # ticks of 0.5: bid and ask 0.5 apart around it
        quotes.append((T0_US + n * 250_000, "XBTUSD", mid - 0.25, 50_000.0, mid + 0.25, 50_000.0))
        if n % 4 == 1:
            side, price = ("sell", mid - 120.25) if n % 8 == 1 else ("buy", mid + 120.25)
            trades.append((T0_US + n * 250_000 + 1, "XBTUSD", side, price, 20_000.0))
    return [tardis_quotes(directory / "quotes.csv", quotes), tardis_trades(directory / "trades.csv", trades)]


def run_json(flags: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, dict[str, object]]:
    assert main(flags, environ={}) == 0
    out = capsys.readouterr().out
    return out, json.loads(out)


def test_an_inverse_recording_runs_with_its_notional_in_usd_and_its_pnl_in_coin_converted_at_the_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = xbtusd_files(tmp_path)
    events, metrics = tmp_path / "events.csv", tmp_path / "run.prom"
    flags = ["--market", str(files[0]), "--market", str(files[1]), "--tick-ms", "500", "--edge-threshold", "-100",
             "--runtime", "sim"]  # fmt: skip
    text, report = run_json([*flags, "--events", str(events), "--metrics-file", str(metrics)], capsys)
    golden = GOLDEN
    if os.environ.get("ACTORS_REGEN_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()
    # the golden holds fills, an open position and its coin figures: the run says something
    pnl = report["pnl"]["by_symbol"]["XBTUSD"]  # type: ignore[index]
    assert report["fills"]["count"] > 0  # type: ignore[index]
    assert pnl["pnl_currency"] == "coin, converted to USD at the mark"
    assert pnl["total_usd"] == pytest.approx(pnl["total_coin"] * pnl["usd_per_coin"], abs=0.02)
    position = report["positions"]["by_symbol"]["XBTUSD"]  # type: ignore[index]
    assert position["notional_usd"] == abs(float(position["qty"]))  # contracts of 1 USD, whatever the price
    # times are the market's: tick 1 ends at 00:00:00.500 on 2024-03-01
    rows = events.read_text().splitlines()
    assert rows[1].startswith("1,2024-03-01T00:00:00.500Z,")
    samples = {s.name: s.value for f in text_string_to_metric_families(metrics.read_text()) for s in f.samples}
    ticks = report["execution"]["ticks"]  # type: ignore[index]
    assert samples["mm_tick_time_seconds"] == T0_US / 1e6 + ticks * 0.5


def test_a_synthetic_run_keeps_the_frozen_clock_in_its_event_log_and_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events, metrics = tmp_path / "events.csv", tmp_path / "run.prom"
    _, report = run_json(["--iterations", "5", "--runtime", "sim", "--events", str(events), "--metrics-file",
                          str(metrics)], capsys)  # fmt: skip
    assert events.read_text().splitlines()[1].startswith("1,2025-01-01T00:00:01Z,")
    samples = {s.name: s.value for f in text_string_to_metric_families(metrics.read_text()) for s in f.samples}
    assert samples["mm_tick_time_seconds"] == 1_735_689_600 + report["execution"]["ticks"]  # type: ignore[index]


def test_a_market_clock_is_the_end_of_each_bucket_written_as_finely_as_the_ticks_need() -> None:
    assert MarketClock(T0_US, 1_000_000).iso(3) == "2024-03-01T00:00:03Z"
    assert MarketClock(T0_US, 100_000).iso(3) == "2024-03-01T00:00:00.300Z"
    assert MarketClock(T0_US + 7, 1_000_000).iso(0) == "2024-03-01T00:00:00.000007Z"


def test_an_instruments_table_says_what_a_contract_is(tmp_path: Path) -> None:
    path = tmp_path / "i.toml"
    path.write_text('[BTCUSDPERP]\nkind = "inverse"\ncontract_size = "100"\n'
                    '[ETHUSDT]\nkind = "linear"\ntick_size = "0.01"\nlot_size = "0.001"\n')  # fmt: skip
    table = load_instruments(path)
    assert table["BTCUSDPERP"] == Spec(None, None, "inverse", Decimal(100))
    coin_m = instrument_for("BTCUSDPERP", 1, table["BTCUSDPERP"])
    assert (coin_m.kind, coin_m.contract_size, coin_m.tick_size) == ("inverse", Decimal(100), Decimal("0.1"))
    assert instrument_for("ETHUSDT", 1, table["ETHUSDT"]).kind == "linear"
    assert instrument_for("XBTUSD", 1).notional_usd(120_000, 3) == 300.0  # the catalogue's: 3 lots of 100 x 1 USD


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[FOOUSD]\nkind = "inverse"\n', "FOOUSD: an inverse contract needs contract_size"),
        ('[BTCUSDT]\nkind = "future"\n', r"BTCUSDT.kind: expected one of spot, linear, inverse"),
        ('[BTCUSDT]\nkind = "spot"\ncontract_size = "5"\n', "BTCUSDT.contract_size: a spot instrument has none"),
        ("[BTCUSDT]\n", "BTCUSDT: an empty table"),
    ],
)
def test_a_bad_contract_in_the_instruments_table_is_named(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "i.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_instruments(path)


def test_a_catalogue_tick_coarser_than_the_data_is_named_once_with_both(tmp_path: Path) -> None:
    quotes = [(T0_US + n * 1_000_000, "BTCUSDT", 100.001 + n, 1.0, 100.003 + n, 1.0) for n in range(5)]
    path = tardis_quotes(tmp_path / "q.csv", quotes)
    market = settle(resolve(overrides={"market": [str(path)]})).market
    logged: list[str] = []
    sink = logger.add(logged.append, level="WARNING", format="{message}")  # whatever sink another test configured
    try:
        warn_market_gaps(market)
    finally:
        logger.remove(sink)
    lines = [line for line in logged if "coarser" in line]
    assert len(lines) == 1
    assert "BTCUSDT: the catalogue's tick 0.01 (the data has 0.001) is coarser than the data's" in lines[0]
    table = tmp_path / "i.toml"
    table.write_text('[BTCUSDT]\ntick_size = "0.001"\nlot_size = "1"\n')
    told = settle(resolve(overrides={"market": [str(path)], "instruments": str(table)})).market
    assert told is not None and told.coarser == ()  # the user's word: nothing to say


def quotes_that_stop(directory: Path) -> list[Path]:
    """BTCUSDT quoted every second for 10 s, then only traded, through both sides every second, for 3 more minutes:
    the issue's quotes file that ends long before its trades file."""
    quotes = [(T0_US + n * 1_000_000, "BTCUSDT", 60_000.0 + n, 1.0, 60_000.5 + n, 1.0) for n in range(10)]
    trades = [(T0_US + n * 1_000_000 + 1, "BTCUSDT", "sell" if n % 2 else "buy", 59_000.0 if n % 2 else 61_000.0,
               5.0) for n in range(190)]  # fmt: skip
    return [tardis_quotes(directory / "q.csv", quotes), tardis_trades(directory / "t.csv", trades)]


def test_a_recorded_symbol_with_no_quote_for_longer_than_the_limit_is_stale_until_its_next_quote(
    tmp_path: Path,
) -> None:
    quotes = [(T0_US + n * 1_000_000, "BTCUSDT", 100.0, 1.0, 100.5, 1.0) for n in (0, 1, 2, 80, 81)]
    path = tardis_quotes(tmp_path / "q.csv", quotes)
    market = settle(resolve(overrides={"market": [str(path)], "stale_market_ms": 10_000})).market
    assert market is not None
    feed = market.feed_market()
    # the last quote before the silence is in tick 3 (its bucket [2 s, 3 s)); silent for longer than 10 s from
    # tick 14 on; the quote at 80 s is in tick 81
    assert [t for t in range(1, 83) if feed.stale("BTCUSDT", t)] == list(range(14, 81))
    assert feed.stale_ticks(82) == 81 - 14
    off = settle(resolve(overrides={"market": [str(path)], "stale_market_ms": 0})).market
    assert off is not None and not any(off.feed_market().stale("BTCUSDT", t) for t in range(1, 83))


def test_a_stale_recorded_market_has_its_quotes_pulled_counted_in_the_report_as_the_baseline_counts_them(
    tmp_path: Path,
) -> None:
    from actors.assembly._baseline import SyncEngine
    from actors.cli._run_shadow import parse_config, run

    files = quotes_that_stop(tmp_path)
    flags = ["--market", str(files[0]), "--market", str(files[1]), "--edge-threshold", "-100", "--runtime", "sim"]
    report = json.loads(text := run(parse_config(flags, {})))
    # quotes in ticks 1..10; stale once silent for longer than 60 s: ticks 71..190
    assert report["market"]["quotes_pulled_stale"] == 190 - 71 + 1
    assert report["market"]["stale_market_ms"] == 60_000
    assert SyncEngine(parse_config(flags, {})).report_text() == text
    off = json.loads(run(parse_config([*flags, "--stale-market-ms", "0"], {})))
    assert "quotes_pulled_stale" not in off["market"]
    assert off["fills"]["count"] > report["fills"]["count"]  # the fills against a mid that stood still
