"""Seeing a run: live figures, the order event log, Prometheus metrics, the HTML report (docs/OBSERVABILITY.md).

The figures and the event log need nothing beyond the standard library;
metrics need prometheus_client and the HTML report plotly, both in the
``observe`` extra (``pip install -e '.[observe]'``), imported only when asked for.
"""

from actors.telemetry._order_events import COLUMNS, EventLog, EventLogRow, read_events
from actors.telemetry._telemetry import ACTIVE, HALTED, REDUCING, Telemetry

__all__ = ["ACTIVE", "COLUMNS", "HALTED", "REDUCING", "EventLog", "EventLogRow", "Telemetry", "read_events"]
