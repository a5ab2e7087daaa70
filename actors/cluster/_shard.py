"""A shard: the engine's actors for some of the symbols, on a runtime of its own (docs/SCALING.md, "A shard").

Quoters, feed, order store, gateway and its part of the venue run exactly as
in one process; the actor at ``RISK`` is the shard's end of the link to the
coordinator (:class:`UpLink`).  Nothing here knows about Ray: a host (a Ray
actor, or a test in one process) builds a :class:`Shard`, hands it the
coordinator's batches with :meth:`Shard.deliver` and carries what it sends
up to the coordinator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgpack
import pykka

from actors.assembly._config import ShadowConfig
from actors.assembly._system import System
from actors.cluster._records import BROADCAST, BatchInbox, Rejoin, ShardBatch
from actors.cluster._uplink import SendUp, UpLink
from actors.core._risk import RiskEngine
from actors.roles._addresses import FEED, GATEWAY, QUOTERS, RISK, STORE
from actors.runtime import create_runtime
from actors.runtime._realtime import IdleTimeout
from actors.venues._faults import FaultyExchange
from actors.wire._codec import decode, encode
from actors.wire._messages import FeedTicks, FillItem, FillsApplied, Freeze

SHARD_DIR = "shard-{}"
"""A shard's journals live in this subdirectory of ``--journal`` (``shard-0``, ``shard-1``, ...)."""


def hosted_runtime(runtime: str) -> str:
    """The runtime a shard or the coordinator runs on: ``runtime``, but ``pool`` for ``sim``.

    ``sim`` is one seeded scheduler over one process's actors, which no link
    between processes can join; each part then runs on ``pool``, and the
    report's bytes are those of ``sim`` all the same (docs/SCALING.md).
    """
    return "pool" if runtime == "sim" else runtime


def shard_config(config: ShadowConfig, index: int, symbols: list[str], journal_root: str) -> ShadowConfig:
    """The settings a shard runs under: its symbols, its journal directory, no outputs of its own."""
    journal = str(Path(journal_root) / SHARD_DIR.format(index)) if journal_root else ""
    return replace(
        config, symbols=tuple(symbols), journal=journal, shards=1, runtime=hosted_runtime(config.runtime),
        metrics_port=0, metrics_file="", events="", html="",
    )  # fmt: skip


class ShardSystem(System):
    """A :class:`System` whose actor at ``RISK`` is the link to the coordinator."""

    def __init__(self, runtime: Any, config: ShadowConfig, index: int, send_up: SendUp, incarnation: int) -> None:
        self.index = index
        self.send_up = send_up
        self.incarnation = incarnation
        self.fills_received: int | None = None
        """Set for a restarted shard: how many of its fills risk has (the rest are resent from the journal)."""
        self.resume_through: int | None = None
        """Set for a restarted shard: the coordinator's last decision, where the shard's actors start counting."""
        super().__init__(runtime, config)

    def _fills_to_keep_after(self) -> int | None:
        return self.fills_received  # risk has these; the rest are resent

    def _start_tick(self, venue_tick: int) -> int:
        """After a restart the shard counts from the coordinator's last decision: its venue may be one tick on."""
        return venue_tick if self.resume_through is None else min(venue_tick, self.resume_through)

    def _spawn_risk(self, engine: RiskEngine, tick: int, freeze: tuple[int, str] | None) -> pykka.ActorRef[Any]:
        """The link to the coordinator; after a restart it first resends the fills risk is missing.

        Before anything else goes up (the venue's state after the
        reconciliation among it): risk must have every fill of the shard's
        before it compares positions with the venue's.
        """
        ref = self.runtime.spawn(
            UpLink, RISK, self.index, self.config.symbols, self.send_up, incarnation=self.incarnation,
            flushed_through=tick, final_tick=self.config.iterations,
        )  # fmt: skip
        recovered, received = self.recovered, self.fills_received
        if recovered is not None and received is not None:
            missing = tuple(FillItem.from_fill(fill) for fill in recovered.store_fills)
            if missing:
                self.runtime.tell(RISK, encode(FillsApplied(tick, missing, 0, False)))
        return ref


@dataclass
class ShardFigures:
    """What a shard reports when asked whether it is quiet: for the coordinator's termination check."""

    sent: int
    received: int
    delivered: int
    idle: bool


