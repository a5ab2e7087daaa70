"""``--html``: one self-contained HTML page of a run: a summary, then charts on one time axis, drawn by plotly.

Built after the run from the event log (:mod:`actors.telemetry._order_events`),
the market the feed used (mids are keyed draws, so they are walked again, not
kept), the report and the run's settings.  The top of the page says what a
reader opens it for (the PnL, the fills, the edge, the trading state, the
freeze and why, the settings); the charts below share one time axis (the
tick; on a recorded market the market's own time, the end of each bucket),
with the same range and margins, so a moment is at the same place in every
chart, and zooming one zooms them all.

plotly.js is inlined, so the page opens without a network: its *basic*
bundle (scatter and bar traces, all the page draws: 1.2 MB), shipped
gzipped beside this module (``plotly-basic.min.js.gz``, its origin and
license in ``plotly-basic.LICENSE``), not the 4.8 MB full bundle of the
plotly package.  Once plotly has drawn every chart the page writes what it
drew, and any script error, into the hidden ``#render-status``: how a test in
a real browser knows (tests/e2e/test_observe.py).  Needs the ``observe`` extra.
"""

from __future__ import annotations

import functools
import gzip
import html
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.io import to_json

from actors.assembly._config import ShadowConfig, resolve
from actors.core._types import Instrument
from actors.markets._data import MarketDataSource
from actors.telemetry._order_events import EventLogRow, read_events

__all__ = ["RunSeries", "TimeAxis", "build_html", "collect_series", "plotly_bundle", "run_settings", "write_html"]

BUNDLE = "plotly-basic.min.js.gz"
"""plotly.js 4.1.1's basic bundle (npm ``plotly.js-basic-dist-min``), gzipped: see ``plotly-basic.LICENSE``."""

_SYMBOL_HEIGHT = 320
_HEIGHT = 280
_MARGIN = {"l": 84, "r": 24, "t": 64, "b": 52}
"""The same margins on every chart (and no automatic ones), so their plotting areas line up."""
_COLOURS = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880"]
"""plotly's own colour sequence."""
_HALTED_FILL = "rgba(214, 39, 40, 0.06)"
_REDUCING_FILL = "rgba(255, 127, 14, 0.10)"
_NOT_SETTINGS = frozenset({
    "symbols", "iterations", "market", "data_identity", "html", "html_symbols", "events", "metrics_port",
    "metrics_file", "metrics_symbols", "log_level", "log_format",
})  # fmt: skip
"""What the summary's settings leave out: shown elsewhere on the page, or only where the run's outputs went."""


@functools.cache
def plotly_bundle() -> str:
    """The plotly.js the page inlines: the basic bundle, a quarter of the size of the plotly package's full one."""
    packed = resources.files("actors.assembly").joinpath(BUNDLE).read_bytes()
    return gzip.decompress(packed).decode("utf-8")


@dataclass
class RunSeries:
    """What the charts show, by tick 1..ticks, gathered in one pass over the events."""

    ticks: int
    shown: tuple[str, ...]
    mids: dict[str, list[float]] = field(default_factory=dict)
    bids: dict[str, dict[int, float]] = field(default_factory=dict)
    asks: dict[str, dict[int, float]] = field(default_factory=dict)
    fills: dict[str, list[tuple[int, float, str]]] = field(default_factory=dict)
    inventory_usd: dict[str, list[float]] = field(default_factory=dict)
    total_notional_usd: list[float] = field(default_factory=list)
    pnl_usd: list[float] = field(default_factory=list)
    edge_bps: list[float | None] = field(default_factory=list)
    placed: list[int] = field(default_factory=list)
    canceled: list[int] = field(default_factory=list)
    filled: list[int] = field(default_factory=list)


