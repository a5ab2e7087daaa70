"""Settings across a process boundary: a :class:`ShadowConfig` as msgpack, not as a pickled object of ours."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import msgpack

from actors.assembly._config import ShadowConfig


def config_bytes(config: ShadowConfig) -> bytes:
    """``config`` as a msgpack map of its fields (tuples travel as arrays)."""
    packed: bytes = msgpack.packb({f.name: getattr(config, f.name) for f in fields(config)})
    return packed


def config_from_bytes(data: bytes) -> ShadowConfig:
    """The :class:`ShadowConfig` that :func:`config_bytes` packed."""
    raw: dict[str, Any] = msgpack.unpackb(data, raw=False)
    values = dict(raw)
    for name in ("symbols", "market"):
        values[name] = tuple(values[name])
    values["data_identity"] = tuple(tuple(entry) for entry in values["data_identity"])
    for name in ("strategy_params", "flat_balances"):  # pairs: msgpack gives lists back
        values[name] = tuple(tuple(entry) for entry in values.get(name, ()))
    return ShadowConfig(**values)
