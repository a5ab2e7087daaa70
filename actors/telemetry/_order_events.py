"""Every order event of a run, seen in one place: the order store's listener.

The core :class:`~actors.core._orders.OrderStore` tells its listener of every
event of every order (create, ack, reject, fill, cancel).  :class:`EventLog`
is that listener: it keeps the counts the metrics and the progress line show,
and, asked to, writes each event as a CSV row.  The store sees its inputs in
one canonical order on every runtime (docs/DESIGN.md, "Why the result is
deterministic"), and every field of a row is a function of the run's inputs
(the tick of the record being handled, the time of that tick: on a recorded
market the market's own, the end of the tick's bucket; else the frozen
clock's), so the file has the same bytes on ``threads``, ``pool`` and ``sim``.

Why CSV and not Parquet: the standard library writes it row by row as the run
goes (a long run needs no memory for it, a killed run leaves every row but the
last few), every tool reads it, and Parquet would need pyarrow (tens of MB) for
files that compress to little anyway.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO

from loguru import logger

from actors.core._clock import FrozenClock, MarketClock
from actors.core._orders import Order, OrderStore
from actors.core._types import Instrument, OrderState, Side

COLUMNS = ("tick", "time", "order_id", "symbol", "side", "event", "state", "price", "quantity", "reason")
"""The CSV header.  ``price``/``quantity``: the order's, except a fill's (the fill's) and a cancel's (lots left)."""

_SIDES = {Side.BUY: "BUY", Side.SELL: "SELL"}
_STATES = {state: state.value for state in OrderState}
_NEEDS_QUOTES = re.compile(r'[",\r\n]')
"""A reason is free text (a venue's error): quoted as the csv module would, only when it must be."""


def _decimal_format(step: Decimal) -> Callable[[int], str]:
    """``units -> str(step * units)`` in integer arithmetic: the same text as Decimal's, a few times faster.

    Rows are written on the store's hot path; for a step such as 0.01 or 1
    (every instrument's tick and lot, ``actors/core/_instruments.py``) the
    product's exponent is the step's, which fixes the digits after the point.
    """
    sign, digits, exponent = step.as_tuple()
    if sign or not isinstance(exponent, int) or exponent > 0:
        return lambda units: str(step * units)  # not a plain positive decimal step: let Decimal say it
    mantissa, places = int("".join(map(str, digits))), -exponent
    if not places:
        return lambda units: str(units * mantissa)
    scale, pattern = 10**places, f"%d.%0{places}d"

    def text(units: int) -> str:
        value = units * mantissa
        written: str = pattern % divmod(abs(value), scale)
        return "-" + written if value < 0 else written

    return text


@dataclass(frozen=True, slots=True)
class EventLogRow:
    """One row of the event log, as read back (prices and quantities as exact decimal text)."""

    tick: int
    time: str
    order_id: str
    symbol: str
    side: str
    event: str
    state: str
    price: str
    quantity: str
    reason: str


OutputFailed = Callable[[OSError], None]
"""Told once that the event log's file failed (a full disk, a removed mount): the log is off from then on."""


class EventLog:
    """The order store's listener: counts by outcome, and the CSV rows if a file is given.

    Written only by the store (one actor at a time), read by scrapes and the
    progress line from other threads: every count is a plain int, read whole.
    ``tick`` is the tick of the record the store is handling, set by the store
    actor before it calls the core.

    The file never fails the store: it is called inside the store's handler,
    between a change and its journal record, so an error raised there would
    restart the store half-way through an order's update.  A write, flush or
    close that raises ``OSError`` switches the log off (the rows so far stay
    in the file), the counts go on, and ``on_failure`` is told once
    (:meth:`Telemetry.output_failed`, docs/OBSERVABILITY.md).
    """

    def __init__(
        self, instruments: Mapping[str, Instrument], clock: FrozenClock | MarketClock, out: IO[str] | None = None
    ) -> None:
        self.instruments = instruments
        self.clock: FrozenClock | MarketClock = clock
        self.tick = 0
        self.placed = 0
        self.filled = 0
        self.canceled = 0
        self.rejected = 0
        self.fills = 0
        self._out: IO[str] | None = None
        self.on_failure: OutputFailed | None = None
        self.attach(out)
        self.use(instruments)
        self._time_tick = -1
        self._time = ""

    def attach(self, out: IO[str] | None, on_failure: OutputFailed | None = None) -> None:
        """Write the rows to ``out`` from now on (its header first); opened once the run's journal is locked.

        ``on_failure`` is told if the file fails (it is then closed and written no more).
        """
        self._out = out
        self.on_failure = on_failure
        if out is not None:
            try:
                out.write(",".join(COLUMNS) + "\n")
            except OSError as exc:
                self._failed(exc)

    def flush(self) -> None:
        """Hand the rows written so far to the kernel: the store does it with its journal, so a killed run's
        log holds every row of what its journal holds."""
        if self._out is not None:
            try:
                self._out.flush()
            except OSError as exc:
                self._failed(exc)

    def close(self) -> None:
        """The last rows out and the file closed (a failure is told as any other); the counts go on."""
        out, self._out = self._out, None
        if out is not None:
            try:
                out.close()
            except OSError as exc:
                self._failed(exc)

    @property
    def writing(self) -> bool:
        """True while rows go to a file (not after a failure or :meth:`close`)."""
        return self._out is not None

    def _failed(self, exc: OSError) -> None:
        """The file failed: written no more, closed (its descriptor freed even if the last flush fails), told once."""
        out, self._out = self._out, None
        if out is not None:
            with contextlib.suppress(OSError, ValueError):  # the same error again, flushing what the write left
                out.close()
        if self.on_failure is not None:
            self.on_failure(exc)
        else:
            logger.warning("the event log failed and is switched off; the run goes on: {}", exc)

    def use(self, instruments: Mapping[str, Instrument], clock: MarketClock | None = None) -> None:
        """The run's instruments, whose tick and lot sizes format prices and quantities (settled from --market), and
        on a recorded market its clock: the rows' times are the market's."""
        self.instruments = instruments
        if clock is not None:
            self.clock, self._time_tick = clock, -1
        self._formats = {symbol: (_decimal_format(i.tick_size), _decimal_format(i.lot_size))
                         for symbol, i in instruments.items()}  # fmt: skip

    def start_from(self, store: OrderStore, fills: int = 0) -> None:
        """Count what a resumed store (and risk, its ``fills``) already hold, so the counts match the report's."""
        self.fills = fills
        counts = store.counts()
        self.placed = store.placed
        self.filled = counts[OrderState.FILLED]
        self.canceled = counts[OrderState.CANCELED]
        self.rejected = counts[OrderState.REJECTED]

    @property
    def open(self) -> int:
        """Orders not yet in a final state."""
        return self.placed - self.filled - self.canceled - self.rejected

    def __call__(self, order: Order, event: str, price_ticks: int, qty_lots: int) -> None:
        """One event (see :data:`actors.core._orders.OrderListener`)."""
        state = order.state
        if event == "create":
            self.placed += 1
        elif event == "fill":
            self.fills += 1
            if state is OrderState.FILLED:
                self.filled += 1
        elif event == "cancel":
            self.canceled += 1
        elif event == "reject":
            self.rejected += 1
        out = self._out
        if out is None:
            return
        tick = self.tick
        if tick != self._time_tick:
            self._time_tick, self._time = tick, self.clock.iso(tick)
        price, quantity = self._formats[order.symbol]
        reason = order.reason
        if reason and _NEEDS_QUOTES.search(reason):
            reason = '"' + reason.replace('"', '""') + '"'
        try:
            out.write(f"{tick},{self._time},{order.client_id},{order.symbol},{_SIDES[order.side]},{event},"
                      f"{_STATES[state]},{price(price_ticks)},{quantity(qty_lots)},{reason}\n")  # fmt: skip
        except OSError as exc:
            self._failed(exc)


def read_events(path: Path) -> Iterator[EventLogRow]:
    """The rows of an event log, in order; a file that is not one is a ValueError naming the line."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None or tuple(header) != COLUMNS:
            raise ValueError(f"{path}:1: not an event log (expected the header {','.join(COLUMNS)})")
        for line, row in enumerate(rows, start=2):
            if len(row) != len(COLUMNS):
                raise ValueError(f"{path}:{line}: expected {len(COLUMNS)} fields, got {len(row)}")
            try:
                tick = int(row[0])
            except ValueError:
                raise ValueError(f"{path}:{line}: tick {row[0]!r} is not an integer") from None
            yield EventLogRow(tick, *row[1:])
