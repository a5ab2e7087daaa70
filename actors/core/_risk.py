"""Risk: pre-trade limits, positions, realised edge and the halt.

Realised edge over all fills, each marked against the mid at the time of the
fill (``side`` +1 buy, -1 sell)::

    edge_bps = 1e4 * sum(side * (mark - price) * qty) / sum(price * qty)     (USD amounts)

Buying below the mid or selling above it is positive edge.  Once at least
``edge_min_fills`` fills are in and the edge is below the threshold, trading
halts with the reason ``Edge degradation: 2.40 BPS < 3.00 BPS`` (a halt of kind
:attr:`HaltKind.EDGE`, the one kind a resume may lift).

Trading has three states (:mod:`actors.core._trading_state`): ``ACTIVE``,
``REDUCING`` (some or all symbols reduce-only, while an exposure is above its
reduce-above threshold) and ``HALTED`` (no order at all).  Every pre-trade check
that refuses an order says which check it was (:attr:`Decision.kind`), and
the engine counts refusals by kind (:attr:`RiskEngine.blocks_by_reason`).
Every check is off (0) unless configured, so a run without them decides
exactly as before they existed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass
from typing import Protocol

from actors.core._pnl import InverseLine, PnlLine
from actors.core._trading_state import Event, HaltKind, TradingState, TradingStateMachine, Transition
from actors.core._types import Instrument, Side

BUY, SELL = Side.BUY, Side.SELL
_HALTED = TradingState.HALTED
HALTED = "halted"
PRICE_BAND = "price-band"
MAX_ORDER_USD = "max-order-usd"
REDUCE_ONLY = "reduce-only"
MAX_INV = "max-inv"
MAX_TOTAL = "max-total"
MAX_OPEN_ORDERS = "max-open-orders"
MAX_ORDERS_PER_SEC = "max-orders-per-sec"
BLIND = "blind"
"""Kinds of block, as ``risk.blocks_by_reason`` names them (``blind``: a paced tick decided before its fills came)."""


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The limits risk enforces; every one after ``edge_min_fills`` is off at 0."""

    max_inventory_usd: float
    max_total_notional_usd: float
    edge_freeze_threshold_bps: float
    edge_min_fills: int = 10
    reduce_above_usd: float = 0.0
    """A symbol whose |position| x mark is above this is reduce-only."""
    reduce_above_total_usd: float = 0.0
    """Every symbol is reduce-only while the total notional is above this."""
    max_order_usd: float = 0.0
    """No order above this notional (price x quantity)."""
    price_band_bps: float = 0.0
    """No order priced further than this from the symbol's mid (the fat-finger check)."""
    max_open_orders: int = 0
    """No more than this many orders of one symbol resting at once."""
    max_orders_per_sec: int = 0
    """No more than this many new orders of one symbol per second of the tick clock (:meth:`RiskEngine.second_of`)."""
    tick_ms: float = 100.0
    """The tick clock: tick t is at (t - 1) x tick_ms ms, as the paced feed sends it."""
    resume_after_ticks: int = 0
    """A halt for edge is lifted this many ticks after it (if the edge is back); 0: a halt is final."""
    edge_window_fills: int = 20
    """Fills the edge is re-marked over to decide a resume."""
    flatten_on_halt: bool = False
    """After a halt's cancels, reduce-only orders at the touch bring positions to zero."""
    flatten_ticks: int = 10
    """Ticks after the halt during which flattening orders are sent; the next one cancels what is left of them."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A pre-trade verdict; ``reason`` says why an order was blocked."""

    allowed: bool
    reason: str = ""
    kind: str = ""
    """Which check refused (one of the block kinds above); empty if allowed."""


ALLOW = Decision(True)


def edge_halt_reason(edge_bps: float, threshold_bps: float) -> str:
    """The reason of a halt for edge, exactly as reports and operators expect it (it begins with its kind)."""
    return f"{HaltKind.EDGE.value}: {edge_bps:.2f} BPS < {threshold_bps:.2f} BPS"


