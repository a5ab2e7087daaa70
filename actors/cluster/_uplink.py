"""The shard's end of its link to the coordinator: the actor at ``RISK`` in a shard's runtime.

The shard's quoters and store send risk what they send it in one process;
this actor batches those records per tick and hands each batch to the
transport: a batch when the tick's quoter records are all in (a record of
the tick from every live quoter of the shard), one when the shard's inputs
of a tick are complete (those and the store's record that closes the
tick's fills: the completeness rule, counted per shard), and at once for
anything else (a freeze confirmation, a venue's state, a quoter that
stopped, a freeze request), each with what came before it, so the order
the coordinator sees is the order they were sent in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from actors.cluster._records import ShardBatch
from actors.runtime._actor import MessageActor, handles
from actors.wire._codec import Message, encode
from actors.wire._messages import (
    FeedTicks,
    FillsApplied,
    FreezeComplete,
    FreezeRequest,
    Mark,
    QuoteIntent,
    QuoteLevels,
    QuoterStopped,
    VenueState,
)

BATCH_BYTES = 1 << 20
"""A batch carries at most about this many bytes of records (a wire message stays far below its limit)."""

SendUp = Callable[[bytes], None]


class UpLink(MessageActor):
    """Batches a shard's records for risk, per tick, and sends each batch up the link."""

    urgent = True  # on the critical path of every tick

    def __init__(
        self, shard: int, symbols: Sequence[str], send_up: SendUp, *, incarnation: int, flushed_through: int,
        final_tick: int,
    ) -> None:  # fmt: skip
        super().__init__()
        self.shard = shard
        self.symbols = len(symbols)
        self.send_up = send_up
        self.incarnation = incarnation
        self.seq = 0
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.counts: dict[int, int] = {}
        self.stopped: dict[str, int] = {}
        self.closed_through = flushed_through
        self.flushed_through = flushed_through
        self.final_tick = final_tick

    # ------------------------------------------------------------ what the shard's actors send risk

    @handles(QuoteIntent)
    def on_quote_intent(self, intent: QuoteIntent) -> None:
        """A quoter's record of a tick: batched until the shard's tick is complete."""
        self._tick_record(intent, intent.tick)

    @handles(QuoteLevels)
    def on_quote_levels(self, levels: QuoteLevels) -> None:
        """A quoter's record of a tick with more than one level a side: as an intent."""
        self._tick_record(levels, levels.tick)

    @handles(Mark)
    def on_mark(self, mark: Mark) -> None:
        """A frozen quoter's record of a tick: counted like an intent."""
        self._tick_record(mark, mark.tick)

    @handles(FillsApplied)
    def on_fills_applied(self, applied: FillsApplied) -> None:
        """The store's fills: the record closing a tick may complete it; after the last tick they go at once."""
        self._queue(applied)
        if applied.closes:
            self.closed_through = max(self.closed_through, applied.tick)
        if self.flushed_through >= self.final_tick:
            self.flush()
        else:
            self._flush_complete()

    @handles(QuoterStopped)
    def on_quoter_stopped(self, stopped: QuoterStopped) -> None:
        """A quoter gone for good: the shard's ticks after its last count one quoter fewer."""
        self.stopped[stopped.symbol] = stopped.last_tick
        self._queue(stopped)
        self.flush()
        self._flush_complete()

    @handles(FreezeComplete)
    def on_freeze_complete(self, done: FreezeComplete) -> None:
        """The shard's store confirms its freeze: at once (the coordinator waits for every shard's)."""
        self._now(done)

    @handles(VenueState)
    def on_venue_state(self, state: VenueState) -> None:
        """The shard's venue's positions after a restart: at once, for the coordinator's reconciliation."""
        self._now(state)

    @handles(FreezeRequest)
    def on_freeze_request(self, request: FreezeRequest) -> None:
        """An actor of the shard gave up (or an operator on the shard's side): at once."""
        self._now(request)

    @handles(FeedTicks)
    def on_feed_ticks(self, ticks: FeedTicks) -> None:
        """The coordinator says how far the run goes: fills after the last tick are not batched."""
        self.final_tick = ticks.last

    # ------------------------------------------------------------ batching

    def _tick_record(self, record: Message, tick: int) -> None:
        """A quoter's record of ``tick``; the tick's last one goes up at once, with what came before it.

        The quoters run ahead of the venue (the feed's ticks in flight), so a
        tick's intents are all in well before the store closes its fills: sent
        then, the coordinator decodes them while the shard still works, not
        after the close, when every shard waits for its decision.
        """
        self._queue(record)
        count = self.counts[tick] = self.counts.get(tick, 0) + 1
        if count == self._expected(tick) and tick > self.flushed_through:
            self.flush()
        self._flush_complete()

    def _now(self, record: Message) -> None:
        """``record`` up the link at once, after what is pending (the coordinator sees the shard's order)."""
        self._queue(record)
        self.flush()

    def _queue(self, record: Message) -> None:
        data = encode(record)
        self.pending.append(data)
        self.pending_bytes += len(data)

    def _expected(self, tick: int) -> int:
        """Quoter records of ``tick`` the shard sends: one from every quoter still live then."""
        return self.symbols - sum(1 for last in self.stopped.values() if last < tick)

    def _complete(self, tick: int) -> bool:
        return self.closed_through >= tick and self.counts.get(tick, 0) >= self._expected(tick)

    def _flush_complete(self) -> None:
        complete = False
        while self.flushed_through < self.final_tick and self._complete(self.flushed_through + 1):
            self.flushed_through += 1
            self.counts.pop(self.flushed_through, None)
            complete = True
        if complete or self.pending_bytes >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Send what is pending as batches of at most about :data:`BATCH_BYTES`, in order."""
        pending, self.pending, self.pending_bytes = self.pending, [], 0
        start = size = 0
        for index, data in enumerate(pending):
            size += len(data)
            if size >= BATCH_BYTES or index == len(pending) - 1:
                self.seq += 1
                chunk = tuple(pending[start : index + 1])
                self.send_up(encode(ShardBatch(self.shard, self.incarnation, self.seq, (), chunk)))
                start, size = index + 1, 0

    @property
    def sent(self) -> int:
        """Batches sent up so far (this incarnation)."""
        return self.seq
