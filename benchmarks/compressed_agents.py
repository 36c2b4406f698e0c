"""The trained agent on ``splitgym/CompressedSplit-v0`` against the three fixed baselines, over seeds.

Baselines (:mod:`splitgym.agents.fixed_action`): the best constant action with no compression, with
uniform compression and with the LUC policy (split and budget searched on calibration episodes, edge
answer), plus the per-request oracle as the upper bound. Every policy is evaluated on the same episodes
(episode ``i`` seeded ``eval_seed + i``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from splitgym.agents.evaluation import evaluate, summarize
from splitgym.agents.fixed_action import FixedActionPolicy, best_fixed_action
from splitgym.agents.sb3 import load_model, make_env, train
from splitgym.agents.split_baselines import SplitOraclePolicy

__all__ = ["ENV_ID", "baseline_returns", "compressed_benchmark"]

ENV_ID = "splitgym/CompressedSplit-v0"


def baseline_returns(episodes: int, eval_seed: int, calib_episodes: int = 5) -> dict[str, dict[str, Any]]:
    """Return summaries of the three fixed baselines and the oracle, with the actions chosen."""
    luc_env, uniform_env = make_env(ENV_ID), make_env(ENV_ID, {"compression": "uniform"})
    budgets = tuple(luc_env.unwrapped.config.budgets)  # type: ignore[attr-defined]
    compressed_budgets = tuple(b for b in budgets if b != "none")
    out: dict[str, dict[str, Any]] = {}
    for name, env, allowed in (
        ("fixed_none", luc_env, ("none",)),
        ("fixed_uniform", uniform_env, compressed_budgets),
        ("fixed_luc", luc_env, compressed_budgets),
    ):
        action, _ = best_fixed_action(env, allowed, episodes=calib_episodes, seed=eval_seed + 10_000)
        summary = summarize(evaluate(FixedActionPolicy(action), env, episodes, seed=eval_seed))
        out[name] = {**summary, "action": "/".join(str(x) for x in env.unwrapped.decode(action))}  # type: ignore[attr-defined]
    out["oracle"] = summarize(evaluate(SplitOraclePolicy(luc_env), luc_env, episodes, seed=eval_seed))
    return out


def compressed_benchmark(
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    algo: str = "maskable_ppo",
    n_timesteps: int | None = None,
    episodes: int = 50,
    eval_seed: int = 1_000_000,
    root: Path = Path("runs"),
    progress: bool = False,
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Train ``algo`` once per seed, evaluate it, and compare with the baselines (same episodes)."""
    base = baseline_returns(episodes, eval_seed)
    rows = []
    for seed in seeds:
        result = train(ENV_ID, algo, n_timesteps=n_timesteps, seed=seed, root=root, progress=progress)
        model, _ = load_model(result.run)
        env = make_env(ENV_ID)
        s = summarize(evaluate(model, env, episodes, seed=eval_seed))
        row: dict[str, Any] = {
            "seed": seed,
            "agent": s["return"],
            "train_s": result.seconds,
            "run": str(result.run),
        }
        for name in ("fixed_none", "fixed_uniform", "fixed_luc", "oracle"):
            row[name] = base[name]["return"]
        row["beats_all_fixed"] = all(
            s["return"] > base[n]["return"] for n in ("fixed_none", "fixed_uniform", "fixed_luc")
        )
        rows.append(row)
    return pd.DataFrame(rows), base
