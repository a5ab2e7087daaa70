"""The sharded cases of ``bin/bench`` (``--sharded``, ``--coordinator``): what sharding costs and gains here.

``--sharded`` runs one process, then 1 and 2 shards on a local Ray instance,
in rounds, each round with this machine's own 2-process ceiling;
``--coordinator`` times the coordinator alone, replaying the batches it took
in a sharded run into a fresh one: its work is the part of a sharded run
that does not shrink with more shards (docs/SCALING.md, "What it costs").
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from actors.bench import _build, _config

PARALLEL_PROBE = "x = 0\nfor i in range(40_000_000):\n    x += i\n"
"""A CPU-bound Python job with no I/O and nothing shared: what two cores give two independent processes."""


def parallel_ceiling() -> dict[str, float]:
    """Two runs of :data:`PARALLEL_PROBE` one after the other against side by side: this machine's 2-core speed-up.

    No sharded run can split its work over two processes better than two
    processes that share nothing, so this is the ceiling the 1-to-2-shard
    speed-up is read against.  On a virtual machine whose two cores are
    hyperthreads or shared with other guests it is well below 2.
    """
    job = [sys.executable, "-c", PARALLEL_PROBE]

    def alone() -> float:
        started = time.perf_counter()
        subprocess.run(job, check=True)
        return time.perf_counter() - started

    first = alone()  # one alone before the pair and one after: a machine drifting in between weighs on both sides
    started = time.perf_counter()
    children = [subprocess.Popen(job) for _ in range(2)]
    for child in children:
        child.wait()
    side_by_side = time.perf_counter() - started
    sequential = first + alone()
    return {"sequential_s": sequential, "side_by_side_s": side_by_side, "speed_up": sequential / side_by_side}


def sharded_case(
    symbols: int, iterations: int, shard_counts: Sequence[int], freeze_after_s: float, rounds: int = 3
) -> dict[str, Any]:
    """10,000 symbols (say) on one process, then on 1 and 2 shards on a local Ray instance, in one sitting.

    Run time counts from the shards' start to the end of the last tick (the
    cluster's own start is reported apart).  The shard counts run in turn,
    ``rounds`` times, each round with a measure of the machine's own
    2-process ceiling (:func:`parallel_ceiling`): a shared machine's speed
    drifts by tens of percent within minutes, so each figure is the best of
    its rounds, and the speed-up (1-shard run time over the N-shard one) is
    read against the ceiling of the best probes; each round's own figures
    are given too.  A last N-shard run is frozen by the
    operator ``freeze_after_s`` into its ticks, for the freeze latency
    (risk's decision to the last shard's confirmation that its venue holds
    nothing).
    """
    import ray  # the cluster extra: imported only when this case runs

    from actors.cluster._ray import run_on_ray

    out: dict[str, Any] = {"symbols": symbols, "iterations": iterations, "rounds": rounds, "cases": {}}
    one = _config(symbols, iterations, "pool")
    with tempfile.TemporaryDirectory() as journal:  # a shard journals (that is how it comes back): so, once, here
        for name, config in (("one_process", one), ("one_process_journaled", replace(one, journal=journal))):
            started = time.perf_counter()
            system = _build(config)
            system.start()
            spawned = time.perf_counter()
            system.run()
            out[name] = {"start_s": round(spawned - started, 3), "run_s": round(time.perf_counter() - spawned, 3)}
            system.stop()
    runs: dict[int, list[dict[str, Any]]] = {shards: [] for shards in shard_counts}
    ceilings: list[dict[str, float]] = []
    for _ in range(rounds):
        for shards in shard_counts:
            figures: dict[str, Any] = {}
            run_on_ray(replace(one, shards=shards, cluster="local"), figures=figures)
            runs[shards].append(figures)
        ceilings.append(parallel_ceiling())
    for shards, figures_of_rounds in runs.items():
        best = dict(min(figures_of_rounds, key=lambda figures: float(figures["run_s"])))
        best["run_s_of_rounds"] = [figures["run_s"] for figures in figures_of_rounds]
        out["cases"][str(shards)] = _rounded(best)
    # best of each side, as for the runs: one slow sequential probe alone would make a ceiling above 2
    ceiling = min(entry["sequential_s"] for entry in ceilings) / min(entry["side_by_side_s"] for entry in ceilings)
    out["parallel_ceiling"] = {"speed_up": round(ceiling, 3), "of_rounds": [_rounded(entry) for entry in ceilings]}
    base = out["cases"][str(shard_counts[0])]["run_s"]
    for shards in shard_counts[1:]:
        speed_up = base / out["cases"][str(shards)]["run_s"]
        out["cases"][str(shards)]["speed_up_vs_1_shard"] = round(speed_up, 3)
        out["cases"][str(shards)]["speed_up_of_rounds"] = [
            round(float(first["run_s"]) / float(other["run_s"]), 3)
            for first, other in zip(runs[shard_counts[0]], runs[shards], strict=True)
        ]
        out["cases"][str(shards)]["share_of_parallel_ceiling"] = round(speed_up / ceiling, 3)

    def freeze_later(_address: str, name: str, _seconds: float) -> None:
        def pull() -> None:
            time.sleep(freeze_after_s)
            ray.get(ray.get_actor(name).freeze.remote("bench"))

        threading.Thread(target=pull, daemon=True).start()

    figures = {}
    frozen = replace(one, shards=shard_counts[-1], cluster="local", iterations=iterations * 10)
    run_on_ray(frozen, on_address=freeze_later, figures=figures)
    out["freeze"] = {"shards": shard_counts[-1], "latency_ms": _rounded(figures).get("freeze_latency_ms")}
    return out


def _rounded(figures: dict[str, Any]) -> dict[str, Any]:
    def cut(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 3)
        if isinstance(value, list):
            return [cut(entry) for entry in value]
        return value

    return {key: cut(value) for key, value in figures.items()}


def coordinator_replay(symbols: int, iterations: int, shards: int = 2, rounds: int = 3) -> dict[str, Any]:
    """The coordinator's own work: a sharded run's batches to it, recorded, then replayed into fresh coordinators.

    The run is in process (``--cluster in-process``), which records every
    batch the shards send the coordinator; the replay hands a new
    coordinator the same batches and waits until it has decided every tick
    (its decisions go nowhere).  Same batches, same decisions: the replay
    is the coordinator's part of the run on one core, with no shard beside
    it.  The baseline, in the same process: one process's run of the same
    workload, so ``share_of_one_process`` is the part of the work that
    stays on the coordinator however many shards there are.
    """
    from actors.cluster._coordinator_host import Coordinator, partition
    from actors.cluster._local import run_in_process
    from actors.market_setup import settle

    one = _config(symbols, iterations, "pool")
    system = _build(one)
    system.start()
    started = time.perf_counter()
    system.run()
    one_process_s = time.perf_counter() - started
    system.stop()
    config = settle(replace(one, shards=shards, cluster="in-process")).config
    batches: list[bytes] = []
    run_in_process(config, record=batches)
    parts = partition(config.symbols, config.shards)
    times: list[float] = []
    for _ in range(rounds):
        coordinator = Coordinator(config, parts, [lambda _data: None] * len(parts))
        started = time.perf_counter()
        for data in batches:
            coordinator.deliver(data)
        coordinator.runtime.wait_idle(timeout=600)
        times.append(time.perf_counter() - started)
        decided = coordinator.risk.decided_through
        coordinator.stop()
        if decided != iterations:
            raise RuntimeError(f"the replay decided {decided} of {iterations} ticks")
    best = min(times)
    return {
        "symbols": symbols, "iterations": iterations, "shards": shards, "batches": len(batches),
        "batch_mb": round(sum(map(len, batches)) / 1e6, 3), "replay_s": round(best, 3),
        "replay_s_of_rounds": [round(value, 3) for value in times],
        "us_per_symbol_tick": round(best / (symbols * iterations) * 1e6, 2),
        "one_process_s": round(one_process_s, 3), "share_of_one_process": round(best / one_process_s, 3),
    }  # fmt: skip
