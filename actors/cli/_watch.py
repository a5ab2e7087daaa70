"""The command's side of seeing a run: check and open what was asked for before it starts, write it after.

Everything that can be refused is refused before any actor starts, as one
:class:`~actors.assembly._config.ConfigError` line (exit status 2): a missing extra, an
output file that cannot be written, two outputs on one file, a metrics port
that cannot be listened on.  After the run, :meth:`Watch.finish` writes the
metrics file and the HTML report (built from the event log, which is written
to a temporary file when ``--events`` was not asked for).

Once the run has started, an output that fails (a full disk, a directory
removed) never fails the run: it is told to the telemetry
(:meth:`Telemetry.output_failed`: one warning, counted) and written no more.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from loguru import logger

from actors.assembly._config import ConfigError, ShadowConfig, output_file
from actors.core._clock import FrozenClock, MarketClock
from actors.core._instruments import instrument_for
from actors.core._types import Instrument
from actors.telemetry._order_events import EventLog
from actors.telemetry._telemetry import Telemetry

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from actors.assembly._system import System
    from actors.telemetry._metrics import MetricsServer

INSTALL_HINT = "pip install -e '.[observe]'"


def require_extra(module: str, flag: str) -> None:
    """Import ``module`` (of the ``observe`` extra) or refuse ``flag`` in one line saying how to install it."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{flag} needs the package {module}, which is not installed: {INSTALL_HINT}") from None


def _refuse_inputs(config: ShadowConfig, outputs: dict[str, Path]) -> None:
    """An output that is one of the run's inputs (a market file, the instruments table, a journal) is refused.

    Writing it would destroy what the run reads: a market file emptied, a
    journal that can no longer resume.  A market directory or the journal
    directory refuses every file in it.
    """
    inputs: list[tuple[str, Path, bool]] = [("--market", Path(text), Path(text).is_dir()) for text in config.market]
    if config.instruments:
        inputs.append(("--instruments", Path(config.instruments), False))
    if config.journal:
        inputs.append(("--journal", Path(config.journal), True))
    for flag, path in outputs.items():
        target = path.resolve()
        for source, given, is_dir in inputs:
            where = given.resolve()
            if target == where or (is_dir and where in target.parents):
                shown = f"{source} {str(given)!r}"
                raise ConfigError(f"{flag} {str(path)!r}: is an input of the run ({shown}); give another file")