def collect_series(
    events: Iterable[EventLogRow],
    *,
    ticks: int,
    shown: Sequence[str],
    instruments: Mapping[str, Instrument],
    market: MarketDataSource,
    maker_fee_bps: float = 0.0,
) -> RunSeries:
    """Per-tick series from the events; mids from ``market`` (each symbol walked once, in tick order).

    Positions and cash move with fills, each fill paying ``maker_fee_bps``
    of its notional (negative: a rebate), as the report's ``pnl`` does; PnL
    is cash plus every position at the tick's mid; the edge marks each fill
    at its tick's mid, as risk does (docs/EXECUTION.md, "Formulas").  An
    inverse contract's PnL is in coin, converted at the tick's mid, and its
    inventory is its USD value (docs/EXECUTION.md, "Instruments").
    """
    series = RunSeries(ticks=ticks, shown=tuple(shown))
    last = max(ticks, 0)
    per_tick: dict[str, list[int]] = {name: [0] * (last + 1) for name in ("placed", "canceled", "filled")}
    fills_at: dict[int, list[tuple[str, int, float, float]]] = defaultdict(list)
    shown_set = set(shown)
    for symbol in shown:
        series.bids[symbol], series.asks[symbol], series.fills[symbol] = {}, {}, []
    for event in events:
        tick = min(max(event.tick, 0), last)
        if event.event == "create":
            per_tick["placed"][tick] += 1
            if event.symbol in shown_set:
                (series.bids if event.side == "BUY" else series.asks)[event.symbol][event.tick] = float(event.price)
        elif event.event == "cancel":
            per_tick["canceled"][tick] += 1
        elif event.event == "fill":
            if event.state == "FILLED":
                per_tick["filled"][tick] += 1
            sign = 1 if event.side == "BUY" else -1
            fills_at[tick].append((event.symbol, sign, float(event.price), float(event.quantity)))
            if event.symbol in shown_set:
                series.fills[event.symbol].append((event.tick, float(event.price), event.side))
    series.placed, series.canceled, series.filled = (per_tick[k][1:] for k in ("placed", "canceled", "filled"))

    def mid(symbol: str, tick: int) -> float:
        return instruments[symbol].price_usd(market.mid_ticks(symbol, tick))

    positions: dict[str, float] = {}
    inverse: dict[str, list[float]] = {}  # an inverse contract's [USD held, coin paid for it and in fees]
    cash = edge_usd = volume_usd = 0.0
    for symbol in shown:
        series.mids[symbol], series.inventory_usd[symbol] = [], []
    for tick in range(1, last + 1):
        for symbol, sign, price, qty in fills_at.get(tick, ()):
            instrument = instruments[symbol]
            if instrument.inverse:  # qty contracts of a fixed USD value: the books are in coin
                edge, volume = _inverse_fill(inverse, instrument, (sign, price, qty), mid=mid(symbol, tick),
                                             fee=maker_fee_bps)  # fmt: skip
                edge_usd += edge
                volume_usd += volume
                continue
            positions[symbol] = positions.get(symbol, 0.0) + sign * qty
            cash -= sign * price * qty + price * qty * maker_fee_bps / 1e4
            edge_usd += sign * (mid(symbol, tick) - price) * qty
            volume_usd += price * qty
        marked = {symbol: qty * mid(symbol, tick) for symbol, qty in sorted(positions.items()) if qty}
        if inverse:  # what the fills were worth in coin less what the position is worth now, at the mid: USD
            pnl = {symbol: (books[1] - books[0] / mid(symbol, tick)) * mid(symbol, tick)
                   for symbol, books in sorted(inverse.items())}  # fmt: skip
            marked.update({symbol: books[0] for symbol, books in inverse.items() if books[0]})
            series.pnl_usd.append(cash + sum(v for s, v in marked.items() if s not in inverse) + sum(pnl.values()))
        else:
            series.pnl_usd.append(cash + sum(marked.values()))
        series.total_notional_usd.append(sum(abs(v) for v in marked.values()))
        series.edge_bps.append(1e4 * edge_usd / volume_usd if volume_usd > 0 else None)
        for symbol in shown:
            series.mids[symbol].append(mid(symbol, tick))
            series.inventory_usd[symbol].append(marked.get(symbol, 0.0))
    return series


def _inverse_fill(
    books: dict[str, list[float]], instrument: Instrument, fill: tuple[int, float, float], *, mid: float, fee: float
) -> tuple[float, float]:
    """An inverse contract's fill in ``books`` ([USD held, coin the fills were worth less fees]); its edge and volume.

    Its PnL at a mid M is ``(coin - usd_held / M) x M`` (docs/EXECUTION.md, "Instruments").
    """
    sign, price, qty = fill
    value = qty * float(instrument.contract_size)
    held = books.setdefault(instrument.symbol, [0.0, 0.0])
    held[0] += sign * value
    held[1] += sign * value / price - value / price * fee / 1e4
    return sign * (mid - price) / price * value, value


