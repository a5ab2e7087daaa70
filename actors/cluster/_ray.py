"""The shards and the coordinator as Ray actors (the ``cluster`` extra): one process each, restarted by Ray.

Only bytes cross a process here: the wire module's records (batches of
them), the settings as msgpack (:mod:`actors.cluster._settings`), the
shards' snapshots as msgpack.  Ray places the actors, restarts a shard whose
process dies (``max_restarts``), and names the coordinator so that
``bin/mm-freeze`` can find it from another process.
"""

# ruff: noqa: E402 (Ray is imported with an environment variable set, below: everything after comes after that)
from __future__ import annotations

import glob
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

import msgpack

_FAILURE_HANDLER = "RAY_DISABLE_FAILURE_SIGNAL_HANDLER"
_had = os.environ.get(_FAILURE_HANDLER)
os.environ[_FAILURE_HANDLER] = "1"  # read as ray is imported: this driver's signals stay the command's (_driver)
import ray

if _had is None:  # Ray's own processes, started later, keep their handler (a crash's stack in their logs)
    del os.environ[_FAILURE_HANDLER]
else:
    os.environ[_FAILURE_HANDLER] = _had
from ray.exceptions import GetTimeoutError, RayActorError, RayError, RayTaskError

from actors.assembly._config import ShadowConfig
from actors.assembly._market_setup import settle
from actors.cluster._coordinator_host import Coordinator, Ended, RunLost, completed, partition
from actors.cluster._driver import Deferred, RayOutput, Reaper, ray_output_kept, session_logs, sigterm_kept
from actors.cluster._kill_switch import KillSwitchHolder, armed
from actors.cluster._machine import cores_used, cpu_clock
from actors.cluster._settings import config_bytes, config_from_bytes
from actors.cluster._shard import SHARD_DIR, Shard, ShardFigures
from actors.runtime._gc_tuning import tune_gc
from actors.runtime._realtime import IdleTimeout
from actors.telemetry._logs import configure as configure_logs
from actors.telemetry._logs import run_started

NAMESPACE = "mm-shadow"
"""The Ray namespace of every run's actors; a coordinator is named ``coordinator-<run id>`` there."""
COORDINATOR_PREFIX = "coordinator-"
FIGURES_TIMEOUT_S = 10.0
"""A shard that does not answer the coordinator's look within this is taken for gone (Ray restarts it)."""
SHARD_RESTARTS = 5
"""Times Ray restarts a shard's process that died."""


