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

A hostile venue's fault injector (:mod:`actors.venues._faults`) sits in
front of this one and keeps its own memory, a :class:`FaultLog`: which
faults it injected, which attempt a cancel is at, how many groups each
symbol streamed at its last tick and which duplicates it still owes.  Its
notes go to this journal too (``["note", note]``); the groups it cut from
the batches this venue streamed are not noted, each batch being a
``stream`` record already, cut into the same groups again as it replays.
So the restored venue hands the injector back the log it had, and the
injector takes the redelivery over
(:meth:`RecordedVenue.take_redelivery`), to stream it untouched before
anything it disturbs.

A restored venue also says what it did before (:meth:`RecordedVenue.history`,
a venue's order and trade history): every placement its journal holds, with
the order's state as restored, and every fill it had sent and will not send
again.  The engine rebuilds from it whatever its own journals lost
(docs/RELIABILITY.md, "The venue's word after a crash").  It is gathered
while the journal is replayed, so a venue that never restarted keeps nothing
extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actors.core._exchange import CancelResult, ExchangeOrder, PlaceRequest, PlaceResult
from actors.core._journal_records import (
    Advance,
    CancelAll,
    FaultNote,
    FillNow,
    Note,
    Stream,
    VenueCancel,
    VenuePlace,
    VenueRecord,
    decode_venue,
)
from actors.core._types import Fill, Side
from actors.venues._faults import FaultLog
from actors.venues._interface import PlacedOrder, VenueHistory
from actors.venues._simulated import FakeExchangeClient, _Resting
from actors.wire._journal import JournalError, JournalReader, JournalWriter

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
        self.fault_log = FaultLog()
        """The fault injector's memory as its notes in this journal left it (its own, if it wraps this venue)."""
        self._placements: list[tuple[int, PlaceRequest, str | None]] = []
        self._traded: dict[str, int] = {}
        reader = JournalReader(journal_path, fingerprint=fingerprint)
        for record in reader:
            try:
                self._apply(decode_venue(record))
            except (JournalError, TypeError, ValueError, KeyError) as exc:  # a record no venue wrote
                raise JournalError(f"{journal_path}: damaged at byte {reader.record_offset}: {exc}") from None
            self.replayed += 1
        self.torn_tail = reader.torn_tail
        self._redelivery = [fill for fill in self._streamed if fill.tick >= self.tick - REDELIVER_TICKS]
        owed = {fill.fill_id: fill for fill in [*self._redelivery, *self._unstreamed]}
        self._history = VenueHistory(
            tuple(self._placed_order(*placement) for placement in self._placements),
            tuple(fill for fill in self._streamed if fill.fill_id not in owed),
            tuple(owed.values()),
            self.get_positions(),
        )
        self._placements, self._traded, self._streamed = [], {}, []
        self._journal = JournalWriter(journal_path, keep_bytes=reader.valid_bytes, fingerprint=fingerprint)

    def history(self) -> VenueHistory:
        """What this venue did before it was restored: its placements (state as restored) and the fills it sent.

        Fills it owes again (its redelivery) or never sent are apart
        (``owed``): they come on its stream.
        """
        return self._history

    def _placed_order(self, tick: int, request: PlaceRequest, exchange_order_id: str | None) -> PlacedOrder:
        r = request
        if exchange_order_id is None:
            return PlacedOrder(r.client_id, None, r.symbol, r.side, r.price_ticks, r.qty_lots, tick, "rejected", 0)
        filled = self._traded.get(exchange_order_id, 0)
        status = "open" if exchange_order_id in self._open else "filled" if filled == r.qty_lots else "canceled"
        return PlacedOrder(r.client_id, exchange_order_id, r.symbol, r.side, r.price_ticks, r.qty_lots, tick, status,
                           filled)  # fmt: skip

    def _trade(self, resting: _Resting, qty: int, tick: int) -> None:
        if self._journal is None:  # replaying: the history counts it
            exchange_order_id = resting.order.exchange_order_id
            self._traded[exchange_order_id] = self._traded.get(exchange_order_id, 0) + qty
        super()._trade(resting, qty, tick)

    def place(self, request: PlaceRequest) -> PlaceResult:
        r = request
        self._record(VenuePlace(r.client_id, r.symbol, int(r.side), r.price_ticks, r.qty_lots))
        return super().place(request)

    def cancel(self, exchange_order_id: str) -> CancelResult:
        self._record(VenueCancel(exchange_order_id))
        return super().cancel(exchange_order_id)

    def cancel_all(self) -> list[ExchangeOrder]:
        self._record(CancelAll())
        return super().cancel_all()

    def advance(self, tick: int) -> None:
        self._record(Advance(tick))
        super().advance(tick)

    def stream_fills(self) -> list[Fill]:
        """New fills, after the redelivery if a restored venue still owes it (and no injector took it)."""
        again = self.take_redelivery()
        self._record(Stream())  # a push streams too: it goes through here
        return again + super().stream_fills()

    def take_redelivery(self) -> list[Fill]:
        """The fills a restored venue streams again on reconnect, handed over once (then owed no more).

        A fault injector takes them at once and streams them first,
        untouched: they were drawn on when first streamed, and mixed with
        new fills they would make the groups it draws on differ from the
        ones this journal's ``stream`` records give back in a replay.
        """
        again, self._redelivery = self._redelivery, []
        return again

    def fill_now(self, exchange_order_id: str) -> bool:
        self._record(FillNow(exchange_order_id))
        return super().fill_now(exchange_order_id)

    def note(self, note: FaultNote) -> None:
        """Journal a note of the fault injector's (it applies the note itself)."""
        self._record(Note(note))

    def close(self) -> None:
        """Close the journal."""
        if self._journal is not None:
            self._journal.close()

    def _record(self, record: VenueRecord) -> None:
        if self._journal is not None:
            self._journal.append(record)
            self._journal.flush()

    def _apply(self, record: VenueRecord) -> None:
        if isinstance(record, VenuePlace):
            r = record
            request = PlaceRequest(r.client_id, r.symbol, Side(r.side), r.price_ticks, r.qty_lots)
            result = super().place(request)
            if result.reason != "duplicate client id":
                self._placements.append((self.tick, request, result.exchange_order_id))
        elif isinstance(record, VenueCancel):
            super().cancel(record.exchange_order_id)
        elif isinstance(record, CancelAll):
            super().cancel_all()
        elif isinstance(record, Advance):
            super().advance(record.tick)
        elif isinstance(record, Stream):
            batch = super().stream_fills()
            self._streamed.extend(batch)
            self.fault_log.group(self.tick, batch)
        elif isinstance(record, FillNow):
            super().fill_now(record.exchange_order_id)
        else:
            self.fault_log.apply(record.note)
