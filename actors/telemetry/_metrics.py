"""Prometheus metrics of a run, every name prefixed ``mm_``: served while it runs, or written at its end.

A custom collector (prometheus_client's documented way to export values
another program keeps): the engine keeps plain counters in
:class:`~actors.telemetry._telemetry.Telemetry`, and a scrape turns them into
metric families.  So an order costs no metric call and no lock, and every
scrape is read in one pass.  Label values are bounded: roles (``quoter``,
``risk``, ...), risk-block reasons, and per-symbol series only for the first
``metrics_symbols`` symbols.  Needs the ``observe`` extra.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from actors.runtime._timing import Buckets
from actors.telemetry._telemetry import Telemetry

__all__ = ["EngineCollector", "MetricsServer", "registry_for", "write_metrics"]


def _histogram(family: HistogramMetricFamily, labels: list[str], buckets: Buckets) -> None:
    cumulative, points = 0, []
    for bound, count in zip((*buckets.bounds, math.inf), list(buckets.counts), strict=True):
        cumulative += count
        points.append(("+Inf" if bound == math.inf else repr(bound), float(cumulative)))
    family.add_metric(labels, points, buckets.total)


class EngineCollector(Collector):
    """Every ``mm_`` metric, read from a run's :class:`Telemetry` at each scrape."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def collect(self) -> Iterator[Metric]:
        """The metric families, in a fixed order."""
        t, orders = self.telemetry, self.telemetry.orders
        for name, value, text in (
            ("mm_orders_placed", orders.placed, "Orders the store created and sent to the gateway."),
            ("mm_orders_filled", orders.filled, "Orders that ended FILLED."),
            ("mm_orders_canceled", orders.canceled, "Orders that ended CANCELED."),
            ("mm_orders_rejected", orders.rejected, "Orders that ended REJECTED."),
            ("mm_fills", orders.fills, "Fills applied (a partial fill is one fill)."),
        ):
            yield CounterMetricFamily(name, text, value=value)
        blocks = CounterMetricFamily("mm_risk_blocks", "Quote sides risk refused, by reason.", labels=["reason"])
        for reason, count in sorted(t.risk_blocks.items()):
            blocks.add_metric([reason], count)
        yield blocks
        runtime = t.runtime
        stats = runtime.stats if runtime is not None else None
        yield CounterMetricFamily(
            "mm_dead_letters", "Messages undeliverable or undecodable.", value=stats.dead_letters if stats else 0
        )
        restarts = CounterMetricFamily("mm_actor_restarts", "In-place restarts of failed actors.", labels=["role"])
        for role, count in sorted(dict(stats.restarts_by_role if stats else {}).items()):  # a copy: actors add
            restarts.add_metric([role], count)
        yield restarts
        yield CounterMetricFamily(
            "mm_output_failures", "Outputs (event log, metrics file, HTML report, progress line) that failed and were "
            "switched off; the warning on stderr names each.", value=t.output_failures,
        )  # fmt: skip
        yield GaugeMetricFamily("mm_open_orders", "Orders not yet in a final state.", value=orders.open)
        yield GaugeMetricFamily("mm_tick", "The last tick risk decided.", value=t.decided_through)
        yield GaugeMetricFamily(
            "mm_tick_time_seconds", "The time of the last tick risk decided, Unix seconds: on a recorded market the "
            "market's own (the end of the tick's bucket), else the frozen clock's.",
            value=orders.clock.at(t.decided_through).timestamp(),
        )  # fmt: skip
        positions = GaugeMetricFamily(
            "mm_position_usd", "Signed position x mark, USD (the first metrics_symbols symbols).", labels=["symbol"]
        )
        for symbol, usd in t.positions_usd.items():
            positions.add_metric([symbol], usd)
        yield positions
        yield GaugeMetricFamily("mm_total_notional_usd", "Sum of |position| x mark, USD.", value=t.total_notional_usd)
        edge = t.realised_edge_bps
        yield GaugeMetricFamily(
            "mm_realised_edge_bps", "Realised edge over every fill, bps (NaN before the first).",
            value=math.nan if edge is None else edge,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "mm_trading_state", "0 trading (ACTIVE), 1 reducing (REDUCING), 2 frozen (HALTED).", value=t.trading_state
        )
        depths = GaugeMetricFamily("mm_mailbox_depth", "Messages waiting, by role.", labels=["role"])
        for role, depth in (runtime.mailbox_depths() if runtime is not None else {}).items():
            depths.add_metric([role], depth)
        yield depths
        latency = HistogramMetricFamily(
            "mm_tick_to_order_seconds", "From the feed sending a tick to the venue acknowledging its last order."
        )
        _histogram(latency, [], t.tick_to_order)
        yield latency
        answered = HistogramMetricFamily(
            "mm_place_to_answer_seconds", "A real venue's: from the gateway sending a place to the venue answering it."
        )
        _histogram(answered, [], t.place_to_answer)
        yield answered
        freeze = HistogramMetricFamily("mm_freeze_seconds", "From risk deciding a freeze to the store confirming it.")
        _histogram(freeze, [], t.freeze)
        yield freeze
        handling = HistogramMetricFamily(
            "mm_message_handling_seconds", "Time in an actor's message handler, by role.", labels=["role"]
        )
        if t.handling is not None:
            for role, buckets in t.handling.by_role().items():
                _histogram(handling, [role], buckets)
        yield handling


def registry_for(telemetry: Telemetry) -> CollectorRegistry:
    """A registry of its own (not the process's global one) holding the engine's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(telemetry))
    return registry


def write_metrics(path: Path, registry: CollectorRegistry) -> None:
    """The text format, written whole (a temporary file renamed over ``path``)."""
    write_to_textfile(str(path), registry)


class MetricsServer:
    """``/metrics`` over HTTP on every interface, as exporters do, from a thread of its own."""

    def __init__(self, port: int, registry: CollectorRegistry) -> None:
        """Listen now; an OSError (port taken, not allowed) is the caller's to report."""
        self.server, self.thread = start_http_server(port, registry=registry)

    @property
    def port(self) -> int:
        """The port listened on."""
        return int(self.server.server_port)

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
