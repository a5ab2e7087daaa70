"""Sharding without Ray (``--cluster in-process``): the shards and the coordinator give one process's report."""

from __future__ import annotations

from typing import Any

import pytest

from actors.cli import run
from actors.cluster import partition, run_in_process
from actors.cluster._coordinator_host import Coordinator
from actors.cluster._records import BatchInbox, ShardBatch
from actors.cluster._settings import config_bytes, config_from_bytes
from actors.config import resolve

HOSTILE: dict[str, Any] = {
    "place_error_rate": 0.1, "cancel_error_rate": 0.1, "timeout_rate": 0.05, "duplicate_fill_rate": 0.1,
    "cancel_race_rate": 0.1, "reject_rate": 0.05, "out_of_order_rate": 0.2, "unknown_fill_rate": 0.1,
}  # fmt: skip
CASES: dict[str, dict[str, Any]] = {
    "honest": {"symbols_count": 7, "iterations": 30, "edge_threshold": -1000.0},
    "hostile venue": {"symbols_count": 7, "iterations": 40, "edge_threshold": 2.0, "edge_min_fills": 20, **HOSTILE},
    "hostile venue with an edge freeze": {"symbols_count": 7, "iterations": 40, "edge_threshold": 25.0,
                                          "edge_min_fills": 20, **HOSTILE},
    "a freeze whose mass cancel keeps failing": {"symbols_count": 7, "iterations": 40, "edge_threshold": 25.0,
                                                 "edge_min_fills": 20, "cancel_error_rate": 0.9, "timeout_rate": 0.3},
    "max-total binding": {"symbols_count": 9, "iterations": 25, "max_total": 20_000.0, "edge_threshold": -1000.0},
    "halt, resume and flatten": {"symbols_count": 6, "iterations": 60, "edge_threshold": 25.0, "edge_min_fills": 5,
                                 "resume_after_ticks": 8, "flatten_on_halt": True, "flatten_ticks": 3,
                                 "max_order_usd": 2000.0},
    "reducing": {"symbols_count": 5, "iterations": 40, "reduce_above_usd": 800.0, "edge_threshold": -1000.0,
                 "max_orders_per_sec": 3, "max_open_orders": 1},
}  # fmt: skip


def config_of(**settings: Any) -> Any:
    return resolve(overrides=settings, override_source="setting")


def one_process(settings: dict[str, Any]) -> str:
    return run(config_of(**settings, runtime="sim"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_two_and_three_shards_print_the_bytes_of_one_process_on_the_sim(case: str) -> None:
    settings = CASES[case]
    expected = one_process(settings)
    for shards in (1, 2, 3):
        _, text, ended = run_in_process(config_of(**settings, shards=shards, cluster="in-process"))
        assert not ended.early
        assert text == expected, f"{shards} shards differ from one process ({case})"


def test_the_cases_are_not_trivial() -> None:
    """The cases above trade, refuse, freeze and resume: equality over them says something."""
    import json

    reports = {case: json.loads(one_process(settings)) for case, settings in CASES.items()}
    assert all(report["orders"]["placed"] > 50 for report in reports.values())
    assert reports["hostile venue"]["exchange"]["errors"] > 100
    assert reports["hostile venue"]["fills"]["unknown_ignored"] > 0
    assert reports["hostile venue with an edge freeze"]["risk"]["frozen"]
    assert reports["hostile venue with an edge freeze"]["exchange"]["errors"] > 0
    faults = reports["a freeze whose mass cancel keeps failing"]["exchange"]["faults_injected"]
    assert faults["mass_cancel_error"] > 1
    assert reports["max-total binding"]["risk"]["blocks_by_reason"].get("max-total", 0) > 0
    moves = [move["to"] for move in reports["halt, resume and flatten"]["risk"]["transitions"]]
    assert moves == ["HALTED", "ACTIVE", "HALTED"]
    assert reports["halt, resume and flatten"]["risk"]["flatten"]["orders"] > 0
    assert reports["reducing"]["risk"]["blocks_by_reason"]


def test_a_shard_count_above_the_symbols_leaves_no_shard_empty() -> None:
    assert partition(["B", "A", "C"], 5) == [["A"], ["B"], ["C"]]
    assert partition(["D", "C", "B", "A"], 2) == [["A", "C"], ["B", "D"]]
    with pytest.raises(ValueError):
        partition(["A"], 0)


def test_five_shards_of_three_symbols_print_one_process_s_bytes() -> None:
    settings = {"symbols_count": 3, "iterations": 15, "edge_threshold": -1000.0}
    _, text, _ = run_in_process(config_of(**settings, shards=5, cluster="in-process"))
    assert text == one_process(settings)


def test_a_batch_inbox_puts_batches_in_order_drops_copies_and_restarts_with_a_new_incarnation() -> None:
    inbox = BatchInbox()

    def batch(incarnation: int, seq: int) -> ShardBatch:
        return ShardBatch(0, incarnation, seq, (), (bytes([seq]),))

    assert inbox.accept(batch(0, 2)) == []
    assert [b.seq for b in inbox.accept(batch(0, 1))] == [1, 2]
    assert inbox.accept(batch(0, 2)) == [] and inbox.accept(batch(0, 1)) == []
    assert inbox.received == 2
    assert [b.seq for b in inbox.accept(batch(1, 1))] == [1]
    assert inbox.received == 1
    assert inbox.accept(batch(0, 3)) == []  # an incarnation that is gone


def test_settings_cross_a_process_as_msgpack_and_come_back_equal() -> None:
    config = config_of(symbols_count=4, iterations=9, market=[], shards=2)
    assert config_from_bytes(config_bytes(config)) == config


def test_an_operator_freeze_reaches_every_shard_and_is_confirmed_by_all() -> None:
    import json

    settings = {"symbols_count": 6, "iterations": 30, "edge_threshold": -1000.0}
    config = config_of(**settings, shards=3, cluster="in-process")
    original = Coordinator.wait

    def freeze_then_wait(self: Coordinator, *args: Any, **kwargs: Any) -> Any:
        self.freeze("test")
        return original(self, *args, **kwargs)

    Coordinator.wait = freeze_then_wait  # type: ignore[method-assign]
    try:
        report, _, _ = run_in_process(config)
    finally:
        Coordinator.wait = original  # type: ignore[method-assign]
    risk = json.loads(json.dumps(report))["risk"]
    assert risk["frozen"] and risk["freeze_confirmed"]
    assert risk["last_freeze_reason"] == "Operator: test"
    assert report["orders"]["open"] == 0  # type: ignore[index]
