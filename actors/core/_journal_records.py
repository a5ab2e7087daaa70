"""Every record a journal holds, typed, with its encoding: the one place that knows their shapes.

A journal (:mod:`actors.wire._journal`, the framing and the files) holds
plain msgpack lists: ``["ack", "CLI00000007", "ORD000007"]``.  Writers build
the records below and a :class:`JournalSink` encodes them (:meth:`encode`);
readers decode each list (:func:`decode_store`, :func:`decode_risk`,
:func:`decode_venue`, :func:`decode_note`) into a record, or a
:class:`~actors.wire._journal.JournalError` saying what is wrong (the reader
adds the file and the byte offset).  Encoding gives back exactly the lists
the journals always held, older shapes included (a ``create`` without its
number, a decision without its kinds of blocks, a mass cancel without its
tick), so a journal written before this module reads the same and a resumed
run goes on as it did.

The four journals:

- the store's (``store.journal``): the order store's operations
  (:data:`StoreOperation`, replayed through :meth:`OrderStore.replay`), the
  freeze and resume it heard, and a finished run's report;
- risk's (``risk.journal``): each decision, each move of the trading state,
  each halt made final (:data:`RiskRecord`);
- the simulated venue's (``venue.journal``): every call that changed it
  (:data:`VenueRecord`), and the notes of its fault injector (:data:`FaultNote`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from actors.core._trading_state import TradingState
from actors.core._types import Fill, Side

__all__ = [
    "Ack",
    "Advance",
    "CancelAll",
    "CancelAnswered",
    "CancelDone",
    "CancelsConfirmed",
    "Create",
    "Decided",
    "Expire",
    "FaultInjected",
    "FaultNote",
    "FillNow",
    "FillRecord",
    "Final",
    "Finished",
    "FreezeRecord",
    "JournalError",
    "JournalRecord",
    "JournalSink",
    "Kept",
    "MassCancel",
    "MassFault",
    "Note",
    "Record",
    "Reject",
    "RequestCancel",
    "ResumeRecord",
    "RiskRecord",
    "StateMove",
    "StoreOperation",
    "StoreRecord",
    "Stream",
    "VenueCancel",
    "VenuePlace",
    "VenueRecord",
    "decode_note",
    "decode_risk",
    "decode_store",
    "decode_venue",
]


Record = list[Any]
"""A record as a journal holds it: its name, then its values (msgpack)."""


class JournalError(ValueError):
    """A journal that cannot be used: unreadable, unwritable, or garbage before its end (a torn tail is fine)."""


class JournalSink(Protocol):
    """Where a writer's records go: a journal file (:class:`~actors.wire._journal.JournalWriter`), or a test's list.

    ``append`` buffers; ``flush`` hands what is buffered to the kernel, and
    a writer calls it before sending anything that depends on the records
    (write-ahead).
    """

    def append(self, record: JournalRecord) -> None:
        """Buffer one record."""

    def flush(self) -> None:
        """Write what is buffered."""


def _is_int(value: object) -> bool:
    return type(value) is int


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _shaped(raw: Record, *checks: Callable[[object], bool]) -> bool:
    """``raw`` is its name then one value passing each check, in order."""
    return len(raw) == 1 + len(checks) and all(check(value) for check, value in zip(checks, raw[1:], strict=True))


# ------------------------------------------------------------ the store's journal


@dataclass(frozen=True, slots=True)
class Create:
    """A new order; ``number`` is its client id's number (absent from journals before risk numbered orders)."""

    symbol: str
    side: int
    price_ticks: int
    qty_lots: int
    tick: int
    number: int | None = None

    def encode(self) -> Record:
        """``["create", symbol, side, price, lots, tick, number]``."""
        head: Record = ["create", self.symbol, self.side, self.price_ticks, self.qty_lots, self.tick]
        return head if self.number is None else [*head, self.number]


@dataclass(frozen=True, slots=True)
class Ack:
    """The venue accepted the order."""

    client_id: str
    exchange_order_id: str

    def encode(self) -> Record:
        """``["ack", client id, exchange id]``."""
        return ["ack", self.client_id, self.exchange_order_id]


@dataclass(frozen=True, slots=True)
class Reject:
    """The venue refused the order."""

    client_id: str
    reason: str

    def encode(self) -> Record:
        """``["reject", client id, reason]``."""
        return ["reject", self.client_id, self.reason]


@dataclass(frozen=True, slots=True)
class RequestCancel:
    """A cancel of the order is wanted."""

    client_id: str

    def encode(self) -> Record:
        """``["request_cancel", client id]``."""
        return ["request_cancel", self.client_id]


