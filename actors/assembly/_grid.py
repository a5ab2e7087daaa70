"""A sweep's grid: the settings it varies, the cells they make, and what each cell's run came to.

Pure: no I/O, no process, no clock.  ``bin/sweep`` (:mod:`actors.cli._sweep`)
reads the grid from its flags and a TOML file with :func:`parse_axis` and
:func:`axes_from_table`, expands it with :func:`expand`, runs each cell as
``bin/run-shadow`` would run it, and sums up each cell's report with
:func:`metrics` and its fills with :func:`max_abs_position_usd`.

An axis is a configuration key (``spread_bps``, ``strategy``, any key of
``run-shadow --help`` with ``_`` for ``-``) or a strategy parameter
(``gamma``).  A parameter the strategy of a cell does not declare is left
out of that cell (``skew_bps`` means nothing to ``symmetric``), and cells
that come out the same are run once: a grid of strategies and of one
strategy's parameters is then what a user means by it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from actors.assembly._config import closest

GridValue = str | int | float | bool
"""One value of an axis: the text of ``--grid``, or what a TOML file typed it as."""

MAX_CELLS = 10_000
"""A grid of more cells is refused: a typo in a grid should not start a month of runs."""

PARAMS_TABLE = "params"
"""``[grid.params]``: the strategy parameters of a grid file (``[grid]`` holds the configuration keys)."""

NOT_SWEPT = {
    "freeze_utc_iso": "set it through MM_FREEZE_UTC_ISO or --config, for every cell",
    "journal": "each cell would write the same journal",
    "events": "each cell would write the same file",
    "html": "each cell would write the same file",
    "metrics_file": "each cell would write the same file",
    "metrics_port": "each cell would serve on the same port",
}
"""Keys a grid cannot vary, and why (the same keys cannot be set for every cell either, but ``freeze_utc_iso``)."""


class GridError(ValueError):
    """A grid that cannot be run; the message is the one line shown to the user."""


@dataclass(frozen=True)
class Axis:
    """One swept setting: its name, its values in the order given, and where it was given (for messages)."""

    name: str
    values: tuple[GridValue, ...]
    param: bool = False
    """A strategy parameter (``--grid-param``, ``[grid.params]``), not a configuration key."""
    source: str = ""

    @property
    def numeric(self) -> bool:
        """Every value is a number (given as one, or as text that reads as one): a chart can space them."""
        return all(as_number(value) is not None for value in self.values)


@dataclass(frozen=True)
class Cell:
    """One setting of every axis: the run the sweep makes of it.

    ``settings`` are configuration keys, ``params`` strategy parameters, each
    in the grid's order; a parameter the cell's strategy does not declare is
    not in ``params``.
    """

    number: int
    settings: tuple[tuple[str, GridValue], ...]
    params: tuple[tuple[str, GridValue], ...]

    def value(self, axis: Axis) -> GridValue | None:
        """This cell's value of ``axis``; None where the axis is a parameter its strategy does not declare."""
        return dict(self.params if axis.param else self.settings).get(axis.name)

    @property
    def label(self) -> str:
        """``strategy=inventory-skew spread_bps=10 skew_bps=5``: the cell as a person reads it."""
        return " ".join(f"{name}={flag_text(value)}" for name, value in (*self.settings, *self.params))


def flag_text(value: GridValue) -> str:
    """A value as a flag gives it (``true``, ``0.1``, ``5``): what the key's own parser reads back as ``value``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def as_number(value: GridValue) -> float | None:
    """``value`` as a finite number (a number, or text such as ``"10"``), else None (a name, true or false)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        try:
            number = float(value)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def parse_axis(text: str, *, param: bool, keys: Collection[str]) -> Axis:
    """``KEY=V1,V2,...`` of ``--grid`` (``keys``: the configuration's) or ``NAME=V1,...`` of ``--grid-param``.

    A key is written as in a config file or as its flag (``spread-bps``);
    a value with a comma in it goes in a grid file.
    """
    flag = "--grid-param" if param else "--grid"
    name, equals, listed = text.partition("=")
    name = name.strip()
    if not equals or not name:
        what = "NAME=VALUE,VALUE,..." if param else "KEY=VALUE,VALUE,..."
        raise GridError(f"{flag} {text!r}: expected {what}")
    values = tuple(value.strip() for value in listed.split(","))
    source = f"{flag} {name}"
    return _axis(name if param else name.replace("-", "_"), values, param=param, source=source, keys=keys)


