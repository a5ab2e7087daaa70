"""The rate budget shared by processes on one host (FileBuckets): together they never exceed a limit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import actors
from actors.venues._binance_rules import Budget, Limit, LocalBuckets
from actors.venues._shared_buckets import FileBuckets

ROOT = Path(actors.__file__).resolve().parents[1]
LIMITS = (Limit("REQUEST_WEIGHT", 60.0, 200), Limit("ORDERS", 10.0, 1000))

# One shard: 200 places at one instant (no time passes, so nothing drains: the count does not depend on speed).
SHARD = """
import sys
from pathlib import Path
from actors.venues._binance_rules import Budget, Limit
from actors.venues._shared_buckets import FileBuckets
budget = Budget(limits=(Limit("REQUEST_WEIGHT", 60.0, 200), Limit("ORDERS", 10.0, 1000)),
                store=FileBuckets(Path(sys.argv[1])), account="acct", ip="host")
print(sum(budget.try_take("POST", "/api/v3/order", {}, 1000.0) == 0.0 for _ in range(200)))
"""


def test_two_processes_on_one_file_never_exceed_the_limit_together_and_cancels_keep_their_reserve(
    tmp_path: Path,
) -> None:
    path = tmp_path / "buckets"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    shards = [subprocess.Popen([sys.executable, "-c", SHARD, str(path)], stdout=subprocess.PIPE, text=True, env=env)
              for _ in range(2)]  # fmt: skip
    sent = [int(shard.communicate(timeout=120)[0]) for shard in shards]
    assert sum(sent) == 160  # 80 % of 200: each alone would have sent 160
    budget = Budget(limits=LIMITS, store=FileBuckets(path), account="acct", ip="host")
    cancels = [budget.try_take("DELETE", "/api/v3/order", {}, 1000.0) for _ in range(41)]
    assert cancels[:40] == [0.0] * 40 and cancels[40] > 0.0  # the reserve is the cancels', whole


def test_the_file_store_takes_as_the_local_one_does(tmp_path: Path) -> None:
    local, shared = LocalBuckets(), FileBuckets(tmp_path / "buckets")
    limit = Limit("ORDERS", 10.0, 50)
    steps = [(1, 40.0, 0.0), (39, 40.0, 0.0), (1, 40.0, 0.0), (5, 40.0, 0.1), (5, 50.0, 2.0), (10, 40.0, 2.0)]
    for cost, ceiling, now in steps:
        assert shared.take("k", limit, cost, ceiling, now) == local.take("k", limit, cost, ceiling, now)
        assert shared.level("k") == local.level("k")


def test_the_venues_used_weight_lifts_a_shared_bucket_and_never_lowers_it(tmp_path: Path) -> None:
    store = FileBuckets(tmp_path / "buckets")
    budget = Budget(limits=LIMITS, store=store, ip="host")
    weight = LIMITS[0]
    budget.correct(158, 1000.0)
    assert store.level(budget.key(weight)) == 158.0
    assert budget.try_take("GET", "/api/v3/order", {}, 1000.0) > 0.0  # 158 + 4 is past 80 % of 200
    budget.correct(10, 1000.0)
    assert store.level(budget.key(weight)) == 158.0


def test_a_bucket_written_before_a_reboot_starts_empty_instead_of_never_draining(tmp_path: Path) -> None:
    limit = Limit("ORDERS", 10.0, 50)
    before = FileBuckets(tmp_path / "budget")
    assert before.take("acct:ORDERS:10", limit, 40, 40.0, now=100_000.0) == 0.0  # the old boot's clock
    before.close()
    after = FileBuckets(tmp_path / "budget")  # the monotonic clock restarted: now is far below the stamp
    assert after.take("acct:ORDERS:10", limit, 1, 40.0, now=5.0) == 0.0
    assert after.level("acct:ORDERS:10") == 1.0
    after.close()
