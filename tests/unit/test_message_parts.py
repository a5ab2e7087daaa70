"""Bulk records are split into parts small enough for the wire, and the engine's outcome does not change."""

from __future__ import annotations

import pytest

from actors.assembly._report import build_report, render
from actors.testing import Sim
from actors.wire import _messages as messages
from actors.wire._codec import MAX_MESSAGE_BYTES, decode, encode, encode_fields
from actors.wire._messages import (
    Ack,
    CancelItem,
    FillItem,
    GatewayReport,
    GatewayRequest,
    OrderSpec,
    PlaceItem,
    ReplaceQuotes,
    encode_replace,
    parts,
    split_report,
    split_request,
)


def test_parts_keeps_order_and_every_item() -> None:
    assert parts([1, 2, 3, 4, 5], 2) == [(1, 2), (3, 4), (5,)]
    assert parts([], 2) == [()]
    assert parts([1, 2], 5) == [(1, 2)]


def test_small_records_are_not_split(monkeypatch: pytest.MonkeyPatch) -> None:
    request = GatewayRequest(1, (CancelItem("CLI00000001", "ORD000001"),), ())
    assert split_request(request) == [request]
    monkeypatch.setattr(messages, "MAX_ITEMS", 1)
    assert split_request(request) == [request]


def test_a_large_request_sends_every_cancel_before_any_placement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messages, "MAX_ITEMS", 2)
    cancels = tuple(CancelItem(f"CLI{n:08d}", f"ORD{n:06d}") for n in range(3))
    places = tuple(PlaceItem(f"CLI{n:08d}", "BTCUSDT", 1, 100, 1) for n in range(3, 6))
    split = split_request(GatewayRequest(7, cancels, places))
    assert [len(r.cancels) for r in split] == [2, 1, 0, 0] and [len(r.places) for r in split] == [0, 0, 2, 1]
    assert tuple(c for r in split for c in r.cancels) == cancels and tuple(p for r in split for p in r.places) == places
    assert {r.tick for r in split} == {7}


def test_a_large_report_keeps_the_order_the_store_applies_it_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messages, "MAX_ITEMS", 2)
    acks = tuple(Ack(f"CLI{n:08d}", f"ORD{n:06d}") for n in range(3))
    fills = (FillItem("FIL00000001", "ORD000001", "CLI00000001", "BTCUSDT", 1, 100, 1, 1),)
    split = split_report(GatewayReport(3, acks, (), ("CLI00000009",), (), fills))
    assert [(len(r.acks), len(r.canceled), len(r.fills)) for r in split] == [(2, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)]


def test_a_large_replace_groups_symbols_with_their_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messages, "MAX_ITEMS", 4)
    symbols = ("AAA", "BBB", "CCC")
    orders = [(s, side, 100, 1, False, 0) for s in symbols for side in (1, -1)]
    split = [decode(data) for data in encode_replace(2, symbols, orders, 5, False)]
    assert all(isinstance(r, ReplaceQuotes) for r in split)
    assert [r.symbols for r in split] == [("AAA",), ("BBB",), ("CCC",)]  # type: ignore[attr-defined]
    assert all({o.symbol for o in r.orders} == set(r.symbols) for r in split)  # type: ignore[attr-defined]
    assert [r.risk_blocks for r in split] == [5, 0, 0]  # type: ignore[attr-defined]
    assert [r.last for r in split] == [False, False, True]  # type: ignore[attr-defined]


@pytest.mark.parametrize("max_items", [4, 10_000])
@pytest.mark.parametrize("flatten", [False, True])
def test_a_decision_encoded_from_fields_is_the_bytes_of_its_records(
    monkeypatch: pytest.MonkeyPatch, max_items: int, flatten: bool
) -> None:
    monkeypatch.setattr(messages, "MAX_ITEMS", max_items)
    symbols = ("AAA", "BBB", "CCC", "DDD")
    fields = [(s, side, 100 + n, 2, n % 3 == 0, n + 1)
              for n, (s, side) in enumerate((s, side) for s in symbols[:3] for side in (1, -1))]  # fmt: skip
    specs = tuple(OrderSpec(*f) for f in fields)
    if max_items > 100:  # one record
        records = [ReplaceQuotes(9, symbols, specs, 7, True, flatten)]
    else:  # a group of one symbol each (MAX_ITEMS // 4), DDD with no order
        records = [ReplaceQuotes(9, (s,), tuple(o for o in specs if o.symbol == s), 0 if n else 7, n == 3, flatten)
                   for n, s in enumerate(symbols)]  # fmt: skip
    encoded = encode_replace(9, symbols, fields, 7, flatten)
    assert encoded == [encode(record) for record in records]
    assert [decode(data) for data in encoded] == records


def test_only_a_registered_record_is_encoded_from_fields() -> None:
    with pytest.raises(TypeError, match="not a registered wire message"):
        encode_fields(tuple, ())  # type: ignore[arg-type]


def test_a_part_of_the_largest_kind_fits_the_wire() -> None:
    fill = FillItem("FIL99999999", "ORD999999", "CLI99999999", "SYM99999", -1, 10**12, 10**12, 10**7)
    report = GatewayReport(10**7, (), (), (), (), (fill,) * messages.MAX_ITEMS)
    assert len(encode(report)) < MAX_MESSAGE_BYTES // 2


def shadow_report(seed: int) -> str:
    sim = Sim(seed)
    system = sim.start_system(symbols_count=5, iterations=8, seed=4, max_total=1e6, edge_threshold=30.0,
                              edge_min_fills=12, fill_rate=0.6)  # fmt: skip
    system.run()
    text = render(build_report(system))
    system.stop()
    return text


def test_splitting_every_bulk_record_changes_nothing_in_the_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = shadow_report(1)
    monkeypatch.setattr(messages, "MAX_ITEMS", 2)
    assert shadow_report(1) == whole
    assert '"frozen":true' in whole  # the split path covered a freeze's mass cancel too
