"""The test kit: the sim fixture, probes, explore and the determinism self-check."""

from __future__ import annotations

import itertools

import pytest

from actors.testing import DeterminismError, ExplorationFailure, Sim, check_determinism, explore
from actors.wire._codec import encode
from tests.unit.runtime_kit import Journal, Recorder, Sender, T_Boom, T_Num, T_Ping, T_SendTo

pytest_plugins = ["pytester"]


def test_the_sim_fixture_is_a_fresh_seeded_sim(sim: Sim) -> None:
    assert isinstance(sim, Sim) and sim.seed == 0 and sim.steps == 0


def test_probe_expect_returns_the_next_message_of_a_type(sim: Sim) -> None:
    probe = sim.probe("probe")
    sim.spawn(Sender, "sender")
    sim.tell("sender", encode(T_SendTo("probe", 2)))
    assert probe.expect(T_Num) == T_Num("sender", 0)
    assert probe.expect(T_Num) == T_Num("sender", 1)
    assert probe.received[0].sender == "sender"
    assert probe.messages(T_Num) == [T_Num("sender", 0), T_Num("sender", 1)]


def test_probe_expect_fails_listing_what_arrived(sim: Sim) -> None:
    probe = sim.probe("probe")
    sim.tell("probe", encode(T_Num("x", 1)))
    with pytest.raises(AssertionError, match=r"probe expected T_Ping within 10 deliveries; received: T_Num"):
        probe.expect(T_Ping, within=10)


def test_probe_records_undecodable_bytes_and_expect_none(sim: Sim) -> None:
    probe = sim.probe("probe")
    sim.tell("probe", b"\xc1")
    probe.expect_none(T_Num)
    assert probe.received[0].message == b"\xc1"
    sim.tell("probe", encode(T_Num("x", 1)))
    with pytest.raises(AssertionError, match="unexpected"):
        probe.expect_none(T_Num)


def fan_in(sim: Sim) -> None:
    sim.spawn(Recorder, "recv", Journal())
    for i in range(3):
        sim.spawn(Sender, f"sender.{i}")
        sim.tell(f"sender.{i}", encode(T_SendTo("recv", 5)))
    sim.run_until_idle()


def recorded(sim: Sim) -> list[object]:
    actor = sim.actor("recv")
    assert isinstance(actor, Recorder)
    return actor.journal.items


def test_explore_passes_a_true_invariant_over_a_hundred_seeds() -> None:
    def per_sender_fifo(sim: Sim) -> None:
        if "recv" not in sim.directory:
            return
        for i in range(3):
            seen = [n for (s, _, n) in recorded(sim) if s == f"sender.{i}"]  # type: ignore[misc]
            assert seen == list(range(len(seen)))

    report = explore(range(100), fan_in, per_sender_fifo)
    assert report.seeds == 100 and report.deliveries >= 100 * 18


def test_explore_names_the_first_failing_seed_with_a_replay_hint() -> None:
    def sender_2_never_first(sim: Sim) -> None:
        if "recv" in sim.directory and recorded(sim):
            assert recorded(sim)[0][0] != "sender.2", "sender.2 arrived first"  # type: ignore[index]

    with pytest.raises(ExplorationFailure) as caught:
        explore(range(100), fan_in, sender_2_never_first)
    failure = caught.value
    assert failure.seed in range(100)
    assert f"seed {failure.seed}" in str(failure) and f"explore([{failure.seed}]" in str(failure)
    with pytest.raises(ExplorationFailure):  # the replay fails the same way
        explore([failure.seed], fan_in, sender_2_never_first)


def test_explore_checks_a_final_condition_and_sums_faults() -> None:
    from actors.runtime._sim import FaultPlan

    def all_delivered(sim: Sim) -> None:
        assert len(recorded(sim)) == 15

    report = explore(range(5), fan_in, lambda sim: None, final=all_delivered,
                     faults=lambda seed: FaultPlan(seed=seed, delay=0.3))  # fmt: skip
    assert report.faults["delayed"] > 0
    with pytest.raises(ExplorationFailure, match="invariant failed"):
        explore(range(5), fan_in, lambda sim: None, final=all_delivered,
                faults=lambda seed: FaultPlan(seed=seed, drop=0.3))  # fmt: skip


