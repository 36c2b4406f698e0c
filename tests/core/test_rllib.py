"""The RLlib helper: every ID in Ray's registry with a creator that builds it in a fresh worker."""

from __future__ import annotations

import importlib.util
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


def _rllib_importable() -> bool:
    if importlib.util.find_spec("ray") is None:
        return False
    try:
        from ray.rllib.algorithms.ppo import PPOConfig  # noqa: F401
    except Exception:  # missing extras raise ImportError or others
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _rllib_importable(), reason="needs ray[rllib] (in its own environment)")
def test_rllib_ppo_two_env_runners_two_iterations() -> None:
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig

    ray.init(num_cpus=3, include_dashboard=False, ignore_reinit_error=True)
    try:
        register_with_ray(["splitgym/FadingSplit-v1"])
        config = (
            PPOConfig()
            .environment("splitgym/FadingSplit-v1", env_config={"scenario": "Vehicular"})
            .env_runners(num_env_runners=2, rollout_fragment_length=100)
            .training(train_batch_size_per_learner=400, minibatch_size=100, num_epochs=1)
        )
        algo = config.build_algo()
        results = [algo.train() for _ in range(2)]
        algo.stop()
    finally:
        ray.shutdown()
    assert len(results) == 2
    assert results[-1]["env_runners"]["num_env_steps_sampled_lifetime"] >= 800