@dataclass(frozen=True, slots=True)
class CancelAnswered:
    """The venue's answer to a cancel."""

    client_id: str
    ok: bool
    reason: str

    def encode(self) -> Record:
        """``["cancel_answered", client id, ok, reason]``."""
        return ["cancel_answered", self.client_id, self.ok, self.reason]


@dataclass(frozen=True, slots=True)
class CancelsConfirmed:
    """A mass cancel's answer: these orders are canceled."""

    client_ids: tuple[str, ...]

    def encode(self) -> Record:
        """``["cancels_confirmed", [client id, ...]]``."""
        return ["cancels_confirmed", list(self.client_ids)]


@dataclass(frozen=True, slots=True)
class FillRecord:
    """A fill, applied or not (a duplicate is journaled too: its replay counts it again)."""

    fill: Fill

    def encode(self) -> Record:
        """``["fill", fill id, exchange id, client id, symbol, side, price, lots, tick]``."""
        f = self.fill
        return ["fill", f.fill_id, f.exchange_order_id, f.client_id, f.symbol, int(f.side), f.price_ticks, f.qty_lots,
                f.tick]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Expire:
    """The store moved on to ``tick`` (and forgot the orders finished long enough)."""

    tick: int

    def encode(self) -> Record:
        """``["expire", tick]``."""
        return ["expire", self.tick]


@dataclass(frozen=True, slots=True)
class FreezeRecord:
    """The store froze at ``tick`` (``reason``: the freeze's)."""

    tick: int
    reason: str

    def encode(self) -> Record:
        """``["freeze", tick, reason]``."""
        return ["freeze", self.tick, self.reason]


@dataclass(frozen=True, slots=True)
class ResumeRecord:
    """The freeze ended at ``tick``."""

    tick: int
    reason: str

    def encode(self) -> Record:
        """``["resume", tick, reason]``."""
        return ["resume", self.tick, self.reason]


@dataclass(frozen=True, slots=True)
class Finished:
    """The run finished: the last record of the store's journal (``actors.assembly._recovery.finish``).

    ``key``: the settings besides the fingerprint it finished under;
    ``sizes``: the other journals' sizes in bytes, by file name, then.
    """

    key: Mapping[str, Any]
    report: str
    sizes: Mapping[str, int] = field(default_factory=dict)

    def encode(self) -> Record:
        """``["finished", key, report, {journal: bytes}]``."""
        return ["finished", dict(self.key), self.report, dict(self.sizes)]


@dataclass(frozen=True, slots=True)
class Kept:
    """A replace kept ``count`` open orders, wanted again: the store's ``kept`` counts on from its journal.

    Journals written before orders were kept have none: their runs kept none.
    """

    count: int

    def encode(self) -> Record:
        """``["kept", count]``."""
        return ["kept", self.count]


StoreOperation = Create | Ack | Reject | RequestCancel | CancelAnswered | CancelsConfirmed | FillRecord | Expire | Kept
"""The order store's own operations: replayed through the same store code, they rebuild its state."""
StoreRecord = StoreOperation | FreezeRecord | ResumeRecord | Finished


def decode_store(raw: Record) -> StoreRecord:
    """The store-journal record ``raw`` holds; JournalError if it is none."""
    op = raw[0]
    if op == "create" and len(raw) in (6, 7) and _is_str(raw[1]) and all(_is_int(value) for value in raw[2:]):
        return Create(raw[1], raw[2], raw[3], raw[4], raw[5], raw[6] if len(raw) == 7 else None)
    if op == "ack" and _shaped(raw, _is_str, _is_str):
        return Ack(raw[1], raw[2])
    if op == "reject" and _shaped(raw, _is_str, _is_str):
        return Reject(raw[1], raw[2])
    if op == "request_cancel" and _shaped(raw, _is_str):
        return RequestCancel(raw[1])
    if op == "cancel_answered" and _shaped(raw, _is_str, lambda ok: type(ok) is bool, _is_str):
        return CancelAnswered(raw[1], raw[2], raw[3])
    if op == "cancels_confirmed" and _shaped(raw, lambda ids: isinstance(ids, list) and all(map(_is_str, ids))):
        return CancelsConfirmed(tuple(raw[1]))
    if op == "fill" and _shaped(raw, _is_str, _is_str, _is_str, _is_str, _is_int, _is_int, _is_int, _is_int):
        return FillRecord(Fill(raw[1], raw[2], raw[3], raw[4], Side(raw[5]), raw[6], raw[7], raw[8]))
    if op == "expire" and _shaped(raw, _is_int):
        return Expire(raw[1])
    if op == "kept" and _shaped(raw, _is_int):
        return Kept(raw[1])
    if op == "freeze" and _shaped(raw, _is_int, _is_str):
        return FreezeRecord(raw[1], raw[2])
    if op == "resume" and _shaped(raw, _is_int, _is_str):
        return ResumeRecord(raw[1], raw[2])
    if op == "finished":
        return _finished(raw)
    if op in _STORE_OPS:
        raise JournalError(f"not an order-store {op!r} record: {raw!r}")
    raise JournalError(f"unknown order-store operation {op!r}")


