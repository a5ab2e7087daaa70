"""Market files: each layout recognised and read, plain, gzip or zip, and every kind of bad row named or counted."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actors.markets import _files as market_files
from actors.markets._events import NO_ASK, NO_BID, QUOTE, TRADE, MarketDataError
from actors.markets._files import MarketFile, detect_format, merged, scan
from tests.unit.market_kit import (
    binance_agg_trades,
    binance_book_ticker,
    binance_trades,
    tardis_quotes,
    tardis_trades,
    zip_of,
)

T0 = 1_735_689_600_000_000


def test_a_tardis_quotes_file_is_recognised_by_its_header_and_read_in_local_time(tmp_path: Path) -> None:
    path = tardis_quotes(tmp_path / "q.csv", [(T0, "btc-usdt", 100.5, 2.0, 101.0, 3.0)])
    market = MarketFile(path)
    assert market.format.name == "tardis-quotes"
    assert list(market) == [(T0, QUOTE, "BTCUSDT", 100.5, 2.0, 101.0, 3.0)]


def test_a_gzip_file_is_told_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    path = tardis_trades(tmp_path / "trades.csv", [(T0, "ETHUSDT", "buy", 3000.0, 0.5)], zipped=True)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert list(MarketFile(path)) == [(T0, TRADE, "ETHUSDT", 3000.0, 0.5, 1.0, 1.0)]  # a buyer took it; 1 us late


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
        (T0 + 5, TRADE, "BTCUSDT", 99.5, 0.3, -1.0, 0.0),  # the buyer was the maker: a seller took it
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


def test_a_named_format_reads_a_file_without_its_header_when_its_first_row_is_one_of_its_rows(tmp_path: Path) -> None:
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
    assert list(market) == [(T0, TRADE, "SOLUSDT", 150.5, 2.0, 1.0, 0.0)]


def test_every_format_name_the_flag_takes_reads_a_layout() -> None:
    from actors.markets._files import _ALIASES, FORMAT_NAMES, FORMATS

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
                    "binance,BTCUSDT,1735689600000000,1735689600000000,1,101,100,1\n" + "9" * 1000 + "\n")  # fmt: skip
    with pytest.raises(MarketDataError, match=r"q.csv:3: a line longer than 200 characters"):
        list(MarketFile(path))


# ------------------------------------------------------------ issue 26: formats and containers

ROOT = Path(__file__).resolve().parents[2]
MS = T0 // 1000
BOOK_ROW = f"1,99.5,1.5,100.5,2,{MS},{MS + 1}\n"
UM_TRADES = "id,price,qty,quote_qty,time,is_buyer_maker"
CM_TRADES = "id,price,qty,base_qty,time,is_buyer_maker"


def test_a_zip_holding_one_csv_is_read_as_binance_ships_it(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "BTCUSDT-bookTicker-2025-01-01.zip", {"BTCUSDT-bookTicker-2025-01-01.csv": BOOK_ROW})
    market = MarketFile(path)
    assert (market.format.name, market.symbol, market.time_unit) == ("binance-book-ticker", "BTCUSDT", "ms")
    assert list(market) == [(T0, QUOTE, "BTCUSDT", 99.5, 1.5, 100.5, 2.0)]


def test_a_zip_of_several_files_or_none_is_refused_naming_what_it_holds(tmp_path: Path) -> None:
    two = zip_of(tmp_path / "BTCUSDT-two.zip", {"a.csv": BOOK_ROW, "b.csv": BOOK_ROW})
    with pytest.raises(MarketDataError, match=r"two\.zip: a zip holding 2 files \(a\.csv, b\.csv\); expected one CSV"):
        MarketFile(two)
    with pytest.raises(MarketDataError, match=r"none\.zip: a zip holding no file"):
        MarketFile(zip_of(tmp_path / "none.zip", {}))


def test_a_damaged_zip_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "BTCUSDT-bookTicker.zip", {"x.csv": BOOK_ROW * 3000})
    path.write_bytes(path.read_bytes()[:-300])  # the central directory is at the end: gone
    with pytest.raises(MarketDataError, match=r"BTCUSDT-bookTicker\.zip: cannot read"):
        MarketFile(path)


@pytest.mark.parametrize(
    ("name", "header", "symbol"),
    [
        ("BTCUSDT-trades-2025-01-01.csv", "", "BTCUSDT"),  # spot: headerless, with is_best_match
        ("BTCUSDT-trades-2025-01-01.csv", UM_TRADES, "BTCUSDT"),  # USD-M futures
        ("BTCUSD_PERP-trades-2025-01-01.csv", CM_TRADES, "BTCUSDPERP"),  # COIN-M: base_qty
        ("BTCUSDT_240927-trades-2024-06-01.csv", UM_TRADES, "BTCUSDT240927"),  # a delivery contract
    ],
)
def test_binance_trades_dumps_are_read_in_each_layout_and_name(
    tmp_path: Path, name: str, header: str, symbol: str
) -> None:
    path = binance_trades(tmp_path / name, [(MS, 100.5, 0.25, True), (MS + 7, 100.0, 2.0, False)], header=header)
    market = MarketFile(path)
    assert (market.format.name, market.has_header, market.symbol) == ("binance-trades", bool(header), symbol)
    assert list(market) == [
        (T0, TRADE, symbol, 100.5, 0.25, -1.0, 0.0),
        (T0 + 7000, TRADE, symbol, 100.0, 2.0, 1.0, 0.0),
    ]


def test_coin_m_and_delivery_names_give_the_symbol_without_its_separator(tmp_path: Path) -> None:
    for name, symbol in [("BTCUSD_PERP-bookTicker-2024-01-01.zip", "BTCUSDPERP"),
                         ("BTCUSDT_240927-bookTicker-2024-06-01.zip", "BTCUSDT240927"),
                         ("ethusdt-aggTrades-2024-01-01.csv.gz", "ETHUSDT")]:  # fmt: skip
        path = tmp_path / name
        if name.endswith(".zip"):
            zip_of(path, {"x.csv": BOOK_ROW})
        else:
            path.write_bytes(gzip.compress(f"1,100,1,1,1,{MS},true\n".encode()))
        assert MarketFile(path).symbol == symbol, name


@pytest.mark.parametrize(
    ("stamp", "unit"),
    [("1735689600", "s"), ("1735689600.000000", "s"), (str(T0 // 1000), "ms"), (str(T0), "us"),
     (str(T0 * 1000), "ns")],
)  # fmt: skip
def test_the_timestamp_unit_is_told_from_the_first_row_and_every_unit_gives_microseconds(
    tmp_path: Path, stamp: str, unit: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
                    f"binance,BTCUSDT,0,{stamp},1,buy,100,1\n")  # fmt: skip
    market = MarketFile(path)
    assert market.time_unit == unit and [event[0] for event in market] == [T0]


@pytest.mark.parametrize("stamp", ["5", "86399000", "99999999999999", "52000000000000000000"])
def test_a_timestamp_in_no_unit_of_a_date_from_2000_to_2100_is_refused_with_its_line(
    tmp_path: Path, stamp: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f"\nexchange,symbol,timestamp,local_timestamp,id,side,price,amount\nx,BTCUSDT,0,{stamp},1,b,1,1\n")
    with pytest.raises(MarketDataError, match=rf"t\.csv:3: cannot tell the unit of local_timestamp {stamp}: .*"
                                              r"--market-time-unit"):  # fmt: skip
        MarketFile(path)
    assert [event[0] for event in MarketFile(path, time_unit="ms")] == [int(stamp) * 1000]


def test_a_named_format_whose_header_is_another_formats_is_refused_not_read_as_rows(tmp_path: Path) -> None:
    path = tardis_quotes(tmp_path / "q.csv", [(T0, "BTCUSDT", 100.0, 1.0, 101.0, 1.0)])
    with pytest.raises(
        MarketDataError,
        match=r"q\.csv:1: a tardis-quotes header, not the tardis-trades header "
        r"\(exchange,symbol,timestamp,local_timestamp,id,side,price,amount\)",
    ):
        MarketFile(path, "tardis-trades")
    odd = tmp_path / "odd.csv"
    odd.write_text("when,what\n1,2\n")
    with pytest.raises(
        MarketDataError,
        match=r"odd\.csv:1: neither the binance-trades header \(id,price,.*\) nor a "
        r"binance-trades row \(expected 6 or 7 fields",
    ):
        MarketFile(odd, "binance-trades")


def test_a_tardis_quote_with_an_empty_side_has_that_side_absent(tmp_path: Path) -> None:
    path = tardis_quotes(tmp_path / "q.csv", [(T0, "BTCUSDT", 100.0, 1.0, None, 0.0),
                                              (T0 + 1, "BTCUSDT", None, 0.0, 101.0, 2.0),
                                              (T0 + 2, "BTCUSDT", None, 0.0, None, 0.0)])  # fmt: skip
    assert path.read_text().splitlines()[1] == f"binance,BTCUSDT,{T0 - 1},{T0},,,100,1"
    assert list(MarketFile(path)) == [
        (T0, QUOTE, "BTCUSDT", 100.0, 1.0, NO_ASK, 0.0),
        (T0 + 1, QUOTE, "BTCUSDT", NO_BID, 0.0, 101.0, 2.0),
        (T0 + 2, QUOTE, "BTCUSDT", NO_BID, 0.0, NO_ASK, 0.0),
    ]


def test_the_scan_takes_the_first_mid_from_a_two_sided_quote_and_bounds_prices_by_the_sides_present(
    tmp_path: Path,
) -> None:
    path = tardis_quotes(tmp_path / "q.csv", [(T0, "BTCUSDT", 100.0, 1.0, None, 0.0),
                                              (T0 + 1, "BTCUSDT", 100.0, 1.0, 102.0, 1.0)])  # fmt: skip
    summary = scan([MarketFile(path)]).symbols["BTCUSDT"]
    assert (summary.first_mid, summary.min_price, summary.max_price, summary.has_quotes) == (101.0, 100.0, 102.0, True)


def test_a_side_with_a_price_but_no_amount_is_malformed(tmp_path: Path) -> None:
    path = tardis_quotes(tmp_path / "q.csv", [(T0, "BTCUSDT", 100.0, 1.0, 101.0, 1.0)])
    with path.open("a") as handle:
        handle.write(f"binance,BTCUSDT,{T0},{T0 + 1},,101,100,1\n")
    with pytest.raises(MarketDataError, match=r"q\.csv:3: malformed tardis-quotes row: a side's price and amount"):
        list(MarketFile(path))


def _refusals(tmp: Path) -> dict[str, tuple[Path, str]]:
    """A bad file of each kind, and what run-shadow's one line must say of it."""
    tardis = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
    cases: dict[str, tuple[Path, str]] = {}

    def case(name: str, file: str, text: str, needle: str) -> None:
        (tmp / name).mkdir()
        path = tmp / name / file
        path.write_text(text)
        cases[name] = (path, needle.replace("{path}", str(path)))

    case(
        "unit",
        "q.csv",
        tardis + "binance,BTCUSDT,1,5,1,101,100,1\n",
        "{path}:2: cannot tell the unit of local_timestamp 5: in seconds, milliseconds, microseconds or nanoseconds",
    )
    case(
        "side",
        "q.csv",
        tardis + f"binance,BTCUSDT,1,{T0},1,,100,1\n",
        "{path}:2: malformed tardis-quotes row: a side's price and amount are both empty",
    )
    case(
        "shape",
        "BTCUSDT-trades-2025-01-01.csv",
        f"1,100,1,100,{MS},maybe\n",
        "{path}:1: unknown market format (first row '1,100,1,100,",
    )
    case(
        "name",
        "trades.csv",
        f"{UM_TRADES}\n1,100,1,100,{MS},true\n",
        "{path}: a Binance dump names its symbol in the file name (BTCUSDT-bookTicker-2024-01-01.csv",
    )
    case(
        "row",
        "BTCUSDT-trades-2025-01-01.csv",
        f"{UM_TRADES}\n1,100,1,100,{MS},true\n2,0,1,0,{MS},true\n",
        "{path}:3: malformed binance-trades row: price must be > 0",
    )
    (tmp / "zip").mkdir()
    two = zip_of(tmp / "zip" / "BTCUSDT-trades.zip", {"a.csv": "x\n", "b.csv": "y\n"})
    cases["zip"] = (two, f"{two}: a zip holding 2 files (a.csv, b.csv); expected one CSV inside")
    return cases


