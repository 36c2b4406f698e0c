"""The compression environment: checkers, action decoding, masks, physics of each answer mode, bad input."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import splitgym  # noqa: F401
from splitgym.agents.evaluation import evaluate, summarize
from splitgym.agents.policies.compressed import FixedActionPolicy, best_fixed_action
from splitgym.agents.policies.split import SplitOraclePolicy
from splitgym.envs.compressed.env import CompressedSplitEnv
from splitgym.errors import SplitGymError

ID = "splitgym/CompressedSplit-v0"


def test_checkers_pass_with_warnings_as_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(ID)
        gym_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)
        env.reset(seed=0)
        for _ in range(5):
            env.step(env.action_space.sample())


def test_action_decoding_round_trips_and_masks_follow_the_rules() -> None:
    env = CompressedSplitEnv()
    env.reset(seed=0)
    assert env.action_space.n == 13 * 5 * 3  # type: ignore[attr-defined]
    for a in range(env.n_actions):
        assert env.encode(*env.decode(a)) == a
    mask = env.action_masks()
    for a in np.flatnonzero(~mask):
        split, _, mode = env.decode(int(a))
        assert split == 0 or (mode == "exit" and split < 3)  # min_split, and no exit below layer 3
    assert mask[env.encode(3, "0.5-4", "exit")] and mask[env.encode(12, "none", "edge")]


def test_step_matches_the_exhaustive_evaluation_and_terms_sum() -> None:
    env = CompressedSplitEnv()
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(300):
        table = env.split_rewards()
        a = int(rng.integers(env.n_actions))
        _, reward, _, truncated, info = env.step(a)
        assert reward == pytest.approx(table[a])
        terms = ("r_quality", "r_load", "r_energy", "r_latency", "r_invalid")
        assert reward == pytest.approx(sum(info[t] for t in terms))
        if truncated:
            env.reset()


def outcome(env: CompressedSplitEnv, split: int, budget: str, mode: str) -> dict[str, Any]:
    env.reset(seed=4)
    *_, info = env.step(env.encode(split, budget, mode))
    return info


def test_compression_cuts_device_load_and_memory_and_exits_send_nothing() -> None:
    env = CompressedSplitEnv()
    dense = outcome(env, 9, "none", "edge")
    small = outcome(env, 9, "0.5-4", "edge")
    assert small["load"] < dense["load"] and small["memory_bytes"] < 0.4 * dense["memory_bytes"]
    assert small["uplink_s"] == dense["uplink_s"] > 0
    exit9 = outcome(env, 9, "none", "exit")
    assert exit9["uplink_s"] == 0.0 and exit9["exit_depth"] == 9 and exit9["load"] < 1.0
    exit11 = outcome(env, 11, "none", "exit")
    assert exit11["load"] == pytest.approx(exit9["load"])  # stops at its deepest exit (layer 9)


def test_exit_answers_do_not_depend_on_the_channel_but_edge_answers_do() -> None:
    tables = CompressedSplitEnv().tables
    b, k = 0, 6
    exit_q = tables.quality[b, 1, k]
    edge_q = tables.quality[b, 0, k]
    assert np.ptp(exit_q) == 0.0
    assert edge_q[-1] > edge_q[0] + 1.0  # a corrupted hidden state costs quality


def test_the_oracle_beats_every_fixed_action() -> None:
    env = gym.make(ID)
    budgets = tuple(env.unwrapped.config.budgets)  # type: ignore[attr-defined]
    _, fixed = best_fixed_action(env, budgets, episodes=2, seed=50)
    oracle = summarize(evaluate(SplitOraclePolicy(env), env, 2, seed=50))["return"]
    assert oracle > fixed + 1.0
    assert summarize(evaluate(FixedActionPolicy(0), env, 1, seed=50))["r_invalid"] < 0  # split 0 is masked


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"budgets": ["none", "1.2-4"]}, "budget 'luc-1.2-4' is not in"),
        ({"compression": "sparsegpt"}, "compression must be one of ['luc', 'uniform']"),
        ({"model": "llama2-7b", "operator": "erasure"}, "model must be 'reference'"),
        ({"quality_table": "compression/nope"}, "unknown profile"),
        ({"budget": "0.5-4"}, "unknown parameter 'budget'"),
    ],
)
def test_bad_input(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(SplitGymError) as err:
        gym.make(ID, **overrides)
    assert message in str(err.value), str(err.value)


@pytest.mark.slow
def test_maskable_ppo_trains_from_the_command_line_and_evaluates(
    tmp_path: Any, capsys: Any, monkeypatch: Any
) -> None:
    from splitgym.cli.main import main

    monkeypatch.chdir(tmp_path)
    args = ["train", "--env", ID, "--algo", "maskable_ppo", "-n", "1024", "--hyperparams", "n_steps:128"]
    assert main([*args, "batch_size:64", "--eval-episodes", "2"]) == 0
    run = tmp_path / "runs" / "maskable_ppo" / "CompressedSplit-v0_1"
    assert (run / "model.zip").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(run), "--episodes", "2", "--baselines"]) == 0
    out = capsys.readouterr().out
    for word in ("maskable_ppo", "fixed_none", "fixed_luc", "oracle", "normalised score"):
        assert word in out
