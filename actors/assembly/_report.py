"""The deterministic JSON report of a shadow run.

Only values that are the same on every runtime go in: order counts, positions,
risk state.  Nothing timed, nothing about threads, no message counts that
depend on how a runtime observes actors; the one exception is the paced mode
(``pace = "realtime"``), whose report adds a ``latency`` section, since
timing is what that mode is for.  Floats are rounded at this point
only, to fixed decimals.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actors.assembly._config import ShadowConfig
from actors.assembly._market_setup import Market
from actors.assembly._system import System
from actors.core._gateway import GatewayCore
from actors.core._pnl import InverseLine, PnlLine, fees_usd
from actors.core._risk_round import RiskRound
from actors.core._store import StoreCore
from actors.core._types import Instrument, OrderState
from actors.markets._events import BAD_ROW_KINDS
from actors.markets._recorded import RecordedMarket
from actors.roles._gateway import GatewaySnapshot
from actors.roles._order_store import StoreSnapshot
from actors.roles._risk_monitor import RiskSnapshot
from actors.runtime._base import RuntimeStats


def _usd(value: float) -> float:
    return round(value, 2)


@dataclass(frozen=True)
class ReportParts:
    """What a report is made of: the settings, the market, and the snapshots of risk, the store and the gateway.

    One process takes them from its actors (:func:`build_report`); a sharded
    run takes risk's from the coordinator and adds up the shards' stores
    and gateways (``actors.cluster``).
    """

    config: ShadowConfig
    instruments: dict[str, Instrument]
    recording: Market | None
    resumed_after_tick: int | None
    store: StoreSnapshot
    risk: RiskSnapshot
    gateway: GatewaySnapshot
    stats: RuntimeStats
    rebuilt: Mapping[str, int] | None = None
    """A resumed run's counts of what the venue's word added to its journals (``recovery.Rebuilt.as_report``)."""
    live: Mapping[str, Any] | None = None
    """A live market's section (:meth:`System.live_report`)."""
    strategy_blocks: Mapping[str, int] | None = None
    """The quoters' blocked ticks by reason, summed (``System.quoter_blocks``)."""
    stale_pulls: int = 0
    """A recorded market's symbol-ticks with no quote for longer than ``stale_market_ms``: quotes pulled."""
    venue: Mapping[str, Any] | None = None
    """A real venue's section (:meth:`System.venue_report`)."""


def build_report(system: System) -> dict[str, Any]:
    """Gather the report from the actors' snapshots (waits for quiescence first)."""
    store = system.store_snapshot()
    risk = system.risk_snapshot()
    gateway = system.gateway_snapshot()
    parts = ReportParts(
        system.config, system.instruments, system.recording, system.resumed_after_tick, store, risk, gateway,
        system.runtime.stats, system.recovered.rebuilt.as_report() if system.recovered is not None else None,
        system.live_report(),
        system.quoter_blocks(), stale_pulls(system.market, risk.decided_through), system.venue_report(),
    )  # fmt: skip
    return assemble_report(parts)


def report_of_cores(
    config: ShadowConfig,
    instruments: dict[str, Instrument],
    recording: Market | None,
    *,
    store: StoreCore,
    risk: RiskRound,
    gateway: GatewayCore,
    venue: object,
    strategy_blocks: Mapping[str, int] | None = None,
    market: object = None,
) -> dict[str, Any]:
    """The report of a run's cores, with no actor around them (the synchronous baseline, ``_baseline``).

    The snapshots are the actors' (``StoreSnapshot.of``, ``GatewaySnapshot.of``,
    ``RiskRound.snapshot``), the counters of a runtime that delivered
    everything and restarted nothing: so the same state gives the same bytes.
    """
    parts = ReportParts(
        config, instruments, recording, None, StoreSnapshot.of(store), risk.snapshot(),
        GatewaySnapshot.of(gateway, venue), RuntimeStats(), strategy_blocks=strategy_blocks,
        stale_pulls=stale_pulls(market, risk.decided_through),
    )  # fmt: skip
    return assemble_report(parts)


