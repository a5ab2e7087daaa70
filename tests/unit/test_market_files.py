"""Market files: each layout recognised and read, plain or gzip, and every kind of bad row named or counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.markets import files as market_files
from actors.markets.events import QUOTE, TRADE, MarketDataError
from actors.markets.files import MarketFile, detect_format, merged, scan
from tests.unit.market_kit import binance_agg_trades, binance_book_ticker, tardis_quotes, tardis_trades

T0 = 1_735_689_600_000_000


def test_a_tardis_quotes_file_is_recognised_by_its_header_and_read_in_local_time(tmp_path: Path) -> None:
    path = tardis_quotes(tmp_path / "q.csv", [(T0, "btc-usdt", 100.5, 2.0, 101.0, 3.0)])
    market = MarketFile(path)
    assert market.format.name == "tardis-quotes"
    assert list(market) == [(T0, QUOTE, "BTCUSDT", 100.5, 2.0, 101.0, 3.0)]


def test_a_gzip_file_is_told_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    path = tardis_trades(tmp_path / "trades.csv", [(T0, "ETHUSDT", "buy", 3000.0, 0.5)], zipped=True)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert list(MarketFile(path)) == [(T0, TRADE, "ETHUSDT", 3000.0, 0.5, 0.0, 0.0)]


def test_binance_dumps_are_read_with_or_without_a_header_in_ms_or_us(tmp_path: Path) -> None:
    ms = T0 // 1000
    book = binance_book_ticker(tmp_path / "BTCUSDT-bookTicker-2025-01-01.csv", [(ms, 99.0, 1.0, 100.0, 2.0)],
                               header=True)  # fmt: skip
    trades = binance_agg_trades(tmp_path / "BTCUSDT-aggTrades-2025-01-01.csv", [(T0 + 5, 99.5, 0.3, True)],
                                header=False)  # fmt: skip
    book_file, trades_file = MarketFile(book), MarketFile(trades)
    assert (book_file.format.name, book_file.has_header) == ("binance-book-ticker", True)
    assert (trades_file.format.name, trades_file.has_header) == ("binance-agg-trades", False)
    assert list(merged([book_file, trades_file])) == [
        (T0, QUOTE, "BTCUSDT", 99.0, 1.0, 100.0, 2.0),
        (T0 + 5, TRADE, "BTCUSDT", 99.5, 0.3, 0.0, 0.0),
    ]


def test_a_headerless_book_ticker_is_recognised_by_the_shape_of_its_rows(tmp_path: Path) -> None:
    path = binance_book_ticker(tmp_path / "ETHUSDT-bookTicker.csv", [(T0, 1.0, 1.0, 2.0, 1.0)], header=False)
    assert detect_format(path)[0].name == "binance-book-ticker"


def test_a_binance_dump_whose_name_does_not_say_its_symbol_is_refused(tmp_path: Path) -> None:
    path = binance_agg_trades(tmp_path / "trades.csv", [(T0, 1.0, 1.0, False)], header=True)
    with pytest.raises(MarketDataError, match=r"trades\.csv: a Binance dump names its symbol"):
        MarketFile(path)


def test_an_unknown_layout_names_the_file_and_the_flag_that_names_it(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("when,what\n1,2\n")
    with pytest.raises(MarketDataError, match=r"odd.csv:1: unknown market format .* --market-format"):
        MarketFile(path)


def test_a_named_format_reads_a_file_without_its_header(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(f"binance,BTCUSDT,{T0},{T0},1,101,100,1\n")
    market = MarketFile(path, "tardis-book-ticker")
    assert market.format.name == "tardis-quotes" and not market.has_header
    assert len(list(market)) == 1


def test_empty_and_missing_files_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(MarketDataError, match=r"empty\.csv: empty"):
        MarketFile(tmp_path / "empty.csv")
    with pytest.raises(MarketDataError, match=r"gone\.csv: no such file"):
        MarketFile(tmp_path / "gone.csv")


@pytest.mark.parametrize(
    ("row", "kind", "needle"),
    [
        ("binance,BTCUSDT,5,5,1,abc,100,1", "malformed", "q.csv:3: malformed tardis-quotes row"),
        ("binance,BTCUSDT,5,5,1,101", "malformed", "q.csv:3: malformed tardis-quotes row: expected 8 fields"),
        ("binance,BTCUSDT,5,5,1,nan,100,1", "malformed", "q.csv:3: malformed"),
        ("binance,BTCUSDT,5,5,-1,101,100,1", "malformed", "q.csv:3: malformed"),
        (f"binance,BTCUSDT,{T0 - 1},{T0 - 1},1,101,100,1", "back_in_time", "q.csv:3: goes back in time"),
        (f"binance,BTCUSDT,{T0 + 1},{T0 + 1},1,100,100,1", "crossed", "q.csv:3: crossed quote"),
    ],
)
def test_a_bad_row_is_an_error_naming_file_and_line_or_is_skipped_and_counted(
    tmp_path: Path, row: str, kind: str, needle: str
) -> None:
    path = tardis_quotes(tmp_path / "q.csv", [(T0, "BTCUSDT", 100.0, 1.0, 101.0, 1.0)])
    with path.open("a") as handle:
        handle.write(row + "\n")
        handle.write(f"binance,BTCUSDT,{T0 + 9},{T0 + 9},1,102,101,1\n")
    with pytest.raises(MarketDataError, match=needle):
        list(MarketFile(path))
    skipping = MarketFile(path, on_bad_row="skip")
    assert [event[0] for event in skipping] == [T0, T0 + 9]
    assert dict(skipping.skipped) == {kind: 1}


def test_a_truncated_gzip_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tardis_quotes(tmp_path / "q.csv.gz", [(T0 + i, "BTCUSDT", 100.0, 1.0, 101.0, 1.0) for i in range(2000)],
                         zipped=True)  # fmt: skip
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(MarketDataError, match=r"q.csv.gz:\d+: cannot read"):
        list(MarketFile(path))


def test_files_merge_on_one_time_line_and_the_scan_sees_span_symbols_and_decimals(tmp_path: Path) -> None:
    quotes = tardis_quotes(tmp_path / "q.csv", [(T0, "AAAUSDT", 1.25, 10.0, 1.5, 2.5), (T0 + 20, "BBBUSDT", 7.0, 1.0,
                                                                                       8.0, 1.0)])  # fmt: skip
    trades = tardis_trades(tmp_path / "t.csv", [(T0 + 10, "AAAUSDT", "sell", 1.125, 3.0)])
    files = [MarketFile(quotes), MarketFile(trades)]
    assert [event[0] for event in merged(files)] == [T0, T0 + 10, T0 + 20]
    summary = scan(files)
    assert (summary.first_us, summary.last_us, summary.quotes, summary.trades) == (T0, T0 + 20, 2, 1)
    aaa = summary.symbols["AAAUSDT"]
    assert aaa.has_quotes and aaa.first_mid == 1.375 and aaa.price_decimals == 3 and aaa.size_decimals == 1


def test_a_file_is_streamed_not_loaded_whole(tmp_path: Path) -> None:
    path = tardis_quotes(tmp_path / "q.csv", [(T0 + i, "BTCUSDT", 100.0, 1.0, 101.0, 1.0) for i in range(3)])
    events = iter(MarketFile(path))
    assert next(events)[0] == T0
    with path.open("a") as handle:  # rows written after reading began are read: nothing was loaded ahead
        handle.write(f"binance,BTCUSDT,{T0 + 99},{T0 + 99},1,101,100,1\n" * 20_000)
    assert sum(1 for _ in events) == 2 + 20_000


def test_a_byte_order_mark_and_windows_line_ends_do_not_hide_the_header(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    rows = tardis_quotes(tmp_path / "plain.csv", [(T0, "BTCUSDT", 1.0, 1.0, 2.0, 1.0)]).read_text().splitlines()
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    assert [event[0] for event in MarketFile(path)] == [T0]


def test_an_agg_trades_header_with_is_best_match_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "SOLUSDT-aggTrades.csv"
    header = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,is_best_match"
    path.write_text(f"{header}\n1,150.5,2,1,1,{T0},false,true\n")
    market = MarketFile(path)
    assert (market.format.name, market.has_header) == ("binance-agg-trades", True)
    assert list(market) == [(T0, TRADE, "SOLUSDT", 150.5, 2.0, 0.0, 0.0)]


def test_every_format_name_the_flag_takes_reads_a_layout() -> None:
    from actors.markets.files import _ALIASES, FORMAT_NAMES, FORMATS

    assert FORMAT_NAMES[0] == "auto" and set(FORMAT_NAMES[1:]) == set(FORMATS) | set(_ALIASES)


@pytest.mark.parametrize(
    ("name", "row", "needle"),
    [
        ("BTCUSDT-bookTicker.csv", "1,100,1,101,1,1735689600000", "expected 7 fields, got 6"),
        ("BTCUSDT-bookTicker.csv", "1,0,1,101,1,1735689600000,1735689600001", "prices must be > 0"),
        ("BTCUSDT-aggTrades.csv", "1,100,1,1,1,1735689600000,maybe", "ending with is_buyer_maker"),
        ("BTCUSDT-aggTrades.csv", "1,100,-1,1,1,1735689600000,true", "quantity >= 0"),
    ],
)
def test_a_malformed_binance_row_is_named_with_its_line(tmp_path: Path, name: str, row: str, needle: str) -> None:
    good = {"BTCUSDT-bookTicker.csv": "1,99,1,100,1,1735689600000,1735689600001",
            "BTCUSDT-aggTrades.csv": "1,100,1,1,1,1735689600000,true"}[name]  # fmt: skip
    path = tmp_path / name
    path.write_text(f"{good}\n{row}\n")
    with pytest.raises(MarketDataError, match=rf"{name}:2: malformed .*{needle}"):
        list(MarketFile(path))


def test_a_tardis_trade_at_no_price_is_malformed(tmp_path: Path) -> None:
    path = tardis_trades(tmp_path / "t.csv", [(T0, "BTCUSDT", "buy", 100.0, 1.0), (T0 + 1, "BTCUSDT", "buy", 0.0, 1.0)])
    with pytest.raises(MarketDataError, match=r"t\.csv:3: malformed tardis-trades row: price must be > 0"):
        list(MarketFile(path))


def test_a_line_longer_than_any_row_is_refused_without_holding_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by review (2026-12-01): a 400 MB line took 850 MB of memory before csv's field limit spoke.
    monkeypatch.setattr(market_files, "MAX_LINE_CHARS", 200)
    path = tmp_path / "q.csv"
    path.write_text("exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
                    "binance,BTCUSDT,1,1,1,101,100,1\n" + "9" * 1000 + "\n")  # fmt: skip
    with pytest.raises(MarketDataError, match=r"q.csv:3: a line longer than 200 characters"):
        list(MarketFile(path))
