"""The shared cell: PettingZoo and Gymnasium APIs, shared resources that bite, the server fit, schedulers,
hand computations of the uplink and the device-only path, and bad input."""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splitgym.envs.multi import parallel_env
from splitgym.envs.multi.scheduler import ProportionalFair, RoundRobin, make_scheduler
from splitgym.envs.multi.server import VIDUR_LINEAR_MS, VIDUR_TOKENS, server_time_model
from splitgym.errors import ConfigError

SMALL: dict[str, Any] = {"pool_size": 4, "prompt_levels": 2, "new_tokens": 4}
MID = 12


def small_env(**kw: Any) -> Any:
    kw.setdefault("n_users", 3)
    kw.setdefault("max_steps", 4)
    kw.setdefault("user", SMALL)
    return parallel_env(**kw)


def test_parallel_api_and_seed_tests_pass() -> None:
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    parallel_api_test(small_env(), num_cycles=10)
    parallel_seed_test(lambda: small_env())


def test_single_agent_view_passes_gymnasium_and_sb3_checkers_with_warnings_as_errors() -> None:
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make("splitgym/SharedCell-v1", n_users=3, user=SMALL).unwrapped)
        sb3_check_env(gym.make("splitgym/SharedCell-v1", n_users=3, user=SMALL).unwrapped)


def _trajectory(env: Any, seed: int, steps: int = 3) -> list[Any]:
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for t in range(steps):
        obs, rew, *_ = env.step({a: (MID + t + i) % (env.num_layers + 1) for i, a in enumerate(env.agents)})
        out += [obs, rew]
    return out


def test_seeded_runs_repeat_and_seeds_differ() -> None:
    env_a, env_b = small_env(), small_env()
    a, b = _trajectory(env_a, 7), _trajectory(env_b, 7)
    assert repr(a) == repr(b)
    assert repr(_trajectory(env_a, 8)) != repr(a)
    single = [
        gym.make("splitgym/SharedCell-v1", n_users=3, user=SMALL, background="random") for _ in range(2)
    ]
    runs = []
    for env in single:
        obs, _ = env.reset(seed=3)
        rows = [obs.tolist()]
        for _ in range(3):
            obs, r, *_ = env.step(np.int64(MID))
            rows.append([*obs.tolist(), float(r)])
        runs.append(rows)
    assert runs[0] == runs[1]


def test_one_more_user_offloading_slows_every_other_user_and_the_server() -> None:
    """Common random numbers: user 0 on the device vs at a mid split, the others fixed at the mid split."""
    env = small_env(n_users=4)
    L = env.num_layers
    delay = {}
    busy = {}
    for k0 in (L, MID):
        rows, total = [], 0.0
        for seed in range(3):
            env.reset(seed=seed)
            for _ in range(2):
                env.step({a: (k0 if a == "device_0" else MID) for a in env.agents})
                rows.append(env.last_outcome.uplink_delay_s[1:])
                total += env.last_outcome.server_busy_s
        delay[k0], busy[k0] = np.mean(rows, axis=0), total
    assert np.all(delay[MID] > delay[L]), (delay[MID], delay[L])
    assert busy[MID] > busy[L]


