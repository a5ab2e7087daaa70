"""``bin/compare-hftbacktest``: our market fill model against hftbacktest's, on the same depth data.

The same quoting rule, latency and queue model on both sides.

A tool, not a test: hftbacktest (PyPI ``hftbacktest``, with numpy, numba and
polars) is no dependency of the engine.  Install it beside the engine
(``pip install hftbacktest``; 2.4.4 installs on CPython 3.11) and run::

    bin/compare-hftbacktest                       # generated data, the three queue models, 3 latencies
    bin/compare-hftbacktest --seconds 600 --queue-model prob-power --entry-latency-ms 50
    bin/compare-hftbacktest --profile queues --spread-bps 0.01   # quotes at the touch, queues that move
    bin/compare-hftbacktest --data DIR            # Tardis incremental_book_L2 + trades of one symbol

What runs on each side:

* **ours**: ``bin/run-shadow --market DIR`` with the ``symmetric`` strategy
  (a bid and an ask ``spread_bps`` apart around the mid, ``quote_notional_usd``
  each), ``--queue-model``, ``--entry-latency-ms`` and ``--cancel-latency-ms``,
  no fee, limits no order reaches; fills from ``--events``.
* **hftbacktest**: the same files converted by its own
  ``hftbacktest.data.utils.tardis.convert`` (trades first, as it asks), one
  ``HashMapMarketDepthBacktest`` with ``partial_fill_exchange``, the same
  queue model (``risk_adverse_queue_model``, ``power_prob_queue_model`` or
  ``log_prob_queue_model``),
  ``constant_order_latency`` and the same tick and lot.  The strategy is our
  engine's tick, written out: at the end of each ``--tick-ms`` bucket it takes
  the book's mid in whole ticks, ``(best bid + best ask) // 2``, computes the
  symmetric quote with our arithmetic (:class:`actors.core._quoting.QuotingPolicy`),
  keeps an open order that is wanted again (same side, price and lots left,
  as our risk keeps it), cancels the rest and submits the new orders, GTC.

hftbacktest sends a cancel with its order latency: the comparison runs with
``--cancel-latency-ms`` equal to ``--entry-latency-ms``.  The generated data
has one clock (local time = exchange time), no event on a bucket's edge, and
each trade 1 us before the depth update it causes, so that none of those
differences of convention enters the figures.  docs/EXECUTION.md, "Compared
with hftbacktest", gives the figures and explains each difference.

The generator and both sides' runs live here so that ``bin/bench``
(``--versus-hftbacktest``) times hftbacktest on the same file as ours with
the same code; ``bin/compare-hftbacktest`` is this module's launcher.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import io
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from actors.core._quoting import QuotingPolicy
from actors.core._types import Instrument

SYMBOL = "BTCUSDT"
TICK = "0.1"
LOT = "0.001"
START_US = 1_735_689_600_000_000
STEP_US = 100_000
OFFSET_US = 37
"""Every generated event is 37 us (or more) past a step: none on a bucket's edge, where the two engines'
conventions (an order sent at the edge, an event at the edge) would decide who goes first."""
LEVELS = 40
DEPTH_HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
TRADES_HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"


# ------------------------------------------------------------ data


PROFILES = ("moving", "queues")
"""What the generated book does: ``moving`` walks the mid several ticks a step (every fill is the book crossing a
quote), ``queues`` holds it (a tick now and then), so quotes at the touch wait in queues that trades and cancels
move: the data on which the queue models differ."""


def generate(directory: Path, seconds: int, seed: int, profile: str = "moving") -> tuple[int, int]:  # noqa: PLR0915 -- one book, one loop
    """A Tardis ``incremental_book_L2`` and ``trades`` pair of one symbol (tick 0.1, lot 0.001): depth rows, trades.

    A book of :data:`LEVELS` levels a side around a mid, every level filled;
    every 100 ms the mid moves (``moving``: a random walk of 1.2 bps a step;
    ``queues``: one tick, 3 % of the steps), levels it crosses go and new ones
    come at the far end, a few levels change size (orders added or canceled:
    anywhere in the book for ``moving``, at the best three levels a side for
    ``queues``), and now and then a trade takes part or all of the best level
    on one side, its depth update 1 us after it.  The same arguments give the
    same bytes (gzip with a zero timestamp).
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    queues = profile == "queues"
    draw = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    mid = 600_000.0  # ticks: 60,000.0
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    best_bid = math.floor(mid) - 1
    for i in range(LEVELS):
        bids[best_bid - i] = draw.randint(1, 60)
        asks[best_bid + 2 + i] = draw.randint(1, 60)
    depth_rows = trade_rows = 0
    with _writer(directory / f"binance-futures_incremental_book_L2_{SYMBOL}.csv.gz") as depth, \
            _writer(directory / f"binance-futures_trades_{SYMBOL}.csv.gz") as trades:  # fmt: skip
        depth.write(DEPTH_HEADER + "\n")
        trades.write(TRADES_HEADER + "\n")

        def level(at: int, snapshot: bool, side: str, tick: int, lots: int) -> None:
            nonlocal depth_rows
            depth.write(f"binance-futures,{SYMBOL},{at},{at},{str(snapshot).lower()},{side},{tick / 10:.1f},"
                        f"{lots / 1000:.3f}\n")  # fmt: skip
            depth_rows += 1

        at = START_US + OFFSET_US
        for tick, lots in sorted(bids.items(), reverse=True):
            level(at, True, "bid", tick, lots)
        for tick, lots in sorted(asks.items()):
            level(at, True, "ask", tick, lots)
        for step in range(1, seconds * 1_000_000 // STEP_US):
            at = START_US + step * STEP_US + OFFSET_US + draw.randrange(0, 50_000)
            if draw.random() < 0.35:  # a trade at the touch
                buyer = draw.random() < 0.5
                book, side = (asks, "ask") if buyer else (bids, "bid")
                best = min(book) if buyer else max(book)
                size = min(book[best], draw.randint(1, 40))
                trade_rows += 1
                trades.write(f"binance-futures,{SYMBOL},{at},{at},{trade_rows},{'buy' if buyer else 'sell'},"
                             f"{best / 10:.1f},{size / 1000:.3f}\n")  # fmt: skip
                book[best] -= size
                if book[best] == 0:
                    del book[best]
                level(at + 1, False, side, best, book.get(best, 0))
            at += 2
            if not queues:
                mid *= math.exp(1.2e-4 * draw.gauss(0.0, 1.0))
            elif draw.random() < 0.03:
                mid += draw.choice((-1.0, 1.0))
            new_bid = math.floor(mid) - 1
            new_ask = new_bid + 2
            inside_bid, inside_ask = (new_bid + 1, new_ask - 1) if queues else (new_ask, new_bid)
            for tick in [t for t in bids if t >= inside_bid or t < new_bid - LEVELS + 1]:
                del bids[tick]
                level(at, False, "bid", tick, 0)
            for tick in [t for t in asks if t <= inside_ask or t > new_ask + LEVELS - 1]:
                del asks[tick]
                level(at, False, "ask", tick, 0)
            for tick in range(new_bid - LEVELS + 1, new_bid + 1):
                if tick not in bids and (not asks or tick < min(asks)):
                    bids[tick] = draw.randint(1, 60)
                    level(at, False, "bid", tick, bids[tick])
            for tick in range(new_ask, new_ask + LEVELS):
                if tick not in asks and (not bids or tick > max(bids)):
                    asks[tick] = draw.randint(1, 60)
                    level(at, False, "ask", tick, asks[tick])
            for _ in range(draw.randint(0, 6)):  # orders added or canceled at some levels
                book, side = (bids, "bid") if draw.random() < 0.5 else (asks, "ask")
                if not book:
                    continue
                near = sorted(book, reverse=side == "bid")[:3] if queues else sorted(book)
                tick = draw.choice(near)
                book[tick] = max(1, book[tick] + draw.randint(-20, 20))
                level(at, False, side, tick, book[tick])
    return depth_rows, trade_rows


def _writer(path: Path) -> IO[str]:
    """A gzip text file with a zero timestamp in its header: the same rows give the same bytes."""
    zipped = gzip.GzipFile(str(path), mode="wb", mtime=0, compresslevel=6)  # it opens and closes the file
    return io.TextIOWrapper(zipped, encoding="utf-8", newline="")


def instruments_file(directory: Path) -> Path:
    """``--instruments``: the generated symbol's tick and lot."""
    path = directory / "instruments.toml"
    path.write_text(f'[{SYMBOL}]\ntick_size = "{TICK}"\nlot_size = "{LOT}"\n', encoding="utf-8")
    return path


# ------------------------------------------------------------ ours


RUN_SHADOW = (sys.executable, "-m", "actors")
"""How ours is started: the package's own entry point (``bin/compare-hftbacktest`` names its checkout's
``bin/run-shadow`` instead, so that a checkout runs its own code)."""


def ours_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Our run's settings (config keys) for ``args``: the symmetric rule, the queue model and latency, no fee, no
    limit reached.  ``bin/run-shadow`` gets them as flags, the bench's in-process replay as overrides."""
    return {
        "tick_ms": args.tick_ms,
        "spread_bps": args.spread_bps,
        "quote_notional_usd": args.quote_notional_usd,
        "queue_model": args.queue_model,
        "queue_power": args.queue_power,
        "entry_latency_ms": args.entry_latency_ms,
        "cancel_latency_ms": args.entry_latency_ms,
        "maker_fee_bps": 0.0,
        "edge_threshold": -1e9,
        "max_inv": 1e12,
        "max_total": 1e15,
    }


def run_ours(
    data: Path, instruments: Path | None, args: argparse.Namespace, scratch: Path, run_shadow: Sequence[str]
) -> dict[str, Any]:
    """``run_shadow`` (``bin/run-shadow``) on the data: fills (count, lots, by side) and PnL."""
    events = scratch / "events.csv"
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in ours_settings(args).items()]
    command = [*run_shadow, "--market", str(data), *flags, "--runtime", "sim", "--events", str(events)]
    if instruments is not None:
        command += ["--instruments", str(instruments)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"compare-hftbacktest: bin/run-shadow failed: {done.stderr.strip()[-400:]}")
    report = json.loads(done.stdout)
    fills, lots, bought, sold = 0, 0.0, 0.0, 0.0
    with events.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["event"] != "fill":
                continue
            fills += 1
            qty = float(row["quantity"])
            lots += qty
            if row["side"] == "BUY":
                bought += qty
            else:
                sold += qty
    return {
        "fills": fills,
        "report_fills": report["fills"]["count"],
        "filled_qty": round(lots, 6),
        "bought_qty": round(bought, 6),
        "sold_qty": round(sold, 6),
        "orders_placed": report["orders"]["placed"],
        "position": report["positions"]["by_symbol"][SYMBOL]["qty"]
        if SYMBOL in report["positions"]["by_symbol"]
        else "0",
        "pnl_usd": report["pnl"]["total_usd"],
        "ticks": report["execution"]["ticks"],
        "wall_s": round(wall, 2),
    }


