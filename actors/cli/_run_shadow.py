"""``bin/run-shadow`` / ``python -m actors``: a deterministic shadow run, one JSON line out.

Errors in flags, environment or config files end with exactly one line on
stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from loguru import logger

from actors.assembly._config import (
    GROUPS,
    KEYS,
    ConfigError,
    Key,
    ShadowConfig,
    check_paths,
    closest,
    default_values,
    env_name,
    resolve,
)
from actors.assembly._market_setup import market_clock, warn_made_up_prices, warn_market_gaps
from actors.assembly._recovery import VenueDisagrees
from actors.assembly._report import build_report, render
from actors.assembly._system import Progress, System
from actors.cli._watch import Watch
from actors.cluster import RunLost
from actors.cluster._address import keep_on_loopback, unreachable
from actors.cluster._journals import finished_sharded_report, one_process_refusal, shards_in
from actors.cluster._kill_switch import Freezable
from actors.core._trading_state import HaltKind, halt_kind
from actors.markets._events import MarketDataError
from actors.runtime import IdleTimeout, create_runtime
from actors.runtime._gc_tuning import tune_gc
from actors.runtime._loop import CallerInterrupted
from actors.telemetry._logs import configure as configure_logs
from actors.telemetry._logs import json_line, run_ended, run_started
from actors.telemetry._telemetry import STATE_NAMES, Telemetry
from actors.wire._journal import JournalError

PROG = "run-shadow"
EXIT_USAGE = 2
EXIT_INCOMPLETE = 1
"""The report is printed, but the run stopped before its last tick (an actor gave up)."""
EXIT_INTERRUPTED = 130
"""As a shell reports a process ended by SIGINT."""


class RunIncomplete(RuntimeError):
    """The run could not finish as asked (a tick undecided, a freeze incomplete); ``report`` says how far it got."""

    def __init__(self, report: str, reason: str) -> None:
        super().__init__(reason)
        self.report = report


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


class _Switch(argparse.BooleanOptionalAction):
    """``--flatten-on-halt`` / ``--no-flatten-on-halt`` for a true/false key.

    The positive form also takes a value, ``--flatten-on-halt true|false``,
    as the flag did before it was a switch: commands written for it keep
    working.  A value is passed on as text, so that :func:`resolve` checks it
    as it checks the key's and the variable's (one message for all three).
    """

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.nargs = "?"

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        negative = option_string is not None and option_string.startswith("--no-")
        if negative and values is not None:
            raise ConfigError(f"flag {option_string}: takes no value (it is {self.option_strings[0]} false)")
        setattr(namespace, self.dest, False if negative else True if values is None else values)


class _Help(argparse.HelpFormatter):
    """Help whose switches read ``--flatten-on-halt, --no-flatten-on-halt`` (their optional value is in the text)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if isinstance(action, _Switch):
            return ", ".join(action.option_strings)
        return super()._format_action_invocation(action)


REPEATED = ("market", "strategy_params")
"""Keys whose flag is given once per value: ``--market A --market B``, ``--strategy-param K=V`` per parameter."""
ALIASES = {"strategy_params": "--strategy-param"}
"""A key's flag as it is written first (``--strategy-param gamma=0.1``; ``--strategy-params`` works too)."""


