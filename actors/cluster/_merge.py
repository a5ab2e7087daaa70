"""Adding up the shards' snapshots for the report: counts sum, and nothing depends on how symbols were split."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgpack

from actors.roles._gateway import GatewaySnapshot
from actors.roles._order_store import StoreSnapshot
from actors.runtime._base import RuntimeStats
from actors.venues._faults import MASS_CANCEL_FAULTS


def unpack(data: bytes) -> dict[str, Any]:
    """A shard's snapshot (``Shard.snapshot``) as plain data."""
    value = msgpack.unpackb(data, raw=False, strict_map_key=False)
    if not isinstance(value, dict):
        raise ValueError("a shard's snapshot must be a map")
    return value


def empty_snapshot() -> dict[str, Any]:
    """What a shard that is gone for good contributes: nothing (the report names it as lost)."""
    return {
        "store": {"placed": 0, "counts": {}, "open_orders": [], "frozen": True, "duplicate_fills": 0,
                  "unknown_fills": 0, "partially_filled_then_canceled": 0, "illegal_transitions": 0,
                  "refused_after_freeze": 0, "kept": 0},
        "strategy_blocks": {},
        "gateway": {"frozen": True, "places": 0, "cancels": 0, "exchange_errors": 0, "refused_after_freeze": 0,
                    "reconciled": 0, "faults_injected": {}, "market_through": 0, "venue_open": -1,
                    "mass_cancel_rounds": 0, "mass_cancel_error": "shard lost"},
        "mass_cancel_faults": [],
        "stats": {"dead_letters": 0, "failures": 0, "restarts": 0, "escalations": 0},
        "resumed_after_tick": None,
    }  # fmt: skip


def _sum_maps(maps: Sequence[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for entry in maps:
        for key, value in entry.items():
            total[key] = total.get(key, 0) + int(value)
    return dict(sorted(total.items()))


def merged_store(parts: Sequence[dict[str, Any]]) -> StoreSnapshot:
    """Every shard's store as one: counts summed, open orders in client-id order."""
    stores = [part["store"] for part in parts]
    return StoreSnapshot(
        placed=sum(store["placed"] for store in stores),
        counts=_sum_maps([store["counts"] for store in stores]),
        open_orders=sorted(order for store in stores for order in store["open_orders"]),
        frozen=all(store["frozen"] for store in stores),
        duplicate_fills=sum(store["duplicate_fills"] for store in stores),
        unknown_fills=sum(store["unknown_fills"] for store in stores),
        partially_filled_then_canceled=sum(store["partially_filled_then_canceled"] for store in stores),
        illegal_transitions=sum(store["illegal_transitions"] for store in stores),
        refused_after_freeze=sum(store["refused_after_freeze"] for store in stores),
        freeze_confirmed_at=None,
        kept=sum(store.get("kept", 0) for store in stores),
    )


def merged_strategy_blocks(parts: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Every shard's quoters' blocked ticks by reason, summed."""
    return _sum_maps([part.get("strategy_blocks", {}) for part in parts])


def merged_gateway(parts: Sequence[dict[str, Any]]) -> GatewaySnapshot:
    """Every shard's gateway as one: calls and errors summed; mass-cancel rounds the most any shard needed.

    A mass cancel is one call per venue: every shard's venue draws the same
    faults for the same attempt (``MASS_CANCEL_FAULTS``), so they count once,
    as the union of the attempts that failed anywhere.
    """
    gateways = [part["gateway"] for part in parts]
    faults = _sum_maps([gateway["faults_injected"] for gateway in gateways])
    mass: set[tuple[str, int, int]] = set()
    errors_elsewhere = 0
    for part, gateway in zip(parts, gateways, strict=True):
        own = {(str(kind), int(tick), int(attempt)) for kind, tick, attempt in part["mass_cancel_faults"]}
        mass |= own
        errors_elsewhere += gateway["exchange_errors"] - len(own)  # each failed mass cancel is one error
    for kind in MASS_CANCEL_FAULTS:  # one venue would have failed each attempt once, not once per shard
        if kind in faults:
            faults[kind] = sum(1 for key in mass if key[0] == kind)
    open_counts = [gateway["venue_open"] for gateway in gateways]
    errors = [gateway["mass_cancel_error"] for gateway in gateways if gateway["mass_cancel_error"]]
    return GatewaySnapshot(
        frozen=all(gateway["frozen"] for gateway in gateways),
        places=sum(gateway["places"] for gateway in gateways),
        cancels=sum(gateway["cancels"] for gateway in gateways),
        exchange_errors=errors_elsewhere + len(mass),
        refused_after_freeze=sum(gateway["refused_after_freeze"] for gateway in gateways),
        reconciled=sum(gateway["reconciled"] for gateway in gateways),
        faults_injected=faults,
        market_through=min(gateway["market_through"] for gateway in gateways),
        venue_open=-1 if any(count < 0 for count in open_counts) else sum(open_counts),
        mass_cancel_rounds=max(gateway["mass_cancel_rounds"] for gateway in gateways),
        mass_cancel_error=errors[0] if errors else "",
    )


def merged_stats(parts: Sequence[dict[str, Any]], coordinator: RuntimeStats) -> RuntimeStats:
    """The message counters of every shard's runtime and the coordinator's."""
    stats = RuntimeStats()
    for counters in [part["stats"] for part in parts]:
        stats.dead_letters += counters["dead_letters"]
        stats.failures += counters["failures"]
        stats.restarts += counters["restarts"]
        stats.escalations += counters["escalations"]
    stats.dead_letters += coordinator.dead_letters
    stats.failures += coordinator.failures
    stats.restarts += coordinator.restarts
    stats.escalations += coordinator.escalations
    return stats
