"""``bin/sweep`` / ``mm-sweep``: a grid of settings run over a market, one ``run-shadow`` per cell, on every core.

A cell is a run of its own: a child process ``python -m actors`` with the
flags that give its settings, so its report is byte for byte the one
``bin/run-shadow`` prints with those flags (the table shows that command for
each cell).  What every cell shares comes from run-shadow's own flags,
``--config`` and ``MM_*`` variables, read by the same configuration layer
(:func:`actors.cli._run_shadow.parse_config`); the grid
(:mod:`actors.assembly._grid`) is ``--grid KEY=V1,V2``, ``--grid-param
NAME=V1,V2`` and ``--grid-file FILE``.  Every cell's settings are checked
before the first one starts: a bad one is one line on stderr, exit 2.

While the cells run, stderr gets a line as each finishes; a cell that fails
is one of those lines and a row of the table, and the others go on.  At the
end ``DIR/sweep.csv`` and ``DIR/sweep.html`` hold every finished cell and
stdout gets one JSON line summing up.  Ctrl-C (or SIGTERM, SIGHUP) stops the
running cells and still writes what finished.  docs/STRATEGIES.md, "Sweeps".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import actors
from actors.assembly import _strategies as strategies
from actors.assembly._config import KEYS, ConfigError, ShadowConfig, check_paths, closest, env_name, input_file
from actors.assembly._config import journal_directory as writable_directory
from actors.assembly._grid import (
    NOT_SWEPT,
    Axis,
    Cell,
    GridError,
    Outcome,
    axes_from_table,
    expand,
    flag_text,
    max_abs_position_usd,
    merge,
    metrics,
    parse_axis,
)
from actors.cli._run_shadow import ALIASES, REPEATED, negative_values_joined, parse_config
from actors.cli._run_shadow import build_parser as run_shadow_parser
from actors.cli._sweep_page import CSV_NAME, HTML_NAME, build_page, table_csv, write_atomically
from actors.cli._watch import INSTALL_HINT
from actors.telemetry._order_events import read_events

PROG = "sweep"
EXIT_USAGE = 2
EXIT_FAILED = 1
"""Every cell ran, and one or more failed or stopped early: the table says which."""
STOP_GRACE_S = 30.0
"""After Ctrl-C, how long a running cell has to stop on its SIGINT before it is killed (it closes its files)."""
BASE_REFUSED = ("events", "html", "metrics_file", "metrics_port", "journal")
"""Settings no two cells can share: each would write the same file, port or journal."""
CELLS = "cells"
"""``DIR/cells/N/``: each cell's ``report.json`` (run-shadow's stdout) and ``stderr.log``."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def build_parser() -> argparse.ArgumentParser:
    """The sweep's own flags; every other flag is run-shadow's and sets what the cells share."""
    parser = _Parser(
        prog=PROG,
        usage="%(prog)s --out DIR (--grid KEY=V1,V2,... | --grid-param NAME=V1,V2,... | --grid-file FILE)... "
        "[--jobs N] [run-shadow's flags: what every cell shares]",
        description="Run a grid of settings over a market, a run-shadow per cell on every core; write a table "
        "(DIR/sweep.csv) and a page (DIR/sweep.html) of each cell's PnL, edge, fills and max |position|.",
        epilog="Every other flag is run-shadow's (run-shadow --help lists them) and sets what every cell shares, as "
        "do --config FILE and the MM_* variables, with run-shadow's precedence; a cell's values come on top. "
        "Example: sweep --out out --market sample --grid strategy=symmetric,inventory-skew --grid spread_bps=5,10,20 "
        '--grid-param skew_bps=5,20. docs/STRATEGIES.md, "Sweeps".',
        allow_abbrev=False,
    )
    parser.add_argument("--out", metavar="DIR", help="directory for sweep.csv, sweep.html and cells/ (created)")
    parser.add_argument(
        "--grid", action="append", default=[], metavar="KEY=V1,V2,...",
        help="a setting to sweep and its values: any key of run-shadow's (spread_bps or spread-bps, strategy, "
        "seed, ...); repeat for more, every combination is a cell",
    )  # fmt: skip
    parser.add_argument(
        "--grid-param", action="append", default=[], metavar="NAME=V1,V2,...",
        help="a strategy parameter to sweep (as --strategy-param sets one); left out of cells whose strategy "
        "does not declare it",
    )  # fmt: skip
    parser.add_argument(
        "--grid-file", type=Path, metavar="FILE",
        help="TOML: [grid] a list per key (spread_bps = [5, 10]), [grid.params] a list per strategy parameter",
    )  # fmt: skip
    parser.add_argument("--jobs", metavar="N", help="cells run at once (default: this machine's cores)")
    parser.add_argument(
        "--keep-events", action="store_true", help="keep each cell's order events (DIR/cells/N/events.csv)"
    )
    return parser


