"""The v1 world's sequential state (issue 13): each mechanism against a hand computation, history
dependence, checkers on the stateful IDs, bad input."""

from __future__ import annotations

import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import splitgym  # noqa: F401
from splitgym.envs.split.channel import Request
from splitgym.envs.split.config import SCENARIOS
from splitgym.envs.split.env import PER_SPLIT_KEYS, FadingSplitV1Env
from splitgym.envs.state.radio import RadioParams
from splitgym.errors import ConfigError

V1_IDS = [
    "splitgym/FadingSplit-v1",
    *(f"splitgym/FadingSplit-{s}{t}-v1" for s in SCENARIOS for t in ("", "-Stateless")),
]
SMALL: dict[str, Any] = {"pool_size": 4}
MID = 6  # a mid split (radio used) of the Pedestrian model


def _twins(**state: Any) -> tuple[FadingSplitV1Env, FadingSplitV1Env]:
    """A stateful env and its stateless twin (same requests from the same seed)."""
    a = FadingSplitV1Env("Pedestrian", **SMALL, **state)
    b = FadingSplitV1Env("Pedestrian", **SMALL, **{k: v for k, v in state.items() if k != "state"})
    a.reset(seed=11)
    b.reset(seed=11)
    return a, b


def test_the_scalar_lane_evaluation_equals_the_vectorised_one() -> None:
    env = FadingSplitV1Env("Pedestrian", **SMALL)
    env.reset(seed=2)
    w = env.world
    rng = np.random.default_rng(0)
    s = env._block
    for _ in range(200):
        t, col = int(rng.integers(s.snr_db.shape[0])), int(rng.integers(s.snr_db.shape[1]))
        k = int(rng.choice(w.runnable))
        req = s.take((t, col))
        out = w.evaluate(Request(*(np.asarray(getattr(req, f))[None] for f in vars(req))), np.array([k]))
        lane = int(w.lane_base(req)) + int(w.slot_of[k])
        x_d, x_e = 1 / (1 - float(req.device_load)) - 1, 1 / (1 - float(req.edge_load)) - 1
        got = w.evaluate_lane(lane, k, x_d, x_e, float(w.energy.radio.tx_w(req.tx_power_dbm)))
        for key, value in zip(PER_SPLIT_KEYS, got, strict=True):
            np.testing.assert_allclose(
                value, float(getattr(out, key)[0]), rtol=1e-12, atol=1e-12, err_msg=key
            )


def test_queue_wait_on_a_fixed_arrival_trace() -> None:
    trace = (0.0, 0.1, 0.2, 30.0, 30.0)
    a, b = _twins(state=("queue",), arrival_kind="trace", arrival_trace_s=trace)
    departure = 0.0
    for i in range(5):
        _, _, _, _, ia = a.step(MID)
        _, _, _, _, ib = b.step(MID)
        start = max(trace[i], departure)
        assert ia["start_s"] == pytest.approx(start, abs=1e-12)
        assert ia["wait_s"] == pytest.approx(start - trace[i], abs=1e-12)
        if not ib["outage"]:
            assert ia["latency_s"] == pytest.approx(ib["latency_s"] + start - trace[i], rel=1e-12)
            assert ia["ttft_s"] == pytest.approx(ib["ttft_s"] + start - trace[i], rel=1e-12)
            departure = start + ib["latency_s"]
        else:
            departure = start + ia["latency_s"]
    assert a._step == 5 and "step" not in a.last_info  # (no info key RL frameworks use themselves)


def test_promotion_is_paid_after_a_gap_longer_than_the_inactivity_timer_only() -> None:
    radio = RadioParams()
    for interval, promoted in ((12.0, True), (1.0, False)):
        a, b = _twins(state=("radio",), request_interval_s=interval)
        _, _, _, _, first = a.step(MID)
        b.step(MID)
        assert first["promotion_s"] == pytest.approx(radio.promotion_idle_s)  # no activity yet: from IDLE
        _, _, _, _, ia = a.step(MID)
        _, _, _, _, ib = b.step(MID)
        if ib["outage"] or first["outage"]:
            continue
        gap = interval - first["latency_s"]  # last radio activity ended with the first request
        assert ia["radio_gap_s"] == pytest.approx(gap, rel=1e-12)
        assert ia["promotion_s"] == (radio.promotion_idle_s if promoted else 0.0)
        assert ia["latency_s"] == pytest.approx(ib["latency_s"] + ia["promotion_s"], rel=1e-12)
        t_rrc = radio.inactivity_timer_s
        background = radio.cdrx_w * min(gap, t_rrc) + radio.idle_power_w * max(gap - t_rrc, 0.0)
        promo_j = radio.promotion_w * ia["promotion_s"]
        assert ia["energy_j"] == pytest.approx(ib["energy_j"] + background + promo_j, rel=1e-9)
        # a device-only request never promotes, whatever the gap
        a.step(a.num_layers)
        assert a.last_info["promotion_s"] == 0.0


