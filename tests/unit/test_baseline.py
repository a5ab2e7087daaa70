"""The synchronous baseline and the actor system reach the same outcome."""

from __future__ import annotations

import pytest

from actors.assembly._baseline import SyncEngine
from actors.assembly._config import resolve
from actors.testing import Sim


@pytest.mark.parametrize(
    "settings",
    [
        {"symbols": "BTCUSDT,ETHUSDT", "iterations": 20, "fill_rate": 0.7, "reject_rate": 0.05},
        {"symbols_count": 12, "iterations": 15, "max_inv": 1500.0, "edge_threshold": -1000.0},
        {"symbols": "BTCUSDT,SOLUSDT", "iterations": 40, "edge_threshold": 8.0},
    ],
)
def test_baseline_matches_the_actor_pipeline(settings: dict[str, object]) -> None:
    config = resolve(overrides=settings, override_source="setting")
    expected = SyncEngine(config).run()
    sim = Sim(3)
    system = sim.start_system(**settings)
    system.run()
    store, risk = system.store_snapshot(), system.risk_snapshot()
    assert store.placed == expected.placed and store.counts == expected.counts
    assert risk.risk_blocks == expected.risk_blocks and risk.fills == expected.fills
    assert risk.positions == expected.positions
    assert (risk.frozen, risk.last_freeze_reason) == (expected.frozen, expected.last_freeze_reason)
    system.stop()
