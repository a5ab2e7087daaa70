"""How the engine's roles are supervised: restart in place, then escalate to a freeze.

Every role restarts after a failed handler (``failure_policy = "restart"``),
keeping its address, its mailbox and its state; its ``on_restart`` re-derives
what the failure may have broken (the gateway and the store reconcile with
the venue).  After ``max_restarts`` failures the actor stops, and before it
stops it escalates: trading without one of its parts is not safe, so it asks
risk to freeze.  Why in place and not a fresh instance: the state of a role
(the store's orders, risk's positions) is the thing a restart must not lose,
the journal is read only when the whole process starts again (docs/RELIABILITY.md).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import ClassVar

from actors.roles._addresses import RISK
from actors.runtime._actor import MessageActor
from actors.runtime._base import FailurePolicy
from actors.wire._codec import Message, encode
from actors.wire._messages import FreezeRequest


def escalation_reason(address: str, exc: Exception) -> str:
    """The freeze reason when ``address`` gives up after ``exc``."""
    return f"Escalation: {address} stopped after repeated failures ({type(exc).__name__}: {exc})"


class SupervisedRole(MessageActor):
    """A role that restarts in place and escalates to risk when it must stop.

    Its sends go through an outbox: what a handler queued (:meth:`send_all`
    queues a whole group, say a record's parts and the record closing the
    tick) still goes out when the handler fails part-way, as the failure is
    handled, so a failure after a side effect never loses the records that
    report it.
    """

    failure_policy: ClassVar[FailurePolicy] = "restart"

    def __init__(self) -> None:
        super().__init__()
        self.outbox: deque[tuple[str, bytes]] = deque()

    def send(self, address: str, record: Message) -> None:
        """Tell ``record`` to ``address`` through the outbox."""
        self.outbox.append((address, self.seal(address, encode(record))))
        self.flush_outbox()

    def send_all(self, sends: Iterable[tuple[str, Message]]) -> None:
        """Queue every ``(address, record)`` first, then send them in order: all go out, even past a failure.

        Every record is encoded before any is queued: a group goes out whole
        or not at all (a feed's tick, a report and the record closing it).
        """
        self.send_encoded([(address, encode(record)) for address, record in sends])

    def send_encoded(self, sends: list[tuple[str, bytes]]) -> None:
        """:meth:`send_all` for records already encoded (the feed encodes a tick whole before it counts it sent)."""
        seal = self.seal
        self.outbox.extend([(address, seal(address, data)) for address, data in sends])
        self.flush_outbox()

    def broadcast(self, group: str, record: Message) -> None:
        """Tell ``record`` to every actor in ``group`` (sorted), through the outbox."""
        data, seal = encode(record), self.seal
        self.outbox.extend((address, seal(address, data)) for address in self.runtime.directory.group(group))
        self.flush_outbox()

    def flush_outbox(self) -> None:
        """Send what is queued, oldest first; a send that raises stays queued for the next flush."""
        outbox, tell = self.outbox, self.runtime.tell
        if outbox:
            self.before_sending()
        while outbox:
            address, data = outbox[0]
            tell(address, data)
            outbox.popleft()

    def before_sending(self) -> None:
        """Hook: runs before queued records leave (the store writes its journal ahead of them)."""

    def on_handler_failure(self, exc: Exception) -> None:
        """What the failed handler queued still goes out."""
        self.flush_outbox()

    def escalate(self, exc: Exception) -> None:
        """Ask risk to freeze: the engine must not trade on without this actor.

        A notice, not a send: nothing this actor queued may hold it up, and
        no lossy link may lose it (``MessageActor.notify``).
        """
        self.notify(RISK, FreezeRequest(escalation_reason(self.address, exc)))