def axes_from_table(table: Mapping[str, Any], source: str, keys: Collection[str]) -> list[Axis]:
    """The axes of a grid file: ``[grid]`` with a list per key, ``[grid.params]`` with a list per parameter.

    ``source`` names the file in messages.  The base settings are not a grid
    file's: they go in ``--config`` (a grid file is not a config file, so that
    neither can be read as the other by mistake).
    """
    unknown = sorted(set(table) - {"grid"})
    if unknown:
        raise GridError(f"{source}: unknown key {unknown[0]!r}: a grid file holds [grid] and [grid.{PARAMS_TABLE}]; "
                        "the settings every cell shares go in --config")  # fmt: skip
    grid = table.get("grid")
    if not isinstance(grid, dict) or not grid:
        raise GridError(f"{source}: no [grid] table, or an empty one (e.g. [grid] spread_bps = [5, 10, 20])")
    axes: list[Axis] = []
    for name, values in grid.items():
        if name == PARAMS_TABLE:
            if not isinstance(values, dict) or not values:
                raise GridError(f"{source}: [grid.{PARAMS_TABLE}]: expected a table of the parameters' lists")
            for param, listed in values.items():
                where = f"{source}: [grid.{PARAMS_TABLE}] {param}"
                axes.append(_axis(param, _listed(listed, where), param=True, source=where, keys=keys))
            continue
        where = f"{source}: [grid] {name}"
        if isinstance(values, dict):
            raise GridError(f"{where}: a table; the strategy's parameters go in [grid.{PARAMS_TABLE}]")
        axes.append(_axis(name, _listed(values, where), param=False, source=where, keys=keys))
    return axes


def _listed(values: object, where: str) -> tuple[GridValue, ...]:
    if not isinstance(values, list):
        raise GridError(f"{where}: expected a list of values, got {values!r}")
    for value in values:
        if not isinstance(value, (str, int, float, bool)):
            raise GridError(f"{where}: expected text, numbers or true/false, got {value!r}")
    return tuple(values)


def _axis(name: str, values: tuple[GridValue, ...], *, param: bool, source: str, keys: Collection[str]) -> Axis:
    if param:
        if not name.isidentifier():
            raise GridError(f"{source}: expected a parameter's name (letters, digits, _)")
    elif name not in keys:
        if name in NOT_SWEPT:
            raise GridError(f"{source}: cannot be swept: {NOT_SWEPT[name]}")
        close = closest(name, keys)
        hint = f"did you mean {close!r}? " if close else ""
        raise GridError(f"{source}: no such setting; {hint}a strategy's parameter goes in --grid-param NAME=...")
    elif name in NOT_SWEPT:
        raise GridError(f"{source}: cannot be swept: {NOT_SWEPT[name]}")
    if not values:
        raise GridError(f"{source}: no values")
    for index, value in enumerate(values):
        if isinstance(value, str) and not value:
            raise GridError(f"{source}: value {index + 1} is empty")
        if isinstance(value, float) and not math.isfinite(value):
            raise GridError(f"{source}: expected finite numbers, got {value!r}")
        if any(_same(value, other) for other in values[:index]):
            raise GridError(f"{source}: {flag_text(value)} is given twice")
    return Axis(name, values, param=param, source=source)


def _same(one: GridValue, other: GridValue) -> bool:
    """Two values a run would read alike: equal, or the same number (``5`` and ``5.0``; ``"10"`` and ``10``)."""
    if isinstance(one, bool) or isinstance(other, bool):
        return type(one) is type(other) and one == other
    first, second = as_number(one), as_number(other)
    if first is not None and second is not None:
        return first == second
    return one == other


def merge(axes: Iterable[Axis]) -> list[Axis]:
    """The axes of every source in order, refusing a name given twice (or as a key and as a parameter)."""
    seen: dict[str, Axis] = {}
    for axis in axes:
        other = seen.get(axis.name)
        if other is not None:
            raise GridError(f"{other.source} and {axis.source}: the same setting twice; give its values once")
        seen[axis.name] = axis
    return list(seen.values())


def expand(axes: Sequence[Axis], *, base_strategy: str, declares: Callable[[str, str], bool]) -> list[Cell]:
    """Every combination of the axes' values, the last axis changing fastest, numbered from 1.

    ``declares(strategy, name)``: whether the strategy named so declares the
    parameter; a parameter is left out of a cell whose strategy (the
    ``strategy`` axis's value, else ``base_strategy``) does not declare it,
    and a cell that then repeats one before it is dropped.  A parameter no
    strategy of the sweep declares is an error, as is a grid over
    :data:`MAX_CELLS` cells.
    """
    if not axes:
        raise GridError("nothing to sweep: give --grid KEY=V1,V2,... , --grid-param NAME=V1,V2,... or --grid-file")
    strategy_axis = next((axis for axis in axes if axis.name == "strategy" and not axis.param), None)
    strategies = [str(value) for value in strategy_axis.values] if strategy_axis else [base_strategy]
    for axis in axes:
        if axis.param and not any(declares(strategy, axis.name) for strategy in strategies):
            named = ", ".join(strategies)
            raise GridError(f"{axis.source}: no strategy of the sweep declares it ({named})")
    size = math.prod(len(axis.values) for axis in axes)
    if size > MAX_CELLS:
        raise GridError(f"the grid has {size:,} cells, over the {MAX_CELLS:,} a sweep runs; sweep fewer values")
    cells: list[Cell] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for combination in itertools.product(*(axis.values for axis in axes)):
        chosen = dict(zip((axis.name for axis in axes), combination, strict=True))
        strategy = str(chosen["strategy"]) if strategy_axis else base_strategy
        settings = tuple((axis.name, value) for axis, value in zip(axes, combination, strict=True) if not axis.param)
        params = tuple((axis.name, value) for axis, value in zip(axes, combination, strict=True)
                       if axis.param and declares(strategy, axis.name))  # fmt: skip
        identity = tuple((name, flag_text(value)) for name, value in (*settings, *params))
        if identity in seen:
            continue
        seen.add(identity)
        cells.append(Cell(len(cells) + 1, settings, params))
    return cells


