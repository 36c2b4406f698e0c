"""How faithful a surrogate is to the real reward: error, fit and calibration on held-out samples.

:func:`fidelity_report` evaluates a fitted surrogate on ``(X, y)`` (real evaluations it did not train on)
and returns

* ``n``: samples; ``mae``, ``rmse``, ``max_abs_error``, ``bias`` (mean of prediction - target) in the
  target's units;
* ``r2``: ``1 - SSE / SST`` (NaN when the targets are all equal);
* ``calibration``: the share of targets inside ``mean ± z·std``, to compare with ``nominal_coverage``
  (``erf(z / sqrt 2)``, 0.95 for ``z = 1.96``) -- above it the uncertainty is too wide, below it too
  narrow; a model without uncertainty (``std = 0``) covers only exact hits;
* ``mean_std``: the mean predicted standard deviation; ``z``.

:func:`fidelity_markdown` renders one or several reports as a Markdown table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from splitgym.errors import ConfigError
from splitgym.surrogates.base import RewardSurrogate, as_inputs, as_targets, check_float

__all__ = ["FIDELITY_COLUMNS", "fidelity_markdown", "fidelity_metrics", "fidelity_report"]

# (key, Markdown header) in table order.
FIDELITY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("n", "n"),
    ("mae", "MAE"),
    ("rmse", "RMSE"),
    ("max_abs_error", "max abs err"),
    ("bias", "bias"),
    ("r2", "R²"),
    ("calibration", "calibration"),
    ("nominal_coverage", "nominal"),
    ("mean_std", "mean std"),
)


def fidelity_metrics(
    y: ArrayLike, mean: ArrayLike, std: ArrayLike | None = None, z: float = 1.96
) -> dict[str, float]:
    """The fidelity metrics of predictions ``mean`` (± ``z``·``std``; 0 when None) against targets ``y``."""
    z = check_float("z", z, 0.0, 100.0)
    t = as_targets(y, int(np.shape(y)[0]) if np.ndim(y) else 0)
    if t.size == 0:
        raise ConfigError("y must hold at least one target, got none")
    m = as_targets(mean, t.size, name="mean")
    s = np.zeros_like(t) if std is None else as_targets(std, t.size, name="std")
    if np.any(s < 0):
        raise ConfigError("std must be >= 0 everywhere, got a negative value")
    err = m - t
    sse = float(np.sum(err**2))
    sst = float(np.sum((t - t.mean()) ** 2))
    return {
        "n": float(t.size),
        "mae": float(np.mean(np.abs(err))),
        "rmse": math.sqrt(sse / t.size),
        "max_abs_error": float(np.max(np.abs(err))),
        "bias": float(np.mean(err)),
        "r2": 1.0 - sse / sst if sst > 0 else math.nan,
        "calibration": float(np.mean(np.abs(err) <= z * s)),
        "nominal_coverage": math.erf(z / math.sqrt(2.0)),
        "mean_std": float(np.mean(s)),
        "z": z,
    }


def fidelity_report(
    surrogate: RewardSurrogate, X: ArrayLike, y: ArrayLike, z: float = 1.96
) -> dict[str, float]:
    """The fidelity of ``surrogate`` on held-out inputs ``X`` and real targets ``y`` (see the module)."""
    x = as_inputs(X)
    t = as_targets(y, x.shape[0])
    mean, std = surrogate.predict(x)
    return fidelity_metrics(t, mean, std, z)


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return ""
        return str(int(v)) if v.is_integer() and abs(v) >= 1 else f"{v:.{digits}g}"
    return str(value)


def fidelity_markdown(reports: Mapping[str, Mapping[str, Any]] | Mapping[str, Any], digits: int = 4) -> str:
    """A Markdown table of one report (a row named ``surrogate``) or of ``{name: report}`` (a row each);
    numbers with ``digits`` significant digits."""
    rows: Mapping[str, Any] = {"surrogate": reports} if "mae" in reports else reports
    header = ["surrogate", *(h for _, h in FIDELITY_COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for name, rep in rows.items():
        if not isinstance(rep, Mapping):
            raise ConfigError(
                f"reports must map names to fidelity reports, got {type(rep).__name__} for {name!r}"
            )
        cells = [str(name), *(_cell(rep.get(key, math.nan), digits) for key, _ in FIDELITY_COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
