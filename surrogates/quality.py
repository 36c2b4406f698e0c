"""Surrogates as quality models: collect real evaluations on a grid, fit, and plug the fit into the envs.

* :func:`sample_grid` spends real evaluations of a :class:`~splitgym.profiles.QualityModel` on a
  ``levels x splits`` grid (the paper's offline data collection) and returns ``(X, y)`` with rows
  ``[level, split]`` and ``y = Q``.
* :func:`fit_on_budget` does that within a budget of real evaluations and fits a surrogate
  (``kind="paper"``: :class:`~splitgym.surrogates.PaperMLP`; ``"ensemble"``:
  :class:`~splitgym.surrogates.EnsembleSurrogate`), counting the evaluations with a
  :class:`~splitgym.profiles.CountingQualityModel`.
* :class:`SurrogateQualityModel` turns a fitted surrogate on ``[level, split]`` back into a quality model,
  so that it plugs into any environment that takes one, e.g.
  ``gym.make("splitgym/PaperSplitDirect-v0", quality_model=SurrogateQualityModel(fit))``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError, suggest
from splitgym.profiles.quality import CountingQualityModel, QualityModel
from splitgym.surrogates.base import RewardSurrogate, check_int

__all__ = [
    "DEFAULT_LEVEL_RANGES",
    "LEVEL_NAMES",
    "SURROGATE_CHOICES",
    "SurrogateQualityModel",
    "fit_on_budget",
    "level_range_of",
    "make_surrogate",
    "sample_grid",
]

LEVEL_NAMES = ("impairment", "snr_db")
# The channel levels a grid spans when the real model does not tabulate its own: the paper's impairment
# range (its sweep and environment B clip to [0, 0.3]). SNR has no such convention: give level_range.
DEFAULT_LEVEL_RANGES: dict[str, tuple[float, float]] = {"impairment": (0.0, 0.3)}
SURROGATE_CHOICES = ("paper", "ensemble")


def _check_splits(splits: ArrayLike, name: str = "splits") -> NDArray[np.int64]:
    arr = np.asarray(splits)
    if arr.ndim != 1 or arr.size == 0:
        raise ConfigError(f"{name} must be a non-empty 1-D sequence of integers, got shape {arr.shape}")
    if arr.dtype.kind not in "iuf" or not np.all(np.mod(arr, 1) == 0):
        raise ConfigError(f"{name} must be integers, got {arr.tolist()}")
    out = np.unique(arr.astype(np.int64))
    if out.size != arr.size:
        raise ConfigError(f"{name} must not repeat a value, got {arr.tolist()}")
    return out


class SurrogateQualityModel:
    """The :class:`~splitgym.profiles.QualityModel` of a surrogate fitted on ``[level, split] -> Q``.

    Args:
        surrogate: a fitted :class:`RewardSurrogate` with two inputs, ``[level, split]`` in that order.
        level_name: the channel axis, ``"impairment"`` or ``"snr_db"``; default: the surrogate's first
            input name when it is one of those.
        splits: the splits it answers for; default every integer in the training data's split range.
        level_range: the channel levels it stands for (:attr:`levels`; an environment clamps to them and,
            on the impairment axis, counts an answer beyond them as failed); default the training data's.

    Levels are not clamped: outside the training range the surrogate extrapolates (an ensemble's ``std``
    says how much to trust it, see :meth:`predict_batch`). It counts calls, points and seconds like the
    other quality models.
    """

    def __init__(
        self,
        surrogate: RewardSurrogate,
        level_name: str | None = None,
        splits: ArrayLike | None = None,
        level_range: tuple[float, float] | None = None,
    ) -> None:
        if not isinstance(surrogate, RewardSurrogate):
            raise ConfigError(f"surrogate must be a RewardSurrogate, got {type(surrogate).__name__}")
        if surrogate.metadata is None:
            raise ConfigError(
                f"surrogate {type(surrogate).__name__} is not fitted: fit or load it before wrapping it"
            )
        meta = surrogate.metadata
        if len(meta.input_names) != 2:
            raise ConfigError(
                f"surrogate must have 2 inputs [level, split], got {len(meta.input_names)}: "
                f"{meta.input_names}"
            )
        first = meta.input_names[0]
        if level_name is None:
            if first not in LEVEL_NAMES:
                raise ConfigError(
                    f"level_name is needed: the surrogate's first input is {first!r}, not one of "
                    f"{list(LEVEL_NAMES)}"
                )
            level_name = first
        if level_name not in LEVEL_NAMES:
            raise ConfigError(
                f"level_name must be one of {list(LEVEL_NAMES)}, got {level_name!r}"
                + suggest(str(level_name), LEVEL_NAMES)
            )
        if first in LEVEL_NAMES and first != level_name:
            raise ConfigError(f"level_name is {level_name!r} but the surrogate was fitted on {first!r}")
        if splits is None:
            lo, hi = int(np.ceil(meta.input_low[1])), int(np.floor(meta.input_high[1]))
            splits = np.arange(lo, hi + 1, dtype=np.int64)
        self.surrogate = surrogate
        self._level_name = level_name
        self._level_range = None if level_range is None else level_range_of(self, level_range)
        self._splits = _check_splits(splits)
        self._split_set = frozenset(int(v) for v in self._splits)
        self.calls = 0
        self.points = 0
        self.seconds = 0.0

    @property
    def level_name(self) -> str:
        return self._level_name

    @property
    def splits(self) -> NDArray[np.int64]:
        return self._splits.copy()

    @property
    def levels(self) -> NDArray[np.float64]:
        """``[low, high]``: the channel levels it stands for (``level_range``, else its training data's)."""
        if self._level_range is not None:
            return np.array(self._level_range, dtype=np.float64)
        meta = self.surrogate.metadata
        assert meta is not None  # checked in __init__
        return np.array([meta.input_low[0], meta.input_high[0]], dtype=np.float64)

    def _inputs(self, splits: ArrayLike, levels: ArrayLike) -> tuple[NDArray[np.float64], tuple[int, ...]]:
        s, lv = np.broadcast_arrays(np.asarray(splits), np.asarray(levels, dtype=np.float64))
        if s.size and not np.all(np.isin(s, self._splits)):
            wrong = s.ravel()[~np.isin(s.ravel(), self._splits)][0]
            raise ConfigError(
                f"split {wrong.item()!r} is not one this surrogate answers for; allowed splits: "
                f"{self._splits.min()}..{self._splits.max()}"
            )
        return np.column_stack([lv.ravel(), s.ravel().astype(np.float64)]), s.shape

    def predict_batch(
        self, splits: ArrayLike, levels: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Mean and standard deviation of ``Q`` element-wise over broadcast splits and levels."""
        start = time.perf_counter()
        X, shape = self._inputs(splits, levels)
        mean, std = self.surrogate.predict(X) if X.shape[0] else (np.zeros(0), np.zeros(0))
        self.calls += 1
        self.points += int(X.shape[0])
        self.seconds += time.perf_counter() - start
        return mean.reshape(shape), std.reshape(shape)

    def quality_batch(self, splits: ArrayLike, levels: ArrayLike) -> NDArray[np.float64]:
        return self.predict_batch(splits, levels)[0]

    def std_batch(self, splits: ArrayLike, levels: ArrayLike) -> NDArray[np.float64]:
        """The surrogate's uncertainty about ``Q`` (0 for a model without one)."""
        return self.predict_batch(splits, levels)[1]

    def quality(self, split: int, level: float) -> float:
        # The environments' per-step call: a lean path (one row, no broadcasting).
        if isinstance(split, bool) or split not in self._split_set:
            return float(self.quality_batch(split, level))  # raises the error naming the splits
        start = time.perf_counter()
        mean, _ = self.surrogate.predict(np.array([[float(level), float(split)]]))
        self.calls += 1
        self.points += 1
        self.seconds += time.perf_counter() - start
        return float(mean[0])

    def counts(self) -> dict[str, float]:
        """``{"calls", "points", "seconds"}`` so far."""
        return {"calls": self.calls, "points": self.points, "seconds": self.seconds}

    def __repr__(self) -> str:
        return (
            f"SurrogateQualityModel({type(self.surrogate).__name__}, level_name={self._level_name!r}, "
            f"splits={self._splits.min()}..{self._splits.max()})"
        )


def sample_grid(
    quality_model: QualityModel, levels: ArrayLike, splits: ArrayLike | None = None, repeats: int = 1
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Real evaluations on the ``levels x splits`` grid, ``repeats`` times: ``X`` rows ``[level, split]``
    (level-major, one block per repeat) and ``y = Q``, from one ``quality_batch`` call.

    ``splits`` defaults to all of the model's splits. A stochastic model (a live LLM) gives independent
    draws per repeat; a table gives the same value each time.
    """
    lv = np.asarray(levels, dtype=np.float64)
    if lv.ndim != 1 or lv.size == 0 or not np.all(np.isfinite(lv)):
        raise ConfigError(
            f"levels must be a non-empty 1-D sequence of finite numbers, got {np.asarray(levels)!r}"
        )
    sp = quality_model.splits if splits is None else _check_splits(splits)
    missing = sorted(set(sp.tolist()) - set(np.asarray(quality_model.splits).tolist()))
    if missing:
        raise ConfigError(
            f"splits {missing} are not evaluable by the quality model; allowed: "
            f"{np.asarray(quality_model.splits).tolist()}"
        )
    repeats = check_int("repeats", repeats, 1)
    L, S = np.meshgrid(lv, sp.astype(np.int64), indexing="ij")
    levels_all = np.tile(L.ravel(), repeats)
    splits_all = np.tile(S.ravel(), repeats)
    y = np.asarray(quality_model.quality_batch(splits_all, levels_all), dtype=np.float64).reshape(-1)
    X = np.column_stack([levels_all, splits_all.astype(np.float64)])
    return X, y


def make_surrogate(kind: str, seed: int = 0, **kwargs: Any) -> RewardSurrogate:
    """A new, unfitted surrogate: ``"paper"`` (:class:`PaperMLP`) or ``"ensemble"``."""
    if kind == "paper":
        from splitgym.surrogates.mlp import PaperMLP

        return PaperMLP(seed=seed, **kwargs)
    if kind == "ensemble":
        from splitgym.surrogates.ensemble import EnsembleSurrogate

        return EnsembleSurrogate(seed=seed, **kwargs)
    raise ConfigError(
        f"kind must be one of {list(SURROGATE_CHOICES)}, got {kind!r}" + suggest(str(kind), SURROGATE_CHOICES)
    )


def level_range_of(
    model: QualityModel, level_range: tuple[float, float] | None = None
) -> tuple[float, float]:
    """The channel-level interval a design spans: ``level_range``, else the model's tabulated levels, else
    the default range of its axis (the paper's impairment range ``[0, 0.3]``)."""
    if level_range is not None:
        lo, hi = (float(v) for v in level_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ConfigError(f"level_range must be two finite numbers (low < high), got {level_range!r}")
        return lo, hi
    levels = getattr(model, "levels", None)
    if levels is not None and np.size(levels) >= 2:
        return float(np.min(levels)), float(np.max(levels))
    if model.level_name in DEFAULT_LEVEL_RANGES:
        return DEFAULT_LEVEL_RANGES[model.level_name]
    raise ConfigError(
        f"level_range is needed for a quality model on {model.level_name!r} that does not tabulate its levels"
    )


def fit_on_budget(
    real_model: QualityModel,
    budget: int,
    kind: str = "paper",
    seed: int = 0,
    *,
    splits: ArrayLike | None = None,
    level_range: tuple[float, float] | None = None,
    **surrogate_kwargs: Any,
) -> tuple[RewardSurrogate, int]:
    """Fit a surrogate of ``real_model`` from at most ``budget`` real evaluations.

    The budget buys an evenly spaced grid: every split of ``splits`` (default: all the model's) at
    ``budget // len(splits)`` levels spanning ``level_range`` (default: the model's tabulated levels, else
    the paper's impairment range 0..0.3); what does not fill a whole row of splits is left unspent. Returns
    the fitted surrogate (inputs named ``[level_name, "split"]``, target ``"quality"``) and the number of
    real evaluations it cost, as counted by a :class:`CountingQualityModel` around ``real_model``.
    ``surrogate_kwargs`` go to the surrogate's constructor.
    """
    if kind not in SURROGATE_CHOICES:
        make_surrogate(kind)  # raises the error naming the choices
    budget = check_int("budget", budget, 1)
    sp = real_model.splits if splits is None else _check_splits(splits)
    n_levels = budget // len(sp)
    if n_levels < 2:
        raise ConfigError(
            f"budget {budget} is too small for {len(sp)} split(s): a grid needs at least 2 levels per split, "
            f"i.e. budget >= {2 * len(sp)}"
        )
    lo, hi = level_range_of(real_model, level_range)
    counter = CountingQualityModel(real_model)
    X, y = sample_grid(counter, np.linspace(lo, hi, n_levels), sp)
    kwargs: dict[str, Any] = {"input_names": [real_model.level_name, "split"], "target_name": "quality"}
    kwargs.update(surrogate_kwargs)
    surrogate = make_surrogate(kind, seed=seed, **kwargs)
    surrogate.fit(X, y)
    return surrogate, int(counter.points)
