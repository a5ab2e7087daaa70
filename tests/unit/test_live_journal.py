"""A live session's journal (``live.journal``): what a kill leaves, read back for the resume.

The session is driven by a stream that hands out scripted events at a clock
the test sets (no socket, no thread): what it journals, how a resumed
session numbers its ticks, and what the reader refuses.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from actors.assembly._market_setup import ResumedFills, live_fills
from actors.core._instruments import instrument_for
from actors.core._journal_records import JournalError
from actors.core._types import Instrument, Side
from actors.markets._events import QUOTE, TRADE, MarketEvent
from actors.markets._recorded import Buckets
from actors.markets.live._session import (
    JournaledMids,
    LiveJournal,
    LiveSession,
    Opening,
    ReplayedBuckets,
    Resumed,
    Tape,
    TapeBuckets,
    read_live_journal,
    tape_recording,
)
from actors.venues._fill_model import FillSettings, RestingOrder
from actors.wire._journal import JournalWriter

BUCKET_US = 100_000
T0 = 1_000_000_000
"""A whole bucket: the first session's tick 1 starts here."""
FINGERPRINT = {"market": "live:binance"}
INSTRUMENTS: dict[str, Instrument] = {s: instrument_for(s, 1) for s in ("BTCUSDT", "ETHUSDT")}


class Note:
    kind = ""
    text = ""


class Status:
    connected = True
    counts: dict[str, int] = {}  # noqa: RUF012 -- read only
    last_error = ""


class ScriptedStream:
    """A stream whose clock and events the test sets."""

    def __init__(self) -> None:
        self.now = T0
        self.events: list[MarketEvent] = []

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def drain_notes(self) -> list[Note]:
        return []

    def stale_changes(self, now_us: int) -> list[tuple[str, bool]]:
        return []

    def status(self) -> Status:
        return Status()

    def now_us(self) -> int:
        return self.now

    def poll(self, until_us: int) -> list[MarketEvent]:
        out = [event for event in self.events if event[0] <= until_us]
        self.events = [event for event in self.events if event[0] > until_us]
        return out

    def stale(self, now_us: int) -> frozenset[str]:
        return frozenset()


def ticks(symbol: str, price: str) -> int:
    return INSTRUMENTS[symbol].to_ticks(Decimal(price))


def quote(at: int, symbol: str, bid: float, ask: float) -> MarketEvent:
    return (at, QUOTE, symbol, bid, 1.0, ask, 2.0)


def trade(at: int, symbol: str, price: float) -> MarketEvent:
    return (at, TRADE, symbol, price, 0.5, 0.0, 0.0)


def session(journal: Path | None) -> tuple[LiveSession, ScriptedStream]:
    stream = ScriptedStream()
    live = LiveSession(stream, INSTRUMENTS, BUCKET_US, Tape(1), down_after_us=10**9)
    if journal is not None:
        live.journal = JournalWriter(journal, fingerprint=FINGERPRINT)
    return live, stream


def first_session(path: Path) -> list[list[MarketEvent]]:
    """Three ticks of a session journaled to ``path``; each tick's events."""
    live, stream = session(path)
    live.resume_at(0, None)
    ticks = [
        [quote(T0 + 10, "BTCUSDT", 100.0, 100.02), quote(T0 + 20, "ETHUSDT", 50.0, 50.02)],
        [trade(T0 + BUCKET_US + 5, "BTCUSDT", 100.02), quote(T0 + BUCKET_US + 6, "BTCUSDT", 100.1, 100.12)],
        [quote(T0 + 2 * BUCKET_US + 1, "ETHUSDT", 51.0, 51.02)],
    ]
    stream.events = [event for tick in ticks for event in tick]
    stream.now = T0 + 3 * BUCKET_US + 1
    assert live.advance() == [1, 2, 3]
    live.close_journal()
    return ticks


def test_a_session_journals_its_opening_and_every_closed_buckets_events_which_read_back_as_they_were(
    tmp_path: Path,
) -> None:
    path = tmp_path / "live.journal"
    ticks = first_session(path)
    journal = read_live_journal(path, INSTRUMENTS, FINGERPRINT)
    mids = {"BTCUSDT": (100.0 + 100.02) / 2, "ETHUSDT": (50.0 + 50.02) / 2}  # each symbol's first quote's
    assert journal.openings == [Opening(1, T0, BUCKET_US, mids, False)]
    assert journal.ticks == {1: ticks[0], 2: ticks[1], 3: ticks[2]}
    assert journal.last_tick == 3 and journal.valid_bytes == path.stat().st_size


