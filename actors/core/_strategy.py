"""Strategies: what a quoter asks, tick by tick, for the quotes of one symbol.

A strategy is a class with one method, :meth:`Strategy.quote`: given one
:class:`StrategyInput` per tick (the market as of the tick, its symbol's
position and fills, its resting orders, the tick and the market time, its
instrument and its parameters) it returns the :class:`Quotes` it wants, in
ticks and lots: any number of levels a side, or none.  The engine builds one
instance per symbol and calls it from that symbol's quoter only, so an
instance may keep state between ticks (a volatility estimate) and needs no
lock.  It must stay pure: no I/O, no clock of its own (the tick and the market
time are in the input), no threads, no randomness but a seeded one; then a run
gives the same bytes on every runtime and shard count (docs/STRATEGIES.md).

What the engine gives today (as of this module; docs/STRATEGIES.md, "What a
strategy sees"):

* ``market``: the feed's tick.  On a recorded market: the mid, the last
  two-sided top of book with sizes, the bucket's trades and, on depth data,
  the book's levels beyond the best (``--market-levels``); on a synthetic
  market the mid alone (``bid_ticks == ask_ticks == mid_ticks``, sizes 0, no
  trades, no levels).
* ``position_lots``, ``avg_price_ticks``, ``resting`` and ``fills``: as of
  risk's decision of tick ``tick - ticks_in_flight`` (the decision whose
  report lets the feed send ``tick``): the position after the fills that
  decision applied, its average price, the orders it left resting (kept or
  placed), and the fills applied since the last call; 0, 0.0 and empty for
  the first ``ticks_in_flight`` ticks.  The same on every runtime and shard
  count.  Carried only for a strategy that reads them
  (:attr:`Strategy.READS_OWN_STATE`).  The test kit
  (:mod:`actors.testing._strategy_harness`) gives whatever its script says.

A strategy that raises is a failed handler of its quoter, supervised like any
(:mod:`actors.roles._supervision`); quotes that make no sense are blocked by
:func:`check_quotes`, each block counted by its reason.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import ClassVar

from actors.core._quoting import QuotingPolicy
from actors.core._types import Instrument

ParamValue = float | int | bool | str
"""What a strategy parameter may hold."""


# ------------------------------------------------------------ what a strategy is given


@dataclass(frozen=True, slots=True)
class Trade:
    """A trade in the market during the tick's bucket: price, size, and the aggressor (+1 buy, -1 sell, 0 unknown)."""

    price_ticks: int
    lots: int
    aggressor: int = 0


@dataclass(frozen=True, slots=True)
class BookLevel:
    """One price level of the book: price and the size resting there."""

    price_ticks: int
    lots: int


@dataclass(frozen=True, slots=True)
class MarketView:
    """The market as of the tick: the best bid and ask with their sizes, the bucket's trades, and the depth.

    ``bids`` and ``asks`` are the book's levels beyond the best, best first,
    where the market has depth (recorded depth data; else empty).  A market that gives a
    mid only has ``bid_ticks == ask_ticks == mid_ticks`` and sizes 0.
    """

    mid_ticks: int
    bid_ticks: int
    bid_lots: int
    ask_ticks: int
    ask_lots: int
    trades: tuple[Trade, ...] = ()
    bids: tuple[BookLevel, ...] = ()
    asks: tuple[BookLevel, ...] = ()

    @classmethod
    def from_mid(cls, mid_ticks: int) -> MarketView:
        """A market known by its mid alone: bid = ask = mid, sizes 0, no trades, no depth."""
        return cls(mid_ticks, mid_ticks, 0, mid_ticks, 0)


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """One of the symbol's own orders resting at the venue: side (+1 buy, -1 sell), price, size left."""

    side: int
    price_ticks: int
    remaining_lots: int


