"""The wire codec: every record round-trips; every kind of bad input is one clear error."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

import actors.wire._messages
from actors.wire._codec import (
    MAX_MESSAGE_BYTES,
    WIRE_VERSION,
    Message,
    WireError,
    decode,
    encode,
    message,
    peek_type,
    registered_types,
)
from actors.wire._messages import Ack, GatewayReport, Mark, MarketTick, QuoteIntent
from tests.unit.test_readme_example import Greet as ReadmeGreet


@message
@dataclass(frozen=True, slots=True)
class W_Optional(Message):
    note: str | None
    blob: bytes
    flag: bool


def strategy_for(hint: Any) -> st.SearchStrategy[Any]:
    if hint is int:
        return st.integers(min_value=-(2**63), max_value=2**64 - 1)
    if hint is str:
        return st.text(max_size=20)
    if hint is bool:
        return st.booleans()
    if hint is bytes:
        return st.binary(max_size=20)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return st.lists(strategy_for(typing.get_args(hint)[0]), max_size=3).map(tuple)
    if origin is not None:  # X | None
        inner = next(a for a in typing.get_args(hint) if a is not type(None))
        return st.none() | strategy_for(inner)
    return record_strategy(hint)


def record_strategy(cls: type[Message]) -> st.SearchStrategy[Message]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return st.builds(cls, **fields)


ALL_RECORDS = st.sampled_from(sorted(registered_types().values(), key=lambda c: c.TAG)).flatmap(record_strategy)


@given(ALL_RECORDS)
def test_every_registered_record_round_trips(record: Message) -> None:
    assert decode(encode(record)) == record


def test_the_engine_registers_its_whole_vocabulary() -> None:
    tags = set(registered_types())
    names = ("MarketTick", "QuoteIntent", "ReplaceQuotes", "GatewayRequest", "GatewayReport", "Freeze")
    assert {f"actors.wire._messages:{name}" for name in names} <= tags


def test_encoding_is_an_array_with_the_module_qualified_tag_and_the_version_first() -> None:
    raw = msgpack.unpackb(encode(Mark(3, "BTCUSDT", 6_000_000)))
    assert raw == ["actors.wire._messages:Mark", WIRE_VERSION, 3, "BTCUSDT", 6_000_000, False]
    assert WIRE_VERSION == 8  # 2: tags by class name alone; 3: no numbers on the gateway stream; 4: no reduce-only
    # flag; 6: no top of book and no stale flag on a market tick, no pull on a mark; 7: no kept orders


def test_peek_type_names_a_message_without_decoding_all_of_it() -> None:
    assert peek_type(encode(MarketTick(1, "X", 1))) == "MarketTick"
    assert peek_type(bytearray(encode(MarketTick(1, "X", 1)))) == "MarketTick"
    assert peek_type(encode(ReadmeGreet("ada"))) == "Greet"  # a tag of more than 31 bytes
    assert peek_type(msgpack.packb([MarketTick.TAG, *range(20)])) == "MarketTick"  # more than 15 items
    assert peek_type(msgpack.packb(["nobody:Nothing", 3])) == "nobody:Nothing"
    assert peek_type(encode(MarketTick(1, "X", 1))[:5]) == "<undecodable>"
    assert peek_type(b"\xc1garbage") == "<undecodable>"
    assert peek_type(msgpack.packb([1, 2])) == "<undecodable>"
    assert peek_type(object()) == "object"


def report_bytes(*fields: object) -> bytes:
    return msgpack.packb([GatewayReport.TAG, WIRE_VERSION, *fields])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "not msgpack"),
        (b"\xc1", "not msgpack"),
        (msgpack.packb({"a": 1}), "not a message"),
        (msgpack.packb(["MarketTick"]), "not a message"),
        (msgpack.packb(["Nope", 1]), "unknown message type 'Nope'"),
        (msgpack.packb(["MarketTick", WIRE_VERSION, 1, "X", 1]), "unknown message type 'MarketTick'"),  # tag of v2
        (msgpack.packb([7, 1]), "unknown message type 7"),
        (msgpack.packb([MarketTick.TAG, 99, 1, "X", 1]), "unsupported version 99"),
        (msgpack.packb([Mark.TAG, WIRE_VERSION, 1, "X", 1]), "expected 4 fields, got 3"),
        (msgpack.packb([Mark.TAG, WIRE_VERSION, 1, "X", 1, False, 2]), "expected 4 fields, got 5"),
        (msgpack.packb([Mark.TAG, WIRE_VERSION, "1", "X", 1, False]), "Mark.tick: expected int, got str"),
        (msgpack.packb([Mark.TAG, WIRE_VERSION, True, "X", 1, False]), "Mark.tick: expected int, got bool"),
        (msgpack.packb([Mark.TAG, WIRE_VERSION, 1.5, "X", 1, False]), "Mark.tick: expected int, got float"),
        (msgpack.packb([Mark.TAG, WIRE_VERSION, 1, b"X", 1, False]), "Mark.symbol: expected str, got bytes"),
        (report_bytes(1, "notalist", [], [], [], [], False, 0), "GatewayReport.acks: expected array"),
        (report_bytes(1, [["C1"]], [], [], [], [], False, 0), "GatewayReport.acks[0]: expected 2 fields"),
        (report_bytes(1, ["x"], [], [], [], [], False, 0), "GatewayReport.acks[0]: expected Ack array"),
        (report_bytes(1, [["C1", 5]], [], [], [], [], False, 0), "acks[0].exchange_order_id"),
        (msgpack.packb([W_Optional.TAG, WIRE_VERSION, 5, b"", True]), "W_Optional.note: expected str"),
    ],
)
def test_bad_bytes_raise_one_clear_wire_error(data: bytes, needle: str) -> None:
    with pytest.raises(WireError, match=None) as caught:
        decode(data)
    assert needle in str(caught.value)


def test_every_truncation_of_a_valid_message_is_a_wire_error() -> None:
    data = encode(GatewayReport(1, (Ack("CLI00000001", "ORD000001"),), (), ("CLI00000002",), (), ()))
    for cut in range(len(data)):
        with pytest.raises(WireError):
            decode(data[:cut])


def test_oversized_payload_is_refused_before_decoding() -> None:
    with pytest.raises(WireError, match="oversized"):
        decode(b"\x90" * (MAX_MESSAGE_BYTES + 1))


def test_non_bytes_input_is_a_wire_error() -> None:
    with pytest.raises(WireError, match="expected bytes"):
        decode("MarketTick")  # type: ignore[arg-type]


def test_optional_fields_accept_none_and_their_type() -> None:
    for record in (W_Optional(None, b"\x00", False), W_Optional("hi", b"", True)):
        assert decode(encode(record)) == record


def test_float_fields_are_refused_at_registration() -> None:
    with pytest.raises(TypeError, match="floats are not allowed"):

        @message
        @dataclass(frozen=True)
        class W_Price(Message):
            price: float


@pytest.mark.parametrize(
    "hint",
    ["dict[str, int]", "tuple[int, str]", "int | str | None", "list[int]"],
)
def test_unsupported_field_types_are_refused_at_registration(hint: str) -> None:
    namespace: dict[str, Any] = {}
    exec(
        "from __future__ import annotations\n"
        "from dataclasses import dataclass\n"
        "from actors.wire._codec import Message\n"
        f"@dataclass(frozen=True)\nclass W_Bad{abs(hash(hint))}(Message):\n    field: {hint}\n",
        namespace,
    )
    cls = next(v for k, v in namespace.items() if k.startswith("W_Bad"))
    with pytest.raises(TypeError):
        message(cls)


def test_registration_needs_a_dataclass() -> None:
    class W_NotData(Message):
        pass

    with pytest.raises(TypeError, match="dataclass"):
        message(W_NotData)


@message
@dataclass(frozen=True, slots=True)
class Greet(Message):  # the README example's module defines a Greet too
    name: str
    times: int


def test_two_modules_may_each_define_a_record_of_the_same_name() -> None:
    assert Greet.TAG == "tests.unit.test_wire:Greet" and ReadmeGreet.TAG == "tests.unit.test_readme_example:Greet"
    assert decode(encode(Greet("ada", 2))) == Greet("ada", 2)
    assert decode(encode(ReadmeGreet("ada"))) == ReadmeGreet("ada")
    assert registered_types()["actors.wire._messages:QuoteIntent"] is actors.wire._messages.QuoteIntent


def test_the_same_module_registering_a_record_name_twice_is_refused_naming_the_tag() -> None:
    def define() -> type[Message]:
        @message
        @dataclass(frozen=True)
        class W_Twice(Message):
            n: int

        return W_Twice

    first = define()
    tag = "tests.unit.test_wire:test_the_same_module_registering_a_record_name_twice_is_refused_naming_the_tag"
    with pytest.raises(TypeError, match=rf"duplicate wire tag '{tag}.<locals>.define.<locals>.W_Twice'"):
        define()
    assert registered_types()[first.TAG] is first
    with pytest.raises(TypeError, match=r"duplicate wire tag 'actors.wire._messages:QuoteIntent'"):
        message(QuoteIntent)  # one class registered twice


def test_encode_refuses_unregistered_objects() -> None:
    @dataclass(frozen=True)
    class W_Unregistered(Message):
        n: int

    with pytest.raises(TypeError, match="not a registered"):
        encode(W_Unregistered(1))


def test_quote_intent_is_small_on_the_wire() -> None:
    assert len(encode(QuoteIntent(12, "BTCUSDT", 6_000_000, 5_997_000, 17, 6_003_000, 17))) < 64


@message
@dataclass(frozen=True, slots=True)
class W_Defaults(Message):
    name: str
    times: int = 2
    loud: bool = False


def test_a_record_built_faster_is_still_the_dataclass_it_was() -> None:
    record = W_Defaults("ada", loud=True)
    assert record == W_Defaults(name="ada", times=2, loud=True) == decode(encode(record))
    assert repr(record) == "W_Defaults(name='ada', times=2, loud=True)"
    assert hash(record) == hash(W_Defaults("ada", 2, True))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.times = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'name'"):
        W_Defaults()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        W_Defaults("ada", colour=1)  # type: ignore[call-arg]


def test_a_record_with_a_post_init_keeps_the_dataclass_init_that_calls_it() -> None:
    calls: list[int] = []

    @message
    @dataclass(frozen=True, slots=True)
    class W_Checked(Message):
        n: int

        def __post_init__(self) -> None:
            calls.append(self.n)

    assert decode(encode(W_Checked(4))) == W_Checked(4) and calls == [4, 4, 4]


@message
@dataclass(frozen=True, slots=True)
class W_Awkward(Message):
    self: int
    __wire_self__: str = "x"


@message
@dataclass(frozen=True, slots=True)
class W_Self(Message):
    self: int


def test_a_record_whose_fields_are_named_like_the_init_s_own_arguments_still_builds() -> None:
    assert W_Awkward(1) == W_Awkward(self=1, __wire_self__="x") == decode(encode(W_Awkward(1)))
    assert W_Self(self=3) == W_Self(3) == decode(encode(W_Self(3))) and W_Self(3).self == 3