def test_a_resumed_session_numbers_its_first_bucket_after_the_venues_last_tick_and_names_the_gap(
    tmp_path: Path,
) -> None:
    """The venue reached tick 2; tick 3 was journaled but never reached it: the new session's tick 3 replaces it.
    Its first bucket starts 7 buckets after tick 2 ended on the old grid: 7 ticks missed, none run empty."""
    path = tmp_path / "live.journal"
    first_session(path)
    before = read_live_journal(path, INSTRUMENTS, FINGERPRINT)
    live, stream = session(None)
    live.journal = JournalWriter(path, keep_bytes=before.valid_bytes, fingerprint=FINGERPRINT)
    live.resume_at(2, before)
    opened = T0 + 9 * BUCKET_US  # tick 2 ended at T0 + 2 buckets
    stream.events = [quote(opened + 3, "BTCUSDT", 101.0, 101.02), quote(opened + 4, "ETHUSDT", 52.0, 52.02)]
    stream.now = opened + 2 * BUCKET_US + 1
    assert live.advance() == [3, 4]
    assert live.resumed == Resumed(2, 7 * BUCKET_US, BUCKET_US)
    assert live.resumed.as_report() == {"after_tick": 2, "down_s": 0.7, "ticks_missed": 7}
    assert live.start_us == opened - 2 * BUCKET_US  # tick 3 is the bucket that starts at the opening
    assert live.mid_ticks("BTCUSDT", 3) == ticks("BTCUSDT", "101.01")
    live.close_journal()
    after = read_live_journal(path, INSTRUMENTS, FINGERPRINT)
    assert [(o.first_tick, o.start_us) for o in after.openings] == [(1, T0), (3, opened - 2 * BUCKET_US)]
    assert after.ticks[3] == stream_events_of(opened) and sorted(after.ticks) == [1, 2, 3, 4]


def stream_events_of(opened: int) -> list[MarketEvent]:
    return [quote(opened + 3, "BTCUSDT", 101.0, 101.02), quote(opened + 4, "ETHUSDT", 52.0, 52.02)]


def test_the_journaled_mids_are_the_ones_each_session_had_and_a_tick_past_the_journal_holds_the_last(
    tmp_path: Path,
) -> None:
    path = tmp_path / "live.journal"
    first_session(path)
    mids = JournaledMids(read_live_journal(path, INSTRUMENTS, FINGERPRINT), INSTRUMENTS)
    assert [mids.mid_ticks("BTCUSDT", tick) for tick in (1, 2, 3, 9)] == [
        ticks("BTCUSDT", price) for price in ("100.01", "100.11", "100.11", "100.11")
    ]
    assert [mids.mid_ticks("ETHUSDT", tick) for tick in (1, 2, 3, 9)] == [
        ticks("ETHUSDT", price) for price in ("50.01", "50.01", "51.01", "51.01")
    ]


def test_the_venues_buckets_are_the_journals_while_it_replays_then_the_tapes() -> None:
    journal = LiveJournal(
        [Opening(1, T0, BUCKET_US, {"BTCUSDT": 100.0, "ETHUSDT": 50.0}, False)],
        {1: [trade(T0 + 1, "BTCUSDT", 100.0)], 2: [], 3: [trade(T0 + 2 * BUCKET_US, "ETHUSDT", 52.5)]},
    )
    tape = Tape(1)
    buckets = ReplayedBuckets(journal.openings[0].recording(INSTRUMENTS), tape, journal)
    assert [buckets.next_raw() for _ in range(2)] == [journal.ticks[1], []]
    buckets.end_replay()  # the venue had reached tick 2: the journal's tick 3 never reached it
    live = [trade(T0 + 9 * BUCKET_US, "BTCUSDT", 101.5)]
    tape.put(3, live)
    assert buckets.next_raw() == live