def build_parser() -> argparse.ArgumentParser:
    """The command line: one flag per configuration key, in the groups of :data:`GROUPS`, plus --config and --shadow.

    Each flag's help ends with its default (from ``conf/default.toml``, the
    one place defaults live) and its unit; a true/false key is a switch.
    """
    defaults = {key: value for key, (_source, value) in default_values().items()}
    parser = _Parser(
        prog=PROG,
        usage="%(prog)s [--config FILE] [--OPTION VALUE | --SWITCH | --no-SWITCH ...]",
        description="Run the market-making engine against a deterministic fake exchange and print one JSON report.",
        epilog=f"Each option is also a key of a --config TOML file (--max-inv: max_inv) and an environment variable "
        f"(MM_MAX_INV). Precedence: flags > environment > --config FILE > conf/default.toml. The frozen clock starts "
        f"at MM_FREEZE_UTC_ISO (key freeze_utc_iso; default: {defaults['freeze_utc_iso']}). A negative number is a "
        f"value (--edge-threshold -1e3).",
        formatter_class=_Help,
        allow_abbrev=False,
        add_help=False,
    )
    groups = {name: parser.add_argument_group(name, description) for name, description in GROUPS.items()}
    run_group = groups["run"]
    run_group.add_argument("-h", "--help", action="help", help="show this help and exit")
    run_group.add_argument("--config", type=Path, metavar="FILE", help="TOML file with any of the keys below")
    run_group.add_argument("--shadow", action="store_true", help="accepted for clarity: a shadow run is what this does")
    for key, spec in KEYS.items():
        if key == "freeze_utc_iso":
            continue  # set through MM_FREEZE_UTC_ISO or the config file
        flag = "--" + key.replace("_", "-")
        default = _default_shown(defaults[key], spec)
        group = groups[spec.group]
        if spec.toml_types == (bool,):
            text = f"{spec.help} (default: {default}; {flag} true|false also works)"
            group.add_argument(flag, dest=key, action=_Switch, help=text.replace("%", "%%"))
            continue
        action = "append" if key in REPEATED else "store"  # --market PATH, repeated for more files
        text = f"{spec.help} (default: {default})"
        flags = (ALIASES[key], flag) if key in ALIASES else (flag,)
        group.add_argument(*flags, dest=key, metavar=_placeholder(key), action=action, help=text.replace("%", "%%"))
    return parser


def _placeholder(key: str) -> str:
    """What a flag's value is called in --help: N for a count, the unit of a quantity (USD, BPS, MS), else a name."""
    spec = KEYS[key]
    if spec.metavar:
        return spec.metavar
    if spec.toml_types == (int,):
        return "N"
    return spec.unit.upper() if spec.unit else key.rsplit("_", maxsplit=1)[-1].upper()


def _default_shown(value: object, spec: Key) -> str:
    """A default of conf/default.toml as --help shows it: with its unit, 'off' where 0 or nothing turns it off."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(str(item) for item in value) if value else "none"
    if value in ("", {}):
        return "none"
    if value == 0 and "0 = off" in spec.help:
        return "off"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value} {spec.unit}" if spec.unit and isinstance(value, (int, float)) else str(value)


def parse_config(argv: Sequence[str], environ: Mapping[str, str]) -> ShadowConfig:
    """Flags + environment + files -> a validated config, or :class:`ConfigError`."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(negative_values_joined(argv))
    if unknown:
        raise ConfigError(_unknown_arguments(parser, unknown))
    overrides: dict[str, Any] = {key: getattr(args, key, None) for key in KEYS if key != "freeze_utc_iso"}
    return resolve(config_file=args.config, environ=environ, overrides=overrides)


def _unknown_arguments(parser: argparse.ArgumentParser, unknown: Sequence[str]) -> str:
    """One line for what the parser did not know: the first unknown flag and the flag it is closest to."""
    flag = next((word.split("=", 1)[0] for word in unknown if word.startswith("-")), None)
    if flag is None:
        return f"unexpected argument {unknown[0]!r}: a value goes right after its flag (run-shadow --help)"
    options = [option for action in parser._actions for option in action.option_strings if option.startswith("--")]
    names = [option[2:] for option in options if not option.startswith("--no-") or flag.startswith("--no-")]
    close = closest(flag.lstrip("-"), names)
    return f"unknown flag {flag}; " + (f"did you mean --{close}?" if close else "run-shadow --help lists them")


