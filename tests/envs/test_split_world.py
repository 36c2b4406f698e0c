"""The v1 split world (envs/split): fading counted once, a hand-computed request, causality, checkers,
seeding, bad input, monotone quality profiles, and the native vector env against single envs."""

from __future__ import annotations

import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import splitgym
from splitgym.envs.channels.nr import (
    effective_sinr_db,
    transport_block_error_rate,
    transport_block_size,
)
from splitgym.envs.split.channel import Request
from splitgym.envs.split.config import SCENARIOS, SplitConfig, scenario_config
from splitgym.envs.split.observation import observe, tail_columns
from splitgym.envs.split.world import SplitWorld, world_for
from splitgym.envs.state.radio import RadioParams, active_energy_j
from splitgym.errors import ConfigError
from splitgym.profiles.profile import bundled_profiles, load_bundled
from splitgym.profiles.quality import TableQualityModel

V1_IDS = [
    "splitgym/FadingSplit-v1",
    *(f"splitgym/FadingSplit-{s}{t}-v1" for s in SCENARIOS for t in ("", "-Stateless")),
]
SMALL = {"pool_size": 6, "horizon_s": 1.5}


def small(**overrides: Any) -> SplitWorld:
    return world_for(scenario_config("Reference", **{**SMALL, **overrides}))


def request(world: SplitWorld, snr_db: float, r: int = 0, level: int = 0, los: bool = False) -> Request:
    one = np.ones(1)
    return Request(
        distance_m=one * 50, los=np.array([los]), path_loss_db=one * 90, tx_power_dbm=one * 23,
        snr_db=one * snr_db, snr_est_db=one * snr_db, prompt_level=np.array([level]),
        fading_r=np.array([r]), device_load=one * 0, edge_load=one * 0,
    )  # fmt: skip


# -- fading counted once (nr link) ---------------------------------------------------------------------
def _first_tx_nack(world: SplitWorld, snr_db: float) -> tuple[np.ndarray, np.ndarray]:
    """(MCS, NACK) of every first transmission of the trace at an SNR bin, NLOS, all realisations."""
    link = world.link
    b = int(np.argmin(np.abs(world.snr_bins_db - snr_db)))
    rows = np.flatnonzero((link.los_p == 0) & (link.bin_p == b))
    return link.mcs[rows].ravel(), ~link.ack0[rows].ravel()


def test_nr_fading_off_reads_the_awgn_curve_at_s() -> None:
    w = small(fading=False, snr_bin_db=1.0)
    s = 8.0
    mcs, nack = _first_tx_nack(w, s)
    tb = transport_block_size(w.link.n_prb, mcs, "64qam")
    p = transport_block_error_rate(s, mcs, tb, "64qam")  # the AWGN curve at s itself
    n = nack.size
    se = math.sqrt(max(p.mean() * (1 - p.mean()), 1e-4) / n)
    assert abs(nack.mean() - p.mean()) < 4 * se
    # The quality of every delivered request is the profile's, whatever the SNR (bits arrive exactly).
    for snr in (0.0, 10.0, 30.0):
        out = w.evaluate(request(w, snr), np.array([6]))
        if not out.outage[0]:
            assert out.quality_score[0] == pytest.approx(w.quality.score[6])


def test_nr_fading_on_matches_a_separate_fading_average() -> None:
    # A CSI delay far beyond the coherence time makes the MCS independent of the current block's fading,
    # so the NACK rate at each MCS must equal E_h[TBLER(EESM(s |h|^2))] over independent Rayleigh draws.
    w = small(fading=True, speed_kmh=30.0, csi_delay_slots=400, delay_spread_s=0.0, snr_bin_db=1.0)
    s = 12.0
    mcs, nack = _first_tx_nack(w, s)
    rng = np.random.default_rng(1)
    checked = 0
    for m in np.unique(mcs):
        sel = mcs == m
        if sel.sum() < 400:
            continue
        g = rng.exponential(1.0, 200_000)
        tb = int(transport_block_size(w.link.n_prb, int(m), "64qam"))
        ref = float(transport_block_error_rate(s + 10 * np.log10(g), int(m), tb, "64qam").mean())
        n = int(sel.sum())
        se = math.sqrt(ref * (1 - ref) / n + 1e-6)
        assert abs(nack[sel].mean() - ref) < 4 * se + 0.01, (m, nack[sel].mean(), ref)
        # counted twice (gain squared) or not at all would be far off:
        once_more = float(transport_block_error_rate(s + 20 * np.log10(g), int(m), tb, "64qam").mean())
        none = float(transport_block_error_rate(np.full(10, s), int(m), tb, "64qam").mean())
        assert abs(ref - once_more) > 8 * se or abs(ref - none) > 8 * se
        checked += 1
    assert checked >= 1


