"""Tests of the state components in ``splitgym.envs.state`` (issue 13): hand-computed values and properties."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm

from splitgym.envs.state import (
    RRC_CONNECTED,
    RRC_IDLE,
    RRC_INACTIVE,
    ArrivalParams,
    Battery,
    BatteryParams,
    KVCache,
    KVParams,
    Radio,
    RadioParams,
    RequestQueue,
    ThermalModel,
    ThermalParams,
    active_energy_j,
    background_energy_j,
    load_trace,
    promotion_after_gap,
    rrc_state_after_gap,
    sustained_clock_scale,
    tail_energy_j,
    time_to_throttle_s,
)
from splitgym.envs.state.radio import pusch_units, sleep_energy_units_ms
from splitgym.errors import ConfigError

# ---------------------------------------------------------------------------------------------- queue


def test_queue_waiting_times_match_hand_computation() -> None:
    # A = 0, 1, 2, 10, 10.5 s; S = 3, 3, 1, 0.2, 1 s.  W_i = max(0, D_(i-1) - A_i):
    # D1 = 3 (W 0); W2 = 3 - 1 = 2, D2 = 6; W3 = 6 - 2 = 4, D3 = 7; W4 = 0 (idle 3), D4 = 10.2;
    # W5 = 0 (idle 0.3), D5 = 11.5.
    queue = RequestQueue(ArrivalParams(kind="trace", trace_s=(0.0, 1.0, 2.0, 10.0, 10.5), lookahead=4))
    queue.reset(np.random.default_rng(0))
    expected = [(0, 0, 3, 0), (1, 2, 6, 0), (2, 4, 7, 0), (10, 0, 10.2, 3), (10.5, 0, 11.5, 0.3)]
    backlog_after = [2, 1, 0, 0, 0]
    for (arrival, wait, depart, idle), service, backlog in zip(
        expected, [3, 3, 1, 0.2, 1], backlog_after, strict=True
    ):
        assert queue.waiting_time_s()[0] == pytest.approx(wait)
        step = queue.advance(service)
        assert step.arrival_s[0] == pytest.approx(arrival)
        assert step.wait_s[0] == pytest.approx(wait)
        assert step.start_s[0] == pytest.approx(arrival + wait)
        assert step.departure_s[0] == pytest.approx(depart)
        assert step.idle_before_s[0] == pytest.approx(idle)
        assert queue.backlog()[0] == backlog
    assert queue.exhausted[0]
    with pytest.raises(RuntimeError, match="exhausted"):
        queue.advance(1.0)


def test_periodic_backlog_carries_over() -> None:
    # Arrivals every 2 s from 1 s, each served for 3 s: the backlog grows by 1 s per request.
    queue = RequestQueue(ArrivalParams(kind="periodic", period_s=2.0, phase_s=1.0), n=3)
    queue.reset(np.random.default_rng(0))
    for i in range(6):
        step = queue.advance(3.0)
        np.testing.assert_allclose(step.arrival_s, 1.0 + 2.0 * i)
        np.testing.assert_allclose(step.wait_s, float(i))


def test_poisson_arrivals_have_the_configured_rate_and_are_reproducible() -> None:
    params = ArrivalParams(kind="poisson", rate_per_s=0.5, lookahead=8)
    queue = RequestQueue(params, n=4000)
    queue.reset(np.random.default_rng(7))
    first = queue.head_arrival_s
    assert first.mean() == pytest.approx(2.0, rel=0.05)  # Exp(0.5 /s): mean 2 s, std of the mean 0.03 s
    gaps = queue._upcoming[:, 1:] - queue._upcoming[:, :-1]
    assert gaps.mean() == pytest.approx(2.0, rel=0.02)
    again = RequestQueue(params, n=4000)
    again.reset(np.random.default_rng(7))
    np.testing.assert_array_equal(again.head_arrival_s, first)


def test_queue_mask_leaves_other_envs_untouched() -> None:
    queue = RequestQueue(ArrivalParams(kind="periodic", period_s=1.0), n=2)
    queue.reset(np.random.default_rng(0))
    step = queue.advance([5.0, 5.0], mask=np.array([True, False]))
    assert step.departure_s.tolist() == [5.0, 0.0]
    assert queue.served.tolist() == [1, 0]
    assert queue.free_at_s.tolist() == [5.0, 0.0]


def test_load_trace_reads_and_checks(tmp_path: Path) -> None:
    path = tmp_path / "trace.txt"
    path.write_text("# arrivals\n0.5\n1.5\n4\n")
    assert load_trace(path) == (0.5, 1.5, 4.0)
    path.write_text("3\n1\n")
    with pytest.raises(ConfigError, match="trace_s must be sorted"):
        load_trace(path)


# -------------------------------------------------------------------------------------------- thermal


def _analytic_two_node(p: ThermalParams, power_w: float, t: float) -> tuple[float, float]:
    """Step response from ambient: closed-form eigenvalues and eigenvectors of the 2x2 system."""
    a = 1.0 / (p.r_die_skin_k_per_w * p.c_die_j_per_k)
    b = 1.0 / (p.r_die_skin_k_per_w * p.c_skin_j_per_k)
    c = (1.0 / p.r_die_skin_k_per_w + 1.0 / p.r_skin_ambient_k_per_w) / p.c_skin_j_per_k
    trace, det = -(a + c), a * c - a * b
    root = math.sqrt(trace * trace - 4.0 * det)
    lams = ((trace + root) / 2.0, (trace - root) / 2.0)
    vecs = [(1.0, (a + lam) / a) for lam in lams]
    x_ss = (power_w * (p.r_die_skin_k_per_w + p.r_skin_ambient_k_per_w), power_w * p.r_skin_ambient_k_per_w)
    # x(0) = 0 = x_ss + c1 v1 + c2 v2
    m = np.array([[vecs[0][0], vecs[1][0]], [vecs[0][1], vecs[1][1]]])
    c1, c2 = np.linalg.solve(m, -np.array(x_ss))
    die = x_ss[0] + c1 * vecs[0][0] * math.exp(lams[0] * t) + c2 * vecs[1][0] * math.exp(lams[1] * t)
    skin = x_ss[1] + c1 * vecs[0][1] * math.exp(lams[0] * t) + c2 * vecs[1][1] * math.exp(lams[1] * t)
    return p.ambient_c + die, p.ambient_c + skin


def test_thermal_time_constants_match_the_analytic_two_node_solution() -> None:
    p = ThermalParams()
    a = 1.0 / (p.r_die_skin_k_per_w * p.c_die_j_per_k)
    b = 1.0 / (p.r_die_skin_k_per_w * p.c_skin_j_per_k)
    c = (1.0 / p.r_die_skin_k_per_w + 1.0 / p.r_skin_ambient_k_per_w) / p.c_skin_j_per_k
    root = math.sqrt((a + c) ** 2 - 4.0 * (a * c - a * b))
    tau_slow, tau_fast = 2.0 / ((a + c) - root), 2.0 / ((a + c) + root)
    assert p.time_constants_s == pytest.approx((tau_slow, tau_fast), rel=1e-10)
    # The configured RC products are the modes to within 1.5 %: R_sa·C_s = 680 s, R_js·C_j = 4 s.
    assert tau_slow == pytest.approx(688.05, abs=0.01)
    assert tau_fast == pytest.approx(3.9532, abs=1e-4)
    assert tau_slow == pytest.approx(p.r_skin_ambient_k_per_w * p.c_skin_j_per_k, rel=0.015)
    assert tau_fast == pytest.approx(p.r_die_skin_k_per_w * p.c_die_j_per_k, rel=0.015)


@pytest.mark.parametrize("t", [0.5, 4.0, 60.0, 688.0, 3600.0])
def test_thermal_step_response_is_the_analytic_one(t: float) -> None:
    p = ThermalParams()
    model = ThermalModel(p)
    model.advance(t, 3.0)  # one exact step
    die, skin = _analytic_two_node(p, 3.0, t)
    assert model.die_c[0] == pytest.approx(die, abs=1e-9)
    assert model.skin_c[0] == pytest.approx(skin, abs=1e-9)
    # many small steps give the same temperatures (exact discretisation composes)
    small = ThermalModel(p)
    for _ in range(50):
        small.advance(t / 50, 3.0)
    assert small.skin_c[0] == pytest.approx(skin, abs=1e-9)
    assert small.die_c[0] == pytest.approx(die, abs=1e-9)


def test_thermal_matches_matrix_exponential_and_steady_state() -> None:
    p = ThermalParams()
    model = ThermalModel(p)
    model.reset(die_c=60.0, skin_c=35.0)
    model.advance(17.3, 2.5)
    x_ss = 2.5 * np.array([6.0, 4.0])
    x = x_ss + expm(p.system_matrix * 17.3) @ (np.array([35.0, 10.0]) - x_ss)
    np.testing.assert_allclose([model.die_c[0], model.skin_c[0]], 25.0 + x, atol=1e-9)
    model.advance(1e6, 3.0)  # steady state: skin 25 + 3·4 = 37 °C, die 37 + 3·2 = 43 °C
    assert model.skin_c[0] == pytest.approx(37.0, abs=1e-9)
    assert model.die_c[0] == pytest.approx(43.0, abs=1e-9)
    # the skin rises to 1 - 1/e of its final rise after one slow time constant (fast mode negligible)
    skin_tau = _analytic_two_node(p, 3.0, p.time_constants_s[0])[1]
    assert (skin_tau - 25.0) / 12.0 == pytest.approx(1.0 - math.exp(-1.0), abs=0.01)


def test_clock_scale_reaches_the_floor_and_recovers_when_idle() -> None:
    p = ThermalParams()
    model = ThermalModel(p)
    scales = []
    for _ in range(180):  # 30 min at 12 W in 10 s steps: skin -> 25 + 48 °C, far past 42 + 5 °C
        scales.append(model.advance(10.0, 12.0).clock_scale[0])
    assert scales[0] == 1.0
    assert all(a >= b for a, b in itertools.pairwise(scales))
    assert scales[-1] == p.clock_floor
    for _ in range(360):  # 60 min idle: the skin falls below 42 °C again
        model.advance(10.0, 0.0)
    assert model.clock_scale[0] == 1.0
    assert model.skin_c[0] < p.skin_throttle_c


def test_sustained_slowdown_check_against_the_measurements() -> None:
    # Closed loop with P = s·P_peak: s = 1 - 0.1·(25 + 4·s·P - 42)  =>  s = 2.7/(1 + 0.4·P) (die never binds).
    p = ThermalParams()
    assert sustained_clock_scale(p, 10.0) == pytest.approx(
        2.7 / 5.0, abs=1e-9
    )  # 0.54: in the measured 0.5-0.56
    assert 0.5 <= sustained_clock_scale(p, 10.0) <= 0.56
    assert time_to_throttle_s(p, 10.0) / 60.0 == pytest.approx(6.41, abs=0.01)  # "after minutes"
    # at the dossier's 5 W decode power the model barely throttles, and only after ~22 min
    assert sustained_clock_scale(p, 5.0) == pytest.approx(0.9, abs=1e-9)
    assert time_to_throttle_s(p, 5.0) / 60.0 == pytest.approx(21.82, abs=0.01)
    assert time_to_throttle_s(p, 4.0) == math.inf  # 25 + 4·4 = 41 °C < 42 °C
    assert sustained_clock_scale(p, 100.0) == p.clock_floor


# -------------------------------------------------------------------------------------------- battery


def test_battery_is_drawn_down_by_exactly_the_energy_given() -> None:
    battery = Battery(BatteryParams(capacity_wh=10.0, efficiency=1.0))
    battery.reset()
    step = battery.advance(3600.0)  # 1 Wh of 10 Wh
    assert step.soc[0] == pytest.approx(0.9, abs=1e-15)
    assert battery.remaining_j[0] == pytest.approx(36000.0 - 3600.0, abs=1e-9)
    battery.advance_power(100.0, 3.6)  # another 360 J
    assert battery.remaining_j[0] == pytest.approx(36000.0 - 3960.0, abs=1e-9)
    assert battery.drawn_j[0] == pytest.approx(3960.0)
    # with efficiency 0.9 the cell loses E/0.9
    lossy = Battery(BatteryParams(capacity_wh=10.0, efficiency=0.9))
    step = lossy.advance(900.0)
    assert step.cell_energy_j[0] == pytest.approx(1000.0)
    assert lossy.soc[0] == pytest.approx(1.0 - 1000.0 / 36000.0, abs=1e-15)


def test_battery_depletion_and_defaults() -> None:
    battery = Battery(BatteryParams(capacity_wh=1.0, efficiency=1.0, cutoff_soc=0.05), n=2)
    step = battery.advance([3000.0, 4000.0])
    assert step.depleted.tolist() == [False, True]
    assert step.soc[1] == 0.0
    assert step.deficit_j[1] == pytest.approx(400.0)
    assert BatteryParams.from_mah(3582, 3.88).capacity_wh == pytest.approx(13.898, abs=1e-3)
    assert BatteryParams().capacity_wh == 13.9
    spread = Battery(BatteryParams(initial_soc=0.9, initial_soc_spread=0.4), n=500)
    soc = spread.reset(np.random.default_rng(1))
    assert soc.min() >= 0.5 and soc.max() <= 0.9 and soc.std() > 0.05


# ---------------------------------------------------------------------------------------------- radio


def test_tr38840_powers_in_watts() -> None:
    r = RadioParams()
    assert r.pdcch_w == pytest.approx(0.4)  # 100 units × 4 mW
    assert r.rx_w == pytest.approx(1.2)  # PDCCH + PDSCH, 300 units
    assert float(r.tx_w(23.0)) == pytest.approx(2.8)  # 700 units
    assert float(pusch_units(0.0)) == pytest.approx(250.0)
    assert float(sleep_energy_units_ms(152.0)) == pytest.approx(152.0 + 450.0)  # deep sleep fits
    assert float(sleep_energy_units_ms(10.0)) == pytest.approx(20.0 * 10.0 + 100.0)  # light sleep
    assert float(sleep_energy_units_ms(3.0)) == pytest.approx(45.0 * 3.0)  # micro sleep
    # C-DRX 160 ms cycle, 8 ms on: (100·8 + 1·152 + 450)/160 = 8.7625 units = 35.05 mW
    assert r.cdrx_w == pytest.approx(8.7625 * 0.004)
    narrow = RadioParams(dl_bwp_mhz=20.0, rx_antennas=2)
    assert narrow.rx_w == pytest.approx(300 * 0.4 * 0.7 * 0.004)
    assert narrow.pdcch_w == pytest.approx(50 * 0.7 * 0.004)  # floored at 50 units


def test_promotion_paid_after_the_inactivity_timer_and_not_inside_it() -> None:
    r = RadioParams()
    delay, energy = promotion_after_gap(r, np.array([0.0, 5.0, 9.99, 10.0, 15.0, np.inf]))
    assert delay.tolist() == [0.0, 0.0, 0.0, 0.33, 0.33, 0.33]
    np.testing.assert_allclose(energy, delay * 60.5 * 0.004)
    assert rrc_state_after_gap(r, np.array([9.99, 10.0, 10.5, np.inf])).tolist() == [0, 2, 2, 2]
    dwell = RadioParams(inactive_dwell_s=30.0)
    delay, _ = promotion_after_gap(dwell, np.array([5.0, 20.0, 45.0]))
    np.testing.assert_allclose(delay, [0.0, 0.010, 0.33])
    assert rrc_state_after_gap(dwell, np.array([5.0, 20.0, 39.99, 40.0])).tolist() == [0, 1, 1, 2]


def test_tail_energy_is_power_times_time_until_the_timer() -> None:
    flat = RadioParams(tail_power_w=1.1)
    np.testing.assert_allclose(tail_energy_j(flat, np.array([2.0, 10.0, 300.0])), [2.2, 11.0, 11.0])
    # background over a 300 s gap: 11 J of tail, then 290 s idle at 15 mW
    assert float(background_energy_j(flat, 0.0, 300.0)) == pytest.approx(11.0 + 290 * 0.015)
    r = RadioParams()  # TR-based: 0.1 s of PDCCH at 0.4 W, then C-DRX at 35.05 mW until 10 s
    hand = 0.4 * 0.1 + 0.035050 * 9.9
    assert float(tail_energy_j(r, 50.0)) == pytest.approx(hand)
    assert float(tail_energy_j(r, 3.0)) == pytest.approx(0.4 * 0.1 + 0.035050 * 2.9)


def test_radio_component_follows_the_offloading_history() -> None:
    r = RadioParams(tail_power_w=1.0, idle_power_w=0.01)
    radio = Radio(r)
    radio.reset()  # starts idle
    assert radio.rrc_state[0] == RRC_IDLE
    wake = radio.wake()
    assert wake.delay_s[0] == pytest.approx(0.33) and wake.state_before[0] == RRC_IDLE
    assert radio.advance(2.0, active=True)[0] == 0.0  # busy: charged by active_energy_j
    assert radio.advance(4.0)[0] == pytest.approx(4.0)  # 4 s of tail at 1 W
    assert radio.rrc_state[0] == RRC_CONNECTED
    wake = radio.wake()  # inside the tail: no promotion
    assert wake.delay_s[0] == 0.0 and wake.energy_j[0] == 0.0 and wake.tail_energy_j[0] == pytest.approx(4.0)
    assert radio.advance(30.0)[0] == pytest.approx(10.0 + 20.0 * 0.01)  # full tail, then idle
    assert radio.rrc_state[0] == RRC_IDLE
    assert radio.wake().delay_s[0] == pytest.approx(0.33)
    assert radio.promotions[0] == 2
    inactive = Radio(RadioParams(inactive_dwell_s=100.0))
    inactive.reset(gap_s=50.0)
    assert inactive.rrc_state[0] == RRC_INACTIVE
    assert inactive.observe().tolist() == [[0.0, 1.0, 0.0, 0.0]]


def test_active_period_energy_from_the_slot_timeline() -> None:
    r = RadioParams()
    energy = active_energy_j(r, tx_s=0.0017, rx_s=0.0005, pdcch_s=0.003, wait_s=0.25, tx_power_dbm=23.0)
    wait = 0.4 * 0.1 + r.cdrx_w * 0.15  # DRX inactivity timer, then C-DRX
    assert float(energy) == pytest.approx(2.8 * 0.0017 + 1.2 * 0.0005 + 0.4 * 0.003 + wait)
    with pytest.raises(ConfigError, match="tx_s"):
        active_energy_j(r, tx_s=-1.0, rx_s=0.0)


# ------------------------------------------------------------------------------------------------- kv


def test_kv_migration_and_recompute_costs() -> None:
    p = KVParams(n_layers=22, kv_bytes_per_token_per_layer=1024.0, hidden_bytes_per_token=4096.0)
    kv = KVCache(p, n=2)
    kv.reset(split=[4, 10])
    kv.advance(100, 50)
    assert kv.advance([200, 200], [100, 100]).tolist() == [450, 450]
    move = kv.move_split([10, 3])  # Δ = 6 to the device, Δ = 7 to the edge, c = 450
    assert move.moved_layers.tolist() == [6, 7]
    assert move.to_device.tolist() == [True, False]
    assert move.migrate_bytes.tolist() == [6 * 450 * 1024, 7 * 450 * 1024]
    assert move.recompute_layer_tokens.tolist() == [6 * 450, 7 * 450]
    assert move.recompute_hidden_bytes.tolist() == [0.0, 450 * 4096]  # device keeps h_k; uploads h_k'
    assert kv.split.tolist() == [10, 3]
    assert kv.move_split([10, 3]).migrate_bytes.tolist() == [0.0, 0.0]
    forgetful = KVCache(KVParams(device_keeps_hidden=False))
    forgetful.reset(split=2, context_tokens=300)
    assert forgetful.move_split(5).recompute_hidden_bytes.tolist() == [300 * 4096]


def test_kv_context_limit_and_memory_mask() -> None:
    budget = 8 * 1000 * 1024 + 1000 * 4096  # k = 8 at c = 1000 fits exactly
    kv = KVCache(KVParams(n_layers=22, max_context_tokens=1200, device_kv_budget_bytes=budget))
    kv.reset(split=8, context_tokens=900)
    assert kv.device_bytes[0] == 8 * 900 * 1024 + 900 * 4096
    mask = kv.split_mask(extra_tokens=100)[0]
    assert mask[:9].all() and not mask[9:].any()  # splits 0..8 fit at 1000 tokens
    kv.advance(500, 500)
    assert kv.context_tokens[0] == 1200  # saturates at the limit
    assert KVParams.from_architecture("llama2-7b").kv_bytes_per_token_per_layer == 16 * 1024
    assert KVParams.from_architecture("qwen2-0.5b").kv_bytes_per_token_per_layer == 512
    with pytest.raises(ConfigError, match="new_split"):
        kv.move_split(23)


# ------------------------------------------------------------------------------- vectorised vs scalar


def test_vectorised_and_scalar_instances_agree() -> None:
    rng = np.random.default_rng(3)
    n, steps = 1000, 12
    dt = rng.uniform(0.0, 120.0, (steps, n))
    power = rng.uniform(0.0, 15.0, (steps, n))
    active = rng.random((steps, n)) < 0.3
    service = rng.uniform(0.0, 30.0, (steps, n))
    splits = rng.integers(0, 23, (steps, n))
    tokens = rng.integers(0, 300, (steps, n))
    trace = tuple(np.cumsum(rng.exponential(10.0, 40)).tolist())

    def build(k: int) -> tuple[ThermalModel, Battery, Radio, KVCache, RequestQueue]:
        comps = (
            ThermalModel(ThermalParams(), k),
            Battery(BatteryParams(), k),
            Radio(RadioParams(), k),
            KVCache(KVParams(), k),
            RequestQueue(ArrivalParams(kind="trace", trace_s=trace), k),
        )
        comps[4].reset(np.random.default_rng(0))
        return comps

    def run(
        comps: tuple[ThermalModel, Battery, Radio, KVCache, RequestQueue], cols: slice
    ) -> list[np.ndarray]:
        thermal, battery, radio, kv, queue = comps
        out = []
        for t in range(steps):
            thermal.advance(dt[t, cols], power[t, cols])
            battery.advance_power(dt[t, cols], power[t, cols])
            e = radio.advance(dt[t, cols], active=active[t, cols])
            move = kv.move_split(splits[t, cols])
            kv.advance(tokens[t, cols], tokens[t, cols])
            step = queue.advance(service[t, cols])
            out.append(
                np.stack([thermal.skin_c, thermal.die_c, battery.soc, e, move.migrate_bytes, step.wait_s])
            )
            out.append(np.concatenate([c.observe() for c in comps], axis=1).T)
        return out

    vector = run(build(n), slice(None))
    for i in (0, 1, 137, 500, 999):
        scalar = run(build(1), slice(i, i + 1))
        for v, s in zip(vector, scalar, strict=True):
            np.testing.assert_allclose(v[:, i], s[:, 0], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: ArrivalParams(rate_per_s=-1.0), "rate_per_s"),
        (lambda: ArrivalParams(rate_per_s=0.0), "rate_per_s"),
        (lambda: ArrivalParams(kind="periodic", period_s=-2.0), "period_s"),
        (lambda: ArrivalParams(kind="trace", trace_s=(0.0, 5.0, 3.0)), "trace_s must be sorted"),
        (lambda: ArrivalParams(kind="trace", trace_s=(0.0, float("nan"))), "trace_s must be finite"),
        (lambda: ArrivalParams(kind="trace", trace_s=(0.0, float("inf"))), "trace_s must be finite"),
        (lambda: ArrivalParams(kind="trace", trace_s=(-1.0, 2.0)), "trace_s must be >= 0"),
        (lambda: ArrivalParams(kind="trace"), "trace_s must hold"),
        (lambda: ArrivalParams(kind="poison"), "did you mean 'poisson'"),
        (lambda: ThermalParams(skin_throttle_c=20.0), "skin_throttle_c must be >= ambient_c"),
        (lambda: ThermalParams(ambient_c=40.0, skin_throttle_c=38.0), "skin_throttle_c"),
        (lambda: ThermalParams(die_throttle_c=10.0), "die_throttle_c"),
        (lambda: ThermalParams(r_skin_ambient_k_per_w=0.0), "r_skin_ambient_k_per_w must be > 0"),
        (lambda: ThermalParams(c_die_j_per_k=-1.0), "c_die_j_per_k must be > 0"),
        (lambda: ThermalParams(clock_floor=0.0), "clock_floor"),
        (lambda: BatteryParams(capacity_wh=0.0), "capacity_wh must be > 0, got 0"),
        (lambda: BatteryParams(capacity_wh=-5.0), "capacity_wh"),
        (lambda: BatteryParams(efficiency=1.5), "efficiency"),
        (lambda: RadioParams(inactivity_timer_s=0.0), "inactivity_timer_s"),
        (lambda: RadioParams(drx_on_duration_s=0.2), "drx_on_duration_s"),
        (lambda: RadioParams(rx_antennas=3), "rx_antennas"),
        (lambda: KVParams(n_layers=0), "n_layers"),
        (lambda: KVParams(kv_bytes_per_token_per_layer=0.0), "kv_bytes_per_token_per_layer"),
    ],
)
def test_bad_parameters_give_a_one_line_config_error(build: object, name: str) -> None:
    with pytest.raises(ConfigError, match=name) as info:
        build()  # type: ignore[operator]
    assert "\n" not in str(info.value)


def test_bad_runtime_inputs_are_rejected() -> None:
    with pytest.raises(ConfigError, match="power_w must be >= 0"):
        ThermalModel(ThermalParams()).advance(1.0, -1.0)
    with pytest.raises(ConfigError, match="energy_j must be >= 0"):
        Battery(BatteryParams()).advance(-1.0)
    with pytest.raises(ConfigError, match="dt_s must be finite"):
        Radio(RadioParams()).advance(float("nan"))
    with pytest.raises(ConfigError, match="mask"):
        Battery(BatteryParams(), n=3).advance(1.0, mask=np.array([True, False]))
    queue = RequestQueue(ArrivalParams())
    with pytest.raises(RuntimeError, match="before reset"):
        queue.advance(1.0)


# ----------------------------------------------------------------------------------- property tests

_durations = st.lists(st.tuples(st.floats(0.0, 900.0), st.floats(0.0, 20.0)), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(_durations)
def test_thermal_state_stays_physical(steps: list[tuple[float, float]]) -> None:
    p = ThermalParams()
    model = ThermalModel(p)
    top = p.ambient_c + 20.0 * (p.r_die_skin_k_per_w + p.r_skin_ambient_k_per_w)
    for dt, power in steps:
        s = model.advance(dt, power)
        assert p.ambient_c - 1e-9 <= s.skin_c[0] <= s.die_c[0] + 1e-9 <= top + 2e-9
        assert p.clock_floor <= s.clock_scale[0] <= 1.0
        obs = model.observe()
        assert obs.dtype == np.float32 and (obs >= 0).all() and (obs <= 1).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 2e4), min_size=1, max_size=30))
def test_battery_soc_stays_in_bounds_and_accounts_energy(draws: list[float]) -> None:
    battery = Battery(BatteryParams(capacity_wh=13.9, efficiency=0.9))
    previous = 1.0
    for e in draws:
        soc = battery.advance(e).soc[0]
        assert 0.0 <= soc <= previous
        previous = soc
    used = sum(draws) / 0.9
    assert battery.remaining_j[0] == pytest.approx(max(0.0, 13.9 * 3600 - used), abs=1e-6)
    assert 0.0 <= battery.observe()[0, 0] <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 60.0), min_size=1, max_size=30), st.integers(0, 2**32 - 1))
def test_queue_obeys_the_lindley_recursion(services: list[float], seed: int) -> None:
    queue = RequestQueue(ArrivalParams(kind="poisson", rate_per_s=0.2, lookahead=4))
    queue.reset(np.random.default_rng(seed))
    depart = 0.0
    for s in services:
        step = queue.advance(s)
        assert step.wait_s[0] == pytest.approx(max(0.0, depart - step.arrival_s[0]))
        assert step.departure_s[0] >= depart and step.departure_s[0] >= step.arrival_s[0] + s - 1e-9
        depart = step.departure_s[0]
        obs = queue.observe()
        assert (obs >= 0).all() and (obs <= 1).all()


@settings(max_examples=80, deadline=None)
@given(st.floats(0.0, 100.0), st.floats(0.0, 50.0), st.floats(0.0, 50.0), st.booleans())
def test_radio_background_energy_is_additive_and_non_negative(
    g: float, a: float, b: float, dwell: bool
) -> None:
    r = RadioParams(inactive_dwell_s=20.0 if dwell else 0.0, idle_power_w=0.012)
    first = float(background_energy_j(r, g, a))
    second = float(background_energy_j(r, g + a, b))
    assert first >= 0.0 and second >= 0.0
    assert first + second == pytest.approx(float(background_energy_j(r, g, a + b)), rel=1e-9, abs=1e-12)
    delay, energy = promotion_after_gap(r, g)
    assert float(delay) in (0.0, r.promotion_inactive_s, r.promotion_idle_s)
    state = int(rrc_state_after_gap(r, g))
    assert float(delay) == [0.0, r.promotion_inactive_s, r.promotion_idle_s][state]
    assert float(energy) == pytest.approx(float(delay) * r.promotion_w)
    # a long-idle UE draws exactly the idle power
    assert float(background_energy_j(r, np.inf, a)) == pytest.approx(0.012 * a)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 22), st.integers(0, 400)), min_size=1, max_size=20))
def test_kv_costs_follow_the_formulas(turns: list[tuple[int, int]]) -> None:
    p = KVParams()
    kv = KVCache(p)
    kv.reset(split=11)
    for split, tokens in turns:
        before, c = int(kv.split[0]), int(kv.context_tokens[0])
        move = kv.move_split(split)
        delta = abs(split - before)
        assert move.migrate_bytes[0] == delta * c * p.kv_bytes_per_token_per_layer
        assert move.recompute_layer_tokens[0] == delta * c
        kv.advance(tokens, tokens // 2)
        assert 0 <= kv.context_tokens[0] <= p.max_context_tokens
        obs = kv.observe()
        assert (obs >= 0).all() and (obs <= 1).all()


# -- every check names its parameter and the value ----------------------------------------------------------
def _kv() -> KVCache:
    return KVCache(KVParams(n_layers=4), 2)


BAD_CALLS: list[tuple[str, Any, str]] = [
    ("battery soc above 1", lambda: Battery(BatteryParams(), 2).reset(soc=1.5), r"soc must be <= 1, got 1\.5"),
    ("battery soc below 0", lambda: Battery(BatteryParams(), 2).reset(soc=-0.5), r"soc must be >= 0, got -0\.5"),
    ("battery power time", lambda: Battery(BatteryParams(), 2).advance_power(-1.0, 1.0), r"dt_s must be >= 0"),
    ("thermal n", lambda: ThermalModel(ThermalParams(), 0), r"\bn must be"),
    ("thermal step", lambda: ThermalModel(ThermalParams(), 2).advance(-1.0, 1.0), r"dt_s must be >= 0"),
    ("thermal die", lambda: ThermalModel(ThermalParams(), 2).reset(die_c=-300.0), r"die_c must be >= -273\.15"),
    ("thermal peak", lambda: sustained_clock_scale(ThermalParams(), -1.0), r"peak_power_w must be"),
    ("thermal base", lambda: sustained_clock_scale(ThermalParams(), 5.0, 6.0), r"base_power_w must be"),
    ("kv context", lambda: _kv().reset(context_tokens=-1), r"context_tokens must be >= 0"),
    ("kv generated", lambda: _kv().advance(10, generated_tokens=-1), r"generated_tokens must be >= 0"),
    ("queue lookahead", lambda: ArrivalParams(lookahead=0), r"lookahead must be"),
    ("radio gap", lambda: Radio(RadioParams(), 2).reset(gap_s=-1.0), r"gap_s must be >= 0 \(inf allowed\), got -1"),
    ("not a number", lambda: Radio(RadioParams(), 2).advance(np.array(["x"])), r"dt_s must be real numbers"),
    ("not finite", lambda: Radio(RadioParams(), 2).advance(np.array([1.0, np.inf])), r"dt_s must be finite, got inf"),
    ("wrong shape", lambda: Radio(RadioParams(), 2).advance(np.ones(3)), r"dt_s must be a scalar or have shape \(2,\), got shape \(3,\)"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "call", "message"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_each_check_names_the_parameter_and_the_value(case: str, call: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call()


def test_limits_accept_their_boundary_values() -> None:
    assert ArrivalParams(lookahead=1).lookahead == 1
    Battery(BatteryParams(), 1).reset(soc=1.0)  # a full battery is allowed
    assert KVParams(n_layers=4, device_kv_budget_bytes=0.5).device_kv_budget_bytes == 0.5
