"""The driver's side of a run on Ray: Ray's own output in a log file, the command's signals, nothing left behind.

- Ray logs (its ``ray`` logger) and prints (the errors it hears of, a worker
  that died, on ``sys.stdout``) into the driver's own streams.  While it runs
  they go to a file in its session's log directory instead
  (:func:`ray_output_kept`), held in memory until the session exists: the
  user's stderr has the command's lines only, and stdout the report.
- Ray handles SIGTERM its own way in a driver: ``ray.init`` installs
  ``sys.exit`` and the core worker a handler that dumps the stack and
  aborts (unless ``RAY_DISABLE_FAILURE_SIGNAL_HANDLER`` was set as ``ray``
  was imported).  The driver imports Ray with that set
  (:mod:`actors.cluster._ray`), keeps ``ray.init`` off SIGTERM
  (:func:`sigterm_kept`) and keeps its signals noted while Ray runs
  (:class:`Deferred`), so SIGTERM, SIGHUP and Ctrl-C end a run on Ray as
  they end one in one process.
- A local instance belongs to its run: a driver that dies without cleaning
  up (SIGKILL) leaves it to a reaper process (:mod:`actors.cluster._reaper`).
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout, suppress
from pathlib import Path
from typing import Any, TextIO

import ray


class RayOutput(io.TextIOBase):
    """Where Ray's own words go while it runs: held until :meth:`open_in` names a directory, then a file there."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.prefix = name
        self.held: list[str] = []
        self.file: TextIO | None = None
        self.path = ""
        self.lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self.lock:
            if self.file is not None:
                self.file.write(text)
                self.file.flush()
            else:
                self.held.append(text)
        return len(text)

    def open_in(self, directory: Path) -> str:
        """From now on into ``directory``/<name>-<pid>.log, what was held first; its path ("" if it cannot be made)."""
        path = directory / f"{self.prefix}-{os.getpid()}.log"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            file = path.open("a", encoding="utf-8")
        except OSError:
            return ""
        with self.lock:
            self.file, self.path = file, str(path)
            file.write("".join(self.held))
            file.flush()
            self.held = []
        return self.path

    def close(self) -> None:
        with self.lock:
            if self.file is not None:
                self.file.close()
                self.file = None
        super().close()


@contextmanager
def ray_output_kept(name: str) -> Iterator[RayOutput]:
    """While inside, Ray's logger and what it prints go to a :class:`RayOutput`; so does file descriptor 1's output.

    Ray prints some notices below Python, on file descriptor 1, which
    carries the report: that descriptor points at stderr meanwhile (nothing
    of Ray's was seen there, measured on Ray 2.60, but stdout stays the
    report's alone).  If Ray fails before its session exists, what it said
    is shown on stderr: it is all there is to say why.
    """
    out = RayOutput(name)
    logger = logging.getLogger("ray")
    handlers, propagate = logger.handlers[:], logger.propagate
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(asctime)s\t%(levelname)s %(filename)s:%(lineno)s -- %(message)s"))
    logger.handlers, logger.propagate = [handler], False
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with redirect_stdout(out):
            yield out
    except Exception:
        if out.file is None and out.held:
            sys.stderr.write("".join(out.held))
        raise
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        logger.handlers, logger.propagate = handlers, propagate
        out.close()


def session_logs() -> Path | None:
    """The log directory of the Ray session this process is connected to (None where Ray does not say)."""
    node: Any = getattr(ray._private.worker, "_global_node", None)
    try:
        return Path(node.get_logs_dir_path())
    except (AttributeError, OSError, TypeError):  # not connected, or a Ray that keeps it elsewhere
        return None


