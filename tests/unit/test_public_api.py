"""The public face: ``import actors`` and what ``__all__`` names, used as a user would."""

from __future__ import annotations

import gc
import inspect
import io
import os
import pydoc
import re
import subprocess
import sys
import typing
from dataclasses import replace
from pathlib import Path

import pytest

import actors
from actors._api import run_settings
from actors.assembly import _config as config_module
from actors.assembly._system import fake_exchange
from actors.core._exchange import CancelResult, ExchangeOrder, OrderStatus, PlaceRequest, PlaceResult
from actors.core._types import Fill
from actors.markets._files import BAD_ROW_POLICIES, FORMAT_NAMES
from actors.runtime import RUNTIMES
from actors.venues._interface import FillListener

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
DESIGN = ROOT / "docs" / "DESIGN.md"

HOSTILE: dict[str, typing.Any] = {
    "timeout_rate": 0.2,
    "cancel_error_rate": 0.2,
    "place_error_rate": 0.1,
    "duplicate_fill_rate": 0.2,
    "out_of_order_rate": 0.2,
    "unknown_fill_rate": 0.1,
    "cancel_race_rate": 0.2,
}
"""tests/unit/test_golden_reports.py's HOSTILE flags, as arguments."""

AS_ARGUMENTS: dict[str, dict[str, typing.Any]] = {
    "readme-example": {
        "symbols": ["BTCUSDT", "ETHUSDT"], "iterations": 20, "max_inv": 10_000, "max_total": 50_000,
        "edge_threshold": 3.0, "fill_rate": 0.7, "reject_rate": 0.05, "runtime": "sim",
    },
    "hostile": {"symbols_count": 5, "iterations": 40, **HOSTILE, "edge_threshold": -100, "runtime": "sim"},
    "flatten-on-halt": {"edge_threshold": 8, "iterations": 40, "flatten_on_halt": True, "runtime": "sim"},
    "market-sample": {"market": "sample", "edge_threshold": -100, "maker_fee_bps": 1, "runtime": "sim"},
}  # fmt: skip
"""Golden configurations (tests/unit/test_golden_reports.py) as :func:`actors.run`'s arguments."""


def public_section(text: str) -> str:
    """docs/DESIGN.md's "The public face" section."""
    found = re.search(r"^## The public face\n(.*?)(?=^## )", text, re.S | re.M)
    assert found is not None, "docs/DESIGN.md has no section 'The public face'"
    return found.group(1)


def help_text(thing: object) -> str:
    """What ``help(thing)`` shows."""
    out = io.StringIO()
    pydoc.Helper(output=out).help(thing)
    return out.getvalue()


# ------------------------------------------------------------ what is public


def test_every_name_in_all_is_documented_in_the_module_and_in_the_design_and_resolves() -> None:
    doc, design = actors.__doc__ or "", public_section(DESIGN.read_text(encoding="utf-8"))
    for name in actors.__all__:
        assert re.search(rf"\b{name}\b", doc), f"{name} is public but the module's docstring does not name it"
        assert f"`{name}`" in design, f"{name} is public but docs/DESIGN.md's 'The public face' does not name it"
        assert getattr(actors, name) is not None
    assert len(set(actors.__all__)) == len(actors.__all__)


def test_the_design_names_as_public_only_what_all_lists() -> None:
    design = public_section(DESIGN.read_text(encoding="utf-8"))
    named = set(re.findall(r"`(?:actors\.)?([A-Za-z_][A-Za-z0-9_]*)`", design))
    exported = {  # a submodule imported by now is an attribute too, and not a public name
        name for name in named if not name.startswith("__") and not inspect.ismodule(getattr(actors, name, actors))
    }
    assert exported <= set(actors.__all__)
    assert set(actors.__all__) <= named


def test_help_of_the_package_lists_every_public_name() -> None:
    page = help_text(actors)
    for name in actors.__all__:
        assert re.search(rf"\b{name}\b", page), f"help(actors) does not mention {name}"


