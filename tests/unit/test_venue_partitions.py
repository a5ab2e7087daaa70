"""A venue split by symbol over several venues (a sharded engine) behaves as one venue holding every symbol.

Each workload is drawn from a seed: orders of several symbols placed with
client ids numbered across all venues, retried placements, cancels (some
racing a fill), polls, over ticks, on a hostile venue with every fault rate
above zero.  The same workload is played on one venue and on the same
symbols split over two and three venues, each call going to the venue of
its symbol.  Step by step, the answers (accepted or rejected, exchange ids,
errors raised) and the fills delivered (ids, sides, quantities, ticks, each
symbol's in its order, a stranger right after its symbol's fills) must be
the same, and so must the faults injected, summed over the venues.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from actors.core._exchange import ExchangeError, PlaceRequest
from actors.core._types import Fill, Side
from actors.venues._faults import FAULT_KINDS, MASS_CANCEL_FAULTS, UNKNOWN_SYMBOL, ExchangeFaults, FaultyExchange
from actors.venues._recorded import RecordedVenue
from actors.venues._simulated import FakeExchangeClient

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT")
EVERY_FAULT = ExchangeFaults(
    place_error=0.1, cancel_error=0.2, timeout=0.15, duplicate_fill=0.3, out_of_order=0.4, unknown_fill=0.3,
    cancel_race=0.3,
)  # fmt: skip
T = TypeVar("T")
TICKS = 24
SEEDS = range(40)

Step = tuple[str, object]
"""("advance", tick), ("place", PlaceRequest), ("cancel", PlaceRequest placed before), ("poll", None)."""


def workload(seed: int) -> list[Step]:
    """A random day at the venue, the same whatever the partition: nothing in it depends on the venue's answers."""
    rng = random.Random(seed)
    placed: list[PlaceRequest] = []
    steps: list[Step] = []
    for tick in range(1, TICKS + 1):
        steps.append(("advance", tick))
        for _ in range(rng.randint(1, 6)):
            symbol = rng.choice(SYMBOLS)
            side = rng.choice((Side.BUY, Side.SELL))
            request = PlaceRequest(f"CLI{len(placed) + 1:08d}", symbol, side, rng.randint(900, 1100), rng.randint(1, 9))
            placed.append(request)
            steps.append(("place", request))
        if rng.random() < 0.3:
            steps.append(("place", rng.choice(placed)))  # a retry: the same client id again
        for _ in range(rng.randint(0, 4)):
            steps.append(("cancel", rng.choice(placed[-12:])))
        if rng.random() < 0.4:
            steps.append(("poll", None))  # every venue asked for what it has not streamed, as a reconciliation does
    return steps


def honest(seed: int) -> FakeExchangeClient:
    return FakeExchangeClient(seed=seed, fill_rate=0.4, reject_rate=0.1, partial_fill_rate=0.5, retain_ticks=3)


def hostile(seed: int, inner: FakeExchangeClient | None = None) -> FaultyExchange:
    return FaultyExchange(inner or honest(seed), EVERY_FAULT, seed=seed + 1)


def partition(seed: int, venues: int) -> dict[str, int]:
    """Each symbol's venue: a shuffle of the symbols dealt round, so every venue holds some."""
    symbols = list(SYMBOLS)
    random.Random(seed * 7 + venues).shuffle(symbols)
    return {symbol: i % venues for i, symbol in enumerate(symbols)}


def by_symbol(fills: list[Fill]) -> dict[str, list[Fill]]:
    """A delivery cut by symbol, in order; a stranger counts with the symbol whose fills it follows."""
    cut: dict[str, list[Fill]] = {}
    symbol = UNKNOWN_SYMBOL
    for fill in fills:
        symbol = symbol if fill.symbol == UNKNOWN_SYMBOL else fill.symbol
        cut.setdefault(symbol, []).append(fill)
    return cut


@dataclass
class Played:
    """What one arrangement of venues answered and delivered at each step, and what they injected."""

    answers: list[object] = field(default_factory=list)
    delivered: list[dict[str, list[Fill]]] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)
    positions: dict[str, int] = field(default_factory=dict)
    open_orders: list[str] = field(default_factory=list)


