"""Checking a cluster address before Ray is asked to join it: Ray itself retries an address for minutes.

Two ways a wrong address goes wrong: nothing listens there (refused at
once), or something that is not a Ray cluster does (a web server, SSH),
where ``ray.init`` waits for a GCS that never answers (over two minutes,
measured 2026-12-01).  A Ray cluster's GCS is a gRPC server, and gRPC
speaks HTTP/2: opened with the HTTP/2 client preface, it answers with a
SETTINGS frame at once, whatever its authentication (that comes later,
with each call).  Anything else answers otherwise, or not at all.
"""

from __future__ import annotations

import ipaddress
import os
import socket

CONNECT_TIMEOUT_S = 5.0
ANSWER_TIMEOUT_S = 5.0

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
"""What an HTTP/2 client sends first (RFC 9113, 3.4): the magic, then an empty SETTINGS frame."""
FRAME_HEADER_BYTES = 9
SETTINGS = 4
"""The type of an HTTP/2 SETTINGS frame (the fourth byte of a frame's header), a server's first frame."""


LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Ray's own switch for a machine-local instance (its default on macOS and Windows): "0" makes Ray take the
loopback address as the node's, so a local instance's servers listen on 127.0.0.1 only (measured with ``ss -ltnp``,
Ray 2.60: without it they listen on every address).  Read as Ray is imported, by the driver and by every process
Ray starts, which inherit it."""


def keep_on_loopback() -> None:
    """Before Ray is imported: a local instance (and a client of one) on the loopback address only, unless set."""
    os.environ.setdefault(LOOPBACK_ONLY, "0")


def on_loopback(address: str) -> bool:
    """Whether ``address`` (HOST:PORT) is this machine's loopback (a local instance, as run-shadow prints it)."""
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def unreachable(address: str) -> str:
    """Why no Ray cluster answers at ``address`` (HOST:PORT), or "" if one may (an HTTP/2 server answers)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return "expected HOST:PORT (a Ray cluster's GCS address, as run-shadow prints it)"
    try:
        connection = socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S)
    except OSError as exc:
        return f"nothing answers there ({exc.strerror or exc})"
    with connection:
        try:
            connection.settimeout(ANSWER_TIMEOUT_S)
            connection.sendall(HTTP2_PREFACE)
            head = _read(connection, FRAME_HEADER_BYTES)
        except OSError as exc:
            return f"not a Ray cluster: no answer in HTTP/2 ({exc.strerror or exc})"
    if len(head) < FRAME_HEADER_BYTES or head[3] != SETTINGS:
        return "not a Ray cluster: what answers there does not speak gRPC (give the GCS address, port 6379 by default)"
    return ""


def _read(connection: socket.socket, size: int) -> bytes:
    """Up to ``size`` bytes, fewer if the peer closes first."""
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data
