"""Well-known actor addresses: one place, so no role spells another's name."""

from __future__ import annotations

RISK = "risk"
STORE = "store"
GATEWAY = "gateway"
QUOTERS = "quoter"
"""Group of every quoter; a quoter's address is ``quoter.<SYMBOL>``."""
FEED = "feed"
"""The market-data feed: puts ticks in flight, a bounded number at a time."""


def quoter(symbol: str) -> str:
    """Address of the quoter for ``symbol``."""
    return f"{QUOTERS}.{symbol}"