def negative_values_joined(argv: Sequence[str]) -> list[str]:
    """``--flag -1e3`` as ``--flag=-1e3``: a negative number in any notation is a value, not a flag.

    argparse takes ``-1`` and ``-1.5`` as values but ``-1e3`` or ``-inf`` as
    an unknown option; joining them to their flag is the documented way to
    pass a value that starts with a dash.
    """
    joined: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        following = argv[index + 1] if index + 1 < len(argv) else ""
        if word.startswith("--") and "=" not in word and following.startswith("-") and _is_number(following):
            joined.append(f"{word}={following}")
            index += 2
            continue
        joined.append(word)
        index += 1
    return joined


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


KILL_SWITCH = signal.SIGUSR1
KILL_SWITCH_REASON = "Operator: SIGUSR1 (kill switch)"


class KillSwitch:
    """The SIGUSR1 handler: halts the run for good with :data:`KILL_SWITCH_REASON`.

    Installed as the command starts, before there is a system, so that a
    pull during start-up neither kills the process (SIGUSR1's default) nor
    is lost: it halts the run as soon as the system exists.  The launchers
    (:mod:`actors.cli._launch`) cover the imports before that with a stdlib
    handler whose pull this one takes over (:meth:`take_over`).  As main()
    returns, SIGUSR1 is ignored:
    set back to the default, or to a Python handler (which the interpreter
    resets to the default as it exits), a late pull would kill the process
    (exit 138), perhaps before the report is out.  The handler only queues
    (:meth:`System.freeze_from_signal`): it takes no lock.  A sharded run
    attaches its coordinator through a thread that makes the call
    (:mod:`actors.cluster._kill_switch`).
    """

    def __init__(self) -> None:
        self.system: Freezable | None = None
        self.pulled = False

    def __call__(self, _signum: int, _frame: object) -> None:
        self.pulled = True
        if self.system is not None:
            self.system.freeze_from_signal(KILL_SWITCH_REASON)

    def take_over(self, previous: object) -> None:
        """A pull the handler this one replaced recorded (the launcher's, while the modules loaded) counts."""
        self.pulled = self.pulled or getattr(previous, "pulled", False) is True

    def attach(self, system: Freezable) -> None:
        """The run's system (a sharded run's: its coordinator); a pull that came before halts it now.

        A second request changes nothing.
        """
        self.system = system
        if self.pulled:
            system.freeze_from_signal(KILL_SWITCH_REASON)


def run(config: ShadowConfig, *, show_progress: bool = False, kill_switch: KillSwitch | None = None) -> str:
    """Run one shadow run and return the report text (the process's collector tuned for it).

    ``kill_switch`` (the command installs one for SIGUSR1) halts trading for
    good when pulled, and the run goes on to its last tick and reports, the
    report showing the freeze.

    A journal that holds this run finished gives its report again, and
    nothing starts or is written; a run that finishes leaves its report in
    the journal for that (docs/RELIABILITY.md, "Durability: the journal").
    """
    tune_gc()
    check_paths(config)  # every input and the journal directory: one line naming what is wrong, before anything
    if config.shards > 1 or config.cluster:
        return run_sharded(config, kill_switch)
    if shards_in(config.journal):
        raise JournalError(one_process_refusal(config))
    watch = Watch.wanted(config, progress=show_progress)  # refuses bad outputs before anything starts
    runtime = create_runtime(config.runtime, **({"seed": config.seed} if config.runtime == "sim" else {}))
    telemetry = watch.telemetry if watch is not None else None
    try:
        system = System(runtime, config, telemetry=telemetry)
    except (JournalError, MarketDataError, ConfigError):
        runtime.shutdown()
        if watch is not None:
            watch.close()
        raise
    if kill_switch is not None:
        kill_switch.attach(system)
    config = system.config  # settled: the symbols and ticks a recorded market gave
    warn_made_up_prices(config)
    warn_market_gaps(system.recording)
    if watch is not None:
        watch.settle(config, system.instruments, market_clock(system.recording))
    try:
        if system.finished is not None:
            logger.bind(event="finished").info("the journal holds this run finished: its report again, nothing runs")
            return system.finished
        run_started(config)
        started = time.monotonic()
        config = _run_to_end(system, _progress_printer(telemetry) if show_progress else None)
        report = build_report(system)
        paced = config.pace == "realtime"
        due = (config.iterations - (system.resumed_after_tick or 0)) * config.tick_ms / 1000.0 if paced else None
        run_ended(report, time.monotonic() - started, pace_due_s=due, behind_s=system.progress.worst_late_s)
        if watch is not None:
            watch.finish(system, report)  # an output that fails is a warning, never the run's failure
        judge(report, ended_early=system.ended_early is not None, iterations=config.iterations)
        system.final_report = render(report)
        return system.final_report
    except (KeyboardInterrupt, CallerInterrupted):
        logger.remove()  # stopping mid-tick dead-letters what is in flight: expected, and not news
        raise
    finally:
        system.stop()
        if watch is not None:
            watch.close()


