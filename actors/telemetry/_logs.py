"""The engine's log: one line for each event an operator needs, through loguru (docs/OBSERVABILITY.md, "Logs").

Events are logged where they happen, each bound to a name and its figures
(:func:`event`): ``logger.bind(event="state", tick=12, ...)``.  The command
configures one handler on stderr (:func:`configure`): readable text, or with
``--log-format json`` one compact JSON object a line (time, level, event,
message, then the event's fields), never loguru's ``serialize`` record.
A record with an exception stays one line; its traceback is written only
when the handler shows DEBUG, and never with local variables (loguru's
``diagnose`` and ``backtrace`` are off).

Nothing here touches a report: a log call reads the state it names and
writes to stderr, so the report's bytes and every decision are the same
with any level or format.  What could repeat on a hot path is aggregated:
venue errors (:data:`VENUE_ERRORS`, at most one line per kind per
:data:`VENUE_ERRORS_EVERY_S`) and the pace falling behind
(:class:`Throttle`).  Per-order traffic is never logged above DEBUG.

Levels: state moves, a shard lost or back, venue errors, the pace falling
behind and a reconciliation that changed something are WARNING, which is
the default level, so an operator sees them without asking; start, resume
and the end's summary are INFO, so an ordinary run that does not freeze
writes nothing on stderr.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

import actors
from actors.wire._journal import journal_fingerprint

if TYPE_CHECKING:
    from loguru import Logger, Message, Record

    from actors.assembly._config import ShadowConfig
    from actors.core._trading_state import Transition

TEXT_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {message}"
"""A text line: when, how bad, what (the message names the event and its figures)."""
STATE_LEVEL = "WARNING"
"""The level of a move of the trading state: one the default level (WARNING) shows."""
SHOWN_SYMBOLS = 3
"""Symbols named in the start line; more are counted."""
VENUE_ERRORS_EVERY_S = 10.0
"""At most one line per kind of venue error in this many seconds; the others are counted into the next."""
PACE_EVERY_S = 5.0
"""At most one line about the pace falling behind in this many seconds of the runtime's clock."""


def event(name: str, **fields: object) -> Logger:
    """The logger bound to an event's name and figures (the JSON line's ``event`` and fields)."""
    return logger.bind(event=name, **fields)


# ---------------------------------------------------------------- the handler


def state_moved(move: Transition) -> None:
    """The line of one move of the trading state (at :data:`STATE_LEVEL`, which the default level shows)."""
    fields = {"tick": move.tick, "from": move.source.value, "to": move.target.value, "reason": move.reason}
    event("state", **fields).log(STATE_LEVEL, "state: {} -> {} at tick {}: {}", move.source.value, move.target.value,
                                 move.tick, move.reason)  # fmt: skip


def configure(level: str, log_format: str = "text", stream: TextIO | None = None) -> int:
    """Replace every loguru handler with one on ``stream`` (default: stderr, looked up at each line): ``text`` or
    ``json`` lines from ``level`` up.

    Returns the handler's id.  A traceback is written only if ``level``
    shows DEBUG; local variables never are.
    """
    tracebacks = logger.level(level).no <= logger.level("DEBUG").no
    logger.remove()
    if log_format == "json":
        return logger.add(_JsonSink(stream, tracebacks=tracebacks), level=level, format="{message}", colorize=False,
                          backtrace=False, diagnose=False)  # fmt: skip
    out = stream if stream is not None else _to_stderr
    with_traceback, without = TEXT_FORMAT + "\n{exception}", TEXT_FORMAT + "\n"

    def text(record: Record) -> str:
        return with_traceback if tracebacks and record["exception"] else without

    return logger.add(out, level=level, format=text, colorize=False, backtrace=False, diagnose=False)


def _to_stderr(line: str) -> None:
    """Write to the stderr of the moment (not the one of :func:`configure`'s: a test's capture may be gone).

    On a terminal the progress line is cleared first (carriage return, clear
    to the end of the line): it is written again below at its next update.
    """
    err = sys.stderr
    err.write("\r\x1b[K" + line if err.isatty() else line)
    err.flush()


class _JsonSink:
    """One JSON object a line: ``time``, ``level``, ``event``, ``message``, the event's fields, then any exception."""

    def __init__(self, stream: TextIO | None, *, tracebacks: bool) -> None:
        self.stream = stream
        self.tracebacks = tracebacks

    def __call__(self, message: Message) -> None:
        record = message.record
        extra = dict(record["extra"])
        name = str(extra.pop("event", "") or record["name"] or "log")
        fields: dict[str, Any] = {key: value for key, value in sorted(extra.items())}
        exception = record["exception"]
        if exception is not None and exception.type is not None:
            fields["exception"] = f"{exception.type.__name__}: {exception.value}"
            if self.tracebacks:
                fields["traceback"] = str(message)[len(record["message"]) + 1 :].rstrip("\n")  # loguru appends it
        line = json_line(record["level"].name, name, record["message"], when=record["time"].timestamp(), **fields)
        out = self.stream if self.stream is not None else sys.stderr
        out.write(line + "\n")
        out.flush()


