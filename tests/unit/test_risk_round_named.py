"""Risk's round when each tick names its symbols (a live run deciding by message, docs/LIVE.md "Latency"), with
no runtime: a tick is complete with one record from each quoter it names, and replaces only those symbols' quotes."""

from __future__ import annotations

from collections.abc import Iterable

from actors.core._risk_round import Output, RiskRound, TickDecision
from actors.wire._messages import QuoteIntent
from tests.unit.test_risk_core import MIDS, SYMBOLS, engine, intent

BTC, ETH = SYMBOLS


def named_round(**settings: bool) -> RiskRound:
    return RiskRound(engine(), SYMBOLS, named=True, **settings)


def decisions(outputs: Iterable[Output]) -> list[TickDecision]:
    return [output for output in outputs if isinstance(output, TickDecision)]


def test_a_named_tick_is_decided_once_its_named_quoters_and_the_stores_closing_record_are_in() -> None:
    risk = named_round()
    assert decisions(risk.names(1, [BTC])) == []
    assert decisions(risk.intent(intent(1, BTC))) == []
    [decision] = decisions(risk.fills([], 1))  # ETHUSDT's quoter is not named: not waited for
    assert decision.tick == 1 and decision.symbols == [BTC]
    assert {order[0] for order in decision.orders} == {BTC}


def test_a_named_tick_waits_for_its_names_even_when_its_records_are_in() -> None:
    risk = named_round()
    assert decisions([*risk.intent(intent(1, BTC)), *risk.fills([], 1)]) == []
    assert risk.decided_through == 0
    [decision] = decisions(risk.names(1, [BTC]))
    assert decision.symbols == [BTC]


def test_a_tick_naming_no_symbol_is_decided_on_the_stores_record_alone_and_replaces_nothing() -> None:
    risk = named_round()
    [decision] = decisions([*risk.names(1, []), *risk.fills([], 1)])
    assert decision.symbols == [] and decision.orders == []


def test_a_symbol_a_tick_does_not_name_keeps_what_rests_and_its_last_mark() -> None:
    risk = named_round()
    [first] = decisions([*risk.names(1, SYMBOLS), *risk.intent(intent(1, BTC)), *risk.intent(intent(1, ETH)),
                         *risk.fills([], 1)])  # fmt: skip
    eth_numbers = [order[5] for order in first.orders if order[0] == ETH]
    assert len(eth_numbers) == 2
    mid = MIDS[BTC] + 50  # BTCUSDT's market moved: its quotes move with it
    [second] = decisions([*risk.names(2, [BTC]), *risk.intent(QuoteIntent(2, BTC, mid, mid - 100, 1, mid + 100, 1)),
                          *risk.fills([], 2)])  # fmt: skip
    assert second.symbols == [BTC] and {order[0] for order in second.orders} == {BTC}
    assert [order.number for order in risk.engine.resting[ETH]] == eth_numbers  # untouched, still resting
    assert risk.engine.marks == {BTC: mid, ETH: MIDS[ETH]}  # ETHUSDT's latest mark held: the limits see it


def test_at_its_deadline_a_named_tick_pulls_only_the_named_symbols_whose_record_is_missing() -> None:
    risk = named_round(paced=True)
    decisions([*risk.names(1, SYMBOLS), *risk.intent(intent(1, BTC)), *risk.intent(intent(1, ETH)),
               *risk.fills([], 1)])  # fmt: skip
    assert decisions([*risk.names(2, [ETH]), *risk.fills([], 2)]) == []
    [decision] = decisions(risk.deadline(2))
    assert decision.symbols == [ETH] and decision.orders == []
    assert risk.decided_at_deadline == 1


def test_a_stopped_quoter_named_in_a_tick_is_not_waited_for() -> None:
    risk = named_round()
    list(risk.quoter_stopped(ETH, 0))
    [decision] = decisions([*risk.names(1, SYMBOLS), *risk.intent(intent(1, BTC)), *risk.fills([], 1)])
    assert decision.symbols == [BTC]


def test_names_delivered_twice_are_counted_and_change_nothing() -> None:
    risk = named_round()
    list(risk.names(1, [BTC]))
    assert decisions(risk.names(1, [BTC, ETH])) == []
    [decision] = decisions([*risk.intent(intent(1, BTC)), *risk.fills([], 1)])
    assert decision.symbols == [BTC] and risk.duplicate_records == 1


def test_names_of_a_tick_decided_at_its_deadline_without_them_are_counted_late() -> None:
    risk = named_round(paced=True)
    list(risk.fills([], 1))
    [decision] = decisions(risk.deadline(1))
    assert decision.symbols == []
    assert decisions(risk.names(1, [BTC])) == [] and risk.late_inputs == 1


def test_a_round_whose_ticks_are_not_named_still_waits_for_every_quoter() -> None:
    risk = RiskRound(engine(), SYMBOLS)
    assert decisions([*risk.intent(intent(1, BTC)), *risk.fills([], 1)]) == []
    [decision] = decisions(risk.intent(intent(1, ETH)))
    assert decision.symbols == [BTC, ETH]
