"""Values of the v1 split world against hand computations on fixed inputs: the request process (AR(1)
prefix scan, position wrap), the NR link (TBLER, the uplink's timeout, hidden-state bits, bulk rate), the
world's grids, the observation's columns, the single and vector environments' API values, and the physics
report's rows (each row's reference recomputed from the figures its own text quotes).

Tests whose mutants live in a constructor build what they check inside the test (``SplitWorld(...)``
directly, a fresh env), not from a shared fixture or the world cache, so that the check runs where the
construction does."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from numpy.typing import ArrayLike, NDArray

from splitgym.envs.channels import umi_path_loss_db
from splitgym.envs.channels.nr import ReferenceRow, transport_block_error_rate
from splitgym.envs.split import physics
from splitgym.envs.split.channel import LOAD_MAX, LargeScale, Request, RequestProcess, _ar1_block
from splitgym.envs.split.config import SplitConfig, scenario_config
from splitgym.envs.split.env import REWARD_TERMS, FadingSplitV1Env
from splitgym.envs.split.observation import initial_cqi, observe
from splitgym.envs.split.quality import QualityTable
from splitgym.envs.split.vector import FadingSplitV1VectorEnv
from splitgym.envs.split.world import SplitWorld, world_for
from splitgym.envs.state.radio import RadioParams
from splitgym.registration import STATE

SMALL: dict[str, Any] = {"pool_size": 1, "horizon_s": 1.0}
PHYSICS: dict[str, Any] = {"pool_size": 1}  # the physics report's worlds, one realisation a pool
H = 4  # cqi_history: observation columns 0 SNR, 1..H CQI, H+1 TTFT, H+2 total, H+3 prompt, H+4/H+5 loads


def small_config(**overrides: Any) -> SplitConfig:
    return scenario_config("Reference", **{**SMALL, **overrides})


def snr_column(config: SplitConfig, snr_est_db: float) -> float:
    lo, hi = config.snr_range_db
    return min(max((snr_est_db - lo) / (hi - lo), 0.0), 1.0)


def prompt_column(config: SplitConfig, prompt_tokens: float) -> float:
    lo, hi = config.prompt_tokens
    return (prompt_tokens - lo) / (hi - lo)


def request(snr_db: float, level: int = 0, device_load: float = 0.1, edge_load: float = 0.2) -> Request:
    one = np.ones(1)
    return Request(
        distance_m=one * 50, los=np.array([False]), path_loss_db=one * 90, tx_power_dbm=one * 23,
        snr_db=one * snr_db, snr_est_db=one * snr_db, prompt_level=np.array([level]),
        fading_r=np.array([0]), device_load=one * device_load, edge_load=one * edge_load,
    )  # fmt: skip


@pytest.fixture(scope="module")
def stateless() -> FadingSplitV1Env:
    """A stateless env whose episodes outlast one precomputed block (256 requests)."""
    return FadingSplitV1Env("Reference", **SMALL, max_steps=300)


@pytest.fixture(scope="module")
def stateful() -> FadingSplitV1Env:
    """Every state component, KV recomputed on a split change, a known invalid-action weight."""
    return FadingSplitV1Env(
        "Reference", **SMALL, max_steps=300, state=STATE, kv_mode="recompute", w_invalid=0.25
    )


# -- the request process -----------------------------------------------------------------------------------
@pytest.mark.parametrize("a", [0.0, 0.3, 0.9, 1.0])
def test_ar1_block_equals_a_plain_loop(a: float) -> None:
    rng = np.random.default_rng(1)
    x0 = np.array([1.5, -0.7, 3.0])
    noise = rng.standard_normal((11, 3))  # T = 11 steps of 3 environments (T > n)
    x, rows = x0.copy(), []
    for t in range(noise.shape[0]):
        x = a * x + math.sqrt(1.0 - a * a) * noise[t]
        rows.append(x.copy())
    np.testing.assert_allclose(_ar1_block(x0, a, noise), np.array(rows), rtol=1e-12, atol=1e-12)
    # one environment, 1-D noise, scalar start
    x1, flat = 2.0, []
    for e in noise[:, 0]:
        x1 = a * x1 + math.sqrt(1.0 - a * a) * e
        flat.append(x1)
    np.testing.assert_allclose(
        _ar1_block(np.asarray(2.0), a, noise[:, 0]), np.array(flat), rtol=1e-12, atol=1e-12
    )


def _state(position: list[float]) -> LargeScale:
    n = len(position)
    z = np.zeros(n)
    return LargeScale(np.array(position), np.zeros(n, dtype=bool), z.copy(), z.copy(), z.copy(), z.copy())


def test_request_process_position_wraps_with_the_period() -> None:
    # A 1 m wide track at 500 km/h: 138.9 m a request, many periods (the general mod branch).
    fast = RequestProcess(scenario_config("Reference", distance_m=(20.0, 21.0), speed_kmh=500.0), 8)
    move = 500.0 / 3.6
    st = _state([0.0, 0.5, 1.9])
    req = fast.step(st, np.random.default_rng(0))
    want = [p + move - 2.0 * math.floor((p + move) / 2.0) for p in (0.0, 0.5, 1.9)]
    np.testing.assert_allclose(st.position, want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(req.distance_m, [21.0 - abs(p - 1.0) for p in want], atol=1e-9)
    # The default track (20-250 m, period 460 m) at walking speed: at most one wrap, p - 2W.
    walk = RequestProcess(scenario_config("Reference"), 8)
    st = _state([459.5, 10.0])
    walk.step(st, np.random.default_rng(0))
    np.testing.assert_allclose(st.position, [459.5 + 3.0 / 3.6 - 460.0, 10.0 + 3.0 / 3.6], atol=1e-12)


def test_distance_is_a_float_for_integer_bounds() -> None:
    proc = RequestProcess(scenario_config("Reference", distance_m=(20, 250)), 8)
    d = proc.distance(np.array([0, 115, 230, 345, 460]))
    assert d.dtype == np.float64
    assert d.tolist() == [20.0, 135.0, 250.0, 135.0, 20.0]


# -- the NR link -------------------------------------------------------------------------------------------
def test_tbler_is_the_bler_target_at_the_required_sinr() -> None:
    link = world_for(small_config()).link
    mcs = np.arange(link.table.n_mcs)
    # required_db[m]: the SINR at which a one-slot TB on all PRBs at MCS m fails with the BLER target
    np.testing.assert_allclose(link._tbler(link.required_db, mcs), 0.1, rtol=1e-9)
    for sinr in (-2.0, 3.0, 8.0):
        ref = transport_block_error_rate(np.full(mcs.size, sinr), mcs, link.tbs, "64qam")
        np.testing.assert_allclose(link._tbler(np.full(mcs.size, sinr), mcs), ref, rtol=1e-9, atol=1e-300)


def test_uplink_ready_after_the_last_ul_slot_times_out() -> None:
    link = world_for(small_config()).link
    end = link.total_slots * link.slot_s
    after_last = (float(link.ul_slot[-1]) + 1.0) * link.slot_s
    t = np.array([end, after_last, end, after_last])
    p = np.array([0, 0, link.n_pool - 1, link.n_pool - 1])
    assert (link._pusch[link._boundary(t)] == link.n_ul).all()  # no UL slot is left to start in
    out = link.uplink(t, np.zeros(4), p)  # even an empty message has no slot to go in
    assert out.lost.all() and np.isinf(out.done_s).all()


def test_uplink_hidden_sends_elements_times_bits_plus_one_header() -> None:
    w = world_for(small_config())
    link = w.link
    b = int(np.argmin(np.abs(w.snr_bins_db - 30.0)))
    p = np.array([(1 * w.snr_bins_db.size + b) * w.config.pool_size])  # LOS, 30 dB, r = 0
    t = np.array([float(link.start_s[0])])
    hidden = link.uplink_hidden(t, 4096.0, p)
    plain = link.uplink(t, np.array([4096.0 * 16 + 320]), p)  # fp16 activations, 320-bit header
    assert hidden.done_s[0] == plain.done_s[0] and hidden.slots[0] == plain.slots[0]
    assert not hidden.lost[0] and hidden.distortion[0] == 0.0 and hidden.units[0] == 0.0
    assert link.uplink(t, np.array([4096.0 / 16 + 320]), p).slots[0] < plain.slots[0]


def test_bulk_uplink_rate_counts_every_delivered_tb() -> None:
    link = world_for(small_config()).link
    ul, _ = link.bulk_rates_bps()
    delivered = np.isfinite(link.done_s)  # -inf marks a TB lost after HARQ
    bits = (link.tbs[link.mcs] * delivered).sum(axis=1)
    duration = (link.total_slots - link.warmup_slots) * link.slot_s
    np.testing.assert_allclose(ul, bits / duration, rtol=1e-12)
    assert (bits > 0).any()


# -- the world ---------------------------------------------------------------------------------------------
def test_world_grids_of_prompts_and_snr_bins() -> None:
    w = SplitWorld(small_config(snr_bin_db=2.0))
    # 8 levels evenly spaced over 32..128 tokens, rounded: 32 + 96 i / 7
    assert w.prompts.tolist() == [32, 46, 59, 73, 87, 101, 114, 128]
    assert w.snr_bins_db.tolist() == [-10.0 + 2.0 * i for i in range(24)]  # -10..36 dB in 2 dB steps
    assert w.link.n_pool == 2 * 24 * 1


def test_pool_index_clamps_to_the_snr_range() -> None:
    w = world_for(small_config())
    B, R = w.snr_bins_db.size, w.config.pool_size
    los = np.array([False, False, False, True, True])
    snr = np.array([-50.0, -10.0, -9.0, 36.0, 100.0])
    idx = w.pool_index(los, snr, np.zeros(5, dtype=np.int64))
    assert idx.tolist() == [0, 0, R, (2 * B - 1) * R, (2 * B - 1) * R]


def test_two_token_requests_have_tbt_total_minus_ttft() -> None:
    w = SplitWorld(small_config(new_tokens=2))
    out = w.evaluate(request(30.0), np.array([6]))
    assert not out.outage[0]
    tbt = float(out.latency_s[0] - out.ttft_s[0])
    assert tbt > 0.0 and out.tbt_s[0] == pytest.approx(tbt, rel=1e-12)
    lane = int(w.lane_base(request(30.0))[0] + w.slot_of[6])
    x_d, x_e = 1.0 / 0.9 - 1.0, 1.0 / 0.8 - 1.0
    values = w.evaluate_lane(lane, 6, x_d, x_e, float(w.energy.radio.tx_w(23.0)))
    assert values[5] == pytest.approx(values[6] - values[4], rel=1e-12)


def _lane_latencies(w: SplitWorld, seed: int, n: int = 64, split: int = 6) -> list[tuple[float, ...]]:
    """``(ttft, tbt, total, lateness, outage)`` of ``n`` drawn requests at ``split`` by evaluate_lane."""
    _, req = w.process.init(np.random.default_rng(seed), n)
    base = w.lane_base(req)
    tx_w = w.energy.radio.tx_w(req.tx_power_dbm)
    out = []
    for i in range(n):
        x_d = 1.0 / (1.0 - float(req.device_load[i])) - 1.0
        x_e = 1.0 / (1.0 - float(req.edge_load[i])) - 1.0
        v = w.evaluate_lane(int(base[i] + w.slot_of[split]), split, x_d, x_e, float(tx_w[i]))
        out.append((v[4], v[5], v[6], v[10], v[11]))
    return out


def test_tbt_and_lateness_of_evaluate_lane_by_hand() -> None:
    """With a 15 ms TBT deadline the TBT overrun is the binding one for most requests."""
    w = SplitWorld(small_config(tbt_deadline_s=0.015))
    c = w.config
    G = c.new_tokens
    tbt_binds = 0
    for ttft, tbt, total, lateness, outage in _lane_latencies(w, seed=3):
        if outage:
            assert lateness == 1.0
            continue
        assert tbt == pytest.approx((total - ttft) / (G - 1), rel=1e-12)
        terms = (ttft / c.ttft_deadline_s - 1.0, tbt / 0.015 - 1.0, total / c.total_deadline_s - 1.0)
        assert lateness == pytest.approx(min(max(max(terms), 0.0), 1.0), abs=1e-12)
        tbt_binds += int(0.0 < terms[1] < 1.0 and terms[1] == max(terms))
    assert tbt_binds >= 5


def test_edge_only_split_timeline_by_hand() -> None:
    """Split 0 (``min_split=0``): the prompt's token ids up, edge prefill, token 1 down."""
    w = SplitWorld(small_config(min_split=0))
    link, comp, c = w.link, w.comp, w.config
    assert w.slot_of[0] == 0
    checked = 0
    for p in range(link.n_pool):
        r = int(link.r_p[p])
        for s in range(w.prompts.size):
            if not w.t_ok[p, 0, s]:
                continue
            t0 = np.array([float(link.start_s[r])])
            ids = link.uplink(t0, np.array([w.prompts[s] * 32.0 + 320.0]), np.array([p]))
            down = link.downlink(ids.done_s + comp.edge_prefill_s[s, 0], np.array([r]))
            assert w.t_ttft[p, 0, s] == pytest.approx(float(down.done_s[0] - t0[0]), rel=1e-12)
            assert w.t_tx[p, 0, s] == ids.slots[0]
            checked += 1
    assert checked > 20 and c.token_id_bits == 32 and c.header_bits == 320