# Ray's stubs type remote() on functions, not on classes with concurrency groups (here and below)
@ray.remote(max_restarts=SHARD_RESTARTS, max_task_retries=0, concurrency_groups={"link": 1, "control": 1})  # type: ignore[call-overload]
class ShardHost:
    """A :class:`Shard` in a process of its own; after a restart, it tells the coordinator it is back.

    The coordinator's batches (``deliver``) have a thread of their own, so
    that its looks at the shard (``figures``, which waits a moment for the
    shard to go idle) never hold a batch up.
    """

    def __init__(self, settings: bytes, index: int, symbols: list[str], coordinator: Any, *, journal_root: str,
                 run_name: str) -> None:  # fmt: skip
        """Without ``--journal`` the shard journals into a directory of its own run's, removed at the end:
        a journal is what brings a shard back after its process died."""
        tune_gc()  # a Ray worker is a process of its own: the collector's settings of a run (actors.runtime._gc_tuning)
        config = config_from_bytes(settings)
        configure_logs(config.log_level, config.log_format)  # into the worker's log (Ray keeps its stderr)
        self.cpu_at_start = time.process_time()
        """Where this process's CPU seconds of the run count from (:meth:`start`; a restarted one: from here)."""
        self.index = index
        self.temporary = not journal_root
        root = journal_root or str(Path(tempfile.gettempdir()) / f"mm-{run_name}-{index}")
        directory = Path(root) / SHARD_DIR.format(index)
        directory.mkdir(parents=True, exist_ok=True)
        incarnation = _next_incarnation(directory / "incarnation")
        self.root = root
        def send_up(data: bytes) -> None:
            coordinator.deliver.remote(data)

        self.shard = Shard(config, index, symbols, send_up, incarnation=incarnation, journal_root=root)
        if ray.get_runtime_context().was_current_actor_reconstructed:
            coordinator.shard_back.remote(index)

    @ray.method(concurrency_group="link")
    def start(self, last_tick: int) -> int:
        self.cpu_at_start = time.process_time()
        self.shard.start(last_tick)
        return os.getpid()

    @ray.method(concurrency_group="link")
    def rejoin(self, data: bytes) -> int:
        self.shard.rejoin(data)
        return os.getpid()

    @ray.method(concurrency_group="link")
    def deliver(self, data: bytes) -> None:
        self.shard.deliver(data)

    @ray.method(concurrency_group="control")
    def figures(self) -> bytes:
        figures = self.shard.figures()
        packed: bytes = msgpack.packb([figures.sent, figures.received, figures.delivered, figures.idle])
        return packed

    def snapshot(self) -> bytes:
        return self.shard.snapshot()

    def pid(self) -> int:
        return os.getpid()

    def usage(self) -> tuple[float, float]:
        """This process's peak resident memory (MB) and CPU seconds since the run started: the benchmark's figures.

        CPU counts every thread of the process (its engine and Ray's own).
        """
        cpu_s = time.process_time() - self.cpu_at_start
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, cpu_s

    def stop(self, report: str | None = None) -> None:
        """Stop the shard; with the run's ``report``, its journal holds a finished run (:func:`finish_shard`)."""
        self.shard.stop(None if self.temporary else report)
        if self.temporary:
            shutil.rmtree(self.root, ignore_errors=True)


def _warn(text: str) -> None:
    """A line on the worker's stderr (Ray keeps it in the worker's log); not loguru, whose handlers Ray cannot ship."""
    print(f"mm-shard: {text}", file=sys.stderr, flush=True)


def _next_incarnation(path: Path) -> int:
    """This process's incarnation of the shard: one more than the last one that started in its directory."""
    try:
        last = int(path.read_text() or "0")
    except (OSError, ValueError):
        last = 0
    path.write_text(str(last + 1))
    return last + 1