@dataclass(frozen=True, slots=True)
class StrategyFill:
    """One fill of the symbol's own orders: side (+1 bought, -1 sold), price, size, and the tick it came in."""

    side: int
    price_ticks: int
    lots: int
    tick: int


@dataclass(frozen=True, slots=True)
class StrategyInput:
    """Everything a strategy is given at one tick, for its one symbol.

    ``position_lots``, ``avg_price_ticks``, ``resting`` and ``fills`` are as
    of risk's decision of tick ``tick - ticks_in_flight`` (0, 0.0 and empty
    before it: the first ``ticks_in_flight`` ticks), the same on every
    runtime and shard count (docs/STRATEGIES.md, "as of when").
    ``elapsed_ms`` is market time: tick ``t`` is ``(t - 1) * tick_ms`` after
    the run's first tick (with a recorded market a tick is one time bucket),
    never a wall clock.
    """

    tick: int
    elapsed_ms: float
    instrument: Instrument
    market: MarketView
    params: Mapping[str, ParamValue]
    position_lots: int = 0
    avg_price_ticks: float = 0.0
    """The average price of the open position, in ticks (0.0 when flat)."""
    resting: tuple[RestingOrder, ...] = ()
    """The orders that decision left resting (kept, or placed by it), with the lots left."""
    fills: tuple[StrategyFill, ...] = ()
    """The symbol's fills applied by risk's decisions since the last call."""

    @property
    def symbol(self) -> str:
        """The instrument's symbol."""
        return self.instrument.symbol


# ------------------------------------------------------------ what a strategy returns


@dataclass(frozen=True, slots=True)
class Level:
    """One quote level: a price in ticks and a size in lots."""

    price_ticks: int
    lots: int


@dataclass(frozen=True, slots=True)
class Quotes:
    """The quotes a strategy wants: bid levels best (highest) first, ask levels best (lowest) first; either may be
    empty."""

    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()

    @classmethod
    def two_sided(cls, bid_ticks: int, bid_lots: int, ask_ticks: int, ask_lots: int) -> Quotes:
        """One level a side (a side with 0 lots is left out)."""
        bids = (Level(bid_ticks, bid_lots),) if bid_lots else ()
        asks = (Level(ask_ticks, ask_lots),) if ask_lots else ()
        return cls(bids, asks)


NONE = Quotes()
"""No quote at all."""


# ------------------------------------------------------------ parameters


