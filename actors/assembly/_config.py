"""Configuration: ``conf/default.toml`` < ``--config FILE`` < environment < flags, validated.

Every key is declared once in :data:`KEYS` with its parser; the same parser
reads TOML values, ``MM_<KEY>`` environment variables and flag strings, so a
bad value gets the same clear message wherever it came from.  Errors are
:class:`ConfigError`, one line naming the source, the key and what is expected.
"""

from __future__ import annotations

import difflib
import errno
import math
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from actors.core._clock import ClockError, FrozenClock
from actors.core._instruments import canonical_symbol, symbol_names
from actors.markets._files import BAD_ROW_POLICIES, TIME_UNITS
from actors.markets._files import FORMAT_NAMES as MARKET_FORMATS
from actors.venues._fill_model import QUEUE_MODELS

ENV_PREFIX = "MM_"
FREEZE_ENV = "MM_FREEZE_UTC_ISO"
RUNTIME_NAMES = ("pool", "sim", "threads")
PACES = ("asap", "realtime")
FILL_MODELS = ("auto", "market", "random")
MARKET_TICK_MS = 1000.0
LIVE_PREFIX = "live:"
"""``--market live:VENUE:SYMBOLS``: a venue's public streams, in real time (docs/LIVE.md)."""
LIVE_DECIDE = ("tick", "message")
"""``--live-decide``: a live tick is a wall-clock bucket decided whole, or what arrived, deciding what it moved."""
LIVE_ITERATIONS = 10_000_000
"""A live run with no ``--iterations``: as many ticks as any run may have, so in practice until Ctrl-C."""
"""With --market, a tick is a time bucket of this many ms unless some layer sets ``tick_ms``."""
SYNTHETIC_FAULTS = ("reject_rate", "place_error_rate", "cancel_error_rate", "timeout_rate", "duplicate_fill_rate",
                    "out_of_order_rate", "unknown_fill_rate", "cancel_race_rate")  # fmt: skip
"""Faults the simulated venue makes up.  With --market each is 0 unless some layer sets it: a recorded market is
replayed as recorded (``fill_rate`` and ``partial_fill_rate`` are the random fill model, not faults)."""
SIMULATED = "simulated"
REAL_VENUES = ("binance-testnet", "binance-usdm-demo", "binance")
"""``--venue``'s real venues (docs/LIVE.md, "Orders on a real venue"); ``binance`` is real money."""
REAL_MONEY_VENUES = ("binance",)
"""Venues whose orders are real money: each needs ``--real-money``."""
UNKNOWN_ORDER_POLICIES = ("cancel", "adopt")
LIVE_SAFETY: dict[str, float] = {"max_order_usd": 100.0, "max_orders_per_sec": 2, "quote_notional_usd": 20.0}
"""On a real venue, what no layer above the defaults set: the per-order size check (100 USD, above the quotes'
20 USD), and the order-rate check (2 new orders per symbol per second of the tick clock: two symbols keep under
Binance spot's 50 orders in 10 s).  Set any of them by hand, 0 included, and it is yours."""
REAL_VENUE_RETAIN_S = 60.0
"""On a real venue, how long a finished order is remembered unless ``retain_ticks`` is set: its fills may come
late (a stream that dropped, reports held back, a catch-up after a reconnect), and a fill of an order the store
has forgotten cannot be applied.  ``retain_ticks`` becomes the ticks of this span (at least its default)."""
REAL_VENUE_ONLY = ("real_money", "keys_file", "venue_budget_file", "venue_rest_url", "venue_stream_url",
                   "unknown_orders", "flat_balances")  # fmt: skip
"""Settings that mean something only to a real venue: given with the simulated one, a mistake said so."""
ONLY_REAL_VENUE = "only with a real venue (--venue binance-testnet, binance-usdm-demo, binance), not the simulated one"
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
_SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")
_ASCII_INTEGER = re.compile(r"^[+-]?[0-9]{1,30}$")
_ASCII_NUMBER = re.compile(
    r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$|^[+-]?(inf|infinity|nan)$", re.IGNORECASE
)
"""What a number may look like in a flag or variable: ASCII digits only (float() would take other scripts')."""


class ConfigError(ValueError):
    """Invalid configuration; the message is the one line shown to the user."""


def _integer(low: int, high: int | None = None) -> Callable[[object], int]:
    def parse(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"expected an integer, got {value!r}")
        text = value.strip() if isinstance(value, str) else ""
        if isinstance(value, str) and not _ASCII_INTEGER.match(text):
            raise ValueError(f"expected an integer, got {value!r}")
        try:
            number = int(value)
        except ValueError:  # also: more digits than Python converts
            raise ValueError(f"expected an integer, got {value!r}") from None
        if number < low or (high is not None and number > high):
            bound = f">= {low}" if high is None else f"from {low} to {high}"
            raise ValueError(f"expected an integer {bound}, got {number}")
        return number

    return parse


def _number(
    *, positive: bool = False, unit: bool = False, low: float | None = None, high: float | None = None
) -> Callable[[object], float]:
    def parse(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"expected a number, got {value!r}")
        if isinstance(value, str) and not _ASCII_NUMBER.match(value.strip()):
            raise ValueError(f"expected a number, got {value!r}")
        try:
            number = float(value)
        except (ValueError, OverflowError):  # OverflowError: an integer too large for a float
            raise ValueError(f"expected a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {value!r}")
        if unit and not 0.0 <= number <= 1.0:
            raise ValueError(f"expected a rate in [0, 1], got {value!r}")
        if positive and number <= 0:
            raise ValueError(f"expected a number > 0, got {value!r}")
        if low is not None and number < low:
            raise ValueError(f"expected a number >= {low:g}, got {value!r}")
        if high is not None and number > high:
            raise ValueError(f"expected a number <= {high:g}, got {value!r}")
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
    names = [canonical_symbol(item) for item in items]  # btcusdt, btc-usdt: BTCUSDT, as data files write them
    for item, name in zip(items, names, strict=True):
        if not item.isascii() or not _SYMBOL.match(name):  # a dotless i upper-cases to I
            raise ValueError(f"invalid symbol {item!r} (expected 2-20 letters or digits, e.g. BTCUSDT)")
    seen: dict[str, str] = {}
    for item, name in zip(items, names, strict=True):  # one pass: 100,000 symbols are checked in milliseconds
        if name in seen:
            twice = repr(item) if item == seen[name] else f"{seen[name]!r} and {item!r}"
            raise ValueError(f"duplicate symbol {twice}" + (f" (both {name})" if item != seen[name] else ""))
        seen[name] = item
    return tuple(names)


def _choice(options: tuple[str, ...], *, upper: bool = False) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = str(value).upper() if upper else str(value)
        if not isinstance(value, str) or not value.isascii() or text not in options:  # a dotless i upper-cases to I
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return text

    return parse


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value


