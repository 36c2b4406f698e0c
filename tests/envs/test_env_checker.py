"""Every registered ID passes Gymnasium's and SB3's checkers with warnings as errors, and is seeded."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import splitgym

IDS = [
    i for i in splitgym.env_ids() if i.startswith("splitgym/PaperSplit")
]  # the paper envs; v1 fading: test_split_world.py, test_split_state.py


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("observation", ["normalized", "paper"])
def test_checkers_pass_with_warnings_as_errors(env_id: str, observation: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id, observation=observation)
        gym_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)
        env.close()


def rollout(env_id: str, seed: int, steps: int = 23) -> list[Any]:
    env = gym.make(env_id)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    trace: list[Any] = [obs.tolist()]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace.append((obs.tolist(), reward, info["split"], info["impairment"]))
        if terminated or truncated:
            obs, _ = env.reset()
            trace.append(obs.tolist())
    return trace


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_trajectory_different_seed_differs(env_id: str) -> None:
    assert rollout(env_id, 7) == rollout(env_id, 7)
    assert rollout(env_id, 7) != rollout(env_id, 8)


@pytest.mark.parametrize("env_id", IDS)
def test_reset_states_cover_their_ranges_per_seed(env_id: str) -> None:
    env = gym.make(env_id)
    cfg = env.unwrapped.config  # type: ignore[attr-defined]
    starts = []
    for seed in range(300):
        _, info = env.reset(seed=seed)
        starts.append((info["impairment"], info["split"]))
    imp, split = np.array(starts).T
    assert cfg.reset_impairment[0] <= imp.min() and imp.max() <= cfg.reset_impairment[1]
    assert set(split.astype(int)) == set(range(cfg.reset_split[0], cfg.reset_split[1] + 1))
