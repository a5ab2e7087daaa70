"""The fake venue with a journal of its own: a venue outlives the engine's crash.

In a shadow run the venue lives in the engine's process, so a SIGKILL would
take the "exchange" down with the engine, which a real one never does.  This
venue writes every call that changes it to its own journal, flushed at once
(it plays an outside system: what it accepted, it keeps); after a restart
:meth:`RecordedVenue.restore` replays that journal, and the engine reconciles
with the venue as it would with a real exchange.  Like a real venue's trade
feed on reconnect, a restored venue streams its recent fills again
(:data:`REDELIVER_TICKS`): the engine may have died before it recorded them,
and it applies each fill id once anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actors.core.exchange import CancelResult, ExchangeOrder, FakeExchangeClient, PlaceRequest, PlaceResult
from actors.core.journal import JournalError, JournalReader, JournalWriter, Record
from actors.core.types import Fill, Side

REDELIVER_TICKS = 2
"""Fills of this many ticks before the venue's last are streamed again after a restore."""


class RecordedVenue(FakeExchangeClient):
    """A :class:`FakeExchangeClient` whose every state-changing call is journaled first."""

    def __init__(self, journal_path: Path, *, fingerprint: Mapping[str, Any] | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.replayed = 0
        self.torn_tail = False
        self._journal: JournalWriter | None = None
        self._streamed: list[Fill] = []
        reader = JournalReader(journal_path, fingerprint=fingerprint)
        for record in reader:
            self._apply(record)
            self.replayed += 1
        self.torn_tail = reader.torn_tail
        recent = [fill for fill in self._streamed if fill.tick >= self.tick - REDELIVER_TICKS]
        self._unstreamed = recent + self._unstreamed
        self._streamed = []
        self._journal = JournalWriter(journal_path, keep_bytes=reader.valid_bytes, fingerprint=fingerprint)

    def place(self, request: PlaceRequest) -> PlaceResult:
        r = request
        self._record(["place", r.client_id, r.symbol, int(r.side), r.price_ticks, r.qty_lots])
        return super().place(request)

    def cancel(self, exchange_order_id: str) -> CancelResult:
        self._record(["cancel", exchange_order_id])
        return super().cancel(exchange_order_id)

    def cancel_all(self) -> list[ExchangeOrder]:
        self._record(["cancel_all"])
        return super().cancel_all()

    def advance(self, tick: int) -> None:
        self._record(["advance", tick])
        super().advance(tick)

    def stream_fills(self) -> list[Fill]:
        self._record(["stream"])  # a push streams too: it goes through here
        return super().stream_fills()

    def fill_now(self, exchange_order_id: str) -> bool:
        self._record(["fill_now", exchange_order_id])
        return super().fill_now(exchange_order_id)

    def close(self) -> None:
        """Close the journal."""
        if self._journal is not None:
            self._journal.close()

    def _record(self, record: Record) -> None:
        if self._journal is not None:
            self._journal.append(record)
            self._journal.flush()

    def _apply(self, record: Record) -> None:
        op, *args = record
        if op == "place":
            client_id, symbol, side, price, qty = args
            super().place(PlaceRequest(client_id, symbol, Side(side), price, qty))
        elif op == "cancel":
            super().cancel(*args)
        elif op == "cancel_all":
            super().cancel_all()
        elif op == "advance":
            super().advance(*args)
        elif op == "stream":
            self._streamed.extend(super().stream_fills())
        elif op == "fill_now":
            super().fill_now(*args)
        else:
            raise JournalError(f"unknown venue operation {op!r}")
