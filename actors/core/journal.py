"""Append-only msgpack journals, so a killed run can be rebuilt.

A journal holds **operations**, not states: ``["ack", "CLI00000007",
"ORD000007"]``, ``["fill", ...]``.  The order store and the fake venue are
deterministic, so replaying their operations through the same code rebuilds
exactly the state they had, illegal transitions and duplicate fills included.

Durability policy.  Records are buffered in the process and written to the
operating system (``flush``) before the owner sends any message that depends
on them (write-ahead) and at the end of every handler: a run killed with
SIGKILL loses nothing it has acted on, because the kernel still holds the
written bytes.  Surviving a power cut needs ``fsync`` as well; it is off by
default (``journal_fsync``) and its cost is measured in docs/RELIABILITY.md.
A record cut in half by the kill is the only possible damage; reading stops
before it (:attr:`JournalReader.torn_tail`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack

Record = list[Any]


class JournalError(ValueError):
    """A journal that cannot be used: unreadable, unwritable, or garbage before its end (a torn tail is fine)."""


class JournalWriter:
    """Appends records to one file; ``flush`` hands them to the kernel (and the disk if ``fsync``)."""

    def __init__(self, path: Path, *, fsync: bool = False, keep_bytes: int | None = None) -> None:
        """Open for appending; ``keep_bytes`` first cuts off a torn tail (see :attr:`JournalReader.valid_bytes`)."""
        self.path = path
        self.fsync = fsync
        self.records = 0
        self.flushes = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if keep_bytes is not None and path.exists() and path.stat().st_size > keep_bytes:
                with path.open("r+b") as torn:
                    torn.truncate(keep_bytes)
            self._file = path.open("ab")
        except OSError as exc:
            raise JournalError(f"{path}: cannot write: {exc.strerror or exc}") from None
        self._pending = False

    def append(self, record: Record) -> None:
        """Buffer one record."""
        self._file.write(msgpack.packb(record))
        self.records += 1
        self._pending = True

    def flush(self) -> None:
        """Write what is buffered (no-op if nothing is)."""
        if not self._pending:
            return
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())
        self._pending = False
        self.flushes += 1

    def close(self) -> None:
        """Flush and close."""
        self.flush()
        self._file.close()


CHUNK_BYTES = 1 << 20
"""How much of a journal file is read at a time."""


class JournalReader:
    """The records of a journal file, in order; a torn last record is dropped and noted."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.torn_tail = False
        self.valid_bytes = 0
        """Bytes of whole records read so far: where a writer resumes after a torn tail."""

    def __iter__(self) -> Iterator[Record]:
        """Stream the file in chunks: a journal may be far larger than msgpack's buffer (100 MiB) or memory."""
        try:
            handle = self.path.open("rb") if self.path.exists() else None
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        if handle is None:
            return
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=True)
        consumed = size = 0
        with handle:
            while True:
                try:
                    chunk = handle.read(CHUNK_BYTES)
                except OSError as exc:
                    raise JournalError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
                if not chunk:
                    break
                size += len(chunk)
                unpacker.feed(chunk)
                try:
                    for record in unpacker:
                        if not isinstance(record, list) or not record or not isinstance(record[0], str):
                            raise JournalError(f"{self.path}: not a journal record at byte {consumed}: {record!r}")
                        consumed = self.valid_bytes = unpacker.tell()
                        yield record
                except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError) as exc:
                    if isinstance(exc, JournalError):
                        raise
                    why = str(exc) or type(exc).__name__
                    raise JournalError(f"{self.path}: unreadable at byte {consumed}: {why}") from None
        self.torn_tail = consumed < size