class _LevelQuality:
    """A quality model on the profile's axis that answers ``level / 100``."""

    def __init__(self, like: Any) -> None:
        self.level_name = like.level_name
        self.splits = like.splits
        self.levels = like.levels

    def quality_batch(self, splits: ArrayLike, levels: ArrayLike) -> NDArray[np.float64]:
        _, lv = np.broadcast_arrays(np.asarray(splits), np.asarray(levels, dtype=np.float64))
        return np.asarray(lv / 100.0, dtype=np.float64)


def test_with_quality_reads_each_lanes_own_level() -> None:
    w = world_for(small_config(link="analog"))
    model: Any = w.quality.model
    twin = w.with_quality(_LevelQuality(model))  # type: ignore[arg-type]
    interior = (w._kk > 0) & (w._kk < w.num_layers)
    level = w.t_level.ravel()[interior]
    lo, hi = float(np.min(model.levels)), float(np.max(model.levels))
    want = np.clip(np.nan_to_num(level, nan=w.quality.clean_level), lo, hi) / 100.0
    np.testing.assert_allclose(twin.t_quality.ravel()[interior], want, rtol=1e-12)
    assert np.unique(np.round(want, 6)).size > 3  # the lanes' levels differ (the channel's SNRs)


def test_quality_score_is_the_quality_rescaled_to_its_range() -> None:
    table = QualityTable.build(scenario_config("Reference", quality_range=(-4.0, 2.0)), 12)
    k = np.arange(13)
    q, score = table.at(k, np.full(13, 16.0))
    np.testing.assert_allclose(score, np.clip((q + 4.0) / 6.0, 0.0, 1.0), rtol=1e-12)
    assert score[0] == pytest.approx(4.0 / 6.0)  # split 0 sends nothing: Q = 0