# ------------------------------------------------------------ the plan: every cell checked before any runs


@dataclass(frozen=True)
class Planned:
    """A cell and the run-shadow flags that run it."""

    cell: Cell
    argv: tuple[str, ...]
    sharded: bool
    """``--shards``/``--cluster``: no event log there, so no max |position|."""

    @property
    def command(self) -> str:
        """The command that prints this cell's report."""
        return shlex.join(["bin/run-shadow", *self.argv])


@dataclass(frozen=True)
class Plan:
    """What the sweep runs and where it writes."""

    out: Path
    jobs: int
    axes: tuple[Axis, ...]
    cells: tuple[Planned, ...]
    base: ShadowConfig
    base_argv: tuple[str, ...]
    environ: Mapping[str, str]
    keep_events: bool = False


def plan(argv: Sequence[str], environ: Mapping[str, str]) -> Plan:
    """The sweep the command line asks for, every cell's settings checked; :class:`ConfigError` or
    :class:`GridError` (one line) for the first thing wrong."""
    args, rest = build_parser().parse_known_args(negative_values_joined(argv))
    if not args.out:
        raise ConfigError("--out DIR is required: where the table, the page and each cell's report go")
    jobs = _jobs(args.jobs)
    shadow = run_shadow_parser()
    shadow_args, unknown = shadow.parse_known_args(rest)
    if unknown:
        raise ConfigError(_unknown(unknown, [build_parser(), shadow]))
    try:
        base = parse_config(rest, environ)
    except ConfigError as exc:
        hint = "; one for some of the strategies a sweep runs goes in --grid-param NAME=VALUE"
        raise ConfigError(f"{exc}{hint}" if "has no parameter" in str(exc) else str(exc)) from None
    for key in BASE_REFUSED:
        if getattr(base, key):
            why = "a sweep writes each cell's own (--keep-events)" if key == "events" else NOT_SWEPT[key]
            raise ConfigError(f"{_where(key, shadow_args, environ)}: not in a sweep: {why}")
    keys = [key for key in KEYS if key != "strategy_params"]
    axes = [parse_axis(text, param=False, keys=keys) for text in args.grid]
    axes += [parse_axis(text, param=True, keys=keys) for text in args.grid_param]
    if args.grid_file is not None:
        axes += axes_from_table(_read_toml(args.grid_file), f"--grid-file {args.grid_file}", keys)
    axes = merge(axes)
    cells = expand(axes, base_strategy=base.strategy, declares=_declares)
    overrides = {key: getattr(shadow_args, key, None) for key in KEYS if key != "freeze_utc_iso"}
    planned = []
    for cell in cells:
        cell_argv = _argv(shadow_args.config, overrides, cell)
        try:
            config = parse_config(cell_argv, environ)
            check_paths(config)
        except ConfigError as exc:
            raise ConfigError(f"cell {cell.number} ({cell.label}): {exc}") from None
        planned.append(Planned(cell, tuple(cell_argv), sharded=config.shards > 1 or bool(config.cluster)))
    out = _out_directory(args.out)
    base_argv = tuple(_argv(shadow_args.config, overrides, Cell(0, (), ())))
    return Plan(out, min(jobs, len(planned)), tuple(axes), tuple(planned), base, base_argv, environ, args.keep_events)


