"""The events a recorded market is made of, and the error a bad market file raises.

Events are plain tuples, not dataclasses: a replay builds one per row, a
million rows a minute, and a tuple costs a third of a frozen dataclass.
Every event has the same shape, so one type describes them all::

    (timestamp_us, QUOTE, symbol, bid_price, bid_size, ask_price, ask_size)
    (timestamp_us, TRADE, symbol, price, size, aggressor, feed_latency_us)
    (timestamp_us, DEPTH, symbol, price, size, side, feed_latency_us)         a level set (size 0: removed)
    (timestamp_us, DEPTH, symbol, 0.0, last_update_id, BOOK_RESET, 0.0)      a snapshot starts: clear the book
    (timestamp_us, DEPTH, symbol, first_id, final_id, BOOK_UPDATE, prev_id)  an update's ids: the levels after it

Prices and sizes are in the file's units here (floats); the replay turns
them into integer ticks and lots of the symbol's instrument.  A quote may
lack a side (Tardis leaves an empty book side empty): its price is then
:data:`NO_BID` or :data:`NO_ASK`, its size 0, so that ``bid >= ask`` (a
crossed book) is still false and the mid is held (docs/EXECUTION.md).

A trade's ``aggressor`` is +1.0 (a buyer took the offer), -1.0 (a seller
hit the bid) or 0.0 (not recorded); ``feed_latency_us`` is the row's local
time minus the exchange's (0.0 when the file has one clock only).  Depth
rows (:mod:`actors.markets._depth` keeps the book) are one level each, side
+1.0 (bid) or -1.0 (ask), an absolute size; a snapshot is a
:data:`BOOK_RESET` marker and its levels; a venue that numbers its updates
(Binance) puts a :data:`BOOK_UPDATE` marker with the update's ids before the
update's levels, so the book can tell a gap (update ids up to 2**53 are
exact in a float).
"""

from __future__ import annotations

import math

QUOTE = 0
TRADE = 1
DEPTH = 2
BOOK_RESET = 3.0
"""A depth event's ``side`` for the start of a snapshot (its ``size`` is the snapshot's last update id, or 0)."""
BOOK_UPDATE = 4.0
"""A depth event's ``side`` for an update's ids: ``price`` first id, ``size`` final id, the last field the
previous update's final id (USD-M's ``pu``; -1.0 when the venue gives none, as spot)."""
NO_BID = 0.0
"""A quote's bid price when nobody bids (no price is 0 or below)."""
NO_ASK = math.inf
"""A quote's ask price when nobody offers (above every price)."""

MarketEvent = tuple[int, int, str, float, float, float, float]
"""One row of a market file, validated (see the module's docstring for the layout)."""

MarketEvents = MarketEvent | list[MarketEvent]
"""What a row parser returns: one event, or several for a row that holds several (a snapshot, a JSON message)."""

BAD_ROW_KINDS = ("back_in_time", "crossed", "malformed")
"""What ``--on-bad-row skip`` counts: a row out of time order, a quote with bid >= ask, a row that does not parse."""


class MarketDataError(ValueError):
    """A market file that cannot be replayed; the message is one line naming the file (and the line).

    Raised inside an actor (a file that changed under a running replay),
    restarting cannot help: the actor gives up at once (``fatal``).
    """

    fatal = True
