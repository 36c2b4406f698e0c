"""Real evaluations needed to reach the oracle: model-based agents against PPO on the real model.

* :func:`budget_sweep` trains, for each budget of real evaluations and seed, the paper's model-based agent
  (:class:`~splitgym.agents.model_based.PaperModelBasedAgent`) and the active one
  (:class:`~splitgym.agents.model_based.ActiveModelBasedAgent`) and evaluates both on
  ``splitgym/PaperSplitDirect-v0`` with the REAL quality model (common episodes, seeds ``1_000_000 + i``),
  next to the planning oracle and a random policy on the same episodes.
* :func:`ppo_direct_cost` trains PPO directly on the real-model environment and counts the real
  evaluations it spends (a :class:`~splitgym.profiles.CountingQualityModel`) at each training length.
* :func:`smallest_budget_reaching` reads either frame: per agent, the fewest real evaluations whose mean
  return (over seeds) reaches ``fraction`` of the oracle's.

The oracle is :class:`~splitgym.agents.policies.paper.PlanningOracle` on the evaluation environment: it plans
with the environment's own quality model, by exhaustive look-ahead (``10^5`` action sequences per first
decision, each a batch of quality evaluations). That is exact and cheap for a table; for an expensive
model (a live LLM) pass ``oracle_model``, a table of the same model, to plan with instead (the oracle's
return is then still measured on the real model).

``fraction_of_oracle`` is ``return / oracle_return``; ``normalized_score`` is
``(return - random) / (oracle - random)`` (0: random, 1: oracle).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from splitgym.agents.evaluation import evaluate
from splitgym.agents.model_based import (
    ENV_ID,
    PAPER_PPO_KWARGS,
    PAPER_TIMESTEPS,
    ActiveModelBasedAgent,
    PaperModelBasedAgent,
)
from splitgym.agents.policies.base import Policy
from splitgym.agents.policies.paper import PlanningOracle, RandomPolicy
from splitgym.errors import ConfigError
from splitgym.profiles.quality import CountingQualityModel, QualityModel

__all__ = [
    "EVAL_SEED",
    "budget_sweep",
    "ppo_direct_cost",
    "real_model_of",
    "reference_returns",
    "run_budget_sweep",
    "smallest_budget_reaching",
    "write_results",
]

EVAL_SEED = 1_000_000
AGENTS = ("paper", "active")


def _env(model: QualityModel, env_kwargs: Mapping[str, Any] | None) -> gym.Env[Any, Any]:
    return gym.make(ENV_ID, quality_model=model, **dict(env_kwargs or {}))


def _env_factory(
    model: QualityModel, env_kwargs: Mapping[str, Any] | None
) -> Callable[[], gym.Env[Any, Any]]:
    return lambda: _env(model, env_kwargs)


def _mean_return(policy: Policy, env: gym.Env[Any, Any], episodes: int) -> float:
    return float(evaluate(policy, env, episodes, seed=EVAL_SEED)["return"].mean())


def reference_returns(
    real_model: QualityModel,
    episodes: int,
    eval_env_kwargs: Mapping[str, Any] | None = None,
    oracle_model: QualityModel | None = None,
) -> dict[str, float]:
    """Mean returns of the planning oracle and a random policy on the common evaluation episodes.

    The oracle plans with ``oracle_model`` (default ``real_model``); both are measured on ``real_model``.
    """
    env = _env(real_model, eval_env_kwargs)
    planner_env = env if oracle_model is None else _env(oracle_model, eval_env_kwargs)
    oracle = PlanningOracle(planner_env)
    out = {
        "oracle": _mean_return(oracle, env, episodes),
        "random": _mean_return(RandomPolicy(env.action_space, seed=EVAL_SEED), env, episodes),
    }
    env.close()
    return out


def _row(
    agent: str, budget: int, seed: int, ret: float, refs: Mapping[str, float], counts: Mapping[str, float]
) -> dict[str, Any]:
    span = refs["oracle"] - refs["random"]
    return {
        "agent": agent,
        "budget": int(budget),
        "seed": int(seed),
        "real_evaluations": int(counts["real_evaluations"]),
        "surrogate_evaluations": int(counts.get("surrogate_evaluations", 0)),
        "real_seconds": float(counts["real_seconds"]),
        "surrogate_seconds": float(counts.get("surrogate_seconds", 0.0)),
        "train_seconds": float(counts["train_seconds"]),
        "return": ret,
        "oracle_return": refs["oracle"],
        "random_return": refs["random"],
        "fraction_of_oracle": ret / refs["oracle"] if refs["oracle"] else float("nan"),
        "normalized_score": (ret - refs["random"]) / span if span else float("nan"),
    }


def budget_sweep(
    real_model: QualityModel,
    budgets: Sequence[int],
    seeds: Sequence[int] = (0,),
    episodes: int = 50,
    eval_env_kwargs: Mapping[str, Any] | None = None,
    *,
    n_timesteps: int = PAPER_TIMESTEPS,
    agents: Sequence[str] = AGENTS,
    active_kwargs: Mapping[str, Any] | None = None,
    paper_kwargs: Mapping[str, Any] | None = None,
    oracle_model: QualityModel | None = None,
    references: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per (agent, budget, seed): counts, times, the real-model return and its share of the oracle.

    ``eval_env_kwargs`` configure both the training (surrogate) and the evaluation environment. A paper
    agent whose budget cannot buy a grid of 2 levels per split is skipped (no row). ``references``: the
    oracle and random returns if already known (see :func:`reference_returns`).
    """
    unknown = sorted(set(agents) - set(AGENTS))
    if unknown:
        raise ConfigError(f"agents must be among {list(AGENTS)}, got {unknown}")
    refs = dict(references or reference_returns(real_model, episodes, eval_env_kwargs, oracle_model))
    env = _env(real_model, eval_env_kwargs)
    n_splits = env.action_space.n if isinstance(env.action_space, gym.spaces.Discrete) else 0
    rows = []
    for budget in budgets:
        for seed in seeds:
            built: list[tuple[str, PaperModelBasedAgent | ActiveModelBasedAgent]] = []
            if "paper" in agents and budget >= 2 * n_splits:
                built.append(
                    (
                        "paper",
                        PaperModelBasedAgent(
                            real_model,
                            budget,
                            seed=seed,
                            n_timesteps=n_timesteps,
                            env_kwargs=eval_env_kwargs,
                            **dict(paper_kwargs or {}),
                        ),
                    )
                )
            if "active" in agents:
                built.append(
                    (
                        "active",
                        ActiveModelBasedAgent(
                            real_model,
                            budget,
                            seed=seed,
                            n_timesteps=n_timesteps,
                            env_kwargs=eval_env_kwargs,
                            **dict(active_kwargs or {}),
                        ),
                    )
                )
            for name, agent in built:
                agent.fit()
                rows.append(
                    _row(name, budget, seed, _mean_return(agent, env, episodes), refs, agent.counts())
                )
    env.close()
    return pd.DataFrame(rows)


