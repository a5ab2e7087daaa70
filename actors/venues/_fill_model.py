"""How the simulated venue decides what its resting orders trade: a keyed coin flip, or the recorded market.

The venue (:class:`actors.core._exchange.FakeExchangeClient`) asks its fill
model two things: how much size waits ahead of a new order at its price
(:meth:`FillModel.queue_ahead`, when the order is placed), and what trades
when the venue moves to a tick (:meth:`FillModel.fills`).  Both models are
deterministic: :class:`RandomFills` draws by key (docs/DESIGN.md, "Keyed
randomness"); :class:`MarketFills` reads the recording, whose rows are
the same on every run and every runtime.

The market's rules (docs/EXECUTION.md, "The market fill model", has an
example of each).  Orders rest at their own price and fill at it (a maker
fill); for a buy at price P (a sell is the mirror image):

1. **A trade below P** (someone sold through our price) fills the order, at
   most the trade's size.
2. **A trade at P** first consumes the queue ahead of the order; only what is
   left of the trade's size fills it.
3. **A quote whose ask is at or below P** (the offer came down to us) fills
   the order, at most the ask's size; the queue at P is gone.
4. **The queue ahead** is set at placement: the recorded best bid's size if
   the best bid is at P, else zero (above the best bid the order is a level
   of its own; below it the book is not recorded, so nothing is known ahead).
   A later quote showing less size at P (those ahead left) lowers it, to zero
   once the best bid is below P.
5. **No trade at or through P and no ask down to P: no fill.**  One
   event's size is shared by our orders in exchange-id order: it never fills
   more than the market traded.

On **depth** data (:mod:`actors.markets._depth`: the whole book, not its
top) a symbol's orders are matched against its book instead of its quotes
(docs/EXECUTION.md, "The fill and latency models"):

6. **The queue ahead** starts as the displayed size at P when the order
   reaches the venue (after its entry latency), at any level, not only the
   best; a trade at P moves it up, and so does size leaving the level, by the
   queue model (:class:`RiskAverseQueue`: only once the level shows less than
   is ahead; :class:`ProbQueue`: a share of every decrease, as hftbacktest's
   ``ProbQueueModel`` with its power and log functions).
7. **Fills come only from trades** (at P past the queue, or through P) **and
   from the book crossing P**: an ask level at or below a buy's price fills
   it, at most that level's size not already taken.
8. **Latency**: an order is live from its placement's market time plus the
   entry latency; a cancel takes effect at its market time plus the cancel
   latency, and the order trades until then (a fill can race a cancel).
   Each is a constant, plus, with ``latency_from_data``, the symbol's last
   feed latency (its rows' local minus exchange time).  L1 data at zero
   latency keeps rules 1 to 5 exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, overload

from actors.core._keyed_random import uniform
from actors.core._types import Side
from actors.markets._depth import ASK, BID, DepthBook
from actors.markets._events import DEPTH, QUOTE
from actors.markets._recorded import Buckets, Recording, TickEvent


@dataclass(slots=True)
class RestingOrder:
    """An order at the venue as its fill model sees it: what it is, what traded, what waits ahead of it."""

    exchange_order_id: str
    symbol: str
    side: Side
    price_ticks: int
    qty_lots: int
    filled: int = 0
    queue_ahead: int = 0
    placed_tick: int = 0
    """The venue's tick when it was placed: it reached the venue at that bucket's end plus the entry latency."""
    canceled_tick: int = 0
    """The venue's tick when a cancel for it came (0: none); it trades until the cancel's latency has passed."""

    @property
    def remaining(self) -> int:
        """Lots not traded yet."""
        return self.qty_lots - self.filled


class IndexedResting(Sequence[RestingOrder]):
    """The resting orders :meth:`FillModel.fills` takes, with the venue's index of them by symbol.

    As a sequence it is every order, in the order the protocol says (made
    only if asked); :meth:`of_symbols` gives the orders of a few symbols
    without a walk over every order.  A live run deciding by message has
    many small ticks, each moving a few symbols of many: the market fill
    model looks at the orders of the symbols a tick moved only, and finding
    them must not cost the whole book either (at 100 symbols, the walk over
    some 200 orders was the largest cost of a one-symbol tick's venue match).
    """

    __slots__ = ("_every", "_groups", "_made")

    def __init__(self, every: Callable[[], list[RestingOrder]],
                 groups: Sequence[Mapping[str, Mapping[str, RestingOrder]]]) -> None:  # fmt: skip
        """``every()``: all of them in the protocol's order; ``groups``: that order's parts (open, then canceled),
        each by symbol, then exchange id, in the part's own order."""
        self._every = every
        self._groups = groups
        self._made: list[RestingOrder] | None = None

    def _all(self) -> list[RestingOrder]:
        made = self._made
        if made is None:
            made = self._made = self._every()
        return made

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> RestingOrder: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[RestingOrder]: ...

    def __getitem__(self, index: int | slice) -> RestingOrder | Sequence[RestingOrder]:
        return self._all()[index]

    def __iter__(self) -> Iterator[RestingOrder]:
        return iter(self._all())

    def of_symbols(self, symbols: Iterable[str]) -> dict[str, list[RestingOrder]]:
        """The orders of each of ``symbols`` that has any, in the sequence's order (what filtering it gives)."""
        found: dict[str, list[RestingOrder]] = {}
        groups = self._groups
        for symbol in symbols:
            orders = [order for group in groups for order in group.get(symbol, _NONE).values()]
            if orders:
                found[symbol] = orders
        return found


_NONE: Mapping[str, RestingOrder] = {}


class FillModel(Protocol):
    """What trades at the venue."""

    def queue_ahead(self, symbol: str, side: Side, price_ticks: int) -> int:
        """Lots that wait ahead of a new order at ``price_ticks`` now."""
        ...

    def fills(self, tick: int, resting: Sequence[RestingOrder]) -> list[tuple[RestingOrder, int]]:
        """What trades when the venue moves to ``tick``: (order, lots), in the order they trade.

        ``resting`` is every open order in exchange-id order, then every
        canceled one whose cancel has not taken effect yet; no order trades
        more than it has left.
        """
        ...

    @property
    def delays_cancels(self) -> bool:
        """A cancel takes time: the venue keeps a canceled order matchable until :meth:`cancel_done` says."""
        ...

    def cancel_done(self, order: RestingOrder, tick: int) -> bool:
        """The cancel of ``order`` has taken effect by the end of ``tick``'s bucket (it trades no more)."""
        ...


class RandomFills:
    """Today's coin flip: each order trades with probability ``fill_rate`` per tick, partly or whole, by key."""

    def __init__(self, seed: int, fill_rate: float, partial_fill_rate: float) -> None:
        self.seed = seed
        self.fill_rate = fill_rate
        self.partial_fill_rate = partial_fill_rate

    def queue_ahead(self, symbol: str, side: Side, price_ticks: int) -> int:
        """Nothing waits ahead: a coin decides."""
        return 0

    @property
    def delays_cancels(self) -> bool:
        """A coin flip has no time: a cancel is at once."""
        return False

    def cancel_done(self, order: RestingOrder, tick: int) -> bool:
        """At once."""
        return True

    def fills(self, tick: int, resting: Sequence[RestingOrder]) -> list[tuple[RestingOrder, int]]:
        """Draws keyed by (exchange order id, tick): the same fate whatever order orders arrive in."""
        seed, traded = self.seed, []
        for order in resting:
            exchange_id = order.exchange_order_id
            if uniform(seed, "fill", exchange_id, tick) >= self.fill_rate:
                continue
            remaining = order.remaining
            qty = remaining
            if remaining > 1 and uniform(seed, "partial", exchange_id, tick) < self.partial_fill_rate:
                qty = min(remaining - 1, max(1, int(remaining * uniform(seed, "partial-qty", exchange_id, tick))))
            traded.append((order, qty))
        return traded


@dataclass(slots=True)
class _Book:
    """A symbol's recorded top of book: best bid and ask, in ticks, and their sizes, in lots."""

    bid: int = 0
    bid_lots: int = 0
    ask: int = 0
    ask_lots: int = 0
    bid_taken: int = 0
    """Lots our sells took from the bid shown at ``bid`` (the recording never shows our trades)."""
    ask_taken: int = 0
    """Lots our buys took from the ask shown at ``ask``."""

    def update(self, bid: int, bid_lots: int, ask: int, ask_lots: int) -> None:
        """A new quote; what we took at a price stays taken until that side's price moves.

        Recorded quotes repeat the best level on every change of either side,
        so the same displayed lots come again and again: they trade once.
        """
        if bid != self.bid:
            self.bid_taken = 0
        if ask != self.ask:
            self.ask_taken = 0
        self.bid, self.bid_lots, self.ask, self.ask_lots = bid, bid_lots, ask, ask_lots


QUEUE_MODELS = ("risk-averse", "prob-power", "prob-log")
"""What ``--queue-model`` takes (docs/EXECUTION.md, "The fill and latency models")."""


class RiskAverseQueue:
    """hftbacktest's ``RiskAdverseQueueModel``: the queue moves up with trades at the price, and only falls to the
    level's size when the level shows less than is ahead (whoever left was ahead of us)... and nothing else."""

    name = "risk-averse"

    def depth(self, front: float, traded: float, before: int, after: int) -> float:
        """The queue ahead after the level at our price went from ``before`` to ``after`` lots."""
        return min(front, float(after))


class ProbQueue:
    """hftbacktest's ``ProbQueueModel``: a decrease of the level not explained by trades is shared between the
    size ahead of us and the size behind, ahead with chance ``1 - f(back) / (f(back) + f(front))``.

    ``f`` is ``x ** power`` (``PowerProbQueueFunc``) or ``log(1 + x)``
    (``LogProbQueueFunc``): the further back in the queue, the likelier a
    cancel came from ahead of us.
    """

    def __init__(self, power: float | None) -> None:
        self.power = power
        self.name = "prob-log" if power is None else "prob-power"

    def f(self, x: float) -> float:
        """The weight of ``x`` lots."""
        x = max(0.0, x)
        return math.log1p(x) if self.power is None else x**self.power

    def depth(self, front: float, traded: float, before: int, after: int) -> float:
        """As hftbacktest: trades at the level since its last change are taken out of the change first."""
        change = before - after - traded
        if change < 0:
            return min(front, float(after))
        back = before - front
        weights = self.f(back) + self.f(front)
        chance = self.f(back) / weights if weights > 0 else 1.0
        estimate = front - (1.0 - chance) * change + min(back - chance * change, 0.0)
        return max(0.0, min(estimate, float(after)))


QueueModel = RiskAverseQueue | ProbQueue


def queue_model(name: str, power: float = 3.0) -> QueueModel:
    """The queue model called ``name`` (:data:`QUEUE_MODELS`)."""
    if name == "risk-averse":
        return RiskAverseQueue()
    if name == "prob-power":
        return ProbQueue(power)
    if name == "prob-log":
        return ProbQueue(None)
    raise ValueError(f"queue model must be one of {QUEUE_MODELS}, got {name!r}")


@dataclass(frozen=True)
class FillSettings:
    """How the market fill model queues and how long orders and cancels take (config keys of the same names)."""

    queue_model: str = "risk-averse"
    queue_power: float = 3.0
    entry_latency_ms: float = 0.0
    cancel_latency_ms: float = 0.0
    latency_from_data: bool = False


@dataclass(slots=True)
class _Queue:
    """An order's place on a depth book: lots ahead (a model's estimate), lots traded at its level since the level
    last changed, and when it became live and when its cancel takes effect (us)."""

    live_at: int
    cancel_at: int = 1 << 62
    front: float = 0.0
    traded: float = 0.0
    live: bool = False


@dataclass
class MarketFills:
    """Fills driven by the recorded quotes, trades and depth of each tick's bucket (the module's rules)."""

    recording: Recording
    books: dict[str, _Book] = field(default_factory=dict)
    settings: FillSettings = field(default_factory=FillSettings)
    buckets: Buckets | None = None
    """Where the events come from, a bucket at a time: None for the recording's files (a live market's tape,
    :class:`actors.markets.live._session.TapeBuckets`, gives a live run's)."""

    def __post_init__(self) -> None:
        self._buckets = self.buckets if self.buckets is not None else Buckets(self.recording)
        self.depth: dict[str, DepthBook] = {}
        """Books of the symbols with depth data: their orders match against these, not their quotes."""
        self._queue = queue_model(self.settings.queue_model, self.settings.queue_power)
        self._entry_us = round(self.settings.entry_latency_ms * 1000)
        self._cancel_us = round(self.settings.cancel_latency_ms * 1000)
        self._timed = bool(self._entry_us or self._cancel_us or self.settings.latency_from_data)
        self._queues: dict[str, _Queue] = {}
        self._feed_latency: dict[str, int] = {}
        self._taken: dict[tuple[str, int, int], int] = {}
        """Lots our orders took from a crossing depth level (symbol, side, price): they trade once."""

    @property
    def delays_cancels(self) -> bool:
        """With a latency, a canceled order trades until its cancel lands."""
        return self._timed

    def cancel_done(self, order: RestingOrder, tick: int) -> bool:
        """Its cancel's time is at or before the end of ``tick``'s bucket."""
        queue = self._queues.get(order.exchange_order_id)
        recording = self.recording
        if queue is None or queue.cancel_at == 1 << 62:
            return True
        return queue.cancel_at <= recording.start_us + tick * recording.bucket_us

    def queue_ahead(self, symbol: str, side: Side, price_ticks: int) -> int:
        """Rule 4: the recorded size at our price if it is the best on our side, else nothing known."""
        book = self.books.get(symbol)
        if book is None:
            return 0
        if side is Side.BUY:
            return book.bid_lots if book.bid == price_ticks else 0
        return book.ask_lots if book.ask == price_ticks else 0

    def fills(self, tick: int, resting: Sequence[RestingOrder]) -> list[tuple[RestingOrder, int]]:
        """Every bucket up to ``tick``, event by event, against the orders of the event's symbol.

        Without latencies, the buckets are read first and only the orders of
        the symbols they hold are looked at: a tick costs what moved, not the
        whole book (a live run deciding by message has many small ticks).
        """
        traded: list[tuple[RestingOrder, int]] = []
        if self._timed or self.recording.depth:
            by_symbol: dict[str, list[RestingOrder]] = {}
            for order in resting:
                by_symbol.setdefault(order.symbol, []).append(order)
            left = {order.exchange_order_id: order.remaining for order in resting}
            self._timed_fills(tick, resting, by_symbol, left, traded)
            return traded
        events: list[TickEvent] = []
        while self._buckets.through < tick:
            events += self._buckets.next_bucket()
        if not events:
            return traded
        moved = {event[2] for event in events}
        if isinstance(resting, IndexedResting):  # the venue's index: no walk over the orders of symbols not moved
            by_symbol = resting.of_symbols(moved)
            left = {order.exchange_order_id: order.remaining for orders in by_symbol.values() for order in orders}
        else:
            by_symbol = {}
            left = {}
            for order in resting:
                if order.symbol in moved:
                    by_symbol.setdefault(order.symbol, []).append(order)
                    left[order.exchange_order_id] = order.remaining
        books = self.books
        for event in events:
            kind, symbol = event[1], event[2]
            if kind == QUOTE:
                book = books.get(symbol)
                if book is None:
                    book = books[symbol] = _Book()
                book.update(event[3], event[4], event[5], event[6])
            orders = by_symbol.get(symbol)
            if orders is None:
                continue
            if kind == QUOTE:
                _match_quote(orders, left, traded, books[symbol])
            else:
                _match_trade(orders, left, traded, event[3], event[4])
        return traded

    def _timed_fills(
        self,
        tick: int,
        resting: Sequence[RestingOrder],
        by_symbol: dict[str, list[RestingOrder]],
        left: dict[str, int],
        traded: list[tuple[RestingOrder, int]],
    ) -> None:
        """Rules 6 to 8: orders live after their latency, matched on the depth book where the symbol has one."""
        recording = self.recording
        pending = self._register(resting, left)
        books, depth, feed_latency = self.books, self.depth, self._feed_latency
        while self._buckets.through < tick:
            for event in self._buckets.next_bucket():
                at, kind, symbol = event[0], event[1], event[2]
                change = None
                if pending:
                    pending = self._activate(pending, at)
                if kind == QUOTE:
                    book = books.get(symbol)
                    if book is None:
                        book = books[symbol] = _Book()
                    book.update(event[3], event[4], event[5], event[6])
                elif kind == DEPTH:
                    dbook = depth.get(symbol)
                    if dbook is None:
                        dbook = depth[symbol] = DepthBook()
                    change = dbook.apply(event[3], event[4], event[5], event[6])
                    if change is None:
                        continue
                    feed_latency[symbol] = event[6]
                else:
                    feed_latency[symbol] = event[6]
                orders = by_symbol.get(symbol)
                if orders is None:
                    continue
                live = [o for o in orders if self._is_live(o, at)]
                if not live:
                    continue
                if change is not None:
                    self._match_level(live, left, traded, event=event, change=change)
                elif symbol in depth:
                    if kind != QUOTE:
                        self._match_depth_trade(live, left, traded, event[3], event[4])
                elif kind == QUOTE:
                    _match_quote(live, left, traded, books[symbol])
                else:
                    _match_trade(live, left, traded, event[3], event[4])
        if pending:
            self._activate(pending, recording.start_us + tick * recording.bucket_us)

    def _register(self, resting: Sequence[RestingOrder], left: dict[str, int]) -> list[RestingOrder]:
        """Times for new orders and new cancels (as of the end of the last bucket: when they were sent); the orders
        not live yet."""
        queues, recording = self._queues, self.recording
        for gone in [eid for eid in queues if eid not in left]:  # done, or its cancel took effect
            del queues[gone]
        pending: list[RestingOrder] = []
        for order in resting:
            queue = queues.get(order.exchange_order_id)
            if queue is None:
                placed_at = recording.start_us + order.placed_tick * recording.bucket_us
                queue = _Queue(placed_at + self._latency(order.symbol, self._entry_us))
                queues[order.exchange_order_id] = queue
            if order.canceled_tick and queue.cancel_at == 1 << 62:
                canceled_at = recording.start_us + order.canceled_tick * recording.bucket_us
                queue.cancel_at = canceled_at + self._latency(order.symbol, self._cancel_us)
            if not queue.live:
                pending.append(order)
        return pending

    def _latency(self, symbol: str, constant_us: int) -> int:
        """A constant latency, plus the symbol's last feed latency if asked (never below 0)."""
        if not self.settings.latency_from_data:
            return constant_us
        return constant_us + max(0, self._feed_latency.get(symbol, 0))

    def _activate(self, pending: list[RestingOrder], now: int) -> list[RestingOrder]:
        """Orders whose entry latency has passed by ``now`` reach the venue: their queue starts (rules 4, 6)."""
        waiting = []
        for order in pending:
            queue = self._queues[order.exchange_order_id]
            if queue.live_at > now:
                waiting.append(order)
                continue
            queue.live = True
            dbook = self.depth.get(order.symbol)
            if dbook is not None:
                queue.front = float(dbook.lots_at(BID if order.side is Side.BUY else ASK, order.price_ticks))
            elif self._timed:
                order.queue_ahead = self.queue_ahead(order.symbol, order.side, order.price_ticks)
        return waiting

    def _is_live(self, order: RestingOrder, at: int) -> bool:
        queue = self._queues.get(order.exchange_order_id)
        return queue is not None and queue.live and at < queue.cancel_at

    def _match_level(
        self,
        orders: list[RestingOrder],
        left: dict[str, int],
        traded: list[tuple[RestingOrder, int]],
        *,
        event: TickEvent,
        change: tuple[int, int],
    ) -> None:
        """A level changed: on our side at our price it moves the queue (rule 6); on the far side at or through
        our price it is the book crossing us (rule 7)."""
        symbol, price, side = event[2], event[3], event[5]
        before, after = change
        for order in orders:
            remaining = left[order.exchange_order_id]
            if remaining <= 0:
                continue
            ours = BID if order.side is Side.BUY else ASK
            queue = self._queues[order.exchange_order_id]
            if side == ours:
                if price == order.price_ticks:
                    queue.front = self._queue.depth(queue.front, queue.traded, before, after)
                    queue.traded = 0.0
                continue
            crossed = price <= order.price_ticks if ours == BID else price >= order.price_ticks
            key = (symbol, side, price)
            if after <= 0:
                self._taken.pop(key, None)
                continue
            if not crossed:
                continue
            available = after - self._taken.get(key, 0)
            qty = min(remaining, available)
            if qty > 0:
                queue.front = 0.0
                self._taken[key] = self._taken.get(key, 0) + qty
                left[order.exchange_order_id] = remaining - qty
                traded.append((order, qty))

    def _match_depth_trade(
        self, orders: list[RestingOrder], left: dict[str, int], traded: list[tuple[RestingOrder, int]], price: int,
        size: int,
    ) -> None:  # fmt: skip
        """Rules 1, 2 and 6 for a trade on depth data: at our price it takes the queue ahead first."""
        for order in orders:
            remaining = left[order.exchange_order_id]
            if remaining <= 0 or size <= 0:
                continue
            if order.side is Side.BUY:
                through, at = price < order.price_ticks, price == order.price_ticks
            else:
                through, at = price > order.price_ticks, price == order.price_ticks
            if not (through or at):
                continue
            queue = self._queues[order.exchange_order_id]
            if through:
                queue.front = 0.0
            else:
                queue.traded += size
                ahead = min(queue.front, float(size))
                queue.front -= ahead
                size -= math.ceil(ahead - 1e-9)
            qty = min(remaining, size)
            if qty > 0:
                size -= qty
                left[order.exchange_order_id] = remaining - qty
                traded.append((order, qty))


def _match_trade(
    orders: list[RestingOrder], left: dict[str, int], traded: list[tuple[RestingOrder, int]], price: int, size: int
) -> None:
    """Rules 1, 2 and 5 for one trade of ``size`` lots at ``price``."""
    for order in orders:
        remaining = left[order.exchange_order_id]
        if remaining <= 0 or size <= 0:
            continue
        if order.side is Side.BUY:
            through, at = price < order.price_ticks, price == order.price_ticks
        else:
            through, at = price > order.price_ticks, price == order.price_ticks
        if not (through or at):
            continue
        if through:
            order.queue_ahead = 0  # a trade beyond our price: nothing is left bidding (offering) ahead of us
        if at and order.queue_ahead > 0:
            ahead = min(order.queue_ahead, size)
            order.queue_ahead -= ahead
            size -= ahead
        qty = min(remaining, size)
        if qty > 0:
            size -= qty
            left[order.exchange_order_id] = remaining - qty
            traded.append((order, qty))


def _match_quote(
    orders: list[RestingOrder], left: dict[str, int], traded: list[tuple[RestingOrder, int]], book: _Book
) -> None:
    """Rules 3 and 4 for one quote: the far side down (or up) to our price fills us; our side updates the queue.

    The far side offers what it shows less what we took from it at that
    price already (:meth:`_Book.update`): the same lots never trade twice.
    """
    bid, ask = book.bid, book.ask
    bid_lots, ask_lots = max(0, book.bid_lots - book.bid_taken), max(0, book.ask_lots - book.ask_taken)
    for order in orders:
        remaining = left[order.exchange_order_id]
        if remaining <= 0:
            continue
        price = order.price_ticks
        if order.side is Side.BUY:
            crossed, same, behind = ask <= price, bid == price, bid < price
            available, shown = ask_lots, bid_lots
        else:
            crossed, same, behind = bid >= price, ask == price, ask > price
            available, shown = bid_lots, ask_lots
        if crossed:
            order.queue_ahead = 0
            qty = min(remaining, available)
            if qty > 0:
                if order.side is Side.BUY:
                    ask_lots -= qty
                    book.ask_taken += qty
                else:
                    bid_lots -= qty
                    book.bid_taken += qty
                left[order.exchange_order_id] = remaining - qty
                traded.append((order, qty))
        elif same:
            order.queue_ahead = min(order.queue_ahead, shown)
        elif behind:
            order.queue_ahead = 0
