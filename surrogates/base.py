"""The reward-surrogate interface: fit on (state, action) -> reward samples, predict a mean and a spread.

A surrogate replaces an expensive reward term (for the split environments: the quality ``Q`` of a live LLM)
by a cheap learned function. ``X`` is a 2-D float array of inputs, one row per sample (for the split
environments ``[level, split]``); ``y`` is the reward term, one value per row.

* :meth:`RewardSurrogate.fit` trains on ``(X, y)`` and returns a :class:`FitReport`.
* :meth:`RewardSurrogate.predict` returns ``(mean, std)``, numpy ``float64`` arrays of one value per row;
  ``std`` is 0 for a model without uncertainty.
* :meth:`RewardSurrogate.save` writes a folder: ``weights.npz`` (the arrays) and ``surrogate.json`` (the
  :class:`SurrogateMetadata`: input and target names, normalisation constants, training-set size, seed,
  epochs run, validation loss, hyperparameters, versions, date and the weights' SHA-256), both atomically.
  :meth:`RewardSurrogate.load` (or :func:`load_surrogate`, whatever the kind) reads one back. Loading and
  predicting never import torch: the forward pass is numpy.
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import importlib
import io
import json
import math
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.atomic import write_bytes_atomic, write_text_atomic
from splitgym.errors import ConfigError, suggest

__all__ = [
    "METADATA_FILE",
    "WEIGHTS_FILE",
    "FitReport",
    "RewardSurrogate",
    "SurrogateMetadata",
    "as_inputs",
    "as_targets",
    "check_float",
    "check_hidden",
    "check_int",
    "load_surrogate",
    "read_metadata",
]

METADATA_FILE = "surrogate.json"
WEIGHTS_FILE = "weights.npz"
FORMAT_VERSION = 1

# kind -> "module:Class", imported on demand so that loading one kind never imports the others.
SURROGATE_KINDS: dict[str, str] = {
    "paper_mlp": "splitgym.surrogates.mlp:PaperMLP",
    "ensemble": "splitgym.surrogates.ensemble:EnsembleSurrogate",
}

S = TypeVar("S", bound="RewardSurrogate")


@dataclass(frozen=True)
class FitReport:
    """What one :meth:`RewardSurrogate.fit` did.

    Losses are mean squared errors of the surrogate's prediction (the member mean for an ensemble) in the
    target's own units: ``train_loss`` on the training rows, ``val_loss`` on the held-out validation rows
    (NaN when nothing was held out). ``epochs`` is the number of epochs run; ``best_epochs`` each member's
    epoch whose weights were kept.
    """

    kind: str
    n_samples: int
    n_train: int
    n_val: int
    members: int
    epochs: int
    best_epochs: tuple[int, ...]
    train_loss: float
    val_loss: float
    stopped_early: bool
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["best_epochs"] = list(self.best_epochs)
        return out


@dataclass
class SurrogateMetadata:
    """Everything saved next to the weights (``surrogate.json``)."""

    kind: str
    input_names: list[str]
    target_name: str
    x_mean: list[float]
    x_scale: list[float]
    y_mean: float
    y_scale: float
    input_low: list[float]
    input_high: list[float]
    n_samples: int
    n_train: int
    n_val: int
    seed: int
    epochs: int
    train_loss: float
    val_loss: float | None
    hyperparameters: dict[str, Any]
    versions: dict[str, str]
    date: str
    extra: dict[str, Any] = field(default_factory=dict)
    weights_file: str = WEIGHTS_FILE
    weights_sha256: str = ""
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: Path) -> SurrogateMetadata:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}: surrogate metadata is not valid JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: surrogate metadata must be a JSON object, got {type(raw).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING} - {"extra"}
        missing = sorted(required - set(raw))
        if missing:
            raise ConfigError(f"{source}: surrogate metadata lacks the field(s) {missing}")
        version = raw.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ConfigError(
                f"{source}: format_version {version!r} is not supported; allowed: {FORMAT_VERSION}"
            )
        return cls(**{k: v for k, v in raw.items() if k in names})


def versions() -> dict[str, str]:
    """Versions of Python, numpy, torch and splitgym (torch read from its metadata, not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    from splitgym import __version__

    out = {"python": platform.python_version(), "numpy": np.__version__, "splitgym": __version__}
    try:
        out["torch"] = version("torch")
    except PackageNotFoundError:  # pragma: no cover - torch is a dependency
        out["torch"] = "not installed"
    return out


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def as_inputs(X: ArrayLike, n_inputs: int | None = None, name: str = "X") -> NDArray[np.float64]:
    """``X`` as a finite 2-D ``float64`` array ``(n_samples, n_inputs)``, or a :class:`ConfigError`."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a 2-D array of numbers, got {type(X).__name__} ({exc})") from exc
    if arr.ndim != 2:
        raise ConfigError(f"{name} must be a 2-D array of shape (n_samples, n_inputs), got shape {arr.shape}")
    if n_inputs is not None and arr.shape[1] != n_inputs:
        raise ConfigError(f"{name} must have {n_inputs} column(s) (the fitted inputs), got {arr.shape[1]}")
    if arr.shape[1] == 0:
        raise ConfigError(f"{name} must have at least one column, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} must be finite, got {int(np.sum(~np.isfinite(arr)))} NaN/inf value(s)")
    return arr


def as_targets(y: ArrayLike, n_samples: int, name: str = "y") -> NDArray[np.float64]:
    """``y`` as a finite 1-D ``float64`` array of ``n_samples`` values (a ``(n, 1)`` column is accepted)."""
    try:
        arr = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a 1-D array of numbers, got {type(y).__name__} ({exc})") from exc
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ConfigError(f"{name} must be a 1-D array of targets, got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ConfigError(f"{name} has {arr.shape[0]} value(s) but X has {n_samples} row(s); they must match")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} must be finite, got {int(np.sum(~np.isfinite(arr)))} NaN/inf value(s)")
    return arr


def check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` is an integer in ``[low, high]`` (no upper bound when ``high`` is None)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ConfigError(f"{name} must be an integer {allowed}, got {value!r}")
    return int(value)


def check_float(name: str, value: Any, low: float, high: float, *, open_low: bool = False) -> float:
    """``value`` is a finite number in ``[low, high]`` (``(low, high]`` with ``open_low``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v > high or v < low or (open_low and v == low):
        bracket = "(" if open_low else "["
        raise ConfigError(f"{name} must be in {bracket}{low}, {high}], got {value!r}")
    return v


def check_hidden(value: Any) -> tuple[int, ...]:
    """Hidden-layer widths: a non-empty sequence of positive integers."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not value:
        raise ConfigError(f"hidden must be a non-empty sequence of layer widths, got {value!r}")
    return tuple(check_int("hidden", w, 1, 1_000_000) for w in value)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_npz_atomic(path: Path, arrays: dict[str, NDArray[Any]]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    write_bytes_atomic(path, buf.getvalue())


def read_metadata(folder: str | Path) -> SurrogateMetadata:
    """The metadata of a saved surrogate, or a :class:`ConfigError` naming what is missing."""
    path = Path(folder)
    if not path.is_dir():
        raise ConfigError(f"surrogate folder {str(path)!r} does not exist or is not a folder")
    meta_path = path / METADATA_FILE
    if not meta_path.is_file():
        raise ConfigError(
            f"surrogate folder {str(path)!r} has no {METADATA_FILE} (the metadata saved with the weights); "
            "a saved surrogate holds surrogate.json and weights.npz, written by RewardSurrogate.save(folder)"
        )
    return SurrogateMetadata.from_json(meta_path.read_text(), meta_path)


def _surrogate_class(kind: str) -> type[RewardSurrogate]:
    if kind not in SURROGATE_KINDS:
        raise ConfigError(
            f"surrogate kind {kind!r} is not known; allowed: {sorted(SURROGATE_KINDS)}"
            + suggest(kind, SURROGATE_KINDS)
        )
    module, name = SURROGATE_KINDS[kind].split(":")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type) and issubclass(cls, RewardSurrogate)
    return cls


class RewardSurrogate(abc.ABC):
    """A learned reward term ``r(x)`` with an uncertainty: :meth:`fit`, :meth:`predict`, :meth:`save`,
    :meth:`load`. Subclasses set :attr:`kind` and implement the four abstract methods."""

    kind: ClassVar[str] = ""

    def __init__(self, input_names: list[str] | tuple[str, ...] | None = None, target_name: str = "reward"):
        self.input_names = list(input_names) if input_names is not None else None
        self.target_name = str(target_name)
        self.metadata: SurrogateMetadata | None = None

    # -- the interface -------------------------------------------------------------------------------
    @abc.abstractmethod
    def fit(self, X: ArrayLike, y: ArrayLike) -> FitReport:
        """Train on inputs ``X`` ``(n_samples, n_inputs)`` and targets ``y`` ``(n_samples,)``."""

    @abc.abstractmethod
    def predict(self, X: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(mean, std)`` of the target at each row of ``X`` (``std`` is 0 without uncertainty)."""

    @abc.abstractmethod
    def hyperparameters(self) -> dict[str, Any]:
        """The constructor arguments (JSON values) that rebuild this surrogate before its weights load."""

    @abc.abstractmethod
    def _weights(self) -> dict[str, NDArray[Any]]:
        """The arrays to save."""

    @abc.abstractmethod
    def _restore(self, meta: SurrogateMetadata, arrays: dict[str, NDArray[Any]]) -> None:
        """Set the fitted state from saved metadata and arrays."""

    # -- shared --------------------------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        return self.metadata is not None

    @property
    def n_inputs(self) -> int:
        return len(self._fitted_metadata().input_names)

    def _fitted_metadata(self) -> SurrogateMetadata:
        if self.metadata is None:
            raise ConfigError(
                f"{type(self).__name__} is not fitted: call fit(X, y) or load(folder) before predicting "
                "or saving"
            )
        return self.metadata

    def _names_for(self, n_inputs: int) -> list[str]:
        if self.input_names is None:
            return [f"x{i}" for i in range(n_inputs)]
        if len(self.input_names) != n_inputs:
            raise ConfigError(
                f"input_names has {len(self.input_names)} name(s) {self.input_names} but X has "
                f"{n_inputs} column(s); they must match"
            )
        return list(self.input_names)

    def save(self, folder: str | Path) -> Path:
        """Write ``weights.npz`` then ``surrogate.json`` into ``folder`` (created), each atomically."""
        meta = self._fitted_metadata()
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        weights = path / WEIGHTS_FILE
        _write_npz_atomic(weights, self._weights())
        meta.weights_file = WEIGHTS_FILE
        meta.weights_sha256 = _sha256(weights)
        write_text_atomic(path / METADATA_FILE, _json_safe_metadata(meta).to_json())
        return path

    @classmethod
    def load(cls: type[S], folder: str | Path) -> S:
        """The surrogate saved in ``folder``. On :class:`RewardSurrogate` itself, any kind; on a subclass,
        only its own kind."""
        meta = read_metadata(folder)
        target = _surrogate_class(meta.kind)
        if cls is not RewardSurrogate and target is not cls:
            raise ConfigError(
                f"surrogate in {str(folder)!r} is of kind {meta.kind!r}, not {cls.kind!r}; "
                "load it with load_surrogate(folder) or its own class"
            )
        weights = Path(folder) / meta.weights_file
        if not weights.is_file():
            raise ConfigError(f"surrogate folder {str(folder)!r} has metadata but no {meta.weights_file}")
        if meta.weights_sha256 and _sha256(weights) != meta.weights_sha256:
            raise ConfigError(
                f"{weights}: SHA-256 does not match the metadata's weights_sha256 (the folder was modified)"
            )
        with np.load(weights, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in npz.files}
        obj = target(**meta.hyperparameters)
        if meta.val_loss is None:
            meta.val_loss = math.nan
        obj._restore(meta, arrays)
        obj.metadata = meta
        assert isinstance(obj, cls)
        return obj

    def __repr__(self) -> str:
        state = "fitted" if self.fitted else "not fitted"
        return f"{type(self).__name__}({state})"


def _json_safe_metadata(meta: SurrogateMetadata) -> SurrogateMetadata:
    """A copy with non-finite losses as ``None`` (JSON has no NaN)."""
    out = dataclasses.replace(meta)
    if out.val_loss is not None and not math.isfinite(out.val_loss):
        out.val_loss = None
    return out


def load_surrogate(folder: str | Path) -> RewardSurrogate:
    """The surrogate saved in ``folder``, whatever its kind."""
    return RewardSurrogate.load(folder)
