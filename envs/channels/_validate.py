"""Argument checks shared by the channel and environment modules; every failure is a one-line
:class:`~splitgym.errors.ConfigError` (a ``ValueError``) naming the parameter, the value and the bound."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError

_Violation = Callable[[NDArray[np.float64], float], NDArray[np.bool_]]
_BOUNDS: tuple[tuple[str, str, _Violation], ...] = (
    ("ge", ">=", np.less),
    ("gt", ">", np.less_equal),
    ("le", "<=", np.greater),
    ("lt", "<", np.greater_equal),
)


def check_array(
    name: str,
    value: ArrayLike,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    allow_inf: bool = False,
) -> NDArray[np.float64]:
    """Return ``value`` as a float64 array after checking it is real, not NaN, (finite) and within bounds."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a real number or array of real numbers, got {value!r}") from exc
    bad_value = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if bad_value.any():
        kind = "not NaN" if allow_inf else "finite"
        raise ConfigError(f"{name} must be {kind}, got {arr[bad_value].flat[0]}")
    limits = {"ge": ge, "gt": gt, "le": le, "lt": lt}
    for key, word, violates in _BOUNDS:
        bound = limits[key]
        if bound is not None:
            bad = np.asarray(violates(arr, bound), dtype=bool)
            if bad.any():
                raise ConfigError(f"{name} must be {word} {bound:g}, got {arr[bad].flat[0]:g}")
    return arr


def check_scalar(
    name: str,
    value: float,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    allow_inf: bool = False,
) -> float:
    """Like :func:`check_array` for one real number (finite unless ``allow_inf``; not a bool); returns it
    as a Python ``float``."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a real number, got {value!r}")
    arr = check_array(name, value, ge=ge, gt=gt, le=le, lt=lt, allow_inf=allow_inf)
    if arr.ndim != 0:
        raise ConfigError(f"{name} must be a single number, got an array of shape {arr.shape}")
    return float(arr)


def check_rng(rng: np.random.Generator) -> np.random.Generator:
    """Check that ``rng`` is a ``numpy.random.Generator`` (``TypeError`` otherwise)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def check_int(name: str, value: int, *, ge: int) -> int:
    """Check that ``value`` is an integer (not a bool) ``>= ge``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{name} must be an integer >= {ge}, got {value!r}")
    if value < ge:
        raise ConfigError(f"{name} must be >= {ge}, got {value}")
    return int(value)
