"""A deterministic simulated venue for shadow runs.

Every random decision of :class:`FakeExchangeClient` is drawn from
``keyed_random.uniform(seed, what, key...)``: a reject from the client id, a
fill from the exchange order id and the tick.  So an order's fate does not
depend on the order in which calls arrive (docs/DESIGN.md, "Keyed randomness").

The venue moves with its market (:meth:`FakeExchangeClient.advance`, called
with each market tick it is given) and pushes what trades to the listener
subscribed with :meth:`subscribe`, the way a venue's execution stream
pushes to a connected client; a client that never subscribes polls
``stream_fills`` instead.

With ``retain_ticks`` set, the venue forgets an order that has been done
(filled, canceled or rejected) for that many ticks, as a real venue stops
answering for old orders: a later cancel of it gets "unknown order".

Ids do not depend on which other orders share the venue, so a venue split by
symbol over several processes (a sharded engine, each shard with its own
part of the venue) names every order and fill as one venue holding them all
would (docs/DESIGN.md, "Keyed randomness"):

- an order's exchange id is ``ORD`` and the number its client id ends with
  (``CLI00000123`` -> ``ORD000123``, zero-padded to six digits, wider when
  the number is; :func:`derived_exchange_id`).  A client id that ends with no
  digits (tests, tools), or whose number an order the venue still remembers
  already carries, gets ``ORDV`` and a counter of this venue's instead
  (``ORDV000001``): no derived id has a letter after ``ORD``, so the two
  never collide; such an id does depend on the venue's other orders.  A
  rejected placement takes no id: its number is a gap;
- a fill's id is its order's number and which of that order's fills it is
  (``ORD000123``'s second fill is ``FIL000123-2``; ``ORDV000001``'s first is
  ``FILV000001-1``).  Ids are unique as long as client ids are, with one
  exception: a client id placed again after the venue forgot it
  (``retain_ticks``) gets the same ids again.  The order store never reuses
  a client id.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from actors.core._clock import FrozenClock
from actors.core._exchange import (
    CancelOutcome,
    CancelResult,
    ExchangeOrder,
    OrderStatus,
    PlaceRequest,
    PlaceResult,
    derived_exchange_id,
    fill_id,
)
from actors.core._keyed_random import uniform
from actors.core._types import Fill
from actors.venues._fill_model import FillModel, IndexedResting, RandomFills, RestingOrder
from actors.venues._interface import FillListener


@dataclass(slots=True)
class _Resting:
    """An order the venue holds: as it answers for it (``order``), and as its fill model sees it (``view``)."""

    order: ExchangeOrder
    view: RestingOrder
    fills: int = 0
    """How many times it traded: the next fill's number (its fill id says which fill of the order it is)."""

    @property
    def filled(self) -> int:
        return self.view.filled