def test_iteration_time_by_hand_and_growing_with_the_batch() -> None:
    srv = server_time_model("a100-80gb", "qwen2-0.5b")
    a = srv.arch
    k, n, c = 10, 1, 100
    t = float(srv.iteration_s(np.array([[k]]), np.array([[n]]), np.array([[c]]), np.array([[True]]))[0])
    P, d = a.params_per_layer, a.hidden
    layer_bytes = P * 2 + 2 * c * a.kv_dim * 2 + 2 * n * d * 2
    layer_flops = 2 * n * P + 4 * d * (n * c)
    mem, comp = layer_bytes / (srv.eta_m * srv.bandwidth_bps), layer_flops / (srv.eta_c * srv.peak_flops)
    layer = (mem**srv.p + comp**srv.p) ** (1 / srv.p) + srv.overhead_layer_s
    head_mem = (a.vocab * d + d) * 2 + d * 2
    head_comp = 2 * a.vocab * d
    head = (head_mem / (srv.eta_m * srv.bandwidth_bps)) ** srv.p + (
        head_comp / (srv.eta_c * srv.peak_flops)
    ) ** srv.p
    expected = (a.layers - k) * layer + head ** (1 / srv.p) + srv.overhead_layer_s
    assert t == pytest.approx(expected, rel=1e-12)
    times = [
        float(
            srv.iteration_s(
                np.zeros((1, b), int), np.ones((1, b), int), np.full((1, b), 200), np.ones((1, b), bool)
            )[0]
        )
        for b in (1, 2, 8, 32)
    ]
    assert all(x < y for x, y in itertools.pairwise(times))
    assert (
        float(
            srv.iteration_s(
                np.zeros((1, 2), int), np.ones((1, 2), int), np.ones((1, 2), int), np.zeros((1, 2), bool)
            )[0]
        )
        == 0.0
    )


@pytest.mark.parametrize("gpu", list(VIDUR_LINEAR_MS))
def test_server_reproduces_the_vidur_points_within_the_reported_fit_error(gpu: str) -> None:
    srv = server_time_model(gpu, "llama2-7b")
    measured = np.asarray(VIDUR_LINEAR_MS[gpu]) * 1e-3
    predicted = srv.linear_s(np.asarray(VIDUR_TOKENS, dtype=float))
    err = np.abs(predicted / measured - 1.0)
    reported = srv.fit_table["rel_error"].abs().to_numpy()
    assert np.all(err <= reported + 1e-4)
    assert reported.max() < {"a100-80gb": 0.05, "h100-sxm": 0.10}[gpu]
    assert np.median(reported) < 0.05


def test_round_robin_shares_by_hand() -> None:
    rr = RoundRobin()
    rr.reset(3)
    give = rr.allocate(np.array([100, 100, 100]), np.array([51, 51, 51]), np.ones(3), 10)
    assert give.tolist() == [4, 3, 3]  # 10 = 3 + 3 + 3, the remainder to the first of the rotation
    give = rr.allocate(np.array([100, 100, 100]), np.array([51, 51, 51]), np.ones(3), 10)
    assert give.tolist() == [3, 4, 3]  # the rotation moved on
    give = rr.allocate(np.array([2, 100, 0]), np.array([51, 5, 51]), np.ones(3), 10)
    assert give.tolist() == [2, 5, 0]  # user 0 needs 2, user 1 is capped at 5, user 2 has nothing


def test_proportional_fair_order_and_average_by_hand() -> None:
    pf = ProportionalFair(beta=0.5)
    pf.reset(2)
    give = pf.allocate(np.array([8, 8]), np.array([51, 51]), np.array([100.0, 300.0]), 10)
    assert give.tolist() == [2, 8]  # user 1's R/T is higher: it takes what it needs first
    pf.update(np.array([200.0, 2400.0]))
    assert pf.avg_bits.tolist() == [0.5 * 1 + 0.5 * 200, 0.5 * 1 + 0.5 * 2400]
    give = pf.allocate(np.array([8, 8]), np.array([51, 51]), np.array([100.0, 300.0]), 10)
    assert give.tolist() == [8, 2]  # 100/100.5 > 300/1200.5: now user 0 first


def test_device_only_request_takes_the_device_times() -> None:
    env = small_env(n_users=2, arrival_spread_s=0.0)
    env.reset(seed=0)
    req, w = env._req, env.cell.world
    L = env.num_layers
    env.step({a: L for a in env.agents})
    out = env.last_outcome
    level = np.asarray(req.prompt_level)
    stretch = 1.0 / (1.0 - np.asarray(req.device_load))
    t_dp = w.comp.dev_prefill_s[level, L] * stretch
    total = t_dp + w.comp.dev_decode_s[level, L].sum(axis=-1) * stretch
    np.testing.assert_allclose(out.ttft_s, t_dp, rtol=1e-12)
    np.testing.assert_allclose(out.latency_s, total, rtol=1e-12)
    assert out.tx_slots.tolist() == [0, 0] and out.iterations == 0
    assert np.all(out.quality_score == w.quality.score[L])