def test_eesm_of_equal_subbands_is_the_awgn_value() -> None:
    assert float(effective_sinr_db(np.full(8, 7.0), 10)) == pytest.approx(7.0)


# -- a hand-computed request -----------------------------------------------------------------------------
def test_hand_computed_request_matches_ttft_latency_energy() -> None:
    cfg = dict(fading=False, prompt_tokens=(64, 64), prompt_levels=1, dl_bler=0.0, device_load=(0.0, 0.0),
               edge_load=(0.0, 0.0), pool_size=2, horizon_s=1.5)  # fmt: skip
    w = world_for(scenario_config("Reference", **cfg))
    k, S, G, d = 6, 64, 16, 160
    req = request(w, 35.0)
    out = w.evaluate(req, np.array([k]))
    link, comp = w.link, w.comp
    slot = 0.5e-3
    assert link.slot_s == slot
    # Deterministic channel at 35 dB: OLLA settles on the top MCS (checked), TBS by TS 38.214 by hand.
    p = int(w.pool_index(req.los, req.snr_db, req.fading_r)[0])
    assert (link.mcs[p] == 28).all() and link.ack0[p].all()
    tbs = 44040  # 51 PRB, MCS 28 (tbs.py docstring, by hand)
    ul = lambda n: n % 5 == 4  # noqa: E731  DDDSU, U in slot 4 of 5
    dl = lambda n: n % 5 != 4  # noqa: E731
    first_ul = next(n for n in range(link.warmup_slots, 10**6) if ul(n))
    sr_occ = [first_ul + 10 * j for j in range(400)]

    def uplink(t: float, bits: float) -> tuple[float, int]:
        n0 = math.ceil(t / slot - 1e-9)
        sr = next(o for o in sr_occ if o >= n0)
        g = next(n for n in range(sr + 2, 10**6) if dl(n))
        n = next(n for n in range(g + 2, 10**6) if ul(n))
        tbs_needed = math.ceil(bits / tbs)
        for _ in range(tbs_needed - 1):
            n = next(m for m in range(n + 1, 10**6) if ul(m))
        return (n + 1) * slot + 1e-4 + 5e-4, tbs_needed

    def downlink(t: float) -> float:
        n0 = math.ceil((t + 5e-4) / slot - 1e-9)
        n = next(m for m in range(n0, 10**6) if dl(m))
        return (n + 1) * slot + 10 / 28 * 1e-3

    t0 = float(link.start_s[0])
    dp = float(comp.dev_prefill_s[0, k])
    t, n_tx = uplink(t0 + dp, S * d * 16 + 320)
    t = downlink(t + float(comp.edge_prefill_s[0, k]))
    ttft = t - t0
    n_rx = 1
    for i in range(G - 1):
        t, n = uplink(t + float(comp.dev_decode_s[0, k, i]), d * 16 + 320)
        t = downlink(t + float(comp.edge_decode_s[0, k, i]))
        n_tx, n_rx = n_tx + n, n_rx + 1
    total = t - t0
    assert out.ttft_s[0] == pytest.approx(ttft, rel=0.01)
    assert out.latency_s[0] == pytest.approx(total, rel=0.01)
    dd = float(comp.dev_decode_s[0, k].sum())
    e = w.energy
    radio = RadioParams()
    e_soc = e.prefill_w * dp + e.decode_w * dd + e.idle_w * (total - dp - dd)
    active = float(
        active_energy_j(radio, n_tx * slot, n_rx * slot, total - dp - (n_tx + n_rx) * slot, 0.0, 23.0)
    )
    tail = (radio.pdcch_w - radio.cdrx_w) * radio.drx_inactivity_s
    e_modem = radio.cdrx_w * dp + active + tail
    assert out.energy_modem_j[0] == pytest.approx(e_modem, rel=0.01)
    assert out.energy_j[0] == pytest.approx(e_soc + e_modem, rel=0.01)
    assert e.decode_w == 5.0 and e.idle_w == pytest.approx(1.0) and e.prefill_w == pytest.approx(7.0)


