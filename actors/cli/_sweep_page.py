"""``bin/sweep``'s outputs: the table of its cells (CSV) and one self-contained HTML page of them.

The page has a chart per figure (PnL, edge, fills, max |position|) against
the swept values (:func:`actors.assembly._grid.chart_axis`; a line for each
setting of the other axes) and the whole table, sorted by a click on a
column's header.  The charts are drawn by the plotly.js the package ships
(:func:`actors.assembly._html_report.plotly_bundle`), inlined so that the page
opens without a network; they need the ``observe`` extra (plotly), as
``--html`` does.  Without it the page is the table alone.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actors.assembly._grid import (
    METRIC_TITLES,
    METRICS,
    Axis,
    GridValue,
    Outcome,
    as_number,
    chart_axis,
    columns,
    flag_text,
    row,
)

CSV_NAME = "sweep.csv"
HTML_NAME = "sweep.html"


def write_atomically(path: Path, text: str) -> None:
    """``text`` to ``path`` through a temporary file renamed over it: a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8", newline="")
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


def table_csv(outcomes: Sequence[Outcome], axes: Sequence[Axis]) -> str:
    """The CSV: a header, then a line per finished cell in the cells' order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns(axes))
    for outcome in sorted(outcomes, key=lambda item: item.cell.number):
        writer.writerow(row(outcome, axes))
    return out.getvalue()


def _figures(outcomes: Sequence[Outcome], axes: Sequence[Axis]) -> list[dict[str, Any]]:
    """One plotly figure per figure of :data:`METRICS`: x the chart axis's values, a line per setting of the rest."""
    x_axis = chart_axis(axes, [outcome.cell for outcome in outcomes])
    others = [axis for axis in axes if axis is not x_axis]
    order = {flag_text(value): index for index, value in enumerate(x_axis.values)}
    lines: dict[str, list[Outcome]] = {}
    for outcome in sorted(outcomes, key=lambda item: item.cell.number):
        values = [(axis.name, outcome.cell.value(axis)) for axis in others]
        name = " ".join(f"{key}={flag_text(value)}" for key, value in values if value is not None) or x_axis.name
        lines.setdefault(name, []).append(outcome)

    def x_of(outcome: Outcome) -> GridValue | float | None:
        value = outcome.cell.value(x_axis)
        if value is None:
            return None
        return as_number(value) if x_axis.numeric else flag_text(value)

    figures = []
    for metric in METRICS:
        title, unit = METRIC_TITLES[metric]
        traces = []
        for name, unsorted in lines.items():
            members = sorted(unsorted, key=lambda item: order.get(_shown(item.cell.value(x_axis)), 0))
            traces.append({
                "type": "scatter", "mode": "lines+markers", "name": name,
                "x": [x_of(outcome) for outcome in members],
                "y": [_finite(outcome.figures.get(metric)) for outcome in members],
                "text": [f"cell {outcome.cell.number}: {outcome.status}" for outcome in members],
            })  # fmt: skip
        layout = {
            "title": {"text": f"{title} against {x_axis.name}"},
            "xaxis": {"title": {"text": x_axis.name}, **({} if x_axis.numeric else {"type": "category"})},
            "yaxis": {"title": {"text": unit}},
            "height": 360, "margin": {"l": 84, "r": 24, "t": 64, "b": 52},
            "showlegend": len(traces) > 1, "legend": {"orientation": "h", "y": -0.25},
        }  # fmt: skip
        figures.append({"data": traces, "layout": layout})
    return figures


def _finite(value: object) -> float | None:
    """A figure a chart can draw: a finite number, else a gap (a failed cell, an edge with no fill)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _shown(value: GridValue | None) -> str:
    return "-" if value is None else flag_text(value)


def build_page(
    outcomes: Sequence[Outcome],
    axes: Sequence[Axis],
    *,
    title: str,
    lines: Sequence[str],
    bundle: str | None,
) -> str:
    """The page: ``lines`` (what was swept, over what), the charts when ``bundle`` (plotly.js) is given, the table.

    Without ``bundle`` it is the table alone, still sortable (a few lines of
    script of its own).
    """
    header = columns(axes)
    ordered = sorted(outcomes, key=lambda item: item.cell.number)
    body = []
    for outcome in ordered:
        cells = []
        for name, text in zip(header, row(outcome, axes), strict=True):
            shown = html.escape(text)
            if name == "report" and text:
                shown = f'<a href="{html.escape(text, quote=True)}">{shown}</a>'
            tone = f' class="{html.escape(outcome.status)}"' if name == "status" else ""
            cells.append(f"<td{tone}>{shown}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    heads = "".join(f'<th title="sort by {html.escape(name)}">{html.escape(name)}</th>' for name in header)
    table = f'<table class="sortable"><thead><tr>{heads}</tr></thead><tbody>\n' + "\n".join(body) + "\n</tbody></table>"
    intro = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)
    charts = ""
    scripts = f"<script>{_SORT}</script>"
    if bundle is not None:
        figures = _figures(outcomes, axes)
        data = json.dumps(figures, allow_nan=False).replace("<", "\\u003c")
        charts = "\n".join(f'<div class="chart" id="chart-{i}"></div>' for i in range(len(figures)))
        charts += '\n<pre id="render-status" hidden data-status="pending">pending</pre>'
        charts += f'\n<script type="application/json" id="figures">{data}</script>'
        scripts = f"<script>{_CATCH}</script>\n<script>{bundle}</script>\n" + scripts + f"\n<script>{_RENDER}</script>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body><h1>{html.escape(title)}</h1>
{intro}
{charts}
<h2>Every cell</h2>
<p class="hint">Click a column's header to sort by it (again: the other way).</p>
{table}
{scripts}
</body></html>
"""


_SORT = """
for (const table of document.querySelectorAll('table.sortable')) {
  const heads = Array.from(table.tHead.rows[0].cells);
  heads.forEach((th, column) => th.addEventListener('click', () => {
    const up = th.dataset.order !== 'up';
    heads.forEach(h => delete h.dataset.order);
    th.dataset.order = up ? 'up' : 'down';
    const key = row => {
      const text = row.cells[column].textContent.trim();
      const number = Number(text);
      return text === '' ? [2, 0] : Number.isFinite(number) ? [0, number] : [1, text];
    };
    const rows = Array.from(table.tBodies[0].rows);
    rows.sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      if (x[0] !== y[0]) return x[0] - y[0];  // numbers, then text, then empty cells, either way
      const order = x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
      return up ? order : -order;
    });
    rows.forEach(r => table.tBodies[0].appendChild(r));
  }));
}
"""

_CATCH = """window.mmErrors = [];
window.addEventListener('error', e => window.mmErrors.push(String(e.message || e)));"""

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

_STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}
p{margin:.4em 0;font-size:.95em;color:#444}.hint{font-size:.85em;color:#666}
.chart{margin-top:.6em}
table{border-collapse:collapse;margin-top:.5em;font-size:.85em}
th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}
th[data-order=up]::after{content:" \\2191"}th[data-order=down]::after{content:" \\2193"}
th,td{text-align:left;padding:2px 10px;border-bottom:1px solid #ddd;font-family:monospace;font-weight:normal;
white-space:nowrap}
td:last-child{white-space:normal;min-width:40em}
td.failed,td.incomplete{color:#d62728;font-weight:600}"""