def _paths(value: object) -> tuple[str, ...]:
    """Market files: a list (a repeated flag, a TOML list) or one text (``os.pathsep``-separated in MM_MARKET).

    An empty text is no file (``MM_MARKET=""`` turns replay off); a blank entry in a list is a mistake.
    """
    if isinstance(value, str):
        items = [item for item in value.split(os.pathsep) if item.strip()]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        raise ValueError(f"expected a path or a list of paths, got {value!r}")
    paths = tuple(item.strip() for item in items)
    if not all(paths) or any("\0" in path for path in paths):
        raise ValueError(f"expected non-blank paths, got {value!r}")
    return paths


def _balances(value: object) -> tuple[tuple[str, str], ...]:
    """``BTC=1,ETH=0.5``: per asset, a non-negative decimal amount, sorted by asset."""
    if not isinstance(value, str):
        raise ValueError(f"expected ASSET=AMOUNT,... (BTC=1,ETH=0.5), got {value!r}")
    pairs: dict[str, str] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        asset, equals, amount = item.partition("=")
        asset, amount = asset.strip().upper(), amount.strip()
        if not equals or not re.fullmatch(r"[A-Z0-9]{1,20}", asset) or not re.fullmatch(r"[0-9]+(\.[0-9]+)?", amount):
            raise ValueError(f"expected ASSET=AMOUNT,... (BTC=1,ETH=0.5), got {item!r}")
        pairs[asset] = amount
    return tuple(sorted(pairs.items()))


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _freeze_iso(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 UTC time such as 2025-01-01T00:00:00Z, got {value!r}")
    try:
        FrozenClock.parse(value)
    except ClockError as exc:
        raise ValueError(str(exc)) from None
    except (ValueError, OverflowError):  # a time zone that moves the moment out of datetime's range
        raise ValueError(f"{value!r} is out of range once converted to UTC") from None
    return value


@dataclass(frozen=True)
class Key:
    """One configuration key: its parser, its help text, and the TOML types it accepts.

    Flags and environment variables are text by nature; in a TOML file a
    number written as a string (``max_inv = "100"``) is a mistake worth
    naming, so TOML values must already have the right type.  ``unit`` is
    what a number counts in, shown after its default in ``--help``; ``group``
    is the section of :data:`GROUPS` the key is listed under (set by the
    section it is declared in).
    """

    parse: Callable[[object], Any]
    help: str
    toml_types: tuple[type, ...] = (str,)
    metavar: str | None = None
    unit: str = ""
    group: str = ""


_TOML_TYPE_NAMES = {
    int: "an integer", float: "a number", str: "a string", list: "a list", bool: "true or false", dict: "a table",
}  # fmt: skip
_INT: tuple[type, ...] = (int,)
_NUM: tuple[type, ...] = (int, float)
_BOOL: tuple[type, ...] = (bool,)
_RATE = _number(unit=True)

GROUPS: dict[str, str] = {
    "run": "what to trade, for how long, and how ticks come",
    "market": "the synthetic market, or a recorded one to replay (docs/EXECUTION.md)",
    "strategy": "the quotes: which strategy, its parameters, the built-ins' spread and size (docs/STRATEGIES.md)",
    "risk and limits": "pre-trade checks and trading states (ACTIVE, REDUCING, HALTED); 0 turns a check off",
    "simulated venue and faults": "how the fake exchange fills, rejects, charges and fails (docs/RELIABILITY.md)",
    "outputs": "the report is one JSON line on stdout; logs go to stderr; the rest is off unless asked "
    "(docs/OBSERVABILITY.md)",
    "journal": "durability: a killed run resumes where it stopped (docs/RELIABILITY.md)",
    "cluster": "symbols sharded over processes (docs/SCALING.md)",
    "real venue": "orders on a real venue, its testnet by default, beside a live market (docs/LIVE.md)",
}
"""The sections of ``--help`` and of the README's options, in order, with what each is for."""

_RUN = {
    "symbols": Key(
        _symbols,
        "symbols to quote, comma-separated, any case (btcusdt, btc-usdt: BTCUSDT); with --market: the files'",
        (list, str),
    ),
    "symbols_count": Key(
        _integer(0, 100_000), "quote N generated symbols SYM00001.. instead of --symbols; 0 = off", _INT
    ),
    "iterations": Key(
        _integer(1, 10_000_000), "market ticks to run (with --market: the buckets in the data)", _INT, unit="ticks"
    ),
    "seed": Key(_integer(0, 2**63 - 1), "seed of the market, fills and rejects", _INT),
    "runtime": Key(_choice(RUNTIME_NAMES), "actor runtime: threads | pool | sim (the same report on each)"),
    "pace": Key(_choice(PACES), "asap: deterministic, as fast as it goes | realtime: a tick every --tick-ms"),
    "tick_ms": Key(
        _number(positive=True, high=86_400_000.0),
        "realtime: time between market ticks; with --market: a tick's time bucket, 1000 unless set (at most a day)",
        _NUM,
        unit="ms",
    ),
    "decision_deadline_ms": Key(
        _number(positive=True, high=86_400_000.0),
        "realtime: risk decides a tick this long after its first input, complete or not (at most a day)",
        _NUM,
        unit="ms",
    ),
    "ticks_in_flight": Key(
        _integer(1, 1000), "asap: ticks the feed runs ahead of risk's decisions", _INT, unit="ticks"
    ),
    "retain_ticks": Key(
        _integer(1, 1_000_000), "a finished order is remembered this long before it is forgotten", _INT, unit="ticks"
    ),
    "freeze_utc_iso": Key(_freeze_iso, "frozen clock start (env MM_FREEZE_UTC_ISO)"),
}

_MARKET = {
    "market": Key(
        _paths,
        "recorded market file or directory to replay (repeat for more; 'sample' is the packaged sample), or a live "
        "one: live:VENUE:SYMBOLS (live:binance:btcusdt,ethusdt; venues binance, binance-usdm; docs/LIVE.md)",
        (list, str),
        metavar="PATH",
    ),
    "record": Key(_text, "live market: write what arrived here, as files --market DIR replays", metavar="DIR"),
    "live_ws_url": Key(_text, 'live market: WebSocket base URL ("": the venue\'s own)', metavar="URL"),
    "live_rest_url": Key(
        _text, 'live market: REST base URL, for depth snapshots ("": the venue\'s own)', metavar="URL"
    ),
    "live_stale_ms": Key(
        _integer(1, 86_400_000), "live market: a symbol silent this long is stale, its quotes pulled", _INT, unit="ms"
    ),
    "live_down_ms": Key(
        _integer(1, 86_400_000),
        "live market: every symbol stale this long halts trading for good (Market down)",
        _INT,
        unit="ms",
    ),
    "live_depth": Key(
        _boolean, "live market: keep each symbol's depth book; a gap in it makes the symbol stale", _BOOL, "BOOL"
    ),
    "live_decide": Key(
        _choice(LIVE_DECIDE),
        "live market: tick (a wall-clock bucket of --tick-ms, decided whole; its recording replays exactly) | "
        "message (a tick as messages arrive, deciding only the symbols they moved: lower latency, no exact replay; "
        "docs/LIVE.md)",
        metavar="PACE",
    ),
    "market_format": Key(_choice(MARKET_FORMATS), "format of the market files: " + " | ".join(MARKET_FORMATS)),
    "market_time_unit": Key(
        _choice(TIME_UNITS),
        "unit of the market files' timestamps: auto (told from each file's first row) | " + " | ".join(TIME_UNITS[1:]),
    ),
    "instruments": Key(_text, "TOML table of tick_size and lot_size by symbol", metavar="FILE"),
    "on_bad_row": Key(
        _choice(BAD_ROW_POLICIES),
        "a market row out of time order, crossed or malformed: error | skip (counted)",
        metavar="POLICY",
    ),
    "max_buckets": Key(
        _integer(1, 10_000_000),
        "with --market: refuse data spanning more ticks than this, unless --iterations is set (files of "
        "different dates can span months)",
        _INT,
        unit="ticks",
    ),
    "market_levels": Key(
        _integer(0, 50),
        "with depth data: the book's levels a side each market tick carries to the strategy (0: none)",
        _INT,
        unit="levels",
    ),
    "stale_market_ms": Key(
        _integer(0, 86_400_000),
        "with --market files: a symbol with no quote for longer than this has its quotes pulled until one comes "
        "(0: off)",
        _INT,
        unit="ms",
    ),
    "volatility_bps": Key(
        _number(low=0.0, high=1_000.0),
        "synthetic market: std-dev of the mid's log return per tick (0 to 1,000)",
        _NUM,
        unit="bps",
    ),
}


def _strategy_name(value: object) -> str:
    """A built-in's name or ``package.module:Class`` (whether it exists is checked once the layers are merged)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a strategy's name or package.module:Class, got {value!r}")
    return value.strip()


def _strategy_params(value: object) -> tuple[tuple[str, object], ...]:
    """Parameters as (name, raw value): a table (a file's, Python's), ``KEY=VALUE`` texts (repeated flags), or one
    text of them comma-separated (``MM_STRATEGY_PARAMS``).  Their values are checked against the strategy's."""
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        if isinstance(value, str):
            items = [item for item in value.split(",") if item.strip()]
        elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            items = list(value)
        else:
            raise ValueError(f"expected KEY=VALUE or a table of parameters, got {value!r}")
        pairs = []
        for item in items:
            name, equals, text = item.partition("=")
            if not equals or not name.strip():
                raise ValueError(f"expected KEY=VALUE, got {item!r}")
            pairs.append((name.strip(), text.strip()))
    for name, _ in pairs:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"expected a parameter name (letters, digits, _), got {name!r}")
    return tuple(pairs)


