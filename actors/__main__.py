"""``python -m actors``: the same as ``bin/run-shadow`` (its signal handlers first, then the engine)."""

from __future__ import annotations

import sys

from actors.cli._launch import run_shadow

sys.exit(run_shadow())
