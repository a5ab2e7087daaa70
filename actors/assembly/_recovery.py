"""Rebuilding a run from its journals after a crash, and recognising a run that finished.

The order store's journal is replayed through a fresh :class:`OrderStore`
(same operations, same deterministic code, same state).  Risk's journal
says which of the store's fills each of its decisions applied: the replay
marks every symbol at each decided tick's mid, in symbol order, then applies
that decision's fills, as risk did live, so positions, edge and even the
float running total come back to the bit.  The fills the store applied
after risk's last decision are applied as risk's next decision would have:
marked at the mid of the tick the resumed run starts with (the last tick's,
if none is left).  Then every mark is the mid of the last tick the venue
reached.  A journaled freeze is re-imposed.  Counters that span the crash come back too: risk's blocks from
its journal, the venue's faults (and with them the gateway's errors) from
the fault injector's notes in the venue's journal.  The run resumes after
the last tick the venue reached, and the engine then reconciles with the
venue (:mod:`actors.roles._supervision`) before it trades again.

The venue's word is the truth (docs/RELIABILITY.md, "The venue's word after
a crash").  A journal cut short (a crash before its tail reached the disk)
or missing lacks what the venue still knows: before risk's journal is
replayed, the orders the store's journal never created are adopted from the
venue's order history and every fill the venue sent that the store lacks is
applied (:func:`rebuild_from_venue`), so risk's replay sees them where they
happened; a position that no known fill explains (the venue forgot those
orders) is then taken from the venue as it stands (:meth:`RiskEngine.adopt_position`).

A run that finished writes its report, last, into the store's journal
(:func:`finish`); a rerun with the same settings finds it there, checks
that no journal moved since, and prints it again without starting anything
(:func:`finished_report`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.assembly._config import ShadowConfig
from actors.core._exchange import ExchangeError
from actors.core._journal_records import (
    Create,
    Decided,
    Final,
    Finished,
    FreezeRecord,
    ResumeRecord,
    StateMove,
    decode_risk,
    decode_store,
)
from actors.core._orders import FillOutcome, IllegalTransition, OrderStore
from actors.core._risk import RiskEngine
from actors.core._trading_state import HaltKind, Transition, halt_kind
from actors.core._types import Fill
from actors.markets._data import MarketDataSource
from actors.venues._faults import FaultyExchange
from actors.venues._interface import IExchangeClient, PlacedOrder, SupportsHistory, VenueHistory
from actors.wire._journal import JournalError, JournalReader, JournalWriter

STORE_JOURNAL = "store.journal"
VENUE_JOURNAL = "venue.journal"
RISK_JOURNAL = "risk.journal"
JOURNALS = (STORE_JOURNAL, VENUE_JOURNAL, RISK_JOURNAL)
LIVE_JOURNAL = "live.journal"
"""A live run's ticks as they closed (:mod:`actors.markets.live._session`): the market a resume replays against."""
FINISHED = "finished"
"""The name of the store journal's last record once a run finished (:class:`~actors.core._journal_records.Finished`)."""
ERROR_FAULTS = (
    "place_error", "place_timeout", "cancel_error", "cancel_timeout", "mass_cancel_error", "mass_cancel_timeout",
)  # fmt: skip
"""The injected faults that make a venue call fail: each is one of the gateway's ``exchange_errors``."""


@dataclass
class Rebuilt:
    """What the venue's word added to what the journals held (docs/RELIABILITY.md, "The venue's word after a crash")."""

    orders: int = 0
    """Orders the store's journal lacked, adopted from the venue's order history."""
    applied: list[Fill] = field(default_factory=list)
    """Fills the venue sent that the store's journal lacked, applied, in the order they traded."""
    positions: dict[str, int] = field(default_factory=dict)
    """Lots adopted per symbol where no known fill explained the venue's position (the venue forgot the orders)."""
    cancel: list[tuple[str, str]] = field(default_factory=list)
    """Adopted orders still open at the venue: (client id, exchange id), to cancel as the run resumes."""
    halted: Transition | None = None
    """The halt as the run resumes when the venue knows less than the journals (:func:`venue_behind`)."""

    def as_report(self) -> dict[str, int]:
        """The report's counts."""
        return {"fills": len(self.applied), "orders": self.orders, "positions": len(self.positions)}


