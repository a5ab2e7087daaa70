"""Measure what Ray costs on this machine, for docs/SCALING.md: start, a call, a 3-shard barrier, a restart.

Run it with a Python that has Ray (``pip install ray``); it starts and stops a
local instance bound to the loopback.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import ray


@ray.remote(max_restarts=3, max_task_retries=0)
class Echo:
    """Stands in for a shard: answers its process id, or the bytes it was sent."""

    def pid(self) -> int:
        return os.getpid()

    def echo(self, payload: bytes) -> bytes:
        return payload


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {ordered[len(ordered) // 2] * 1e3:.2f} ms, p99 {ordered[int(len(ordered) * 0.99)] * 1e3:.2f} ms"


def timed(call: Any, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    print(f"ray.init: {time.perf_counter() - started:.2f} s")
    payload = b"x" * 200
    one = Echo.options(name="shard-0").remote()  # type: ignore[attr-defined]
    ray.get(one.pid.remote())
    print("one call:", percentiles(timed(lambda: ray.get(one.echo.remote(payload)), 300)))
    shards = [Echo.remote() for _ in range(3)]  # type: ignore[attr-defined]
    ray.get([shard.pid.remote() for shard in shards])
    barrier = timed(lambda: ray.get([shard.echo.remote(payload) for shard in shards]), 100)
    print("3-shard barrier:", percentiles(barrier))
    os.kill(ray.get(one.pid.remote()), signal.SIGKILL)
    started = time.perf_counter()
    while True:
        try:
            ray.get(one.pid.remote(), timeout=30)
            break
        except ray.exceptions.RayError:
            time.sleep(0.05)
    print(f"answering again after SIGKILL: {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    ray.shutdown()
    print(f"ray.shutdown: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