# see ShardHost: remote() on a class is untyped in Ray's stubs
@ray.remote(concurrency_groups={"link": 1, "control": 1, "stop": 1})  # type: ignore[call-overload]
class CoordinatorHost:
    """The coordinator in a process of its own; ``run`` drives the run while ``deliver`` takes the shards' batches.

    ``stop`` has a thread of its own: a run interrupted (Ctrl-C, SIGTERM)
    stops its shards at once, not once ``run`` is over.
    """

    def __init__(self, settings: bytes) -> None:
        tune_gc()
        config = config_from_bytes(settings)
        configure_logs(config.log_level, config.log_format)  # shards lost and back, state moves: the worker's log
        self.config = config
        parts = partition(config.symbols, config.shards)
        context = ray.get_runtime_context()
        me, name = context.current_actor, context.get_actor_name() or "coordinator"
        self.shards = [
            ShardHost.options(name=f"{name}-shard-{index}", num_cpus=0).remote(  # type: ignore[attr-defined]  # .options: added by @ray.remote
                settings, index, symbols, me, journal_root=config.journal, run_name=name
            )
            for index, symbols in enumerate(parts)
        ]
        self.coordinator = Coordinator(config, parts, [self._port(index) for index in range(len(parts))])
        self.back: set[int] = set()
        self.pids: list[int] = []
        self.started = self.cpu_at_start = 0.0
        self.ended = Ended(0, True)
        self.report_text: str | None = None
        """The finished run's report, for the shards' journals (:meth:`stop`); None for a run that did not end."""

    def _port(self, index: int) -> Any:
        shard = self.shards[index]

        def deliver(data: bytes) -> None:
            shard.deliver.remote(data)

        return deliver

    @ray.method(concurrency_group="link")
    def deliver(self, data: bytes) -> None:
        self.coordinator.deliver(data)

    @ray.method(concurrency_group="link")
    def shard_back(self, index: int) -> None:
        self.back.add(index)

    @ray.method(concurrency_group="link")
    def freeze(self, reason: str) -> bool:
        """An operator's freeze; False once the run is over (it came too late to change anything)."""
        return self.coordinator.freeze(reason)

    @ray.method(concurrency_group="link")
    def ready(self) -> bool:
        """Once every shard's process is up (its engine built, not started): the cluster's start is over."""
        ray.get([shard.pid.remote() for shard in self.shards])
        for index in range(len(self.shards)):
            self.coordinator.seen(index)  # one that dies before the first look is away from here on
        return True

    @ray.method(concurrency_group="link")
    def shard_pids(self) -> list[int]:
        return list(self.pids)

    @ray.method(concurrency_group="control")
    def run(self) -> None:
        """Start every shard and wait for the end; :meth:`finish` settles it and gathers the report.

        Two calls, so that the driver can close its kill switch in between
        (:func:`actors.cluster._kill_switch.armed`): a pull it noted before
        has then reached the coordinator, and :meth:`finish` waits for it.
        """
        config = self.config
        self.started, self.cpu_at_start = time.perf_counter(), time.process_time()
        self.pids = [self._start(shard, config.iterations) for shard in self.shards]
        self.ended = self.coordinator.wait(self._figures, restart_timeout=config.shard_restart_timeout)

    @ray.method(concurrency_group="control")
    def finish(self) -> bytes:
        """The end settled (a freeze that came as the wait ended waited for), the report: ``[text, decided, early,
        figures]``."""
        config, coordinator = self.config, self.coordinator
        while not coordinator.close():
            self.ended = coordinator.wait(self._figures, restart_timeout=config.shard_restart_timeout)
        run_s = time.perf_counter() - self.started
        snapshots = [self._snapshot(index) for index in range(len(self.shards))]
        report, text = coordinator.report(snapshots)
        risk = coordinator.risk
        decided, confirmed = risk.freeze_decided_at, risk.freeze_confirmed_at
        coordinator_cpu_s = time.process_time() - self.cpu_at_start
        usage = [self._usage(shard) for shard in self.shards]
        figures = {
            "run_s": run_s,
            "freeze_latency_ms": None if decided is None or confirmed is None else (confirmed - decided) * 1e3,
            "shard_peak_rss_mb": [peak for peak, _ in usage],
            "coordinator_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "shard_cpu_s": [cpu_s for _, cpu_s in usage],
            "coordinator_cpu_s": coordinator_cpu_s,
        }
        self.report_text = text if completed(report, self.ended) else None
        packed: bytes = msgpack.packb([text, self.ended.decided_through, self.ended.early, figures])
        return packed

    @staticmethod
    def _start(shard: Any, last_tick: int) -> int:
        """Start one shard; one that dies as it starts comes back through a rejoin (or is given up)."""
        try:
            pid: int = ray.get(shard.start.remote(last_tick), timeout=FIGURES_TIMEOUT_S * 30)
        except (RayError, GetTimeoutError) as exc:
            _warn(f"a shard failed to start ({exc}); waiting for it to come back")
            return 0
        return pid

    @staticmethod
    def _usage(shard: Any) -> tuple[float | None, float | None]:
        """A shard's peak memory and CPU seconds (:meth:`ShardHost.usage`); unknown for one that does not answer."""
        try:
            peak, cpu_s = ray.get(shard.usage.remote(), timeout=FIGURES_TIMEOUT_S)
        except (RayError, GetTimeoutError):
            return None, None
        return float(peak), float(cpu_s)

    @ray.method(concurrency_group="stop")
    def stop(self) -> None:
        """Stop every shard (a finished run's report goes into each journal first) and the coordinator."""
        for shard in self.shards:
            with suppress(RayError):
                ray.get(shard.stop.remote(self.report_text), timeout=30)
        self.coordinator.stop()

    def _snapshot(self, index: int) -> bytes:
        """A shard's snapshot; empty for one given up on (the report names it lost)."""
        if self.coordinator.given_up(index, self.config.shard_restart_timeout):
            return b""
        try:
            data: bytes = ray.get(self.shards[index].snapshot.remote(), timeout=FIGURES_TIMEOUT_S * 6)
        except (RayError, GetTimeoutError):
            return b""
        return data

    def _figures(self) -> list[ShardFigures | None]:
        for index in sorted(self.back):
            self.back.discard(index)
            try:
                self.pids[index] = ray.get(self.shards[index].rejoin.remote(self.coordinator.rejoin(index)),
                                           timeout=FIGURES_TIMEOUT_S * 6)  # fmt: skip
            except (RayError, GetTimeoutError) as exc:  # died again as it came back: it says so when it is back
                _warn(f"shard {index} failed to rejoin ({exc}); waiting for it to come back")
        answers: list[ShardFigures | None] = []
        for shard in self.shards:
            try:
                sent, received, delivered, idle = msgpack.unpackb(ray.get(shard.figures.remote(),
                                                                          timeout=FIGURES_TIMEOUT_S))  # fmt: skip
                answers.append(ShardFigures(sent, received, delivered, idle))
            except (RayError, GetTimeoutError):
                answers.append(None)
        return answers


