"""PnL by average cost: the docstring's example, a short, a flip, fees and rebates, through the risk engine, and inverse
contracts (PnL in the base coin), worked by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.assembly._report import pnl_section
from actors.core._pnl import InverseLine, PnlLine, fees_usd
from actors.core._risk import RiskEngine, RiskLimits
from actors.core._types import Fill, Instrument, Side


def test_the_documented_example_realises_45_and_marks_13() -> None:
    line = PnlLine()
    for lots, price in ((2, 100.0), (2, 110.0), (-3, 120.0)):
        line.apply(lots, price, 1.0)
    assert (line.position, line.average_usd, line.realised_usd) == (1, 105.0, 45.0)
    assert line.unrealised_usd(118.0, 1.0) == 13.0
    assert line.traded_usd == 780.0
    assert fees_usd(line.traded_usd, 2.0) == pytest.approx(0.156)
    assert fees_usd(line.traded_usd, -1.0) == pytest.approx(-0.078)  # a rebate is a negative fee


def test_a_short_gains_when_the_price_falls_and_a_flip_opens_the_rest_at_the_fill() -> None:
    line = PnlLine()
    line.apply(-4, 50.0, 0.5)  # short 4 lots of 0.5 at 50
    line.apply(6, 40.0, 0.5)  # buy 6: closes 4 (gain 4 x 0.5 x 10 = 20), opens 2 long at 40
    assert (line.position, line.average_usd, line.realised_usd) == (2, 40.0, 20.0)
    assert line.unrealised_usd(41.0, 0.5) == 1.0


def test_a_closed_position_has_nothing_unrealised() -> None:
    line = PnlLine()
    line.apply(3, 10.0, 1.0)
    line.apply(-3, 9.0, 1.0)
    assert (line.position, line.average_usd, line.realised_usd, line.unrealised_usd(99.0, 1.0)) == (0, 0.0, -3.0, 0.0)


def test_the_risk_engine_keeps_the_books_of_every_fill_it_applies() -> None:
    btc = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.001"), Decimal("100"))
    risk = RiskEngine(RiskLimits(1e9, 1e9, -1e9), {"BTCUSDT": btc})
    risk.apply_fill(Fill("F1", "O1", "C1", "BTCUSDT", Side.BUY, 10_000, 2_000, 1))  # 2 BTC at 100.00
    risk.apply_fill(Fill("F2", "O2", "C2", "BTCUSDT", Side.SELL, 10_500, 1_000, 2))  # 1 BTC at 105.00
    line = risk.pnl()["BTCUSDT"]
    assert line.position == 1_000 and line.realised_usd == pytest.approx(5.0)
    assert line.traded_usd == pytest.approx(305.0)


COIN_M = Instrument("BTCUSDPERP", Decimal("0.1"), Decimal("1"), Decimal("50000"), "inverse", Decimal("100"))
"""Binance COIN-M BTCUSD_PERP: contracts of 100 USD, price tick 0.1."""


def test_an_inverse_long_from_a_to_b_makes_n_times_value_times_one_over_a_minus_one_over_b_coin() -> None:
    # Long 10 contracts of 100 USD at 50,000, sold at 55,000:
    # 10 x 100 x (1/50,000 - 1/55,000) = 1,000 x 0.1/55,000 = 0.0018181818... BTC, 100 USD at 55,000.
    line = InverseLine()
    line.apply(10, 50_000.0, 100.0)
    assert line.unrealised_coin(55_000.0, 100.0) == pytest.approx(1_000 / 550_000, rel=1e-12)
    assert line.unrealised_usd(55_000.0, 100.0) == pytest.approx(100.0, rel=1e-12)
    line.apply(-10, 55_000.0, 100.0)
    assert line.position == 0
    assert line.realised_coin == pytest.approx(1_000 / 550_000, rel=1e-12)
    assert line.traded_coin == pytest.approx(1_000 / 50_000 + 1_000 / 55_000, rel=1e-12)
    assert line.realised_usd == 0.0  # an inverse line's books are in coin


def test_an_inverse_short_loses_coin_when_the_price_rises_and_its_average_is_the_harmonic_mean() -> None:
    line = InverseLine()
    line.apply(-1, 40_000.0, 100.0)
    line.apply(-1, 60_000.0, 100.0)  # harmonic mean of 40,000 and 60,000: 2 / (1/40,000 + 1/60,000) = 48,000
    assert line.average_usd == pytest.approx(48_000.0, rel=1e-12)
    line.apply(2, 50_000.0, 100.0)  # closes both: -200 x (1/48,000 - 1/50,000) = -1/6,000 BTC
    assert line.realised_coin == pytest.approx(-200 * (1 / 48_000 - 1 / 50_000), rel=1e-12)
    assert line.realised_coin == pytest.approx(-1 / 6_000, rel=1e-12)


def test_an_inverse_contracts_notional_is_its_usd_value_whatever_the_price() -> None:
    assert COIN_M.notional_usd(500_000, 10) == 1_000.0
    assert COIN_M.notional_usd(600_000, -10) == 1_000.0
    assert COIN_M.lot_value_usd(123_456) == 100.0
    linear = Instrument("BTCUSDT", Decimal("0.1"), Decimal("0.001"), Decimal("50000"), "linear", Decimal("1"))
    spot = Instrument("BTCUSDT", Decimal("0.1"), Decimal("0.001"), Decimal("50000"))
    assert linear.notional_usd(500_000, 10) == spot.notional_usd(500_000, 10) == pytest.approx(500.0)


def test_the_risk_engine_keeps_an_inverse_symbols_books_in_coin_and_the_report_converts_them_at_the_mark() -> None:
    risk = RiskEngine(RiskLimits(1e9, 1e9, -1e9), {"BTCUSDPERP": COIN_M})
    risk.update_mark("BTCUSDPERP", 500_000)
    risk.apply_fill(Fill("F1", "O1", "C1", "BTCUSDPERP", Side.BUY, 500_000, 10, 1))  # 10 contracts at 50,000.0
    risk.update_mark("BTCUSDPERP", 550_000)  # the mark moves to 55,000.0
    assert risk.notional_usd("BTCUSDPERP") == 1_000.0
    line = risk.pnl()["BTCUSDPERP"]
    assert isinstance(line, InverseLine)
    # no fees: unrealised 10 x 100 x (1/50,000 - 1/55,000) BTC = 100 USD at 55,000
    section = pnl_section(risk.pnl(), risk.marks, {"BTCUSDPERP": COIN_M}, 0.0)
    row = section["by_symbol"]["BTCUSDPERP"]
    assert row["unrealised_usd"] == 100.0 and row["total_usd"] == 100.0 and section["total_usd"] == 100.0
    assert row["unrealised_coin"] == round(1_000 / 550_000, 8) and row["usd_per_coin"] == 55_000.0
    # fees are paid in coin: 1 bp of 1,000/50,000 BTC = 0.000002 BTC, 0.11 USD at 55,000
    fees = pnl_section(risk.pnl(), risk.marks, {"BTCUSDPERP": COIN_M}, 1.0)["by_symbol"]["BTCUSDPERP"]
    assert fees["fees_coin"] == 0.000002 and fees["fees_usd"] == 0.11


def test_an_inverse_fill_below_the_mark_has_the_same_edge_in_bps_as_a_linear_one() -> None:
    linear = Instrument("BTCUSDT", Decimal("0.1"), Decimal("1"), Decimal("50000"))
    for instrument in (COIN_M, linear):
        risk = RiskEngine(RiskLimits(1e9, 1e9, -1e9), {instrument.symbol: instrument})
        risk.update_mark(instrument.symbol, 500_050)  # 50,005.0
        risk.apply_fill(Fill("F1", "O1", "C1", instrument.symbol, Side.BUY, 500_000, 3, 1))
        assert risk.realised_edge_bps() == pytest.approx(1.0, rel=1e-9)  # 5 / 50,000 = 1 bp
