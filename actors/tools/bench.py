"""``bin/bench``: throughput, start/stop, freeze latency and memory, as JSON on stdout.

Every (runtime, symbol count) case runs in a child process of its own so that
peak RSS belongs to that case alone.  Each case also runs the synchronous
baseline (the same core, no actors) on the same workload in the same process,
and reports the actor pipeline's orders/s as a ratio of it.

The replay cases time a whole engine on generated recorded markets: L1
quotes (``--market-replay``, ``--l1-replay``), depth (``--depth-replay``),
and hftbacktest on the depth case's file beside ours
(``--versus-hftbacktest``; hftbacktest is no dependency of the engine).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from actors.assembly._baseline import SyncEngine
from actors.assembly._config import RUNTIME_NAMES, ShadowConfig, resolve
from actors.assembly._report import build_report
from actors.core._clock import FrozenClock
from actors.core._instruments import instrument_for
from actors.roles._addresses import RISK
from actors.runtime._gc_tuning import tune_gc
from actors.telemetry import EventLog, Telemetry
from actors.tools._workload import build_system, throughput_config
from actors.wire._codec import decode, encode
from actors.wire._messages import FreezeRequest, QuoteIntent

CASES = [("threads", 100), ("threads", 1000), ("pool", 100), ("pool", 1000), ("pool", 10000),
         ("sim", 100), ("sim", 1000), ("sim", 10000)]  # fmt: skip
"""Default cases; threads stops at 1,000 (a thread per actor)."""
MARKET_REPLAY_ROWS = (250_000, 1_000_000)
"""Two replay sizes: the same peak memory for both is what "flat" means."""
L1_REPLAY_ROWS = (1_000_000, 4_000_000)
"""The whole-replay L1 case's two sizes (10 symbols, quotes every 10 ms, trades): its target is 5 M rows a minute."""


def _telemetry(config: ShadowConfig, metrics: bool, events: str | None) -> tuple[Telemetry | None, IO[str] | None]:
    """What ``--metrics`` / ``--events`` ask a throughput case to carry: metrics timing, the event log."""
    if not metrics and events is None:
        return None, None
    out = open(events, "w", newline="", encoding="utf-8") if events else None  # noqa: SIM115 - closed by run_case
    instruments = {symbol: instrument_for(symbol, config.seed) for symbol in config.symbols}
    orders = EventLog(instruments, FrozenClock.parse(config.freeze_utc_iso), out)
    return Telemetry(orders, tracked_symbols=config.symbols[: config.metrics_symbols], metrics=metrics), out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def baseline_orders_per_s(config: ShadowConfig) -> tuple[float, int]:
    """Orders/s of the synchronous baseline on ``config``'s workload: the actors' cores in one loop, to the report."""
    engine = SyncEngine(config)
    started = time.perf_counter()
    placed: int = engine.run()["orders"]["placed"]
    return placed / (time.perf_counter() - started), placed