def test_prefill_uplink_delay_by_hand() -> None:
    """One user, no fading, G = 1: the prompt's hidden states go up in whole UL slots of the capped PRBs."""
    user = {**SMALL, "fading": False, "new_tokens": 1, "bler_target": 1e-4}
    env = small_env(n_users=1, arrival_spread_s=0.0, user=user, iot_sigma_db=0.0)
    cell = env.cell
    env.reset(seed=2)
    req = env._req
    env.step({"device_0": MID})
    out = env.last_outcome
    c, w = cell.split, cell.world
    level = int(req.prompt_level[0])
    t_dp = float(w.comp.dev_prefill_s[level, MID] / (1.0 - req.device_load[0]))
    bits = w.prompts[level] * w.comp.arch.hidden * 16 + c.header_bits
    snr, cap, _ = cell._power(np.asarray(req.path_loss_db))
    m = int(cap[0])
    bpp = cell.bits_per_prb[cell._mcs(snr[0, m - 1 : m])][0]
    slots_needed = math.ceil(bits / (m * bpp))
    s0 = math.ceil(t_dp / cell.slot_s - 1e-9)
    s1 = math.ceil(s0 / c.sr_period_slots) * c.sr_period_slots + 2
    first_ul = next(s for s in range(s1, s1 + 5) if cell.ul_mask[s % 5])
    last_ul = first_ul + 5 * (slots_needed - 1)  # DDDSU: one UL slot in five
    arrived = (last_ul + 1) * cell.slot_s + c.gnb_decode_s + c.backhaul_s
    assert out.tx_slots[0] == slots_needed  # no TB lost at this seed (TBLER <= 1e-4)
    assert out.uplink_delay_s[0] == pytest.approx(arrived - t_dp, abs=1e-12)
    rest = bits - (slots_needed - 1) * m * bpp  # the last slot is granted only the PRBs it needs
    assert out.prb_slots[0] == (slots_needed - 1) * m + math.ceil(rest / bpp)


@settings(max_examples=6, deadline=None)
@given(
    n_users=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
    actions=st.lists(st.integers(0, 24), min_size=3, max_size=3),
)
def test_properties_observations_in_space_and_reward_equals_its_terms(
    n_users: int, seed: int, actions: list[int]
) -> None:
    env = small_env(n_users=n_users)
    obs, _ = env.reset(seed=seed)
    for a in env.agents:
        assert env.observation_space(a).contains(obs[a])
    for x in actions:
        obs, rew, _, _, info = env.step({a: x for a in env.agents})
        for a in env.possible_agents:
            assert env.observation_space(a).contains(obs[a])
            terms = sum(info[a][k] for k in ("r_quality", "r_latency", "r_energy", "r_load", "r_invalid"))
            assert math.isfinite(rew[a]) and rew[a] == pytest.approx(terms, abs=1e-12)
            assert info[a]["split"] in np.flatnonzero(env.cell.world.feasible.any(axis=0))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_users": 0}, r"n_users must be >= 1, got 0"),
        ({"n_users": True}, r"n_users"),
        ({"scheduler": "fifo"}, r"scheduler must be one of rr, pf; got 'fifo'"),
        ({"kv_memory_gib": 1e-4}, r"kv_memory_gib=0.0001 is too small for one request"),
        ({"user": {"edge": "rtx-4090"}}, r"edge must be one of a100-80gb, h100-sxm"),
        ({"user": {"link": "analog"}}, r"link must be 'nr' in a shared cell"),
        ({"user": {"state": ("queue",)}}, r"'state' is not a shared-cell parameter"),
        ({"nonsense": 1}, r"unknown parameter 'nonsense'"),
    ],
)
def test_bad_cell_configuration_gives_one_line_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        parallel_env(**{"user": SMALL, **kwargs})
    assert "\n" not in str(info.value)


