"""Per-layer timing profiles from the calibrated model, in the precisions devices use (float16, int8,
int4), for every catalogue model and device class: ``profiles/data/timing/calibrated/<device>/`` holds
``calibrated_<model>_<device>_<precision>`` in the ``layer_timing`` format of the scaled profiles (so the
same loaders read them), each naming its calibration (the set, the device's fitted parameters and the
device's leave-one-out error) and the model's weight bytes in that precision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from splitgym.profiles.profile import write_profile
from splitgym.profiles.timing.calibrated import (
    PRIORS,
    CalibratedDevice,
    CalibrationFit,
    default_fit,
    step_work,
)
from splitgym.profiles.timing.calibration_set import DATA_DIR
from splitgym.profiles.timing.catalogue import CATALOGUE, Architecture, get_architecture
from splitgym.profiles.timing.formats import FORMATS, PRECISION_FORMAT, weight_bytes
from splitgym.profiles.timing.table import AXES, CATEGORIES, UNITS, timing_table

__all__ = [
    "CALIBRATED_DIR",
    "PRECISIONS",
    "calibrated_profile",
    "calibrated_profile_name",
    "write_calibrated_profiles",
]

CALIBRATED_DIR = DATA_DIR / "timing" / "calibrated"
PRECISIONS = ("float16", "int8", "int4")
_STATS = ("median_ms", "p10_ms", "p90_ms")


def calibrated_profile_name(model: str, device: str, precision: str) -> str:
    """``calibrated_<model>_<device>_<precision>`` (the file stem; the folder is the device)."""
    return f"calibrated_{model}_{device}_{precision}"


def _model_weight_bytes(arch: Architecture, precision: str) -> float:
    return arch.total_params() * weight_bytes(precision)


def calibrated_profile(
    model: str | Architecture,
    device: CalibratedDevice,
    precision: str,
    fit: CalibrationFit,
    *,
    prompt_lengths: Sequence[int] = (32, 128, 512),
    context_lengths: Sequence[int] = (128, 512, 1024),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The per-component times [ms] of ``model`` on calibrated ``device`` with ``precision`` weights, and
    the metadata naming the calibration. Prefill rows: ``n = c = S``; decode rows: ``n = 1``,
    ``c`` = tokens."""
    arch = get_architecture(model)
    b_w = weight_bytes(precision)
    rows = []
    grid = [("prefill", s, s) for s in prompt_lengths] + [("decode", c, 1) for c in context_lengths]
    for component in CATEGORIES["component"]:
        for phase, tokens, new in grid:
            flops, nbytes = step_work(arch, b_w, 1, tokens, new)[component]
            ms = float(f"{device.component_time(flops, nbytes, precision) * 1e3:.6g}")
            rows.append(
                {"component": component, "phase": phase, "tokens": tokens, "repeats": 0}
                | dict.fromkeys(_STATS, ms)
            )
    loo = fit.loo_summary(device.device.name) if "loo_rel_error" in fit.points.columns else {}
    fmt = FORMATS[PRECISION_FORMAT[precision]]
    meta = {
        "name": calibrated_profile_name(arch.name, device.device.name, precision),
        "kind": "layer_timing",
        "source": "scaled",
        "scaled_from": f"calibrated model fitted to the calibration set {fit.source}",
        "model": f"{arch.hf_id} ({arch.layers} decoder layers)",
        "device": device.device.name,
        "axes": AXES,
        "units": UNITS
        | {"repeats": "0: a calibrated-model prediction, not a measurement (p10 = median = p90)"},
        "categories": CATEGORIES,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "architecture": arch.name,
        "dtype": precision,
        "threads": None,
        "num_layers": arch.layers,
        "weight_format": {"name": fmt.name, "bits_per_weight": fmt.bits_per_weight, "source": fmt.source},
        "weight_bytes": _model_weight_bytes(arch, precision),
        "activation_dtype": "float16",
        "calibration": {
            "profile": fit.source,
            "parameters": device.parameters(),
            "loo_error": loo,
            "priors": dict(PRIORS),
            "peaks": {
                "float16_flops": device.device.peak_flops["float16"],
                "bandwidth": device.device.bandwidth,
            },
        },
        "formula": "t = max(FLOPs/(eta_c*f_c*F16), bytes/(eta_m*f_m*BW)) + overhead_s per component "
        "(splitgym.profiles.timing.calibrated)",
    }
    return timing_table(rows), meta


def write_calibrated_profiles(
    out_dir: Path = CALIBRATED_DIR,
    fit: CalibrationFit | None = None,
    *,
    devices: Iterable[str] | None = None,
    models: Iterable[str] | None = None,
    precisions: Iterable[str] = PRECISIONS,
) -> list[Path]:
    """(Re)generate the calibrated profiles under ``out_dir/<device>/`` (atomic writes); their CSV paths."""
    f = fit or default_fit()
    paths = []
    for name in devices if devices is not None else sorted(f.devices):
        dev = f.device(name)
        for model in models if models is not None else sorted(CATALOGUE):
            for precision in precisions:
                table, meta = calibrated_profile(model, dev, precision, f)
                paths.append(write_profile(table, meta, Path(out_dir) / name))
    return paths
