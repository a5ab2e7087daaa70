"""PnL by average cost: the docstring's example, a short, a flip, fees and rebates, and through the risk engine."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.core._pnl import PnlLine, fees_usd
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