def run_on_ray(
    config: ShadowConfig, *, on_address: Any = None, figures: dict[str, Any] | None = None,
    kill_switch: KillSwitchHolder | None = None,
) -> tuple[str, Ended]:  # fmt: skip
    """Run ``config`` on Ray (``config.cluster``: local, or an address); the report text and how it ended.

    ``on_address`` is told the cluster's address once it is up (for the
    operator's ``bin/mm-freeze``), and the coordinator's name.  ``figures``
    (the benchmark's) gets the start and run times, the freeze latency and
    each process's peak memory, and where Ray's own output went
    (``ray_log``).  ``kill_switch`` (the command's SIGUSR1) freezes every
    shard through the coordinator, as ``bin/mm-freeze`` does.

    Raises :class:`RunLost` if the coordinator dies (nothing can finish the
    run then), :class:`IdleTimeout` if the run stalls.  However the run ends
    (an exception, a signal), the shards are stopped, a local Ray instance
    is shut down and the shards' temporary journals are removed; if this
    process is killed before it can, its reaper does it
    (:mod:`actors.cluster._driver`).
    """
    figures = figures if figures is not None else {}
    with ray_output_kept(RAY_LOG_NAME) as out:
        try:
            return _run_on_ray(config, on_address, figures, kill_switch, out)
        except RayTaskError as exc:  # the coordinator's own error, with its remote traceback: said in one line
            if isinstance(exc.cause, IdleTimeout):
                raise IdleTimeout(str(exc.cause)) from None
            raise
        except RayActorError as exc:
            raise RunLost(f"the coordinator died ({_first_line(exc)}); the run cannot finish") from None