@dataclass
class Recovered:
    """What the journals gave back."""

    store: OrderStore
    records: int
    fills: int
    torn_tail: bool
    risk_journal: JournalWriter | None = None
    decided_through: int = 0
    """Risk's last journaled decision."""
    risk_blocks: int = 0
    store_fills: list[Fill] = field(default_factory=list)
    """The fills the store's journal applied after the first ``keep_fills_after``, in the store's order (what a
    restarted shard's coordinator is missing); empty unless asked for."""
    rebuilt: Rebuilt = field(default_factory=Rebuilt)
    """What the venue's word added to the journals."""


def finish_key(config: ShadowConfig) -> dict[str, Any]:
    """The settings besides the fingerprint that shape a report: a finished run is printed again only under them."""
    key: dict[str, Any] = {"iterations": config.iterations, "pace": config.pace}
    if config.pace == "realtime":
        key |= {"tick_ms": config.tick_ms, "decision_deadline_ms": config.decision_deadline_ms}
    return key


def recover(
    journal_dir: Path,
    store: OrderStore,
    risk: RiskEngine,
    market: MarketDataSource,
    symbols: Sequence[str],
    *,
    reached: int,
    final_tick: int,
    fsync: bool,
    fingerprint: Mapping[str, Any] | None = None,
    keep_fills_after: int | None = None,
    venue: IExchangeClient | None = None,
) -> Recovered:
    """Replay ``journal_dir``'s store and risk journals into ``store`` and ``risk``; then journal on from there.

    ``reached`` is the last tick the venue reached: every mark ends at its mid.
    ``final_tick`` is the last tick of the run: if it is later, fills no
    decision applied yet are marked at the mid of the next tick.  ``venue``:
    its history fills what the store's journal lacks, and its positions are
    the ones risk ends with.
    """
    store_reader = JournalReader(journal_dir / STORE_JOURNAL, fingerprint=fingerprint)
    replay = _StoreReplay(store, store_reader, keep_fills_after)
    journaled = list(replay)
    store.journal = JournalWriter(
        journal_dir / STORE_JOURNAL, fsync=fsync, keep_bytes=store_reader.valid_bytes, fingerprint=fingerprint
    )  # what the venue's word adds is journaled like any operation
    history = venue.history() if isinstance(venue, SupportsHistory) else None
    rebuilt = rebuild_from_venue(store, history) if history is not None else Rebuilt()
    replay.applied.extend(rebuilt.applied if keep_fills_after is not None else ())  # a restarted shard's too
    applied = iter(journaled + rebuilt.applied)
    risk_path = journal_dir / RISK_JOURNAL
    risk_reader = JournalReader(risk_path, fingerprint=fingerprint)
    ordered = sorted(symbols)
    following = reached + 1 if final_tick > reached else max(reached, 1)  # the tick undecided fills are marked at
    decided_through = blocks = 0
    moves: list[Transition | Final] = []
    """Moves journaled ahead of their decision: made live after that decision's fills, so replayed after them."""
    for raw in risk_reader:
        record = _risk_record(raw, risk_path, risk_reader.record_offset)
        if not isinstance(record, Decided):
            move = record if isinstance(record, Final) else _move(record)
            if _tick_of(move) <= decided_through:
                _restore(risk, move, risk_path, risk_reader.record_offset)  # an operator's, between decisions
            else:
                moves.append(move)
            continue
        tick = record.tick
        risk.update_marks([(symbol, market.mid_ticks(symbol, tick)) for symbol in ordered])
        decided: list[Fill] = []
        while risk.fills_applied + len(decided) < record.fills_applied:
            fill = next(applied, None)
            if fill is None:
                break  # risk saw fills the store's journal lost with a torn tail: the venue's word settles them
            decided.append(fill)
        risk.apply_fills(decided)
        for move in moves:
            _restore(risk, move, risk_path, risk_reader.record_offset)
        moves.clear()
        for kind, count in (record.kinds or {}).items():
            risk.count_blocks(kind, count)
        decided_through, blocks = tick, blocks + record.blocks
    _apply_undecided(risk, list(applied), market, ordered, following)
    for move in moves:  # journaled, but the kill came before its decision was
        _restore(risk, move, risk_path, risk_reader.record_offset)
    if reached > 0:
        risk.update_marks([(symbol, market.mid_ticks(symbol, reached)) for symbol in ordered])
    if replay.freeze is not None and not risk.halted:  # a journal from before risk journaled its states
        tick, reason = replay.freeze
        risk.halt(reason, tick, kind=halt_kind(reason))
    if history is not None:
        journals_at = max(decided_through, replay.last_tick)
        _take_the_venues_word(store, risk, history, journaled=journaled, reached=reached, journals_at=journals_at,
                              symbols=symbols, rebuilt=rebuilt)  # fmt: skip
    risk.orders_numbered = max(risk.orders_numbered, store.highest_number)  # ids go on after the highest
    risk_journal = JournalWriter(risk_path, fsync=fsync, keep_bytes=risk_reader.valid_bytes, fingerprint=fingerprint)
    return Recovered(
        store, replay.records, replay.fills, store_reader.torn_tail, risk_journal, decided_through, blocks,
        replay.applied, rebuilt,
    )  # fmt: skip


