"""The address directory: actor refs by name, with O(1) register and unregister.

pykka's global ``ActorRegistry`` keeps a list, so unregistering is linear and
stopping n actors is quadratic (docs/DESIGN.md, "Scale"); runtimes keep their actors
here instead and never register them there.
"""

from __future__ import annotations

import threading
from typing import Any

from pykka import ActorRef


class AddressTaken(ValueError):
    """An actor was spawned under an address that is already in use."""


def group_of(address: str) -> str:
    """The group of an address: the part before the first dot (``quoter.BTCUSDT`` -> ``quoter``)."""
    return address.partition(".")[0]


class Directory:
    """Maps addresses such as ``quoter.BTCUSDT`` to actor refs."""

    def __init__(self) -> None:
        self._refs: dict[str, ActorRef[Any]] = {}
        self._groups: dict[str, dict[str, None]] = {}
        # Lookups are single dict reads (atomic under the GIL); the lock only
        # guards the two-dict updates and group listings against each other.
        self._lock = threading.Lock()

    def register(self, address: str, ref: ActorRef[Any]) -> None:
        """Add ``address``; raise :class:`AddressTaken` if it is in use."""
        with self._lock:
            if address in self._refs:
                raise AddressTaken(f"address {address!r} is already registered")
            self._refs[address] = ref
            self._groups.setdefault(group_of(address), {})[address] = None

    def unregister(self, address: str) -> None:
        """Remove ``address`` if present (idempotent)."""
        with self._lock:
            if self._refs.pop(address, None) is not None:
                members = self._groups[group_of(address)]
                del members[address]
                if not members:
                    del self._groups[group_of(address)]

    def get(self, address: str) -> ActorRef[Any] | None:
        """The ref at ``address``, or None."""
        return self._refs.get(address)

    def group(self, name: str) -> list[str]:
        """Addresses in group ``name``, sorted (canonical order for broadcasts)."""
        with self._lock:
            return sorted(self._groups.get(name, ()))

    def addresses(self) -> list[str]:
        """Every registered address in registration order."""
        with self._lock:
            return list(self._refs)

    def __contains__(self, address: object) -> bool:
        return address in self._refs

    def __len__(self) -> int:
        return len(self._refs)
