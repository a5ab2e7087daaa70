"""The gateway's core: tick order, placements in doubt, the freeze's mass cancel, reduce-only at the venue.

Pure in the way of h11's ``_connection``: no threads, no actor, no clock, no
logging, no wire.  The actor (:mod:`actors.roles._gateway`) decodes a record,
calls one method here with the venue, and sends what it returns
(:class:`Effects`): what to tell the store, as plain values the actor turns
into wire records; the venue's errors, for the log; and the sent time of
each tick whose placements were acknowledged, for the latency the actor
measures on its own clock.

The venue is an argument of each method that calls it, not a member: the
core's state is plain data, a test hands it the simulated venue or a stub
of a few lines (:class:`Venue` is the calls it makes), and no runtime is
needed to test any of it.

Each place, cancel and status query has two halves: the core *sends* a
:class:`Call`, and turns the venue's :class:`Answer` into what it tells the
store when it is *answered*.  A venue that moves with the market (a
simulated one) is answered inline, within the same method, in the order
it always was.  A real venue is ``concurrent``: the calls go out in
:attr:`Effects.calls` (the actor hands them to its venue worker,
:mod:`actors.venues._worker`), the method returns at once, and each answer
comes back later to :meth:`GatewayCore.answered` (docs/LIVE.md, "Orders on a
real venue: what exists").  A place whose answer was lost is then left to
the store's answer deadline, which asks the venue for that client id; it is
never placed again.

Tick order (docs/DESIGN.md, "The completeness rule"): the venue moves to
tick t only once the store's request of tick t-1 has been sent to it, and
the request of tick t is sent only once the venue is at t, so every order
meets the same market on every runtime.  The venue pushes its fills
(:meth:`GatewayCore.pushed`); they are reported with the tick they happened
in, one report closing each market tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple, Protocol, TypeGuard, runtime_checkable

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
from actors.core._orders import cancel_backoff_ticks
from actors.core._reduce_only import VenueView
from actors.core._types import Fill, Side

__all__ = [
    "CANCEL",
    "FROZEN",
    "MASS_CANCEL_ATTEMPTS",
    "NOT_PLACED",
    "PLACE",
    "STATUS",
    "Acked",
    "Answer",
    "Call",
    "Effects",
    "GatewayCore",
    "Held",
    "MassCancel",
    "MovesWithMarket",
    "Refused",
    "Report",
    "Statuses",
    "ToStore",
    "Venue",
    "perform",
]

FROZEN = "frozen: no order is placed after a freeze"
NOT_PLACED = "not placed: the venue has no such order after a timeout"
MASS_CANCEL_ATTEMPTS = 8
"""Mass cancels tried in a row in one round at a freeze.