RAY_LOG_NAME = "run-shadow-driver"
"""The file (in the Ray session's log directory, with this process's id) that gets Ray's own output."""


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _run_on_ray(
    config: ShadowConfig, on_address: Any, figures: dict[str, Any], kill_switch: KillSwitchHolder | None,
    out: RayOutput,
) -> tuple[str, Ended]:  # fmt: skip
    config = settle(config).config
    run_started(config)
    local = config.cluster in ("", "local")
    name = f"{COORDINATOR_PREFIX}{uuid.uuid4().hex[:12]}"
    temporary = str(Path(tempfile.gettempdir()) / f"mm-{name}-*")  # the shards' journals without --journal
    reaper = Reaper("" if config.journal else temporary) if local else None
    started = time.perf_counter()
    signals = Deferred()
    signals.install()
    try:
        with sigterm_kept():
            _init(config, local)
        signals.install()  # in case Ray took any of them over after all
        signals.check()  # one that came as Ray started
        logs = session_logs()
        figures["ray_log"] = out.open_in(logs) if logs is not None else ""
        if reaper is not None:
            reaper.watch_local_instance()
        host = CoordinatorHost.options(name=name, num_cpus=0).remote(config_bytes(config))  # type: ignore[attr-defined]  # added by @ray.remote
        try:
            _wait(host.ready.remote(), signals)
            figures["start_s"] = time.perf_counter() - started
            if on_address is not None:
                on_address(ray.get_runtime_context().gcs_address, name, figures["start_s"])

            def freeze(reason: str) -> None:
                ray.get(host.freeze.remote(reason), timeout=FIGURES_TIMEOUT_S * 6)

            with armed(kill_switch, freeze) as disarm:
                before = cpu_clock()
                _wait(host.run.remote(), signals)
                disarm()  # a pull so far has reached the coordinator, which waits for it (finish)
                text, decided, early, timed = msgpack.unpackb(_wait(host.finish.remote(), signals))
                figures.update(timed, machine=cores_used(before, cpu_clock()))
        finally:
            with suppress(RayError):
                ray.get(host.stop.remote(), timeout=60)
        return text, Ended(decided, early)
    finally:
        ray.shutdown()
        if not config.journal:  # a coordinator that died never stopped its shards, which remove their own
            for path in glob.glob(temporary):
                shutil.rmtree(path, ignore_errors=True)
        if reaper is not None:
            reaper.done()
        signals.restore()


CHECK_S = 0.1
"""How often the driver, waiting for Ray, looks for a signal it noted (:class:`actors.cluster._driver.Deferred`)."""


def _init(config: ShadowConfig, local: bool) -> None:
    """``ray.init`` for the run: a new local instance (even where RAY_ADDRESS names one), or the cluster's."""
    if local:
        ray.init(address="local", num_cpus=max(2, config.shards), include_dashboard=False, log_to_driver=False,
                 namespace=NAMESPACE)  # fmt: skip
    else:
        ray.init(address=config.cluster, log_to_driver=False, namespace=NAMESPACE)


def _wait(ref: Any, signals: Deferred) -> Any:
    """``ray.get(ref)`` in short steps, acting on a signal noted between them."""
    while True:
        ready, _ = ray.wait([ref], timeout=CHECK_S)
        signals.check()
        if ready:
            return ray.get(ref)


def freeze_on(address: str, reason: str, run: str = "") -> str:
    """``bin/mm-freeze``: freeze the run on the cluster at ``address`` (the only one there, or ``run``); its name.

    A local Ray instance (Ray 2.59 on) takes only clients that show its
    token, which it keeps in ``~/.ray/auth_token``: a client on the same
    machine shows it when ``RAY_AUTH_MODE`` says so, which
    :func:`actors.cli._mm_freeze.main` sets before Ray is imported
    (Ray reads it then), unless the caller did.
    """
    with ray_output_kept("mm-freeze") as out:
        with sigterm_kept():
            ray.init(address=address, log_to_driver=False, namespace=NAMESPACE)
        logs = session_logs()
        if logs is not None:
            out.open_in(logs)
        try:
            return _freeze_named(address, reason, run)
        finally:
            ray.shutdown()


def _freeze_named(address: str, reason: str, run: str) -> str:
    """:func:`freeze_on` once connected."""
    names = sorted(entry["name"] if isinstance(entry, dict) else str(entry)
                   for entry in ray.util.list_named_actors())  # fmt: skip
    coordinators = [name for name in names if name.startswith(COORDINATOR_PREFIX) and "-shard-" not in name]
    if run:
        coordinators = [name for name in coordinators if name == run or name == COORDINATOR_PREFIX + run]
    if not coordinators:
        raise LookupError(f"no sharded run on the cluster at {address}" + (f" named {run}" if run else ""))
    if len(coordinators) > 1:
        raise LookupError(f"{len(coordinators)} runs on the cluster at {address}: name one with --run "
                          f"({', '.join(coordinators)})")  # fmt: skip
    if not ray.get(ray.get_actor(coordinators[0]).freeze.remote(reason), timeout=30):
        raise LookupError(f"{coordinators[0]} has finished its run: the freeze came too late to change it")
    return coordinators[0]
