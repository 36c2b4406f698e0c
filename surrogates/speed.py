"""How much cheaper a surrogate evaluation is than a live one, measured in one run on this machine.

The claim that justifies a reward surrogate is speed: Chen et al. report RL training time cut from about
24 days (real LLM evaluations) to 7.7 minutes. The project's target is a ratio of at least 10,000 between
the seconds of one live evaluation and the seconds of one surrogate evaluation.
:func:`surrogate_speedup` times both on the same machine in the same process.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Any

import numpy as np

from splitgym.errors import ConfigError
from splitgym.profiles.quality import QualityModel
from splitgym.surrogates.base import RewardSurrogate, check_int
from splitgym.surrogates.quality import SurrogateQualityModel, level_range_of

__all__ = ["SPEEDUP_TARGET", "surrogate_speedup"]

SPEEDUP_TARGET = 10_000.0


def surrogate_speedup(
    live_model: QualityModel,
    surrogate: RewardSurrogate | SurrogateQualityModel,
    n_live: int = 3,
    n_surrogate: int = 10_000,
    *,
    warmup: int = 1,
    n_single: int = 1000,
    level_range: tuple[float, float] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Seconds per live evaluation and per surrogate evaluation, and their ratio.

    * Live: ``warmup`` untimed calls (a live LLM computes its clean reference on the first one), then
      ``n_live`` timed ``live_model.quality(split, level)`` calls at random interior splits and levels;
      ``live_seconds_per_eval`` is their mean.
    * Surrogate, batched: one ``predict`` of ``n_surrogate`` random ``[level, split]`` rows (the best of
      five runs, to drop interference from other processes), divided by ``n_surrogate``; per point.
    * Surrogate, single: ``n_single`` one-row ``quality(split, level)`` calls through a
      :class:`SurrogateQualityModel` (input checks included), per call: what an environment step pays.

    ``speedup`` is live per evaluation over batched surrogate per point (``speedup_single`` the same over
    single calls); ``meets_target`` compares ``speedup`` with :data:`SPEEDUP_TARGET`.
    """
    n_live = check_int("n_live", n_live, 1)
    n_surrogate = check_int("n_surrogate", n_surrogate, 1)
    warmup = check_int("warmup", warmup, 0)
    n_single = check_int("n_single", n_single, 1)
    if isinstance(surrogate, SurrogateQualityModel):
        qm = surrogate
    else:
        qm = SurrogateQualityModel(surrogate, live_model.level_name, live_model.splits)
    model = qm.surrogate
    lo, hi = level_range_of(live_model, level_range)
    rng = np.random.default_rng(seed)
    splits = np.intersect1d(np.asarray(live_model.splits), qm.splits)
    if splits.size == 0:
        raise ConfigError("the live model and the surrogate share no split")
    interior = splits[1:-1] if splits.size > 2 else splits  # the ends may not cross the channel

    for _ in range(warmup):
        live_model.quality(int(rng.choice(interior)), float(rng.uniform(lo, hi)))
    live_times = []
    for _ in range(n_live):
        split, level = int(rng.choice(interior)), float(rng.uniform(lo, hi))
        start = time.perf_counter()
        live_model.quality(split, level)
        live_times.append(time.perf_counter() - start)
    live_per_eval = float(np.mean(live_times))

    X = np.column_stack(
        [rng.uniform(lo, hi, n_surrogate), rng.choice(splits, n_surrogate).astype(np.float64)]
    )
    model.predict(X[: min(16, n_surrogate)])  # warm caches
    batch_times = []
    for _ in range(5):
        start = time.perf_counter()
        model.predict(X)
        batch_times.append(time.perf_counter() - start)
    batched = min(batch_times) / n_surrogate

    pts = [(int(s), float(lv)) for lv, s in X[:n_single]]
    while len(pts) < n_single:
        pts.extend(pts[: n_single - len(pts)])
    start = time.perf_counter()
    for s, lv in pts:
        qm.quality(s, lv)
    single = (time.perf_counter() - start) / n_single

    return {
        "live_model": type(live_model).__name__,
        "surrogate": type(model).__name__,
        "n_live": n_live,
        "live_warmup": warmup,
        "live_seconds": live_times,
        "live_seconds_per_eval": live_per_eval,
        "n_surrogate": n_surrogate,
        "surrogate_seconds_per_point_batched": batched,
        "n_single": n_single,
        "surrogate_seconds_per_call_single": single,
        "speedup": live_per_eval / batched if batched > 0 else float("inf"),
        "speedup_single": live_per_eval / single if single > 0 else float("inf"),
        "target": SPEEDUP_TARGET,
        "meets_target": bool(batched > 0 and live_per_eval / batched >= SPEEDUP_TARGET),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch_threads": sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None,
        },
    }