@contextmanager
def sigterm_kept() -> Iterator[None]:
    """While inside (``ray.init``), Ray does not install its own SIGTERM handler in this process.

    From the main thread ``ray.init`` makes SIGTERM ``sys.exit(15)`` before
    it starts anything, which, during its seconds of start, ends the command
    with no word, or raises inside Ray's own code.  It does so through
    ``ray._private.utils.set_sigterm_handler``, which is made to do nothing
    meanwhile (a Ray without it is left as it is).  ``ray.init`` from another
    thread does not install it, but a Ray started so loses its GCS once that
    thread is gone (measured, Ray 2.60).
    """
    utils: Any = getattr(ray._private, "utils", None)
    original = getattr(utils, "set_sigterm_handler", None)
    if original is None:
        yield
        return
    utils.set_sigterm_handler = lambda _handler: None
    try:
        yield
    finally:
        utils.set_sigterm_handler = original


class Deferred:
    """Ctrl-C, SIGTERM and SIGHUP while Ray runs: noted by a handler that does nothing else, acted on at :meth:`check`.

    The command's handlers raise (the run ends at once, as in one process);
    raised inside Ray's own code, an exception comes out mangled (a
    ``SystemError``, measured with Ray 2.60 in ``ray.get``).  So while Ray
    runs, the driver waits in short steps and checks between them: the
    first signal noted is handed to the command's handler there, in the
    driver's code.  Later ones are noted and left: the run is stopping.
    """

    STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.main = threading.current_thread() is threading.main_thread()
        self.saved = {number: signal.getsignal(number) for number in self.STOPPING} if self.main else {}
        self.noted: list[int] = []
        self.acted = False

    def __call__(self, signum: int, _frame: object) -> None:
        self.noted.append(signum)

    def install(self) -> None:
        """Note the stopping signals from now on (again after ``ray.init``, which installs its own)."""
        for number in self.saved:
            signal.signal(number, self)

    def restore(self) -> None:
        """The command's handlers again."""
        for number, handler in self.saved.items():
            if handler is not None:
                signal.signal(number, handler)

    def check(self) -> None:
        """Act on the first stopping signal noted: the command's handler raises its interruption here."""
        if not self.noted or self.acted:
            return
        self.acted = True
        signum = self.noted[0]
        handler = self.saved.get(signal.Signals(signum))
        if callable(handler):
            handler(signum, None)
        elif handler != signal.SIG_IGN:  # the default: the process ends, once the run is cleaned up
            raise SystemExit(128 + signum)


class Reaper:
    """The process that cleans up after this driver if it dies: told what to clean up, and when not to."""

    def __init__(self, pattern: str) -> None:
        """Start it, with ``pattern`` (a glob) for the shards' temporary journal directories."""
        script = Path(__file__).with_name("_reaper.py")
        self.process: subprocess.Popen[str] | None = None
        with suppress(OSError):
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(script)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
        self._tell({"glob": pattern})

    def watch_local_instance(self) -> None:
        """The local instance is up: its processes (children of this one), its raylet and the raylet's children.

        The raylet's agents are its children (their parent is gone by the
        time the reaper looks); its workers, started later, carry its pid.
        """
        children = _children(os.getpid())
        if self.process is not None:
            children.pop(self.process.pid, None)
        raylet = [pid for pid, name in children.items() if name == "raylet"]
        pids = set(children)
        for pid in raylet:
            pids |= set(_children(pid))
        told: dict[str, Any] = {"pids": sorted(pids)}
        if raylet:
            told["raylet"] = raylet[0]
        self._tell(told)

    def done(self) -> None:
        """This driver cleaned up itself: the reaper ends without doing anything."""
        self._tell({"done": True})
        if self.process is not None:
            with suppress(OSError, subprocess.TimeoutExpired):
                if self.process.stdin is not None:
                    self.process.stdin.close()
                self.process.wait(timeout=10)

    def _tell(self, told: dict[str, Any]) -> None:
        if self.process is None or self.process.stdin is None:
            return
        with suppress(OSError, ValueError):
            self.process.stdin.write(json.dumps(told) + "\n")
            self.process.stdin.flush()


def _children(parent: int) -> dict[int, str]:
    """This machine's processes whose parent is ``parent``, with their names (Linux; none elsewhere)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, _, rest = stat.partition(" (")[2].rpartition(")")
        fields = rest.split()
        if len(fields) > 1 and fields[1] == str(parent):
            found[int(entry.name)] = name
    return found
