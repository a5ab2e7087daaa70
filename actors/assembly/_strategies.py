"""Which strategy a run quotes with: a built-in's name or ``package.module:Class``, and its parameters, checked.

The configuration names a strategy by text (so that a journal's fingerprint,
a shard's settings and a report can hold it); this module turns that text
into the class, checks the parameters against what the class declares
(:attr:`actors.core._strategy.Strategy.PARAMS`), and builds the one instance
per symbol a run needs.  Every problem is a :class:`ValueError` whose text is
the one line shown to the user: a name that is no built-in, a module that
does not import, a class that is not there or is not a strategy, a parameter
the strategy does not declare or a value of the wrong type.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from actors.core._strategy import BUILTINS, COMMON_FROM_CONFIG, ParamValue, Strategy
from actors.core._strategy import reads_own_state as _reads_own_state
from actors.core._types import Instrument

Params = tuple[tuple[str, ParamValue], ...]
"""A strategy's parameters as a run's settings hold them: (name, value), sorted by name."""


def spec_of(strategy: object) -> object:
    """A strategy as the configuration takes it: a class becomes ``module:Class`` text, anything else is as given."""
    if isinstance(strategy, type):
        return f"{strategy.__module__}:{strategy.__qualname__}"
    return strategy


def load(spec: str) -> type[Strategy]:
    """The strategy class ``spec`` names: a built-in (``inventory-skew``) or ``package.module:Class``."""
    if ":" not in spec:
        cls = BUILTINS.get(spec)
        if cls is None:
            close = difflib.get_close_matches(spec, list(BUILTINS), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"no built-in strategy {spec!r}; {hint}the built-ins are {', '.join(BUILTINS)}, or give "
                "package.module:Class"
            )
        return cls
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"{spec!r}: expected package.module:Class")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any failure of user code on import is the user's to read
        raise ValueError(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    found: Any = module
    for part in class_name.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise ValueError(f"module {module_name} has no {class_name}")
    if not isinstance(found, type) or not issubclass(found, Strategy):
        raise ValueError(f"{spec} is not a strategy (a subclass of actors.core._strategy.Strategy)")
    if getattr(found, "__abstractmethods__", None):
        raise ValueError(f"{spec} does not define quote()")
    return found


def settle(spec: str, given: Sequence[tuple[str, str, object]]) -> tuple[type[Strategy], Params]:
    """The class and its parameters, checked: ``given`` as ``(source, name, raw value)``, later ones winning.

    Only what was given is kept (sorted by name), so a run's settings, and a
    journal's fingerprint, name no default.
    """
    cls = load(spec)
    declared = {param.name: param for param in cls.PARAMS}
    values: dict[str, ParamValue] = {}
    for source, name, raw in given:
        param = declared.get(name)
        if param is None:
            close = difflib.get_close_matches(name, list(declared), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(declared) or "none"
            raise ValueError(f"{source}: {spec} has no parameter {name!r}{hint} (its parameters: {known})")
        try:
            values[name] = param.parse(raw)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None
    return cls, tuple(sorted(values.items()))


def parameters(cls: type[Strategy], params: Params, general: Mapping[str, float]) -> dict[str, ParamValue]:
    """Every declared parameter: given, else the run's setting of that name (:data:`COMMON_FROM_CONFIG`), else its
    default."""
    values = cls.defaults()
    for name in COMMON_FROM_CONFIG:
        if name in values and name in general:
            values[name] = general[name]
    values.update(params)
    return values


def reads_own_state(spec: str) -> bool:
    """Whether the strategy ``spec`` names reads its position, orders or fills (the engine carries them only then)."""
    return _reads_own_state(load(spec))


def factory(spec: str, params: Params, general: Mapping[str, float]) -> Callable[[Instrument], Strategy]:
    """Builds the strategy of one symbol: ``cls(instrument, every parameter)``."""
    cls = load(spec)
    values = parameters(cls, params, general)

    def build(instrument: Instrument) -> Strategy:
        return cls(instrument, values)

    return build