# ------------------------------------------------------------ hftbacktest


def convert(data: Path, scratch: Path) -> Path:
    """The Tardis files in hftbacktest's format, by its own converter (trades first, as its docs ask)."""
    # no stubs (and absent where it is not installed): an optional tool's import
    from hftbacktest.data.utils import tardis  # type: ignore[import-untyped,import-not-found,unused-ignore]

    trades = sorted(str(p) for p in data.iterdir() if "trades" in p.name)
    depth = sorted(str(p) for p in data.iterdir() if "incremental_book_L2" in p.name)
    if not trades or not depth:
        raise SystemExit(f"compare-hftbacktest: {data} needs a Tardis trades and an incremental_book_L2 file")
    out = scratch / "hft.npz"
    with contextlib.redirect_stdout(sys.stderr):  # it prints its progress; stdout is the JSON's
        tardis.convert(trades + depth, output_filename=str(out), buffer_size=20_000_000)
    return out


def _asset(data: Any, tick: float, lot: float, args: argparse.Namespace) -> Any:
    """hftbacktest's asset: its data, our latency and queue model, no fee, the symbol's tick and lot."""
    # no stubs (and absent where it is not installed): an optional tool's import
    from hftbacktest import BacktestAsset  # type: ignore[import-untyped,import-not-found,unused-ignore]

    asset = (
        BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(round(args.entry_latency_ms * 1e6), 0)
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(tick)
        .lot_size(lot)
        .last_trades_capacity(0)
    )
    asset = asset.partial_fill_exchange() if args.exchange == "partial" else asset.no_partial_fill_exchange()
    if args.queue_model == "risk-averse":
        asset = asset.risk_adverse_queue_model()
    elif args.queue_model == "prob-power":
        asset = asset.power_prob_queue_model(args.queue_power)
    else:
        asset = asset.log_prob_queue_model()
    return asset


