"""Evaluate any policy on an environment and collect the return and every reward term per episode.

Episode ``i`` is reset with seed ``seed + i``, so different policies evaluated with the same ``seed`` face
the same start states (common random numbers: their difference has far less variance). A policy whose
``predict`` takes ``action_masks`` (MaskablePPO) gets the environment's mask of the current request.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from splitgym.agents.policies.base import Policy

__all__ = ["evaluate", "evaluation_report", "normalized_score", "summarize", "summary_line"]


def evaluate(
    policy: Policy,
    env: gym.Env[Any, Any],
    episodes: int,
    seed: int = 0,
    deterministic: bool = True,
) -> pd.DataFrame:
    """One row per episode: ``return``, ``length``, the sum of every ``r_*`` reward term in ``info`` and
    the mean of every other numeric ``info`` entry (e.g. ``quality``, ``split``)."""
    if episodes < 1:
        from splitgym.errors import ConfigError

        raise ConfigError(f"episodes must be >= 1, got {episodes}")
    masked = hasattr(env.unwrapped, "action_masks") and _takes_masks(policy)
    rows = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        state: Any = None
        start = True
        total, length = 0.0, 0
        sums: dict[str, float] = {}
        done = False
        while not done:
            extra = {"action_masks": env.get_wrapper_attr("action_masks")()} if masked else {}
            action, state = policy.predict(
                obs, state=state, episode_start=np.array([start]), deterministic=deterministic, **extra
            )
            start = False
            obs, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            length += 1
            for key, value in info.items():
                if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                    sums[key] = sums.get(key, 0.0) + float(value)
            done = terminated or truncated
        row: dict[str, float] = {"return": total, "length": float(length)}
        for key, value in sums.items():
            row[key] = value if key.startswith("r_") else value / length
        rows.append(row)
    return pd.DataFrame(rows)


def _takes_masks(policy: Policy) -> bool:
    try:
        return "action_masks" in inspect.signature(policy.predict).parameters
    except (TypeError, ValueError):
        return False


def summarize(frame: pd.DataFrame) -> dict[str, float]:
    """Mean of every column, plus ``return_std`` and the standard error ``return_sem``."""
    out = {str(k): float(v) for k, v in frame.mean(numeric_only=True).items()}
    out["return_std"] = float(frame["return"].std(ddof=1)) if len(frame) > 1 else 0.0
    out["return_sem"] = out["return_std"] / float(np.sqrt(len(frame)))
    return out


def normalized_score(
    returns: Mapping[str, float], agent: str, low: str = "random", high: str = "oracle"
) -> float:
    """``(R_agent - R_low) / (R_high - R_low)``: 0 is the low reference policy, 1 the high one."""
    span = returns[high] - returns[low]
    return float("nan") if span == 0 else (returns[agent] - returns[low]) / span


def summary_line(name: str, frame: pd.DataFrame) -> str:
    """``name: return mean ± std | r_quality ... | r_load ...`` for printing."""
    s = summarize(frame)
    terms = "  ".join(
        f"{k} {s[k]:+.4f}" for k in sorted(s) if k.startswith("r_") or k in ("quality", "split")
    )
    return f"{name:<12} return {s['return']:+.4f} ± {s['return_std']:.4f}  {terms}"


def evaluation_report(
    run: Any, episodes: int, seed: int, baselines: bool = False, trust: bool = False
) -> str:
    """Evaluate a run folder (:func:`~splitgym.agents.training.evaluate_run`; ``trust`` skips the
    manifest checks) and, with ``baselines``, every baseline of its env family on the same episodes and
    the normalised score; the text."""
    from pathlib import Path

    from splitgym.agents.baselines import compare_with_baselines, high_reference
    from splitgym.agents.training import evaluate_run
    from splitgym.registration import env_family

    frame, config, real = evaluate_run(Path(run), episodes=episodes, seed=seed, trust=trust)
    env_id, algo = str(config["env_id"]), str(config["algo"])
    lines = [
        f"{run}: {algo} on {env_id}, {episodes} episodes (seed {seed})",
        summary_line(algo, frame),
        f"real evaluations of the quality model: {real['training']} in training, {real['evaluation']} in "
        "this evaluation (0 where the quality model is a measured table)",
    ]
    if not baselines:
        return "\n".join(lines)
    returns = {"agent": summarize(frame)["return"]}
    for name, base in compare_with_baselines(env_id, config.get("env_kwargs") or {}, episodes, seed).items():
        returns[name] = summarize(base)["return"]
        lines.append(summary_line(name, base))
    high, label = high_reference(env_family(env_id))
    if "random" in returns and high in returns:
        score = normalized_score(returns, "agent", "random", high)
        lines.append(f"normalised score (0 random, 1 {label}): {score:.3f}")
    return "\n".join(lines)
