"""The records of the links between the coordinator and its shards (docs/SCALING.md, "The links").

Between processes travel only wire records: a :class:`ShardBatch` carries, in
order, the engine's own records (each already msgpack bytes of
:mod:`actors.wire._messages`) that one side sent the other since its last batch.
Batches are numbered per link and incarnation, so a receiver puts them back
in order and keeps one copy of each whatever the transport does.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.wire._codec import Message, message

BROADCAST = "*quoters"
"""The address, in a batch to a shard, that means every quoter of the shard."""


@message
@dataclass(frozen=True, slots=True)
class ShardBatch(Message):
    """Records of one flush: to a shard, each with the local address it goes to; to the coordinator, all for risk.

    ``incarnation`` counts the sender's (re)starts: a shard that Ray
    restarted numbers its batches anew under a higher incarnation.
    """

    shard: int
    incarnation: int
    seq: int
    addresses: tuple[str, ...]
    records: tuple[bytes, ...]


@message
@dataclass(frozen=True, slots=True)
class ShardHello(Message):
    """Shard -> coordinator, as a shard (re)starts: where its venue is; the coordinator answers with :class:`Rejoin`."""

    shard: int
    incarnation: int
    venue_tick: int
    fills_known: int
    """Fills the shard's store holds from its journal (the coordinator resends nothing; it asks for the missing)."""


@message
@dataclass(frozen=True, slots=True)
class Rejoin(Message):
    """Coordinator -> a restarted shard: resume after ``decided_through``; the fills risk has of it; the freeze."""

    decided_through: int
    last_tick: int
    fills_received: int
    freeze_tick: int
    freeze_reason: str
    """Empty: not frozen (a freeze before the first decision has tick 0)."""
    keep_quoting: bool
    incarnation: int
    """The coordinator's numbering of its batches to the shard from now on: older ones are stale."""


class BatchInbox:
    """Puts one link's batches back in order and drops copies; a new incarnation starts the numbering again."""

    def __init__(self) -> None:
        self.incarnation = -1
        self.next_seq = 1
        self.held: dict[int, ShardBatch] = {}
        self.received = 0
        """Batches handed on (in order) from the sender's current incarnation."""

    def expect(self, incarnation: int) -> None:
        """From now on only batches of ``incarnation`` or later (the sender restarted): numbering starts anew."""
        if incarnation > self.incarnation:
            self.incarnation, self.next_seq, self.held, self.received = incarnation, 1, {}, 0

    def accept(self, batch: ShardBatch) -> list[ShardBatch]:
        """The batches ``batch`` makes deliverable, in order (none for a copy or one that came early)."""
        if batch.incarnation < self.incarnation:
            return []  # from an incarnation that is gone
        if batch.incarnation > self.incarnation:
            self.incarnation, self.next_seq, self.held, self.received = batch.incarnation, 1, {}, 0
        if batch.seq < self.next_seq or batch.seq in self.held:
            return []
        self.held[batch.seq] = batch
        ready: list[ShardBatch] = []
        while self.next_seq in self.held:
            ready.append(self.held.pop(self.next_seq))
            self.next_seq += 1
        self.received += len(ready)
        return ready
