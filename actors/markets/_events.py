"""The events a recorded market is made of, and the error a bad market file raises.

Events are plain tuples, not dataclasses: a replay builds one per row, a
million rows a minute, and a tuple costs a third of a frozen dataclass.
Every event has the same shape, so one type describes them all::

    (timestamp_us, QUOTE, symbol, bid_price, bid_size, ask_price, ask_size)
    (timestamp_us, TRADE, symbol, price, size, 0.0, 0.0)

Prices and sizes are in the file's units here (floats); the replay turns
them into integer ticks and lots of the symbol's instrument.  A quote may
lack a side (Tardis leaves an empty book side empty): its price is then
:data:`NO_BID` or :data:`NO_ASK`, its size 0, so that ``bid >= ask`` (a
crossed book) is still false and the mid is held (docs/EXECUTION.md).
"""

from __future__ import annotations

import math

QUOTE = 0
TRADE = 1
NO_BID = 0.0
"""A quote's bid price when nobody bids (no price is 0 or below)."""
NO_ASK = math.inf
"""A quote's ask price when nobody offers (above every price)."""

MarketEvent = tuple[int, int, str, float, float, float, float]
"""One row of a market file, validated (see the module's docstring for the layout)."""

BAD_ROW_KINDS = ("back_in_time", "crossed", "malformed")
"""What ``--on-bad-row skip`` counts: a row out of time order, a quote with bid >= ask, a row that does not parse."""


class MarketDataError(ValueError):
    """A market file that cannot be replayed; the message is one line naming the file (and the line).

    Raised inside an actor (a file that changed under a running replay),
    restarting cannot help: the actor gives up at once (``fatal``).
    """

    fatal = True
