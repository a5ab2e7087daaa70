"""What only the pool runtime does: an urgent lane for the engine's singletons, and blocking refused."""

from __future__ import annotations

import threading
from typing import ClassVar

from actors.runtime import MessageActor, handles
from actors.runtime._pool import PoolRuntime
from actors.wire._codec import encode
from tests.unit.runtime_kit import Asker, Journal, Recorder, T_Num, T_Ping


class Gate(MessageActor):
    """Holds the only worker until the test opens the gate."""

    def __init__(self, opened: threading.Event, holding: threading.Event) -> None:
        super().__init__()
        self.opened = opened
        self.holding = holding

    @handles(T_Ping)
    def on_ping(self, _msg: T_Ping) -> None:
        self.holding.set()
        self.opened.wait(60)  # only a failed test waits that long


class UrgentRecorder(Recorder):
    urgent: ClassVar[bool] = True


def test_an_urgent_actor_is_served_before_ordinary_ones_waiting_longer() -> None:
    pool = PoolRuntime(workers=1)
    journal = Journal()
    opened, holding = threading.Event(), threading.Event()
    try:
        pool.spawn(Gate, "gate", opened, holding)
        for i in range(20):
            pool.spawn(Recorder, f"quoter.{i}", journal)
        pool.spawn(UrgentRecorder, "store", journal)
        pool.tell("gate", encode(T_Ping(0)))
        assert holding.wait(60)  # the only worker is busy: everything below waits in the run queues
        for i in range(20):
            pool.tell(f"quoter.{i}", encode(T_Num(f"quoter.{i}", i)))
        pool.tell("store", encode(T_Num("store", 99)))
        opened.set()
        pool.wait_idle()
        tags = [item[1] for item in journal.items]  # type: ignore[index]
        assert tags[0] == "store" and len(tags) == 21
    finally:
        opened.set()
        pool.shutdown()


def test_a_handler_blocking_on_a_future_is_refused() -> None:
    pool = PoolRuntime(workers=2)
    journal = Journal()
    try:
        pool.spawn(Recorder, "recv", Journal())
        pool.spawn(Asker, "blocker", journal)
        pool.tell("blocker", encode(T_Num("x", 1)))
        pool.wait_idle()
        assert len(journal.items) == 1 and "tell, don't block" in str(journal.items[0])
    finally:
        pool.shutdown()


def test_a_tell_to_a_stopped_pooled_actor_is_a_dead_letter_and_never_handled() -> None:
    pool = PoolRuntime(workers=1)
    journal = Journal()
    try:
        ref = pool.spawn(Recorder, "recv", journal)
        stopped = pool.last_instance("recv")
        ref.stop()
        assert stopped.actor_stopped.wait(60)
        pool.directory.register("recv", ref)  # a stale entry: the tell reaches the closed inbox itself
        assert pool.tell("recv", encode(T_Num("late", 1))) is False
        assert pool.stats.dead_letter_reasons["actor stopped"] == 1 and journal.items == []
    finally:
        pool.shutdown()


def test_workers_gone_idle_are_woken_by_a_tell_from_outside_every_time() -> None:
    """A worker is notified only while it waits for work; whatever the timing, nothing told is left unhandled."""
    pool = PoolRuntime(workers=2)
    journal = Journal()
    try:
        for i in range(4):
            pool.spawn(Recorder, f"recv.{i}", journal)
        for round_ in range(50):
            for i in range(4):
                pool.tell(f"recv.{i}", encode(T_Num("outside", round_)))
            pool.wait_idle()
        assert len(journal.items) == 200
    finally:
        pool.shutdown()
