"""Baselines, evaluation, hyperparameters: the pieces the benchmarks stand on."""

from __future__ import annotations

import copy
import itertools

import gymnasium as gym
import numpy as np
import pytest

from splitgym.agents.evaluation import evaluate, normalized_score, summarize
from splitgym.agents.hyperparams import load_hyperparams, parse_kv
from splitgym.agents.policies.paper import BestSplitPolicy, PlanningOracle, RandomPolicy
from splitgym.agents.trainers.sb3 import algo_class
from splitgym.errors import ConfigError

IDS = ["splitgym/PaperSplit-v0", "splitgym/PaperSplitDirect-v0"]


@pytest.mark.parametrize("env_id", IDS)
def test_batch_model_matches_step(env_id: str) -> None:
    """The planners' model of the dynamics and reward is exactly what step() does."""
    env = gym.make(env_id).unwrapped
    rng = np.random.default_rng(0)
    for seed in range(40):
        env.reset(seed=seed)
        q0 = env.quality_model.quality(env.split, env.impairment)
        if hasattr(env, "_quality_start"):
            env._quality_start = env._quality_now = q0
        action = int(rng.integers(env.action_space.n))
        split, imp = env.transition_batch(
            np.array([env.split]), np.array([env.impairment]), np.array([action])
        )
        expected = env.reward_batch(split, imp, q0)
        _, reward, _, _, info = env.step(action)
        assert (info["split"], info["impairment"]) == (int(split[0]), pytest.approx(float(imp[0]), abs=1e-15))
        assert reward == pytest.approx(float(expected[0]), abs=1e-12)


@pytest.mark.parametrize("env_id", IDS)
def test_oracle_equals_brute_force_over_real_steps(env_id: str) -> None:
    env = gym.make(env_id, horizon=3)
    oracle = PlanningOracle(env)
    n = env.action_space.n  # type: ignore[attr-defined]
    for seed in range(4):
        env.reset(seed=seed)
        best = max(
            sum(copy_env_step(env, seq))
            for seq in itertools.product(range(n), repeat=3)
        )  # fmt: skip
        got = evaluate(oracle, env, 1, seed=seed)["return"].iloc[0]
        assert got == pytest.approx(best, abs=1e-12)


def copy_env_step(env: gym.Env, actions: tuple[int, ...]) -> list[float]:  # type: ignore[type-arg]
    clone = copy.deepcopy(env)
    return [float(clone.step(a)[1]) for a in actions]


def test_best_split_policy_moves_toward_the_tables_best_split() -> None:
    env = gym.make("splitgym/PaperSplit-v0", observation="paper")
    policy = BestSplitPolicy(env)
    # At impairment 0.25 the table's best split is 7 (see the profile); from 3, +4 reaches it.
    action, _ = policy.predict(np.array([0.25, 3.0], np.float32))
    assert action == 8
    action, _ = policy.predict(np.array([0.25, 7.0], np.float32))
    assert action == 0
    # At impairment 0.05 the best split is 1 (the load term wins).
    action, _ = policy.predict(np.array([0.05, 4.0], np.float32))
    assert action == 5  # -3 layers


@pytest.mark.parametrize("env_id", IDS)
def test_policies_are_ordered_random_best_split_oracle(env_id: str) -> None:
    env = gym.make(env_id)
    r = {
        name: summarize(evaluate(p, env, 150, seed=11))["return"]
        for name, p in (
            ("random", RandomPolicy(env.action_space, seed=1)),
            ("best_split", BestSplitPolicy(env)),
            ("oracle", PlanningOracle(env)),
        )
    }
    assert r["random"] + 0.2 < r["best_split"] <= r["oracle"] + 1e-12
    assert normalized_score(r, "best_split", "random", "best_split") == 1.0
    assert normalized_score(r, "random", "random", "best_split") == 0.0


def test_evaluate_sums_terms_and_fixes_start_states() -> None:
    env = gym.make("splitgym/PaperSplit-v0")
    a = evaluate(RandomPolicy(env.action_space, seed=0), env, 5, seed=3)
    b = evaluate(BestSplitPolicy(env), env, 5, seed=3)
    np.testing.assert_allclose(a["return"], a["r_quality"] + a["r_load"])
    assert (a["length"] == 5).all()
    # Same seeds, same start states: the mean impairment differs only by the small in-episode drift.
    np.testing.assert_allclose(a["impairment"], b["impairment"], rtol=5e-3)
    with pytest.raises(ConfigError, match="episodes must be >= 1"):
        evaluate(BestSplitPolicy(env), env, 0)


def test_hyperparameters_keyed_by_env_id() -> None:
    ppo = algo_class("ppo")
    params, key = load_hyperparams("ppo", ppo, "splitgym/PaperSplit-v0")
    assert key == "splitgym/PaperSplit-v0"
    assert (params["n_steps"], params["batch_size"], params["n_timesteps"]) == (400, 100, 240_000)
    params, key = load_hyperparams("ppo", ppo, "CartPole-v1", {"learning_rate": 1e-3})
    assert key == "default" and params["learning_rate"] == 1e-3
    with pytest.raises(ConfigError, match="'buffer_size' is not taken by ppo"):
        load_hyperparams("ppo", ppo, "splitgym/PaperSplit-v0", {"buffer_size": 10})
    with pytest.raises(ConfigError, match="'seed' is not taken"):
        load_hyperparams("dqn", algo_class("dqn"), "splitgym/PaperSplit-v0", {"seed": 1})
    with pytest.raises(ConfigError, match=r"unknown algorithm 'ppo2' .*did you mean 'ppo'"):
        algo_class("ppo2")


def test_parse_kv_reads_exponents_as_numbers_and_refuses_repeats() -> None:
    assert parse_kv(["learning_rate:3e-4", "x:1E6", "y:-2.5e+3", "z:e5", "w:'3e-4'"], "x") == {
        "learning_rate": 3e-4,
        "x": 1e6,
        "y": -2500.0,
        "z": "e5",
        "w": "3e-4",  # quoted: the user asked for a string
    }
    with pytest.raises(ConfigError, match="'a' is given twice"):
        parse_kv(["a:1", "a:2"], "--hyperparams")


def test_parse_kv() -> None:
    assert parse_kv(["a:1", "b:[0.1, 0.2]", "c:paper", "d:true"], "x") == {
        "a": 1,
        "b": [0.1, 0.2],
        "c": "paper",
        "d": True,
    }