def rebuild_from_venue(store: OrderStore, history: VenueHistory, *, keep_strangers: bool = False) -> Rebuilt:
    """Add to ``store`` what the venue did that its journal lacks: the orders it never created, the fills it lacks.

    An order is adopted when its client id's number is above every number
    the store created: the store's journal lost it (one below was known and
    may only have been forgotten since, as the store forgets finished
    orders).  It is created as it reached the venue, then acknowledged or
    rejected; a fill the store lacks of an order it knows (adopted or not)
    is applied; an adopted order the venue canceled is canceled, and one
    still open there is to be canceled (:attr:`Rebuilt.cancel`): nobody
    wanted it after the crash.  Every step is journaled as any operation.

    ``keep_strangers`` (a real venue's start, :func:`agree_with_venue`):
    an open order under a client id that is not the store's (another run's,
    a person's) is adopted too, under the store's next number, and kept:
    the run manages it from then on (its fills find it by its exchange id).
    """
    rebuilt = Rebuilt()
    known_through = store.highest_number
    adopted: list[tuple[int, str]] = []
    for order in history.orders:
        number = _number(store, order.client_id)
        if number is None and keep_strangers and order.status == "open" and order.exchange_order_id is not None:
            kept = store.create(order.symbol, order.side, order.price_ticks, order.qty_lots, order.tick)
            store.acknowledge(kept.client_id, order.exchange_order_id)
            rebuilt.orders += 1
            continue
        if number is None or number <= known_through or store.get(order.client_id) is not None:
            continue
        store.create(order.symbol, order.side, order.price_ticks, order.qty_lots, order.tick, number=number)
        if order.exchange_order_id is None:
            store.reject(order.client_id, "rejected by venue")
        else:
            store.acknowledge(order.client_id, order.exchange_order_id)
            adopted.append((number, order.client_id))
        rebuilt.orders += 1
    for fill in history.fills:
        if store.get(fill.client_id) is None or store.has_fill(fill.fill_id):
            continue  # an order forgotten since (its fills with it), or a fill the store has
        try:
            outcome = store.apply_fill(fill)
        except IllegalTransition:
            continue  # counted by the store, as a live one would be
        if outcome is FillOutcome.APPLIED:
            rebuilt.applied.append(fill)
    by_client_id = {placed.client_id: placed for placed in history.orders}
    for _, client_id in sorted(adopted):
        mine, venue_order = store.get(client_id), by_client_id[client_id]
        if mine is None or mine.state.is_terminal or venue_order.exchange_order_id is None:
            continue
        if venue_order.status == "canceled":
            store.cancel_answered(client_id, False, "already canceled")
        elif venue_order.status == "open" and store.request_cancel(client_id):
            rebuilt.cancel.append((client_id, venue_order.exchange_order_id))
    return rebuilt


