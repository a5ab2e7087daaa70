"""Runtime semantics, one suite for every runtime: the same actor classes, unchanged."""

from __future__ import annotations

import msgpack
import pytest
from loguru import logger
from pykka import ActorDeadError
from pykka._envelope import Envelope
from pykka.messages import _ActorStop as ActorStop

from actors.runtime import AddressTaken, MessageActor, Runtime, SimRuntime, handles
from actors.wire._codec import MAX_MESSAGE_BYTES, encode
from tests.unit.runtime_kit import (
    Journal,
    PingPong,
    Recorder,
    Sender,
    StoppingRecorder,
    T_Boom,
    T_Forward,
    T_Num,
    T_Ping,
    T_SendTo,
    T_Unhandled,
    eventually,
    let_time_pass,
)


def test_one_sender_is_received_in_order(runtime: Runtime) -> None:
    journal = Journal()
    runtime.spawn(Recorder, "recv", journal)
    runtime.spawn(Sender, "sender.a")
    runtime.tell("sender.a", encode(T_SendTo("recv", 200)))
    runtime.wait_idle()
    assert [n for (_, _, n) in journal.items] == list(range(200))  # type: ignore[misc]


def test_each_senders_messages_stay_in_order_when_several_send(runtime: Runtime) -> None:
    journal = Journal()
    runtime.spawn(Recorder, "recv", journal)
    senders = [f"sender.{i}" for i in range(4)]
    for address in senders:
        runtime.spawn(Sender, address)
    for address in senders:
        runtime.tell(address, encode(T_SendTo("recv", 100)))
    runtime.wait_idle()
    items = journal.items
    assert len(items) == 400
    for address in senders:
        assert [n for (sender, _, n) in items if sender == address] == list(range(100))  # type: ignore[misc]


def test_sender_identity_is_the_sending_actor_or_external(runtime: Runtime) -> None:
    journal = Journal()
    runtime.spawn(Recorder, "recv", journal)
    runtime.spawn(Sender, "sender.a")
    runtime.tell("recv", encode(T_Num("test", 1)))
    runtime.wait_idle()
    runtime.tell("sender.a", encode(T_SendTo("recv", 1)))
    runtime.wait_idle()
    assert [item[0] for item in journal.items] == ["external", "sender.a"]  # type: ignore[index]


def test_wait_idle_returns_after_a_long_chain_completes(runtime: Runtime) -> None:
    journal = Journal()
    runtime.spawn(PingPong, "ping", "pong", journal)
    runtime.spawn(PingPong, "pong", "ping", journal)
    runtime.tell("ping", encode(T_Ping(1000)))
    runtime.wait_idle()
    assert journal.items == [("done", "ping")]
    assert runtime.stats.delivered >= 1001


