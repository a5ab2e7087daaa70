"""The tick driver: moves the shadow run forward one market tick at a time.

A shadow run is tick-synchronous (DESIGN principle 5): each tick has three
phases and the next phase starts only when the runtime is quiescent, i.e.
everything caused by the previous phase has been handled.  With one ordered
decision point per phase the report cannot depend on thread scheduling.

1. quote: every quoter gets the tick's mid and sends risk its intent;
2. trade: the venue moves to the tick; fills flow gateway -> store -> risk;
3. decide: risk judges the tick's fills once (and may freeze: the freeze
   cascade completes in this phase), then checks the buffered intents in
   symbol order; the survivors flow risk -> store (cancel/replace) ->
   gateway -> exchange -> store.

The driver is not an actor: waiting for quiescence is blocking by nature, so
it runs outside the actor system (the main thread), the way a test drives a
system from outside.
"""

from __future__ import annotations

from collections.abc import Sequence

from actors.core.market_data import MarketDataSource
from actors.messages import DecideQuotes, ExchangeTick, MarketTick
from actors.roles.addresses import GATEWAY, RISK, quoter
from actors.runtime.base import Runtime
from actors.wire import encode


class TickDriver:
    """Drives ticks through a running system."""

    def __init__(self, runtime: Runtime, market: MarketDataSource, symbols: Sequence[str]) -> None:
        self.runtime = runtime
        self.market = market
        self.symbols = list(symbols)
        self.ticks_run = 0

    def run_tick(self, tick: int) -> None:
        """Run the three phases of ``tick`` to quiescence."""
        runtime = self.runtime
        for symbol in self.symbols:
            runtime.tell(quoter(symbol), encode(MarketTick(tick, symbol, self.market.mid_ticks(symbol, tick))))
        runtime.wait_idle()
        runtime.tell(GATEWAY, encode(ExchangeTick(tick)))
        runtime.wait_idle()
        runtime.tell(RISK, encode(DecideQuotes(tick)))
        runtime.wait_idle()
        self.ticks_run = tick
