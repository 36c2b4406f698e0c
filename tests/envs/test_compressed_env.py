"""CompressedSplit-v1: the v1 world's one evaluation function, answer modes, masks, observation, bad input."""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env as gym_check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import splitgym  # noqa: F401
from splitgym.agents.evaluation import evaluate, summarize
from splitgym.agents.policies.compressed import FixedActionPolicy, best_fixed_action
from splitgym.agents.policies.split import SplitOraclePolicy
from splitgym.envs.compressed.config import CompressedSplitConfig
from splitgym.envs.compressed.env import CompressedSplitEnv
from splitgym.envs.split.config import SCENARIOS, SplitConfig, scenario_config
from splitgym.envs.split.env import FadingSplitV1Env
from splitgym.errors import SplitGymError
from splitgym.profiles.profile import resolve_profile

ID = "splitgym/CompressedSplit-v1"
L = 12  # the reference model's decoder layers
EXITS = (3, 6, 9, 12)


@pytest.fixture(scope="module")
def env() -> CompressedSplitEnv:
    return CompressedSplitEnv()


@pytest.fixture(scope="module")
def meta() -> Any:
    return resolve_profile("compression/reference_compressed_activation").meta


def parts(env: CompressedSplitEnv, level: int) -> tuple[float, float, float]:
    """Embedding, one-layer and head device compute (s) of a whole request at prompt level ``level``, read
    off the world's uncompressed device times at splits 1, 2 and L (``T_dev(k) = E + k T + [k=L] H``)."""
    dev = env.world.comp.dev_total_s[level]
    layer = dev[2] - dev[1]
    embed = dev[1] - layer
    return embed, layer, dev[L] - embed - L * layer


def score_of(env: CompressedSplitEnv, q: float) -> float:
    lo, hi = env.world.quality.quality_range
    return min(max((q - lo) / (hi - lo), 0.0), 1.0)


def table_quality(budget: str, mode: str, split: int, bits: float) -> float:
    t = resolve_profile("compression/reference_compressed_activation").table
    row = t[(t["budget"] == budget) & (t["mode"] == mode) & (t["split"] == split) & (t["snr_db"] == bits)]
    assert len(row) == 1
    return float(row["quality"].iloc[0])


def test_checkers_pass_with_warnings_as_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(ID)
        gym_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)
        env.reset(seed=0)
        for _ in range(5):
            env.step(env.action_space.sample())


def test_defaults_are_the_v1_reference_scenario() -> None:
    c = CompressedSplitConfig()
    for name, value in SCENARIOS["Reference"].items():
        assert getattr(c, name) == value
    assert c.split_config() == scenario_config("Reference")
    assert type(c.split_config()) is SplitConfig
    assert (c.link, c.activation_bits, c.quality_table) == (
        "nr",
        16,
        "compression/reference_compressed_activation",
    )


def test_action_layout_and_masks(env: CompressedSplitEnv) -> None:
    env.reset(seed=0)
    assert env.action_space.n == 13 * 5 * 3  # type: ignore[attr-defined]
    assert env.encode(4, "0.5-8", "vote") == (4 * 5 + 2) * 3 + 2
    for a in range(env.n_actions):
        assert env.encode(*env.decode(a)) == a
    mask = env.action_masks()
    blocked = {env.decode(int(a)) for a in np.flatnonzero(~mask)}
    # min_split = 1 blocks split 0; exit mode needs an exit <= k (the first is layer 3); memory never binds.
    expected = {(0, b, m) for b in env.config.budgets for m in ("edge", "exit", "vote")}
    expected |= {(k, b, "exit") for k in (1, 2) for b in env.config.budgets}
    assert blocked == expected and mask.sum() == 195 - 25


def test_a_masked_action_runs_the_nearest_feasible_one_and_costs_w_invalid(env: CompressedSplitEnv) -> None:
    env.reset(seed=2)
    table = env.split_rewards()
    for k, mode, runs in ((0, "edge", (1, "edge")), (2, "exit", (2, "edge")), (0, "vote", (1, "vote"))):
        a, b = env.encode(k, "0.5-4", mode), env.encode(runs[0], "0.5-4", runs[1])
        assert env.fallback[env._c_level[env._t], a] == b
        assert table[a] == pytest.approx(table[b] - env.config.w_invalid)
    _, reward, *_, info = env.step(env.encode(0, "0.5-4", "edge"))
    assert info["invalid"] and info["r_invalid"] == -1.0 and (info["split"], info["mode"]) == (1, "edge")
    assert reward == pytest.approx(table[env.encode(0, "0.5-4", "edge")])