def assemble_report(parts: ReportParts) -> dict[str, Any]:
    """The report of ``parts``: the same bytes for the same parts, however they were gathered."""
    config, store, risk, gateway = parts.config, parts.store, parts.risk, parts.gateway
    counts = store.counts
    open_orders = sum(n for state, n in counts.items() if OrderState(state).is_open)
    by_symbol: dict[str, dict[str, Any]] = {}
    for symbol, lots in risk.positions.items():
        instrument = parts.instruments[symbol]
        mark = risk.marks.get(symbol, 0)
        by_symbol[symbol] = {
            "qty": str(instrument.quantity(lots)),
            "mark": str(instrument.price(mark)),
            "notional_usd": _usd(instrument.notional_usd(mark, lots)),
        }
    edge = risk.realised_edge_bps
    confirmed = risk.freeze_confirmed and (open_orders == 0 or not risk.frozen)  # halted, a flattening order left open
    report: dict[str, Any] = {
        "execution": {
            "iterations": config.iterations,
            "seed": config.seed,
            "symbols": list(config.symbols),
            "ticks": risk.decided_through,
            "resumed_after_tick": parts.resumed_after_tick,
        },
        "orders": {
            "placed": store.placed,
            "kept": store.kept,
            "filled": counts.get(OrderState.FILLED.value, 0),
            "canceled": counts.get(OrderState.CANCELED.value, 0),
            "rejected": counts.get(OrderState.REJECTED.value, 0),
            "open": open_orders,
            "risk_blocks": risk.risk_blocks,
            "strategy_blocks": dict(sorted((parts.strategy_blocks or {}).items())),
            "partially_filled_then_canceled": store.partially_filled_then_canceled,
            "duplicate_fills_ignored": store.duplicate_fills,
        },
        "fills": {"count": risk.fills, "unknown_ignored": store.unknown_fills},
        "exchange": {
            "errors": gateway.exchange_errors,
            "faults_injected": gateway.faults_injected,
            "reconciled_placements": gateway.reconciled,
        },
        "positions": {"by_symbol": by_symbol, "total_notional_usd": _usd(risk.total_notional_usd)},
        "risk": {
            "frozen": risk.frozen,
            "freeze_events": risk.freeze_events,
            "last_freeze_reason": risk.last_freeze_reason or None,
            "freeze_tick": risk.freeze_tick,
            "freeze_confirmed": confirmed,
            "realised_edge_bps": None if edge is None else round(edge, 2),
            "state": risk.state,
            "transitions": [move.as_report() for move in risk.transitions],
            "blocks_by_reason": dict(risk.blocks_by_reason or {}),
        },
        "messages": {
            "dead_letters": parts.stats.dead_letters,
            "handler_failures": parts.stats.failures,
            "restarts": parts.stats.restarts,
            "escalations": parts.stats.escalations,
        },
    }
    if parts.resumed_after_tick is not None and parts.rebuilt is not None:
        report["execution"]["rebuilt_from_venue"] = dict(parts.rebuilt)
    if config.flatten_on_halt and risk.freeze_events:
        report["risk"]["flatten"] = {
            "orders": risk.flatten_orders,
            "left_symbols": sorted(risk.positions),
            "left_notional_usd": _usd(risk.total_notional_usd),
        }
    if not config.default_strategy:  # the default's reports stay as they were before strategies could be chosen
        report["strategy"] = {"name": config.strategy, "params": dict(config.strategy_params)}
    report["pnl"] = pnl_section(risk.pnl, risk.marks, parts.instruments, config.maker_fee_bps)
    if parts.recording is not None:
        summary = parts.recording.scan
        recording = parts.recording.recording
        report["market"] = {
            "buckets": recording.buckets,
            "fill_model": config.fill_model,
            "files": len(parts.recording.paths),
            "quotes": summary.quotes,
            "trades": summary.trades,
            "skipped_bad_rows": {kind: summary.skipped.get(kind, 0) for kind in BAD_ROW_KINDS},
            "start_us": recording.start_us,
            "tick_ms": config.tick_ms,
        }
        if parts.stale_pulls:  # only if a symbol went stale: every other report keeps its bytes
            report["market"]["quotes_pulled_stale"] = parts.stale_pulls
            report["market"]["stale_market_ms"] = config.stale_market_ms
        if summary.depth:  # depth data only: every other report keeps its bytes
            report["market"]["depth"] = {
                "rows": summary.depth,
                "gaps": dict(summary.depth_gaps),
                "stale_updates": dict(summary.depth_stale),
                "queue_model": config.queue_model,
                "entry_latency_ms": config.entry_latency_ms,
                "cancel_latency_ms": config.cancel_latency_ms,
                "latency_from_data": config.latency_from_data,
            }
    if risk.frozen and not confirmed:
        report["risk"]["freeze_incomplete"] = freeze_incomplete(store.open_orders, gateway)
    if parts.live is not None:
        report["live"] = dict(parts.live)
    if parts.venue is not None:  # docs/LIVE.md, "The gateway before a real venue": each place's wait for its answer
        report["venue"] = {**parts.venue, "place_to_answer_ms": latency_ms(gateway.place_to_answer_ns)}
    if config.pace == "realtime":
        measured = "message_to_order_ms" if parts.live is not None else "tick_to_order_ms"  # docs/LIVE.md, "Latency"
        report["latency"] = {
            measured: latency_ms(gateway.ack_latencies_ns),
            "late_intents": risk.late_inputs,
            "ticks_decided_at_deadline": risk.decided_at_deadline,
        }
    return report


