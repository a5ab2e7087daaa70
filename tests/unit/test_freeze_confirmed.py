"""A confirmed freeze means nothing is open, and nothing open means confirmed.

docs/RELIABILITY.md, "A confirmed freeze".
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from actors.assembly._config import resolve
from actors.assembly._report import ReportParts, assemble_report
from actors.cli._run_shadow import run
from actors.core._types import OrderState
from actors.testing import Sim

FLATTEN_ON_A_VENUE_THAT_TIMES_OUT = {
    "edge_threshold": 8.0, "iterations": 40, "flatten_on_halt": True, "timeout_rate": 0.9, "runtime": "sim",
}  # fmt: skip
"""Seeds 1, 4, 8, 9 and 10 of this ended ``freeze_confirmed: true`` with flattening orders still open until
2026-12-06: their cancels were backing off when the last tick ended."""


@pytest.mark.parametrize("seed", [1, 4, 8, 9, 10])
def test_a_flattening_order_whose_cancel_backs_off_is_settled_before_the_run_reports_a_confirmed_freeze(
    seed: int,
) -> None:
    config = resolve(overrides={**FLATTEN_ON_A_VENUE_THAT_TIMES_OUT, "seed": seed}, override_source="setting")
    report = json.loads(run(config))
    risk, orders = report["risk"], report["orders"]
    assert risk["frozen"] and risk["flatten"]["orders"] > 0
    assert risk["freeze_confirmed"] and orders["open"] == 0


def test_a_confirmed_freeze_in_the_report_needs_the_store_to_hold_nothing_open() -> None:
    system = Sim(1).start_system(edge_threshold=8.0, iterations=20)
    system.run()
    store, risk = system.store_snapshot(), system.risk_snapshot()
    assert risk.frozen and risk.freeze_confirmed and not store.open_orders
    counts = {**store.counts, OrderState.OPEN.value: store.counts.get(OrderState.OPEN.value, 0) + 1}
    left_open = replace(store, counts=counts, open_orders=["CLI00000007"])  # as a flattening order outliving it
    parts = ReportParts(system.config, system.instruments, None, None, left_open, risk, system.gateway_snapshot(),
                        system.runtime.stats)  # fmt: skip
    report = assemble_report(parts)
    assert report["orders"]["open"] == 1
    assert report["risk"]["freeze_confirmed"] is False
    assert report["risk"]["freeze_incomplete"]["store_open_first"] == ["CLI00000007"]
