"""Risk's round: when a tick's inputs are all in, and the decision of that tick, with no actor around it.

Risk decides tick t when its inputs for t are complete, which it knows by
counting (docs/DESIGN.md, "The completeness rule"): one record of t from
every live quoter (an intent, or a mark once halted) and the store's record
that closes t's fills; and ticks are decided in order.  A live run deciding
by message (``named``, docs/LIVE.md "Latency") names each tick's symbols
(:meth:`RiskRound.names`): only their quoters decide it, so a tick is
complete with one record from each quoter it names, and the other symbols
keep what rests.  A decision then runs
in a canonical order that no arrival order can change: the tick's marks, the
fills applied since the last decision (in the store's order), the edge
(perhaps a halt), a resume that is due, the reduce-only state, then every
intent in sorted symbol order, since limit checks compare symbols (total
notional).  The trading state itself is the engine's
(:class:`actors.core._risk.RiskEngine`, :mod:`actors.core._trading_state`).

:class:`RiskRound` does no I/O, starts no thread and reads no clock.  Its
inputs are decoded records (any object with the fields read: the wire's
records as they came, or the core's); each returns what to do, as plain
values (:data:`Output`), in the order it must be done: journal records to
write ahead (:class:`WriteAhead`), a halt or a resume to announce
(:class:`Halted`, :class:`Resumed`), the decision to send
(:class:`TickDecision`), deadlines to arm or cancel, figures to report.
They come as an iterator, and the caller does each before it takes the
next: a decision goes on only once what it wrote ahead is written, so a
journal that failed (:meth:`RiskRound.journal_lost`) halts trading before
that decision leaves.  The risk monitor (:mod:`actors.roles._risk_monitor`)
and the coordinator of a sharded run (:mod:`actors.cluster._coordinator`)
are each this round with a mailbox around it.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from actors.core._journal_records import Decided, Final, RiskRecord, StateMove
from actors.core._pnl import PnlLine
from actors.core._risk import BLIND, Execution, OwnState, QuoteSides, RiskEngine
from actors.core._trading_state import HaltKind, Transition, halt_kind
from actors.core._types import Side

__all__ = ["ArmDeadline", "CancelDeadline", "Figures", "Halted", "Marked", "OrderFields", "Output", "Quoted",
           "Resumed", "RiskRound", "RiskSnapshot", "TickDecision", "WriteAhead"]  # fmt: skip

OrderFields = tuple[str, int, int, int, bool, int]
"""An approved order's fields (symbol, side, price ticks, lots, reduce-only, number), as the wire encodes them."""

_SIDE_VALUES = {side: int(side) for side in Side}
"""A side's int, looked up: ``int()`` of an IntEnum costs a call, for each of a decision's orders."""

NOTHING: tuple[()] = ()
"""No output (an input that completes no tick): returned as is, no iterator built."""


