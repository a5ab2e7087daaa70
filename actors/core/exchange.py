"""What the engine says to a venue and what a venue answers: the records of the venue interface.

They are the engine's vocabulary, not any venue's: the gateway's core
(pure) decides with them, and every venue (:mod:`actors.venues`) speaks
them.  Ids: :func:`derived_exchange_id` and :func:`fill_id` say how a
venue that follows the engine's convention names orders and fills
(:mod:`actors.venues.simulated` explains why ids depend on client ids alone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from actors.core.types import Side


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    """A new limit order."""

    client_id: str
    symbol: str
    side: Side
    price_ticks: int
    qty_lots: int


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """The venue's answer to a placement."""

    client_id: str
    accepted: bool
    exchange_order_id: str | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CancelResult:
    """The venue's answer to a cancel."""

    exchange_order_id: str
    ok: bool
    reason: str = ""


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