def json_line(level: str, name: str, message: str, *, when: float | None = None, **fields: object) -> str:
    """One log line as ``--log-format json`` writes it (the command's own error lines use it too)."""
    moment = time.time() if when is None else when
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment * 1000) % 1000:03d}Z"
    line = {"time": stamp, "level": level, "event": name, "message": message, **fields}
    return json.dumps(line, default=str, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------- start and end


def settings_hash(config: ShadowConfig) -> str:
    """A short hash of the journal's fingerprint: two runs with the same one trade and meet the venue alike."""
    text = json.dumps(journal_fingerprint(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def shown(names: Sequence[str], limit: int = SHOWN_SYMBOLS) -> str:
    """``A, B, C`` or ``500: A, B, C, ...``: a list named in full only when short."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{len(names)}: {', '.join(names[:limit])}, ..."


def run_started(config: ShadowConfig) -> None:
    """The start line: version, runtime, symbols, market, journal, settings' hash (INFO)."""
    market = " ".join(config.market) if config.market else f"random walk (seed {config.seed})"
    paced = f", paced every {config.tick_ms:g} ms" if config.pace == "realtime" else ""
    sharded = f", {config.shards} shards ({config.cluster or 'local'})" if config.shards > 1 or config.cluster else ""
    settings = settings_hash(config)
    VENUE_ERRORS.reset()  # what an earlier run of this process left uncounted is not this run's
    event(
        "start", version=actors.__version__, runtime=config.runtime, symbols=len(config.symbols),
        symbols_shown=shown(config.symbols), market=market, journal=config.journal, iterations=config.iterations,
        pace=config.pace, settings=settings,
    ).info(
        "start: actors {} on {}{}{}, {} ticks, symbols {}, market {}, journal {}, settings {}",
        actors.__version__, config.runtime, sharded, paced, config.iterations, shown(config.symbols), market,
        config.journal or "none", settings,
    )  # fmt: skip


def run_ended(report: Mapping[str, Any], elapsed_s: float, *, pace_due_s: float | None = None,
              behind_s: float = 0.0) -> None:  # fmt: skip
    """The end line from the report: ticks, orders placed and filled, PnL, state, venue errors, time (INFO).

    Venue errors counted since their last line are written first.
    """
    VENUE_ERRORS.flush()
    execution, orders, risk = report["execution"], report["orders"], report["risk"]
    paced = ""
    if pace_due_s is not None:
        paced = f" ({pace_due_s:.1f} s due at the pace" + (f", behind by up to {behind_s:.2f} s)" if behind_s else ")")
    event(
        "end", ticks=execution["ticks"], iterations=execution["iterations"], placed=orders["placed"],
        filled=orders["filled"], fills=report["fills"]["count"], pnl_usd=report["pnl"]["total_usd"],
        state=risk["state"], venue_errors=report["exchange"]["errors"], elapsed_s=round(elapsed_s, 3),
    ).info(
        "end: {} of {} ticks, {} orders placed, {} filled ({} fills), PnL {} USD, {}, {} venue errors, {:.2f} s{}",
        execution["ticks"], execution["iterations"], orders["placed"], orders["filled"], report["fills"]["count"],
        report["pnl"]["total_usd"], risk["state"], report["exchange"]["errors"], elapsed_s, paced,
    )  # fmt: skip


# ---------------------------------------------------------------- aggregation


class Tally:
    """Errors counted by kind: the first of a kind is logged at once, then at most one line per ``every_s``.

    Safe from any thread (a sharded run in one process has a gateway per
    shard).  Noting an error costs a clock read and a dict update; the
    message is built only for a line that is written.
    """

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self.clock = clock
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        """Errors of each kind not yet in a line."""
        self.latest: dict[str, object] = {}
        self.logged_at: dict[str, float] = {}

    def note(self, kind: str, error: object) -> None:
        """One more error of ``kind``: logged now if none of its kind was in the last ``every_s``."""
        now = self.clock()
        with self.lock:
            count = self.counts.get(kind, 0) + 1
            last = self.logged_at.get(kind)
            if last is not None and now - last < self.every_s:
                self.counts[kind], self.latest[kind] = count, error
                return
            self.counts[kind], self.logged_at[kind] = 0, now
        self._write(kind, count, error, None if last is None else now - last)

    def reset(self) -> None:
        """Forget every count (a new run starts)."""
        with self.lock:
            self.counts.clear()
            self.latest.clear()
            self.logged_at.clear()

    def flush(self) -> None:
        """A line for each kind with errors not yet written (the run's end); then start afresh."""
        now = self.clock()
        with self.lock:
            due = [(kind, count, self.latest.get(kind), now - self.logged_at.get(kind, now))
                   for kind, count in sorted(self.counts.items()) if count]  # fmt: skip
            self.counts.clear()
            self.latest.clear()
            self.logged_at.clear()
        for kind, count, error, since in due:
            self._write(kind, count, error, since)

    @staticmethod
    def _write(kind: str, count: int, error: object, since: float | None) -> None:
        bound = event("venue_error", kind=kind, count=count, error=str(error))
        if since is None:
            bound.warning("venue error on {}: {} (each kind is logged at most every {:g} s, with its count)", kind,
                          error, VENUE_ERRORS_EVERY_S)  # fmt: skip
        else:
            bound.warning("venue errors on {}: {} in the last {:.1f} s (latest: {})", kind, count, since, error)


VENUE_ERRORS = Tally(VENUE_ERRORS_EVERY_S)
"""The venue's errors of this process, by kind (the gateways note them; the end line flushes them)."""


class Throttle:
    """At most one ``True`` per ``every_s`` of the clock given to :meth:`due` (the first is always due)."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.last: float | None = None

    def due(self, now: float) -> bool:
        """Whether a line may be written at ``now``; if so, the next one waits ``every_s``."""
        if self.last is not None and now - self.last < self.every_s:
            return False
        self.last = now
        return True
