"""The real venues ``--venue`` names, each a factory of an ``IExchangeClient`` (docs/LIVE.md, "Orders on a real venue").

:data:`FACTORIES` maps a venue's name to the function that builds its
adapter from the settled configuration, the instruments the run trades and
the keys; a venue added to the engine (Binance USDⓈ-M's demo, say) is one
entry there.  A name ``--venue`` knows (:data:`actors.assembly._config.REAL_VENUES`)
without an entry is refused in one line, as is a key that cannot be had
safely: missing, or in a file others may read.

Client ids never repeat across runs (:func:`run_prefix`): Binance refuses a
duplicate client id only while the first order is open, so an id used again
after a crash could be taken for the old order's (a status query by client
id, a fill) once that one has closed.  A real venue's run keeps no journal
to number on from (`--journal` is refused there), so each run prefixes its ids with
a token of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Protocol, runtime_checkable

from actors.assembly._config import ConfigError, ShadowConfig
from actors.core._types import Instrument
from actors.venues._binance import TESTNET_STREAM_URL, TESTNET_URL, BinanceSpotVenue, Credentials, CredentialsError
from actors.venues._binance_rules import SPOT, USDM, Budget, Dialect, LocalBuckets, SpotSymbol
from actors.venues._binance_usdm import DEMO_STREAM_URL, DEMO_URL, BinanceUsdmVenue
from actors.venues._interface import IExchangeClient
from actors.venues._shared_buckets import FileBuckets

VenueFactory = Callable[[ShadowConfig, Mapping[str, Instrument], Credentials], IExchangeClient]
"""Builds a real venue's adapter: (settled configuration, instruments by symbol, keys) -> the venue."""

QUOTE_ASSETS = ("USDT", "USDC", "FDUSD", "TUSD", "BUSD", "DAI", "EUR", "TRY", "BTC", "ETH", "BNB")
"""Quote assets a spot symbol may end with, longest match first among them (``ETHBTC``: ETH and BTC)."""
SPOT_URL, SPOT_STREAM_URL = "https://api.binance.com", "wss://stream.binance.com:9443"
"""Binance spot's own endpoints: real money (``--venue binance --real-money``)."""


def run_prefix() -> str:
    """A client id prefix of this run's own: ``mm`` and 8 random hex digits, then ``-`` (``mm3fa2c1d0-00000001``,
    19 characters: within Binance's 36, in its alphabet)."""
    return f"mm{secrets.token_hex(4)}-"


def spot_symbol(instrument: Instrument) -> SpotSymbol:
    """A spot symbol's assets (from its name) and the engine's sizes for it."""
    name = instrument.symbol
    quote = next((asset for asset in QUOTE_ASSETS if name.endswith(asset) and len(name) > len(asset)), None)
    if quote is None:
        raise ConfigError(f"--market: {name}: cannot tell its base and quote assets (quotes known: "
                          f"{', '.join(QUOTE_ASSETS)})")  # fmt: skip
    return SpotSymbol(name, name[: -len(quote)], quote, instrument.tick_size, instrument.lot_size)


def credentials(config: ShadowConfig, environ: Mapping[str, str] | None = None) -> Credentials:
    """The keys, from ``--keys-file`` or the environment; :class:`ConfigError` (no key in it) if they will not do."""
    try:
        if config.keys_file:
            return Credentials.from_file(Path(config.keys_file))
        return Credentials.from_environment(environ)
    except CredentialsError as exc:
        where = "--keys-file" if config.keys_file else f"--venue {config.venue}"
        raise ConfigError(f"{where}: {exc}") from None


def budget(config: ShadowConfig, dialect: Dialect) -> Budget:
    """The venue's rate budget: in ``--venue-budget-file`` when given (every run on this host that names the file
    draws on the same buckets, so runs on one account together keep the venue's limits), else this run's own."""
    store = FileBuckets(Path(config.venue_budget_file)) if config.venue_budget_file else LocalBuckets()
    return Budget(limits=dialect.limits, store=store, dialect=dialect)


def _binance_spot(
    config: ShadowConfig, instruments: Mapping[str, Instrument], keys: Credentials, *, rest: str, stream: str
) -> IExchangeClient:
    symbols = {symbol: spot_symbol(instrument) for symbol, instrument in sorted(instruments.items())}
    try:
        return BinanceSpotVenue(
            symbols, keys, base_url=config.venue_rest_url or rest, stream_url=config.venue_stream_url or stream,
            allow_real=config.real_money, flat_balances=dict(config.flat_balances), budget=budget(config, SPOT),
        )  # fmt: skip
    except ValueError as exc:  # a host that is not a testnet's, without --real-money
        raise ConfigError(f"--venue {config.venue}: " + str(exc).replace("allow_real", "--real-money")) from None