class Execution(Protocol):
    """What risk reads of a fill: a core :class:`Fill`, or the wire's item as it came (no copy per fill)."""

    @property
    def client_id(self) -> str: ...
    @property
    def tick(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> int: ...
    @property
    def price_ticks(self) -> int: ...
    @property
    def qty_lots(self) -> int: ...


class QuoteSides(Protocol):
    """Both sides of a quote: a core :class:`Quote`, or a quoter's intent as it came (no copy per tick).

    The best level of each side; a side with 0 lots is empty (its price is
    the touch a flattening order would use).  A quote with more than one
    level a side also has ``levels`` (:func:`levels_of`).
    """

    @property
    def bid_ticks(self) -> int: ...
    @property
    def bid_lots(self) -> int: ...
    @property
    def ask_ticks(self) -> int: ...
    @property
    def ask_lots(self) -> int: ...


LevelFields = tuple[int, int, int]
"""One level a quote wants: side (+1 buy, -1 sell), price ticks, lots."""


def levels_of(quote: QuoteSides) -> tuple[LevelFields, ...]:
    """Every level ``quote`` wants, bids then asks, best first: its ``levels`` if it has them, else its best of each
    side (a side with 0 lots left out)."""
    levels: tuple[LevelFields, ...] | None = getattr(quote, "levels", None)
    if levels is not None:
        return levels
    if quote.bid_lots:
        if quote.ask_lots:
            return ((1, quote.bid_ticks, quote.bid_lots), (-1, quote.ask_ticks, quote.ask_lots))
        return ((1, quote.bid_ticks, quote.bid_lots),)
    return ((-1, quote.ask_ticks, quote.ask_lots),) if quote.ask_lots else ()


def client_number(client_id: str) -> int:
    """The number of a client id (its trailing digits: ``CLI00000012`` is 12); 0 if it has none."""
    digits = client_id[len(client_id.rstrip("0123456789")) :]
    return int(digits) if digits else 0


class Resting:
    """One order risk knows to rest for a symbol: placed by a decision, wanted since, not filled, rejected or
    canceled (:attr:`RiskEngine.resting`)."""

    __slots__ = ("number", "side", "price_ticks", "remaining_lots")

    def __init__(self, number: int, side: int, price_ticks: int, remaining_lots: int) -> None:
        self.number = number
        self.side = side
        self.price_ticks = price_ticks
        self.remaining_lots = remaining_lots

    def fields(self) -> LevelFields:
        """(side, price ticks, lots left)."""
        return (self.side, self.price_ticks, self.remaining_lots)


OwnState = tuple[str, int, int, tuple[int, ...], tuple[int, ...]]
"""What a symbol's strategy is told of itself after a decision (:meth:`RiskEngine.take_own`): symbol, position
lots, average price in millionths of a tick, resting orders as flat (side, price, lots left) triples, and the fills
since the last one as flat (side, price, lots, tick) quadruples."""

AVG_SCALE = 1_000_000
"""The average price travels as an integer of millionths of a tick (no float on the wire)."""


class RiskEngine:
    """Positions and marks by symbol, the edge accumulators, the trading state and the pre-trade checks."""

    def __init__(self, limits: RiskLimits, instruments: Mapping[str, Instrument]) -> None:
        self.limits = limits
        self.instruments = dict(instruments)
        self.marks: dict[str, int] = {}
        self._positions: dict[str, int] = {}
        self._notional: dict[str, float] = {}
        self._running_total = 0.0  # O(1) limit checks; reports re-sum in sorted order
        self.states = TradingStateMachine()
        self.halts = 0
        """Halts so far (the report's ``freeze_events``)."""
        self.halt_reason = ""
        """Why the last halt, or the final cause that made it final (the report's ``last_freeze_reason``)."""
        self.halted_at = 0
        self.halt_resumable = False
        self.finals: list[tuple[int, str]] = []
        """(tick, reason) of every final cause that made a resumable halt final (:meth:`make_final`)."""
        self.fills_applied = 0
        self._edge_usd = 0.0
        self._volume_usd = 0.0
        self._judged = _EdgeSum()
        """The edge a halt is judged on: every fill since the start, or since the last resume."""
        self._window: deque[Execution] = deque(maxlen=max(1, limits.edge_window_fills))
        self.reduce_only: frozenset[str] = frozenset()
        """Symbols over ``reduce_above_usd`` (every symbol while the total is over ``reduce_above_total_usd``)."""
        self.reduce_all = False
        self.blocks_by_reason: dict[str, int] = {}
        self._resting: dict[str, int] = {}
        """Orders approved per symbol in the decision under way: the symbol's earlier ones are being canceled."""
        self._second = -1
        self._sent_this_second: dict[str, int] = {}
        self.flattening: set[str] = set()
        """Symbols with flattening orders out, to cancel when the flattening window closes."""
        self.flatten_orders = 0
        self.orders_numbered = 0
        """The client id number of the last order approved: orders are numbered in the order risk approves them."""
        self._unbooked: dict[str, int] = {}
        """Lots adopted from the venue before the symbol's first mark (:meth:`adopt_position`), booked at it."""
        self._pnl: dict[str, PnlLine] = {}
        self.resting: dict[str, list[Resting]] = {}
        """What rests of each symbol as risk knows it, in the order placed: what its decisions placed or kept, less
        what filled, and what the store said ended otherwise (rejected, canceled unasked: :meth:`forget`).  A wanted
        level equal to one of them (side, price, lots left) is kept rather than replaced, and is not checked again."""
        self._resting_symbol: dict[int, str] = {}
        """The symbol of each resting order, by client id number."""
        self.kept: list[tuple[str, int]] = []
        """The orders the last :meth:`approve_quotes` kept: (symbol, client id number)."""
        self.orders_kept = 0
        self.track_own = False
        """Collect what each symbol's strategy is told of itself (:meth:`take_own`); off, nothing is collected."""
        self.own_changed: set[str] = set()
        self._own_fills: dict[str, list[int]] = {}
        self._avg: dict[str, PnlLine] = {}
        """Each symbol's position at its average price in ticks (the strategy's ``avg_price_ticks``)."""

    # ------------------------------------------------------------ what rests

    def rest(self, symbol: str, number: int, side: int, price_ticks: int, lots: int) -> None:
        """An order a decision placed: it rests from now on, as far as risk knows."""
        self.resting.setdefault(symbol, []).append(Resting(number, side, price_ticks, lots))
        self._resting_symbol[number] = symbol
        if self.track_own:
            self.own_changed.add(symbol)

    def forget(self, client_ids: Iterable[str]) -> None:
        """Orders that ended other than by a fill or a cancel risk asked for (rejected, canceled unasked): gone."""
        for client_id in client_ids:
            self._drop(client_number(client_id))

    def _drop(self, number: int) -> Resting | None:
        symbol = self._resting_symbol.pop(number, None)
        if symbol is None:
            return None
        orders = self.resting[symbol]
        for index, order in enumerate(orders):
            if order.number == number:
                del orders[index]
                if not orders:
                    del self.resting[symbol]
                if self.track_own:
                    self.own_changed.add(symbol)
                return order
        return None

    def pull(self, symbols: Iterable[str]) -> None:
        """The symbols' resting orders are all canceled (a tick decided blind or at its deadline)."""
        for symbol in symbols:
            orders = self.resting.pop(symbol, None)
            if orders:
                for order in orders:
                    self._resting_symbol.pop(order.number, None)
                if self.track_own:
                    self.own_changed.add(symbol)

    def pull_all(self) -> None:
        """Every resting order is canceled (a halt, a decision abandoned)."""
        self.pull(list(self.resting))

    def take_own(self) -> list[OwnState]:
        """What each symbol's strategy is told of itself, for the symbols whose position, orders or fills changed
        since the last call, in symbol order (then none has changed)."""
        changed, self.own_changed = sorted(self.own_changed), set()
        fills, self._own_fills = self._own_fills, {}
        states: list[OwnState] = []
        for symbol in changed:
            line = self._avg.get(symbol)
            average = round(line.average_usd * AVG_SCALE) if line is not None else 0
            resting = tuple(v for order in self.resting.get(symbol, ()) for v in order.fields())
            states.append((symbol, self._positions.get(symbol, 0), average, resting, tuple(fills.get(symbol, ()))))
        return states

    def number_orders(self, count: int) -> range:
        """Client id numbers for ``count`` orders just approved (docs/DESIGN.md, "Ids")."""
        first = self.orders_numbered + 1
        self.orders_numbered += count
        return range(first, first + count)

    # ------------------------------------------------------------ state

    @property
    def state(self) -> TradingState:
        """ACTIVE, REDUCING or HALTED."""
        return self.states.state

    @property
    def halted(self) -> bool:
        """Whether the state is HALTED."""
        return self.states.state is TradingState.HALTED

    @property
    def transitions(self) -> list[Transition]:
        """Every move of the trading state so far."""
        return self.states.transitions

    def update_mark(self, symbol: str, mid_ticks: int) -> None:
        """The latest mid of ``symbol``."""
        self.marks[symbol] = mid_ticks
        if self._unbooked:
            self._book_adopted()
        self._refresh_notional(symbol)

    def update_marks(self, mids: Iterable[tuple[str, int]]) -> None:
        """A decision's mids, in the order given: :meth:`update_mark` of each (a flat symbol's notional stays 0).

        Risk marks every symbol every tick; a symbol with no position and no
        notional has nothing to refresh (its notional is 0 before and after,
        and the running total does not move), so only its mark is written.
        """
        marks, positions, notional = self.marks, self._positions, self._notional
        for symbol, mid_ticks in mids:
            marks[symbol] = mid_ticks
            if positions.get(symbol, 0) or symbol in notional:
                self._refresh_notional(symbol)
        if self._unbooked:
            self._book_adopted()

    def position(self, symbol: str) -> int:
        """Signed lots held in ``symbol``."""
        return self._positions.get(symbol, 0)

    def positions(self) -> dict[str, int]:
        """Non-zero positions, sorted by symbol."""
        return {s: lots for s, lots in sorted(self._positions.items()) if lots}

    def position_usd(self, symbol: str) -> float:
        """Signed position x mark of ``symbol`` in USD (0 before its first mark)."""
        lots = self._positions.get(symbol, 0)
        mark = self.marks.get(symbol)
        if mark is None or lots == 0:
            return 0.0
        return self.instruments[symbol].notional_usd(mark, lots) * (1 if lots > 0 else -1)

    def notional_usd(self, symbol: str) -> float:
        """|position| x mark of ``symbol``."""
        return self._notional.get(symbol, 0.0)

    def total_notional_usd(self) -> float:
        """Sum of |position| x mark, summed in sorted symbol order (reproducible to the bit)."""
        return sum(self._notional[s] for s in sorted(self._notional))

    def is_reduce_only(self, symbol: str) -> bool:
        """Only orders that bring ``symbol``'s position toward zero pass."""
        return self.reduce_all or symbol in self.reduce_only

    # ------------------------------------------------------------ the state, once per decision

    def second_of(self, tick: int) -> int:
        """The second of the tick clock that ``tick`` falls in: ⌊(tick - 1) x tick_ms / 1000⌋.

        The order-rate limit counts per second of this clock, not of the
        wall: in the paced mode it is when the feed sends the tick, and in
        the asap mode, where no time passes, it is when a live feed would
        have, so the same run blocks the same orders on every runtime.
        """
        return int((tick - 1) * self.limits.tick_ms // 1000.0)

    def begin_decision(self, tick: int) -> None:
        """A new decision: nothing approved yet this tick; a new second of the tick clock resets the rate count."""
        self._resting = {}
        second = self.second_of(tick)
        if second != self._second:
            self._second, self._sent_this_second = second, {}

    def update_reducing(self, tick: int) -> Transition | None:
        """Which symbols are reduce-only now; ACTIVE <-> REDUCING as the set empties or fills.

        Judged after the tick's marks and fills, before its orders.  While
        HALTED nothing is judged (a resume lands on ACTIVE and is judged the
        same decision).
        """
        limits = self.limits
        if self.halted or not (limits.reduce_above_usd > 0 or limits.reduce_above_total_usd > 0):
            return None  # off: nothing to judge (and no sort of every symbol's notional per tick)
        over = frozenset(
            symbol for symbol, value in self._notional.items()
            if limits.reduce_above_usd > 0 and value > limits.reduce_above_usd
        )  # fmt: skip
        total = self.total_notional_usd() if limits.reduce_above_total_usd > 0 else 0.0
        self.reduce_all = limits.reduce_above_total_usd > 0 and total > limits.reduce_above_total_usd
        self.reduce_only = over
        if self.reduce_all or over:
            if self.reduce_all:
                reason = f"reduce-above-total-usd: {total:.2f} USD > {limits.reduce_above_total_usd:.2f} USD"
            else:
                first = min(over)
                reason = (
                    f"reduce-above-usd: {first} {self._notional[first]:.2f} USD > {limits.reduce_above_usd:.2f} USD"
                )
            return self.states.fire(Event.REDUCE, tick, reason)
        return self.states.fire(Event.CLEAR, tick, "every exposure is back below its reduce-above threshold")

    # ------------------------------------------------------------ pre-trade

    def check_order(self, symbol: str, side: Side, price_ticks: int, qty_lots: int) -> Decision:
        """Every check in a fixed order; the first that fails names the block, and its reason says why.

        HALTED blocks everything; then the fat-finger checks (price band,
        order size) that hold for any order; then, for an order that grows
        |position|, reduce-only and both exposure limits (for a reduce-only
        symbol an order that crosses zero counts as growing, however little:
        it opens a position the other way); then the resting and rate
        limits, which count what was approved.
        """
        kind = self._refusal(symbol, side, price_ticks, qty_lots)
        if not kind:
            return ALLOW
        return Decision(False, self._explain(kind, symbol, side, price_ticks, qty_lots), kind)

    def _refusal(self, symbol: str, side: Side, price_ticks: int, qty_lots: int) -> str:
        """The kind of the first check that refuses the order, "" if none does.

        Only a kind, no text: :meth:`approve_quotes` runs this for both sides
        of every symbol every tick and counts refusals by kind, so the reason
        is written (:meth:`_explain`) only for a caller that asks for it.
        """
        if self.states.state is _HALTED:
            return HALTED
        limits = self.limits
        if limits.price_band_bps > 0 or limits.max_order_usd > 0:
            kind = self._fat_finger(symbol, price_ticks, qty_lots)
            if kind:
                return kind
        position = self._positions.get(symbol, 0)
        projected = position + side * qty_lots
        reduce_only = self.reduce_all or symbol in self.reduce_only
        if abs(projected) > abs(position) or (projected * position < 0 and reduce_only):
            if reduce_only:
                return REDUCE_ONLY
            exposure = self._exposure(symbol, price_ticks, projected)
            if exposure > limits.max_inventory_usd:
                return MAX_INV
            if self._total_with(symbol, exposure) > limits.max_total_notional_usd:
                return MAX_TOTAL
        if limits.max_open_orders > 0 and self._resting.get(symbol, 0) >= limits.max_open_orders:
            return MAX_OPEN_ORDERS
        if limits.max_orders_per_sec > 0 and self._sent_this_second.get(symbol, 0) >= limits.max_orders_per_sec:
            return MAX_ORDERS_PER_SEC
        return ""

    def _explain(self, kind: str, symbol: str, side: Side, price_ticks: int, qty_lots: int) -> str:
        """The reason of a refusal of ``kind``, with the figures that made it (the state has not moved since)."""
        limits = self.limits
        projected = self._positions.get(symbol, 0) + int(side) * qty_lots
        if kind == HALTED:
            return "frozen"
        if kind == PRICE_BAND:
            away = self._away_bps(symbol, price_ticks)
            detail = f"{symbol} {away:.2f} BPS from the mid > {limits.price_band_bps:.2f} BPS"
        elif kind == MAX_ORDER_USD:
            size = self.instruments[symbol].notional_usd(price_ticks, qty_lots)
            detail = f"{symbol} {size:.2f} USD > {limits.max_order_usd:.2f} USD"
        elif kind == REDUCE_ONLY:
            detail = symbol
        elif kind == MAX_INV:
            exposure = self._exposure(symbol, price_ticks, projected)
            detail = f"{symbol} {exposure:.2f} USD > {limits.max_inventory_usd:.2f} USD"
        elif kind == MAX_TOTAL:
            total = self._total_with(symbol, self._exposure(symbol, price_ticks, projected))
            detail = f"{total:.2f} USD > {limits.max_total_notional_usd:.2f} USD"
        elif kind == MAX_OPEN_ORDERS:
            detail = f"{symbol} {limits.max_open_orders} resting"
        else:
            detail = f"{symbol} {limits.max_orders_per_sec} this second"
        return f"{kind}: {detail}"

    def _fat_finger(self, symbol: str, price_ticks: int, qty_lots: int) -> str:
        """The checks that hold for any order, a flattening one too: the price band, then the order size ("": pass)."""
        limits = self.limits
        if limits.price_band_bps > 0 and self._away_bps(symbol, price_ticks) > limits.price_band_bps:
            return PRICE_BAND
        size_limit = limits.max_order_usd
        if size_limit > 0 and self.instruments[symbol].notional_usd(price_ticks, qty_lots) > size_limit:
            return MAX_ORDER_USD
        return ""

    def _away_bps(self, symbol: str, price_ticks: int) -> float:
        """How far ``price_ticks`` is from the symbol's mid, in bps (0 before its first mark)."""
        mark = self.marks.get(symbol, price_ticks)
        return 1e4 * abs(price_ticks - mark) / mark if mark > 0 else 0.0

    def _exposure(self, symbol: str, price_ticks: int, projected: int) -> float:
        """|position| x mark once an order takes the position to ``projected`` lots (no mark yet: the order's price)."""
        return self.instruments[symbol].notional_usd(self.marks.get(symbol, price_ticks), projected)

    def _total_with(self, symbol: str, exposure: float) -> float:
        """The total notional with ``symbol``'s at ``exposure``."""
        return self._running_total - self.notional_usd(symbol) + exposure

    def _largest_order(self, symbol: str, price_ticks: int, lots: int) -> int:
        """``lots``, or fewer: the most that fit ``max_order_usd`` at ``price_ticks`` (0: not even one lot)."""
        limit = self.limits.max_order_usd
        instrument = self.instruments[symbol]
        if limit <= 0 or instrument.notional_usd(price_ticks, lots) <= limit:
            return lots
        one = instrument.notional_usd(price_ticks, 1)
        fit = min(lots, int(limit // one)) if one > 0 else lots
        while fit > 0 and instrument.notional_usd(price_ticks, fit) > limit:  # the float division's last bit
            fit -= 1
        return fit

    def approve_quotes(self, quotes: Mapping[str, QuoteSides]) -> tuple[list[tuple[str, Side, int, int]], int]:
        """Keep what rests and is wanted again, check what is new, in sorted symbol order.

        Each symbol's wanted levels (:func:`levels_of`) are compared with what
        rests of it (:attr:`resting`): a level equal to a resting order (side,
        price, lots left) keeps it, unchecked (:attr:`kept`); the resting
        orders no level wants are dropped (the store cancels them); each
        other level is a new order, and only those are checked.  Returns the
        approved new orders as (symbol, side, price ticks, lots) and the
        number of blocked levels, each counted by kind.  Sorted order makes
        the outcome of limits that compare symbols independent of the order
        quotes arrived in.
        """
        approved: list[tuple[str, Side, int, int]] = []
        kept: list[tuple[str, int]] = []
        self.kept = kept
        blocked = 0
        refusal = self._refusal
        counting = self.limits.max_open_orders > 0 or self.limits.max_orders_per_sec > 0
        resting_of, sides = self.resting, _SIDES
        for symbol in sorted(quotes):
            wanted: Sequence[LevelFields] = levels_of(quotes[symbol])
            resting = resting_of.pop(symbol, None)
            if resting:
                wanted = self._keep(symbol, wanted, resting)
            for side, price, lots in wanted:
                kind = refusal(symbol, sides[side], price, lots)
                if not kind:
                    approved.append((symbol, sides[side], price, lots))
                    if counting:
                        self._count_approved(symbol)
                else:
                    blocked += 1
                    self.count_blocks(kind)
        self.orders_kept += len(kept)
        return approved, blocked

    def _keep(self, symbol: str, wanted: Sequence[LevelFields], resting: list[Resting]) -> list[LevelFields]:
        """The resting orders of ``symbol`` wanted again stay (in :attr:`kept`); the levels left to place."""
        left: list[LevelFields] = []
        free = list(resting)
        staying: list[Resting] = []
        for level in wanted:
            for index, order in enumerate(free):
                if order.side == level[0] and order.price_ticks == level[1] and order.remaining_lots == level[2]:
                    staying.append(free.pop(index))
                    break
            else:
                left.append(level)
        for order in free:
            self._resting_symbol.pop(order.number, None)
        if staying:
            staying.sort(key=_number_of)
            self.resting[symbol] = staying
            self.kept.extend((symbol, order.number) for order in staying)
            if self.limits.max_open_orders > 0:
                self._resting[symbol] = self._resting.get(symbol, 0) + len(staying)
        if self.track_own and (free or left):
            self.own_changed.add(symbol)
        return left

    def flatten(
        self, tick: int, touches: Mapping[str, QuoteSides], *, confirmed: bool, last: bool
    ) -> tuple[list[str], list[tuple[str, Side, int, int]], int] | None:
        """While HALTED with ``flatten_on_halt``: the symbols to replace and the orders that flatten them.

        From the tick after the halt, once the cancels are confirmed (no
        order of ours is open), each symbol with a position gets one
        reduce-only order for all of it at the touch: a long sells at the
        bid its quoter would quote, a short buys at the ask.  Only the
        fat-finger checks apply (the resting and rate limits are for
        quoting, and count nothing here): an order above ``max_order_usd``
        is cut to the most that fits, so a large position is flattened in
        chunks over the window.  Each tick replaces the last tick's order with a
        new one for what is left; ``flatten_ticks`` after the halt (or at
        the run's ``last`` tick) the window closes and what is left of the
        orders is canceled.  Returns the symbols, the orders and the blocked
        ones' count; None: nothing to send.
        """
        if not (self.halted and self.limits.flatten_on_halt) or tick <= self.halted_at:
            return None
        if tick > self.halted_at + self.limits.flatten_ticks or last:
            if not self.flattening:
                return None
            symbols, self.flattening = sorted(self.flattening), set()
            return symbols, [], 0
        if not confirmed:
            return None
        orders: list[tuple[str, Side, int, int]] = []
        blocked = 0
        for symbol in sorted(touches):
            lots = self._positions.get(symbol, 0)
            if lots == 0:
                continue
            touch = touches[symbol]
            side, price = (Side.SELL, touch.bid_ticks) if lots > 0 else (Side.BUY, touch.ask_ticks)
            qty = self._largest_order(symbol, price, abs(lots)) or abs(lots)  # not even one lot fits: blocked below
            kind = self._fat_finger(symbol, price, qty)
            if not kind:
                orders.append((symbol, side, price, qty))
            else:
                blocked += 1
                self.count_blocks(kind)
        symbols = sorted(self.flattening | {symbol for symbol, *_ in orders})
        self.flattening = {symbol for symbol, *_ in orders}
        self.flatten_orders += len(orders)
        return (symbols, orders, blocked) if symbols or blocked else None

    def _count_approved(self, symbol: str) -> None:
        """For the resting and rate limits (nobody else reads these counts: with both off, none is called)."""
        self._resting[symbol] = self._resting.get(symbol, 0) + 1
        self._sent_this_second[symbol] = self._sent_this_second.get(symbol, 0) + 1

    def count_blocks(self, kind: str, count: int = 1) -> None:
        """Blocks of ``kind`` decided outside :meth:`check_order` (a blind decision) or carried over a crash."""
        if count:
            self.blocks_by_reason[kind] = self.blocks_by_reason.get(kind, 0) + count

    # ------------------------------------------------------------ post-trade

    def apply_fills(self, fills: Iterable[Execution]) -> None:
        """One decision's fills, in symbol order (each symbol's in the order given: the sort is stable).

        A symbol's fills all come from one store, but a sharded run has a
        store per shard: symbol order makes the float sums come out the same
        to the bit however the symbols are partitioned (docs/DESIGN.md, "Ids").
        Live, after a restart and in the baseline alike.
        """
        for fill in sorted(fills, key=_symbol_of):
            self.apply_fill(fill)

    def apply_fill(self, fill: Execution) -> None:
        """Position and edge from one fill, marked at the symbol's current mid."""
        instrument = self.instruments[fill.symbol]
        mark = self.marks.get(fill.symbol, fill.price_ticks)
        side = int(fill.side)
        self._positions[fill.symbol] = self._positions.get(fill.symbol, 0) + side * fill.qty_lots
        edge = side * instrument.edge_usd(mark, fill.price_ticks, fill.qty_lots)  # the same bits as side first
        volume = instrument.notional_usd(fill.price_ticks, fill.qty_lots)
        self._edge_usd += edge
        self._volume_usd += volume
        self._judged.add(edge, volume)
        self._window.append(fill)
        line = self._pnl.get(fill.symbol)
        if line is None:
            line = self._pnl[fill.symbol] = _line_of(instrument)
        line.apply(side * fill.qty_lots, instrument.price_usd(fill.price_ticks), instrument.lot_float)
        self.fills_applied += 1
        self._refresh_notional(fill.symbol)
        if self._resting_symbol:
            self._filled(client_number(fill.client_id), fill.qty_lots)
        if self.track_own:
            self._own(fill, side)

    def _filled(self, number: int, lots: int) -> None:
        """A resting order filled: fewer lots left, or gone."""
        symbol = self._resting_symbol.get(number)
        if symbol is None:
            return
        for order in self.resting[symbol]:
            if order.number == number:
                order.remaining_lots -= lots
                if order.remaining_lots <= 0:
                    self._drop(number)
                return

    def _own(self, fill: Execution, side: int) -> None:
        """The fill for the symbol's strategy: its fills since the last call, its average price in ticks."""
        symbol = fill.symbol
        self.own_changed.add(symbol)
        self._own_fills.setdefault(symbol, []).extend((side, fill.price_ticks, fill.qty_lots, fill.tick))
        line = self._avg.get(symbol)
        if line is None:
            line = self._avg[symbol] = PnlLine()
        line.apply(side * fill.qty_lots, float(fill.price_ticks), 1.0)

    def adopt_position(self, symbol: str, lots: int) -> int:
        """Take ``lots`` as the symbol's position, the venue's word, when no fill the engine knows explains it.

        The difference is booked as a trade at the current mark (no edge, no
        volume, no fill counted): the books then hold what the venue holds,
        and the PnL from here on is true.  Before the symbol's first mark (a
        real venue's start) it is booked at that mark.  Returns the lots
        adopted (signed).
        """
        difference = lots - self._positions.get(symbol, 0)
        if difference == 0:
            return 0
        self._positions[symbol] = lots
        if self.marks.get(symbol) is None:  # before the first tick (a real venue's start): booked at the first mark
            self._unbooked[symbol] = self._unbooked.get(symbol, 0) + difference
        else:
            self._book(symbol, difference)
        self._refresh_notional(symbol)
        return difference

    def _book(self, symbol: str, lots: int) -> None:
        """``lots`` adopted, booked in the symbol's books as a trade at its mark."""
        instrument = self.instruments[symbol]
        line = self._pnl.get(symbol)
        if line is None:
            line = self._pnl[symbol] = _line_of(instrument)
        line.apply(lots, instrument.price_usd(self.marks[symbol]), instrument.lot_float)

    def _book_adopted(self) -> None:
        """Positions adopted before their symbol had a mark, booked now that it has one."""
        for symbol in [s for s in self._unbooked if s in self.marks]:
            self._book(symbol, self._unbooked.pop(symbol))

    def pnl(self) -> dict[str, PnlLine]:
        """Each traded symbol's books (a copy), sorted by symbol."""
        return {s: copy(line) for s, line in sorted(self._pnl.items())}

    def realised_edge_bps(self) -> float | None:
        """Edge over every fill so far, None before the first."""
        if self._volume_usd <= 0:
            return None
        return 1e4 * self._edge_usd / self._volume_usd

    def evaluate_edge(self, tick: int = 0) -> str | None:
        """Halt (and return the reason) if the judged edge has fallen below the threshold.

        The judged edge is over every fill since the start or, after a
        resume, since the resume: the fills before the halt were judged
        already, and the same verdict on them again would halt at once.
        """
        judged = self._judged
        edge = judged.bps()
        limits = self.limits
        if self.halted or edge is None or judged.fills < limits.edge_min_fills:
            return None
        if edge >= limits.edge_freeze_threshold_bps:
            return None
        reason = edge_halt_reason(edge, limits.edge_freeze_threshold_bps)
        self.halt(reason, tick, kind=HaltKind.EDGE)
        return reason

    def halt(self, reason: str, tick: int = 0, *, kind: HaltKind) -> bool:
        """HALT; True only for the call that halted (later calls change nothing, but a final one makes it final).

        The halt may be lifted (``resume_after_ticks``) if its ``kind`` is
        resumable (:data:`actors.core._trading_state.RESUMABLE`: the edge, the
        one cause risk can see go away).  A final cause arriving during a
        resumable halt (an escalation, a reconciliation) makes the halt final.
        """
        resumable = kind.resumable and self.limits.resume_after_ticks > 0
        if self.halted:
            if self.halt_resumable and not resumable:
                self.make_final(tick, reason)
            return False
        self.states.fire(Event.HALT, tick, reason, kind)
        self.halts += 1
        self.halt_reason = reason
        self.halted_at = tick
        self.halt_resumable = resumable
        self.reduce_only, self.reduce_all = frozenset(), False
        self.pull_all()  # the halt's mass cancel takes every order
        return True

    def make_final(self, tick: int, reason: str) -> None:
        """A final cause during a resumable halt: no resume any more, and the reason is the final cause's.

        Kept in :attr:`finals` so that risk journals it: without it, a run
        resumed from its journal would see only the halt for edge, judge it
        resumable again and trade (docs/RELIABILITY.md, "Trading states").
        Also how a journaled one is replayed.
        """
        if not self.halted:
            raise ValueError(f"a halt made final at tick {tick} while {self.state.value}: {reason!r}")
        self.halt_resumable = False
        self.halt_reason = reason
        self.finals.append((tick, reason))

    def restore_transition(self, transition: Transition) -> None:
        """Replay a journaled move after a crash, with what the move changed live.

        A halt is resumable as it was live: by its kind (a journal holds the
        reason text alone: :func:`actors.core._trading_state.halt_kind`).
        """
        transition = self.states.restore(transition)
        if transition.target is TradingState.HALTED:
            self.pull_all()
            self.halts += 1
            self.halt_reason = transition.reason
            self.halted_at = transition.tick
            kind = transition.kind
            self.halt_resumable = self.limits.resume_after_ticks > 0 and kind is not None and kind.resumable
        elif transition.source is TradingState.HALTED:
            self.halt_resumable = False
            self._judged = _EdgeSum()

    def window_edge_bps(self) -> float | None:
        """The edge of the last ``edge_window_fills`` fills re-marked at the current mids: how they look now.

        Nothing trades while HALTED, so the edge as marked at fill time
        cannot come back; marked at today's mids it can, as the market
        moves back in the fills' favour.
        """
        judged = _EdgeSum()
        for fill in self._window:
            instrument = self.instruments[fill.symbol]
            mark = self.marks.get(fill.symbol, fill.price_ticks)
            side = int(fill.side)
            judged.add(side * instrument.edge_usd(mark, fill.price_ticks, fill.qty_lots),
                       instrument.notional_usd(fill.price_ticks, fill.qty_lots))  # fmt: skip
        return judged.bps()

    def resume_due(self, tick: int) -> str | None:
        """Lift a resumable halt ``resume_after_ticks`` after it if the re-marked window edge is back; the reason."""
        limits = self.limits
        if not (self.halted and self.halt_resumable) or tick < self.halted_at + limits.resume_after_ticks:
            return None
        edge = self.window_edge_bps()
        threshold = limits.edge_freeze_threshold_bps
        if edge is not None and edge < threshold:
            return None
        shown = "no fills" if edge is None else f"{edge:.2f} BPS >= {threshold:.2f} BPS"
        reason = f"Resume: edge over the last {len(self._window)} fills {shown}"
        self.states.fire(Event.RESUME, tick, reason)
        self.halt_resumable = False
        self._judged = _EdgeSum()
        self.flattening = set()  # trading again: the cancel/replace of every quoted symbol replaces them
        return reason

    def _refresh_notional(self, symbol: str) -> None:
        lots = self._positions.get(symbol, 0)
        mark = self.marks.get(symbol)
        value = 0.0 if mark is None or lots == 0 else self.instruments[symbol].notional_usd(mark, lots)
        self._running_total += value - self._notional.get(symbol, 0.0)
        if value:
            self._notional[symbol] = value
        else:
            self._notional.pop(symbol, None)


class _EdgeSum:
    """Edge and volume (USD) summed over some fills."""

    __slots__ = ("edge_usd", "volume_usd", "fills")

    def __init__(self) -> None:
        self.edge_usd = 0.0
        self.volume_usd = 0.0
        self.fills = 0

    def add(self, edge_usd: float, volume_usd: float) -> None:
        self.edge_usd += edge_usd
        self.volume_usd += volume_usd
        self.fills += 1

    def bps(self) -> float | None:
        return None if self.volume_usd <= 0 else 1e4 * self.edge_usd / self.volume_usd


def _symbol_of(fill: Execution) -> str:
    return fill.symbol


def _number_of(order: Resting) -> int:
    return order.number


_SIDES = {1: BUY, -1: SELL}
"""A level's side as risk's :class:`Side`, looked up (the wire's int as it came)."""


def _line_of(instrument: Instrument) -> PnlLine:
    """A symbol's books: in USD, or in the base coin for an inverse contract."""
    return InverseLine() if instrument.inverse else PnlLine()