def test_memory_counts_the_compressed_weight_bytes(env: CompressedSplitEnv, meta: Any) -> None:
    dense_layer = 2.0 * env.world.comp.arch.params_per_layer  # float16 bytes of a layer (the world's)
    assert meta["costs"]["none"]["1"]["weight_bytes"][0] == 619520.0  # the same layer as the profile counts
    k, level = 9, 3
    dense = env.memory_bytes[level, env.encode(k, "none", "edge")]
    assert dense == env.world.comp.memory_bytes[level, k]
    small = env.memory_bytes[level, env.encode(k, "0.5-4", "edge")]
    kept = sum(meta["costs"]["luc-0.5-4"]["9"]["weight_bytes"]) / 619520.0  # dense-layer equivalents
    assert dense - small == pytest.approx((k - kept) * dense_layer, rel=1e-12)
    assert small < 0.4 * dense
    # an exit at k = 11 holds only the layers up to its exit (9)
    assert env.memory_bytes[level, env.encode(11, "none", "exit")] == env.world.comp.memory_bytes[level, 9]


def test_the_reward_is_the_worlds_one_evaluation_function(env: CompressedSplitEnv, meta: Any) -> None:
    """Each action's reward = SplitWorld.evaluate at its lane with a hand-computed device_scale and score."""
    env.reset(seed=5)
    rng = np.random.default_rng(1)
    for _ in range(40):
        req, level = env.request(), env._c_level[env._t]
        E, T, H = parts(env, level)
        table = env.split_rewards()
        cases = [(6, "0.5-4", "edge"), (9, "0.7-4", "exit"), (6, "0.3-8", "vote"), (12, "none", "edge")]
        for k, budget, mode in cases:
            name = "none" if budget == "none" else f"luc-{budget}"
            rel = meta["costs"][name][str(k)]["rel_time"]
            if mode == "edge":
                lane = k
                t_dev = E + T * sum(rel) + (H if k == L else 0.0)
            elif mode == "exit":
                lane, e = L, max(x for x in EXITS if x <= k)
                t_dev = E + T * sum(rel[:e]) + H
            else:
                lane = k
                t_dev = E + T * sum(rel) + H * sum(1 for x in EXITS if x <= k and x < L)
            scale = t_dev / env.world.comp.dev_total_s[level, lane]
            score = score_of(env, table_quality(name, mode, k, 16.0))
            out = env.world.evaluate(
                req, np.array([lane]), device_scale=np.array([scale]), score=np.array([score])
            )
            a = env.encode(k, budget, mode)
            assert env.device_scale[level, a] == pytest.approx(scale, rel=1e-12)
            assert table[a] == pytest.approx(float(out.reward[0]), rel=1e-12, abs=1e-12)
        a = int(rng.integers(env.n_actions))
        _, reward, _, truncated, info = env.step(a)
        assert reward == pytest.approx(table[a], rel=1e-9, abs=1e-12)  # step: the scalar twin
        terms = ("r_quality", "r_load", "r_energy", "r_latency", "r_invalid")
        assert reward == pytest.approx(sum(info[t] for t in terms))
        if truncated:
            env.reset()


def test_the_package_holds_no_copy_of_the_reward_formula() -> None:
    import splitgym.envs.compressed as pkg

    source = "\n".join(p.read_text() for p in sorted(Path(pkg.__file__).parent.glob("*.py")))
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("#", '"')))
    code = re.sub(r'"""(.|\n)*?"""', "", code)
    for term in ("w_quality *", "w_latency *", "w_energy *", "w_load *", "deadline", "lateness =",
                 "energy_norm", "soc_j", "modem_j", "idle_w", "cdrx", "np.clip(latency", "1 - float("):  # fmt: skip
        assert term not in code, term