def test_bad_background_and_actions_give_one_line_errors() -> None:
    with pytest.raises(ConfigError, match=r"n_users - 1 = 2 policies, got 3"):
        gym.make("splitgym/SharedCell-v1", n_users=3, user=SMALL, background=["device"] * 3)
    with pytest.raises(ConfigError, match=r"background policy must be one of"):
        gym.make("splitgym/SharedCell-v1", n_users=3, user=SMALL, background="greedy")
    with pytest.raises(ConfigError, match=r"'fixed:99': the split must be an integer in 0..24"):
        gym.make("splitgym/SharedCell-v1", n_users=3, user=SMALL, background="fixed:99")
    env = small_env()
    env.reset(seed=0)
    with pytest.raises(gym.error.InvalidAction, match=r"actions\['device_0'\] must be an integer in 0..24"):
        env.step({a: 1.5 for a in env.agents})
    with pytest.raises(ValueError, match=r"one action per agent"):
        env.step({"device_0": 1})
    single = gym.make("splitgym/SharedCell-v1", n_users=2, user=SMALL)
    single.reset(seed=0)
    with pytest.raises(gym.error.InvalidAction):
        single.step(True)
    assert make_scheduler("rr").name == "rr"


def test_centralised_never_does_worse_than_all_on_the_device_on_the_step_it_plans() -> None:
    from splitgym.agents.cell_baselines import make_cell_baseline

    env = small_env(n_users=4)
    L = env.num_layers
    central = make_cell_baseline("centralised", env)
    myopic = make_cell_baseline("myopic", env)
    env.reset(seed=5)
    for _ in range(2):
        joint = central(env)
        assert env.peek(joint).reward.sum() >= env.peek({a: L for a in env.agents}).reward.sum()
        alone = myopic(env)
        masks = env.action_masks()
        assert all(masks[a][alone[a]] for a in env.agents)
        env.step(joint)


def test_peek_is_the_step_it_previews() -> None:
    env = small_env(n_users=3)
    env.reset(seed=11)
    joint = {a: MID for a in env.agents}
    preview = env.peek(joint)
    _, rew, *_ = env.step(joint)
    assert [rew[a] for a in env.possible_agents] == preview.reward.tolist()


def test_parameter_sharing_vec_env_slots_are_the_cells_devices() -> None:
    from stable_baselines3.common.env_checker import check_env  # noqa: F401  (SB3 importable)

    from splitgym.envs.multi.sb3_vec import SharedCellVecEnv

    venv = SharedCellVecEnv(n_cells=2, seed=4, n_users=3, max_steps=2, user=SMALL)
    obs = venv.reset()
    assert obs.shape == (6, 8) and venv.action_masks().shape == (6, 25)
    cell = small_env(n_users=3, max_steps=2)
    ref, _ = cell.reset(seed=5)
    np.testing.assert_array_equal(obs[3:], np.stack([ref[a]["observation"] for a in cell.possible_agents]))
    actions = np.full(6, MID, dtype=np.int64)
    _, r1, d1, _ = venv.step(actions)
    _, _, d2, infos = venv.step(actions)
    assert not d1.any() and d2.all() and "terminal_observation" in infos[0]
    _, ref_r, *_ = cell.step({a: MID for a in cell.possible_agents})
    assert r1[3:].tolist() == pytest.approx([ref_r[a] for a in cell.possible_agents])
    with pytest.raises(gym.error.InvalidAction):
        venv.step(np.full(5, MID, dtype=np.int64))


def test_learning_table_pairs_the_learned_policy_with_myopic_episode_by_episode() -> None:
    import pandas as pd

    from splitgym.benchmarks.shared_cell_learning import learning_table

    rows = [
        {"n_users": 8, "method": "myopic", "seed": 0, "episode": e, "reward": 0.5 + 0.1 * e, "slo": 0.5}
        for e in range(3)
    ]
    rows += [
        {
            "n_users": 8,
            "method": "mppo_shared",
            "seed": s,
            "episode": e,
            "reward": 0.7 + 0.1 * e,
            "slo": 0.5 + 0.1 * s,
        }
        for s in range(2)
        for e in range(3)
    ]
    table = learning_table(pd.DataFrame(rows)).set_index("method")
    assert table.loc["mppo_shared", "reward"] == pytest.approx(0.8)
    assert (
        table.loc["mppo_shared", "reward - myopic [95% CI]"] == "+0.200 [+0.200, +0.200]"
    )  # every pair +0.2
    assert table.loc["mppo_shared", "slo - myopic [95% CI]"].startswith("+0.050 [")
    assert table.loc["myopic", "reward - myopic [95% CI]"] == ""