class Arrangement:
    """The symbols dealt over venues; every call goes to its symbol's venue, every fill is collected by step."""

    def __init__(self, venues: list[FaultyExchange], home: dict[str, int], *, pushed: bool) -> None:
        self.venues, self.home, self.pushed = venues, home, pushed
        self.inbox: list[Fill] = []
        if pushed:
            for venue in venues:
                venue.subscribe(self.inbox.extend)

    def venue_of(self, symbol: str) -> FaultyExchange:
        return self.venues[self.home[symbol]]

    def play(self, steps: list[Step], played: Played) -> Played:
        for kind, arg in steps:
            played.answers.append(self.step(kind, arg))
            fills, self.inbox[:] = list(self.inbox), []
            played.delivered.append(by_symbol(fills))
        for venue in self.venues:
            played.injected += venue.injected
            played.positions |= venue.get_positions()
            played.open_orders += [order.client_id for order in venue.get_orders()]
        played.open_orders.sort()
        return played

    def step(self, kind: str, arg: object) -> object:
        if kind == "advance":
            assert isinstance(arg, int)
            for venue in self.venues:
                venue.advance(arg)
                if not self.pushed:
                    self.inbox += venue.stream_fills()  # a gateway that polls after each tick
            return None
        if kind == "poll":
            for venue in self.venues:
                self.inbox += venue.stream_fills()
            return None
        assert isinstance(arg, PlaceRequest)
        venue = self.venue_of(arg.symbol)
        if kind == "place":
            return answer(venue.place, arg)
        status = venue.order_status(arg.client_id)  # what a placement that timed out became, too
        if status.exchange_order_id is None:
            return status
        return status, answer(venue.cancel, status.exchange_order_id)


def answer(call: Callable[[T], object], arg: T) -> object:
    """The venue's answer, or the error it raised (by type and message: the same on every partition)."""
    try:
        return call(arg)
    except ExchangeError as exc:
        return f"{type(exc).__name__}: {exc}"


def play(seed: int, venues: int, *, pushed: bool) -> Played:
    arrangement = Arrangement([hostile(seed) for _ in range(venues)], partition(seed, venues), pushed=pushed)
    return arrangement.play(workload(seed), Played())


@pytest.mark.parametrize("pushed", [True, False], ids=["pushed", "polled"])
@pytest.mark.parametrize("venues", [2, 3])
def test_venues_each_holding_some_of_the_symbols_answer_fill_and_fault_as_one_venue_holding_all(
    venues: int, pushed: bool
) -> None:
    seen: Counter[str] = Counter()
    for seed in SEEDS:
        one = play(seed, 1, pushed=pushed)
        split = play(seed, venues, pushed=pushed)
        assert split.answers == one.answers, f"seed {seed}"
        assert split.delivered == one.delivered, f"seed {seed}"
        assert split.injected == one.injected, f"seed {seed}"
        assert (split.positions, split.open_orders) == (one.positions, one.open_orders), f"seed {seed}"
        seen += one.injected
        seen["fills"] += sum(len(fills) for step in one.delivered for fills in step.values())
        seen["rejected"] += sum("rejected by venue" in str(a) for a in one.answers)
        seen["duplicate client id"] += sum("duplicate client id" in str(a) for a in one.answers)
        seen["cancel refused"] += sum("already filled" in str(a) for a in one.answers)
    # every fault and every answer happened, or the comparison proves less than it says
    # (a mass cancel is one call per venue, drawn alike on each: its faults are merged as a union, elsewhere)
    kinds = [kind for kind in FAULT_KINDS if kind not in MASS_CANCEL_FAULTS]
    assert all(seen[kind] > 0 for kind in (*kinds, "fills", "rejected", "duplicate client id",
                                           "cancel refused")), seen  # fmt: skip


# ---------------------------------------------------------------- journaled venues, killed and restored


def test_journaled_venues_split_by_symbol_and_restored_after_a_kill_go_on_as_one_venue_never_killed(
    tmp_path: Path,
) -> None:
    cut = 2 * TICKS // 3
    for seed in range(12):
        steps = workload(seed)
        at = next(i for i, (kind, arg) in enumerate(steps) if kind == "advance" and arg == cut)
        never = Arrangement([hostile(seed)], partition(seed, 1), pushed=True).play(steps, Played())
        home = partition(seed, 3)
        paths = [tmp_path / f"{seed}-{i}.journal" for i in range(3)]
        before = Arrangement([hostile(seed, recorded(path, seed)) for path in paths], home, pushed=True)
        first = before.play(steps[:at], Played())
        logs = [venue.log for venue in before.venues]
        for venue in before.venues:
            assert isinstance(venue.inner, RecordedVenue)
            venue.inner.close()  # killed: only the journals are left
        restored = [hostile(seed, recorded(path, seed)) for path in paths]
        assert [venue.log for venue in restored] == logs  # every count and attempt back, no batch to recount
        redelivered = [fill for venue in restored for fill in venue.stream_fills()]  # the reconnect, untouched
        streamed = {fill.fill_id for step in first.delivered for fills in step.values() for fill in fills}
        assert redelivered and {fill.fill_id for fill in redelivered} <= streamed
        after = Arrangement(restored, home, pushed=True).play(steps[at:], Played())
        assert first.answers + after.answers == never.answers, f"seed {seed}"
        assert first.delivered + after.delivered == never.delivered, f"seed {seed}"
        assert after.injected == never.injected, f"seed {seed}"  # the restored logs count on from the killed ones


def recorded(path: Path, seed: int) -> RecordedVenue:
    return RecordedVenue(path, seed=seed, fill_rate=0.4, reject_rate=0.1, partial_fill_rate=0.5, retain_ticks=3)
