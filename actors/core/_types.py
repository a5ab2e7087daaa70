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


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol with its price tick and quantity lot."""

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    start_price: Decimal
    _tick_usd: float = field(init=False, repr=False, compare=False)
    _lot: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """The sizes as floats, once: risk's arithmetic asks for them for every order side of every tick."""
        object.__setattr__(self, "_tick_usd", float(self.tick_size))
        object.__setattr__(self, "_lot", float(self.lot_size))

    def to_ticks(self, price: Decimal) -> int:
        """Round a decimal price to the nearest whole tick."""
        return int((price / self.tick_size).to_integral_value())

    def price(self, ticks: int) -> Decimal:
        """The exact decimal price of ``ticks``."""
        return self.tick_size * ticks

    def quantity(self, lots: int) -> Decimal:
        """The exact decimal quantity of ``lots``."""
        return self.lot_size * lots

    def price_usd(self, ticks: int) -> float:
        """Price as a float, for risk arithmetic only."""
        return self._tick_usd * ticks

    @property
    def lot_float(self) -> float:
        """The lot size as a float, for risk arithmetic only."""
        return self._lot

    def notional_usd(self, ticks: int, lots: int) -> float:
        """|lots| x price in USD, for risk arithmetic only."""
        return self._tick_usd * ticks * self._lot * abs(lots)


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