def _run_to_end(system: System, progress: Progress | None) -> ShadowConfig:
    """Run ``system``; a live run the user stops (Ctrl-C, SIGTERM) ends there and reports: it has no other end.

    Returns the settled configuration (a live run stopped early: its iterations are the ticks it ran).
    """
    try:
        system.start()
        system.run(progress=progress)
    except (KeyboardInterrupt, CallerInterrupted):
        if system.live is None:
            raise
        logger.bind(event="live_ended").warning(
            "stopped: the live run ends after tick {} and reports", system.progress.sent_through
        )
        system.end_live()
    system.empty_the_venue()  # a real venue's: every order canceled and confirmed before the report
    return system.config


def judge(report: dict[str, Any], *, ended_early: bool, iterations: int) -> None:
    """Raise :class:`RunIncomplete` (with the report) for a run that stopped early or left orders open."""
    if ended_early:
        reason = report["risk"]["last_freeze_reason"] or ""
        lost = halt_kind(reason) in (HaltKind.ESCALATION, HaltKind.SHARD_LOST)  # the report has the text alone
        why = reason if lost else "an actor on the tick path stopped (see the log)"
        ticks = report["execution"]["ticks"]
        raise RunIncomplete(render(report), f"the run stopped after tick {ticks} of {iterations}: {why}")
    if "freeze_incomplete" in report["risk"]:
        left = report["risk"]["freeze_incomplete"]
        error = left["last_venue_error"] or "none"
        raise RunIncomplete(
            render(report),
            f"the freeze could not complete: {left['store_open']} orders still open "
            f"(last venue error: {error}); cancel them by hand",
        )


SHARDED_UNSUPPORTED = (
    ("pace", "realtime", "--pace realtime"),
    ("metrics_port", None, "--metrics-port"),
    ("metrics_file", None, "--metrics-file"),
    ("events", None, "--events"),
    ("html", None, "--html"),
)
"""Settings a sharded run does not take yet (docs/SCALING.md, "Not yet")."""


