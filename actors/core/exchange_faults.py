"""A hostile venue: faults injected into any fake exchange by keyed draws.

:class:`FaultyExchange` wraps a :class:`FakeExchangeClient` and, with the
rates of :class:`ExchangeFaults`, makes it fail the ways real venues fail:

- ``place_error``: the placement fails in transport; the venue never saw it.
- ``cancel_error``: the cancel fails in transport; the order is still live.
- ``timeout``: a placement or cancel gets no answer (:class:`ExchangeTimeout`);
  whether it took effect at the venue is decided by another draw.
- ``duplicate_fill``: a fill is streamed again by the next ``stream_fills``.
- ``out_of_order``: a batch of fills is streamed in reverse order.
- ``unknown_fill``: a batch carries a fill for an order the venue never had.
- ``cancel_race``: the order trades in full just before the cancel arrives,
  so the cancel is refused ("already filled").

Every draw is keyed on what it is about (client id, exchange id and attempt,
fill id, tick), never on call order, so a run is reproducible on every
runtime (docs/DESIGN.md, "Keyed randomness").  What each fault must lead to is the gateway's
and the store's business; docs/RELIABILITY.md lists the outcomes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields

from actors.core.exchange import (
    CancelResult,
    ExchangeError,
    ExchangeOrder,
    ExchangeTimeout,
    FakeExchangeClient,
    FillListener,
    OrderStatus,
    PlaceRequest,
    PlaceResult,
)
from actors.core.keyed_random import uniform
from actors.core.types import Fill, Side

FAULT_KINDS = (
    "cancel_error", "cancel_race", "cancel_timeout", "duplicate_fill",
    "out_of_order", "place_error", "place_timeout", "unknown_fill",
)  # fmt: skip
"""What :attr:`FaultyExchange.injected` counts."""

UNKNOWN_SYMBOL = "UNKNOWN"
"""Symbol of the fills injected for orders nobody placed."""


@dataclass(frozen=True)
class ExchangeFaults:
    """Rates in [0, 1] of each fault; all zero is an honest venue.

    A rate of 1 is allowed for every fault: a venue that refuses every
    cancel makes a freeze that cannot complete, which the engine must end
    in bounded time and report (docs/RELIABILITY.md).
    """

    place_error: float = 0.0
    cancel_error: float = 0.0
    timeout: float = 0.0
    duplicate_fill: float = 0.0
    out_of_order: float = 0.0
    unknown_fill: float = 0.0
    cancel_race: float = 0.0

    def __post_init__(self) -> None:
        for spec in fields(self):
            rate = getattr(self, spec.name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{spec.name} rate must be in [0, 1], got {rate}")

    @property
    def any(self) -> bool:
        """True if any fault can happen."""
        return any(getattr(self, spec.name) > 0.0 for spec in fields(self))


class FaultyExchange:
    """An ``IExchangeClient`` (and ``SupportsAdvance``) that injects :class:`ExchangeFaults`."""

    def __init__(self, inner: FakeExchangeClient, faults: ExchangeFaults, seed: int) -> None:
        self.inner = inner
        self.faults = faults
        self.seed = seed
        self.injected: Counter[str] = Counter()
        self._cancel_attempts: dict[str, int] = {}
        self._replay: list[Fill] = []
        self._streams = 0
        self._mass_cancels = 0

    # ------------------------------------------------------------ orders

    def place(self, request: PlaceRequest) -> PlaceResult:
        """Fail, time out (placed or not) or place."""
        faults, key = self.faults, request.client_id
        if self._draw("place-error", key) < faults.place_error:
            self.injected["place_error"] += 1
            raise ExchangeError(f"place {key}: connection reset")
        if self._draw("place-timeout", key) < faults.timeout:
            self.injected["place_timeout"] += 1
            if self._draw("place-timeout-took-effect", key) < 0.5:
                self.inner.place(request)
            raise ExchangeTimeout(f"place {key}: no answer")
        return self.inner.place(request)

    def cancel(self, exchange_order_id: str) -> CancelResult:
        """Race a fill, fail, time out (canceled or not) or cancel; each attempt draws anew."""
        faults = self.faults
        attempt = self._cancel_attempts.get(exchange_order_id, 0) + 1
        race = attempt == 1 and self._draw("cancel-race", exchange_order_id) < faults.cancel_race
        if race and self.inner.fill_now(exchange_order_id):
            self.injected["cancel_race"] += 1
        if self._draw("cancel-error", exchange_order_id, attempt) < faults.cancel_error:
            self._cancel_attempts[exchange_order_id] = attempt
            self.injected["cancel_error"] += 1
            raise ExchangeError(f"cancel {exchange_order_id}: connection reset")
        if self._draw("cancel-timeout", exchange_order_id, attempt) < faults.timeout:
            self._cancel_attempts[exchange_order_id] = attempt
            self.injected["cancel_timeout"] += 1
            if self._draw("cancel-timeout-took-effect", exchange_order_id, attempt) < 0.5:
                self.inner.cancel(exchange_order_id)
            raise ExchangeTimeout(f"cancel {exchange_order_id}: no answer")
        self._cancel_attempts.pop(exchange_order_id, None)
        return self.inner.cancel(exchange_order_id)

    def cancel_all(self) -> list[ExchangeOrder]:
        """Fail, time out (done or not) or cancel everything; each attempt draws anew."""
        key = ("cancel-all", self.inner.tick, self._mass_cancels)
        self._mass_cancels += 1
        if self._draw(*key, "error") < self.faults.cancel_error:
            self.injected["cancel_error"] += 1
            raise ExchangeError("cancel all: connection reset")
        if self._draw(*key, "timeout") < self.faults.timeout:
            self.injected["cancel_timeout"] += 1
            if self._draw(*key, "took-effect") < 0.5:
                self.inner.cancel_all()
            raise ExchangeTimeout("cancel all: no answer")
        return self.inner.cancel_all()

    # ------------------------------------------------------------ market

    def advance(self, tick: int) -> None:
        """Let the venue match at ``tick``."""
        self.inner.advance(tick)

    def stream_fills(self) -> list[Fill]:
        """The venue's new fills, plus replays, strangers and reordering as drawn."""
        return self._disturb(self.inner.stream_fills())

    def subscribe(self, listener: FillListener) -> None:
        """Have the venue push its fills through the same faults to ``listener``."""
        self.inner.subscribe(lambda fills: listener(self._disturb(fills)))

    def _disturb(self, new: list[Fill]) -> list[Fill]:
        self._streams += 1
        tick, call = self.inner.tick, self._streams
        fills = self._replay + new
        fresh = len(self._replay)
        self._replay = []
        for fill in fills[fresh:]:
            if self._draw("duplicate-fill", fill.fill_id) < self.faults.duplicate_fill:
                self.injected["duplicate_fill"] += 1
                self._replay.append(fill)
        if self._draw("unknown-fill", tick, call) < self.faults.unknown_fill:
            self.injected["unknown_fill"] += 1
            n = self.injected["unknown_fill"]
            fills.append(Fill(f"FILX{n:07d}", f"ORDX{n:05d}", f"CLIX{n:07d}", UNKNOWN_SYMBOL, Side.BUY, 1, 1, tick))
        if len(fills) > 1 and self._draw("out-of-order", tick, call) < self.faults.out_of_order:
            self.injected["out_of_order"] += 1
            fills.reverse()
        return fills

    # ------------------------------------------------------------ queries

    def get_orders(self) -> list[ExchangeOrder]:
        """The venue's open orders (queries are not faulted: reconciliation relies on them)."""
        return self.inner.get_orders()

    def get_positions(self) -> dict[str, int]:
        """The venue's positions."""
        return self.inner.get_positions()

    def order_status(self, client_id: str) -> OrderStatus:
        """The venue's word on one order (not faulted, like every query)."""
        return self.inner.order_status(client_id)

    def _draw(self, what: str, *key: object) -> float:
        return uniform(self.seed, "fault", what, *key)
