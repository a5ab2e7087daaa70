"""A live session written as it arrived, in the Tardis CSV layouts that ``--market DIR`` reads.

Two files a session, ``<exchange>_quotes_<start>.csv`` and ``<exchange>_trades_<start>.csv`` (``<start>``: the
session's start, UTC), and with depth a third, ``<exchange>_incremental_book_L2_<start>.csv``, with Tardis's
headers (the ``quotes``, ``trades`` and ``incremental_book_L2`` layouts of docs.tardis.dev/downloadable-csv-files,
as :mod:`actors.markets._tardis` reads them):

- ``timestamp`` is the venue's time of the message (µs; the receive time when the stream gives none, as spot's
  ``bookTicker`` does), ``local_timestamp`` the receive time: the replay orders by it, as the live run saw it;
- prices and sizes are written as the shortest text that reads back as the same float, so a replay's events are
  the live session's events;
- a depth row is a level of the book the client *applied* (:meth:`LiveMarket._depth_rows`): a snapshot's levels
  (``is_snapshot`` true), an applied diff's, and at a gap or a disconnect each level at amount 0 (the layout has
  no update ids; an emptied book is how it says the levels are not to be trusted until the next snapshot).

Rows are written in the order they arrived, as they arrive; the files are
flushed when a row comes :data:`FLUSH_EVERY_US` or more after the last flush,
on a disconnect (the client calls :meth:`Recorder.flush`) and on close.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO

from actors.markets._events import MarketEvent
from actors.markets._tardis import INCREMENTAL_HEADER as DEPTH_HEADER
from actors.markets._tardis import QUOTES_HEADER, TRADES_HEADER

FLUSH_EVERY_US = 200_000


class Recorder:
    """Writes quotes and trades of one live session into ``directory`` (created if missing; nothing overwritten)."""

    def __init__(self, directory: Path, exchange: str, *, started_us: int | None = None, depth: bool = False) -> None:
        """``depth``: write the depth file too (a session subscribed to depth)."""
        directory.mkdir(parents=True, exist_ok=True)
        started = time.gmtime((time.time_ns() // 1000 if started_us is None else started_us) // 1_000_000)
        stamp = time.strftime("%Y-%m-%dT%H%M%SZ", started)
        self.exchange = exchange
        self.quotes_path, self._quotes = _create(directory, f"{exchange}_quotes_{stamp}", QUOTES_HEADER)
        self.trades_path, self._trades = _create(directory, f"{exchange}_trades_{stamp}", TRADES_HEADER)
        self.depth_path: Path | None = None
        self._depth: IO[str] | None = None
        if depth:
            self.depth_path, self._depth = _create(directory, f"{exchange}_incremental_book_L2_{stamp}", DEPTH_HEADER)
        self.rows = 0
        self._flushed_at = 0

    def quote(self, event: MarketEvent, exchange_us: int) -> None:
        """One best bid/ask as received (``event[0]``: the receive time, µs)."""
        at, _, symbol, bid, bid_size, ask, ask_size = event
        self._quotes.write(
            f"{self.exchange},{symbol},{exchange_us or at},{at},{ask_size!r},{ask!r},{bid!r},{bid_size!r}\n"
        )
        self._wrote(at)

    def trade(self, event: MarketEvent, exchange_us: int, trade_id: int, side: str) -> None:
        """One trade as received (``side``: the taker's, ``buy`` or ``sell``)."""
        at, _, symbol, price, size = event[:5]
        self._trades.write(f"{self.exchange},{symbol},{exchange_us or at},{at},{trade_id},{side},{price!r},{size!r}\n")
        self._wrote(at)

    def depth(self, event: MarketEvent, *, snapshot: bool) -> None:
        """One level of the applied book (``event``: a depth level, its side +1.0 bid, -1.0 ask)."""
        if self._depth is None:
            raise ValueError("this recorder writes no depth (give it depth=True)")
        at, _, symbol, price, size, side = event[:6]
        self._depth.write(f"{self.exchange},{symbol},{at},{at},{'true' if snapshot else 'false'},"
                          f"{'bid' if side > 0 else 'ask'},{price!r},{size!r}\n")  # fmt: skip
        self._wrote(at)

    def _wrote(self, at: int) -> None:
        self.rows += 1
        if at - self._flushed_at >= FLUSH_EVERY_US:
            self.flush()
            self._flushed_at = at

    def flush(self) -> None:
        """Hand what was written to the operating system."""
        self._quotes.flush()
        self._trades.flush()
        if self._depth is not None:
            self._depth.flush()

    def close(self) -> None:
        """Flush and close both files."""
        self._quotes.close()
        self._trades.close()
        if self._depth is not None:
            self._depth.close()


def _create(directory: Path, stem: str, header: tuple[str, ...]) -> tuple[Path, IO[str]]:
    """A new file ``stem.csv`` (``stem-2.csv``... if taken) with ``header`` written."""
    for number in range(1, 1000):
        path = directory / (f"{stem}.csv" if number == 1 else f"{stem}-{number}.csv")
        try:
            handle = path.open("x", encoding="utf-8", newline="")
        except FileExistsError:
            continue
        handle.write(",".join(header) + "\n")
        return path, handle
    raise FileExistsError(f"{directory}: no free name for {stem}.csv")
