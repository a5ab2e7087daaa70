"""A symbol's order book kept from a REST snapshot and the depth stream's diffs, by Binance's update-id rules.

Pure: no I/O, no clock; the client feeds it diffs and snapshots and fetches a
snapshot when it asks for one.  The rules are Binance's "How to manage a local
order book correctly":

- spot (developers.binance.com/docs/binance-spot-api-docs/web-socket-streams): buffer the diffs; take a
  snapshot; if its ``lastUpdateId`` is below the first buffered diff's ``U``, take another; drop diffs whose
  ``u`` is at or below ``lastUpdateId``; then each diff must have ``U`` at most the book's id + 1 (a larger ``U``
  is a gap), a diff whose ``u`` is below the book's id is old and ignored; the book's id becomes ``u``;
- USDⓈ-M (developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/
  How-to-manage-a-local-order-book-correctly): drop diffs whose ``u`` is below ``lastUpdateId``; the first
  applied has ``U <= lastUpdateId <= u`` (or, when the snapshot came before any diff, ``pu == lastUpdateId``);
  after it, each diff's ``pu`` must equal the previous diff's ``u``, otherwise it is a gap;
- both: a quantity is the level's absolute size; 0 removes the level (removing an absent level is normal).

A gap makes the book stale until a new snapshot has been applied: the diffs
from the gap on are buffered for it.  The rules are one function,
:func:`actors.markets._depth.verdict`, shared with the replay's book.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from actors.markets._depth import verdict
from actors.markets.live._protocol import DepthDiff

Levels = tuple[tuple[float, float], ...]


class BookState(Enum):
    """Where a book stands: waiting for its first snapshot, live, or stale after a gap (waiting for a new one)."""

    WAITING = "waiting"
    LIVE = "live"
    STALE = "stale"


MAX_BUFFERED = 10_000
"""Diffs kept while a snapshot is awaited; past this the oldest go (the snapshot will be too old for them)."""


class DepthBook:
    """One symbol's book: levels by price, the last update id applied, and whether it can be trusted."""

    def __init__(self, symbol: str, *, futures: bool) -> None:
        self.symbol = symbol
        self.futures = futures
        self.state = BookState.WAITING
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.last_id = 0
        self.gaps = 0
        """Gaps found (each made the book stale until a snapshot)."""
        self.snapshots = 0
        """Snapshots applied."""
        self._buffer: list[DepthDiff] = []
        self._first_after_snapshot = False

    @property
    def live(self) -> bool:
        """The book can be trusted: a snapshot has been applied and no gap found since."""
        return self.state is BookState.LIVE

    def on_diff(self, diff: DepthDiff) -> str:
        """Apply or buffer one diff; says what became of it: ``buffered``, ``applied``, ``old`` or ``gap``."""
        if self.state is not BookState.LIVE:
            self._buffer.append(diff)
            if len(self._buffer) > MAX_BUFFERED:
                del self._buffer[0]
            return "buffered"
        return self._apply(diff)

    def on_snapshot(self, last_update_id: int, bids: Levels, asks: Levels) -> bool:
        """Rebuild from a snapshot and the buffered diffs; False if the snapshot is too old (take another).

        The book is live after this unless the buffered diffs show a gap after
        the snapshot (then it is stale again and wants another snapshot).
        """
        buffered = self._buffer
        if buffered and last_update_id < buffered[0].first_id - (0 if self.futures else 1):
            return False  # the diffs that would bridge the snapshot to the buffer are gone: too old
        self._buffer = []
        self.bids = {price: size for price, size in bids if size > 0.0}
        self.asks = {price: size for price, size in asks if size > 0.0}
        self.last_id = last_update_id
        self.state = BookState.LIVE
        self.snapshots += 1
        self._first_after_snapshot = True
        for diff in buffered:
            if self._apply(diff) == "gap":
                break
        return True

    def _apply(self, diff: DepthDiff) -> str:
        previous = -1 if diff.previous_final_id is None else diff.previous_final_id
        said = verdict(self.futures, self.last_id, first_after_snapshot=self._first_after_snapshot,
                       ids=(diff.first_id, diff.final_id, previous))  # fmt: skip
        if said == "old":
            return "old"
        if said == "gap":
            return self._gap(diff)
        self._first_after_snapshot = False
        _set(self.bids, diff.bids)
        _set(self.asks, diff.asks)
        self.last_id = diff.final_id
        return "applied"

    def _gap(self, diff: DepthDiff) -> str:
        self.state = BookState.STALE
        self.gaps += 1
        self._buffer = [diff]
        return "gap"

    def lost(self) -> None:
        """The stream broke (a disconnect): what comes next may not follow on, so wait for a new snapshot."""
        if self.state is BookState.LIVE:
            self.state = BookState.STALE
        self._buffer = []

    def levels(self, depth: int = 10) -> tuple[Levels, Levels]:
        """The best ``depth`` levels a side: bids from the highest, asks from the lowest."""
        bids = tuple(sorted(self.bids.items(), reverse=True)[:depth])
        asks = tuple(sorted(self.asks.items())[:depth])
        return bids, asks


def _set(side: dict[float, float], levels: Iterable[tuple[float, float]]) -> None:
    for price, size in levels:
        if size > 0.0:
            side[price] = size
        else:
            side.pop(price, None)
