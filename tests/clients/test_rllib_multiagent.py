"""RLlib multi-agent PPO on the shared cell, one policy shared by every device, on a local Ray instance.

Runs in ``.venv-rllib`` (``make clients``); skipped where RLlib does not import. From an empty folder
(``in_tmp``), for the reason ``test_rllib_ppo.py`` gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitgym.rllib import SHARED_CELL, register_shared_cell

pytest.importorskip("ray.rllib.algorithms.ppo", exc_type=ImportError)

CELL = {"n_users": 3, "max_steps": 4, "user": {"pool_size": 4, "prompt_levels": 2, "new_tokens": 4}}


@pytest.mark.slow
def test_rllib_multi_agent_ppo_with_a_shared_policy_trains_on_the_cell(in_tmp: Path) -> None:
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        assert register_shared_cell() == SHARED_CELL
        config = (
            PPOConfig()
            .environment(SHARED_CELL, env_config=CELL)
            .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, episode, **kw: "shared")
            .env_runners(num_env_runners=1, rollout_fragment_length=24)
            .training(train_batch_size_per_learner=48, minibatch_size=24, num_epochs=1)
            .debugging(seed=0)
        )
        algo = config.build_algo()
        try:
            results = [algo.train() for _ in range(2)]
        finally:
            algo.stop()
    finally:
        ray.shutdown()
    runners = results[-1]["env_runners"]
    assert runners["num_env_steps_sampled_lifetime"] >= 96  # 2 iterations of 48 env steps
    assert runners["num_episodes_lifetime"] >= 96 // 4 - 2  # 4-step episodes ended by truncation
    assert "shared" in results[-1]["learners"]
