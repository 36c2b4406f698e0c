"""The natively batched vector environment: Gymnasium's vector API and autoreset, seeding, and agreement in
distribution with N single environments."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

import splitgym  # noqa: F401  (registers the IDs)
from splitgym.envs.fading.info import INFO_KEYS
from splitgym.envs.fading.vector import FadingSplitVectorEnv
from splitgym.errors import ConfigError

ID = "splitgym/FadingSplit-v0"


def check_vector_env(envs: gym.vector.VectorEnv[Any, Any, Any], steps: int = 40) -> None:
    """Gymnasium's contract for a vector environment (spaces, dtypes, shapes, info masks, autoreset)."""
    n = envs.num_envs
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert envs.observation_space == batch_space(envs.single_observation_space, n)
    assert envs.action_space == batch_space(envs.single_action_space, n)
    obs, info = envs.reset(seed=0)
    assert obs.dtype == envs.single_observation_space.dtype and envs.observation_space.contains(obs)
    envs.action_space.seed(0)
    for _ in range(steps):
        obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())
        assert envs.observation_space.contains(obs)
        for arr, dtype in ((reward, np.float64), (terminated, np.bool_), (truncated, np.bool_)):
            assert isinstance(arr, np.ndarray) and arr.shape == (n,) and arr.dtype == dtype
        for key, value in info.items():
            if not key.startswith("_") and key != "action_mask":
                assert np.shape(value) == (n,), key
                assert info["_" + key].dtype == np.bool_


def test_make_vec_uses_the_native_vector_env_and_it_passes_the_vector_checks() -> None:
    envs = gym.make_vec(ID, num_envs=16)
    assert isinstance(envs, FadingSplitVectorEnv)
    check_vector_env(envs)
    envs.close()


def test_next_step_autoreset() -> None:
    envs = gym.make_vec(ID, num_envs=5, max_steps=3)
    envs.reset(seed=1)
    for _ in range(2):
        _, reward, _, truncated, info = envs.step(np.full(5, 4))
        assert not truncated.any() and np.all(info["_split"])
    _, reward, terminated, truncated, info = envs.step(np.full(5, 4))
    assert truncated.all() and not terminated.any()
    assert np.all(info["split"] == 4)
    first, reward, terminated, truncated, info = envs.step(np.full(5, 7))  # the reset step: action ignored
    assert np.all(reward == 0.0) and not truncated.any() and not info["_split"].any()
    assert np.all(first[:, -1] == 0.0)  # a fresh episode: no previous split
    _, reward, _, _, info = envs.step(np.full(5, 7))
    assert np.all(info["_split"]) and np.all(info["split"] == 7) and np.all(reward != 0.0)


def test_seeding_reproduces_and_different_seeds_differ() -> None:
    def run(seed: int) -> list[Any]:
        envs = FadingSplitVectorEnv(8, max_steps=5)
        envs.reset(seed=seed)
        out = []
        for t in range(12):
            obs, reward, *_ = envs.step(np.arange(8) + t % 3)
            out.append((obs.tolist(), reward.tolist()))
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_episode_statistics_wrapper_counts_episodes() -> None:
    envs = gym.wrappers.vector.RecordEpisodeStatistics(gym.make_vec(ID, num_envs=4, max_steps=10))
    envs.reset(seed=0)
    episodes = 0
    for _ in range(22):
        *_, info = envs.step(envs.action_space.sample())
        if "episode" in info:
            episodes += int(info["_episode"].sum())
            assert np.all(info["episode"]["l"][info["_episode"]] == 10)
    assert episodes == 8


def test_masks_and_split_rewards_are_batched() -> None:
    envs = FadingSplitVectorEnv(6, scenario="Llama7B")
    _, info = envs.reset(seed=0)
    masks = envs.action_masks()
    assert masks.shape == (6, 33) and np.array_equal(masks, info["action_mask"])
    table = envs.split_rewards()
    _, reward, *_ = envs.step(np.full(6, 3))
    np.testing.assert_allclose(reward, table[:, 3])


def test_bad_vector_arguments() -> None:
    with pytest.raises(ConfigError, match="num_envs must be an integer >= 1"):
        FadingSplitVectorEnv(0)
    with pytest.raises(ConfigError, match="scenario 'Cycling' is unknown"):
        gym.make_vec("splitgym/FadingSplit-v0", num_envs=2, scenario="Cycling")


def collect(mode: str, n: int, steps: int, **kwargs: Any) -> dict[str, np.ndarray]:
    """Per-environment means of reward, SNR, latency and uplink time over ``steps`` random actions."""
    envs = gym.make_vec(ID, num_envs=n, vectorization_mode=mode, max_steps=30, **kwargs)
    envs.reset(seed=11 if mode == "sync" else 12)
    rng = np.random.default_rng(5)
    keys = ("reward", "snr_db", "latency_s", "uplink_s", "quality_score")
    sums = {k: np.zeros(n) for k in keys}
    counts = np.zeros(n)
    sq = np.zeros(n)
    for _ in range(steps):
        _, reward, _, _, info = envs.step(rng.integers(0, 13, n))
        live = info.get("_split", np.zeros(n, dtype=bool))  # absent when every env was resetting
        if not live.any():
            continue
        counts += live
        for k in keys:
            value = reward if k == "reward" else np.asarray(info[k], dtype=np.float64)
            sums[k] += np.where(live, value, 0.0)
        sq += np.where(live, reward**2, 0.0)
    envs.close()
    out = {k: v / counts for k, v in sums.items()}
    out["reward_sd"] = np.sqrt(sq / counts - out["reward"] ** 2)
    return out


def agree(a: np.ndarray, b: np.ndarray, z: float = 4.0) -> bool:
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return bool(abs(a.mean() - b.mean()) < z * se)


def test_vector_env_agrees_in_distribution_with_single_envs() -> None:
    single = collect("sync", 48, 300)
    batched = collect("vector_entry_point", 48, 300)
    for key in ("reward", "reward_sd", "snr_db", "latency_s", "uplink_s", "quality_score"):
        assert agree(single[key], batched[key]), (key, single[key].mean(), batched[key].mean())
    # The comparison has power: a different speed and range is detected.
    other = collect("vector_entry_point", 48, 300, distance_m=(20.0, 150.0))
    assert not agree(single["snr_db"], other["snr_db"])


def test_info_keys_are_the_single_envs_keys() -> None:
    env = gym.make(ID)
    env.reset(seed=0)
    *_, info = env.step(1)
    assert set(INFO_KEYS) <= set(info)
    vec = gym.make_vec(ID, num_envs=3, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    *_, infos = vec.step(np.array([1, 2, 3]))
    assert set(INFO_KEYS) <= set(infos) and all(infos["_" + k].all() for k in INFO_KEYS)
    np.testing.assert_array_equal(infos["requested_split"], [1, 2, 3])
    np.testing.assert_allclose(infos["w_quality"], env.unwrapped.config.w_quality)  # type: ignore[attr-defined]
    # The single env's step has the same numbers as one of the vector env's, key for key.
    for key in ("reward", "r_quality", "r_load", "latency_s", "snr_db", "snr_est_db", "los", "device_load"):
        assert np.isfinite(float(info[key])) and np.isfinite(infos[key]).all(), key