_STORE_OPS = frozenset(
    {"create", "ack", "reject", "request_cancel", "cancel_answered", "cancels_confirmed", "fill", "expire", "kept",
     "freeze", "resume"}
)  # fmt: skip


def _finished(raw: Record) -> Finished:
    if (
        len(raw) != 4
        or not isinstance(raw[1], dict)
        or not isinstance(raw[2], str)
        or not isinstance(raw[3], dict)
        or not all(isinstance(name, str) and _is_int(size) for name, size in raw[3].items())
    ):
        raise JournalError("not a finished run's record")
    return Finished(raw[1], raw[2], raw[3])


# ------------------------------------------------------------ risk's journal


@dataclass(frozen=True, slots=True)
class Decided:
    """Risk decided ``tick``: the blocks it counted, the fills applied so far, and the blocks by kind.

    ``kinds`` is None in journals written before blocks had kinds.
    """

    tick: int
    blocks: int
    fills_applied: int
    kinds: Mapping[str, int] | None = None

    def encode(self) -> Record:
        """``["decided", tick, blocks, fills applied, {kind: count}]``."""
        head: Record = ["decided", self.tick, self.blocks, self.fills_applied]
        return head if self.kinds is None else [*head, dict(self.kinds)]


@dataclass(frozen=True, slots=True)
class StateMove:
    """A move of the trading state."""

    tick: int
    source: TradingState
    target: TradingState
    reason: str

    def encode(self) -> Record:
        """``["state", tick, from, to, reason]``."""
        return ["state", self.tick, self.source.value, self.target.value, self.reason]


@dataclass(frozen=True, slots=True)
class Final:
    """A final cause made a resumable halt final at ``tick``."""

    tick: int
    reason: str

    def encode(self) -> Record:
        """``["final", tick, reason]``."""
        return ["final", self.tick, self.reason]


RiskRecord = Decided | StateMove | Final
_STATES = {state.value: state for state in TradingState}


def decode_risk(raw: Record) -> RiskRecord:
    """The risk-journal record ``raw`` holds; JournalError naming what it is not."""
    op = raw[0]
    if op == "final":
        if not _shaped(raw, _is_int, _is_str):
            raise JournalError(f"not a halt made final by risk: {raw!r}")
        return Final(raw[1], raw[2])
    if op == "state":
        if not _shaped(raw, _is_int, lambda s: s in _STATES, lambda s: s in _STATES, _is_str):
            raise JournalError(f"not a move of risk's trading state: {raw!r}")
        return StateMove(raw[1], _STATES[raw[2]], _STATES[raw[3]], raw[4])
    kinds = raw[4] if len(raw) == 5 else None
    if (
        op != "decided"
        or len(raw) not in (4, 5)
        or not all(_is_int(value) for value in raw[1:4])
        or (kinds is not None and not _counts(kinds))
    ):
        raise JournalError(f"not a decision of risk's: {raw!r}")
    return Decided(raw[1], raw[2], raw[3], kinds)


def _counts(kinds: object) -> bool:
    return isinstance(kinds, dict) and all(_is_str(kind) and _is_int(count) for kind, count in kinds.items())


# ------------------------------------------------------------ the venue's journal


@dataclass(frozen=True, slots=True)
class VenuePlace:
    """A placement reached the venue."""

    client_id: str
    symbol: str
    side: int
    price_ticks: int
    qty_lots: int

    def encode(self) -> Record:
        """``["place", client id, symbol, side, price, lots]``."""
        return ["place", self.client_id, self.symbol, self.side, self.price_ticks, self.qty_lots]


@dataclass(frozen=True, slots=True)
class VenueCancel:
    """A cancel reached the venue."""

    exchange_order_id: str

    def encode(self) -> Record:
        """``["cancel", exchange id]``."""
        return ["cancel", self.exchange_order_id]


@dataclass(frozen=True, slots=True)
class CancelAll:
    """A mass cancel reached the venue."""

    def encode(self) -> Record:
        """``["cancel_all"]``."""
        return ["cancel_all"]


@dataclass(frozen=True, slots=True)
class Advance:
    """The venue's market moved to ``tick``."""

    tick: int

    def encode(self) -> Record:
        """``["advance", tick]``."""
        return ["advance", self.tick]


