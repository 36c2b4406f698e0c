"""Model-based agents (agents/model_based.py) and the budget sweep (benchmarks/budget_sweep.py).

The measured reference table stands in for the expensive real model: it is cheap and deterministic.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch

import splitgym  # noqa: F401  (registers the environments)
from splitgym.agents.model_based import ActiveModelBasedAgent, PaperModelBasedAgent
from splitgym.benchmarks.budget_sweep import (
    budget_sweep,
    ppo_direct_cost,
    reference_returns,
    smallest_budget_reaching,
)
from splitgym.errors import ConfigError
from splitgym.profiles.quality import TableQualityModel

torch.set_num_threads(1)

REAL = "accuracy/reference_erasure"
FAST_SURROGATE = {"epochs": 300}
FAST_ENSEMBLE = {"members": 4, "max_epochs": 300, "patience": 50}


@pytest.fixture(scope="module")
def real() -> TableQualityModel:
    return TableQualityModel(REAL)


@pytest.fixture(scope="module")
def refs(real: TableQualityModel) -> dict[str, float]:
    return reference_returns(real, episodes=20)


def test_paper_agent_counts_are_exact(real: TableQualityModel) -> None:
    agent = PaperModelBasedAgent(real, 27, seed=0, n_timesteps=200, surrogate_kwargs=FAST_SURROGATE).fit()
    # 10 splits (1..10): 27 // 10 = 2 levels per split, a grid of 20 points, never more than the budget.
    assert agent.real_evaluations == 20 <= agent.budget
    assert agent.surrogate.metadata is not None and agent.surrogate.metadata.n_samples == 20
    # PPO's 200 steps query the surrogate: resets and split changes, at most one per step and reset.
    assert 0 < agent.surrogate_evaluations <= 200 + 200
    assert agent.surrogate_seconds > 0 and agent.train_seconds > 0 and agent.real_seconds >= 0
    counts = agent.counts()
    assert counts["real_evaluations"] == 20 and counts["surrogate_evaluations"] == agent.surrogate_evaluations


def test_paper_agent_rejects_bad_inputs(real: TableQualityModel) -> None:
    with pytest.raises(ConfigError, match="kind"):
        PaperModelBasedAgent(real, 20, surrogate="gp")
    with pytest.raises(ConfigError, match="quality_model"):
        PaperModelBasedAgent(real, 20, env_kwargs={"quality_model": real})
    with pytest.raises(ConfigError, match="budget"):
        PaperModelBasedAgent(real, 15, n_timesteps=10).fit()  # cannot buy 2 levels for 10 splits
    with pytest.raises(ConfigError, match="not trained"):
        PaperModelBasedAgent(real, 20).predict(np.zeros(2, np.float32))


def test_active_agent_spends_exactly_its_budget_where_unsure(real: TableQualityModel) -> None:
    agent = ActiveModelBasedAgent(
        real,
        23,
        initial=8,
        rounds=3,
        seed=1,
        n_timesteps=300,
        refine_timesteps=100,
        rollout_episodes=5,
        surrogate_kwargs=FAST_ENSEMBLE,
    ).fit()
    assert agent.round_sizes == [5, 5, 5]
    assert agent.real_evaluations == 23 == len(agent.y)
    assert agent.surrogate_evaluations > 300  # training, rollouts and acquisition
    assert len(agent.history) == 3
    queried = np.mean([h["queried_std"] for h in agent.history])
    random = np.mean([h["random_std"] for h in agent.history])
    assert queried > random
    # No point is queried twice.
    assert len(np.unique(agent.X, axis=0)) == len(agent.X)


def test_active_agent_round_sizes(real: TableQualityModel) -> None:
    assert ActiveModelBasedAgent(real, 20, initial=10, per_round=4).round_sizes == [4, 4, 2]
    assert ActiveModelBasedAgent(real, 10).round_sizes == []  # initial defaults to the whole budget here
    assert sum(ActiveModelBasedAgent(real, 41, rounds=3).round_sizes) == 41 - 20
    with pytest.raises(ConfigError, match="initial"):
        ActiveModelBasedAgent(real, 10, initial=11)


@pytest.mark.slow
def test_both_agents_beat_random_on_the_real_model(real: TableQualityModel, refs: dict[str, float]) -> None:
    frame = budget_sweep(
        real,
        [20],
        seeds=(0,),
        episodes=20,
        n_timesteps=1500,
        references=refs,
        paper_kwargs={"surrogate_kwargs": FAST_SURROGATE},
        active_kwargs={"refine_timesteps": 500, "rollout_episodes": 5, "surrogate_kwargs": FAST_ENSEMBLE},
    )
    assert set(frame["agent"]) == {"paper", "active"}
    assert (frame["real_evaluations"] <= 20).all()
    assert (frame["normalized_score"] > 0.5).all(), frame


def test_sweep_frames_and_smallest_budget(real: TableQualityModel, refs: dict[str, float]) -> None:
    assert refs["oracle"] > refs["random"]
    direct = ppo_direct_cost(real, (0,), [100, 200], episodes=5, references=refs)
    assert list(direct["budget"]) == [100, 200]
    # Training counts only: one evaluation per reset and per split change, monotone in the length.
    assert 0 < direct["real_evaluations"].iloc[0] <= direct["real_evaluations"].iloc[1] <= 200 + 40
    frame = pd.DataFrame(
        {
            "agent": ["a", "a", "a", "b"],
            "budget": [10, 20, 20, 10],
            "seed": [0, 0, 1, 0],
            "real_evaluations": [10, 20, 20, 10],
            "fraction_of_oracle": [0.5, 0.99, 0.97, 0.9],
        }
    )
    reach = smallest_budget_reaching(frame, 0.95)
    assert reach["a"] == 20 and np.isnan(reach["b"])
    with pytest.raises(ConfigError, match="agents"):
        budget_sweep(real, [20], agents=("dqn",), references=refs)


def test_agent_is_a_policy_on_the_real_env(real: TableQualityModel) -> None:
    agent = PaperModelBasedAgent(real, 20, n_timesteps=100, surrogate_kwargs=FAST_SURROGATE).fit()
    env = gym.make("splitgym/PaperSplitDirect-v0", quality_model=real)
    obs, _ = env.reset(seed=0)
    action, _ = agent.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))


# -- the v1 fading environments --------------------------------------------------------------------------

FADING = "splitgym/FadingSplit-Analog-Stateless-v1"  # the reference model, quality on the equivalent SNR
SMALL = {"pool_size": 4, "horizon_s": 1.5}


def test_a_surrogate_replaces_the_fading_quality_profile() -> None:
    from splitgym.surrogates import SurrogateQualityModel
    from splitgym.surrogates.quality import make_surrogate, sample_grid

    real = TableQualityModel("accuracy/reference_analog")
    X, y = sample_grid(real, np.linspace(-10.0, 40.0, 6), np.arange(1, 12))
    fit = make_surrogate("paper", seed=0, input_names=["snr_db", "split"], **FAST_SURROGATE)
    fit.fit(X, y)
    qm = SurrogateQualityModel(fit, splits=np.arange(1, 12))
    base = gym.make(FADING, **SMALL).unwrapped.world  # type: ignore[attr-defined]
    world = gym.make(FADING, quality_model=qm, **SMALL).unwrapped.world  # type: ignore[attr-defined]
    assert world.quality.quality_range == base.quality.quality_range  # scored on the same scale
    assert world.quality.model is qm and base.quality.model is not qm
    kk = np.broadcast_to(world.runnable[None, :, None], world.t_level.shape)
    mid = (kk > 0) & (kk < 12)
    level = np.clip(world.t_level[mid], -10.0, 40.0)  # the lanes' equivalent SNRs, clamped like a table
    np.testing.assert_allclose(world.t_quality[mid], qm.quality_batch(kk[mid], level), atol=1e-5)
    assert (world.t_quality[~mid] == 0.0).all()  # splits 0 and L send no hidden state
    np.testing.assert_array_equal(world.t_level, base.t_level)  # the channel is the same world's
    error = float(np.mean(np.abs(world.t_quality[mid] - base.t_quality[mid])))
    assert error < 0.05 * float(np.ptp(base.t_quality[mid]))  # within 5 % of Q's range on average
    # The env steps with the surrogate's quality and reports the level it read it at.
    env = gym.make(FADING, quality_model=qm, **SMALL)
    env.reset(seed=0)
    _, _, _, _, info = env.step(6)
    lane_q = float(qm.quality(6, float(np.clip(info["quality_level"], -10.0, 40.0))))
    assert info["quality"] == pytest.approx(lane_q, abs=1e-5)


def test_fading_quality_model_must_be_a_quality_model() -> None:
    with pytest.raises(ConfigError, match=r"quality_model must be a quality model .* lacks \['level_name'"):
        gym.make(FADING, quality_model=object(), **SMALL)
    with pytest.raises(ConfigError, match="quality_model is on 'activation_bits'"):
        gym.make(FADING, quality_model=TableQualityModel("accuracy/reference_activation"), **SMALL)


def test_model_based_agents_learn_the_fading_splits_from_the_env_quality_model() -> None:
    agent = PaperModelBasedAgent(
        None, 33, env_id=FADING, env_kwargs=SMALL, seed=0, n_timesteps=2048, surrogate_kwargs=FAST_SURROGATE
    )
    np.testing.assert_array_equal(agent.splits, np.arange(1, 12))  # the hidden state crosses at 1..L-1
    assert agent.real_model.level_name == "snr_db"
    agent.fit()
    assert agent.real_evaluations == 33  # 3 SNR levels x 11 splits
    env = gym.make(FADING, **SMALL)
    obs, _ = env.reset(seed=0)
    action, _ = agent.predict(obs, deterministic=True)
    assert 0 <= int(action) <= 12
    with pytest.raises(ConfigError, match="give real_model"):
        PaperModelBasedAgent(None, 33, env_id=FADING, env_kwargs={"quality_model": agent.real_model})
    with pytest.raises(ConfigError, match="PaperSplitDirect-v0 or a splitgym/FadingSplit"):
        PaperModelBasedAgent(None, 33, env_id="splitgym/PaperSplit-v0")
    with pytest.raises(ConfigError, match="proxy quality profile"):
        PaperModelBasedAgent(
            None, 33, env_id="splitgym/FadingSplit-Pedestrian-Stateless-v1", env_kwargs=SMALL
        )


@pytest.mark.slow
def test_the_paper_agent_nearly_reaches_the_fading_oracle_with_66_real_evaluations() -> None:
    from splitgym.agents.baselines import family_baselines
    from splitgym.agents.evaluation import evaluate

    kw = {"n_steps": 512, "batch_size": 256, "gamma": 0.9, "ent_coef": 0.01, "n_envs": 4}
    agent = PaperModelBasedAgent(
        None, 66, env_id=FADING, seed=0, n_timesteps=40_000, learner="maskable_ppo", ppo_kwargs=kw
    ).fit()
    assert agent.real_evaluations == 66
    env = gym.make(FADING)
    ret = evaluate(agent, env, 10, seed=1_000_000)["return"].mean()
    base = {
        n: evaluate(p, env, 10, seed=1_000_000)["return"].mean()
        for n, p in family_baselines(FADING, env).items()
    }
    span = base["oracle"] - base["random"]  # measured: 86.8 against oracle 87.9, random 60.5
    assert ret >= base["oracle"] - 0.1 * span
    assert ret > max(base["device_only"], base["edge_only"], base["fixed_split"]) + 0.1 * span


def test_active_candidates_stay_in_the_design_domain() -> None:
    agent = ActiveModelBasedAgent(
        None, 20, env_id=FADING, env_kwargs=SMALL, seed=0, learner="maskable_ppo",
        n_timesteps=512, refine_timesteps=512, rounds=1, rollout_episodes=3,
        ppo_kwargs={"n_steps": 128, "batch_size": 64}, surrogate_kwargs=FAST_ENSEMBLE,
    ).fit()  # fmt: skip
    assert agent.level_range == (-10.0, 40.0)
    assert agent.X[:, 0].min() >= -10.0 and agent.X[:, 0].max() <= 40.0
    qm = agent._surrogate_models[-1]
    np.testing.assert_array_equal(qm.levels, [-10.0, 40.0])  # the real model's range, not the data's
    visited = agent._visited(qm)
    assert visited[:, 0].min() >= -10.0 and visited[:, 0].max() <= 40.0
    assert set(np.unique(visited[:, 1])) <= set(range(1, 12))  # only splits the surrogate answers for


def test_maskable_learner_needs_masks() -> None:
    with pytest.raises(ConfigError, match="learner 'maskable_ppo' needs an environment with action masks"):
        PaperModelBasedAgent(None, 20, learner="maskable_ppo")
    with pytest.raises(ConfigError, match="learner must be one of"):
        PaperModelBasedAgent(None, 20, env_id=FADING, learner="sac")