def run_sharded(config: ShadowConfig, kill_switch: KillSwitch | None = None) -> str:
    """``--shards N`` / ``--cluster``: the run sharded over Ray actors (or this process); the report text.

    ``kill_switch`` freezes every shard through the coordinator, from the
    moment the coordinator is up (a pull before that: then).
    """
    for key, value, flag in SHARDED_UNSUPPORTED:
        current = getattr(config, key)
        if (value is None and current) or (value is not None and current == value):
            raise ConfigError(f"{flag}: not available with --shards/--cluster yet (docs/SCALING.md)")
    if config.journal and (Path(config.journal) / "store.journal").exists():
        raise ConfigError(f"--journal {config.journal}: holds a one-process run's journals; run it without --shards "
                          "and --cluster, or give another directory")  # fmt: skip
    if shards_in(config.journal):  # a rerun of a finished sharded run prints its report; nothing starts
        return finished_sharded_report(config)
    warn_made_up_prices(config)
    if config.cluster not in ("", "local", "in-process"):
        why = unreachable(config.cluster)
        if why:
            raise ConfigError(f"--cluster {config.cluster}: {why}")
    started = time.monotonic()  # the start line: once the hosts have read the market (run_in_process, run_on_ray)
    if config.cluster == "in-process":
        from actors.cluster import run_in_process

        report, text, ended = run_in_process(config, kill_switch=kill_switch)
    else:
        if config.cluster in ("", "local"):
            keep_on_loopback()  # a local instance listens on 127.0.0.1 only (docs/SCALING.md)
        try:
            from actors.cluster._ray import run_on_ray
        except ImportError:
            raise ConfigError(
                f"--shards {config.shards}: sharding over processes needs Ray: pip install -e '.[cluster]' "
                "(or --cluster in-process)"
            ) from None

        figures: dict[str, Any] = {}

        def told(address: str, name: str, seconds: float) -> None:
            log = f"; Ray's own log: {figures['ray_log']}" if figures.get("ray_log") else ""
            sys.stderr.write(
                f"{PROG}: {config.shards} shards on Ray at {address} ({seconds:.1f} s to start{log}); freeze them "
                f"with: bin/mm-freeze --cluster {address} --run {name} --reason TEXT\n"
            )
            sys.stderr.flush()

        text, ended = run_on_ray(config, on_address=told, figures=figures, kill_switch=kill_switch)
        report = json.loads(text)
    run_ended(report, time.monotonic() - started)
    judge(report, ended_early=ended.early, iterations=report["execution"]["iterations"])
    return text


def _say(line: str, *, json_lines: bool) -> None:
    """One line on stderr: text, or with ``--log-format json`` one object shaped as every log line (event
    ``error``), so that every line on stderr parses."""
    if json_lines:
        sys.stderr.write(json_line("ERROR", "error", line) + "\n")
    else:
        sys.stderr.write(line + "\n")


def _progress_printer(telemetry: Telemetry | None = None, stream: Any = None) -> Any:
    """The live line of a long run (shown only on a terminal): tick, orders/s, open orders, trading state.

    Rewritten in place (carriage return, clear to the end of the line) at
    most every :data:`actors.assembly._system.PROGRESS_S`, after the first second, and
    ended once; orders/s is over the time since the line was last written,
    on the final line over the whole run.  A write that fails switches the
    line off (told to ``telemetry``): it never stops the run.
    """
    out = stream if stream is not None else sys.stderr
    started = time.monotonic()
    first = telemetry.orders.placed if telemetry is not None else 0
    last = [started, first]
    ended = [False]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if ended[0] or (now - started <= 1.0 and done != total):
            return
        line = f"\r{PROG}: tick {done}/{total}"
        if telemetry is not None:
            placed = telemetry.orders.placed
            since, count = (started, first) if done == total else (last[0], last[1])
            rate = (placed - count) / max(now - since, 1e-9)  # the last line: over the whole run
            last[0], last[1] = now, placed
            state = STATE_NAMES[telemetry.trading_state]
            line += f" | {rate:,.0f} orders/s | {telemetry.orders.open} open | {state}"
        try:
            out.write(line + "\x1b[K" + ("\n" if done == total else ""))
            out.flush()
        except OSError as exc:  # the terminal gone (EIO): the line is off, the run goes on
            ended[0] = True
            if telemetry is not None:
                telemetry.output_failed("progress line", f"stderr: {exc.strerror or exc}")
            else:
                logger.warning("progress line failed and is switched off; the run goes on: stderr: {}", exc)
        if done == total:
            ended[0] = True

    return show


STOPS = (signal.SIGTERM, signal.SIGHUP)
"""What a service manager (``docker stop``, systemd) and a closed terminal send: they end a run as Ctrl-C does."""