_STRATEGY = {
    "strategy": Key(
        _strategy_name,
        "symmetric | inventory-skew | avellaneda-stoikov | package.module:Class (docs/STRATEGIES.md)",
        metavar="NAME",
    ),
    "strategy_params": Key(
        _strategy_params,
        "a parameter of the strategy, KEY=VALUE (repeat for more; a config file's [strategy] table)",
        (dict, list),
        metavar="KEY=VALUE",
    ),
    "spread_bps": Key(_number(positive=True, high=10_000.0), "full quoted spread (at most 10,000)", _NUM, unit="bps"),
    "quote_notional_usd": Key(
        _number(positive=True, high=1e9),
        "size of each quote side (at most 1e9: lots must fit the wire)",
        _NUM,
        unit="USD",
    ),
}

_RISK = {
    "max_inv": Key(_number(positive=True), "max inventory per symbol: |position| x mark", _NUM, unit="USD"),
    "max_total": Key(_number(positive=True), "max total notional: sum of |position| x mark", _NUM, unit="USD"),
    "edge_threshold": Key(_number(), "halt when the realised edge falls below this", _NUM, unit="bps"),
    "edge_min_fills": Key(_integer(1), "fills needed before the edge can halt trading", _INT, unit="fills"),
    "reduce_above_usd": Key(
        _number(low=0.0), "REDUCING: a symbol above this |position| x mark is reduce-only; 0 = off", _NUM, unit="USD"
    ),
    "reduce_above_total_usd": Key(
        _number(low=0.0), "REDUCING: every symbol is reduce-only above this total notional; 0 = off", _NUM, unit="USD"
    ),
    "max_order_usd": Key(_number(low=0.0), "block an order above this notional; 0 = off", _NUM, unit="USD"),
    "price_band_bps": Key(
        _number(low=0.0),
        "block an order priced further than this from the mid (fat finger); 0 = off",
        _NUM,
        unit="bps",
    ),
    "max_open_orders": Key(
        _integer(0, 1_000_000), "block orders beyond this many resting per symbol; 0 = off", _INT, unit="orders"
    ),
    "max_orders_per_sec": Key(
        _integer(0, 1_000_000),
        "block orders beyond this many new per symbol per second of the tick clock; 0 = off",
        _INT,
        unit="orders",
    ),
    "resume_after_ticks": Key(
        _integer(0, 10_000_000),
        "a halt for edge ends this many ticks later if the edge is back; 0 = final",
        _INT,
        unit="ticks",
    ),
    "edge_window_fills": Key(_integer(1, 100_000), "fills whose edge, re-marked, decides a resume", _INT, unit="fills"),
    "flatten_on_halt": Key(
        _boolean, "after a halt's cancels, reduce-only orders at the touch bring positions to zero", _BOOL, "BOOL"
    ),
    "flatten_ticks": Key(
        _integer(1, 1_000_000), "ticks after a halt that flattening orders are sent for", _INT, unit="ticks"
    ),
}

