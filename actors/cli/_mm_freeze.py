"""``bin/mm-freeze``: the operator's kill switch for a sharded run, from another process.

It joins the Ray cluster at ``--cluster ADDRESS``, finds the run's
coordinator (the only run there, or the one ``--run`` names) and freezes
every shard at once with ``--reason``.  Exit 0: the coordinator took the
freeze (it is in the run's report); 2: bad flags, no Ray, no such run, or
a run that had finished (the freeze came too late to change it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from actors.cluster._address import keep_on_loopback, on_loopback, unreachable

PROG = "mm-freeze"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Freeze a running sharded shadow run (every shard).")
    parser.add_argument("--cluster", required=True, metavar="ADDRESS", help="the Ray cluster's address (host:port)")
    parser.add_argument("--reason", required=True, metavar="TEXT", help="why; the report shows 'Operator: TEXT'")
    parser.add_argument("--run", default="", metavar="NAME", help="the run's coordinator, if the cluster has several")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    if not args.reason.strip():
        sys.stderr.write(f"{PROG}: error: --reason: give a reason\n")
        return EXIT_USAGE
    why = unreachable(args.cluster)
    if why:
        sys.stderr.write(f"{PROG}: error: --cluster {args.cluster}: {why}\n")
        return EXIT_USAGE
    if (Path.home() / ".ray" / "auth_token").exists() or os.environ.get("RAY_AUTH_TOKEN"):
        os.environ.setdefault("RAY_AUTH_MODE", "token")  # before Ray is imported: it reads it then
    if on_loopback(args.cluster):
        keep_on_loopback()  # the local instance's node is the loopback address: so is this client's
    try:
        from actors.cluster._ray import freeze_on
    except ImportError:
        sys.stderr.write(f"{PROG}: error: needs Ray: pip install -e '.[cluster]'\n")
        return EXIT_USAGE
    try:
        name = freeze_on(args.cluster, args.reason, args.run)
    except (LookupError, ConnectionError, RuntimeError, ValueError) as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted: the freeze may not have reached the run; run it again\n")
        return EXIT_INTERRUPTED
    sys.stderr.write(f"{PROG}: froze {name}: Operator: {args.reason}\n")
    return 0
