"""The sharded cases of ``bin/bench`` (``--sharded``, ``--coordinator``): what sharding costs and gains here.

``--sharded`` runs one process, then 1 and 2 shards on a local Ray instance,
in rounds, each round with this machine's own 2-process ceiling;
``--coordinator`` times the coordinator alone, replaying the batches it took
in a sharded run into a fresh one: its work is the part of a sharded run
that does not shrink with more shards; ``--split-ceiling`` runs the
workload whole, then in two independent halves side by side: what a
perfect split gets on this machine (docs/SCALING.md, "What it costs").
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from actors.cluster._machine import cores_used, cpu_clock
from actors.tools._workload import build_system, throughput_config

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


ENGINE_JOB = """
import sys
from actors.tools._workload import build_system, throughput_config
from actors.runtime._gc_tuning import tune_gc
tune_gc()
system = build_system(throughput_config(int(sys.argv[1]), int(sys.argv[2]), "pool", seed=int(sys.argv[3])))
system.start()
system.run()
system.stop()
"""
"""One process's run of the bench's workload (``symbols``, ``iterations``, ``seed`` as arguments)."""


def split_ceiling(symbols: int, iterations: int, rounds: int = 2) -> dict[str, Any]:
    """What this machine gives a run split in two with nothing between the halves: the sharded speed-up's ceiling.

    Each round runs one process of ``symbols`` alone, then two processes of
    half as many side by side (different seeds: the same work, nothing
    shared), then one half alone.  ``whole_over_pair`` is the speed-up a
    perfect split of the run over two processes would get here, with no
    coordinator and no link: the bound on 1 against 2 shards that is
    measured on the engine's own work, where :func:`parallel_ceiling`
    measures it on a loop.  ``pair_efficiency`` (twice a half alone over the
    pair) says how much two busy processes slow each other on these cores.
    Each job is timed as a whole process (its start, about a second, is in
    every one alike); each figure is the best of its rounds; each round
    says what the machine's cores did over each of its jobs.
    """
    half = symbols // 2

    def timed(jobs: list[tuple[int, int]]) -> tuple[float, dict[str, float] | None]:
        """The jobs' time, side by side, and what the machine's cores did meanwhile."""
        before, started = cpu_clock(), time.perf_counter()
        children = [subprocess.Popen([sys.executable, "-c", ENGINE_JOB, str(n), str(iterations), str(seed)],
                                     stdout=subprocess.DEVNULL) for n, seed in jobs]  # fmt: skip
        for child in children:
            if child.wait() != 0:
                raise RuntimeError(f"an engine job failed (exit {child.returncode})")
        return time.perf_counter() - started, cores_used(before, cpu_clock())

    of_rounds: list[dict[str, float]] = []
    machine_of_rounds = []
    for _ in range(rounds):
        (whole, on_whole), (pair, on_pair), (alone, on_half) = (
            timed([(symbols, 42)]), timed([(half, 42), (half, 43)]), timed([(half, 42)])
        )  # fmt: skip
        of_rounds.append({"whole_s": whole, "pair_s": pair, "half_s": alone})
        machine_of_rounds.append({"whole": on_whole, "pair": on_pair, "half": on_half})
    best = {key: min(entry[key] for entry in of_rounds) for key in ("whole_s", "pair_s", "half_s")}
    return {
        "symbols": symbols, "iterations": iterations, **_rounded(best),
        "whole_over_pair": round(best["whole_s"] / best["pair_s"], 3),
        "pair_efficiency": round(2 * best["half_s"] / best["pair_s"], 3),
        "of_rounds": [{**_rounded(entry), "machine": used} for entry, used in zip(of_rounds, machine_of_rounds,
                                                                                  strict=True)],
    }  # fmt: skip


def sharded_case(
    symbols: int, iterations: int, shard_counts: Sequence[int], freeze_after_s: float, rounds: int = 3
) -> dict[str, Any]:
    """10,000 symbols (say) on one process, then on 1 and 2 shards on a local Ray instance, in one sitting.

    Run time counts from the shards' start to the end of the last tick (the
    cluster's own start is reported apart).  A shared machine's speed
    drifts by half within minutes (docs/SCALING.md), so the shard counts
    run in rounds, each in the order 1, 2, 2, 1 (an ABBA round: a drift
    that is steady over the round weighs on both sides alike); a round's
    speed-up is the 1-shard run times over the N-shard ones, and the
    speed-up reported is the median of the rounds'.  Each round ends with a
    measure of the machine's own 2-process ceiling
    (:func:`parallel_ceiling`), read against the speed-up.  Each case's
    figures (start, memory) are those of its fastest run, and every run
    time is given, with what the machine's cores did over it (cores busy
    on average, the share the hypervisor stole:
    :mod:`actors.cluster._machine`).  A last N-shard run is frozen by the
    operator ``freeze_after_s`` into its ticks, for the freeze latency (risk's
    decision to the last shard's confirmation that its venue holds nothing).
    """
    from actors.cluster._address import keep_on_loopback

    keep_on_loopback()  # a local instance, as run-shadow's
    import ray  # the cluster extra: imported only when this case runs

    from actors.cluster._ray import run_on_ray

    out: dict[str, Any] = {"symbols": symbols, "iterations": iterations, "rounds": rounds, "cases": {}}
    one = throughput_config(symbols, iterations, "pool")
    with tempfile.TemporaryDirectory() as journal:  # a shard journals (that is how it comes back): so, once, here
        for name, config in (("one_process", one), ("one_process_journaled", replace(one, journal=journal))):
            started = time.perf_counter()
            system = build_system(config)
            system.start()
            spawned = time.perf_counter()
            system.run()
            out[name] = {"start_s": round(spawned - started, 3), "run_s": round(time.perf_counter() - spawned, 3)}
            system.stop()
    runs: dict[int, list[list[dict[str, Any]]]] = {shards: [] for shards in shard_counts}
    ceilings: list[dict[str, float]] = []
    for _ in range(rounds):
        for shards in shard_counts:
            runs[shards].append([])
        for shards in [*shard_counts, *reversed(shard_counts)]:
            figures: dict[str, Any] = {}
            run_on_ray(replace(one, shards=shards, cluster="local"), figures=figures)
            runs[shards][-1].append(figures)
        ceilings.append(parallel_ceiling())
    for shards, of_rounds in runs.items():
        best = dict(min((run for pair in of_rounds for run in pair), key=lambda figures: float(figures["run_s"])))
        best["run_s_of_rounds"] = [[run["run_s"] for run in pair] for pair in of_rounds]
        best["machine_of_rounds"] = [[run.get("machine") for run in pair] for pair in of_rounds]
        best["cpu_s_of_rounds"] = [[_cpu_seconds(run) for run in pair] for pair in of_rounds]
        out["cases"][str(shards)] = _rounded(best)
    # best of each side, as for the runs: one slow sequential probe alone would make a ceiling above 2
    ceiling = min(entry["sequential_s"] for entry in ceilings) / min(entry["side_by_side_s"] for entry in ceilings)
    out["parallel_ceiling"] = {"speed_up": round(ceiling, 3), "of_rounds": [_rounded(entry) for entry in ceilings]}
    base = runs[shard_counts[0]]
    for shards in shard_counts[1:]:
        ratios = [_total_run_s(first) / _total_run_s(other) for first, other in zip(base, runs[shards], strict=True)]
        speed_up = statistics.median(ratios)
        case = out["cases"][str(shards)]
        case["speed_up_vs_1_shard"] = round(speed_up, 3)
        case["speed_up_of_rounds"] = [round(value, 3) for value in ratios]
        case["share_of_parallel_ceiling"] = round(speed_up / ceiling, 3)

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


def _cpu_seconds(figures: dict[str, Any]) -> dict[str, Any]:
    """The CPU seconds each process of a run spent: its work, whatever the machine's speed did to its time."""
    shards = [None if cpu_s is None else round(cpu_s, 2) for cpu_s in figures.get("shard_cpu_s", [])]
    return {"shards": shards, "coordinator": round(float(figures.get("coordinator_cpu_s", 0.0)), 2)}


def _total_run_s(runs: list[dict[str, Any]]) -> float:
    return sum(float(figures["run_s"]) for figures in runs)


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
    from actors.assembly._market_setup import settle
    from actors.cluster._coordinator_host import Coordinator, partition
    from actors.cluster._local import run_in_process

    one = throughput_config(symbols, iterations, "pool")
    system = build_system(one)
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
