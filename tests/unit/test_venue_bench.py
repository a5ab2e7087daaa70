"""The bench's real-venue cases run end to end on a few orders and say what they measured (no figure is asserted)."""

from __future__ import annotations

from actors.tools._gateway_bench import adapter_cost, gateway_orders_per_s


def test_the_adapter_cost_case_times_places_and_cancels_against_a_server_in_another_process() -> None:
    result = adapter_cost(5)
    assert result["orders"] == 5
    assert 0 < result["place_ms"]["p50"] <= result["place_ms"]["p99"]
    assert 0 < result["cancel_ms"]["p50"] <= result["cancel_ms"]["p99"]
    assert result["adapter_cpu_us_per_order"] > 0


def test_the_gateway_case_answers_every_order_blocking_and_through_the_worker() -> None:
    for threads in (0, 4):
        result = gateway_orders_per_s(0.0, threads, requests=2, places=3)
        assert result["answered"] == result["orders"] == 6 and result["acked"] == 6, result
