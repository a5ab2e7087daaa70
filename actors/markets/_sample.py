"""``bin/make-sample-market``: a generated market in the Tardis.dev CSV layout, to try ``--market`` on.

The data set that comes with the package (``actors/sample_market/``,
replayed by ``bin/run-shadow --market sample``) is made by this module and
by nothing else: it is **generated**, not recorded.  Each symbol's mid is a
seeded random walk, quoted every 100 ms with a spread of one to three ticks
and sizes drawn at random; trades print at the bid or the ask (now and then
one tick through it, as a sweep would), a few per second.  The files are
written in time order, gzip-compressed with a zero timestamp, so the same
arguments give the same bytes (a test regenerates the sample and compares).

    bin/make-sample-market DIR [--symbols BTCUSDT,ETHUSDT,SOLUSDT] [--seconds 120] [--seed 7]

The benchmark uses the same generator for its large files (``--quotes-only``
and many symbols).
"""

from __future__ import annotations

import argparse
import gzip
import io
import math
import random
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO

from actors.core._instruments import instrument_for
from actors.markets._tardis import QUOTES_HEADER, TRADES_HEADER

SAMPLE_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
SAMPLE_SECONDS = 120
SAMPLE_SEED = 7
START_US = 1_735_689_600_000_000
"""2025-01-01T00:00:00Z, in microseconds since the epoch (Tardis's unit)."""
QUOTE_EVERY_US = 100_000
STEP_VOLATILITY_BPS = 1.5
"""Per 100 ms step: about 5 bps a second, enough for the default 10 bps spread to trade now and then."""
TRADES_PER_SECOND = 3.0
QUOTES_NAME = "generated-tardis-quotes.csv.gz"
TRADES_NAME = "generated-tardis-trades.csv.gz"


def _writer(path: Path) -> IO[str]:
    raw = path.open("wb")
    zipped = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
    return io.TextIOWrapper(zipped, encoding="utf-8", newline="")


def generate(
    directory: Path,
    symbols: Sequence[str] = SAMPLE_SYMBOLS,
    *,
    seconds: int = SAMPLE_SECONDS,
    seed: int = SAMPLE_SEED,
    quotes_only: bool = False,
    quote_every_us: int = QUOTE_EVERY_US,
) -> tuple[int, int]:
    """Write the quotes (and trades) files into ``directory``; the numbers of quote and trade rows."""
    directory.mkdir(parents=True, exist_ok=True)
    draw = random.Random(seed)
    specs = [instrument_for(s, seed) for s in symbols]
    ticks = [float(i.tick_size) for i in specs]
    decimals = [max(0, -int(i.tick_size.as_tuple().exponent)) for i in specs]
    lot_places = [max(0, -int(i.lot_size.as_tuple().exponent)) for i in specs]
    mids = [float(i.start_price) for i in specs]
    sigma = STEP_VOLATILITY_BPS / 1e4
    trade_chance = TRADES_PER_SECOND * quote_every_us / 1e6
    quotes = trades = 0
    stagger = max(1, quote_every_us // max(1, len(specs)))
    quotes_file = _writer(directory / QUOTES_NAME)
    trades_file = None if quotes_only else _writer(directory / TRADES_NAME)
    try:
        quotes_file.write(",".join(QUOTES_HEADER) + "\n")
        if trades_file is not None:
            trades_file.write(",".join(TRADES_HEADER) + "\n")
        for step in range(seconds * 1_000_000 // quote_every_us):
            for index, instrument in enumerate(specs):
                at = START_US + step * quote_every_us + index * stagger
                tick, places = ticks[index], decimals[index]
                mids[index] *= math.exp(sigma * draw.gauss(0.0, 1.0))
                bid_ticks = max(1, math.floor(mids[index] / tick))
                ask_ticks = bid_ticks + draw.randint(1, 3)
                bid, ask = f"{bid_ticks * tick:.{places}f}", f"{ask_ticks * tick:.{places}f}"
                bid_size, ask_size = (
                    _size(draw, instrument.start_price, lot_places[index]),
                    _size(draw, instrument.start_price, lot_places[index]),
                )
                name = instrument.symbol
                quotes_file.write(f"binance,{name},{at},{at + 7},{ask_size},{ask},{bid},{bid_size}\n")
                quotes += 1
                if trades_file is None or draw.random() >= trade_chance:
                    continue
                buyer = draw.random() < 0.5
                through = draw.random() < 0.15
                price_ticks = (ask_ticks + through) if buyer else max(1, bid_ticks - through)
                size = _size(draw, instrument.start_price, lot_places[index])
                trades += 1
                trades_file.write(
                    f"binance,{name},{at + 50},{at + 57},{trades},{'buy' if buyer else 'sell'},"
                    f"{price_ticks * tick:.{places}f},{size}\n"
                )
    finally:
        quotes_file.close()
        if trades_file is not None:
            trades_file.close()
    return quotes, trades


def _size(draw: random.Random, price: Decimal, places: int) -> str:
    """A size worth 500 to 20,000 USD, in the instrument's lot decimals."""
    usd = math.exp(draw.uniform(math.log(500.0), math.log(20_000.0)))
    return f"{max(10.0**-places, usd / float(price)):.{places}f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the sample (or another generated data set) into the directory given."""
    parser = argparse.ArgumentParser(prog="make-sample-market", description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--symbols", default=",".join(SAMPLE_SYMBOLS))
    parser.add_argument("--seconds", type=int, default=SAMPLE_SECONDS)
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED)
    parser.add_argument("--quotes-only", action="store_true")
    args = parser.parse_args(argv)
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    if not symbols or args.seconds < 1:
        parser.error("give at least one symbol and one second")
    quotes, trades = generate(args.directory, symbols, seconds=args.seconds, seed=args.seed,
                              quotes_only=args.quotes_only)  # fmt: skip
    sys.stderr.write(f"make-sample-market: {quotes} quote rows, {trades} trade rows in {args.directory}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
