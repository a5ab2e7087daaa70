"""The RiskMonitor: risk's round (:mod:`actors.core._risk_round`) with a mailbox around it.

It decodes what comes, hands it to the round, and does what the round
returns, in order: writes the journal ahead, announces a halt as
:class:`Freeze` and a resume as :class:`Resume` to the gateway, the store and
every quoter, sends each decision to the store (a :class:`ReplaceQuotes`)
and the feed (:class:`TickDone`), arms the decision deadlines of the paced
mode, tells telemetry and logs each move of the trading state.  What is
decided, and when, is the round's (docs/DESIGN.md, "The completeness rule",
"The freeze path").

With a journal, every decision is written ahead of the records it sends:
``["decided", tick, risk blocks, fills applied so far, {block kind: count}]``,
every move of the trading state ``["state", tick, from, to, reason]``, and every
final cause that made a resumable halt final ``["final", tick, reason]``.  That is what a
resumed run needs of risk (:mod:`actors.assembly._recovery`): the blocks, which never
became orders, and which of the store's fills each decision applied, so the
replay marks each fill at the mid it was marked at live.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

from actors.core._journal_records import RiskRecord
from actors.core._risk import RiskEngine
from actors.core._risk_round import (
    ArmDeadline,
    Figures,
    Halted,
    Output,
    Resumed,
    RiskRound,
    RiskSnapshot,
    TickDecision,
    WriteAhead,
)
from actors.core._trading_state import HaltKind
from actors.roles._addresses import FEED, GATEWAY, QUOTERS, STORE
from actors.roles._supervision import SupervisedRole, escalation_reason
from actors.runtime._actor import handles
from actors.runtime._base import TimerHandle
from actors.telemetry._logs import STATE_LEVEL, event, state_moved
from actors.wire._codec import encode_fields
from actors.wire._journal import JournalError, JournalWriter
from actors.wire._messages import (
    DecisionDeadline,
    FillsApplied,
    Freeze,
    FreezeComplete,
    FreezeRequest,
    Mark,
    QuoteIntent,
    QuoteLevels,
    QuoterStopped,
    Resume,
    TickDone,
    TickSymbols,
    VenueState,
    encode_replace,
)

if TYPE_CHECKING:
    from actors.telemetry._telemetry import Telemetry

__all__ = ["RiskMonitor", "RiskSnapshot"]


class RiskMonitor(SupervisedRole):
    """Owns risk's round and its :class:`RiskEngine`; the only actor that decides a halt."""

    urgent: ClassVar[bool] = True  # on the critical path of every tick and of a halt

    def __init__(
        self,
        engine: RiskEngine,
        symbols: Sequence[str] = (),
        *,
        decided_through: int = 0,
        halt_tick: int | None = None,
        final_tick: int | None = None,
        deadline_s: float | None = None,
        journal: JournalWriter | None = None,
        risk_blocks: int = 0,
        telemetry: Telemetry | None = None,
        own: bool = False,
        named: bool = False,
    ) -> None:
        """``journal``, ``risk_blocks`` counted before a crash and ``halt_tick``, the tick of a halt in force, come
        with a journaled run (assembly.recovery).

        ``telemetry`` is told the figures of each decision (metrics, progress).  ``own``: each decision's
        :class:`TickDone` says what each strategy is told of itself (:attr:`TickDecision.own`).  ``named``: a live
        run deciding by message, each tick waits only for the quoters its :class:`TickSymbols` names.
        """
        super().__init__()
        self.telemetry = telemetry
        self.engine = engine
        self.journal = journal
        self.deadline_s = deadline_s
        self.round = RiskRound(
            engine, symbols, decided_through=decided_through, halt_tick=halt_tick, final_tick=final_tick,
            paced=deadline_s is not None, journaled=journal is not None, risk_blocks=risk_blocks, own=own,
            named=named,
        )  # fmt: skip
        self.deadlines: dict[int, TimerHandle] = {}
        self.freeze_decided_at: float | None = None
        """Runtime clock when the last halt was announced: the start of the freeze (timing, never reported)."""
        self.logged = (len(engine.transitions), len(engine.finals))
        """Moves and finals logged so far (those a resumed run replayed are not moves of this run)."""

    @property
    def decided_through(self) -> int:
        """The last tick decided."""
        return self.round.decided_through

    @property
    def freeze_confirmed(self) -> bool:
        """Whether the store emptied the venue after the halt."""
        return self.round.confirmed

    # ------------------------------------------------------------ inputs

    @handles(QuoteIntent)
    def on_quote_intent(self, intent: QuoteIntent) -> None:
        """One quoter's record of a tick; decide if that completes the tick."""
        self.perform(self.round.intent(intent))

    @handles(QuoteLevels)
    def on_quote_levels(self, levels: QuoteLevels) -> None:
        """One quoter's record of a tick with more than one level a side: as an intent."""
        self.perform(self.round.intent(levels))

    @handles(Mark)
    def on_mark(self, mark: Mark) -> None:
        """A halted quoter's record of a tick: it counts like an intent, and keeps positions marked."""
        self.perform(self.round.mark(mark, pull=mark.pull))

    @handles(TickSymbols)
    def on_tick_symbols(self, named: TickSymbols) -> None:
        """A live run deciding by message: the symbols whose quoters decide ``named.tick``."""
        self.perform(self.round.names(named.tick, named.symbols))

    @handles(FillsApplied)
    def on_fills_applied(self, applied: FillsApplied) -> None:
        """Fills for the next decision; the store's record that closes tick t completes t's fills."""
        self.perform(self.round.fills(applied.fills, applied.tick if applied.closes else None, seq=applied.seq,
                                      ended=applied.ended))  # fmt: skip

    @handles(QuoterStopped)
    def on_quoter_stopped(self, stopped: QuoterStopped) -> None:
        """A quoter stopped for good: its ticks after ``last_tick`` are complete without it."""
        self.perform(self.round.quoter_stopped(stopped.symbol, stopped.last_tick, stopped.reason))

    @handles(DecisionDeadline)
    def on_decision_deadline(self, deadline: DecisionDeadline) -> None:
        """Paced mode: decide ``tick`` (and any before it) with what has come; what comes later is dropped."""
        self.deadlines.pop(deadline.tick, None)
        self.perform(self.round.deadline(deadline.tick))

    @handles(FreezeRequest)
    def on_freeze_request(self, request: FreezeRequest) -> None:
        """An operator (or a test, or an actor giving up) pulls the kill switch: halt now, for good."""
        self.perform(self.round.request_halt(request.reason))

    @handles(FreezeComplete)
    def on_freeze_complete(self, done: FreezeComplete) -> None:
        """The store agrees with the venue: no order is open any more."""
        self.round.confirm(done.canceled)
        if self.telemetry is not None and self.freeze_decided_at is not None:
            self.telemetry.freeze_confirmed(self.runtime.now() - self.freeze_decided_at)

    @handles(VenueState)
    def on_venue_state(self, state: VenueState) -> None:
        """After a restart: positions that differ from the venue's mean a fill was lost or doubled; halt."""
        self.perform(self.round.reconcile([(item.symbol, item.lots) for item in state.positions], state.tick))

    def escalate(self, exc: Exception) -> None:
        """Risk itself gives up: halt with what it has left, since nobody else can."""
        reason = escalation_reason(self.address, exc)
        self.perform(self.round.halt(HaltKind.ESCALATION, reason, self.round.decided_through))

    def on_handler_failure(self, exc: Exception) -> None:
        """A decision whose handler failed part-way still goes out, pulling every quote and placing nothing."""
        super().on_handler_failure(exc)
        decision = self.round.abandon()
        if decision is not None:
            self.send_decision(decision)

    # ------------------------------------------------------------ doing what the round returned

    def perform(self, outputs: Iterable[Output]) -> None:
        """Do each of the round's outputs in order, each before the round goes on; then log the moves."""
        for output in outputs:
            if isinstance(output, TickDecision):
                self.send_decision(output)
            elif isinstance(output, WriteAhead):
                self._write_ahead(output.entries)
            elif isinstance(output, Figures):
                if self.telemetry is not None:
                    self._tell_telemetry(self.telemetry, output.tick)
            elif isinstance(output, Halted):
                self.announce_halt(output)
            elif isinstance(output, Resumed):
                self.announce_resume(output)
            elif isinstance(output, ArmDeadline):
                assert self.deadline_s is not None  # the round arms deadlines only when paced
                self.deadlines[output.tick] = self.schedule(self.deadline_s, DecisionDeadline(output.tick))
            else:
                timer = self.deadlines.pop(output.tick, None)  # CancelDeadline
                if timer is not None:
                    timer.cancel()
        self._log_moves()

    def send_decision(self, decision: TickDecision) -> None:
        """The decision to the store (a :class:`ReplaceQuotes`, in parts when large), then its TickDone.

        Encoded from fields (:func:`encode_replace`).  Through the outbox: all
        of it goes out, even past a failure.  The coordinator of a sharded
        run sends each shard its part instead.
        """
        keep = [number for _, number in decision.keep]
        parts = encode_replace(decision.tick, decision.symbols, decision.orders, decision.blocks, decision.flatten,
                               keep=keep)  # fmt: skip
        done = encode_fields(TickDone, (decision.tick, tuple(decision.own)))
        self.send_encoded([*((STORE, data) for data in parts), (FEED, done)])

    def announce_halt(self, halted: Halted) -> None:
        """Tell the gateway, the store and every quoter at once.

        The gateway mass-cancels at the venue on its own word, so emptying
        the venue does not depend on the store being alive; the store
        settles its orders from the gateway's answers and confirms.
        """
        self.freeze_decided_at = self.runtime.now()
        if self.telemetry is not None:
            self.telemetry.halted()
        self._log_moves()  # before the gateway can log its mass cancel
        freeze = Freeze(halted.tick, halted.reason, halted.keep_quoting)
        quoters = self.runtime.directory.group(QUOTERS)
        self.send_all([(GATEWAY, freeze), (STORE, freeze), *((address, freeze) for address in quoters)])

    def announce_resume(self, resumed: Resumed) -> None:
        """Everyone who heard the halt hears the resume, before this tick's ``ReplaceQuotes`` leaves."""
        self._log_moves()
        resume = Resume(resumed.tick, resumed.reason)
        quoters = self.runtime.directory.group(QUOTERS)
        self.send_all([(GATEWAY, resume), (STORE, resume), *((address, resume) for address in quoters)])

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

    def _log_moves(self) -> None:
        """A line for each move of the trading state, and each halt made final, not logged yet (two length checks
        a decision when nothing moved)."""
        moves, finals = self.engine.transitions, self.engine.finals
        logged_moves, logged_finals = self.logged
        if len(moves) == logged_moves and len(finals) == logged_finals:
            return
        for move in moves[logged_moves:]:
            state_moved(move)
        for tick, reason in finals[logged_finals:]:
            event("state_final", tick=tick, reason=reason).log(
                STATE_LEVEL, "state: the halt is final from tick {}: {}", tick, reason
            )
        self.logged = (len(moves), len(finals))

    # ------------------------------------------------------------ the journal

    def _write_ahead(self, entries: Sequence[RiskRecord]) -> None:
        """Journal ``entries`` before what depends on them leaves.

        A journal that cannot be written (a full disk) cannot make the run
        durable any more: it is closed for good and the round halts trading
        at the next decision (:meth:`RiskRound.journal_lost`), so the run
        still ends with the venue emptied and a report, instead of a
        decision lost in limbo.
        """
        journal = self.journal
        if journal is None:
            return
        try:
            for entry in entries:
                journal.append(entry)
            journal.flush()
        except (OSError, JournalError) as exc:
            self.journal = None
            self.round.journal_lost(f"cannot write {journal.path.name}: {exc}")
            event("journal_error").error("risk: {}; trading halts, the run is no longer durable",
                                         self.round.journal_failed)  # fmt: skip

    def snapshot(self) -> RiskSnapshot:
        """State for reports and tests."""
        return self.round.snapshot(self.freeze_decided_at)
