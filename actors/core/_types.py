"""Small value types shared by every core module.

Money never travels as a binary float: prices are integer *ticks* and
quantities integer *lots* of an :class:`Instrument`.  Floats appear only in
derived risk figures (USD notionals, edge in bps), always computed in a fixed
order so that they are reproducible to the bit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal


class Side(enum.IntEnum):
    """Order side; the value is the sign of the position change."""

    BUY = 1
    SELL = -1


class OrderState(enum.Enum):
    """Life-cycle states of an order (see ``actors.core._orders``).

    Hashed by identity: members are singletons, and ``Enum.__hash__`` (a
    Python-level ``hash(self._name_)``) showed up in profiles of the order
    store, which hashes states for counts and legality checks on every
    transition.  Nothing iterates a set of states, so no order depends on it.
    """

    __hash__ = object.__hash__

    PENDING = "PENDING"
    OPEN = "OPEN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"

    @property
    def is_terminal(self) -> bool:
        """True for states an order never leaves."""
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """True while the order may still trade (or still awaits its ack)."""
        return not self.is_terminal


_TERMINAL = frozenset({OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED})


SPOT, LINEAR, INVERSE = "spot", "linear", "inverse"
KINDS = (SPOT, LINEAR, INVERSE)
"""How a venue defines an instrument (:class:`Instrument`'s ``kind``)."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol with its price tick and quantity lot, and what one unit of quantity is.

    ``kind`` (docs/EXECUTION.md, "Instruments"):

    - ``spot``: a quantity is base coin, worth quantity x price USD;
    - ``linear`` (a USD-margined perpetual such as Binance USDⓈ-M): a quantity
      is contracts of ``contract_size`` base coin each, worth quantity x
      contract_size x price USD, and its PnL is in USD;
    - ``inverse`` (BitMEX XBTUSD, Binance COIN-M ``BTCUSD_PERP``): a quantity
      is contracts of ``contract_size`` USD each, worth quantity x
      contract_size USD whatever the price, and its PnL is in the base coin:
      a long of N contracts from price A to B makes N x contract_size x
      (1/A - 1/B) coin (:class:`actors.core._pnl.InverseLine`).

    Spot and linear share every formula (contract_size 1 makes them the
    same figures to the bit).
    """

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    start_price: Decimal
    kind: str = SPOT
    contract_size: Decimal = Decimal(1)
    _tick_usd: float = field(init=False, repr=False, compare=False)
    _lot: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """The sizes as floats, once: risk's arithmetic asks for them for every order side of every tick."""
        if self.kind not in KINDS:
            raise ValueError(f"{self.symbol}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        object.__setattr__(self, "_tick_usd", float(self.tick_size))
        object.__setattr__(self, "_lot", float(self.lot_size * self.contract_size))

    @property
    def inverse(self) -> bool:
        """True for an inverse contract: notional in USD by the contract, PnL in the base coin."""
        return self.kind == INVERSE

    def to_ticks(self, price: Decimal) -> int:
        """Round a decimal price to the nearest whole tick."""
        return int((price / self.tick_size).to_integral_value())

    def price(self, ticks: int) -> Decimal:
        """The exact decimal price of ``ticks``."""
        return self.tick_size * ticks

    def quantity(self, lots: int) -> Decimal:
        """The exact decimal quantity of ``lots`` (contracts for a linear or inverse contract)."""
        return self.lot_size * lots

    def price_usd(self, ticks: int) -> float:
        """Price as a float, for risk arithmetic only."""
        return self._tick_usd * ticks

    @property
    def lot_float(self) -> float:
        """What one lot is, as a float, for risk arithmetic only: base coin (spot, linear), or USD (inverse)."""
        return self._lot

    def notional_usd(self, ticks: int, lots: int) -> float:
        """|lots| x price in USD (inverse: |lots| x contract value, whatever the price), for risk arithmetic only."""
        if self.kind == INVERSE:
            return self._lot * abs(lots)
        return self._tick_usd * ticks * self._lot * abs(lots)

    def lot_value_usd(self, ticks: int) -> float:
        """What one lot is worth at ``ticks`` in USD: the quoting rule's divisor."""
        if self.kind == INVERSE:
            return self._lot
        return self._tick_usd * ticks * self._lot

    def edge_usd(self, mark_ticks: int, price_ticks: int, lots: int) -> float:
        """What a buy of ``lots`` at ``price_ticks`` gained against ``mark_ticks``, in USD at the mark (a sell: minus).

        Linear: (mark - price) x quantity.  Inverse: the coin gained,
        lots x value x (1/price - 1/mark), times the mark: lots x value x
        (mark - price) / price.
        """
        if self.kind == INVERSE:
            return (
                (self._tick_usd * mark_ticks - self._tick_usd * price_ticks)
                * (self._lot / (self._tick_usd * price_ticks))
                * lots
            )
        return (self._tick_usd * mark_ticks - self._tick_usd * price_ticks) * self._lot * lots


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution reported by the exchange.

    ``fill_id`` is unique per execution: a fill delivered twice carries the
    same id and must be applied once.
    """

    fill_id: str
    exchange_order_id: str
    client_id: str
    symbol: str
    side: Side
    price_ticks: int
    qty_lots: int
    tick: int

    def to_fill(self) -> Fill:
        """Itself: a core fill is read where a reported one is (``actors.core._store.Traded``), with no copy.

        The synchronous baseline hands the gateway core's fills to the store
        core as they are, where the actors decode the wire's items.
        """
        return self