# ------------------------------------------------------------ what a cell came to

METRICS = ("pnl_usd", "edge_bps", "fills", "max_abs_position_usd")
"""What the sweep compares its cells by (a column each, and a chart each on the page)."""
EXTRA = ("final_notional_usd", "orders_placed", "state")
"""What else the table shows of each cell's report."""
METRIC_TITLES = {
    "pnl_usd": ("PnL after fees", "USD"),
    "edge_bps": ("Realised edge", "bps"),
    "fills": ("Fills", "fills"),
    "max_abs_position_usd": ("Max |position| of a symbol", "USD"),
}


def metrics(report: Mapping[str, Any]) -> dict[str, Any]:
    """A cell's figures from its report: PnL, edge, fills, the final notional, orders placed, trading state.

    ``max_abs_position_usd`` is not in a report: :func:`max_abs_position_usd`
    gives it from the cell's fills.
    """
    return {
        "pnl_usd": report.get("pnl", {}).get("total_usd"),
        "edge_bps": report.get("risk", {}).get("realised_edge_bps"),
        "fills": report.get("fills", {}).get("count"),
        "final_notional_usd": report.get("positions", {}).get("total_notional_usd"),
        "orders_placed": report.get("orders", {}).get("placed"),
        "state": report.get("risk", {}).get("state"),
    }


def max_abs_position_usd(fills: Iterable[tuple[str, str, str, str]]) -> float:
    """The largest |position| x price any one symbol reached, in USD, priced at the fill that made it.

    ``fills``: ``(symbol, side, price, quantity)`` of each fill in the run's
    order, as the event log writes them (``BUY``/``SELL``, exact decimal
    text); the position is summed exactly.  A position moves only at a fill,
    so its largest size is at one; the fill's price is what it was worth then.
    """
    positions: dict[str, Decimal] = {}
    largest = Decimal(0)
    for symbol, side, price, quantity in fills:
        try:
            size, at = Decimal(quantity), Decimal(price)
        except InvalidOperation:
            raise ValueError(f"a fill of {symbol} with price {price!r} and quantity {quantity!r}") from None
        held = positions.get(symbol, Decimal(0)) + (size if side == "BUY" else -size)
        positions[symbol] = held
        largest = max(largest, abs(held) * at)
    return round(float(largest), 2)


@dataclass(frozen=True)
class Outcome:
    """What one cell's run came to: ``ok``, ``incomplete`` (a report, but the run stopped early) or ``failed``."""

    cell: Cell
    status: str
    figures: Mapping[str, Any]
    """:func:`metrics` and ``max_abs_position_usd``; empty for a failed cell."""
    error: str = ""
    """The run's own one line saying what went wrong (its last on stderr)."""
    report: str = ""
    """Where its report is, relative to the sweep's directory."""
    command: str = ""
    """The ``bin/run-shadow`` command that prints the same report."""


def columns(axes: Sequence[Axis]) -> list[str]:
    """The table's header: the cell, its status, a column per axis, the figures, then what to rerun it with."""
    return ["cell", "status", *(axis.name for axis in axes), *METRICS, *EXTRA, "error", "report", "command"]


def row(outcome: Outcome, axes: Sequence[Axis]) -> list[str]:
    """One line of the table, as text: a value a cell does not have (a parameter its strategy lacks, a failed
    run's figures) is empty."""
    values = [outcome.cell.value(axis) for axis in axes]
    figures = [outcome.figures.get(name) for name in (*METRICS, *EXTRA)]
    shown = ["" if value is None else flag_text(value) for value in (*values, *figures)]
    return [str(outcome.cell.number), outcome.status, *shown, outcome.error, outcome.report, outcome.command]


def chart_axis(axes: Sequence[Axis], cells: Sequence[Cell] = ()) -> Axis:
    """The axis the page's charts run along; the other axes' values make one line each.

    Of the axes every cell of ``cells`` has a value of (a parameter only some
    strategies declare is not one of them, unless all do): the last one of
    numbers with more than one value, else the last one with more than one
    value, else the last one; else the last axis.
    """
    everywhere = [axis for axis in axes if all(cell.value(axis) is not None for cell in cells)]
    varied = [axis for axis in everywhere if len(axis.values) > 1]
    numeric = [axis for axis in varied if axis.numeric]
    return (numeric or varied or everywhere or list(axes))[-1]


__all__ = [
    "EXTRA", "MAX_CELLS", "METRICS", "NOT_SWEPT", "Axis", "Cell", "GridError", "GridValue", "Outcome", "as_number",
    "axes_from_table", "chart_axis", "columns", "expand", "flag_text", "max_abs_position_usd", "merge", "metrics",
    "parse_axis", "row",
]  # fmt: skip
