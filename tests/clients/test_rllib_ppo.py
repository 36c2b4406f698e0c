"""RLlib PPO by ID with two env runners, two iterations (``splitgym.rllib.register_with_ray``).

Runs in ``.venv-rllib`` (``make clients``; ray[rllib] pins an older Gymnasium than splitgym's own venv);
skipped where RLlib does not import. The test runs from an empty folder (``in_tmp``): Ray puts the
driver's working directory on every worker's ``sys.path``, and from the repository root the folder
``splitgym/`` (the top-level modules only; ``envs/`` and the other subpackages live beside it) shadows the
installed package there, so the env runners fail with ``No module named 'splitgym.envs'``."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitgym.rllib import register_with_ray

pytest.importorskip("ray.rllib.algorithms.ppo", exc_type=ImportError)  # missing extras: any ImportError

ID = "splitgym/FadingSplit-v1"


@pytest.mark.slow
def test_rllib_ppo_by_id_two_env_runners_two_iterations(in_tmp: Path) -> None:
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig

    ray.init(num_cpus=3, include_dashboard=False, ignore_reinit_error=True)
    try:
        assert ID in register_with_ray([ID])
        config = (
            PPOConfig()
            .environment(ID, env_config={"scenario": "Vehicular", "max_steps": 16, "pool_size": 4})
            .env_runners(num_env_runners=2, rollout_fragment_length=100)
            .training(train_batch_size_per_learner=400, minibatch_size=100, num_epochs=1)
            .debugging(seed=0)
        )
        algo = config.build_algo()
        try:
            results = [algo.train() for _ in range(2)]
            spaces = algo.env_runner_group.foreach_env_runner(
                lambda runner: (runner.env.single_action_space, runner.num_envs), local_env_runner=False
            )
        finally:
            algo.stop()
    finally:
        ray.shutdown()
    assert len(results) == 2
    runners = results[-1]["env_runners"]
    assert runners["num_env_steps_sampled_lifetime"] >= 800  # 2 iterations of 400 steps
    assert runners["num_episodes_lifetime"] >= 800 // 16 - 4  # 16-request episodes completed
    assert len(spaces) == 2  # the two remote env runners, each built the env by ID
    for space, num_envs in spaces:
        assert space.n == 25 and num_envs == 1