# -- the observation ---------------------------------------------------------------------------------------
def test_observation_columns_at_fixed_values() -> None:
    c = small_config()
    prompts = np.array([32, 46, 59, 73, 87, 101, 114, 128])
    tail = np.array([[0.2, 0.4, 0.6, 0.8, 0.25, 0.5]])
    obs = observe(
        c, request(0.0, level=3, device_load=0.19, edge_load=0.38), tail, np.array([6]), 12, prompts
    )
    want = [10.0 / 46.0, 0.2, 0.4, 0.6, 0.8, 0.25, 0.5, 41.0 / 96.0, 0.2, 0.4, 0.5]
    np.testing.assert_allclose(obs[0], want, rtol=1e-6)
    assert obs.dtype == np.float32
    clipped = observe(c, request(50.0, level=7), tail, np.array([12]), 12, prompts)
    assert clipped[0, 0] == 1.0 and clipped[0, H + 3] == 1.0 and clipped[0, H + 6] == 1.0


# -- the single environment --------------------------------------------------------------------------------
def test_step_before_reset_says_what_to_call() -> None:
    env = FadingSplitV1Env("Reference", **SMALL)
    with pytest.raises(gym.error.ResetNeeded, match=r"^call reset\(\) before step\(\)$"):
        env.step(6)


