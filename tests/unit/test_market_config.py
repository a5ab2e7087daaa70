"""Configuration with --market: what the data decides, what a layer above the defaults overrides, and the errors."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from loguru import logger

from actors.assembly._config import MARKET_TICK_MS, SYNTHETIC_FAULTS, ConfigError, resolve
from actors.assembly._instrument_file import load_instruments
from actors.assembly._market_setup import market_paths, sample_dir, settle, warn_made_up_prices, warn_market_gaps
from actors.cli._run_shadow import parse_config, run
from actors.core._instruments import instrument_for
from actors.markets._events import MarketDataError
from actors.markets._sample import QUOTES_NAME, TRADES_NAME, generate
from actors.wire._journal import journal_fingerprint
from tests.unit.market_kit import tardis_quotes, tardis_trades


def test_with_market_files_the_symbols_ticks_and_tick_length_are_left_to_the_data() -> None:
    config = resolve(overrides={"market": ["sample"]})
    assert config.symbols_from_market and config.iterations_from_market and config.tick_ms == MARKET_TICK_MS
    assert config.fill_model == "market"
    settled = settle(config).config
    assert settled.symbols == ("BTCUSDT", "ETHUSDT", "SOLUSDT") and settled.iterations == 120


def test_a_tick_length_set_by_any_layer_wins_over_the_market_default(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("tick_ms = 250.0\n")
    assert resolve(config_file=file, overrides={"market": ["sample"]}).tick_ms == 250.0
    assert resolve(environ={"MM_TICK_MS": "500", "MM_MARKET": "sample"}).tick_ms == 500.0
    assert resolve().tick_ms == 100.0  # synthetic runs keep the pace default


def test_market_is_a_repeated_flag_and_a_path_list_in_the_environment() -> None:
    config = parse_config(["--market", "a.csv", "--market", "b.csv"], {})
    assert config.market == ("a.csv", "b.csv")
    assert resolve(environ={"MM_MARKET": "a.csv:b.csv"}).market == ("a.csv", "b.csv")
    assert resolve(environ={"MM_MARKET": ""}).market == ()


def test_the_random_fill_model_stays_the_default_without_market_files() -> None:
    assert resolve().fill_model == "random"
    assert resolve(overrides={"market": ["sample"], "fill_model": "random"}).fill_model == "random"
    with pytest.raises(ConfigError, match="needs --market"):
        resolve(overrides={"fill_model": "market"})


def test_a_maker_fee_is_bounded_and_may_be_a_rebate() -> None:
    assert resolve(overrides={"maker_fee_bps": "-2.5"}).maker_fee_bps == -2.5
    with pytest.raises(ConfigError, match="--maker-fee-bps"):
        resolve(overrides={"maker_fee_bps": "5000"})


def test_the_journal_fingerprint_holds_the_files_bytes_and_the_tick_length(tmp_path: Path) -> None:
    generate(tmp_path, ["BTCUSDT"], seconds=3)
    config = settle(resolve(overrides={"market": [str(tmp_path)]})).config
    fingerprint = journal_fingerprint(config)
    names = [entry[1] for entry in fingerprint["data_identity"]]
    assert names == [QUOTES_NAME, TRADES_NAME] and fingerprint["tick_ms"] == MARKET_TICK_MS
    assert "market" not in fingerprint  # where the files are does not matter, what they hold does
    generate(tmp_path, ["BTCUSDT"], seconds=4)
    assert journal_fingerprint(settle(resolve(overrides={"market": [str(tmp_path)]})).config) != fingerprint


def test_the_packaged_sample_is_what_the_generator_writes(tmp_path: Path) -> None:
    generate(tmp_path)
    for name in (QUOTES_NAME, TRADES_NAME):
        assert (tmp_path / name).read_bytes() == (sample_dir() / name).read_bytes(), name
    rows = gzip.decompress((sample_dir() / QUOTES_NAME).read_bytes()).decode().count("\n") - 1
    assert 1000 <= rows <= 10_000


def test_an_empty_directory_and_an_empty_recording_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MarketDataError, match="holds no file"):
        market_paths((str(tmp_path),))
    (tmp_path / "q.csv").write_text(
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
    )
    with pytest.raises(MarketDataError, match="no rows to replay"):
        settle(resolve(overrides={"market": [str(tmp_path / "q.csv")]}))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[BTCUSDT]\ntick_size = "0.01"\n', "BTCUSDT: missing lot_size"),
        ('[BTCUSDT]\ntick_size = "0"\nlot_size = "1"\n', "BTCUSDT.tick_size: expected a decimal from"),
        ('[BTCUSDT]\ntick_size = "x"\nlot_size = "1"\n', "BTCUSDT.tick_size: expected a positive decimal"),
        ("[BTCUSDT]\ntick = 1\n", "BTCUSDT.tick: unknown key"),
        ("BTCUSDT = 1\n", "BTCUSDT: expected a table"),
        ("[BTCUSDT\n", "invalid TOML"),
    ],
)
def test_a_bad_instruments_table_names_the_file_and_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "i.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_instruments(path)


def test_an_instruments_table_applies_to_synthetic_runs_too(tmp_path: Path) -> None:
    path = tmp_path / "i.toml"
    path.write_text('[ETHUSDT]\ntick_size = 0.1\nlot_size = "0.01"\n')
    instruments = settle(resolve(overrides={"instruments": str(path)})).instruments
    assert str(instruments["ETHUSDT"].tick_size) == "0.1" and str(instruments["ETHUSDT"].lot_size) == "0.01"
    assert str(instruments["BTCUSDT"].tick_size) == "0.01"  # not in the table: the catalogue's


def test_prices_too_fine_for_the_wire_are_refused_before_the_run(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        "binance,BTCUSDT,1735689600000000,1735689600000000,1,900000000000000,800000000000000,1\n"
    )
    with pytest.raises(MarketDataError, match="BTCUSDT trades at up to 9e"):
        settle(resolve(overrides={"market": [str(path)]}))


def test_a_span_of_more_ticks_than_a_run_allows_asks_for_a_longer_tick(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        "binance,BTCUSDT,1,1735689600000000,1,101,100,1\nbinance,BTCUSDT,1,1745689600000001,1,101,100,1\n"
    )  # 10,000,000 s and a microsecond apart: 10,000,001 one-second ticks
    with pytest.raises(ConfigError, match="choose a longer tick"):
        settle(resolve(overrides={"market": [str(path)], "iterations": 5}))


def test_a_blank_market_path_in_a_list_is_an_error_but_an_empty_variable_is_no_market() -> None:
    with pytest.raises(ConfigError, match="--market: expected non-blank paths"):
        resolve(overrides={"market": ["sample", " "]})
    assert resolve(environ={"MM_MARKET": ""}).market == ()


def test_a_file_of_one_endless_line_is_not_read_to_its_end_to_tell_its_format(tmp_path: Path) -> None:
    path = tmp_path / "blob.csv"
    path.write_bytes(b"x" * (1 << 20))
    with pytest.raises(MarketDataError, match="unknown market format"):
        settle(resolve(overrides={"market": [str(path)]}))


def test_a_symbol_the_engine_cannot_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        "deribit,BTC-PERPETUAL-WITH-A-VERY-LONG-NAME,1735689600000000,1735689600000000,1,101,100,1\n"
    )
    with pytest.raises(MarketDataError, match="not a symbol the engine can trade"):
        settle(resolve(overrides={"market": [str(path)]}))


def test_the_generator_command_writes_a_data_set_the_replay_reads(tmp_path: Path) -> None:
    from actors.markets._sample import main

    assert main([str(tmp_path), "--symbols", "ETHUSDT", "--seconds", "5", "--quotes-only"]) == 0
    settled = settle(resolve(overrides={"market": [str(tmp_path)]}))
    assert settled.config.symbols == ("ETHUSDT",) and settled.config.iterations == 5
    assert settled.market is not None and settled.market.scan.quotes == 50 and settled.market.scan.trades == 0


# ---------------------------------------------------------------- found by review (2026-12-01)

HEADER = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"


def test_prices_below_one_tick_are_refused_instead_of_rounding_to_one_tick(tmp_path: Path) -> None:
    path, table = tmp_path / "q.csv", tmp_path / "i.toml"
    path.write_text(HEADER + "binance,TEST,1735689600000000,1735689600000000,5,101,99,5\n")
    table.write_text("[TEST]\ntick_size = 1000\nlot_size = 1\n")
    with pytest.raises(MarketDataError, match="TEST trades from 99, below one tick of 1000"):
        settle(resolve(overrides={"market": [str(path)], "instruments": str(table)}))


def test_a_file_named_twice_or_inside_a_directory_named_too_is_read_once(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(HEADER + "binance,BTCUSDT,1735689600000000,1735689600000000,1,101,100,1\n")
    assert market_paths((str(path), str(tmp_path), str(path))) == [path]


def test_a_market_path_that_is_not_a_regular_file_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "feed"
    os.mkfifo(fifo)
    with pytest.raises(MarketDataError, match="not a regular file"):
        market_paths((str(fifo),))


def test_blank_lines_before_the_header_are_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("\n\n" + HEADER + "binance,BTCUSDT,1735689600000000,1735689600000000,1,101,100,1\n")
    settled = settle(resolve(overrides={"market": [str(path)]}))
    assert settled.config.symbols == ("BTCUSDT",) and settled.market is not None and settled.market.scan.quotes == 1


# ------------------------------------------------------------ symbols as users write them (issue 29)


def test_symbols_are_taken_as_users_and_data_files_write_them_and_named_in_upper_case() -> None:
    assert resolve(overrides={"symbols": "btcusdt, Eth-Usdt"}).symbols == ("BTCUSDT", "ETHUSDT")
    assert parse_config(["--symbols", "solusdt"], {}).symbols == ("SOLUSDT",)
    assert resolve(environ={"MM_SYMBOLS": "btc_usdt"}).symbols == ("BTCUSDT",)
    with pytest.raises(ConfigError, match=r"duplicate symbol 'btcusdt' and 'BTCUSDT' \(both BTCUSDT\)"):
        resolve(overrides={"symbols": "btcusdt,BTCUSDT"})
    with pytest.raises(ConfigError, match="invalid symbol 'btcusdt\u0131'"):  # a dotless i upper-cases to I
        resolve(overrides={"symbols": "btcusdt\u0131"})
    settled = settle(resolve(overrides={"market": ["sample"], "symbols": "ethusdt"})).config
    assert settled.symbols == ("ETHUSDT",)


def test_a_synthetic_symbol_with_no_known_price_is_named_in_one_warning_with_the_price_it_got() -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    try:
        text = run(resolve(overrides={"symbols": "foobar,BTCUSDT,XYZ", "iterations": 2}))
        warned = list(lines)
        lines.clear()
        run(resolve(overrides={"symbols_count": 3, "iterations": 2}))  # generated names: made up by design
        warn_made_up_prices(resolve(overrides={"market": ["sample"], "symbols": "BTCUSDT"}))  # the files' prices
    finally:
        logger.remove(sink)
    assert json.loads(text)["execution"]["symbols"] == ["FOOBAR", "BTCUSDT", "XYZ"]
    foobar, xyz = (instrument_for(s, 42).start_price for s in ("FOOBAR", "XYZ"))
    assert warned == [f"--symbols: no price is known for FOOBAR, XYZ; the synthetic market starts them at made-up "
                      f"prices (drawn from the seed): FOOBAR {foobar} USD, XYZ {xyz} USD\n"]  # fmt: skip
    assert lines == []


# ------------------------------------------------------------ issue 26: recorded means recorded; stale and long files

T0 = 1_735_689_600_000_000
S = 1_000_000


def test_a_recorded_market_makes_up_no_fault_unless_some_layer_asks_for_one(tmp_path: Path) -> None:
    assert resolve().reject_rate == 0.02  # the synthetic venue keeps its default rejects
    recorded = resolve(overrides={"market": ["sample"]})
    assert all(getattr(recorded, key) == 0.0 for key in SYNTHETIC_FAULTS)
    assert recorded.fill_rate == resolve().fill_rate  # the random fill model is no fault: left as it is
    assert resolve(overrides={"market": ["sample"], "reject_rate": "0.05"}).reject_rate == 0.05
    assert resolve(environ={"MM_MARKET": "sample", "MM_CANCEL_RACE_RATE": "0.1"}).cancel_race_rate == 0.1
    file = tmp_path / "c.toml"
    file.write_text("reject_rate = 0.02\n")  # the default's value, but asked for
    assert resolve(config_file=file, overrides={"market": ["sample"]}).reject_rate == 0.02


def test_a_run_longer_than_max_buckets_is_refused_up_front_with_the_figure(tmp_path: Path) -> None:
    quotes = tardis_quotes(tmp_path / "q.csv", [(T0, "BTCUSDT", 100.0, 1.0, 101.0, 1.0),
                                                (T0 + 69 * 86_400 * S, "BTCUSDT", 100.0, 1.0, 101.0, 1.0)])  # fmt: skip
    with pytest.raises(ConfigError, match=r"--market: the data spans 69 d \(5,961,601 ticks of 1000 ms\), more "
                                          r"than --max-buckets 200,000; .*Raise --max-buckets"):  # fmt: skip
        settle(resolve(overrides={"market": [str(quotes)]}))
    raised = settle(resolve(overrides={"market": [str(quotes)], "max_buckets": 6_000_000})).config
    assert raised.iterations == 5_961_601
    assert settle(resolve(overrides={"market": [str(quotes)], "iterations": 10})).config.iterations == 10


def _gap_lines(*paths: Path) -> list[str]:
    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    try:
        warn_market_gaps(settle(resolve(overrides={"market": [str(p) for p in paths]})).market)
    finally:
        logger.remove(sink)
    return lines


def test_a_quotes_file_that_ends_long_before_the_trades_is_named_with_the_gap_in_one_warning(tmp_path: Path) -> None:
    quotes = tardis_quotes(tmp_path / "q.csv", [(T0 + i * S, "BTCUSDT", 100.0, 1.0, 101.0, 1.0) for i in range(225)])
    trades = tardis_trades(tmp_path / "t.csv", [(T0 + i * 5 * S, "BTCUSDT", "buy", 100.5, 1.0) for i in range(1510)])
    lines = _gap_lines(quotes, trades)
    assert lines == ["--market: the files leave gaps: BTCUSDT has no quote from 2025-01-01T00:03:44Z to "
                     "2025-01-01T02:05:45Z (2 h 2 min: after q.csv ends); the mid is held over them and fills are "
                     "judged against it\n"]  # fmt: skip


def test_files_whose_periods_do_not_overlap_are_named_with_the_gap_between_them(tmp_path: Path) -> None:
    day1 = tardis_quotes(tmp_path / "day1.csv", [(T0 + i * S, "BTCUSDT", 100.0, 1.0, 101.0, 1.0) for i in range(60)])
    later = T0 + 86_400 * S
    day2 = tardis_quotes(tmp_path / "day2.csv", [(later + i * S, "BTCUSDT", 100.0, 1.0, 101.0, 1.0) for i in range(60)])
    (line,) = _gap_lines(day1, day2)
    assert "no file has a row from 2025-01-01T00:00:59Z to 2025-01-02T00:00:00Z (23 h 59 min: day1.csv ends, " in line
    assert "day2.csv starts)" in line and "BTCUSDT has no quote" not in line  # the same stretch is named once


def test_a_long_hole_inside_one_file_is_named_and_short_ones_are_not(tmp_path: Path) -> None:
    rows = [(T0 + i * S, "BTCUSDT", 100.0, 1.0, 101.0, 1.0) for i in range(30)]
    rows += [(T0 + (30 + 59 + i) * S, "BTCUSDT", 100.0, 1.0, 101.0, 1.0) for i in range(30)]  # a 60 s hole: short
    rows += [(T0 + (200 + i) * S, "BTCUSDT", 100.0, 1.0, 101.0, 1.0) for i in range(30)]  # 82 s: long
    (line,) = _gap_lines(tardis_quotes(tmp_path / "q.csv", rows))
    assert "BTCUSDT has no quote from 2025-01-01T00:01:58Z to 2025-01-01T00:03:20Z (1 min 22 s: inside q.csv)" in line
    assert _gap_lines(tardis_quotes(tmp_path / "q.csv", rows[:60])) == []
