"""A symbol's order book from recorded depth: levels by price, a snapshot to start, gaps told by update ids.

Pure: no I/O.  A replay reads depth as events (:mod:`actors.markets._events`):
a snapshot is a ``BOOK_RESET`` marker and its levels; a level is its side's
absolute size at a price (0 removes it); a venue that numbers its updates
(Binance) puts a ``BOOK_UPDATE`` marker with the update's ids before the
update's levels.  The book follows them in the instruments' integers (ticks,
lots: :class:`actors.markets._recorded.Buckets` converts them), and
:class:`Sequencer` applies Binance's update-id rules (the live book,
:mod:`actors.markets.live._book`, uses the same :func:`verdict`):

- USDⓈ-M: after a snapshot of ``lastUpdateId`` L, updates whose final id
  ``u`` is below L are old; the first applied has ``U <= L <= u`` (or its
  ``pu`` is L); after it each update's ``pu`` must be the last one's ``u``;
- spot (no ``pu``): updates with ``u <= L`` are old; each must have
  ``U <= last + 1``;
- anything else is a **gap**: the book is stale (its levels are kept, but
  nothing is applied and it is not trusted) until the next snapshot; gaps are
  counted.  Updates before the first snapshot wait for it (not applied, not
  gaps).  A snapshot without ids (Tardis: its ``is_snapshot`` rows; a
  ``book_snapshot_N`` row) makes the book live with no sequence to check.

A level that crosses the other side (a bid at or above the best ask) removes
the other side's levels it crosses: a book is never crossed, and the level
last set is the one the venue shows now.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from enum import Enum

RESET = 3
"""A depth :class:`~actors.markets._recorded.TickEvent`'s side for a snapshot's start (its lots: the snapshot's
last update id, 0 if none)."""
UPDATE = 4
"""A depth tick event's side for an update's ids: (first id, final id) in the price and lots fields, the previous
final id in the last field (-1: none given)."""
BID, ASK = 1, -1


class BookState(Enum):
    """Where a book stands: waiting for its first snapshot, live, or stale after a gap (waiting for a new one)."""

    WAITING = "waiting"
    LIVE = "live"
    STALE = "stale"


def verdict(futures: bool, last_id: int, *, first_after_snapshot: bool, ids: tuple[int, int, int]) -> str:
    """Binance's rule for one update after the book's ``last_id``: ``old`` (ignore it), ``gap`` or ``ok``.

    ``ids`` are the update's first, final and previous final ids (``U``, ``u``, ``pu``).
    """
    first_id, final_id, previous_final_id = ids
    if futures:
        if final_id < last_id:
            return "old"
        if first_after_snapshot:
            # the documented rule, or the update right after the snapshot's id (none buffered before it)
            if not (first_id <= last_id <= final_id or previous_final_id == last_id):
                return "gap"
        elif previous_final_id != last_id:
            return "gap"
        return "ok"
    if final_id <= last_id:
        return "old"
    return "gap" if first_id > last_id + 1 else "ok"


@dataclass(slots=True)
class Sequencer:
    """Whether a book's next levels apply: the snapshot, then each update's ids against the last (:func:`verdict`)."""

    state: BookState = BookState.WAITING
    last_id: int = 0
    """The last update id applied (0: the data numbers nothing, every update applies)."""
    first_after_snapshot: bool = False
    accepting: bool = False
    """The levels that follow apply (the last marker was a snapshot or an update in sequence)."""
    gaps: int = 0
    """Gaps found, each making the book stale until the next snapshot."""
    stale_updates: int = 0
    """Updates not applied because the book was stale (after a gap)."""

    def snapshot(self, last_update_id: int) -> None:
        """A snapshot starts: the book is live from its levels on."""
        self.state, self.last_id, self.first_after_snapshot, self.accepting = (
            BookState.LIVE, last_update_id, True, True,
        )  # fmt: skip

    def update(self, first_id: int, final_id: int, previous_final_id: int) -> bool:
        """An update's ids; True if its levels apply."""
        if self.state is not BookState.LIVE:
            if self.state is BookState.STALE:
                self.stale_updates += 1
            self.accepting = False
            return False
        if self.last_id == 0:  # a snapshot with no id: nothing to check against yet
            self.last_id, self.first_after_snapshot, self.accepting = final_id, False, True
            return True
        said = verdict(previous_final_id >= 0, self.last_id, first_after_snapshot=self.first_after_snapshot,
                       ids=(first_id, final_id, previous_final_id))  # fmt: skip
        if said == "old":
            self.accepting = False
            return False
        if said == "gap":
            self.state, self.accepting = BookState.STALE, False
            self.gaps += 1
            return False
        self.last_id, self.first_after_snapshot, self.accepting = final_id, False, True
        return True

    def level(self) -> bool:
        """A level: applies if the book is live and the update it belongs to was in sequence.

        Levels with no update marker before them (Tardis) apply once a
        snapshot has made the book live.
        """
        return self.accepting