def pnl_section(
    lines: dict[str, PnlLine], marks: dict[str, int], instruments: dict[str, Instrument], maker_fee_bps: float
) -> dict[str, Any]:
    """Realised, unrealised, fees and total in USD, by symbol (sorted) and overall (docs/EXECUTION.md, "PnL")."""
    by_symbol: dict[str, dict[str, float]] = {}
    totals = {"realised_usd": 0.0, "unrealised_usd": 0.0, "fees_usd": 0.0, "total_usd": 0.0}
    for symbol in sorted(lines):
        line, instrument = lines[symbol], instruments[symbol]
        mark, lot = marks.get(symbol), instrument.lot_float
        if isinstance(line, InverseLine):
            figures, coin = inverse_figures(line, None if mark is None else instrument.price_usd(mark), lot,
                                            maker_fee_bps)  # fmt: skip
            for name, value in figures.items():
                totals[name] += value
            by_symbol[symbol] = {**{name: _usd(value) for name, value in figures.items()}, **coin}
            continue
        unrealised = 0.0 if mark is None else line.unrealised_usd(instrument.price_usd(mark), lot)
        fees = fees_usd(line.traded_usd, maker_fee_bps)
        figures = {
            "realised_usd": line.realised_usd,
            "unrealised_usd": unrealised,
            "fees_usd": fees,
            "total_usd": line.realised_usd + unrealised - fees,
        }
        for name, value in figures.items():
            totals[name] += value
        by_symbol[symbol] = {name: _usd(value) for name, value in figures.items()}
    return {"by_symbol": by_symbol, "maker_fee_bps": maker_fee_bps, **{k: _usd(v) for k, v in totals.items()}}


def inverse_figures(
    line: InverseLine, mark_usd: float | None, lot_usd: float, maker_fee_bps: float
) -> tuple[dict[str, float], dict[str, Any]]:
    """An inverse contract's figures in USD, converted from its coin ones at the mark, and the coin ones.

    Its books are in the base coin (:class:`actors.core._pnl.InverseLine`);
    the USD figures are the coin ones times the mark, so they add to the
    other symbols' (docs/EXECUTION.md, "Instruments").
    """
    at = mark_usd if mark_usd is not None and mark_usd > 0 else line.average_usd
    unrealised = 0.0 if mark_usd is None else line.unrealised_coin(mark_usd, lot_usd)
    fees = fees_usd(line.traded_coin, maker_fee_bps)
    coin = {"realised": line.realised_coin, "unrealised": unrealised, "fees": fees,
            "total": line.realised_coin + unrealised - fees}  # fmt: skip
    figures = {f"{name}_usd": value * at for name, value in coin.items()}
    shown = {f"{name}_coin": round(value, 8) for name, value in coin.items()}
    return figures, {**shown, "pnl_currency": "coin, converted to USD at the mark", "usd_per_coin": round(at, 8)}


def stale_pulls(market: object, through: int) -> int:
    """Symbol-ticks of a recorded market stale through ``through`` (its quotes pulled); 0 on any other market."""
    return market.stale_ticks(through) if isinstance(market, RecordedMarket) else 0


SHOWN_OPEN_ORDERS = 20
"""Client ids of orders left open after an incomplete freeze that the report lists (their count is always there)."""


def freeze_incomplete(open_orders: list[str], gateway: GatewaySnapshot) -> dict[str, Any]:
    """What a freeze that could not complete left behind: the operator's list of what to cancel by hand."""
    return {
        "store_open": len(open_orders),
        "store_open_first": open_orders[:SHOWN_OPEN_ORDERS],
        "venue_open_at_last_try": None if gateway.venue_open < 0 else gateway.venue_open,
        "mass_cancel_rounds": gateway.mass_cancel_rounds,
        "last_venue_error": gateway.mass_cancel_error or None,
    }


def latency_ms(samples_ns: list[int]) -> dict[str, Any]:
    """p50, p99 and max of latencies in milliseconds (nearest rank), and how many there were."""
    if not samples_ns:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    ordered = sorted(samples_ns)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] / 1e6, 3)

    return {"n": len(ordered), "p50": rank(0.5), "p99": rank(0.99), "max": round(ordered[-1] / 1e6, 3)}


def render(report: dict[str, Any]) -> str:
    """One JSON line, sorted keys, no spaces, trailing newline."""
    return json.dumps(report, sort_keys=True, separators=(",", ":")) + "\n"
