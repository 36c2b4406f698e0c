"""Agents on the stateless fading environment (a contextual bandit, where the per-request oracle is optimal):
the classic baselines behave as defined, and PPO beats them."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from splitgym.agents.baselines import family_baselines
from splitgym.agents.evaluation import evaluate, summarize
from splitgym.agents.policies.split import (
    DeviceOnlyPolicy,
    EdgeOnlyPolicy,
    FixedSplitPolicy,
    SplitOraclePolicy,
)
from splitgym.agents.training import load_policy, train
from splitgym.errors import ConfigError


def test_baselines_pick_their_splits() -> None:
    env = gym.make("splitgym/FadingSplit-Llama7B-Stateless-v1")
    obs, _ = env.reset(seed=0)
    mask = env.unwrapped.action_masks()  # type: ignore[attr-defined]
    feasible = np.flatnonzero(mask)
    assert int(DeviceOnlyPolicy(env).predict(obs)[0]) == feasible[-1]
    assert int(EdgeOnlyPolicy(env).predict(obs)[0]) == feasible[0] == 1
    assert int(FixedSplitPolicy(env, 30).predict(obs)[0]) == 30
    assert int(FixedSplitPolicy(env, 0).predict(obs)[0]) == feasible[0] == 1  # below min_split: nearest
    best = int(SplitOraclePolicy(env).predict(obs)[0])
    rewards = env.unwrapped.split_rewards()  # type: ignore[attr-defined]
    assert best == feasible[np.argmax(rewards[feasible])]
    with pytest.raises(ConfigError, match=r"split must be in 0\.\.32"):
        FixedSplitPolicy(env, 40)
    with pytest.raises(ConfigError, match="needs a split environment"):
        DeviceOnlyPolicy(gym.make("splitgym/PaperSplit-v0"))


def test_oracle_is_an_upper_bound_of_every_baseline() -> None:
    env = gym.make("splitgym/FadingSplit-Pedestrian-Stateless-v1")
    returns = {
        name: summarize(evaluate(p, env, 10, seed=5))["return"]
        for name, p in family_baselines("splitgym/FadingSplit-Pedestrian-Stateless-v1", env).items()
    }
    assert returns["oracle"] >= max(returns.values())
    assert returns["oracle"] > returns["device_only"] + 5 and returns["oracle"] > returns["edge_only"] + 5


@pytest.mark.slow
def test_ppo_beats_device_only_and_edge_only(tmp_path: Path) -> None:
    result = train(
        "splitgym/FadingSplit-Pedestrian-Stateless-v1",
        "ppo",
        n_timesteps=40_000,
        seed=0,
        root=tmp_path,
        eval_episodes=2,
    )
    model, _, _ = load_policy(result.run)
    env = gym.make("splitgym/FadingSplit-Pedestrian-Stateless-v1")
    ppo = summarize(evaluate(model, env, 30, seed=123))["return"]
    base = {
        n: summarize(evaluate(p, env, 30, seed=123))["return"]
        for n, p in family_baselines("splitgym/FadingSplit-Pedestrian-Stateless-v1", env).items()
    }
    assert ppo > max(base["device_only"], base["edge_only"]) + 5.0, (ppo, base)
    assert ppo > 0.9 * base["oracle"], (ppo, base)
