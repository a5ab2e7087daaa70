"""Rebuilding a run from its journals after a crash.

The order store's journal is replayed through a fresh :class:`OrderStore`
(same operations, same deterministic code, same state); the fills it applied
rebuild risk's positions and edge, each marked at the mid of its own tick as
it was live; a journaled freeze is re-imposed.  The run resumes after the
last tick the venue reached, and the engine then reconciles with the venue
(:mod:`actors.roles.supervision`) before it trades again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from actors.core.journal import JournalReader, JournalWriter
from actors.core.market_data import MarketDataSource
from actors.core.orders import OrderStore
from actors.core.risk import RiskEngine

STORE_JOURNAL = "store.journal"
VENUE_JOURNAL = "venue.journal"


@dataclass
class Recovered:
    """What a journal gave back."""

    store: OrderStore
    records: int
    fills: int
    freeze: tuple[int, str] | None
    torn_tail: bool


def recover_store(
    journal_dir: Path, store: OrderStore, risk: RiskEngine, market: MarketDataSource, *, fsync: bool
) -> Recovered:
    """Replay ``journal_dir``'s store journal into ``store`` and ``risk``; then journal on from there."""
    reader = JournalReader(journal_dir / STORE_JOURNAL)
    records = fills = 0
    freeze: tuple[int, str] | None = None
    for record in reader:
        records += 1
        if record[0] == "freeze":
            freeze = (int(record[1]), str(record[2]))
            continue
        fill = store.replay(record)
        if fill is not None:
            fills += 1
            risk.update_mark(fill.symbol, market.mid_ticks(fill.symbol, fill.tick))
            risk.apply_fill(fill)
    if freeze is not None:
        risk.freeze(freeze[1])
    store.journal = JournalWriter(journal_dir / STORE_JOURNAL, fsync=fsync, keep_bytes=reader.valid_bytes)
    return Recovered(store, records, fills, freeze, reader.torn_tail)
