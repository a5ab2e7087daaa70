"""The venue interface: what the gateway needs from a venue, and the optional capabilities a simulated one adds.

A real venue implements :class:`IExchangeClient` alone; a simulated venue
adds the small interfaces below, each tested with ``isinstance`` where the
engine uses it (docs/DESIGN.md, "The venue's interface").  The records
the methods take and return live in :mod:`actors.core._exchange`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from actors.core._exchange import CancelResult, ExchangeOrder, OrderStatus, PlaceRequest, PlaceResult
from actors.core._types import Fill, Side


@runtime_checkable
class IExchangeClient(Protocol):
    """What the gateway needs from a venue; the only exchange API in the engine.

    A venue may offer more, each capability its own small interface that the
    engine tests with ``isinstance`` (docs/DESIGN.md, "The venue's interface"):
    :class:`SupportsAdvance`, :class:`SupportsTick`, :class:`SupportsHistory`,
    :class:`SupportsClose`, :class:`SupportsFaultCounts` and :class:`WrapsVenue`.
    A real venue needs none of them.  ``isinstance(v, IExchangeClient)`` checks
    that the methods are there, not their signatures.

    A venue without :class:`SupportsAdvance` (a real one) may be called by the
    gateway's venue worker (:mod:`actors.venues._worker`) from several
    threads at once, and its listener told from a thread of its own: its
    methods must be safe to call so.  A venue that moves with the market is
    only ever called by the gateway's own handler, one call at a time.
    """

    def place(self, request: PlaceRequest) -> PlaceResult:
        """Place a limit order."""
        ...

    def cancel(self, exchange_order_id: str) -> CancelResult:
        """Cancel a resting order."""
        ...

    def cancel_all(self) -> list[ExchangeOrder]:
        """Cancel every open order at once (a venue's mass cancel); the orders it canceled."""
        ...

    def get_orders(self) -> list[ExchangeOrder]:
        """Orders still open, in the order they were placed."""
        ...

    def get_positions(self) -> dict[str, int]:
        """Signed lots per symbol from every fill (zero positions omitted)."""
        ...

    def order_status(self, client_id: str) -> OrderStatus:
        """What became of the order placed under ``client_id`` (a venue's order query by client id)."""
        ...

    def stream_fills(self) -> list[Fill]:
        """Fills not streamed (or pushed) yet, in the order they traded; each is streamed once."""
        ...

    def subscribe(self, listener: FillListener) -> None:
        """Push every later fill batch to ``listener`` as it happens, instead of waiting for ``stream_fills``."""
        ...


FillListener = Callable[[list[Fill]], None]
"""Receives the venue's fills as the venue pushes them (in the order they traded)."""


@runtime_checkable
class SupportsAdvance(Protocol):
    """A simulated venue that moves with the market data it is given."""

    def advance(self, tick: int) -> None:
        """Move to ``tick`` and match resting orders."""
        ...


@runtime_checkable
class SupportsTick(Protocol):
    """A simulated venue that says which market tick it has reached: a run resumed from a journal goes on after it."""

    @property
    def tick(self) -> int:
        """The last tick the venue moved to (0 before the first)."""
        ...


@runtime_checkable
class SupportsClose(Protocol):
    """A venue that holds something until the run stops (a journaled venue: its journal file); closed then."""

    def close(self) -> None:
        """Release what the venue holds; called once, as the system stops."""
        ...


@runtime_checkable
class SupportsStart(Protocol):
    """A real venue's adapter that has work to do before the first order (Binance's: read the account's limits,
    arm the cancel-on-disconnect, open the user stream)."""

    def start(self) -> None:
        """Before the first order; :class:`ExchangeError` if the venue cannot be reached."""
        ...


@runtime_checkable
class SupportsArmedClose(Protocol):
    """A venue with a cancel-on-disconnect (USDⓈ-M's countdown): closed without disarming, it cancels by itself."""

    def arm(self) -> None:
        """Arm the cancel-on-disconnect (and keep it armed)."""
        ...

    def close(self, *, disarm: bool = True) -> None:
        """Close; with ``disarm`` False the venue's countdown runs on and cancels every open order."""
        ...


@runtime_checkable
class SupportsFaultCounts(Protocol):
    """A venue that injects faults and counts them: the report's ``exchange.faults_injected``.

    A venue without it reports zero for every kind.
    """

    @property
    def injected(self) -> Mapping[str, int]:
        """Faults injected so far, by kind (``place_error``, ``cancel_timeout`` ...)."""
        ...


@runtime_checkable
class WrapsVenue(Protocol):
    """A venue in front of another one (the fault injector): the system asks the inner venue for its tick, its
    history and to close, and the outer one for everything else."""

    @property
    def inner(self) -> IExchangeClient:
        """The venue behind this one."""
        ...


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """An order a venue accepted or rejected, as its order history gives it (a venue's "all orders" query).

    ``status`` is as now: "open", "filled", "canceled" or "rejected"; a
    rejected order has no exchange id.
    """

    client_id: str
    exchange_order_id: str | None
    symbol: str
    side: Side
    price_ticks: int
    qty_lots: int
    tick: int
    """The venue's tick when the order reached it."""
    status: str
    filled_lots: int


@dataclass(frozen=True, slots=True)
class VenueHistory:
    """What a venue did before the engine came back: every order it heard of and every fill it sent.

    ``fills`` are the ones the venue already sent (in the order they
    traded); ``owed``, the ones it will send on its stream as usual (again,
    or for the first time); ``positions`` (signed lots per symbol, flat ones
    omitted) are the account's, every fill included.
    """

    orders: tuple[PlacedOrder, ...]
    fills: tuple[Fill, ...]
    owed: tuple[Fill, ...]
    positions: dict[str, int]


@runtime_checkable
class SupportsHistory(Protocol):
    """A venue that can say what it did (its order and trade history): the engine rebuilds what its journals lack.

    docs/RELIABILITY.md, "The venue's word after a crash".
    """

    def history(self) -> VenueHistory:
        """Every order and every sent fill the venue remembers from before this session."""
        ...
