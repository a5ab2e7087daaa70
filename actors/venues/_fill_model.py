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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from actors.core._keyed_random import uniform
from actors.core._types import Side
from actors.markets._events import QUOTE
from actors.markets._recorded import Buckets, Recording


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

    @property
    def remaining(self) -> int:
        """Lots not traded yet."""
        return self.qty_lots - self.filled


class FillModel(Protocol):
    """What trades at the venue."""

    def queue_ahead(self, symbol: str, side: Side, price_ticks: int) -> int:
        """Lots that wait ahead of a new order at ``price_ticks`` now."""
        ...

    def fills(self, tick: int, resting: Sequence[RestingOrder]) -> list[tuple[RestingOrder, int]]:
        """What trades when the venue moves to ``tick``: (order, lots), in the order they trade.

        ``resting`` is every open order in exchange-id order; no order trades
        more than it has left.
        """
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


@dataclass
class MarketFills:
    """Fills driven by the recorded quotes and trades of each tick's bucket (the module's rules)."""

    recording: Recording
    books: dict[str, _Book] = field(default_factory=dict)
    buckets: Buckets | None = None
    """Where the events come from, a bucket at a time: None for the recording's files (a live market's tape,
    :class:`actors.markets.live._session.TapeBuckets`, gives a live run's)."""

    def __post_init__(self) -> None:
        self._buckets = self.buckets if self.buckets is not None else Buckets(self.recording)

    def queue_ahead(self, symbol: str, side: Side, price_ticks: int) -> int:
        """Rule 4: the recorded size at our price if it is the best on our side, else nothing known."""
        book = self.books.get(symbol)
        if book is None:
            return 0
        if side is Side.BUY:
            return book.bid_lots if book.bid == price_ticks else 0
        return book.ask_lots if book.ask == price_ticks else 0

    def fills(self, tick: int, resting: Sequence[RestingOrder]) -> list[tuple[RestingOrder, int]]:
        """Every bucket up to ``tick``, event by event, against the orders of the event's symbol."""
        by_symbol: dict[str, list[RestingOrder]] = {}
        for order in resting:
            by_symbol.setdefault(order.symbol, []).append(order)
        left = {order.exchange_order_id: order.remaining for order in resting}
        traded: list[tuple[RestingOrder, int]] = []
        books = self.books
        while self._buckets.through < tick:
            for event in self._buckets.next_bucket():
                kind, symbol = event[0], event[1]
                if kind == QUOTE:
                    book = books.get(symbol)
                    if book is None:
                        book = books[symbol] = _Book()
                    book.update(event[2], event[3], event[4], event[5])
                orders = by_symbol.get(symbol)
                if orders is None:
                    continue
                if kind == QUOTE:
                    _match_quote(orders, left, traded, books[symbol])
                else:
                    _match_trade(orders, left, traded, event[2], event[3])
        return traded


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
