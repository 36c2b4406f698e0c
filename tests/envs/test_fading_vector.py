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
    assert np.all(reward == 0.0) and not truncated.any()
    assert "split" not in info and "_split" not in info  # no env stepped: absent, as in SyncVectorEnv
    assert np.all(info["step"] == 0) and info["_action_mask"].all()
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


# -- Gymnasium 1.x in full: info keys, dtypes and masks as SyncVectorEnv's, autoreset modes, seeds, actions


def _run_both(mode: AutoresetMode, n: int = 4, steps: int = 8) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(SyncVectorEnv info, native info) of the same actions, episodes of 3 steps, after a reset each."""
    sync = gym.make_vec(
        ID, num_envs=n, vectorization_mode="sync", max_steps=3, vector_kwargs={"autoreset_mode": mode}
    )
    native = gym.make_vec(
        ID, num_envs=n, vectorization_mode="vector_entry_point", max_steps=3, autoreset_mode=mode
    )
    pairs = [(sync.reset(seed=0)[1], native.reset(seed=0)[1])]
    rng = np.random.default_rng(0)
    for _ in range(steps):
        actions = rng.integers(1, 13, n)
        pairs.append((sync.step(actions)[-1], native.step(actions)[-1]))
    return pairs


def _same_layout(a: dict[str, Any], b: dict[str, Any], where: str) -> None:
    assert set(a) == set(b), (where, set(a) ^ set(b))
    for key, value in a.items():
        if isinstance(value, dict):
            _same_layout(value, b[key], f"{where}/{key}")
        elif key == "final_obs":
            assert b[key].dtype == object and [x is None for x in value] == [x is None for x in b[key]]
        else:
            assert np.asarray(b[key]).dtype == np.asarray(value).dtype, (where, key, value, b[key])
            assert np.shape(b[key]) == np.shape(value), (where, key)
            if key.startswith("_"):
                np.testing.assert_array_equal(b[key], value, err_msg=f"{where}: {key}")


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_info_keys_dtypes_and_masks_are_sync_vector_envs(mode: AutoresetMode) -> None:
    pairs = _run_both(mode)
    for t, (sync, native) in enumerate(pairs):
        _same_layout(sync, native, f"{mode} step {t}")
    # The keys named once (envs/fading/info.py), the step counter and the mask, each with its _key mask.
    stepped = pairs[1][1]
    for key in (*INFO_KEYS, "step", "action_mask"):
        assert key in stepped and "_" + key in stepped, key
    assert stepped["action_mask"].shape == (4, 13) and stepped["_action_mask"].all()
    if mode == AutoresetMode.NEXT_STEP:  # step 4 resets every env: only the reset info, as SyncVectorEnv
        assert set(pairs[4][1]) == {"action_mask", "_action_mask", "step", "_step"}
    else:  # step 3 ends every episode: final_obs and final_info for all, the reset's step 0 at the top
        assert pairs[3][1]["_final_obs"].all() and np.all(pairs[3][1]["step"] == 0)
        assert np.all(pairs[3][1]["final_info"]["step"] == 3)


def test_same_step_autoreset_returns_the_next_episodes_first_observation() -> None:
    envs = FadingSplitVectorEnv(3, max_steps=2, autoreset_mode="SameStep")
    assert envs.autoreset_mode == AutoresetMode.SAME_STEP == envs.metadata["autoreset_mode"]
    envs.reset(seed=2)
    envs.step(np.full(3, 6))
    obs, reward, terminated, truncated, info = envs.step(np.full(3, 6))
    assert truncated.all() and not terminated.any() and np.all(reward != 0.0)
    assert np.all(obs[:, -1] == 0.0)  # the next episode: no previous split
    last = np.stack(list(info["final_obs"]))
    np.testing.assert_allclose(last[:, -1], 6 / 12)  # the last observation saw split 6
    np.testing.assert_array_equal(info["final_info"]["split"], 6)
    _, reward, _, truncated, _ = envs.step(np.full(3, 6))  # no reset step: a real step with reward
    assert not truncated.any() and np.all(reward != 0.0)


def test_autoreset_mode_attribute_and_bad_modes() -> None:
    envs = FadingSplitVectorEnv(2)
    assert envs.autoreset_mode == AutoresetMode.NEXT_STEP == envs.metadata["autoreset_mode"]
    with pytest.raises(
        ConfigError, match=r"autoreset_mode must be one of \['NextStep', 'SameStep'\], got 'Sometimes'"
    ):
        FadingSplitVectorEnv(2, autoreset_mode="Sometimes")
    with pytest.raises(ConfigError, match="autoreset_mode must be one of"):
        FadingSplitVectorEnv(2, autoreset_mode=AutoresetMode.DISABLED)


def test_reset_accepts_a_list_of_seeds() -> None:
    def first(seed: Any) -> np.ndarray:
        envs = FadingSplitVectorEnv(3)
        obs, _ = envs.reset(seed=seed)
        obs2, *_ = envs.step(np.array([2, 3, 4]))
        return np.concatenate([obs, obs2])

    np.testing.assert_array_equal(first([1, 2, 3]), first([1, 2, 3]))
    assert not np.array_equal(first([1, 2, 3]), first([1, 2, 4]))
    assert not np.array_equal(first([None, None, 5]), first([None, None, 5]))  # None: fresh entropy
    with pytest.raises(ConfigError, match="a list of 3 seeds, got 2 seeds"):
        FadingSplitVectorEnv(3).reset(seed=[1, 2])
    with pytest.raises(ConfigError, match="integers >= 0 or None, got -1"):
        FadingSplitVectorEnv(3).reset(seed=[1, 2, -1])
    # Through make_vec as TorchRL and SB3 call it.
    envs = gym.make_vec(ID, num_envs=3, vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=[7, 8, 9])
    assert envs.observation_space.contains(obs)


@pytest.mark.parametrize(
    ("actions", "match"),
    [
        (np.array([1, 2, 3, 4]), r"shape \(3,\).*got shape \(4,\)"),
        (np.array([[1, 2, 3]]), r"got shape \(1, 3\)"),
        (np.array([1.0, 2.0, 3.0]), "dtype float64"),
        (np.array([True, False, True]), "dtype bool"),
        (np.array([1, 13, 2]), r"splits in 0..12, got \[13\]"),
        (np.array([-1, 0, 2]), r"got \[-1\]"),
    ],
)
def test_actions_are_checked_against_the_space(actions: np.ndarray, match: str) -> None:
    envs = FadingSplitVectorEnv(3)
    envs.reset(seed=0)
    with pytest.raises(gym.error.InvalidAction, match=match) as caught:
        envs.step(actions)
    assert isinstance(caught.value, ConfigError)
    envs.step([1, 2, 3])  # a list of ints is an integer array of the right shape: accepted