_VENUE = {
    "fill_model": Key(
        _choice(FILL_MODELS), "auto (market with --market, else random) | market: fills from the recording | random"
    ),
    "queue_model": Key(
        _choice(QUEUE_MODELS),
        "market fills on depth data: how an order's queue moves as its level shrinks: " + " | ".join(QUEUE_MODELS),
    ),
    "queue_power": Key(
        _number(positive=True, high=100.0), "prob-power: the n of the queue's weight f(x) = x ** n", _NUM
    ),
    "entry_latency_ms": Key(
        _number(low=0.0, high=60_000.0),
        "market fills: an order reaches the venue this long after it is sent (market time)",
        _NUM,
        unit="ms",
    ),
    "cancel_latency_ms": Key(
        _number(low=0.0, high=60_000.0),
        "market fills: a cancel takes effect this long after it is sent; the order trades until then",
        _NUM,
        unit="ms",
    ),
    "latency_from_data": Key(
        _boolean,
        "market fills: add the symbol's feed latency (its rows' local minus exchange time) to both latencies",
        _BOOL,
        "BOOL",
    ),
    "fill_rate": Key(_RATE, "random fills: chance a resting order trades per tick, [0, 1]", _NUM),
    "reject_rate": Key(_RATE, "chance the venue rejects a new order, [0, 1]; with --market 0 unless set", _NUM),
    "partial_fill_rate": Key(_RATE, "chance a trade is partial, [0, 1]", _NUM),
    "maker_fee_bps": Key(
        _number(low=-1_000.0, high=1_000.0),
        "maker fee on every fill, of notional (negative: a rebate)",
        _NUM,
        unit="bps",
    ),
    "place_error_rate": Key(_RATE, "fault: chance a placement fails in transport, [0, 1]", _NUM),
    "cancel_error_rate": Key(_RATE, "fault: chance a cancel fails in transport, [0, 1]", _NUM),
    "timeout_rate": Key(_RATE, "fault: chance a place or cancel gets no answer, [0, 1]", _NUM),
    "duplicate_fill_rate": Key(_RATE, "fault: chance a fill is streamed twice, [0, 1]", _NUM),
    "out_of_order_rate": Key(_RATE, "fault: chance a batch of fills is reordered, [0, 1]", _NUM),
    "unknown_fill_rate": Key(_RATE, "fault: chance a batch of fills carries one for no known order, [0, 1]", _NUM),
    "cancel_race_rate": Key(_RATE, "fault: chance an order fills just before its cancel, [0, 1]", _NUM),
}

_OUTPUTS = {
    "log_level": Key(_choice(LOG_LEVELS, upper=True), "stderr's level: " + " | ".join(LOG_LEVELS)),
    "log_format": Key(_choice(LOG_FORMATS), "stderr log lines: text (readable) | json (one JSON object a line)"),
    "metrics_port": Key(
        _integer(0, 65_535), "serve Prometheus metrics on this port while the run goes on; 0 = off", _INT, "PORT"
    ),
    "metrics_file": Key(_text, "write the Prometheus text format to this file at the end", metavar="PATH"),
    "metrics_symbols": Key(
        _integer(0, 1000),
        "the first N symbols get a metric series of their own (bounds cardinality)",
        _INT,
        unit="symbols",
    ),
    "events": Key(_text, "write every order event of the run to this CSV file", metavar="PATH"),
    "html": Key(_text, "write a self-contained HTML report of the run (plotly) to this file", metavar="PATH"),
    "html_symbols": Key(
        _integer(1, 100), "the HTML report charts the first N symbols one by one", _INT, unit="symbols"
    ),
}

_JOURNAL = {
    "journal": Key(
        _text, "directory of the order store's and the venue's journals; a run resumes from them", metavar="DIR"
    ),
    "journal_fsync": Key(
        _boolean, "fsync the journal at every flush (survives a power cut, costs time)", _BOOL, "BOOL"
    ),
}

_CLUSTER = {
    "shards": Key(
        _integer(1, 64), "symbols sharded over this many processes (Ray actors; needs the cluster extra)", _INT
    ),
    "cluster": Key(
        _text,
        "where shards run: local (a Ray instance for the run; the default above 1 shard) | ADDRESS of a Ray cluster"
        " | in-process (no Ray: the same report, no speed-up)",
        metavar="ADDRESS",
    ),
    "shard_restart_timeout": Key(
        _number(positive=True, high=3_600.0),
        "a shard that dies and is not back within this long freezes every shard",
        _NUM,
        "SECONDS",
        unit="s",
    ),
}


_REAL_VENUE = {
    "venue": Key(
        _choice((SIMULATED, *REAL_VENUES)),
        "where orders go: simulated (the fake exchange) | binance-testnet (Binance spot's testnet; needs --market "
        "live:binance:SYMBOLS and keys) | binance-usdm-demo | binance (real money: needs --real-money)",
        metavar="NAME",
    ),
    "real_money": Key(
        _boolean, "allow a venue whose orders are real money (--venue binance, or a URL not a testnet's)", _BOOL, "BOOL"
    ),
    "keys_file": Key(
        _text,
        'real venue: a file of two lines, the API key then its secret, that only its owner may read ("": the '
        "variables BINANCE_API_KEY and BINANCE_API_SECRET)",
        metavar="FILE",
    ),
    "venue_budget_file": Key(
        _text,
        "real venue: a file holding the venue's rate budget, shared by every run on this host that names it (give "
        'each account its own; "": this run keeps its own budget)',
        metavar="FILE",
    ),
    "venue_rest_url": Key(_text, 'real venue: REST base URL ("": the venue\'s own)', metavar="URL"),
    "venue_stream_url": Key(_text, 'real venue: user data stream base URL ("": the venue\'s own)', metavar="URL"),
    "unknown_orders": Key(
        _choice(UNKNOWN_ORDER_POLICIES),
        "real venue: orders open there at the start that this run did not place: cancel | adopt (then managed)",
        metavar="POLICY",
    ),
    "flat_balances": Key(
        _balances,
        "real venue, spot: per asset, the balance that counts as flat (BTC=1,ETH=10); the rest is the position",
        metavar="ASSET=AMOUNT",
    ),
}


def _grouped(*sections: tuple[str, dict[str, Key]]) -> dict[str, Key]:
    """The sections' keys in one table, each knowing its group."""
    keys: dict[str, Key] = {}
    for group, section in sections:
        if group not in GROUPS:
            raise ValueError(f"no such group {group!r}")
        keys.update({name: replace(spec, group=group) for name, spec in section.items()})
    return keys


