"""Normalised score of PPO with the paper's settings on ``splitgym/PaperSplit-v0``.

``score = (R_agent - R_random) / (R_best_split - R_random)``: 0 is a uniformly random policy, 1 the
best-split-per-state policy read from the quality table. The planning oracle (exhaustive look-ahead,
knowing the step count) is reported beside them as an upper bound. Every policy is evaluated on the same
start states (episode ``i`` reset with seed ``eval_seed + i``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from splitgym.agents.baselines import BestSplitPolicy, PlanningOracle, RandomPolicy
from splitgym.agents.evaluation import evaluate, normalized_score, summarize
from splitgym.agents.policy import Policy
from splitgym.agents.sb3 import load_model, make_env, train
from splitgym.atomic import write_text_atomic

__all__ = ["baseline_returns", "paper_score"]

ENV_ID = "splitgym/PaperSplit-v0"


def baseline_returns(
    env_id: str, env_kwargs: dict[str, Any], episodes: int, eval_seed: int
) -> dict[str, dict[str, float]]:
    """Summaries of the random, best-split and oracle policies on the same start states."""
    env = make_env(env_id, env_kwargs)
    policies: dict[str, Policy] = {
        "random": RandomPolicy(env.action_space, seed=eval_seed),
        "best_split": BestSplitPolicy(env),
        "oracle": PlanningOracle(env),
    }
    out = {name: summarize(evaluate(p, env, episodes, seed=eval_seed)) for name, p in policies.items()}
    env.close()
    return out


def paper_score(
    observations: Sequence[str] = ("normalized", "paper"),
    seeds: Sequence[int] = (0,),
    n_timesteps: int | None = None,
    episodes: int = 1000,
    eval_seed: int = 1_000_000,
    root: Path = Path("runs"),
    out: Path | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Train PPO (paper hyperparameters) per observation mode and seed; return one row per run."""
    rows = []
    for observation in observations:
        kwargs = {"observation": observation}
        base = baseline_returns(ENV_ID, kwargs, episodes, eval_seed)
        for seed in seeds:
            result = train(
                ENV_ID,
                "ppo",
                n_timesteps=n_timesteps,
                seed=seed,
                env_kwargs=kwargs,
                root=root,
                progress=progress,
            )
            model, _ = load_model(result.run)
            env = make_env(ENV_ID, kwargs)
            agent = summarize(evaluate(model, env, episodes, seed=eval_seed))
            env.close()
            returns = {name: s["return"] for name, s in base.items()} | {"ppo": agent["return"]}
            rows.append(
                {
                    "observation": observation,
                    "seed": seed,
                    "timesteps": result.timesteps,
                    "train_s": round(result.seconds, 1),
                    "ppo": agent["return"],
                    "random": returns["random"],
                    "best_split": returns["best_split"],
                    "oracle": returns["oracle"],
                    "score": normalized_score(returns, "ppo", "random", "best_split"),
                    "oracle_score": normalized_score(returns, "oracle", "random", "best_split"),
                    "run": str(result.run),
                }
            )
    frame = pd.DataFrame(rows)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "paper_score.csv", frame.to_csv(index=False))
    return frame