I64_MAX = (1 << 63) - 1
"""hftbacktest's clock before its first ``elapse``."""


class _Fills:
    """hftbacktest's fills counted from its orders, not from ``state_values``.

    hftbacktest 2.4.4's local state applies only an order's last execution,
    and only once the order is whole filled (its issues #299 and #316): with
    ``partial_fill_exchange`` its position, volume and trade count leave out
    partial fills.  Each order's ``qty - leaves_qty`` is exact, so the
    position and the lots filled come from that, seen at each bucket's end,
    and the cash at the order's last execution price (an order that arrives
    through the book executes at the book's prices, as a taker).  Two
    executions of one order in one bucket count as one fill, at the last
    one's price.
    """

    def __init__(self) -> None:
        self.live: dict[int, tuple[int, float]] = {}  # order id -> (side, price)
        self.done: dict[int, float] = {}  # order id -> quantity executed so far
        self.fills = 0
        self.position = self.cash = self.volume = 0.0

    def see(self, orders: Any, open_statuses: tuple[int, ...]) -> None:
        """Every live order's executions since the last look; orders no longer open are forgotten."""
        for order_id, (side, price) in list(self.live.items()):
            order = orders.get(order_id)
            if order is None:
                continue
            executed = order.qty - order.leaves_qty
            new = executed - self.done.get(order_id, 0.0)
            if new > 1e-12:
                self.fills += 1
                self.done[order_id] = executed
                self.position += side * new
                self.cash -= side * new * (order.exec_price if order.exec_price > 0 else price)
                self.volume += new
            if order.status not in open_statuses:
                del self.live[order_id]