def _number(value: object) -> float:
    """A float from a number (or a flag's text); booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _whole(value: object) -> int:
    """An int from an integer (or a flag's text); a fraction is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"expected an integer, got {value!r}") from None


def _flag(value: object) -> bool:
    """A bool from true/false (or a flag's text: 1, yes, on ...)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _word(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value


_PARSERS: dict[type, Callable[[object], ParamValue]] = {float: _number, int: _whole, bool: _flag, str: _word}


@dataclass(frozen=True)
class Param:
    """One parameter a strategy declares: its name, type, default, bounds and what it is for."""

    name: str
    kind: type
    default: ParamValue
    help: str
    low: float | None = None
    """The least value allowed (inclusive)."""
    above: float | None = None
    """A value must be greater than this."""
    high: float | None = None
    """The greatest value allowed (inclusive)."""

    def parse(self, value: object) -> ParamValue:
        """``value`` checked and converted (text from a flag, or a typed value from a file or Python)."""
        parsed = _PARSERS[self.kind](value)
        if isinstance(parsed, (int, float)) and not isinstance(parsed, bool):
            if self.low is not None and parsed < self.low:
                raise ValueError(f"expected a number >= {self.low:g}, got {value!r}")
            if self.above is not None and not parsed > self.above:
                raise ValueError(f"expected a number > {self.above:g}, got {value!r}")
            if self.high is not None and parsed > self.high:
                raise ValueError(f"expected a number <= {self.high:g}, got {value!r}")
        return parsed


COMMON_FROM_CONFIG = ("spread_bps", "quote_notional_usd")
"""Parameters whose default is the run's setting of the same name (``--spread-bps``, ``--quote-notional-usd``)."""

SPREAD = Param("spread_bps", float, 10.0, "full quoted spread around the mid, in bps (default: --spread-bps)", above=0)
NOTIONAL = Param(
    "quote_notional_usd", float, 1000.0, "USD size of each side (default: --quote-notional-usd)", above=0, high=1e9
)


# ------------------------------------------------------------ the interface


class Strategy(ABC):
    """The base of every strategy: one instance per symbol, its parameters declared in :attr:`PARAMS`.

    Subclass it, declare :attr:`PARAMS`, and write :meth:`quote`.  The engine
    builds each instance as ``cls(instrument, params)`` with every declared
    parameter present (defaults filled in, values checked), and calls
    :meth:`quote` once per tick, in tick order.
    """

    name: ClassVar[str] = ""
    """The name ``--strategy`` knows a built-in by (a user strategy is named by ``module:Class``)."""
    PARAMS: ClassVar[tuple[Param, ...]] = ()
    READS_OWN_STATE: ClassVar[bool] = True
    """Whether :meth:`quote` reads ``position_lots``, ``avg_price_ticks``, ``resting`` or ``fills``.  Only a
    class that writes :meth:`quote` itself says it (:func:`reads_own_state`): a subclass that writes its own reads
    them unless it says otherwise.  When no strategy of a run reads them, the engine does not carry them (they
    are 0 and empty)."""

    def __init__(self, instrument: Instrument, params: Mapping[str, ParamValue]) -> None:
        self.instrument = instrument
        self.params = dict(params)

    @abstractmethod
    def quote(self, state: StrategyInput) -> Quotes:
        """The quotes wanted at ``state.tick``; :data:`NONE` for none."""

    @classmethod
    def defaults(cls) -> dict[str, ParamValue]:
        """Every declared parameter at its default."""
        return {param.name: param.default for param in cls.PARAMS}


def reads_own_state(cls: type[Strategy]) -> bool:
    """:attr:`Strategy.READS_OWN_STATE` as said by the class that wrote ``quote`` (True if it said nothing)."""
    for klass in cls.__mro__:
        if "quote" in vars(klass):
            return bool(vars(klass).get("READS_OWN_STATE", True))
    return True


def base_lots(instrument: Instrument, mid_ticks: int, notional_usd: float) -> int:
    """Lots worth ``notional_usd`` at the mid, at least one (the symmetric rule's size)."""
    price = instrument.lot_value_usd(mid_ticks)  # an inverse contract's lot is worth its USD value at any price
    return max(1, round(notional_usd / price)) if price > 0 else 1


class Symmetric(Strategy):
    """Today's rule, the default: a bid and an ask ``spread_bps`` apart around the mid, ``quote_notional_usd`` each.

    ``half = max(1, ceil(mid * spread_bps / 2e4))`` ticks; bid ``max(1, mid -
    half)``, ask ``mid + half``; lots ``max(1, round(quote_notional_usd /
    (price_usd(mid) * lot)))`` (:class:`actors.core._quoting.QuotingPolicy`, whose
    arithmetic this is, to the bit).
    """

    name = "symmetric"
    PARAMS = (SPREAD, NOTIONAL)
    READS_OWN_STATE = False

    def __init__(self, instrument: Instrument, params: Mapping[str, ParamValue]) -> None:
        super().__init__(instrument, params)
        self.policy = QuotingPolicy(float(self.params["spread_bps"]), float(self.params["quote_notional_usd"]))

    def quote(self, state: StrategyInput) -> Quotes:
        """The symmetric quote around the market's mid."""
        quote = self.policy.quote(self.instrument, state.market.mid_ticks)
        return Quotes((Level(quote.bid_ticks, quote.bid_lots),), (Level(quote.ask_ticks, quote.ask_lots),))


class InventorySkew(Strategy):
    """The symmetric quote shifted against the position, with the side that adds to it cut as the limit nears.

    With ``u = clamp(position_usd / max_position_usd, -1, 1)`` (position_usd:
    the position's lots x lot x the mid's USD price, signed)::

        center = round(mid * (1 - skew_bps * u / 1e4))        # long: lower, to sell more and buy less
        half   = max(1, ceil(mid * spread_bps / 2e4))
        bid    = max(1, center - half),  ask = center + half
        bid_lots = round(lots * (1 - max(u, 0)))               # long: fewer to buy; 0 at the limit (no bid)
        ask_lots = round(lots * (1 + min(u, 0)))               # short: fewer to sell; 0 at the limit (no ask)

    ``lots`` is the symmetric rule's size (:func:`base_lots`); rounding is
    Python's (halves to even).  Flat, it quotes exactly as ``symmetric``.
    """

    name = "inventory-skew"
    PARAMS = (
        SPREAD,
        NOTIONAL,
        Param("max_position_usd", float, 10_000.0, "the |position| x mid the skew and the size cut reach full at, USD",
              above=0),
        Param("skew_bps", float, 10.0, "how far the quote's center moves at a full position, bps of the mid", low=0),
    )  # fmt: skip

    def quote(self, state: StrategyInput) -> Quotes:
        """The skewed quote (see the class)."""
        params, instrument = self.params, self.instrument
        mid = state.market.mid_ticks
        lots = base_lots(instrument, mid, float(params["quote_notional_usd"]))
        u = skew_fraction(instrument, mid, state.position_lots, float(params["max_position_usd"]))
        center = round(mid * (1 - float(params["skew_bps"]) * u / 1e4))
        half = max(1, math.ceil(mid * float(params["spread_bps"]) / 2e4))
        bid_lots = round(lots * (1 - max(u, 0.0)))
        ask_lots = round(lots * (1 + min(u, 0.0)))
        return Quotes.two_sided(max(1, center - half), bid_lots, center + half, ask_lots)


def skew_fraction(instrument: Instrument, mid_ticks: int, position_lots: int, max_position_usd: float) -> float:
    """``clamp(position_usd / max_position_usd, -1, 1)``: how full the position is, signed."""
    position_usd = position_lots * instrument.lot_float
    if not instrument.inverse:  # an inverse contract's lot is USD already
        position_usd *= instrument.price_usd(mid_ticks)
    return max(-1.0, min(1.0, position_usd / max_position_usd))


@dataclass
class Ewma:
    """An exponentially weighted mean over about ``window`` samples: ``mean += alpha * (x - mean)``,
    ``alpha = 2 / (window + 1)``; the first sample is the mean."""

    window: int
    mean: float = 0.0
    samples: int = 0
    alpha: float = field(init=False)

    def __post_init__(self) -> None:
        self.alpha = 2.0 / (self.window + 1)

    def add(self, value: float) -> float:
        """Take one sample; the mean after it."""
        self.samples += 1
        self.mean = value if self.samples == 1 else self.mean + self.alpha * (value - self.mean)
        return self.mean


class AvellanedaStoikov(Strategy):
    """Reservation price and optimal spread from Avellaneda & Stoikov (2008), "High-frequency trading in a limit
    order book", Quantitative Finance 8(3).

    In the paper's notation, with ``s`` the mid, ``q`` the inventory,
    ``gamma`` the risk aversion, ``sigma`` the volatility, ``kappa`` the
    decay of the order-arrival intensity ``lambda(delta) = A exp(-kappa
    delta)`` and ``T - t`` the time left::

        r     = s - q * gamma * sigma**2 * (T - t)                       # reservation price (eq. 29)
        delta = gamma * sigma**2 * (T - t) + (2 / gamma) * ln(1 + gamma / kappa)   # total spread (eq. 30)
        bid   = floor(r - delta / 2),  ask = ceil(r + delta / 2)        # in whole ticks, bid at least 1

    Units: prices in ticks, time in ticks; ``q`` is the position in units of
    the quote's size (position lots / :func:`base_lots`), so ``gamma`` does
    not depend on the lot size; ``T - t`` is held at ``horizon_ticks`` (a
    rolling horizon: an engine that runs on has no end of day).  ``sigma``
    (ticks per square-root tick) is given, or, at 0, estimated online as the
    square root of an EWMA of the squared mid changes over ``sigma_window``
    ticks.  ``kappa`` (per tick of price) is given, or, at 0, estimated
    online from the market's trades: the distance of a trade from the mid is
    exponential with rate ``kappa`` under the paper's intensity, whose
    maximum-likelihood estimate is ``1 / mean distance`` (an EWMA over
    ``kappa_window`` trades); until a trade is seen, the second term is the
    mid x ``spread_bps`` / 1e4 instead.  Sizes are the symmetric rule's.
    """

    name = "avellaneda-stoikov"
    PARAMS = (
        SPREAD,
        NOTIONAL,
        Param("gamma", float, 0.1, "risk aversion (> 0)", above=0),
        Param("sigma", float, 0.0, "volatility in ticks per sqrt(tick); 0 = estimated online from the mids", low=0),
        Param("kappa", float, 0.0, "order-arrival intensity decay per tick of price; 0 = estimated from the trades",
              low=0),
        Param("horizon_ticks", int, 100, "the time left, T - t, held constant (a rolling horizon), ticks", low=1),
        Param("sigma_window", int, 50, "ticks the online volatility averages over", low=1),
        Param("kappa_window", int, 200, "trades the online intensity averages over", low=1),
    )  # fmt: skip

    def __init__(self, instrument: Instrument, params: Mapping[str, ParamValue]) -> None:
        super().__init__(instrument, params)
        self.variance = Ewma(int(self.params["sigma_window"]))
        self.distance = Ewma(int(self.params["kappa_window"]))
        self.last_mid: int | None = None

    def sigma(self, mid_ticks: int) -> float:
        """The volatility to use: given, or the online estimate after this mid."""
        given = float(self.params["sigma"])
        if self.last_mid is not None:
            self.variance.add(float(mid_ticks - self.last_mid) ** 2)
        self.last_mid = mid_ticks
        return given if given > 0 else math.sqrt(self.variance.mean)

    def kappa(self, state: StrategyInput) -> float | None:
        """The intensity decay to use: given, or the online estimate after this tick's trades (None: no trade yet)."""
        mid = state.market.mid_ticks
        for trade in state.market.trades:
            self.distance.add(abs(trade.price_ticks - mid))
        given = float(self.params["kappa"])
        if given > 0:
            return given
        if self.distance.samples == 0:
            return None
        return 1.0 / max(self.distance.mean, 0.5)  # trades at the mid itself: at most 2 per tick

    def quote(self, state: StrategyInput) -> Quotes:
        """The reservation price and the optimal spread (see the class), one level a side."""
        params, instrument = self.params, self.instrument
        mid = state.market.mid_ticks
        sigma, kappa = self.sigma(mid), self.kappa(state)
        lots = base_lots(instrument, mid, float(params["quote_notional_usd"]))
        gamma, horizon = float(params["gamma"]), float(params["horizon_ticks"])
        q = state.position_lots / lots
        fallback = mid * float(params["spread_bps"]) / 1e4
        bid, ask = as_quote(mid, q, gamma=gamma, sigma=sigma, time_left=horizon, kappa=kappa, fallback_spread=fallback)
        return Quotes((Level(bid, lots),), (Level(ask, lots),))


def as_quote(
    mid: float, q: float, *, gamma: float, sigma: float, time_left: float, kappa: float | None, fallback_spread: float
) -> tuple[int, int]:
    """Bid and ask in whole ticks from Avellaneda-Stoikov's reservation price and spread (:class:`AvellanedaStoikov`).

    ``kappa`` None: the liquidity term is ``fallback_spread`` (ticks).
    """
    risk = gamma * sigma * sigma * time_left
    reservation = mid - q * risk
    liquidity = fallback_spread if kappa is None else (2.0 / gamma) * math.log1p(gamma / kappa)
    spread = risk + liquidity
    return max(1, math.floor(reservation - spread / 2)), max(2, math.ceil(reservation + spread / 2))


BUILTINS: dict[str, type[Strategy]] = {cls.name: cls for cls in (Symmetric, InventorySkew, AvellanedaStoikov)}
"""The built-in strategies by name; ``symmetric`` is the default."""
DEFAULT = Symmetric.name


# ------------------------------------------------------------ nonsense


MAX_LEVELS = 10
"""Levels a side the engine carries to risk by default (a quoter's ``max_levels``); more is blocked."""

NOT_QUOTES = "not-quotes"
BAD_PRICE = "bad-price"
BAD_SIZE = "bad-size"
CROSSED = "crossed"
TOO_MANY_LEVELS = "too-many-levels"
RAISED = "raised"
BLOCK_REASONS = (NOT_QUOTES, BAD_PRICE, BAD_SIZE, CROSSED, TOO_MANY_LEVELS, RAISED)
"""Why a strategy's quotes were blocked, as a quoter counts them (``raised``: the strategy raised; its quotes are
pulled for the tick)."""


def _whole_positive(value: object) -> bool:
    """A positive int (a float, NaN, a bool, anything else: not)."""
    return type(value) is int and value > 0


def check_quotes(quotes: object, max_levels: int = MAX_LEVELS) -> str:
    """Why ``quotes`` cannot be sent ("" if they can): one of :data:`BLOCK_REASONS`.

    Not a :class:`Quotes` of :class:`Level` s; a price that is not a positive
    whole number of ticks (NaN, 0, a float); a size that is not a positive
    whole number of lots; more than ``max_levels`` a side; levels out of
    order (bids falling, asks rising) or a best bid at or above the best ask.
    """
    if type(quotes) is not Quotes or type(quotes.bids) is not tuple or type(quotes.asks) is not tuple:
        return NOT_QUOTES
    bids, asks = quotes.bids, quotes.asks
    if len(bids) == 1 and len(asks) == 1 and max_levels >= 1:  # the usual shape, checked in one go (every tick)
        bid, ask = bids[0], asks[0]
        if type(bid) is Level and type(ask) is Level:
            bid_price, ask_price = bid.price_ticks, ask.price_ticks
            if type(bid_price) is int and type(ask_price) is int and bid_price > 0 and ask_price > bid_price:
                bid_lots, ask_lots = bid.lots, ask.lots
                if type(bid_lots) is int and type(ask_lots) is int and bid_lots > 0 and ask_lots > 0:
                    return ""
    return _check_levels(bids, asks, max_levels)


def _check_levels(bids: tuple[Level, ...], asks: tuple[Level, ...], max_levels: int) -> str:
    """:func:`check_quotes` for any shape, each rule in turn (the first broken one names the reason)."""
    if any(type(level) is not Level for level in (*bids, *asks)):
        return NOT_QUOTES
    if not all(_whole_positive(level.price_ticks) for level in (*bids, *asks)):
        return BAD_PRICE
    if not all(_whole_positive(level.lots) for level in (*bids, *asks)):
        return BAD_SIZE
    if len(bids) > max_levels or len(asks) > max_levels:
        return TOO_MANY_LEVELS
    ordered = all(a.price_ticks > b.price_ticks for a, b in pairwise(bids)) and all(
        a.price_ticks < b.price_ticks for a, b in pairwise(asks)
    )
    if not ordered or (bids and asks and bids[0].price_ticks >= asks[0].price_ticks):
        return CROSSED
    return ""
