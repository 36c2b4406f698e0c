"""The calibration set: published whole-model prefill and decode rates, shipped as a ``timing_calibration``
profile (``profiles/data/timing/calibration/published_rates.csv`` plus its ``.json``).

Each row is one measurement read at its source: device class, catalogue model (the measured model's shapes),
precision (float16, int8, int4) and weight format (``Q4_0``, ``q4f16_1``, ...), phase, ``tokens`` (prefill:
prompt length; decode: mean attended context), batch, measured tokens/s, the runtime and a source id that the
metadata's ``sources`` resolves to a citation and address; ``notes`` keeps each row's reading and its
assumptions. :func:`check_points` is the validator :func:`~splitgym.profiles.load_profile` runs for this kind:
an unknown device, model, precision, format or phase, a rate that is not positive, or a missing or unknown
source fails with one line naming the row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from splitgym.errors import ProfileError, suggest
from splitgym.profiles.profile import Profile, load_profile, resolve_profile
from splitgym.profiles.timing.catalogue import CATALOGUE
from splitgym.profiles.timing.formats import FORMATS, PRECISION_FORMAT

__all__ = ["CALIBRATION_SET", "DATA_DIR", "PHASES", "check_points", "load_calibration_set"]

CALIBRATION_SET = "timing/calibration/published_rates"
# The package's data folder, found through this file's real location (an editable install links files).
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
PHASES = ("prefill", "decode")
_COLUMNS = (
    "point",
    "device",
    "model",
    "precision",
    "format",
    "phase",
    "tokens",
    "batch",
    "tokens_per_s",
    "source",
)


def _devices() -> list[str]:
    from splitgym.profiles.timing.roofline import DEVICES  # roofline imports profile; import at call time

    return list(DEVICES)


def _row_error(path: Path, table: pd.DataFrame, row: int, problem: str) -> ProfileError:
    point = table["point"].iloc[row] if "point" in table.columns else "?"
    return ProfileError(f"profile {path}: row {row + 2} (point {point}): {problem}")


def _first_unknown(path: Path, table: pd.DataFrame, column: str, allowed: Iterable[str], what: str) -> None:
    names = [str(a) for a in allowed]
    values = table[column]
    bad = values.isna().to_numpy() | ~values.astype(str).isin(names).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = values.iloc[row]
        if pd.isna(value):
            raise _row_error(path, table, row, f"{column} is missing; allowed: {names}")
        hint = suggest(str(value), names)
        raise _row_error(path, table, row, f"{what} {value!r} is unknown{hint}; allowed: {names}")


def check_points(path: Path, table: pd.DataFrame, meta: Mapping[str, Any]) -> None:
    """Validate the rows of a ``timing_calibration`` table; :class:`ProfileError` naming the first bad row."""
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise ProfileError(
            f"profile {path}: column(s) {missing} are missing; columns present: {list(table.columns)}"
        )
    _first_unknown(path, table, "device", _devices(), "device")
    _first_unknown(path, table, "model", CATALOGUE, "model")
    _first_unknown(path, table, "precision", PRECISION_FORMAT, "precision")
    _first_unknown(path, table, "format", FORMATS, "format")
    _first_unknown(path, table, "phase", PHASES, "phase")
    mismatch = [FORMATS[f].precision != p for f, p in zip(table["format"], table["precision"], strict=True)]
    if any(mismatch):
        row = mismatch.index(True)
        fmt = FORMATS[str(table["format"].iloc[row])]
        given = table["precision"].iloc[row]
        problem = f"format {fmt.name!r} stores {fmt.precision} weights, not precision {given!r}"
        raise _row_error(path, table, row, problem)
    rates = pd.to_numeric(table["tokens_per_s"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(rates) | (np.nan_to_num(rates, nan=-1.0) <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _row_error(
            path, table, row, f"tokens_per_s={table['tokens_per_s'].iloc[row]} must be a finite number > 0"
        )
    sources = meta.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise ProfileError(f"profile {path}: metadata 'sources' must map source ids to their citations")
    lacking = [
        k for k, v in sources.items() if not isinstance(v, dict) or not v.get("citation") or not v.get("url")
    ]
    if lacking:
        raise ProfileError(f"profile {path}: metadata 'sources' {lacking} need a 'citation' and a 'url'")
    _first_unknown(path, table, "source", sources, "source")


def load_calibration_set(spec: str | Path | Profile = CALIBRATION_SET) -> Profile:
    """The calibration set (default: the shipped ``timing/calibration/published_rates``), validated."""
    shipped = DATA_DIR / f"{CALIBRATION_SET}.csv"
    profile = load_profile(shipped) if spec == CALIBRATION_SET else resolve_profile(spec)
    if profile.kind != "timing_calibration":
        raise ProfileError(f"profile {profile.path}: kind is {profile.kind!r}, need 'timing_calibration'")
    return profile
