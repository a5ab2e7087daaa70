"""Rebuilding a run from its journals after a crash.

The order store's journal is replayed through a fresh :class:`OrderStore`
(same operations, same deterministic code, same state); the fills it applied
rebuild risk's positions and edge, each marked at the mid of its own tick as
it was live; a journaled freeze is re-imposed.  The run resumes after the
last tick the venue reached, and the engine then reconciles with the venue
(:mod:`actors.roles.supervision`) before it trades again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from actors.config import ShadowConfig
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


UNFINGERPRINTED = frozenset(
    {"iterations", "runtime", "journal", "journal_fsync", "log_level", "pace", "tick_ms", "decision_deadline_ms",
     "ticks_in_flight"}
)  # fmt: skip
"""Settings a resumed run may change: how long it runs and how it runs, not what it trades or how the venue behaves."""


def journal_fingerprint(config: ShadowConfig) -> dict[str, Any]:
    """What a journal is written under: every setting that shapes the orders and the venue."""
    values = {f.name: getattr(config, f.name) for f in fields(config) if f.name not in UNFINGERPRINTED}
    values["symbols"] = list(config.symbols)
    return values


def recover_store(
    journal_dir: Path,
    store: OrderStore,
    risk: RiskEngine,
    market: MarketDataSource,
    *,
    fsync: bool,
    fingerprint: Mapping[str, Any] | None = None,
) -> Recovered:
    """Replay ``journal_dir``'s store journal into ``store`` and ``risk``; then journal on from there."""
    reader = JournalReader(journal_dir / STORE_JOURNAL, fingerprint=fingerprint)
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
    path = journal_dir / STORE_JOURNAL
    store.journal = JournalWriter(path, fsync=fsync, keep_bytes=reader.valid_bytes, fingerprint=fingerprint)
    return Recovered(store, records, fills, freeze, reader.torn_tail)
