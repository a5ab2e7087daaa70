"""What the engine says to a venue and what a venue answers: the records of the venue interface.

They are the engine's vocabulary, not any venue's: the gateway's core
(pure) decides with them, and every venue (:mod:`actors.venues`) speaks
them.  Ids: :func:`derived_exchange_id` and :func:`fill_id` say how a
venue that follows the engine's convention names orders and fills
(:mod:`actors.venues._simulated` explains why ids depend on client ids alone).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from actors.core._types import Side


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    """A new limit order."""

    client_id: str
    symbol: str
    side: Side
    price_ticks: int
    qty_lots: int
    reduce_only: bool = False
    """Only to bring the position toward zero: a venue that has positions refuses it otherwise (USDⓈ-M's
    ``reduceOnly``); a simulated venue and spot ignore it."""


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """The venue's answer to a placement."""

    client_id: str
    accepted: bool
    exchange_order_id: str | None
    reason: str = ""


class CancelOutcome(enum.Enum):
    """What a cancel came to: the engine decides on this, never on the words a venue chose.

    Each value is the text the engine writes for the outcome: the store's
    journal and the report's event log carry answers as ``(ok, reason)``
    texts, so :meth:`read` gives the outcome back from them, and a journal
    written before the enum existed reads the same.  What each outcome does
    to an order is decided in :data:`actors.core._lifecycle.CANCEL_ANSWERS`.
    """

    __hash__ = object.__hash__  # members are singletons; the table is looked up per answer

    CANCELED = "canceled"
    """The venue canceled it now."""
    ALREADY_CANCELED = "already canceled"
    """Refused: the order was canceled before (so it is canceled for us too)."""
    UNKNOWN_ORDER = "unknown order"
    """Refused: the venue holds nothing under that id (never there, or forgotten)."""
    NOT_OPEN_AT_VENUE = "not open at the venue after the mass cancel"
    """The store's own answer for an order a freeze's mass cancel left nowhere open."""
    ALREADY_FILLED = "already filled"
    """Refused: the order traded out; its fills close it."""
    REFUSED = "refused"
    """Refused for any other reason the venue gave."""
    FAILED = "failed"
    """No answer: the call failed in transport (:class:`ExchangeError`) and may or may not have taken effect."""

    @classmethod
    def read(cls, ok: bool, reason: str) -> CancelOutcome:
        """The outcome an answer written as ``(ok, reason)`` stands for; a text the engine never wrote is REFUSED."""
        return _CANCELED if ok else _REFUSAL_OF_TEXT.get(reason, _REFUSED)

    @property
    def ends_order(self) -> bool:
        """Whether the venue holds nothing live under the order any more (it is CANCELED for the engine too)."""
        return self in _ENDS_ORDER

    def text(self, said: str) -> str:
        """The reason this outcome is written with: the venue's own words ``said`` where they read back as an
        outcome that decides the same (:meth:`read`), else this outcome's text."""
        if said and CancelOutcome.read(False, said).ends_order is self.ends_order:
            return said
        return self.value


_CANCELED, _REFUSED = CancelOutcome.CANCELED, CancelOutcome.REFUSED  # looked up per answer: plain names are cheaper
_REFUSAL_OF_TEXT = {outcome.value: outcome for outcome in CancelOutcome if outcome is not _CANCELED}
_ENDS_ORDER = frozenset({CancelOutcome.CANCELED, CancelOutcome.ALREADY_CANCELED, CancelOutcome.UNKNOWN_ORDER,
                         CancelOutcome.NOT_OPEN_AT_VENUE})  # fmt: skip


@dataclass(frozen=True, slots=True)
class CancelResult:
    """The venue's answer to a cancel.

    ``reason`` is the venue's own words, for logs and reports; ``outcome``
    what the engine decides on.  A venue that leaves ``outcome`` out is read
    from ``ok`` and ``reason`` (:meth:`CancelOutcome.read`), as before the enum.
    """

    exchange_order_id: str
    ok: bool
    reason: str = ""
    outcome: CancelOutcome | None = None

    @property
    def answer(self) -> CancelOutcome:
        """What the cancel came to: ``outcome`` as the venue gave it, else read from ``ok`` and ``reason``."""
        return self.outcome if self.outcome is not None else CancelOutcome.read(self.ok, self.reason)


@dataclass(frozen=True, slots=True)
class ExchangeOrder:
    """An order as the venue sees it."""

    exchange_order_id: str
    client_id: str
    symbol: str
    side: Side
    price_ticks: int
    qty_lots: int
    filled_lots: int
    status: str  # "open" | "filled" | "canceled"


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """The venue's word on one order, asked by client id (reconciliation).

    ``state`` is one of :data:`STATUS_STATES`: "unknown" means the venue has
    no order under that client id (never received, or forgotten long ago).
    """

    client_id: str
    state: str
    exchange_order_id: str | None = None
    filled_lots: int = 0


STATUS_STATES = ("open", "filled", "canceled", "rejected", "unknown")
"""Every state an :class:`OrderStatus` may carry."""


class ExchangeError(Exception):
    """A call to the venue failed in transport (connection lost): it did not take effect."""


class ExchangeTimeout(ExchangeError):
    """No answer: the call may or may not have taken effect at the venue."""


_TRAILING_DIGITS = re.compile(r"[0-9]+\Z")


def derived_exchange_id(client_id: str) -> str | None:
    """``ORD`` and the number ``client_id`` ends with, or None if it ends with no digit.

    The id then depends on the client id alone, not on the orders placed
    before it at this venue: the same whatever the partition of symbols
    over venues, given client ids numbered across all of them.
    """
    digits = _TRAILING_DIGITS.search(client_id)
    return None if digits is None else f"ORD{int(digits.group()):06d}"


def fill_id(exchange_order_id: str, k: int) -> str:
    """The id of the ``k``-th fill (from 1) of ``exchange_order_id``: ``ORD000123`` -> ``FIL000123-k``."""
    return f"FIL{exchange_order_id.removeprefix('ORD')}-{k}"
