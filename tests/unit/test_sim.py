"""The deterministic scheduler: seeded interleaving, per-pair FIFO, virtual time, faults, traces."""

from __future__ import annotations

import zlib

import pytest
from pykka import ActorDeadError, Timeout

from actors.runtime import MessageActor, SimNotIdle, SimRuntime, handles
from actors.runtime._sim import BlockingCallError, FaultPlan, first_difference
from actors.wire._codec import encode
from tests.unit.runtime_kit import Asker, Journal, PingPong, Recorder, Sender, T_Num, T_Ping, T_SendTo


def fan_in(seed: int, faults: FaultPlan | None = None, senders: int = 4, count: int = 25) -> tuple[SimRuntime, Journal]:
    sim = SimRuntime(seed, faults=faults)
    journal = Journal()
    sim.spawn(Recorder, "recv", journal)
    for i in range(senders):
        sim.spawn(Sender, f"sender.{i}")
    for i in range(senders):
        sim.tell(f"sender.{i}", encode(T_SendTo("recv", count)))
    sim.run_until_idle()
    return sim, journal


def test_the_same_seed_gives_the_same_trace_digest() -> None:
    first, _ = fan_in(7)
    second, _ = fan_in(7)
    assert first.digest() == second.digest()
    assert first.trace == second.trace


def test_different_seeds_give_different_interleavings_of_a_fan_in() -> None:
    orders = {tuple(fan_in(seed)[1].items) for seed in range(5)}
    assert len(orders) > 1
    assert len({fan_in(seed)[0].digest() for seed in range(5)}) > 1


@pytest.mark.parametrize("seed", range(50))
def test_per_pair_fifo_holds_under_every_seed_even_with_delays(seed: int) -> None:
    _, journal = fan_in(seed, FaultPlan(seed=seed, delay=0.5, max_delay_steps=5))
    for i in range(4):
        sent = [n for (sender, _, n) in journal.items if sender == f"sender.{i}"]  # type: ignore[misc]
        assert sent == list(range(25))


def test_run_until_idle_names_the_busiest_actors_when_it_never_ends() -> None:
    sim = SimRuntime(0)
    journal = Journal()
    sim.spawn(PingPong, "ping", "pong", journal)
    sim.spawn(PingPong, "pong", "ping", journal)
    sim.tell("ping", encode(T_Ping(10**9)))
    with pytest.raises(SimNotIdle, match=r"not idle after 500 deliveries; busiest receivers: (ping|pong) \(250\)"):
        sim.run_until_idle(max_steps=500)


def test_get_inside_a_handler_raises_tell_dont_block() -> None:
    sim = SimRuntime(0)
    journal = Journal()
    sim.spawn(Recorder, "recv", journal)
    sim.spawn(Asker, "asker", journal)
    sim.tell("asker", encode(T_Num("x", 1)))
    sim.run_until_idle()
    assert any("tell, don't block" in str(item) for item in journal.items)


def test_get_from_outside_runs_the_scheduler_until_the_answer() -> None:
    sim = SimRuntime(0)
    ref = sim.spawn(Recorder, "recv", Journal())
    assert ref.ask(encode(T_Num("x", 1))) is None
    assert ref.proxy().address.get() == "recv"


def test_asking_a_stopped_actor_fails_with_actor_dead_error() -> None:
    sim = SimRuntime(0)
    ref = sim.spawn(Recorder, "recv", Journal())
    future = ref.proxy().address
    ref.stop(block=False)
    assert future.get() == "recv"  # queued before the stop: answered
    with pytest.raises(ActorDeadError):
        ref.ask(encode(T_Num("x", 1)))


def test_advance_fires_only_due_timers_in_time_order() -> None:
    sim = SimRuntime(0)
    journal = Journal()
    sim.spawn(Recorder, "recv", journal)
    for delay in (5.0, 1.0, 3.0):
        sim.schedule(delay, "recv", encode(T_Num("t", int(delay))))
    sim.advance(3.0)
    assert [n for (_, _, n) in journal.items] == [1, 3]  # type: ignore[misc]
    assert sim.now() == 3.0
    sim.advance(10.0)
    assert [n for (_, _, n) in journal.items] == [1, 3, 5]  # type: ignore[misc]
    with pytest.raises(ValueError, match="forward"):
        sim.advance(-1)


def test_auto_advance_jumps_to_the_next_timer_when_idle() -> None:
    sim = SimRuntime(0, auto_advance=True)
    journal = Journal()
    sim.spawn(Recorder, "recv", journal)
    sim.schedule(60.0, "recv", encode(T_Num("t", 1)))
    sim.run_until_idle()
    assert journal.items == [("clock", "t", 1)]
    assert sim.now() == 60.0


def test_a_timer_to_a_stopped_actor_is_a_dead_letter() -> None:
    sim = SimRuntime(0)
    sim.spawn(Recorder, "recv", Journal())
    sim.schedule(1.0, "recv", encode(T_Num("t", 1)))
    sim.stop("recv")
    sim.run_until_idle()
    sim.advance(2.0)
    assert sim.stats.dead_letters == 1


