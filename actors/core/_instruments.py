"""The instrument catalogue: realistic specs for known symbols, seeded ones otherwise."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from actors.core._keyed_random import uniform
from actors.core._types import INVERSE, SPOT, Instrument

# symbol: (start price, tick size, lot size) -- rough 2025 levels and
# Binance-like increments; only plausibility matters for a shadow run.
_KNOWN: dict[str, tuple[str, str, str]] = {
    "BTCUSDT": ("60000.00", "0.01", "0.0001"),
    "ETHUSDT": ("3000.00", "0.01", "0.001"),
    "SOLUSDT": ("150.00", "0.01", "0.01"),
    "BNBUSDT": ("550.00", "0.01", "0.001"),
    "XRPUSDT": ("0.5500", "0.0001", "1"),
    "ADAUSDT": ("0.4500", "0.0001", "1"),
    "DOGEUSDT": ("0.12000", "0.00001", "1"),
    "AVAXUSDT": ("35.00", "0.01", "0.01"),
    "LINKUSDT": ("15.000", "0.001", "0.01"),
    "DOTUSDT": ("7.000", "0.001", "0.1"),
    "XBTUSD": ("60000.0", "0.5", "100"),
    "BTCUSDPERP": ("60000.0", "0.1", "1"),
    "ETHUSDPERP": ("3000.00", "0.01", "1"),
}
_CONTRACTS: dict[str, tuple[str, str]] = {
    "XBTUSD": (INVERSE, "1"),
    "BTCUSDPERP": (INVERSE, "100"),
    "ETHUSDPERP": (INVERSE, "10"),
}
"""Known contracts: (kind, contract size), as the venue lists them (BitMEX XBTUSD: 1 USD a contract, traded in
lots of 100; Binance COIN-M ``BTCUSD_PERP``: 100 USD, ``ETHUSD_PERP``: 10 USD).  Every other known symbol is spot."""


_NOT_IN_SYMBOL = str.maketrans("", "", "-_/:.")


def canonical_symbol(raw: str) -> str:
    """A symbol as the engine names it: upper case, no separators (``btcusdt``, ``btc-usdt`` -> ``BTCUSDT``).

    Venues and data files write symbols their own way (Tardis in lower case,
    some venues with a dash); the flags, the files and the report all use this one.
    """
    return raw.upper().translate(_NOT_IN_SYMBOL)


def made_up_price(symbol: str) -> bool:
    """True when the catalogue has no start price for ``symbol``: a synthetic run draws one from the seed."""
    return symbol not in _KNOWN


class Sizes(NamedTuple):
    """A symbol's price tick and quantity lot."""

    tick_size: Decimal
    lot_size: Decimal


class Spec(NamedTuple):
    """What an ``--instruments`` entry says of a symbol: its tick and lot (either may be left to the catalogue or the
    data), what kind of instrument it is, and its contract size (base coin a contract, or USD for an inverse one)."""

    tick_size: Decimal | None = None
    lot_size: Decimal | None = None
    kind: str | None = None
    contract_size: Decimal | None = None


def known_contract(symbol: str) -> tuple[str, Decimal] | None:
    """The catalogue's kind and contract size of ``symbol`` if it lists it as a contract."""
    known = _CONTRACTS.get(symbol)
    return None if known is None else (known[0], Decimal(known[1]))


def contract_of(symbol: str, spec: Spec | None = None) -> tuple[str, Decimal]:
    """The kind and contract size of ``symbol``: the entry's, else the catalogue's, else spot of size 1."""
    known = _CONTRACTS.get(symbol, (SPOT, "1"))
    kind = spec.kind if spec is not None and spec.kind is not None else known[0]
    size = spec.contract_size if spec is not None and spec.contract_size is not None else None
    if size is None:
        size = Decimal(known[1]) if kind == known[0] else Decimal(1)
    return kind, size


def known_sizes(symbol: str) -> Sizes | None:
    """The catalogue's tick and lot of ``symbol``, if it knows the symbol."""
    known = _KNOWN.get(symbol)
    return None if known is None else Sizes(Decimal(known[1]), Decimal(known[2]))


def instrument_for(symbol: str, seed: int, sizes: Sizes | Spec | None = None) -> Instrument:
    """Return the spec of ``symbol``; unknown symbols get a seeded plausible one.

    ``sizes`` (from an ``--instruments`` table) replaces the tick and lot
    it gives, and the kind and contract size, never the start price.

    An unknown symbol's start price is drawn log-uniformly in [1, 1000) USD
    from (seed, symbol), so ``SYM00001`` has the same price in every run with
    the same seed, whatever other symbols are traded.
    """
    spec = Spec(*sizes) if isinstance(sizes, Sizes) else sizes
    kind, contract = contract_of(symbol, spec)
    known = _KNOWN.get(symbol)
    if known is not None:
        price, tick, lot = known
        instrument = Instrument(symbol, Decimal(tick), Decimal(lot), Decimal(price), kind, contract)
    else:
        exponent = 3 * uniform(seed, "start-price", symbol)
        start = Decimal(str(round(10**exponent, 2))).quantize(Decimal("0.01"))
        instrument = Instrument(symbol, Decimal("0.01"), Decimal("0.01"), max(start, Decimal("1.00")), kind, contract)
    if spec is None:
        return instrument
    return Instrument(
        symbol, spec.tick_size or instrument.tick_size, spec.lot_size or instrument.lot_size, instrument.start_price,
        kind, contract,
    )  # fmt: skip


def symbol_names(count: int) -> list[str]:
    """Generated symbol names ``SYM00001`` ... for scale runs."""
    return [f"SYM{i:05d}" for i in range(1, count + 1)]
