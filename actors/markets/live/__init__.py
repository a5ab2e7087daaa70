"""A live market: Binance's public streams as market events, in real time (issue 27's building blocks).

- :mod:`._protocol`: endpoints, stream names, frames parsed into the engine's events (pure);
- :mod:`._book`: a depth book kept by Binance's update-id rules (pure);
- :mod:`._staleness`, :mod:`._backoff`: when a symbol is stale, how long to wait before reconnecting (pure);
- :mod:`._client`: :class:`~actors.markets.live._client.LiveMarket`, the stream client (its own thread and
  asyncio loop; the engine polls it);
- :mod:`._recorder`: what arrived, written as it arrived, in the Tardis layouts ``--market DIR`` reads.

The client needs the ``live`` extra (the ``websockets`` library); this package
imports without it, so :func:`require_client` can say how to install it.
"""

from __future__ import annotations

import sys

from actors.markets._events import MarketDataError

INSTALL_HINT = "pip install -e '.[live]'"
MIN_WEBSOCKETS = (13, 0)
"""websockets' asyncio client and server (``websockets.asyncio``) came in 13.0."""


class LiveClientMissing(MarketDataError):
    """The stream client's library is not installed (or too old); the message says how to install it."""


def require_client() -> None:
    """Raise :class:`LiveClientMissing` (one line naming the install command) unless the stream client can run."""
    try:
        from websockets.version import version
    except ImportError:
        raise LiveClientMissing(f"a live market needs the websockets library: {INSTALL_HINT}") from None
    found = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
    if found < MIN_WEBSOCKETS:
        raise LiveClientMissing(
            f"a live market needs websockets >= {'.'.join(map(str, MIN_WEBSOCKETS))} (found {version}): {INSTALL_HINT}"
        )


def exit_unless_client(prog: str = "run-shadow") -> None:
    """For the command line (``--market live:...``): one line on stderr and exit status 2 if the client is missing."""
    try:
        require_client()
    except LiveClientMissing as exc:
        sys.stderr.write(f"{prog}: {exc}\n")
        raise SystemExit(2) from None
