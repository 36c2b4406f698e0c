"""The quality-model interface: how good the model's output is at a split under a channel level.

Quality ``Q(split, level)`` is the *relative perplexity improvement* against the profile's reference,
``Q = 1 - PPL / PPL_ref`` (dimensionless, higher is better; ``PPL / PPL_ref = 1 - Q``). ``level`` is the
channel level on the model's own axis, :attr:`QualityModel.level_name`: the element-erasure probability
``"impairment"`` (in [0, 1]) or the SNR ``"snr_db"`` (dB). ``split`` is the number of decoder layers on the
device.

Three kinds of implementation sit behind the interface: a profile table (:class:`TableQualityModel`, fast,
the default), a live LLM with its hidden state corrupted at the split (expensive, the ground truth) and a
learned surrogate (fast, approximate). :class:`CountingQualityModel` wraps an expensive one and counts
its calls, the points it evaluated and their wall time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError, ProfileError
from splitgym.profiles.profile import Profile, resolve_profile

__all__ = [
    "CountingQualityModel",
    "QualityModel",
    "TableQualityModel",
    "expensive_calls",
    "resolve_quality_model",
]

DEFAULT_PROFILE = "paper_llama2_7b_rsm_grid"


@runtime_checkable
class QualityModel(Protocol):
    """Relative perplexity improvement ``Q(split, level)`` of a split LLM under a channel level."""

    @property
    def level_name(self) -> str:
        """The channel axis ``level`` is measured on: ``"impairment"`` or ``"snr_db"``."""
        ...

    @property
    def splits(self) -> NDArray[np.int64]:
        """The splits this model can evaluate, ascending."""
        ...

    def quality(self, split: int, level: float) -> float:
        """``Q`` at one split and channel level."""
        ...

    def quality_batch(self, splits: ArrayLike, levels: ArrayLike) -> NDArray[np.float64]:
        """``Q`` element-wise over broadcast arrays of splits and levels."""
        ...


class TableQualityModel:
    """Quality read from a ``quality_grid`` profile: exact in split, linear in the channel level.

    Levels outside the tabulated range are clamped to its ends (no extrapolation).
    """

    def __init__(self, profile: str | Path | Profile = DEFAULT_PROFILE) -> None:
        self.profile = resolve_profile(profile)
        if self.profile.kind != "quality_grid":
            raise ProfileError(
                f"profile {self.profile.path}: kind {self.profile.kind!r} is not a quality_grid"
            )
        meta = self.profile.meta
        self._level_name = str(meta["channel_axis"])
        axes = self.profile.axes
        if sorted(axes) != sorted([self._level_name, "split"]):
            raise ProfileError(
                f"profile {self.profile.path}: axes must be [channel axis, 'split'], got {axes}"
            )
        self._levels = self.profile.axis_values(self._level_name).astype(np.float64)
        self._splits = self.profile.axis_values("split").astype(np.int64)
        grid = self.profile.grid(str(meta["quality_column"]))
        # Store as [level, split] whatever the file's axis order.
        self._grid = grid if axes[0] == self._level_name else grid.T
        self._split_index = {int(s): i for i, s in enumerate(self._splits)}

    @property
    def level_name(self) -> str:
        return self._level_name

    @property
    def splits(self) -> NDArray[np.int64]:
        return self._splits.copy()

    @property
    def levels(self) -> NDArray[np.float64]:
        """The tabulated channel levels, ascending."""
        return self._levels.copy()

    @property
    def name(self) -> str:
        return self.profile.name

    def _columns(self, splits: NDArray[np.int64]) -> NDArray[np.int64]:
        idx = np.searchsorted(self._splits, splits)
        idx = np.clip(idx, 0, len(self._splits) - 1)
        bad = self._splits[idx] != splits
        if np.any(bad):
            wrong = int(np.asarray(splits)[bad].flat[0])
            raise ConfigError(
                f"split {wrong} is not in profile {self.profile.name!r}; allowed splits: "
                f"{self._splits.min()}..{self._splits.max()}"
            )
        return idx

    def quality_batch(self, splits: ArrayLike, levels: ArrayLike) -> NDArray[np.float64]:
        s, lv = np.broadcast_arrays(np.asarray(splits, dtype=np.int64), np.asarray(levels, dtype=np.float64))
        cols = self._columns(s)
        x = np.clip(lv, self._levels[0], self._levels[-1])
        i = np.clip(np.searchsorted(self._levels, x, side="right") - 1, 0, len(self._levels) - 2)
        x0, x1 = self._levels[i], self._levels[i + 1]
        t = (x - x0) / (x1 - x0)
        return np.asarray((1.0 - t) * self._grid[i, cols] + t * self._grid[i + 1, cols], dtype=np.float64)

    def quality(self, split: int, level: float) -> float:
        return float(self.quality_batch(split, level))


class CountingQualityModel:
    """Wraps a quality model and counts its calls, evaluated points and wall time (seconds)."""

    def __init__(self, inner: QualityModel) -> None:
        self.inner = inner
        self.calls = 0
        self.points = 0
        self.seconds = 0.0

    @property
    def level_name(self) -> str:
        return self.inner.level_name

    @property
    def splits(self) -> NDArray[np.int64]:
        return self.inner.splits

    def quality(self, split: int, level: float) -> float:
        start = time.perf_counter()
        try:
            return self.inner.quality(split, level)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1
            self.points += 1

    def quality_batch(self, splits: ArrayLike, levels: ArrayLike) -> NDArray[np.float64]:
        start = time.perf_counter()
        try:
            out = self.inner.quality_batch(splits, levels)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1
        self.points += int(out.size)
        return out

    def counts(self) -> dict[str, float]:
        """``{"calls", "points", "seconds"}`` so far."""
        return {"calls": self.calls, "points": self.points, "seconds": self.seconds}


def resolve_quality_model(spec: QualityModel | str | Path | Profile) -> QualityModel:
    """A quality model from an instance, a shipped profile name, a profile path or a :class:`Profile`, or
    ``"live[:MODEL[:OPERATOR]]"`` for a :class:`~splitgym.profiles.quality.live.LiveQualityModel` (default
    ``live:reference:erasure``; MODEL is ``reference`` or a local checkpoint folder)."""
    if isinstance(spec, str) and (spec == "live" or spec.startswith("live:")):
        from splitgym.profiles.quality.live import LiveQualityModel

        _, model, operator = [*spec.split(":", 2), "", ""][:3]
        return LiveQualityModel(model or "reference", operator or "erasure", n_tokens=1024)
    if isinstance(spec, (str, Path, Profile)):
        return TableQualityModel(spec)
    if isinstance(spec, QualityModel):
        return spec
    raise ConfigError(
        "quality_model must be a QualityModel, a shipped profile name or a profile path, "
        f"got {type(spec).__name__}"
    )


def expensive_calls(models: Iterable[object]) -> int:
    """Calls made so far by the expensive quality models among ``models`` (a live LLM, anything but a
    measured table, which costs no real evaluation); a model appearing several times counts once."""
    unique = {id(m): m for m in models if m is not None and not isinstance(m, TableQualityModel)}
    total = 0
    for model in unique.values():
        counts = getattr(model, "counts", None)
        total += int(counts()["calls"]) if callable(counts) else int(getattr(model, "calls", 0))
    return total