class Watch:
    """What one run shows: its telemetry, the event log, the metrics server and files, the HTML report."""

    def __init__(self, config: ShadowConfig) -> None:
        """Check every output and open the event log and the server; ConfigError names what is wrong."""
        self.config = config
        self.metrics = bool(config.metrics_port or config.metrics_file)
        if self.metrics:
            require_extra("prometheus_client", "--metrics-port" if config.metrics_port else "--metrics-file")
        if config.html:
            require_extra("plotly", "--html")
        outputs = {flag: output_file(flag, text) for flag, text in
                   (("--events", config.events), ("--metrics-file", config.metrics_file), ("--html", config.html))
                   if text}  # fmt: skip
        seen: dict[Path, str] = {}
        for flag, path in outputs.items():
            other = seen.setdefault(path.resolve(), flag)
            if other != flag:
                raise ConfigError(f"{other} and {flag} name the same file {str(path)!r}: give each its own")
        self.metrics_file = outputs.get("--metrics-file")
        self.html = outputs.get("--html")
        self.events_path = outputs.get("--events")
        self._temporary: Path | None = None
        self._out: IO[str] | None = None
        self.server: MetricsServer | None = None
        self.registry: CollectorRegistry | None = None
        _refuse_inputs(config, outputs)
        instruments = {symbol: instrument_for(symbol, config.seed) for symbol in config.symbols}
        self.instruments = instruments
        events = EventLog(instruments, FrozenClock.parse(config.freeze_utc_iso))
        tracked = config.symbols[: config.metrics_symbols]
        self.telemetry = Telemetry(events, tracked_symbols=tracked, metrics=self.metrics)

    @classmethod
    def wanted(cls, config: ShadowConfig, *, progress: bool = False) -> Watch | None:
        """A watch if anything is to be shown (metrics, events, HTML, a progress line), else None: nothing runs."""
        if progress or config.metrics_port or config.metrics_file or config.events or config.html:
            return cls(config)
        return None

    def settle(
        self, config: ShadowConfig, instruments: dict[str, Instrument], clock: MarketClock | None = None
    ) -> None:
        """The run is set up (its journal locked): its settled config and instruments, then open the outputs.

        Nothing is opened (so nothing truncated) before: a run refused by the
        journal's lock or by bad market data must leave every file as it was,
        the event log of the run holding the lock included.  With
        ``--market`` the symbols and sizes come from the data.
        """
        self.config = config
        self.instruments = instruments
        self.telemetry.orders.use(instruments, clock)  # a recorded market's clock: its times in the event log
        self.telemetry.tracked_symbols = config.symbols[: config.metrics_symbols]
        try:
            self._out = self._open_events()
            self.telemetry.orders.attach(self._out, self._events_failed)
            if self.metrics:
                self._start_metrics()
        except BaseException:
            self.close()
            raise

    @property
    def _events_output(self) -> str:
        """The output the event log is: ``--events``, or ``--html``'s (a temporary file it is drawn from)."""
        return "--events" if self.events_path is not None else "--html"

    def _events_failed(self, exc: OSError) -> None:
        path = self.events_path or self._temporary
        what = str(path) if self.events_path is not None else f"its event log {path}"
        self.telemetry.output_failed(self._events_output, f"{what}: {exc.strerror or exc}")

    def _open_events(self) -> IO[str] | None:
        path = self.events_path
        if path is None and self.html is not None:
            try:
                handle, name = tempfile.mkstemp(prefix="mm-events-", suffix=".csv")
            except OSError as exc:  # not gettempdir(): it raises again when no temporary directory is usable
                where = os.path.dirname(exc.filename) if isinstance(exc.filename, str) else "any directory"
                raise ConfigError(f"--html: cannot create its temporary event log in {where!r} (set TMPDIR): "
                                  f"{exc.strerror or exc}") from None  # fmt: skip
            os.close(handle)
            path = self._temporary = Path(name)
        if path is None:
            return None
        try:
            return path.open("w", newline="", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{self._events_output} {path}: cannot write: {exc.strerror or exc}") from None

    def _start_metrics(self) -> None:
        from actors.telemetry._metrics import MetricsServer, registry_for

        self.registry = registry_for(self.telemetry)
        port = self.config.metrics_port
        if port:
            try:
                self.server = MetricsServer(port, self.registry)
            except OSError as exc:
                raise ConfigError(f"--metrics-port {port}: cannot listen: {exc.strerror or exc}") from None

    def finish(self, system: System, report: dict[str, Any]) -> None:
        """The run is over (its report built): write the HTML report, then the metrics file.

        Nothing here raises for an output: one that fails is told to the
        telemetry (one warning, counted) and the others are still written.
        The metrics file comes last so that it counts the others' failures.
        """
        telemetry = self.telemetry
        telemetry.orders.close()
        if self.html is not None and "--html" not in telemetry.failed_outputs:
            if "--events" in telemetry.failed_outputs:
                telemetry.output_failed("--html", f"{self.html}: not written: the --events log it is drawn from failed")
            else:
                self._write_html(system, report)
        if self.metrics_file is not None and self.registry is not None:
            from actors.telemetry._metrics import write_metrics

            try:
                write_metrics(self.metrics_file, self.registry)
            except OSError as exc:
                telemetry.output_failed("--metrics-file", f"{self.metrics_file}: {exc.strerror or exc}")

    def _write_html(self, system: System, report: dict[str, Any]) -> None:
        from actors.assembly._html_report import write_html

        events = self.events_path or self._temporary
        assert events is not None and self.html is not None
        config = self.config
        shown = config.symbols[: config.html_symbols]
        try:
            write_html(self.html, events, report=report, shown=shown, instruments=self.instruments,
                       market=system.market, threshold_bps=config.edge_threshold,
                       maker_fee_bps=config.maker_fee_bps, config=config)  # fmt: skip
        except OSError as exc:  # the page's directory removed, a full disk, the temporary event log cleaned away
            where = exc.filename if exc.filename is not None else self.html
            self.telemetry.output_failed("--html", f"{where}: {exc.strerror or exc}")

    def close(self) -> None:
        """Stop serving, close the event log, remove the temporary one (safe to call twice)."""
        if self.server is not None:
            self.server.close()
            self.server = None
        self.telemetry.orders.close()
        if self._out is not None:
            with contextlib.suppress(OSError):  # not attached (the run was refused as it settled), or closed already
                self._out.close()
        if self._temporary is not None:
            try:
                self._temporary.unlink(missing_ok=True)
            except OSError as exc:  # the page is written: not a failed output, only a file left behind
                logger.warning("--html: cannot remove its temporary event log {}: {}", self._temporary, exc)
            self._temporary = None
