"""``--instruments FILE``: tick and lot sizes by symbol from a TOML table.

```toml
[BTCUSDT]
tick_size = "0.01"       # a string keeps the decimal exact; a TOML number is read by its shortest form
lot_size = "0.00001"
```

A symbol the table does not name keeps the catalogue's sizes
(:mod:`actors.core._instruments`), or, in a recorded run, the decimals its
prices and sizes are written with.  Every problem is a :class:`ConfigError`
naming the file and the key.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path

from actors.assembly._config import ConfigError
from actors.core._instruments import Sizes

FIELDS = ("tick_size", "lot_size")


def load_instruments(path: Path) -> dict[str, Sizes]:
    """The table in ``path``: symbol -> (tick size, lot size)."""
    source = f"--instruments {path}"
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{source}: invalid TOML: {str(exc).splitlines()[0][:200]}") from None
    sizes: dict[str, Sizes] = {}
    for symbol, entry in table.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: {symbol}: expected a table with {' and '.join(FIELDS)}, got {entry!r}")
        unknown = sorted(set(entry) - set(FIELDS))
        if unknown:
            raise ConfigError(f"{source}: {symbol}.{unknown[0]}: unknown key (known: {', '.join(FIELDS)})")
        missing = [name for name in FIELDS if name not in entry]
        if missing:
            raise ConfigError(f"{source}: {symbol}: missing {missing[0]}")
        tick, lot = (_size(entry[name], f"{source}: {symbol}.{name}") for name in FIELDS)
        sizes[symbol.upper()] = Sizes(tick, lot)
    return sizes


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