# -- causality -------------------------------------------------------------------------------------------
def test_observation_ignores_the_requests_own_fading() -> None:
    env = gym.make("splitgym/FadingSplit-Reference-Stateless-v1", **SMALL)
    u: Any = env.unwrapped
    env.reset(seed=3)
    for _ in range(5):
        env.step(6)
    t, col = u._t, u._col
    obs_before = u._obs[t, col].copy()
    block = u._block
    other = Request(*(np.array(getattr(block, f), copy=True) for f in vars(block)))
    other.fading_r[t, col] = (other.fading_r[t, col] + 1) % u.config.pool_size
    req_a, req_b = block.take((t, col)), other.take((t, col))
    w = u.world
    tail = np.zeros(u.config.cqi_history + 2)
    obs_a = observe(u.config, req_a, tail, np.int64(6), w.num_layers, w.prompts)
    obs_b = observe(u.config, req_b, tail, np.int64(6), w.num_layers, w.prompts)
    np.testing.assert_array_equal(obs_a, obs_b)
    out_a = w.evaluate(Request(*(np.asarray(getattr(req_a, f))[None] for f in vars(req_a))), w.runnable)
    out_b = w.evaluate(Request(*(np.asarray(getattr(req_b, f))[None] for f in vars(req_b))), w.runnable)
    assert not np.allclose(out_a.latency_s, out_b.latency_s)  # the fading did change the request
    np.testing.assert_array_equal(u._obs[t, col], obs_before)
    # and the env's observation at that step came from the large-scale state and the past only
    fresh = observe(u.config, req_a, u._obs[t, col, 1 : 3 + u.config.cqi_history].astype(np.float64),
                    np.int64(6), w.num_layers, w.prompts)  # fmt: skip
    np.testing.assert_allclose(fresh[:-1], u._obs[t, col][:-1], atol=1e-6)


# -- checkers, seeding -----------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", V1_IDS)
def test_checkers_pass_with_warnings_as_errors(env_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id)
        gym_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)
        env.close()
    assert splitgym.registration.env_family(env_id) == "split"


def rollout(seed: int, steps: int = 30) -> list[Any]:
    env = gym.make("splitgym/FadingSplit-Reference-Stateless-v1", **SMALL)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    trace: list[Any] = [obs.tolist()]
    for _ in range(steps):
        obs, reward, _, _, info = env.step(env.action_space.sample())
        trace.append((obs.tolist(), reward, info["latency_s"], info["energy_j"]))
    return trace


def test_seeded_determinism() -> None:
    assert rollout(5) == rollout(5)
    assert rollout(5) != rollout(6)


def test_info_says_where_quality_comes_from() -> None:
    env = gym.make("splitgym/FadingSplit-v1", **SMALL)
    _, info = env.reset(seed=0)
    assert list(info) == ["action_mask"]  # constants are attributes, never info
    u: Any = env.unwrapped
    assert u.reward_weights == {"w_quality": 1.0, "w_latency": 0.5, "w_energy": 0.2, "w_load": 0.1,
                                "w_invalid": 1.0}  # fmt: skip
    _, _, _, _, info = env.step(3)
    assert "quality_source" not in info and not any(k.startswith("w_") for k in info)
    assert "proxy" in u.quality_source and "proxy" in u.describe()
    ref = gym.make("splitgym/FadingSplit-Reference-Stateless-v1", **SMALL)
    assert "measured" in ref.unwrapped.quality_source  # type: ignore[attr-defined]


def test_energy_weight_is_positive_by_default() -> None:
    assert SplitConfig().w_energy > 0