def test_battery_is_drawn_by_exactly_the_energy_in_info() -> None:
    env = FadingSplitV1Env("Pedestrian", **SMALL, state=("battery",), battery_capacity_wh=0.01)
    env.reset(seed=3)
    cap_j = 0.01 * 3600.0 * 0.9  # Wh -> J, times the delivery efficiency
    soc = 1.0
    for i in range(200):
        _, _, terminated, truncated, info = env.step(MID if i % 2 else 0)
        soc -= info["energy_j"] / cap_j
        assert info["battery_soc"] == pytest.approx(max(soc, 0.0), abs=1e-12)  # clipped at 0 (Battery)
        if terminated:
            assert soc <= 0.0 and info["battery_soc"] == 0.0 and not truncated
            break
    else:
        pytest.fail("a 10 mWh battery should deplete within 200 requests")


def test_bulk_rates_by_hand() -> None:
    """UL: delivered TB bits of the pool entry's own trace over its duration; DL: TS 38.306 at the mean
    SE of the CQI reports (CQI 0 read as 1), DL share 0.8 of DDDSU, 14 symbols, OH 0.14, x (1 - BLER)."""
    env = FadingSplitV1Env("Pedestrian", **SMALL, state=("kv",))
    link = env.world.link
    ul, dl = link.bulk_rates_bps()
    p = 7
    delivered = sum(
        float(link.tbs[m])
        for m, lost in zip(link.mcs[p], np.diff(link.cum_lost[p]) > 0, strict=True)
        if not lost
    )
    assert ul[p] == pytest.approx(delivered / ((link.total_slots - link.warmup_slots) * 0.5e-3), rel=1e-9)
    se = {0: 0.1523, 1: 0.1523, 2: 0.2344, 3: 0.3770, 4: 0.6016, 5: 0.8770, 6: 1.1758, 7: 1.4766, 8: 1.9141,
          9: 2.4063, 10: 2.7305, 11: 3.3223, 12: 3.9023, 13: 4.5234, 14: 5.1152, 15: 5.5547}  # fmt: skip
    mean_se = np.mean([se[int(c)] for c in link.cqi[p]])
    assert dl[p] == pytest.approx(mean_se * 12 * 51 * 14 * 0.86 * 0.8 / 0.5e-3 * 0.9, rel=1e-9)
    best = int(np.argmax(ul))  # at the top of the pool the UL nears TS 38.306's 64QAM peak x UL share
    assert 0.5 * 17.5e6 < ul[best] <= 87.6e6 * 0.2 * 1.01


def test_a_migration_the_link_cannot_carry_is_abandoned_at_the_timeout() -> None:
    env = FadingSplitV1Env("Pedestrian", **SMALL, state=("kv",), turns_per_conversation=3)
    assert env.session is not None
    env.session._ul_bps = [1.0] * len(env.session._ul_bps)  # a dead uplink: 1 bit/s
    env.reset(seed=4)
    env.step(MID + 4)
    _, _, _, _, info = env.step(MID)  # 4 layers' KV towards the edge
    assert info["kv_bytes"] > 0 and info["kv_move_s"] == env.config.horizon_s  # not 8 kv_bytes seconds
    assert info["energy_j"] < 50.0  # at most the timeout's worth of transmission