REFUSALS = ["unit", "side", "shape", "name", "row", "zip"]


@pytest.mark.parametrize("kind", REFUSALS)
def test_run_shadow_refuses_each_bad_file_in_one_line_naming_the_file_the_line_and_what_was_expected(
    tmp_path: Path, kind: str
) -> None:
    path, needle = _refusals(tmp_path)[kind]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    done = subprocess.run([sys.executable, str(ROOT / "bin" / "run-shadow"), "--market", str(path)],
                          capture_output=True, text=True, env=environ, timeout=120, check=False)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr.count("\n")) == (2, "", 1), done.stderr
    assert needle in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_run_shadow_refuses_a_named_format_whose_header_does_not_match_in_one_line(tmp_path: Path) -> None:
    path = tardis_quotes(tmp_path / "q.csv", [(T0, "BTCUSDT", 100.0, 1.0, 101.0, 1.0)])
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    done = subprocess.run([sys.executable, str(ROOT / "bin" / "run-shadow"), "--market", str(path),
                           "--market-format", "tardis-trades"],
                          capture_output=True, text=True, env=environ, timeout=120, check=False)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr.count("\n")) == (2, "", 1), done.stderr
    assert f"{path}:1: a tardis-quotes header, not the tardis-trades header (exchange," in done.stderr
