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


# -- the fading environments ---------------------------------------------------------------------------

FADING = "splitgym/FadingSplit-v0"


def test_a_surrogate_replaces_the_fading_quality_table() -> None:
    from splitgym.surrogates import SurrogateQualityModel
    from splitgym.surrogates.quality import make_surrogate, sample_grid

    real = TableQualityModel("accuracy/reference_fading")
    X, y = sample_grid(real, np.linspace(-10.0, 30.0, 5), np.arange(1, 13))
    fit = make_surrogate("paper", seed=0, input_names=["snr_db", "split"], **FAST_SURROGATE)
    fit.fit(X, y)
    qm = SurrogateQualityModel(fit, splits=np.arange(1, 13))
    np.testing.assert_array_equal(qm.levels, [-10.0, 30.0])
    base = gym.make(FADING).unwrapped.world.tables  # type: ignore[attr-defined]
    tables = gym.make(FADING, quality_model=qm).unwrapped.world.tables  # type: ignore[attr-defined]
    assert tables.quality_range == base.quality_range  # scored on the reference model's own scale
    assert not tables.has_quality[0] and tables.has_quality[1:].all()  # split 0 is not in the surrogate
    snr = tables.snr_db
    for k in (1, 6, 12):
        for i in np.searchsorted(snr, [-30.0, -10.0, 3.3, 17.0, 30.0, 55.0]):
            level = float(np.clip(snr[i], -10.0, 30.0))  # clamped like a table, no extrapolation
            expected = qm.quality(k, level) if k < 12 else qm.quality(k, 30.0)  # split L: clean
            assert tables.quality[k, i] == pytest.approx(expected, abs=1e-5)  # float32 MLP
    error = float(np.mean(np.abs(tables.quality[1:12] - base.quality[1:12])))
    assert error < 0.05 * float(np.ptp(base.quality[1:12]))  # within 5 % of Q's range on average


def test_fading_quality_model_must_be_a_quality_model() -> None:
    with pytest.raises(ConfigError, match=r"quality_model must be a quality model .* lacks \['level_name'"):
        gym.make(FADING, quality_model=object())


def test_the_quality_level_of_an_impairment_axis_model_is_the_packet_erasure_probability() -> None:
    tables = gym.make("splitgym/FadingSplit-Llama7B-v0").unwrapped.world.tables  # type: ignore[attr-defined]
    assert tables.level_name == "impairment"
    p = tables.quality_level(np.array([-5.0, 9.0, 12.0, 25.0]))
    assert p[0] == pytest.approx(1.0) and p[-1] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(p) <= 0)  # a better channel loses fewer packets
    fading = gym.make(FADING).unwrapped.world.tables  # type: ignore[attr-defined]
    np.testing.assert_allclose(fading.quality_level(np.array([-3.0, 12.5])), [-3.0, 12.5])


def test_model_based_agents_learn_the_fading_splits_from_the_env_quality_model() -> None:
    agent = PaperModelBasedAgent(
        None, 36, env_id=FADING, seed=0, n_timesteps=2048, surrogate_kwargs=FAST_SURROGATE
    )
    np.testing.assert_array_equal(agent.splits, np.arange(1, 13))  # min_split 1 .. L, all fit in memory
    assert agent.real_model.level_name == "snr_db"
    agent.fit()
    assert agent.real_evaluations == 36  # 3 SNR levels x 12 splits
    env = gym.make(FADING)
    obs, _ = env.reset(seed=0)
    action, _ = agent.predict(obs, deterministic=True)
    assert 0 <= int(action) <= 12
    with pytest.raises(ConfigError, match="give real_model"):
        PaperModelBasedAgent(None, 36, env_id=FADING, env_kwargs={"quality_model": agent.real_model})
    with pytest.raises(ConfigError, match="PaperSplitDirect-v0 or a splitgym/FadingSplit"):
        PaperModelBasedAgent(None, 36, env_id="splitgym/PaperSplit-v0")


@pytest.mark.slow
def test_the_paper_agent_reaches_the_fading_oracle_with_48_real_evaluations() -> None:
    from splitgym.agents.baselines import family_baselines
    from splitgym.agents.evaluation import evaluate

    agent = PaperModelBasedAgent(None, 48, env_id=FADING, seed=0, n_timesteps=20_000).fit()
    env = gym.make(FADING)
    ret = evaluate(agent, env, 20, seed=1_000_000)["return"].mean()
    base = {
        n: evaluate(p, env, 20, seed=1_000_000)["return"].mean()
        for n, p in family_baselines(FADING, env).items()
    }
    assert ret >= 0.95 * base["oracle"]
    assert ret > max(base["device_only"], base["edge_only"], base["fixed_split"]) + 5.0


def test_active_candidates_stay_in_the_design_domain_on_an_impairment_axis_scenario() -> None:
    """Llama-2-7B's packet-erasure probability is 0 or 1 at most SNRs; beyond the table's 0.3 the real
    model has no answer of its own (the env counts the answer as failed), so candidates are clipped."""
    agent = ActiveModelBasedAgent(
        None, 20, env_id="splitgym/FadingSplit-Llama7B-v0", seed=0, learner="maskable_ppo",
        n_timesteps=512, refine_timesteps=512, rounds=1, rollout_episodes=3,
        ppo_kwargs={"n_steps": 128, "batch_size": 64}, surrogate_kwargs=FAST_ENSEMBLE,
    ).fit()  # fmt: skip
    assert agent.level_range == (0.0, 0.3)
    assert agent.X[:, 0].min() >= 0.0 and agent.X[:, 0].max() <= 0.3
    qm = agent._surrogate_models[-1]
    np.testing.assert_array_equal(qm.levels, [0.0, 0.3])  # the real model's range, not the data's
    visited = agent._visited(qm)
    assert visited[:, 0].min() >= 0.0 and visited[:, 0].max() <= 0.3
    assert set(np.unique(visited[:, 1])) <= set(range(1, 10))  # only runnable splits (masks)


def test_maskable_learner_needs_masks() -> None:
    with pytest.raises(ConfigError, match="learner 'maskable_ppo' needs an environment with action masks"):
        PaperModelBasedAgent(None, 20, learner="maskable_ppo")
    with pytest.raises(ConfigError, match="learner must be one of"):
        PaperModelBasedAgent(None, 20, env_id=FADING, learner="sac")
