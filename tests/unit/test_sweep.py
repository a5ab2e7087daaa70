"""Sweeps without running a cell: the grid (actors/assembly/_grid.py), the plan of bin/sweep, its table and page."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from actors.assembly._config import KEYS
from actors.assembly._grid import (
    MAX_CELLS,
    Axis,
    Cell,
    GridError,
    Outcome,
    axes_from_table,
    chart_axis,
    columns,
    expand,
    flag_text,
    max_abs_position_usd,
    merge,
    metrics,
    parse_axis,
    row,
)
from actors.cli import _sweep
from actors.cli._sweep import main, plan
from actors.cli._sweep_page import build_page, table_csv

SWEPT_KEYS = [key for key in KEYS if key != "strategy_params"]
NO_ENV: dict[str, str] = {}


def grid(text: str) -> Axis:
    return parse_axis(text, param=False, keys=SWEPT_KEYS)


def param(text: str) -> Axis:
    return parse_axis(text, param=True, keys=SWEPT_KEYS)


DECLARED = {"symmetric": {"spread_bps"}, "inventory-skew": {"spread_bps", "skew_bps"}}


def declares(strategy: str, name: str) -> bool:
    return name in DECLARED[strategy]


# ------------------------------------------------------------ the grid


def test_a_grid_flag_takes_a_key_as_a_config_file_or_a_flag_writes_it_and_its_values_in_order() -> None:
    assert grid("spread-bps=20,5, 10") == Axis("spread_bps", ("20", "5", "10"), source="--grid spread-bps")
    assert param("gamma=0.1,0.2").param and param("gamma=0.1,0.2").values == ("0.1", "0.2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spread_bps", "expected KEY=VALUE,VALUE,..."),
        ("=5,10", "expected KEY=VALUE"),
        ("spread_bps=5,,10", "value 2 is empty"),
        ("spread_bps=5,5.0", "5.0 is given twice"),
        ("spred_bps=5,10", "no such setting; did you mean 'spread_bps'?"),
        ("gamma=0.1", "a strategy's parameter goes in --grid-param"),
        ("journal=a,b", "cannot be swept: each cell would write the same journal"),
        ("freeze_utc_iso=x", "cannot be swept: set it through MM_FREEZE_UTC_ISO"),
    ],
)
def test_a_bad_grid_flag_is_one_line_naming_it(text: str, message: str) -> None:
    with pytest.raises(GridError, match=re.escape(message)) as raised:
        grid(text)
    assert "\n" not in str(raised.value) and str(raised.value).startswith("--grid")


def test_a_grid_file_has_lists_under_grid_and_the_strategys_parameters_under_grid_params() -> None:
    table = {
        "grid": {"strategy": ["symmetric", "inventory-skew"], "spread_bps": [5, 10.5], "params": {"skew_bps": [5]}}
    }
    axes = axes_from_table(table, "--grid-file g.toml", SWEPT_KEYS)
    assert [(a.name, a.values, a.param) for a in axes] == [
        ("strategy", ("symmetric", "inventory-skew"), False), ("spread_bps", (5, 10.5), False),
        ("skew_bps", (5,), True),
    ]  # fmt: skip
    assert axes[2].source == "--grid-file g.toml: [grid.params] skew_bps"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"seed": 1, "grid": {"seed": [1]}}, "unknown key 'seed': a grid file holds [grid] and [grid.params]"),
        ({}, "no [grid] table"),
        ({"grid": {"seed": 1}}, "[grid] seed: expected a list of values, got 1"),
        ({"grid": {"seed": [[1]]}}, "expected text, numbers or true/false"),
        ({"grid": {"strategy": {"gamma": [1]}}}, "[grid] strategy: a table; the strategy's parameters go in"),
        ({"grid": {"seed": [1, 1]}}, "1 is given twice"),
        ({"grid": {"seed": []}}, "[grid] seed: no values"),
    ],
)
def test_a_bad_grid_file_is_one_line_naming_the_file_and_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(GridError, match=re.escape(message)) as raised:
        axes_from_table(table, "--grid-file g.toml", SWEPT_KEYS)
    assert str(raised.value).startswith("--grid-file g.toml: ")


def test_a_setting_given_twice_is_refused_naming_both_places() -> None:
    with pytest.raises(GridError, match=r"--grid seed and --grid-file f: \[grid\] seed: the same setting twice"):
        merge([grid("seed=1,2"), Axis("seed", (3,), source="--grid-file f: [grid] seed")])


def test_cells_are_every_combination_the_last_axis_changing_fastest() -> None:
    cells = expand([grid("seed=1,2"), grid("spread_bps=5,10,20")], base_strategy="symmetric", declares=declares)
    assert [cell.label for cell in cells] == [
        "seed=1 spread_bps=5", "seed=1 spread_bps=10", "seed=1 spread_bps=20",
        "seed=2 spread_bps=5", "seed=2 spread_bps=10", "seed=2 spread_bps=20",
    ]  # fmt: skip
    assert [cell.number for cell in cells] == [1, 2, 3, 4, 5, 6]


def test_a_parameter_is_left_out_where_the_strategy_lacks_it_and_the_cells_that_repeat_run_once() -> None:
    axes = [grid("strategy=symmetric,inventory-skew"), param("skew_bps=5,20")]
    cells = expand(axes, base_strategy="symmetric", declares=declares)
    assert [cell.label for cell in cells] == [
        "strategy=symmetric", "strategy=inventory-skew skew_bps=5", "strategy=inventory-skew skew_bps=20",
    ]  # fmt: skip
    assert cells[0].value(axes[1]) is None and cells[1].value(axes[1]) == "5"


def test_a_parameter_no_strategy_of_the_sweep_declares_is_an_error_not_a_silent_no_op() -> None:
    with pytest.raises(GridError, match=r"--grid-param skew: no strategy of the sweep declares it \(symmetric\)"):
        expand([param("skew=5,20")], base_strategy="symmetric", declares=declares)


def test_a_grid_too_large_is_refused_before_anything_is_built() -> None:
    values = ",".join(str(n) for n in range(200))
    with pytest.raises(GridError, match=f"over the {MAX_CELLS:,} a sweep runs"):
        expand([grid(f"seed={values}"), grid(f"spread_bps={values}")], base_strategy="symmetric", declares=declares)


def test_nothing_to_sweep_is_an_error() -> None:
    with pytest.raises(GridError, match="nothing to sweep"):
        expand([], base_strategy="symmetric", declares=declares)


def test_a_value_is_written_as_its_flag_reads_it_back() -> None:
    assert [flag_text(v) for v in (True, False, 0.1, 5.0, 7, "x")] == ["true", "false", "0.1", "5.0", "7", "x"]


# ------------------------------------------------------------ what a cell came to


def test_max_position_is_the_largest_size_one_symbol_reached_priced_at_the_fill_that_made_it() -> None:
    fills = [
        ("BTC", "BUY", "100.00", "0.3"), ("BTC", "BUY", "101.00", "0.3"),  # +0.6 at 101: 60.6
        ("BTC", "SELL", "90.00", "1.0"),  # -0.4 at 90: 36
        ("ETH", "SELL", "10.00", "5"),  # -5 at 10: 50
    ]  # fmt: skip
    assert max_abs_position_usd(fills) == 60.6
    assert max_abs_position_usd([("A", "BUY", "0.1", "0.1"), ("A", "BUY", "0.2", "0.2")]) == 0.06  # exact sums
    assert max_abs_position_usd([]) == 0.0


def test_a_cells_figures_come_from_its_report() -> None:
    report = {"pnl": {"total_usd": -1.5}, "risk": {"realised_edge_bps": 2.0, "state": "HALTED"},
              "fills": {"count": 4}, "positions": {"total_notional_usd": 10.0}, "orders": {"placed": 9}}  # fmt: skip
    assert metrics(report) == {"pnl_usd": -1.5, "edge_bps": 2.0, "fills": 4, "final_notional_usd": 10.0,
                               "orders_placed": 9, "state": "HALTED"}  # fmt: skip


def test_a_row_leaves_empty_what_a_cell_does_not_have() -> None:
    axes = [grid("strategy=symmetric,inventory-skew"), param("skew_bps=5")]
    failed = Outcome(Cell(1, (("strategy", "symmetric"),), ()), "failed", {}, "run-shadow: error: x", "", "cmd")
    assert dict(zip(columns(axes), row(failed, axes), strict=True)) == {
        "cell": "1", "status": "failed", "strategy": "symmetric", "skew_bps": "", "pnl_usd": "", "edge_bps": "",
        "fills": "", "max_abs_position_usd": "", "final_notional_usd": "", "orders_placed": "", "state": "",
        "error": "run-shadow: error: x", "report": "", "command": "cmd",
    }  # fmt: skip


def test_the_charts_run_along_the_last_numeric_axis_every_cell_has() -> None:
    axes = [grid("strategy=symmetric,inventory-skew"), grid("spread_bps=5,10"), param("skew_bps=5,20")]
    cells = expand(axes, base_strategy="symmetric", declares=declares)
    assert chart_axis(axes, cells).name == "spread_bps"  # skew_bps: not in symmetric's cells
    assert chart_axis([grid("strategy=symmetric,inventory-skew"), grid("seed=1")]).name == "strategy"


# ------------------------------------------------------------ the command's plan


def test_each_cell_is_the_bases_flags_with_its_own_values_on_top(tmp_path: Path) -> None:
    out = tmp_path / "out"
    swept = plan(["--out", str(out), "--market", "sample", "--market", "sample", "--iterations", "5",
                  "--strategy-param", "spread_bps=7", "--edge-threshold", "-1e3", "--grid", "market=sample",
                  "--grid", "spread-bps=5,10", "--grid-param", "quote_notional_usd=500"], NO_ENV)  # fmt: skip
    assert [p.argv for p in swept.cells][1] == (
        "--iterations", "5", "--market", "sample", "--strategy-param", "spread_bps=7",  # --market replaced
        "--strategy-param", "quote_notional_usd=500", "--spread-bps", "10", "--edge-threshold=-1e3",
    )  # fmt: skip
    assert swept.cells[0].command.startswith("bin/run-shadow --iterations 5 --market sample")
    assert out.is_dir() and swept.jobs <= 2


def test_a_grid_file_and_flags_make_one_grid(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text('[grid]\nstrategy = ["symmetric", "inventory-skew"]\n[grid.params]\nskew_bps = [5.0, 20]\n')
    swept = plan(["--out", str(tmp_path / "o"), "--grid-file", str(path), "--grid", "seed=1,2"], NO_ENV)
    assert [p.cell.label for p in swept.cells] == [  # the flags' axes first, then the file's
        "seed=1 strategy=symmetric", "seed=1 strategy=inventory-skew skew_bps=5.0",
        "seed=1 strategy=inventory-skew skew_bps=20", "seed=2 strategy=symmetric",
        "seed=2 strategy=inventory-skew skew_bps=5.0", "seed=2 strategy=inventory-skew skew_bps=20",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--grid", "seed=1,2"], "--out DIR is required"),
        (["--jobs", "0", "--grid", "seed=1"], "--jobs 0: expected from 1 to 1024"),
        (["--jobs", "many", "--grid", "seed=1"], "--jobs 'many': expected a whole number"),
        (["--grid-parm", "a=1"], "unknown flag --grid-parm; did you mean --grid-param?"),
        (["--spred-bps", "5", "--grid", "seed=1"], "unknown flag --spred-bps; did you mean --spread-bps?"),
        (["--spread-bps", "x", "--grid", "seed=1"], "flag --spread-bps: expected a number, got 'x'"),
        (["--journal", "j", "--grid", "seed=1"], "--journal: not in a sweep: each cell would write the same journal"),
        (["--events", "e.csv", "--grid", "seed=1"], "--events: not in a sweep: a sweep writes each cell's own"),
        ([], "nothing to sweep"),
        (["--grid", "spread_bps=5,-1"], "cell 2 (spread_bps=-1): flag --spread-bps: expected a number > 0"),
        (["--grid", "strategy=symmetric,nope", "--grid-param", "spread_bps=5"], "strategy 'nope': no built-in"),
        (["--grid", "strategy=symmetric,nope"], "cell 2 (strategy=nope): flag --strategy 'nope': no built-in"),
        (["--grid", "seed=1", "--market", "/nonexistent/m.csv"], "--market /nonexistent/m.csv: no such file"),
        (["--grid-file", "/nonexistent/g.toml"], "--grid-file /nonexistent/g.toml: no such file"),
        (
            ["--strategy-param", "skew_bps=5", "--grid", "strategy=symmetric,inventory-skew"],
            "flag --strategy-param skew_bps: symmetric has no parameter 'skew_bps'; did you mean 'spread_bps'? "
            "(its parameters: spread_bps, quote_notional_usd); one for some of the strategies a sweep runs goes in "
            "--grid-param",
        ),
        (
            ["--grid", "strategy=symmetric,inventory-skew", "--grid-param", "skew_bps=x"],
            "cell 2 (strategy=inventory-skew skew_bps=x): flag --strategy-param skew_bps: expected a number",
        ),
    ],
)
def test_every_bad_input_is_one_line_on_stderr_exit_2_and_nothing_is_written(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = argv if argv and argv[0] == "--grid" and "--out DIR" in message else ["--out", str(out), *argv]
    assert main(args, NO_ENV) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and captured.err.startswith("sweep: error: ")
    assert message in captured.err, captured.err
    assert not out.exists()


def test_an_output_set_in_the_environment_is_refused_naming_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--out", str(tmp_path / "o"), "--grid", "seed=1"], {"MM_HTML": str(tmp_path / "p.html")}) == 2
    assert "environment MM_HTML: not in a sweep: each cell would write the same file" in capsys.readouterr().err


# ------------------------------------------------------------ the table and the page


def outcomes() -> tuple[list[Axis], list[Outcome]]:
    axes = [grid("strategy=symmetric,inventory-skew"), grid("spread_bps=5,10")]
    cells = expand(axes, base_strategy="symmetric", declares=declares)
    figures = {"pnl_usd": 1.5, "edge_bps": None, "fills": 3, "max_abs_position_usd": 10.0, "state": "ACTIVE"}
    done = [Outcome(cell, "ok", figures, "", f"cells/{cell.number}/report.json", "bin/run-shadow") for cell in cells]
    done[2] = Outcome(cells[2], "failed", {}, "run-shadow: error: <bad>", "", "bin/run-shadow")
    return axes, list(reversed(done))  # finished in any order


def test_the_table_lists_the_cells_in_their_order_whatever_order_they_finished_in() -> None:
    axes, done = outcomes()
    rows = list(csv.DictReader(io.StringIO(table_csv(done, axes))))
    assert [r["cell"] for r in rows] == ["1", "2", "3", "4"]
    assert (rows[2]["status"], rows[2]["pnl_usd"], rows[2]["error"]) == ("failed", "", "run-shadow: error: <bad>")
    assert (rows[0]["strategy"], rows[0]["spread_bps"], rows[0]["pnl_usd"], rows[0]["edge_bps"]) == (
        "symmetric", "5", "1.5", "")  # fmt: skip


def test_the_page_has_a_chart_per_figure_against_the_swept_values_and_the_whole_table() -> None:
    axes, done = outcomes()
    page = build_page(done, axes, title="t", lines=["a line"], bundle="/*plotly*/")
    figures = json.loads(re.search(r'id="figures">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert [f["layout"]["title"]["text"] for f in figures] == [
        "PnL after fees against spread_bps", "Realised edge against spread_bps", "Fills against spread_bps",
        "Max |position| of a symbol against spread_bps",
    ]  # fmt: skip
    pnl = {trace["name"]: (trace["x"], trace["y"]) for trace in figures[0]["data"]}
    assert pnl == {
        "strategy=symmetric": ([5.0, 10.0], [1.5, 1.5]),
        "strategy=inventory-skew": ([5.0, 10.0], [None, 1.5]),
    }
    assert "/*plotly*/" in page and "&lt;bad&gt;" in page and "<bad>" not in page
    assert page.count("<tr>") == 1 + 4 and 'class="sortable"' in page
    plain = build_page(done, axes, title="t", lines=[], bundle=None)
    assert 'id="figures"' not in plain and "Plotly" not in plain and 'class="sortable"' in plain


def test_without_plotly_the_page_is_the_table_and_one_line_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    swept = plan(["--out", str(tmp_path), "--grid", "seed=1,2"], NO_ENV)
    monkeypatch.setitem(sys.modules, "actors.assembly._html_report", None)  # as if plotly were not installed
    said: list[str] = []
    _sweep.write_outputs(swept, [], said.append)
    assert len(said) == 1 and "plotly is not installed (the observe extra" in said[0] and "no charts" in said[0]
    page = (tmp_path / "sweep.html").read_text()
    assert 'id="figures"' not in page and "<table" in page
    assert (tmp_path / "sweep.csv").read_text().splitlines()[0].startswith("cell,status,seed,pnl_usd")


def test_a_stop_signal_while_the_cells_run_is_noted_not_raised_and_the_first_one_counts() -> None:
    before = _sweep.Interrupt()
    with pytest.raises(KeyboardInterrupt):  # before any cell runs: the command ends at once
        before(signal.SIGINT, None)
    during = _sweep.Interrupt()
    during.deferring = True
    during(signal.SIGTERM, None)  # raised here, it could lose a cell just started: only noted
    during(signal.SIGINT, None)  # a second one changes nothing
    assert isinstance(during.stop, _sweep.Stopped) and during.stop.signum == signal.SIGTERM
    during.wait_for_a_cell()  # returns at once: the stop is already noted
