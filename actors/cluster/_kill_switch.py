"""SIGUSR1 for a sharded run: the driver's kill switch, handed on to the coordinator from a thread of its own.

In one process the kill switch queues a freeze request for risk
(:meth:`actors.assembly._system.System.freeze_from_signal`).  In a sharded run risk
is the coordinator, in another process (Ray) or on the runtime's threads
(in process), and reaching it takes locks, or a Ray call, that a signal
handler must not take: the handler only puts the reason on a queue whose
``put`` is reentrant, and a thread waiting on that queue makes the call at
once.

A pull always lands (docs/RELIABILITY.md, "Signals"): one that came before
the run (during the start-up) reaches the coordinator before any shard
starts (:func:`armed` waits for it), and one that came while the run's end
was being judged has reached the coordinator when the wait is over
(:meth:`DeferredFreeze.close`), which then waits for it too: only a pull
after that, as the report is gathered, changes nothing, as in one process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from queue import SimpleQueue
from typing import Protocol

from loguru import logger

SETTLE_S = 60.0
"""How long a pull that came before the run may take to reach the coordinator (a Ray call) before the run starts."""


class Freezable(Protocol):
    """What a kill switch halts: a run that takes a freeze request from a signal handler."""

    def freeze_from_signal(self, reason: str) -> None:
        """Halt the run for good with ``reason``; safe in a signal handler."""


class KillSwitchHolder(Protocol):
    """The command's kill switch (:class:`actors.cli._run_shadow.KillSwitch`): told what to halt once there is a run."""

    def attach(self, target: Freezable) -> None:
        """``target`` is what a pull halts from now on (a pull before this halts it at once)."""


class DeferredFreeze:
    """A :class:`Freezable` whose freeze is made by a thread of its own: the handler only queues the reason."""

    def __init__(self, freeze: Callable[[str], object]) -> None:
        self.freeze = freeze
        self.reason: str | None = None
        self.closed = False
        self.sent = False
        self.pulls: SimpleQueue[str | None] = SimpleQueue()
        """The reason, or None to stop; ``put`` is safe in a signal handler (reentrant, no lock held across it)."""
        self.made = threading.Event()
        """Set once the thread has made the pull (or failed to)."""
        self.thread = threading.Thread(target=self._watch, name="kill-switch", daemon=True)
        self.thread.start()

    def freeze_from_signal(self, reason: str) -> None:
        """Note the pull and wake the thread; the first one counts, as a second freeze changes nothing."""
        if self.reason is None and not self.closed:
            self.reason = reason
            self.pulls.put(reason)

    def settle(self, timeout: float = SETTLE_S) -> None:
        """Until a pull noted so far has been made: before the run starts, so that it halts every shard at tick 0."""
        if self.reason is not None:
            self.made.wait(timeout)

    def close(self) -> None:
        """The run's wait is over: a pull from now on halts nothing; one noted before has been made when this returns.

        The thread takes what is queued in order, so a pull noted before the
        stop is made before the thread stops.
        """
        if not self.closed:
            self.closed = True
            self.pulls.put(None)
            self.thread.join(timeout=SETTLE_S)

    def _watch(self) -> None:
        reason = self.pulls.get()
        if reason is None:
            return
        try:
            self.freeze(reason)
            self.sent = True
        except Exception as exc:  # the run ends as it would have: the report shows no freeze
            logger.error("kill switch: the freeze could not reach the coordinator: {}", exc)
        finally:
            self.made.set()


def _unarmed() -> None:
    """No kill switch (the bench's and the tests' runs): nothing to disarm."""


@contextmanager
def armed(kill_switch: KillSwitchHolder | None, freeze: Callable[[str], object]) -> Iterator[Callable[[], None]]:
    """While the run inside goes on, a pull of ``kill_switch`` (if there is one) makes ``freeze`` happen.

    A pull that came before (the command's start-up, Ray's) is made before
    the body runs.  The body gets a function to call once its wait is over
    (:meth:`DeferredFreeze.close`): a pull before that has then reached the
    coordinator, which takes it into the run (:meth:`Coordinator.close`), and
    a pull after it changes nothing, as one after the report in one process.
    """
    if kill_switch is None:
        yield _unarmed
        return
    pull = DeferredFreeze(freeze)
    kill_switch.attach(pull)  # a pull before this is noted now
    pull.settle()
    try:
        yield pull.close
    finally:
        pull.close()
