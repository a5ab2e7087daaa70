"""Risk limits, the edge formula, the freeze; quoting around the mid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.core._quoting import QuotingPolicy
from actors.core._risk import RiskEngine, RiskLimits, edge_halt_reason
from actors.core._trading_state import HaltKind
from actors.core._types import Fill, Instrument, Side

BTC = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.0001"), Decimal("60000"))
ETH = Instrument("ETHUSDT", Decimal("0.01"), Decimal("0.001"), Decimal("3000"))
MID = 6_000_000  # 60,000.00 USD; BTC lots are 0.0001 BTC, so 1,000 lots = 6,000 USD


def engine(
    max_inv: float = 10_000.0, max_total: float = 50_000.0, threshold: float = 3.0, min_fills: int = 1
) -> RiskEngine:
    risk = RiskEngine(RiskLimits(max_inv, max_total, threshold, min_fills), {"BTCUSDT": BTC, "ETHUSDT": ETH})
    risk.update_mark("BTCUSDT", MID)
    risk.update_mark("ETHUSDT", 300_000)
    return risk


def btc_fill(side: Side, price: int, lots: int, n: int = 1) -> Fill:
    return Fill(f"FIL{n:08d}", f"ORD{n:06d}", f"CLI{n:08d}", "BTCUSDT", side, price, lots, 1)


def test_the_reason_of_a_halt_for_edge_has_the_exact_format() -> None:
    assert edge_halt_reason(2.4, 3.0) == "Edge degradation: 2.40 BPS < 3.00 BPS"


def test_an_order_within_limits_is_allowed() -> None:
    assert engine().check_order("BTCUSDT", Side.BUY, MID, 1_000).allowed  # 6,000 USD


def test_the_inventory_limit_blocks_on_both_sides() -> None:
    risk = engine(max_inv=5_000.0)
    for side in (Side.BUY, Side.SELL):
        decision = risk.check_order("BTCUSDT", side, MID, 1_000)
        assert not decision.allowed and decision.reason == "max-inv: BTCUSDT 6000.00 USD > 5000.00 USD"


def test_the_total_notional_limit_counts_every_symbol() -> None:
    risk = engine(max_total=8_000.0)
    risk.apply_fill(Fill("F1", "O1", "C1", "ETHUSDT", Side.BUY, 300_000, 2_000, 1))  # 6,000 USD of ETH
    decision = risk.check_order("BTCUSDT", Side.BUY, MID, 500)  # + 3,000 USD
    assert not decision.allowed and decision.reason.startswith("max-total: 9000.00 USD > 8000.00 USD")
    assert risk.check_order("BTCUSDT", Side.BUY, MID, 300).allowed  # + 1,800 USD fits


def test_an_order_that_reduces_the_position_is_always_allowed() -> None:
    risk = engine(max_inv=5_000.0)
    risk.apply_fill(btc_fill(Side.BUY, MID, 2_000))  # 12,000 USD long: over the limit already
    assert risk.check_order("BTCUSDT", Side.SELL, MID, 1_000).allowed
    assert not risk.check_order("BTCUSDT", Side.BUY, MID, 1).allowed


def test_without_a_mark_the_order_price_is_used() -> None:
    risk = RiskEngine(RiskLimits(5_000.0, 50_000.0, 3.0), {"BTCUSDT": BTC})
    assert not risk.check_order("BTCUSDT", Side.BUY, MID, 1_000).allowed


def test_a_halted_engine_blocks_everything() -> None:
    risk = engine()
    assert risk.halt("operator", kind=HaltKind.OPERATOR) is True
    assert risk.halt("again", kind=HaltKind.OPERATOR) is False
    assert risk.halts == 1 and risk.halt_reason == "operator"
    assert risk.check_order("BTCUSDT", Side.SELL, MID, 1).reason == "frozen"


def test_edge_is_positive_buying_below_and_negative_selling_below_the_mark() -> None:
    risk = engine()
    risk.apply_fill(btc_fill(Side.BUY, 5_994_000, 10))  # 60 USD below a 60,000 USD mark
    assert risk.realised_edge_bps() == pytest.approx(1e4 * 60 / 59_940)
    sell = engine()
    sell.apply_fill(btc_fill(Side.SELL, 5_994_000, 10))
    assert sell.realised_edge_bps() == pytest.approx(-1e4 * 60 / 59_940)


def test_edge_is_volume_weighted_over_all_fills() -> None:
    risk = engine()
    assert risk.realised_edge_bps() is None
    risk.apply_fill(btc_fill(Side.BUY, 5_994_000, 10, 1))
    risk.apply_fill(btc_fill(Side.SELL, 6_006_000, 30, 2))
    edge_usd = (60_000 - 59_940) * 0.001 + (60_060 - 60_000) * 0.003
    volume = 59_940 * 0.001 + 60_060 * 0.003
    assert risk.realised_edge_bps() == pytest.approx(1e4 * edge_usd / volume)
    assert risk.positions() == {"BTCUSDT": -20}


def test_edge_below_threshold_freezes_once_enough_fills_are_in() -> None:
    risk = engine(threshold=3.0, min_fills=2)
    risk.apply_fill(btc_fill(Side.BUY, MID + 1_440, 10, 1))  # edge -2.40 bps
    assert risk.evaluate_edge() is None  # one fill is not enough
    risk.apply_fill(btc_fill(Side.BUY, MID + 1_440, 10, 2))
    assert risk.evaluate_edge() == "Edge degradation: -2.40 BPS < 3.00 BPS"
    assert risk.halted and risk.evaluate_edge() is None


def test_healthy_edge_does_not_freeze() -> None:
    risk = engine(threshold=3.0)
    risk.apply_fill(btc_fill(Side.BUY, 5_994_000, 10))
    assert risk.evaluate_edge() is None and not risk.halted


def test_notional_follows_position_and_mark() -> None:
    risk = engine()
    risk.apply_fill(btc_fill(Side.BUY, MID, 1_000))
    assert risk.notional_usd("BTCUSDT") == pytest.approx(6_000.0)
    risk.update_mark("BTCUSDT", 6_100_000)
    assert risk.total_notional_usd() == pytest.approx(6_100.0)
    risk.apply_fill(btc_fill(Side.SELL, MID, 1_000, 2))
    assert risk.total_notional_usd() == 0.0 and risk.positions() == {} and risk.position("BTCUSDT") == 0


def test_a_decisions_marks_in_one_call_leave_what_one_mark_at_a_time_leaves() -> None:
    one_by_one, at_once = engine(), engine()
    for risk in (one_by_one, at_once):
        risk.apply_fill(btc_fill(Side.BUY, MID, 1_234))
        risk.apply_fill(Fill("FIL00000002", "ORD000002", "CLI00000002", "ETHUSDT", Side.SELL, 300_000, 77, 1))
        risk.apply_fill(btc_fill(Side.SELL, MID, 1_234, 3))  # BTC flat again: its notional leaves the total
    mids = [("BTCUSDT", 6_123_457), ("ETHUSDT", 301_119), ("BTCUSDT", 5_999_999), ("ETHUSDT", 299_001)]
    for symbol, mid in mids:
        one_by_one.update_mark(symbol, mid)
    at_once.update_marks(mids)
    assert at_once.marks == one_by_one.marks and at_once.notional_usd("ETHUSDT") > 0
    assert at_once.total_notional_usd() == one_by_one.total_notional_usd()
    assert at_once._running_total == one_by_one._running_total  # what the total-notional check reads, to the bit


def test_quotes_are_symmetric_around_the_mid_with_usd_size() -> None:
    quote = QuotingPolicy(spread_bps=10.0, quote_notional_usd=1000.0).quote(BTC, MID)
    assert (quote.bid_ticks, quote.ask_ticks) == (MID - 3_000, MID + 3_000)  # 5 bps each side
    assert quote.bid_lots == quote.ask_lots == 167  # 1000 / (60,000 x 0.0001)


def test_quotes_keep_at_least_one_tick_and_one_lot() -> None:
    tiny = Instrument("X", Decimal("0.01"), Decimal("1"), Decimal("1"))
    quote = QuotingPolicy(spread_bps=0.1, quote_notional_usd=0.01).quote(tiny, 100)
    assert (quote.bid_ticks, quote.ask_ticks, quote.bid_lots) == (99, 101, 1)
    assert QuotingPolicy().quote(tiny, 1).bid_ticks == 1


@pytest.mark.parametrize(("spread", "size"), [(0.0, 1.0), (10.0, 0.0), (-1.0, 1.0)])
def test_quoting_policy_refuses_non_positive_settings(spread: float, size: float) -> None:
    with pytest.raises(ValueError, match="> 0"):
        QuotingPolicy(spread, size)
