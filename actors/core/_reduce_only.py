"""Reduce-only at the venue: how much an order may trade without growing or flipping a position.

Risk sizes a reduce-only order from its own position, which lags the venue's
by the fills in flight, and a hostile venue can fill an order in the very
request that tries to cancel it (a cancel race), or refuse the cancel so
the earlier order keeps working.  Checked against the venue's position and
its open orders at the moment of placing, the order is truly reduce-only:
the lots still working on the reducing side are counted as spent.
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.core.exchange import ExchangeOrder
from actors.core.types import Side

__all__ = ["reduce_only_room", "reduce_only_refusal"]


def reduce_only_room(symbol: str, side: Side, position: int, open_orders: Iterable[ExchangeOrder]) -> int:
    """Lots an order of ``symbol`` on ``side`` may still trade toward zero (0: it would only grow |position|)."""
    if int(side) * position >= 0:
        return 0
    working = sum(o.qty_lots - o.filled_lots for o in open_orders if o.symbol == symbol and int(o.side) == int(side))
    return max(0, abs(position) - working)


def reduce_only_refusal(
    symbol: str, side: Side, qty_lots: int, position: int, open_orders: Iterable[ExchangeOrder], *, spent: int = 0
) -> str | None:
    """Why an order of ``qty_lots`` is not reduce-only at the venue, or None if it is.

    ``spent``: lots of the same side let through since the venue was read (earlier orders of the same request).
    """
    room = max(0, reduce_only_room(symbol, side, position, open_orders) - spent)
    if qty_lots <= room:
        return None
    return f"reduce-only: {symbol} {qty_lots} lots > {room} left to reduce at the venue (position {position})"
