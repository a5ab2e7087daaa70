"""The commands' first lines: the kill switch and the stop signals handled from the interpreter's first moments.

``bin/run-shadow``, ``python -m actors`` and the installed ``run-shadow``
start here, and this module imports nothing but the standard library's
``signal`` and ``sys``: its handlers are in place before the engine's
modules load (a noticeable fraction of a second), and ``actors.cli._run_shadow.main``
takes them over.  Until then:

- SIGUSR1 (the kill switch) is remembered, never the default (which kills
  the process): the run halts as soon as it exists
  (:meth:`actors.cli._run_shadow.KillSwitch.take_over`);
- SIGTERM and SIGHUP end the command as Ctrl-C does: one line, exit status
  128 + the signal's number.

Before this module runs, nothing can handle a signal: the interpreter's own
start (docs/RELIABILITY.md, "Signals", has the window measured).
"""

from __future__ import annotations

import signal
import sys

PROG = "run-shadow"


class EarlyKillSwitch:
    """SIGUSR1 while the modules load: remembered (``pulled``), taken over by the command's kill switch."""

    pulled = False

    def __call__(self, _signum: int, _frame: object) -> None:
        self.pulled = True


class EarlyStop(BaseException):
    """SIGTERM or SIGHUP while the modules load: the command ends as on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame: object) -> None:
    raise EarlyStop(signum)


def install() -> None:
    """The early handlers (see the module's docstring); a pull a handler before them noted counts."""
    switch = EarlyKillSwitch()
    previous = signal.signal(signal.SIGUSR1, switch)
    switch.pulled = getattr(previous, "pulled", False) is True
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)


def run_shadow() -> int:
    """``run-shadow``: the early handlers, then the engine's command; its exit status."""
    try:
        install()
        from actors.cli._run_shadow import main

        return main()
    except (KeyboardInterrupt, EarlyStop) as stop:  # Ctrl-C, SIGTERM or SIGHUP before the command took them over
        signum = stop.signum if isinstance(stop, EarlyStop) else signal.SIGINT
        said = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        sys.stderr.write(f"{PROG}: {said}\n")
        return 128 + signum


if __name__ == "__main__":
    sys.exit(run_shadow())