def _jobs(text: str | None) -> int:
    if text is None:
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    try:
        jobs = int(text)
    except ValueError:
        raise ConfigError(f"--jobs {text!r}: expected a whole number of processes") from None
    if not 1 <= jobs <= 1024:
        raise ConfigError(f"--jobs {jobs}: expected from 1 to 1024")
    return jobs


def _unknown(unknown: Sequence[str], parsers: Sequence[argparse.ArgumentParser]) -> str:
    """One line for the first word neither parser knows: the flag it is closest to, of the sweep's or run-shadow's."""
    flag = next((word.split("=", 1)[0] for word in unknown if word.startswith("-")), None)
    if flag is None:
        return f"unexpected argument {unknown[0]!r}: a value goes right after its flag (sweep --help)"
    options = [option for parser in parsers for action in parser._actions for option in action.option_strings]
    names = [option[2:] for option in options if option.startswith("--")]
    close = closest(flag.lstrip("-"), names)
    listed = "sweep --help and run-shadow --help list them"
    return f"unknown flag {flag}; " + (f"did you mean --{close}?" if close else listed)


def _where(key: str, args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """Which layer set ``key``: its flag, its variable, else the config file."""
    flag = "--" + key.replace("_", "-")
    if getattr(args, key, None) is not None:
        return flag
    if env_name(key) in environ:
        return f"environment {env_name(key)}"
    return f"--config {args.config}: {key}" if args.config else key


def _declares(strategy: str, name: str) -> bool:
    """Whether the strategy named ``strategy`` declares the parameter ``name``; no such strategy is an error."""
    try:
        cls = strategies.load(strategy)
    except ValueError as exc:
        raise GridError(f"strategy {strategy!r}: {exc}") from None
    return any(param.name == name for param in cls.PARAMS)


def _read_toml(path: Path) -> dict[str, Any]:
    input_file("--grid-file", str(path))
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--grid-file {path}: cannot read: {exc}") from None
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(f"--grid-file {path}: invalid TOML: {str(exc).splitlines()[0][:200]}") from None


def _argv(config_file: Path | None, overrides: Mapping[str, Any], cell: Cell) -> list[str]:
    """run-shadow's flags for ``cell``: the base's, each swept key's replaced by the cell's value, its swept
    parameters after the base's (a later one wins, as repeated ``--strategy-param`` flags do)."""
    values = dict(overrides)
    for name, setting in cell.settings:
        values[name] = [flag_text(setting)] if name in REPEATED else flag_text(setting)
    if cell.params:
        values["strategy_params"] = [*(values.get("strategy_params") or ()),
                                     *(f"{name}={flag_text(given)}" for name, given in cell.params)]  # fmt: skip
    argv = ["--config", str(config_file)] if config_file is not None else []
    for key in KEYS:  # the order of run-shadow --help
        value = values.get(key)
        if value is None:
            continue
        flag = ALIASES.get(key, "--" + key.replace("_", "-"))
        for item in value if isinstance(value, list) else [value]:
            text = flag_text(item) if isinstance(item, bool) else str(item)
            argv += [f"{flag}={text}"] if text.startswith("-") else [flag, text]
    return argv


def _out_directory(text: str) -> Path:
    """``--out``: created if missing (with its parents), writable; the cells of a sweep before it are replaced."""
    writable_directory("--out", text)
    out = Path(text)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if (out / CELLS).is_dir():
            shutil.rmtree(out / CELLS)
    except OSError as exc:
        raise ConfigError(f"--out {text}: {exc.strerror or exc}") from None
    return out


# ------------------------------------------------------------ running the cells


class Stopped(BaseException):
    """SIGTERM or SIGHUP: the sweep stops as on Ctrl-C, with the status a shell shows for that signal.

    A BaseException, as KeyboardInterrupt is: a user strategy's module imported while the cells are checked may
    catch ``Exception``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Wake(Exception):
    """Raised out of the wait for a cell to end, when a stop signal comes while the sweep waits."""


class Interrupt:
    """Ctrl-C, SIGTERM, SIGHUP: the first stops the sweep; later ones change nothing while the cells stop and the
    table is written (SIGKILL still ends it).

    Before the cells run it ends the command at once (KeyboardInterrupt or
    :class:`Stopped`).  While they run (``deferring``) it only notes the
    signal, and wakes the wait for a cell to end: raised anywhere else, it
    could lose a cell just started or just finished, and with it the stop of
    a run or a row of the table.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.deferring = False
        self.waiting = False

    def __call__(self, signum: int, _frame: object) -> None:
        if self.signum is not None:
            return
        self.signum = signum
        if self.waiting:
            raise _Wake
        if self.deferring:
            return
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Stopped(signum)

    @property
    def stop(self) -> BaseException | None:
        """What stopped the sweep, as the command reports it; None while nothing has."""
        if self.signum is None:
            return None
        return KeyboardInterrupt() if self.signum == signal.SIGINT else Stopped(self.signum)

    def wait_for_a_cell(self) -> None:
        """Block until some cell's process has ended, or a stop signal comes (not reaping it: ``poll()`` does)."""
        self.waiting = True
        try:
            if self.signum is None:
                with contextlib.suppress(ChildProcessError):
                    os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
        except _Wake:
            pass
        finally:
            self.waiting = False


@dataclass
class _Running:
    planned: Planned
    process: subprocess.Popen[bytes]
    directory: Path
    started: float = field(default_factory=time.monotonic)


def child_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The cells' environment: the sweep's, this package first on the path (``python -m actors`` runs this copy)."""
    root = str(Path(actors.__path__[0]).resolve().parent)  # the path entry this package was imported from
    child = dict(environ)
    child["PYTHONPATH"] = os.pathsep.join([root, *([child["PYTHONPATH"]] if child.get("PYTHONPATH") else [])])
    return child


def run_cells(plan: Plan, say: Any, interrupt: Interrupt) -> list[Outcome]:
    """Every cell, ``plan.jobs`` at a time, each finished one told to ``say``; what finished.

    A stop signal (``interrupt.stop``) stops the running cells first and
    starts no other.
    """
    pending = deque(plan.cells)
    running: list[_Running] = []
    finished: list[Outcome] = []
    width = len(str(len(plan.cells)))
    environ = child_environ(plan.environ)
    interrupt.deferring = True
    while (pending or running) and interrupt.signum is None:
        while pending and len(running) < plan.jobs and interrupt.signum is None:
            running.append(_start(pending.popleft(), plan, width, environ))
        interrupt.wait_for_a_cell()
        for item in [item for item in running if item.process.poll() is not None]:
            running.remove(item)
            outcome = _collect(item, plan)
            finished.append(outcome)
            say(_progress(outcome, len(finished), len(plan.cells), time.monotonic() - item.started))
    if interrupt.signum is not None:
        _stop(running)
    return finished


def _start(planned: Planned, plan: Plan, width: int, environ: dict[str, str]) -> _Running:
    directory = plan.out / CELLS / f"{planned.cell.number:0{width}d}"
    directory.mkdir(parents=True, exist_ok=True)
    argv = list(planned.argv)
    if not planned.sharded:
        argv += ["--events", str(directory / "events.csv")]  # for max |position|; an output: the report is the same
    with open(directory / "report.json.partial", "wb") as out, open(directory / "stderr.log", "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "actors", *argv], stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=environ,
            start_new_session=True,  # Ctrl-C at a terminal reaches the sweep alone, which stops each cell once
        )  # fmt: skip
    return _Running(planned, process, directory)


def _collect(item: _Running, plan: Plan) -> Outcome:
    """A finished cell's outcome: its report kept as ``report.json``, its figures, its error line."""
    code = item.process.returncode
    partial = item.directory / "report.json.partial"
    text = partial.read_bytes()
    error = _last_line(item.directory / "stderr.log") if code else ""
    relative = str((item.directory / "report.json").relative_to(plan.out))
    events = item.directory / "events.csv"
    cell, command = item.planned.cell, item.planned.command
    try:
        report = json.loads(text) if code in (0, 1) and text.strip() else None
    except ValueError:
        report = None
    if not isinstance(report, dict):
        partial.unlink(missing_ok=True)
        events.unlink(missing_ok=True)
        why = error or (f"killed by {_signal_name(-code)}" if code < 0 else f"exit status {code}")
        return Outcome(cell, "failed", {}, why, "", command)
    partial.replace(item.directory / "report.json")
    figures: dict[str, Any] = metrics(report)
    if events.exists():
        rows = read_events(events)
        figures["max_abs_position_usd"] = max_abs_position_usd(
            (row.symbol, row.side, row.price, row.quantity) for row in rows if row.event == "fill"
        )
        if not plan.keep_events:
            events.unlink()
    return Outcome(cell, "ok" if code == 0 else "incomplete", figures, error, relative, command)


def _last_line(path: Path) -> str:
    """The run's own word on what went wrong: its last ``run-shadow:`` line on stderr, else its last line."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    own = [line for line in lines if line.startswith("run-shadow:")]
    chosen = (own or lines or [""])[-1]
    return chosen if len(chosen) <= 500 else chosen[:497] + "..."


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _stop(running: Sequence[_Running]) -> None:
    """Each running cell gets SIGINT (it stops as run-shadow does on Ctrl-C), and SIGKILL if it is not gone in
    :data:`STOP_GRACE_S`; their partial reports are removed."""
    for item in running:
        if item.process.poll() is None:
            item.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_S
    for item in running:
        try:
            item.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            item.process.kill()
            item.process.wait()
        (item.directory / "report.json.partial").unlink(missing_ok=True)
        (item.directory / "events.csv").unlink(missing_ok=True)


def _progress(outcome: Outcome, done: int, total: int, seconds: float) -> str:
    """The line a finished cell gets on stderr."""
    head = f"{PROG}: {done}/{total} cell {outcome.cell.number} ({outcome.cell.label}): {outcome.status}"
    figures = outcome.figures
    if not figures:
        return f"{head}: {outcome.error} ({seconds:.1f} s)"
    edge = figures.get("edge_bps")
    position = figures.get("max_abs_position_usd")
    told = [
        f"PnL {figures.get('pnl_usd')} USD",
        f"edge {'-' if edge is None else edge} bps",
        f"{figures.get('fills')} fill{'' if figures.get('fills') == 1 else 's'}",
        f"max |position| {'-' if position is None else f'{position:,.2f}'} USD",
    ]
    tail = f"; {outcome.error}" if outcome.error else ""
    return f"{head}: {', '.join(told)} ({seconds:.1f} s){tail}"


# ------------------------------------------------------------ the outputs


def write_outputs(plan: Plan, outcomes: Sequence[Outcome], say: Any) -> None:
    """The table and the page of what finished (the page's charts need plotly: else said in one line)."""
    try:
        from actors.assembly._html_report import plotly_bundle
    except ImportError:
        bundle = None
        say(f"{PROG}: plotly is not installed (the observe extra: {INSTALL_HINT}): {plan.out / HTML_NAME} is the "
            "table alone, no charts")  # fmt: skip
    else:
        bundle = plotly_bundle()
    write_atomically(plan.out / CSV_NAME, table_csv(outcomes, plan.axes))
    market = ", ".join(plan.base.market) or "the synthetic market"
    counts = _counts(outcomes, len(plan.cells))
    swept = "; ".join(f"{axis.name}: {', '.join(flag_text(value) for value in axis.values)}" for axis in plan.axes)
    lines = [
        f"Swept: {swept}.",
        f"Every cell: {shlex.join(['bin/run-shadow', *plan.base_argv])}, its values on top; each cell's report is "
        "byte for byte what its command (the table's last column) prints.",
        f"{len(plan.cells)} cells: {', '.join(f'{n} {name}' for name, n in counts.items() if n or name == 'ok')}.",
        "Max |position|: the largest |position| x price one symbol reached, priced at the fill that made it.",
    ]
    title = f"sweep: {len(plan.cells)} cell{'' if len(plan.cells) == 1 else 's'} over {market}"
    page = build_page(outcomes, plan.axes, title=title, lines=lines, bundle=bundle)
    write_atomically(plan.out / HTML_NAME, page)


def _counts(outcomes: Sequence[Outcome], total: int) -> dict[str, int]:
    counts = {status: sum(1 for o in outcomes if o.status == status) for status in ("ok", "incomplete", "failed")}
    counts["not run"] = total - len(outcomes)
    return counts


def summary(plan: Plan, outcomes: Sequence[Outcome]) -> str:
    """The one JSON line on stdout: how many cells did what, where the outputs are, the best PnL."""
    counts = _counts(outcomes, len(plan.cells))
    priced = [o for o in outcomes if isinstance(o.figures.get("pnl_usd"), (int, float))]
    best = max(priced, key=lambda o: (o.figures["pnl_usd"], -o.cell.number), default=None)
    line: dict[str, Any] = {
        "cells": len(plan.cells), **{name.replace(" ", "_"): count for name, count in counts.items()},
        "csv": str(plan.out / CSV_NAME), "html": str(plan.out / HTML_NAME),
    }  # fmt: skip
    if best is not None:
        line["best_pnl"] = {"cell": best.cell.number, "settings": best.cell.label, "pnl_usd": best.figures["pnl_usd"]}
    return json.dumps(line) + "\n"


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point; returns the exit status (0: every cell ran; 1: some failed; 2: bad input; 130: Ctrl-C)."""
    interrupt = Interrupt()
    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        return _main(sys.argv[1:] if argv is None else argv, os.environ if environ is None else environ, interrupt)
    except (KeyboardInterrupt, Stopped) as stop:  # while checking the cells: nothing ran
        sys.stderr.write(f"{PROG}: {_stopped(stop)[0]}\n")
        return _stopped(stop)[1]
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stopped(stop: BaseException) -> tuple[str, int]:
    if isinstance(stop, Stopped):
        return f"stopped by {signal.Signals(stop.signum).name}", 128 + stop.signum
    return "interrupted", 128 + signal.SIGINT


def _main(argv: Sequence[str], environ: Mapping[str, str], interrupt: Interrupt) -> int:
    try:
        sweep = plan(argv, environ)
    except (ConfigError, GridError) as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return EXIT_USAGE

    def say(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    cells = len(sweep.cells)
    say(f"{PROG}: {cells} cell{'' if cells == 1 else 's'}, {sweep.jobs} at a time, into {sweep.out}")
    outcomes = run_cells(sweep, say, interrupt)
    stop = interrupt.stop
    try:
        write_outputs(sweep, outcomes, say)
    except OSError as exc:
        say(f"{PROG}: error: cannot write the table or the page in {sweep.out}: {exc.strerror or exc}")
        return EXIT_FAILED
    sys.stdout.write(summary(sweep, outcomes))
    sys.stdout.flush()
    if stop is not None:
        line, status = _stopped(stop)
        say(f"{PROG}: {line}: {len(outcomes)} of {cells} cells finished; {sweep.out / CSV_NAME} and "
            f"{sweep.out / HTML_NAME} have them")  # fmt: skip
        return status
    return 0 if all(outcome.status == "ok" for outcome in outcomes) else EXIT_FAILED


__all__ = ["Plan", "Planned", "build_parser", "main", "plan", "run_cells", "summary", "write_outputs"]