class ClockRecorder(MessageActor):
    """Records who sent each T_Num, its number, and the runtime's clock as it is handled."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handles(T_Num)
    def on_num(self, msg: T_Num) -> None:
        self.journal.add((self.sender, msg.n, self.runtime.now()))


def test_timers_fire_in_time_order_and_cancel_prevents_delivery(runtime: Runtime) -> None:
    journal = Journal()
    runtime.spawn(ClockRecorder, "recv", journal)
    start = runtime.now()
    runtime.schedule(0.06, "recv", encode(T_Num("timer", 3)))
    runtime.schedule(0.02, "recv", encode(T_Num("timer", 1)))
    canceled = runtime.schedule(0.03, "recv", encode(T_Num("timer", 99)))
    runtime.schedule(0.04, "recv", encode(T_Num("timer", 2)))
    canceled.cancel()
    let_time_pass(runtime, 0.2)
    assert eventually(lambda: len(journal.items) >= 3)  # a busy machine's timer thread may be late, never early
    fired: list[tuple[str, int, float]] = journal.items  # type: ignore[assignment]
    assert [(sender, n) for (sender, n, _) in fired] == [("clock", 1), ("clock", 2), ("clock", 3)]  # 99: canceled
    assert [when - start >= due for (_, _, when), due in zip(fired, (0.02, 0.04, 0.06), strict=True)] == [True] * 3


def test_a_stopped_actor_leaves_the_directory_and_its_mail_is_dead_lettered(runtime: Runtime) -> None:
    journal = Journal()
    runtime.spawn(Recorder, "recv", journal)
    runtime.stop("recv")
    runtime.wait_idle()
    assert eventually(lambda: "recv" not in runtime.directory)
    before = runtime.stats.dead_letters
    assert runtime.tell("recv", encode(T_Num("late", 1))) is False
    assert runtime.stats.dead_letters == before + 1
    assert runtime.stats.dead_letter_reasons["no such actor"] >= 1


def test_stop_all_stops_every_actor(runtime: Runtime) -> None:
    journal = Journal()
    refs = [runtime.spawn(Recorder, f"recv.{i}", journal) for i in range(20)]
    runtime.stop_all()
    assert all(not ref.is_alive() for ref in refs)
    assert len(runtime.directory) == 0


def test_dead_letters_are_counted_and_the_receiver_keeps_working(runtime: Runtime) -> None:
    journal = Journal()
    runtime.spawn(Recorder, "recv", journal)
    runtime.tell("nobody", encode(T_Num("x", 1)))
    runtime.tell("recv", b"\x93garbage")
    runtime.tell("recv", encode(T_Unhandled(1)))
    runtime.tell("recv", "not bytes at all")
    runtime.tell("recv", encode(T_Num("after", 7)))
    runtime.wait_idle()
    reasons = runtime.stats.dead_letter_reasons
    assert runtime.stats.dead_letters == 4
    assert reasons["no such actor"] == 1 and reasons["undecodable"] == 2 and reasons["unhandled"] == 1
    assert journal.items == [("external", "after", 7)]


BAD_PAYLOADS = {
    "garbage": (b"\xc1\xc1\xc1", 1),
    "truncated": (encode(T_Num("x", 1))[:-2], 1),
    "unknown tag": (msgpack.packb(["NoSuchRecord", 1, 5]), 1),
    "wrong field type": (msgpack.packb(["T_Num", 1, "x", "not an int"]), 1),
    "oversized": (b"\x90", MAX_MESSAGE_BYTES + 1),
}


@pytest.mark.parametrize("kind", sorted(BAD_PAYLOADS))
def test_a_bad_message_is_dead_lettered_once_with_its_sender_and_the_receiver_goes_on(
    runtime: Runtime, kind: str
) -> None:
    journal = Journal()
    runtime.spawn(Recorder, "recv", journal)
    runtime.spawn(Sender, "sender.a")
    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    try:
        runtime.tell("sender.a", encode(T_Forward("recv", *BAD_PAYLOADS[kind])))
        runtime.tell("sender.a", encode(T_SendTo("recv", 1)))
        runtime.wait_idle()
    finally:
        logger.remove(sink)
    assert runtime.stats.dead_letters == 1 and runtime.stats.dead_letter_reasons["undecodable"] == 1
    dead = [line for line in lines if "dead letter" in line]
    assert len(dead) == 1 and "sender.a -> recv" in dead[0], lines
    assert journal.items == [("sender.a", "sender.a", 0)]


def test_a_failing_handler_is_counted_and_resume_keeps_the_actor(runtime: Runtime) -> None:
    journal = Journal()
    ref = runtime.spawn(Recorder, "recv", journal)
    runtime.tell("recv", encode(T_Boom("first")))
    runtime.tell("recv", encode(T_Num("after", 1)))
    runtime.wait_idle()
    assert runtime.stats.failures == 1
    assert ref.is_alive()
    assert journal.items == [("external", "after", 1)]


def test_stop_policy_stops_a_failing_actor(runtime: Runtime) -> None:
    journal = Journal()
    ref = runtime.spawn(StoppingRecorder, "recv", journal)
    runtime.tell("recv", encode(T_Boom("fatal")))
    runtime.wait_idle()
    assert runtime.stats.failures == 1
    assert eventually(lambda: not ref.is_alive())
    assert "recv" not in runtime.directory


def test_the_directory_refuses_a_taken_address_and_lists_groups_sorted(runtime: Runtime) -> None:
    journal = Journal()
    for symbol in ("ETH", "BTC", "SOL"):
        runtime.spawn(Recorder, f"quoter.{symbol}", journal)
    with pytest.raises(AddressTaken):
        runtime.spawn(Recorder, "quoter.BTC", journal)
    assert runtime.directory.group("quoter") == ["quoter.BTC", "quoter.ETH", "quoter.SOL"]
    assert runtime.directory.group("none") == []


def test_pykka_asks_and_proxies_work_from_outside(runtime: Runtime) -> None:
    journal = Journal()
    ref = runtime.spawn(Recorder, "recv", journal)
    assert ref.proxy().address.get() == "recv"
    if not isinstance(runtime, SimRuntime):
        runtime.wait_idle()


class Interrupted(MessageActor):
    """Raises a BaseException (not an Exception) from its handler."""

    @handles(T_Num)
    def on_num(self, _msg: T_Num) -> None:
        raise KeyboardInterrupt


def test_a_base_exception_stops_the_actor_and_the_runtime_keeps_delivering(runtime: Runtime) -> None:
    journal = Journal()
    ref = runtime.spawn(Interrupted, "interrupted")
    runtime.spawn(Recorder, "recv", journal)
    runtime.tell("interrupted", encode(T_Num("x", 1)))
    runtime.wait_idle()
    assert eventually(lambda: not ref.is_alive())
    runtime.tell("recv", encode(T_Num("after", 2)))
    runtime.wait_idle()
    assert journal.items == [("external", "after", 2)]


def test_an_ask_racing_a_stop_is_answered_with_actor_dead_error(runtime: Runtime) -> None:
    ref = runtime.spawn(Recorder, "recv", Journal())
    runtime.stop_all()
    ask = ref.actor_class._create_future()
    ref.actor_inbox.put(Envelope(encode(T_Num("late", 1)), reply_to=ask))  # past pykka's is_alive check
    with pytest.raises(ActorDeadError):
        ask.get(timeout=60)  # only a hang takes that long
    stop = ref.actor_class._create_future()
    ref.actor_inbox.put(Envelope(ActorStop(), reply_to=stop))
    assert stop.get(timeout=60) is None
    with pytest.raises(ActorDeadError):
        ref.actor_inbox.put(Envelope(encode(T_Num("late", 2))))