def test_kv_migration_bytes_and_recompute() -> None:
    env = FadingSplitV1Env("Pedestrian", **SMALL, state=("kv",), turns_per_conversation=3)
    env.reset(seed=4)
    kv_b = env.world.comp.arch.kv_bytes_per_token(2.0)
    _, _, _, _, i0 = env.step(MID)
    assert i0["kv_bytes"] == 0.0 and i0["context_tokens"] == 0
    _, _, _, _, i1 = env.step(MID + 4)
    context = i0["prompt_tokens"] + env.config.new_tokens
    assert i1["context_tokens"] == context
    assert i1["kv_bytes"] == pytest.approx(4 * context * kv_b)
    # towards the device (the split grew): the downlink's bulk rate of this request's pool entry
    w = env.world
    dl_times = 8.0 * i1["kv_bytes"] / np.asarray(w.downlink_rate_bps)
    ul_times = 8.0 * i1["kv_bytes"] / np.asarray(w.uplink_rate_bps)
    assert np.isclose(dl_times, i1["kv_move_s"], rtol=1e-12).any()
    assert not np.isclose(ul_times, i1["kv_move_s"], rtol=1e-12).all()
    _, _, _, _, i2 = env.step(MID + 4)  # same split: nothing moves
    assert i2["kv_bytes"] == 0.0 and i2["kv_move_s"] == 0.0
    _, _, _, _, i3 = env.step(MID)  # a new conversation after 3 turns: no context
    assert i3["context_tokens"] == 0 and i3["kv_bytes"] == 0.0
    rec = FadingSplitV1Env("Pedestrian", **SMALL, state=("kv",), kv_mode="recompute")
    rec.reset(seed=4)
    _, _, _, _, r0 = rec.step(MID)
    _, _, _, _, r1 = rec.step(MID + 4)
    assert r1["kv_bytes"] == 0.0 and r1["kv_move_s"] > 0.0
    # Recomputed on the device: layers MID+1..MID+4 over the context, at the prefill time per token of
    # this request's prompt level (the profile's prefill of that many tokens, scaled to the context).
    w = rec.world
    level = int(np.flatnonzero(w.prompts == r1["prompt_tokens"])[0])
    context = r0["prompt_tokens"] + rec.config.new_tokens
    prefill = w.comp.dev_prefill_s[level]
    by_hand = (prefill[MID + 4] - prefill[MID]) * context / w.prompts[level]
    assert r1["kv_move_s"] == pytest.approx(by_hand, rel=1e-9)


def test_heat_throttles_and_stretches_device_compute() -> None:
    a, b = _twins(state=("thermal",), thermal_skin_throttle_c=25.0)
    clocks = []
    for _ in range(30):
        _, _, _, _, ia = a.step(a.num_layers)
        _, _, _, _, ib = b.step(b.num_layers)
        clocks.append(ia["clock_scale"])
        assert ia["latency_s"] == pytest.approx(
            ib["latency_s"] + (1.0 / ia["clock_scale"] - 1.0) * ib["latency_s"], rel=1e-9
        )  # device-only: every second of the request is device compute, stretched by 1/clock
    assert clocks[0] == 1.0 and clocks[-1] < 1.0 and all(np.diff(clocks) <= 1e-12)


@pytest.mark.parametrize("env_id", V1_IDS)
def test_actions_change_later_rewards_except_in_stateless_scenarios(env_id: str) -> None:
    envs = [gym.make(env_id, **SMALL).unwrapped for _ in range(2)]
    for e in envs:
        e.reset(seed=5)
    L = envs[0].num_layers
    for _ in range(6):
        envs[0].step(L)  # device only
        envs[1].step(0)  # edge only
    r0, r1 = (np.asarray(e.split_rewards()) for e in envs)
    if "Stateless" in env_id:
        np.testing.assert_allclose(r0, r1)
    else:
        assert not np.allclose(r0, r1)