def test_check_determinism_returns_the_trace_of_a_deterministic_scenario() -> None:
    kinds = [entry.kind for entry in check_determinism(fan_in, seed=3)]
    assert kinds.count("T_SendTo") == 3 and kinds.count("T_Num") == 15
    assert kinds.count("_ActorStop") == 4  # the shutdown is traced too


def test_check_determinism_reports_where_an_unseeded_scenario_diverges() -> None:
    calls = itertools.count()

    def leaky(sim: Sim) -> None:
        sim.spawn(Recorder, "recv", Journal())
        for _ in range(next(calls) + 1):  # depends on a counter outside the sim
            sim.tell("recv", encode(T_Num("x", 1)))
        sim.run_until_idle()

    with pytest.raises(DeterminismError, match="traces differ at delivery 1"):
        check_determinism(leaky, seed=0)


def test_check_determinism_catches_a_run_that_differs_only_in_message_contents() -> None:
    calls = itertools.count()

    def leaky(sim: Sim) -> None:
        sim.spawn(Recorder, "recv", Journal())
        sim.tell("recv", encode(T_Num("x", 1)))
        sim.tell("recv", encode(T_Num("x", next(calls))))  # same type, same order, another value
        sim.run_until_idle()

    with pytest.raises(DeterminismError, match=r"differ at delivery 1 \(the same delivery with other contents\)"):
        check_determinism(leaky, seed=0)


def test_start_system_builds_a_whole_engine(sim: Sim) -> None:
    system = sim.start_system(symbols=["BTCUSDT"], iterations=2)
    system.run()
    assert system.store_snapshot().placed > 0
    assert system.quoter_snapshot("BTCUSDT").intents_sent == 2
    with pytest.raises(KeyError):
        system.quoter_snapshot("NOPE")


HANDLER_FAILURES = """
import pytest

from actors.wire._codec import encode
from tests.unit.runtime_kit import Journal, Recorder, T_Boom


def boom(sim):
    sim.spawn(Recorder, "recv", Journal())
    sim.tell("recv", encode(T_Boom("kaboom")))


def test_unexpected(sim):
    boom(sim)
    sim.run_until_idle()


@pytest.mark.expect_failures
def test_expected(sim):
    boom(sim)
    sim.run_until_idle()
    assert [(f.address, str(f.error)) for f in sim.failures] == [("recv", "kaboom")]


def test_raised_while_the_sim_shuts_down(sim):
    boom(sim)  # not delivered before the fixture's shutdown runs the scheduler


def test_failing_anyway(sim):
    boom(sim)
    sim.run_until_idle()
    assert sim.stats.failures == 0, "the test's own assertion"
"""


def test_a_handler_that_raises_under_the_sim_fixture_fails_the_test_unless_it_is_marked_expect_failures(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_inner=HANDLER_FAILURES)
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--strict-markers", "-rA", "-W", "ignore::pytest.PytestAssertRewriteWarning"
    )
    result.assert_outcomes(passed=2, failed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*1 handler failure(s) under the sim fixture; if they are the point of the test, "
            "mark it @pytest.mark.expect_failures*",
            "*delivery 1, recv: RuntimeError('kaboom')*",
        ]
    )
    lines = result.stdout.lines
    assert any(line.startswith("ERROR test_inner.py::test_raised_while_the_sim_shuts_down") for line in lines)
    assert any(line.startswith("FAILED test_inner.py::test_unexpected") for line in lines)
    assert any(line.startswith("PASSED test_inner.py::test_expected") for line in lines)
    failing_anyway = result.stdout.str().split("test_failing_anyway", 1)[1]
    assert "the test's own assertion" in failing_anyway and "kaboom" in failing_anyway  # said with the failure


@pytest.mark.expect_failures
def test_the_sim_fixture_keeps_each_failure_with_its_delivery_and_address(sim: Sim) -> None:
    sim.spawn(Recorder, "recv", Journal())
    sim.tell("recv", encode(T_Num("x", 1)))
    sim.tell("recv", encode(T_Boom("first")))
    sim.crash("recv")
    sim.run_until_idle()
    assert [(f.step, f.address, type(f.error).__name__) for f in sim.failures] == [
        (2, "recv", "RuntimeError"),
        (3, "recv", "InjectedCrash"),
    ]
