"""SIGUSR1 for a sharded run: the driver's kill switch, handed on to the coordinator from a thread of its own.

In one process the kill switch queues a freeze request for risk
(:meth:`actors.system.System.freeze_from_signal`).  In a sharded run risk
is the coordinator, in another process (Ray) or on the runtime's threads
(in process), and reaching it takes locks, or a Ray call, that a signal
handler must not take: the handler only notes the reason, and a thread
watching for it makes the call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from loguru import logger

POLL_S = 0.05
"""How often the watching thread looks for a pull (a freeze goes out within this)."""


class Freezable(Protocol):
    """What a kill switch halts: a run that takes a freeze request from a signal handler."""

    def freeze_from_signal(self, reason: str) -> None:
        """Halt the run for good with ``reason``; safe in a signal handler."""


class KillSwitchHolder(Protocol):
    """The command's kill switch (:class:`actors.cli.KillSwitch`): told what to halt once there is a run."""

    def attach(self, target: Freezable) -> None:
        """``target`` is what a pull halts from now on (a pull before this halts it at once)."""


class DeferredFreeze:
    """A :class:`Freezable` whose freeze is made by a thread of its own: the handler only notes the reason."""

    def __init__(self, freeze: Callable[[str], None]) -> None:
        self.freeze = freeze
        self.reason: str | None = None
        self.closed = False
        self.sent = False
        self.thread = threading.Thread(target=self._watch, name="kill-switch", daemon=True)
        self.thread.start()

    def freeze_from_signal(self, reason: str) -> None:
        """Note the pull (an assignment: no lock); the first one counts, like a second freeze changes nothing."""
        if self.reason is None:
            self.reason = reason

    def close(self) -> None:
        """The run is over: a pull from now on halts nothing."""
        self.closed = True
        self.thread.join(timeout=5)

    def _watch(self) -> None:
        while not self.closed:
            reason = self.reason
            if reason is not None:
                try:
                    self.freeze(reason)
                    self.sent = True
                except Exception as exc:  # the run ends as it would have: the report shows no freeze
                    logger.error("kill switch: the freeze could not reach the coordinator: {}", exc)
                return
            time.sleep(POLL_S)


@contextmanager
def armed(kill_switch: KillSwitchHolder | None, freeze: Callable[[str], None]) -> Iterator[None]:
    """While the run inside goes on, a pull of ``kill_switch`` (if there is one) makes ``freeze`` happen."""
    if kill_switch is None:
        yield
        return
    pull = DeferredFreeze(freeze)
    kill_switch.attach(pull)
    try:
        yield
    finally:
        pull.close()
