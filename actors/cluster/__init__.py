"""Symbols sharded over processes: shards that run the engine for their symbols, a coordinator for what is global.

See docs/SCALING.md.  The shard (:mod:`actors.cluster._shard`) and the
coordinator (:mod:`actors.cluster._coordinator`) know nothing of Ray; Ray
hosts them (:mod:`actors.cluster._ray`, the ``cluster`` extra), and so can
this process (:mod:`actors.cluster._local`, ``--cluster in-process``).
"""

from __future__ import annotations

from actors.cluster._coordinator_host import Ended, RunLost, partition
from actors.cluster._local import run_in_process

__all__ = ["Ended", "RunLost", "partition", "run_in_process"]