@dataclass(frozen=True)
class TimeAxis:
    """Where tick *t* is drawn: at *t*, or on a recorded market at the end of its bucket, in the market's time (UTC).

    A recorded tick *k* covers ``[start + (k-1)·bucket, start + k·bucket)`` and
    its mid is the last quote in it, so the end of the bucket is when what the
    tick shows was known.
    """

    ticks: int
    start_ms: float | None = None
    tick_ms: float = 0.0

    @classmethod
    def of(cls, report: Mapping[str, Any], ticks: int) -> TimeAxis:
        """The market's time if the report has a recorded market (``market.start_us``), else ticks."""
        market = report.get("market")
        if isinstance(market, Mapping) and market.get("start_us") is not None:
            return cls(ticks, float(market["start_us"]) / 1000.0, float(market["tick_ms"]))
        return cls(ticks)

    @property
    def dated(self) -> bool:
        """True on a recorded market: the axis is a date axis, in milliseconds since the epoch."""
        return self.start_ms is not None

    def at(self, tick: float) -> float:
        """Where ``tick`` is on the axis (milliseconds since the epoch on a date axis)."""
        return tick if self.start_ms is None else self.start_ms + tick * self.tick_ms

    def xs(self, ticks: Iterable[int]) -> list[float]:
        """The axis positions of ``ticks``."""
        return [self.at(t) for t in ticks]

    def layout(self) -> dict[str, Any]:
        """The x axis every chart shares: its title, its range (half a tick beyond each end) and its type."""
        last = max(self.ticks, 1)
        if self.start_ms is None:
            return {"title": {"text": "tick"}, "range": [0.5, last + 0.5], "type": "linear"}
        bucket = f"{self.tick_ms / 1000:g} s" if self.tick_ms >= 1000 else f"{self.tick_ms:g} ms"
        first, end = (datetime.fromtimestamp(self.at(t) / 1000.0, UTC) for t in (0, last))
        axis = {"range": [self.at(0.5), self.at(last + 0.5)], "type": "date"}
        if first.date() == end.date():  # one line of tick labels (times), the day in the title
            axis["tickformat"] = "%H:%M:%S" if self.tick_ms >= 1000 else "%H:%M:%S.%L"
            return {**axis, "title": {"text": f"market time on {first:%Y-%m-%d} (UTC): the end of each {bucket} tick"}}
        return {**axis, "title": {"text": f"market time (UTC): the end of each {bucket} tick", "standoff": 24}}

    def label(self, tick: int) -> str:
        """``tick 12``, and on a recorded market the time it ends at (``tick 8, 00:00:08 UTC``)."""
        if self.start_ms is None:
            return f"tick {tick}"
        at = datetime.fromtimestamp(self.at(tick) / 1000.0, UTC)
        text = at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3].removesuffix(".000")
        return f"tick {tick}, {text} UTC"


def _layout(title: str, y_title: str, axis: TimeAxis, height: int) -> dict[str, Any]:
    """Every chart's layout: the same margins, time axis and colours; no plotly template (9 kB a chart, mostly for
    traces the page never draws): the few colours of ``plotly_white`` it used are set here."""
    grid = {"gridcolor": "#ebf0f8", "linecolor": "#ebf0f8", "zerolinecolor": "#ebf0f8", "automargin": False}
    return {
        "height": height,
        "template": {},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": _COLOURS,
        "font": {"color": "#2a3f5f"},
        "title": {"text": title, "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top", "font": {"size": 15}},
        "margin": _MARGIN,
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom"},
        "xaxis": {**axis.layout(), **grid},
        "yaxis": {"title": {"text": y_title}, **grid},
        "hovermode": "x",
    }


def _states(report: Mapping[str, Any], ticks: int) -> list[tuple[str, int, int]]:
    """The stretches of the run not ACTIVE: (state, from tick, to tick), from ``risk.transitions``."""
    stretches: list[tuple[str, int, int]] = []
    current, since = "ACTIVE", 0
    for move in report.get("risk", {}).get("transitions", []):
        if current != "ACTIVE":
            stretches.append((current, since, int(move["tick"])))
        current, since = str(move["to"]), int(move["tick"])
    if current != "ACTIVE":
        stretches.append((current, since, max(ticks, since)))
    return stretches


