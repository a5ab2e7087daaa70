"""The engine's vocabulary: every record the actors exchange.

Batches (``tuple[Item, ...]``) are how the engine stays cheap at scale: one
message per actor pair per tick phase, not one per order.  Sides travel as
``1`` (buy) / ``-1`` (sell), prices as integer ticks, quantities as integer lots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from actors.core.types import Fill, Side
from actors.wire import Message, message

# ---------------------------------------------------------------- market / quoting


@message
@dataclass(frozen=True, slots=True)
class MarketTick(Message):
    """Driver -> quoter: the mid price of ``symbol`` at ``tick``."""

    tick: int
    symbol: str
    mid_ticks: int


@message
@dataclass(frozen=True, slots=True)
class QuoteIntent(Message):
    """Quoter -> risk: the two-sided quote a quoter wants for this tick."""

    tick: int
    symbol: str
    mid_ticks: int
    bid_ticks: int
    bid_lots: int
    ask_ticks: int
    ask_lots: int


@message
@dataclass(frozen=True, slots=True)
class Mark(Message):
    """Frozen quoter -> risk: the mid of ``symbol`` at ``tick``, so positions stay marked to market."""

    tick: int
    symbol: str
    mid_ticks: int


@message
@dataclass(frozen=True, slots=True)
class DecideQuotes(Message):
    """Driver -> risk: every intent of ``tick`` has arrived; decide them in canonical order."""

    tick: int


# ---------------------------------------------------------------- orders


@message
@dataclass(frozen=True, slots=True)
class OrderSpec(Message):
    """One order risk approved (an item of :class:`ReplaceQuotes`)."""

    symbol: str
    side: int
    price_ticks: int
    qty_lots: int


@message
@dataclass(frozen=True, slots=True)
class ReplaceQuotes(Message):
    """Risk -> store: cancel the open orders of ``symbols``, then place ``orders``."""

    tick: int
    symbols: tuple[str, ...]
    orders: tuple[OrderSpec, ...]
    risk_blocks: int


@message
@dataclass(frozen=True, slots=True)
class PlaceItem(Message):
    """One order to send to the exchange (an item of :class:`GatewayRequest`)."""

    client_id: str
    symbol: str
    side: int
    price_ticks: int
    qty_lots: int


@message
@dataclass(frozen=True, slots=True)
class CancelItem(Message):
    """One cancel to send to the exchange (an item of :class:`GatewayRequest`)."""

    client_id: str
    exchange_order_id: str


@message
@dataclass(frozen=True, slots=True)
class GatewayRequest(Message):
    """Store -> gateway: cancels first, then placements, in this order."""

    tick: int
    cancels: tuple[CancelItem, ...]
    places: tuple[PlaceItem, ...]


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


@message
@dataclass(frozen=True, slots=True)
class GatewayReport(Message):
    """Gateway -> store: what the exchange answered, and fills it streamed."""

    tick: int
    acks: tuple[Ack, ...]
    rejects: tuple[Refusal, ...]
    canceled: tuple[str, ...]
    cancel_failures: tuple[Refusal, ...]
    fills: tuple[FillItem, ...]


@message
@dataclass(frozen=True, slots=True)
class ExchangeTick(Message):
    """Driver -> gateway: the venue moves to ``tick``; stream what traded."""

    tick: int


@message
@dataclass(frozen=True, slots=True)
class FillsApplied(Message):
    """Store -> risk: fills applied for the first time (duplicates never reach risk)."""

    tick: int
    fills: tuple[FillItem, ...]


# ---------------------------------------------------------------- freeze


@message
@dataclass(frozen=True, slots=True)
class FreezeRequest(Message):
    """Anyone -> risk: freeze trading now (operator kill switch, tests)."""

    reason: str


@message
@dataclass(frozen=True, slots=True)
class Freeze(Message):
    """Risk -> every quoter, the store and the gateway: stop creating orders, cancel all."""

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
class CancelAll(Message):
    """Store -> gateway (at a freeze): cancel every open order at the venue in one call."""

    tick: int


@message
@dataclass(frozen=True, slots=True)
class MassCancelReport(Message):
    """Gateway -> store: orders the mass cancel canceled, in parts; the ``final`` part ends the answer.

    ``error`` is set if the venue refused or did not answer; fills the venue
    had not streamed yet are sent just before the final part.
    """

    tick: int
    canceled: tuple[str, ...]
    error: str
    final: bool


# ---------------------------------------------------------------- reconciliation


@message
@dataclass(frozen=True, slots=True)
class ReconcileRequest(Message):
    """Store -> gateway (after the store restarts): send me the venue's state."""

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
    """The request, or its cancels then its placements in parts: the gateway's cancels-first order holds."""
    if len(request.cancels) + len(request.places) <= MAX_ITEMS:
        return [request]
    tick = request.tick
    requests = [GatewayRequest(tick, part, ()) for part in parts(request.cancels) if part]
    return requests + [GatewayRequest(tick, (), part) for part in parts(request.places) if part]


def split_report(report: GatewayReport) -> list[GatewayReport]:
    """The report, or each kind in parts, in the order the store applies them."""
    kinds = (report.acks, report.rejects, report.canceled, report.cancel_failures, report.fills)
    if sum(map(len, kinds)) <= MAX_ITEMS:
        return [report]
    reports = []
    for index, items in enumerate(kinds):
        for part in parts(items) if items else ():
            only: list[tuple[object, ...]] = [(), (), (), (), ()]
            only[index] = part
            reports.append(GatewayReport(report.tick, *only))  # type: ignore[arg-type]
    return reports


def split_replace(replace: ReplaceQuotes) -> list[ReplaceQuotes]:
    """The record, or groups of symbols each with its own orders (risk blocks counted in the first)."""
    if len(replace.symbols) + len(replace.orders) <= MAX_ITEMS:
        return [replace]
    records = []
    for number, group in enumerate(parts(replace.symbols, max(1, MAX_ITEMS // 4))):
        members = set(group)
        orders = tuple(o for o in replace.orders if o.symbol in members)
        records.append(ReplaceQuotes(replace.tick, group, orders, replace.risk_blocks if number == 0 else 0))
    return records