def run_hftbacktest(npz: Path, tick: float, lot: float, args: argparse.Namespace) -> dict[str, Any]:
    """Our engine's tick, written out on hftbacktest (the module's docstring); ``wall_s`` and ``cpu_s`` from
    loading the converted data to the last bucket (the first run in a process includes numba's compiling).

    ``stopped`` is hftbacktest's own error code where its ``elapse`` failed
    before the data's end (2.4.4's ``partial_fill_exchange`` fails with 14,
    ``InvalidOrderStatus``, when a queue fill takes exactly an order's last
    lots: its issue #312), with the bucket; the figures run to there.
    """
    # numpy comes with hftbacktest, an optional tool: absent where it is not installed
    import numpy as np  # type: ignore[import-not-found,unused-ignore]  # optional

    # hftbacktest has no stubs and is absent where it is not installed
    from hftbacktest import GTC, LIMIT, NEW, NONE, HashMapMarketDepthBacktest  # type: ignore[import-untyped,import-not-found,unused-ignore]

    # the same
    from hftbacktest.order import PARTIALLY_FILLED  # type: ignore[import-untyped,import-not-found,unused-ignore]

    started, cpu = time.perf_counter(), time.process_time()
    data = np.load(npz)["data"]
    hbt = HashMapMarketDepthBacktest([_asset(data, tick, lot, args)])
    instrument = Instrument(SYMBOL, _decimal(tick), _decimal(lot), _decimal(tick))
    policy = QuotingPolicy(args.spread_bps, args.quote_notional_usd)
    bucket_ns = round(args.tick_ms * 1e6)
    start_ns = int(data["local_ts"][data["local_ts"] > 0].min()) // bucket_ns * bucket_ns
    buckets = (int(data["local_ts"].max()) - start_ns) // bucket_ns + 1
    working: dict[int, int] = {}  # side (+1 buy, -1 sell) -> our order id
    fills = _Fills()
    next_id, placed, mid, stopped = 1, 0, 0, None
    if hbt.current_timestamp == I64_MAX:
        hbt.elapse(1)  # its clock reads i64::MAX until a first elapse; 1 ns takes it to the data's first event
    for k in range(1, buckets + 1):
        code = hbt.elapse(start_ns + k * bucket_ns - hbt.current_timestamp)
        if code != 0:
            stopped = None if code == 1 else {"code": int(code), "bucket": k}  # 1: the data's end
            break
        depth = hbt.depth(0)
        bid, ask = depth.best_bid_tick, depth.best_ask_tick
        orders = hbt.orders(0)
        fills.see(orders, (NEW, PARTIALLY_FILLED))
        if bid <= 0 or ask <= bid or ask >= 1 << 60:
            continue
        mid = (bid + ask) // 2
        quote = policy.quote(instrument, mid)
        for side, price, lots in ((1, quote.bid_ticks, quote.bid_lots), (-1, quote.ask_ticks, quote.ask_lots)):
            current = working.get(side)
            order = orders.get(current) if current is not None else None
            open_ = order is not None and order.status in (NEW, PARTIALLY_FILLED) and order.req == NONE
            if open_ and order is not None and order.price_tick == price and round(order.leaves_qty / lot) == lots:
                continue  # wanted again: kept
            if open_:
                hbt.cancel(0, current, False)
            submit = hbt.submit_buy_order if side == 1 else hbt.submit_sell_order
            submit(0, next_id, price * tick, lots * lot, GTC, LIMIT, False)
            fills.live[next_id] = (side, price * tick)
            working[side] = next_id
            next_id += 1
            placed += 1
        hbt.clear_inactive_orders(0)
    fills.see(hbt.orders(0), (NEW, PARTIALLY_FILLED))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    values = hbt.state_values(0)
    result = {
        "fills": fills.fills,
        "filled_qty": round(fills.volume, 6),
        "orders_placed": placed,
        "position": f"{fills.position:.3f}",
        "pnl_usd": round(fills.cash + fills.position * mid * tick, 2),
        "state_num_trades": int(values.num_trades),
        "state_trading_volume": round(float(values.trading_volume), 6),
        "stopped": stopped,
        "ticks": buckets,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
    }
    hbt.close()
    return result


