"""``--html``: one self-contained HTML page of a run, drawn by plotly from the order event log.

Built after the run from the event log (:mod:`actors.telemetry.order_events`),
the market the feed used (mids are keyed draws, so they are walked again, not
kept) and the report.  plotly.js is inlined, so the page opens without a
network.  Once plotly has drawn every chart the page writes what it drew, and
any script error, into ``#render-status``: how a test in a real browser knows
(tests/e2e/test_html_report.py).  Needs the ``observe`` extra.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.io import to_json
from plotly.offline import get_plotlyjs

from actors.core.market_data import MarketDataSource
from actors.core.types import Instrument
from actors.telemetry.order_events import OrderEvent, read_events

__all__ = ["RunSeries", "build_html", "collect_series", "write_html"]

_HEIGHT = 340


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
    events: Iterable[OrderEvent],
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
    at its tick's mid, as risk does (docs/EXECUTION.md, "Formulas").
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
    cash = edge_usd = volume_usd = 0.0
    for symbol in shown:
        series.mids[symbol], series.inventory_usd[symbol] = [], []
    for tick in range(1, last + 1):
        for symbol, sign, price, qty in fills_at.get(tick, ()):
            positions[symbol] = positions.get(symbol, 0.0) + sign * qty
            cash -= sign * price * qty + price * qty * maker_fee_bps / 1e4
            edge_usd += sign * (mid(symbol, tick) - price) * qty
            volume_usd += price * qty
        marked = {symbol: qty * mid(symbol, tick) for symbol, qty in sorted(positions.items()) if qty}
        series.pnl_usd.append(cash + sum(marked.values()))
        series.total_notional_usd.append(sum(abs(v) for v in marked.values()))
        series.edge_bps.append(1e4 * edge_usd / volume_usd if volume_usd > 0 else None)
        for symbol in shown:
            series.mids[symbol].append(mid(symbol, tick))
            series.inventory_usd[symbol].append(marked.get(symbol, 0.0))
    return series


def _figures(series: RunSeries, report: Mapping[str, Any], threshold_bps: float) -> list[go.Figure]:
    axis = list(range(1, series.ticks + 1))
    layout: dict[str, Any] = {"height": _HEIGHT, "template": "plotly_white", "margin": {"t": 48, "b": 40}}
    figures: list[go.Figure] = []
    for symbol in series.shown:
        fig = go.Figure(layout={**layout, "title": f"{symbol}: mid, our bid and ask, fills", "yaxis_title": "price"})
        fig.add_scatter(x=axis, y=series.mids[symbol], name="mid", line={"color": "#444"})
        for name, quotes, color in (("our bid", series.bids[symbol], "#1f77b4"), ("our ask", series.asks[symbol],
                                                                                    "#d62728")):  # fmt: skip
            fig.add_scatter(x=sorted(quotes), y=[quotes[t] for t in sorted(quotes)], name=name, mode="lines",
                            line={"color": color, "shape": "hv", "width": 1})  # fmt: skip
        for side, color, marker in (("BUY", "#1f77b4", "triangle-up"), ("SELL", "#d62728", "triangle-down")):
            points = [(t, p) for t, p, s in series.fills[symbol] if s == side]
            fig.add_scatter(x=[t for t, _ in points], y=[p for _, p in points], name=f"fill {side.lower()}",
                            mode="markers", marker={"color": color, "symbol": marker, "size": 9})  # fmt: skip
        figures.append(fig)
    inventory = go.Figure(layout={**layout, "title": "Inventory (position x mid, USD)", "yaxis_title": "USD"})
    for symbol in series.shown:
        inventory.add_scatter(x=axis, y=series.inventory_usd[symbol], name=symbol)
    inventory.add_scatter(x=axis, y=series.total_notional_usd, name="total |notional|", line={"dash": "dot"})
    figures.append(inventory)
    title = "PnL after fees: cash + positions at the mid (USD)"
    pnl = go.Figure(layout={**layout, "title": title, "yaxis_title": "USD"})
    pnl.add_scatter(x=axis, y=series.pnl_usd, name="PnL", fill="tozeroy")
    figures.append(pnl)
    edge = go.Figure(layout={**layout, "title": "Realised edge against the freeze threshold", "yaxis_title": "bps"})
    edge.add_scatter(x=axis, y=series.edge_bps, name="realised edge")
    edge.add_scatter(x=[1, max(series.ticks, 1)], y=[threshold_bps] * 2, name="threshold", mode="lines",
                     line={"dash": "dash", "color": "#d62728"})  # fmt: skip
    freeze_tick = report.get("risk", {}).get("freeze_tick")
    if freeze_tick is not None:
        label = f"freeze (tick {freeze_tick})"
        edge.add_vline(x=freeze_tick, line={"color": "#9467bd", "width": 2}, annotation_text=label)
    figures.append(edge)
    flow = go.Figure(layout={**layout, "title": "Orders per tick", "barmode": "group", "yaxis_title": "orders"})
    for name, values in (("placed", series.placed), ("canceled", series.canceled), ("filled", series.filled)):
        flow.add_bar(x=axis, y=values, name=name)
    figures.append(flow)
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


_RENDER = """
const figures = JSON.parse(document.getElementById('figures').textContent);
const status = document.getElementById('render-status');
function finish(state) {
  const charts = Array.from(document.querySelectorAll('div.chart'));
  const drawn = charts.filter(c => c.querySelector('.main-svg') && c.querySelectorAll('.trace').length > 0).length;
  status.dataset.status = state;
  status.textContent = JSON.stringify({status: state, charts: charts.length, drawn: drawn, errors: window.mmErrors});
}
Promise.all(figures.map((f, i) => Plotly.newPlot('chart-' + i, f.data, f.layout, {displaylogo: false})))
  .then(() => finish('rendered'))
  .catch(e => { window.mmErrors.push(String(e)); finish('failed'); });
