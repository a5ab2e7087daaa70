"""The clocks of a run: the frozen one of a synthetic market, where time stands still except as ticks advance, and
a recorded market's own (:class:`MarketClock`).

``MM_FREEZE_UTC_ISO`` (e.g. ``2025-01-01T00:00:00Z``) fixes tick 0, so every
timestamp a run produces is a function of the configuration alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_FREEZE_ISO = "2025-01-01T00:00:00Z"
FREEZE_ENV = "MM_FREEZE_UTC_ISO"


class ClockError(ValueError):
    """A frozen-clock setting that is not an ISO-8601 UTC time."""


@dataclass(frozen=True, slots=True)
class FrozenClock:
    """Tick ``t`` happens at ``start + t * tick_seconds``."""

    start: datetime
    tick_seconds: int = 1

    @classmethod
    def parse(cls, text: str, *, source: str = FREEZE_ENV) -> FrozenClock:
        """Parse ``2025-01-01T00:00:00Z`` (or an explicit offset, converted to UTC)."""
        expected = f"{source}={text!r} is not an ISO-8601 UTC time (expected e.g. {DEFAULT_FREEZE_ISO})"
        if not text or not text.strip():
            raise ClockError(expected)
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ClockError(expected) from None
        if moment.tzinfo is None:
            raise ClockError(f"{expected}: a time zone (Z) is required")
        try:
            return cls(moment.astimezone(UTC))
        except (ValueError, OverflowError):
            raise ClockError(f"{expected}: out of range once converted to UTC") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], default: str = DEFAULT_FREEZE_ISO) -> FrozenClock:
        """The clock set by ``MM_FREEZE_UTC_ISO``, else ``default``."""
        return cls.parse(environ.get(FREEZE_ENV, default))

    def at(self, tick: int) -> datetime:
        """The moment of ``tick``."""
        return self.start + timedelta(seconds=tick * self.tick_seconds)

    def iso(self, tick: int) -> str:
        """The moment of ``tick`` as ``YYYY-MM-DDTHH:MM:SSZ``."""
        return self.at(tick).strftime("%Y-%m-%dT%H:%M:%SZ")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class MarketClock:
    """A recorded market's own time: tick ``k`` is at the end of its bucket, ``start_us + k * bucket_us`` (UTC).

    The end, as the HTML report's time axis has it: a tick's mid is the last
    quote in its bucket, so the end of the bucket is when what the tick shows
    was known.  Written to the second when every tick falls on a whole
    second (``--tick-ms`` a multiple of 1000 on data starting on a whole
    second: the frozen clock's format), else to the millisecond or the
    microsecond as the ticks need.
    """

    start_us: int
    bucket_us: int

    def at(self, tick: int) -> datetime:
        """The moment of ``tick``: the end of its bucket."""
        return _EPOCH + timedelta(microseconds=self.start_us + tick * self.bucket_us)

    def iso(self, tick: int) -> str:
        """The moment of ``tick`` as ``YYYY-MM-DDTHH:MM:SSZ`` (with ``.mmm`` or ``.uuuuuu`` if the ticks need it)."""
        moment = self.at(tick)
        if self.start_us % 1_000_000 == 0 and self.bucket_us % 1_000_000 == 0:
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.start_us % 1_000 == 0 and self.bucket_us % 1_000 == 0:
            return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
