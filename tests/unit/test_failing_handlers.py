"""Handlers that fail on the tick path: the run goes on to its last tick, and the report is the same everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from actors.assembly.report import build_report, render
from actors.assembly.system import System
from actors.core.quoting import Quote, QuotingPolicy
from actors.core.store import StoreCore
from actors.core.types import Instrument
from actors.runtime import create_runtime

SETTINGS: dict[str, Any] = {"symbols_count": 6, "iterations": 40, "edge_threshold": -1e9, "max_total": 1e6}


CALLS: dict[str, int] = {}


class FlakyPolicy(QuotingPolicy):
    """Fails for two symbols every third tick (the quoter's handler raises after it took the tick)."""

    def quote(self, instrument: Instrument, mid_ticks: int) -> Quote:
        calls = CALLS[instrument.symbol] = CALLS.get(instrument.symbol, 0) + 1
        if instrument.symbol in ("SYM00002", "SYM00005") and calls % 3 == 0:
            raise RuntimeError(f"cannot quote {instrument.symbol}")
        return super().quote(instrument, mid_ticks)


def run_with(runtime_name: str, monkeypatch: pytest.MonkeyPatch, *, flaky_store: bool) -> str:
    monkeypatch.setattr("actors.assembly.system.QuotingPolicy", FlakyPolicy)
    CALLS.clear()
    if flaky_store:
        original = StoreCore._replace
        seen: set[int] = set()

        def replace_then_fail(self: StoreCore, tick: int, *args: Any) -> None:
            original(self, tick, *args)
            if tick % 7 == 0 and tick not in seen:
                seen.add(tick)
                raise RuntimeError(f"store fails after building tick {tick}")

        monkeypatch.setattr(StoreCore, "_replace", replace_then_fail)
    runtime = create_runtime(runtime_name, **({"seed": 3} if runtime_name == "sim" else {}))
    system = System.build(runtime, **SETTINGS)
    try:
        system.start()
        system.run()
        assert system.ended_early is None
        return render(build_report(system))
    finally:
        system.stop()


@pytest.mark.parametrize("flaky_store", [False, True])
@pytest.mark.expect_failures
def test_failing_quoters_and_store_let_the_run_finish_with_the_same_report_on_every_runtime(
    monkeypatch: pytest.MonkeyPatch, flaky_store: bool
) -> None:
    reports = {name: run_with(name, monkeypatch, flaky_store=flaky_store) for name in ("sim", "threads", "pool")}
    assert len(set(reports.values())) == 1, reports
    report = reports["sim"]
    assert '"ticks":40' in report and '"handler_failures":0' not in report
    assert run_with("pool", monkeypatch, flaky_store=flaky_store) == report  # and again: byte for byte
