"""actors: a market-making execution engine as an actor system on pykka."""

from __future__ import annotations

__version__ = "0.1.0"
