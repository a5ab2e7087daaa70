"""Checking a cluster address before Ray is asked to join it: Ray itself retries an address for minutes."""

from __future__ import annotations

import socket

CONNECT_TIMEOUT_S = 5.0


def unreachable(address: str) -> str:
    """Why nothing answers at ``address`` (HOST:PORT), or "" if something does."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return "expected HOST:PORT (a Ray cluster's GCS address, as run-shadow prints it)"
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        return f"nothing answers there ({exc.strerror or exc})"
    return ""