KEYS: dict[str, Key] = _grouped(
    ("run", _RUN),
    ("market", _MARKET),
    ("strategy", _STRATEGY),
    ("risk and limits", _RISK),
    ("simulated venue and faults", _VENUE),
    ("outputs", _OUTPUTS),
    ("journal", _JOURNAL),
    ("cluster", _CLUSTER),
    ("real venue", _REAL_VENUE),
)
"""Every configuration key, by group, in the order ``--help`` lists them."""


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
    reduce_above_usd: float
    reduce_above_total_usd: float
    max_order_usd: float
    price_band_bps: float
    max_open_orders: int
    max_orders_per_sec: int
    resume_after_ticks: int
    edge_window_fills: int
    flatten_on_halt: bool
    flatten_ticks: int
    spread_bps: float
    quote_notional_usd: float
    fill_rate: float
    reject_rate: float
    partial_fill_rate: float
    volatility_bps: float
    place_error_rate: float
    cancel_error_rate: float
    timeout_rate: float
    duplicate_fill_rate: float
    out_of_order_rate: float
    unknown_fill_rate: float
    cancel_race_rate: float
    pace: str
    tick_ms: float
    decision_deadline_ms: float
    ticks_in_flight: int
    retain_ticks: int
    journal: str
    journal_fsync: bool
    market: tuple[str, ...]
    market_format: str
    fill_model: str
    instruments: str
    maker_fee_bps: float
    on_bad_row: str
    freeze_utc_iso: str
    log_level: str
    data_identity: tuple[tuple[str, str, int, str], ...] = ()
    """(role, file name, size, hash) of every data file the run reads (market files, instruments):
    set by :func:`actors.assembly._market_setup.settle`, part of a journal's fingerprint."""

    @property
    def symbols_from_market(self) -> bool:
        """True until settled: with --market and no --symbols, the symbols are those of the files."""
        return bool(self.market) and not self.symbols

    @property
    def iterations_from_market(self) -> bool:
        """True until settled: with --market and no --iterations, the run has as many ticks as the data has buckets."""
        return bool(self.market) and self.iterations == 0
    log_format: str = "text"
    metrics_port: int = 0
    metrics_file: str = ""
    metrics_symbols: int = 10
    events: str = ""
    html: str = ""
    html_symbols: int = 4
    shards: int = 1
    cluster: str = ""
    shard_restart_timeout: float = 30.0
    strategy: str = "symmetric"
    """A built-in's name or ``package.module:Class`` (:mod:`actors.assembly._strategies`)."""
    strategy_params: tuple[tuple[str, Any], ...] = ()
    """The strategy's parameters given by some layer, checked and typed, sorted by name (defaults not included)."""

    @property
    def default_strategy(self) -> bool:
        """The run quotes as every run did before strategies could be chosen: ``symmetric`` with no parameter."""
        return self.strategy == "symmetric" and not self.strategy_params
    market_time_unit: str = "auto"
    max_buckets: int = 200_000
    market_levels: int = 5
    stale_market_ms: int = 60_000
    queue_model: str = "risk-averse"
    queue_power: float = 3.0
    entry_latency_ms: float = 0.0
    cancel_latency_ms: float = 0.0
    latency_from_data: bool = False
    record: str = ""
    live_ws_url: str = ""
    live_rest_url: str = ""
    live_stale_ms: int = 5_000
    live_down_ms: int = 30_000
    live_depth: bool = False
    live_decide: str = "tick"
    venue: str = SIMULATED
    """Where orders go: the simulated venue, or one of :data:`REAL_VENUES`."""
    real_money: bool = False
    keys_file: str = ""
    venue_budget_file: str = ""
    venue_rest_url: str = ""
    venue_stream_url: str = ""
    unknown_orders: str = "cancel"
    flat_balances: tuple[tuple[str, str], ...] = ()

    @property
    def real_venue(self) -> bool:
        """Orders go to a real venue (``--venue`` other than ``simulated``)."""
        return self.venue != SIMULATED

    @property
    def live(self) -> bool:
        """The market is a live one (``--market live:VENUE:SYMBOLS``)."""
        return len(self.market) == 1 and self.market[0].startswith(LIVE_PREFIX)


def env_name(key: str) -> str:
    """Environment variable of ``key`` (``max_inv`` -> ``MM_MAX_INV``)."""
    return FREEZE_ENV if key == "freeze_utc_iso" else ENV_PREFIX + key.upper()


def default_values() -> dict[str, Any]:
    """The raw values of ``conf/default.toml`` (shipped inside the package as ``default.toml``)."""
    text = resources.files("actors").joinpath("default.toml").read_text(encoding="utf-8")
    return _check_table(tomllib.loads(text), "conf/default.toml")


