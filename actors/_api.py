"""The engine from Python: :func:`run` takes the configuration keys as named arguments and returns a :class:`Report`.

One path with the command: the arguments become a :class:`ShadowConfig` through
the same :func:`actors.assembly._config.resolve` (defaults < arguments; the environment is
not read), the run is :func:`actors.cli._run_shadow.run`, and :meth:`Report.to_json` is the
text that run returned, so the bytes are those ``bin/run-shadow`` prints for the
same settings.  Nothing is validated here: a bad argument is the config layer's
:class:`ConfigError`, naming the argument.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from actors.assembly._config import KEYS, default_values, resolve
from actors.assembly._strategies import spec_of
from actors.core._strategy import Strategy

PathArg = str | os.PathLike[str]
"""A file or directory, as text or a path object (``pathlib.Path``)."""

PATH_KEYS = ("journal", "instruments", "metrics_file", "events", "html", "record")
"""Keys that name one path: a path object is taken as its text."""

SECTIONS = ("execution", "orders", "fills", "exchange", "positions", "risk", "messages", "pnl")
"""The sections every report has (docs/EXECUTION.md, "The report"); ``market`` and ``latency`` come with some runs."""


class Report:
    """A shadow run's report: its sections as attributes, :meth:`to_dict`, and :meth:`to_json`, the command's bytes.

    ``Report(text)`` reads the JSON line a run printed (``bin/run-shadow``'s
    standard output, or :attr:`RunIncomplete.report <actors.cli._run_shadow.RunIncomplete>`).
    The sections are the report's dicts, field names as docs/EXECUTION.md
    gives them; changing one changes neither :meth:`to_dict` nor :meth:`to_json`.
    """

    __slots__ = ("_data", "_text")

    def __init__(self, text: str) -> None:
        """The report in ``text``; a :class:`ValueError` if it is not one (not JSON, or a section missing)."""
        data = json.loads(text)
        missing = [name for name in SECTIONS if not isinstance(data, dict) or name not in data]
        if missing:
            raise ValueError(f"not a shadow run's report: no {missing[0]!r} section")
        self._text = text
        self._data: dict[str, Any] = data

    @property
    def execution(self) -> dict[str, Any]:
        """What ran: ``iterations``, ``seed``, ``symbols``, ``ticks`` decided, ``resumed_after_tick``."""
        return self._section("execution")

    @property
    def orders(self) -> dict[str, Any]:
        """Order counts: ``placed``, ``filled``, ``canceled``, ``rejected``, ``open``, ``risk_blocks`` ..."""
        return self._section("orders")

    @property
    def fills(self) -> dict[str, Any]:
        """``count`` of fills applied, ``unknown_ignored``."""
        return self._section("fills")

    @property
    def exchange(self) -> dict[str, Any]:
        """The venue: ``errors``, ``faults_injected`` by kind, ``reconciled_placements``."""
        return self._section("exchange")

    @property
    def positions(self) -> dict[str, Any]:
        """``by_symbol`` (``qty``, ``mark``, ``notional_usd``) and ``total_notional_usd``."""
        return self._section("positions")

    @property
    def risk(self) -> dict[str, Any]:
        """The trading ``state``, its ``transitions``, the freeze (``frozen``, ``last_freeze_reason`` ...), the edge."""
        return self._section("risk")

    @property
    def messages(self) -> dict[str, Any]:
        """The runtime's ``dead_letters``, ``handler_failures``, ``restarts``, ``escalations``."""
        return self._section("messages")

    @property
    def pnl(self) -> dict[str, Any]:
        """``realised_usd``, ``unrealised_usd``, ``fees_usd``, ``total_usd``, and the same ``by_symbol``."""
        return self._section("pnl")

    @property
    def market(self) -> dict[str, Any] | None:
        """A recorded market's figures (``buckets``, ``quotes``, ``trades`` ...); None on a synthetic run."""
        section: dict[str, Any] | None = self._data.get("market")
        return section

    @property
    def latency(self) -> dict[str, Any] | None:
        """Tick-to-order latencies of a paced run (``pace="realtime"``); None otherwise."""
        section: dict[str, Any] | None = self._data.get("latency")
        return section

    def _section(self, name: str) -> dict[str, Any]:
        section: dict[str, Any] = self._data[name]
        return section

    def to_dict(self) -> dict[str, Any]:
        """The whole report as plain dicts and lists, a fresh copy (the JSON parsed again)."""
        data: dict[str, Any] = json.loads(self._text)
        return data

    def to_json(self) -> str:
        """The report's text: exactly what ``bin/run-shadow`` prints for the same settings (one line, a newline)."""
        return self._text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Report) and other._text == self._text

    def __hash__(self) -> int:
        return hash(self._text)

    def __repr__(self) -> str:
        execution, risk = self._data["execution"], self._data["risk"]
        return (
            f"<Report: {execution['ticks']} of {execution['iterations']} ticks, {risk['state']}, "
            f"{self._data['orders']['placed']} orders placed, PnL {self._data['pnl']['total_usd']} USD>"
        )


