"""Every request is tracked: an answer that never comes is chased, a refused cancel comes back after a backoff."""

from __future__ import annotations

import json

import pytest

from actors.assembly._report import SHOWN_OPEN_ORDERS
from actors.assembly._system import FINAL_SWEEPS
from actors.cli._run_shadow import main
from actors.core._orders import CANCEL_BACKOFF_CAP_TICKS
from actors.roles._addresses import GATEWAY, RISK, STORE
from actors.roles._order_store import ANSWER_DEADLINE_TICKS, OrderStoreActor
from actors.testing import Sim
from actors.wire._codec import encode
from actors.wire._messages import (
    Ack,
    CancelItem,
    GatewayReport,
    GatewayRequest,
    OrderSpec,
    Refusal,
    ReplaceQuotes,
)

BUY = (OrderSpec("BTCUSDT", 1, 100, 1),)


def decide(sim: Sim, tick: int, orders: tuple[OrderSpec, ...] = (), symbols: tuple[str, ...] = ()) -> None:
    sim.tell(STORE, encode(ReplaceQuotes(tick, symbols, orders, 0)))


def answers(tick: int, acks: tuple[Ack, ...] = (), failures: tuple[Refusal, ...] = ()) -> bytes:
    return encode(GatewayReport(tick, acks, (), (), failures, ()))


def test_a_placement_without_an_answer_by_its_deadline_is_asked_about_at_the_venue(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    sim.probe(RISK)
    sim.spawn(OrderStoreActor, STORE)
    decide(sim, 1, BUY, ("BTCUSDT",))
    gateway.expect(GatewayRequest)
    for tick in range(2, 1 + ANSWER_DEADLINE_TICKS):
        decide(sim, tick)
        gateway.expect(GatewayRequest)
    decide(sim, 1 + ANSWER_DEADLINE_TICKS)  # the ack of tick 1 never came: the venue is asked with this tick's request
    assert gateway.expect(GatewayRequest).status == ("CLI00000001",)
    for tick in range(2 + ANSWER_DEADLINE_TICKS, 2 + 2 * ANSWER_DEADLINE_TICKS):  # and again if that answer is lost
        decide(sim, tick)
        assert gateway.expect(GatewayRequest).status == (("CLI00000001",) if tick == 1 + 2 * ANSWER_DEADLINE_TICKS
                                                         else ())  # fmt: skip


def test_an_answered_placement_is_not_asked_about(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    sim.probe(RISK)
    sim.spawn(OrderStoreActor, STORE)
    decide(sim, 1, BUY, ("BTCUSDT",))
    sim.tell(STORE, answers(1, (Ack("CLI00000001", "ORD000001"),)))
    for tick in range(2, 4 + ANSWER_DEADLINE_TICKS):
        decide(sim, tick)
    sim.run_until_idle()
    requests = [r.message for r in gateway.received if isinstance(r.message, GatewayRequest)]
    assert len(requests) == 3 + ANSWER_DEADLINE_TICKS and not any(r.status for r in requests)


def test_a_cancel_the_venue_keeps_refusing_is_sent_again_less_and_less_often(sim: Sim) -> None:
    gateway = sim.probe(GATEWAY)
    sim.probe(RISK)
    sim.spawn(OrderStoreActor, STORE)
    decide(sim, 1, BUY, ("BTCUSDT",))
    gateway.expect(GatewayRequest)
    sim.tell(STORE, answers(1, (Ack("CLI00000001", "ORD000001"),)))
    decide(sim, 2, (), ("BTCUSDT",))  # the quote is pulled: its cancel goes out
    sent_at = []
    for tick in range(2, 80):
        if tick > 2:
            decide(sim, tick)
        request = gateway.expect(GatewayRequest)
        if request.cancels:
            assert request.cancels == (CancelItem("CLI00000001", "ORD000001"),)
            sent_at.append(tick)
            refusal = Refusal("CLI00000001", "exchange error: connection reset")
            sim.tell(STORE, answers(tick, failures=(refusal,)))
    assert sent_at == [2, 3, 5, 9, 17, 33, 65]


def test_a_venue_refusing_every_cancel_ends_the_run_on_time_with_what_stayed_open_and_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--symbols-count", "20", "--iterations", "600", "--cancel-error-rate", "1", "--fill-rate", "0.002",
            "--edge-threshold", "1e9", "--edge-min-fills", "1", "--runtime", "sim"]  # fmt: skip
    assert main(argv, {}) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    left = report["risk"]["freeze_incomplete"]
    assert report["execution"]["ticks"] == 600 and report["risk"]["freeze_confirmed"] is False
    assert 0 < left["store_open"] == report["orders"]["open"] <= left["venue_open_at_last_try"]
    assert len(left["store_open_first"]) == min(left["store_open"], SHOWN_OPEN_ORDERS)
    # rounds of mass cancels after 1, 2, 4 ... 64 ticks, then every 64: about a dozen over 600 ticks, not 600
    freeze_tick = report["risk"]["freeze_tick"]
    waits = [min(1 << n, CANCEL_BACKOFF_CAP_TICKS) for n in range(64)]
    rounds = next(n for n in range(64) if freeze_tick + sum(waits[:n]) > 600)
    rounds += FINAL_SWEEPS  # and the last ones at the end, something being open: they fail too
    assert left["mass_cancel_rounds"] == rounds
    assert err.splitlines()[-1] == (
        f"run-shadow: error: the freeze could not complete: {left['store_open']} orders still open "
        "(last venue error: exchange error: cancel all: connection reset); cancel them by hand"
    )
    # the log before it (docs/OBSERVABILITY.md, "Logs"): the halt, then one line a round, each saying what is open
    assert sum(" | WARNING  | mass cancel round " in line for line in err.splitlines()) == rounds
    assert "Traceback" not in err
