"""The coordinator's process side: its runtime, its risk, the wait for the end, the report.

Nothing here knows about Ray either: the hosts (:mod:`actors.cluster._local`,
:mod:`actors.cluster._ray`) give it a :data:`Port` per shard and a way to ask
each shard for its :class:`ShardFigures`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from actors.assembly import _strategies as strategies
from actors.assembly._config import ShadowConfig
from actors.assembly._market_setup import settle
from actors.assembly._report import ReportParts, assemble_report, render
from actors.assembly._system import STALL_S, operator_request, risk_limits
from actors.cluster._coordinator import CoordinatorRisk, Port
from actors.cluster._merge import (
    empty_snapshot,
    merged_gateway,
    merged_stats,
    merged_store,
    merged_strategy_blocks,
    unpack,
)
from actors.cluster._shard import ShardFigures, hosted_runtime
from actors.core._risk import RiskEngine
from actors.core._trading_state import HaltKind
from actors.roles._addresses import RISK
from actors.roles._risk_monitor import RiskSnapshot
from actors.runtime import create_runtime
from actors.runtime._realtime import IdleTimeout
from actors.telemetry._logs import event
from actors.wire._codec import encode
from actors.wire._messages import FreezeRequest

POLL_S = 0.2
"""How long the coordinator waits for its own runtime between two looks at the shards."""


def partition(symbols: Sequence[str], shards: int) -> list[list[str]]:
    """Symbols over ``shards`` shards: sorted, dealt round-robin (so a shard's share does not depend on names)."""
    if shards < 1:
        raise ValueError(f"need at least one shard, got {shards}")
    ordered = sorted(symbols)
    parts = [ordered[index::shards] for index in range(shards)]
    return [part for part in parts if part] or [[]]


@dataclass
class Ended:
    """How a sharded run ended: the last tick decided, and whether that was every tick asked for."""

    decided_through: int
    early: bool


class RunLost(RuntimeError):
    """The run cannot finish: its coordinator's process died (Ray does not restart it; it has no journal)."""


def completed(report: dict[str, Any], ended: Ended) -> bool:
    """Whether the run ended as asked (every tick, the freeze confirmed if any), as one process judges it.

    Only such a run's report goes into the shards' journals as finished
    (:meth:`actors.cluster._shard.Shard.stop`), as only such a run's goes into
    one process's.
    """
    return not ended.early and "freeze_incomplete" not in report["risk"] and "shards" not in report


class Coordinator:
    """Risk over every shard on a runtime of its own; the run's wait; the report."""

    def __init__(self, config: ShadowConfig, shards: Sequence[Sequence[str]], ports: Sequence[Port]) -> None:
        settled = settle(config)
        self.config = config = settled.config
        self.instruments = settled.instruments
        self.recording = settled.market
        self.shards = [list(part) for part in shards]
        self.runtime = create_runtime(hosted_runtime(config.runtime))
        engine = RiskEngine(risk_limits(config), self.instruments)
        self.runtime.spawn(CoordinatorRisk, RISK, engine, self.shards, ports, final_tick=config.iterations,
                           own=strategies.reads_own_state(config.strategy))  # fmt: skip
        self.lost: dict[int, float] = {}
        """Shards that do not answer, with when (monotonic) they were found gone."""
        self.given_up_on: set[int] = set()
        """Shards the run was frozen for (logged once)."""
        self.answered: dict[int, float] = {}
        """When each shard last answered a look (monotonic; the look's start)."""
        self.freezes = 0
        """Operators' freezes taken so far (:meth:`freeze`): one that comes as the wait ends is waited for too."""
        self.freezes_looked = 0
        """:attr:`freezes` when the wait last looked."""
        self.over = False
        """Set by :meth:`close`: the run's end is settled, a freeze from now on changes nothing."""
        self.freezing = threading.Lock()

    @property
    def risk(self) -> CoordinatorRisk:
        actor = self.runtime.last_instance(RISK)
        assert isinstance(actor, CoordinatorRisk)
        return actor

    def deliver(self, data: bytes) -> None:
        """A batch from a shard (any thread)."""
        self.runtime.tell(RISK, data)

    def freeze(self, reason: str) -> bool:
        """The operator's kill switch, for every shard at once (any thread); False once the run is over.

        A freeze taken here is in the report: one that comes while the end is
        being judged makes :meth:`close` refuse, and the host waits again.
        """
        with self.freezing:
            if self.over:
                return False
            self.freezes += 1
            self.runtime.tell(RISK, operator_request(reason))
            return True

    def close(self) -> bool:
        """Settle the end the wait found, unless a freeze came since it last looked (then wait again: False)."""
        with self.freezing:
            if self.freezes != self.freezes_looked:
                return False
            self.over = True
            return True

    def seen(self, shard: int) -> None:
        """``shard`` is alive now (its host heard from it): if it dies, it is away from now on at the latest."""
        self.answered[shard] = time.monotonic()

    def rejoin(self, shard: int) -> bytes:
        """What a restarted shard needs to start again (:meth:`CoordinatorRisk.rejoin`).

        A shard gone for longer than ``--shard-restart-timeout`` (from its
        last answer to now) freezes every shard first, naming it, even though
        it is back: the timeout is what the operator allows a shard to be
        away, whether or not the coordinator looked while it was.
        """
        self._back(shard, self.lost.pop(shard, None), "restarted, rejoins")
        since = self.answered.get(shard)  # it died after this: it answered then
        timeout = self.config.shard_restart_timeout
        if since is not None and time.monotonic() - since > timeout:
            self._freeze_lost(shard, timeout)
        data = self.runtime.last_instance(RISK).actor_ref.proxy().rejoin(shard, self.config.iterations).get()
        assert isinstance(data, bytes)
        return data

    def wait(self, figures: Callable[[], Sequence[ShardFigures | None]], *, restart_timeout: float) -> Ended:
        """Until every tick is decided and nothing moves between the shards and here any more.

        Quiet is judged by counting (the four-counter rule): every batch a
        shard sent was received here, every batch sent from here was
        received there, every runtime idle, and nothing delivered anywhere
        since the last look.  A shard that is gone (``None``) and not back
        within ``restart_timeout`` freezes every shard, naming it.
        """
        last = self.config.iterations
        seen, quiet_since, previous = -1, time.monotonic(), None
        while True:
            with self.freezing:
                self.freezes_looked = self.freezes  # a freeze after this is seen by the next look, or by close()
            look = time.monotonic()
            idle = self._idle()
            risk = self.risk
            decided = risk.decided_through
            if decided != seen:
                seen, quiet_since = decided, time.monotonic()
            shard_figures = list(figures())
            self._judge_lost(shard_figures, restart_timeout, look)
            state = self._balance(risk, shard_figures, idle, restart_timeout)
            if state is not None:
                state = (*state, self.freezes_looked)
            if state is not None and state == previous:
                return Ended(decided, decided < last)
            previous = state
            if time.monotonic() - quiet_since > STALL_S and decided < last and not self.lost:
                raise IdleTimeout(f"no tick decided for {STALL_S:.0f} s (last decided: {decided})")

    def _idle(self) -> bool:
        try:
            self.runtime.wait_idle(timeout=POLL_S)
        except IdleTimeout:
            return False
        return True

    def _balance(
        self, risk: CoordinatorRisk, figures: Sequence[ShardFigures | None], idle: bool, restart_timeout: float
    ) -> tuple[int, ...] | None:
        """A fingerprint of a quiet system (None: not quiet, or a shard is missing and may still come back)."""
        if not idle:
            return None
        delivered = [risk.decided_through, self.runtime.stats.delivered]
        for shard, entry in enumerate(figures):
            if entry is None:
                if not (self.given_up(shard, restart_timeout) and risk.engine.halted):
                    return None
                delivered.append(-1)
                continue
            if not entry.idle or entry.sent != risk.inboxes[shard].received or entry.received != risk.out_seq[shard]:
                return None
            delivered.append(entry.delivered)
        return tuple(delivered)

    def given_up(self, shard: int, restart_timeout: float) -> bool:
        """Whether ``shard`` has been gone for longer than ``restart_timeout``."""
        since = self.lost.get(shard)
        return since is not None and time.monotonic() - since > restart_timeout

    def _judge_lost(self, figures: Sequence[ShardFigures | None], restart_timeout: float, look: float) -> None:
        """Shards that do not answer: gone since the first look that found them so; after ``restart_timeout``, every
        shard freezes.

        A shard that misses a look and answers the next was slow, not lost.
        One that died and came back says so (:meth:`rejoin`), which measures
        how long it was away from its last answer: a look at a dead shard can
        wait until Ray has brought it back (measured), so the looks alone may
        never see it missing for long.
        """
        now = time.monotonic()
        for shard, entry in enumerate(figures):
            if entry is not None:
                self._back(shard, self.lost.pop(shard, None), "answers again")  # slow, paused, or back; not lost
                self.answered[shard] = look
                continue
            if shard not in self.lost:
                event("shard_lost", shard=shard, symbols=len(self.shards[shard])).warning(
                    "shard {} ({} symbols) does not answer; waiting up to {:g} s for it to come back", shard,
                    len(self.shards[shard]), restart_timeout,
                )  # fmt: skip
            since = self.lost.setdefault(shard, now)
            if now - since > restart_timeout:
                self._freeze_lost(shard, restart_timeout)

    def _freeze_lost(self, shard: int, restart_timeout: float) -> None:
        """Halt every shard, naming ``shard``, unless trading is halted already."""
        if self.risk.engine.halted:
            return
        names = self.shards[shard]
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        gone = f"not back within {restart_timeout:g} s"
        reason = f"{HaltKind.SHARD_LOST.value}: shard {shard} ({len(names)} symbols: {shown}) {gone}"
        self.runtime.tell(RISK, encode(FreezeRequest(reason)))  # the engine's own cause, not an operator's
        if shard not in self.given_up_on:
            self.given_up_on.add(shard)
            event("shard_given_up", shard=shard, symbols=len(names)).error(
                "shard {} ({} symbols: {}) {}: freezing every shard", shard, len(names), shown, gone
            )

    def _back(self, shard: int, since: float | None, how: str) -> None:
        """A line when a shard found gone is back (nothing if it was not gone)."""
        if since is None:
            return
        away = time.monotonic() - since
        event("shard_back", shard=shard, away_s=round(away, 3)).warning(
            "shard {} ({} symbols) {} after {:.1f} s", shard, len(self.shards[shard]), how, away
        )

    def risk_snapshot(self) -> RiskSnapshot:
        """Risk's state, once idle."""
        self.runtime.wait_idle()
        snapshot = self.runtime.last_instance(RISK).actor_ref.proxy().snapshot().get()
        assert isinstance(snapshot, RiskSnapshot)
        return snapshot

    def report(self, snapshots: Sequence[bytes]) -> tuple[dict[str, Any], str]:
        """The run's report from risk and every shard's snapshot: the one process's report, to the byte."""
        parts = [unpack(data) if data else empty_snapshot() for data in snapshots]
        resumed = [part["resumed_after_tick"] for part in parts if part["resumed_after_tick"] is not None]
        report_parts = ReportParts(
            self.config, self.instruments, self.recording, min(resumed) if resumed else None,
            merged_store(parts), self.risk_snapshot(), merged_gateway(parts), merged_stats(parts, self.runtime.stats),
            strategy_blocks=merged_strategy_blocks(parts),
        )  # fmt: skip
        report = assemble_report(report_parts)
        lost = [shard for shard, data in enumerate(snapshots) if not data]
        if lost:  # what they held is not in the counts: the report says so
            report["shards"] = {"lost": lost, "lost_symbols": sum(len(self.shards[shard]) for shard in lost)}
        return report, render(report)

    def stop(self) -> None:
        self.runtime.shutdown()
