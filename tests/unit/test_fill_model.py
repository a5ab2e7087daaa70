"""The market fill model, rule by rule, on hand-made rows, through the simulated venue.

Instrument TEST: tick 1, lot 1, so prices and sizes in the rows are ticks and
lots.  Bucket 1 is [0, 1 s), bucket 2 is [1 s, 2 s): the venue moves to tick 1
(the book is recorded), an order is placed, and the venue moves to tick 2,
where the rows under test are.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from actors.core._exchange import PlaceRequest
from actors.core._types import Fill, Instrument, Side
from actors.markets._files import MarketFile
from actors.markets._recorded import Recording
from actors.venues._fill_model import FillSettings, MarketFills
from actors.venues._recorded import RecordedVenue
from actors.venues._simulated import FakeExchangeClient
from tests.unit.market_kit import Quote, Trade, tardis_quotes, tardis_trades

S = 1_000_000
TEST = Instrument("TEST", Decimal(1), Decimal(1), Decimal(100))
BOOK = (10, "TEST", 99.0, 5.0, 101.0, 5.0)
"""Bucket 1: best bid 99 for 5, best ask 101 for 5."""


def recording(tmp_path: Path, quotes: list[Quote], trades: list[Trade]) -> Recording:
    files = [MarketFile(tardis_quotes(tmp_path / "q.csv", [BOOK, *quotes]), time_unit="us")]  # times from 0
    if trades:
        files.append(MarketFile(tardis_trades(tmp_path / "t.csv", trades), time_unit="us"))
    last = max(row[0] for row in [BOOK, *quotes, *trades])
    return Recording.cut(files, {"TEST": TEST}, first_us=0, last_us=last, bucket_us=S, first_mids={"TEST": 100.0},
                         quoted=frozenset({"TEST"}))  # fmt: skip


def fills_at_tick_2(
    tmp_path: Path, orders: list[tuple[Side, int, int]], quotes: Sequence[Quote] = (), trades: Sequence[Trade] = ()
) -> list[Fill]:
    venue = FakeExchangeClient(seed=1, fill_model=MarketFills(recording(tmp_path, list(quotes), list(trades))))
    venue.advance(1)
    for n, (side, price, qty) in enumerate(orders):
        assert venue.place(PlaceRequest(f"C{n}", "TEST", side, price, qty)).accepted
    venue.advance(2)
    return venue.stream_fills()


def sizes(fills: list[Fill]) -> list[tuple[str, int, int]]:
    return [(fill.client_id, fill.price_ticks, fill.qty_lots) for fill in fills]


def test_no_trade_at_or_through_a_buy_and_no_ask_down_to_it_fills_nothing(tmp_path: Path) -> None:
    fills = fills_at_tick_2(
        tmp_path, [(Side.BUY, 98, 3)],
        quotes=[(S + 1, "TEST", 99.0, 2.0, 100.0, 4.0)], trades=[(S + 2, "TEST", "sell", 99.0, 50.0)],
    )  # fmt: skip
    assert fills == []


def test_a_trade_through_a_buy_fills_it_at_its_own_price_at_most_the_trades_size(tmp_path: Path) -> None:
    fills = fills_at_tick_2(tmp_path, [(Side.BUY, 98, 10)], trades=[(S + 1, "TEST", "sell", 97.0, 3.0)])
    assert sizes(fills) == [("C0", 98, 3)]


def test_a_trade_through_fills_no_more_than_the_order_has_left(tmp_path: Path) -> None:
    trades: list[Trade] = [(S + 1, "TEST", "sell", 97.0, 30.0), (S + 2, "TEST", "sell", 96.0, 30.0)]
    assert sizes(fills_at_tick_2(tmp_path, [(Side.BUY, 98, 4)], trades=trades)) == [("C0", 98, 4)]


def test_size_queued_ahead_at_our_price_trades_first(tmp_path: Path) -> None:
    # placed at the best bid, 99, behind the 5 quoted there: 3 trade (2 left ahead), then 3 more (1 for us)
    trades: list[Trade] = [(S + 1, "TEST", "sell", 99.0, 3.0), (S + 2, "TEST", "sell", 99.0, 3.0)]
    assert sizes(fills_at_tick_2(tmp_path, [(Side.BUY, 99, 2)], trades=trades[:1])) == []
    assert sizes(fills_at_tick_2(tmp_path, [(Side.BUY, 99, 2)], trades=trades)) == [("C0", 99, 1)]


def test_an_order_that_improves_on_the_best_price_has_no_queue(tmp_path: Path) -> None:
    fills = fills_at_tick_2(tmp_path, [(Side.BUY, 100, 2)], trades=[(S + 1, "TEST", "sell", 100.0, 1.0)])
    assert sizes(fills) == [("C0", 100, 1)]


def test_the_ask_coming_down_to_a_buy_fills_it_at_most_the_asks_size(tmp_path: Path) -> None:
    fills = fills_at_tick_2(tmp_path, [(Side.BUY, 99, 4)], quotes=[(S + 1, "TEST", 98.0, 1.0, 99.0, 3.0)])
    assert sizes(fills) == [("C0", 99, 3)]


def test_less_size_shown_at_our_price_shortens_the_queue(tmp_path: Path) -> None:
    # 5 ahead at placement; the bid at 99 then shows 1: one lot left ahead, so a trade of 2 fills 1
    fills = fills_at_tick_2(
        tmp_path, [(Side.BUY, 99, 3)],
        quotes=[(S + 1, "TEST", 99.0, 1.0, 101.0, 5.0)], trades=[(S + 2, "TEST", "sell", 99.0, 2.0)],
    )  # fmt: skip
    assert sizes(fills) == [("C0", 99, 1)]


def test_a_sell_is_the_mirror_image(tmp_path: Path) -> None:
    fills = fills_at_tick_2(
        tmp_path, [(Side.SELL, 101, 10), (Side.SELL, 103, 1)],
        trades=[(S + 1, "TEST", "buy", 101.0, 7.0), (S + 2, "TEST", "buy", 102.0, 4.0)],
    )  # fmt: skip
    assert sizes(fills) == [("C0", 101, 2), ("C0", 101, 4)]  # 5 ahead at 101, then the trade through at 102


def test_one_trade_never_fills_more_than_it_traded_across_our_orders(tmp_path: Path) -> None:
    fills = fills_at_tick_2(
        tmp_path, [(Side.BUY, 98, 2), (Side.BUY, 98, 2)], trades=[(S + 1, "TEST", "sell", 97.0, 3.0)]
    )
    assert sizes(fills) == [("C0", 98, 2), ("C1", 98, 1)]


def test_a_journaled_venue_on_the_market_replays_to_the_same_state_and_goes_on_alike(tmp_path: Path) -> None:
    quotes: list[Quote] = [(S + 1, "TEST", 99.0, 1.0, 101.0, 5.0), (2 * S + 1, "TEST", 98.0, 1.0, 99.0, 2.0)]
    trades: list[Trade] = [(S + 2, "TEST", "sell", 99.0, 2.0), (2 * S + 5, "TEST", "sell", 97.0, 9.0)]
    rec = recording(tmp_path, quotes, trades)

    def run(venue: FakeExchangeClient, upto: int) -> None:
        for tick in range(venue.tick + 1, upto + 1):
            venue.advance(tick)
            if tick == 1:
                venue.place(PlaceRequest("C0", "TEST", Side.BUY, 99, 6))

    unbroken = FakeExchangeClient(seed=1, fill_model=MarketFills(rec))
    run(unbroken, 3)
    journaled = RecordedVenue(tmp_path / "venue.journal", seed=1, fill_model=MarketFills(rec))
    run(journaled, 2)
    journaled.close()  # killed after tick 2; restored from its journal on a fresh reader of the files
    restored = RecordedVenue(tmp_path / "venue.journal", seed=1, fill_model=MarketFills(rec))
    assert restored.tick == 2
    run(restored, 3)
    assert restored.get_positions() == unbroken.get_positions() == {"TEST": 6}
    assert restored.order_status("C0") == unbroken.order_status("C0")


def test_the_same_ask_quoted_again_and_again_trades_its_lots_once(tmp_path: Path) -> None:
    # Found by review (2026-12-01): every repeat of an unchanged ask was new liquidity (10 lots taken from 4).
    repeats = [(S + n, "TEST", 98.0, 5.0, 99.0, 4.0) for n in (10, 20, 30)]
    assert sizes(fills_at_tick_2(tmp_path, [(Side.BUY, 99, 10)], quotes=repeats)) == [("C0", 99, 4)]


def test_an_ask_that_moves_away_and_back_offers_its_lots_again(tmp_path: Path) -> None:
    quotes = [(S + 10, "TEST", 98.0, 5.0, 99.0, 4.0), (S + 20, "TEST", 98.0, 5.0, 100.0, 4.0),
              (S + 30, "TEST", 98.0, 5.0, 99.0, 4.0)]  # fmt: skip
    assert sizes(fills_at_tick_2(tmp_path, [(Side.BUY, 99, 10)], quotes=quotes)) == [("C0", 99, 4), ("C0", 99, 4)]


def test_a_trade_through_our_price_leaves_no_queue_ahead_of_us(tmp_path: Path) -> None:
    # Found by review (2026-12-01): a sell at 98 means nothing was left bidding at 99, yet 2 lots stayed "ahead".
    trades = [(S + 10, "TEST", "sell", 98.0, 1.0), (S + 20, "TEST", "sell", 99.0, 3.0)]
    assert sizes(fills_at_tick_2(tmp_path, [(Side.BUY, 99, 10)], trades=trades)) == [("C0", 99, 1), ("C0", 99, 3)]


# -- depth data: the queue model, the book crossing, latency (rules 6 to 8) -------------------------------------

L2_HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
DEPTH_BOOK = [(10, "bid", 100.0, 3.0, True), (10, "bid", 99.0, 5.0, True), (10, "ask", 101.0, 5.0, True)]
"""Bucket 1: bids 100 x 3 and 99 x 5, ask 101 x 5."""


def depth_venue(tmp_path: Path, levels: Sequence[tuple[int, str, float, float, bool]], trades: Sequence[Trade] = (),
                **settings: Any) -> FakeExchangeClient:  # fmt: skip
    rows = [f"x,TEST,{t},{t},{str(snap).lower()},{side},{p:g},{q:g}" for t, side, p, q, snap in [*DEPTH_BOOK, *levels]]
    (tmp_path / "l2.csv").write_text("\n".join([L2_HEADER, *rows]) + "\n")
    files = [MarketFile(tmp_path / "l2.csv", time_unit="us")]
    if trades:
        files.append(MarketFile(tardis_trades(tmp_path / "t.csv", trades), time_unit="us"))
    last = max([row[0] for row in [*DEPTH_BOOK, *levels]] + [row[0] for row in trades])
    rec = Recording.cut(files, {"TEST": TEST}, first_us=0, last_us=last, bucket_us=S, first_mids={"TEST": 100.0},
                        quoted=frozenset({"TEST"}), depth=True)  # fmt: skip
    return FakeExchangeClient(seed=1, fill_model=MarketFills(rec, settings=FillSettings(**settings)))


def depth_fills(venue: FakeExchangeClient, orders: list[tuple[Side, int, int]], *, cancel: bool = False) -> list[Fill]:
    venue.advance(1)
    for n, (side, price, qty) in enumerate(orders):
        placed = venue.place(PlaceRequest(f"C{n}", "TEST", side, price, qty))
        assert placed.accepted and placed.exchange_order_id
        if cancel:
            assert venue.cancel(placed.exchange_order_id).ok
    venue.advance(2)
    return venue.stream_fills()


def test_on_depth_the_queue_starts_as_the_size_at_our_price_even_below_the_best(tmp_path: Path) -> None:
    trades = [(S + 1, "TEST", "sell", 99.0, 4.0), (S + 2, "TEST", "sell", 99.0, 3.0)]
    venue = depth_venue(tmp_path, [], trades)
    assert sizes(depth_fills(venue, [(Side.BUY, 99, 2)])) == [("C0", 99, 2)]  # 5 ahead: 4 then 1 of 3, fill 2


def test_the_book_crossing_our_price_fills_at_most_the_crossing_levels_size_once(tmp_path: Path) -> None:
    levels = [(S + 1, "ask", 99.0, 3.0, False), (S + 2, "ask", 99.0, 3.0, False)]  # the same 3 lots shown again
    venue = depth_venue(tmp_path, levels)
    assert sizes(depth_fills(venue, [(Side.BUY, 99, 5)])) == [("C0", 99, 3)]


def test_a_probabilistic_queue_moves_up_on_cancels_behind_us_that_risk_averse_does_not(tmp_path: Path) -> None:
    # 99 x 5 when we join; 5 more join behind (10); 3 cancel (7); a trade of 5 at 99.
    levels = [(S + 1, "bid", 99.0, 10.0, False), (S + 2, "bid", 99.0, 7.0, False)]
    trades = [(S + 3, "TEST", "sell", 99.0, 5.0)]
    (tmp_path / "a").mkdir()
    averse = depth_venue(tmp_path / "a", levels, trades)
    assert depth_fills(averse, [(Side.BUY, 99, 2)]) == []  # still 5 ahead: the trade of 5 only reaches us
    (tmp_path / "p").mkdir()
    prob = depth_venue(tmp_path / "p", levels, trades, queue_model="prob-power", queue_power=3.0)
    # front 5, back 5: half the 3 canceled were ahead (f(5) / (f(5) + f(5))): 3.5 ahead, the trade leaves 1 for us
    assert sizes(depth_fills(prob, [(Side.BUY, 99, 2)])) == [("C0", 99, 1)]


def test_an_order_is_live_only_after_its_entry_latency(tmp_path: Path) -> None:
    trades = [(S + 400_000, "TEST", "sell", 98.0, 1.0), (S + 600_000, "TEST", "sell", 98.0, 2.0)]
    venue = depth_venue(tmp_path, [], trades, entry_latency_ms=500.0)
    assert sizes(depth_fills(venue, [(Side.BUY, 99, 5)])) == [("C0", 99, 2)]  # the trade at +400 ms came too soon


def test_a_fill_races_a_cancel_until_the_cancel_lands(tmp_path: Path) -> None:
    trades = [(S + 200_000, "TEST", "sell", 98.0, 1.0), (S + 400_000, "TEST", "sell", 98.0, 2.0)]
    venue = depth_venue(tmp_path, [], trades, cancel_latency_ms=300.0)
    fills = depth_fills(venue, [(Side.BUY, 99, 5)], cancel=True)
    assert sizes(fills) == [("C0", 99, 1)]  # traded at +200 ms, before the cancel landed at +300 ms
    assert venue.order_status("C0").state == "canceled" and venue.get_orders() == []
    assert venue.get_positions() == {"TEST": 1}


def test_l1_data_with_a_latency_waits_for_it_too(tmp_path: Path) -> None:
    rec = recording(tmp_path, [], [(S + 400_000, "TEST", "sell", 98.0, 1.0), (S + 600_000, "TEST", "sell", 98.0, 2.0)])
    venue = FakeExchangeClient(seed=1, fill_model=MarketFills(rec, settings=FillSettings(entry_latency_ms=500.0)))
    venue.advance(1)
    assert venue.place(PlaceRequest("C0", "TEST", Side.BUY, 99, 5)).accepted
    venue.advance(2)
    assert sizes(venue.stream_fills()) == [("C0", 99, 2)]


def test_the_venues_index_gives_each_symbol_its_orders_as_filtering_every_order_would() -> None:
    from actors.venues._fill_model import IndexedResting, RestingOrder

    def order(eid: str, symbol: str) -> RestingOrder:
        return RestingOrder(eid, symbol, Side.BUY, 100, 1)

    open_orders = [order("E1", "A"), order("E2", "B"), order("E3", "A")]
    canceling = [order("E4", "B"), order("E5", "A")]
    every = [*open_orders, *canceling]
    groups: list[dict[str, dict[str, RestingOrder]]] = [{}, {}]
    for group, orders in zip(groups, (open_orders, canceling), strict=True):
        for o in orders:
            group.setdefault(o.symbol, {})[o.exchange_order_id] = o
    resting = IndexedResting(lambda: list(every), groups)
    by_symbol = resting.of_symbols({"A", "B", "C"})
    assert by_symbol == {s: [o for o in every if o.symbol == s] for s in ("A", "B")}  # C has none: absent
    assert list(resting) == every and len(resting) == 5 and resting[3] is canceling[0]


def test_the_venue_matches_through_its_index_what_rests_and_no_order_that_left_it(tmp_path: Path) -> None:
    """The index the venue keeps (open orders, canceled ones still trading) finds the moved symbol's orders only;
    orders that filled or were canceled leave it, so they are matched no more."""
    rows = [(S + 1, "TEST", 98.0, 2.0, 99.0, 4.0), (2 * S + 1, "TEST", 97.0, 2.0, 98.0, 9.0)]
    venue = FakeExchangeClient(seed=1, fill_model=MarketFills(recording(tmp_path, rows, [])))
    venue.advance(1)
    assert venue.place(PlaceRequest("C1", "TEST", Side.BUY, 99, 3)).accepted
    assert venue.place(PlaceRequest("C2", "TEST", Side.BUY, 99, 2)).accepted
    assert venue.place(PlaceRequest("C3", "TEST", Side.BUY, 99, 5)).accepted
    assert venue.cancel(venue.get_orders()[2].exchange_order_id).ok
    venue.advance(2)  # the ask comes down to 99 for 4: C1 takes 3, C2 1; C3 was canceled
    assert sizes(venue.stream_fills()) == [("C1", 99, 3), ("C2", 99, 1)]
    venue.advance(3)  # the ask at 98 for 9: what C2 has left (1); C1 filled, so it is matched no more
    assert sizes(venue.stream_fills()) == [("C2", 99, 1)]
    assert venue.get_orders() == []
