"""Argument checks shared by the state components; every failure is a one-line ``ConfigError``.

Each message names the parameter, the value it got and what is allowed, e.g.
``rate_per_s must be > 0, got -1`` or ``trace_s must be sorted (non-decreasing), got 3 after 5 at index 2``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.envs.checks import integer, scalar
from splitgym.errors import ConfigError

__all__ = [
    "as_mask",
    "broadcast_n",
    "check_finite",
    "check_int",
    "check_rng",
    "check_scalar",
    "positive_features",
]

F64 = NDArray[np.float64]


check_scalar = scalar  # the environments' shared check (envs/checks.py)


def check_int(name: str, value: int, *, ge: int, le: int | None = None) -> int:
    """Check that ``value`` is an integer (not a bool) in ``[ge, le]``."""
    return integer(name, value, ge=ge, le=le)


def check_finite(name: str, value: ArrayLike, *, ge: float | None = None) -> F64:
    """Return ``value`` as a float64 array after checking it is finite and (optionally) ``>= ge``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be real numbers, got {value!r}") from exc
    if not np.isfinite(arr).all():
        raise ConfigError(f"{name} must be finite, got {arr[~np.isfinite(arr)].flat[0]}")
    if ge is not None and not (arr >= ge).all():
        raise ConfigError(f"{name} must be >= {ge:g}, got {arr[arr < ge].flat[0]:g}")
    return arr


def check_rng(rng: np.random.Generator) -> np.random.Generator:
    """Check that ``rng`` is a ``numpy.random.Generator``."""
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def broadcast_n(name: str, value: ArrayLike, n: int, *, ge: float | None = None) -> F64:
    """``value`` checked like :func:`check_finite`, as a (read-only) array of shape ``(n,)``.

    A Python scalar takes a fast path (the environments call this on every step).
    """
    if type(value) is float or type(value) is int:
        x = float(value)
        if not math.isfinite(x):
            raise ConfigError(f"{name} must be finite, got {x}")
        if ge is not None and x < ge:
            raise ConfigError(f"{name} must be >= {ge:g}, got {x:g}")
        return np.full(n, x)
    arr = check_finite(name, value, ge=ge)
    if arr.shape == (n,):
        return arr
    try:
        return np.broadcast_to(arr, (n,))
    except ValueError as exc:
        raise ConfigError(f"{name} must be a scalar or have shape ({n},), got shape {arr.shape}") from exc


def as_mask(mask: ArrayLike | None, n: int) -> NDArray[np.bool_]:
    """A boolean mask of shape ``(n,)``: ``None`` selects every env."""
    if mask is None:
        return np.ones(n, dtype=bool)
    arr = np.asarray(mask)
    if arr.dtype != np.bool_ or arr.shape != (n,):
        raise ConfigError(f"mask must be a boolean array of shape ({n},), got {arr.dtype} {arr.shape}")
    return arr


def positive_features(x: F64, scale: float) -> F64:
    """Map ``x >= 0`` to ``x / (x + scale)`` in ``[0, 1)`` (0 at 0, 0.5 at ``scale``; negatives give 0)."""
    x = np.maximum(x, 0.0)
    inf = np.isinf(x)
    x = np.where(inf, 0.0, x)  # (no inf / inf evaluated)
    return np.asarray(np.where(inf, 1.0, x / (x + scale)), dtype=np.float64)