def run(
    *,
    symbols: Sequence[str] | str | None = None,
    symbols_count: int | None = None,
    iterations: int | None = None,
    seed: int | None = None,
    runtime: Literal["pool", "sim", "threads"] | None = None,
    pace: Literal["asap", "realtime"] | None = None,
    tick_ms: float | None = None,
    decision_deadline_ms: float | None = None,
    ticks_in_flight: int | None = None,
    retain_ticks: int | None = None,
    freeze_utc_iso: str | None = None,
    market: Sequence[PathArg] | PathArg | None = None,
    record: PathArg | None = None,
    live_ws_url: str | None = None,
    live_rest_url: str | None = None,
    live_stale_ms: int | None = None,
    live_down_ms: int | None = None,
    live_depth: bool | None = None,
    live_decide: Literal["tick", "message"] | None = None,
    market_format: Literal[
        "auto",
        "tardis-quotes",
        "tardis-book-ticker",
        "tardis-trades",
        "binance-book-ticker",
        "binance-agg-trades",
        "binance-trades",
        "tardis-book-l2",
        "tardis-book-snapshot",
        "binance-depth",
        "binance-ws-capture",
    ]
    | None = None,
    market_time_unit: Literal["auto", "s", "ms", "us", "ns"] | None = None,
    instruments: PathArg | None = None,
    on_bad_row: Literal["error", "skip"] | None = None,
    max_buckets: int | None = None,
    market_levels: int | None = None,
    stale_market_ms: int | None = None,
    volatility_bps: float | None = None,
    strategy: str | type[Strategy] | None = None,
    strategy_params: Mapping[str, float | int | bool | str] | None = None,
    spread_bps: float | None = None,
    quote_notional_usd: float | None = None,
    max_inv: float | None = None,
    max_total: float | None = None,
    edge_threshold: float | None = None,
    edge_min_fills: int | None = None,
    reduce_above_usd: float | None = None,
    reduce_above_total_usd: float | None = None,
    max_order_usd: float | None = None,
    price_band_bps: float | None = None,
    max_open_orders: int | None = None,
    max_orders_per_sec: int | None = None,
    resume_after_ticks: int | None = None,
    edge_window_fills: int | None = None,
    flatten_on_halt: bool | None = None,
    flatten_ticks: int | None = None,
    fill_model: Literal["auto", "market", "random"] | None = None,
    queue_model: Literal["risk-averse", "prob-power", "prob-log"] | None = None,
    queue_power: float | None = None,
    entry_latency_ms: float | None = None,
    cancel_latency_ms: float | None = None,
    latency_from_data: bool | None = None,
    fill_rate: float | None = None,
    reject_rate: float | None = None,
    partial_fill_rate: float | None = None,
    maker_fee_bps: float | None = None,
    place_error_rate: float | None = None,
    cancel_error_rate: float | None = None,
    timeout_rate: float | None = None,
    duplicate_fill_rate: float | None = None,
    out_of_order_rate: float | None = None,
    unknown_fill_rate: float | None = None,
    cancel_race_rate: float | None = None,
    log_level: str | None = None,
    log_format: Literal["json", "text"] | None = None,
    metrics_port: int | None = None,
    metrics_file: PathArg | None = None,
    metrics_symbols: int | None = None,
    events: PathArg | None = None,
    html: PathArg | None = None,
    html_symbols: int | None = None,
    journal: PathArg | None = None,
    journal_fsync: bool | None = None,
    shards: int | None = None,
    cluster: str | None = None,
    shard_restart_timeout: float | None = None,
    venue: str | None = None,
    real_money: bool | None = None,
    keys_file: str | None = None,
    venue_budget_file: str | None = None,
    venue_rest_url: str | None = None,
    venue_stream_url: str | None = None,
    unknown_orders: str | None = None,
    flat_balances: str | None = None,
) -> Report:
    """Run the engine once, as ``bin/run-shadow`` would with the same settings, and return its report.

    Every parameter is a configuration key (``actors/default.toml``, the
    command's ``--flag``): ``run(edge_threshold=8)`` is
    ``bin/run-shadow --edge-threshold 8``.  One left out (None) takes its
    default, and the environment (``MM_*``) is not read: the report depends
    on the arguments alone, and :meth:`Report.to_json` gives the bytes the
    command prints.  ``strategy`` is a built-in's name, ``package.module:Class``
    or the class itself (a :class:`actors.core._strategy.Strategy` defined at a
    module's top level); ``strategy_params`` a dict of its parameters.
    Values have the types a config file's have: a bad one
    (``iterations=0``, ``iterations="20"``, ``runtime="fibers"``) raises
    :class:`actors.ConfigError` (a ``ValueError``) naming it, before anything
    runs; an unknown name is Python's ``TypeError``.

    A run that stops before its last tick, or whose freeze cannot complete,
    raises :class:`actors.RunIncomplete` (its ``report`` is the report's text).
    Logs go through loguru's logger to the handlers the application set up
    (loguru's default: stderr); ``log_level`` and ``log_format`` set up the
    command's handler and change nothing here.  The process's garbage
    collector is tuned for the run (:mod:`actors.runtime._gc_tuning`) and set back after.
    """
    settings = dict(locals())
    return run_settings(settings, typed=True)


