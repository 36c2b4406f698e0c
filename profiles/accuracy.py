"""Accuracy profiles: sweep split x channel level with a live quality model, several repeats per cell.

The result is a ``quality_grid`` profile (CSV + JSON metadata) with, per (level, split) cell, the mean and
standard deviation over repeats of quality ``Q = 1 - PPL/PPL_clean``, perplexity and next-token accuracy.
Each repeat draws fresh corruption (seed ``seed + repeat``).
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from splitgym.errors import ConfigError
from splitgym.profiles.profile import write_profile
from splitgym.profiles.quality.live import LiveQualityModel

__all__ = ["DEFAULT_LEVELS", "LEVEL_UNITS", "measure_accuracy_profile", "sweep_accuracy"]

DEFAULT_LEVELS: dict[str, tuple[float, ...]] = {
    "impairment": tuple(round(0.02 * i, 2) for i in range(16)),  # 0 .. 0.30, the paper's range
    "snr_db": tuple(float(v) for v in range(-10, 31, 5)),  # -10 .. 30 dB
    "activation_bits": (4.0, 8.0, 16.0),  # int4, int8, fp16 hidden states (the v1 digital link)
}
LEVEL_UNITS: dict[str, str] = {
    "impairment": "element-erasure probability",
    "snr_db": "symbol SNR Es/N0 (dB)",
    "activation_bits": "bits per element of the sent hidden state (16 = fp16; else int, absmax per token)",
}


def sweep_accuracy(
    live: LiveQualityModel,
    levels: Sequence[float] | None = None,
    splits: Sequence[int] | None = None,
    repeats: int = 3,
    progress: bool = False,
) -> pd.DataFrame:
    """One row per (level, split): mean and std over ``repeats`` of quality, perplexity and accuracy."""
    from tqdm import tqdm

    if repeats < 1:
        raise ConfigError(f"repeats must be >= 1, got {repeats}")
    levels = list(levels if levels is not None else DEFAULT_LEVELS[live.level_name])
    splits = list(splits if splits is not None else live.splits.tolist())
    if sorted(set(levels)) != levels or sorted(set(splits)) != splits:
        raise ConfigError("levels and splits must be strictly increasing")
    rows = []
    with tqdm(total=len(levels) * len(splits) * repeats, disable=not progress, desc="accuracy sweep") as bar:
        for level in levels:
            for split in splits:
                runs = []
                for r in range(repeats):
                    runs.append(live.evaluate(split, level, seed=live.seed + 1000 * r + 7 * split))
                    bar.update(1)
                frame = pd.DataFrame(runs)
                rows.append(
                    {
                        live.level_name: level,
                        "split": split,
                        "quality": frame["quality"].mean(),
                        "quality_std": frame["quality"].std(ddof=1) if repeats > 1 else 0.0,
                        "perplexity": frame["perplexity"].mean(),
                        "perplexity_std": frame["perplexity"].std(ddof=1) if repeats > 1 else 0.0,
                        "accuracy": frame["accuracy"].mean(),
                        "accuracy_std": frame["accuracy"].std(ddof=1) if repeats > 1 else 0.0,
                    }
                )
    return pd.DataFrame(rows)


def accuracy_metadata(live: LiveQualityModel, name: str, repeats: int, seconds: float) -> dict[str, Any]:
    """Provenance of an accuracy profile measured with ``live``."""
    import torch
    import transformers

    clean = live.clean()
    level = live.level_name
    return {
        "name": name,
        "kind": "quality_grid",
        "source": "measured",
        "model": live.lm.name,
        "device": platform.processor() or platform.machine(),
        "channel_axis": level,
        "quality_column": "quality",
        "axes": [level, "split"],
        "operator": live.operator.describe(),
        "units": {
            level: LEVEL_UNITS.get(level, level),
            "split": "decoder layers on the device (count)",
            "quality": "1 - PPL/PPL_clean (dimensionless), mean over repeats",
            "quality_std": "standard deviation over repeats",
            "perplexity": "exp(mean next-token NLL), mean over repeats",
            "perplexity_std": "standard deviation over repeats",
            "accuracy": "next-token accuracy (fraction), mean over repeats",
            "accuracy_std": "standard deviation over repeats",
        },
        "text": {"tokens": live.num_tokens, "window": int(live._ids.shape[1]), "source": "held-out text"},
        "clean": clean,
        "repeats": repeats,
        "seed": live.seed,
        "wall_time_s": round(seconds, 1),
        "versions": {
            "torch": str(torch.__version__),
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
        "threads": torch.get_num_threads(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }


def measure_accuracy_profile(
    out: Path,
    model: str | Path = "reference",
    operator: str = "erasure",
    levels: Sequence[float] | None = None,
    repeats: int = 3,
    n_tokens: int = 2048,
    seed: int = 0,
    progress: bool = False,
    name: str | None = None,
    **operator_params: Any,
) -> Path:
    """Sweep a live model and write the accuracy profile ``<model>_<operator>[_params]`` into ``out``."""
    import time

    live = LiveQualityModel(model, operator, n_tokens=n_tokens, seed=seed, **operator_params)
    start = time.perf_counter()
    table = sweep_accuracy(live, levels, repeats=repeats, progress=progress)
    suffix = "".join(f"_{k}{v}" for k, v in sorted(operator_params.items()))
    name = name or f"{live.lm.name}_{operator}{suffix}".replace(".", "p")
    meta = accuracy_metadata(live, name, repeats, time.perf_counter() - start)
    return write_profile(table.round(6), meta, out)
