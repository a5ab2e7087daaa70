"""``--instruments FILE``: tick and lot sizes, and what a contract is, by symbol from a TOML table.

```toml
[BTCUSDT]
tick_size = "0.01"       # a string keeps the decimal exact; a TOML number is read by its shortest form
lot_size = "0.00001"

[BTCUSDPERP]             # Binance COIN-M BTCUSD_PERP: contracts of 100 USD, PnL in BTC
kind = "inverse"         # "spot" (the default), "linear" or "inverse"
contract_size = "100"    # inverse: USD a contract; linear: base coin a contract (default 1)
tick_size = "0.1"
lot_size = "1"
```

Every key is optional (tick_size and lot_size go together) but a table must
say something.  A symbol the table does not name, or whose sizes it leaves
out, keeps the catalogue's
(:mod:`actors.core._instruments`), or, in a recorded run, the decimals its
prices and sizes are written with.  An inverse contract needs its contract
size unless the catalogue knows it (XBTUSD, BTCUSDPERP, ETHUSDPERP); a spot
one has none.  Every problem is a :class:`ConfigError` naming the file and
the key.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path

from actors.assembly._config import ConfigError
from actors.core._instruments import Spec, known_contract
from actors.core._types import INVERSE, KINDS, SPOT

SIZES = ("tick_size", "lot_size")
FIELDS = (*SIZES, "kind", "contract_size")


def load_instruments(path: Path) -> dict[str, Spec]:
    """The table in ``path``: symbol -> what its entry says (:class:`Spec`)."""
    source = f"--instruments {path}"
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{source}: invalid TOML: {str(exc).splitlines()[0][:200]}") from None
    specs: dict[str, Spec] = {}
    for symbol, entry in table.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: {symbol}: expected a table with {', '.join(FIELDS)}, got {entry!r}")
        unknown = sorted(set(entry) - set(FIELDS))
        if unknown:
            raise ConfigError(f"{source}: {symbol}.{unknown[0]}: unknown key (known: {', '.join(FIELDS)})")
        if not entry:
            raise ConfigError(f"{source}: {symbol}: an empty table (give any of {', '.join(FIELDS)})")
        given = [name for name in SIZES if name in entry]
        if len(given) == 1:
            raise ConfigError(f"{source}: {symbol}: missing {SIZES[1 - SIZES.index(given[0])]} (tick_size and "
                              "lot_size go together)")  # fmt: skip
        tick, lot = (_size(entry[name], f"{source}: {symbol}.{name}") if name in entry else None for name in SIZES)
        kind = entry.get("kind")
        if kind is not None and kind not in KINDS:
            raise ConfigError(f"{source}: {symbol}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        contract = (
            _size(entry["contract_size"], f"{source}: {symbol}.contract_size") if "contract_size" in entry else None
        )
        name = symbol.upper()
        known = known_contract(name)
        if kind == SPOT and contract is not None and contract != 1:
            raise ConfigError(f'{source}: {symbol}.contract_size: a spot instrument has none (give kind = "linear")')
        if kind == INVERSE and contract is None and (known is None or known[0] != INVERSE):
            raise ConfigError(f"{source}: {symbol}: an inverse contract needs contract_size (USD a contract)")
        specs[name] = Spec(tick, lot, kind, contract)
    return specs


def _size(value: object, named: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f'{named}: expected a positive decimal such as "0.01", got {value!r}')
    try:
        size = Decimal(value if isinstance(value, str) else repr(value))
    except InvalidOperation:
        raise ConfigError(f'{named}: expected a positive decimal such as "0.01", got {value!r}') from None
    if not size.is_finite() or size <= 0 or size < Decimal("1e-12") or size > Decimal("1e6"):
        raise ConfigError(f"{named}: expected a decimal from 1e-12 to 1e6, got {value!r}")
    return size