def test_exit_mode_uses_no_radio_and_its_latency_is_the_device_only_lanes_scaled(
    env: CompressedSplitEnv,
) -> None:
    env.reset(seed=7)
    for _ in range(20):
        req, level = env.request(), env._c_level[env._t]
        E, T, H = parts(env, level)
        dense_l = env.world.evaluate(req, np.array([L]))  # the device-only lane, uncompressed
        scale = (E + 9 * T + H) / (E + L * T + H)  # budget none: the deepest exit <= 11 is layer 9
        a_d = 1.0 / (1.0 - float(req.device_load))
        latency = float(dense_l.latency_s[0]) + env.world.comp.dev_total_s[level, L] * a_d * (scale - 1.0)
        out = env.evaluate_actions(req, level, np.array([env.encode(11, "none", "exit")]))
        assert float(out.tx_slots[0]) == 0.0 and not bool(out.outage[0])
        assert float(out.latency_s[0]) == pytest.approx(latency, rel=1e-12)
        assert float(out.latency_s[0]) < float(dense_l.latency_s[0])
        assert float(out.energy_modem_j[0]) == pytest.approx(
            env.world.energy.radio.cdrx_w * latency, rel=1e-12
        )
        *_, info = env.step(env.encode(11, "none", "exit"))
        assert info["tx_slots"] == 0.0 and info["exit_depth"] == 9 and info["lane_split"] == L
        assert info["latency_s"] == pytest.approx(latency, rel=1e-9)
        assert info["energy_modem_j"] == pytest.approx(env.world.energy.radio.cdrx_w * latency, rel=1e-9)
        # load = the device's compute share: 9 of 12 layers' time (plus embedding and head) of lane L's.
        assert info["load"] == pytest.approx(scale, rel=1e-12) and float(out.load[0]) == pytest.approx(scale)
        edge = env.evaluate_actions(req, level, np.array([env.encode(6, "none", "edge")]))
        assert float(edge.tx_slots[0]) > 0.0  # an edge answer sends the hidden state


def test_quality_depends_on_the_precision_sent_never_on_the_snr() -> None:
    fp16, int4 = CompressedSplitEnv(), CompressedSplitEnv(activation="int4")
    a_exit, a_edge = fp16.encode(9, "0.5-4", "exit"), fp16.encode(6, "none", "edge")
    assert fp16.quality[a_exit] == int4.quality[a_exit] == table_quality("luc-0.5-4", "exit", 9, 16.0)
    assert fp16.quality[a_edge] == table_quality("none", "edge", 6, 16.0)
    assert int4.quality[a_edge] == table_quality("none", "edge", 6, 4.0) < fp16.quality[a_edge] - 1e-3
    fp16.reset(seed=0)
    qualities = set()
    for _ in range(50):
        *_, info = fp16.step(a_edge)
        qualities.add(info["quality"] if not info["outage"] else None)
    assert qualities - {None} == {fp16.quality[a_edge]}  # one value whatever the request's SNR


def test_budget_none_edge_is_fading_split_reference_v1() -> None:
    comp, plain = CompressedSplitEnv(), FadingSplitV1Env(scenario="Reference")
    assert comp.world is plain.world
    for seed, k in ((3, 6), (4, 1), (5, 11), (6, 12)):
        obs_c, _ = comp.reset(seed=seed)
        obs_p, _ = plain.reset(seed=seed)
        for _ in range(30):
            np.testing.assert_array_equal(obs_c[: obs_p.size], obs_p)
            obs_c, r_c, _, _, info_c = comp.step(comp.encode(k, "none", "edge"))
            obs_p, r_p, _, _, info_p = plain.step(k)
            assert r_c == pytest.approx(r_p, rel=1e-7, abs=1e-7)
            for key in ("latency_s", "ttft_s", "energy_j", "energy_modem_j", "load", "snr_db"):
                assert info_c[key] == pytest.approx(info_p[key], rel=1e-12), key
            assert info_c["quality_score"] == pytest.approx(info_p["quality_score"], abs=1e-7)