@dataclass(slots=True)
class DepthBook:
    """One symbol's book in ticks and lots, with its best prices kept as levels change."""

    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    best_bid: int = 0
    """0: no bid."""
    best_ask: int = 0
    """0: no ask."""
    sequence: Sequencer = field(default_factory=Sequencer)

    @property
    def live(self) -> bool:
        """A snapshot was applied and no gap found since."""
        return self.sequence.state is BookState.LIVE

    def apply(self, price: int, lots: int, side: int, extra: int) -> tuple[int, int] | None:
        """One depth tick event's fields; the level's (lots before, lots after) if a level changed.

        ``extra`` is an update marker's previous final id (-1: none given); a
        level's feed latency, unused here.  A marker (:data:`RESET`,
        :data:`UPDATE`) changes no level: None, as for a level that does not
        apply (stale book, old update).
        """
        if side == BID:
            if not self.sequence.accepting:
                return None
            return self._set_bid(price, lots)
        if side == ASK:
            if not self.sequence.accepting:
                return None
            return self._set_ask(price, lots)
        if side == RESET:
            self.bids.clear()
            self.asks.clear()
            self.best_bid = self.best_ask = 0
            self.sequence.snapshot(lots)
        elif side == UPDATE:
            self.sequence.update(price, lots, extra)
        return None

    def _set_bid(self, price: int, lots: int) -> tuple[int, int]:
        bids = self.bids
        before = bids.get(price, 0)
        if lots > 0:
            bids[price] = lots
            if price > self.best_bid:
                self.best_bid = price
                if self.best_ask and price >= self.best_ask:
                    self._uncross_asks(price)
        elif before:
            del bids[price]
            if price == self.best_bid:
                self.best_bid = max(bids) if bids else 0
        return before, lots

    def _set_ask(self, price: int, lots: int) -> tuple[int, int]:
        asks = self.asks
        before = asks.get(price, 0)
        if lots > 0:
            asks[price] = lots
            if price < self.best_ask or not self.best_ask:
                self.best_ask = price
                if self.best_bid and price <= self.best_bid:
                    self._uncross_bids(price)
        elif before:
            del asks[price]
            if price == self.best_ask:
                self.best_ask = min(asks) if asks else 0
        return before, lots

    def _uncross_asks(self, bid: int) -> None:
        asks = self.asks
        for price in [p for p in asks if p <= bid]:
            del asks[price]
        self.best_ask = min(asks) if asks else 0

    def _uncross_bids(self, ask: int) -> None:
        bids = self.bids
        for price in [p for p in bids if p >= ask]:
            del bids[price]
        self.best_bid = max(bids) if bids else 0

    def lots_at(self, side: int, price: int) -> int:
        """The displayed size at ``price`` on ``side`` (0 if no level there)."""
        return (self.bids if side == BID else self.asks).get(price, 0)

    def levels(self, depth: int) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """The best ``depth`` levels a side, best first: bids from the highest, asks from the lowest."""
        bids, asks = self.bids, self.asks
        top_bids, top_asks = heapq.nlargest(depth, bids), heapq.nsmallest(depth, asks)
        return tuple((p, bids[p]) for p in top_bids), tuple((p, asks[p]) for p in top_asks)