class Marked(Protocol):
    """What risk reads of a halted quoter's record of a tick (the wire's ``Mark``)."""

    @property
    def tick(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def mid_ticks(self) -> int: ...


class Quoted(Marked, QuoteSides, Protocol):
    """What risk reads of a quoter's intent for a tick (the wire's ``QuoteIntent``): its mid and both sides."""


# ---------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class WriteAhead:
    """Journal these (and flush) before doing anything that follows; a failure: :meth:`RiskRound.journal_lost`.

    Risk's journal records (:mod:`actors.core._journal_records`): each move of
    the trading state, each halt made final, each decision.
    """

    entries: tuple[RiskRecord, ...]


@dataclass(frozen=True, slots=True)
class Halted:
    """Trading halted at ``tick``: tell the gateway, the store and every quoter (the wire's ``Freeze``).

    ``keep_quoting``: the halt may be lifted, or positions are flattened, so
    quoters keep sending their intents.
    """

    tick: int
    reason: str
    keep_quoting: bool


@dataclass(frozen=True, slots=True)
class Resumed:
    """A halt lifted at ``tick``: everyone who heard it hears this, before the tick's decision."""

    tick: int
    reason: str


@dataclass(frozen=True, slots=True)
class TickDecision:
    """The decision of ``tick``: the symbols whose quotes are replaced, the orders that replace them, the blocks.

    ``flatten``: the orders are a halt's flattening orders.  ``keep``: the
    resting orders of those symbols wanted again, (symbol, client id
    number): the store cancels the symbols' other orders.  ``own``: what
    each symbol's strategy is told of itself as of this decision, for the
    symbols where it changed (:meth:`RiskEngine.take_own`; the feed hands
    it to the quoter with tick ``tick + ticks_in_flight``).
    """

    tick: int
    symbols: Sequence[str]
    orders: Sequence[OrderFields]
    blocks: int
    flatten: bool = False
    keep: Sequence[tuple[str, int]] = ()
    own: Sequence[OwnState] = ()


@dataclass(frozen=True, slots=True)
class Figures:
    """Risk's figures moved (a decision, or fills after the last one): report them as of ``tick``."""

    tick: int


@dataclass(frozen=True, slots=True)
class ArmDeadline:
    """Paced mode: decide ``tick`` when the decision deadline passes, whatever has come by then."""

    tick: int


@dataclass(frozen=True, slots=True)
class CancelDeadline:
    """``tick`` is decided before its deadline: cancel the timer armed for it."""

    tick: int


Output = WriteAhead | Halted | Resumed | TickDecision | Figures | ArmDeadline | CancelDeadline


@dataclass(frozen=True)
class RiskSnapshot:
    """What risk reports, its fields named as the report names them (users parse those: they stay)."""

    frozen: bool
    freeze_events: int
    last_freeze_reason: str
    freeze_tick: int | None
    freeze_confirmed: bool
    canceled_at_freeze: int
    risk_blocks: int
    freeze_decided_at: float | None  # runtime clock when risk decided the halt; timing, never reported
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


# ---------------------------------------------------------------- the round


class RiskRound:
    """Completeness counting and the decision of each tick, over a :class:`RiskEngine`."""

    def __init__(
        self,
        engine: RiskEngine,
        symbols: Iterable[str] = (),
        *,
        decided_through: int = 0,
        halt_tick: int | None = None,
        final_tick: int | None = None,
        paced: bool = False,
        journaled: bool = False,
        risk_blocks: int = 0,
        own: bool = False,
        named: bool = False,
    ) -> None:
        """``paced``: every tick has a decision deadline (:class:`ArmDeadline`); ``journaled``: decisions and
        moves are written ahead (:class:`WriteAhead`); ``risk_blocks``: counted before a crash; ``own``: each
        decision says what each symbol's strategy is told of itself (:attr:`TickDecision.own`), every symbol's
        at the first decision; ``named``: each tick is told the symbols it names (:meth:`names`), and waits for
        them and for their quoters' records only."""
        self.engine = engine
        self.symbols = frozenset(symbols)
        if own:
            engine.track_own = True
            engine.own_changed.update(self.symbols)
        self.stopped: dict[str, int] = {}
        """Quoters gone for good, with the last tick each sent."""
        self.intents: dict[int, dict[str, Quoted]] = {}
        self.marks: dict[int, dict[str, Marked]] = {}
        """Inputs of ticks not decided yet: the quoters' intents, and the marks of quoters that stopped quoting."""
        self.named = named
        self.names_of: dict[int, frozenset[str]] = {}
        """``named``: the symbols each tick not decided yet names (its quoters, and only they, send a record)."""
        self.pulls: dict[int, set[str]] = {}
        """Symbols whose marks of a tick not decided yet pull their quotes (a live market gone stale)."""
        self.unapplied: list[Execution] = []
        """Fills the store applied, in its order, waiting for the next decision."""
        self.closed_through = decided_through
        """The last tick whose fills are all in."""
        self.decided_through = decided_through
        self.final_tick = final_tick
        self.paced = paced
        self.armed: set[int] = set()
        """Ticks with a decision deadline armed."""
        self.last_seq = 0
        self.risk_blocks = risk_blocks
        self.late_inputs = 0
        self.decided_at_deadline = 0
        self.duplicate_records = 0
        self.reconciliations = 0
        self.halt_tick = halt_tick
        """The tick of the last halt announced (the report's ``freeze_tick``)."""
        self.confirmed = False
        """The store emptied the venue after the halt (the report's ``freeze_confirmed``)."""
        self.confirmation_stale = False
        """A resume came since the last confirmation: the next halt starts unconfirmed."""
        self.canceled_at_halt = 0
        self.journaled = journaled
        self.journal_failed: str | None = None
        """Why risk's journal could not be written, once it could not: trading halts at the next decision."""
        self.written = (len(engine.transitions), len(engine.finals))
        """Moves and finals journaled so far (those a resumed run replayed were journaled by the run before)."""
        self.decision_owed: int | None = None
        """The tick being decided, until its decision is returned (owed should the caller fail: :meth:`abandon`)."""
        self.halts_due: list[tuple[int, str, str]] = []
        """(tick, symbol, reason) of halts asked for by quoters that gave up, made as that tick is decided."""

    # ------------------------------------------------------------ inputs

    def intent(self, record: Quoted) -> Iterable[Output]:
        """One quoter's intent for a tick; a copy replaces itself."""
        tick = record.tick
        if tick <= self.decided_through:
            self.late_inputs += 1  # decided at its deadline without it (paced mode), or a late copy
            return NOTHING
        self.intents.setdefault(tick, {})[record.symbol] = record
        if tick in self.marks:
            self.marks[tick].pop(record.symbol, None)
            self.pulls.get(tick, set()).discard(record.symbol)
        return self._after_input(tick)

    def mark(self, record: Marked, *, pull: bool = False) -> Iterable[Output]:
        """A halted quoter's record of a tick: it counts like an intent, and keeps positions marked.

        ``pull``: the symbol's market is stale (a live market's): its resting quotes are canceled at this tick.
        """
        tick = record.tick
        if tick <= self.decided_through:
            self.late_inputs += 1
            return NOTHING
        self.marks.setdefault(tick, {})[record.symbol] = record
        if pull:
            self.pulls.setdefault(tick, set()).add(record.symbol)
        if tick in self.intents:
            self.intents[tick].pop(record.symbol, None)
        return self._after_input(tick)

    def names(self, tick: int, symbols: Iterable[str]) -> Iterable[Output]:
        """``named``: the symbols whose quoters decide ``tick`` (the others keep what rests); a copy changes nothing."""
        if tick in self.names_of:
            self.duplicate_records += 1
            return NOTHING
        if tick <= self.decided_through:
            self.late_inputs += 1  # decided at its deadline without them (its quoters' records are late too)
            return NOTHING
        self.names_of[tick] = frozenset(symbols)
        return self._after_input(tick)

    def _after_input(self, tick: int) -> Iterable[Output]:
        """Arm the tick's deadline (paced), decide what is complete; nothing built when neither is due."""
        arm = self.paced and tick not in self.armed
        if not arm and not (self.closed_through > self.decided_through and self._complete(self.decided_through + 1)):
            return NOTHING
        return self._arm_and_decide(tick if arm else None)

    def _arm_and_decide(self, tick: int | None) -> Iterator[Output]:
        if tick is not None:
            yield from self._arm(tick)
        yield from self._decide_ready()

    def fills(self, fills: Sequence[Execution], closes: int | None, *, seq: int | None = None,
              ended: Sequence[str] = ()) -> Iterator[Output]:  # fmt: skip
        """Fills for the next decision; ``closes``: the tick whose fills are now complete.

        ``seq`` numbers the store's records, so a copy delivered twice is
        recognised (None: the caller recognises them).  ``ended``: client ids
        of orders that ended other than by a fill or a cancel risk asked for
        (rejected, canceled unasked): they rest no more
        (:meth:`RiskEngine.forget`), before the next decision as the fills.  Once the final tick
        is decided, no mark moves any more: fills (those a halt's mass
        cancel brings) are applied as they come.
        """
        if seq is not None:
            if seq <= self.last_seq:
                self.duplicate_records += 1
                return
            self.last_seq = seq
        self.unapplied.extend(fills)
        if ended:
            self.engine.forget(ended)
        if closes is not None:
            self.closed_through = max(self.closed_through, closes)
            yield from self._arm(closes)
        if self.final_tick is not None and self.decided_through >= self.final_tick:
            self._apply_fills()
            yield Figures(self.decided_through)  # no decision follows: the figures move with these fills
        yield from self._decide_ready()

    def quoter_stopped(self, symbol: str, last_tick: int, reason: str = "") -> Iterator[Output]:
        """A quoter stopped for good: its ticks after ``last_tick`` are complete without it.

        Its halt, if it asks for one (``reason``: it gave up, an escalation),
        is made as the first tick without it is decided, so it lands on the
        same tick on every runtime however late this record came.
        """
        self.stopped[symbol] = last_tick
        if reason:
            heapq.heappush(self.halts_due, (last_tick + 1, symbol, reason))
        if self.final_tick is not None and self.decided_through >= self.final_tick:
            yield from self._halts_due(self.decided_through, everything=True)  # no tick is left to wait for
        yield from self._decide_ready()

    def deadline(self, tick: int) -> Iterator[Output]:
        """Paced mode: decide ``tick`` (and any before it) with what has come; what comes later is dropped."""
        self.armed.discard(tick)
        while self.decided_through < tick:
            self.decided_at_deadline += 1
            yield from self._decide(self.decided_through + 1, at_deadline=True)
        yield from self._decide_ready()

    def request_halt(self, reason: str) -> Iterator[Output]:
        """A request to halt now, for good (an operator's kill switch, an actor that gave up, a lost shard).

        Its kind is read from its text (the wire carries the text alone); a
        request is final whatever its text says: only risk judges the edge.
        """
        kind = halt_kind(reason)
        yield from self.halt(HaltKind.OTHER if kind.resumable else kind, reason, self.decided_through)

    def halt(self, kind: HaltKind, reason: str, tick: int) -> Iterator[Output]:
        """Halt for ``reason``: announced if it halted; if it made a resumable halt final, that is journaled at once."""
        if self.engine.halt(reason, tick, kind=kind):
            yield from self._halted(tick, reason)
        else:
            yield from self._write_moves()

    def confirm(self, canceled: int) -> None:
        """The store agrees with the venue after the halt: no order is open any more; ``canceled`` on the way."""
        self.confirmed = True
        self.confirmation_stale = False
        self.canceled_at_halt = canceled

    def reconcile(
        self, positions: Iterable[tuple[str, int]], tick: int, scope: Collection[str] | None = None
    ) -> Iterator[Output]:
        """The venue's positions (symbol, lots) after a restart: any that differ from risk's mean a fill was lost or
        doubled; halt.

        ``scope``: the symbols the venue holds (a shard's), None: every symbol.
        The fills the store applied before it forwarded the venue's word are
        applied first.
        """
        self.reconciliations += 1
        self._apply_fills()
        yield Figures(self.decided_through)
        venue = {symbol: lots for symbol, lots in positions if lots}
        mine = self.engine.positions()
        if scope is not None:
            within = frozenset(scope)
            mine = {symbol: lots for symbol, lots in mine.items() if symbol in within}
        differ = sorted(symbol for symbol in venue.keys() | mine.keys() if venue.get(symbol) != mine.get(symbol))
        if differ:
            reason = f"{HaltKind.RECONCILIATION.value}: positions differ from the venue in {', '.join(differ)}"
            yield from self.halt(HaltKind.RECONCILIATION, reason, tick)

    def journal_lost(self, why: str) -> None:
        """Risk's journal cannot be written any more: nothing more is written ahead, and the next decision halts."""
        self.journaled = False
        self.journal_failed = f"{HaltKind.JOURNAL.value}: {why}"

    def abandon(self) -> TickDecision | None:
        """The caller failed part-way through a decision: that tick still goes out, pulling every quote, placing none.

        Its inputs were taken already, so without it the tick would never be
        decided and the run would stop there.  None: no decision was owed.
        """
        tick, self.decision_owed = self.decision_owed, None
        if tick is None:
            return None
        self.decided_through = max(self.decided_through, tick)
        self.engine.pull_all()
        return TickDecision(tick, sorted(self.symbols - self.stopped.keys()), (), 0, own=self._own())

    def halt_in_force(self) -> Halted | None:
        """The halt trading is in, as it was announced (for a shard that was away when it was); None: trading."""
        engine = self.engine
        if not engine.halted or self.halt_tick is None:
            return None
        return Halted(self.halt_tick, engine.halt_reason, engine.halt_resumable or engine.limits.flatten_on_halt)

    def snapshot(self, freeze_decided_at: float | None = None) -> RiskSnapshot:
        """State for reports and tests; ``freeze_decided_at``: the caller's clock when it announced the last halt."""
        engine = self.engine
        return RiskSnapshot(
            frozen=engine.halted,
            freeze_events=engine.halts,
            last_freeze_reason=engine.halt_reason,
            freeze_tick=self.halt_tick,
            freeze_confirmed=self.confirmed,
            canceled_at_freeze=self.canceled_at_halt,
            risk_blocks=self.risk_blocks,
            freeze_decided_at=freeze_decided_at,
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

    def pending(self) -> int:
        """Inputs held for ticks not decided yet."""
        return sum(map(len, self.intents.values())) + sum(map(len, self.marks.values()))

    # ------------------------------------------------------------ deciding

    def _complete(self, tick: int) -> bool:
        if self.closed_through < tick:
            return False
        got = len(self.intents.get(tick, NOTHING)) + len(self.marks.get(tick, NOTHING))
        if self.named:
            names = self.names_of.get(tick)
            if names is None:
                return False
            gone = sum(1 for s, last in self.stopped.items() if last < tick and s in names) if self.stopped else 0
            return got >= len(names) - gone
        gone = sum(1 for last in self.stopped.values() if last < tick) if self.stopped else 0
        return got >= len(self.symbols) - gone

    def _expected(self, tick: int) -> frozenset[str]:
        """The symbols whose quoters owe a record of ``tick``: every symbol, or (``named``) those the tick names."""
        if self.named:
            return self.names_of.pop(tick, frozenset())
        return self.symbols

    def _decide_ready(self) -> Iterator[Output]:
        while self._complete(self.decided_through + 1):
            yield from self._decide(self.decided_through + 1)

    def _arm(self, tick: int) -> Iterator[Output]:
        if self.paced and tick > self.decided_through and tick not in self.armed:
            self.armed.add(tick)
            yield ArmDeadline(tick)

    def _decide(self, tick: int, *, at_deadline: bool = False) -> Iterator[Output]:
        """Marks, fills, edge (perhaps a halt), then the intents in symbol order; always one decision.

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
        if tick in self.armed:
            self.armed.discard(tick)
            yield CancelDeadline(tick)  # decided in time: no deadline will fire after the run
        quoting, mids = self._take_inputs(tick)
        expected = self._expected(tick)
        engine = self.engine
        engine.begin_decision(tick)
        yield from self._halts_due(tick)
        engine.update_marks(mids)
        if self._apply_fills():
            reason = engine.evaluate_edge(tick)
            if reason is not None:
                yield from self._halted(tick, reason)
        resumed = engine.resume_due(tick)
        if resumed is not None:
            yield from self._resumed(tick, resumed)
        engine.update_reducing(tick)
        self.decided_through = tick
        before = dict(engine.blocks_by_reason)
        pulled, approved, blocks, keep = self._approve(tick, {} if engine.halted else quoting, at_deadline, expected)
        stale = self.pulls.pop(tick, None)
        if stale and not engine.halted and not at_deadline:  # a live market gone stale: its resting orders go too
            engine.pull(symbol for symbol in sorted(stale) if symbol not in quoting)
            pulled = sorted(stale.union(pulled))
        flatten = self._flatten(tick, quoting)
        if flatten is not None:
            pulled, approved, blocks = flatten
        self.risk_blocks += blocks
        if self.journaled:  # write-ahead: on disk before the decision leaves
            yield from self._write_decision(tick, blocks, before)
        if self.journal_failed is not None:
            yield from self.halt(HaltKind.JOURNAL, self.journal_failed, tick)  # first: the store refuses its orders
        flattening = flatten is not None
        orders = self._order_fields(approved, flattening=flattening)
        if not flattening and not engine.halted:
            rest = engine.rest
            for symbol, side, price, lots, _, number in orders:
                rest(symbol, number, side, price, lots)
        yield Figures(tick)
        self.decision_owed = None
        yield TickDecision(tick, pulled, orders, blocks, flattening, keep, self._own())
        if tick == self.final_tick:
            yield from self._halts_due(tick, everything=True)  # a quoter that gave up at the last tick

    def _approve(
        self, tick: int, quotes: Mapping[str, Quoted], at_deadline: bool, expected: frozenset[str]
    ) -> tuple[list[str], list[tuple[str, Side, int, int]], int, list[tuple[str, int]]]:
        """The symbols whose quotes are replaced, the new orders approved, the blocks, and the orders kept.

        Blind, every quote is pulled (every side counted as a risk block);
        at the deadline, every ``expected`` symbol without an intent has its orders pulled.
        """
        engine = self.engine
        approved: list[tuple[str, Side, int, int]] = []
        keep: list[tuple[str, int]] = []
        if self.closed_through < tick:  # blind
            blocks = 2 * len(quotes)
            engine.count_blocks(BLIND, blocks)
            engine.pull(quotes)
        elif quotes:
            approved, blocks = engine.approve_quotes(quotes)
            keep = engine.kept
        else:
            blocks = 0
        if at_deadline and not engine.halted:
            pulled = sorted(expected - self.stopped.keys())
            engine.pull(symbol for symbol in pulled if symbol not in quotes)  # no intent: every order canceled
        else:
            pulled = sorted(quotes)
        return pulled, approved, blocks, keep

    def _own(self) -> tuple[OwnState, ...]:
        """What the strategies are told of themselves after this decision, where it changed (none if not asked)."""
        return tuple(self.engine.take_own()) if self.engine.track_own else ()

    def _take_inputs(self, tick: int) -> tuple[dict[str, Quoted], list[tuple[str, int]]]:
        """The intents of ``tick`` in symbol order (sorted once: the decision's later sorts find them so), and the
        mids of every input of ``tick``, in symbol order."""
        intents = self.intents.pop(tick, {})
        marks = self.marks.pop(tick, None)
        quoting = {symbol: intents[symbol] for symbol in sorted(intents)}
        mids = [(symbol, record.mid_ticks) for symbol, record in quoting.items()]
        if marks:
            mids = sorted([*mids, *((symbol, record.mid_ticks) for symbol, record in marks.items())])
        return quoting, mids

    def _write_decision(self, tick: int, blocks: int, before: Mapping[str, int]) -> Iterator[Output]:
        """The moves so far, then the decision (with the blocks of each kind it added since ``before``)."""
        yield from self._write_moves()
        if self.journaled:  # not lost writing the moves
            engine = self.engine
            now = sorted(engine.blocks_by_reason.items())
            kinds = {kind: n - before.get(kind, 0) for kind, n in now if n != before.get(kind, 0)}
            yield WriteAhead((Decided(tick, blocks, engine.fills_applied, kinds),))

    def _halts_due(self, tick: int, *, everything: bool = False) -> Iterator[Output]:
        """Halt for a quoter that gave up, as ``tick`` is decided (or at once, ``everything``, after the last)."""
        while self.halts_due and (everything or self.halts_due[0][0] <= tick):
            yield from self.halt(HaltKind.ESCALATION, heapq.heappop(self.halts_due)[2], tick)

    def _order_fields(self, approved: list[tuple[str, Side, int, int]], *, flattening: bool) -> list[OrderFields]:
        """The approved orders, numbered in the order risk approved them (their client ids)."""
        engine = self.engine
        numbers = engine.number_orders(len(approved))
        value = _SIDE_VALUES
        reducing = flattening or engine.reduce_all or bool(engine.reduce_only)  # the usual tick: none is reduce-only
        return [(symbol, value[side], price, lots, reducing and (flattening or engine.is_reduce_only(symbol)), number)
                for (symbol, side, price, lots), number in zip(approved, numbers, strict=True)]  # fmt: skip

    def _flatten(
        self, tick: int, touches: Mapping[str, Quoted]
    ) -> tuple[list[str], list[tuple[str, Side, int, int]], int] | None:
        """HALTED with ``--flatten-on-halt``: the engine's flattening orders at each quoter's touch (its intent).

        They start once the store has confirmed the halt's cancels (its
        confirmation comes before the fills that close the next tick, in the
        store's order, so the tick it starts at is the same on every
        runtime), never on a tick decided blind (positions are not known).
        """
        if self.closed_through < tick:
            touches = {}
        return self.engine.flatten(tick, touches, confirmed=self.confirmed, last=tick == self.final_tick)

    def _apply_fills(self) -> bool:
        """The fills since the last decision (:meth:`RiskEngine.apply_fills`: in symbol order)."""
        fills, self.unapplied = self.unapplied, []
        self.engine.apply_fills(fills)
        return bool(fills)

    # ------------------------------------------------------------ halts and resumes

    def _halted(self, tick: int, reason: str) -> Iterator[Output]:
        """Journal the halt, then announce it."""
        self.halt_tick = tick
        if self.confirmation_stale:
            self.confirmed, self.confirmation_stale, self.canceled_at_halt = False, False, 0
        yield from self._write_moves()
        engine = self.engine
        yield Halted(tick, reason, engine.halt_resumable or engine.limits.flatten_on_halt)

    def _resumed(self, tick: int, reason: str) -> Iterator[Output]:
        """Journal the resume, then announce it (before this tick's decision)."""
        self.confirmation_stale = True
        yield from self._write_moves()
        yield Resumed(tick, reason)

    def _write_moves(self) -> Iterator[Output]:
        """Moves of the trading state, and halts made final, not journaled yet (write-ahead, like a decision)."""
        if not self.journaled:
            return
        moves, finals = self.engine.transitions, self.engine.finals
        done_moves, done_finals = self.written
        entries: list[RiskRecord] = [StateMove(move.tick, move.source, move.target, move.reason)
                                     for move in moves[done_moves:]]  # fmt: skip
        entries.extend(Final(tick, reason) for tick, reason in finals[done_finals:])
        self.written = (len(moves), len(finals))
        if entries:
            yield WriteAhead(tuple(entries))