"""

_CATCH = """window.mmErrors = [];
window.addEventListener('error', e => window.mmErrors.push(String(e.message || e)));
window.addEventListener('unhandledrejection', e => window.mmErrors.push(String(e.reason)));"""


def build_html(series: RunSeries, report: Mapping[str, Any], *, threshold_bps: float, title: str) -> str:
    """The page: charts, the report as a table, plotly.js inlined."""
    figures = _figures(series, report, threshold_bps)
    data = "[" + ",".join(to_json(f, validate=False) for f in figures) + "]"
    data = data.replace("<", "\\u003c")  # nothing in the JSON can close the script element
    charts = "\n".join(f'<div class="chart" id="chart-{i}"></div>' for i in range(len(figures)))
    rows = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _flatten(report))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<script>{_CATCH}</script>
<script>{get_plotlyjs()}</script>
<style>body{{font-family:sans-serif;margin:1.5em;max-width:1200px}}table{{border-collapse:collapse}}
th,td{{text-align:left;padding:2px 12px;border-bottom:1px solid #ddd;font-family:monospace}}
#render-status{{color:#888;font-size:small}}</style></head>
<body><h1>{html.escape(title)}</h1>
{charts}
<h2>Report</h2><table>{rows}</table>
<pre id="render-status" data-status="pending">pending</pre>
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
) -> None:
    """Read the event log, draw the run, write the page (to a temporary file renamed over ``path``).

    An ``OSError`` (the event log gone, a full disk) is the caller's; no partial page is left.
    """
    execution = report.get("execution", {})
    ticks = int(execution.get("ticks", 0))
    series = collect_series(read_events(events_path), ticks=ticks, shown=shown, instruments=instruments, market=market,
                            maker_fee_bps=maker_fee_bps)  # fmt: skip
    symbols = execution.get("symbols", [])
    title = f"run-shadow: {len(symbols)} symbols, {ticks} ticks, seed {execution.get('seed')}"
    text = build_html(series, report, threshold_bps=threshold_bps, title=title)
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)  # a full disk leaves no half page behind (nor the page before it replaced)
        raise