def ppo_direct_cost(
    real_model: QualityModel,
    seeds: Sequence[int],
    n_timesteps_grid: Sequence[int],
    episodes: int = 50,
    eval_env_kwargs: Mapping[str, Any] | None = None,
    *,
    ppo_kwargs: Mapping[str, Any] | None = None,
    references: Mapping[str, float] | None = None,
    oracle_model: QualityModel | None = None,
) -> pd.DataFrame:
    """PPO trained on the real-model environment: one row per (training length, seed), ``budget`` being
    the training length and ``real_evaluations`` the real evaluations its training spent so far (one
    PPO per seed, trained on to each length in turn; evaluation episodes are not counted)."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    torch.set_num_threads(1)
    grid = sorted(int(n) for n in n_timesteps_grid)
    if not grid or grid[0] < 1:
        raise ConfigError(f"n_timesteps_grid must be positive integers, got {list(n_timesteps_grid)}")
    refs = dict(references or reference_returns(real_model, episodes, eval_env_kwargs, oracle_model))
    eval_env = _env(real_model, eval_env_kwargs)
    rows = []
    for seed in seeds:
        counter = CountingQualityModel(real_model)
        vec = DummyVecEnv([_env_factory(counter, eval_env_kwargs)])
        kwargs: dict[str, Any] = {"verbose": 0, "device": "cpu", "seed": int(seed)}
        kwargs.update(PAPER_PPO_KWARGS if ppo_kwargs is None else ppo_kwargs)
        model = PPO("MlpPolicy", vec, **kwargs)
        done, seconds = 0, 0.0
        for steps in grid:
            start = time.perf_counter()
            model.learn(total_timesteps=steps - done, reset_num_timesteps=done == 0)
            seconds += time.perf_counter() - start
            done = steps
            counts = {
                "real_evaluations": counter.points,
                "real_seconds": counter.seconds,
                "train_seconds": seconds,
            }
            rows.append(
                _row("ppo_direct", steps, int(seed), _mean_return(model, eval_env, episodes), refs, counts)
            )
        vec.close()
    eval_env.close()
    return pd.DataFrame(rows)


def smallest_budget_reaching(
    frame: pd.DataFrame, fraction: float = 0.95, column: str = "fraction_of_oracle"
) -> dict[str, float]:
    """Per agent, the fewest mean real evaluations (over seeds) at a budget whose mean ``column`` reaches
    ``fraction``; NaN when no budget does."""
    out: dict[str, float] = {}
    if frame.empty:
        return out
    means = frame.groupby(["agent", "budget"], sort=True)[[column, "real_evaluations"]].mean().reset_index()
    for agent, group in means.groupby("agent", sort=True):
        ok = group[group[column] >= fraction]
        out[str(agent)] = float(ok["real_evaluations"].min()) if len(ok) else float(np.nan)
    return out


def write_results(frame: pd.DataFrame, folder: str | Path, name: str = "budget_sweep") -> dict[str, float]:
    """Write ``{name}.csv`` and ``{name}.md`` (per agent and budget means, then the smallest numbers of
    real evaluations reaching 95 % of the oracle) into ``folder``; return those numbers."""
    from splitgym.atomic import write_text_atomic
    from splitgym.tables import markdown_table

    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path / f"{name}.csv", frame.to_csv(index=False))
    cols = [
        "real_evaluations",
        "surrogate_evaluations",
        "return",
        "fraction_of_oracle",
        "normalized_score",
        "real_seconds",
        "train_seconds",
    ]
    means = frame.groupby(["agent", "budget"], sort=True)[cols].mean().reset_index()
    means.insert(2, "seeds", frame.groupby(["agent", "budget"], sort=True).size().to_numpy())
    reach = smallest_budget_reaching(frame, 0.95)
    refs = frame[["oracle_return", "random_return"]].iloc[0] if len(frame) else None
    lines = [f"# {name}", ""]
    if refs is not None:
        lines += [
            f"Oracle return {refs['oracle_return']:.4f}, random return {refs['random_return']:.4f} "
            f"(mean over the common evaluation episodes).",
            "",
        ]
    lines += [
        markdown_table(means),
        "",
        "Smallest mean real evaluations reaching 95 % of the oracle's return:",
        "",
    ]
    lines += [f"* {agent}: {value:g}" for agent, value in reach.items()]
    lines += [
        "",
        "Smallest mean real evaluations reaching a normalised score of 0.95 (random 0, oracle 1):",
        "",
    ]
    normalized = smallest_budget_reaching(frame, 0.95, column="normalized_score")
    lines += [f"* {agent}: {value:g}" for agent, value in normalized.items()]
    write_text_atomic(path / f"{name}.md", "\n".join(lines) + "\n")
    return reach


def real_model_of(spec: str) -> tuple[QualityModel, QualityModel | None]:
    """The real quality model of ``spec`` (``live[:MODEL[:OPERATOR]]`` or a profile name) and, for a live
    one, the table its oracle plans with."""
    from splitgym.profiles.quality import TableQualityModel, resolve_quality_model

    model = resolve_quality_model(spec)
    if isinstance(model, TableQualityModel):
        return model, None
    operator = spec.split(":")[2] if spec.count(":") >= 2 else "erasure"
    return model, TableQualityModel(f"accuracy/reference_{operator}")


def run_budget_sweep(
    real_spec: str,
    budgets: Sequence[int],
    seeds: Sequence[int],
    episodes: int,
    n_timesteps: int,
    ppo_steps: Sequence[int],
    out: Path | None,
    name: str = "budget_sweep",
    resume: bool = False,
) -> str:
    """The whole sweep: both model-based agents at every budget and seed and direct PPO at every training
    length, saved after every piece into ``out/<name>.{csv,md}`` (``resume`` keeps the rows already there,
    with their oracle and random returns, and runs only what is missing); the text to print."""
    import torch

    from splitgym.tables import terminal_table

    torch.set_num_threads(1)
    real, planner = real_model_of(real_spec)
    csv = (out or Path(".")) / f"{name}.csv"
    done = pd.read_csv(csv) if resume and csv.is_file() else pd.DataFrame()
    if len(done):  # the same references as the rows already there, so every row is comparable
        refs = {
            "oracle": float(done["oracle_return"].iloc[0]),
            "random": float(done["random_return"].iloc[0]),
        }
    else:
        refs = reference_returns(real, episodes, oracle_model=planner)
    lines = [f"real model {real_spec}: oracle return {refs['oracle']:.4f}, random {refs['random']:.4f}"]
    frames = [done]

    def save() -> None:
        so_far = pd.concat(frames, ignore_index=True)
        if out is not None and "agent" in so_far:
            write_results(so_far, out, name=name)

    have = set(zip(done.get("agent", []), done.get("budget", []), done.get("seed", []), strict=True))
    for agent in ("paper", "active"):
        for budget in budgets:
            for s in seeds:
                if (agent, budget, s) not in have:
                    frames.append(
                        budget_sweep(
                            real,
                            [budget],
                            seeds=(s,),
                            episodes=episodes,
                            references=refs,
                            n_timesteps=n_timesteps,
                            agents=(agent,),
                        )
                    )
                    save()
    for s in seeds:  # direct PPO trains on through its lengths: a seed missing any length is redone
        if not all(("ppo_direct", n, s) in have for n in ppo_steps):
            frames = [f[~((f["agent"] == "ppo_direct") & (f["seed"] == s))] if len(f) else f for f in frames]
            frames.append(ppo_direct_cost(real, (s,), ppo_steps, episodes, references=refs))
            save()
    frame = pd.concat(frames, ignore_index=True)
    means = frame.groupby(["agent", "budget"], sort=True)[["real_evaluations", "fraction_of_oracle"]].mean()
    means = means.reset_index().rename(
        columns={"real_evaluations": "real evaluations", "fraction_of_oracle": "share of oracle return"}
    )
    lines.append(terminal_table(means, "mean over seeds (budget: real evaluations allowed; PPO: steps)"))
    reach = smallest_budget_reaching(frame, 0.95)
    lines.append("smallest real evaluations reaching 95 % of the oracle's return (NaN: not reached):")
    lines += [f"  {a:<11} {reach.get(a, float('nan')):g}" for a in ("paper", "active", "ppo_direct")]
    paper, active, ppo = (reach.get(a, float("nan")) for a in ("paper", "active", "ppo_direct"))
    lines.append(
        f"active / paper = {active / paper:.3f} (goal <= 0.5); paper / PPO = {paper / ppo:.3f}, "
        f"active / PPO = {active / ppo:.3f} (goal <= 0.05)"
    )
    if out is not None:
        write_results(frame, out, name=name)
        lines.append(f"written: {out / (name + '.csv')}, .md")
    return "\n".join(lines)
