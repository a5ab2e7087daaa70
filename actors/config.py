"""Configuration: ``conf/default.toml`` < ``--config FILE`` < environment < flags, validated.

Every key is declared once in :data:`KEYS` with its parser; the same parser
reads TOML values, ``MM_<KEY>`` environment variables and flag strings, so a
bad value gets the same clear message wherever it came from.  Errors are
:class:`ConfigError`, one line naming the source, the key and what is expected.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from actors.core.clock import ClockError, FrozenClock
from actors.core.instruments import symbol_names

ENV_PREFIX = "MM_"
FREEZE_ENV = "MM_FREEZE_UTC_ISO"
RUNTIME_NAMES = ("pool", "sim", "threads")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
_SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")


class ConfigError(ValueError):
    """Invalid configuration; the message is the one line shown to the user."""


def _integer(low: int, high: int | None = None) -> Callable[[object], int]:
    def parse(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"expected an integer, got {value!r}")
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"expected an integer, got {value!r}") from None
        if number < low or (high is not None and number > high):
            bound = f">= {low}" if high is None else f"from {low} to {high}"
            raise ValueError(f"expected an integer {bound}, got {number}")
        return number

    return parse


def _number(*, positive: bool = False, unit: bool = False) -> Callable[[object], float]:
    def parse(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"expected a number, got {value!r}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {value!r}")
        if unit and not 0.0 <= number <= 1.0:
            raise ValueError(f"expected a rate in [0, 1], got {value!r}")
        if positive and number <= 0:
            raise ValueError(f"expected a number > 0, got {value!r}")
        return number

    return parse


def _symbols(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise ValueError(f"expected a comma-separated list of symbols, got {value!r}")
    if not items or items == [""]:
        raise ValueError("expected at least one symbol")
    for item in items:
        if not _SYMBOL.match(item):
            raise ValueError(f"invalid symbol {item!r} (expected 2-20 upper-case letters or digits, e.g. BTCUSDT)")
    duplicates = sorted({s for s in items if items.count(s) > 1})
    if duplicates:
        raise ValueError(f"duplicate symbol {duplicates[0]!r}")
    return tuple(items)


def _choice(options: tuple[str, ...], *, upper: bool = False) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = str(value).upper() if upper else str(value)
        if not isinstance(value, str) or text not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return text

    return parse


def _freeze_iso(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 UTC time such as 2025-01-01T00:00:00Z, got {value!r}")
    try:
        FrozenClock.parse(value)
    except ClockError as exc:
        raise ValueError(str(exc)) from None
    return value


@dataclass(frozen=True)
class Key:
    """One configuration key: its parser and its help text."""

    parse: Callable[[object], Any]
    help: str


KEYS: dict[str, Key] = {
    "symbols": Key(_symbols, "comma-separated symbols to quote, e.g. BTCUSDT,ETHUSDT"),
    "symbols_count": Key(_integer(0, 100_000), "quote N generated symbols SYM00001.. instead of --symbols"),
    "iterations": Key(_integer(1, 10_000_000), "market ticks to run"),
    "seed": Key(_integer(0, 2**63 - 1), "seed of the market, fills and rejects"),
    "runtime": Key(_choice(RUNTIME_NAMES), "actor runtime: " + " | ".join(RUNTIME_NAMES)),
    "max_inv": Key(_number(positive=True), "max inventory per symbol, USD"),
    "max_total": Key(_number(positive=True), "max total notional, USD"),
    "edge_threshold": Key(_number(), "freeze when realised edge (bps) falls below this"),
    "edge_min_fills": Key(_integer(1), "fills needed before the edge can freeze trading"),
    "spread_bps": Key(_number(positive=True), "full quoted spread, bps"),
    "quote_notional_usd": Key(_number(positive=True), "size of each quote side, USD"),
    "fill_rate": Key(_number(unit=True), "chance a resting order trades per tick, [0, 1]"),
    "reject_rate": Key(_number(unit=True), "chance the venue rejects a new order, [0, 1]"),
    "partial_fill_rate": Key(_number(unit=True), "chance a trade is partial, [0, 1]"),
    "volatility_bps": Key(_number(), "std-dev of the mid's log return per tick, bps"),
    "retain_ticks": Key(_integer(1, 1_000_000), "ticks a finished order is remembered before it is forgotten"),
    "freeze_utc_iso": Key(_freeze_iso, "frozen clock start (env MM_FREEZE_UTC_ISO)"),
    "log_level": Key(_choice(LOG_LEVELS, upper=True), "loguru level on stderr"),
}


@dataclass(frozen=True)
class ShadowConfig:
    """A validated shadow-run configuration."""

    symbols: tuple[str, ...]
    iterations: int
    seed: int
    runtime: str
    max_inv: float
    max_total: float
    edge_threshold: float
    edge_min_fills: int
    spread_bps: float
    quote_notional_usd: float
    fill_rate: float
    reject_rate: float
    partial_fill_rate: float
    volatility_bps: float
    retain_ticks: int
    freeze_utc_iso: str
    log_level: str


def env_name(key: str) -> str:
    """Environment variable of ``key`` (``max_inv`` -> ``MM_MAX_INV``)."""
    return FREEZE_ENV if key == "freeze_utc_iso" else ENV_PREFIX + key.upper()


def default_values() -> dict[str, Any]:
    """The raw values of ``conf/default.toml`` (shipped inside the package as ``default.toml``)."""
    text = resources.files("actors").joinpath("default.toml").read_text(encoding="utf-8")
    return _check_table(tomllib.loads(text), "conf/default.toml")


def load_toml(path: Path) -> dict[str, Any]:
    """Read a ``--config`` file; every problem is a :class:`ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--config {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config {path}: cannot read: {exc}") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config {path}: invalid TOML: {exc}") from None
    return _check_table(table, f"--config {path}")


def _check_table(table: Mapping[str, Any], source: str) -> dict[str, Any]:
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    return {key: (source, value) for key, value in table.items()}


def resolve(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
    override_source: str = "flag",
) -> ShadowConfig:
    """Merge defaults < file < environment < overrides, then validate every key."""
    layers: dict[str, tuple[str, object]] = default_values()
    if config_file is not None:
        layers.update(load_toml(config_file))
    for key in KEYS:
        name = env_name(key)
        if environ is not None and name in environ:
            layers[key] = (f"environment {name}", environ[name])
    for key, value in (overrides or {}).items():
        if key not in KEYS:
            raise ConfigError(f"unknown setting {key!r} (known: {', '.join(KEYS)})")
        if value is not None:
            layers[key] = (f"{override_source} {_flag(key) if override_source == 'flag' else key}", value)
    missing = sorted(set(KEYS) - set(layers))
    if missing:
        raise ConfigError(f"conf/default.toml: missing key {missing[0]!r}")
    values: dict[str, Any] = {}
    for key, (source, raw) in layers.items():
        try:
            values[key] = KEYS[key].parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    if values["symbols_count"] > 0:
        symbols_source, count_source = layers["symbols"][0], layers["symbols_count"][0]
        if symbols_source.split()[0] == count_source.split()[0] != "conf/default.toml":
            raise ConfigError(f"{symbols_source} and {count_source}: give one of them, not both")
        values["symbols"] = tuple(symbol_names(values["symbols_count"]))
    del values["symbols_count"]
    names = {f.name for f in fields(ShadowConfig)}
    return ShadowConfig(**{k: v for k, v in values.items() if k in names})


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")
