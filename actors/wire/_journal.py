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
A record cut in half by the kill is the only damage a kill can do; reading
stops before it (:attr:`JournalReader.torn_tail`) and the writer cuts it off.

Framing.  Each record is a frame: a 12-byte header (payload length, the
header's own CRC-32, the payload's CRC-32) then the payload (the record,
msgpack).  The header's own checksum means a damaged length is caught before
it is trusted, so a flipped bit anywhere (or a foreign file) is found and
named with its byte offset instead of being replayed or mistaken for a torn
tail; a torn tail is only ever the last, incomplete frame.  The first frame of a file is a header ``["journal", version,
fingerprint]``: the settings the journal was written under, so a run with
other settings (symbols, seed, the venue's) is refused instead of resuming
someone else's state.  :class:`JournalLock` keeps a second run out of a
directory in use.
"""

from __future__ import annotations

import fcntl
import os
import stat
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar, Protocol

import msgpack

from actors.core._journal_records import JournalError, Record

Fingerprint = Mapping[str, Any]


class Encodable(Protocol):
    """A typed record (:mod:`actors.core._journal_records`): it knows its list."""

    def encode(self) -> Record:
        """The list the journal holds."""
        ...


JOURNAL_VERSION = 2
"""Version 1 had no frames and no header; such a journal is refused with a clear line."""
HEADER = "journal"


def _refuse_special(path: Path) -> None:
    """A FIFO, a device or a directory where a journal file belongs is refused: opening a FIFO blocks for ever."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return  # missing or unreachable: opening it names what is wrong
    if not stat.S_ISREG(mode):
        raise JournalError(f"{path}: not a regular file")


class JournalWriter:
    """Appends records to one file; ``flush`` hands them to the kernel (and the disk if ``fsync``)."""

    def __init__(
        self,
        path: Path,
        *,
        fsync: bool = False,
        keep_bytes: int | None = None,
        fingerprint: Fingerprint | None = None,
    ) -> None:
        """Open for appending; ``keep_bytes`` first cuts off a torn tail (see :attr:`JournalReader.valid_bytes`).

        A new (or empty) file starts with the header carrying ``fingerprint``.
        """
        self.path = path
        self.fsync = fsync
        self.records = 0
        self.flushes = 0
        _refuse_special(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if keep_bytes is not None and path.exists() and path.stat().st_size > keep_bytes:
                with path.open("r+b") as torn:
                    torn.truncate(keep_bytes)
            self._file = path.open("ab")
            empty = self._file.tell() == 0
        except OSError as exc:
            raise JournalError(f"{path}: cannot write: {exc.strerror or exc}") from None
        self._pending = False
        if empty:
            self._file.write(_frame([HEADER, JOURNAL_VERSION, dict(fingerprint or {})]))
            self._pending = True

    def append(self, record: Encodable | Record) -> None:
        """Buffer one record: a typed one (:mod:`actors.core._journal_records`), or its list."""
        self._file.write(_frame(record if isinstance(record, list) else record.encode()))
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
        """Flush and close (again: nothing)."""
        if self._file.closed:
            return
        self.flush()
        self._file.close()


CHUNK_BYTES = 1 << 20
"""How much of a journal file is read at a time."""


class JournalReader:
    """The records of a journal file, in order; a torn last record is dropped and noted.

    With ``fingerprint`` given, a journal written under other settings is a
    :class:`JournalError` naming the first setting that differs.
    """

    def __init__(self, path: Path, *, fingerprint: Fingerprint | None = None) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.torn_tail = False
        self.valid_bytes = 0
        """Bytes of whole records read so far: where a writer resumes after a torn tail."""
        self.record_offset = 0
        """Where the frame of the record last yielded starts: the offset to name if that record is refused."""

    def __iter__(self) -> Iterator[Record]:
        """Stream the file in chunks: a journal may be far larger than memory."""
        _refuse_special(self.path)
        try:
            handle = self.path.open("rb") if self.path.exists() else None
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        if handle is None:
            return
        buffer = bytearray()
        start = 0  # file offset of buffer[0]
        header_seen = False
        with handle:
            while True:
                try:
                    chunk = handle.read(CHUNK_BYTES)
                except OSError as exc:
                    raise JournalError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
                if not chunk:
                    break
                buffer += chunk
                position = 0
                while True:
                    record, used = self._next_frame(buffer, position, start + position)
                    if record is None:
                        break
                    self.record_offset = start + position
                    position += used
                    self.valid_bytes = start + position
                    if not header_seen:
                        self._check_header(record)
                        header_seen = True
                        continue
                    yield record
                del buffer[:position]
                start += position
        self.torn_tail = bool(buffer)

    def _next_frame(self, buffer: bytearray, position: int, offset: int) -> tuple[Record | None, int]:
        """The record of the frame at ``position`` and its size, or (None, 0) if the frame is not all there yet."""
        if len(buffer) - position < FRAME_HEADER.size:
            return None, 0
        length, header_check, payload_check = FRAME_HEADER.unpack_from(buffer, position)
        if zlib.crc32(buffer[position : position + 4]) != header_check:
            raise JournalError(f"{self.path}: damaged at byte {offset}: bad frame header")
        end = position + FRAME_HEADER.size + length
        if len(buffer) < end:
            return None, 0
        payload = bytes(buffer[position + FRAME_HEADER.size : end])
        if zlib.crc32(payload) != payload_check:
            raise JournalError(f"{self.path}: damaged at byte {offset}: checksum mismatch")
        try:
            record = msgpack.unpackb(payload, raw=False, strict_map_key=True)
        except Exception:  # checksums that match garbage: written so by someone else
            raise JournalError(f"{self.path}: damaged at byte {offset}: unreadable record") from None
        if not isinstance(record, list) or not record or not isinstance(record[0], str):
            raise JournalError(f"{self.path}: damaged at byte {offset}: not a journal record: {record!r}")
        return record, end - position

    def _check_header(self, record: Record) -> None:
        if record[0] != HEADER or len(record) != 3 or not isinstance(record[2], dict):
            raise JournalError(f"{self.path}: no journal header (written by another program?)")
        if record[1] != JOURNAL_VERSION:
            raise JournalError(f"{self.path}: journal version {record[1]!r}, this program reads {JOURNAL_VERSION}")
        if self.fingerprint is None:
            return
        theirs, ours = record[2], dict(self.fingerprint)
        for key in sorted(theirs.keys() | ours.keys()):
            if theirs.get(key) != ours.get(key):
                raise JournalError(
                    f"{self.path}: written with {key}={_shown(theirs.get(key))}, "
                    f"this run has {key}={_shown(ours.get(key))}: use another --journal directory"
                )


UNFINGERPRINTED = frozenset(
    {"iterations", "runtime", "journal", "journal_fsync", "log_level", "pace", "tick_ms", "decision_deadline_ms",
     "ticks_in_flight", "market", "instruments", "log_format", "metrics_port", "metrics_file", "metrics_symbols",
     "events", "html", "html_symbols", "cluster", "shard_restart_timeout", "strategy", "strategy_params", "venue",
     "real_money", "keys_file", "venue_budget_file", "venue_rest_url", "venue_stream_url", "unknown_orders",
     "flat_balances"}
)  # fmt: skip
"""Settings a resumed run may change: how long it runs and how it runs, not what it trades or how the venue behaves
(nor how it is watched: metrics, events, the HTML report, logs).  The strategy and its parameters count, but
only when they are not the default, so a journal written before strategies could be chosen is still its run's.

The market files and the instruments table are fingerprinted by what they hold (``data_identity``: names,
sizes, hashes), not by where they are; with market files ``tick_ms`` is the length of a tick, so it counts.
A real venue's settings (``venue`` ...) are left out: such a run has a live market, which takes no journal."""


class Settings(Protocol):
    """What :func:`journal_fingerprint` reads of a run's settings (``actors.assembly._config.ShadowConfig``)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def market(self) -> tuple[str, ...]: ...
    @property
    def max_orders_per_sec(self) -> int: ...
    @property
    def tick_ms(self) -> float: ...
    @property
    def default_strategy(self) -> bool: ...
    @property
    def strategy(self) -> str: ...
    @property
    def strategy_params(self) -> tuple[tuple[str, Any], ...]: ...


def journal_fingerprint(config: Settings) -> dict[str, Any]:
    """What a journal is written under (its header): every setting that shapes the orders and the venue.

    The keys keep the settings' order: the header's bytes depend on it.
    """
    values = {f.name: getattr(config, f.name) for f in fields(config) if f.name not in UNFINGERPRINTED}
    values["symbols"] = list(values["symbols"])
    values["data_identity"] = [list(entry) for entry in values["data_identity"]]
    if config.market or config.max_orders_per_sec > 0:
        values["tick_ms"] = config.tick_ms  # a recorded market's buckets, or the order-rate limit's clock
    if not config.default_strategy:  # the default: the fingerprint every journal had before strategies
        values["strategy"] = config.strategy
        values["strategy_params"] = {name: value for name, value in config.strategy_params}
    return values


class JournalLock:
    """One run at a time in a journal directory: an exclusive ``flock`` on ``DIR/lock`` for the run's life.

    The kernel drops the lock when the process dies, however it dies, so a
    killed run never leaves its directory locked.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / "lock"
        _refuse_special(self.path)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a+")
        except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
            raise JournalError(f"{directory}: cannot use: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise JournalError(f"{directory}: in use by another run") from None
        except OSError as exc:
            self._file.close()
            raise JournalError(f"{self.path}: cannot lock: {exc.strerror or exc}") from None
        try:
            self._file.truncate(0)
            self._file.write(f"{os.getpid()}\n")
            self._file.flush()
        except OSError as exc:
            self.release()
            raise JournalError(f"{self.path}: cannot write: {exc.strerror or exc}") from None

    def release(self) -> None:
        """Let the next run in (idempotent)."""
        if not self._file.closed:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()


FRAME_HEADER = struct.Struct(">III")
"""Payload length, CRC-32 of the length's four bytes, CRC-32 of the payload."""


def _frame(record: Record) -> bytes:
    payload: bytes = msgpack.packb(record)
    length = struct.pack(">I", len(payload))
    return length + struct.pack(">II", zlib.crc32(length), zlib.crc32(payload)) + payload


def _shown(value: Any) -> str:
    if isinstance(value, list) and len(value) > 4:
        return f"[{', '.join(map(repr, value[:3]))}, ... {len(value)} items]"
    return repr(value)


__all__ = [
    "CHUNK_BYTES",
    "Encodable",
    "FRAME_HEADER",
    "Fingerprint",
    "HEADER",
    "JOURNAL_VERSION",
    "JournalError",
    "JournalLock",
    "JournalReader",
    "JournalWriter",
    "Record",
    "Settings",
    "UNFINGERPRINTED",
    "journal_fingerprint",
]
