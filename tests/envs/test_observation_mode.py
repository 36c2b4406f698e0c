"""The dict observation ``{"observation": Box, "action_mask": MultiBinary}`` (PettingZoo classic style) on
every masked env: ``observation_mode="dict"`` where the env offers it (the compressed env), the
:class:`DictMaskObservation` wrapper on the v1 fading envs; the same numbers as the flat mode, and
Gymnasium's and SB3's checkers pass."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env as gym_check_env

import splitgym  # noqa: F401  (registers the IDs)
from splitgym.envs.split.env import FadingSplitV1Env
from splitgym.envs.wrappers import OBSERVATION_MODES, DictMaskObservation
from splitgym.errors import ConfigError

NATIVE = ("splitgym/CompressedSplit-v1",)  # observation_mode="dict" built in
WRAPPED = (
    "splitgym/FadingSplit-v1",
    "splitgym/FadingSplit-Llama7B-Stateless-v1",
)  # through DictMaskObservation
MASKED = NATIVE + WRAPPED


def _dict_env(env_id: str) -> gym.Env[Any, Any]:
    """``env_id`` with the dict observation: its own mode, or the wrapper."""
    if env_id in NATIVE:
        return gym.make(env_id, observation_mode="dict")
    return DictMaskObservation(gym.make(env_id))


@pytest.mark.parametrize("env_id", MASKED)
def test_dict_mode_holds_the_flat_observation_and_the_mask(env_id: str) -> None:
    flat = gym.make(env_id)
    nested = _dict_env(env_id)
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

    if env_id in NATIVE:
        target = _dict_env(env_id).unwrapped
    else:  # the wrapper around the bare env (without a spec for the checker to recreate)
        target = DictMaskObservation(FadingSplitV1Env(**gym.spec(env_id).kwargs))
    gym_check_env(target, skip_render_check=True)
    sb3_check_env(target, warn=True)


def test_the_wrapper_gives_the_same_dict_as_the_mode() -> None:
    wrapped = DictMaskObservation(gym.make("splitgym/CompressedSplit-v1"))
    native = gym.make("splitgym/CompressedSplit-v1", observation_mode="dict")
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


@pytest.mark.parametrize("env_id", NATIVE)
def test_an_observation_mode_that_does_not_exist_lists_the_allowed_ones(env_id: str) -> None:
    with pytest.raises(
        ConfigError, match=r"observation_mode must be one of box, dict; got 'dikt' \(did you mean 'dict'\?\)"
    ):
        gym.make(env_id, observation_mode="dikt")
    with pytest.raises(ConfigError, match="observation_mode must be one of box, dict; got 3"):
        gym.make(env_id, observation_mode=3)
    assert OBSERVATION_MODES == ("box", "dict")
