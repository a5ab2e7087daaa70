"""Orders, and the store that owns them.

Which state an order is in, and what may move it, is decided in one place:
the tables of :mod:`actors.core._lifecycle` (the diagram is there).  The
store applies their verdicts and keeps what they need to be cheap: indexes
by client id, exchange id and (while open) symbol, and counts by state kept
incrementally, so that ``placed == filled + canceled + rejected + open`` is
O(1) to check.  With ``retain_ticks`` set, an order that has been terminal
for that many ticks is forgotten (:meth:`OrderStore.expire`), with its fill
ids, so memory follows the open orders and not the whole history; counts are
unaffected, and a late message for a forgotten order is counted as unknown,
never applied.  Every illegal transition raises :class:`IllegalTransition`
after being counted, and changes nothing.
"""

from __future__ import annotations

import enum
import heapq
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from actors.core._exchange import CancelOutcome
from actors.core._journal_records import (
    Ack,
    CancelAnswered,
    CancelsConfirmed,
    Create,
    Expire,
    FillRecord,
    JournalError,
    JournalSink,
    Kept,
    Record,
    Reject,
    RequestCancel,
)
from actors.core._lifecycle import (
    CANCEL_ANSWERS,
    NOT_LIVE,
    NOT_OPEN_AT_VENUE,
    CancelEvent,
    CancelState,
    IllegalTransition,
    OrderEvent,
    OrderMove,
    cancel_can_go,
    cancel_step,
    step,
)
from actors.core._types import Fill, OrderState, Side

__all__ = [
    "CANCEL_BACKOFF_CAP_TICKS",
    "NOT_LIVE",
    "NOT_OPEN_AT_VENUE",
    "FillOutcome",
    "IllegalTransition",
    "Order",
    "OrderStats",
    "OrderStore",
    "cancel_backoff_ticks",
]


class FillOutcome(enum.Enum):
    """What :meth:`OrderStore.apply_fill` did with a fill."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    UNKNOWN_ORDER = "unknown order"
    OVERFILL = "overfill"


_NO_CANCEL, _ANSWERED = CancelState.NONE, CancelEvent.ANSWERED  # read per order: plain names are cheaper


@dataclass(slots=True)
class Order:
    """One order as the store knows it."""

    client_id: str
    symbol: str
    side: Side
    price_ticks: int
    qty_lots: int
    created_tick: int
    state: OrderState = OrderState.PENDING
    exchange_order_id: str | None = None
    filled_lots: int = 0
    cancel: CancelState = CancelState.NONE
    """Where its cancel stands (:data:`actors.core._lifecycle.CANCEL_TRANSITIONS`)."""
    reason: str = ""
    cancel_failures: int = 0
    """Cancels of this order the venue refused or did not answer, in a row."""
    retry_tick: int | None = None
    """While its cancel is BACKING_OFF: the tick at which it is sent again."""

    @property
    def remaining_lots(self) -> int:
        """Lots not yet filled."""
        return self.qty_lots - self.filled_lots

    @property
    def cancel_requested(self) -> bool:
        """A cancel was wanted (and, until the order ends, still is)."""
        return self.cancel is not _NO_CANCEL


@dataclass(slots=True)
class OrderStats:
    """Counters of the unusual: each one is a defined outcome, not an error, unless named so."""

    illegal_transitions: int = 0
    duplicate_fills: int = 0
    unknown_fills: int = 0
    overfills: int = 0
    cancel_after_fill: int = 0
    fills_after_cancel: int = 0
    partially_filled_then_canceled: int = 0
    duplicate_answers: int = 0


CANCEL_BACKOFF_CAP_TICKS = 64
"""Longest wait between two tries of a cancel the venue keeps refusing (1, 2, 4, ... ticks, then this)."""


def cancel_backoff_ticks(failures: int) -> int:
    """Ticks to wait before trying a cancel again after ``failures`` refusals in a row."""
    return min(1 << min(failures - 1, 16), CANCEL_BACKOFF_CAP_TICKS)


OrderListener = Callable[[Order, str, int, int], None]
"""Told of every order event: (order, event, price ticks, lots), ``order.state`` being the state after it.