def test_first_observation_after_reset(stateless: FadingSplitV1Env) -> None:
    c = stateless.config
    obs, info = stateless.reset(seed=4)
    req = stateless.request()
    prompt = float(stateless.world.prompts[int(req.prompt_level)])
    assert obs[0] == pytest.approx(snr_column(c, float(req.snr_est_db)), rel=1e-6)
    cqi = initial_cqi(c, np.asarray(req.snr_est_db)) / 15.0
    np.testing.assert_allclose(obs[1 : H + 1], cqi, rtol=1e-6)
    assert obs[H + 1] == 0.0 and obs[H + 2] == 0.0 and obs[H + 6] == 0.0  # no previous request
    assert obs[H + 3] == pytest.approx(prompt_column(c, prompt), rel=1e-6)
    assert obs[H + 4] == pytest.approx(float(req.device_load) / LOAD_MAX, rel=1e-6)
    assert obs[H + 5] == pytest.approx(float(req.edge_load) / LOAD_MAX, rel=1e-6)
    np.testing.assert_array_equal(info["action_mask"], stateless.world.feasible[int(req.prompt_level)])


def test_tail_columns_after_a_step_by_hand() -> None:
    env = FadingSplitV1Env("Reference", **SMALL, ttft_deadline_s=1.5, tbt_deadline_s=0.1)
    total_deadline = 1.5 + 15 * 0.1
    env.reset(seed=1)
    for _ in range(5):
        obs, _, _, _, info = env.step(6)
        assert obs[H + 1] == pytest.approx(min(1.0, info["ttft_s"] / (2 * 1.5)), rel=1e-6)
        assert obs[H + 2] == pytest.approx(min(1.0, info["latency_s"] / (2 * total_deadline)), rel=1e-6)
        assert obs[H + 6] == pytest.approx(info["split"] / env.num_layers, rel=1e-6)


