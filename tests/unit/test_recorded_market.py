"""A recording cut into time buckets: the mid of the last quote in a bucket, a quiet symbol keeps its mid."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from actors.core._types import Instrument
from actors.markets._events import QUOTE
from actors.markets._files import MarketFile
from actors.markets._recorded import NO_ASK_TICKS, Buckets, RecordedMarket, Recording, SharedBuckets
from tests.unit.market_kit import tardis_quotes, tardis_trades

S = 1_000_000
T0 = 1_735_689_600_000_000


def market(tmp_path: Path) -> RecordedMarket:
    quotes = tardis_quotes(tmp_path / "q.csv", [
        (T0 + S + 10, "AAA", 10.0, 1.0, 12.0, 1.0),      # bucket 2
        (T0 + S + 20, "AAA", 20.0, 1.0, 22.0, 1.0),      # bucket 2, last: mid 21
        (T0 + 3 * S + 1, "AAA", 30.0, 1.0, 31.0, 1.0),   # bucket 4: mid 30.5 -> 30 (rounded down)
    ])  # fmt: skip
    trades = tardis_trades(tmp_path / "t.csv", [(T0 + 5, "BBB", "buy", 7.0, 1.0), (T0 + 2 * S, "BBB", "sell", 8.0, 1)])
    instruments = {s: Instrument(s, Decimal(1), Decimal(1), Decimal(1)) for s in ("AAA", "BBB")}
    recording = Recording.cut(
        [MarketFile(quotes), MarketFile(trades)], instruments, first_us=T0 + 5, last_us=T0 + 3 * S + 1,
        bucket_us=S, first_mids={"AAA": 11.0, "BBB": 7.0}, quoted=frozenset({"AAA"}),
    )  # fmt: skip
    assert (recording.start_us, recording.buckets) == (T0, 4)
    return RecordedMarket(recording)


def test_a_mid_is_the_last_quote_of_its_bucket_and_a_quiet_symbol_keeps_it(tmp_path: Path) -> None:
    feed = market(tmp_path)
    assert [feed.mid_ticks("AAA", tick) for tick in (1, 2, 3, 4, 5)] == [11, 21, 21, 30, 30]


def test_a_symbol_no_file_quotes_is_marked_at_its_last_trade(tmp_path: Path) -> None:
    feed = market(tmp_path)
    assert [feed.mid_ticks("BBB", tick) for tick in (1, 2, 3, 4)] == [7, 7, 8, 8]


def test_asking_for_an_earlier_tick_reads_the_files_again(tmp_path: Path) -> None:
    feed = market(tmp_path)
    assert feed.mid_ticks("AAA", 4) == 30
    assert feed.mid_ticks("AAA", 2) == 21


def test_a_symbol_not_in_the_recording_is_a_key_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="CCC"):
        market(tmp_path).mid_ticks("CCC", 1)


def test_a_quote_with_a_side_absent_holds_the_mid_and_reaches_the_venue_as_an_empty_side(tmp_path: Path) -> None:
    quotes = tardis_quotes(tmp_path / "q.csv", [
        (T0 + 10, "AAA", 10.0, 1.0, 12.0, 1.0),        # bucket 1: mid 11
        (T0 + S + 10, "AAA", 20.0, 3.0, None, 0.0),    # bucket 2: no ask: the mid is held, not 20 nor 10
        (T0 + 2 * S + 10, "AAA", None, 0.0, 30.0, 2.0),  # bucket 3: no bid: held again
        (T0 + 3 * S + 10, "AAA", 40.0, 1.0, 42.0, 1.0),  # bucket 4: two sides: mid 41
    ])  # fmt: skip
    instruments = {"AAA": Instrument("AAA", Decimal(1), Decimal(1), Decimal(1))}
    recording = Recording.cut([MarketFile(quotes)], instruments, first_us=T0 + 10, last_us=T0 + 3 * S + 10,
                              bucket_us=S, first_mids={"AAA": 11.0}, quoted=frozenset({"AAA"}))  # fmt: skip
    feed = RecordedMarket(recording)
    assert [feed.mid_ticks("AAA", tick) for tick in (1, 2, 3, 4)] == [11, 11, 11, 41]
    buckets = Buckets(recording)
    assert [buckets.next_bucket() for _ in range(3)][1:] == [
        [(T0 + S + 10, QUOTE, "AAA", 20, 3, NO_ASK_TICKS, 0)],
        [(T0 + 2 * S + 10, QUOTE, "AAA", 0, 0, 30, 2)],
    ]


def recording_of(tmp_path: Path, seconds: int) -> Recording:
    """One symbol quoted twice a second for ``seconds`` 1-second buckets."""
    rows = [(T0 + k * S // 2 + 1, "AAA", 10.0 + k, 1.0, 12.0 + k, 2.0) for k in range(2 * seconds)]
    quotes = tardis_quotes(tmp_path / "q.csv", rows)
    instruments = {"AAA": Instrument("AAA", Decimal(1), Decimal(1), Decimal(1))}
    return Recording.cut([MarketFile(quotes)], instruments, first_us=T0 + 1, last_us=rows[-1][0], bucket_us=S,
                         first_mids={"AAA": 11.0}, quoted=frozenset({"AAA"}))  # fmt: skip


def every_bucket(buckets: Buckets, count: int) -> list[list[object]]:
    return [list(buckets.next_bucket()) for _ in range(count)]


def test_readers_of_one_shared_parse_get_the_buckets_a_private_reader_gets_and_little_is_held(tmp_path: Path) -> None:
    recording = recording_of(tmp_path, 12)
    expected = every_bucket(Buckets(recording), 12)
    shared = SharedBuckets(recording)
    feed, venue = shared.reader(), shared.reader()
    got_feed, got_venue = [], []
    for tick in range(12):  # the feed runs 3 buckets ahead of the venue, as ticks in flight let it
        got_feed.append(feed.next_bucket())
        if tick >= 3:
            got_venue.append(venue.next_bucket())
            assert shared.held <= 3
    got_venue += every_bucket(venue, 3)
    assert got_feed == expected and got_venue == expected
    assert shared.held == 0


def test_a_reader_behind_a_full_hold_or_a_reader_that_never_reads_costs_no_memory(tmp_path: Path) -> None:
    recording = recording_of(tmp_path, 10)
    expected = every_bucket(Buckets(recording), 10)
    shared = SharedBuckets(recording, hold_events=4)  # room for two buckets of two quotes
    ahead, behind = shared.reader(), shared.reader()
    assert every_bucket(ahead, 10) == expected
    assert shared.held == 2  # the rest were not held
    assert every_bucket(behind, 10) == expected  # two from the share, then its own parse of the files
    assert shared.held == 0
    lonely = SharedBuckets(recording)
    only, never = lonely.reader(), lonely.reader()
    every_bucket(only, 4)
    never.close()  # a reader dropped: nothing is held for it
    assert lonely.held == 0
    assert every_bucket(only, 6) == expected[4:]


def test_a_feed_that_goes_back_leaves_the_share_and_reads_the_files_again(tmp_path: Path) -> None:
    recording = recording_of(tmp_path, 6)
    shared = SharedBuckets(recording)
    feed = RecordedMarket(recording, buckets=shared.reader())
    venue = shared.reader()
    assert feed.mid_ticks("AAA", 5) == 20  # bucket 5's last quote: bid 19, ask 21
    assert feed.mid_ticks("AAA", 2) == 14  # bid 13, ask 15, read from the files again
    every_bucket(venue, 6)
    assert shared.held == 0
