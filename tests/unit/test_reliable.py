"""Reliable delivery: numbered records, acknowledgements and resends on a deadline recover lost messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from actors.assembly._report import build_report, render
from actors.assembly._system import System
from actors.runtime import MessageActor, create_runtime, handles
from actors.runtime._reliable import RESEND_AFTER_S, RESEND_CAP_S, Delivered, ReliableLinks, Sequenced
from actors.runtime._sim import FaultPlan, SimNotIdle
from actors.testing import Sim
from actors.wire._codec import Message, decode, encode, message

# ---------------------------------------------------------------- the sans-I/O core


def test_a_copy_is_discarded_and_a_record_after_a_gap_waits_for_it() -> None:
    links = ReliableLinks()
    assert links.receive("a", 1, b"one") == [b"one"]
    assert links.receive("a", 1, b"one") == []  # a copy
    assert links.receive("a", 3, b"three") == []  # 2 is missing: held
    assert links.receive("a", 3, b"three") == []  # a copy of a held one
    assert links.receive("a", 2, b"two") == [b"two", b"three"]  # the gap filled: both, in order
    assert links.discarded == 2
    assert links.acks_owed() == [("a", Delivered(3))] and links.acks_owed() == []


def test_links_are_per_sender() -> None:
    links = ReliableLinks()
    assert links.receive("a", 1, b"a1") == [b"a1"] and links.receive("b", 1, b"b1") == [b"b1"]
    assert links.acks_owed() == [("a", Delivered(1)), ("b", Delivered(1))]


def test_an_acknowledgement_forgets_what_it_covers_and_nothing_else() -> None:
    links = ReliableLinks()
    sent = [links.number("b", f"r{n}".encode(), now=0.0) for n in range(1, 4)]
    assert [decode(data) for data in sent] == [Sequenced(1, b"r1"), Sequenced(2, b"r2"), Sequenced(3, b"r3")]
    links.acknowledged("b", 2, now=0.1)
    assert links.waiting() and list(links.outgoing["b"].unacked) == [3]
    links.acknowledged("b", 3, now=0.1)
    assert not links.waiting()


def test_what_waited_its_deadline_is_sent_again_and_the_next_wait_doubles_up_to_a_cap() -> None:
    links = ReliableLinks()
    first = links.number("b", b"x", now=0.0)
    assert links.due(RESEND_AFTER_S / 2) == []
    now, waits = RESEND_AFTER_S, []
    for _ in range(7):
        assert links.due(now) == [("b", [first])]  # the same bytes: the same number
        waits.append(links.outgoing["b"].wait_s)
        now += waits[-1]
    assert waits == [0.4, 0.8, 1.6, 3.2, 3.2, 3.2, 3.2] and max(waits) == RESEND_CAP_S
    links.acknowledged("b", 1, now=now)
    assert links.due(now + 10) == [] and links.next_deadline() is None


def test_a_receiver_gone_for_good_is_forgotten() -> None:
    links = ReliableLinks()
    links.number("b", b"x", now=0.0)
    assert links.forget("b") == 1 and not links.waiting() and links.forget("b") == 0


# ---------------------------------------------------------------- actors over a lossy sim


@message
@dataclass(frozen=True, slots=True)
class Item(Message):
    number: int


class Source(MessageActor):
    """Sends ``count`` numbered items to ``to`` when told an Item (its count)."""

    def __init__(self, to: str) -> None:
        super().__init__()
        self.to = to

    @handles(Item)
    def on_item(self, item: Item) -> None:
        for number in range(item.number):
            self.send(self.to, Item(number))


class Sink(MessageActor):
    def __init__(self) -> None:
        super().__init__()
        self.got: list[int] = []

    @handles(Item)
    def on_item(self, item: Item) -> None:
        self.got.append(item.number)


def pipeline(reliable: bool, drop: float, seed: int = 3) -> tuple[Sim, list[int]]:
    sim = Sim(seed, faults=FaultPlan(seed=seed, drop=drop, duplicate=0.2, delay=0.3), reliable=reliable,
              auto_advance=True)  # fmt: skip
    sim.spawn(Sink, "sink")
    sim.spawn(Source, "source", to="sink")
    sim.tell("source", encode(Item(200)))
    sim.run_until_idle()
    got = list(sim.actor("sink").got)  # type: ignore[attr-defined]
    return sim, got


def test_without_reliable_delivery_a_lossy_link_loses_records() -> None:
    sim, got = pipeline(reliable=False, drop=0.3)
    assert sim.fault_counts.dropped > 0 and sorted(set(got)) != list(range(200))
    sim.shutdown()


@pytest.mark.parametrize("seed", range(5))
def test_with_reliable_delivery_every_record_arrives_once_and_in_order_over_a_lossy_link(seed: int) -> None:
    sim, got = pipeline(reliable=True, drop=0.3, seed=seed)
    assert sim.fault_counts.dropped > 0 and sim.fault_counts.duplicated > 0
    assert got == list(range(200))
    source, sink = sim.actor("source"), sim.actor("sink")
    assert not source._links.waiting()  # type: ignore[attr-defined]  # every record acknowledged in the end
    assert source._links.resends > 0 and sink._links.discarded > 0  # type: ignore[attr-defined]
    sim.shutdown()


def test_records_to_an_actor_that_stopped_are_not_resent_for_ever() -> None:
    sim = Sim(1, faults=FaultPlan(seed=1, drop=1.0, targets=("sink",)), reliable=True)
    sim.spawn(Sink, "sink")
    sim.spawn(Source, "source", to="sink")
    sim.tell("source", encode(Item(3)))
    sim.run_until_idle()
    sim.advance(10.0)  # every copy lost: resent at 0.2, 0.6, 1.4, 3.0, 6.2 and 9.4 s (waits double to 3.2 s)
    links = sim.actor("source")._links  # type: ignore[attr-defined]
    assert links.resends == 3 * 6 and links.waiting()
    sim.stop("sink")
    sim.run_until_idle()
    sim.advance(10.0)  # the next deadline finds the receiver gone: forgotten, no timer left
    assert not links.waiting() and links.resends == 3 * 6 and sim._next_timer() is None
    sim.shutdown()


def test_an_unreachable_receiver_is_tried_for_ever_with_a_capped_wait_and_the_sim_says_so() -> None:
    sim = Sim(1, faults=FaultPlan(seed=1, drop=1.0, targets=("sink",)), reliable=True, auto_advance=True)
    sim.spawn(Sink, "sink")
    sim.spawn(Source, "source", to="sink")
    sim.tell("source", encode(Item(1)))
    with pytest.raises(SimNotIdle, match="timers keep firing"):
        sim.run_until_idle(max_steps=200)
    sim.shutdown()


# ---------------------------------------------------------------- a whole engine


HOSTILE_FREEZING: dict[str, Any] = {
    "symbols_count": 12, "iterations": 14, "seed": 5, "fill_rate": 0.5, "max_total": 1e6,
    "edge_threshold": 30.0, "edge_min_fills": 30, "place_error_rate": 0.1, "cancel_error_rate": 0.2,
    "timeout_rate": 0.1, "duplicate_fill_rate": 0.2, "out_of_order_rate": 0.3, "cancel_race_rate": 0.2,
}  # fmt: skip


def sim_report(drop: float, seed: int, reliable: bool) -> str:
    sim = Sim(seed, faults=FaultPlan(seed=seed, drop=drop, delay=0.2), reliable=reliable, auto_advance=reliable,
              trace=False)  # fmt: skip
    try:
        system = sim.start_system(**HOSTILE_FREEZING)
        system.run()
        return render(build_report(system))
    finally:
        sim.shutdown()


def test_an_engine_losing_a_tenth_of_its_messages_reports_the_same_bytes_as_one_losing_none() -> None:
    expected = sim_report(0.0, 0, reliable=False)
    assert '"freeze_confirmed":true' in expected
    for seed in range(3):
        assert sim_report(0.1, seed, reliable=True) == expected


@pytest.mark.parametrize("runtime_name", ["threads", "pool"])
def test_reliable_delivery_on_a_real_runtime_changes_nothing_in_the_report(runtime_name: str) -> None:
    runtime = create_runtime(runtime_name, reliable=True)
    try:
        system = System.build(runtime, **HOSTILE_FREEZING)
        system.start()
        system.run()
        report = render(build_report(system))
    finally:
        runtime.shutdown()
    assert report.replace(f'"runtime":"{runtime_name}"', '"runtime":"sim"') == sim_report(0.0, 0, reliable=False)
