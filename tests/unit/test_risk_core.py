"""Risk's round without any runtime: completeness counting, the decision's order, halts and their kinds."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest

from actors.assembly._system import operator_request
from actors.core._journal_records import Decided, Final, StateMove
from actors.core._risk import BLIND, RiskEngine, RiskLimits, edge_halt_reason
from actors.core._risk_round import (
    ArmDeadline,
    CancelDeadline,
    Figures,
    Halted,
    Output,
    RiskRound,
    TickDecision,
    WriteAhead,
)
from actors.core._trading_state import RESUMABLE, HaltKind, TradingState, Transition, halt_kind
from actors.core._types import Fill, Instrument, Side
from actors.roles._supervision import escalation_reason
from actors.wire._codec import decode
from actors.wire._messages import FreezeRequest, Mark, QuoteIntent

BTC = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.0001"), Decimal("60000"))
ETH = Instrument("ETHUSDT", Decimal("0.01"), Decimal("0.001"), Decimal("3000"))
MIDS = {"BTCUSDT": 6_000_000, "ETHUSDT": 300_000}
SYMBOLS = ("BTCUSDT", "ETHUSDT")
ACTIVE, HALTED = TradingState.ACTIVE, TradingState.HALTED


def engine(**limits: Any) -> RiskEngine:
    return RiskEngine(RiskLimits(1e6, 1e7, 3.0, 1, **limits), {"BTCUSDT": BTC, "ETHUSDT": ETH})


def round_of(limits: dict[str, Any] | None = None, **settings: Any) -> RiskRound:
    return RiskRound(engine(**(limits or {})), SYMBOLS, **settings)


def intent(tick: int, symbol: str) -> QuoteIntent:
    mid = MIDS[symbol]
    return QuoteIntent(tick, symbol, mid, mid - 100, 1, mid + 100, 1)


def fill(side: Side, price: int, lots: int, n: int = 1) -> Fill:
    return Fill(f"FIL{n:08d}", f"ORD{n:06d}", f"CLI{n:08d}", "BTCUSDT", side, price, lots, 1)


def decisions(outputs: Iterable[Output]) -> list[TickDecision]:
    return [output for output in outputs if isinstance(output, TickDecision)]


def both_in(risk: RiskRound, tick: int) -> list[Output]:
    """Both quoters' intents and the store's closing record of ``tick``: everything that decides it."""
    return [*risk.intent(intent(tick, "BTCUSDT")), *risk.intent(intent(tick, "ETHUSDT")), *risk.fills([], tick)]


BAD_FILL = fill(Side.BUY, MIDS["BTCUSDT"] + 1_000, 100)
"""Bought well above the mid: an edge far below any threshold."""


# ---------------------------------------------------------------- completeness


def test_a_tick_is_decided_only_once_every_quoter_and_the_stores_closing_record_are_in() -> None:
    risk = round_of()
    assert list(risk.intent(intent(1, "BTCUSDT"))) == []
    assert list(risk.fills([], 1)) == []  # ETHUSDT's intent is missing
    assert risk.decided_through == 0
    [decision] = decisions(risk.intent(intent(1, "ETHUSDT")))
    assert decision.tick == 1 and decision.symbols == ["BTCUSDT", "ETHUSDT"] and risk.decided_through == 1


def test_ticks_are_decided_in_order_even_when_a_later_one_is_complete_first() -> None:
    risk = round_of()
    assert decisions([*risk.intent(intent(2, "BTCUSDT")), *risk.intent(intent(2, "ETHUSDT"))]) == []
    assert decisions(risk.fills([], 2)) == []  # tick 2 is complete, tick 1 is not
    assert decisions(risk.intent(intent(1, "BTCUSDT"))) == []
    assert [decision.tick for decision in decisions(risk.intent(intent(1, "ETHUSDT")))] == [1, 2]


def test_the_decision_is_the_same_whatever_order_the_intents_came_in() -> None:
    forward, backward = round_of(), round_of()
    first = decisions([*forward.fills([], 1), *forward.intent(intent(1, "BTCUSDT")),
                       *forward.intent(intent(1, "ETHUSDT"))])  # fmt: skip
    second = decisions([*backward.intent(intent(1, "ETHUSDT")), *backward.intent(intent(1, "BTCUSDT")),
                        *backward.fills([], 1)])  # fmt: skip
    assert first == second
    assert [(order[0], order[5]) for order in first[0].orders] == [
        ("BTCUSDT", 1), ("BTCUSDT", 2), ("ETHUSDT", 3), ("ETHUSDT", 4),
    ]  # fmt: skip


def test_a_record_of_a_tick_already_decided_is_counted_late_and_changes_nothing() -> None:
    risk = round_of()
    both_in(risk, 1)
    assert list(risk.intent(intent(1, "BTCUSDT"))) == [] and list(risk.mark(Mark(1, "ETHUSDT", 1))) == []
    assert risk.late_inputs == 2 and risk.pending() == 0


def test_a_halted_quoters_mark_counts_like_an_intent_and_marks_its_symbol() -> None:
    risk = round_of()
    outputs = [*risk.intent(intent(1, "BTCUSDT")), *risk.mark(Mark(1, "ETHUSDT", 310_000)), *risk.fills([], 1)]
    [decision] = decisions(outputs)
    assert decision.symbols == ["BTCUSDT"] and risk.engine.marks["ETHUSDT"] == 310_000


def test_a_fills_record_delivered_twice_is_recognised_by_its_number_and_applied_once() -> None:
    risk = round_of()
    list(risk.fills([fill(Side.SELL, MIDS["BTCUSDT"], 10)], None, seq=1))
    list(risk.fills([fill(Side.SELL, MIDS["BTCUSDT"], 10)], None, seq=1))
    both_in(risk, 1)
    assert risk.duplicate_records == 1 and risk.engine.fills_applied == 1 and risk.engine.position("BTCUSDT") == -10


def test_a_stopped_quoter_counts_as_in_after_its_last_tick_and_its_halt_lands_on_the_first_tick_without_it() -> None:
    risk = round_of(final_tick=5)
    reason = escalation_reason("quoter.ETHUSDT", RuntimeError("boom"))
    assert list(risk.quoter_stopped("ETHUSDT", 1, reason)) == []
    first = both_in(risk, 1)
    assert not any(isinstance(output, Halted) for output in first) and not risk.engine.halted
    second = [*risk.intent(intent(2, "BTCUSDT")), *risk.fills([], 2)]
    assert [type(output) for output in second] == [Halted, Figures, TickDecision]
    assert second[0] == Halted(2, reason, False) and decisions(second)[0].orders == []
    assert risk.engine.transitions[-1].kind is HaltKind.ESCALATION


# ---------------------------------------------------------------- the decision's order


def test_a_halt_for_edge_is_announced_before_the_decision_that_places_nothing() -> None:
    risk = round_of({"resume_after_ticks": 5})
    list(risk.fills([BAD_FILL], None))
    outputs = both_in(risk, 1)
    halted = next(output for output in outputs if isinstance(output, Halted))
    assert outputs.index(halted) < outputs.index(decisions(outputs)[0])
    assert halted.reason.startswith("Edge degradation") and halted.keep_quoting  # it may be lifted
    assert decisions(outputs)[0].orders == [] and risk.engine.transitions[-1].kind is HaltKind.EDGE
    assert risk.halt_in_force() == halted


def test_journaled_a_halt_is_written_before_it_is_announced_and_a_decision_before_it_is_sent() -> None:
    risk = round_of(journaled=True)
    list(risk.fills([BAD_FILL], None))
    outputs = both_in(risk, 1)
    assert [type(output) for output in outputs] == [WriteAhead, Halted, WriteAhead, Figures, TickDecision]
    moved, decided = outputs[0], outputs[2]
    assert isinstance(moved, WriteAhead) and isinstance(decided, WriteAhead)
    assert [(move.source, move.target) for move in moved.entries if isinstance(move, StateMove)] == [(ACTIVE, HALTED)]
    assert decided.entries == (Decided(1, 0, 1, {}),)


def test_a_journal_lost_while_writing_a_decision_halts_trading_before_that_decision_leaves() -> None:
    risk = round_of(journaled=True)
    outputs: list[Output] = []
    for output in both_in_lazily(risk, 1):
        outputs.append(output)
        if isinstance(output, WriteAhead):
            risk.journal_lost("cannot write risk.journal: disk full")
    assert [type(output) for output in outputs] == [WriteAhead, Halted, Figures, TickDecision]
    halted = outputs[1]
    assert isinstance(halted, Halted) and halted.reason == "Journal: cannot write risk.journal: disk full"
    assert risk.engine.transitions[-1].kind is HaltKind.JOURNAL and not risk.journaled


def both_in_lazily(risk: RiskRound, tick: int) -> Iterable[Output]:
    """:func:`both_in`, its outputs taken one at a time (the caller acts on each before the next is made)."""
    yield from risk.intent(intent(tick, "BTCUSDT"))
    yield from risk.intent(intent(tick, "ETHUSDT"))
    yield from risk.fills([], tick)


def test_paced_each_tick_gets_one_deadline_and_a_tick_decided_in_time_cancels_it() -> None:
    risk = round_of(paced=True)
    assert list(risk.intent(intent(1, "BTCUSDT"))) == [ArmDeadline(1)]
    assert list(risk.intent(intent(1, "ETHUSDT"))) == []
    outputs = list(risk.fills([], 1))
    assert outputs[0] == CancelDeadline(1) and [decision.tick for decision in decisions(outputs)] == [1]


def test_at_its_deadline_a_tick_is_decided_with_what_came_and_every_live_quote_is_pulled() -> None:
    risk = round_of(paced=True)
    list(risk.intent(intent(1, "BTCUSDT")))
    list(risk.fills([], 1))
    [decision] = decisions(risk.deadline(1))
    assert decision.symbols == ["BTCUSDT", "ETHUSDT"] and [order[0] for order in decision.orders] == ["BTCUSDT"] * 2
    assert risk.decided_at_deadline == 1 and list(risk.intent(intent(1, "ETHUSDT"))) == [] and risk.late_inputs == 1


def test_a_tick_decided_before_its_fills_came_is_blind_and_every_side_is_a_block() -> None:
    risk = round_of(paced=True)
    list(risk.intent(intent(1, "BTCUSDT")))
    list(risk.intent(intent(1, "ETHUSDT")))
    [decision] = decisions(risk.deadline(1))
    assert decision.orders == [] and decision.blocks == 4 and risk.engine.blocks_by_reason == {BLIND: 4}


def test_a_decision_whose_caller_failed_part_way_is_owed_and_pulls_every_quote() -> None:
    risk = round_of()
    assert risk.abandon() is None  # nothing owed
    list(risk.intent(intent(1, "BTCUSDT")))
    list(risk.intent(intent(1, "ETHUSDT")))
    taken = iter(risk.fills([], 1))
    assert isinstance(next(taken), Figures)  # the caller fails here, before it takes the decision
    assert risk.abandon() == TickDecision(1, ["BTCUSDT", "ETHUSDT"], (), 0) and risk.decided_through == 1
    assert risk.abandon() is None


# ---------------------------------------------------------------- halts and their kinds


def test_a_venue_that_holds_other_positions_halts_for_reconciliation_within_its_scope_only() -> None:
    risk = round_of()
    list(risk.fills([fill(Side.SELL, MIDS["BTCUSDT"], 10)], None))
    assert not [o for o in risk.reconcile([("BTCUSDT", -10)], 3) if isinstance(o, Halted)]  # the fill is applied
    assert not [o for o in risk.reconcile([], 3, scope=["ETHUSDT"]) if isinstance(o, Halted)]
    [halted] = [o for o in risk.reconcile([("BTCUSDT", -9)], 3) if isinstance(o, Halted)]
    assert halted == Halted(3, "Reconciliation: positions differ from the venue in BTCUSDT", False)
    assert risk.engine.transitions[-1].kind is HaltKind.RECONCILIATION and risk.reconciliations == 3


def test_a_request_is_final_even_when_its_text_names_the_edge() -> None:
    risk = round_of({"resume_after_ticks": 5})
    [halted] = list(risk.request_halt("Edge degradation: asked from outside"))
    assert isinstance(halted, Halted) and not halted.keep_quoting and not risk.engine.halt_resumable
    assert risk.engine.transitions[-1].kind is HaltKind.OTHER


def test_a_final_cause_during_a_resumable_halt_is_written_ahead_as_final() -> None:
    risk = round_of({"resume_after_ticks": 5}, journaled=True)
    list(risk.fills([BAD_FILL], None))
    both_in(risk, 1)
    [written] = list(risk.request_halt("Operator: desk"))
    assert isinstance(written, WriteAhead) and written.entries == (Final(1, "Operator: desk"),)
    assert not risk.engine.halt_resumable and risk.halt_in_force() == Halted(1, "Operator: desk", False)


def test_only_a_halt_for_edge_is_resumable() -> None:
    assert frozenset(kind for kind in HaltKind if kind.resumable) == RESUMABLE == {HaltKind.EDGE}


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (edge_halt_reason(2.4, 3.0), HaltKind.EDGE),
        (escalation_reason("gateway", RuntimeError("venue down")), HaltKind.ESCALATION),
        ("Reconciliation: positions differ from the venue in BTCUSDT", HaltKind.RECONCILIATION),
        ("Journal: cannot write risk.journal: [Errno 28] No space left on device", HaltKind.JOURNAL),
        ("Shard lost: shard 1 (3 symbols: A, B, C) not back within 30 s", HaltKind.SHARD_LOST),
        ("bench", HaltKind.OTHER),
        ("Edge", HaltKind.OTHER),
        ("", HaltKind.OTHER),
    ],
)
def test_each_causes_reason_text_maps_back_to_its_kind(reason: str, kind: HaltKind) -> None:
    assert halt_kind(reason) is kind


def test_an_operators_request_maps_to_the_operator_kind() -> None:
    request = decode(operator_request("SIGUSR1 (kill switch)"))
    assert isinstance(request, FreezeRequest) and halt_kind(request.reason) is HaltKind.OPERATOR


@pytest.mark.parametrize(
    ("reason", "resumable"),
    [("Edge degradation: 2.40 BPS < 3.00 BPS", True), ("Operator: desk", False), ("Escalation: feed", False)],
)
def test_a_halt_journaled_by_the_old_code_with_its_text_alone_is_as_resumable_as_it_was(
    reason: str, resumable: bool
) -> None:
    risk = engine(resume_after_ticks=5)
    risk.restore_transition(Transition(3, ACTIVE, HALTED, reason))  # no kind: as an old journal holds it
    assert risk.halt_resumable is resumable and risk.transitions[-1].kind is halt_kind(reason)
    assert risk.halt_reason == reason and risk.halted_at == 3
