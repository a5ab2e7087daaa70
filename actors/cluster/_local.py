"""Every shard and the coordinator in this process (``--cluster in-process``): the same code as on Ray, no Ray.

For tests, and to try sharding where Ray is not installed: the links are
method calls between runtimes, so there is no parallelism to gain (one
process has one core), only the same report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.cluster._coordinator_host import Coordinator, Ended, partition
from actors.cluster._kill_switch import KillSwitchHolder, armed
from actors.cluster._shard import Shard
from actors.config import ShadowConfig
from actors.logs import run_started
from actors.market_setup import settle


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
    try:
        up = coordinator.deliver
        if record is not None:
            taken = record

            def up(data: bytes) -> None:
                taken.append(data)
                coordinator.deliver(data)

        for index, symbols in enumerate(parts):
            shards.append(Shard(config, index, symbols, up, journal_root=config.journal))
        with armed(kill_switch, coordinator.freeze):
            for shard in shards:
                shard.start(config.iterations)
            ended = coordinator.wait(lambda: [shard.figures() for shard in shards],
                                     restart_timeout=config.shard_restart_timeout)  # fmt: skip
        report, text = coordinator.report([shard.snapshot() for shard in shards])
        return report, text, ended
    finally:
        for shard in shards:
            shard.stop()
        coordinator.stop()