def _assert_observes_current_request(env: FadingSplitV1Env, obs: NDArray[np.float32]) -> None:
    req = env.request()
    c = env.config
    assert obs[0] == pytest.approx(snr_column(c, float(req.snr_est_db)), rel=1e-5, abs=1e-6)
    prompt = float(env.world.prompts[int(req.prompt_level)])
    assert obs[H + 3] == pytest.approx(prompt_column(c, prompt), rel=1e-6, abs=1e-7)
    assert obs[H + 4] == pytest.approx(float(req.device_load) / LOAD_MAX, rel=1e-5, abs=1e-7)


def test_observations_follow_the_requests_across_a_block_boundary(stateless: FadingSplitV1Env) -> None:
    obs, _ = stateless.reset(seed=7)
    _assert_observes_current_request(stateless, obs)
    for i in range(270):  # the 256th step reads the first request of a newly simulated block
        obs, _, terminated, truncated, _ = stateless.step(6)
        assert not terminated and not truncated, i
        _assert_observes_current_request(stateless, obs)


def test_a_seeded_reset_replays_the_request_process() -> None:
    """An episode of ``max_steps`` requests is one column of a batch: ``2048 // (max_steps + 1)`` initial
    draws, then ``max_steps`` simulated steps, from the generator the seed gives."""
    env = FadingSplitV1Env("Reference", **SMALL, max_steps=9)
    env.reset(seed=5)
    rng = np.random.default_rng(5)
    proc = env.world.process
    state, first = proc.init(rng, 2048 // 10)
    rest = proc.simulate(state, rng, 9)
    fields = ("snr_db", "snr_est_db", "prompt_level", "fading_r", "device_load", "los")
    for t in range(10):
        want = first.take(0) if t == 0 else rest.take((t - 1, 0))
        got = env.request()
        for f in fields:
            assert np.asarray(getattr(got, f)) == pytest.approx(np.asarray(getattr(want, f))), (t, f)
        if t < 9:
            _, _, _, truncated, _ = env.step(6)
            assert truncated == (t == 8)


# -- the stateful single environment -----------------------------------------------------------------------
def test_stateful_invalid_action_pays_the_weight(stateful: FadingSplitV1Env) -> None:
    stateful.reset(seed=2)
    bad = np.flatnonzero(~stateful.action_masks())
    assert bad.size, "min_split 1: split 0 is infeasible"
    k = int(bad[0])
    expected = float(stateful.split_rewards()[k])
    _, reward, _, _, info = stateful.step(k)
    assert info["invalid"] and info["r_invalid"] == -0.25
    assert float(reward) == pytest.approx(sum(info[t] for t in REWARD_TERMS), rel=1e-12)
    assert float(reward) == pytest.approx(expected, rel=1e-12)


def test_stateful_tail_columns_by_hand(stateful: FadingSplitV1Env) -> None:
    c = stateful.config
    stateful.reset(seed=3)
    for k in (6, 3, 9, 6):
        obs, _, _, _, info = stateful.step(k)
        assert obs[H + 1] == pytest.approx(min(1.0, info["ttft_s"] / (2 * c.ttft_deadline_s)), rel=1e-6)
        assert obs[H + 2] == pytest.approx(min(1.0, info["latency_s"] / (2 * c.total_deadline_s)), rel=1e-6)
        assert obs[H + 1] > 0.0 and obs[H + 2] > 0.0


def test_stateful_observations_follow_the_requests_across_a_block_boundary(
    stateful: FadingSplitV1Env,
) -> None:
    obs, _ = stateful.reset(seed=8)
    for i in range(262):
        obs, _, terminated, _, _ = stateful.step(6 if i % 3 else 9)
        assert not terminated, i
        _assert_observes_current_request(stateful, obs)


def test_stateful_split_rewards_are_what_each_action_would_get(stateful: FadingSplitV1Env) -> None:
    """KV recomputed on a split change: every action's reward equals a cloned step's."""
    stateful.reset(seed=6)
    stateful.step(9)  # a context on the device, kept at split 9
    rewards = stateful.split_rewards()
    for k in range(stateful.num_layers + 1):
        twin = stateful.clone()
        _, reward, _, _, info = twin.step(k)
        assert float(reward) == pytest.approx(float(rewards[k]), rel=1e-12, abs=1e-12), k
        if k == 3:
            assert info["kv_move_s"] > 0.0  # layers 4..9 recomputed on the edge


# -- the vector environment --------------------------------------------------------------------------------
def test_vector_env_defaults_and_spaces() -> None:
    env = FadingSplitV1VectorEnv(scenario="Reference", **SMALL)
    L = env.num_layers
    assert env.num_envs == 1
    assert env.action_space == spaces.MultiDiscrete(np.full(1, L + 1))
    assert env.observation_space.shape == (1, env.world.obs_dim)
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        env.step(np.array([6]))
    env.reset(seed=0)
    _, reward, _, _, _ = env.step(env.action_space.sample())
    assert reward.shape == (1,)


def test_vector_env_accepts_max_episode_steps() -> None:
    env = FadingSplitV1VectorEnv(2, "Reference", max_episode_steps=7, **SMALL)  # gym.make_vec passes it
    assert env.num_envs == 2 and env.config.max_steps == SplitConfig().max_steps
    assert env.action_space == spaces.MultiDiscrete(np.full(2, env.num_layers + 1))


# -- the physics report ------------------------------------------------------------------------------------
@pytest.fixture
def rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ReferenceRow]]:
    """The report's rows over one-realisation pools (fast; the references do not depend on the pool)."""
    monkeypatch.setattr(physics, "scenario_config", lambda name: scenario_config(name, **PHYSICS))
    yield physics.physics_rows()


