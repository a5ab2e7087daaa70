"""The coordinator: risk over every shard, and the links to them (docs/SCALING.md, "The coordinator").

What is global lives here: positions and marks of every symbol, the total
notional limit, realised edge over every fill, the trading state and the
halt.  :class:`CoordinatorRisk` is the risk monitor of one process
(:class:`RiskMonitor`), whose round (:class:`actors.core._risk_round.RiskRound`)
it feeds with the records of the shards' batches instead of its own
mailbox, and whose outputs it splits by shard: so a sharded run decides
exactly what one process decides.  What it adds is per shard:

- the completeness rule counted over shards: tick *t*'s fills are complete
  when every shard's store has closed *t* (risk applies each tick's fills in
  symbol order, so the shards' arrival order changes nothing);
- each ``ReplaceQuotes`` split by symbol, one part for every shard each tick
  (empty or not: each shard's store sends its gateway one request per tick),
  with its kept orders, and each ``TickDone`` with its symbols' own states;
- a halt's freeze is confirmed when every shard's store has confirmed it;
- a restarted shard's venue is reconciled against the positions of its
  symbols only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from loguru import logger

from actors.cluster._records import BROADCAST, BatchInbox, Rejoin, ShardBatch
from actors.cluster._uplink import BATCH_BYTES
from actors.core._risk import OwnState, RiskEngine
from actors.core._risk_round import Halted, Resumed, TickDecision
from actors.roles._addresses import FEED, GATEWAY, STORE
from actors.roles._risk_monitor import RiskMonitor
from actors.runtime._actor import handles
from actors.wire._codec import Message, WireError, decode, encode, encode_fields
from actors.wire._messages import (
    FillsApplied,
    Freeze,
    FreezeComplete,
    FreezeRequest,
    Mark,
    OrderFields,
    QuoteIntent,
    QuoteLevels,
    QuoterStopped,
    Resume,
    TickDone,
    VenueState,
    encode_replace,
)

Port = Callable[[bytes], None]
"""How the coordinator hands a batch to one shard (a method call in one process, a Ray call across)."""


class CoordinatorRisk(RiskMonitor):
    """The risk monitor of a sharded run: the same decisions, its records to and from the shards in batches."""

    def __init__(self, engine: RiskEngine, shards: Sequence[Sequence[str]], ports: Sequence[Port], *,
                 final_tick: int, own: bool = False) -> None:  # fmt: skip
        symbols = [symbol for part in shards for symbol in part]
        super().__init__(engine, symbols, final_tick=final_tick, own=own)
        self.shards = [tuple(part) for part in shards]
        self.shard_of = {symbol: index for index, part in enumerate(shards) for symbol in part}
        self.ports = list(ports)
        self.inboxes = [BatchInbox() for _ in shards]
        self.out_seq = [0] * len(shards)
        self.out_incarnation = [0] * len(shards)
        self.fill_seq = [0] * len(shards)
        self.fill_incarnation = [0] * len(shards)
        self.fills_received = [0] * len(shards)
        self.closed = [0] * len(shards)
        self.duplicate_records = 0
        """Shards' fill records delivered twice (recognised by their numbers)."""
        self.freeze_confirmed_at: float | None = None
        """Runtime clock when the last shard confirmed the freeze (timing for the benchmark, never reported)."""
        self.confirmed: dict[int, int] = {}
        """Shards whose store confirmed the freeze under way, with the orders each canceled."""

    # ------------------------------------------------------------ from the shards

    @handles(ShardBatch)
    def on_shard_batch(self, batch: ShardBatch) -> None:
        """A shard's batch: its records in order, as if each had come on its own."""
        if not 0 <= batch.shard < len(self.shards):
            self.runtime.dead_letter(self.sender, self.address, f"batch from unknown shard {batch.shard}", batch)
            return
        inbox = self.inboxes[batch.shard]
        if batch.incarnation > inbox.incarnation >= 0:
            self.fill_seq[batch.shard] = 0  # a restarted shard's store numbers its records anew
        for ready in inbox.accept(batch):
            for data in ready.records:
                try:
                    record = decode(data)
                except WireError as exc:
                    self.runtime.dead_letter(self.sender, self.address, f"undecodable: {exc}", data)
                    continue
                self._from_shard(batch.shard, record)

    def _from_shard(self, shard: int, record: Message) -> None:
        """One record of a shard's batch, handed to risk's round as the one process's risk takes it."""
        round_ = self.round
        if isinstance(record, (QuoteIntent, QuoteLevels)):
            self.perform(round_.intent(record))
        elif isinstance(record, Mark):
            self.perform(round_.mark(record))
        elif isinstance(record, FillsApplied):
            self._shard_fills(shard, record)
        elif isinstance(record, FreezeComplete):
            self._shard_confirmed(shard, record)
        elif isinstance(record, VenueState):
            positions = [(item.symbol, item.lots) for item in record.positions]
            self.perform(round_.reconcile(positions, record.tick, self.shards[shard]))  # a shard's symbols only
        elif isinstance(record, QuoterStopped):
            self.perform(round_.quoter_stopped(record.symbol, record.last_tick, record.reason))
        elif isinstance(record, FreezeRequest):
            self.perform(round_.request_halt(record.reason))
        else:
            why = f"unexpected from shard {shard}: {type(record).__name__}"
            self.runtime.dead_letter(self.sender, self.address, why, record)

    def _shard_fills(self, shard: int, applied: FillsApplied) -> None:
        """One shard's store's fills: numbered per shard; ``closes`` counts once every shard closed the tick."""
        if applied.seq and applied.seq <= self.fill_seq[shard]:
            self.duplicate_records += 1
            return
        self.fill_seq[shard] = max(self.fill_seq[shard], applied.seq)
        self.fills_received[shard] += len(applied.fills)
        closes = None
        if applied.closes:
            self.closed[shard] = max(self.closed[shard], applied.tick)
            closes = min(self.closed)
        self.perform(self.round.fills(applied.fills, closes, ended=applied.ended))

    def _shard_confirmed(self, shard: int, done: FreezeComplete) -> None:
        """One shard's store confirms the freeze; the freeze is confirmed when every shard's has."""
        self.confirmed[shard] = done.canceled
        if len(self.confirmed) == len(self.shards):
            self.freeze_confirmed_at = self.runtime.now()
            self.on_freeze_complete(FreezeComplete(done.tick, sum(self.confirmed.values())))

    def announce_halt(self, halted: Halted) -> None:
        """A new halt: every shard confirms its freeze anew."""
        self.confirmed = {}
        super().announce_halt(halted)

    def announce_resume(self, resumed: Resumed) -> None:
        """After a resume, the next halt's freeze is confirmed anew."""
        self.confirmed = {}
        super().announce_resume(resumed)

    def rejoin(self, shard: int, last_tick: int) -> bytes:
        """A restarted shard (called through the actor's proxy, so between two messages): its link starts anew.

        It gets where risk is (it resumes after risk's last decision), how
        many of its fills risk has (it resends the rest from its journal),
        and the freeze, if there is one.
        """
        self.out_seq[shard] = 0
        self.out_incarnation[shard] += 1
        self.inboxes[shard].expect(self.inboxes[shard].incarnation + 1)  # the dead one's late batches: refused
        self.fill_seq[shard] = 0
        engine = self.engine
        if engine.track_own:
            engine.own_changed.update(self.shards[shard])  # its new feed knows nothing: the next decision says all
        halt = self.round.halt_in_force()
        keep = engine.halt_resumable or engine.limits.flatten_on_halt
        freeze = (halt.tick, halt.reason) if halt is not None else (0, "")
        rejoin = Rejoin(self.decided_through, last_tick, self.fills_received[shard], *freeze, keep,
                        self.out_incarnation[shard])  # fmt: skip
        return encode(rejoin)

    # ------------------------------------------------------------ to the shards

    def send_all(self, sends: Iterable[tuple[str, Message]]) -> None:
        """Risk's records other than its decisions, routed to every shard; one batch per shard."""
        records: list[tuple[str, bytes]] = []
        for address, record in sends:
            data = encode(record)
            if isinstance(record, (Freeze, Resume)) and address == STORE:
                records += [(STORE, data), (BROADCAST, data)]
            elif address in (GATEWAY, STORE):
                records.append((address, data))
            else:
                logger.warning("coordinator: nothing routes {} to {}", type(record).__name__, address)
        if records:
            for shard in range(len(self.shards)):
                self._send_batch(shard, records)

    def send_decision(self, decision: TickDecision) -> None:
        """One decision as one ``ReplaceQuotes`` per shard (empty or not), with its symbols and orders only.

        Every shard's store owes its gateway one request per tick, so every
        shard gets its part; the risk blocks are counted once, in shard 0's.
        """
        shard_of = self.shard_of
        mine: list[list[str]] = [[] for _ in self.shards]
        theirs: list[list[OrderFields]] = [[] for _ in self.shards]
        kept: list[list[int]] = [[] for _ in self.shards]
        own: list[list[OwnState]] = [[] for _ in self.shards]
        for symbol in decision.symbols:
            mine[shard_of[symbol]].append(symbol)
        for order in decision.orders:
            theirs[shard_of[order[0]]].append(order)
        for symbol, number in decision.keep:
            kept[shard_of[symbol]].append(number)
        for state in decision.own:
            own[shard_of[state[0]]].append(state)
        tick, blocks, flatten = decision.tick, decision.blocks, decision.flatten
        for shard in range(len(self.shards)):
            shard_blocks = blocks if shard == 0 else 0
            parts = encode_replace(tick, mine[shard], theirs[shard], shard_blocks, flatten, keep=kept[shard])
            done = encode_fields(TickDone, (tick, tuple(own[shard])))
            self._send_batch(shard, [*((STORE, data) for data in parts), (FEED, done)])

    def _send_batch(self, shard: int, records: list[tuple[str, bytes]]) -> None:
        """As batches of at most about :data:`BATCH_BYTES` each (a wire message has a limit), in order."""
        chunk: list[tuple[str, bytes]] = []
        size = 0
        for index, (address, data) in enumerate(records):
            chunk.append((address, data))
            size += len(data)
            if size >= BATCH_BYTES or index == len(records) - 1:
                self.out_seq[shard] += 1
                batch = ShardBatch(shard, self.out_incarnation[shard], self.out_seq[shard],
                                   tuple(a for a, _ in chunk), tuple(d for _, d in chunk))  # fmt: skip
                self.ports[shard](encode(batch))
                chunk, size = [], 0