def test_dir_of_the_package_shows_the_public_names_before_any_is_used() -> None:
    assert set(actors.__all__) <= set(dir(actors))


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'run_shadow'"):
        actors.run_shadow  # noqa: B018


def test_importing_the_package_loads_no_engine_ray_or_plotly() -> None:
    code = "import sys, actors; print(sorted(m for m in sys.modules if m.split('.')[0] in {'actors', 'pykka', 'ray', 'plotly', 'loguru'}))"  # noqa: E501
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "['actors']"


def test_the_runtime_names_are_the_runtimes_create_runtime_builds() -> None:
    assert set(actors.RUNTIME_NAMES) == set(RUNTIMES)
    for name in actors.RUNTIME_NAMES:
        runtime = actors.create_runtime(name)
        try:
            assert isinstance(runtime, actors.Runtime)
        finally:
            runtime.shutdown()


# ------------------------------------------------------------ actors.run's parameters


def test_run_takes_every_configuration_key_by_name_and_nothing_else() -> None:
    parameters = inspect.signature(actors.run).parameters
    assert list(parameters) == list(config_module.KEYS)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is None for p in parameters.values())


def test_a_parameter_with_a_fixed_set_of_values_is_typed_with_exactly_that_set() -> None:
    hints = typing.get_type_hints(actors.run)
    choices = {
        "runtime": config_module.RUNTIME_NAMES,
        "pace": config_module.PACES,
        "fill_model": config_module.FILL_MODELS,
        "market_format": FORMAT_NAMES,
        "on_bad_row": BAD_ROW_POLICIES,
        "log_format": config_module.LOG_FORMATS,
    }
    for key, values in choices.items():
        (literal, _none) = typing.get_args(hints[key])
        assert set(typing.get_args(literal)) == set(values), key


def test_help_of_run_gives_every_parameter_its_help_and_default() -> None:
    page = help_text(actors.run)
    defaults = config_module.default_values()
    for key, spec in config_module.KEYS.items():
        assert f"{key}: {spec.help}" in " ".join(page.split()), key
        assert f"(default {defaults[key][1]!r})" in page, key


@pytest.mark.parametrize(
    ("arguments", "error", "named"),
    [
        ({"iteratons": 20}, TypeError, "iteratons"),
        ({"iterations": 0}, actors.ConfigError, "argument iterations: expected an integer from 1"),
        ({"iterations": "20"}, actors.ConfigError, "argument iterations: expected an integer, got str '20'"),
        ({"fill_rate": 1.5}, actors.ConfigError, "argument fill_rate: expected a rate in [0, 1]"),
        ({"runtime": "fibers"}, actors.ConfigError, "argument runtime: expected one of pool, sim, threads"),
        ({"flatten_on_halt": "yes"}, actors.ConfigError, "argument flatten_on_halt: expected true or false"),
        ({"symbols": ["BTCUSDT", "btcusdt"]}, actors.ConfigError, "argument symbols: duplicate symbol"),
        ({"symbols": [1, 2]}, actors.ConfigError, "argument symbols: expected a comma-separated list of symbols"),
    ],
)
def test_a_bad_parameter_is_a_clear_error_naming_it_before_anything_runs(
    arguments: dict[str, typing.Any], error: type[Exception], named: str
) -> None:
    with pytest.raises(error) as raised:
        actors.run(**arguments)
    assert named in str(raised.value)
    assert issubclass(actors.ConfigError, ValueError)


def test_run_shadow_demo_names_an_unknown_setting() -> None:
    with pytest.raises(actors.ConfigError, match="unknown setting 'iteratons'"):
        actors.run_shadow_demo(iteratons=3)


def test_a_path_object_is_taken_where_a_path_is(tmp_path: Path) -> None:
    report = actors.run(iterations=3, runtime="sim", journal=tmp_path / "journal", symbols=("ETHUSDT",))
    assert (tmp_path / "journal" / "store.journal").exists()
    assert report.execution["symbols"] == ["ETHUSDT"]