def run_case(
    runtime: str, symbols: int, iterations: int, freezes: int, *, metrics: bool = False, events: str | None = None
) -> dict[str, Any]:
    """One case, in this process; ``metrics`` and ``events`` measure what watching a run costs (throughput only)."""
    config = throughput_config(symbols, iterations, runtime)
    telemetry, out = _telemetry(config, metrics, events)
    system = build_system(config, telemetry)
    started = time.perf_counter()
    system.start()
    start_s = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    system.run()
    system.runtime.wait_idle()
    run_s, run_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    delivered = system.runtime.stats.delivered
    placed = system.store_snapshot().placed
    started = time.perf_counter()
    system.stop()
    stop_s = time.perf_counter() - started
    if out is not None:
        out.close()
    gc.collect()  # the stopped system's cycles (actor <-> ref), before the next system is built
    freezes_ms = [freeze_latency(runtime, symbols, seed) for seed in range(freezes)]
    base_rate, base_placed = baseline_orders_per_s(config)
    orders_per_s = placed / run_s
    return {
        "runtime": runtime,
        "symbols": symbols,
        "iterations": iterations,
        "watched": ("metrics " if metrics else "") + ("events" if events else "") or "off",
        "start_s": round(start_s, 4),
        "stop_s": round(stop_s, 4),
        "run_s": round(run_s, 4),
        "run_cpu_s": round(run_cpu_s, 4),  # CPU time of the process: less disturbed by a busy machine
        "messages_per_s": round(delivered / run_s),
        "orders_per_s": round(orders_per_s),
        "orders_placed": placed,
        "baseline_orders_per_s": round(base_rate),
        "baseline_orders_placed": base_placed,
        "ratio_vs_baseline": round(orders_per_s / base_rate, 3),
        "freeze_to_venue_empty_ms": _percentiles([venue for venue, _, _ in freezes_ms]),
        "freeze_confirmed_ms": _percentiles([confirmed for _, confirmed, _ in freezes_ms]),
        "freeze_until_quiet_ms": _percentiles([quiet for _, _, quiet in freezes_ms]),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def freeze_latency(runtime: str, symbols: int, seed: int) -> tuple[float, float, float]:
    """Milliseconds from the freeze decision to zero open orders at the venue, to the store's agreement, to quiet.

    The first runs from risk's decision to the moment the gateway's mass
    cancel left the venue with no open order, the second to the moment the
    store saw none open either (all on the runtime clock); the third also
    waits for every quoter to have handled the broadcast.  The sim's clock is
    virtual (a freeze takes no virtual time), so on sim all three are the
    wall time until quiet.
    """
    config = throughput_config(symbols, 2, runtime, seed)
    system = build_system(config)
    system.start()
    system.run()
    open_before = len(system.store_snapshot().open_orders)
    started = time.perf_counter()
    system.runtime.tell(RISK, encode(FreezeRequest("bench")))
    system.runtime.wait_idle()
    quiet_ms = (time.perf_counter() - started) * 1000.0
    decided = system.risk_snapshot().freeze_decided_at
    store = system.store_snapshot()
    venue_empty = system.gateway_snapshot().venue_empty_at
    assert open_before > 0 and store.open_orders == [], "the freeze must cancel every open order"
    assert system.venue.get_orders() == [], "the venue must hold no open order after a freeze"
    assert decided is not None and store.freeze_confirmed_at is not None and venue_empty is not None
    system.stop()
    gc.collect()
    if runtime == "sim":
        return quiet_ms, quiet_ms, quiet_ms
    return (venue_empty - decided) * 1000.0, (store.freeze_confirmed_at - decided) * 1000.0, quiet_ms


def _percentiles(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50": round(statistics.median(ordered), 2), "p99": round(p99, 2)}


def cancel_replace(runtime: str, ticks: int, *, reliable: bool = False) -> dict[str, Any]:
    """2 symbols x ``ticks``: every tick cancels the previous bid and ask that changed and places new ones.

    ``quote_changes`` counts the sides whose quote changed from the tick
    before: with resting orders kept when wanted again, ``orders_placed`` is
    at most that plus the orders that filled or were rejected (which must be
    placed again though the quote stays).

    ``reliable``: with reliable delivery (every record numbered, acknowledged, kept until then).
    """
    config = replace(throughput_config(2, ticks, runtime), symbols=("BTCUSDT", "ETHUSDT"))
    system = build_system(config, reliable=reliable)
    system.start()
    started = time.perf_counter()
    system.run()
    run_s = time.perf_counter() - started
    store = system.store_snapshot()
    placed = store.placed
    system.stop()
    base_rate, _ = baseline_orders_per_s(config)
    return {
        "runtime": runtime,
        "reliable": reliable,
        "ticks": ticks,
        "orders_placed": placed,
        "orders_kept": store.kept,
        "orders_filled": store.counts.get("FILLED", 0),
        "orders_rejected": store.counts.get("REJECTED", 0),
        "quote_changes": quote_changes(config),
        "orders_per_s": round(placed / run_s),
        "baseline_orders_per_s": round(base_rate),
        "ratio_vs_baseline": round(placed / run_s / base_rate, 3),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


MARKET_SYMBOLS = 100
MARKET_QUOTE_EVERY_US = 100_000
"""The replay case: 100 symbols quoted every 100 ms, so 1,000 quote rows per 1-second tick."""


def _timed_replay(settings: dict[str, Any]) -> dict[str, Any]:
    """A whole engine on a recorded market (``settings`` as config overrides), timed; its report.

    The clock runs from building the system (which reads every row once to
    check it and find the symbols and the span) to the last tick decided;
    the feed and the venue read the rows again as the run goes.  Besides
    wall time, the process's CPU time over the same span (all its threads):
    on a shared machine, rows per CPU-minute is the figure that does not
    depend on what else runs.
    """
    gc.collect()
    rss_before = _peak_rss_mb()
    config = resolve(overrides=settings, override_source="setting")
    started, cpu_started = time.perf_counter(), time.process_time()
    system = build_system(config)
    scanned_s = time.perf_counter() - started
    system.start()
    system.run()
    system.runtime.wait_idle()
    wall_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started  # every thread of the process: the work, whatever else runs
    report = build_report(system)
    system.stop()
    return {"scan_s": scanned_s, "wall_s": wall_s, "cpu_s": cpu_s, "report": report, "rss_before": rss_before}


def market_replay(
    rows: int, runtime: str = "pool", *, symbols: int = MARKET_SYMBOLS, quote_every_us: int = MARKET_QUOTE_EVERY_US,
    trades: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Replay a generated Tardis quotes file of about ``rows`` rows (``symbols`` symbols) through a whole engine.

    ``trades``: a trades file beside the quotes (a few trades a second a
    symbol, counted in the rows), as ``bin/make-sample-market`` writes it.
    Generating the files is not timed (:func:`_timed_replay` says what is).
    """
    from actors.markets._sample import generate  # the same generator as the packaged sample

    per_second = symbols * 1_000_000 // quote_every_us
    seconds = max(1, rows // per_second)
    with tempfile.TemporaryDirectory(prefix="bench-market-") as scratch:
        directory = Path(scratch)
        names = [f"SYM{i:05d}" for i in range(1, symbols + 1)]
        quotes, trade_rows = generate(directory, names, seconds=seconds, seed=1, quotes_only=not trades,
                                      quote_every_us=quote_every_us)  # fmt: skip
        file_mb = sum(p.stat().st_size for p in directory.iterdir()) / 1e6
        settings: dict[str, Any] = {"market": [str(directory)], "runtime": runtime, "edge_threshold": -1e9}
        settings.update(max_inv=1e12, max_total=1e15)
        timed = _timed_replay(settings)
    report, wall_s, cpu_s = timed["report"], timed["wall_s"], timed["cpu_s"]
    result = {
        "runtime": runtime,
        "symbols": symbols,
        "quote_every_us": quote_every_us,
        "quote_rows": quotes,
        "trade_rows": trade_rows,
        "file_mb_gzip": round(file_mb, 1),
        "ticks": report["execution"]["ticks"],
        "fills": report["fills"]["count"],
        "orders_placed": report["orders"]["placed"],
        "scan_s": round(timed["scan_s"], 2),
        "wall_s": round(wall_s, 2),
        "quote_rows_per_minute": round(quotes / wall_s * 60),
        "cpu_s": round(cpu_s, 2),
        "quote_rows_per_cpu_minute": round(quotes / cpu_s * 60),
        "peak_rss_mb_before_run": round(timed["rss_before"], 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    if trades:
        result["rows_per_minute"] = round((quotes + trade_rows) / wall_s * 60)
        result["rows_per_cpu_minute"] = round((quotes + trade_rows) / cpu_s * 60)
    return result


DEPTH_REPLAY_ROWS = (500_000, 2_000_000)
"""Two depth replay sizes (level updates): the same peak memory for both is what "flat" means."""
DEPTH_ROWS_PER_SECOND = 389_363 / 300
"""What the hftbacktest comparison's generated book writes a second (its ``moving`` profile, seed 11)."""


def _depth_data(scratch: Path, rows: int) -> tuple[Path, Path, int, int]:
    """The comparison's generated depth and trades files of about ``rows`` level updates, and its instruments."""
    from actors.tools._hft_compare import generate, instruments_file

    seconds = max(2, math.ceil(rows / DEPTH_ROWS_PER_SECOND))
    data = scratch / "data"
    depth_rows, trade_rows = generate(data, seconds, seed=11)
    return data, instruments_file(scratch), depth_rows, trade_rows


def _depth_args() -> argparse.Namespace:
    """The comparison's defaults: 1 s ticks, 2 bps, 1,000 USD a side, risk-averse queue, no latency."""
    return argparse.Namespace(tick_ms=1000.0, spread_bps=2.0, quote_notional_usd=1000.0, queue_model="risk-averse",
                              queue_power=3.0, entry_latency_ms=0.0, exchange="partial")  # fmt: skip


def _ours_on_depth(data: Path, instruments: Path, runtime: str, depth_rows: int, trade_rows: int) -> dict[str, Any]:
    """Our whole engine on a depth file with the comparison's settings: depth updates a minute, wall and CPU."""
    from actors.tools._hft_compare import ours_settings

    settings = {**ours_settings(_depth_args()), "market": [str(data)], "instruments": str(instruments)}
    timed = _timed_replay({**settings, "runtime": runtime})
    report, wall_s, cpu_s = timed["report"], timed["wall_s"], timed["cpu_s"]
    return {
        "runtime": runtime,
        "depth_updates": depth_rows,
        "trade_rows": trade_rows,
        "file_mb_gzip": round(sum(p.stat().st_size for p in data.iterdir()) / 1e6, 1),
        "ticks": report["execution"]["ticks"],
        "fills": report["fills"]["count"],
        "orders_placed": report["orders"]["placed"],
        "scan_s": round(timed["scan_s"], 2),
        "wall_s": round(wall_s, 2),
        "depth_updates_per_minute": round(depth_rows / wall_s * 60),
        "cpu_s": round(cpu_s, 2),
        "depth_updates_per_cpu_minute": round(depth_rows / cpu_s * 60),
        "peak_rss_mb_before_run": round(timed["rss_before"], 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def depth_replay(rows: int, runtime: str = "pool") -> dict[str, Any]:
    """Replay a generated ``incremental_book_L2`` file of about ``rows`` level updates (one symbol, with its
    trades) through a whole engine: the file ``bin/compare-hftbacktest`` generates, the settings it runs ours with.

    Generating the file is not timed (:func:`_timed_replay` says what is).
    """
    with tempfile.TemporaryDirectory(prefix="bench-depth-") as scratch:
        data, instruments, depth_rows, trade_rows = _depth_data(Path(scratch), rows)
        return _ours_on_depth(data, instruments, runtime, depth_rows, trade_rows)


def versus_hftbacktest(rows: int, runtime: str = "pool") -> dict[str, Any]:
    """The depth replay's file, ours and then hftbacktest's, in this process: depth updates a minute each.

    hftbacktest runs the comparison's strategy (``actors/tools/_hft_compare.py``)
    on the file converted by its own converter (timed apart), twice: its first
    run in a process includes numba compiling its functions, the second is
    its speed.  Ours is the whole engine, as :func:`depth_replay` runs it.
    """
    from actors.tools._hft_compare import convert, run_hftbacktest

    with tempfile.TemporaryDirectory(prefix="bench-hft-") as scratch_name:
        scratch = Path(scratch_name)
        data, instruments, depth_rows, trade_rows = _depth_data(scratch, rows)
        ours = _ours_on_depth(data, instruments, runtime, depth_rows, trade_rows)
        started, cpu = time.perf_counter(), time.process_time()
        npz = convert(data, scratch)
        convert_s, convert_cpu_s = time.perf_counter() - started, time.process_time() - cpu
        runs = [run_hftbacktest(npz, 0.1, 0.001, _depth_args()) for _ in range(2)]
    theirs = runs[1]
    del ours["peak_rss_mb_before_run"], ours["peak_rss_mb"]  # hftbacktest's imports are in them: --depth-replay's
    return {
        "depth_updates": depth_rows,
        "trade_rows": trade_rows,
        "ours": ours,
        "hftbacktest": {
            "convert_s": round(convert_s, 2),
            "convert_cpu_s": round(convert_cpu_s, 2),
            "first_run_wall_s": runs[0]["wall_s"],
            "wall_s": theirs["wall_s"],
            "cpu_s": theirs["cpu_s"],
            "depth_updates_per_minute": round(depth_rows / max(theirs["wall_s"], 0.001) * 60),
            "depth_updates_per_cpu_minute": round(depth_rows / max(theirs["cpu_s"], 0.001) * 60),
            "fills": theirs["fills"],
            "orders_placed": theirs["orders_placed"],
            "ticks": theirs["ticks"],
            "stopped": theirs["stopped"],  # hftbacktest's error code and bucket if its run ended early, else None
        },
    }


def codec_floor(rounds: int = 50_000) -> dict[str, Any]:
    """Microseconds to encode + decode one QuoteIntent: the per-message floor."""
    record = QuoteIntent(12, "BTCUSDT", 6_000_000, 5_997_000, 17, 6_003_000, 17)
    started = time.perf_counter()
    for _ in range(rounds):
        decode(encode(record))
    return {"message": "QuoteIntent", "encode_decode_us": round((time.perf_counter() - started) / rounds * 1e6, 3)}


def strategy_call(rounds: int = 50_000) -> dict[str, Any]:
    """Microseconds of one strategy call as a quoter makes it (its input built, ``quote``, the check), per built-in.

    The cost the strategy interface adds to a tick of one symbol: the
    symmetric rule itself was a plain function call before it.
    """
    from actors.core._strategy import BUILTINS, MarketView, StrategyInput, check_quotes

    instrument = instrument_for("BTCUSDT", 42)
    figures: dict[str, Any] = {}
    for name, cls in BUILTINS.items():
        strategy = cls(instrument, cls.defaults())
        params = strategy.params
        started = time.perf_counter()
        for tick in range(1, rounds + 1):
            mid = 6_000_000 + (tick % 7)
            state = StrategyInput(tick, tick * 100.0, instrument, MarketView.from_mid(mid), params)
            check_quotes(strategy.quote(state))
        figures[name] = round((time.perf_counter() - started) / rounds * 1e6, 3)
    return {"call_us": figures}


def quote_changes(config: ShadowConfig) -> int:
    """Sides whose wanted (price, lots) differ from the tick before, over the run: what a kept-order rule must place."""
    from actors.core._quoting import QuotingPolicy
    from actors.markets._data import RandomWalkMarket

    instruments = {symbol: instrument_for(symbol, config.seed) for symbol in config.symbols}
    market = RandomWalkMarket(instruments, config.seed, config.volatility_bps)
    policy = QuotingPolicy(config.spread_bps, config.quote_notional_usd)
    changes = 0
    for symbol, instrument in instruments.items():
        last: tuple[int, int, int, int] | None = None
        for tick in range(1, config.iterations + 1):
            quote = policy.quote(instrument, market.mid_ticks(symbol, tick))
            now = (quote.bid_ticks, quote.bid_lots, quote.ask_ticks, quote.ask_lots)
            changes += 2 if last is None else (now[:2] != last[:2]) + (now[2:] != last[2:])
            last = now
    return changes


def _child(args: list[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "actors.tools.bench", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"args": args, "error": done.stderr.strip().splitlines()[-1:] or ["exit " + str(done.returncode)]}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def paced_latency(symbols: int, ticks: int, tick_ms: float) -> dict[str, Any]:
    """The paced mode on ``pool``: a tick every ``tick_ms``, tick-to-order latency as the report gives it."""
    settings: dict[str, Any] = {"symbols_count": symbols, "iterations": ticks, "runtime": "pool", "pace": "realtime"}
    settings.update(tick_ms=tick_ms, decision_deadline_ms=tick_ms, edge_threshold=-1e9, max_inv=1e12, max_total=1e15)
    config = resolve(overrides=settings, override_source="setting")
    system = build_system(config)
    system.start()
    system.run()
    latency = build_report(system)["latency"]
    system.stop()
    return {"symbols": symbols, "ticks": ticks, "tick_ms": tick_ms, **latency}


CANCEL_REPLACE_FLAGS = ["--symbols", "BTCUSDT,ETHUSDT", "--fill-rate", "0.04", "--reject-rate", "0",
                        "--edge-threshold", "-1000000"]  # fmt: skip
"""The cancel/replace workload as a user starts it (the NautilusTrader anchor's header names the same flags)."""


def whole_process(command: list[str]) -> tuple[float, str]:
    """Wall seconds of ``command`` run as a user would, and its stdout."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def cancel_replace_vs_nautilus(
    runtime: str, ticks: int, nautilus: tuple[str, Path] | None, runs: int
) -> dict[str, Any]:
    """``run-shadow`` and (if given: its interpreter and script) NautilusTrader's anchor, whole processes, alternating.

    ``run-shadow`` is started as ``python -m actors``, the package's own entry point, so the bench reads no
    path outside the installed package; the anchor's script is the caller's to name (``--anchor``).
    """
    ours_cmd = [sys.executable, "-m", "actors", *CANCEL_REPLACE_FLAGS]
    ours_cmd += ["--iterations", str(ticks), "--runtime", runtime]
    rates: dict[str, list[float]] = {"ours": [], "nautilus": []}
    for _ in range(runs):
        wall, out = whole_process(ours_cmd)
        rates["ours"].append(json.loads(out)["orders"]["placed"] / wall)
        if nautilus is not None:
            wall, out = whole_process([nautilus[0], str(nautilus[1]), "2", str(ticks), "42", "track"])
            submitted = int(out.split("submitted=")[1].split()[0])
            rates["nautilus"].append(submitted / wall)
    result: dict[str, Any] = {"runtime": runtime, "ticks": ticks}
    result["ours_orders_per_s"] = [round(r) for r in rates["ours"]]
    if rates["nautilus"]:
        result["nautilus_orders_per_s"] = [round(r) for r in rates["nautilus"]]
        result["ratio_median"] = round(statistics.median(rates["ours"]) / statistics.median(rates["nautilus"]), 2)
    return result


def _parser() -> argparse.ArgumentParser:
    """The bench's flags: one case per flag, else every case."""
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--case", nargs=2, metavar=("RUNTIME", "SYMBOLS"), help="run one case in this process")
    parser.add_argument("--cancel-replace", metavar="RUNTIME", help="run the cancel/replace workload in this process")
    parser.add_argument("--strategy-call", action="store_true", help="time one strategy call of each built-in")
    parser.add_argument("--paced", type=int, metavar="SYMBOLS", help="run the paced mode on pool in this process")
    parser.add_argument(
        "--versus-nautilus",
        metavar="PYTHON",
        help="whole-process cancel/replace against NautilusTrader, with the anchor run by this interpreter",
    )
    parser.add_argument(
        "--anchor", type=Path, metavar="SCRIPT", help="--versus-nautilus: the anchor script (bin/bench gives one)"
    )
    parser.add_argument(
        "--market-replay", type=int, metavar="ROWS", help="replay ROWS generated quote rows, 100 symbols"
    )
    parser.add_argument(
        "--l1-replay",
        type=int,
        metavar="ROWS",
        help="replay ROWS generated rows: 10 symbols, quotes every 10 ms and trades",
    )
    parser.add_argument(
        "--depth-replay",
        type=int,
        metavar="UPDATES",
        help="replay a generated incremental_book_L2 file of UPDATES rows",
    )
    parser.add_argument(
        "--versus-hftbacktest",
        type=int,
        metavar="UPDATES",
        help="--depth-replay's file, then hftbacktest on it (pip install hftbacktest; no dependency of the engine)",
    )
    parser.add_argument(
        "--replay-runtime", choices=RUNTIME_NAMES, default="pool", help="the replay cases' runtime (default pool)"
    )
    parser.add_argument(
        "--sharded",
        type=int,
        metavar="SYMBOLS",
        help="one process, then 1 and 2 shards on a local Ray instance (the cluster extra)",
    )
    parser.add_argument("--freeze-after", type=float, default=5.0, help="--sharded: operator freeze after S seconds")
    parser.add_argument(
        "--rounds", type=int, default=3, help="--sharded, --coordinator, --split-ceiling: rounds (default 3)"
    )
    parser.add_argument(
        "--coordinator",
        type=int,
        metavar="SYMBOLS",
        help="the coordinator alone: a 2-shard run's batches replayed into it (no Ray needed)",
    )
    parser.add_argument(
        "--split-ceiling",
        type=int,
        metavar="SYMBOLS",
        help="the workload whole, then as two independent halves side by side (no Ray needed)",
    )
    parser.add_argument(
        "--gateway-venue",
        type=float,
        metavar="MS",
        help="orders/s through the gateway against the local Binance server answering after MS ms, blocking or not",
    )
    parser.add_argument(
        "--venue-adapter",
        type=int,
        metavar="ORDERS",
        help="the Binance adapter's own cost: ORDERS places and cancels against the local server in another process",
    )
    parser.add_argument("--iterations", type=int, default=20, help="ticks per throughput case (default 20)")
    parser.add_argument("--freezes", type=int, default=5, help="freeze repetitions per case (default 5)")
    parser.add_argument("--ticks", type=int, default=5000, help="ticks of the cancel/replace workload (default 5000)")
    parser.add_argument("--tick-ms", type=float, default=100.0, help="paced mode: ms between ticks (default 100)")
    parser.add_argument("--runs", type=int, default=3, help="whole-process runs per side (default 3)")
    parser.add_argument("--quick", action="store_true", help="small cases only (100 and 1,000 symbols)")
    parser.add_argument("--reliable", action="store_true", help="--cancel-replace with reliable delivery on")
    parser.add_argument("--metrics", action="store_true", help="--case: run with metrics on (handlers timed)")
    parser.add_argument("--events", metavar="PATH", help="--case: write the order event log to PATH")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cases (each in a child process) and print one JSON document."""
    parser = _parser()
    args = parser.parse_args(argv)
    tune_gc()  # as bin/run-shadow does; the baseline of a case runs in the same process, so under the same settings
    if args.case:
        result = run_case(
            args.case[0], int(args.case[1]), args.iterations, args.freezes, metrics=args.metrics, events=args.events
        )
    elif args.cancel_replace:
        result = cancel_replace(args.cancel_replace, args.ticks, reliable=args.reliable)
    elif args.strategy_call:
        result = strategy_call()
    elif args.paced:
        result = paced_latency(args.paced, args.iterations, args.tick_ms)
    elif args.sharded:
        from actors.tools._cluster_bench import sharded_case

        result = sharded_case(args.sharded, args.iterations, (1, 2), args.freeze_after, args.rounds)
    elif args.coordinator:
        from actors.tools._cluster_bench import coordinator_replay

        result = coordinator_replay(args.coordinator, args.iterations, rounds=args.rounds)
    elif args.split_ceiling:
        from actors.tools._cluster_bench import split_ceiling

        result = split_ceiling(args.split_ceiling, args.iterations, rounds=args.rounds)
    elif args.market_replay:
        result = market_replay(args.market_replay, args.replay_runtime)
    elif args.l1_replay:
        result = market_replay(args.l1_replay, args.replay_runtime, symbols=10, quote_every_us=10_000, trades=True)
    elif args.depth_replay:
        result = depth_replay(args.depth_replay, args.replay_runtime)
    elif args.versus_hftbacktest:
        from actors.tools._hft_compare import INSTALL, hftbacktest_version

        if hftbacktest_version() is None:
            sys.stderr.write(f"bench: --versus-hftbacktest: {INSTALL}\n")
            return 2
        result = versus_hftbacktest(args.versus_hftbacktest, args.replay_runtime)
    elif args.gateway_venue is not None:
        from actors.tools._gateway_bench import gateway_venue

        result = gateway_venue(args.gateway_venue)
    elif args.venue_adapter:
        from actors.tools._gateway_bench import adapter_cost

        result = adapter_cost(args.venue_adapter)
    elif args.versus_nautilus:
        if args.anchor is None or not args.anchor.is_file():
            parser.error(f"--versus-nautilus needs --anchor SCRIPT, an existing file (got {args.anchor})")
        result = cancel_replace_vs_nautilus("pool", args.ticks, (args.versus_nautilus, args.anchor), args.runs)
    else:
        cases = [c for c in CASES if not args.quick or c[1] <= 1000]
        common = ["--iterations", str(args.iterations), "--freezes", str(args.freezes)]
        paced = ["--iterations", str(args.iterations), "--tick-ms", str(args.tick_ms)]
        result = {
            "machine": {"cpus": _cpus(), "python": sys.version.split()[0]},
            "codec_floor": codec_floor(),
            "strategy_call": strategy_call(),
            "cases": [_child(["--case", runtime, str(n), *common]) for runtime, n in cases],
            "cancel_replace": [
                _child(["--cancel-replace", runtime, "--ticks", str(args.ticks), *reliable])
                for runtime in RUNTIME_NAMES
                for reliable in ([], ["--reliable"])
            ],
            "paced": [_child(["--paced", str(n), *paced]) for n in (100, 1000, 10000) if not args.quick or n <= 1000],
            "cancel_replace_whole_process": cancel_replace_vs_nautilus("pool", args.ticks, None, args.runs),
            "market_replay": [_child(["--market-replay", str(n)]) for n in MARKET_REPLAY_ROWS],
            "l1_replay": [_child(["--l1-replay", str(n)]) for n in L1_REPLAY_ROWS],
            "depth_replay": [_child(["--depth-replay", str(n)]) for n in DEPTH_REPLAY_ROWS],
            "versus_hftbacktest": _child(["--versus-hftbacktest", str(DEPTH_REPLAY_ROWS[0])]),
        }
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    return 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
