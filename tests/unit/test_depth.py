"""Depth data: each reader on rows in the real layouts (NautilusTrader's and hftbacktest's test data), the book,
and Binance's update-id rules telling a gap (the book stale until the next snapshot, counted)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from actors.core._types import Instrument
from actors.markets._depth import ASK, BID, RESET, UPDATE, DepthBook, Sequencer
from actors.markets._events import BOOK_RESET, BOOK_UPDATE, DEPTH, TRADE
from actors.markets._files import MarketFile, scan
from actors.markets._recorded import RecordedMarket, Recording

T0 = 1_640_995_200_000_000


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_tardis_incremental_book_l2_starts_its_snapshot_with_a_reset_and_reads_absolute_sizes(tmp_path: Path) -> None:
    # NautilusTrader's crates/adapters/tardis/test_data/csv/deltas_with_snapshot.csv
    path = write(tmp_path / "l2.csv", [
        "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount",
        "binance-futures,BTCUSDT,1640995200000000,1640995200100000,true,bid,50000.0,1.0",
        "binance-futures,BTCUSDT,1640995200000000,1640995200100000,true,ask,50001.0,2.0",
        "binance-futures,BTCUSDT,1640995201000000,1640995201100000,false,bid,49999.0,0.5",
        "binance-futures,BTCUSDT,1640995203000000,1640995203100000,false,bid,49998.0,0.0",
    ])  # fmt: skip
    market = MarketFile(path)
    assert market.format.name == "tardis-book-l2"
    assert list(market) == [
        (T0 + 100_000, DEPTH, "BTCUSDT", 0.0, 0.0, BOOK_RESET, 0.0),
        (T0 + 100_000, DEPTH, "BTCUSDT", 50000.0, 1.0, 1.0, 100_000.0),  # feed latency: local - exchange
        (T0 + 100_000, DEPTH, "BTCUSDT", 50001.0, 2.0, -1.0, 100_000.0),
        (T0 + 1_100_000, DEPTH, "BTCUSDT", 49999.0, 0.5, 1.0, 100_000.0),
        (T0 + 3_100_000, DEPTH, "BTCUSDT", 49998.0, 0.0, 1.0, 100_000.0),
    ]


def test_a_tardis_book_snapshot_row_is_a_reset_and_its_levels_bid_then_ask(tmp_path: Path) -> None:
    header = ["exchange", "symbol", "timestamp", "local_timestamp"]
    for i in range(5):
        header += [f"asks[{i}].price", f"asks[{i}].amount", f"bids[{i}].price", f"bids[{i}].amount"]
    levels = "11657.08,1.714,11657.07,10.896,11657.54,5.4,11656.97,0.2" + ",,,," * 3  # 2 levels; Tardis leaves the rest
    row = f"binance-futures,BTCUSDT,1598918403696000,1598918403810979,{levels}"
    path = write(tmp_path / "s5.csv", [",".join(header), row])
    market = MarketFile(path)
    assert market.format.name == "tardis-book-snapshot"
    events = list(market)
    assert [e[3:6] for e in events] == [
        (0.0, 0.0, BOOK_RESET), (11657.07, 10.896, 1.0), (11657.08, 1.714, -1.0), (11656.97, 0.2, 1.0),
        (11657.54, 5.4, -1.0),
    ]  # fmt: skip


DEPTH_HEADER = "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu"


def test_binance_depth_files_merge_a_snapshot_with_its_updates_and_count_a_gap(tmp_path: Path) -> None:
    snap = write(tmp_path / "BTCUSDT_T_DEPTH_2022-11-01_depth_snap.csv", [
        DEPTH_HEADER,
        "BTCUSDT,1667346579146,100,100,b,snap,20377.00,1.770,-1",
        "BTCUSDT,1667346579146,100,100,a,snap,20377.10,2.000,-1",
    ])  # fmt: skip
    update = write(tmp_path / "BTCUSDT_T_DEPTH_2022-11-01_depth_update.csv", [
        DEPTH_HEADER,
        "BTCUSDT,1667346579200,95,105,b,set,20377.00,1.500,90",  # U <= 100 <= u: the first applied
        "BTCUSDT,1667346579300,106,110,a,set,20377.10,0.000,105",  # pu = the last u: in sequence
        "BTCUSDT,1667346579400,120,130,b,set,20376.00,9.000,115",  # pu 115, not 110: a gap
        "BTCUSDT,1667346579500,131,140,b,set,20375.00,9.000,130",  # stale: not applied
    ])  # fmt: skip
    files = [MarketFile(snap), MarketFile(update)]
    assert [f.format.name for f in files] == ["binance-depth", "binance-depth"]
    events = list(files[1])
    assert events[0][3:] == (95.0, 105.0, BOOK_UPDATE, 90.0) and events[1][3:6] == (20377.0, 1.5, 1.0)
    summary = scan(files)
    assert summary.depth_gaps == {"BTCUSDT": 1} and summary.depth_stale == {"BTCUSDT": 1}
    assert summary.symbols["BTCUSDT"].first_mid == (20377.0 + 20377.1) / 2


def test_a_spot_update_must_follow_on_from_the_last_id(tmp_path: Path) -> None:
    sequence = Sequencer()
    assert not sequence.update(1, 5, -1)  # before any snapshot: waits, no gap
    sequence.snapshot(10)
    assert not sequence.update(5, 10, -1)  # u <= the snapshot's id: old
    assert sequence.update(8, 12, -1)  # U <= 11 <= u
    assert sequence.update(13, 15, -1)
    assert not sequence.update(17, 20, -1) and sequence.gaps == 1  # 16 is missing
    assert not sequence.update(21, 22, -1) and sequence.stale_updates == 1
    sequence.snapshot(30)
    assert sequence.update(31, 33, -1)  # live again after the next snapshot


def capture_line(ns: int, message: dict[str, object]) -> str:
    return f"{ns} {json.dumps(message, separators=(',', ':'))}"


def test_an_hftbacktest_capture_reads_depth_trades_and_the_rest_snapshot(tmp_path: Path) -> None:
    ns = 1_660_228_023_037_049_000
    update = {"e": "depthUpdate", "E": 1660228023941, "T": 1660228023031, "s": "BTCUSDT", "U": 11, "u": 12, "pu": 10,
              "b": [["24670.90", "2.000"]], "a": [["24671.00", "0.000"]]}  # fmt: skip
    trade = {"e": "trade", "E": 1660228023980, "T": 1660228023033, "s": "BTCUSDT", "t": 1, "p": "24670.90",
             "q": "0.022", "X": "MARKET", "m": True}  # fmt: skip
    snapshot = {"lastUpdateId": 10, "E": 1, "T": 1, "bids": [["24670.80", "1.0"]], "asks": [["24671.0", "3.0"]]}
    path = write(tmp_path / "btcusdt_20220811.gz.txt", [
        capture_line(ns, snapshot),
        capture_line(ns + 1000, {"stream": "btcusdt@depth@0ms", "data": update}),
        capture_line(ns + 2000, {"stream": "btcusdt@trade", "data": trade}),
        capture_line(ns + 3000, {"stream": "btcusdt@markPrice", "data": {"e": "markPriceUpdate", "s": "BTCUSDT"}}),
    ])  # fmt: skip
    market = MarketFile(path)
    assert (market.format.name, market.time_unit, market.symbol) == ("binance-ws-capture", "ns", "BTCUSDT")
    events = list(market)
    us = ns // 1000
    assert events[0] == (us, DEPTH, "BTCUSDT", 0.0, 10.0, BOOK_RESET, 0.0)  # named by the file: no "s" in it
    assert events[3] == (us + 1, DEPTH, "BTCUSDT", 11.0, 12.0, BOOK_UPDATE, 10.0)
    assert events[4] == (us + 1, DEPTH, "BTCUSDT", 24670.9, 2.0, 1.0, float(us + 1 - 1660228023031000))
    assert events[-1][:6] == (us + 2, TRADE, "BTCUSDT", 24670.9, 0.022, -1.0)  # the buyer made: a seller took
    assert len(events) == 7  # the mark price is no market row


def test_the_book_keeps_its_best_prices_removes_levels_at_zero_and_never_stays_crossed() -> None:
    book = DepthBook()
    assert book.apply(100, 5, BID, 0) is None  # before a snapshot nothing applies
    book.apply(0, 0, RESET, 0)
    assert book.apply(100, 5, BID, 0) == (0, 5)
    book.apply(99, 7, BID, 0)
    book.apply(102, 4, ASK, 0)
    assert (book.best_bid, book.best_ask) == (100, 102)
    assert book.apply(100, 0, BID, 0) == (5, 0) and book.best_bid == 99
    book.apply(103, 2, BID, 0)  # a bid through the ask: the ask levels it crosses are gone
    assert (book.best_bid, book.best_ask, book.asks) == (103, 0, {})
    assert book.levels(2) == (((103, 2), (99, 7)), ())


def test_a_gap_leaves_the_book_stale_until_the_next_snapshot() -> None:
    book = DepthBook()
    book.apply(0, 10, RESET, 0)
    book.apply(9, 11, UPDATE, 10)  # USD-M: U <= 10 <= u
    assert book.apply(100, 5, BID, 0) == (0, 5)
    book.apply(15, 16, UPDATE, 14)  # pu 14, not 11
    assert not book.live and book.sequence.gaps == 1
    assert book.apply(101, 5, BID, 0) is None and book.best_bid == 100
    book.apply(0, 20, RESET, 0)
    assert book.live and book.bids == {}


def test_the_feed_gives_the_books_mid_top_and_levels_at_each_tick(tmp_path: Path) -> None:
    path = write(tmp_path / "l2.csv", [
        "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount",
        f"x,AAA,{T0},{T0},true,bid,10,1", f"x,AAA,{T0},{T0},true,bid,9,2", f"x,AAA,{T0},{T0},true,ask,12,3",
        f"x,AAA,{T0 + 1_000_000},{T0 + 1_000_000},false,ask,11,4",
    ])  # fmt: skip
    files = [MarketFile(path)]
    summary = scan(files)
    instruments = {"AAA": Instrument("AAA", Decimal(1), Decimal(1), Decimal(1))}
    recording = Recording.cut(files, instruments, first_us=summary.first_us, last_us=summary.last_us,
                              bucket_us=1_000_000, first_mids={"AAA": summary.symbols["AAA"].first_mid},
                              quoted=frozenset({"AAA"}), depth=True)  # fmt: skip
    feed = RecordedMarket(recording, levels=2)
    first = feed.top_of_book("AAA", 1)
    assert (first.mid, first.bid, first.bid_lots, first.ask, first.ask_lots) == (11, 10, 1, 12, 3)
    assert (first.bids, first.asks) == (((10, 1), (9, 2)), ((12, 3),))
    assert feed.mid_ticks("AAA", 2) == 10  # (10 + 11) // 2: the ask came down to 11
