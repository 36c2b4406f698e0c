"""A quality model that records every real evaluation and replays recorded ones: nothing is paid twice.

A model-based training run writes each batch of real evaluations to its run folder as it is made
(``real_evaluations.csv``: ``level, split, quality``). When the run is resumed, the agent starts again
from the same seed and this wrapper answers every (split, level) point already in the record from it,
without calling the real model; only new points reach the real model (and are recorded in turn).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from splitgym.atomic import write_text_atomic
from splitgym.errors import ConfigError
from splitgym.profiles.quality import QualityModel

__all__ = ["RECORD_FILE", "RecordedQualityModel", "read_record"]

RECORD_FILE = "real_evaluations.csv"
_COLUMNS = ["level", "split", "quality"]


def read_record(path: Path) -> pd.DataFrame:
    """The recorded evaluations of ``path`` (an empty frame when it does not exist)."""
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype=float) for c in _COLUMNS})
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not a valid record of real evaluations: {exc}") from None
    if list(frame.columns) != _COLUMNS or not np.all(np.isfinite(frame.to_numpy(dtype=float))):
        raise ConfigError(f"{path} is not a valid record of real evaluations: columns must be {_COLUMNS}")
    return frame


class RecordedQualityModel:
    """Wraps ``inner``; answers recorded points from ``path`` and appends new ones to it atomically.

    ``replayed`` and ``paid`` count the points answered from the record and by ``inner``.
    """

    def __init__(self, inner: QualityModel, path: Path, on_paid: Callable[[int], None] | None = None) -> None:
        self.inner = inner
        self.path = path
        self.on_paid = on_paid
        self.frame = read_record(path)
        self._known: dict[tuple[int, float], float] = {
            (int(s), float(lv)): float(q)
            for lv, s, q in self.frame[_COLUMNS].itertuples(index=False, name=None)
        }
        self.replayed_at_start = len(self.frame)  # points a resumed run found recorded
        self.replayed = 0
        self.paid = 0

    @property
    def level_name(self) -> str:
        return self.inner.level_name

    @property
    def splits(self) -> NDArray[np.int64]:
        return self.inner.splits

    @property
    def levels(self) -> Any:
        return getattr(self.inner, "levels", None)

    def quality(self, split: int, level: float) -> float:
        return float(self.quality_batch(split, level))

    def quality_batch(self, splits: ArrayLike, levels: ArrayLike) -> NDArray[np.float64]:
        s, lv = np.broadcast_arrays(np.asarray(splits), np.asarray(levels, dtype=np.float64))
        flat_s, flat_l = s.ravel(), lv.ravel()
        out = np.empty(flat_s.size, dtype=np.float64)
        new = []
        for i, (k, level) in enumerate(zip(flat_s.tolist(), flat_l.tolist(), strict=True)):
            known = self._known.get((int(k), float(level)))
            if known is None:
                new.append(i)
            else:
                out[i] = known
        self.replayed += flat_s.size - len(new)
        if new:
            idx = np.asarray(new)
            q = np.asarray(self.inner.quality_batch(flat_s[idx], flat_l[idx]), dtype=np.float64).reshape(-1)
            out[idx] = q
            rows = pd.DataFrame({"level": flat_l[idx], "split": flat_s[idx].astype(np.int64), "quality": q})
            self.frame = pd.concat([self.frame, rows], ignore_index=True) if len(self.frame) else rows
            for k, level, value in zip(flat_s[idx].tolist(), flat_l[idx].tolist(), q.tolist(), strict=True):
                self._known[(int(k), float(level))] = float(value)
            write_text_atomic(self.path, self.frame.to_csv(index=False, float_format="%.17g"))
            self.paid += len(new)
            if self.on_paid is not None:
                self.on_paid(self.paid)
        return out.reshape(s.shape)
