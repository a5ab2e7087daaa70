"""Every shard and the coordinator in this process (``--cluster in-process``): the same code as on Ray, no Ray.

For tests, and to try sharding where Ray is not installed: the links are
method calls between runtimes, so there is no parallelism to gain (one
process has one core), only the same report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loguru import logger

from actors.assembly._config import ShadowConfig
from actors.assembly._market_setup import settle
from actors.cluster._coordinator_host import Coordinator, Ended, completed, partition
from actors.cluster._kill_switch import KillSwitchHolder, armed
from actors.cluster._shard import Shard, ShardFigures
from actors.runtime._loop import CallerInterrupted
from actors.telemetry._logs import run_started


def run_in_process(
    config: ShadowConfig, *, record: list[bytes] | None = None, kill_switch: KillSwitchHolder | None = None
) -> tuple[dict[str, Any], str, Ended]:
    """Run ``config`` sharded over ``config.shards`` shards in this process; the report, its text, how it ended.

    ``record`` gets every batch the shards send the coordinator, in the order
    it took them (the benchmark replays them into a coordinator alone).
    ``kill_switch`` (the command's SIGUSR1) freezes every shard through the
    coordinator.
    """
    config = settle(config).config
    run_started(config)
    parts = partition(config.symbols, config.shards)
    shards: list[Shard] = []

    def port(index: int) -> Callable[[bytes], None]:
        def deliver(data: bytes) -> None:
            shards[index].deliver(data)  # looked up when called: the shards are made after the coordinator

        return deliver

    coordinator = Coordinator(config, parts, [port(index) for index in range(len(parts))])
    finished: str | None = None
    try:
        up = coordinator.deliver
        if record is not None:
            taken = record

            def up(data: bytes) -> None:
                taken.append(data)
                coordinator.deliver(data)

        for index, symbols in enumerate(parts):
            shards.append(Shard(config, index, symbols, up, journal_root=config.journal))

        def figures() -> list[ShardFigures | None]:
            return [shard.figures() for shard in shards]

        with armed(kill_switch, coordinator.freeze) as disarm:
            for shard in shards:
                shard.start(config.iterations)
            ended = coordinator.wait(figures, restart_timeout=config.shard_restart_timeout)
            disarm()  # a pull so far has reached the coordinator; one from now on changes nothing
            while not coordinator.close():  # a freeze came as the wait ended: it is in the report too
                ended = coordinator.wait(figures, restart_timeout=config.shard_restart_timeout)
        report, text = coordinator.report([shard.snapshot() for shard in shards])
        finished = text if completed(report, ended) else None
        return report, text, ended
    except (KeyboardInterrupt, CallerInterrupted):
        logger.remove()  # stopping mid-tick dead-letters what is in flight: expected, and not news (as in one process)
        raise
    finally:
        for shard in shards:
            shard.stop(finished)
        coordinator.stop()
