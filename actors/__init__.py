"""actors: a market-making execution engine as an actor system on pykka.

A shadow run from Python, as ``bin/run-shadow`` makes one from a shell::

    import actors

    report = actors.run(symbols=["BTCUSDT", "ETHUSDT"], iterations=20, seed=42, fill_rate=0.7)
    report.risk["state"], report.pnl["total_usd"], report.orders["placed"]
    report.to_json()  # the bytes of: bin/run-shadow --symbols BTCUSDT,ETHUSDT --iterations 20 --seed 42 --fill-rate 0.7

The public names are those of ``__all__``, below by what they are for; any
other module or name is internal and may change.

Running the engine
    run: one run, every configuration key a named parameter (help(actors.run) lists them); returns a Report.
    Report: the report's sections as attributes, to_dict(), to_json() (the command's bytes).
    ConfigError: a bad setting (a ValueError naming it).  RunIncomplete: a run that stopped early.
    run_shadow_demo: the first entry point, kept for its users (returns the report's text).

Building an engine yourself
    System: builds, runs and stops one engine on a runtime (System.build(runtime, exchange=..., **settings)).
    create_runtime, Runtime, RUNTIME_NAMES: the runtimes by name ("pool", "sim", "threads").

Bringing a venue
    IExchangeClient: what every venue implements (runtime-checkable: isinstance works).
    PlaceRequest, PlaceResult, CancelResult, ExchangeOrder, OrderStatus, Fill, Side, FillListener: what its calls
    take and give; ExchangeError (a call that did not happen), ExchangeTimeout (one that may have).
    What a simulated venue adds, each its own interface the engine tests with isinstance: SupportsAdvance (moves
    with the market), SupportsTick (says its tick), SupportsHistory (VenueHistory, PlacedOrder: what it did before
    a restart), SupportsClose (closed as the run stops), SupportsFaultCounts (faults injected, by kind),
    WrapsVenue (a venue in front of another, as the fault injector is).
    FakeExchangeClient: the simulated venue of every shadow run.
    CancelOutcome: what a cancel came to, as the engine decides on it (a venue may set it on its CancelResult).

Bringing a strategy (docs/STRATEGIES.md)
    Strategy: the base of every strategy, one instance per symbol; StrategyInput: what it is given each tick;
    Quotes and Level: what it returns; Param, ParamValue: its declared parameters; Instrument: its tick and lot
    sizes; base_lots: the lots of a notional at a price, as the built-ins size their quotes.

Testing
    Sim: the deterministic runtime with test helpers (the ``sim`` pytest fixture); explore, check_determinism.
    StrategyHarness: a strategy alone on scripted ticks, trades and fills (no actors).

``import actors`` loads none of this until a name is used (the names are
resolved on first access), so it stays quick and never imports Ray or plotly.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

TYPE_CHECKING = False
"""``typing.TYPE_CHECKING`` without importing typing (type checkers take any name TYPE_CHECKING as true)."""
if TYPE_CHECKING:  # what a type checker sees; at run time each name is imported on first use (__getattr__)
    from typing import Any

    from actors._api import Report, run, run_shadow_demo
    from actors.assembly._config import RUNTIME_NAMES, ConfigError
    from actors.assembly._system import System
    from actors.cli._run_shadow import RunIncomplete
    from actors.core._exchange import (
        CancelOutcome,
        CancelResult,
        ExchangeError,
        ExchangeOrder,
        ExchangeTimeout,
        OrderStatus,
        PlaceRequest,
        PlaceResult,
    )
    from actors.core._strategy import Level, Param, ParamValue, Quotes, Strategy, StrategyInput, base_lots
    from actors.core._types import Fill, Instrument, Side
    from actors.runtime import Runtime, create_runtime
    from actors.testing import Sim, StrategyHarness, check_determinism, explore
    from actors.venues._interface import (
        FillListener,
        IExchangeClient,
        PlacedOrder,
        SupportsAdvance,
        SupportsClose,
        SupportsFaultCounts,
        SupportsHistory,
        SupportsTick,
        VenueHistory,
        WrapsVenue,
    )
    from actors.venues._simulated import FakeExchangeClient

_HOMES = {
    "run": "actors._api",
    "Report": "actors._api",
    "ConfigError": "actors.assembly._config",
    "RunIncomplete": "actors.cli._run_shadow",
    "run_shadow_demo": "actors._api",
    "System": "actors.assembly._system",
    "create_runtime": "actors.runtime",
    "Runtime": "actors.runtime",
    "RUNTIME_NAMES": "actors.assembly._config",
    "IExchangeClient": "actors.venues._interface",
    "PlaceRequest": "actors.core._exchange",
    "PlaceResult": "actors.core._exchange",
    "CancelResult": "actors.core._exchange",
    "ExchangeOrder": "actors.core._exchange",
    "OrderStatus": "actors.core._exchange",
    "Fill": "actors.core._types",
    "Side": "actors.core._types",
    "FillListener": "actors.venues._interface",
    "ExchangeError": "actors.core._exchange",
    "ExchangeTimeout": "actors.core._exchange",
    "SupportsAdvance": "actors.venues._interface",
    "SupportsTick": "actors.venues._interface",
    "SupportsHistory": "actors.venues._interface",
    "VenueHistory": "actors.venues._interface",
    "PlacedOrder": "actors.venues._interface",
    "SupportsClose": "actors.venues._interface",
    "SupportsFaultCounts": "actors.venues._interface",
    "WrapsVenue": "actors.venues._interface",
    "FakeExchangeClient": "actors.venues._simulated",
    "Sim": "actors.testing",
    "explore": "actors.testing",
    "check_determinism": "actors.testing",
    "StrategyHarness": "actors.testing",
    "CancelOutcome": "actors.core._exchange",
    "Strategy": "actors.core._strategy",
    "StrategyInput": "actors.core._strategy",
    "Quotes": "actors.core._strategy",
    "Level": "actors.core._strategy",
    "Param": "actors.core._strategy",
    "ParamValue": "actors.core._strategy",
    "base_lots": "actors.core._strategy",
    "Instrument": "actors.core._types",
}
"""Where each public name lives (the layout may move them; ``actors.<name>`` stays)."""

__all__ = [
    # running the engine
    "run",
    "Report",
    "ConfigError",
    "RunIncomplete",
    "run_shadow_demo",
    # building an engine yourself
    "System",
    "create_runtime",
    "Runtime",
    "RUNTIME_NAMES",
    # bringing a venue
    "IExchangeClient",
    "PlaceRequest",
    "PlaceResult",
    "CancelResult",
    "ExchangeOrder",
    "OrderStatus",
    "Fill",
    "Side",
    "FillListener",
    "ExchangeError",
    "ExchangeTimeout",
    "SupportsAdvance",
    "SupportsTick",
    "SupportsHistory",
    "VenueHistory",
    "PlacedOrder",
    "SupportsClose",
    "SupportsFaultCounts",
    "WrapsVenue",
    "FakeExchangeClient",
    "CancelOutcome",
    # bringing a strategy
    "Strategy",
    "StrategyInput",
    "Quotes",
    "Level",
    "Param",
    "ParamValue",
    "Instrument",
    "base_lots",
    # testing
    "Sim",
    "explore",
    "check_determinism",
    "StrategyHarness",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (then kept here: the next access costs nothing)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'actors' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names with every public one, loaded or not (``dir(actors)``, completion in a shell)."""
    return sorted({*globals(), *__all__})