# -- bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("link", "nrr", "'nr'"),
        ("mcs_table", "128qam", "64qam"),
        ("tdd_pattern", "DDSU", "DDDSU"),
        ("activation", "int2", "int8"),
        ("device_precision", "int3", "int4"),
        ("bandwidth_hz", -20e6, "bandwidth_hz"),
        ("tx_power_dbm", 40.0, "33"),
        ("speed_kmh", 600.0, "500"),
        ("new_tokens", 0, "new_tokens"),
        ("distance_m", (10.0, 1e308), "distance_m"),
        ("carrier_hz", float("inf"), "carrier_hz"),
    ],
)
def test_bad_input_is_a_clear_error(field: str, value: Any, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        scenario_config("Reference", **{field: value})


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"link": "analog", "activation": "int8"}, "does not apply to link='analog'"),
        ({"link": "uncoded", "activation": "int4"}, "'fp16' or 'int8'"),
        ({"link": "uncoded", "uncoded_modulation": "8psk"}, "qpsk"),
        ({"link": "uncoded", "packet_bits": 330}, "packet_bits"),
        ({"analog_pilots": 0}, "analog_pilots"),
    ],
)
def test_bad_link_mode_input_names_the_parameter(override: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        scenario_config("Reference", **override)


def test_a_profile_measured_with_other_operator_parameters_is_refused() -> None:
    with pytest.raises(ConfigError, match="measured with"):
        small(link="analog", analog_pilots=10)
    with pytest.raises(ConfigError, match="activation_bits"):
        small(link="analog", quality_profile="accuracy/reference_activation")


# -- fading counted once (analog and uncoded links) -----------------------------------------------------
def _lane_quality(w: SplitWorld, snr_db: float, k: int, los: bool = False) -> np.ndarray:
    """Quality of split ``k`` at every fading realisation of the SNR bin nearest ``snr_db``."""
    R = w.config.pool_size
    out = [w.evaluate(request(w, snr_db, r=r, los=los), np.array([k])) for r in range(R)]
    assert not any(o.outage[0] for o in out)
    return np.array([o.quality[0] for o in out])


@pytest.mark.parametrize("mode", ["analog", "uncoded"])
def test_payload_fading_off_reads_the_awgn_profile_at_s(mode: str) -> None:
    w = small(link=mode, fading=False, snr_bin_db=1.0)
    model = w.quality.model
    for s, k in ((2.0, 3), (8.0, 6), (14.0, 9)):
        q = _lane_quality(w, s, k)
        assert np.allclose(q, float(model.quality_batch(k, s)), atol=1e-9)
    # Quality falls with the SNR (the channel now acts on quality, not only on airtime).
    assert _lane_quality(w, 0.0, 6)[0] < _lane_quality(w, 20.0, 6)[0]


@pytest.mark.parametrize(("mode", "s"), [("analog", 6.0), ("uncoded", 12.0)])
def test_payload_fading_on_matches_a_separate_fading_average(mode: str, s: float) -> None:
    # One coherence block for the whole request (speed 0) and one subband: every RE of a request sees the
    # same gain g ~ Exp(1) (NLOS Rayleigh), so the mean over the pool must be E_g[Q(k, s + 10 log10 g)].
    w = small(link=mode, fading=True, speed_kmh=0.0, delay_spread_s=0.0, pool_size=160)
    k = 6
    q = _lane_quality(w, s, k)
    model = w.quality.model
    g = np.random.default_rng(3).exponential(1.0, 400_000)
    ref = float(model.quality_batch(np.full(g.size, k), s + 10 * np.log10(g)).mean())
    se = float(q.std(ddof=1)) / math.sqrt(q.size)
    assert abs(q.mean() - ref) < 4 * se + 1e-3, (q.mean(), ref, se)
    twice = float(model.quality_batch(np.full(g.size, k), s + 20 * np.log10(g)).mean())
    none = float(model.quality_batch(k, s))
    assert abs(ref - twice) > 4 * se or abs(ref - none) > 4 * se


@pytest.mark.parametrize("mode", ["analog", "uncoded"])
def test_payload_airtime_is_the_hand_computed_slot_count(mode: str) -> None:
    w = small(link=mode, fading=False)
    c, link = w.config, w.link
    d, G, k = w.comp.arch.hidden, c.new_tokens, 6
    re_slot = link.n_prb * 156

    def n_re(elements: int) -> int:
        if mode == "analog":
            return math.ceil(elements / 2)
        per = (c.packet_bits - c.header_bits) // 16
        return math.ceil((elements * 16 + math.ceil(elements / per) * c.header_bits) / 2)  # QPSK

    S = int(w.prompts[0])
    want = math.ceil(n_re(S * d) / re_slot) + (G - 1) * math.ceil(n_re(d) / re_slot)
    out = w.evaluate(request(w, 20.0), np.array([k]))
    assert not out.outage[0]
    assert out.tx_slots[0] == want


def test_extreme_allowed_values_do_not_overflow() -> None:
    with np.errstate(over="raise", invalid="raise"):
        env = gym.make("splitgym/FadingSplit-Reference-Stateless-v1", speed_kmh=500.0, distance_m=(4000.0, 5000.0),
                       tx_power_dbm=33.0, pool_size=3, horizon_s=0.5)  # fmt: skip
        env.reset(seed=0)
        for a in range(13):
            _, r, *_ = env.step(a)
            assert np.isfinite(r)


# -- quality profiles ------------------------------------------------------------------------------------
def _monotone_violation(model: TableQualityModel, tol: float) -> float:
    grid = model._grid  # [level, split]
    lv = model.levels
    if model.level_name in ("snr_db", "activation_bits"):  # impairment falls as the level rises
        grid = grid[::-1]
    steps = np.diff(grid, axis=0)  # quality at the next, more impaired level minus this one
    return float(np.max(steps - tol)) if lv.size > 1 else -1.0


def test_every_shipped_quality_profile_is_non_increasing_in_impairment() -> None:
    names = [n for n in bundled_profiles() if n.startswith("accuracy/")]
    assert "accuracy/reference_activation" in names
    for name in names:
        prof = load_bundled(name)
        if prof.kind != "quality_grid":
            continue
        model = TableQualityModel(prof)
        std = prof.table["quality_std"].to_numpy() if "quality_std" in prof.table else np.zeros(1)
        repeats = int(prof.meta.get("repeats", 1))
        # tolerance: 3 standard errors of a cell's mean, at least the resolution of a 2048-token PPL (1e-3)
        tol = max(3.0 * float(np.max(std)) / math.sqrt(repeats) * math.sqrt(2), 1e-3)
        assert _monotone_violation(model, tol) <= 0.0, name


def test_activation_profile_costs_int4_most() -> None:
    m = TableQualityModel("accuracy/reference_activation")
    for k in range(1, 12):
        q4, q8, q16 = (m.quality(k, b) for b in (4.0, 8.0, 16.0))
        assert q4 < q8 - 1e-3 and abs(q16) < 1e-4


# -- the native vector env against single envs ----------------------------------------------------------
def test_vector_env_agrees_with_single_envs_in_distribution() -> None:
    native = gym.make_vec("splitgym/FadingSplit-Reference-Stateless-v1", num_envs=256, vectorization_mode="vector_entry_point",
                          **SMALL)  # fmt: skip
    sync = gym.vector.SyncVectorEnv(
        [lambda: gym.make("splitgym/FadingSplit-Reference-Stateless-v1", **SMALL)] * 16
    )
    native.reset(seed=0)
    sync.reset(seed=0)
    rewards: dict[str, list[float]] = {"native": [], "sync": []}
    lat: dict[str, list[float]] = {"native": [], "sync": []}
    for name, envs, steps in (("native", native, 20), ("sync", sync, 320)):
        for _ in range(steps):
            _, r, _, _, info = envs.step(np.full(envs.num_envs, 6))
            if "latency_s" not in info:  # every env was resetting in this step
                continue
            live = np.asarray(info["_latency_s"])
            rewards[name] += np.asarray(r)[live].tolist()
            lat[name] += np.asarray(info["latency_s"])[live].tolist()
    for stat in (rewards, lat):
        a, b = np.asarray(stat["native"]), np.asarray(stat["sync"])
        se = math.sqrt(a.var() / a.size + b.var() / b.size)
        assert abs(a.mean() - b.mean()) < 4 * se + 1e-9


def test_vector_and_single_use_the_same_evaluation() -> None:
    env = gym.make("splitgym/FadingSplit-Reference-Stateless-v1", **SMALL)
    env.reset(seed=2)
    u: Any = env.unwrapped
    req = u.request()
    _, r, _, _, info = env.step(7)
    out = u.world.evaluate(Request(*(np.asarray(getattr(req, f))[None] for f in vars(req))), np.array([7]))
    assert r == pytest.approx(float(out.reward[0]))
    assert info["latency_s"] == pytest.approx(float(out.latency_s[0]))
    tail = tail_columns(u.config, out.cqi, out.ttft_s, out.latency_s)
    assert tail.shape == (1, u.config.cqi_history + 2)


# -- the physics report ----------------------------------------------------------------------------------
def test_physics_report_has_15_rows_all_within_tolerance(tmp_path: Any) -> None:
    from splitgym.envs.split.physics import physics_table, write_physics

    table = physics_table()
    assert len(table) >= 15
    assert (table["ok"] == "yes").all(), table[table["ok"] != "yes"][["quantity", "ours", "reference"]]
    csv, md = write_physics(tmp_path)
    assert csv.read_text().count("\n") == len(table) + 1 and "| quantity" in md.read_text()


# -- actions, observation modes, vector infos ------------------------------------------------------------
@pytest.mark.parametrize("action", [1.7, "1", True, None, [1, 2], np.array([[1]]), np.array(1.0), 99, -1])
def test_single_env_refuses_a_bad_action(action: Any) -> None:
    env = gym.make("splitgym/FadingSplit-Reference-Stateless-v1", **SMALL)
    env.reset(seed=0)
    with pytest.raises(gym.error.InvalidAction, match="action must be an integer"):
        env.step(action)


@pytest.mark.parametrize(
    "actions", [np.ones((2, 2), dtype=np.int64), np.ones(4), np.ones(4, dtype=bool), np.full(4, 13), [1, 2]]
)
def test_vector_env_refuses_bad_actions_without_reshaping_or_casting(actions: Any) -> None:
    envs = gym.make_vec("splitgym/FadingSplit-Reference-Stateless-v1", num_envs=4, vectorization_mode="vector_entry_point",
                        **SMALL)  # fmt: skip
    envs.reset(seed=0)
    with pytest.raises(gym.error.InvalidAction, match="actions must"):
        envs.step(actions)


def _layout(info: dict[str, Any]) -> dict[str, Any]:
    """Keys, shapes and ``_key`` masks of a vector info (nested dicts included)."""
    out: dict[str, Any] = {}
    for k, v in info.items():
        if isinstance(v, dict):
            out[k] = _layout(v)
        elif k.startswith("_"):
            out[k] = np.asarray(v).tolist()
        else:
            out[k] = np.asarray(v).shape
    return out


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("env_id", ["splitgym/FadingSplit-v1", "splitgym/FadingSplit-Reference-Stateless-v1"])
def test_vector_infos_agree_with_sync_vector_env_on_keys_and_masks(env_id: str, mode: AutoresetMode) -> None:
    over = {**SMALL, "max_steps": 3}
    sync = gym.vector.SyncVectorEnv([lambda: gym.make(env_id, **over)] * 3, autoreset_mode=mode)
    native = gym.make_vec(
        env_id, num_envs=3, vectorization_mode="vector_entry_point", autoreset_mode=mode, **over
    )
    assert native.metadata["autoreset_mode"] is mode
    layouts = []
    for envs in (sync, native):
        _, info = envs.reset(seed=[4, 5, 6])
        seen = [_layout(info)]
        acts = np.array([6, 0, 9])
        for _ in range(7):  # through two episode ends
            _, _, terminated, truncated, info = envs.step(acts)
            seen.append(_layout(info))
            if mode is AutoresetMode.SAME_STEP and (terminated | truncated).any():
                assert set(info["final_info"]) >= {"latency_s", "r_quality", "_latency_s"}
        layouts.append(seen)
    for t, (a, b) in enumerate(zip(*layouts, strict=True)):
        assert a == b, (t, set(a) ^ set(b))
    for key in ("reward", "step", "w_quality", "quality_source"):  # no framework clash, no constants
        assert key not in layouts[1][1]
    assert set(layouts[1][0]) == {"action_mask", "_action_mask"}
    assert native.unwrapped.reward_weights == sync.envs[0].unwrapped.reward_weights  # type: ignore[attr-defined]


def test_vector_env_takes_a_list_of_seeds_and_refuses_bad_ones() -> None:
    def run(seed: Any) -> list[float]:
        envs = gym.make_vec(
            "splitgym/FadingSplit-v1", num_envs=3, vectorization_mode="vector_entry_point", **SMALL
        )
        obs, _ = envs.reset(seed=seed)
        _, r, *_ = envs.step(np.full(3, 6))
        return [*obs.ravel().tolist(), *np.asarray(r).tolist()]

    assert run([1, 2, 3]) == run([1, 2, 3]) and run([1, 2, 3]) != run([1, 2, 4])
    for bad in ([1, 2], [1, 2, -3], [1, 2, "x"], [1, 2, True]):
        with pytest.raises(ConfigError, match="seed: a list needs 3 entries"):
            run(bad)
    with pytest.raises(ConfigError, match="autoreset_mode must be one of"):
        gym.make_vec("splitgym/FadingSplit-v1", num_envs=2, vectorization_mode="vector_entry_point",
                     autoreset_mode="Sometimes")  # fmt: skip


def test_dict_observation_mode_carries_the_mask_and_passes_the_checker() -> None:
    env = gym.make("splitgym/FadingSplit-Reference-Stateless-v1", observation_mode="dict", **SMALL)
    obs, info = env.reset(seed=0)
    assert set(obs) == {"observation", "action_mask"} and env.observation_space.contains(obs)
    np.testing.assert_array_equal(obs["action_mask"], info["action_mask"].astype(obs["action_mask"].dtype))
    assert not obs["action_mask"][0]  # min_split 1: the raw prompt never leaves the device
    box = gym.make("splitgym/FadingSplit-Reference-Stateless-v1", **SMALL)
    box_obs, _ = box.reset(seed=0)
    np.testing.assert_array_equal(obs["observation"], box_obs)
    obs, *_ = env.step(6)
    assert env.observation_space.contains(obs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(
            gym.make(
                "splitgym/FadingSplit-Reference-Stateless-v1", observation_mode="dict", **SMALL
            ).unwrapped
        )
    with pytest.raises(ConfigError, match="observation_mode"):
        gym.make("splitgym/FadingSplit-Reference-Stateless-v1", observation_mode="image")


def test_cqi_history_of_zero_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="cqi_history"):
        scenario_config("Reference", cqi_history=0)


def test_vector_env_disabled_autoreset_resets_only_the_masked_envs() -> None:
    envs = gym.make_vec("splitgym/FadingSplit-v1", num_envs=3, vectorization_mode="vector_entry_point",
                        autoreset_mode=AutoresetMode.DISABLED, max_steps=2, **SMALL)  # fmt: skip
    envs.reset(seed=0)
    envs.step(np.full(3, 6))
    obs, _, terminated, truncated, info = envs.step(np.full(3, 6))
    assert truncated.all() and not terminated.any() and info["_latency_s"].all()
    mask = np.array([True, False, True])
    new, reset_info = envs.reset(options={"reset_mask": mask})
    np.testing.assert_array_equal(new[1], obs[1])  # untouched
    assert not np.array_equal(new[0], obs[0]) and reset_info["_action_mask"].tolist() == mask.tolist()
    _, _, _, truncated, _ = envs.step(np.full(3, 6))
    assert truncated.tolist() == [False, True, False]  # env 1 went on past its end; 0 and 2 started anew
    for bad in (np.array([1, 0, 1]), np.zeros(3, dtype=bool), np.ones(2, dtype=bool)):
        with pytest.raises(ConfigError, match="reset_mask"):
            envs.reset(options={"reset_mask": bad})