def _row(rows: list[ReferenceRow], needle: str) -> ReferenceRow:
    found = [r for r in rows if needle in r.quantity]
    assert len(found) == 1, needle
    return found[0]


def _numbers(pattern: str, text: str) -> list[float]:
    m = re.fullmatch(pattern, text)
    assert m is not None, (pattern, text)
    return [float(x) for x in m.groups()]


def test_physics_table_columns_and_a_failing_row(monkeypatch: pytest.MonkeyPatch) -> None:
    good = ReferenceRow("a", "ms", 1.05, 1.0, "src a", 0.1, True, "why a")
    bad = ReferenceRow("b", "dB", 3.0, 1.0, "src b", 0.5, False, "why b")
    monkeypatch.setattr(physics, "physics_rows", lambda: [good, bad])
    table = physics.physics_table()
    assert table.columns.tolist() == [
        "quantity", "unit", "ours", "reference", "deviation", "tolerance", "ok", "source", "why this tolerance",
    ]  # fmt: skip
    assert table["ok"].tolist() == ["yes", "NO"]
    assert table["deviation"].tolist() == pytest.approx([0.05, 2.0])
    assert table["tolerance"].tolist() == ["0.1 (rel.)", "0.5"]
    assert table["source"].tolist() == ["src a", "src b"]


def test_path_loss_rows_cite_the_review_and_its_parameters(rows: list[ReferenceRow]) -> None:
    pl = [r for r in rows if r.quantity.startswith("UMi path loss")]
    assert len(pl) == 4
    for r in pl:
        fc, h_bs, h_ut = _numbers(
            r"physics_review\.md: the reviewer's own TR 38\.901 UMi computation "
            r"\(fc ([\d.]+) GHz, h_BS ([\d.]+) m, h_UT ([\d.]+) m\)",
            r.source,
        )
        m = re.fullmatch(r"UMi path loss at (\d+) m, (LOS|NLOS)", r.quantity)
        assert m is not None and r.unit == "dB" and not r.relative
        pl_db = umi_path_loss_db(
            np.array([float(m[1])]), np.array([m[2] == "LOS"]), carrier_hz=fc * 1e9, h_bs_m=h_bs, h_ut_m=h_ut
        )
        assert r.ours == pytest.approx(float(pl_db[0]), abs=1e-9)


def test_round_trip_tolerance_covers_the_published_spread(rows: list[ReferenceRow]) -> None:
    r = _row(rows, "token round trip over the air")
    (median,) = _numbers(r"Narayanan et al\., .*: low-band NSA median RTT (\d+) ms", r.source)
    low, high, p90 = _numbers(
        r"published spread: medians (\d+) ms \(mmWave\) to (\d+) ms \(low band\), p90 (\d+) ms",
        r.justification,
    )
    assert r.reference == median == high and r.relative and r.unit == "ms"
    # the band reaches the fastest median and the p90, and stays above a zero round trip
    assert median * (1 - r.tolerance) <= low and median * (1 + r.tolerance) >= p90 and r.tolerance < 1.0