def test_observation_adds_the_previous_budget_and_mode(env: CompressedSplitEnv) -> None:
    obs, _ = env.reset(seed=1)
    assert obs.shape == (env.world.obs_dim + 2,) and obs[-2:].tolist() == [0.0, 0.0]
    obs, *_ = env.step(env.encode(6, "0.5-4", "vote"))
    assert obs[-2:].tolist() == pytest.approx([3 / 4, 1.0]) and obs[env.world.obs_dim - 1] == pytest.approx(
        0.5
    )
    obs, *_ = env.step(env.encode(9, "0.3-8", "exit"))
    assert obs[-2:].tolist() == pytest.approx([1 / 4, 0.5]) and obs[env.world.obs_dim - 1] == pytest.approx(
        0.75
    )


def test_dict_observation_mode() -> None:
    env = CompressedSplitEnv(observation_mode="dict")
    flat = CompressedSplitEnv()
    assert isinstance(env.observation_space, spaces.Dict)
    obs, info = env.reset(seed=3)
    obs_f, _ = flat.reset(seed=3)
    for t in range(10):
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(obs["observation"], obs_f)
        np.testing.assert_array_equal(obs["action_mask"], info["action_mask"].astype(np.int8))
        obs, _, _, _, info = env.step(5 * t)
        obs_f, *_ = flat.step(5 * t)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), actions=st.lists(st.integers(0, 194), min_size=1, max_size=40))
def test_random_actions_keep_observations_in_the_space(seed: int, actions: list[int]) -> None:
    env = _shared()
    obs, _ = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        assert env.observation_space.contains(obs) and math.isfinite(float(reward))
        assert not terminated and info["action_mask"][info["action"]]
        assert 0.0 <= info["quality_score"] <= 1.0 and info["device_scale"] > 0.0
        if truncated:
            obs, _ = env.reset()
            assert env.observation_space.contains(obs)


_ENV: list[CompressedSplitEnv] = []


def _shared() -> CompressedSplitEnv:
    if not _ENV:
        _ENV.append(CompressedSplitEnv(max_steps=25))
    return _ENV[0]


def test_render_and_describe(env: CompressedSplitEnv) -> None:
    shown = CompressedSplitEnv(render_mode="ansi")
    shown.reset(seed=0)
    assert shown.render() == "CompressedSplit-v1: no step yet"
    shown.step(shown.encode(6, "0.5-4", "vote"))
    text = shown.render()
    assert text is not None and "split 6/12 budget 0.5-4 mode vote" in text
    assert "reference_compressed_activation" in env.describe() and "nr" in env.describe()
    assert "reference_compressed_activation" in env.quality_source


def test_the_oracle_beats_every_fixed_action() -> None:
    env = gym.make(ID, max_steps=30)
    budgets = tuple(env.unwrapped.config.budgets)  # type: ignore[attr-defined]
    _, fixed = best_fixed_action(env, budgets, episodes=1, seed=50)
    oracle = summarize(evaluate(SplitOraclePolicy(env), env, 1, seed=50))["return"]
    assert oracle >= fixed - 1e-9  # per request the oracle takes the best action, the fixed one a single one
    device_only = summarize(
        evaluate(FixedActionPolicy(env.unwrapped.encode(12, "none", "edge")), env, 1, seed=50)
    )  # type: ignore[attr-defined]
    assert oracle > device_only["return"] + 1.0
    assert summarize(evaluate(FixedActionPolicy(0), env, 1, seed=50))["r_invalid"] < 0  # split 0 is masked


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"budgets": ["none", "1.2-4"]}, "budget 'luc-1.2-4' is not in"),
        ({"budgets": []}, "budgets must be a non-empty list"),
        ({"compression": "sparsegpt"}, "compression must be one of ['luc', 'uniform']"),
        ({"model": "qwen2-0.5b"}, "model must be 'reference'"),
        ({"link": "analog"}, "link must be 'nr'"),
        ({"device_precision": "int4"}, "device_precision must be 'float16'"),
        ({"state": ("queue",)}, "state must be ()"),
        ({"quality_table": "compression/reference_compressed_fading"}, "needs a table on 'activation_bits'"),
        ({"quality_table": "compression/nope"}, "unknown profile"),
        ({"budget": "0.5-4"}, "unknown parameter 'budget'"),
        ({"observation_mode": "graph"}, "observation_mode"),
    ],
)
def test_bad_input(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(SplitGymError) as err:
        gym.make(ID, **overrides)
    assert message in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_parameter_lists_the_allowed_ones() -> None:
    with pytest.raises(SplitGymError) as err:
        CompressedSplitEnv(budget="0.5-4")
    text = str(err.value)
    assert "allowed:" in text and "'budgets'" in text and "'speed_kmh'" in text


def test_config_is_frozen_and_replace_validates() -> None:
    c = CompressedSplitConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.compression = "uniform"  # type: ignore[misc]
    with pytest.raises(SplitGymError):
        dataclasses.replace(c, compression="none")


@pytest.mark.slow
def test_maskable_ppo_trains_from_the_command_line_and_evaluates(
    tmp_path: Any, capsys: Any, monkeypatch: Any
) -> None:
    from splitgym.cli.main import main

    monkeypatch.chdir(tmp_path)
    args = ["train", "--env", ID, "--algo", "maskable_ppo", "-n", "1024", "--hyperparams", "n_steps:128"]
    assert main([*args, "batch_size:64", "--eval-episodes", "2"]) == 0
    run = tmp_path / "runs" / "maskable_ppo" / "CompressedSplit-v1_1"
    assert (run / "model.zip").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(run), "--episodes", "2", "--baselines"]) == 0
    out = capsys.readouterr().out
    for word in ("maskable_ppo", "fixed_none", "fixed_luc", "oracle", "normalised score"):
        assert word in out


