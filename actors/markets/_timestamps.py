"""A market file's timestamp unit, told from the values: seconds, milliseconds, microseconds or nanoseconds.

Files say nothing of their unit: Tardis writes microseconds, Binance
milliseconds (futures, older spot) or microseconds (spot since 2025), and a
file converted by someone's script may hold nanoseconds or seconds.  A time
since 1970 of a date from 2000 to 2100 falls in exactly one of four ranges,
a factor of 1,000 apart, so the first row tells the unit of the whole file;
a value in none of them (a tick count, a time of day, the year 52,000) is
refused rather than guessed: ``--market-time-unit`` names the unit then.
One unit a file keeps the per-row cost to one conversion; a row in another
unit later in the file shows as a row going back in time, or far ahead.
"""

from __future__ import annotations

from collections.abc import Callable

UNITS = ("s", "ms", "us", "ns")
"""What ``--market-time-unit`` takes besides ``auto``."""
UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
YEAR_2000_S = 946_684_800
YEAR_2100_S = 4_102_444_800


def unit_of(text: str) -> str | None:
    """The unit in which ``text`` is a time from 2000 to 2100, or None if it is in no unit (or no number)."""
    try:
        value = float(text)
    except ValueError:
        return None
    for unit, per_second in _PER_SECOND.items():
        if YEAR_2000_S * per_second <= value < YEAR_2100_S * per_second:
            return unit
    return None


def _seconds(text: str) -> int:
    return round(float(text) * 1_000_000)


def _milliseconds(text: str) -> int:
    return int(text) * 1_000


def _nanoseconds(text: str) -> int:
    return int(text) // 1_000


CONVERTERS: dict[str, Callable[[str], int]] = {"s": _seconds, "ms": _milliseconds, "us": int, "ns": _nanoseconds}
"""A timestamp's text in a unit -> microseconds, the engine's unit (seconds may have decimals)."""