class Shard:
    """One shard's engine; :meth:`start` it, feed it batches, ask it for its figures and its snapshot."""

    def __init__(self, config: ShadowConfig, index: int, symbols: list[str], send_up: SendUp, *, incarnation: int = 0,
                 journal_root: str = "") -> None:  # fmt: skip
        self.index = index
        self.config = shard_config(config, index, symbols, journal_root)
        self.runtime = create_runtime(self.config.runtime)
        self.inbox = BatchInbox()
        self.system = ShardSystem(self.runtime, self.config, index, send_up, incarnation)
        self.send_up = send_up
        self.early: list[ShardBatch] = []
        self.started = False
        """Until :meth:`start` or :meth:`rejoin`, batches are kept aside in :attr:`early`, handed on then."""
        self.starting = threading.Lock()
        """Held while a batch is kept aside and while the shard starts: a batch that comes then is never left out.

        A freeze decided before the shard starts (a kill switch pulled during
        the run's start-up) comes that way, from the coordinator's thread,
        while the host starts the shard from another.
        """

    def start(self, last_tick: int) -> None:
        """Spawn the shard's actors, hand on what came before, and let its feed go up to ``last_tick``.

        What came first goes to the actors before their first tick: a freeze
        of the start-up halts the shard before it places anything.
        """
        self.system.start()
        self._started()
        self.runtime.tell(FEED, encode(FeedTicks(last_tick)))

    def _started(self) -> None:
        """From now on batches are handed on as they come; those kept aside go first, in order."""
        with self.starting:
            early, self.early = self.early, []
            for batch in early:
                self._hand_on(batch)
            self.started = True  # after them: a batch that comes meanwhile waits for the lock, then goes after

    def rejoin(self, data: bytes) -> None:
        """A restarted shard: start after the coordinator's last decision, resend the fills risk is missing."""
        rejoin = decode(data)
        assert isinstance(rejoin, Rejoin)
        self.inbox.expect(rejoin.incarnation)  # batches sent before the coordinator knew: stale
        system = self.system
        system.resume_through = rejoin.decided_through
        system.fills_received = rejoin.fills_received
        system.start()
        self._started()
        if rejoin.freeze_reason:  # frozen while the shard was gone (at tick 0, too): it may never have heard it
            freeze = encode(Freeze(rejoin.freeze_tick, rejoin.freeze_reason, rejoin.keep_quoting))
            for address in [GATEWAY, STORE, *self.runtime.directory.group(QUOTERS)]:
                self.runtime.tell(address, freeze)
        self.runtime.tell(FEED, encode(FeedTicks(rejoin.last_tick)))
        self.runtime.tell(RISK, encode(FeedTicks(rejoin.last_tick)))

    def deliver(self, data: bytes) -> None:
        """A batch from the coordinator: each record to its actor, in order (``BROADCAST``: every quoter)."""
        batch = decode(data)
        assert isinstance(batch, ShardBatch)
        if not self.started:
            with self.starting:
                if not self.started:
                    self.early.append(batch)  # handed on as it (re)starts (the inbox drops a stale one)
                    return
        self._hand_on(batch)

    def _hand_on(self, batch: ShardBatch) -> None:
        runtime = self.runtime
        for ready in self.inbox.accept(batch):
            for address, record in zip(ready.addresses, ready.records, strict=True):
                if address == BROADCAST:
                    for quoter in runtime.directory.group(QUOTERS):
                        runtime.tell(quoter, record)
                else:
                    runtime.tell(address, record)

    def figures(self, timeout: float = 0.2) -> ShardFigures:
        """Batches sent up and received, messages delivered, and whether the shard went idle within ``timeout``."""
        try:
            self.runtime.wait_idle(timeout=timeout)
            idle = True
        except IdleTimeout:
            idle = False
        uplink = self.runtime.last_instance(RISK)
        sent = uplink.sent if uplink is not None else 0
        return ShardFigures(sent, self.inbox.received, self.runtime.stats.delivered, idle)

    def snapshot(self) -> bytes:
        """The store's and the gateway's snapshots and the runtime's counters, as msgpack (for the report)."""
        store = self.system.store_snapshot()
        gateway = self.system.gateway_snapshot()
        stats = self.runtime.stats
        packed: bytes = msgpack.packb({
            "store": {
                "placed": store.placed, "counts": store.counts, "open_orders": store.open_orders,
                "frozen": store.frozen, "duplicate_fills": store.duplicate_fills, "unknown_fills": store.unknown_fills,
                "partially_filled_then_canceled": store.partially_filled_then_canceled,
                "illegal_transitions": store.illegal_transitions, "refused_after_freeze": store.refused_after_freeze,
                "kept": store.kept,
            },
            "strategy_blocks": self.system.quoter_blocks(),
            "gateway": {
                "frozen": gateway.frozen, "places": gateway.places, "cancels": gateway.cancels,
                "exchange_errors": gateway.exchange_errors, "refused_after_freeze": gateway.refused_after_freeze,
                "reconciled": gateway.reconciled, "faults_injected": gateway.faults_injected,
                "market_through": gateway.market_through, "venue_open": gateway.venue_open,
                "mass_cancel_rounds": gateway.mass_cancel_rounds, "mass_cancel_error": gateway.mass_cancel_error,
            },
            "mass_cancel_faults": _mass_cancel_faults(self.system.exchange),
            "stats": {"dead_letters": stats.dead_letters, "failures": stats.failures, "restarts": stats.restarts,
                      "escalations": stats.escalations},
            "resumed_after_tick": self.system.resumed_after_tick,
        })  # fmt: skip
        return packed

    def stop(self, report: str | None = None) -> None:
        """Stop the shard's actors and close its journals; with the run's ``report``, the journal holds it finished.

        As one process's journal does (docs/RELIABILITY.md, "A finished
        run"): a rerun of the same sharded run on it prints the report again.
        """
        self.system.final_report = report
        self.system.stop()


def _mass_cancel_faults(exchange: object) -> list[list[object]]:
    """(kind, tick, attempt) of the venue's failed mass cancels: the same attempt fails on every shard's venue."""
    if not isinstance(exchange, FaultyExchange):
        return []
    return [list(key) for key in sorted(exchange.log.mass_cancel_faults)]