def test_benchmark_cell_writes_its_table_plot_and_command(
    in_tmp: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    from splitgym.cli.main import main

    assert (
        main(
            [
                "benchmark",
                "cell",
                "--users",
                "2",
                "--seeds",
                "2",
                "--steps",
                "1",
                "--methods",
                "device,edge",
                "--out",
                "c",
            ]
        )
        == 0
    )
    frame = pd.read_csv(in_tmp / "c" / "cells.csv")
    assert sorted(frame["method"].unique()) == ["device", "edge"] and len(frame) == 4
    assert (frame.loc[frame["method"] == "device", "slo"] == 1.0).all()
    text = (in_tmp / "c" / "README.md").read_text()
    assert "splitgym benchmark cell --users 2" in text and (in_tmp / "c" / "slo.png").stat().st_size > 10_000


def test_slo_report_by_hand_for_device_only_requests() -> None:
    env = small_env(n_users=2, max_steps=3)
    env.reset(seed=1)
    L = env.num_layers
    ttft, gaps = {0: [], 1: []}, {0: [], 1: []}
    while env.agents:
        env.step({a: L for a in env.agents})
        out = env.last_outcome
        for i in (0, 1):
            ttft[i].append(out.ttft_s[i])
            gaps[i] += out.gaps_s[i].tolist()
    report = env.slo_report().set_index("device")
    assert report.loc["device_0", "requests"] == 3 and report.loc["cell", "requests"] == 6
    assert report.loc["device_1", "ttft_p90_s"] == pytest.approx(np.percentile(ttft[1], 90))
    assert report.loc["cell", "tbt_p99_s"] == pytest.approx(np.percentile(gaps[0] + gaps[1], 99))
    assert report["attainment"].tolist() == [1.0, 1.0, 1.0] and bool(report["ttft_p90_ok"].all())


def test_neurosurgeon_on_every_device_takes_its_own_predicted_fastest_feasible_split() -> None:
    from splitgym.agents.cell_baselines import make_cell_baseline

    policy = make_cell_baseline("neurosurgeon", small_env(n_users=3))  # built on a twin, as suites do
    env = small_env(n_users=3)
    env.reset(seed=2)
    joint = policy(env)
    masks = env.action_masks()
    for view, ns in zip(policy.views, policy.policies, strict=True):  # type: ignore[attr-defined]
        pred = ns.current_prediction(None)
        k = joint[view.agent]
        assert masks[view.agent][k]
        assert pred.latency_s[k] <= pred.latency_s[masks[view.agent]].min() + 1e-12
        assert float(view.request().edge_load) == 0.0


def test_box_observation_view_passes_the_api_test_and_carries_the_masks_in_infos() -> None:
    from pettingzoo.test import parallel_api_test

    from splitgym.envs.multi.parallel import box_parallel_env

    parallel_api_test(box_parallel_env(n_users=2, max_steps=3, user=SMALL), num_cycles=5)
    env, ref = box_parallel_env(n_users=2, max_steps=3, user=SMALL), small_env(n_users=2, max_steps=3)
    obs, infos = env.reset(seed=4)
    ref_obs, _ = ref.reset(seed=4)
    for a in env.possible_agents:
        np.testing.assert_array_equal(obs[a], ref_obs[a]["observation"])
        np.testing.assert_array_equal(infos[a]["action_mask"], ref_obs[a]["action_mask"].astype(bool))
    _, rew, *_ = env.step({a: MID for a in env.agents})
    _, ref_rew, *_ = ref.step({a: MID for a in ref.agents})
    assert rew == ref_rew