def _decimal(value: float) -> Any:
    from decimal import Decimal

    return Decimal(repr(value))


# ------------------------------------------------------------ the comparison


def compare(
    data: Path,
    instruments: Path | None,
    tick: float,
    lot: float,
    args: argparse.Namespace,
    *,
    run_shadow: Sequence[str],
) -> dict[str, Any]:
    """One configuration on both sides, and how far apart they are."""
    with tempfile.TemporaryDirectory(prefix="compare-hft-") as scratch_name:
        scratch = Path(scratch_name)
        ours = run_ours(data, instruments, args, scratch, run_shadow)
        theirs = run_hftbacktest(convert(data, scratch), tick, lot, args)
    return {
        "queue_model": args.queue_model,
        "latency_ms": args.entry_latency_ms,
        "ours": ours,
        "hftbacktest": theirs,
        "fills_diff_pct": _pct(ours["fills"], theirs["fills"]),
        "filled_qty_diff_pct": _pct(ours["filled_qty"], theirs["filled_qty"]),
        "pnl_diff_usd": round(ours["pnl_usd"] - theirs["pnl_usd"], 2),
    }


def _pct(ours: float, theirs: float) -> float | None:
    return round(100.0 * (ours - theirs) / theirs, 1) if theirs else None


QUEUE_MODELS = ("risk-averse", "prob-power", "prob-log")
"""Ours by name (``--queue-model``), each against hftbacktest's of the same rule."""
INSTALL = "hftbacktest is not installed here: pip install hftbacktest (2.4.4 installs on CPython 3.11)"
"""The one line a command that needs hftbacktest prints without it."""