def load_toml(path: Path) -> dict[str, Any]:
    """Read a ``--config`` file; every problem is a :class:`ConfigError`."""
    input_file("--config", str(path))  # a FIFO would block for ever, a device (/dev/zero) never end
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--config {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config {path}: cannot read: {exc}") from None
    try:
        table = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:  # huge integers, deep nesting
        raise ConfigError(f"--config {path}: invalid TOML: {str(exc).splitlines()[0][:200]}") from None
    return _check_table(table, f"--config {path}")


def _check_table(table: Mapping[str, Any], source: str) -> dict[str, Any]:
    table = _strategy_table(table, source)
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        key = unknown[0]
        if isinstance(table[key], dict):
            raise ConfigError(
                f"{source}: unknown key {key!r}: a table; the keys go at the top level, not under [{key}]"
            )
        raise ConfigError(f"{source}: unknown key {key!r}{did_you_mean(key, KEYS)}")
    return {key: (source, value) for key, value in table.items()}


def _strategy_table(table: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    """A ``[strategy]`` table (``name`` and the parameters) as the keys ``strategy`` and ``strategy_params``."""
    section = table.get("strategy")
    if not isinstance(section, dict):
        return table
    if "strategy_params" in table:
        raise ConfigError(f"{source}: give the parameters in [strategy] or as strategy_params, not both")
    flat = {key: value for key, value in table.items() if key != "strategy"}
    params = dict(section)
    if "name" in params:
        flat["strategy"] = params.pop("name")
    if params:
        flat["strategy_params"] = params
    return flat


KEYS_LISTED = "the keys are run-shadow's flags with _ for - (run-shadow --help lists them)"


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``"; did you mean 'fill_rate'?"`` for a near miss of ``word`` among ``known``, else where the keys are listed.

    Listing every key (there are over 50) buried the one the user meant; the
    closest one, or where to look, is what a typo needs.
    """
    close = closest(word, known)
    return f"; did you mean {close!r}?" if close else f"; {KEYS_LISTED}"


def closest(word: str, known: Iterable[str]) -> str | None:
    """The name in ``known`` that ``word`` most likely misspells (difflib), or the one name it is part of, or None.

    The cut-off (0.7, above difflib's 0.6) keeps suggestions a person would
    make: ``colour`` is not ``cluster``, ``max_inventory`` is ``max_inv``.
    """
    names = list(known)
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.7)
    if close:
        return close[0]
    containing = [name for name in names if len(word) >= 3 and word in name]  # fsync: journal_fsync
    return containing[0] if len(containing) == 1 else None


def resolve(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
    override_source: str = "flag",
    typed: bool = False,
) -> ShadowConfig:
    """Merge defaults < file < environment < overrides, validating every value of every layer.

    A value is checked even where a higher layer overrides it: a broken
    config file or ``MM_*`` variable is an error whatever the flags say.
    ``symbols`` and ``symbols_count`` are one choice: the one given at the
    higher layer wins; both at the same layer (above the defaults) is an error.
    ``typed``: the overrides are Python values (:func:`actors.run`), held to
    the types a config file's are: ``iterations="20"`` is refused there as
    ``iterations = "20"`` is in a file, while a flag's text is parsed.
    """
    layers: list[dict[str, tuple[str, object]]] = [default_values()]
    if config_file is not None:
        layers.append(load_toml(config_file))
    layers.append(
        {key: (f"environment {env_name(key)}", environ[env_name(key)]) for key in KEYS if env_name(key) in environ}
        if environ is not None
        else {}
    )
    top: dict[str, tuple[str, object]] = {}
    for key, value in (overrides or {}).items():
        if key not in KEYS:
            raise ConfigError(f"unknown setting {key!r}{did_you_mean(key, KEYS)}")
        if value is not None:
            source = f"{override_source} {_flag(key) if override_source == 'flag' else key}"
            if typed:
                _check_type(key, source, value)
            top[key] = (source, value)
    layers.append(top)
    values: dict[str, Any] = {}
    rank: dict[str, int] = {}
    for layer in layers[1:]:
        if "symbols" in layer and "symbols_count" in layer:
            count_source, count = layer["symbols_count"]
            if _parse("symbols_count", count_source, count, toml=count_source.startswith("--config ")) > 0:
                raise ConfigError(f"{layer['symbols'][0]} and {count_source}: give one of them, not both")
    for level, layer in enumerate(layers):
        for key, (source, raw) in layer.items():
            values[key] = _parse(key, source, raw, toml=source.startswith(("conf/", "--config ")))
            rank[key] = level
    missing = sorted(set(KEYS) - set(values))
    if missing:
        raise ConfigError(f"conf/default.toml: missing key {missing[0]!r}")
    if values["market"]:
        _from_market(values, rank, layers)
        if any(entry.startswith(LIVE_PREFIX) for entry in values["market"]):
            _from_live(values, rank, layers)
    elif values["fill_model"] == "market":
        raise ConfigError(f"{_source(layers, 'fill_model')}: the market fill model needs --market files to replay")
    if values["venue"] != SIMULATED:
        _for_real_venue(values, rank, layers)
    else:
        for key in REAL_VENUE_ONLY:
            if key not in ("keys_file", "venue_budget_file") and rank[key] > 0 and values[key] not in (
                    "", False, (), "cancel"):  # fmt: skip  # set, and not to what it is anyway
                raise ConfigError(f"{_source(layers, key)}: {ONLY_REAL_VENUE}")  # the paths: check_paths
    if values["live_decide"] != "tick" and not any(entry.startswith(LIVE_PREFIX) for entry in values["market"]):
        raise ConfigError(f"{_source(layers, 'live_decide')}: decides a live market's ticks; give --market "
                          "live:VENUE:SYMBOLS")  # fmt: skip
    if values["symbols_count"] > 0 and rank["symbols_count"] >= rank["symbols"]:
        values["symbols"] = tuple(symbol_names(values["symbols_count"]))
    del values["symbols_count"]
    if values["fill_model"] == "auto":
        values["fill_model"] = "market" if values["market"] else "random"
    values["strategy_params"] = _settle_strategy(values["strategy"], rank["strategy"], layers)
    names = {f.name for f in fields(ShadowConfig)}
    return ShadowConfig(**{k: v for k, v in values.items() if k in names})


def _from_market(values: dict[str, Any], rank: dict[str, int], layers: list[dict[str, tuple[str, object]]]) -> None:
    """With --market, what no layer above the defaults set comes from the data (docs/EXECUTION.md).

    The symbols are the files' (``()`` until settled), the run lasts as many
    ticks as the data has buckets (``iterations = 0`` until settled), a
    tick is a bucket of :data:`MARKET_TICK_MS`, and the venue makes up no
    fault (:data:`SYNTHETIC_FAULTS` at 0): a flag, a variable or a config
    file that sets one asks for it.
    """
    if values["symbols_count"] > 0 and rank["symbols_count"] > 0:
        raise ConfigError(f"{_source(layers, 'symbols_count')}: the symbols come from the --market files")
    values["symbols_count"] = 0
    if rank["symbols"] == 0:
        values["symbols"] = ()
    if rank["iterations"] == 0:
        values["iterations"] = 0
    if rank["tick_ms"] == 0:
        values["tick_ms"] = MARKET_TICK_MS
    for key in SYNTHETIC_FAULTS:
        if rank[key] == 0:
            values[key] = 0.0


def _from_live(values: dict[str, Any], rank: dict[str, int], layers: list[dict[str, tuple[str, object]]]) -> None:
    """``--market live:VENUE:SYMBOLS``: the symbols are the entry's, ticks come in real time, on real threads.

    Alone (no file beside it), with no ``--symbols`` beside it, paced in
    real time (``asap`` set by hand is refused: a live market's time is its
    own), on a runtime of real threads, in one process (a ``--journal``
    resumes it after a kill: docs/LIVE.md), and with no ``--iterations`` it
    runs until Ctrl-C.  As on a recorded market, no fault is made up.
    Deciding by message (``live_decide``, docs/LIVE.md "Latency") it runs on
    the pool unless a runtime is named, and takes no journal and no order
    latency (its ticks are not buckets of one length, and do not replay).
    """
    from actors.markets.live._protocol import parse_live_market  # pure; the client's library is not needed here

    named = _source(layers, "market")
    if len(values["market"]) != 1:
        raise ConfigError(f"{named}: a live market is the only --market of a run")
    try:
        _venue, symbols = parse_live_market(values["market"][0][len(LIVE_PREFIX) :])
    except ValueError as exc:
        raise ConfigError(f"{named} {values['market'][0]}: {exc}") from None
    if rank["symbols"] > 0:
        raise ConfigError(f"{_source(layers, 'symbols')}: a live market's symbols are those it names")
    values["symbols"] = tuple(sorted(dict.fromkeys(canonical_symbol(s) for s in symbols)))
    if rank["pace"] > 0 and values["pace"] != "realtime":
        raise ConfigError(f"{_source(layers, 'pace')}: a live market runs in real time (--pace realtime)")
    values["pace"] = "realtime"
    if values["runtime"] == "sim":
        raise ConfigError(f"{_source(layers, 'runtime')}: the sim's clock is not the market's; use threads or pool")
    for key in ("shards", "cluster"):
        if rank[key] > 0 and values[key] not in ("", 1):
            raise ConfigError(f"{_source(layers, key)}: not with a live market yet (docs/LIVE.md)")
    if values["live_decide"] == "message":  # its ticks are no buckets of a fixed length, and do not replay
        if rank["runtime"] == 0:
            values["runtime"] = "pool"  # one worker runs a tick's hops back to back: the lower latency (docs/LIVE.md)
        for key in ("journal", "entry_latency_ms", "cancel_latency_ms", "latency_from_data"):
            if rank[key] > 0 and values[key] not in ("", 0, 0.0, False):
                raise ConfigError(f"{_source(layers, key)}: not with --live-decide message (docs/LIVE.md, \"Latency\")")
    if values["iterations"] == 0:
        values["iterations"] = LIVE_ITERATIONS


def _for_real_venue(
    values: dict[str, Any], rank: dict[str, int], layers: list[dict[str, tuple[str, object]]]
) -> None:
    """``--venue`` a real one: beside its own live market, its keys' source sound, real money only when asked, and
    the per-order size and order-rate checks on unless a layer above the defaults set them (:data:`LIVE_SAFETY`)."""
    from actors.markets.live._protocol import parse_live_market  # pure

    named, venue = _source(layers, "venue"), values["venue"]
    market = "binance-usdm" if venue.startswith("binance-usdm") else "binance"
    live = [entry for entry in values["market"] if entry.startswith(LIVE_PREFIX)]
    if not live:
        raise ConfigError(f"{named} {venue}: orders on a real venue need its live market: --market "
                          f"live:{market}:SYMBOLS (docs/LIVE.md)")  # fmt: skip
    given, _symbols = parse_live_market(live[0][len(LIVE_PREFIX) :])
    if given != market:
        raise ConfigError(f"{named} {venue}: trades on the {market} market, not {given}: --market "
                          f"live:{market}:SYMBOLS")  # fmt: skip
    if venue in REAL_MONEY_VENUES and not values["real_money"]:
        raise ConfigError(f"{named} {venue}: its orders are real money; add --real-money to mean it "
                          "(the testnet is binance-testnet)")  # fmt: skip
    if values["fill_model"] == "market" and rank["fill_model"] > 0:
        raise ConfigError(f"{_source(layers, 'fill_model')}: fills come from the real venue, not a fill model")
    values["fill_model"] = "random"  # no fill model reads the live tape: the venue's own fills are the run's
    for key in SYNTHETIC_FAULTS:
        if rank[key] > 0 and values[key]:
            raise ConfigError(f"{_source(layers, key)}: a real venue makes its own faults; this is the simulated "
                              "venue's")  # fmt: skip
    if values["flat_balances"] and venue.startswith("binance-usdm"):
        raise ConfigError(f"{_source(layers, 'flat_balances')}: spot only; USDⓈ-M's positions are the venue's own")
    if values["journal"] and rank["journal"] > 0:
        raise ConfigError(f"{_source(layers, 'journal')}: not with a real venue: its run keeps no journal; each start "
                          "reads the venue's open orders and positions instead (docs/LIVE.md)")  # fmt: skip
    for key, value in LIVE_SAFETY.items():
        if rank[key] == 0:
            values[key] = type(values[key])(value)
    if rank["retain_ticks"] == 0:
        values["retain_ticks"] = max(values["retain_ticks"], math.ceil(REAL_VENUE_RETAIN_S * 1000 / values["tick_ms"]))


def _settle_strategy(name: str, named_at: int, layers: list[dict[str, tuple[str, object]]]) -> tuple[Any, ...]:
    """The strategy's parameters of every layer from the one that named the strategy up, checked against it.

    A layer's parameters add to (and override, name by name) those of the
    layers below it; a layer above that names another strategy drops them
    (they were another strategy's).  A name that is no strategy, a module that
    does not import, a parameter it does not declare or a bad value: a
    :class:`ConfigError` naming where it came from.
    """
    from actors.assembly import _strategies as strategies  # imports user code: only once a strategy is being resolved

    given: list[tuple[str, str, object]] = []
    for layer in layers[named_at:]:
        if "strategy_params" in layer:
            source, raw = layer["strategy_params"]
            toml = source.startswith(("conf/", "--config "))
            where = f"{source}: [strategy]" if toml else source
            given.extend((f"{where} {key}", key, value) for key, value in _parse("strategy_params", source, raw,
                                                                                 toml=toml))  # fmt: skip
    try:
        return strategies.settle(name, given)[1]
    except ValueError as exc:
        text = str(exc)
        named = _source(layers, "strategy")
        raise ConfigError(text if text.startswith(("flag ", "environment ", "setting ", "argument ", "--config ",
                                                   "conf/")) else f"{named} {name!r}: {text}") from None  # fmt: skip


def _source(layers: list[dict[str, tuple[str, object]]], key: str) -> str:
    """Where the value of ``key`` in force came from (the highest layer that set it)."""
    for layer in reversed(layers):
        if key in layer:
            source = layer[key][0]
            return source if not source.startswith(("conf/", "--config ")) else f"{source}: {key}"
    return key


def _parse(key: str, source: str, raw: object, *, toml: bool) -> Any:
    """One value of one layer, checked; the error names its source and its key."""
    named = source if not toml else f"{source}: {key}"
    if toml:
        _check_type(key, named, raw)
    try:
        return KEYS[key].parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{named}: {exc}") from None


def _check_type(key: str, named: str, raw: object) -> None:
    """Refuse a value of a type ``key`` does not take in a config file (or as a Python argument); ``named`` says
    where it came from."""
    kinds = KEYS[key].toml_types
    if (isinstance(raw, bool) and bool not in kinds) or not isinstance(raw, kinds):
        expected = " or ".join(_TOML_TYPE_NAMES[kind] for kind in kinds)
        raise ConfigError(f"{named}: expected {expected}, got {type(raw).__name__} {raw!r}")


def _flag(key: str) -> str:
    return "--strategy-param" if key == "strategy_params" else "--" + key.replace("_", "-")


# ------------------------------------------------------------ paths

MARKET_SAMPLE = "sample"
"""``--market sample``: the packaged sample (:mod:`actors.assembly._market_setup`), not a path."""
PATH_MAX = 4096
"""Linux's limit on a whole path, in bytes (``PATH_MAX``); a name's is the file system's (``NAME_MAX``)."""


def check_paths(config: ShadowConfig) -> None:
    """Every input path and the journal directory, checked before anything starts or is written.

    Outputs (``--events``, ``--metrics-file``, ``--html``) are checked by the
    command's watch (:class:`actors.cli._watch.Watch`) with
    :func:`output_file`, and ``--config`` as it is read (:func:`load_toml`).
    Each problem is one :class:`ConfigError` naming the option, the path and
    what is wrong with it: too long, missing, of the wrong kind, unreadable or
    unwritable.  Found here, it is never a traceback from deep in a reader.
    """
    for entry in config.market:
        if not entry.startswith(LIVE_PREFIX):
            market_input("--market", entry)
    if config.record:
        journal_directory("--record", config.record)
        if not config.live:
            raise ConfigError(f"--record {_shown(config.record)}: records a live market; give --market "
                              "live:VENUE:SYMBOLS (a recorded market is recorded already)")  # fmt: skip
    if config.instruments:
        input_file("--instruments", config.instruments)
    if config.journal:
        journal_directory("--journal", config.journal)
    if config.keys_file:
        input_file("--keys-file", config.keys_file)
    if config.venue_budget_file:
        output_file("--venue-budget-file", config.venue_budget_file)
    for flag, given in (("--keys-file", config.keys_file), ("--venue-budget-file", config.venue_budget_file)):
        if given and not config.real_venue:
            raise ConfigError(f"{flag} {_shown(given)}: {ONLY_REAL_VENUE}")


def output_file(flag: str, text: str) -> Path:
    """An output file's path, refused unless its directory exists and the file could be written there."""
    path = Path(text)
    found = _stat(flag, text)
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise ConfigError(f"{flag} {_shown(text)}: is a directory, expected a file")
    if found is not None and not stat.S_ISREG(found.st_mode):
        raise ConfigError(f"{flag} {_shown(text)}: not a regular file (a device, a pipe?); expected a file to write")
    parent = path.parent if str(path.parent) else Path(".")
    if _stat(flag, str(parent)) is None:
        raise ConfigError(f"{flag} {_shown(text)}: no such directory {_shown(str(parent))!r}")
    if found is not None and not os.access(path, os.W_OK):
        raise ConfigError(f"{flag} {_shown(text)}: not writable")
    _writable_directory(flag, text, parent)
    if found is not None and _is_stdout(found):
        raise ConfigError(f"{flag} {_shown(text)}: is where the report goes (stdout); give another file")
    return path


def input_file(flag: str, text: str) -> Path:
    """A file the run reads (``--config``, ``--instruments``): there, a regular file, readable."""
    found = _stat(flag, text)
    if found is None:
        raise ConfigError(f"{flag} {_shown(text)}: no such file")
    if stat.S_ISDIR(found.st_mode):
        raise ConfigError(f"{flag} {_shown(text)}: is a directory, expected a file")
    if not stat.S_ISREG(found.st_mode):
        raise ConfigError(f"{flag} {_shown(text)}: not a regular file (a device, a pipe?); expected a file to read")
    if not os.access(text, os.R_OK):
        raise ConfigError(f"{flag} {_shown(text)}: not readable")
    return Path(text)


def market_input(flag: str, text: str) -> None:
    """A ``--market`` entry: the sample, or a readable file or directory (its files are checked as they are read)."""
    if text == MARKET_SAMPLE:
        return
    found = _stat(flag, text)
    if found is None:
        raise ConfigError(f"{flag} {_shown(text)}: no such file or directory")
    if stat.S_ISDIR(found.st_mode):
        if not os.access(text, os.R_OK | os.X_OK):
            raise ConfigError(f"{flag} {_shown(text)}: the directory is not readable")
        return
    if not stat.S_ISREG(found.st_mode):
        raise ConfigError(f"{flag} {_shown(text)}: not a regular file (a pipe, a device?)")  # a FIFO blocks for ever
    if not os.access(text, os.R_OK):
        raise ConfigError(f"{flag} {_shown(text)}: not readable")


def journal_directory(flag: str, text: str) -> None:
    """``--journal``: a directory the run can write in, or one it can create (with its missing parents)."""
    found = _stat(flag, text)
    if found is not None:
        if stat.S_ISREG(found.st_mode):
            raise ConfigError(f"{flag} {_shown(text)}: is a file, expected a directory")
        if not stat.S_ISDIR(found.st_mode):
            raise ConfigError(f"{flag} {_shown(text)}: not a directory (a device, a pipe?); expected a directory")
        _writable_directory(flag, text, Path(text))
        return
    existing = next(parent for parent in Path(os.path.abspath(text)).parents if os.path.isdir(parent))
    _writable_directory(flag, text, existing, creating=True)


def _stat(flag: str, text: str) -> os.stat_result | None:
    """``os.stat`` of a path option's value, None if nothing is there; any other problem is a ConfigError."""
    try:
        return os.stat(text)
    except FileNotFoundError:
        return None
    except ValueError:  # a NUL byte (a TOML string can hold one)
        raise ConfigError(f"{flag} {_shown(text)!r}: a path cannot hold a NUL byte") from None
    except OSError as exc:
        raise ConfigError(f"{flag} {_shown(text)}: {_why(text, exc)}") from None


def _why(text: str, exc: OSError) -> str:
    """What is wrong with a path ``os.stat`` refused, in words."""
    if exc.errno == errno.ENAMETOOLONG:
        encoded = os.fsencode(text)
        longest = max(len(part) for part in encoded.split(b"/"))
        name_max = _name_max(text)
        if longest > name_max:
            return f"name too long: a name in it has {longest} bytes, the file system allows {name_max}"
        return f"path too long: {len(encoded)} bytes, the system allows {PATH_MAX - 1}"
    if exc.errno == errno.ENOTDIR:
        for parent in reversed(Path(text).parents):
            if os.path.exists(parent) and not os.path.isdir(parent):
                return f"{_shown(str(parent))!r} is not a directory"
        return "a part of it is not a directory"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a loop?)"
    return exc.strerror or str(exc)


def _name_max(text: str) -> int:
    """The longest name the file system under ``text`` allows (255 on the common ones)."""
    for parent in Path(os.path.abspath(text)).parents:
        try:
            return int(os.pathconf(parent, "PC_NAME_MAX"))
        except (OSError, ValueError):
            continue
    return 255


def _writable_directory(flag: str, text: str, directory: Path, *, creating: bool = False) -> None:
    """Refuse ``text`` unless a file can be created in ``directory`` (``creating``: the nearest existing parent of
    a directory to create, where the missing ones would be made)."""
    where = f"cannot create it: {_shown(str(directory))!r} is " if creating else ""
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {_shown(text)}: {where}not writable")
    try:  # really: root passes os.access for /proc and /sys, where nothing can be created
        tempfile.TemporaryFile(dir=directory).close()
    except OSError as exc:
        raise ConfigError(
            f"{flag} {_shown(text)}: cannot write in {_shown(str(directory))!r}: {exc.strerror or exc}"
        ) from None


def _is_stdout(target: os.stat_result) -> bool:
    """True if ``target`` is the file standard output writes to (the report must stay alone there)."""
    try:
        out = os.fstat(1)
    except OSError:
        return False
    return (out.st_dev, out.st_ino) == (target.st_dev, target.st_ino)


def _shown(text: str) -> str:
    """A path as an error names it: whole, or its two ends if it is long, so that the error stays one short line."""
    return text if len(text) <= 120 else f"{text[:60]}...{text[-40:]} ({len(text)} characters)"