@pytest.mark.parametrize(
    "env_id", ["splitgym/FadingSplit-v1", "splitgym/FadingSplit-Pedestrian-Stateless-v1"]
)
def test_checkers_pass_on_the_state_ids(env_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id)
        gym_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ({"arrival_rate_per_s": -1.0}, "arrival_rate_per_s"),
        ({"arrival_trace_s": (0.0, 2.0, 1.0)}, "arrival_trace_s"),
        ({"arrival_trace_s": (0.0, math.inf)}, "arrival_trace_s"),
        ({"arrival_trace_s": (0.0, math.nan)}, "arrival_trace_s"),
        ({"thermal_skin_throttle_c": 20.0}, "thermal_skin_throttle_c"),
        ({"thermal_die_throttle_c": 0.0}, "thermal_die_throttle_c"),
        ({"battery_capacity_wh": 0.0}, "battery_capacity_wh"),
        ({"state": ("queue", "heat")}, "state"),
        ({"kv_mode": "copy"}, "kv_mode"),
    ],
)
def test_bad_state_input_names_the_parameter(override: dict[str, Any], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        gym.make("splitgym/FadingSplit-Pedestrian-v1", **override)


def test_the_native_vector_env_accepts_state() -> None:
    from splitgym.envs.split.vector import FadingSplitV1VectorEnv

    envs = gym.make_vec("splitgym/FadingSplit-v1", num_envs=2, vectorization_mode="vector_entry_point",
                        state=("queue",), **SMALL)  # fmt: skip
    single = FadingSplitV1Env("Pedestrian", state=("queue",), **SMALL)
    assert isinstance(envs, FadingSplitV1VectorEnv)
    assert envs.single_observation_space == single.observation_space  # the queue's two features appended
    obs, _ = envs.reset(seed=0)
    _, _, _, _, info = envs.step(np.full(2, MID))
    assert envs.observation_space.contains(obs) and info["wait_s"].shape == (2,)
    session = gym.make_vec(
        "splitgym/FadingSplit-Pedestrian-v1", num_envs=2, vectorization_mode="vector_entry_point"
    )
    assert isinstance(session, FadingSplitV1VectorEnv) and session.session is not None


def test_a_clone_is_independent_and_the_planner_reduces_to_the_myopic_rule() -> None:
    from splitgym.agents.baselines import make_baseline
    from splitgym.agents.policies.planning import SplitPlanningPolicy, myopic_split

    a = gym.make("splitgym/FadingSplit-Pedestrian-v1", **SMALL)
    b = gym.make("splitgym/FadingSplit-Pedestrian-v1", **SMALL)
    ua: Any = a.unwrapped
    ub: Any = b.unwrapped
    a.reset(seed=8)
    b.reset(seed=8)
    for _ in range(3):
        a.step(MID)
        b.step(MID)
    twin = ua.clone()
    for _ in range(5):
        twin.step(0)  # the clone moves on; the original must not notice
    np.testing.assert_allclose(ua.split_rewards(), ub.split_rewards())
    assert a.step(MID)[1] == b.step(MID)[1]
    assert SplitPlanningPolicy(a, horizon=1).choose(ua.action_masks()) == myopic_split(ua)
    policy, _, params = make_baseline("planning", a, "split", params={"horizon": 2})
    assert params == {"horizon": 2, "gamma": 1.0}
    action, _ = policy.predict(None)
    assert ua.action_masks()[int(action)]
    with pytest.raises(ConfigError, match="horizon"):
        SplitPlanningPolicy(a, horizon=0)


def test_an_exhausted_arrival_trace_truncates_the_episode() -> None:
    env = FadingSplitV1Env("Pedestrian", **SMALL, state=("queue", "radio"), arrival_kind="trace",
                           arrival_trace_s=(0.0, 0.5))  # fmt: skip
    env.reset(seed=1)
    assert env.step(MID)[3] is False
    obs, _, terminated, truncated, _ = env.step(MID)
    assert truncated and not terminated and np.isfinite(obs).all() and env.observation_space.contains(obs)


def test_late_requests_keep_the_latency_features_at_one() -> None:
    """TTFT and total over twice their deadlines saturate the observation's latency features at 1."""
    env = FadingSplitV1Env(
        "Pedestrian", **SMALL, state=("queue",), ttft_deadline_s=0.001, tbt_deadline_s=0.001
    )
    obs, _ = env.reset(seed=3)
    H = env._cqi_h
    for _ in range(4):
        obs, *_ = env.step(MID)
        assert obs in env.observation_space
        assert obs[H + 1] == 1.0 and obs[H + 2] == 1.0


def test_an_action_of_any_integer_type_is_the_same_action() -> None:
    a = FadingSplitV1Env("Pedestrian", **SMALL, state=("queue",))
    b = FadingSplitV1Env("Pedestrian", **SMALL, state=("queue",))
    a.reset(seed=4)
    b.reset(seed=4)
    L = a.num_layers
    for action in (np.int32(L), np.array(L - 1), np.uint8(MID)):
        ra = a.step(action)
        rb = b.step(int(action))
        assert ra[1] == rb[1] and np.array_equal(ra[0], rb[0])
