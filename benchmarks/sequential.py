"""Is a suite's decision problem sequential? Planning vs myopic vs learned agents on common episodes.

For a suite whose agents include the ``random``, ``myopic`` and ``planning`` baselines (every evaluation
episode ``i`` is the same episode for every agent and seed, :data:`~splitgym.benchmarks.suite.EVAL_SEED`),
per environment:

* **non-myopic gain** ``G = mean_i (P_i - M_i) / mean_i (M_i - R_i)`` with ``P``, ``M``, ``R`` the episode
  returns of planning, myopic and random (each the mean over that baseline's seeds; they are deterministic
  given the episode, or nearly so). 95 % CI: percentile bootstrap resampling episodes (paired: one index
  picks all three returns). ``G = 0`` means looking ahead is worth nothing (a contextual bandit).
* **learned vs myopic**: per learned agent and seed ``s`` the paired differences ``d_si = A_si - M_i``;
  the mean over seeds and episodes, with a hierarchical bootstrap CI (seeds, then episodes). The agent
  beats the myopic rule when the CI's lower end is above 0.
* the learned agent's **score** ``(A - M) / (P - M)`` (0 = myopic, 1 = planning) and its real evaluations
  of the quality model in training (model-based agents count them; model-free ones evaluate the real
  environment at every step, shown as their training steps).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from splitgym.tables import markdown_table

__all__ = [
    "SEQUENTIAL_BASELINES",
    "gain_ci",
    "paired_difference_ci",
    "sequential_markdown",
    "sequential_table",
]

SEQUENTIAL_BASELINES = ("random", "myopic", "planning")


def _returns(records: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
    """Episode returns as ``(seeds, episodes)``."""
    return np.asarray([r["episodes"]["return"] for r in records], dtype=np.float64)


def gain_ci(
    planning: NDArray[np.float64],
    myopic: NDArray[np.float64],
    random: NDArray[np.float64],
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(G, low, high)``: the non-myopic gain of per-episode returns and its paired 95 % bootstrap CI."""
    p, m, r = (np.asarray(x, dtype=np.float64) for x in (planning, myopic, random))
    if not p.shape == m.shape == r.shape or p.ndim != 1 or p.size < 2:
        raise ValueError("planning, myopic and random need the same episodes (1-D, at least 2)")
    gain = float((p - m).mean() / (m - r).mean())
    idx = np.random.default_rng(seed).integers(0, p.size, size=(n_boot, p.size))
    boot = (p[idx] - m[idx]).mean(axis=1) / (m[idx] - r[idx]).mean(axis=1)
    low, high = np.quantile(boot, [0.025, 0.975])
    return gain, float(low), float(high)


def paired_difference_ci(
    agent: NDArray[np.float64], reference: NDArray[np.float64], n_boot: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """``(mean, low, high)`` of ``agent[s, i] - reference[i]`` (seeds x common episodes), 95 % CI from a
    hierarchical bootstrap: seeds with replacement, then episodes with replacement (the same episode
    indices for the agent and the reference)."""
    a = np.atleast_2d(np.asarray(agent, dtype=np.float64))
    ref = np.asarray(reference, dtype=np.float64)
    if a.shape[1] != ref.size:
        raise ValueError(f"agent has {a.shape[1]} episodes per seed, the reference {ref.size}")
    d = a - ref[None, :]
    rng = np.random.default_rng(seed)
    n_s, n_e = d.shape
    picks = rng.integers(0, n_s, size=(n_boot, n_s))
    eps = rng.integers(0, n_e, size=(n_boot, n_s, n_e))
    boot = d[picks[:, :, None], eps].mean(axis=(1, 2))
    low, high = np.quantile(boot, [0.025, 0.975])
    return float(d.mean()), float(low), float(high)


def sequential_table(
    records: Mapping[str, Sequence[Mapping[str, Any]]], n_boot: int = 2000
) -> pd.DataFrame | None:
    """One environment's table (rows: the three baselines, then each other agent), or None when one of
    :data:`SEQUENTIAL_BASELINES` has no records."""
    if any(not records.get(name) for name in SEQUENTIAL_BASELINES):
        return None
    base = {name: _returns(records[name]).mean(axis=0) for name in SEQUENTIAL_BASELINES}
    r, m, p = base["random"], base["myopic"], base["planning"]
    gain, g_lo, g_hi = gain_ci(p, m, r, n_boot=n_boot)
    spread = float(p.mean() - m.mean())
    rows: list[dict[str, Any]] = []
    for name in (*SEQUENTIAL_BASELINES, *(a for a in records if a not in SEQUENTIAL_BASELINES)):
        recs = records[name]
        ret = _returns(recs)
        diff, lo, hi = paired_difference_ci(ret, m, n_boot=n_boot)
        rows.append(
            {
                "agent": name,
                "seeds": len(recs),
                "return": float(ret.mean()),
                "minus_myopic": diff,
                "minus_myopic_ci_low": lo,
                "minus_myopic_ci_high": hi,
                "beats_myopic": bool(lo > 0.0),
                "score": float((ret.mean() - m.mean()) / spread) if spread != 0.0 else float("nan"),
                "real_evals": float(np.mean([x.get("real_evaluations_training", 0) for x in recs])),
                "train_steps": float(np.mean([x.get("timesteps", 0) for x in recs])),
                "gain": gain if name == "planning" else np.nan,
                "gain_ci_low": g_lo if name == "planning" else np.nan,
                "gain_ci_high": g_hi if name == "planning" else np.nan,
            }
        )
    return pd.DataFrame(rows)


def sequential_markdown(env_name: str, frame: pd.DataFrame) -> str:
    """The table as markdown, with the gain in the heading and how each column is computed below it."""
    plan = frame[frame.agent == "planning"].iloc[0]
    head = (
        f"### {env_name}: non-myopic gain {plan.gain:.3f} [95% CI {plan.gain_ci_low:.3f}, "
        f"{plan.gain_ci_high:.3f}]"
    )
    rows = [
        [
            a.agent,
            str(a.seeds),
            f"{a['return']:.2f}",
            f"{a.minus_myopic:+.2f} [{a.minus_myopic_ci_low:+.2f}, {a.minus_myopic_ci_high:+.2f}]",
            "yes" if a.beats_myopic else "no",
            f"{a.score:.2f}",
            f"{a.real_evals:.0f}",
            f"{a.train_steps:.0f}",
        ]
        for _, a in frame.iterrows()
    ]
    cols = ["agent", "seeds", "return", "minus myopic [95% CI]", "beats myopic", "score", "real evals"]
    table = markdown_table(pd.DataFrame(rows, columns=[*cols, "train steps"]))
    return "\n".join(
        [
            head,
            "",
            table,
            "",
            "- Gain: (planning - myopic) / (myopic - random) on the common evaluation episodes; CI from a "
            "paired bootstrap over episodes.",
            "- minus myopic: mean paired difference of episode returns; CI from a hierarchical bootstrap "
            "(seeds, then episodes). score: 0 = myopic, 1 = planning.",
            "- real evals: evaluations of the real quality model in training (model-based agents).",
            "",
        ]
    )
