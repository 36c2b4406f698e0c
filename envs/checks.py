"""Argument checks shared by the environment modules (the NR link layer, the state components, ...);
every failure is a one-line ``ConfigError`` naming the parameter, the value and what is allowed.

The numeric checks are :mod:`splitgym.envs.channels._validate`'s; this module adds integers with an upper
bound, integer arrays, choices from a list and actions.
"""

from __future__ import annotations

from collections.abc import Iterable

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.envs.channels._validate import check_array, check_int, check_scalar
from splitgym.errors import ConfigError, InvalidActionError, suggest

__all__ = [
    "InvalidAction",
    "array",
    "choice",
    "discrete_action",
    "discrete_actions",
    "integer",
    "integer_array",
    "scalar",
]


array = check_array  # a float64 array (finite unless allow_inf) within the bounds
scalar = check_scalar  # one real number within the bounds


def integer(name: str, value: int, *, ge: int, le: int | None = None) -> int:
    """An integer (not a bool) in ``[ge, le]``, else ``ConfigError``."""
    out = check_int(name, value, ge=ge)
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


class InvalidAction(InvalidActionError, gym.error.InvalidAction):
    """An action the environment refuses: our error and Gymnasium's at once."""


_INT_TYPES = (int, np.int64, np.int32)


def discrete_action(action: object, n: int, name: str = "action") -> int:
    """``action`` as an int in ``0..n-1``; an :class:`InvalidAction` for anything else (a bool, a float, a
    string, an array of another shape or dtype) instead of a silent cast. Accepted: a Python or numpy
    integer, or an integer array holding one value (shape ``()`` or ``(1,)``, as SB3 and Gymnasium's vector
    envs pass them)."""
    kind = type(action)
    value: int
    if kind in _INT_TYPES:
        value = int(action)  # type: ignore[call-overload]
    elif (
        isinstance(action, np.ndarray) and action.dtype.kind in "iu" and action.size == 1 and action.ndim <= 1
    ):
        value = int(action.reshape(()).item())
    elif isinstance(action, np.integer):
        value = int(action)
    else:
        raise InvalidAction(f"{name} must be an integer in 0..{n - 1}, got {action!r} ({kind.__name__})")
    if not 0 <= value < n:
        raise InvalidAction(f"{name} must be an integer in 0..{n - 1}, got {value}")
    return value


def discrete_actions(actions: object, n: int, num_envs: int, name: str = "actions") -> NDArray[np.int64]:
    """``actions`` of a batched env as an ``int64`` array of shape ``(num_envs,)`` with values in
    ``0..n-1``; an :class:`InvalidAction` for another shape (no reshaping), a non-integer dtype (no
    casting of floats or bools) or a value out of range."""
    arr = np.asarray(actions)
    if arr.shape != (num_envs,) or arr.dtype.kind not in "iu":
        raise InvalidAction(
            f"{name} must be an integer array of shape ({num_envs},) with values in 0..{n - 1}, got "
            f"shape {arr.shape} of dtype {arr.dtype}"
        )
    if num_envs and (arr.min() < 0 or arr.max() >= n):
        raise InvalidAction(f"{name} must hold values in 0..{n - 1}, got {arr.min()}..{arr.max()}")
    return arr.astype(np.int64, copy=False)