class Stopped(CallerInterrupted):
    """SIGTERM or SIGHUP during a run: it ends as on Ctrl-C, with the exit status a shell shows for that signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Interrupt:
    """The handler of Ctrl-C, SIGTERM and SIGHUP: the first ends the run's wait, whichever thread runs the actors.

    The sim runs them on this one.  Later ones change nothing: the run is
    then stopping its actors and closing its journals (on Ray: stopping its
    shards and its Ray instance), which a second signal must not cut short
    (SIGKILL still does, and a journal survives that too).
    """

    def __init__(self) -> None:
        self.stopping = False

    def __call__(self, signum: int, _frame: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        if signum == signal.SIGINT:
            raise CallerInterrupted
        raise Stopped(signum)


def _stopped_status(stop: BaseException) -> tuple[str, int]:
    """What the command says and its exit status for an interruption: 130 for Ctrl-C, 128 + N for signal N."""
    signum = stop.signum if isinstance(stop, Stopped) else signal.SIGINT
    if signum == signal.SIGINT:
        return "interrupted", EXIT_INTERRUPTED
    return f"stopped by {signal.Signals(signum).name}", 128 + signum


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point; returns the exit status."""
    kill_switch = KillSwitch()
    previous_kill_switch = signal.signal(KILL_SWITCH, kill_switch)  # from the first moment: never SIGUSR1's default
    kill_switch.take_over(previous_kill_switch)
    interrupt = _Interrupt()
    previous_stops = {number: signal.signal(number, interrupt) for number in STOPS}
    try:
        return _main(argv, environ, kill_switch, interrupt)
    except (KeyboardInterrupt, CallerInterrupted) as stop:  # before the command could say anything of its run
        line, status = _stopped_status(stop)
        sys.stderr.write(f"{PROG}: {line}\n")
        return status
    finally:
        sys.stdout.flush()  # the report is out before a late pull can do anything to the process
        signal.signal(KILL_SWITCH, signal.SIG_IGN)  # not the handler before: Python resets those to the default
        for number, handler in previous_stops.items():
            signal.signal(number, handler)


def _main(
    argv: Sequence[str] | None, environ: Mapping[str, str] | None, kill_switch: KillSwitch, interrupt: _Interrupt
) -> int:
    environ = os.environ if environ is None else environ
    try:
        config = parse_config(sys.argv[1:] if argv is None else argv, environ)
    except ConfigError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return EXIT_USAGE
    except (KeyboardInterrupt, CallerInterrupted) as stop:  # while reading a config file from a terminal or a pipe
        line, status = _stopped_status(stop)
        sys.stderr.write(f"{PROG}: {line}\n")
        return status
    json_lines = config.log_format == "json"
    configure_logs(config.log_level, config.log_format)

    def say(line: str) -> None:
        _say(f"{PROG}: {line}", json_lines=json_lines)

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        text = run(config, show_progress=sys.stderr.isatty() and not json_lines, kill_switch=kill_switch)
    except (MarketDataError, ConfigError) as exc:  # bad market data; an output of --events, --html, --metrics-* refused
        say(f"error: {exc}")
        return EXIT_USAGE
    except JournalError as exc:
        say(f"error: --journal {config.journal}: {exc}")
        return EXIT_USAGE
    except VenueDisagrees as exc:
        say(f"error: --venue {config.venue}: {exc}")
        return EXIT_INCOMPLETE
    except IdleTimeout as exc:
        say(f"error: the run stalled: {exc}")
        return EXIT_INCOMPLETE
    except RunLost as exc:
        say(f"error: {exc}")
        return EXIT_INCOMPLETE
    except RunIncomplete as incomplete:
        sys.stdout.write(incomplete.report)
        sys.stdout.flush()
        say(f"error: {incomplete}")
        return EXIT_INCOMPLETE
    except (KeyboardInterrupt, CallerInterrupted) as stop:
        line, status = _stopped_status(stop)
        one_process = config.shards <= 1 and not config.cluster  # a whole sharded run cannot go on yet
        resumable = f"; rerun with --journal {config.journal} to resume" if config.journal and one_process else ""
        say(f"{line}{resumable}")
        return status
    finally:
        signal.signal(signal.SIGINT, previous)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


__all__ = ["KillSwitch", "RunIncomplete", "Stopped", "main", "run", "env_name"]