class VenueDisagrees(ExchangeError):
    """A real venue's start could not be agreed with: its orders could not be read, or canceled and confirmed."""


@dataclass
class AtStart:
    """What a real venue held as the run started, and what the run did with it (the report's ``venue.at_start``)."""

    open_orders: int = 0
    """Orders open at the venue that this run did not place."""
    canceled: int = 0
    adopted: int = 0
    positions: dict[str, int] = field(default_factory=dict)
    """Lots taken from the venue per symbol."""

    def as_report(self) -> dict[str, Any]:
        """The report's figures."""
        return {"open_orders": self.open_orders, "canceled": self.canceled, "adopted": self.adopted,
                "positions": dict(self.positions)}  # fmt: skip


def agree_with_venue(
    store: OrderStore, risk: RiskEngine, venue: IExchangeClient, symbols: Sequence[str], *, adopt: bool,
    attempts: int = 3,
) -> AtStart:  # fmt: skip
    """Before the first quote on a real venue: its open orders and positions are the run's starting point.

    A real venue's run keeps no journal (`--journal` is refused there), so every order
    open there is one this run did not place: another run's (one killed, its
    client ids under another run's token), or a person's.  By default they
    are canceled, by the venue's mass cancel, until the venue confirms none
    is open (``attempts`` rounds, else :class:`VenueDisagrees`: the run does
    not start beside orders it cannot see to); with ``adopt`` they are
    adopted into the store as the venue's word is after a crash
    (:func:`rebuild_from_venue`) and managed from then on.  Then the
    positions are read (after the cancels: nothing fills in between) and
    taken from the venue (:func:`adopt_positions`), booked at each symbol's
    first mark.  The same runs at a first start and after a SIGKILL.
    """
    at_start = AtStart()
    try:
        found = venue.get_orders()
        at_start.open_orders = len(found)
        if found and not adopt:
            for _ in range(attempts):
                at_start.canceled += len(venue.cancel_all())
                left = venue.get_orders()
                if not left:
                    break
            else:
                raise VenueDisagrees(f"{len(left)} orders still open at the venue after {attempts} mass cancels")
        elif found:
            history = VenueHistory(tuple(PlacedOrder(o.client_id, o.exchange_order_id, o.symbol, o.side, o.price_ticks,
                                                     o.qty_lots - o.filled_lots, 0, "open", 0) for o in found),
                                   (), (), {})  # fmt: skip
            at_start.adopted = rebuild_from_venue(store, history, keep_strangers=True).orders
        held = venue.get_positions()
    except VenueDisagrees:
        raise
    except ExchangeError as exc:
        raise VenueDisagrees(f"cannot read the venue's orders and positions: {exc}") from None
    at_start.positions = adopt_positions(risk, held, symbols)
    risk.orders_numbered = max(risk.orders_numbered, store.highest_number)  # ids go on after the adopted
    return at_start


def adopt_positions(risk: RiskEngine, held: Mapping[str, int], symbols: Sequence[str]) -> dict[str, int]:
    """Take the venue's position (``held``) of each of ``symbols`` where risk's differs; the lots adopted per symbol."""
    adopted: dict[str, int] = {}
    for symbol in sorted(symbols):
        difference = risk.adopt_position(symbol, held.get(symbol, 0))
        if difference:
            adopted[symbol] = difference
    return adopted