def test_the_shipped_table_is_measured_on_activation_bits() -> None:
    """The v1 table: the activation operator at 16, 8 and 4 bits; its none/edge rows are the v1 world's
    measured quality (accuracy/reference_activation, same model, operator and 2048 held-out tokens)."""
    p = resolve_profile("compression/reference_compressed_activation")
    assert p.meta["level_name"] == "activation_bits" and p.meta["operator"]["operator"] == "activationquant"
    assert sorted(p.table["snr_db"].unique().tolist()) == [4.0, 8.0, 16.0]
    assert len(p.table) == 9 * 3 * 3 * 13
    ref = resolve_profile("accuracy/reference_activation").table
    for bits in (4.0, 8.0, 16.0):
        ours = p.table[
            (p.table["budget"] == "none") & (p.table["mode"] == "edge") & (p.table["snr_db"] == bits)
        ]
        theirs = ref[ref["activation_bits"] == bits].set_index("split")["quality"]
        np.testing.assert_allclose(ours.set_index("split")["quality"], theirs, atol=1e-6)  # 6 decimals


def test_the_table_measurement_takes_the_activation_operator() -> None:
    import torch

    from splitgym.profiles.compression.exits import load_exits
    from splitgym.profiles.compression.sensitivity import per_layer_score
    from splitgym.profiles.compression.table import Budget, measure_compressed_quality
    from splitgym.profiles.llm import load_causal_lm
    from splitgym.profiles.quality.live import held_out_text

    torch.set_num_threads(1)
    lm = load_causal_lm("reference")
    sens = resolve_profile("compression/reference_sensitivity_magnitude").table
    ids = lm.encode(held_out_text())[:256]
    table, meta = measure_compressed_quality(
        lm, load_exits(lm, lm.path / "exits"), ids, per_layer_score(sens, "prune"),
        per_layer_score(sens, "quant"), budgets=(Budget("none"),), snrs=(16.0, 4.0), operator="activation",
    )  # fmt: skip
    assert meta["level_name"] == "activation_bits"
    edge = table[table["mode"] == "edge"].pivot(index="snr_db", columns="split", values="quality")
    assert edge.loc[16.0].abs().max() < 1e-4  # an fp16 cast of the state is (almost) free
    assert edge.loc[4.0, 1:11].mean() < edge.loc[16.0, 1:11].mean() - 3e-3  # int4 costs quality
    exits = table[table["mode"] == "exit"].pivot(index="snr_db", columns="split", values="quality")
    assert (exits.loc[4.0] == exits.loc[16.0]).all()  # the device's exit sends nothing


def test_long_episodes_cross_request_blocks() -> None:
    """Past the first block of requests (256) the step still equals the exhaustive evaluation."""
    env = CompressedSplitEnv(max_steps=300)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        a = int(rng.integers(env.n_actions))
        table = env.split_rewards()
        obs, reward, _, truncated, _ = env.step(a)
        assert env.observation_space.contains(obs) and reward == pytest.approx(table[a], rel=1e-9, abs=1e-12)
    assert truncated
