"""The frozen clock, instruments, and market data (random walk and replay)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from actors.core._clock import ClockError, FrozenClock
from actors.core._instruments import instrument_for, symbol_names
from actors.core._keyed_random import gauss, uniform
from actors.markets._data import RandomWalkMarket, ReplayMarket


def test_the_frozen_clock_parses_z_and_offsets() -> None:
    assert FrozenClock.parse("2025-01-01T00:00:00Z").iso(5) == "2025-01-01T00:00:05Z"
    assert FrozenClock.parse("2025-01-01T02:00:00+02:00").iso(0) == "2025-01-01T00:00:00Z"
    assert FrozenClock.from_env({"MM_FREEZE_UTC_ISO": "2030-06-01T12:00:00Z"}).iso(0) == "2030-06-01T12:00:00Z"
    assert FrozenClock.from_env({}).iso(0) == "2025-01-01T00:00:00Z"


@pytest.mark.parametrize("text", ["", "  ", "yesterday", "2025-13-01T00:00:00Z", "2025-01-01T00:00:00"])
def test_bad_clock_settings_name_the_variable_and_the_form(text: str) -> None:
    with pytest.raises(ClockError, match=r"MM_FREEZE_UTC_ISO=.* is not an ISO-8601 UTC time \(expected e\.g\."):
        FrozenClock.parse(text)


def test_known_symbols_have_realistic_specs_and_unknown_ones_are_seeded() -> None:
    btc = instrument_for("BTCUSDT", 1)
    assert btc.start_price == Decimal("60000.00") and btc.tick_size == Decimal("0.01")
    assert instrument_for("SYM00001", 7) == instrument_for("SYM00001", 7)
    assert instrument_for("SYM00001", 7) != instrument_for("SYM00001", 8)
    assert Decimal(1) <= instrument_for("SYM00002", 7).start_price < Decimal(1000)
    assert symbol_names(3) == ["SYM00001", "SYM00002", "SYM00003"]


def test_keyed_draws_depend_only_on_their_key() -> None:
    assert uniform(1, "a", 2) == uniform(1, "a", 2) != uniform(1, "a", 3)
    assert 0.0 <= uniform(5, "x") < 1.0
    draws = [gauss(3, "g", i) for i in range(2000)]
    assert abs(sum(draws) / len(draws)) < 0.1


def test_the_random_walk_is_deterministic_and_independent_per_symbol() -> None:
    instruments = {s: instrument_for(s, 1) for s in ("BTCUSDT", "ETHUSDT")}
    alone = RandomWalkMarket({"BTCUSDT": instruments["BTCUSDT"]}, seed=1)
    both = RandomWalkMarket(instruments, seed=1)
    path = [alone.mid_ticks("BTCUSDT", t) for t in range(20)]
    assert path == [both.mid_ticks("BTCUSDT", t) for t in range(20)]
    assert path[0] == 6_000_000 and len(set(path)) > 10
    assert both.mid_ticks("BTCUSDT", 3) == path[3]  # going back recomputes the same walk
    assert RandomWalkMarket(instruments, seed=2).mid_ticks("BTCUSDT", 19) != path[19]
    with pytest.raises(KeyError, match="SOLUSDT"):
        both.mid_ticks("SOLUSDT", 1)


def test_a_recorded_file_replays_and_carries_mids_forward(tmp_path: Path) -> None:
    recording = tmp_path / "mids.csv"
    recording.write_text("tick,symbol,mid_price\n0,BTCUSDT,60000.00\n2,BTCUSDT,60010.50\n")
    market = ReplayMarket.from_csv(recording, {"BTCUSDT": instrument_for("BTCUSDT", 0)})
    assert [market.mid_ticks("BTCUSDT", t) for t in range(4)] == [6_000_000, 6_000_000, 6_001_050, 6_001_050]
    with pytest.raises(KeyError):
        market.mid_ticks("ETHUSDT", 0)


@pytest.mark.parametrize("row", ["x,BTCUSDT,1", "1,NOPE,1", "1,BTCUSDT,abc", "1,BTCUSDT"])
def test_a_malformed_recording_names_the_line(tmp_path: Path, row: str) -> None:
    recording = tmp_path / "bad.csv"
    recording.write_text(f"tick,symbol,mid_price\n{row}\n")
    with pytest.raises(ValueError, match=r"bad\.csv:2"):
        ReplayMarket.from_csv(recording, {"BTCUSDT": instrument_for("BTCUSDT", 0)})


def test_replay_before_the_first_recorded_tick_is_an_error(tmp_path: Path) -> None:
    recording = tmp_path / "late.csv"
    recording.write_text("5,BTCUSDT,60000\n")
    market = ReplayMarket.from_csv(recording, {"BTCUSDT": instrument_for("BTCUSDT", 0)})
    with pytest.raises(KeyError, match="at or before tick 1"):
        market.mid_ticks("BTCUSDT", 1)
