"""The bench's replay cases (L1, depth, hftbacktest beside ours) and the comparison's shared pieces.

Nothing here depends on speed: each case runs on a tiny generated file and
must report its fields with figures that follow from the file (rows, ticks),
never a rate compared with a bound.
"""

from __future__ import annotations

import gc
import gzip
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from actors.tools import bench
from actors.tools._hft_compare import INSTALL, PROFILES, _Fills, generate


@pytest.fixture
def gc_thresholds() -> Any:
    """``bench.main`` tunes the collector for the process, as run-shadow does; a test puts it back."""
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_depth_replay_case_replays_a_generated_book_and_reports_updates_a_minute_and_memory() -> None:
    result = bench.depth_replay(4_000)
    assert result["depth_updates"] >= 4_000
    assert result["trade_rows"] > 0
    assert result["ticks"] == 4  # ceil(4,000 / 1,298 updates a second) seconds of 1 s ticks
    assert result["orders_placed"] > 0
    for key in ("wall_s", "cpu_s", "depth_updates_per_minute", "depth_updates_per_cpu_minute", "peak_rss_mb"):
        assert result[key] > 0, key
    assert result["peak_rss_mb"] >= result["peak_rss_mb_before_run"]


def test_the_l1_replay_case_counts_the_trades_in_its_rows() -> None:
    result = bench.market_replay(400, symbols=2, quote_every_us=100_000, trades=True)
    assert result["quote_rows"] == 400  # 2 symbols x 10 quotes a second x 20 s
    assert result["trade_rows"] > 0
    assert result["ticks"] == 20
    assert result["rows_per_cpu_minute"] > result["quote_rows_per_cpu_minute"]


def test_without_hftbacktest_the_versus_case_prints_one_line_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], gc_thresholds: None
) -> None:
    monkeypatch.setitem(sys.modules, "hftbacktest", None)  # an import of it raises ImportError
    assert bench.main(["--versus-hftbacktest", "1000"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [f"bench: --versus-hftbacktest: {INSTALL}"]
    assert "pip install hftbacktest" in err


def test_the_versus_case_puts_hftbacktests_figures_beside_ours_on_the_same_file() -> None:
    result = bench.versus_hftbacktest(3_000)  # hftbacktest comes with the test dependencies (the compare extra)
    ours, theirs = result["ours"], result["hftbacktest"]
    assert ours["depth_updates"] == result["depth_updates"] >= 3_000
    assert ours["ticks"] == theirs["ticks"] == 3
    for key in ("depth_updates_per_minute", "depth_updates_per_cpu_minute", "wall_s", "cpu_s"):
        assert key in ours and key in theirs, key
    assert theirs["convert_s"] > 0 and theirs["first_run_wall_s"] > 0
    assert theirs["orders_placed"] > 0
    assert theirs["stopped"] is None  # its run reached the data's end: the figures cover the whole file


@pytest.mark.parametrize("profile", PROFILES)
def test_the_generated_book_is_the_same_bytes_for_the_same_arguments(tmp_path: Path, profile: str) -> None:
    first = generate(tmp_path / "a", 5, 3, profile)
    again = generate(tmp_path / "b", 5, 3, profile)
    assert first == again
    for name in sorted(p.name for p in (tmp_path / "a").iterdir()):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_the_queues_profile_holds_the_touch_where_the_moving_one_walks_through_the_book(tmp_path: Path) -> None:
    prices = {}
    for profile in PROFILES:
        generate(tmp_path / profile, 30, 11, profile)
        with gzip.open(next((tmp_path / profile).glob("*trades*")), "rt") as handle:
            prices[profile] = {line.split(",")[6] for line in list(handle)[1:]}
    assert len(prices["queues"]) * 5 < len(prices["moving"])  # trades at a few prices: quotes there wait in a queue


def test_an_unknown_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="profile must be one of"):
        generate(tmp_path, 5, 3, "flat")


def _order(qty: float, leaves: float, status: int, exec_price: float = 0.0) -> SimpleNamespace:
    return SimpleNamespace(qty=qty, leaves_qty=leaves, status=status, exec_price=exec_price)


def test_hftbacktests_fills_are_counted_from_its_orders_partial_fills_included() -> None:
    """hftbacktest 2.4.4's own state leaves partial fills out; the comparison counts qty - leaves per order."""
    new, partially, filled, canceled = 1, 5, 3, 4
    fills = _Fills()
    fills.live = {1: (1, 100.0), 2: (-1, 101.0)}
    fills.see({1: _order(5, 3, partially), 2: _order(2, 2, new)}, (new, partially))
    fills.see({1: _order(5, 1, canceled), 2: _order(2, 0, filled, exec_price=101.5)}, (new, partially))
    assert fills.fills == 3
    assert fills.volume == pytest.approx(6.0)
    assert fills.position == pytest.approx(4 - 2)
    assert fills.cash == pytest.approx(-4 * 100.0 + 2 * 101.5)  # a taker's fill at the book's price
    assert fills.live == {}
