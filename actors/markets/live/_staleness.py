"""When a symbol's market is stale: nothing heard from it for longer than a limit, or never heard since (re)connecting.

Pure: the caller says what time it is, so a test drives it with a fake clock.
"""

from __future__ import annotations

from collections.abc import Iterable


class StalenessTracker:
    """The last time each symbol was heard from, and which symbols have gone quiet for too long.

    A symbol not heard from since the tracker started (or since :meth:`forget`,
    after a disconnect) is stale: the engine has no market for it yet.  Each
    change of a symbol between fresh and stale is reported once by
    :meth:`changes`, so the caller can count and log the episodes.
    """

    def __init__(self, symbols: Iterable[str], stale_after_us: int) -> None:
        if stale_after_us <= 0:
            raise ValueError(f"stale_after_us must be > 0, got {stale_after_us}")
        self.stale_after_us = stale_after_us
        self._last: dict[str, int | None] = dict.fromkeys(symbols)
        self._reported_stale: dict[str, bool] = dict.fromkeys(self._last, True)
        self.episodes = 0
        """Times a symbol that was fresh became stale."""

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols tracked."""
        return tuple(self._last)

    def seen(self, symbol: str, now_us: int) -> None:
        """``symbol`` was heard from at ``now_us``."""
        self._last[symbol] = now_us

    def forget(self, symbols: Iterable[str] | None = None) -> None:
        """Take ``symbols`` (default: all) as not heard from: after a disconnect, the old market is not the market."""
        for symbol in self._last if symbols is None else symbols:
            self._last[symbol] = None

    def is_stale(self, symbol: str, now_us: int) -> bool:
        """Nothing heard from ``symbol`` within the limit before ``now_us`` (or never)."""
        last = self._last[symbol]
        return last is None or now_us - last > self.stale_after_us

    def stale(self, now_us: int) -> frozenset[str]:
        """Every stale symbol at ``now_us``."""
        return frozenset(symbol for symbol in self._last if self.is_stale(symbol, now_us))

    def changes(self, now_us: int) -> list[tuple[str, bool]]:
        """The symbols whose state changed since the last call, as (symbol, stale now), in the symbols' order."""
        changed = []
        for symbol in self._last:
            stale = self.is_stale(symbol, now_us)
            if stale != self._reported_stale[symbol]:
                self._reported_stale[symbol] = stale
                changed.append((symbol, stale))
                if stale:
                    self.episodes += 1
        return changed