def hftbacktest_version() -> str | None:
    """hftbacktest's version, or None where it is not installed (it is no dependency of the engine)."""
    try:
        import hftbacktest
    except ImportError:
        return None
    version: str = hftbacktest.__version__
    return version


def main(argv: Sequence[str] | None = None, run_shadow: Sequence[str] = RUN_SHADOW) -> int:
    """Generate (or take) the data, run each configuration on both sides, print one JSON document."""
    parser = argparse.ArgumentParser(prog="compare-hftbacktest", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a directory of Tardis incremental_book_L2 + trades of one symbol")
    parser.add_argument("--tick-size", type=float, help="--data: the symbol's tick size")
    parser.add_argument("--lot-size", type=float, help="--data: the symbol's lot size")
    parser.add_argument("--seconds", type=int, default=300, help="generated data: seconds (default 300)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--tick-ms", type=float, default=1000.0)
    parser.add_argument("--spread-bps", type=float, default=2.0)
    parser.add_argument("--quote-notional-usd", type=float, default=1000.0)
    parser.add_argument("--profile", choices=PROFILES, default="moving", help="generated data: what the book does")
    parser.add_argument("--queue-model", choices=(*QUEUE_MODELS, "all"), default="all")
    parser.add_argument("--queue-power", type=float, default=3.0)
    parser.add_argument(
        "--exchange",
        choices=("partial", "no-partial"),
        default="partial",
        help="hftbacktest's exchange model: partial_fill_exchange (default) or no_partial_fill_exchange",
    )
    parser.add_argument("--entry-latency-ms", type=float, action="append",
                        help="order and cancel latency, ms (repeat; default 0, 30 and 300)")  # fmt: skip
    args = parser.parse_args(argv)
    version = hftbacktest_version()
    if version is None:
        sys.stderr.write(f"compare-hftbacktest: {INSTALL}\n")
        return 2
    with tempfile.TemporaryDirectory(prefix="compare-data-") as data_name:
        if args.data is None:
            data = Path(data_name)
            depth_rows, trade_rows = generate(data, args.seconds, args.seed, args.profile)
            instruments: Path | None = instruments_file(Path(tempfile.mkdtemp(prefix="compare-conf-")))
            tick, lot = float(TICK), float(LOT)
            made = {"seconds": args.seconds, "seed": args.seed, "profile": args.profile, "depth_rows": depth_rows,
                    "trade_rows": trade_rows}  # fmt: skip
            source: dict[str, Any] = {"generated": made}
        else:
            if args.tick_size is None or args.lot_size is None:
                parser.error("--data needs --tick-size and --lot-size")
            data, instruments, tick, lot = args.data, None, args.tick_size, args.lot_size
            source = {"data": str(args.data)}
        models = list(QUEUE_MODELS) if args.queue_model == "all" else [args.queue_model]
        latencies = args.entry_latency_ms or [0.0, 30.0, 300.0]
        runs = []
        for model in models:
            for latency in latencies:
                one = argparse.Namespace(**{**vars(args), "queue_model": model, "entry_latency_ms": latency})
                runs.append(compare(data, instruments, tick, lot, one, run_shadow=run_shadow))
    result = {
        "hftbacktest": version,
        **source,
        "tick_ms": args.tick_ms,
        "spread_bps": args.spread_bps,
        "quote_notional_usd": args.quote_notional_usd,
        "exchange": args.exchange,
        "runs": runs,
    }
    sys.stdout.write(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
