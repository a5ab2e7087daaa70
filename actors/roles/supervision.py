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

from typing import ClassVar

from actors.messages import FreezeRequest
from actors.roles.addresses import RISK
from actors.runtime.actor import MessageActor
from actors.runtime.base import FailurePolicy


def escalation_reason(address: str, exc: Exception) -> str:
    """The freeze reason when ``address`` gives up after ``exc``."""
    return f"Escalation: {address} stopped after repeated failures ({type(exc).__name__}: {exc})"


class SupervisedRole(MessageActor):
    """A role that restarts in place and escalates to risk when it must stop."""

    failure_policy: ClassVar[FailurePolicy] = "restart"

    def escalate(self, exc: Exception) -> None:
        """Ask risk to freeze: the engine must not trade on without this actor."""
        self.send(RISK, FreezeRequest(escalation_reason(self.address, exc)))
