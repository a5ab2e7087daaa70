"""The order store's rules, without an actor: requests, answer deadlines, the freeze, reconciliation.

:class:`StoreCore` is what :class:`actors.roles._order_store.OrderStoreActor`
decides with, in the manner of h11's sans-I/O connection: the actor decodes
a record, calls the core with what it says and the core answers with plain
values (:data:`Effect`): the tick's one request to the gateway, cancels to
send at once, orders to ask the venue about, fills to forward to risk, the
freeze confirmed, lines to log.  The actor turns each into its records, in
the order given, and writes the journal; the core has no thread, no clock,
no message and no file of its own, so every rule here can be driven in a
plain loop (``tests/unit/test_store_core.py``).

Its deadlines are ticks, the only time it knows: every order sent in a
request has its answer by :data:`ANSWER_DEADLINE_TICKS` ticks later, or it
is asked about.  Its inputs are read through the small protocols below
(:class:`Wanted`, :class:`Answer`, ...), which the wire's records satisfy as
they are: the core reads them without copying them.

Every order state change is the :class:`~actors.core._orders.OrderStore`'s
(its journal records each operation as it applies it); this class decides
which changes to ask for and what to send.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from actors.core._lifecycle import Settle, awaiting_answer, settle
from actors.core._orders import NOT_OPEN_AT_VENUE, FillOutcome, IllegalTransition, Order, OrderStore
from actors.core._types import Fill, OrderState, Side

ANSWER_DEADLINE_TICKS = 2
"""Ticks after its request by which every order in it has its answer.

The gateway answers a request at once and settles a placement in doubt at
the next market tick, and its reports reach the store in order before the
fills that close the tick after; so an order unanswered two ticks on lost
its answer, and the store asks the venue."""

UNNUMBERED = 0
"""The number of a gateway record that is not on the gateway's numbered stream (never a copy)."""


# ------------------------------------------------------------ what the core reads


class Wanted(Protocol):
    """One order risk approved (an ``OrderSpec``)."""

    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> int: ...
    @property
    def price_ticks(self) -> int: ...
    @property
    def qty_lots(self) -> int: ...
    @property
    def number(self) -> int: ...
    @property
    def reduce_only(self) -> bool: ...


class Answer(Protocol):
    """The venue knows ``client_id`` as ``exchange_order_id`` (an ack, an order open at the venue)."""

    @property
    def client_id(self) -> str: ...
    @property
    def exchange_order_id(self) -> str: ...


class Refused(Protocol):
    """The venue refused a placement or a cancel of ``client_id``."""

    @property
    def client_id(self) -> str: ...
    @property
    def reason(self) -> str: ...


class Traded(Protocol):
    """A fill as the gateway reported it."""

    @property
    def fill_id(self) -> str: ...
    def to_fill(self) -> Fill: ...


class Word(Protocol):
    """The venue's word on one order (a ``StatusItem``)."""

    @property
    def client_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def exchange_order_id(self) -> str: ...
    @property
    def filled_lots(self) -> int: ...


# ------------------------------------------------------------ what the core answers


class Cancel(NamedTuple):
    """A cancel to send."""

    client_id: str
    exchange_order_id: str


class Place(NamedTuple):
    """An order to place."""

    client_id: str
    symbol: str
    side: int
    price_ticks: int
    qty_lots: int
    reduce_only: bool


@dataclass(frozen=True, slots=True)
class Request:
    """The tick's one request to the gateway (``GatewayRequest``): cancels first, then placements, then questions."""

    tick: int
    cancels: tuple[Cancel, ...]
    places: tuple[Place, ...]
    frozen: bool
    status: tuple[str, ...]
    resumed: int
    flatten: bool


@dataclass(frozen=True, slots=True)
class CancelNow:
    """Cancels that cannot wait for a request (``CancelOrders``)."""

    tick: int
    cancels: tuple[Cancel, ...]