def test_modem_energy_row_quotes_the_modem_powers(rows: list[ReferenceRow]) -> None:
    r = _row(rows, "modem energy of a Reference request")
    lo, hi, per_s = _numbers(
        r"dossier §4\.1: an active FR1 modem draws ([\d.]+)-([\d.]+) W \(([\d.]+) W x time on\)", r.source
    )
    pdcch, lo2, hi2 = _numbers(
        r"PDCCH monitoring \(([\d.]+) W\) dominates the waits; measured modem powers span ([\d.]+)-([\d.]+) W",
        r.justification,
    )
    assert (lo, hi) == (lo2, hi2) == (1.0, 1.5) and per_s == lo
    assert pdcch == RadioParams().pdcch_w
    w = world_for(scenario_config("Reference", **PHYSICS))
    req = physics._requests(w, 20.0)
    on_s = float(np.median(w.evaluate(req, np.full(req.snr_db.size, 6)).latency_s))
    assert r.reference == pytest.approx(per_s * on_s, rel=1e-12) and r.unit == "J"


def test_cdrx_row_is_its_quoted_cycle_by_hand(rows: list[ReferenceRow]) -> None:
    r = _row(rows, "C-DRX average modem power")
    cycle, on = _numbers(r"C-DRX average modem power \(TR 38\.840, (\d+) ms cycle, (\d+) ms on\)", r.quantity)
    u_on, u_sleep, u_extra, per = _numbers(
        r"TR 38\.840 §8\.1 units by hand: \((\d+)\*8 \+ (\d+)\*152 \+ (\d+)\)/160 units x (\d+) mW", r.source
    )
    assert (cycle, on) == (160.0, 8.0) and r.unit == "W"
    hand = (u_on * on + u_sleep * (cycle - on) + u_extra) / cycle * per * 1e-3
    assert r.reference == pytest.approx(hand, rel=1e-12)
    assert r.ours == pytest.approx(RadioParams().cdrx_w, rel=1e-12)


def test_llama_rows_use_the_rates_they_quote(rows: list[ReferenceRow]) -> None:
    scale = 6.74 / 8.03  # Llama-2-7B / Llama-3-8B parameters (the published rates are Llama-3-8B's)
    tbt = _row(rows, "Llama-2-7B time between tokens at k = 16")
    dev_rate, edge_rate, rtt_ms = _numbers(
        r"half of published decode times \(jetson-ai-lab ([\d.]+) tok/s; A100 ([\d.]+) tok/s\) \+ (\d+) ms RTT",
        tbt.source,
    )
    assert (dev_rate, edge_rate, rtt_ms) == (19.14, 53.49, 15.0)
    dev_half, edge_half = 0.5 * scale / dev_rate, 0.5 * scale / edge_rate
    ref_tbt = dev_half + edge_half + rtt_ms / 1e3
    assert tbt.unit == "ms" and tbt.reference == pytest.approx(1e3 * ref_tbt, rel=1e-12)
    lw = world_for(scenario_config("Llama7B", **PHYSICS))
    req = physics._requests(lw, 20.0)
    assert tbt.ours == pytest.approx(
        1e3 * float(np.median(lw.evaluate(req, np.full(req.snr_db.size, 16)).tbt_s))
    )
    energy = _row(rows, "Llama-2-7B device energy per token")
    soc, idle, modem = _numbers(
        r"(\d+) W MAXN x device time \(smolhub Orin benchmark\), (\d+) W idle, (\d+) W modem x TBT",
        energy.source,
    )
    e_ref = soc * dev_half + idle * edge_half + modem * ref_tbt
    assert energy.unit == "J" and energy.reference == pytest.approx(e_ref, rel=1e-12)
    dev_only = _row(rows, "device-only decode")
    (rate,) = _numbers(
        r"Llama-3-8B int4 ([\d.]+) tok/s \(jetson-ai-lab\) scaled by parameters", dev_only.source
    )
    assert rate == dev_rate and dev_only.reference == pytest.approx(rate / scale, rel=1e-12)


def test_fading_pool_gains_have_unit_mean_and_the_textbook_spread() -> None:
    """Rayleigh |h|^2 is exponential (mean 1, variance 1); Rician K has mean 1 and variance (2K + 1)/(K + 1)^2
    [K]; the real and imaginary parts of the diffuse part carry equal power."""
    from splitgym.envs.split.fading import FadingPool

    k_db = 6.0
    pool = FadingPool.draw(
        np.random.default_rng(0), size=400, n_blocks=50, subbands=4, slots_per_block=1, rho=0.0,
        rician_k_db=k_db,
    )  # fmt: skip
    nlos, los = pool.gain[0].ravel(), pool.gain[1].ravel()  # 80,000 draws each
    k = 10.0 ** (k_db / 10.0)
    assert nlos.mean() == pytest.approx(1.0, abs=0.02) and nlos.var() == pytest.approx(1.0, abs=0.05)
    assert los.mean() == pytest.approx(1.0, abs=0.02)
    assert los.var() == pytest.approx((2 * k + 1) / (k + 1) ** 2, abs=0.02)
    assert np.mean(nlos < 0.1) == pytest.approx(1.0 - np.exp(-0.1), abs=0.01)  # exponential CDF at 0.1


