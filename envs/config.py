"""Typed, serialisable environment configurations: frozen dataclasses built from keyword overrides.

``gym.make(ID, **overrides)`` passes its keyword arguments to the environment, which builds its
configuration with :func:`build_config`. An unknown keyword is an error that lists the allowed ones; each
configuration validates its values in ``__post_init__`` with the checks below, whose errors name the
parameter, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, TypeVar

from splitgym.errors import ConfigError, UnknownParameterError, suggest

__all__ = [
    "build_config",
    "check_choice",
    "check_int_range",
    "check_interval",
    "check_number",
    "check_pair",
    "check_range",
    "check_weights",
    "config_dict",
]

C = TypeVar("C")


def build_config(cls: type[C], base: C | None, overrides: Mapping[str, Any], owner: str) -> C:
    """``cls`` from ``base`` (or the defaults) with ``overrides`` applied; lists become tuples."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for key in overrides:
        if key not in names:
            raise UnknownParameterError(  # Python's own wording too: wrappers (TorchRL) match on it
                f"{owner}: unknown parameter {key!r}{suggest(key, names)}; allowed: {names} (got an "
                f"unexpected keyword argument {key!r})"
            )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    if base is None:
        return cls(**values)
    if not isinstance(base, cls):
        raise ConfigError(f"{owner}: config must be a {cls.__name__}, got {type(base).__name__}")
    return dataclasses.replace(base, **values)  # type: ignore[type-var]


def config_dict(config: Any) -> dict[str, Any]:
    """A YAML-friendly dict of a configuration (tuples become lists, objects their ``repr``)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if isinstance(v, tuple):
            v = list(v)
        elif not isinstance(v, (int, float, str, bool, type(None))):
            v = repr(v)
        out[f.name] = v
    return out


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_number(name: str, value: Any) -> float:
    """``value`` is a finite number (not a bool); returned as a float."""
    return _number(name, value)


def check_range(
    name: str, value: Any, *, zero: bool = False, low: float = 0.0, high: float = math.inf
) -> None:
    """``low < value <= high`` (``low <= value`` with ``zero=True``)."""
    v = _number(name, value)
    if not ((v >= low if zero else v > low) and v <= high):
        bound = "" if high == math.inf else f" and <= {high}"
        raise ConfigError(f"{name} must be {'>=' if zero else '>'} {low}{bound}, got {value!r}")


def check_pair(value: Any, name: str) -> tuple[float, float]:
    """``value`` is a pair of finite numbers."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise ConfigError(f"{name} must be a pair, got {value!r}")
    return _number(name, value[0]), _number(name, value[1])


MAX_WEIGHT = 1e6  # a reward weight beyond this only rescales the reward towards overflow [A]


def check_weights(**weights: Any) -> None:
    """Each weight is finite and >= 0, and at least one is positive."""
    for name, value in weights.items():
        if not 0 <= _number(name, value) <= MAX_WEIGHT:
            raise ConfigError(f"{name} must be in [0, {MAX_WEIGHT:g}], got {value!r}")
    if all(float(v) == 0 for v in weights.values()):
        raise ConfigError(f"reward weights {sorted(weights)} are all zero; at least one must be positive")


def check_interval(name: str, value: Any, low: float, high: float) -> None:
    """``value`` is a pair ``(lo, hi)`` with ``low <= lo <= hi <= high``."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise ConfigError(f"{name} must be a pair (low, high), got {value!r}")
    lo, hi = _number(name, value[0]), _number(name, value[1])
    if not low <= lo <= hi <= high:
        raise ConfigError(f"{name} must satisfy {low} <= low <= high <= {high}, got {value!r}")


def check_int_range(name: str, value: Any, low: int, high: int) -> None:
    """``value`` is an integer in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be in [{low}, {high}], got {value!r}")


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    """``value`` is one of ``allowed``."""
    if value not in allowed:
        hint = suggest(str(value), allowed)
        raise ConfigError(f"{name} must be one of {list(allowed)}, got {value!r}{hint}")