class FakeExchangeClient:
    """A deterministic venue: seeded rejects, fills by its fill model (a keyed coin flip by default); frozen clock."""

    def __init__(
        self,
        *,
        seed: int = 42,
        fill_rate: float = 0.5,
        reject_rate: float = 0.0,
        partial_fill_rate: float = 0.3,
        clock: FrozenClock | None = None,
        retain_ticks: int | None = None,
        fill_model: FillModel | None = None,
    ) -> None:
        rates = {"fill_rate": fill_rate, "reject_rate": reject_rate, "partial_fill_rate": partial_fill_rate}
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {rate}")
        self.seed = seed
        self.reject_rate = reject_rate
        self.fill_model: FillModel = fill_model or RandomFills(seed, fill_rate, partial_fill_rate)
        self._fill_rate = fill_rate
        self.clock = clock or FrozenClock.parse("2025-01-01T00:00:00Z")
        self.tick = 0
        self.retain_ticks = retain_ticks
        self.placed = 0
        """Placements accepted so far (a count, no longer an id: tests watch it for orders reaching the venue)."""
        self._unnumbered = 0
        """Exchange ids handed out from this venue's counter (``ORDV…``: client ids without a number of their own)."""
        self._done: deque[tuple[int, str | None, str]] = deque()
        self._orders: dict[str, _Resting] = {}
        self._open: dict[str, _Resting] = {}
        self._canceling: dict[str, _Resting] = {}
        """Canceled orders still trading until their cancel lands (a fill model with latency)."""
        self._open_views: dict[str, dict[str, RestingOrder]] = {}
        self._canceling_views: dict[str, dict[str, RestingOrder]] = {}
        """``_open`` and ``_canceling`` as the fill model sees them, by symbol (:class:`IndexedResting`)."""
        self._client_ids: set[str] = set()
        self._by_client_id: dict[str, str] = {}
        self._positions: dict[str, int] = {}
        self._unstreamed: list[Fill] = []
        self._listener: FillListener | None = None

    @property
    def fill_rate(self) -> float:
        """The coin flip's chance that a resting order trades at a tick (unused by a market fill model)."""
        return self._fill_rate

    @fill_rate.setter
    def fill_rate(self, rate: float) -> None:
        """A venue turned quiet (or busy) mid-test: its coin flip follows."""
        self._fill_rate = rate
        if isinstance(self.fill_model, RandomFills):
            self.fill_model.fill_rate = rate

    def place(self, request: PlaceRequest) -> PlaceResult:
        """Accept (the id derived from the client id) or reject, by a draw keyed on the client id."""
        if request.qty_lots <= 0 or request.price_ticks <= 0:
            return PlaceResult(request.client_id, False, None, "invalid price or quantity")
        if request.client_id in self._client_ids:
            return PlaceResult(request.client_id, False, None, "duplicate client id")
        self._client_ids.add(request.client_id)
        if uniform(self.seed, "reject", request.client_id) < self.reject_rate:
            self._finished(None, request.client_id)
            return PlaceResult(request.client_id, False, None, "rejected by venue")
        exchange_id = derived_exchange_id(request.client_id)
        if exchange_id is None or exchange_id in self._orders:
            self._unnumbered += 1
            exchange_id = f"ORDV{self._unnumbered:06d}"
        self.placed += 1
        r = request
        ahead = self.fill_model.queue_ahead(r.symbol, r.side, r.price_ticks)
        resting = _Resting(
            ExchangeOrder(exchange_id, r.client_id, r.symbol, r.side, r.price_ticks, r.qty_lots, 0, "open"),
            RestingOrder(exchange_id, r.symbol, r.side, r.price_ticks, r.qty_lots, 0, ahead, self.tick),
        )
        self._orders[exchange_id] = resting
        self._open[exchange_id] = resting
        self._open_views.setdefault(r.symbol, {})[exchange_id] = resting.view
        self._by_client_id[request.client_id] = exchange_id
        return PlaceResult(request.client_id, True, exchange_id)

    def cancel(self, exchange_order_id: str) -> CancelResult:
        """Cancel a resting order; filled, canceled and unknown orders are refused with a reason."""
        resting = self._orders.get(exchange_order_id)
        if resting is None:
            return CancelResult(exchange_order_id, False, "unknown order", CancelOutcome.UNKNOWN_ORDER)
        if exchange_order_id not in self._open:
            status = self._status(resting)
            outcome = CancelOutcome.ALREADY_FILLED if status == "filled" else CancelOutcome.ALREADY_CANCELED
            return CancelResult(exchange_order_id, False, f"already {status}", outcome)
        self._close(exchange_order_id)
        resting.order = _with_status(resting, "canceled")
        self._cancel_later(resting)
        self._finished(exchange_order_id, resting.order.client_id)
        return CancelResult(exchange_order_id, True, outcome=CancelOutcome.CANCELED)

    def _cancel_later(self, resting: _Resting) -> None:
        """With a fill model whose cancels take time, the canceled order trades until its cancel lands."""
        if self.fill_model.delays_cancels:
            resting.view.canceled_tick = self.tick
            self._canceling[resting.order.exchange_order_id] = resting
            self._canceling_views.setdefault(resting.order.symbol, {})[resting.order.exchange_order_id] = resting.view

    def cancel_all(self) -> list[ExchangeOrder]:
        """Cancel every resting order, in the order they were placed; the orders as canceled."""
        canceled = []
        for resting in self._open.values():
            resting.order = _with_status(resting, "canceled")
            self._cancel_later(resting)
            self._finished(resting.order.exchange_order_id, resting.order.client_id)
            canceled.append(resting.order)
        self._open.clear()
        self._open_views.clear()
        return canceled

    def advance(self, tick: int) -> None:
        """Match every resting order once for ``tick`` (a repeated tick does nothing)."""
        if tick < self.tick:
            raise ValueError(f"the venue cannot go back from tick {self.tick} to {tick}")
        if tick == self.tick:
            return
        self.tick = tick
        self._forget_done()
        open_orders, canceling = self._open, self._canceling
        views = IndexedResting(self._views, (self._open_views, self._canceling_views))
        for view, qty in self.fill_model.fills(tick, views):
            resting = open_orders.get(view.exchange_order_id) or canceling.get(view.exchange_order_id)
            if resting is not None and 0 < qty <= view.remaining:
                self._trade(resting, qty, tick)
        if canceling:
            for exchange_order_id in [e for e, r in canceling.items() if self.fill_model.cancel_done(r.view, tick)]:
                self._uncancel(exchange_order_id)
        self._push()

    def _views(self) -> list[RestingOrder]:
        """Every resting order as the fill model sees it: the open ones, then those whose cancel has not landed."""
        views = [resting.view for resting in self._open.values()]
        views += [resting.view for resting in self._canceling.values()]
        return views

    def _close(self, exchange_order_id: str) -> None:
        """The order rests no more (canceled, or filled)."""
        resting = self._open.pop(exchange_order_id)
        del self._open_views[resting.order.symbol][exchange_order_id]

    def _uncancel(self, exchange_order_id: str) -> None:
        """The order's cancel has landed (or it filled meanwhile): it trades no more."""
        resting = self._canceling.pop(exchange_order_id)
        del self._canceling_views[resting.order.symbol][exchange_order_id]

    def fill_now(self, exchange_order_id: str) -> bool:
        """Trade what remains of a resting order at the current tick (a fill racing a cancel)."""
        resting = self._open.get(exchange_order_id)
        if resting is None:
            return False
        self._trade(resting, resting.order.qty_lots - resting.filled, self.tick)
        self._push()
        return True

    def subscribe(self, listener: FillListener) -> None:
        """Push fills to ``listener`` from now on (fills not streamed yet go with the next push)."""
        self._listener = listener

    def _push(self) -> None:
        """Hand the new fills to the subscribed listener, if any."""
        if self._listener is not None and self._unstreamed:
            self._listener(self.stream_fills())

    def _trade(self, resting: _Resting, qty: int, tick: int) -> None:
        order = resting.order
        resting.view.filled += qty
        resting.fills += 1
        self._positions[order.symbol] = self._positions.get(order.symbol, 0) + int(order.side) * qty
        self._unstreamed.append(
            Fill(
                fill_id(order.exchange_order_id, resting.fills),
                order.exchange_order_id,
                order.client_id,
                order.symbol,
                order.side,
                order.price_ticks,
                qty,
                tick,
            )
        )
        if order.exchange_order_id in self._canceling:  # a fill that raced its cancel: the order stays canceled
            resting.order = _with_status(resting, "canceled")
            if resting.filled == order.qty_lots:
                self._uncancel(order.exchange_order_id)
        elif resting.filled == order.qty_lots:
            self._close(order.exchange_order_id)
            resting.order = _with_status(resting, "filled")
            self._finished(order.exchange_order_id, order.client_id)
        else:
            resting.order = _with_status(resting, "open")

    def get_orders(self) -> list[ExchangeOrder]:
        """Open orders, in the order they were placed."""
        return [resting.order for resting in self._open.values()]

    def get_positions(self) -> dict[str, int]:
        """Signed lots per symbol, zero positions omitted."""
        return {s: lots for s, lots in sorted(self._positions.items()) if lots}

    def order_status(self, client_id: str) -> OrderStatus:
        """Open, filled, canceled, rejected, or unknown (never received, or forgotten)."""
        if client_id not in self._client_ids:
            return OrderStatus(client_id, "unknown")
        exchange_id = self._by_client_id.get(client_id)
        if exchange_id is None:
            return OrderStatus(client_id, "rejected")
        resting = self._orders[exchange_id]
        return OrderStatus(client_id, resting.order.status, exchange_id, resting.filled)

    def stream_fills(self) -> list[Fill]:
        """Fills since the last call."""
        fills, self._unstreamed = self._unstreamed, []
        return fills

    def _finished(self, exchange_order_id: str | None, client_id: str) -> None:
        if self.retain_ticks is not None:
            self._done.append((self.tick, exchange_order_id, client_id))

    def _forget_done(self) -> None:
        assert self.retain_ticks is not None or not self._done
        horizon = self.tick - (self.retain_ticks or 0)
        done = self._done
        while done and done[0][0] <= horizon:
            _, exchange_order_id, client_id = done.popleft()
            if exchange_order_id is not None:
                del self._orders[exchange_order_id]
                self._by_client_id.pop(client_id, None)
            self._client_ids.discard(client_id)

    @staticmethod
    def _status(resting: _Resting) -> str:
        return resting.order.status


def _with_status(resting: _Resting, status: str) -> ExchangeOrder:
    order = resting.order
    return ExchangeOrder(
        order.exchange_order_id,
        order.client_id,
        order.symbol,
        order.side,
        order.price_ticks,
        order.qty_lots,
        resting.filled,
        status,
    )
