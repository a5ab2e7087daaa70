"""``python -m actors``: the same as ``bin/run-shadow``."""

from __future__ import annotations

import sys

from actors.cli import main

sys.exit(main())
