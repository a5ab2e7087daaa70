"""Handlers that fail on the tick path: the run goes on to its last tick, and the report is the same everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from actors.assembly._report import build_report, render
from actors.assembly._system import System
from actors.core._store import StoreCore
from actors.core._strategy import Quotes, StrategyInput, Symmetric
from actors.runtime import create_runtime

SETTINGS: dict[str, Any] = {"symbols_count": 6, "iterations": 40, "edge_threshold": -1e9, "max_total": 1e6}


CALLS: dict[str, int] = {}


class FlakyStrategy(Symmetric):
    """Fails for two symbols every third tick (the quoter's handler raises after it took the tick)."""

    def quote(self, state: StrategyInput) -> Quotes:
        calls = CALLS[state.symbol] = CALLS.get(state.symbol, 0) + 1
        if state.symbol in ("SYM00002", "SYM00005") and calls % 3 == 0:
            raise RuntimeError(f"cannot quote {state.symbol}")
        return super().quote(state)


def run_with(runtime_name: str, monkeypatch: pytest.MonkeyPatch, *, flaky_store: bool) -> str:
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
    system = System.build(runtime, strategy=FlakyStrategy, **SETTINGS)
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
