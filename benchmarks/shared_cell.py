"""The shared-cell suite: every cell baseline at N users per cell, SLO attainment, throughput, quality,
energy and fairness, with seeds and confidence intervals; ``splitgym benchmark cell`` is the command.

For each N and method, ``seeds`` episodes of ``steps`` requests per device run on common seeds (episode
``i`` has seed ``i`` for every method, so the devices' positions and channels are the same). Per episode::

    SLO attainment  share of requests with TTFT <= ttft_slo_s and TBT P99 <= tbt_slo_s (and no outage)
    throughput      tokens delivered per second of request time: sum G (1 - outage) / sum latency  [tok/s]
    quality         mean quality score (0 in outage);  energy: mean device energy per request [J]
    reward          mean reward per request;  Jain     (sum x)^2 / (N sum x^2), x = a device's delivered
                    tokens in the episode (1: all devices served alike)

The tables give the mean over episodes with a 95 % percentile-bootstrap interval over episodes
(``scipy.stats.bootstrap``, 2,000 resamples, seeded).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import bootstrap
from tqdm import tqdm

from splitgym.atomic import write_text_atomic
from splitgym.tables import markdown_table

__all__ = ["METRICS", "cell_suite", "plot_slo", "summarise", "write_cell_suite"]

METRICS = ("slo", "throughput_tok_s", "quality", "energy_j", "reward", "jain")
DEFAULT_METHODS = ("device", "edge", "random", "myopic", "neurosurgeon", "centralised")


def _episode(n_users: int, method: str, seed: int, steps: int) -> dict[str, float | int | str]:
    from splitgym.agents.cell_baselines import make_cell_baseline
    from splitgym.envs.multi import parallel_env

    env = parallel_env(n_users=n_users, max_steps=steps)
    policy = make_cell_baseline(method, env)
    env.reset(seed=seed)
    G = env.cell.new_tokens
    slo, lat, tokens, quality, energy, reward = [], [], np.zeros(n_users), [], [], []
    while env.agents:
        env.step(policy(env))
        out = env.last_outcome
        assert out is not None
        slo.append(out.slo_ok)
        lat.append(out.latency_s)
        tokens += G * ~out.outage
        quality.append(out.quality_score)
        energy.append(out.energy_j)
        reward.append(out.reward)
    jain = float(tokens.sum() ** 2 / (n_users * (tokens**2).sum())) if tokens.any() else 0.0
    return {
        "n_users": n_users, "method": method, "seed": seed, "slo": float(np.mean(slo)),
        "throughput_tok_s": float(tokens.sum() / np.sum(lat)), "quality": float(np.mean(quality)),
        "energy_j": float(np.mean(energy)), "reward": float(np.mean(reward)), "jain": jain,
    }  # fmt: skip


def cell_suite(
    users: Sequence[int], methods: Sequence[str] = DEFAULT_METHODS, seeds: int = 3, steps: int = 10
) -> pd.DataFrame:
    """One row per (N, method, episode seed) with :data:`METRICS` (validated before anything runs)."""
    from splitgym.agents.cell_baselines import CELL_BASELINES
    from splitgym.envs.checks import choice
    from splitgym.envs.multi import cell_config

    for m in methods:
        choice("method", m, CELL_BASELINES)
    for n in users:
        cell_config(n_users=n)
    jobs = [(n, m, s) for n in users for m in methods for s in range(seeds)]
    rows = [_episode(n, m, s, steps) for n, m, s in tqdm(jobs, desc="shared cell", unit="episode")]
    return pd.DataFrame(rows)


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and bootstrap 95 % interval of every metric per (N, method)."""
    out = []
    for (n, m), g in frame.groupby(["n_users", "method"], sort=False):
        row: dict[str, object] = {"N": n, "method": m, "episodes": len(g)}
        for metric in METRICS:
            x = g[metric].to_numpy()
            if len(x) > 1 and np.ptp(x) > 0:
                ci = bootstrap((x,), np.mean, n_resamples=2000, method="percentile", random_state=0)
                lo, hi = ci.confidence_interval
            else:
                lo = hi = float(x.mean())
            row[metric] = f"{x.mean():.3g} [{lo:.3g}, {hi:.3g}]"
        out.append(row)
    return pd.DataFrame(out)


def plot_slo(frame: pd.DataFrame, path: Path) -> Path:
    """SLO attainment against N per method (mean over episodes, bootstrap 95 % bars)."""
    from splitgym.style import figure, legend_outside, method_label, method_styles, save_figure

    fig, ax = figure(width_in=6.0, height_in=3.4)
    styles = method_styles(frame["method"].unique())
    for m, g in frame.groupby("method", sort=False):
        stats = g.groupby("n_users")["slo"]
        n = np.asarray(sorted(g["n_users"].unique()))
        mean = stats.mean().reindex(n).to_numpy()
        err = 1.96 * (stats.std(ddof=1) / np.sqrt(stats.count())).reindex(n).fillna(0).to_numpy()
        ax.errorbar(n, mean, yerr=err, capsize=3, label=method_label(str(m)), **styles[str(m)].line())
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(frame["n_users"].unique()))
    ax.get_xaxis().set_major_formatter("{x:.0f}")
    ax.set_xlabel("devices in the cell N (count)")
    ax.set_ylabel("SLO attainment (share of requests)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Shared cell: TTFT P90 2 s, TBT P99 0.2 s")
    legend_outside(ax)
    return save_figure(fig, path)


def write_cell_suite(frame: pd.DataFrame, out: Path, command: str) -> list[Path]:
    """``cells.csv`` (per episode), ``README.md`` (the table and the command) and ``slo.png``."""
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "cells.csv"
    write_text_atomic(csv, frame.to_csv(index=False))
    png = plot_slo(frame, out / "slo.png")
    text = "\n".join(
        [
            "# Shared cell: baselines against the number of devices",
            "",
            f"Made with `{command}` (module `splitgym.benchmarks.shared_cell`). Mean over episodes with a "
            "95 % bootstrap interval; every method runs the same episode seeds.",
            "",
            markdown_table(summarise(frame)),
            "",
            "![SLO attainment against N](slo.png)",
            "",
        ]
    )
    md = out / "README.md"
    write_text_atomic(md, text)
    return [csv, md, png]
