"""A hostile venue: faults injected into any fake exchange by keyed draws.

:class:`FaultyExchange` wraps a :class:`FakeExchangeClient` and, with the
rates of :class:`ExchangeFaults`, makes it fail the ways real venues fail:

- ``place_error``: the placement fails in transport; the venue never saw it.
- ``cancel_error``: the cancel fails in transport; the order is still live.
- ``timeout``: a placement or cancel gets no answer (:class:`ExchangeTimeout`);
  whether it took effect at the venue is decided by another draw.
- ``duplicate_fill``: a fill is streamed again with its symbol's next fills.
- ``out_of_order``: a symbol's fills in a batch are streamed in reverse order.
- ``unknown_fill``: after a symbol's fills, a batch carries a fill for an
  order the venue never had.
- ``cancel_race``: the order trades in full just before the cancel arrives,
  so the cancel is refused ("already filled").

Every draw is keyed on what it is about (client id, exchange id and attempt,
fill id, tick, symbol), never on call order, so a run is reproducible on every
runtime (docs/DESIGN.md, "Keyed randomness").  What each fault must lead to is the gateway's
and the store's business; docs/RELIABILITY.md lists the outcomes.

The stream's faults are drawn per symbol, not per batch: a batch is cut into
one group per symbol (in the order the symbols first trade in it), and each
group draws its stranger and its reversal on (tick, symbol, n), n counting
that symbol's groups at that tick (a cancel race's fill, pushed on its own,
is a second group).  A symbol's owed duplicates go out with its next group.
So which symbols share a venue changes no draw: venues each holding some of
the symbols stream, fault and count together exactly what one venue holding
them all does (``tests/unit/test_venue_partitions.py``).  A mass cancel is
one call to one venue and is drawn per call: that one fault is not
independent of the partition.

Some keys count calls (a cancel's attempt, the mass cancels, a symbol's
groups at a tick), and the report counts the faults injected.  That state is a
:class:`FaultLog`, changed only by notes; over a journaled venue
(:class:`actors.venues._recorded.RecordedVenue`) each note goes to the
venue's journal first, so a restored venue hands the injector the log it
had and a resumed run draws and counts on from where the killed one was
(docs/RELIABILITY.md, "Durability: the journal").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from actors.core._exchange import (
    CancelResult,
    ExchangeError,
    ExchangeOrder,
    ExchangeTimeout,
    OrderStatus,
    PlaceRequest,
    PlaceResult,
)
from actors.core._journal_records import CancelDone, FaultInjected, FaultNote, MassCancel, MassFault
from actors.core._keyed_random import uniform
from actors.core._types import Fill, Side
from actors.venues._interface import FillListener
from actors.venues._simulated import FakeExchangeClient
from actors.wire._journal import JournalError

FAULT_KINDS = (
    "cancel_error", "cancel_race", "cancel_timeout", "duplicate_fill", "mass_cancel_error", "mass_cancel_timeout",
    "out_of_order", "place_error", "place_timeout", "unknown_fill",
)  # fmt: skip
"""What :attr:`FaultyExchange.injected` counts."""
MASS_CANCEL_FAULTS = ("mass_cancel_error", "mass_cancel_timeout")
"""Faults of a mass cancel: drawn per (tick, attempt of that tick), the same for every venue that tries then.