Events: ``create`` (the order's price and size), ``ack`` and ``reject`` (its
price, its size), ``fill`` (the fill's price and lots; a fill after a cancel
leaves the state CANCELED), ``cancel`` (its price, the lots left unfilled)."""


@dataclass
class OrderStore:
    """All orders, indexed by client id, exchange id and (while open) symbol."""

    id_prefix: str = "CLI"
    id_width: int = 8
    retain_ticks: int | None = None
    stats: OrderStats = field(default_factory=OrderStats)
    journal: JournalSink | None = field(default=None, repr=False, compare=False)
    """Where every operation is recorded before it is applied (a journal file: :mod:`actors.wire._journal`)."""
    listener: OrderListener | None = field(default=None, repr=False, compare=False)
    """Told of every event of every order (:data:`OrderListener`): the one place every transition is seen."""

    def __post_init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._by_exchange_id: dict[str, Order] = {}
        self._open_by_symbol: dict[str, dict[str, Order]] = {}
        self._counts: dict[OrderState, int] = dict.fromkeys(OrderState, 0)
        self._applied_fills: set[str] = set()
        self._fill_ids: dict[str, list[str]] = {}
        self._open = 0
        self._placed = 0
        self.highest_number = 0
        """The highest client id number so far: risk numbers on from it after a restart."""
        self._tick = 0
        self._terminal: deque[tuple[int, str]] = deque()
        self._retries: list[tuple[int, str]] = []
        self.forgotten = 0
        self.kept = 0
        """Open orders a replace kept, being wanted again (the report's ``orders.kept``)."""

    # ------------------------------------------------------------ commands

    def create(
        self, symbol: str, side: Side, price_ticks: int, qty_lots: int, tick: int, *, number: int = 0
    ) -> Order:
        """A new PENDING order: client id number ``number`` (risk's), or the next after the highest so far (0).

        Risk numbers the orders it approves, in its canonical order, so the
        ids do not depend on which shard's store creates an order
        (docs/DESIGN.md, "Ids"); a store used alone numbers them itself.
        """
        if qty_lots <= 0 or price_ticks <= 0:
            raise ValueError(f"order needs a positive price and quantity, got {price_ticks} x {qty_lots}")
        number = number or self.highest_number + 1
        client_id = self.client_id_of(number)
        if client_id in self._orders:
            raise ValueError(f"client id {client_id} is taken")
        if self.journal is not None:
            self.journal.append(Create(symbol, int(side), price_ticks, qty_lots, tick, number))
        self._placed += 1
        self.highest_number = max(self.highest_number, number)
        order = Order(client_id, symbol, side, price_ticks, qty_lots, tick)
        self._orders[client_id] = order
        self._open_by_symbol.setdefault(symbol, {})[client_id] = order
        self._counts[OrderState.PENDING] += 1
        self._open += 1
        if self.listener is not None:
            self.listener(order, "create", price_ticks, qty_lots)
        return order

    def acknowledge(self, client_id: str, exchange_order_id: str) -> Order:
        """PENDING -> OPEN under the exchange's id; the same ack again changes nothing."""
        if self.journal is not None:
            self.journal.append(Ack(client_id, exchange_order_id))
        order = self._require(client_id, "acknowledge")
        if order.state is not OrderState.PENDING and order.exchange_order_id != exchange_order_id:
            self.stats.illegal_transitions += 1
            state = order.state.value
            raise IllegalTransition(f"cannot acknowledge {client_id} under {exchange_order_id}: it is {state}")
        transition = self._step(order, OrderEvent.ACK)
        if transition.counted_as is None:
            self._set_exchange_id(order, exchange_order_id)
        if self._apply(order, transition) and self.listener is not None:
            self.listener(order, "ack", order.price_ticks, order.qty_lots)
        return order

    def reject(self, client_id: str, reason: str) -> Order:
        """PENDING -> REJECTED; the same reject again changes nothing."""
        if self.journal is not None:
            self.journal.append(Reject(client_id, reason))
        order = self._require(client_id, "reject")
        transition = self._step(order, OrderEvent.REJECT)
        if transition.counted_as is None:
            order.reason = reason
        if self._apply(order, transition) and self.listener is not None:
            self.listener(order, "reject", order.price_ticks, order.qty_lots)
        return order

    def request_cancel(self, client_id: str) -> bool:
        """Mark a cancel as wanted; True iff a cancel should be sent to the exchange now.

        A PENDING order is only marked: its cancel goes out once its ack arrives.
        """
        if self.journal is not None:
            self.journal.append(RequestCancel(client_id))
        order = self._orders.get(client_id)
        if order is None or order.state.is_terminal or order.cancel is not _NO_CANCEL:
            return False
        order.cancel = cancel_step(client_id, order.cancel, CancelEvent.REQUEST)
        return cancel_can_go(order)

    def confirm_cancel(self, client_id: str) -> Order:
        """The exchange confirmed the cancel: -> CANCELED (FILLED stays FILLED: the fill won the race)."""
        order = self._require(client_id, "confirm cancel of")
        if self._apply(order, self._step(order, OrderEvent.CANCELED)) and self.listener is not None:
            self.listener(order, "cancel", order.price_ticks, order.remaining_lots)
        return order

    def confirm_cancels(self, client_ids: Sequence[str]) -> int:
        """A mass cancel's answer: :meth:`confirm_cancel` for each id, journaled as one record.

        Ids the store does not know (orphans, forgotten orders) are skipped.
        Returns how many orders this moved from open to CANCELED.
        """
        if self.journal is not None:
            self.journal.append(CancelsConfirmed(tuple(client_ids)))
        orders, canceled = self._orders, 0
        for client_id in client_ids:
            order = orders.get(client_id)
            if order is None:
                continue
            was_open = not order.state.is_terminal
            try:
                self.confirm_cancel(client_id)
            except IllegalTransition:
                continue
            canceled += was_open and order.state is OrderState.CANCELED
        return canceled

    def cancel_rejected(self, client_id: str, reason: str) -> Order:
        """The exchange refused the cancel: the order keeps its state, and the cancel stays wanted.

        It is tried again after a backoff (:func:`cancel_backoff_ticks`), when
        :meth:`due_cancels` hands it back; a venue that keeps refusing is
        asked less and less often, never more than once per
        :data:`CANCEL_BACKOFF_CAP_TICKS` ticks once the backoff is at its cap.
        """
        order = self._require(client_id, "record cancel refusal of")
        order.reason = reason
        if order.state.is_terminal:
            return order
        order.cancel = cancel_step(client_id, order.cancel, CancelEvent.REFUSED)
        order.cancel_failures += 1
        order.retry_tick = self._tick + cancel_backoff_ticks(order.cancel_failures)
        heapq.heappush(self._retries, (order.retry_tick, client_id))
        return order

    def due_cancels(self, tick: int) -> list[Order]:
        """Orders whose refused cancel has waited out its backoff by ``tick``: send their cancel again now."""
        due: list[Order] = []
        retries = self._retries
        while retries and retries[0][0] <= tick:
            retry_tick, client_id = heapq.heappop(retries)
            order = self._orders.get(client_id)
            if order is None or order.state.is_terminal or order.retry_tick != retry_tick:
                continue
            order.cancel = cancel_step(client_id, order.cancel, CancelEvent.DUE)
            order.retry_tick = None
            if cancel_can_go(order):
                due.append(order)
        return due

    def cancel_answered(self, client_id: str, ok: bool, reason: str = "") -> Order:
        """Apply the venue's answer to a cancel, as the wire and the journal carry it (``ok``, ``reason``).

        The answer is read as a :class:`CancelOutcome` (:meth:`CancelOutcome.read`)
        and decided by :meth:`cancel_outcome`; ``reason`` is kept for the event log.
        """
        if self.journal is not None:
            self.journal.append(CancelAnswered(client_id, ok, reason))
        return self.cancel_outcome(client_id, CancelOutcome.read(ok, reason), reason)

    def cancel_outcome(self, client_id: str, outcome: CancelOutcome, reason: str = "") -> Order:
        """Apply what a cancel came to, so the order always reaches a defined state (not journaled here).

        An outcome that ends the order (:data:`actors.core._lifecycle.CANCEL_ANSWERS`):
        confirmed, or refused because nothing is live at the venue (ALREADY_CANCELED,
        UNKNOWN_ORDER): CANCELED.  Any other (ALREADY_FILLED, a transport error):
        the order keeps its state; a fill will close it, or the cancel goes again
        after its backoff.
        """
        if CANCEL_ANSWERS[outcome] is _ANSWERED:
            if reason:
                known = self._orders.get(client_id)
                if known is not None and not known.state.is_terminal:
                    known.reason = reason  # why it counts as canceled: the event log says so
            order = self.confirm_cancel(client_id)
            order.cancel = cancel_step(client_id, order.cancel, CancelEvent.ANSWERED)
            order.retry_tick = None
            return order
        return self.cancel_rejected(client_id, reason)

    def apply_fill(self, fill: Fill) -> FillOutcome:
        """Apply ``fill`` exactly once; see :class:`FillOutcome` for what else can happen."""
        if self.journal is not None:
            self.journal.append(FillRecord(fill))
        if fill.fill_id in self._applied_fills:
            self.stats.duplicate_fills += 1
            return FillOutcome.DUPLICATE
        order = self._orders.get(fill.client_id) or self._by_exchange_id.get(fill.exchange_order_id)
        if order is None:
            self.stats.unknown_fills += 1
            return FillOutcome.UNKNOWN_ORDER
        lots, remaining = fill.qty_lots, order.remaining_lots
        if not 0 < lots <= remaining:
            self._step(order, OrderEvent.FILL)  # a fill of an order that cannot trade is illegal before it is too big
            self.stats.overfills += 1
            return FillOutcome.OVERFILL
        transition = self._step(order, OrderEvent.LAST_FILL if lots == remaining else OrderEvent.FILL)
        self._applied_fills.add(fill.fill_id)
        self._fill_ids.setdefault(order.client_id, []).append(fill.fill_id)
        if order.exchange_order_id is None:
            self._set_exchange_id(order, fill.exchange_order_id)  # the fill implies the ack
        order.filled_lots += lots
        self._apply(order, transition)
        if self.listener is not None:
            self.listener(order, "fill", fill.price_ticks, fill.qty_lots)
        return FillOutcome.APPLIED

    def replace_quotes(
        self,
        symbols: list[str] | tuple[str, ...],
        orders: list[tuple[str, Side, int, int]],
        tick: int,
        numbers: Sequence[int] = (),
        keep: Collection[str] = (),
    ) -> tuple[list[Order], list[Order]]:
        """Cancel/replace: request cancels of the symbols' open orders but those in ``keep``, then create ``orders``.

        ``numbers``: the client id number of each order (risk's); none: the store numbers them.
        ``keep``: client ids of orders wanted again (:attr:`kept` counts those still open, not being canceled).
        Returns (orders whose cancel should be sent now, new orders).  Orders
        still waiting for their ack are only marked; their cancel goes out with the ack.
        """
        if keep:
            kept = sum(1 for s in symbols for o in self.open_orders(s)
                       if o.client_id in keep and not o.cancel_requested)  # fmt: skip
            if kept:
                if self.journal is not None:
                    self.journal.append(Kept(kept))  # a counter that spans a kill (docs/RELIABILITY.md)
                self.kept += kept
        to_cancel = [o for s in symbols for o in self.open_orders(s)
                     if o.client_id not in keep and self.request_cancel(o.client_id)]  # fmt: skip
        numbered = numbers or [0] * len(orders)
        created = [self.create(symbol, side, price, lots, tick, number=number)
                   for (symbol, side, price, lots), number in zip(orders, numbered, strict=True)]  # fmt: skip
        return to_cancel, created

    def expire(self, tick: int) -> int:
        """Now at ``tick``: forget orders terminal since ``tick - retain_ticks`` or earlier; how many."""
        if self.journal is not None:
            self.journal.append(Expire(tick))
        self._tick = tick
        if self.retain_ticks is None:
            return 0
        horizon = tick - self.retain_ticks
        terminal, forgotten = self._terminal, 0
        while terminal and terminal[0][0] <= horizon:
            order = self._orders.pop(terminal.popleft()[1])
            if order.exchange_order_id is not None:
                self._by_exchange_id.pop(order.exchange_order_id, None)
            for fill_id in self._fill_ids.pop(order.client_id, ()):
                self._applied_fills.discard(fill_id)
            forgotten += 1
        self.forgotten += forgotten
        return forgotten

    def replay(self, record: Record) -> Fill | None:
        """Apply one journaled operation (not journaling it again); the fill, if one was applied."""
        journal, self.journal = self.journal, None
        try:
            return self._replay(record)
        except IllegalTransition:
            return None  # refused when it happened too: counted again, as then
        finally:
            self.journal = journal

    def _replay(self, record: Record) -> Fill | None:
        op, *args = record
        if op == "create":
            symbol, side, price, qty, tick, *number = args  # journals before risk numbered orders: no number
            self.create(symbol, Side(side), price, qty, tick, number=int(number[0]) if number else 0)
        elif op == "ack":
            self.acknowledge(*args)
        elif op == "reject":
            self.reject(*args)
        elif op == "request_cancel":
            self.request_cancel(*args)
        elif op == "cancel_answered":
            self.cancel_answered(*args)
        elif op == "expire":
            self.expire(*args)
        elif op == "kept":
            (count,) = args
            self.kept += int(count)
        elif op == "cancels_confirmed":
            self.confirm_cancels(*args)
        elif op == "fill":
            fill_id, exchange_id, client_id, symbol, side, price, qty, tick = args
            fill = Fill(fill_id, exchange_id, client_id, symbol, Side(side), price, qty, tick)
            return fill if self.apply_fill(fill) is FillOutcome.APPLIED else None
        else:
            raise JournalError(f"unknown order-store operation {op!r}")
        return None

    # ------------------------------------------------------------ queries

    def client_id_of(self, number: int) -> str:
        """The client id of number ``number`` (risk numbers the orders it approves)."""
        return f"{self.id_prefix}{number:0{self.id_width}d}"

    def get(self, client_id: str) -> Order | None:
        """The order with ``client_id``, or None (never created, or forgotten)."""
        return self._orders.get(client_id)

    def has_fill(self, fill_id: str) -> bool:
        """Whether ``fill_id`` was applied to an order still remembered."""
        return fill_id in self._applied_fills

    def by_exchange_id(self, exchange_order_id: str) -> Order | None:
        """The order the exchange knows as ``exchange_order_id``, or None."""
        return self._by_exchange_id.get(exchange_order_id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Non-terminal orders in creation order, of one symbol or all."""
        if symbol is not None:
            return list(self._open_by_symbol.get(symbol, {}).values())
        orders = [o for by_id in self._open_by_symbol.values() for o in by_id.values()]
        orders.sort(key=lambda o: o.client_id)
        return orders

    def open_count(self) -> int:
        """Number of non-terminal orders, O(1)."""
        return self._open

    def counts(self) -> dict[OrderState, int]:
        """Orders by current state, O(1)."""
        return dict(self._counts)

    @property
    def placed(self) -> int:
        """Orders created (forgotten ones included)."""
        return self._placed

    # ------------------------------------------------------------ internals

    def _require(self, client_id: str, action: str) -> Order:
        order = self._orders.get(client_id)
        if order is None:
            self.stats.illegal_transitions += 1
            raise IllegalTransition(f"cannot {action} unknown order {client_id}")
        return order

    def _step(self, order: Order, event: OrderEvent) -> OrderMove:
        """The life cycle's verdict on ``event`` (:func:`actors.core._lifecycle.step`), an illegal one counted."""
        try:
            return step(order.client_id, order.state, event)
        except IllegalTransition:
            self.stats.illegal_transitions += 1
            raise

    def _apply(self, order: Order, transition: OrderMove) -> bool:
        """Count what the transition is counted as, and move the order if it moves; True if it moved."""
        if transition.counted_as is not None:
            setattr(self.stats, transition.counted_as, getattr(self.stats, transition.counted_as) + 1)
        if transition.to is order.state:
            return False
        self._move(order, transition.to)
        return True

    def _set_exchange_id(self, order: Order, exchange_order_id: str) -> None:
        order.exchange_order_id = exchange_order_id
        self._by_exchange_id[exchange_order_id] = order

    def _move(self, order: Order, state: OrderState) -> None:
        self._counts[order.state] -= 1
        self._counts[state] += 1
        if state.is_terminal and not order.state.is_terminal:
            self._open -= 1
            by_id = self._open_by_symbol[order.symbol]
            del by_id[order.client_id]
            if not by_id:
                del self._open_by_symbol[order.symbol]
            if self.retain_ticks is not None:
                self._terminal.append((self._tick, order.client_id))
        order.state = state