def test_faults_are_counted_and_repeat_with_the_fault_seed() -> None:
    plan = FaultPlan(seed=3, drop=0.1, duplicate=0.1, delay=0.1)
    first, journal = fan_in(1, plan)
    second, _ = fan_in(1, plan)
    counts = first.fault_counts
    assert counts.dropped > 0 and counts.duplicated > 0 and counts.delayed > 0
    assert len(journal.items) == 100 - counts.dropped + counts.duplicated
    assert first.digest() == second.digest()
    other, _ = fan_in(1, FaultPlan(seed=4, drop=0.1, duplicate=0.1, delay=0.1))
    assert other.digest() != first.digest()


def test_faults_can_target_some_addresses_only() -> None:
    sim, journal = fan_in(0, FaultPlan(seed=1, drop=1.0, targets=("elsewhere",)))
    assert sim.fault_counts.dropped == 0 and len(journal.items) == 100


def test_a_crash_goes_through_the_failure_hook_and_the_actor_resumes() -> None:
    sim = SimRuntime(0)
    journal = Journal()
    ref = sim.spawn(Recorder, "recv", journal)
    sim.crash("recv")
    sim.tell("recv", encode(T_Num("after", 1)))
    sim.run_until_idle()
    assert sim.stats.failures == 1 and sim.fault_counts.crashed == 1
    assert ref.is_alive() and journal.items == [("external", "after", 1)]


def test_random_crashes_are_injected_by_plan() -> None:
    sim, _ = fan_in(0, FaultPlan(seed=2, crash=0.2))
    assert sim.fault_counts.crashed > 0
    assert sim.stats.failures == sim.fault_counts.crashed


def test_the_trace_records_time_sender_receiver_and_type() -> None:
    sim = SimRuntime(0)
    sim.spawn(Recorder, "recv", Journal())
    sim.spawn(Sender, "sender.a")
    sim.tell("sender.a", encode(T_SendTo("recv", 1)))
    sim.run_until_idle()
    assert sim.trace_lines() == [
        f"1 0.000000 external->sender.a T_SendTo #{zlib.crc32(encode(T_SendTo('recv', 1))):08x}",
        f"2 0.000000 sender.a->recv T_Num #{zlib.crc32(encode(T_Num('sender.a', 0))):08x}",
    ]
    before = sim.digest()
    sim.tell("recv", encode(T_Num("x", 2)))
    sim.run_until_idle()
    assert sim.digest() != before


def deliver_numbers(numbers: list[int]) -> SimRuntime:
    sim = SimRuntime(0)
    sim.spawn(Recorder, "recv", Journal())
    for n in numbers:
        sim.tell("recv", encode(T_Num("x", n)))
    sim.run_until_idle()
    return sim


def test_the_digest_differs_when_the_same_kinds_of_messages_carry_other_values() -> None:
    first, second = deliver_numbers([1, 2, 3]), deliver_numbers([1, 2, 4])
    assert [e.kind for e in first.trace] == [e.kind for e in second.trace] == ["T_Num"] * 3
    assert first.digest() != second.digest()
    assert deliver_numbers([1, 2, 3]).digest() == first.digest()


def test_the_digest_asked_after_every_delivery_is_the_digest_of_the_whole_trace() -> None:
    sim = SimRuntime(0)
    sim.spawn(Recorder, "recv", Journal())
    for n in range(5):
        sim.tell("recv", encode(T_Num("x", n)))
    while sim.step():
        sim.digest()
    assert sim.digest() == deliver_numbers(list(range(5))).digest()


def test_a_sim_without_a_trace_refuses_to_give_a_digest_rather_than_a_constant_one() -> None:
    sim = SimRuntime(0, trace=False)
    with pytest.raises(RuntimeError, match="no trace"):
        sim.digest()


def test_first_difference_finds_where_traces_diverge() -> None:
    a, _ = fan_in(1)
    b, _ = fan_in(2)
    assert first_difference(a.trace, a.trace) is None
    diff = first_difference(a.trace, b.trace)
    assert diff is not None and diff[1] != diff[2]
    shorter = first_difference(a.trace, a.trace[:-1])
    assert shorter == (len(a.trace) - 1, a.trace[-1].line(), "<end>")


def test_actor_lookup_and_pending_counts() -> None:
    sim = SimRuntime(0)
    sim.spawn(Recorder, "recv", Journal())
    sim.tell("recv", encode(T_Num("x", 1)))
    assert sim.pending() == 1
    assert isinstance(sim.actor("recv"), Recorder)
    with pytest.raises(KeyError):
        sim.actor("nobody")
    assert sim.step() is True and sim.step() is False


class Stepper(MessageActor):
    """Tries to run the scheduler from inside its own handler."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handles(T_Num)
    def on_num(self, _msg: T_Num) -> None:
        try:
            self.runtime.wait_idle()
        except BlockingCallError as exc:
            self.journal.add(str(exc))


def test_running_the_scheduler_inside_a_handler_is_refused() -> None:
    sim = SimRuntime(0)
    journal = Journal()
    sim.spawn(Stepper, "stepper", journal)
    sim.tell("stepper", encode(T_Num("x", 1)))
    sim.run_until_idle()
    assert len(journal.items) == 1 and "stepper's handler tried to run the scheduler" in str(journal.items[0])


def test_a_zero_timeout_polls_without_delivering() -> None:
    sim = SimRuntime(0)
    ref = sim.spawn(Recorder, "recv", Journal())
    future = ref.proxy().address
    with pytest.raises(Timeout, match="0s of virtual time"):
        future.get(timeout=0)
    assert sim.steps == 0
    assert future.get(timeout=1) == "recv"
