"""``observation_mode="dict"`` on every masked env: ``{"observation": Box, "action_mask": MultiBinary}``
(PettingZoo classic style), the same numbers as the flat mode, and Gymnasium's and SB3's checkers pass."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env as gym_check_env

import splitgym  # noqa: F401  (registers the IDs)
from splitgym.envs.wrappers import OBSERVATION_MODES, DictMaskObservation
from splitgym.errors import ConfigError

MASKED = ("splitgym/FadingSplit-v0", "splitgym/FadingSplit-Llama7B-v0", "splitgym/CompressedSplit-v0")


@pytest.mark.parametrize("env_id", MASKED)
def test_dict_mode_holds_the_flat_observation_and_the_mask(env_id: str) -> None:
    flat = gym.make(env_id)
    nested = gym.make(env_id, observation_mode="dict")
    space = nested.observation_space
    assert isinstance(space, spaces.Dict) and set(space.spaces) == {"observation", "action_mask"}
    assert space["observation"] == flat.observation_space
    n_actions = int(flat.action_space.n)  # type: ignore[attr-defined]
    assert space["action_mask"] == spaces.MultiBinary(n_actions)
    obs_f, info_f = flat.reset(seed=4)
    obs_d, info_d = nested.reset(seed=4)
    rng = np.random.default_rng(0)
    for t in range(30):
        np.testing.assert_array_equal(obs_d["observation"], obs_f)
        assert obs_d["action_mask"].dtype == np.int8 and space.contains(obs_d)
        np.testing.assert_array_equal(obs_d["action_mask"], info_d["action_mask"].astype(np.int8))
        np.testing.assert_array_equal(obs_d["action_mask"].astype(bool), nested.unwrapped.action_masks())  # type: ignore[attr-defined]
        feasible = np.flatnonzero(info_f["action_mask"])
        action = int(rng.choice(feasible)) if t % 2 else int(rng.integers(0, n_actions))
        obs_f, r_f, _, _, info_f = flat.step(action)
        obs_d, r_d, _, _, info_d = nested.step(action)
        assert r_f == r_d


@pytest.mark.parametrize("env_id", MASKED)
def test_gymnasium_and_sb3_checkers_pass_in_dict_mode(env_id: str) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(env_id, observation_mode="dict")
    gym_check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped, warn=True)


def test_the_wrapper_gives_the_same_dict_as_the_mode() -> None:
    wrapped = DictMaskObservation(gym.make("splitgym/FadingSplit-v0"))
    native = gym.make("splitgym/FadingSplit-v0", observation_mode="dict")
    assert wrapped.observation_space == native.observation_space
    a, _ = wrapped.reset(seed=1)
    b, _ = native.reset(seed=1)
    for _ in range(5):
        for key in ("observation", "action_mask"):
            np.testing.assert_array_equal(a[key], b[key])
        a, *_ = wrapped.step(3)
        b, *_ = native.step(3)
    with pytest.raises(ConfigError, match="needs an env with action_masks"):
        DictMaskObservation(gym.make("CartPole-v1"))  # type: ignore[arg-type]


def test_vector_env_batches_the_dict_observation() -> None:
    envs = gym.make_vec("splitgym/FadingSplit-v0", num_envs=5, vectorization_mode="vector_entry_point",
                        observation_mode="dict", max_steps=3)  # fmt: skip
    single = envs.single_observation_space
    assert isinstance(single, spaces.Dict) and single["action_mask"] == spaces.MultiBinary(13)
    obs, info = envs.reset(seed=0)
    assert envs.observation_space.contains(obs) and obs["observation"].shape == (5, 10)
    for _ in range(7):
        np.testing.assert_array_equal(obs["action_mask"], info["action_mask"].astype(np.int8))
        np.testing.assert_array_equal(obs["action_mask"], envs.unwrapped.action_masks())  # type: ignore[attr-defined]
        obs, *_, info = envs.step(np.full(5, 4))
        assert envs.observation_space.contains(obs)


@pytest.mark.parametrize("env_id", MASKED)
def test_an_observation_mode_that_does_not_exist_lists_the_allowed_ones(env_id: str) -> None:
    with pytest.raises(
        ConfigError, match=r"observation_mode must be one of box, dict; got 'dikt' \(did you mean 'dict'\?\)"
    ):
        gym.make(env_id, observation_mode="dikt")
    with pytest.raises(ConfigError, match="observation_mode must be one of box, dict; got 3"):
        gym.make(env_id, observation_mode=3)
    assert OBSERVATION_MODES == ("box", "dict")


def test_vector_env_rejects_a_bad_observation_mode() -> None:
    with pytest.raises(ConfigError, match="observation_mode must be one of box, dict"):
        gym.make_vec("splitgym/FadingSplit-v0", num_envs=2, vectorization_mode="vector_entry_point",
                     observation_mode="tuple")  # fmt: skip
