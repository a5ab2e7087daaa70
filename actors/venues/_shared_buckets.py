"""Token buckets shared by every process on one host: a small file, locked with ``fcntl.flock`` for each take.

Binance counts request weight per IP and orders per account, so the shards of
one run (several processes on one host, one account) must draw on the same
buckets, or together they exceed what each keeps alone.  :class:`FileBuckets`
is a :class:`~actors.venues._binance_rules.BucketStore`: :class:`Budget` uses
it unchanged, and the rule of a take is the one :class:`LocalBuckets` applies
(:func:`~actors.venues._binance_rules.take_from`).

Every process must pass times from one clock: ``time.monotonic()`` is
``CLOCK_MONOTONIC``, the same for every process of one host (the adapter's
default clock).  Across hosts a file does not do: the coordinator would keep
the buckets there (docs/LIVE.md says so).

The file holds one JSON object, ``{key: [tokens in use, at]}``; it is read,
changed and written back under an exclusive lock, and written in place (the
lock is on the file itself, so it is never replaced by a rename).
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from actors.venues._binance_rules import Limit, drain, take_from

__all__ = ["FileBuckets"]


class FileBuckets:
    """Token buckets in a file every process on this host may open (created if absent, mode 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def take(self, key: str, limit: Limit, cost: int, ceiling: float, now: float) -> float:
        """See :meth:`~actors.venues._binance_rules.BucketStore.take`: atomic across processes."""
        with self._locked() as buckets:
            used, at = _since_boot(buckets.get(key, (0.0, now)), now)
            level, wait = take_from(used, at, limit, cost=cost, ceiling=ceiling, now=now)
            buckets[key] = (level, max(at, now))
        return wait

    def raise_to(self, key: str, limit: Limit, level: float, now: float) -> None:
        """Bucket ``key`` holds at least ``level`` tokens from ``now`` (never lowered)."""
        with self._locked() as buckets:
            used, at = _since_boot(buckets.get(key, (0.0, now)), now)
            buckets[key] = (max(level, drain(used, at, limit, now)), max(at, now))

    def level(self, key: str) -> float:
        """Tokens in use in bucket ``key`` as of its last change (for tests and figures)."""
        with self._locked() as buckets:
            return buckets.get(key, (0.0, 0.0))[0]

    def close(self) -> None:
        """Close this process's handle on the file (the file stays for the others)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __repr__(self) -> str:
        return f"FileBuckets({self.path})"

    def _locked(self) -> _Locked:
        return _Locked(self._fd)


class _Locked:
    """The buckets read under an exclusive lock, written back on leaving (unless an exception left)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.buckets: dict[str, tuple[float, float]] = {}

    def __enter__(self) -> dict[str, tuple[float, float]]:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            os.lseek(self._fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(self._fd, 65536):
                chunks.append(chunk)
            raw = json.loads(b"".join(chunks) or b"{}")
            self.buckets = {str(k): (float(v[0]), float(v[1])) for k, v in raw.items()} if isinstance(raw, dict) else {}
        except (ValueError, TypeError, IndexError):
            self.buckets = {}  # a torn or foreign file: start from empty buckets (the safe side is the venue's 429)
        except BaseException:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            raise
        return self.buckets

    def __exit__(self, kind: object, *_: object) -> None:
        try:
            if kind is None:
                data = json.dumps({k: [v[0], v[1]] for k, v in sorted(self.buckets.items())}).encode()
                os.lseek(self._fd, 0, os.SEEK_SET)
                os.write(self._fd, data)
                os.ftruncate(self._fd, len(data))
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _since_boot(bucket: tuple[float, float], now: float) -> tuple[float, float]:
    """A bucket as of this boot: one stamped later than ``now`` was written before the monotonic clock restarted (a
    reboot; the file outlives it), and would never drain, holding cancels back for good: it starts empty."""
    used, at = bucket
    return (0.0, now) if at > now else (used, at)