def _binance_usdm(
    config: ShadowConfig, instruments: Mapping[str, Instrument], keys: Credentials, *, rest: str, stream: str
) -> IExchangeClient:
    """USDⓈ-M futures: positions are the venue's (no flat balances), and the cancel-on-disconnect countdown is
    armed before the first order, so a killed run's orders are canceled by the venue itself."""
    symbols = {symbol: spot_symbol(instrument) for symbol, instrument in sorted(instruments.items())}
    try:
        return BinanceUsdmVenue(
            symbols, keys, base_url=config.venue_rest_url or rest, stream_url=config.venue_stream_url or stream,
            allow_real=config.real_money, budget=budget(config, USDM),
        )  # fmt: skip
    except ValueError as exc:  # a host that is not the demo's or the testnet's, without --real-money
        raise ConfigError(f"--venue {config.venue}: " + str(exc).replace("allow_real", "--real-money")) from None


FACTORIES: dict[str, VenueFactory] = {
    "binance-testnet": partial(_binance_spot, rest=TESTNET_URL, stream=TESTNET_STREAM_URL),
    "binance-usdm-demo": partial(_binance_usdm, rest=DEMO_URL, stream=DEMO_STREAM_URL),
    "binance": partial(_binance_spot, rest=SPOT_URL, stream=SPOT_STREAM_URL),
}
"""Each real venue's adapter."""


def adapter_counts(venue: object) -> dict[str, int]:
    """What a real venue's adapter counted, for the report's ``venue.adapter``: its requests, answers lost and
    settled by asking, the user stream's reconnects and listen keys (``counters``), the requests the rate budget held
    or dropped (``budget``), the 429s and 418s (``backoff``), the cancel-on-disconnect's calls (``countdown``:
    ``armed``, ``failed``, ``disarmed``), and the stream's repeated trades (``duplicates``).
    What an adapter does not have is left out."""
    counts: dict[str, int] = {}
    counters = getattr(venue, "counters", None)
    if counters is not None:
        counts.update({name: int(value) for name, value in vars(counters).items()})
    parts = (("budget", ("waited", "dropped")), ("backoff", ("rate_limited", "banned")),
             ("countdown", ("armed", "failed", "disarmed")))  # fmt: skip
    for part, names in parts:
        holder = getattr(venue, part, None)
        counts.update({name: int(getattr(holder, name)) for name in names if hasattr(holder, name)})
    duplicates = getattr(venue, "duplicates", None)
    if isinstance(duplicates, int):
        counts["duplicate_trades"] = duplicates
    return counts


@runtime_checkable
class SupportsSizes(Protocol):
    """A venue that publishes each symbol's tick and lot (Binance's ``exchangeInfo``)."""

    def sizes(self) -> dict[str, tuple[Decimal, Decimal]]:
        """(tick, lot) by symbol, as the venue has them."""
        ...


def check_sizes(venue: IExchangeClient, instruments: Mapping[str, Instrument], flag: str) -> None:
    """Refuse (one line) a run whose tick or lot for a symbol is not the venue's.

    The engine counts prices in ticks and sizes in lots; the adapter writes
    them as decimals with the same sizes.  With a finer lot at the venue its
    partial fills round to the engine's lots, and the positions drift from
    the venue's (the first end-to-end test, written with a finer lot, saw
    exactly that).  A venue that publishes no sizes is not checked.
    """
    if not isinstance(venue, SupportsSizes):
        return
    published = venue.sizes()
    for symbol, instrument in sorted(instruments.items()):
        mine = (instrument.tick_size.normalize(), instrument.lot_size.normalize())
        theirs = published.get(symbol)
        if theirs is None:
            raise ConfigError(f"{flag}: the venue does not list {symbol}")
        if theirs != mine:
            raise ConfigError(
                f"{flag}: {symbol} trades at the venue in ticks of {theirs[0]} and lots of {theirs[1]}, the engine's "
                f'are {mine[0]} and {mine[1]}; give the venue\'s with --instruments ([{symbol}] tick_size = '
                f'"{theirs[0]}", lot_size = "{theirs[1]}")'
            )


def real_venue(config: ShadowConfig, instruments: Mapping[str, Instrument]) -> IExchangeClient:
    """The adapter of ``config.venue`` with its keys; :class:`ConfigError` (one line) if it cannot be had."""
    factory = FACTORIES.get(config.venue)
    if factory is None:
        raise ConfigError(f"--venue {config.venue}: not in this build yet (docs/LIVE.md)")
    return factory(config, instruments, credentials(config))
