"""A strategy on its own: feed it scripted ticks, trades and fills, and see what it would quote. No actors.

::

    from actors.testing import StrategyHarness

    harness = StrategyHarness("inventory-skew", params={"skew_bps": 20.0})
    step = harness.step(mid=600_000, fills=[(+1, 599_700, 3)])   # bought 3 lots: the position is +3
    assert step.bid.price_ticks < 600_000 - 300                  # shifted down, against the position
    assert step.blocked == ""                                     # the engine would send it

The harness builds the strategy as the engine does (parameters checked
against what the strategy declares, defaults filled in, ``spread_bps`` and
``quote_notional_usd`` from the run's defaults unless given), gives it one
:class:`~actors.core._strategy.StrategyInput` per :meth:`StrategyHarness.step`,
and checks what it returns as the quoter does
(:func:`~actors.core._strategy.check_quotes`).  The position and its average
price follow the fills the script gives, applied before the call that is
told them (a script may also set the position outright); this is a
convenience of the harness: docs/STRATEGIES.md says as of when the engine
gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from actors.assembly import _strategies as strategies
from actors.assembly._config import default_values
from actors.core._instruments import instrument_for
from actors.core._strategy import (
    MAX_LEVELS,
    BookLevel,
    Level,
    MarketView,
    ParamValue,
    Quotes,
    RestingOrder,
    Strategy,
    StrategyFill,
    StrategyInput,
    Trade,
    check_quotes,
)
from actors.core._types import Instrument

FillScript = StrategyFill | tuple[int, int, int]
"""A fill: a :class:`StrategyFill`, or ``(side, price ticks, lots)`` (+1 bought, -1 sold) at the step's tick."""
TradeScript = Trade | tuple[int, int] | tuple[int, int, int]
"""A market trade: a :class:`Trade`, or ``(price ticks, lots)`` or ``(price ticks, lots, aggressor)``."""


@dataclass(frozen=True)
class Step:
    """One call: what the strategy was given, what it returned, and why the engine would block it ("" if not)."""

    state: StrategyInput
    quotes: Quotes
    blocked: str

    @property
    def tick(self) -> int:
        """The step's tick."""
        return self.state.tick

    @property
    def bid(self) -> Level | None:
        """The best bid wanted, None if none."""
        bids = self.quotes.bids if isinstance(self.quotes, Quotes) else ()
        return bids[0] if bids else None

    @property
    def ask(self) -> Level | None:
        """The best ask wanted, None if none."""
        asks = self.quotes.asks if isinstance(self.quotes, Quotes) else ()
        return asks[0] if asks else None

    @property
    def sent(self) -> bool:
        """True if the engine would send risk this quote: not blocked, a level on each side."""
        return not self.blocked and self.bid is not None and self.ask is not None


class StrategyHarness:
    """One strategy instance for one symbol, driven tick by tick by a script."""

    def __init__(
        self,
        strategy: str | type[Strategy],
        *,
        symbol: str = "BTCUSDT",
        instrument: Instrument | None = None,
        params: Mapping[str, object] | None = None,
        tick_ms: float = 100.0,
        max_levels: int = MAX_LEVELS,
        seed: int = 42,
    ) -> None:
        """``strategy``: a built-in's name, ``package.module:Class`` or the class; ``params`` as ``--strategy-param``
        would give them (text or typed values); a bad name or parameter is the run's :class:`ValueError`."""
        spec = str(strategies.spec_of(strategy))
        given = [(f"parameter {name}", name, value) for name, value in (params or {}).items()]
        cls, checked = strategies.settle(spec, given)
        defaults = default_values()
        general = {name: float(defaults[name][1]) for name in ("spread_bps", "quote_notional_usd")}
        self.params: dict[str, ParamValue] = strategies.parameters(cls, checked, general)
        self.instrument = instrument or instrument_for(symbol, seed)
        self.strategy: Strategy = cls(self.instrument, self.params)
        self.tick_ms = tick_ms
        self.max_levels = max_levels
        self.tick = 0
        self.position_lots = 0
        self.avg_price_ticks = 0.0
        self.steps: list[Step] = []

    def step(
        self,
        mid: int,
        *,
        bid: int | None = None,
        ask: int | None = None,
        bid_lots: int = 0,
        ask_lots: int = 0,
        trades: Iterable[TradeScript] = (),
        fills: Iterable[FillScript] = (),
        resting: Sequence[RestingOrder] = (),
        position: int | None = None,
        depth: tuple[Sequence[BookLevel], Sequence[BookLevel]] = ((), ()),
    ) -> Step:
        """The next tick: the market (``bid``/``ask`` default to the mid), its trades, the fills since the last step.

        ``position`` sets the position outright (after the fills are applied).
        """
        self.tick += 1
        tick = self.tick
        given = tuple(fill if isinstance(fill, StrategyFill) else StrategyFill(*fill, tick) for fill in fills)
        for fill in given:
            self._apply(fill)
        if position is not None:
            self.position_lots = position
            self.avg_price_ticks = self.avg_price_ticks if position else 0.0
        market = MarketView(
            mid, mid if bid is None else bid, bid_lots, mid if ask is None else ask, ask_lots,
            tuple(trade if isinstance(trade, Trade) else Trade(*trade) for trade in trades),
            tuple(depth[0]), tuple(depth[1]),
        )  # fmt: skip
        state = StrategyInput(
            tick, (tick - 1) * self.tick_ms, self.instrument, market, self.params, self.position_lots,
            self.avg_price_ticks, tuple(resting), given,
        )  # fmt: skip
        quotes = self.strategy.quote(state)
        step = Step(state, quotes, check_quotes(quotes, self.max_levels))
        self.steps.append(step)
        return step

    def run(self, mids: Iterable[int]) -> list[Step]:
        """One step per mid, nothing else scripted."""
        return [self.step(mid) for mid in mids]

    def _apply(self, fill: StrategyFill) -> None:
        """The position and its average price after ``fill``: adding, weighted; reducing, kept; flipping, the fill's."""
        before, signed = self.position_lots, fill.side * fill.lots
        after = before + signed
        if before == 0 or (before > 0) == (signed > 0):
            self.avg_price_ticks = (self.avg_price_ticks * abs(before) + fill.price_ticks * fill.lots) / abs(after)
        elif after == 0:
            self.avg_price_ticks = 0.0
        elif (after > 0) != (before > 0):
            self.avg_price_ticks = float(fill.price_ticks)
        self.position_lots = after
