"""Argument checks for :mod:`splitgym.envs.channels.nr`; every failure is a one-line ``ConfigError``.

The numeric checks reuse :mod:`splitgym.envs.channels._validate` (which raises ``ValueError`` naming the
parameter, the value and the bound) and re-raise its message as :class:`splitgym.errors.ConfigError`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError, suggest

from .._validate import check_array, check_int, check_scalar

__all__ = ["array", "choice", "integer", "integer_array", "scalar"]


def array(
    name: str,
    value: ArrayLike,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    allow_inf: bool = False,
) -> NDArray[np.float64]:
    """``value`` as a float64 array (finite unless ``allow_inf``) within the bounds, else ``ConfigError``."""
    try:
        return check_array(name, value, ge=ge, gt=gt, le=le, lt=lt, allow_inf=allow_inf)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def scalar(
    name: str,
    value: float,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> float:
    """One finite real number within the bounds, else ``ConfigError``."""
    try:
        return check_scalar(name, value, ge=ge, gt=gt, le=le, lt=lt)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def integer(name: str, value: int, *, ge: int, le: int | None = None) -> int:
    """An integer (not a bool) in ``[ge, le]``, else ``ConfigError``."""
    try:
        out = check_int(name, value, ge=ge)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if le is not None and out > le:
        raise ConfigError(f"{name} must be <= {le}, got {out}")
    return out


def integer_array(name: str, value: ArrayLike, *, ge: int, le: int) -> NDArray[np.int64]:
    """An array of integers in ``[ge, le]`` (floats with integral values accepted), else ``ConfigError``."""
    arr = array(name, value, ge=ge, le=le)
    if np.any(arr != np.round(arr)):
        bad = arr[arr != np.round(arr)].flat[0]
        raise ConfigError(f"{name} must be an integer in [{ge}, {le}], got {bad:g}")
    return arr.astype(np.int64)


def choice(name: str, value: str, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed`` (exact match), else ``ConfigError`` listing them."""
    options = list(allowed)
    if not isinstance(value, str) or value not in options:
        hint = suggest(value, options) if isinstance(value, str) else ""
        raise ConfigError(f"{name} must be one of {', '.join(options)}; got {value!r}{hint}")
    return value
