"""The gateway's core with no runtime: tick order, placements in doubt, the mass cancel's retries, reduce-only,
and a concurrent core's two halves (calls sent, answers taken later).

A stub venue of a few lines stands in for the exchange: each test makes it
fail or answer exactly as the case needs and reads what was asked of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from actors.core._exchange import (
    CancelOutcome,
    CancelResult,
    ExchangeError,
    ExchangeOrder,
    ExchangeTimeout,
    OrderStatus,
    PlaceRequest,
    PlaceResult,
)
from actors.core._gateway import (
    CANCEL,
    FROZEN,
    MASS_CANCEL_ATTEMPTS,
    NOT_PLACED,
    PLACE,
    STATUS,
    Acked,
    Answer,
    Call,
    Effects,
    GatewayCore,
    MassCancel,
    Refused,
    Report,
    Statuses,
    perform,
)
from actors.core._orders import cancel_backoff_ticks
from actors.core._types import Fill, Side
from actors.wire._messages import CancelItem, GatewayRequest, PlaceItem


@dataclass
class StubVenue:
    """Open orders and positions, and the failures a test asks for; every call is noted in ``calls``."""

    open: dict[str, ExchangeOrder] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    place_timeouts: set[str] = field(default_factory=set)
    """Client ids whose placement times out (and took effect if also in ``timeouts_take_effect``)."""
    timeouts_take_effect: set[str] = field(default_factory=set)
    cancel_all_failures: int = 0
    """Mass cancels that fail (and cancel nothing) before one succeeds."""
    cancel_answers: dict[str, CancelResult] = field(default_factory=dict)
    unreadable: bool = False

    def place(self, request: PlaceRequest) -> PlaceResult:
        self.calls.append(f"place {request.client_id}")
        xid = f"X{request.client_id}"
        if request.client_id in self.place_timeouts:
            if request.client_id in self.timeouts_take_effect:
                self._rest(request, xid)
            raise ExchangeTimeout(f"place {request.client_id}: no answer")
        self._rest(request, xid)
        return PlaceResult(request.client_id, True, xid)

    def _rest(self, r: PlaceRequest, xid: str) -> None:
        self.open[xid] = ExchangeOrder(xid, r.client_id, r.symbol, r.side, r.price_ticks, r.qty_lots, 0, "open")

    def cancel(self, exchange_order_id: str) -> CancelResult:
        self.calls.append(f"cancel {exchange_order_id}")
        if exchange_order_id in self.cancel_answers:
            return self.cancel_answers[exchange_order_id]
        if self.open.pop(exchange_order_id, None) is None:
            return CancelResult(exchange_order_id, False, "unknown order", CancelOutcome.UNKNOWN_ORDER)
        return CancelResult(exchange_order_id, True, outcome=CancelOutcome.CANCELED)

    def cancel_all(self) -> list[ExchangeOrder]:
        self.calls.append("cancel_all")
        if self.cancel_all_failures > 0:
            self.cancel_all_failures -= 1
            raise ExchangeError("cancel all: connection reset")
        canceled, self.open = list(self.open.values()), {}
        return canceled

    def get_orders(self) -> list[ExchangeOrder]:
        if self.unreadable:
            raise ExchangeError("read: connection reset")
        return list(self.open.values())

    def get_positions(self) -> dict[str, int]:
        if self.unreadable:
            raise ExchangeError("read: connection reset")
        return dict(self.positions)

    def order_status(self, client_id: str) -> OrderStatus:
        return OrderStatus(client_id, "unknown")

    def stream_fills(self) -> list[Fill]:
        return []

    def advance(self, tick: int) -> None:
        self.calls.append(f"advance {tick}")


def place(client_id: str, lots: int = 1, side: Side = Side.BUY, *, reduce_only: bool = False) -> PlaceItem:
    return PlaceItem(client_id, "BTCUSDT", int(side), 100, lots, reduce_only)


def request(tick: int, *places: PlaceItem, cancels: tuple[CancelItem, ...] = (), **flags: object) -> GatewayRequest:
    return GatewayRequest(tick, cancels, places, **flags)  # type: ignore[arg-type]


def reports(effects: Effects) -> list[Report]:
    return [record for record in effects.to_store if isinstance(record, Report)]


# ---------------------------------------------------------------- tick order


def test_the_venue_moves_to_a_tick_only_once_the_request_of_the_tick_before_was_sent() -> None:
    core, venue = GatewayCore(), StubVenue()
    core.market(1, 0, venue)
    core.market(2, 0, venue)  # early: tick 1's request has not come
    assert venue.calls == ["advance 1"] and core.market_through == 1
    core.request(request(1, place("A")), venue)
    assert venue.calls == ["advance 1", "place A", "advance 2"] and core.market_through == 2


def test_a_request_for_a_tick_the_venue_has_not_reached_waits_for_that_tick() -> None:
    core, venue = GatewayCore(), StubVenue()
    effects = core.request(request(1, place("A")), venue)
    assert venue.calls == [] and effects.to_store == [] and 1 in core.requests
    core.market(1, 0, venue)
    assert venue.calls == ["advance 1", "place A"] and core.requested_through == 1


def test_every_market_tick_gets_one_closing_report_even_when_nothing_happened() -> None:
    core, venue = GatewayCore(), StubVenue()
    effects = core.market(1, 0, venue)
    assert effects.to_store == [Report(1, [], [], [], [], [], closes=True)]


def test_a_request_or_a_tick_delivered_twice_is_handled_once() -> None:
    core, venue = GatewayCore(), StubVenue()
    core.market(1, 0, venue)
    core.market(1, 0, venue)
    core.request(request(1, place("A")), venue)
    core.request(request(1, place("A")), venue)
    assert venue.calls == ["advance 1", "place A"] and core.duplicates_ignored == 2


def test_only_the_last_part_of_a_request_lets_the_venue_move_on() -> None:
    core, venue = GatewayCore(), StubVenue()
    core.market(1, 0, venue)
    core.market(2, 0, venue)
    core.request(request(1, place("A"), last=False, part=0), venue)
    assert core.market_through == 1
    core.request(request(1, place("B"), last=True, part=1), venue)
    assert venue.calls == ["advance 1", "place A", "place B", "advance 2"]


def test_the_sent_time_of_a_tick_is_told_once_its_placements_are_acknowledged() -> None:
    core, venue = GatewayCore(keep_sent=True), StubVenue()
    core.market(1, 123, venue)
    assert core.request(request(1, place("A")), venue).acked_sent_ns == [123]


# ---------------------------------------------------------------- placements in doubt


def test_a_placement_that_timed_out_is_settled_from_the_venues_open_orders_before_the_venue_moves() -> None:
    core = GatewayCore()
    venue = StubVenue(place_timeouts={"A", "B"}, timeouts_take_effect={"A"})
    core.market(1, 0, venue)
    effects = core.request(request(1, place("A"), place("B")), venue)
    settled = reports(effects)[0]
    assert settled.acks == [Acked("A", "XA")] and settled.rejects == [Refused("B", NOT_PLACED)]
    assert core.in_doubt == {} and core.reconciled == 2 and core.exchange_errors == 2
    assert [call for call, _ in effects.venue_errors] == ["place_timeout", "place_timeout"]


def test_a_placement_in_doubt_stays_in_doubt_while_the_venue_cannot_be_asked() -> None:
    core, venue = GatewayCore(), StubVenue(place_timeouts={"A"}, timeouts_take_effect={"A"})
    core.market(1, 0, venue)
    venue.unreadable = True
    assert reports(core.request(request(1, place("A")), venue)) == []
    assert core.in_doubt == {"A": "BTCUSDT"}
    venue.unreadable = False
    closing = reports(core.market(2, 0, venue))[0]
    assert closing.acks == [Acked("A", "XA")] and closing.closes and core.in_doubt == {}


# ---------------------------------------------------------------- the freeze and its mass cancel


def test_a_frozen_core_refuses_every_placement_but_a_flattening_one() -> None:
    core, venue = GatewayCore(), StubVenue(positions={"BTCUSDT": -3})
    core.market(1, 0, venue)
    core.freeze(1, "kill switch", venue)
    refused = reports(core.request(request(1, place("A")), venue))[0]
    assert refused.rejects == [Refused("A", FROZEN)] and core.refused_after_freeze == 1
    core.market(2, 0, venue)
    flattening = reports(core.request(request(2, place("B", 3), flatten=True), venue))[0]
    assert flattening.acks == [Acked("B", "XB")]


def test_a_mass_cancel_tries_again_within_its_round_until_the_venue_is_empty() -> None:
    core, venue = GatewayCore(), StubVenue(cancel_all_failures=2)
    core.market(1, 0, venue)
    core.request(request(1, place("A")), venue)
    [round_] = core.freeze(1, "kill switch", venue).mass_cancels
    assert venue.calls.count("cancel_all") == 3 and round_.venue_empty and round_.canceled == ["A"]
    assert (round_.round, round_.error, core.exchange_errors) == (1, "", 2)


def test_a_round_that_leaves_orders_open_is_followed_by_another_after_a_growing_backoff() -> None:
    core = GatewayCore()
    venue = StubVenue(cancel_all_failures=2 * MASS_CANCEL_ATTEMPTS)  # the first two rounds fail throughout
    core.market(1, 0, venue)
    core.request(request(1, place("A")), venue)
    [first] = core.freeze(1, "kill switch", venue).mass_cancels
    assert not first.venue_empty and first.still_open == 1 and first.error.startswith("exchange error")
    rounds: list[MassCancel] = [first]
    for tick in range(2, 9):
        core.request(request(tick - 1), venue)
        rounds += core.market(tick, 0, venue).mass_cancels
    backoffs = [cancel_backoff_ticks(1), cancel_backoff_ticks(2)]
    assert [r.tick for r in rounds] == [1, 1 + backoffs[0], 1 + backoffs[0] + backoffs[1]] == [1, 2, 4]
    assert [r.venue_empty for r in rounds] == [False, False, True] and core.mass_cancel_rounds == 3


def test_a_request_that_froze_the_core_and_went_through_owes_nothing_after() -> None:
    core, venue = GatewayCore(), StubVenue()
    core.market(1, 0, venue)
    [round_] = core.request(request(1, place("A"), frozen=True), venue).mass_cancels
    assert round_.reason == "the store reports a freeze" and core.frozen and core.request_owed is None
    assert core.after_failure(venue).to_store == []


def test_a_freeze_after_a_resume_of_a_later_tick_is_a_late_copy_and_changes_nothing() -> None:
    core, venue = GatewayCore(), StubVenue()
    core.resume(5)
    assert core.freeze(3, "late", venue).to_store == [] and not core.frozen


def test_a_request_whose_freeze_raised_part_way_is_handled_again_frozen() -> None:
    class Broken(StubVenue):
        def cancel_all(self) -> list[ExchangeOrder]:
            if not self.calls.count("cancel_all"):
                self.calls.append("cancel_all")
                raise RuntimeError("a bug in the venue's client")
            return super().cancel_all()

    core, venue = GatewayCore(), Broken()
    core.market(1, 0, venue)
    with pytest.raises(RuntimeError):
        core.request(request(1, place("A"), frozen=True), venue)
    assert core.request_owed is not None
    effects = core.after_failure(venue)
    assert core.request_owed is None and core.requested_through == 1 and "place A" not in venue.calls
    assert [r.rejects for r in reports(effects) if r.rejects] == [[Refused("A", FROZEN)]]


def test_a_market_tick_whose_handling_raised_still_gets_its_closing_report() -> None:
    class Broken(StubVenue):
        def advance(self, tick: int) -> None:
            raise RuntimeError("a bug in the venue's client")

    core = GatewayCore()
    with pytest.raises(RuntimeError):
        core.market(1, 0, Broken())
    assert core.after_failure(StubVenue()).to_store == [Report(1, [], [], [], [], [], closes=True)]


# ---------------------------------------------------------------- reduce-only and cancels


def test_two_reduce_only_placements_of_one_request_cannot_both_use_the_same_room() -> None:
    core, venue = GatewayCore(), StubVenue(positions={"BTCUSDT": -3})
    core.market(1, 0, venue)
    report = reports(core.request(request(1, place("A", 2, reduce_only=True), place("B", 2, reduce_only=True)), venue))
    assert report[0].acks == [Acked("A", "XA")]
    assert [r.client_id for r in report[0].rejects] == ["B"] and report[0].rejects[0].reason.startswith("reduce-only")


def test_a_reduce_only_placement_that_would_grow_the_position_never_reaches_the_venue() -> None:
    core, venue = GatewayCore(), StubVenue(positions={"BTCUSDT": 2})
    core.market(1, 0, venue)
    report = reports(core.request(request(1, place("A", 1, Side.BUY, reduce_only=True)), venue))[0]
    assert report.rejects[0].client_id == "A" and "place A" not in venue.calls


def test_every_reduce_only_placement_is_refused_while_the_venue_cannot_be_read() -> None:
    core, venue = GatewayCore(), StubVenue(positions={"BTCUSDT": -3})
    core.market(1, 0, venue)
    venue.unreadable = True
    report = reports(core.request(request(1, place("A", 1, reduce_only=True)), venue))[0]
    assert report.rejects == [Refused("A", "reduce-only: cannot read the venue: read: connection reset")]


def test_a_cancel_is_reported_by_its_outcome_not_by_the_venues_words() -> None:
    core = GatewayCore()
    gone = CancelResult("X1", False, "Order 1 was cancelled", CancelOutcome.ALREADY_CANCELED)
    traded = CancelResult("X2", False, "too late, it traded", CancelOutcome.ALREADY_FILLED)
    venue = StubVenue(cancel_answers={"X1": gone, "X2": traded})
    core.market(1, 0, venue)
    cancels = (CancelItem("C1", "X1"), CancelItem("C2", "X2"), CancelItem("C3", "X3"))
    report = reports(core.request(request(1, cancels=cancels), venue))[0]
    assert report.cancel_failures == [Refused("C1", "already canceled"), Refused("C2", "too late, it traded"),
                                      Refused("C3", "unknown order")]  # fmt: skip
    assert [CancelOutcome.read(False, r.reason).ends_order for r in report.cancel_failures] == [True, False, True]


# ---------------------------------------------------------------- a concurrent core: send, then answered


class KnowingVenue(StubVenue):
    """A stub that answers a status query from what it holds (a real venue asked by client id)."""

    def order_status(self, client_id: str) -> OrderStatus:
        self.calls.append(f"status {client_id}")
        held = [o for o in self.open.values() if o.client_id == client_id]
        return OrderStatus(client_id, "open", held[0].exchange_order_id) if held else OrderStatus(client_id, "unknown")


def answer_all(core: GatewayCore, calls: list[Call], venue: StubVenue) -> list[Effects]:
    """Make each call at the venue, then hand the core its answer (what the worker and the actor do)."""
    answers = [perform(call, venue) for call in calls]
    return [core.answered(answer, venue) for answer in answers]


def test_a_concurrent_core_sends_cancels_and_places_as_calls_and_asks_nothing_of_the_venue_meanwhile() -> None:
    core, venue = GatewayCore(concurrent=True), StubVenue()
    effects = core.request(request(1, place("A"), place("B"), cancels=(CancelItem("C", "XC"),)), venue)
    assert venue.calls == [] and effects.to_store == []
    assert [(c.kind, c.tick, c.client_id) for c in effects.calls] == [(CANCEL, 1, "C"), (PLACE, 1, "A"),
                                                                      (PLACE, 1, "B")]  # fmt: skip
    assert set(core.outstanding) == {(CANCEL, "C"), (PLACE, "A"), (PLACE, "B")}
    assert core.places == 2 and core.cancels == 1


def test_each_answer_becomes_the_report_the_inline_core_makes_of_it() -> None:
    inline, concurrent = GatewayCore(), GatewayCore(concurrent=True)
    venue, other = StubVenue(), StubVenue()
    inline.market(1, 0, venue)
    cancels = (CancelItem("C", "XC"),)
    made = reports(inline.request(request(1, place("A"), place("B"), cancels=cancels), venue))[0]
    calls = concurrent.request(request(1, place("A"), place("B"), cancels=cancels), other).calls
    answered = [report for effects in answer_all(concurrent, calls, other) for report in reports(effects)]
    assert [(r.tick, r.closes) for r in answered] == [(1, False)] * 3
    assert [a for r in answered for a in r.acks] == made.acks == [Acked("A", "XA"), Acked("B", "XB")]
    assert [f for r in answered for f in r.cancel_failures] == made.cancel_failures == [Refused("C", "unknown order")]
    assert concurrent.outstanding == {} and other.calls == venue.calls[1:]  # the inline venue also moved to tick 1


def test_a_concurrent_core_sends_a_request_before_its_market_tick_a_real_venue_does_not_move_with_ticks() -> None:
    core, venue = GatewayCore(concurrent=True), StubVenue()
    assert [c.client_id for c in core.request(request(3, place("A")), venue).calls] == ["A"]
    assert core.requested_through == 3 and core.requests == {}
    assert core.market(1, 0, venue).to_store == [Report(1, [], [], [], [], [], closes=True)]


def test_a_place_whose_answer_was_lost_is_never_placed_again_and_the_venue_is_asked_for_its_client_id() -> None:
    core = GatewayCore(concurrent=True)
    venue = KnowingVenue(place_timeouts={"A"}, timeouts_take_effect={"A"})  # accepted; its answer lost
    calls = core.request(request(1, place("A")), venue).calls
    lost = answer_all(core, calls, venue)[0]
    assert lost.to_store == [] and core.lost_answers == 1 and [c for c, _ in lost.venue_errors] == ["place_timeout"]
    assert core.request(request(1, place("A")), venue).calls == []  # the same request again: a copy
    assert core.request(request(2, place("A")), venue).calls == []  # asked again while a call is out: no
    status = core.status(3, ["A"], venue)  # the store's answer deadline asks about it
    assert [(c.kind, c.client_id) for c in status.calls] == [(STATUS, "A")]
    settled = answer_all(core, status.calls, venue)[0]
    assert settled.to_store == [Statuses(3, [OrderStatus("A", "open", "XA")], 2)]
    assert venue.calls == ["place A", "status A"]


def test_a_status_query_leaves_out_an_order_whose_call_is_still_out() -> None:
    core, venue = GatewayCore(concurrent=True), KnowingVenue()
    placed = core.request(request(1, place("A")), venue).calls
    status = core.status(2, ["A", "B"], venue)
    assert [c.client_id for c in status.calls] == ["B"]  # A's own answer will say; the venue may not have it yet
    assert answer_all(core, status.calls, venue)[0].to_store == [Statuses(2, [OrderStatus("B", "unknown")], 1)]
    assert core.status(3, ["A"], venue).to_store == [Statuses(3, [], 1)]  # still out: asked at the next deadline
    assert reports(answer_all(core, placed, venue)[0])[0].acks == [Acked("A", "XA")]


def test_a_status_query_is_answered_once_every_order_asked_about_has_its_answer() -> None:
    core, venue = GatewayCore(concurrent=True), KnowingVenue()
    calls = core.status(4, ["A", "B"], venue).calls
    first, second = (core.answered(perform(call, venue), venue) for call in reversed(calls))
    assert first.to_store == []
    assert second.to_store == [Statuses(4, [OrderStatus("A", "unknown"), OrderStatus("B", "unknown")], 0)]


def test_an_answer_to_no_outstanding_call_changes_nothing() -> None:
    core, venue = GatewayCore(concurrent=True), StubVenue()
    calls = core.request(request(1, place("A")), venue).calls
    answer = perform(calls[0], venue)
    assert reports(core.answered(answer, venue))[0].acks == [Acked("A", "XA")]
    assert core.answered(answer, venue).to_store == [] and core.duplicates_ignored == 1


def test_an_ack_that_comes_after_the_freeze_emptied_the_venue_calls_for_another_round() -> None:
    core, venue = GatewayCore(concurrent=True), StubVenue()
    calls = core.request(request(1, place("A")), venue).calls
    core.freeze(1, "test", venue)
    assert core.venue_empty
    assert reports(answer_all(core, calls, venue)[0])[0].acks == [Acked("A", "XA")]  # the store cancels it
    assert not core.venue_empty
    rounds = [round_ for tick in (1, 2) for round_ in core.market(tick, 0, venue).mass_cancels]
    assert [(round_.tick, round_.canceled, round_.venue_empty) for round_ in rounds] == [(2, ["A"], True)]


def test_a_call_that_fails_is_answered_as_the_inline_core_answers_it() -> None:
    core, venue = GatewayCore(concurrent=True), StubVenue()
    calls = core.request(request(1, place("A"), cancels=(CancelItem("C", "XC"),)), venue).calls
    failed = [core.answered(Answer(call, error=ExchangeError("connection reset")), venue) for call in calls]
    assert reports(failed[0])[0].cancel_failures == [Refused("C", "exchange error: connection reset")]
    assert reports(failed[1])[0].rejects == [Refused("A", "exchange error: connection reset")]
    assert core.exchange_errors == 2


def test_a_reduce_only_placement_reaches_the_venue_as_reduce_only_inline_and_concurrent() -> None:
    requests: list[PlaceRequest] = []

    class Noting(StubVenue):
        def place(self, request: PlaceRequest) -> PlaceResult:
            requests.append(request)
            return super().place(request)

    inline, venue = GatewayCore(), Noting(positions={"BTCUSDT": 2})
    inline.market(1, 0, venue)
    inline.request(request(1, place("A", 1, Side.SELL, reduce_only=True), place("B")), venue)
    concurrent = GatewayCore(concurrent=True)
    calls = concurrent.request(request(1, place("C", 1, Side.SELL, reduce_only=True)), venue).calls
    answer_all(concurrent, calls, venue)
    assert [(r.client_id, r.reduce_only) for r in requests] == [("A", True), ("B", False), ("C", True)]


def test_a_concurrent_venues_pushed_fill_is_reported_at_once_even_after_the_runs_last_freeze() -> None:
    core, venue = GatewayCore(concurrent=True), StubVenue()
    core.market(3, 0, venue)
    core.freeze(3, "the run ended", venue)  # nothing reports after this one: no tick, no answer comes
    effects = core.fills_came([Fill("F9", "X9", "A", "BTCUSDT", Side.BUY, 100, 1, 0)])
    [report] = effects.to_store
    assert isinstance(report, Report) and [f.fill_id for f in report.fills] == ["F9"] and not report.closes
    assert report.tick == report.fills[0].tick == core.market_through  # stamped with the last market tick