def run_settings(settings: Mapping[str, object], *, typed: bool) -> Report:
    """:func:`run` with the settings as a mapping (None: the default); ``typed`` as in :func:`resolve`.

    ``run_shadow_demo`` comes this way too, without ``typed`` (as it always took them).
    """
    from actors.cli._run_shadow import run as run_config  # the engine: imported only when a run is asked for

    config = resolve(overrides=_plain(settings), override_source="argument", typed=typed)
    previous = gc.get_threshold()
    try:
        return Report(run_config(config))
    finally:
        gc.set_threshold(*previous)


def _plain(settings: Mapping[str, object]) -> dict[str, object]:
    """Settings as the config layer reads them: a path object as its text, a tuple of symbols or files as a list."""
    plain = dict(settings)
    for key, value in settings.items():
        if key in PATH_KEYS and isinstance(value, os.PathLike):
            plain[key] = os.fspath(value)
        elif key == "market" and isinstance(value, os.PathLike):
            plain[key] = [os.fspath(value)]
        elif key == "strategy" and isinstance(value, type):
            plain[key] = spec_of(value)  # a class: by its import path, as a flag would name it
        elif key in ("symbols", "market") and isinstance(value, (list, tuple)):
            plain[key] = [os.fspath(item) if isinstance(item, os.PathLike) else item for item in value]
    return plain


def _parameters_doc() -> str:
    """Each key's line for ``help(actors.run)``: its help text and default, from :data:`KEYS` and default.toml."""
    defaults = default_values()
    lines = ["Parameters (their defaults are actors/default.toml's):", ""]
    for key, spec in KEYS.items():
        lines.append(f"    {key}: {spec.help} (default {defaults[key][1]!r})")
    return "\n".join(lines)


if run.__doc__ is not None:  # None under python -OO
    run.__doc__ = run.__doc__.rstrip() + "\n\n    " + _parameters_doc().replace("\n", "\n    ") + "\n"


def run_shadow_demo(
    symbols: Sequence[str] = ("BTCUSDT", "ETHUSDT"),
    iterations: int = 20,
    max_inventory_usd_per_symbol: float = 10_000.0,
    max_total_notional_usd: float = 50_000.0,
    edge_freeze_threshold_bps: float = 3.0,
    **more: Any,
) -> str:
    """Programmatic shadow run: returns exactly the text the CLI prints for the same settings.

    The seed's entry point, kept for its users: new code calls :func:`actors.run`,
    which this goes through, and reads the :class:`actors.Report` it returns.
    The three limits have the names they had here (``max_inv``, ``max_total``
    and ``edge_threshold`` in the config); ``more`` takes any other configuration
    key (``seed``, ``runtime``, ``fill_rate`` ...).  The environment is not read:
    the result depends on the arguments alone.
    """
    settings: dict[str, Any] = {
        "symbols": list(symbols),
        "iterations": iterations,
        "max_inv": max_inventory_usd_per_symbol,
        "max_total": max_total_notional_usd,
        "edge_threshold": edge_freeze_threshold_bps,
        **more,
    }
    return run_settings(settings, typed=False).to_json()