@dataclass(frozen=True, slots=True)
class Stream:
    """The venue streamed its new fills."""

    def encode(self) -> Record:
        """``["stream"]``."""
        return ["stream"]


@dataclass(frozen=True, slots=True)
class FillNow:
    """A fill forced at once (a cancel racing a fill)."""

    exchange_order_id: str

    def encode(self) -> Record:
        """``["fill_now", exchange id]``."""
        return ["fill_now", self.exchange_order_id]


@dataclass(frozen=True, slots=True)
class FaultInjected:
    """One fault injected; a cancel's failed attempt also names the order and the attempt (the next draws anew)."""

    kind: str
    exchange_order_id: str | None = None
    attempt: int | None = None

    def encode(self) -> Record:
        """``["fault", kind]``, or ``["fault", kind, exchange id, attempt]``."""
        if self.exchange_order_id is None or self.attempt is None:
            return ["fault", self.kind]
        return ["fault", self.kind, self.exchange_order_id, self.attempt]


@dataclass(frozen=True, slots=True)
class CancelDone:
    """A cancel went through: its attempts start again."""

    exchange_order_id: str

    def encode(self) -> Record:
        """``["cancel_done", exchange id]``."""
        return ["cancel_done", self.exchange_order_id]


@dataclass(frozen=True, slots=True)
class MassCancel:
    """An attempt to cancel everything at venue tick ``tick`` (None in journals before attempts were keyed by tick)."""

    tick: int | None = None

    def encode(self) -> Record:
        """``["mass_cancel", tick]``."""
        return ["mass_cancel"] if self.tick is None else ["mass_cancel", self.tick]


@dataclass(frozen=True, slots=True)
class MassFault:
    """That attempt (``tick``, ``attempt``) failed with ``kind``."""

    kind: str
    tick: int
    attempt: int

    def encode(self) -> Record:
        """``["mass_fault", kind, tick, attempt]``."""
        return ["mass_fault", self.kind, self.tick, self.attempt]


FaultNote = FaultInjected | CancelDone | MassCancel | MassFault
"""What the fault injector remembers between calls (``actors.venues._faults.FaultLog``)."""


def decode_note(raw: Record) -> FaultNote:
    """The fault injector's note ``raw``; JournalError if it is none (the injector checks the kinds)."""
    kind = raw[0] if raw else None
    if kind == "fault" and _shaped(raw, _is_str):
        return FaultInjected(raw[1])
    if kind == "fault" and _shaped(raw, _is_str, _is_str, _is_int):
        return FaultInjected(raw[1], raw[2], raw[3])
    if kind == "cancel_done" and _shaped(raw, _is_str):
        return CancelDone(raw[1])
    if kind == "mass_cancel" and (_shaped(raw) or _shaped(raw, _is_int)):
        return MassCancel(raw[1] if len(raw) == 2 else None)
    if kind == "mass_fault" and _shaped(raw, _is_str, _is_int, _is_int):
        return MassFault(raw[1], raw[2], raw[3])
    raise JournalError(f"unknown fault-injector note {raw!r}")


@dataclass(frozen=True, slots=True)
class Note:
    """A note of the fault injector's, kept in its venue's journal."""

    note: FaultNote

    def encode(self) -> Record:
        """``["note", note]``."""
        return ["note", self.note.encode()]


VenueRecord = VenuePlace | VenueCancel | CancelAll | Advance | Stream | FillNow | Note


def decode_venue(raw: Record) -> VenueRecord:
    """The venue-journal record ``raw`` holds; JournalError if it is none."""
    op = raw[0]
    if op == "place" and _shaped(raw, _is_str, _is_str, _is_int, _is_int, _is_int):
        return VenuePlace(raw[1], raw[2], raw[3], raw[4], raw[5])
    if op == "cancel" and _shaped(raw, _is_str):
        return VenueCancel(raw[1])
    if op == "cancel_all" and _shaped(raw):
        return CancelAll()
    if op == "advance" and _shaped(raw, _is_int):
        return Advance(raw[1])
    if op == "stream" and _shaped(raw):
        return Stream()
    if op == "fill_now" and _shaped(raw, _is_str):
        return FillNow(raw[1])
    if op == "note" and _shaped(raw, lambda note: isinstance(note, list) and bool(note)):
        return Note(decode_note(raw[1]))
    raise JournalError(f"unknown venue operation {op!r}" if op not in _VENUE_OPS else f"not a venue {op!r}: {raw!r}")


_VENUE_OPS = frozenset({"place", "cancel", "cancel_all", "advance", "stream", "fill_now", "note"})


JournalRecord = StoreRecord | RiskRecord | VenueRecord
"""Any record a journal holds."""