def test_run_leaves_the_garbage_collector_as_it_found_it() -> None:
    before = gc.get_threshold()
    actors.run(iterations=2, runtime="sim")
    assert gc.get_threshold() == before


# ------------------------------------------------------------ the report


@pytest.mark.parametrize("name", sorted(AS_ARGUMENTS))
def test_to_json_is_the_commands_bytes_for_the_same_settings(name: str) -> None:
    """The golden reports are what the command prints for these settings (tests/unit/test_golden_reports.py)."""
    report = actors.run(**AS_ARGUMENTS[name])
    assert report.to_json() + "\n" == (GOLDEN / f"{name}.json").read_text()


def test_to_json_is_what_bin_run_shadow_prints() -> None:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("MM_")}
    flags = ["--symbols", "btcusdt,ETHUSDT", "--iterations", "12", "--seed", "7", "--runtime", "pool",
             "--timeout-rate", "0.2", "--edge-threshold", "-50"]  # fmt: skip
    printed = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "run-shadow"), *flags],
        capture_output=True, check=True, env=environ, timeout=120, cwd=ROOT,
    ).stdout  # fmt: skip
    report = actors.run(
        symbols=("btcusdt", "ETHUSDT"), iterations=12, seed=7, runtime="pool", timeout_rate=0.2, edge_threshold=-50
    )
    assert report.to_json().encode() == printed


def test_run_shadow_demo_returns_the_text_of_run() -> None:
    arguments = dict(AS_ARGUMENTS["readme-example"])
    text = actors.run_shadow_demo(
        symbols=arguments.pop("symbols"),
        iterations=arguments.pop("iterations"),
        max_inventory_usd_per_symbol=arguments.pop("max_inv"),
        max_total_notional_usd=arguments.pop("max_total"),
        edge_freeze_threshold_bps=arguments.pop("edge_threshold"),
        **arguments,
    )
    assert text + "\n" == (GOLDEN / "readme-example.json").read_text()


def test_the_reports_sections_are_its_attributes() -> None:
    report = actors.run(**AS_ARGUMENTS["market-sample"])
    whole = report.to_dict()
    for section in ("execution", "orders", "fills", "exchange", "positions", "risk", "messages", "pnl", "market"):
        assert getattr(report, section) == whole[section]
    assert report.latency is None and "latency" not in whole
    assert report.market is not None and report.market["buckets"] == 120
    assert actors.Report(report.to_json()) == report
    assert "120 of 120 ticks" in repr(report)


def test_to_dict_is_a_copy_and_to_json_stays_what_the_run_printed() -> None:
    report = actors.run(iterations=3, runtime="sim")
    text = report.to_json()
    report.to_dict()["orders"]["placed"] = -1
    report.orders["placed"] = -2
    assert report.to_dict()["orders"]["placed"] >= 0
    assert report.to_json() == text


def test_text_that_is_not_a_report_is_refused() -> None:
    with pytest.raises(ValueError, match="no 'execution' section"):
        actors.Report('{"orders": {}}')
    with pytest.raises(ValueError, match="Expecting value"):
        actors.Report("not json")


# ------------------------------------------------------------ venues


