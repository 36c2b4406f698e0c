"""The native vector env with sequential state (envs/split/vector_state.py): agreement in distribution with
single environments, each mechanism against a hand computation, history dependence, random actions."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import splitgym  # noqa: F401
from splitgym.envs.split.config import STATE_COMPONENTS
from splitgym.envs.split.env import FadingSplitV1Env
from splitgym.envs.split.vector import FadingSplitV1VectorEnv
from splitgym.envs.split.vector_state import VectorSessionState
from splitgym.envs.state.radio import RadioParams

SMALL: dict[str, Any] = {"pool_size": 4}
MID = 6  # a mid split (radio used) of the Pedestrian model
N = 8


def _twins(**state: Any) -> tuple[FadingSplitV1VectorEnv, FadingSplitV1VectorEnv]:
    """A stateful vector env and its stateless twin (same requests from the same seed: the state draws
    nothing without Poisson arrivals)."""
    a = FadingSplitV1VectorEnv(N, "Pedestrian", **SMALL, **state)
    b = FadingSplitV1VectorEnv(N, "Pedestrian", **SMALL, **{k: v for k, v in state.items() if k != "state"})
    a.reset(seed=11)
    b.reset(seed=11)
    return a, b


def _step(env: FadingSplitV1VectorEnv, split: int) -> tuple[Any, ...]:
    return env.step(np.full(env.num_envs, split))


# -- agreement with single envs ----------------------------------------------------------------------------
def _per_env_means(envs: Any, steps: int, seed: int) -> dict[str, np.ndarray]:
    """Per-env means over ``steps`` random-action steps of reward, latency, battery drain and queue wait
    (reset steps skipped)."""
    rng = np.random.default_rng(seed)
    n = envs.num_envs
    n_act = int(envs.single_action_space.n)
    sums = {key: np.zeros(n) for key in ("reward", "latency_s", "drain", "wait_s")}
    count = np.zeros(n)
    soc = np.ones(n)
    for _ in range(steps):
        _, r, _, _, info = envs.step(rng.integers(0, n_act, n))
        if "latency_s" not in info:
            soc[:] = 1.0
            continue
        live = np.asarray(info["_latency_s"])
        now = np.asarray(info["battery_soc"], dtype=np.float64)
        for key, value in (("reward", np.asarray(r)), ("latency_s", info["latency_s"]),
                           ("drain", soc - now), ("wait_s", info["wait_s"])):  # fmt: skip
            sums[key] += np.where(live, np.asarray(value, dtype=np.float64), 0.0)
        count += live
        soc = np.where(live, now, 1.0)  # an env that was reset starts full
    return {key: v / count for key, v in sums.items()}


def test_vector_env_with_state_agrees_with_single_envs_in_distribution() -> None:
    over = {**SMALL, "max_steps": 25}
    native = gym.make_vec("splitgym/FadingSplit-Pedestrian-v1", num_envs=1024, vectorization_mode="vector_entry_point",
                          **over)  # fmt: skip
    assert isinstance(native, FadingSplitV1VectorEnv) and native.session is not None
    sync = gym.vector.SyncVectorEnv([lambda: gym.make("splitgym/FadingSplit-Pedestrian-v1", **over)] * 160)
    native.reset(seed=0)
    sync.reset(seed=1)
    a = _per_env_means(native, 50, seed=2)
    b = _per_env_means(sync, 50, seed=3)
    assert b["wait_s"].mean() > 0.0 and b["drain"].mean() > 0.0  # the mechanisms act
    for key in a:
        x, y = a[key], b[key]
        se = math.sqrt(x.var() / x.size + y.var() / y.size)
        assert abs(x.mean() - y.mean()) < 4 * se + 1e-12, (key, x.mean(), y.mean(), se)


# -- each mechanism by hand ------------------------------------------------------------------------------
def test_queue_waits_on_a_fixed_arrival_trace() -> None:
    trace = (0.0, 0.1, 0.2, 30.0, 30.0)
    a, b = _twins(state=("queue",), arrival_kind="trace", arrival_trace_s=trace)
    departure = np.zeros(N)
    for i in range(5):
        _, _, terminated, truncated, ia = _step(a, MID)
        _, _, _, _, ib = _step(b, MID)
        start = np.maximum(trace[i], departure)
        np.testing.assert_allclose(ia["arrival_s"], trace[i])
        np.testing.assert_allclose(ia["start_s"], start, atol=1e-12)
        np.testing.assert_allclose(ia["wait_s"], start - trace[i], atol=1e-12)
        ok = ~ib["outage"]
        np.testing.assert_allclose(ia["latency_s"][ok], (ib["latency_s"] + start - trace[i])[ok], rtol=1e-12)
        np.testing.assert_allclose(ia["ttft_s"][ok], (ib["ttft_s"] + start - trace[i])[ok], rtol=1e-12)
        departure = start + np.where(ok, ib["latency_s"], ia["latency_s"])
        assert not terminated.any()
        assert truncated.all() == (i == 4)  # the trace is exhausted after its five requests
    assert a.session is not None and a.session.observe().shape == (N, 2)


def test_promotion_after_a_gap_longer_than_the_inactivity_timer_only() -> None:
    radio = RadioParams()
    for interval, promoted in ((12.0, True), (1.0, False)):
        a, b = _twins(state=("radio",), request_interval_s=interval)
        _, _, _, _, first = _step(a, MID)
        _step(b, MID)
        np.testing.assert_allclose(first["promotion_s"], radio.promotion_idle_s)  # from IDLE at first
        _, _, _, _, ia = _step(a, MID)
        _, _, _, _, ib = _step(b, MID)
        ok = ~(ib["outage"] | first["outage"])
        assert ok.any()
        gap = interval - first["latency_s"]  # the last radio activity ended with the first request
        np.testing.assert_allclose(ia["radio_gap_s"][ok], gap[ok], rtol=1e-12)
        np.testing.assert_allclose(ia["promotion_s"], radio.promotion_idle_s if promoted else 0.0)
        np.testing.assert_allclose(ia["latency_s"][ok], (ib["latency_s"] + ia["promotion_s"])[ok], rtol=1e-12)
        t_rrc = radio.inactivity_timer_s
        idle = np.maximum(gap, 0.0)  # (without the queue a request may start before the last one ended)
        background = radio.cdrx_w * np.minimum(idle, t_rrc) + radio.idle_power_w * np.maximum(
            idle - t_rrc, 0.0
        )
        expected = ib["energy_j"] + background + radio.promotion_w * ia["promotion_s"]
        np.testing.assert_allclose(ia["energy_j"][ok], expected[ok], rtol=1e-9)
        _, _, _, _, device_only = _step(a, a.num_layers)
        np.testing.assert_array_equal(device_only["promotion_s"], 0.0)  # a device-only request never promotes


def test_battery_is_drawn_by_exactly_the_energy_in_info_and_ends_the_episode() -> None:
    env = FadingSplitV1VectorEnv(N, "Pedestrian", **SMALL, state=("battery",), battery_capacity_wh=0.01)
    env.reset(seed=3)
    cap_j = 0.01 * 3600.0 * 0.9  # Wh -> J, times the delivery efficiency
    soc = np.ones(N)
    done = np.zeros(N, dtype=bool)
    first = None
    for i in range(200):
        _, reward, terminated, truncated, info = _step(env, MID if i % 2 else 0)
        live = info["_battery_soc"]
        np.testing.assert_array_equal(live, ~done)  # an ended episode restarts at the next step (NEXT_STEP)
        soc = np.where(live, np.maximum(soc - info["energy_j"] / cap_j, 0.0), 1.0)
        np.testing.assert_allclose(info["battery_soc"][live], soc[live], atol=1e-12)
        np.testing.assert_array_equal(terminated, live & (soc <= 0.0))
        assert not (terminated & truncated).any()
        assert (reward[~live] == 0.0).all()
        done = terminated | truncated
        first = i if first is None and terminated.any() else first
        if first is not None and i >= first + 3:
            break
    else:
        pytest.fail("a 10 mWh battery should deplete within 200 requests")


def test_kv_migration_bytes_recompute_and_conversations() -> None:
    env = FadingSplitV1VectorEnv(N, "Pedestrian", **SMALL, state=("kv",), turns_per_conversation=3)
    env.reset(seed=4)
    kv_b = env.world.comp.arch.kv_bytes_per_token(2.0)
    prompt = env.world.prompts.take(env._req.prompt_level) if env._req is not None else None
    _, _, _, _, i0 = _step(env, MID)
    np.testing.assert_array_equal(i0["kv_bytes"], 0.0)
    np.testing.assert_array_equal(i0["context_tokens"], 0)
    np.testing.assert_array_equal(i0["kv_from_split"], -1)
    _, _, _, _, i1 = _step(env, MID + 4)
    context = prompt + env.config.new_tokens
    np.testing.assert_array_equal(i1["context_tokens"], context)
    np.testing.assert_array_equal(i1["kv_from_split"], MID)
    np.testing.assert_allclose(i1["kv_bytes"], 4 * context * kv_b)
    assert (i1["kv_move_s"] > 0.0).all()
    _, _, _, _, i2 = _step(env, MID + 4)  # the same split: nothing moves
    np.testing.assert_array_equal(i2["kv_bytes"], 0.0)
    np.testing.assert_array_equal(i2["kv_move_s"], 0.0)
    _, _, _, _, i3 = _step(env, MID)  # a new conversation after 3 turns: no context
    np.testing.assert_array_equal(i3["context_tokens"], 0)
    np.testing.assert_array_equal(i3["kv_bytes"], 0.0)
    rec = FadingSplitV1VectorEnv(N, "Pedestrian", **SMALL, state=("kv",), kv_mode="recompute")
    rec.reset(seed=4)
    _step(rec, MID)
    _, _, _, _, r1 = _step(rec, MID + 4)
    np.testing.assert_array_equal(r1["kv_bytes"], 0.0)
    assert (r1["kv_move_s"] > 0.0).all()
    # By hand: the moved layers over the context at the prefill time per token of the request's level,
    # on the device when the split grew (MID -> MID + 4), on the edge when it shrank (back to MID).
    w = rec.world
    _, _, _, _, r2 = _step(rec, MID)
    for info, table, lo, hi in (
        (r1, w.comp.dev_prefill_s, MID, MID + 4),
        (r2, w.comp.edge_prefill_s, MID, MID + 4),
    ):
        level = np.searchsorted(w.prompts, info["prompt_tokens"])
        per_token = info["context_tokens"] / w.prompts[level]
        moved = np.abs(table[level, hi] - table[level, lo])
        np.testing.assert_allclose(info["kv_move_s"], moved * per_token, rtol=1e-9)


def test_heat_throttles_and_stretches_device_compute() -> None:
    a, b = _twins(state=("thermal",), thermal_skin_throttle_c=25.0)
    clocks = []
    for _ in range(30):
        _, _, _, _, ia = _step(a, a.num_layers)
        _, _, _, _, ib = _step(b, b.num_layers)
        clocks.append(ia["clock_scale"])
        np.testing.assert_allclose(
            ia["latency_s"], ib["latency_s"] + (1.0 / ia["clock_scale"] - 1.0) * ib["latency_s"], rtol=1e-9
        )  # device-only: every second of the request is device compute, stretched by 1/clock
    c = np.asarray(clocks)
    assert (c[0] == 1.0).all() and (c[-1] < 1.0).all() and (np.diff(c, axis=0) <= 1e-12).all()


# -- history dependence ------------------------------------------------------------------------------------
@pytest.mark.parametrize("state", [STATE_COMPONENTS, ()])
def test_past_actions_change_later_rewards_in_the_vector_env(state: tuple[str, ...]) -> None:
    envs = [FadingSplitV1VectorEnv(N, "Pedestrian", state=state, **SMALL) for _ in range(2)]
    for e in envs:
        e.reset(seed=5)
    L = envs[0].num_layers
    for _ in range(6):
        _step(envs[0], L)  # device only
        _step(envs[1], 0)  # edge only
    r0, r1 = (e.split_rewards() for e in envs)
    assert r0.shape == (N, L + 1)
    if not state:
        np.testing.assert_allclose(r0, r1)
    else:
        assert not np.allclose(r0, r1)
        assert (np.abs(r0 - r1).max(axis=1) > 0.0).all()  # in every env


def test_split_rewards_give_the_reward_of_the_action_taken() -> None:
    env = FadingSplitV1VectorEnv(N, "Pedestrian", state=STATE_COMPONENTS, **SMALL)
    env.reset(seed=6)
    rng = np.random.default_rng(0)
    for _ in range(5):
        acts = rng.integers(0, env.num_layers + 1, N)
        expected = env.split_rewards()[np.arange(N), acts]
        _, reward, _, _, _ = env.step(acts)
        np.testing.assert_allclose(reward, expected, rtol=1e-12, atol=1e-12)


# -- random valid actions ----------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    components=st.sets(st.sampled_from(STATE_COMPONENTS), min_size=1),
    kv_mode=st.sampled_from(["migrate", "recompute"]),
    kind=st.sampled_from(["poisson", "periodic", "trace"]),
    seed=st.integers(0, 2**16),
    steps=st.integers(1, 25),
)
def test_random_actions_keep_observations_in_the_space(
    components: set[str], kv_mode: str, kind: str, seed: int, steps: int
) -> None:
    state = tuple(c for c in STATE_COMPONENTS if c in components)
    env = FadingSplitV1VectorEnv(
        4, "Pedestrian", **SMALL, state=state, kv_mode=kv_mode, arrival_kind=kind, max_steps=7,
        arrival_trace_s=(0.0, 0.5, 3.0, 3.0, 9.0), battery_capacity_wh=0.02, thermal_skin_throttle_c=26.0,
    )  # fmt: skip
    obs, info = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(rng.integers(0, env.num_layers + 1, 4))
        assert env.observation_space.contains(obs), obs
        assert np.isfinite(reward).all()
        assert not (terminated & truncated).any()
        assert info["action_mask"].any(axis=1).all()
        if "split" in info:  # absent in a step where every env resets (NEXT_STEP), as in SyncVectorEnv
            live = info["_split"]
            assert ((info["split"][live] >= 0) & (info["split"][live] <= env.num_layers)).all()
        else:
            assert not reward.any() and set(info) == {"action_mask", "_action_mask"}


def test_the_memory_mask_follows_the_context_as_in_the_single_env() -> None:
    over = {**SMALL, "state": ("kv",), "memory_fraction": 0.02, "turns_per_conversation": 50}
    env = FadingSplitV1VectorEnv(N, "Pedestrian", **over)
    single = FadingSplitV1Env("Pedestrian", **over)
    single.reset(seed=0)
    env.reset(seed=0)
    session = single.session
    assert env.session is not None and session is not None and env.session._kv_binds
    L = env.num_layers
    shrunk = False
    for _ in range(40):
        _, _, _, _, info = _step(env, L)  # device only: the context's KV grows on the device
        assert env._req is not None
        mask = info["action_mask"]
        for lane in range(N):
            session.context = int(env.session.kv.context_tokens[lane])
            expected, nearest = session.allowed(int(env._req.prompt_level[lane]))
            np.testing.assert_array_equal(mask[lane], expected)
            assert VectorSessionState.nearest(mask[lane : lane + 1], np.array([L]))[0] == nearest[L]
        shrunk |= bool((mask != env.world.feasible[env._req.prompt_level]).any())
    assert shrunk  # a long context pushed some split that the weights allow out of memory