A sharded run has a venue per shard, each mass-cancelled at the freeze;
they all draw the same faults for the same attempt, so the faults of one
venue holding every symbol are the union of theirs (:attr:`FaultLog.mass_cancel_faults`)."""

UNKNOWN_SYMBOL = "UNKNOWN"
"""Symbol of the fills injected for orders nobody placed."""


@dataclass(frozen=True)
class ExchangeFaults:
    """Rates in [0, 1] of each fault; all zero is an honest venue.

    A rate of 1 is allowed for every fault: a venue that refuses every
    cancel makes a freeze that cannot complete, which the engine must end
    in bounded time and report (docs/RELIABILITY.md).
    """

    place_error: float = 0.0
    cancel_error: float = 0.0
    timeout: float = 0.0
    duplicate_fill: float = 0.0
    out_of_order: float = 0.0
    unknown_fill: float = 0.0
    cancel_race: float = 0.0

    def __post_init__(self) -> None:
        for spec in fields(self):
            rate = getattr(self, spec.name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{spec.name} rate must be in [0, 1], got {rate}")

    @property
    def any(self) -> bool:
        """True if any fault can happen."""
        return any(getattr(self, spec.name) > 0.0 for spec in fields(self))


@dataclass
class FaultLog:
    """What the injector remembers between calls; rebuilt from its notes (see :meth:`apply`).

    Notes: ``["fault", kind]`` (one fault injected), ``["fault", kind,
    exchange_id, attempt]`` (a cancel's attempt failed; the next draws
    anew), ``["cancel_done", exchange_id]`` (the attempts start again),
    ``["mass_cancel", tick]`` (an attempt to cancel everything), ``["mass_fault",
    kind, tick, attempt]`` (that attempt failed).  The streamed batches are not noted: each is a
    ``stream`` record of the venue's own journal already, which the venue
    cuts into groups here (:meth:`group`) as it replays, as the injector
    did live (:attr:`groups`, :attr:`last_groups`).
    """

    injected: Counter[str] = field(default_factory=Counter)
    cancel_attempts: dict[str, int] = field(default_factory=dict)
    mass_cancels: int = 0
    mass_cancel_tick: int = -1
    mass_cancel_attempt: int = 0
    """The venue tick of the last mass cancel, and how many were tried at that tick (an attempt's key)."""
    mass_cancel_faults: set[tuple[str, int, int]] = field(default_factory=set)
    """(kind, tick, attempt) of every mass cancel that failed."""
    groups: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per symbol, the last tick it streamed fills at and how many groups it streamed at that tick (a key's n)."""
    last_groups: dict[str, list[Fill]] = field(default_factory=dict, compare=False)
    """Per symbol, the venue's fills in its last group: the duplicates drawn on them are still owed."""

    def group(self, tick: int, fills: list[Fill]) -> list[tuple[str, int, list[Fill]]]:
        """Cut a batch of the venue's new fills at ``tick`` into (symbol, n, fills), n counting from 1 per tick.

        Symbols come in the order they first trade in the batch, each
        symbol's fills in the batch's order.  Live (the injector) and in
        a replay (the venue's ``stream`` records) the same batches give the
        same groups, so a restored injector numbers on as the killed one.
        """
        by_symbol: dict[str, list[Fill]] = {}
        for fill in fills:
            by_symbol.setdefault(fill.symbol, []).append(fill)
        cut = []
        for symbol, fresh in by_symbol.items():
            last_tick, n = self.groups.get(symbol, (tick, 0))
            n = n + 1 if last_tick == tick else 1
            self.groups[symbol] = (tick, n)
            self.last_groups[symbol] = fresh
            cut.append((symbol, n, fresh))
        return cut

    def apply(self, note: FaultNote) -> None:
        """Change the log as ``note`` says; a note of a fault this injector never injects is a :class:`JournalError`."""
        if isinstance(note, FaultInjected) and note.kind in FAULT_KINDS:
            self.injected[note.kind] += 1
            if note.exchange_order_id is not None and note.attempt is not None:
                self.cancel_attempts[note.exchange_order_id] = note.attempt
        elif isinstance(note, CancelDone):
            self.cancel_attempts.pop(note.exchange_order_id, None)
        elif isinstance(note, MassCancel):  # journals before attempts were keyed by tick: no tick
            self.mass_cancels += 1
            tick = note.tick if note.tick is not None else self.mass_cancel_tick
            self.mass_cancel_attempt = self.mass_cancel_attempt + 1 if tick == self.mass_cancel_tick else 1
            self.mass_cancel_tick = tick
        elif isinstance(note, MassFault) and note.kind in MASS_CANCEL_FAULTS:
            self.injected[note.kind] += 1
            self.mass_cancel_faults.add((note.kind, note.tick, note.attempt))
        else:
            raise JournalError(f"unknown fault-injector note {note.encode()!r}")


class FaultyExchange:
    """An ``IExchangeClient`` (and ``SupportsAdvance``) that injects :class:`ExchangeFaults`.

    Over a venue that keeps a :class:`FaultLog` (``inner.fault_log``, and
    ``inner.note`` to journal a note), the injector takes that log as its
    own: restored, it goes on as if it had never stopped.  A restored
    venue's redelivery (``inner.take_redelivery``: the fills it streamed
    again on reconnect) goes out first, untouched: old news, drawn on when
    first streamed.
    """

    def __init__(self, inner: FakeExchangeClient, faults: ExchangeFaults, seed: int) -> None:
        self.inner = inner
        self.faults = faults
        self.seed = seed
        log = getattr(inner, "fault_log", None)
        self.log = log if isinstance(log, FaultLog) else FaultLog()
        self.injected: Counter[str] = self.log.injected
        self._journal: Callable[[FaultNote], None] | None = getattr(inner, "note", None)
        take_redelivery: Callable[[], list[Fill]] | None = getattr(inner, "take_redelivery", None)
        self._redelivery: list[Fill] = take_redelivery() if take_redelivery is not None else []
        self._replay: dict[str, list[Fill]] = {}
        """Per symbol, the duplicates owed: streamed again before its next group."""
        for symbol, group in self.log.last_groups.items():
            owed = [fill for fill in group if self._draw("duplicate-fill", fill.fill_id) < faults.duplicate_fill]
            if owed:
                self._replay[symbol] = owed

    def _note(self, note: FaultNote) -> None:
        """Journal ``note`` (if the venue keeps a journal), then apply it."""
        if self._journal is not None:
            self._journal(note)
        self.log.apply(note)

    # ------------------------------------------------------------ orders

    def place(self, request: PlaceRequest) -> PlaceResult:
        """Fail, time out (placed or not) or place."""
        faults, key = self.faults, request.client_id
        if self._draw("place-error", key) < faults.place_error:
            self._note(FaultInjected("place_error"))
            raise ExchangeError(f"place {key}: connection reset")
        if self._draw("place-timeout", key) < faults.timeout:
            self._note(FaultInjected("place_timeout"))
            if self._draw("place-timeout-took-effect", key) < 0.5:
                self.inner.place(request)
            raise ExchangeTimeout(f"place {key}: no answer")
        return self.inner.place(request)

    def cancel(self, exchange_order_id: str) -> CancelResult:
        """Race a fill, fail, time out (canceled or not) or cancel; each attempt draws anew."""
        faults = self.faults
        attempt = self.log.cancel_attempts.get(exchange_order_id, 0) + 1
        race = attempt == 1 and self._draw("cancel-race", exchange_order_id) < faults.cancel_race
        if race and self.inner.fill_now(exchange_order_id):
            self._note(FaultInjected("cancel_race"))
        if self._draw("cancel-error", exchange_order_id, attempt) < faults.cancel_error:
            self._note(FaultInjected("cancel_error", exchange_order_id, attempt))
            raise ExchangeError(f"cancel {exchange_order_id}: connection reset")
        if self._draw("cancel-timeout", exchange_order_id, attempt) < faults.timeout:
            self._note(FaultInjected("cancel_timeout", exchange_order_id, attempt))
            if self._draw("cancel-timeout-took-effect", exchange_order_id, attempt) < 0.5:
                self.inner.cancel(exchange_order_id)
            raise ExchangeTimeout(f"cancel {exchange_order_id}: no answer")
        if attempt > 1:
            self._note(CancelDone(exchange_order_id))
        return self.inner.cancel(exchange_order_id)

    def cancel_all(self) -> list[ExchangeOrder]:
        """Fail, time out (done or not) or cancel everything; each attempt draws anew, keyed on (tick, attempt)."""
        tick = self.inner.tick
        self._note(MassCancel(tick))
        attempt = self.log.mass_cancel_attempt
        key = ("cancel-all", tick, attempt)
        if self._draw(*key, "error") < self.faults.cancel_error:
            self._note(MassFault("mass_cancel_error", tick, attempt))
            raise ExchangeError("cancel all: connection reset")
        if self._draw(*key, "timeout") < self.faults.timeout:
            self._note(MassFault("mass_cancel_timeout", tick, attempt))
            if self._draw(*key, "took-effect") < 0.5:
                self.inner.cancel_all()
            raise ExchangeTimeout("cancel all: no answer")
        return self.inner.cancel_all()

    # ------------------------------------------------------------ market

    def advance(self, tick: int) -> None:
        """Let the venue match at ``tick``."""
        self.inner.advance(tick)

    def stream_fills(self) -> list[Fill]:
        """A restored venue's redelivery (once), then the venue's new fills disturbed as drawn (:meth:`_disturb`)."""
        return self._take_redelivery() + self._disturb(self.inner.stream_fills())

    def subscribe(self, listener: FillListener) -> None:
        """Have the venue push its fills through the same faults to ``listener``."""
        self.inner.subscribe(lambda fills: listener(self._take_redelivery() + self._disturb(fills)))

    def _take_redelivery(self) -> list[Fill]:
        again, self._redelivery = self._redelivery, []
        return again

    def _disturb(self, new: list[Fill]) -> list[Fill]:
        """Each symbol's group: its owed duplicates and new fills, maybe reversed, maybe a stranger after it.

        Draws are keyed on (tick, symbol, n), never on the batch, so they do
        not depend on which other symbols' fills share the batch (module
        docstring).  A symbol with duplicates owed and no new fill keeps
        owing them: streamed alone, they would make a group that exists
        only because another symbol of the same venue traded.
        """
        tick, faults, out = self.inner.tick, self.faults, []
        for symbol, n, fresh in self.log.group(tick, new):
            group = self._replay.pop(symbol, []) + fresh
            owed = [fill for fill in fresh if self._draw("duplicate-fill", fill.fill_id) < faults.duplicate_fill]
            for _ in owed:
                self._note(FaultInjected("duplicate_fill"))
            if owed:
                self._replay[symbol] = owed
            if len(group) > 1 and self._draw("out-of-order", tick, symbol, n) < faults.out_of_order:
                self._note(FaultInjected("out_of_order"))
                group.reverse()
            out.extend(group)
            if self._draw("unknown-fill", tick, symbol, n) < faults.unknown_fill:
                self._note(FaultInjected("unknown_fill"))
                out.append(_stranger(fresh[0], tick))
        return out

    # ------------------------------------------------------------ queries

    def get_orders(self) -> list[ExchangeOrder]:
        """The venue's open orders (queries are not faulted: reconciliation relies on them)."""
        return self.inner.get_orders()

    def get_positions(self) -> dict[str, int]:
        """The venue's positions."""
        return self.inner.get_positions()

    def order_status(self, client_id: str) -> OrderStatus:
        """The venue's word on one order (not faulted, like every query)."""
        return self.inner.order_status(client_id)

    def _draw(self, what: str, *key: object) -> float:
        return uniform(self.seed, "fault", what, *key)


def _stranger(first: Fill, tick: int) -> Fill:
    """A fill for an order nobody placed, named after ``first``, the group's first new fill.

    Every new fill is the first of at most one group, so the names are
    unique, across venues too.  The venue's own ids are ``FIL``/``ORD``
    then a digit or ``V``, the store's ``CLI`` then a digit: an ``X`` after
    the prefix never names a real fill, order or client id.
    """
    tail = first.fill_id.removeprefix("FIL")
    return Fill(f"FILX{tail}", f"ORDX{tail}", f"CLIX{tail}", UNKNOWN_SYMBOL, Side.BUY, 1, 1, tick)
