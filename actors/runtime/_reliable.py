"""Reliable delivery between actors: numbered records, acknowledgements, resends on a deadline.

In one process a mailbox never loses a message, so the runtimes do without
this by default.  A transport that may lose them (the sim's ``drop`` fault
today; a link between processes or machines) turns it on
(``Runtime.reliable``), and every record one actor tells another then goes
as ``Sequenced(seq, payload)``, numbered per sender -> receiver pair:

- the receiver hands its actor each payload once and in sequence order: a
  copy (``seq`` already delivered) is discarded, a record that comes after a
  gap is held until the gap is filled, so the per-pair FIFO order the
  dataflow relies on (docs/DESIGN.md, "Why the result is deterministic")
  holds over a lossy transport too;
- the receiver acknowledges what it has delivered, cumulatively
  (``Delivered(through)``), :data:`ACK_AFTER_S` after the first record it
  owes an answer for, batching every record that came meanwhile;
- the sender keeps every record until it is acknowledged and, when the
  oldest has waited :data:`RESEND_AFTER_S` (doubling on every resend
  without progress, up to :data:`RESEND_CAP_S`), sends all of them again: a
  lost record, a lost acknowledgement and a stalled receiver all end the
  same way.

That is "recovered through deadlines" (docs/RELIABILITY.md, "Dropped
messages"): nothing but timers on the runtime's clock, no global view.  This
module is the sans-I/O core of it, state and decisions only; ``MessageActor``
(``actors/runtime/_actor.py``) does the sending and the timers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.wire._codec import Message, encode, message

RESEND_AFTER_S = 0.2
"""How long the oldest unacknowledged record waits before everything unacknowledged is sent again."""

RESEND_CAP_S = 3.2
"""The longest wait between two resends to a receiver that keeps not answering."""

ACK_AFTER_S = 0.05
"""How long a receiver waits, after the first record it owes an answer for, before acknowledging."""


@message
@dataclass(frozen=True, slots=True)
class Sequenced(Message):
    """A record (its wire bytes) numbered on its sender -> receiver pair, from 1."""

    seq: int
    payload: bytes


@message
@dataclass(frozen=True, slots=True)
class Delivered(Message):
    """The receiver has handed its actor every record of this pair up to ``through``."""

    through: int


@message
@dataclass(frozen=True, slots=True)
class ResendDue(Message):
    """Timer, to the sender itself: look for records that waited too long for their acknowledgement."""


@message
@dataclass(frozen=True, slots=True)
class AckDue(Message):
    """Timer, to the receiver itself: acknowledge what was delivered since the last acknowledgement."""


@dataclass
class _Outgoing:
    """One receiver's link, at the sender: numbering and the records not yet acknowledged."""

    next_seq: int = 1
    unacked: dict[int, bytes] = field(default_factory=dict)
    """Wire bytes of ``Sequenced`` records by their number, oldest first."""
    oldest_sent_at: float = 0.0
    """When the oldest unacknowledged record was last sent."""
    wait_s: float = RESEND_AFTER_S


@dataclass
class _Incoming:
    """One sender's link, at the receiver: what was handed over and what waits for a gap."""

    delivered_through: int = 0
    held: dict[int, bytes] = field(default_factory=dict)
    """Payloads that came after a gap, by number."""
    owed: bool = False
    """An acknowledgement is owed (something arrived since the last one)."""


@dataclass
class ReliableLinks:
    """Every link of one actor, both ways; the actor asks and does what the answer says."""

    outgoing: dict[str, _Outgoing] = field(default_factory=dict)
    incoming: dict[str, _Incoming] = field(default_factory=dict)
    resends: int = 0
    """Records sent again (each copy counts)."""
    discarded: int = 0
    """Copies received of records already delivered."""

    # ------------------------------------------------------------ sending

    def number(self, receiver: str, payload: bytes, now: float) -> bytes:
        """The ``Sequenced`` wire bytes for ``payload`` to ``receiver``, kept until acknowledged."""
        link = self.outgoing.get(receiver)
        if link is None:
            link = self.outgoing[receiver] = _Outgoing()
        seq, link.next_seq = link.next_seq, link.next_seq + 1
        data = encode(Sequenced(seq, payload))
        if not link.unacked:
            link.oldest_sent_at, link.wait_s = now, RESEND_AFTER_S
        link.unacked[seq] = data
        return data

    def waiting(self) -> bool:
        """True while some record waits for its acknowledgement (a resend timer is needed)."""
        return any(link.unacked for link in self.outgoing.values())

    def acknowledged(self, receiver: str, through: int, now: float) -> None:
        """``receiver`` has every record up to ``through``: forget them; the next resend waits afresh."""
        link = self.outgoing.get(receiver)
        if link is None:
            return
        done = [seq for seq in link.unacked if seq <= through]
        for seq in done:
            del link.unacked[seq]
        if done:
            link.oldest_sent_at, link.wait_s = now, RESEND_AFTER_S

    def due(self, now: float) -> list[tuple[str, list[bytes]]]:
        """Every link whose oldest record waited its deadline: all its unacknowledged records, to send again.

        Each such link's next deadline doubles (capped at :data:`RESEND_CAP_S`)
        until an acknowledgement makes progress.
        """
        out = []
        for receiver, link in sorted(self.outgoing.items()):
            if link.unacked and now - link.oldest_sent_at >= link.wait_s - 1e-9:
                records = list(link.unacked.values())
                self.resends += len(records)
                link.oldest_sent_at, link.wait_s = now, min(link.wait_s * 2, RESEND_CAP_S)
                out.append((receiver, records))
        return out

    def next_deadline(self) -> float | None:
        """When the earliest link with unacknowledged records is due, or None."""
        deadlines = [link.oldest_sent_at + link.wait_s for link in self.outgoing.values() if link.unacked]
        return min(deadlines) if deadlines else None

    def forget(self, receiver: str) -> int:
        """``receiver`` is gone for good: drop its link; the number of records that will never be acknowledged."""
        link = self.outgoing.pop(receiver, None)
        return len(link.unacked) if link is not None else 0

    # ------------------------------------------------------------ receiving

    def receive(self, sender: str, seq: int, payload: bytes) -> list[bytes]:
        """What to hand the actor now, in order: nothing for a copy or a record after a gap."""
        link = self.incoming.get(sender)
        if link is None:
            link = self.incoming[sender] = _Incoming()
        link.owed = True
        if seq <= link.delivered_through or seq in link.held:
            self.discarded += 1
            return []
        if seq != link.delivered_through + 1:
            link.held[seq] = payload
            return []
        ready = [payload]
        link.delivered_through = seq
        while link.delivered_through + 1 in link.held:
            link.delivered_through += 1
            ready.append(link.held.pop(link.delivered_through))
        return ready

    def acks_owed(self) -> list[tuple[str, Delivered]]:
        """The acknowledgement each sender is owed, in address order; none is owed after this."""
        out = []
        for sender, link in sorted(self.incoming.items()):
            if link.owed:
                link.owed = False
                out.append((sender, Delivered(link.delivered_through)))
        return out


__all__ = [
    "ACK_AFTER_S",
    "RESEND_AFTER_S",
    "RESEND_CAP_S",
    "AckDue",
    "Delivered",
    "ReliableLinks",
    "ResendDue",
    "Sequenced",
]
