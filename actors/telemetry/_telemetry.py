"""What a run shows while it goes: counts, gauges and histograms kept as plain Python values.

Actors write them at a few points (the store through :class:`EventLog`,
risk after each decision, the gateway as orders are acknowledged, the runtime
around each handler when timing is on); readers (a Prometheus scrape, the
progress line) read them from other threads.  Nothing here imports
prometheus_client: :mod:`actors.telemetry._metrics` turns these values into
metrics only when they are asked for.  A role given no telemetry does one
``is None`` test where it would have written (docs/OBSERVABILITY.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from loguru import logger

from actors.core import _risk as blocks
from actors.runtime._timing import Buckets, HandlingTimes

if TYPE_CHECKING:
    from actors.runtime._base import Runtime
    from actors.telemetry._order_events import EventLog

ACTIVE = 0
"""``mm_trading_state`` while quoting freely: ACTIVE."""
REDUCING = 1
"""``mm_trading_state`` while some symbol may only reduce its position: REDUCING."""
HALTED = 2
"""``mm_trading_state`` once halted: HALTED."""
STATE_NAMES = {ACTIVE: "trading", REDUCING: "reducing", HALTED: "frozen"}
"""As the progress line shows them (users read these words: they stay)."""
STATE_NUMBERS = {"ACTIVE": ACTIVE, "REDUCING": REDUCING, "HALTED": HALTED}
"""Risk's trading states (``actors.core._trading_state``) as ``mm_trading_state`` numbers them."""

TICK_TO_ORDER_BOUNDS_S = (1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
FREEZE_BOUNDS_S = (1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
BLOCK_REASONS = (blocks.BLIND, blocks.HALTED, blocks.MAX_INV, blocks.MAX_OPEN_ORDERS, blocks.MAX_ORDER_USD,
                 blocks.MAX_ORDERS_PER_SEC, blocks.MAX_TOTAL, blocks.PRICE_BAND, blocks.REDUCE_ONLY)  # fmt: skip
"""Why risk refused a quote side (``risk.blocks_by_reason``): every kind has a series from the start."""


class Telemetry:
    """One run's live figures; see the module docstring for who writes and who reads."""

    def __init__(self, orders: EventLog, *, tracked_symbols: tuple[str, ...] = (), metrics: bool = False) -> None:
        """``metrics``: also time every handler and every tick-to-order (what only metrics show)."""
        self.orders = orders
        self.metrics = metrics
        self.tracked_symbols = tracked_symbols
        """Symbols with a series of their own (``mm_position_usd``): the first ``metrics_symbols`` of the run."""
        self.handling = HandlingTimes() if metrics else None
        self.tick_to_order = Buckets(TICK_TO_ORDER_BOUNDS_S)
        self.place_to_answer = Buckets(TICK_TO_ORDER_BOUNDS_S)
        self.freeze = Buckets(FREEZE_BOUNDS_S)
        self.decided_through = 0
        self.trading_state = ACTIVE
        self.realised_edge_bps: float | None = None
        self.total_notional_usd = 0.0
        self.positions_usd: Mapping[str, float] = {}
        self.risk_blocks: Mapping[str, int] = dict.fromkeys(BLOCK_REASONS, 0)
        self.runtime: Runtime | None = None
        self.failed_outputs: dict[str, str] = {}
        """Outputs that failed during the run and were switched off (``--events``, ``--html`` ...): the error of
        each.  An output fails once: after that it is written no more."""

    def bind(self, runtime: Runtime) -> None:
        """The runtime whose dead letters, restarts and mailboxes are read (and whose handlers are timed)."""
        self.runtime = runtime
        if self.handling is not None:
            runtime.time_handlers(self.handling)

    @property
    def output_failures(self) -> int:
        """How many outputs failed and were switched off (``mm_output_failures``)."""
        return len(self.failed_outputs)

    def output_failed(self, output: str, error: str) -> None:
        """``output`` (``--events``, ``--metrics-file``, ``--html``, ``progress line``) failed with ``error``: one
        warning, counted, and its writer writes no more; the run, its actors and journals go on as if it had not
        been asked for (docs/OBSERVABILITY.md, "When an output fails").  A second report of one output is ignored."""
        if output in self.failed_outputs:
            return
        self.failed_outputs[output] = error
        logger.warning("{} failed and is switched off; the run goes on: {}", output, error)

    # ------------------------------------------------------------ writers (actors)

    def risk_decided(
        self,
        tick: int,
        *,
        state: str,
        edge_bps: float | None,
        total_notional_usd: float,
        positions_usd: Mapping[str, float],
        risk_blocks: Mapping[str, int],
    ) -> None:
        """Risk decided ``tick``: its figures after the decision (each value replaced whole)."""
        self.realised_edge_bps = edge_bps
        self.total_notional_usd = total_notional_usd
        self.positions_usd = positions_usd
        self.risk_blocks = {**dict.fromkeys(BLOCK_REASONS, 0), **risk_blocks}
        self.decided(tick, state=state)

    def decided(self, tick: int, *, state: str) -> None:
        """Risk decided ``tick`` in trading ``state``: the least a progress line needs."""
        self.trading_state = STATE_NUMBERS[state]
        self.decided_through = tick

    def halted(self) -> None:
        """Risk decided a halt."""
        self.trading_state = HALTED

    def freeze_confirmed(self, seconds: float) -> None:
        """From risk deciding the freeze to the store confirming no order is open, in the runtime's seconds."""
        self.freeze.observe(seconds)

    def order_acknowledged(self, seconds: float) -> None:
        """From the feed sending a tick to the venue acknowledging the last order placed for it."""
        self.tick_to_order.observe(seconds)

    def venue_answered(self, seconds: float) -> None:
        """A real venue's: from the gateway sending a place to the venue answering it."""
        self.place_to_answer.observe(seconds)
