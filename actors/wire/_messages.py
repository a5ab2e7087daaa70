"""The engine's vocabulary: every record the actors exchange.

Every record that belongs to a tick carries it, and on each edge of the
dataflow the sender sends exactly one record per tick (empty if it has
nothing), split into parts only above :data:`MAX_ITEMS`, the last part marked
``last``.  That is how each actor knows by counting when its inputs for a tick
are complete (docs/DESIGN.md, "The completeness rule").  Batches
(``tuple[Item, ...]``) keep the engine cheap at scale: one message per actor
pair per tick, not one per order.  Sides travel as ``1`` (buy) / ``-1`` (sell),
prices as integer ticks, quantities as integer lots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from actors.core._exchange import (
    CancelOutcome,
    CancelResult,
    ExchangeError,
    ExchangeTimeout,
    OrderStatus,
    PlaceResult,
)
from actors.core._gateway import Answer, Call
from actors.core._strategy import BookLevel, MarketView, Trade
from actors.core._types import Fill, Side
from actors.wire._codec import Message, encode_fields, message

# ---------------------------------------------------------------- market / quoting


@message
@dataclass(frozen=True, slots=True)
class FeedTicks(Message):
    """Anyone -> feed: feed market ticks up to ``last`` (the feed keeps a bounded number in flight)."""

    last: int


@message
@dataclass(frozen=True, slots=True)
class PaceTick(Message):
    """Feed -> itself, by timer, in paced mode: time for the next tick."""

    tick: int


@message
@dataclass(frozen=True, slots=True)
class OwnState(Message):
    """What a symbol's strategy is told of itself as of one decision of risk's (docs/STRATEGIES.md).

    Risk -> feed inside :class:`TickDone` (the symbols where it changed), and
    feed -> quoter just before the :class:`MarketTick` it goes with.
    ``avg_price_e6``: the average price of the position in millionths of a
    tick; ``resting``: flat (side, price ticks, lots left) triples;
    ``fills``: the fills since the last one, flat (side, price ticks, lots,
    tick) quadruples.
    """

    symbol: str
    position_lots: int
    avg_price_e6: int
    resting: tuple[int, ...]
    fills: tuple[int, ...]


@message
@dataclass(frozen=True, slots=True)
class TickDone(Message):
    """Risk -> feed: ``tick`` is decided; the feed may put another tick in flight.

    ``own``: what each strategy is told of itself as of this decision, for
    the symbols where it changed (only when the strategy reads it).
    """

    tick: int
    own: tuple[OwnState, ...] = ()


@message
@dataclass(frozen=True, slots=True)
class MarketTick(Message):
    """Feed -> quoter: ``symbol``'s market at ``tick``: its mid, and on a recorded market its top of book.

    ``bid_ticks``/``ask_ticks`` and their lots are the last two-sided top of
    book at or before the tick (0 on a synthetic market, or before a recorded
    symbol's first: the mid alone is known); ``trades`` the tick's bucket's
    trades, flat ``price, lots, aggressor`` triples (the last
    :data:`actors.markets._recorded.MAX_TRADES`); ``bids``/``asks`` the book's
    levels beyond the best, best first, flat ``price, lots`` pairs, on depth
    data only (``--market-levels`` a side, the best included).
    """

    tick: int
    symbol: str
    mid_ticks: int
    bid_ticks: int = 0
    bid_lots: int = 0
    ask_ticks: int = 0
    ask_lots: int = 0
    trades: tuple[int, ...] = ()
    bids: tuple[int, ...] = ()
    asks: tuple[int, ...] = ()
    stale: bool = False
    """A live market the symbol's quotes must not rest on (silent, reconnecting, a depth gap): pull them."""

    def market(self) -> MarketView:
        """What the strategy is given of it: the mid alone (bid = ask = mid, sizes 0) when no top of book came."""
        if not (self.bid_ticks or self.ask_ticks):
            return MarketView.from_mid(self.mid_ticks)
        t, b, a = self.trades, self.bids, self.asks
        return MarketView(
            self.mid_ticks, self.bid_ticks, self.bid_lots, self.ask_ticks, self.ask_lots,
            tuple(map(Trade, t[0::3], t[1::3], t[2::3])), tuple(map(BookLevel, b[0::2], b[1::2])),
            tuple(map(BookLevel, a[0::2], a[1::2])),
        )  # fmt: skip


@message
@dataclass(frozen=True, slots=True)
class QuoteIntent(Message):
    """Quoter -> risk: the quote a quoter wants for this tick, one level a side (a side with 0 lots: none there)."""

    tick: int
    symbol: str
    mid_ticks: int
    bid_ticks: int
    bid_lots: int
    ask_ticks: int
    ask_lots: int


@message
@dataclass(frozen=True, slots=True)
class LevelItem(Message):
    """One level of a quote: side (+1 buy, -1 sell), price ticks, lots."""

    side: int
    price_ticks: int
    lots: int


@message
@dataclass(frozen=True, slots=True)
class QuoteLevels(Message):
    """Quoter -> risk, instead of a :class:`QuoteIntent`, for a quote with more than one level a side.

    ``bids`` and ``asks`` best first.  Risk reads it as it reads an intent:
    the best of each side (:attr:`bid_ticks` ... a side empty: the mid, 0
    lots) and every level (:attr:`levels`).
    """

    tick: int
    symbol: str
    mid_ticks: int
    bids: tuple[LevelItem, ...]
    asks: tuple[LevelItem, ...]

    @property
    def bid_ticks(self) -> int:
        """The best bid's price (the mid if no bid)."""
        return self.bids[0].price_ticks if self.bids else self.mid_ticks

    @property
    def bid_lots(self) -> int:
        """The best bid's size (0 if no bid)."""
        return self.bids[0].lots if self.bids else 0

    @property
    def ask_ticks(self) -> int:
        """The best ask's price (the mid if no ask)."""
        return self.asks[0].price_ticks if self.asks else self.mid_ticks

    @property
    def ask_lots(self) -> int:
        """The best ask's size (0 if no ask)."""
        return self.asks[0].lots if self.asks else 0

    @property
    def levels(self) -> tuple[tuple[int, int, int], ...]:
        """Every level, bids then asks: (side, price ticks, lots)."""
        return tuple((level.side, level.price_ticks, level.lots) for level in (*self.bids, *self.asks))


@message
@dataclass(frozen=True, slots=True)
class Mark(Message):
    """Frozen quoter -> risk: the mid of ``symbol`` at ``tick``, so positions stay marked to market."""

    tick: int
    symbol: str
    mid_ticks: int
    pull: bool = False
    """The symbol's market is stale: cancel what rests of it (a plain mark leaves it)."""


@message
@dataclass(frozen=True, slots=True)
class QuoterStopped(Message):
    """Quoter -> risk, as it stops for good: expect nothing from ``symbol`` after ``last_tick``.

    ``reason`` is the freeze the quoter asks for as it gives up; risk
    freezes as it decides ``last_tick + 1``, the first tick without the
    quoter, so the freeze lands on the same tick on every runtime however
    late this record arrives.
    """

    symbol: str
    last_tick: int
    reason: str = ""


@message
@dataclass(frozen=True, slots=True)
class DecisionDeadline(Message):
    """Risk -> itself, by timer, in paced mode: decide ``tick`` with the inputs it has."""

    tick: int


# ---------------------------------------------------------------- orders


@message
@dataclass(frozen=True, slots=True)
class OrderSpec(Message):
    """One order risk approved (an item of :class:`ReplaceQuotes`).

    ``reduce_only``: approved as bringing the position toward zero (REDUCING,
    or flattening); the gateway checks it again against the venue's own
    position as it places it (``actors.core._reduce_only``).  ``number``: the
    client id's number, risk's count of the orders it approved (0: the store
    numbers it), so an order's id does not depend on which shard creates it.
    """

    symbol: str
    side: int
    price_ticks: int
    qty_lots: int
    reduce_only: bool = False
    number: int = 0


@message
@dataclass(frozen=True, slots=True)
class ReplaceQuotes(Message):
    """Risk -> store, one per tick (empty once frozen): cancel the open orders of ``symbols`` but those in ``keep``,
    then place ``orders``.

    ``flatten``: sent while HALTED with ``--flatten-on-halt``; its orders
    only reduce positions, and the store and the gateway take them though frozen.
    """

    tick: int
    symbols: tuple[str, ...]
    orders: tuple[OrderSpec, ...]
    risk_blocks: int
    last: bool = True
    flatten: bool = False
    keep: tuple[int, ...] = ()
    """Client id numbers of the symbols' resting orders wanted again: not canceled (risk checked them when new)."""


@message
@dataclass(frozen=True, slots=True)
class PlaceItem(Message):
    """One order to send to the exchange (an item of :class:`GatewayRequest`); ``reduce_only`` as its OrderSpec's."""

    client_id: str
    symbol: str
    side: int
    price_ticks: int
    qty_lots: int
    reduce_only: bool = False


@message
@dataclass(frozen=True, slots=True)
class CancelItem(Message):
    """One cancel to send to the exchange (an item of :class:`GatewayRequest`)."""

    client_id: str
    exchange_order_id: str


@message
@dataclass(frozen=True, slots=True)
class GatewayRequest(Message):
    """Store -> gateway, one per tick: cancels first, then placements; ``frozen`` if the store has heard of a freeze.

    ``status`` names orders past their answer's deadline: the gateway asks
    the venue about them after the placements, at the same point of the
    tick on every runtime, and answers with :class:`OrderStatuses`.
    """

    tick: int
    cancels: tuple[CancelItem, ...]
    places: tuple[PlaceItem, ...]
    frozen: bool = False
    last: bool = True
    part: int = 0
    status: tuple[str, ...] = ()
    resumed: int = 0
    """The tick of the last :class:`Resume` the store has heard (0: none), so a gateway that has not heard it yet
    resumes from the request, as ``frozen`` freezes it."""
    flatten: bool = False
    """Frozen, but its placements flatten positions (``ReplaceQuotes.flatten``): placed all the same."""


@message
@dataclass(frozen=True, slots=True)
class CancelOrders(Message):
    """Store -> gateway, outside the tick's request (after a reconciliation): cancel these now."""

    tick: int
    cancels: tuple[CancelItem, ...]


@message
@dataclass(frozen=True, slots=True)
class Ack(Message):
    """The exchange accepted ``client_id`` as ``exchange_order_id``."""

    client_id: str
    exchange_order_id: str


@message
@dataclass(frozen=True, slots=True)
class Refusal(Message):
    """The exchange refused a placement or a cancel of ``client_id``."""

    client_id: str
    reason: str


@message
@dataclass(frozen=True, slots=True)
class FillItem(Message):
    """One execution, as the exchange reported it."""

    fill_id: str
    exchange_order_id: str
    client_id: str
    symbol: str
    side: int
    price_ticks: int
    qty_lots: int
    tick: int

    @classmethod
    def from_fill(cls, fill: Fill) -> FillItem:
        """The wire form of a core :class:`Fill`."""
        return cls(
            fill.fill_id,
            fill.exchange_order_id,
            fill.client_id,
            fill.symbol,
            int(fill.side),
            fill.price_ticks,
            fill.qty_lots,
            fill.tick,
        )

    def to_fill(self) -> Fill:
        """The core :class:`Fill` this item describes."""
        return Fill(
            self.fill_id,
            self.exchange_order_id,
            self.client_id,
            self.symbol,
            Side(self.side),
            self.price_ticks,
            self.qty_lots,
            self.tick,
        )


UNNUMBERED = 0
"""``seq`` of a gateway record that is not on the gateway's numbered stream (one a test or a tool tells).

The gateway numbers everything it sends the store (its reports, mass
cancels, venue states and status answers) 1, 2, 3 ... on one stream, so a
copy delivered twice is recognised by its number and changes nothing: acks
and fills are idempotent, but a refused cancel counted twice would back off
twice as far, and a follow-up cancel would be sent twice."""


@message
@dataclass(frozen=True, slots=True)
class GatewayReport(Message):
    """Gateway -> store: what the venue answered, and the fills it pushed.

    ``closes`` marks the last record of the venue's market tick ``tick`` (one
    such record per tick, however quiet); answers to requests never close a tick.
    """

    tick: int
    acks: tuple[Ack, ...]
    rejects: tuple[Refusal, ...]
    canceled: tuple[str, ...]
    cancel_failures: tuple[Refusal, ...]
    fills: tuple[FillItem, ...]
    closes: bool = False
    seq: int = 0
    """The gateway's number for this record on its stream to the store (see :data:`UNNUMBERED`)."""


@message
@dataclass(frozen=True, slots=True)
class VenueTick(Message):
    """Feed -> gateway: the venue's market moves to ``tick`` (sent at ``sent_ns`` on the runtime's clock)."""

    tick: int
    sent_ns: int


@message
@dataclass(frozen=True, slots=True)
class TickSymbols(Message):
    """Feed -> risk, a live run deciding by message: the symbols ``tick`` names, whose quoters alone decide it.

    Risk counts a record from each of them, not from every quoter (docs/LIVE.md, "Latency").
    """

    tick: int
    symbols: tuple[str, ...]


@message
@dataclass(frozen=True, slots=True)
class FillsApplied(Message):
    """Store -> risk: fills applied for the first time (duplicates never reach risk).

    ``seq`` numbers the store's records to risk (a copy delivered twice is
    recognised); ``closes`` marks the last record for the venue's tick ``tick``.
    """

    tick: int
    fills: tuple[FillItem, ...]
    seq: int
    closes: bool
    ended: tuple[str, ...] = ()
    """Orders that ended other than by a fill or a cancel risk asked for (rejected, canceled unasked, or gone
    before risk's keep came): risk counts them resting no more."""


# ---------------------------------------------------------------- freeze


@message
@dataclass(frozen=True, slots=True)
class FreezeRequest(Message):
    """Anyone -> risk: freeze trading now (operator kill switch, tests)."""

    reason: str


@message
@dataclass(frozen=True, slots=True)
class Freeze(Message):
    """Risk -> every quoter, the store and the gateway: stop creating orders, cancel all.

    ``keep_quoting``: the halt may be lifted (``--resume-after-ticks``) or
    positions are flattened (``--flatten-on-halt``), so a quoter keeps
    sending its intents: risk ignores them while halted, or takes their
    touch to flatten at, and the tick a :class:`Resume` comes at cannot
    change what a quoter sends.
    """

    tick: int
    reason: str
    keep_quoting: bool = False


@message
@dataclass(frozen=True, slots=True)
class Resume(Message):
    """Risk -> every quoter, the store and the gateway, as it decides ``tick``: the halt is over, trade again.

    Decided at a tick like a freeze, and acted on at the same canonical
    point: the gateway and the store take the orders of request ``tick`` on.
    """

    tick: int
    reason: str


@message
@dataclass(frozen=True, slots=True)
class FreezeComplete(Message):
    """Store -> risk: after a freeze, no order is open any more."""

    tick: int
    canceled: int


@message
@dataclass(frozen=True, slots=True)
class MassCancelReport(Message):
    """Gateway -> store, at a freeze: orders the gateway's mass cancel canceled, in parts.

    The ``final`` part ends one attempt and says how many orders the venue
    still holds open (``venue_open``; -1 if it could not be asked); ``error``
    is set if the venue refused or did not answer.  Fills and settled
    placements are sent just before.  ``reason`` is the freeze's, so a store
    that hears of the freeze first from this report freezes the same way.
    ``requested_through`` is the last tick whose request the gateway had
    handled: orders of later ticks never reached the venue, and the
    gateway answers for them (refused) when their request comes.
    """

    tick: int
    canceled: tuple[str, ...]
    error: str
    final: bool
    venue_open: int
    reason: str
    requested_through: int
    seq: int = 0
    """The gateway's number for this record on its stream to the store (see :data:`UNNUMBERED`)."""


# ---------------------------------------------------------------- reconciliation


@message
@dataclass(frozen=True, slots=True)
class ReconcileRequest(Message):
    """Store -> gateway (after the store restarts): send me the venue's state."""

    tick: int


@message
@dataclass(frozen=True, slots=True)
class FinalSweep(Message):
    """Driver -> gateway after a halted run's last tick, while an order is still open or the freeze unconfirmed.

    One more mass cancel: the venue's word on what is open is the last word
    of the run, whatever its earlier answers were (docs/RELIABILITY.md,
    "A confirmed freeze").
    """

    tick: int


@message
@dataclass(frozen=True, slots=True)
class PositionItem(Message):
    """Signed lots of one symbol at the venue."""

    symbol: str
    lots: int


@message
@dataclass(frozen=True, slots=True)
class VenueState(Message):
    """Gateway -> store (after a restart of either, fills streamed first): what the venue holds.

    The store cancels every difference (an order open on one side only) and
    forwards the positions to risk, which compares them with its own.
    """

    tick: int
    open_orders: tuple[Ack, ...]
    positions: tuple[PositionItem, ...]
    seq: int = 0
    """The gateway's number for this record on its stream to the store (see :data:`UNNUMBERED`)."""


@message
@dataclass(frozen=True, slots=True)
class StatusQuery(Message):
    """Store -> gateway: ask the venue what became of these orders (open here, unanswered or not open there)."""

    tick: int
    client_ids: tuple[str, ...]


@message
@dataclass(frozen=True, slots=True)
class StatusItem(Message):
    """The venue's word on one order: ``state`` as in ``actors.core._exchange.STATUS_STATES``."""

    client_id: str
    state: str
    exchange_order_id: str
    filled_lots: int


@message
@dataclass(frozen=True, slots=True)
class OrderStatuses(Message):
    """Gateway -> store: the answers to a :class:`StatusQuery` (the venue's new fills were reported just before).

    ``requested_through`` is the last tick whose request the gateway had
    handled: a PENDING order of a later tick is still on its way to the
    venue, and "unknown" says nothing about it yet.
    """

    tick: int
    statuses: tuple[StatusItem, ...]
    requested_through: int
    seq: int = 0
    """The gateway's number for this record on its stream to the store (see :data:`UNNUMBERED`)."""


# ---------------------------------------------------------------- a real venue's answers


@message
@dataclass(frozen=True, slots=True)
class VenueAnswer(Message):
    """Venue worker -> its gateway: the venue's answer to one call the gateway sent (``actors.core._gateway.Call``).

    The call's fields first (``kind``: "place", "cancel" or "status"), then
    the answer: ``ok`` (placed, or canceled), the venue's order id,
    ``reason`` (the venue's words), ``outcome`` (a cancel's
    ``CancelOutcome`` value, or a status's state), ``filled_lots`` (a
    status's); or ``error`` ("error": not carried out, "timeout": sent and
    the outcome unknown) and its text.  Only a gateway sends it, to itself
    (docs/LIVE.md, "Orders on a real venue: what exists").
    """

    kind: str
    tick: int
    client_id: str
    symbol: str
    side: int
    price_ticks: int
    qty_lots: int
    exchange_order_id: str
    batch: int
    reduce_only: bool
    ok: bool
    answer_order_id: str
    reason: str
    outcome: str
    filled_lots: int
    error: str
    error_text: str

    @classmethod
    def of(cls, answer: Answer) -> VenueAnswer:
        """The wire form of the core's :class:`Answer`."""
        ok, order_id, reason, outcome, filled, error, text = False, "", "", "", 0, "", ""
        if answer.error is not None:
            error = "timeout" if isinstance(answer.error, ExchangeTimeout) else "error"
            text = str(answer.error)
        elif answer.placed is not None:
            placed = answer.placed
            ok, order_id, reason = placed.accepted, placed.exchange_order_id or "", placed.reason
        elif answer.canceled is not None:
            canceled = answer.canceled
            ok, order_id, reason = canceled.ok, canceled.exchange_order_id, canceled.reason
            outcome = canceled.outcome.value if canceled.outcome is not None else ""
        elif answer.status is not None:
            status = answer.status
            order_id, outcome, filled = status.exchange_order_id or "", status.state, status.filled_lots
        return cls(*answer.call, ok, order_id, reason, outcome, filled, error, text)

    def to_answer(self) -> Answer:
        """The core's :class:`Answer` this record carries."""
        call = Call(self.kind, self.tick, self.client_id, self.symbol, self.side, self.price_ticks, self.qty_lots,
                    self.exchange_order_id, self.batch, self.reduce_only)  # fmt: skip
        if self.error:
            return Answer(call, error=(ExchangeTimeout if self.error == "timeout" else ExchangeError)(self.error_text))
        order_id = self.answer_order_id or None
        if self.kind == "place":
            return Answer(call, placed=PlaceResult(self.client_id, self.ok, order_id, self.reason))
        if self.kind == "cancel":
            outcome = CancelOutcome(self.outcome) if self.outcome else None
            return Answer(call, canceled=CancelResult(self.answer_order_id, self.ok, self.reason, outcome))
        return Answer(call, status=OrderStatus(self.client_id, self.outcome, order_id, self.filled_lots))


@message
@dataclass(frozen=True, slots=True)
class VenueFills(Message):
    """A real venue's stream -> its gateway: fills the venue pushed, in the order they traded."""

    fills: tuple[FillItem, ...]


# ---------------------------------------------------------------- bulk records in parts

MAX_ITEMS = 10_000
"""Most items one bulk record carries.  The largest item (a FillItem) is under
100 bytes on the wire, so a part stays far below ``wire.MAX_MESSAGE_BYTES``
however many symbols a process carries; below this size nothing is split."""

T = TypeVar("T")


def parts(items: Sequence[T], size: int | None = None) -> list[tuple[T, ...]]:
    """``items`` in consecutive tuples of at most ``size`` (default :data:`MAX_ITEMS`); one tuple if few."""
    size = size or MAX_ITEMS
    if len(items) <= size:
        return [tuple(items)]
    return [tuple(items[start : start + size]) for start in range(0, len(items), size)]


def split_request(request: GatewayRequest) -> list[GatewayRequest]:
    """The request, or its cancels, its placements, then its status queries in parts (only the final one ``last``)."""
    if len(request.cancels) + len(request.places) + len(request.status) <= MAX_ITEMS:
        return [request]
    tick, frozen = request.tick, request.frozen
    base = GatewayRequest(tick, (), (), frozen, False, resumed=request.resumed, flatten=request.flatten)
    requests = [replace(base, cancels=part) for part in parts(request.cancels) if part]
    requests += [replace(base, places=part) for part in parts(request.places) if part]
    requests += [replace(base, status=part) for part in parts(request.status) if part]
    numbered = [replace(r, part=number) for number, r in enumerate(requests)]
    return [*numbered[:-1], replace(numbered[-1], last=request.last)]


def split_report(report: GatewayReport) -> list[GatewayReport]:
    """The report, or each kind in parts, in the order the store applies them (only the final one ``closes``)."""
    kinds = (report.acks, report.rejects, report.canceled, report.cancel_failures, report.fills)
    if sum(map(len, kinds)) <= MAX_ITEMS:
        return [report]
    reports = []
    for index, items in enumerate(kinds):
        for part in parts(items) if items else ():
            only: list[tuple[object, ...]] = [(), (), (), (), ()]
            only[index] = part
            # one kind's part, the others empty: the five kinds' types differ, so a list of them cannot be typed
            reports.append(GatewayReport(report.tick, *only, False))  # type: ignore[arg-type, call-arg]
    return [*reports[:-1], replace(reports[-1], closes=report.closes)]


OrderFields = tuple[str, int, int, int, bool, int]
"""An :class:`OrderSpec`'s fields in order (symbol, side, price ticks, lots, reduce-only, number): what risk
approves, encoded straight into a :class:`ReplaceQuotes` (:func:`encode_replace`) without the record."""


def encode_replace(
    tick: int,
    symbols: Sequence[str],
    orders: Sequence[OrderFields],
    risk_blocks: int,
    flatten: bool,
    *,
    keep: Sequence[int] = (),
) -> list[bytes]:
    """A decision as the bytes of its ``ReplaceQuotes``: one, or groups of symbols each with its own orders (``keep``
    all in the first).

    Above :data:`MAX_ITEMS` the symbols go in groups (risk blocks in the
    first record, ``last`` in the final one).  Encoded from fields, no
    record built on the way: risk's decision at 10,000 symbols approves
    20,000 orders a tick, and an ``OrderSpec`` each, only to encode it, was
    a quarter of the decision's time (docs/SCALING.md, "Risk's decision,
    cut on 2026-12-01").
    """
    groups = _replace_groups(symbols, orders)
    final = len(groups) - 1
    kept = tuple(keep)
    return [encode_fields(ReplaceQuotes, (tick, group, items, 0 if number else risk_blocks, number == final, flatten,
                                          () if number else kept))
            for number, (group, items) in enumerate(groups)]  # fmt: skip


def _replace_groups(
    symbols: Sequence[str], orders: Sequence[OrderFields]
) -> list[tuple[tuple[str, ...], tuple[OrderFields, ...]]]:
    """``symbols`` in groups, each with the orders of its symbols in their order (one group below :data:`MAX_ITEMS`)."""
    if len(symbols) + len(orders) <= MAX_ITEMS:
        return [(tuple(symbols), tuple(orders))]
    groups = parts(symbols, max(1, MAX_ITEMS // 4))
    group_of = {symbol: number for number, group in enumerate(groups) for symbol in group}
    members: list[list[OrderFields]] = [[] for _ in groups]
    for order in orders:
        number = group_of.get(order[0])
        if number is not None:  # an order for a symbol not replaced goes nowhere
            members[number].append(order)
    return [(group, tuple(items)) for group, items in zip(groups, members, strict=True)]
