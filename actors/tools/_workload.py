"""The bench's workload, shared by the one-process cases (:mod:`.bench`) and the sharded ones (:mod:`.cluster_bench`).
"""

from __future__ import annotations

from typing import Any

from actors.assembly._config import ShadowConfig, resolve
from actors.assembly._system import System
from actors.runtime import create_runtime
from actors.telemetry import Telemetry


def throughput_config(symbols: int, iterations: int, runtime: str, seed: int = 42) -> ShadowConfig:
    """A throughput case's settings: limits and a threshold no run reaches, so no case freezes half-way."""
    settings: dict[str, Any] = {"symbols_count": symbols, "iterations": iterations, "runtime": runtime}
    settings.update(seed=seed, edge_threshold=-1e9, max_inv=1e12, max_total=1e15)
    return resolve(overrides=settings, override_source="setting")


def build_system(config: ShadowConfig, telemetry: Telemetry | None = None, *, reliable: bool = False) -> System:
    """The engine of a case on its runtime (the sim runtime seeded, without its trace)."""
    options: dict[str, Any] = {"seed": config.seed, "trace": False} if config.runtime == "sim" else {}
    return System(create_runtime(config.runtime, reliable=reliable, **options), config, telemetry=telemetry)