def test_the_tapes_two_readers_get_each_bucket_in_integers_converted_once_and_a_third_with_other_units_its_own(
) -> None:  # fmt: skip
    recording = tape_recording(INSTRUMENTS, BUCKET_US)
    tape = Tape(2)
    feed, venue = TapeBuckets(recording, tape), TapeBuckets(recording, tape)
    events = [trade(T0 + 1, "BTCUSDT", 100.0), trade(T0 + 2, "ETHUSDT", 52.5), trade(T0 + 3, "XRPUSDT", 1.0)]
    tape.put(1, events)
    own = Buckets(recording).convert(events[:2])  # the unknown symbol is no instrument of the run's
    first = feed.next_bucket()
    assert first == own and len(tape) == 1
    assert venue.next_bucket() is first  # the same list: converted once
    assert len(tape) == 0 and feed.through == venue.through == 1

    other = Tape(1)
    TapeBuckets(recording, other)
    btc_only = tape_recording({"BTCUSDT": INSTRUMENTS["BTCUSDT"]}, BUCKET_US)
    coarse = TapeBuckets(btc_only, other)
    other.put(1, events)
    assert coarse.next_bucket() == Buckets(btc_only).convert(events[:1])


def test_the_restored_venue_matches_each_sessions_ticks_on_that_sessions_grid_from_its_first_tick_on() -> None:
    """Session 2 opened at tick 3, 7 buckets after tick 2 ended.  A buy placed at tick 2 (after the venue's last tick
    of session 1) reached the venue, live, 20 ms after the opening: a trade through it 5 ms into tick 3 does not fill
    it, one 5 ms into tick 4 does.  On session 1's grid it would have been live long before, and filled at tick 3."""
    first = Opening(1, T0, BUCKET_US, {"BTCUSDT": 100.0, "ETHUSDT": 50.0}, False)
    opened = T0 + 9 * BUCKET_US
    second = Opening(3, opened - 2 * BUCKET_US, BUCKET_US, {"BTCUSDT": 101.0, "ETHUSDT": 52.0}, False)
    journal = LiveJournal([first, second], {1: [], 2: [], 3: [trade(opened + 5_000, "BTCUSDT", 99.0)],
                                            4: [trade(opened + BUCKET_US + 5_000, "BTCUSDT", 99.0)]})  # fmt: skip
    live, _ = session(None)
    model = live_fills(live, FillSettings(entry_latency_ms=20.0), journal)
    assert isinstance(model, ResumedFills)
    buy = RestingOrder("ORD1", "BTCUSDT", Side.BUY, ticks("BTCUSDT", "100.00"), 1, placed_tick=2)
    assert model.fills(1, []) == [] and model.fills(2, []) == []
    assert model.fills(3, [buy]) == []
    assert model.fills(4, [buy]) == [(buy, 1)]
    assert model.recording.start_us == second.start_us


def write(path: Path, *records: list[object], fingerprint: dict[str, str] = FINGERPRINT) -> None:
    writer = JournalWriter(path, fingerprint=fingerprint)
    for record in records:
        writer.append(record)
    writer.close()


OPEN = ["open", 1, T0, BUCKET_US, {"BTCUSDT": 100.0, "ETHUSDT": 50.0}, False]


@pytest.mark.parametrize(
    ("records", "said"),
    [
        ([["tick", 1, []]], "a tick before any session opened"),
        ([OPEN, ["tick", 2, []]], "tick 2 after tick 0"),
        ([["open", 1, T0, BUCKET_US, {"BTCUSDT": 100.0}, False]], "an opening of other symbols"),
        ([OPEN, [*OPEN[:1], 3, *OPEN[2:]]], "opening at tick 3 after tick 0"),
        ([OPEN, ["tick", 1, [[T0, QUOTE, "BTCUSDT", 1.0]]]], "not enough values"),
        ([["fill", "x"]], "not a live journal's record"),
    ],
    ids=["tick-before-open", "a-gap", "other-symbols", "opening-ahead", "short-event", "another-record"],
)
def test_a_record_no_live_session_wrote_is_refused_naming_its_offset(
    tmp_path: Path, records: list[list[object]], said: str
) -> None:
    path = tmp_path / "live.journal"
    write(path, *records)
    with pytest.raises(JournalError, match=r"damaged at byte [0-9]+: ") as refused:
        read_live_journal(path, INSTRUMENTS, FINGERPRINT)
    assert said in str(refused.value) and "\n" not in str(refused.value)


def test_a_live_journal_written_under_other_settings_is_refused_and_a_missing_one_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "live.journal"
    assert read_live_journal(path, INSTRUMENTS, FINGERPRINT) == LiveJournal()
    write(path, OPEN, fingerprint={"market": "live:binance-usdm"})
    with pytest.raises(JournalError, match="written with market='live:binance-usdm'"):
        read_live_journal(path, INSTRUMENTS, FINGERPRINT)