def _mark_states(figure: go.Figure, stretches: Sequence[tuple[str, int, int]], axis: TimeAxis, *, named: bool) -> None:
    """Shade the stretches the run was HALTED or REDUCING in, on every chart alike; name them on some."""
    for state, start, end in stretches:
        fill = _HALTED_FILL if state == "HALTED" else _REDUCING_FILL
        name: dict[str, Any] = {"annotation_text": state.lower(), "annotation_position": "top left",
                                "annotation_font": {"size": 11, "color": "#a33"}} if named else {}  # fmt: skip
        figure.add_vrect(x0=axis.at(start - 0.5), x1=axis.at(end + 0.5), fillcolor=fill, line_width=0, layer="below",
                         **name)  # fmt: skip


def _edge_range(series: RunSeries, threshold_bps: float) -> tuple[list[float] | None, bool]:
    """The edge chart's y range, and whether the threshold is on it.

    The threshold is drawn when it is near the edge; one far from it (a run
    that must not freeze: ``--edge-threshold -100``) would flatten the edge
    to a line, so the chart keeps to the edge and says where the threshold is.
    """
    values = [v for v in series.edge_bps if v is not None]
    if not values:
        return None, True
    low, high = min(values), max(values)
    span = max(high - low, 1.0)
    if low - 2 * span <= threshold_bps <= high + 2 * span:
        low, high = min(low, threshold_bps), max(high, threshold_bps)
        near = True
    else:
        near = False
    pad = 0.08 * max(high - low, 1.0)
    return [low - pad, high + pad], near


def _figures(series: RunSeries, report: Mapping[str, Any], threshold_bps: float, axis: TimeAxis) -> list[go.Figure]:
    ticks = list(range(1, series.ticks + 1))
    x = axis.xs(ticks)
    stretches = _states(report, series.ticks)
    figures: list[go.Figure] = []
    for symbol in series.shown:
        fig = go.Figure(layout=_layout(f"{symbol}: mid, our bid and ask, fills", "price", axis, _SYMBOL_HEIGHT))
        fig.add_scatter(x=x, y=series.mids[symbol], name="mid", line={"color": "#444"})
        for name, quotes, color in (("our bid", series.bids[symbol], "#1f77b4"), ("our ask", series.asks[symbol],
                                                                                    "#d62728")):  # fmt: skip
            fig.add_scatter(x=axis.xs(sorted(quotes)), y=[quotes[t] for t in sorted(quotes)], name=name, mode="lines",
                            line={"color": color, "shape": "hv", "width": 1})  # fmt: skip
        for side, color, marker in (("BUY", "#1f77b4", "triangle-up"), ("SELL", "#d62728", "triangle-down")):
            points = [(t, p) for t, p, s in series.fills[symbol] if s == side]
            fig.add_scatter(x=axis.xs(t for t, _ in points), y=[p for _, p in points], name=f"fill {side.lower()}",
                            mode="markers", marker={"color": color, "symbol": marker, "size": 9})  # fmt: skip
        figures.append(fig)
    inventory = go.Figure(layout=_layout("Inventory: position \N{MULTIPLICATION SIGN} mid", "USD", axis, _HEIGHT))
    for symbol in series.shown:
        inventory.add_scatter(x=x, y=series.inventory_usd[symbol], name=symbol)
    inventory.add_scatter(x=x, y=series.total_notional_usd, name="total |notional|", line={"dash": "dot"})
    figures.append(inventory)
    pnl = go.Figure(layout=_layout("PnL after fees: cash + positions at the mid", "USD", axis, _HEIGHT))
    pnl.add_scatter(x=x, y=series.pnl_usd, name="PnL", fill="tozeroy")
    figures.append(pnl)
    edge = go.Figure(layout=_layout("Realised edge against the freeze threshold", "bps", axis, _HEIGHT))
    edge.add_scatter(x=x, y=series.edge_bps, name="realised edge")
    y_range, near = _edge_range(series, threshold_bps)
    if near:
        edge.add_scatter(x=axis.xs([0, max(series.ticks, 1) + 1]), y=[threshold_bps] * 2, name="freeze threshold",
                         mode="lines", line={"dash": "dash", "color": "#d62728"})  # fmt: skip
    else:
        where = "below" if y_range is not None and threshold_bps < y_range[0] else "above"
        edge.add_annotation(text=f"freeze threshold {threshold_bps:g} bps: far {where} the chart", xref="paper",
                            yref="paper", x=1, y=1.0, xanchor="right", yanchor="bottom", showarrow=False,
                            font={"color": "#d62728", "size": 12})  # fmt: skip
    if y_range is not None:
        edge.update_yaxes(range=y_range)
    figures.append(edge)
    flow = go.Figure(layout={**_layout("Orders per tick", "orders", axis, _HEIGHT), "barmode": "group"})
    for name, values in (("placed", series.placed), ("canceled", series.canceled), ("filled", series.filled)):
        flow.add_bar(x=x, y=values, name=name)
    figures.append(flow)
    for index, figure in enumerate(figures):
        _mark_states(figure, stretches, axis, named=index == 0 or figure is edge)
    return figures