Each attempt draws anew at a hostile venue: a venue that fails two calls in
three is emptied in the first round nine times in ten (1 - 0.67^8).  A round
that fails is followed by another after a backoff of 1, 2, 4 ... market
ticks capped at 64 (:func:`actors.core._orders.cancel_backoff_ticks`), so a
venue that refuses for good is asked a bounded number of times and the run
ends on time, its report saying what stayed open (docs/RELIABILITY.md)."""


# ------------------------------------------------------------ what the core reads


class Venue(Protocol):
    """The venue calls the core makes (every ``IExchangeClient`` has them)."""

    def place(self, request: PlaceRequest) -> PlaceResult: ...
    def cancel(self, exchange_order_id: str) -> CancelResult: ...
    def cancel_all(self) -> list[ExchangeOrder]: ...
    def get_orders(self) -> list[ExchangeOrder]: ...
    def get_positions(self) -> dict[str, int]: ...
    def order_status(self, client_id: str) -> OrderStatus: ...
    def stream_fills(self) -> list[Fill]: ...


@runtime_checkable
class MovesWithMarket(Protocol):
    """A venue moved by the market it is given (a simulated one): moved as each market tick is handled.

    The same as ``actors.venues._interface.SupportsAdvance``, spelled here
    because the core may not import from the venues' layer.
    """

    def advance(self, tick: int) -> None: ...


class PlaceOrder(Protocol):
    """A placement the store asks for (the wire's ``PlaceItem``)."""

    @property
    def client_id(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> int: ...
    @property
    def price_ticks(self) -> int: ...
    @property
    def qty_lots(self) -> int: ...
    @property
    def reduce_only(self) -> bool: ...


class CancelOrder(Protocol):
    """A cancel the store asks for (the wire's ``CancelItem``)."""

    @property
    def client_id(self) -> str: ...
    @property
    def exchange_order_id(self) -> str: ...


class Request(Protocol):
    """The store's request of a tick, or one part of it (the wire's ``GatewayRequest``)."""

    @property
    def tick(self) -> int: ...
    @property
    def part(self) -> int: ...
    @property
    def cancels(self) -> Sequence[CancelOrder]: ...
    @property
    def places(self) -> Sequence[PlaceOrder]: ...
    @property
    def frozen(self) -> bool: ...
    @property
    def last(self) -> bool: ...
    @property
    def status(self) -> Sequence[str]: ...
    @property
    def resumed(self) -> int: ...
    @property
    def flatten(self) -> bool: ...


# ------------------------------------------------------------ a venue call and its answer

PLACE, CANCEL, STATUS = "place", "cancel", "status"
"""The calls that have two halves (:class:`Call`); the freeze's mass cancel and the venue's reads have one."""


class Call(NamedTuple):
    """One venue call the core sent: a place, a cancel (of ``exchange_order_id``) or a status query.

    ``tick`` is the request's (its answer is reported at that tick);
    ``batch`` groups the status queries answered together (:class:`Statuses`).
    """

    kind: str
    tick: int
    client_id: str
    symbol: str = ""
    side: int = 0
    price_ticks: int = 0
    qty_lots: int = 0
    exchange_order_id: str = ""
    batch: int = 0
    reduce_only: bool = False


class Answer(NamedTuple):
    """What the venue answered to ``call``, or the error it raised (:class:`ExchangeTimeout`: outcome unknown).

    A named tuple, not a frozen dataclass: the inline path (a simulated
    venue) makes one per place and cancel, and a frozen dataclass's
    ``__init__`` costs about three times as much.
    """

    call: Call
    placed: PlaceResult | None = None
    canceled: CancelResult | None = None
    status: OrderStatus | None = None
    error: ExchangeError | None = None


_SIDES = {Side.BUY.value: Side.BUY, Side.SELL.value: Side.SELL}
"""A call's side as the :class:`Side` it stands for (a dict lookup: ``Side(value)`` is an enum call per place)."""


def perform(call: Call, venue: Venue) -> Answer:
    """Make ``call`` at ``venue``: its answer, or the :class:`ExchangeError` it raised (anything else propagates)."""
    try:
        if call.kind == PLACE:
            request = PlaceRequest(call.client_id, call.symbol, _SIDES[call.side], call.price_ticks, call.qty_lots,
                                   call.reduce_only)  # fmt: skip
            return Answer(call, placed=venue.place(request))
        if call.kind == CANCEL:
            return Answer(call, canceled=venue.cancel(call.exchange_order_id))
        return Answer(call, status=venue.order_status(call.client_id))
    except ExchangeError as exc:
        return Answer(call, error=exc)


@dataclass
class _StatusBatch:
    """Status queries sent together, answered together (one :class:`Statuses`, in the order asked)."""

    tick: int
    asked: list[str]
    answers: dict[str, OrderStatus | None] = field(default_factory=dict)


# ------------------------------------------------------------ what the core returns


class Acked(NamedTuple):
    """An order the venue holds, under its id."""

    client_id: str
    exchange_order_id: str


class Refused(NamedTuple):
    """A placement or a cancel that did not take, and why (a cancel's reason: :meth:`CancelOutcome.text`)."""

    client_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Report:
    """Answers of tick ``tick`` and the fills the venue pushed meanwhile; ``closes``: it ends that market tick."""

    tick: int
    acks: list[Acked]
    rejects: list[Refused]
    canceled: list[str]
    cancel_failures: list[Refused]
    fills: list[Fill]
    closes: bool = False


@dataclass(frozen=True, slots=True)
class MassCancel:
    """One round of a freeze's mass cancel: what it canceled and what the venue still holds open (-1: unknown)."""

    tick: int
    canceled: list[str]
    error: str
    still_open: int
    reason: str
    requested_through: int
    round: int
    next_round_tick: int
    """Should the venue still hold something: the market tick at which the next round goes."""

    @property
    def venue_empty(self) -> bool:
        """The venue said it holds no open order."""
        return self.still_open == 0


@dataclass(frozen=True, slots=True)
class Statuses:
    """The venue's word on orders the store asked about (one it could not be asked about is left out)."""

    tick: int
    statuses: list[OrderStatus]
    requested_through: int


@dataclass(frozen=True, slots=True)
class Held:
    """What the venue holds: its open orders and its positions (signed lots, by symbol)."""

    tick: int
    open_orders: list[Acked]
    positions: dict[str, int]


ToStore = Report | MassCancel | Statuses | Held
"""What the gateway tells the store, in order."""


@dataclass
class Effects:
    """What one call asks the actor to do, in order."""

    to_store: list[ToStore] = field(default_factory=list)
    venue_errors: list[tuple[str, ExchangeError]] = field(default_factory=list)
    """(the call, its error), for the log."""
    acked_sent_ns: list[int] = field(default_factory=list)
    """The market's sent time of each tick whose placements got acks, for the tick-to-order latency."""
    calls: list[Call] = field(default_factory=list)
    """Venue calls to make, each answered later (:meth:`GatewayCore.answered`): a concurrent core's only."""

    @property
    def mass_cancels(self) -> list[MassCancel]:
        """The mass-cancel rounds among ``to_store``."""
        return [record for record in self.to_store if isinstance(record, MassCancel)]


# ------------------------------------------------------------ the core


class GatewayCore:
    """Tick order, the store's requests at the venue, placements in doubt and the freeze, as plain state.

    Every public method returns the :class:`Effects` of that call, those of
    any earlier call that raised included (a venue that raised something
    other than an :class:`ExchangeError`): nothing decided is ever lost.
    """

    def __init__(
        self,
        *,
        market_through: int = 0,
        exchange_errors: int = 0,
        reconciled: int = 0,
        keep_sent: bool = False,
        concurrent: bool = False,
    ) -> None:
        """``keep_sent``: remember each market tick's sent time, so that :attr:`Effects.acked_sent_ns` is told.

        ``concurrent``: places, cancels and status queries go out as
        :attr:`Effects.calls` and are answered later (a real venue); and tick
        order is off, since such a venue does not move with the market ticks.
        """
        self.frozen = False
        self.freeze_reason = ""
        self.resumed_at = 0
        self.venue_empty = False
        self.venue_open = 0
        """Orders the venue still held open after the last mass cancel (-1: could not be asked; 0 before any)."""
        self.mass_cancel_rounds = 0
        self.mass_cancel_error = ""
        self.next_mass_cancel_tick = 0
        self.places = 0
        self.cancels = 0
        self.exchange_errors = exchange_errors
        self.refused_after_freeze = 0
        self.reconciled = reconciled
        self.duplicates_ignored = 0
        self.market_through = market_through
        """The last market tick the venue was moved to."""
        self.requested_through = market_through
        """The last tick whose request (its last part) was sent to the venue."""
        self.markets: dict[int, int] = {}
        """Market ticks waiting for the request of the tick before: tick -> its sent time."""
        self.requests: dict[int, list[Request]] = {}
        """Requests waiting for the venue to reach their tick."""
        self.parts_seen: set[tuple[int, int]] = set()
        self.placed_since_tick: set[str] = set()
        self.in_doubt: dict[str, str] = {}
        """Placements that timed out (client id -> symbol): the venue's open orders will say."""
        self.closing_owed: int | None = None
        """The market tick being handled, until its closing report is decided (owed should the call raise)."""
        self.request_owed: Request | None = None
        """A request whose freeze is under way: handled again should the call raise there."""
        self.keep_sent = keep_sent
        self.tick_sent_ns: dict[int, int] = {}
        self.concurrent = concurrent
        self.outstanding: dict[tuple[str, str], Call] = {}
        """Calls sent and not answered yet, by (kind, client id): a concurrent core's only."""
        self.lost_answers = 0
        """Places whose answer was lost (a timeout): left to the store's deadline, which asks the venue."""
        self._status_batches: dict[int, _StatusBatch] = {}
        self._last_batch = 0
        self._pushed: list[Fill] = []
        self._out = Effects()
        self._moves: tuple[object, bool] | None = None
        """The venue last asked whether it moves with the market, and its answer (a protocol's isinstance is slow)."""

    # ------------------------------------------------------------ inputs

    def pushed(self, fills: list[Fill]) -> None:
        """The venue pushed ``fills``: reported with the next report (the venue's listener).

        A fill without a tick (a real venue knows none) gets the last market tick.
        """
        if self.concurrent:
            fills = [fill if fill.tick else replace(fill, tick=self.market_through) for fill in fills]
        self._pushed.extend(fills)

    def fills_came(self, fills: list[Fill]) -> Effects:
        """A concurrent venue's stream pushed ``fills``: reported to the store at once, at the last market tick.

        A real venue's fills come when they come, not with a tick's answers:
        held for the next report they could wait for ever once the run's
        last freeze has reported (nothing reports after it), and the run
        would end with positions that are not the venue's.
        """
        self.pushed(fills)
        self._report(self.market_through, [], [], [], [])
        return self._take()

    def answered(self, answer: Answer, venue: Venue) -> Effects:
        """The venue's answer to a call sent earlier (concurrent): reported at its request's tick.

        An answer to no outstanding call (a copy) changes nothing.  A place
        that timed out is reported nowhere: the store's deadline asks the
        venue for its client id (:meth:`status`).  An ack that comes after a
        freeze's mass cancel found the venue empty says it is not empty any
        more: the next round goes (the store cancels the order meanwhile).
        """
        call = answer.call
        if self.outstanding.pop((call.kind, call.client_id), None) is None:
            self.duplicates_ignored += 1
            return self._take()
        if call.kind == PLACE:
            outcome = self._place_answered(answer)
            if isinstance(outcome, Acked):
                if self.frozen:
                    self.venue_empty = False
                sent = self.tick_sent_ns.pop(call.tick, None)
                if sent is not None:
                    self._out.acked_sent_ns.append(sent)
                self._report(call.tick, [outcome], [], [], [])
            elif isinstance(outcome, Refused):
                self._report(call.tick, [], [outcome], [], [])
        elif call.kind == CANCEL:
            done = self._cancel_answered(answer)
            if isinstance(done, Refused):
                self._report(call.tick, [], [], [], [done])
            else:
                self._report(call.tick, [], [], [done], [])
        else:
            batch = self._status_batches.get(call.batch)
            if batch is not None:
                batch.answers[call.client_id] = self._status_answered(answer)
                if len(batch.answers) == len(batch.asked):
                    del self._status_batches[call.batch]
                    self._statuses(batch.tick, [batch.answers[client_id] for client_id in batch.asked])
        return self._take()

    def market(self, tick: int, sent_ns: int, venue: Venue) -> Effects:
        """The venue's market moved to ``tick``: handled once the request of the tick before has been sent."""
        if tick <= self.market_through or tick in self.markets:
            self.duplicates_ignored += 1
        else:
            self.markets[tick] = sent_ns
            self._progress(venue)
        return self._take()

    def request(self, request: Request, venue: Venue) -> Effects:
        """The store's request of a tick (or a part of it): sent to the venue once the venue is at that tick."""
        key = (request.tick, request.part)
        if request.tick <= self.requested_through or key in self.parts_seen:
            self.duplicates_ignored += 1  # a copy of a request, or of a part of one, delivered twice
        else:
            self.parts_seen.add(key)
            if request.tick > self.market_through and not self.concurrent:
                self.requests.setdefault(request.tick, []).append(request)
            else:
                self._handle_request(request, venue)
                self._progress(venue)
        return self._take()

    def cancel_now(self, tick: int, cancels: Sequence[CancelOrder], venue: Venue) -> Effects:
        """Cancels outside the tick's request (a reconciliation's): sent at once."""
        canceled, failures = self._cancel(tick, cancels, venue)
        self._report(tick, [], [], canceled, failures)
        return self._take()

    def freeze(self, tick: int, reason: str, venue: Venue) -> Effects:
        """Refuse every placement from now on and mass-cancel at the venue, without waiting for anyone."""
        self._freeze(tick, reason, venue)
        return self._take()

    def resume(self, tick: int) -> None:
        """The halt is over: place again from request ``tick`` on (a late or repeated resume changes nothing)."""
        if tick <= self.resumed_at:
            return
        self.resumed_at = tick
        self.frozen = False
        self.freeze_reason = ""
        self.venue_empty = False
        self.next_mass_cancel_tick = 0

    def final_sweep(self, tick: int, venue: Venue) -> Effects:
        """The run is over and halted with something still open: mass-cancel once more."""
        if self.frozen:
            self._mass_cancel(max(tick, self.market_through), venue)
        return self._take()

    def venue_state(self, tick: int, venue: Venue) -> Effects:
        """New fills and settled placements first (in order to the store), then what the venue holds."""
        acks, rejects = self._settle_doubts(venue)
        self._poll_fills(venue)
        self._report(tick, acks, rejects, [], [])
        try:
            orders = venue.get_orders()
            positions = venue.get_positions()
        except ExchangeError as exc:
            self._venue_error("read_venue", exc)
        else:
            held = Held(tick, [Acked(o.client_id, o.exchange_order_id) for o in orders], positions)
            self._out.to_store.append(held)
        return self._take()

    def status(self, tick: int, client_ids: Sequence[str], venue: Venue) -> Effects:
        """The venue's word on each order, its new fills and settled placements reported first.

        An order the venue cannot be asked about now is left out; the store
        asks again at its next deadline.
        """
        self._answer_status(tick, client_ids, venue)
        return self._take()

    def restart(self, venue: Venue) -> Effects:
        """After a failed call: settle doubts, say what the venue holds and, frozen, mass-cancel again.

        The mass cancel is idempotent: a store that never heard the last
        one's report hears that the venue is empty.
        """
        effects = self.venue_state(self.market_through, venue)
        if self.frozen:
            self._mass_cancel(self.market_through, venue)
        return self._merge(effects, self._take())

    def after_failure(self, venue: Venue) -> Effects:
        """A call raised part-way: what it decided, the closing report it owed, and the work it left.

        A request whose handling raised in its freeze's mass cancel is handled
        again (frozen now, its freeze is not done twice; cancels are
        idempotent, its placements are refused), and buffered ticks and
        requests go on: nothing else would move them once all have arrived.
        """
        tick, self.closing_owed = self.closing_owed, None
        if tick is not None:
            self._report(tick, [], [], [], [], closes=True)
        request, self.request_owed = self.request_owed, None
        if request is not None:
            self._handle_request(request, venue)
        self._progress(venue)
        return self._take()

    # ------------------------------------------------------------ tick order

    def _progress(self, venue: Venue) -> None:
        """Move the venue, and send buffered requests, for as long as tick order allows (concurrent: none holds)."""
        while self.market_through + 1 in self.markets and (
            self.concurrent or self.requested_through >= self.market_through
        ):
            following = self.market_through + 1
            self._handle_market(following, self.markets.pop(following), venue)
            for request in self.requests.pop(following, []):
                self._handle_request(request, venue)

    def _handle_market(self, tick: int, sent_ns: int, venue: Venue) -> None:
        """Settle placements in doubt (before the venue moves), move the venue, report what it pushed."""
        self.market_through = tick
        self.closing_owed = tick
        self.placed_since_tick.clear()
        if self.keep_sent:
            self.tick_sent_ns[tick] = sent_ns
            if self.concurrent:  # popped by a tick's first ack, which may never come
                self.tick_sent_ns.pop(tick - 64, None)
        acks, rejects = self._settle_doubts(venue)
        if self.frozen and not self.venue_empty and tick >= self.next_mass_cancel_tick:
            self._mass_cancel(tick, venue)  # the last round failed and its backoff is over: try again
        if self._moves_with_market(venue):
            venue.advance(tick)
        self.closing_owed = None
        self._report(tick, acks, rejects, [], [], closes=True)

    def _moves_with_market(self, venue: Venue) -> TypeGuard[MovesWithMarket]:
        """Whether ``venue`` moves with the market data it is given (asked once per venue, not once per tick)."""
        moves = self._moves
        if moves is None or moves[0] is not venue:
            moves = self._moves = (venue, isinstance(venue, MovesWithMarket))
        return moves[1]

    def _handle_request(self, request: Request, venue: Venue) -> None:
        """Cancels first (they free risk), then placements; report everything back.

        A placement that timed out is in doubt until the venue's open orders
        say whether it exists.  A cancel that failed or was refused brings the
        venue's new fills along: the order may have traded (ALREADY_FILLED,
        or a fill racing a lost answer), and the store closes it at once.
        """
        if request.resumed > self.resumed_at:
            self.resume(request.resumed)  # the store heard risk's Resume before this gateway did
        if request.frozen and not self.frozen:
            self.request_owed = request  # should the freeze's mass cancel raise, handled again
            self._freeze(request.tick, self.freeze_reason or "the store reports a freeze", venue)
            self.request_owed = None
        if request.last:
            self.requested_through = request.tick
            self.parts_seen = {key for key in self.parts_seen if key[0] > request.tick}
        canceled, cancel_failures = self._cancel(request.tick, request.cancels, venue)
        acks, rejects = self._place_all(request, venue)
        sent = self.tick_sent_ns.pop(request.tick, None) if request.last and not self.concurrent else None
        if acks and sent is not None:
            self._out.acked_sent_ns.append(sent)
        doubt_acks, doubt_rejects = self._settle_doubts(venue)
        self._report(request.tick, acks + doubt_acks, rejects + doubt_rejects, canceled, cancel_failures)
        if request.status:
            self._answer_status(request.tick, request.status, venue)

    # ------------------------------------------------------------ placements and cancels

    def _place_all(self, request: Request, venue: Venue) -> tuple[list[Acked], list[Refused]]:
        """The request's placements, in order: acknowledged, refused, or in doubt (a timeout)."""
        acks: list[Acked] = []
        rejects: list[Refused] = []
        view: VenueView | None = None
        for place in request.places:
            if place.client_id in self.placed_since_tick or (PLACE, place.client_id) in self.outstanding:
                self.duplicates_ignored += 1  # the same request delivered twice: place once
                continue
            self.placed_since_tick.add(place.client_id)
            if self.frozen and not request.flatten:
                self.refused_after_freeze += 1
                rejects.append(Refused(place.client_id, FROZEN))
                continue
            side = _SIDES[place.side]
            if self.frozen or place.reduce_only:
                view = view if view is not None else self._venue_view(venue)
                refusal = view.refusal(place.symbol, side, place.qty_lots)
                if refusal is not None:
                    rejects.append(Refused(place.client_id, refusal))
                    continue
                view.spend(place.symbol, side, place.qty_lots)  # placed, in doubt or refused: working (safe side)
            self.places += 1
            call = Call(PLACE, request.tick, place.client_id, place.symbol, place.side, place.price_ticks,
                        place.qty_lots, reduce_only=place.reduce_only)  # fmt: skip
            if self.concurrent:
                self._send(call)
                continue
            outcome = self._place_answered(perform(call, venue))
            if isinstance(outcome, Acked):
                acks.append(outcome)
            elif isinstance(outcome, Refused):
                rejects.append(outcome)
        return acks, rejects

    def _place_answered(self, answer: Answer) -> Acked | Refused | None:
        """A place's answer: acknowledged, refused, or none (a timeout: in doubt; concurrent: left to the store)."""
        call, error, placed = answer.call, answer.error, answer.placed
        if isinstance(error, ExchangeTimeout):
            self._venue_error("place_timeout", error)
            if self.concurrent:
                self.lost_answers += 1  # the store's deadline asks the venue for the client id: never placed twice
            else:
                self.in_doubt[call.client_id] = call.symbol
            return None
        if error is not None or placed is None:
            error = error or ExchangeError(f"place {call.client_id}: no answer")
            self._venue_error("place", error)
            return Refused(call.client_id, f"exchange error: {error}")
        if placed.accepted and placed.exchange_order_id is not None:
            return Acked(call.client_id, placed.exchange_order_id)
        return Refused(call.client_id, placed.reason or "rejected")

    def _venue_view(self, venue: Venue) -> VenueView:
        """The venue's positions and open orders, read once for a request's reduce-only placements.

        Read after the request's cancels: a cancel that failed leaves the
        earlier order working (its lots count as spent), a cancel that raced
        a fill moved the position (docs/EXECUTION.md, "Flattening on halt").
        Queries are never faulted; should one fail, every reduce-only order
        of the request is refused, which is the safe side.
        """
        try:
            return VenueView(venue.get_positions(), venue.get_orders())
        except ExchangeError as exc:
            self._venue_error("read_venue", exc)
            return VenueView({}, [], error=f"reduce-only: cannot read the venue: {exc}")

    def _cancel(self, tick: int, cancels: Sequence[CancelOrder], venue: Venue) -> tuple[list[str], list[Refused]]:
        """Each cancel at the venue: canceled, or refused with its outcome's reason (:meth:`CancelOutcome.text`)."""
        canceled: list[str] = []
        failures: list[Refused] = []
        for cancel in cancels:
            if (CANCEL, cancel.client_id) in self.outstanding:
                self.duplicates_ignored += 1  # asked again before the first one's answer came: that answer says
                continue
            self.cancels += 1
            call = Call(CANCEL, tick, cancel.client_id, exchange_order_id=cancel.exchange_order_id)
            if self.concurrent:
                self._send(call)
                continue
            done = self._cancel_answered(perform(call, venue))
            if isinstance(done, Refused):
                failures.append(done)
            else:
                canceled.append(done)
        return canceled, failures

    def _cancel_answered(self, answer: Answer) -> str | Refused:
        """A cancel's answer: the client id it canceled, or its refusal (a failed call: FAILED)."""
        call, result = answer.call, answer.canceled
        if answer.error is not None or result is None:
            error = answer.error or ExchangeError(f"cancel {call.client_id}: no answer")
            self._venue_error("cancel", error)
            return Refused(call.client_id, CancelOutcome.FAILED.text(f"exchange error: {error}"))
        outcome = result.answer
        if outcome is CancelOutcome.CANCELED:
            return call.client_id
        return Refused(call.client_id, outcome.text(result.reason))

    def _settle_doubts(self, venue: Venue) -> tuple[list[Acked], list[Refused]]:
        """Placements that got no answer: acked if the venue has them open, refused if not.

        Runs before the venue moves again, so an order that was placed cannot
        have traded out of the open list in between.  If the venue cannot be
        asked, the orders stay in doubt (PENDING in the store) for the next tick.
        """
        acks: list[Acked] = []
        rejects: list[Refused] = []
        if not self.in_doubt:
            return acks, rejects
        try:
            venue_orders = venue.get_orders()
        except ExchangeError as exc:
            self._venue_error("get_orders", exc)
            return acks, rejects
        live = {order.client_id: order.exchange_order_id for order in venue_orders if order.client_id in self.in_doubt}
        for client_id in self.in_doubt:
            exchange_order_id = live.get(client_id)
            if exchange_order_id is not None:
                acks.append(Acked(client_id, exchange_order_id))
            else:
                rejects.append(Refused(client_id, NOT_PLACED))
        self.reconciled += len(self.in_doubt)
        self.in_doubt.clear()
        return acks, rejects

    def _answer_status(self, tick: int, client_ids: Sequence[str], venue: Venue) -> None:
        """Fills and settled doubts first, then the venue's word on each order (concurrent: once all answered).

        Concurrent, an order with a call still out is not asked about: that
        call's answer will say, and were the venue asked now, it might not
        have seen the call yet ("unknown" for an order on its way).  It is
        left out, as one the venue could not be asked about, and the store
        asks again at its next deadline.
        """
        self._poll_fills(venue)
        acks, rejects = self._settle_doubts(venue)
        self._report(tick, acks, rejects, [], [])
        if self.concurrent:
            asked = [client_id for client_id in dict.fromkeys(client_ids) if not self._in_flight(client_id)]
            if not asked:
                self._statuses(tick, [])
                return
            self._last_batch += 1
            self._status_batches[self._last_batch] = _StatusBatch(tick, asked)
            for client_id in asked:
                self._send(Call(STATUS, tick, client_id, batch=self._last_batch))
            return
        self._statuses(tick, [self._status_answered(perform(Call(STATUS, tick, cid), venue)) for cid in client_ids])

    def _status_answered(self, answer: Answer) -> OrderStatus | None:
        """A status query's answer, under the client id asked about; None if the venue could not be asked."""
        status, client_id = answer.status, answer.call.client_id
        if answer.error is not None or status is None:
            self._venue_error("order_status", answer.error or ExchangeError(f"status {client_id}: no answer"))
            return None
        return OrderStatus(client_id, status.state, status.exchange_order_id, status.filled_lots)

    def _statuses(self, tick: int, statuses: Sequence[OrderStatus | None]) -> None:
        answered = [status for status in statuses if status is not None]
        self._out.to_store.append(Statuses(tick, answered, self.requested_through))

    def _in_flight(self, client_id: str) -> bool:
        outstanding = self.outstanding
        return (PLACE, client_id) in outstanding or (CANCEL, client_id) in outstanding or (
            STATUS, client_id) in outstanding  # fmt: skip

    def _poll_fills(self, venue: Venue) -> None:
        """Ask the venue for fills it has not pushed (reconciliation: a venue's stream may have gaps)."""
        try:
            self._pushed.extend(venue.stream_fills())
        except ExchangeError as exc:
            self._venue_error("stream_fills", exc)

    # ------------------------------------------------------------ the freeze

    def _freeze(self, tick: int, reason: str, venue: Venue) -> None:
        if self.frozen or tick < self.resumed_at:
            return  # frozen already, or a late copy of a freeze that a resume has ended
        self.frozen = True
        self.freeze_reason = reason
        self._mass_cancel(tick, venue)

    def _mass_cancel(self, tick: int, venue: Venue) -> None:
        """Cancel everything at the venue until it holds nothing open (a few tries), then tell the store.

        Placements in doubt are settled first and what the venue pushed is
        reported, so the store knows every order the venue could name before
        it hears that the venue holds none open.  A round that leaves
        something open is followed by another once its backoff is over
        (:meth:`_handle_market`).
        """
        acks, rejects = self._settle_doubts(venue)
        canceled: list[str] = []
        error, still_open = "", -1
        for _ in range(MASS_CANCEL_ATTEMPTS):
            try:
                canceled.extend(order.client_id for order in venue.cancel_all())
                error = ""
            except ExchangeError as exc:
                self._venue_error("cancel_all", exc)
                error = f"exchange error: {exc}"
            try:
                still_open = len(venue.get_orders())
            except ExchangeError as exc:
                self._venue_error("get_orders", exc)
                still_open, error = -1, f"exchange error: {exc}"
            if still_open == 0:
                break
        self.venue_empty = still_open == 0
        self.venue_open, self.mass_cancel_error = still_open, error
        self.mass_cancel_rounds += 1
        self.next_mass_cancel_tick = tick + cancel_backoff_ticks(self.mass_cancel_rounds)
        self.cancels += len(canceled)
        self._report(tick, acks, rejects, [], [])
        self._out.to_store.append(MassCancel(tick, canceled, error, still_open, self.freeze_reason,
                                             self.requested_through, self.mass_cancel_rounds,
                                             self.next_mass_cancel_tick))  # fmt: skip

    # ------------------------------------------------------------ output

    def _report(
        self,
        tick: int,
        acks: list[Acked],
        rejects: list[Refused],
        canceled: list[str],
        failures: list[Refused],
        *,
        closes: bool = False,
    ) -> None:
        """Answers and whatever the venue pushed meanwhile; nothing if empty, unless it ``closes`` a tick."""
        fills, self._pushed = self._pushed, []
        if acks or rejects or canceled or failures or fills or closes:
            self._out.to_store.append(Report(tick, acks, rejects, canceled, failures, fills, closes))

    def _send(self, call: Call) -> None:
        """Hand ``call`` to the actor for its venue worker; outstanding until :meth:`answered`."""
        self.outstanding[(call.kind, call.client_id)] = call
        self._out.calls.append(call)

    def _venue_error(self, call: str, exc: ExchangeError) -> None:
        self.exchange_errors += 1
        self._out.venue_errors.append((call, exc))

    def _take(self) -> Effects:
        out, self._out = self._out, Effects()
        return out

    @staticmethod
    def _merge(first: Effects, then: Effects) -> Effects:
        first.to_store += then.to_store
        first.venue_errors += then.venue_errors
        first.acked_sent_ns += then.acked_sent_ns
        first.calls += then.calls
        return first
