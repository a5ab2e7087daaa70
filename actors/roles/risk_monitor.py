"""The RiskMonitor: pre-trade checks, positions, realised edge and the freeze.

Risk decides tick t when its inputs for t are complete, which it knows by
counting (docs/DESIGN.md, "The completeness rule"): one record of t from
every live quoter (an intent, or a mark once frozen) and the store's record
that closes t's fills; and ticks are decided in order.  A decision then runs
in a canonical order that no arrival order can change: the tick's marks, the
fills applied since the last decision (in the store's order), the edge
(perhaps a halt), a resume that is due, the reduce-only state, then every
intent in sorted symbol order, since limit checks compare symbols (total
notional).  The trading state itself (ACTIVE, REDUCING, HALTED) is the
core's (:mod:`actors.core.trading_state`); this actor applies its verdicts:
a halt is broadcast as :class:`Freeze`, a resume as :class:`Resume`, both
decided at a tick (docs/DESIGN.md, "The freeze path").

With a journal, every decision is written ahead of the records it sends:
``["decided", tick, risk blocks, fills applied so far, {block kind: count}]``,
every move of the trading state ``["state", tick, from, to, reason]``, and every
final cause that made a resumable halt final ``["final", tick, reason]``.  That is what a
resumed run needs of risk (:mod:`actors.assembly.recovery`): the blocks, which never
became orders, and which of the store's fills each decision applied, so the
replay marks each fill at the mid it was marked at live.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from actors.core.journal_records import Decided, Final, RiskRecord, StateMove
from actors.core.pnl import PnlLine
from actors.core.risk import BLIND, RiskEngine
from actors.core.trading_state import Transition
from actors.core.types import Side
from actors.roles.addresses import FEED, GATEWAY, QUOTERS, STORE
from actors.roles.supervision import SupervisedRole, escalation_reason
from actors.runtime.actor import handles
from actors.runtime.base import TimerHandle
from actors.telemetry.logs import STATE_LEVEL, event, state_moved
from actors.wire.codec import encode
from actors.wire.journal import JournalError, JournalWriter
from actors.wire.messages import (
    DecisionDeadline,
    FillItem,
    FillsApplied,
    Freeze,
    FreezeComplete,
    FreezeRequest,
    Mark,
    OrderFields,
    QuoteIntent,
    QuoterStopped,
    Resume,
    TickDone,
    VenueState,
    encode_replace,
)

if TYPE_CHECKING:
    from actors.telemetry.telemetry import Telemetry

Input = QuoteIntent | Mark

_SIDE_VALUES = {side: int(side) for side in Side}
"""A side's int, looked up: ``int()`` of an IntEnum costs a call, for each of a decision's orders."""


@dataclass(frozen=True)
class RiskSnapshot:
    """What the risk monitor reports."""

    frozen: bool
    freeze_events: int
    last_freeze_reason: str
    freeze_tick: int | None
    freeze_confirmed: bool
    canceled_at_freeze: int
    risk_blocks: int
    freeze_decided_at: float | None  # runtime clock when risk decided the freeze; timing, never reported
    fills: int
    realised_edge_bps: float | None
    positions: dict[str, int]
    marks: dict[str, int]
    total_notional_usd: float
    decided_through: int
    late_inputs: int
    decided_at_deadline: int
    pnl: dict[str, PnlLine]
    state: str = "ACTIVE"
    transitions: tuple[Transition, ...] = ()
    blocks_by_reason: dict[str, int] | None = None
    flatten_orders: int = 0


class RiskMonitor(SupervisedRole):
    """Owns the :class:`RiskEngine`; the only actor that decides a freeze."""

    urgent: ClassVar[bool] = True  # on the critical path of every tick and of a freeze

    def __init__(
        self,
        engine: RiskEngine,
        symbols: Sequence[str] = (),
        *,
        decided_through: int = 0,
        freeze_tick: int | None = None,
        final_tick: int | None = None,
        deadline_s: float | None = None,
        journal: JournalWriter | None = None,
        risk_blocks: int = 0,
        telemetry: Telemetry | None = None,
    ) -> None:
        """``journal``, and ``risk_blocks`` counted before a crash, come with a journaled run (assembly.recovery).

        ``telemetry`` is told the figures of each decision (metrics, progress).
        """
        super().__init__()
        self.telemetry = telemetry
        self.engine = engine
        self.journal = journal
        self.journal_failed: str | None = None
        """Why risk's journal could not be written, once it could not: trading freezes at the next decision."""
        self.decision_owed: int | None = None
        """The tick being decided, until its decision is queued (owed should the handler fail)."""
        self.symbols = frozenset(symbols)
        self.stopped: dict[str, int] = {}
        """Quoters gone for good, with the last tick each sent."""
        self.inputs: dict[int, dict[str, Input]] = {}
        self.unapplied: list[FillItem] = []
        """Fills the store applied, in its order, waiting for the next decision."""
        self.closed_through = decided_through
        self.decided_through = decided_through
        self.final_tick = final_tick
        self.deadline_s = deadline_s
        self.deadlines: dict[int, TimerHandle] = {}
        self.last_seq = 0
        self.risk_blocks = risk_blocks
        self.late_inputs = 0
        self.decided_at_deadline = 0
        self.freeze_tick = freeze_tick
        self.reconciliations = 0
        self.duplicate_records = 0
        self.freeze_confirmed = False
        self.confirmation_stale = False
        """A resume came since the last confirmation: the next halt starts unconfirmed."""
        self.journaled_transitions = len(engine.transitions)
        self.journaled_finals = len(engine.finals)
        self.logged_transitions, self.logged_finals = len(engine.transitions), len(engine.finals)
        """Moves logged so far (those a resumed run replayed are not moves of this run)."""
        self.canceled_at_freeze = 0
        self.freeze_decided_at: float | None = None
        self.freezes_due: list[tuple[int, str, str]] = []
        """(tick, symbol, reason) of freezes asked for by quoters that gave up, applied as that tick is decided."""

    # ------------------------------------------------------------ inputs

    @handles(QuoteIntent)
    def on_quote_intent(self, intent: QuoteIntent) -> None:
        """One quoter's record of a tick; decide if that completes the tick."""
        self._input(intent)

    @handles(Mark)
    def on_mark(self, mark: Mark) -> None:
        """A frozen quoter's record of a tick: it counts like an intent, and keeps positions marked."""
        self._input(mark)

    def _input(self, record: Input) -> None:
        tick = record.tick
        if tick <= self.decided_through:
            self.late_inputs += 1  # decided at its deadline without it (paced mode), or a late copy
            return
        self.inputs.setdefault(tick, {})[record.symbol] = record  # a copy replaces itself
        if self.deadline_s is not None:
            self._arm_deadline(tick)
        if self.closed_through > self.decided_through:  # else the next tick's fills are not all in: nothing to decide
            self._decide_ready()

    @handles(FillsApplied)
    def on_fills_applied(self, applied: FillsApplied) -> None:
        """Fills for the next decision; the store's record that closes tick t completes t's fills.

        The store numbers its records, so a copy delivered twice is recognised.
        Once the final tick is decided, no mark moves any more: fills (those
        a freeze's mass cancel brings) are applied as they come.
        """
        if applied.seq <= self.last_seq:
            self.duplicate_records += 1
            return
        self.last_seq = applied.seq
        self._take_fills(applied.fills, applied.tick if applied.closes else None)

    def _take_fills(self, fills: Sequence[FillItem], closes: int | None) -> None:
        """Fills for the next decision; ``closes``: the tick whose fills are now complete."""
        self.unapplied.extend(fills)
        if closes is not None:
            self.closed_through = max(self.closed_through, closes)
            self._arm_deadline(closes)
        if self.final_tick is not None and self.decided_through >= self.final_tick:
            self._apply_fills()
            if self.telemetry is not None:  # no decision follows: the figures move with these fills
                self._tell_telemetry(self.telemetry, self.decided_through)
        self._decide_ready()

    @handles(QuoterStopped)
    def on_quoter_stopped(self, stopped: QuoterStopped) -> None:
        """A quoter stopped for good: its ticks after ``last_tick`` are complete without it.

        Its freeze, if it asks for one, waits for the decision of the first
        tick without it (:class:`QuoterStopped`).
        """
        self.stopped[stopped.symbol] = stopped.last_tick
        if stopped.reason:
            heapq.heappush(self.freezes_due, (stopped.last_tick + 1, stopped.symbol, stopped.reason))
        if self.final_tick is not None and self.decided_through >= self.final_tick:
            self._freeze_due(self.decided_through, everything=True)  # no tick is left to wait for
        self._decide_ready()

    def _freeze_due(self, tick: int, *, everything: bool = False) -> None:
        """Freeze for a quoter that gave up, as ``tick`` is decided (or at once, ``everything``, after the last)."""
        while self.freezes_due and (everything or self.freezes_due[0][0] <= tick):
            self._halt(heapq.heappop(self.freezes_due)[2], tick)

    @handles(DecisionDeadline)
    def on_decision_deadline(self, deadline: DecisionDeadline) -> None:
        """Paced mode: decide ``tick`` (and any before it) with what has come; what comes later is dropped."""
        self.deadlines.pop(deadline.tick, None)
        while self.decided_through < deadline.tick:
            self.decided_at_deadline += 1
            self._decide(self.decided_through + 1, at_deadline=True)
        self._decide_ready()

    # ------------------------------------------------------------ deciding

    def _complete(self, tick: int) -> bool:
        if self.closed_through < tick:
            return False
        got = self.inputs.get(tick, {})
        gone = sum(1 for last in self.stopped.values() if last < tick)
        return len(got) >= len(self.symbols) - gone

    def _decide_ready(self) -> None:
        while self._complete(self.decided_through + 1):
            self._decide(self.decided_through + 1)

    def _decide(self, tick: int, *, at_deadline: bool = False) -> None:
        """Marks, fills, edge (perhaps a freeze), then the intents in symbol order; always one record to the store.

        Marks are applied in symbol order too: the total notional is a float
        summed as marks move, and its last bits (which a limit check can
        land on) must not depend on the order the quoters' records came in.
        A tick decided at its deadline pulls the quotes of every symbol
        whose intent is missing (its orders are canceled, none placed), so no
        quote rests longer than one tick unchecked; decided before its fills
        were all in, it is decided blind: positions are not known, so every
        quote is pulled (every side counted as a risk block).
        """
        self.decision_owed = tick
        inputs = self._take_inputs(tick)
        engine = self.engine
        engine.begin_decision(tick)
        self._freeze_due(tick)
        engine.update_marks([(symbol, record.mid_ticks) for symbol, record in inputs.items()])
        if self._apply_fills():
            reason = engine.evaluate_edge(tick)
            if reason is not None:
                self._broadcast_freeze(tick, reason)
        resumed = engine.resume_due(tick)
        if resumed is not None:
            self._broadcast_resume(tick, resumed)
        engine.update_reducing(tick)
        self.decided_through = tick
        quoting = {symbol: record for symbol, record in inputs.items() if type(record) is QuoteIntent}
        quotes = {} if engine.frozen else quoting
        approved: list[tuple[str, Side, int, int]] = []
        before = dict(engine.blocks_by_reason)
        if self.closed_through < tick:  # blind
            blocks = 2 * len(quotes)
            engine.count_blocks(BLIND, blocks)
        else:
            approved, blocks = engine.approve_quotes(quotes) if quotes else ([], 0)
        pulled = sorted(self.symbols - self.stopped.keys()) if at_deadline and not engine.frozen else sorted(quotes)
        flatten = self._flatten(tick, quoting)
        if flatten is not None:
            pulled, approved, blocks = flatten
        self.risk_blocks += blocks
        if self.journal is not None:  # write-ahead: on disk before the decision leaves
            self._journal_transitions()
            now = sorted(engine.blocks_by_reason.items())
            kinds = {kind: n - before.get(kind, 0) for kind, n in now if n != before.get(kind, 0)}
            self._write_ahead([Decided(tick, blocks, engine.fills_applied, kinds)])
        if self.journal_failed is not None:
            self._halt(self.journal_failed, tick)  # before the decision: the store refuses its orders
        flattening = flatten is not None
        orders = self._order_fields(approved, flattening=flattening)
        if self.telemetry is not None:
            self._tell_telemetry(self.telemetry, tick)
        self.decision_owed = None  # queued in the outbox below: sent even past a failure
        self._send_decision(tick, pulled, orders, blocks, flatten=flattening)
        if tick == self.final_tick:
            self._freeze_due(tick, everything=True)  # a quoter that gave up at the last tick
        self._log_moves()

    def _take_inputs(self, tick: int) -> dict[str, Input]:
        """The records of ``tick``, in symbol order (sorted once: the sorts of the decision then find them so)."""
        inputs = self.inputs.pop(tick, {})
        timer = self.deadlines.pop(tick, None)
        if timer is not None:
            timer.cancel()  # decided in time: no deadline will fire after the run
        return {symbol: inputs[symbol] for symbol in sorted(inputs)}

    def _order_fields(self, approved: list[tuple[str, Side, int, int]], *, flattening: bool) -> list[OrderFields]:
        """The approved orders, numbered in the order risk approved them (their client ids), as OrderSpec fields."""
        engine = self.engine
        numbers = engine.number_orders(len(approved))
        value = _SIDE_VALUES
        reducing = flattening or engine.reduce_all or bool(engine.reduce_only)  # the usual tick: none is reduce-only
        return [(symbol, value[side], price, lots, reducing and (flattening or engine.is_reduce_only(symbol)), number)
                for (symbol, side, price, lots), number in zip(approved, numbers, strict=True)]  # fmt: skip

    def _send_decision(
        self, tick: int, symbols: Sequence[str], orders: Sequence[OrderFields], blocks: int, *, flatten: bool = False
    ) -> None:
        """The decision of ``tick`` to the store (a :class:`ReplaceQuotes`, in parts when large), then its TickDone.

        Encoded from fields (:func:`encode_replace`): no ``OrderSpec`` is
        built per approved order only to be encoded.  Through the outbox:
        all of it goes out, even past a failure.  The coordinator of a
        sharded run sends each shard its part instead.
        """
        records = [(STORE, data) for data in encode_replace(tick, symbols, orders, blocks, flatten)]
        self.send_encoded([*records, (FEED, encode(TickDone(tick)))])

    def _flatten(
        self, tick: int, touches: dict[str, QuoteIntent]
    ) -> tuple[list[str], list[tuple[str, Side, int, int]], int] | None:
        """HALTED with ``--flatten-on-halt``: the core's flattening orders at each quoter's touch (its intent).

        They start once the store has confirmed the halt's cancels (its
        confirmation comes before the fills that close the next tick, in the
        store's order, so the tick it starts at is the same on every
        runtime), never on a tick decided blind (positions are not known).
        """
        if self.closed_through < tick:
            touches = {}
        return self.engine.flatten(tick, touches, confirmed=self.freeze_confirmed, last=tick == self.final_tick)

    def _tell_telemetry(self, telemetry: Telemetry, tick: int) -> None:
        """The decision's figures; per-symbol positions only for the tracked few (bounded label cardinality).

        Without metrics (a progress line alone) only the tick and the trading
        state: the total notional is a sum over every symbol, not worth a tick.
        """
        engine = self.engine
        if not telemetry.metrics:
            telemetry.decided(tick, state=engine.state.value)
            return
        telemetry.risk_decided(
            tick,
            state=engine.state.value,
            edge_bps=engine.realised_edge_bps(),
            total_notional_usd=engine.total_notional_usd(),
            positions_usd={symbol: engine.position_usd(symbol) for symbol in telemetry.tracked_symbols},
            risk_blocks=dict(engine.blocks_by_reason),
        )

    def _apply_fills(self) -> bool:
        """The fills since the last decision (:meth:`RiskEngine.apply_fills`: in symbol order)."""
        fills, self.unapplied = self.unapplied, []
        self.engine.apply_fills(fills)
        return bool(fills)

    def _arm_deadline(self, tick: int) -> None:
        if self.deadline_s is not None and tick > self.decided_through and tick not in self.deadlines:
            self.deadlines[tick] = self.schedule(self.deadline_s, DecisionDeadline(tick))

    # ------------------------------------------------------------ the freeze

    @handles(FreezeRequest)
    def on_freeze_request(self, request: FreezeRequest) -> None:
        """An operator (or a test, or an actor giving up) pulls the kill switch: halt now, for good."""
        self._halt(request.reason, self.decided_through)

    @handles(FreezeComplete)
    def on_freeze_complete(self, done: FreezeComplete) -> None:
        """The store agrees with the venue: no order is open any more."""
        self.freeze_confirmed = True
        self.confirmation_stale = False
        self.canceled_at_freeze = done.canceled
        if self.telemetry is not None and self.freeze_decided_at is not None:
            self.telemetry.freeze_confirmed(self.runtime.now() - self.freeze_decided_at)

    @handles(VenueState)
    def on_venue_state(self, state: VenueState) -> None:
        """After a restart: positions that differ from the venue's mean a fill was lost or doubled; freeze."""
        self._reconcile(state, None)

    def _reconcile(self, state: VenueState, scope: Collection[str] | None) -> None:
        """Compare the venue's positions with risk's, of the symbols in ``scope`` (None: every symbol)."""
        self.reconciliations += 1
        self._apply_fills()  # the fills the store applied before it forwarded the venue's state
        if self.telemetry is not None:
            self._tell_telemetry(self.telemetry, self.decided_through)
        venue = {item.symbol: item.lots for item in state.positions if item.lots}
        mine = self.engine.positions()
        if scope is not None:  # a shard's venue holds its symbols only
            within = frozenset(scope)
            mine = {symbol: lots for symbol, lots in mine.items() if symbol in within}
        differ = sorted(symbol for symbol in venue.keys() | mine.keys() if venue.get(symbol) != mine.get(symbol))
        reason = f"Reconciliation: positions differ from the venue in {', '.join(differ)}"
        if differ:
            self._halt(reason, state.tick)

    def escalate(self, exc: Exception) -> None:
        """Risk itself gives up: freeze with what it has left, since nobody else can."""
        self._halt(escalation_reason(self.address, exc), self.decided_through)

    def _halt(self, reason: str, tick: int) -> None:
        """HALT for a final cause: broadcast if it halted; if it made a resumable halt final, journal that at once."""
        if self.engine.freeze(reason, tick):
            self._broadcast_freeze(tick, reason)
        else:
            self._journal_transitions()
        self._log_moves()

    def _log_moves(self) -> None:
        """A line for each move of the trading state, and each halt made final, not logged yet (two length checks
        a decision when nothing moved)."""
        moves, finals = self.engine.transitions, self.engine.finals
        if len(moves) == self.logged_transitions and len(finals) == self.logged_finals:
            return
        for move in moves[self.logged_transitions :]:
            state_moved(move)
        for tick, reason in finals[self.logged_finals :]:
            event("state_final", tick=tick, reason=reason).log(
                STATE_LEVEL, "state: the halt is final from tick {}: {}", tick, reason
            )
        self.logged_transitions, self.logged_finals = len(moves), len(finals)

    def _broadcast_freeze(self, tick: int, reason: str) -> None:
        """Tell the gateway, the store and every quoter at once.

        The gateway mass-cancels at the venue on its own word, so a freeze
        does not depend on the store being alive; the store settles its
        orders from the gateway's answers and confirms.
        """
        self.freeze_decided_at = self.runtime.now()
        self.freeze_tick = tick
        if self.confirmation_stale:
            self.freeze_confirmed, self.confirmation_stale, self.canceled_at_freeze = False, False, 0
        self._journal_transitions()
        keep_quoting = self.engine.halt_resumable or self.engine.limits.flatten_on_halt
        if self.telemetry is not None:
            self.telemetry.froze()
        self._log_moves()  # before the gateway can log its mass cancel
        freeze = Freeze(tick, reason, keep_quoting)
        quoters = self.runtime.directory.group(QUOTERS)
        self.send_all([(GATEWAY, freeze), (STORE, freeze), *((address, freeze) for address in quoters)])

    def _broadcast_resume(self, tick: int, reason: str) -> None:
        """Everyone who heard the freeze hears the resume, before this tick's ``ReplaceQuotes`` leaves."""
        self.confirmation_stale = True
        self._journal_transitions()
        self._log_moves()
        resume = Resume(tick, reason)
        quoters = self.runtime.directory.group(QUOTERS)
        self.send_all([(GATEWAY, resume), (STORE, resume), *((address, resume) for address in quoters)])

    def _journal_transitions(self) -> None:
        """Moves of the trading state, and halts made final, not journaled yet (write-ahead, like a decision)."""
        if self.journal is None:
            return
        moves, finals = self.engine.transitions, self.engine.finals
        records: list[RiskRecord] = [StateMove(move.tick, move.source, move.target, move.reason)
                                     for move in moves[self.journaled_transitions :]]  # fmt: skip
        records.extend(Final(tick, reason) for tick, reason in finals[self.journaled_finals :])
        self.journaled_transitions, self.journaled_finals = len(moves), len(finals)
        self._write_ahead(records)

    def _write_ahead(self, records: list[RiskRecord]) -> None:
        """Journal ``records`` before what depends on them leaves.

        A journal that cannot be written (a full disk) cannot make the run
        durable any more: it is closed for good and trading is frozen at the
        next decision (:attr:`journal_failed`), so the run still ends with the
        venue emptied and a report, instead of a decision lost in limbo.
        """
        journal = self.journal
        if journal is None or not records:
            return
        try:
            for record in records:
                journal.append(record)
            journal.flush()
        except (OSError, JournalError) as exc:
            self.journal = None
            self.journal_failed = f"Journal: cannot write {journal.path.name}: {exc}"
            event("journal_error").error("risk: {}; trading freezes, the run is no longer durable", self.journal_failed)

    def on_handler_failure(self, exc: Exception) -> None:
        """A decision whose handler failed part-way still goes out, pulling every quote and placing nothing.

        Its inputs were taken already, so without it the tick would never be
        decided and the run would stop there with every actor alive.
        """
        super().on_handler_failure(exc)
        tick, self.decision_owed = self.decision_owed, None
        if tick is None:
            return
        self.decided_through = max(self.decided_through, tick)
        self._send_decision(tick, sorted(self.symbols - self.stopped.keys()), (), 0)

    def snapshot(self) -> RiskSnapshot:
        """State for reports and tests."""
        engine = self.engine
        return RiskSnapshot(
            frozen=engine.frozen,
            freeze_events=engine.freeze_events,
            last_freeze_reason=engine.last_freeze_reason,
            freeze_tick=self.freeze_tick,
            freeze_confirmed=self.freeze_confirmed,
            canceled_at_freeze=self.canceled_at_freeze,
            risk_blocks=self.risk_blocks,
            freeze_decided_at=self.freeze_decided_at,
            fills=engine.fills_applied,
            realised_edge_bps=engine.realised_edge_bps(),
            positions=engine.positions(),
            marks=dict(sorted(engine.marks.items())),
            total_notional_usd=engine.total_notional_usd(),
            decided_through=self.decided_through,
            late_inputs=self.late_inputs,
            decided_at_deadline=self.decided_at_deadline,
            state=engine.state.value,
            transitions=tuple(engine.transitions),
            blocks_by_reason=dict(sorted(engine.blocks_by_reason.items())),
            flatten_orders=engine.flatten_orders,
            pnl=engine.pnl(),
        )
