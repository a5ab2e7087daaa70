"""A sharded run's ``--journal`` directory: what a rerun on it does (docs/SCALING.md, "A sharded run's journal").

Each shard journals into ``DIR/shard-K`` as one process journals into
``DIR``, and a run that ended as asked leaves its report in every shard's
store journal (:meth:`actors.cluster._shard.Shard.stop`).  A rerun of the
same sharded run (the same settings, ``--shards`` and ``--iterations``)
prints that report again, starts nothing and writes nothing, as one process
does.  A whole sharded run cannot go on from its journals yet (the
coordinator has none of its own): every other rerun is refused in one line
that says what would work.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from actors.assembly._config import ShadowConfig
from actors.assembly._market_setup import settle
from actors.assembly._recovery import FINISHED, STORE_JOURNAL, finish_key, finished_report
from actors.assembly._system import check_journals
from actors.cluster._coordinator_host import partition
from actors.cluster._shard import shard_config
from actors.wire._journal import JournalError, JournalLock, JournalReader, journal_fingerprint


def shards_in(journal: str) -> int:
    """How many shards' journals ``journal`` holds (``shard-K/store.journal``); 0 for none, or no directory."""
    return len(list(Path(journal).glob("shard-*/" + STORE_JOURNAL))) if journal else 0


def finished_sharded_report(config: ShadowConfig) -> str:
    """The report of the sharded run ``config`` describes, finished in ``config.journal``; JournalError if none.

    The error says what would work: the ``--shards`` the directory was
    written with, the settings it finished under, or another directory.
    """
    config = settle(config).config
    parts = partition(config.symbols, config.shards)
    held = shards_in(config.journal)
    if held != len(parts):
        raise JournalError(f"holds a run sharded over {held} shards: give --shards {held}, or another directory")
    reports: set[str | None] = set()
    for index, symbols in enumerate(parts):
        settings = shard_config(config, index, symbols, config.journal)
        directory = Path(settings.journal)
        fingerprint, key = journal_fingerprint(settings), finish_key(settings)
        lock = JournalLock(directory)  # a run going on holds it: "in use by another run"
        try:
            check_journals(directory, fingerprint)  # other settings: refused naming the first difference
            under = _finished_under(directory, fingerprint)
            if under is not None and under != key:
                shown = ", ".join(f"{name}={value}" for name, value in sorted(under.items()))
                raise JournalError(f"holds a sharded run that finished under {shown}: rerun it with those to print "
                                   "its report (a whole sharded run cannot go on from its journals yet), or give "
                                   "another directory")  # fmt: skip
            reports.add(finished_report(directory, key, fingerprint) if under is not None else None)
        finally:
            lock.release()
    report = reports.pop() if len(reports) == 1 else None
    if report is None:
        raise JournalError(
            "holds a sharded run that did not finish: a whole sharded run cannot go on from its journals yet "
            "(a shard that dies comes back during the run); give another directory"
        )
    return report


def one_process_refusal(config: ShadowConfig) -> str:
    """Why a one-process run cannot use ``config.journal``, which holds a sharded run, and what would work."""
    held = shards_in(config.journal)
    try:
        finished_sharded_report(replace(config, shards=held))
    except JournalError as exc:
        return str(exc)
    return f"holds a run sharded over {held} shards, finished: rerun it with --shards {held} to print its report"


def _finished_under(directory: Path, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    """The settings (:func:`finish_key`) the run in ``directory`` finished under, if its store's journal says so."""
    last = None
    for record in JournalReader(directory / STORE_JOURNAL, fingerprint=fingerprint):
        last = record
    if last is None or last[0] != FINISHED or len(last) < 2 or not isinstance(last[1], dict):
        return None
    under: dict[str, Any] = last[1]
    return under