def _flatten(report: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key in sorted(report):
        value = report[key]
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(_flatten(value, name + "."))
        else:
            rows.append((name, json.dumps(value)))
    return rows


def _setting(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_setting(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def run_settings(config: ShadowConfig) -> list[str]:
    """The settings of ``config`` not at their default, as ``key = value`` (a ``--config`` file's lines).

    The symbols, the length and the outputs are left out (the page says
    them otherwise), and so is a setting a recorded market decides by itself.
    """
    defaults = resolve(overrides={"market": list(config.market)} if config.market else None)
    lines = []
    for spec in fields(ShadowConfig):
        value = getattr(config, spec.name)
        if spec.name not in _NOT_SETTINGS and value != getattr(defaults, spec.name):
            lines.append(f"{spec.name} = {_setting(value)}")
    return lines


def _money(value: object) -> str:
    return f"{value:,.2f} USD" if isinstance(value, (int, float)) else "none"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _card(label: str, value: str, detail: str = "", tone: str = "") -> str:
    """One box of the summary; ``detail`` is HTML (escaped by the caller), ``tone`` good, bad or warn."""
    tone_class = f" {tone}" if tone else ""
    return (f'<div class="card{tone_class}"><div class="label">{html.escape(label)}</div>'
            f'<div class="value">{html.escape(value)}</div><div class="detail">{detail}</div></div>')  # fmt: skip


def _state_cards(risk: Mapping[str, Any], axis: TimeAxis) -> list[str]:
    """The trading state at the end and how it got there; the freeze, its reason, whether it was confirmed."""
    state = str(risk.get("state", "?"))
    moves = risk.get("transitions", [])
    path = " → ".join(["ACTIVE"] + [f"{m['to']} ({axis.label(int(m['tick']))})" for m in moves])
    cards = [_card("state at the end", state, html.escape(path) if moves else "no change of state",
                   {"ACTIVE": "good", "HALTED": "bad"}.get(state, "warn"))]  # fmt: skip
    if not risk.get("freeze_events"):
        return [*cards, _card("freeze", "none", "trading was never halted", "good")]
    confirmed = "confirmed: no order left open" if risk.get("freeze_confirmed") else "<b>not confirmed</b>"
    tick = risk.get("freeze_tick")
    when = axis.label(int(tick)).split(", ", 1) if tick is not None else ["none"]
    at = f"at {html.escape(when[1])}: " if len(when) > 1 else ""
    times = f"{risk['freeze_events']} halts; the last {at}" if risk["freeze_events"] > 1 else at
    reason = html.escape(str(risk.get("last_freeze_reason") or ""))
    return [*cards, _card("freeze", when[0], f"{times}{reason}<br>{confirmed}", "bad" if risk.get("frozen") else "")]


def _money_cards(report: Mapping[str, Any], threshold_bps: float, config: ShadowConfig | None) -> list[str]:
    """PnL, fills and orders, the realised edge against the threshold, the notional left open."""
    pnl, orders, risk = report.get("pnl", {}), report.get("orders", {}), report.get("risk", {})
    figures = (("realised", "realised_usd"), ("unrealised", "unrealised_usd"), ("fees", "fees_usd"))
    parts = " · ".join(f"{name} {_money(pnl.get(key))}" for name, key in figures)
    by_symbol = pnl.get("by_symbol", {})
    if len(by_symbol) > 1:
        largest = sorted(by_symbol.items(), key=lambda item: -abs(item[1].get("total_usd", 0.0)))[:4]
        parts += "<br>" + " · ".join(f"{html.escape(s)} {_money(v.get('total_usd'))}" for s, v in largest)
    total = pnl.get("total_usd")
    gained = isinstance(total, (int, float)) and total >= 0
    kinds = ("placed", "filled", "canceled", "rejected", "open")
    counts = ", ".join(f"{orders.get(kind, 0):,} {kind}" for kind in kinds)
    blocked = f"<br>{orders['risk_blocks']:,} quote sides blocked by risk" if orders.get("risk_blocks") else ""
    edge = risk.get("realised_edge_bps")
    after = f" after {config.edge_min_fills} fills" if config is not None else ""
    edge_tone = "" if edge is None else ("good" if edge >= threshold_bps else "bad")
    positions = report.get("positions", {})
    held = sum(1 for p in positions.get("by_symbol", {}).values() if float(p.get("qty") or 0) != 0)
    edge_text = "none yet" if edge is None else f"{edge:.2f} bps"
    open_positions = _plural(held, "open position")
    return [
        _card("PnL", _money(total), parts, "good" if gained else "bad"),
        _card("fills", f"{report.get('fills', {}).get('count', 0):,}", f"orders: {counts}{blocked}"),
        _card("realised edge", edge_text, f"freeze below {threshold_bps:.2f} bps{after}", edge_tone),
        _card("positions", _money(positions.get("total_notional_usd")), f"total |notional| of {open_positions}"),
    ]


def _run_line(report: Mapping[str, Any], axis: TimeAxis, config: ShadowConfig | None) -> str:
    """What ran: the symbols, the ticks, the seed, the market, the runtime; then the settings not at their default."""
    execution = report.get("execution", {})
    symbols = execution.get("symbols", [])
    listed = ", ".join(symbols[:6]) + (f" and {len(symbols) - 6:,} more" if len(symbols) > 6 else "")
    run = [f"{_plural(len(symbols), 'symbol')} ({listed})", f"seed {execution.get('seed')}",
           f"{execution.get('ticks', 0):,} of {execution.get('iterations', 0):,} ticks"]  # fmt: skip
    market = report.get("market")
    if isinstance(market, Mapping):
        since, files = axis.label(0).split(", ", 1)[-1], _plural(int(market.get("files", 0)), "file")
        rows = f"{market.get('quotes', 0):,} quotes and {market.get('trades', 0):,} trades"
        run.append(f"recorded market: {files}, {rows} from {since}, {market.get('fill_model')} fills")
    elif config is not None:
        run.append(f"synthetic market, {config.fill_model} fills")
    if execution.get("resumed_after_tick") is not None:
        run.append(f"resumed from its journal after tick {execution['resumed_after_tick']}")
    if config is None:
        return f'<div class="run">{html.escape(" · ".join(run))}</div>'
    run.append(f"runtime {config.runtime}, pace {config.pace}")
    settings = run_settings(config)
    changed = (f"settings not at their default: <code>{html.escape('; '.join(settings))}</code>" if settings
               else "every other setting at its default")  # fmt: skip
    return f'<div class="run">{html.escape(" · ".join(run))}</div>\n<div class="settings">{changed}</div>'


def _summary(report: Mapping[str, Any], axis: TimeAxis, threshold_bps: float, config: ShadowConfig | None) -> str:
    """The top of the page: what a reader opens it for, in six cards and a line of settings."""
    cards = _state_cards(report.get("risk", {}), axis) + _money_cards(report, threshold_bps, config)
    return f'<div class="cards">{"".join(cards)}</div>\n{_run_line(report, axis, config)}'


_RENDER = """
const figures = JSON.parse(document.getElementById('figures').textContent);
const status = document.getElementById('render-status');
function finish(state) {
  const charts = Array.from(document.querySelectorAll('div.chart'));
  const drawn = charts.filter(c => c.querySelector('.main-svg') && c.querySelectorAll('.trace').length > 0).length;
  status.dataset.status = state;
  status.textContent = JSON.stringify({status: state, charts: charts.length, drawn: drawn, errors: window.mmErrors});
}
function linkTimeAxes(charts) {  // one time axis: zooming or panning one chart moves them all
  let moving = false;
  for (const chart of charts) {
    chart.on('plotly_relayout', change => {
      if (moving) return;
      const range = change['xaxis.range'] ||
        (change['xaxis.range[0]'] !== undefined ? [change['xaxis.range[0]'], change['xaxis.range[1]']] : null);
      if (!range) return;
      moving = true;
      Promise.all(charts.filter(other => other !== chart).map(other => Plotly.relayout(other, {'xaxis.range': range})))
        .finally(() => { moving = false; });
    });
  }
}
Promise.all(figures.map((f, i) => Plotly.newPlot('chart-' + i, f.data, f.layout, {displaylogo: false})))
  .then(charts => { linkTimeAxes(charts); finish('rendered'); })
  .catch(e => { window.mmErrors.push(String(e)); finish('failed'); });
"""

_CATCH = """window.mmErrors = [];
window.addEventListener('error', e => window.mmErrors.push(String(e.message || e)));
window.addEventListener('unhandledrejection', e => window.mmErrors.push(String(e.reason)));"""

_STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:.6em}
.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:10px}
.card{border:1px solid #ddd;border-left:5px solid #bbb;border-radius:4px;padding:8px 12px}
.card.good{border-left-color:#2ca02c}.card.bad{border-left-color:#d62728}.card.warn{border-left-color:#ff7f0e}
.label{font-size:.8em;color:#666;text-transform:uppercase;letter-spacing:.04em}
.value{font-size:1.5em;font-weight:600;margin:2px 0}
.detail{font-size:.85em;color:#444}
.run,.settings{margin:.8em 0 0;font-size:.9em;color:#444}
code{font-size:.95em}
.chart{margin-top:.6em}
details{margin-top:1.5em}summary{cursor:pointer;font-weight:600}
table{border-collapse:collapse;margin-top:.5em}
th,td{text-align:left;padding:2px 12px;border-bottom:1px solid #ddd;font-family:monospace;font-weight:normal}"""


def build_html(
    series: RunSeries,
    report: Mapping[str, Any],
    *,
    threshold_bps: float,
    title: str,
    config: ShadowConfig | None = None,
) -> str:
    """The page: the summary, the charts on one time axis, the whole report in a table, plotly.js inlined."""
    axis = TimeAxis.of(report, series.ticks)
    figures = _figures(series, report, threshold_bps, axis)
    data = "[" + ",".join(to_json(f, validate=False) for f in figures) + "]"
    data = data.replace("<", "\\u003c")  # nothing in the JSON can close the script element
    charts = "\n".join(f'<div class="chart" id="chart-{i}"></div>' for i in range(len(figures)))
    rows = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _flatten(report))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<script>{_CATCH}</script>
<script>{plotly_bundle()}</script>
<style>{_STYLE}</style></head>
<body><h1>{html.escape(title)}</h1>
{_summary(report, axis, threshold_bps, config)}
{charts}
<details><summary>The whole report</summary><table>{rows}</table></details>
<pre id="render-status" hidden data-status="pending">pending</pre>
<script type="application/json" id="figures">{data}</script>
<script>{_RENDER}</script>
</body></html>
"""


def write_html(
    path: Path,
    events_path: Path,
    *,
    report: Mapping[str, Any],
    shown: Sequence[str],
    instruments: Mapping[str, Instrument],
    market: MarketDataSource,
    threshold_bps: float,
    maker_fee_bps: float = 0.0,
    config: ShadowConfig | None = None,
) -> None:
    """Read the event log, draw the run, write the page (to a temporary file renamed over ``path``).

    ``config``: the run's settings, for the summary (without it the page leaves them out).
    An ``OSError`` (the event log gone, a full disk) is the caller's; no partial page is left.
    """
    execution = report.get("execution", {})
    ticks = int(execution.get("ticks", 0))
    series = collect_series(read_events(events_path), ticks=ticks, shown=shown, instruments=instruments, market=market,
                            maker_fee_bps=maker_fee_bps)  # fmt: skip
    symbols = execution.get("symbols", [])
    title = (f"run-shadow: {len(symbols):,} symbol{'' if len(symbols) == 1 else 's'}, {ticks:,} ticks, "
             f"seed {execution.get('seed')}")  # fmt: skip
    text = build_html(series, report, threshold_bps=threshold_bps, title=title, config=config)
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)  # a full disk leaves no half page behind (nor the page before it replaced)
        raise
