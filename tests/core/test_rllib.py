"""The RLlib helper: every ID in Ray's registry with a creator that builds it in a fresh worker."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import pytest

import splitgym
from splitgym.errors import ConfigError, UnknownParameterError
from splitgym.rllib import env_creator, make_env, register_with_ray


def test_every_id_is_registered_with_a_working_creator() -> None:
    seen: dict[str, Any] = {}
    names = register_with_ray(register=lambda name, creator: seen.__setitem__(name, creator))
    assert set(names) == set(seen) == {*splitgym.env_ids(), "splitgym"}
    assert len(names) == len(splitgym.env_ids()) + 1
    env = seen["splitgym/FadingSplit-v1"]({"scenario": "Vehicular"})  # RLlib passes env_config
    assert env.spec is not None and env.spec.id == "splitgym/FadingSplit-v1"
    assert env.spec.kwargs["scenario"] == "Vehicular"  # the registry default is Pedestrian
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    env.step(env.action_space.sample())
    env.close()


def test_the_generic_creator_and_bad_input() -> None:
    env = env_creator({"env_id": "splitgym/PaperSplit-v0"})
    assert isinstance(env.observation_space, gym.spaces.Box)
    env.close()
    with pytest.raises(ConfigError, match="env_config needs 'env_id'"):
        env_creator({"scenario": "Vehicular"})
    with pytest.raises(
        ConfigError, match=r"'splitgym/FadingSplit-v9' is not a splitgym environment \(did you"
    ):
        make_env("splitgym/FadingSplit-v9")
    with pytest.raises(ConfigError, match="ids: 'CartPole-v1' is not a splitgym environment"):
        register_with_ray(["CartPole-v1"], register=lambda *_: None)
    with pytest.raises(UnknownParameterError):
        make_env("splitgym/FadingSplit-v1", {"no_such_parameter": 1})


def test_creator_survives_pickling_to_a_worker() -> None:
    import pickle

    seen: dict[str, Any] = {}
    register_with_ray(["splitgym/PaperSplit-v0"], register=lambda n, c: seen.__setitem__(n, c))
    creator = pickle.loads(pickle.dumps(seen["splitgym/PaperSplit-v0"]))  # by reference, as Ray ships it
    creator({}).close()


# RLlib PPO itself (two env runners, two iterations) runs in its own environment: tests/clients/test_rllib_ppo.py
# (`make clients`).


def test_the_shared_cell_is_registered_under_its_name() -> None:
    from splitgym.rllib import SHARED_CELL, register_shared_cell, shared_cell_creator

    seen: dict[str, Any] = {}
    assert register_shared_cell(register=lambda name, creator: seen.__setitem__(name, creator)) == SHARED_CELL
    assert seen == {SHARED_CELL: shared_cell_creator}