def test_request_process_constants_are_tr_38_901_umi_by_hand() -> None:
    """LOS and NLOS shadowing (4 and 7.82 dB) and decorrelation distances (10 and 13 m) of UMi [S: TR 38.901
    Table 7.5-6, 7.6.3.1], the AR(1) factors exp(-v dt / d_corr), and the noise over the band at the
    configured noise figure: -174 dBm/Hz + 10 log10(51 PRB x 12 x 30 kHz) + NF."""
    from splitgym.envs.split.channel import RequestProcess

    c = scenario_config("Vehicular", noise_figure_db=9.0)
    p = RequestProcess(c, 2)
    move = c.speed_kmh / 3.6 * c.request_interval_s
    assert (p.sigma_los, p.sigma_nlos) == (4.0, 7.82)
    assert p.r_los == pytest.approx(math.exp(-move / 10.0)) and p.r_nlos == pytest.approx(
        math.exp(-move / 13.0)
    )
    assert p.noise_dbm == pytest.approx(-174.0 + 10.0 * math.log10(51 * 12 * 30e3) + 9.0, abs=1e-9)


def test_a_total_deadline_binds_and_lateness_saturates_at_one() -> None:
    """With a total deadline of 200 ms the total overrun binds; overruns past 100 % clip to 1."""
    w = SplitWorld(small_config(deadline_s=0.2))
    c = w.config
    total_binds = saturated = 0
    for ttft, tbt, total, lateness, outage in _lane_latencies(w, seed=5):
        if outage:
            continue
        terms = (ttft / c.ttft_deadline_s - 1.0, tbt / c.tbt_deadline_s - 1.0, total / 0.2 - 1.0)
        assert lateness == pytest.approx(min(max(max(terms), 0.0), 1.0), abs=1e-12)
        total_binds += int(0.0 < terms[2] < 1.0 and terms[2] == max(terms))
        saturated += int(1.0 < max(terms) < 2.0)
    assert total_binds >= 3 and saturated >= 3, (total_binds, saturated)


def test_device_memory_of_a_split_by_hand() -> None:
    """Weights of the device's layers (int4 with group scales: 4.5 bit) plus their KV cache at the
    request's final context. Qwen2-0.5B: 24 layers, 2 KV heads of 64, so a token's K and V in fp16 take
    2 x 2 x 64 x 2 B = 512 B per layer."""
    from splitgym.envs.split.compute import ComputeTables

    prompts = np.array([32, 100], dtype=np.int64)
    comp = ComputeTables.build("qwen2-0.5b", "phone-sd8gen3", "a100-80gb", "int4", "float16", prompts, 16)
    arch = comp.arch
    assert arch.kv_bytes_per_token(2.0) == 512.0
    for s, prompt in enumerate(prompts):
        for k in (1, 3, 23):
            weights = 4.5 / 8.0 * (arch.embedding_params + k * arch.params_per_layer)
            assert comp.memory_bytes[s, k] == pytest.approx(weights + k * 512.0 * (prompt + 16), rel=1e-12)
        assert comp.memory_bytes[s, 0] == 0.0
    full = 4.5 / 8.0 * (arch.embedding_params + 24 * arch.params_per_layer + arch.head_params)
    assert comp.memory_bytes[1, 24] == pytest.approx(full + 24 * 512.0 * 116, rel=1e-12)


def test_default_quality_range_is_the_reference_cards_unigram_floor() -> None:
    """Quality is ``-ppl/ppl_clean``-like: 0 at the clean model, ``1 - ppl_unigram/ppl_clean`` at the
    unigram baseline (the reference model's card)."""
    import json

    from splitgym.profiles.llm import reference_path

    card = json.loads((reference_path() / "model_card.json").read_text())
    ratio = card["unigram_baseline"]["perplexity"] / card["held_out"]["perplexity"]
    assert ratio > 1.0
    w = world_for(small_config())
    assert w.quality.quality_range == pytest.approx((1.0 - ratio, 0.0), rel=1e-12)
