"""The journal's typed records: each encodes to the list the journals always held and decodes back to itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.core._journal_records import (
    Ack,
    Advance,
    CancelAll,
    CancelAnswered,
    CancelDone,
    CancelsConfirmed,
    Create,
    Decided,
    Expire,
    FaultInjected,
    FillNow,
    FillRecord,
    Final,
    Finished,
    FreezeRecord,
    JournalRecord,
    JournalSink,
    Kept,
    MassCancel,
    MassFault,
    Note,
    Reject,
    RequestCancel,
    ResumeRecord,
    StateMove,
    Stream,
    VenueCancel,
    VenuePlace,
    decode_note,
    decode_risk,
    decode_store,
    decode_venue,
)
from actors.core._trading_state import TradingState
from actors.core._types import Fill, Side
from actors.wire._journal import JournalError, JournalReader, JournalWriter

text = st.text(max_size=12)
count = st.integers(min_value=0, max_value=2**40)
side = st.sampled_from([int(s) for s in Side])
fills = st.builds(Fill, text, text, text, text, st.sampled_from(list(Side)), count, count, count)
store_records = st.one_of(
    st.builds(Create, text, side, count, count, count, st.none() | count),
    st.builds(Ack, text, text),
    st.builds(Reject, text, text),
    st.builds(RequestCancel, text),
    st.builds(CancelAnswered, text, st.booleans(), text),
    st.builds(CancelsConfirmed, st.lists(text, max_size=4).map(tuple)),
    st.builds(FillRecord, fills),
    st.builds(Expire, count),
    st.builds(Kept, count),
    st.builds(FreezeRecord, count, text),
    st.builds(ResumeRecord, count, text),
    st.builds(Finished, st.dictionaries(text, count, max_size=3), text, st.dictionaries(text, count, max_size=3)),
)
states = st.sampled_from(list(TradingState))
risk_records = st.one_of(
    st.builds(Decided, count, count, count, st.none() | st.dictionaries(text, count, max_size=3)),
    st.builds(StateMove, count, states, states, text),
    st.builds(Final, count, text),
)
notes = st.one_of(
    st.builds(FaultInjected, text),
    st.builds(FaultInjected, text, text, count),
    st.builds(CancelDone, text),
    st.builds(MassCancel, st.none() | count),
    st.builds(MassFault, text, count, count),
)
venue_records = st.one_of(
    st.builds(VenuePlace, text, text, side, count, count),
    st.builds(VenueCancel, text),
    st.just(CancelAll()),
    st.builds(Advance, count),
    st.just(Stream()),
    st.builds(FillNow, text),
    st.builds(Note, notes),
)


def on_disk(record: JournalRecord) -> list[Any]:
    """The list a journal reader gives back for ``record``: msgpack there and back, as in a frame."""
    raw: list[Any] = msgpack.unpackb(msgpack.packb(record.encode()), raw=False, strict_map_key=True)
    return raw


@given(store_records)
def test_every_store_record_decodes_back_from_its_bytes(record: Any) -> None:
    assert decode_store(on_disk(record)) == record


@given(risk_records)
def test_every_risk_record_decodes_back_from_its_bytes(record: Any) -> None:
    assert decode_risk(on_disk(record)) == record


@given(venue_records)
def test_every_venue_record_and_injector_note_decodes_back_from_its_bytes(record: Any) -> None:
    assert decode_venue(on_disk(record)) == record


@pytest.mark.parametrize(
    ("record", "raw"),
    [
        (Create("BTCUSDT", 1, 100, 2, 3, 7), ["create", "BTCUSDT", 1, 100, 2, 3, 7]),
        (Create("BTCUSDT", -1, 100, 2, 3), ["create", "BTCUSDT", -1, 100, 2, 3]),  # before risk numbered orders
        (Ack("CLI00000007", "ORD000007"), ["ack", "CLI00000007", "ORD000007"]),
        (CancelAnswered("CLI00000007", False, "busy"), ["cancel_answered", "CLI00000007", False, "busy"]),
        (CancelsConfirmed(("CLI00000001", "CLI00000002")), ["cancels_confirmed", ["CLI00000001", "CLI00000002"]]),
        (Kept(2), ["kept", 2]),
        (FillRecord(Fill("F1", "ORD1", "CLI00000001", "BTCUSDT", Side.SELL, 100, 2, 5)),
         ["fill", "F1", "ORD1", "CLI00000001", "BTCUSDT", -1, 100, 2, 5]),
        (FreezeRecord(4, "operator"), ["freeze", 4, "operator"]),
        (Finished({"iterations": 6}, "{}", {"risk.journal": 9}),
         ["finished", {"iterations": 6}, "{}", {"risk.journal": 9}]),
        (Decided(3, 1, 2, {"max-inv": 1}), ["decided", 3, 1, 2, {"max-inv": 1}]),
        (Decided(3, 1, 2), ["decided", 3, 1, 2]),  # before blocks had kinds
        (StateMove(3, TradingState.ACTIVE, TradingState.HALTED, "Edge"), ["state", 3, "ACTIVE", "HALTED", "Edge"]),
        (Note(FaultInjected("cancel_error", "ORD1", 2)), ["note", ["fault", "cancel_error", "ORD1", 2]]),
        (Note(MassCancel()), ["note", ["mass_cancel"]]),  # before attempts were keyed by tick
        (VenuePlace("CLI00000001", "BTCUSDT", 1, 100, 2), ["place", "CLI00000001", "BTCUSDT", 1, 100, 2]),
        (CancelAll(), ["cancel_all"]),
    ],
)  # fmt: skip
def test_a_record_encodes_to_exactly_the_list_journals_have_always_held(record: JournalRecord, raw: list[Any]) -> None:
    assert record.encode() == raw


@pytest.mark.parametrize(
    ("decode", "raw", "needle"),
    [
        (decode_store, ["teleport"], "unknown order-store operation 'teleport'"),
        (decode_store, ["create", "BTCUSDT"], "not an order-store 'create' record"),
        (decode_store, ["fill", 1, 2], "not an order-store 'fill' record"),
        (decode_store, ["finished", {}, 7, {}], "not a finished run's record"),
        (decode_risk, ["decided", 2, "no blocks", 0], "not a decision of risk's"),
        (decode_risk, ["state", 1, "ACTIVE", "PAUSED", "x"], "not a move of risk's trading state"),
        (decode_risk, ["final", "1", "x"], "not a halt made final by risk"),
        (decode_venue, ["teleport"], "unknown venue operation 'teleport'"),
        (decode_venue, ["advance", "one"], "not a venue 'advance'"),
        (decode_venue, ["note", ["fault"]], "unknown fault-injector note"),
        (decode_note, ["mass_fault", "mass_cancel_error", 1], "unknown fault-injector note"),
    ],
)
def test_a_list_no_writer_wrote_is_a_journal_error_saying_what_it_is_not(
    decode: Callable[[list[Any]], object], raw: list[Any], needle: str
) -> None:
    with pytest.raises(JournalError, match=needle):
        decode(raw)


def test_a_journal_file_is_a_sink_and_gives_back_the_typed_records_written_to_it(tmp_path: Path) -> None:
    records: list[JournalRecord] = [Create("BTCUSDT", 1, 100, 2, 1, 1), Ack("CLI00000001", "ORD1"), Expire(2)]
    writer = JournalWriter(tmp_path / "store.journal")
    sink: JournalSink = writer
    for record in records:
        sink.append(record)
    sink.flush()
    writer.close()
    assert [decode_store(raw) for raw in JournalReader(tmp_path / "store.journal")] == records
