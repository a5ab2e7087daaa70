"""actors: a market-making execution engine as an actor system on pykka."""

from __future__ import annotations

__version__ = "0.1.0"


def run_shadow_demo(*args: object, **kwargs: object) -> str:
    """Run a shadow run and return its report text; see :func:`actors.cli.run_shadow_demo`."""
    from actors.cli import run_shadow_demo as run

    return run(*args, **kwargs)  # type: ignore[arg-type]