def _take_the_venues_word(
    store: OrderStore,
    risk: RiskEngine,
    history: VenueHistory,
    *,
    journaled: Sequence[Fill],
    reached: int,
    journals_at: int,
    symbols: Sequence[str],
    rebuilt: Rebuilt,
) -> None:
    """Halt if the venue lost what it did, then take its positions where no known fill explains them."""
    behind = venue_behind(history, journaled, reached, journals_at)
    if behind and risk.halt(behind, reached, kind=HaltKind.RECONCILIATION):  # it would live those ticks again
        rebuilt.halted = risk.transitions[-1]
    rebuilt.positions = adopt_positions(risk, _held_before_owed(store, history), symbols)


def venue_behind(history: VenueHistory, journaled: Sequence[Fill], reached: int, journals_at: int) -> str:
    """Why the venue knows less than the journals (a halt's reason), or "" when it does not.

    A venue never forgets what it did; a simulated one whose own journal was
    cut does: it is at an earlier tick than the journals, or the store
    applied a fill the venue never traded.  It would trade those ticks
    again, so the run halts with the venue's positions.  (A fill the store
    made up from the venue's own count of lots, ``…:venue:…``, is the
    venue's word under another id.)
    """
    if journals_at > reached:
        return f"Reconciliation: the venue is at tick {reached}, behind the journals (tick {journals_at})"
    traded = {fill.fill_id for fill in history.fills} | {fill.fill_id for fill in history.owed}
    unknown = [fill.fill_id for fill in journaled if fill.fill_id not in traded and ":venue:" not in fill.fill_id]
    if unknown:
        return f"Reconciliation: the venue never traded {len(unknown)} fills the journals hold (first {unknown[0]})"
    return ""


def _held_before_owed(store: OrderStore, history: VenueHistory) -> dict[str, int]:
    """The venue's positions less the fills it still owes that the store will apply when they come."""
    held = dict(history.positions)
    for fill in history.owed:
        if store.get(fill.client_id) is not None and not store.has_fill(fill.fill_id):
            held[fill.symbol] = held.get(fill.symbol, 0) - int(fill.side) * fill.qty_lots
    return held


def _number(store: OrderStore, client_id: str) -> int | None:
    """The number of one of the store's client ids (``CLI00000007`` -> 7), None for another's."""
    digits = client_id.removeprefix(store.id_prefix)
    return int(digits) if digits != client_id and digits.isdigit() else None


def _apply_undecided(
    risk: RiskEngine, undecided: list[Fill], market: MarketDataSource, ordered: list[str], tick: int
) -> None:
    """The fills the store applied after risk's last decision, as risk's next decision would: marked at ``tick``."""
    if undecided:
        risk.update_marks([(symbol, market.mid_ticks(symbol, tick)) for symbol in ordered])
        risk.apply_fills(undecided)


class _StoreReplay:
    """The store journal replayed into ``store``: iterating yields each fill applied, in the store's order."""

    def __init__(self, store: OrderStore, reader: JournalReader, keep_after: int | None = None) -> None:
        """``keep_after``: keep the fills after the first that many (a restarted shard resends them); None: none."""
        self.store = store
        self.reader = reader
        self.records = 0
        self.fills = 0
        self.applied: list[Fill] = []
        self.keep_after = keep_after
        self.freeze: tuple[int, str] | None = None
        self.last_tick = 0
        """The latest tick the store created an order for."""

    def __iter__(self) -> Iterator[Fill]:
        reader = self.reader
        for raw in reader:
            self.records += 1
            try:
                record = decode_store(raw)
                if isinstance(record, Finished):
                    continue  # a finished run's report; the run goes on from there
                if isinstance(record, FreezeRecord):
                    self.freeze = (record.tick, record.reason)
                    continue
                if isinstance(record, ResumeRecord):
                    self.freeze = None
                    continue
                if isinstance(record, Create):
                    self.last_tick = max(self.last_tick, record.tick)
                fill = self.store.replay(raw)
            except (JournalError, TypeError, ValueError, KeyError, IndexError) as exc:  # a record no store wrote
                raise JournalError(f"{reader.path}: damaged at byte {reader.record_offset}: {exc}") from None
            if fill is not None:
                self.fills += 1
                if self.keep_after is not None and self.fills > self.keep_after:
                    self.applied.append(fill)
                yield fill