@dataclass(frozen=True, slots=True)
class AskStatus:
    """Orders to ask the venue about (``StatusQuery``)."""

    tick: int
    client_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Forward:
    """Fills applied for the first time, for risk (``FillsApplied``); ``closes``: they close tick ``tick``.

    ``ended``: orders that ended other than by a fill or a cancel risk asked
    for (rejected, canceled unasked, gone before risk's keep came), so risk
    counts them resting no more.
    """

    tick: int
    fills: tuple[Fill, ...]
    closes: bool
    ended: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FreezeDone:
    """After a freeze no order is open, here or at the venue (``FreezeComplete``)."""

    tick: int
    canceled: int


@dataclass(frozen=True, slots=True)
class Log:
    """A line for the log (the core writes none): an illegal transition refused, a fill not applied."""

    level: str
    text: str


Effect = Request | CancelNow | AskStatus | Forward | FreezeDone | Log


class StoreCore:
    """The store's decisions over an :class:`OrderStore`: each input method returns the effects, in order.

    Inputs come in a canonical order (docs/DESIGN.md, "Why the result is
    deterministic"), so the effects do too.
    """

    def __init__(self, store: OrderStore | None = None, *, requested_through: int = 0,
                 final_tick: int | None = None) -> None:  # fmt: skip
        """``final_tick``: the run's last tick, after whose request none follows (see :meth:`_follow_up`)."""
        self.store = store if store is not None else OrderStore()
        self.final_tick = final_tick
        self.frozen = False
        self.freeze_confirmed = False
        self.freeze_tick = 0
        self.venue_empty = False
        """Frozen, the gateway's mass cancel left nothing open at the venue."""
        self.canceled_since_freeze = 0
        self.refused_after_freeze = 0
        self.flattening = False
        """The request being built flattens positions though frozen (``ReplaceQuotes.flatten``)."""
        self.resumed_at = 0
        """The tick of the last resume; every request says it, so the gateway resumes at request ``tick``."""
        self.last_tick = requested_through
        self.requested_through = requested_through
        self.closed_through = requested_through
        self.reconciliations = 0
        self.orphans_canceled = 0
        self.duplicates_ignored = 0
        self.gateway_seq = 0
        """The number of the last record taken from the gateway's stream (a copy is recognised by it)."""
        self.replaced_at: dict[str, int] = {}
        self.tick_cancels: list[Cancel] = []
        self.tick_places: list[Place] = []
        self.follow_ups: list[Cancel] = []
        """Cancels the gateway's answers call for (an ack after the cancel was wanted, the venue's word on an order).

        They go with the next request (:meth:`_follow_up`)."""
        self.request_owed: int | None = None
        """The tick whose request is being built: owed to the gateway should the caller fail before sending it."""
        self.awaiting: deque[tuple[int, tuple[str, ...]]] = deque()
        """(deadline tick, client ids) of every request sent, oldest first."""
        self.deadlines_missed = 0
        self.keeping: frozenset[str] = frozenset()
        """The client ids the decision under way keeps (its first part says them)."""
        self.ended: list[str] = []
        """Orders ended unasked since the last :class:`Forward` (:attr:`Forward.ended`)."""
        self._out: list[Effect] = []

    # ------------------------------------------------------------ risk's decisions

    def replace_quotes(self, tick: int, symbols: Sequence[str], orders: Sequence[Wanted], *, last: bool = True,
                       flatten: bool = False, keep: Sequence[int] = ()) -> list[Effect]:  # fmt: skip
        """Cancel the symbols' open orders but those risk keeps, and create the new ones; the tick's request once its
        ``last`` part came.

        ``keep``: client id numbers of resting orders wanted again (in the
        decision's first part).  A kept order that is not open any more (it
        ended on the way) is said ended to risk (:attr:`Forward.ended`).
        The same decision delivered twice is acted on once; frozen, only a
        flattening decision makes orders (the rest are counted as refused).
        """
        out = self._out = []
        copy = symbols and self.replaced_at.get(symbols[0]) == tick
        if tick <= self.requested_through or copy:
            self.duplicates_ignored += 1
            return out
        if last:
            self.request_owed = tick
        if keep:
            self.keeping = frozenset(map(self.store.client_id_of, keep))
        if self.frozen and not flatten:
            self.refused_after_freeze += len(orders)
        else:
            self.flattening = self.flattening or flatten
            self._replace(tick, symbols, orders)
        if last:
            if self.keeping:
                self._kept_gone()
            self._request(tick)
        return out

    def _kept_gone(self) -> None:
        """Kept orders that are not open any more (or being canceled): ended, for risk."""
        get = self.store.get
        for client_id in sorted(self.keeping):
            order = get(client_id)
            if order is None or order.state.is_terminal or order.cancel_requested:
                self.ended.append(client_id)
        self.keeping = frozenset()

    def _replace(self, tick: int, symbols: Sequence[str], orders: Sequence[Wanted]) -> None:
        store = self.store
        if tick > self.last_tick:
            self.last_tick = tick
            store.expire(tick)
        for symbol in symbols:
            self.replaced_at[symbol] = tick
        specs = [(o.symbol, Side(o.side), o.price_ticks, o.qty_lots) for o in orders]
        to_cancel, created = store.replace_quotes(list(symbols), specs, tick, [o.number for o in orders], self.keeping)
        self.tick_cancels.extend(Cancel(o.client_id, o.exchange_order_id) for o in to_cancel if o.exchange_order_id)
        self.tick_places.extend(
            Place(o.client_id, o.symbol, int(o.side), o.price_ticks, o.qty_lots, spec.reduce_only)
            for o, spec in zip(created, orders, strict=True)
        )

    def _request(self, tick: int) -> None:
        """The tick's one request: earlier follow-ups, refused cancels due again, this tick's cancels, placements.

        Frozen, once the mass cancel has emptied the venue, refused cancels
        (a flattening order's) are still retried and late acks still canceled:
        a cancel is never a placement, and nothing else would cancel them.

        Every order in it gets a deadline (:data:`ANSWER_DEADLINE_TICKS`);
        one still unanswered then is asked about (:meth:`_chase_unanswered`).
        """
        unanswered = self._chase_unanswered(tick)
        cancels = list(self.follow_ups)  # frozen, only the venue's answers call for them (:meth:`_follow_up`)
        if not self.frozen or self.venue_empty:  # frozen, until the venue is empty the mass cancel answers for all
            due = self.store.due_cancels(tick)
            cancels += [Cancel(o.client_id, o.exchange_order_id) for o in due if o.exchange_order_id]
        if not self.frozen or self.flattening:  # frozen: the last tick's flattening orders, replaced by this tick's
            cancels.extend(self.tick_cancels)
        flatten, self.flattening = self.flattening, False
        places = self.tick_places
        self.follow_ups, self.tick_cancels, self.tick_places = [], [], []
        self.requested_through = tick
        if cancels or places or unanswered:
            sent = tuple(c.client_id for c in cancels) + tuple(p.client_id for p in places) + unanswered
            self.awaiting.append((tick + ANSWER_DEADLINE_TICKS, sent))
        self.request_owed = None
        self._out.append(Request(tick, tuple(cancels), tuple(places), self.frozen, unanswered, self.resumed_at,
                                 flatten))  # fmt: skip

    def _chase_unanswered(self, tick: int) -> tuple[str, ...]:
        """Orders of requests past their deadline still waiting for their answer: to ask the venue about.

        Still PENDING (no ack, no reject), or with a cancel out that was
        neither confirmed nor refused: the answer was lost on the way.  They
        ride in the tick's request; the venue's word (:meth:`order_statuses`)
        settles them, and they get a new deadline should that answer be lost too.
        """
        unanswered: list[str] = []
        awaiting, get = self.awaiting, self.store.get
        while awaiting and awaiting[0][0] <= tick:
            for client_id in awaiting.popleft()[1]:
                order = get(client_id)
                if order is None or order.state.is_terminal:
                    continue
                if awaiting_answer(order):
                    unanswered.append(client_id)
        self.deadlines_missed += len(unanswered)
        return tuple(unanswered)

    def owed_request(self) -> list[Effect]:
        """The caller failed while a tick's request was being built: that tick still gets its one request.

        So the venue moves on.  The orders created for that tick are left out
        of it: never sent, they are rejected at once and said ended to risk
        (:attr:`Forward.ended`), with the orders it kept that ended on the
        way, before its next decision.  Left PENDING until the venue's word
        settled them, they would be kept or not by that decision depending on
        whether a reconciliation's answer came before it (a restarted store
        reconciles), which a faster or slower runtime changes.  The cancels
        left out stay wanted; the venue's word settles them.
        """
        out = self._out = []
        tick, self.request_owed = self.request_owed, None
        if tick is not None and tick > self.requested_through:
            self.tick_cancels, self.tick_places = [], []
            self._never_sent(tick)
            if self.keeping:
                self._kept_gone()
            self._request(tick)
            unsure = tuple(o.client_id for o in self.store.open_orders() if awaiting_answer(o))
            self.awaiting.append((tick + ANSWER_DEADLINE_TICKS, unsure))
            if self.ended:
                out.append(self._forward((), False))
        return out

    def _never_sent(self, tick: int) -> None:
        """Reject the orders created for ``tick``, whose request was never built: placements only leave in it."""
        for order in self.store.open_orders():
            if order.created_tick == tick and order.state is OrderState.PENDING:
                self._guard(self.store.reject, order.client_id, "never sent: the store failed building its request")
                if not self.frozen:
                    self.ended.append(order.client_id)

    # ------------------------------------------------------------ the gateway's answers

    def is_copy(self, seq: int) -> bool:
        """A record of the gateway's numbered stream already taken (a copy delivered twice): it changes nothing."""
        if seq == UNNUMBERED:
            return False
        if seq <= self.gateway_seq:
            self.duplicates_ignored += 1
            return True
        self.gateway_seq = seq
        return False

    def gateway_report(
        self,
        tick: int,
        *,
        acks: Sequence[Answer],
        rejects: Sequence[Refused],
        canceled: Sequence[str],
        cancel_failures: Sequence[Refused],
        fills: Sequence[Traded],
        closes: bool = False,
    ) -> list[Effect]:
        """Apply acks, rejects, cancels and fills, in that order; forward the fills, closing the tick if they do."""
        out = self._out = []
        store, follow_ups = self.store, []
        for ack in acks:
            order = self._guard(store.acknowledge, ack.client_id, ack.exchange_order_id)
            if order is not None and order.cancel_requested and (not self.frozen or self.venue_empty):
                follow_ups.append(Cancel(order.client_id, ack.exchange_order_id))
        self._follow_up(tick, follow_ups)
        for refusal in rejects:
            if self._guard(store.reject, refusal.client_id, refusal.reason) is not None and not self.frozen:
                self.ended.append(refusal.client_id)  # frozen: risk counts nothing resting already
        for client_id in canceled:
            self._cancel_answered(client_id, True, "")
        for refusal in cancel_failures:
            self._cancel_answered(refusal.client_id, False, refusal.reason)
        applied = [fill for fill in (item.to_fill() for item in fills) if self._apply_fill(fill)]
        closes = closes and tick > self.closed_through
        if closes:
            self.closed_through = tick
        if applied or closes or self.ended:
            out.append(self._forward(applied, closes))
        self._confirm_freeze_if_done()
        return out

    # ------------------------------------------------------------ the freeze

    def freezes(self, tick: int) -> bool:
        """Whether a freeze of ``tick`` freezes the store (not frozen already, nor a late copy a resume has ended).

        The caller journals the freeze before :meth:`freeze` requests the cancels (write-ahead).
        """
        return not self.frozen and tick >= self.resumed_at

    def freeze(self, tick: int) -> None:
        """Refuse new orders from now on; the gateway's mass cancel answers for every open one."""
        if not self.freezes(tick):
            return
        self.frozen = True
        self.freeze_tick = tick
        for order in self.store.open_orders():
            self.store.request_cancel(order.client_id)
        self.follow_ups.clear()

    def resume(self, tick: int) -> bool:
        """The halt is over: the next decision (of ``tick``) makes orders again; True if it ended a freeze here.

        Risk sends the resume before that tick's decision (one sender, in
        order), and after the store sent the fills closing the tick, which it
        did after every mass-cancel report of the halt: none comes later.
        """
        if tick <= self.resumed_at:
            return False  # a copy delivered twice
        self.resumed_at = tick
        if not self.frozen:
            return False
        self.frozen = False
        self.venue_empty = False
        self.freeze_confirmed = False
        self.canceled_since_freeze = 0
        return True

    def mass_cancel_report(self, tick: int, canceled: Sequence[str], *, final: bool, venue_open: int,
                           requested_through: int) -> list[Effect]:  # fmt: skip
        """Close what the mass cancel canceled; once the venue holds nothing open, neither do we.

        The report may come before risk's own freeze (the gateway heard
        first): the caller freezes the store first (:meth:`freeze`).  An order
        still open here once the venue has none open was not open there: it
        filled (its fill came just before), or was canceled earlier and the
        answer was lost.  An order whose request the gateway had not handled
        yet never reached the venue: the gateway's refusal ("frozen") settles
        it when it comes.
        """
        out = self._out = []
        self.canceled_since_freeze += self.store.confirm_cancels(canceled)
        if final and venue_open == 0:
            self.venue_empty = True
            for order in self.store.open_orders():
                if order.created_tick <= requested_through:  # later ones: the gateway refuses them
                    self._cancel_answered(order.client_id, False, NOT_OPEN_AT_VENUE)
        self._confirm_freeze_if_done()
        return out

    def _confirm_freeze_if_done(self) -> None:
        """Confirmed when the venue reported nothing open and the store agrees."""
        if self.frozen and self.venue_empty and not self.freeze_confirmed and self.store.open_count() == 0:
            self.freeze_confirmed = True
            self._out.append(FreezeDone(self.freeze_tick, self.canceled_since_freeze))

    # ------------------------------------------------------------ reconciliation

    def venue_state(self, tick: int, open_orders: Sequence[Answer]) -> list[Effect]:
        """Reconcile with the venue, both ways (the caller forwards the state to risk, which checks positions).

        Open at the venue but unknown, finished or rejected here: an orphan,
        canceled.  Still PENDING here: its ack was lost; acknowledged (and
        canceled if that was wanted).  Open or PENDING here but not open at
        the venue: the venue is asked what became of it (:class:`AskStatus`)
        and its word settles the order.  The effects are the cancels, then
        the question, each possibly empty.
        """
        out = self._out = []
        self.reconciliations += 1
        store = self.store
        at_venue = {ack.client_id: ack.exchange_order_id for ack in open_orders}
        cancels: list[Cancel] = []
        for client_id, exchange_order_id in at_venue.items():
            order = store.get(client_id)
            if order is None or order.state.is_terminal:
                self.orphans_canceled += 1
                cancels.append(Cancel(client_id, exchange_order_id))
            elif order.state is OrderState.PENDING:
                self._guard(store.acknowledge, client_id, exchange_order_id)
                if order.cancel_requested or self.frozen:
                    cancels.append(Cancel(client_id, exchange_order_id))
        at = max(tick, self.last_tick)
        out.append(CancelNow(at, tuple(cancels)))
        out.append(AskStatus(at, tuple(o.client_id for o in store.open_orders() if o.client_id not in at_venue)))
        return out

    def order_statuses(self, tick: int, statuses: Sequence[Word], requested_through: int) -> list[Effect]:
        """Settle each order from the venue's word (docs/RELIABILITY.md, "Reconciliation").

        Fills the venue counts but never sent (lost beyond its redelivery)
        are applied as one fill for the difference at the order's price, so
        positions stay the venue's; a late real fill is then refused as an
        overfill.  A PENDING order of a tick whose request the gateway has
        not handled yet is left alone: it is still on its way.
        """
        out = self._out = []
        store = self.store
        cancels: list[Cancel] = []
        fills: list[Fill] = []
        for item in statuses:
            order = store.get(item.client_id)
            if order is None or order.state.is_terminal:
                if item.state == "open" and item.exchange_order_id:
                    self.orphans_canceled += 1
                    cancels.append(Cancel(item.client_id, item.exchange_order_id))
                continue
            if item.filled_lots > order.filled_lots and item.exchange_order_id:
                fill = venue_counted_fill(order, item, tick)
                if self._apply_fill(fill):
                    fills.append(fill)
            if order.state.is_terminal:
                continue
            verdict = settle(item.state, order.state, requested=order.created_tick <= requested_through)
            if verdict is Settle.ACKNOWLEDGE:
                if order.state is OrderState.PENDING:
                    self._guard(store.acknowledge, item.client_id, item.exchange_order_id)
                if order.cancel_requested or self.frozen:
                    cancels.append(Cancel(item.client_id, item.exchange_order_id))
            elif verdict is Settle.CANCELED:
                self._cancel_answered(item.client_id, False, "already canceled" if item.state in ("canceled", "filled")
                                      else "unknown order")  # fmt: skip
            elif verdict is Settle.REJECT:
                self._guard(store.reject, item.client_id, f"{item.state} at the venue")
        if fills or self.ended:
            out.append(self._forward(fills, False))
        self._follow_up(tick, cancels)
        self._confirm_freeze_if_done()
        return out

    def _follow_up(self, tick: int, cancels: list[Cancel]) -> None:
        """Cancels that an answer of the gateway's calls for: with the next tick's request, frozen or not.

        The venue moves on its own inputs: a cancel sent at once would reach
        it before or after its next market tick depending on how fast the
        actors ran (a fill racing it then came in one piece or two), but the
        next request comes after that tick on every runtime.  After the
        final tick's request none follows and the venue moves no more: then,
        frozen, they go at once (every open order must go); not frozen, they
        wait as the run's quotes do.
        """
        if self.frozen and self.final_tick is not None and self.requested_through >= self.final_tick:
            if cancels:
                self._out.append(CancelNow(max(tick, self.last_tick), tuple(cancels)))
        else:
            self.follow_ups.extend(cancels)

    # ------------------------------------------------------------ helpers

    def _forward(self, fills: Sequence[Fill], closes: bool) -> Forward:
        """The fills for risk, with the orders ended unasked since the last."""
        ended, self.ended = tuple(self.ended), []
        return Forward(self.closed_through, tuple(fills), closes, ended)

    def _cancel_answered(self, client_id: str, ok: bool, reason: str) -> None:
        order = self.store.get(client_id)
        if order is None:
            self._out.append(Log("DEBUG", f"store: cancel of {client_id} answered ({reason or 'ok'}): not an order "
                                          "of ours (an orphan or forgotten)"))  # fmt: skip
            return
        was_open, asked = order.state.is_open, order.cancel_requested
        if self._guard(self.store.cancel_answered, client_id, ok, reason) is None:
            return
        if not asked and order.state.is_terminal and not self.frozen:
            self.ended.append(client_id)
        if self.frozen and was_open and order.state is OrderState.CANCELED:
            self.canceled_since_freeze += 1

    def _apply_fill(self, fill: Fill) -> bool:
        try:
            outcome = self.store.apply_fill(fill)
        except IllegalTransition as exc:
            self._out.append(Log("ERROR", f"store: fill {fill.fill_id} refused: {exc}"))
            return False
        if outcome is not FillOutcome.APPLIED:  # counted in the report
            self._out.append(Log("DEBUG", f"store: fill {fill.fill_id} not applied: {outcome.name}"))
        return outcome is FillOutcome.APPLIED

    def _guard(self, operation: Callable[..., Order], *args: object) -> Order | None:
        """Run a store transition; an illegal one is logged (the store counts it) and skipped."""
        try:
            return operation(*args)
        except IllegalTransition as exc:
            self._out.append(Log("ERROR", f"store: {exc}"))
            return None


def venue_counted_fill(order: Order, word: Word, tick: int) -> Fill:
    """One fill for the lots the venue says traded and the store never heard of."""
    lots = word.filled_lots - order.filled_lots
    fill_id = f"{order.client_id}:venue:{word.filled_lots}"
    return Fill(fill_id, word.exchange_order_id, order.client_id, order.symbol, order.side, order.price_ticks, lots,
                tick)  # fmt: skip