class MinimalVenue:
    """A venue written by hand: the interface's eight calls and nothing else (it never fills)."""

    def __init__(self) -> None:
        self.orders: dict[str, ExchangeOrder] = {}

    def place(self, request: PlaceRequest) -> PlaceResult:
        exchange_id = f"X{len(self.orders) + 1}"
        r = request
        self.orders[exchange_id] = ExchangeOrder(exchange_id, r.client_id, r.symbol, r.side, r.price_ticks,
                                                 r.qty_lots, 0, "open")  # fmt: skip
        return PlaceResult(request.client_id, True, exchange_id)

    def cancel(self, exchange_order_id: str) -> CancelResult:
        order = self.orders.get(exchange_order_id)
        if order is None or order.status != "open":
            return CancelResult(exchange_order_id, False, "unknown order")
        self.orders[exchange_order_id] = replace(order, status="canceled")
        return CancelResult(exchange_order_id, True)

    def cancel_all(self) -> list[ExchangeOrder]:
        canceled = []
        for order in self.get_orders():
            self.cancel(order.exchange_order_id)
            canceled.append(self.orders[order.exchange_order_id])
        return canceled

    def get_orders(self) -> list[ExchangeOrder]:
        return [order for order in self.orders.values() if order.status == "open"]

    def get_positions(self) -> dict[str, int]:
        return {}

    def order_status(self, client_id: str) -> OrderStatus:
        for exchange_id, order in self.orders.items():
            if order.client_id == client_id:
                return OrderStatus(client_id, order.status, exchange_id, 0)
        return OrderStatus(client_id, "unknown")

    def stream_fills(self) -> list[Fill]:
        return []

    def subscribe(self, listener: FillListener) -> None:
        pass


CAPABILITIES = ("SupportsAdvance", "SupportsTick", "SupportsHistory", "SupportsClose", "SupportsFaultCounts",
                "WrapsVenue")  # fmt: skip


def capabilities(venue: object) -> set[str]:
    return {name for name in CAPABILITIES if isinstance(venue, getattr(actors, name))}


def test_a_hand_written_venue_is_a_venue_with_no_optional_capability() -> None:
    venue = MinimalVenue()
    assert isinstance(venue, actors.IExchangeClient)
    assert capabilities(venue) == set()

    class Unsubscribable(MinimalVenue):
        subscribe = None  # type: ignore[assignment]  # a venue without a push stream is not one

    assert not isinstance(Unsubscribable(), actors.IExchangeClient)


def test_the_engine_trades_on_a_hand_written_venue() -> None:
    venue = MinimalVenue()
    sim = actors.Sim(1)
    system = actors.System.build(sim, exchange=venue, symbols=["BTCUSDT"], iterations=3)
    try:
        system.start()
        system.run()
        assert system.risk_snapshot().decided_through == 3
        assert system.store_snapshot().placed == len(venue.orders) > 0
        assert set(system.gateway_snapshot().faults_injected.values()) == {0}
        assert system.venue is venue
    finally:
        system.stop()


def test_the_simulated_venue_has_each_capability_it_is_used_for(tmp_path: Path) -> None:
    honest = fake_exchange(config_module.resolve(overrides={"iterations": 3}))
    assert isinstance(honest, actors.FakeExchangeClient) and isinstance(honest, actors.IExchangeClient)
    assert capabilities(honest) == {"SupportsAdvance", "SupportsTick"}
    hostile = fake_exchange(config_module.resolve(overrides={"iterations": 3, **HOSTILE}))
    assert isinstance(hostile, actors.IExchangeClient)
    assert capabilities(hostile) == {"SupportsAdvance", "SupportsFaultCounts", "WrapsVenue"}
    assert isinstance(hostile, actors.WrapsVenue) and isinstance(hostile.inner, actors.FakeExchangeClient)
    journaled = fake_exchange(config_module.resolve(overrides={"iterations": 3}), tmp_path)
    try:
        assert capabilities(journaled) == {"SupportsAdvance", "SupportsTick", "SupportsHistory", "SupportsClose"}
    finally:
        assert isinstance(journaled, actors.SupportsClose)
        journaled.close()


def test_a_venue_built_for_a_run_is_what_the_system_uses() -> None:
    sim = actors.Sim(2)
    system = actors.System.build(sim, iterations=2, **HOSTILE)
    try:
        assert isinstance(system.exchange, actors.WrapsVenue)
        assert system.venue is system.exchange.inner
    finally:
        system.stop()


def test_run_settings_without_types_takes_text_as_the_seed_did() -> None:
    assert run_settings({"iterations": "2", "runtime": "sim"}, typed=False).execution["iterations"] == 2
