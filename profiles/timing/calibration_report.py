"""The calibration error report (``splitgym profile calibration``): every point measured against the fitted
and the leave-one-out prediction, and per device class and phase the median and worst absolute error.

Relative error = predicted / measured − 1 (a rate; +0.10 means the model is 10 % too fast).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from splitgym.atomic import write_text_atomic
from splitgym.profiles.timing.calibrated import CalibrationFit, default_fit
from splitgym.tables import markdown_table, terminal_table

__all__ = [
    "CalibrationReport",
    "calibration_command",
    "calibration_report",
    "render_calibration_report",
    "write_calibration_report",
]

POINT_COLUMNS = [
    "point", "device", "model", "precision", "format", "phase", "tokens", "measured", "predicted",
    "loo_predicted", "rel_error", "loo_rel_error", "framework", "source",
]  # fmt: skip


@dataclass(frozen=True)
class CalibrationReport:
    """Per-point table, per device class and phase summary, and the whole-set summary per phase."""

    points: pd.DataFrame
    summary: pd.DataFrame
    overall: pd.DataFrame
    source: str


def _summarise(points: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    err = points.assign(fit_abs=points["rel_error"].abs(), loo_abs=points["loo_rel_error"].abs())
    grouped = err.groupby(keys, sort=True)
    out = pd.DataFrame(
        {
            "n": grouped.size(),
            "loo_median_abs": grouped["loo_abs"].median(),
            "loo_worst_abs": grouped["loo_abs"].max(),
            "fit_median_abs": grouped["fit_abs"].median(),
            "fit_worst_abs": grouped["fit_abs"].max(),
        }
    )
    return out.reset_index()


def calibration_report(fit: CalibrationFit | None = None) -> CalibrationReport:
    """The report of ``fit`` (default: the fit with leave-one-out to the shipped calibration set)."""
    f = fit or default_fit()
    if "loo_rel_error" not in f.points.columns:
        raise ValueError("the fit has no leave-one-out predictions; fit with loo=True")
    points = f.points.rename(columns={"tokens_per_s": "measured"})[POINT_COLUMNS]
    phases = ["decode", "prefill"]
    by_device = _summarise(points, ["device", "phase"])
    every_device = _summarise(points.assign(phase="all"), ["device", "phase"])
    summary = pd.concat([by_device, every_device]).sort_values(["device", "phase"]).reset_index(drop=True)
    overall = _summarise(points, ["phase"]).set_index("phase").loc[phases].reset_index()
    return CalibrationReport(points=points, summary=summary, overall=overall, source=f.source)


def _markdown(report: CalibrationReport) -> str:
    return (
        f"# Timing calibration against published rates ({report.source})\n\n"
        "Relative error = predicted / measured - 1; LOO = refit without the point.\n\n"
        f"## Whole set, per phase\n\n{markdown_table(report.overall, 3)}\n"
        f"## Per device class and phase\n\n{markdown_table(report.summary, 3)}\n"
        f"## Every point (tokens/s)\n\n{markdown_table(report.points, 3)}"
    )


def write_calibration_report(report: CalibrationReport, out_dir: str | Path) -> list[Path]:
    """Write ``calibration_points.csv``, ``calibration_summary.csv``, ``calibration_overall.csv`` and
    ``calibration.md`` into ``out_dir`` atomically; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "calibration_points.csv": report.points.to_csv(index=False),
        "calibration_summary.csv": report.summary.to_csv(index=False),
        "calibration_overall.csv": report.overall.to_csv(index=False),
        "calibration.md": _markdown(report),
    }
    paths = []
    for name, text in files.items():
        write_text_atomic(out / name, text)
        paths.append(out / name)
    return paths


def _percent(frame: pd.DataFrame) -> pd.DataFrame:
    """Error columns as percentages (``<name> %``) for people."""
    errors = [c for c in frame.columns if c.endswith(("_abs", "rel_error"))]
    return frame.assign(**{c: frame[c] * 100 for c in errors}).rename(columns={c: f"{c} %" for c in errors})


def render_calibration_report(report: CalibrationReport, *, points: bool = True, width: int = 160) -> str:
    """Terminal rendering: whole-set and per-device summaries (errors in %), then (optionally) every point."""
    parts = [
        f"Timing calibration: {len(report.points)} published points ({report.source}); "
        "error = predicted / measured - 1, LOO = refit without the point",
        terminal_table(_percent(report.overall), "Whole set, per phase", 1, width),
        terminal_table(_percent(report.summary), "Per device class and phase", 1, width),
    ]
    if points:
        shown = _percent(report.points.drop(columns=["framework", "source"]))
        parts.append(terminal_table(shown, "Every point (tokens/s)", 1, width))
    return "\n".join(parts)


def calibration_command(out_dir: str | Path | None = None, points: bool = True) -> str:
    """``splitgym profile calibration``: the report rendered, and written into ``out_dir`` if given."""
    report = calibration_report()
    text = render_calibration_report(report, points=points)
    if out_dir is not None:
        written = write_calibration_report(report, out_dir)
        text += "\nwritten: " + ", ".join(str(p) for p in written)
    return text
