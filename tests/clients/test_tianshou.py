"""Tianshou (2.x API: ``Algorithm`` + ``Policy``) PPO on a splitgym environment made by ID.

Runs in ``.venv-tianshou`` (``make clients``; tianshou pins an older pandas than splitgym's own venv);
skipped where tianshou is not installed."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import splitgym  # noqa: F401  (registers the IDs)

ts = pytest.importorskip("tianshou")
torch = pytest.importorskip("torch")

from tianshou.algorithm import PPO  # noqa: E402
from tianshou.algorithm.modelfree.reinforce import DiscreteActorPolicy  # noqa: E402
from tianshou.algorithm.optim import AdamOptimizerFactory  # noqa: E402
from tianshou.data import Collector, CollectStats, VectorReplayBuffer  # noqa: E402
from tianshou.env import DummyVectorEnv  # noqa: E402
from tianshou.trainer import OnPolicyTrainerParams  # noqa: E402
from tianshou.utils.net.common import Net  # noqa: E402
from tianshou.utils.net.discrete import DiscreteActor, DiscreteCritic  # noqa: E402

ID = "splitgym/FadingSplit-v1"
KWARGS = {"max_steps": 16, "pool_size": 4}


def _make() -> gym.Env:
    return gym.make(ID, **KWARGS)


def test_tianshou_ppo_by_id_trains_and_acts_in_the_action_space() -> None:
    torch.manual_seed(0)
    env = _make()
    assert isinstance(env.action_space, gym.spaces.Discrete)
    n_obs = int(np.prod(env.observation_space.shape))
    train_envs = DummyVectorEnv([_make for _ in range(2)])
    test_envs = DummyVectorEnv([_make for _ in range(1)])
    train_envs.seed(0)
    test_envs.seed(1)

    net = Net(state_shape=(n_obs,), hidden_sizes=[32, 32])
    actor = DiscreteActor(preprocess_net=net, action_shape=int(env.action_space.n))
    critic = DiscreteCritic(preprocess_net=Net(state_shape=(n_obs,), hidden_sizes=[32, 32]))
    policy = DiscreteActorPolicy(
        actor=actor,
        dist_fn=torch.distributions.Categorical,
        action_space=env.action_space,
        observation_space=env.observation_space,
        deterministic_eval=True,
    )
    algorithm = PPO(policy=policy, critic=critic, optim=AdamOptimizerFactory(lr=3e-4), gamma=0.9)
    train_collector = Collector[CollectStats](algorithm, train_envs, VectorReplayBuffer(512, len(train_envs)))
    test_collector = Collector[CollectStats](algorithm, test_envs)

    result = algorithm.run_training(
        OnPolicyTrainerParams(
            training_collector=train_collector,
            test_collector=test_collector,
            max_epochs=2,
            epoch_num_steps=128,
            collection_step_num_env_steps=64,
            update_step_num_repetitions=2,
            batch_size=32,
            test_step_num_episodes=1,
            logger=None,
            verbose=False,
            show_progress=False,
        )
    )
    assert result.train_step >= 256  # 2 epochs of 128 env steps
    assert result.train_episode >= 256 // 16 - 2  # 16-request episodes ended on the way
    assert result.update_step > 0 and result.test_episode >= 1
    assert np.isfinite(result.best_reward)

    # The trained policy acts in the env's action space, on a fresh env made by ID.
    obs, _ = env.reset(seed=2)
    policy.eval()
    for _ in range(16):
        with torch.no_grad():
            action = policy.compute_action(obs)
        assert env.action_space.contains(action)
        obs, reward, terminated, truncated, _ = env.step(action)
        assert np.isfinite(reward)
        if terminated or truncated:
            break
    env.close()
    train_envs.close()
    test_envs.close()