def _risk_record(raw: list[Any], path: Path, offset: int) -> Decided | StateMove | Final:
    try:
        return decode_risk(raw)
    except JournalError as exc:
        raise JournalError(f"{path}: damaged at byte {offset}: {exc}") from None


def _move(record: StateMove) -> Transition:
    return Transition(record.tick, record.source, record.target, record.reason)


def _tick_of(move: Transition | Final) -> int:
    return move.tick


def _restore(risk: RiskEngine, move: Transition | Final, path: Path, offset: int) -> None:
    try:
        if isinstance(move, Transition):
            risk.restore_transition(move)
        else:
            risk.make_final(move.tick, move.reason)
    except ValueError as exc:
        raise JournalError(f"{path}: damaged at byte {offset}: {exc}") from None


def carried_gateway_counters(exchange: object) -> dict[str, int]:
    """The gateway's counters from before a crash, as the fault injector's restored log gives them.

    Every call to the simulated venue that fails is one injected fault of
    :data:`ERROR_FAULTS`, and every placement that timed out was settled by
    the gateway within the handler that placed it (a kill inside that
    handler is the one moment this counts one too many).
    """
    if not isinstance(exchange, FaultyExchange):
        return {}
    injected = exchange.injected
    return {"exchange_errors": sum(injected[kind] for kind in ERROR_FAULTS), "reconciled": injected["place_timeout"]}


# ------------------------------------------------------------ a finished run


def finish(journal_dir: Path, store_journal: JournalWriter, key: Mapping[str, Any], report: str) -> None:
    """Write the run's report as the last record of the store's journal, with the other journals' sizes.

    Called once every actor has stopped and the other journals are closed:
    nothing can be written after it.
    """
    sizes = {name: (journal_dir / name).stat().st_size for name in (VENUE_JOURNAL, RISK_JOURNAL)}
    store_journal.append(Finished(key, report, sizes))
    store_journal.flush()


def finished_report(journal_dir: Path, key: Mapping[str, Any], fingerprint: Mapping[str, Any]) -> str | None:
    """The report of the run that finished in ``journal_dir`` under ``key``, if nothing was written since.

    Every journal is read through (a damaged record anywhere is refused as
    on a resume); the store's must end with a finished record for ``key``,
    the others must be exactly as long as that record says they were.
    """
    path = journal_dir / STORE_JOURNAL
    reader = JournalReader(path, fingerprint=fingerprint)
    last: list[Any] | None = None
    for raw in reader:
        last = raw
    if last is None or last[0] != FINISHED or reader.torn_tail:
        return None
    try:
        finished = decode_store(last)
    except JournalError:
        finished = None
    if not isinstance(finished, Finished) or sorted(finished.sizes) != sorted((VENUE_JOURNAL, RISK_JOURNAL)):
        raise JournalError(f"{path}: damaged at byte {reader.record_offset}: not a finished run's record")
    for name, size in finished.sizes.items():
        other = JournalReader(journal_dir / name, fingerprint=fingerprint)
        for _ in other:
            pass
        if other.torn_tail or other.valid_bytes != size:
            return None
    finished_under = dict(finished.key)
    if finished_under != dict(key):
        done = finished_under.get("iterations")
        if isinstance(done, int) and int(key["iterations"]) <= done:
            settings = ", ".join(f"{name}={value}" for name, value in sorted(finished_under.items()))
            raise JournalError(
                f"{path}: holds a run that finished under {settings}; rerun with those settings to print its "
                "report, or with more --iterations to go on from its last tick"
            )  # nothing is left to run: a resume would only add a reconciliation and change the report
        return None
    return finished.report
