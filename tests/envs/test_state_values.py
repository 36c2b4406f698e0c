"""Values of the sequential state that the mutation run (make mutation) found untested: the vector state
against the single-lane one on the same world, requests and actions (every mechanism, lane by lane), and
hand computations of the single and vector states and of the state components on fixed inputs."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import pytest

from splitgym.envs.split.config import STATE_COMPONENTS, SplitConfig, scenario_config
from splitgym.envs.split.state import GAP_BLOCK, LOOKAHEAD, SessionState, physics_config
from splitgym.envs.split.vector_state import VectorSessionState
from splitgym.envs.split.world import DEVICE_MEMORY_GIB, SplitWorld, world_for
from splitgym.envs.state._checks import broadcast_n
from splitgym.envs.state.battery import Battery, BatteryParams
from splitgym.envs.state.kv import KVParams, split_move
from splitgym.envs.state.queue import ArrivalParams, RequestQueue
from splitgym.envs.state.radio import Radio, RadioParams, background_energy_j
from splitgym.envs.state.thermal import ThermalModel, ThermalParams
from splitgym.errors import ConfigError

F = np.ndarray[Any, np.dtype[np.float64]]
SCENARIO = "Reference"  # 12 layers, 256 positions: conversations reach the context limit in a few turns
MID = 6  # a mid split (radio used)
# Device memory budgets (bytes) of the Reference model: every split fits at context 0 but the top ones
# drop out as the context grows; only split 1 fits at context 0 and none once a turn is in the context.
BINDING, TIGHT = 8.7e6, 8.0e5


def _config(budget: float | None = None, **over: Any) -> SplitConfig:
    if budget is not None:
        gib = DEVICE_MEMORY_GIB[scenario_config(SCENARIO).device][0]
        over["memory_fraction"] = budget / (gib * 2**30)
    return scenario_config(SCENARIO, pool_size=2, **over)


@cache
def _world_at(memory_fraction: float) -> SplitWorld:
    return world_for(physics_config(_config(memory_fraction=memory_fraction)))


def _world(config: SplitConfig) -> SplitWorld:
    """A world for the state of ``config`` (shared): the state reads its compute, memory, energy and link
    tables, which depend on the memory budget but not on the state fields or the request interval."""
    return _world_at(config.memory_fraction)


def _pair(config: SplitConfig, n: int) -> tuple[VectorSessionState, list[SessionState], SplitWorld]:
    w = _world(config)
    vs = VectorSessionState(config, w, n)
    singles = [SessionState(config, w) for _ in range(n)]
    vs.reset(np.random.default_rng(0))
    for s in singles:
        s.reset(np.random.default_rng(0))
    return vs, singles, w


# -- the vector state against the single-lane one -----------------------------------------------------------
def _same_state(vs: VectorSessionState, singles: list[SessionState]) -> None:
    def close(got: Any, want: list[float], what: str) -> None:
        np.testing.assert_allclose(
            np.asarray(got, dtype=np.float64), want, rtol=1e-9, atol=1e-12, err_msg=what
        )

    close(vs.start_s, [s.start_s for s in singles], "start_s")
    close(vs.free_at_s, [s.free_at_s for s in singles], "free_at_s")
    close(vs.radio_end_s, [s.radio_end_s for s in singles], "radio_end_s")
    close(vs.gap_s(), [s.gap_s() for s in singles], "gap_s")
    close(vs.thermal.die_c, [s.die_c for s in singles], "die_c")
    close(vs.thermal.skin_c, [s.skin_c for s in singles], "skin_c")
    close(vs.clock_scale(), [s.clock_scale() for s in singles], "clock_scale")
    close(vs.battery.soc, [s.soc for s in singles], "soc")
    assert vs.kv.context_tokens.tolist() == [s.context for s in singles]
    assert vs.turn.tolist() == [s.turn for s in singles]
    assert vs.kv_from_split().tolist() == [s.kv_split for s in singles]
    assert vs.index.tolist() == [s.index for s in singles]
    assert vs.exhausted.tolist() == [s.exhausted for s in singles]
    obs = np.asarray([s.observe() for s in singles], dtype=np.float32).reshape(len(singles), -1)
    np.testing.assert_allclose(vs.observe(), obs, rtol=1e-6, atol=1e-7, err_msg="observe")


def _same_inputs(
    vs: VectorSessionState, singles: list[SessionState], split: Any, level: Any, pool: Any, tx_w: Any
) -> None:
    """The vector inputs at ``split`` (``(n,)`` or ``(n, m)``; the rest broadcast to it) equal the single
    ones lane by lane."""
    got = vs.inputs(split, level, pool, tx_w)
    fields = (got.stretch, got.extra_s, got.extra_j, got.wait_s, got.promotion_s, got.kv_bytes, got.kv_s)
    shape = np.shape(split)
    want = np.zeros((7, *shape))
    for idx in np.ndindex(*shape):
        lane = singles[idx[0]]
        want[(slice(None), *idx)] = lane.inputs(
            int(split[idx]), int(level[idx]), int(pool[idx]), float(tx_w[idx])
        )
    for name, value, expected in zip(("stretch", "extra_s", "extra_j", "wait", "promo", "kv_bytes", "kv_s"),
                                     fields, want, strict=True):  # fmt: skip
        np.testing.assert_allclose(
            np.broadcast_to(value, shape), expected, rtol=1e-9, atol=1e-12, err_msg=name
        )


LOCKSTEP: dict[str, dict[str, Any]] = {
    "periodic-migrate": {
        "state": STATE_COMPONENTS, "arrival_kind": "periodic", "arrival_period_s": 1.75,
        "turns_per_conversation": 3, "budget": BINDING,
    },
    "no-queue-recompute": {
        "state": ("thermal", "battery", "radio", "kv"), "request_interval_s": 1.5, "kv_mode": "recompute",
        "turns_per_conversation": 50, "budget": BINDING,
    },
    "trace-recompute": {
        "state": STATE_COMPONENTS, "arrival_kind": "trace", "kv_mode": "recompute",
        "arrival_trace_s": (0.0, 0.2, 0.4, 5.0, 5.1, 12.0, 12.5, 13.0, 20.0, 20.0, 21.0, 30.0, 31.5, 40.0,
                            40.1, 47.0, 49.0, 60.0, 61.0, 62.0),
    },
    "tight-kv": {"state": ("queue", "kv"), "arrival_kind": "periodic", "arrival_period_s": 2.0,
                 "turns_per_conversation": 50, "budget": TIGHT},
}  # fmt: skip


@pytest.mark.parametrize("name", list(LOCKSTEP))
def test_the_vector_state_is_the_single_state_lane_by_lane(name: str) -> None:
    over = dict(LOCKSTEP[name])
    budget = over.pop("budget", None)
    config = _config(
        budget, rrc_inactivity_s=1.0, thermal_skin_throttle_c=25.5, thermal_die_throttle_c=28.0,
        battery_capacity_wh=0.004, **over,
    )  # fmt: skip
    n = 5
    vs, singles, w = _pair(config, n)
    L = w.num_layers
    rng = np.random.default_rng(1)
    n_pool, n_level = len(np.asarray(w.uplink_rate_bps)), len(w.prompts)
    grid = np.broadcast_to(np.arange(L + 1), (n, L + 1))
    for _ in range(40):
        _same_state(vs, singles)
        level = rng.integers(0, n_level, n)
        pool = rng.integers(0, n_pool, n)
        tx_w = rng.uniform(0.5, 3.0, n)
        mask = vs.mask(level)
        for lane, s in enumerate(singles):
            np.testing.assert_array_equal(mask[lane], s.allowed(int(level[lane]))[0])
        requested = np.where(rng.random(n) < 0.3, L, rng.integers(0, L + 1, n))
        split = vs.execute(mask, level, requested)
        nearest = [s.allowed(int(v))[1][int(k)] for s, v, k in zip(singles, level, requested, strict=True)]
        assert split.tolist() == nearest
        _same_inputs(vs, singles, split, level, pool, tx_w)
        _same_inputs(
            vs, singles, grid, *(np.broadcast_to(x[:, None], grid.shape) for x in (level, pool, tx_w))
        )
        service = rng.uniform(0.05, 3.0, n)
        e_soc = rng.uniform(0.0, 4.0, n)
        energy = e_soc + rng.uniform(0.0, 2.0, n)
        depleted = vs.advance(np.ones(n, dtype=bool), split.copy(), level, service, e_soc, energy)
        expected = [
            s.advance(int(k), int(v), float(t), float(e), float(j), bool(k < L))
            for s, k, v, t, e, j in zip(singles, split, level, service, e_soc, energy, strict=True)
        ]
        assert depleted.tolist() == expected
        _same_state(vs, singles)
        # Lanes restart when depleted, past an exhausted trace, or at random (the lanes drift apart).
        rows = np.flatnonzero(depleted | vs.exhausted | (rng.random(n) < 0.1))
        if rows.size:
            vs.reset(np.random.default_rng(0), rows)
            for i in rows:
                singles[i].reset(np.random.default_rng(0))


# -- the single state by hand --------------------------------------------------------------------------------
def test_poisson_arrivals_count_from_time_zero() -> None:
    config = _config(state=("queue",), arrival_kind="poisson", arrival_rate_per_s=0.5)
    s = SessionState(config, _world(config))
    s.reset(np.random.default_rng(7))
    gaps = np.random.default_rng(7).exponential(2.0, GAP_BLOCK)[::-1]  # consumed from the end
    np.testing.assert_allclose(s._arrivals, np.cumsum(gaps[:LOOKAHEAD]), rtol=1e-12)
    assert s.start_s == pytest.approx(gaps[0], rel=1e-15)


def test_without_the_queue_request_i_starts_at_i_intervals() -> None:
    config = _config(state=("battery",), request_interval_s=2.5)
    s = SessionState(config, _world(config))
    s.reset(np.random.default_rng(0))
    assert s.kv_split == -1  # no KV before the first request
    for i in range(LOOKAHEAD + 4):  # past the first buffer: arrivals drawn at a nonzero index
        assert s.start_s == pytest.approx(2.5 * i, rel=1e-12)
        s.advance(MID, 0, 0.5, 1.0, 1.0, True)


def _radio_session(interval: float, rrc_s: float) -> tuple[SessionState, VectorSessionState, SplitWorld]:
    config = _config(state=("radio",), request_interval_s=interval, rrc_inactivity_s=rrc_s)
    w = _world(config)
    s = SessionState(config, w)
    s.reset(np.random.default_rng(0))
    vs = VectorSessionState(config, w, 1)
    vs.reset(np.random.default_rng(0))
    return s, vs, w


def _advance_both(s: SessionState, vs: VectorSessionState, split: int, service: float, L: int) -> None:
    s.advance(split, 0, service, 1.0, 1.0, split < L)
    vs.advance(np.ones(1, dtype=bool), np.array([split]), np.zeros(1, dtype=np.int64), np.array([service]),
               np.ones(1), np.ones(1))  # fmt: skip


def test_the_gap_background_counts_from_the_end_of_a_device_only_request() -> None:
    """A radio request ends at 0.5 s, a device-only one runs 4.0-5.5 s (its background is its own), the
    next request starts at 8 s: the gap 0.5-8 s is charged only from 5.5 s on, C-DRX until the 6 s timer
    (at 6.5 s), then IDLE, plus the promotion (the gap reached the timer)."""
    s, vs, w = _radio_session(4.0, 6.0)
    L = w.num_layers
    _advance_both(s, vs, MID, 0.5, L)
    _advance_both(s, vs, L, 1.5, L)
    assert s.start_s == 8.0 and s.radio_end_s == 0.5 and s.free_at_s == 5.5
    radio = RadioParams(inactivity_timer_s=6.0, drx_inactivity_s=0.1)
    cdrx = float(w.energy.radio.cdrx_w)
    # in time since the radio activity: the gap 0-7.5 s, charged from 5 s: C-DRX to 6 s, then IDLE
    expected = (
        cdrx * (6.0 - 5.0) + radio.idle_power_w * (7.5 - 6.0) + radio.promotion_w * radio.promotion_idle_s
    )
    _, extra_s, extra_j, _, promo, _, _ = s.inputs(MID, 0, 3, 1.0)
    assert extra_j == pytest.approx(expected, rel=1e-12)
    assert promo == extra_s == radio.promotion_idle_s
    got = vs.inputs(np.array([MID]), np.zeros(1, dtype=np.int64), np.array([3]), np.ones(1))
    assert float(got.extra_j[0]) == pytest.approx(expected, rel=1e-12)
    assert float(got.promotion_s[0]) == radio.promotion_idle_s


def test_a_request_that_starts_before_the_last_radio_activity_ended_pays_no_background() -> None:
    """Without the queue: a radio request runs 0-3 s, a device-only one 1-1.5 s, the next starts at 2 s,
    before the radio went quiet (gap -1 s): nothing to charge."""
    s, vs, w = _radio_session(1.0, 10.0)
    L = w.num_layers
    _advance_both(s, vs, MID, 3.0, L)
    _advance_both(s, vs, L, 0.5, L)
    assert s.start_s == 2.0 and s.radio_end_s == 3.0 and s.free_at_s == 1.5
    assert s.inputs(MID, 0, 3, 1.0)[2] == 0.0
    got = vs.inputs(np.array([MID]), np.zeros(1, dtype=np.int64), np.array([3]), np.ones(1))
    assert float(got.extra_j[0]) == 0.0


def test_recomputing_the_moved_layers_by_hand() -> None:
    """Towards the device: its prefill of the moved layers over the context, at its prefill power; towards
    the edge: the edge's prefill, no device energy. Both per token of the request's prompt level."""
    config = _config(state=("kv",), kv_mode="recompute")
    w = _world(config)
    s = SessionState(config, w)
    s.reset(np.random.default_rng(0))
    vs = VectorSessionState(config, w, 1)
    vs.reset(np.random.default_rng(0))
    first, level = 2, 5
    _advance_both(s, vs, MID, 1.0, w.num_layers)  # (level 0) context: prompt 0 + new tokens
    context = int(w.prompts[0]) + config.new_tokens
    assert s.context == context and int(vs.kv.context_tokens[0]) == context
    per_token = context / float(w.prompts[level])
    dev, edge = w.comp.dev_prefill_s[level], w.comp.edge_prefill_s[level]
    prefill_w = float(w.energy.prefill_w)
    for split, kv_s, kv_j in (
        (MID + 4, (dev[MID + 4] - dev[MID]) * per_token, prefill_w * (dev[MID + 4] - dev[MID]) * per_token),
        (first, (edge[first] - edge[MID]) * per_token, 0.0),
    ):
        one = s.inputs(split, level, 0, 1.0)
        assert one[6] == pytest.approx(kv_s, rel=1e-12) and one[1] == pytest.approx(kv_s, rel=1e-12)
        assert one[2] == pytest.approx(kv_j, rel=1e-12, abs=0.0)
        many = vs.inputs(np.array([split]), np.array([level]), np.zeros(1, dtype=np.int64), np.ones(1))
        assert float(many.kv_s[0]) == pytest.approx(kv_s, rel=1e-12)
        assert float(many.extra_j[0]) == pytest.approx(kv_j, rel=1e-12, abs=0.0)


def test_heat_over_a_short_service_and_an_idle_gap_by_hand() -> None:
    """0.5 s at 8 W from ambient (a service under 1 s still heats), then 4.5 s idle at the SoC idle power
    and 2 s at 1 W: the exact two-node steps of ThermalModel.predict, and the clock scale there."""
    config = _config(state=("thermal",), request_interval_s=5.0, thermal_die_throttle_c=26.0)
    w = _world(config)
    s = SessionState(config, w)
    s.reset(np.random.default_rng(0))
    params = ThermalParams(die_throttle_c=26.0)
    model = ThermalModel(params, 1)
    L = w.num_layers
    s.advance(L, 0, 0.5, 4.0, 4.0, False)
    die, skin = model.predict(0.5, 8.0, (params.ambient_c, params.ambient_c))
    assert (s.die_c, s.skin_c) == pytest.approx((float(die), float(skin)), rel=1e-12)
    assert s.die_c > params.ambient_c + 1.0
    s.advance(L, 0, 2.0, 2.0, 2.0, False)
    die, skin = model.predict(4.5, float(w.energy.idle_w), (die, skin))
    die, skin = model.predict(2.0, 1.0, (die, skin))
    assert (s.die_c, s.skin_c) == pytest.approx((float(die), float(skin)), rel=1e-12)
    clock = float(params.clock_scale(die, skin))
    assert params.clock_floor < clock < 1.0
    assert s.observe()[0] == pytest.approx(clock, rel=1e-12)


def test_thermal_and_radio_observations_by_hand() -> None:
    """At reset: full clock, skin at ambient (0), radio idle (gap inf: 1, 1); after a 2.5 s gap (timer
    2 s) idle again, after a 1.5 s one connected; the gap feature g / (g + T_rrc); the same in the vector
    state."""
    config = _config(state=("thermal", "radio"), request_interval_s=3.0, rrc_inactivity_s=2.0)
    w = _world(config)
    s = SessionState(config, w)
    s.reset(np.random.default_rng(0))
    vs = VectorSessionState(config, w, 1)
    vs.reset(np.random.default_rng(0))
    span = config.thermal_skin_throttle_c - config.thermal_ambient_c
    for service, idle, gap in ((None, 1.0, math.inf), (0.5, 1.0, 2.5), (1.5, 0.0, 1.5)):
        if service is not None:
            _advance_both(s, vs, MID, service, w.num_layers)
        skin = (s.skin_c - config.thermal_ambient_c) / span / 2.0
        assert 0.0 <= skin < 0.1
        gap_feature = 1.0 if gap == math.inf else gap / (gap + 2.0)
        expected = [s.clock_scale(), skin, idle, gap_feature]
        assert s.observe() == pytest.approx(expected, rel=1e-12, abs=1e-15)
        np.testing.assert_allclose(vs.observe()[0], expected, rtol=1e-6, atol=1e-7)


# -- the vector state by hand --------------------------------------------------------------------------------
def test_a_context_no_split_can_hold_leaves_the_weights_mask() -> None:
    """Only split 1 fits the weights at context 0; a turn later even split 1 cannot hold the context's KV,
    so the mask falls back to the weights' one (never empty)."""
    config = _config(TIGHT, state=("kv",), turns_per_conversation=50)
    w = _world(config)
    vs = VectorSessionState(config, w, 2)
    vs.reset(np.random.default_rng(0))
    level = np.array([7, 0])
    weights = w.feasible[level]
    assert weights.sum(axis=1).tolist() == [1, 1] and weights[:, 1].all()
    np.testing.assert_array_equal(vs.mask(level), weights)
    vs.advance(np.ones(2, dtype=bool), np.array([1, 1]), np.array([7, 7]), np.ones(2), np.ones(2), np.ones(2))
    kv_b = w.comp.arch.kv_bytes_per_token(2.0)
    need = w.comp.memory_bytes[level, 1] + kv_b * vs.kv.context_tokens
    assert (need > w.memory_budget_bytes).all()  # split 1 no longer holds the context
    np.testing.assert_array_equal(vs.mask(level), weights)
    np.testing.assert_array_equal(vs.execute(vs.mask(level), level, np.array([12, 0])), [1, 1])


def test_a_conversation_ending_in_one_lane_leaves_the_others() -> None:
    config = _config(state=("kv",), turns_per_conversation=2)
    w = _world(config)
    vs = VectorSessionState(config, w, 2)
    vs.reset(np.random.default_rng(0))
    level = np.array([3, 3])
    one = np.ones(2)
    vs.advance(np.ones(2, dtype=bool), np.array([MID, MID]), level, one, one, one)
    vs.reset(np.random.default_rng(0), np.array([0]))  # lane 0 starts over, lane 1 is at turn 1
    vs.advance(np.ones(2, dtype=bool), np.array([MID + 1, MID + 2]), level, one, one, one)
    context = int(w.prompts[3]) + config.new_tokens
    assert vs.turn.tolist() == [1, 0]  # lane 1's conversation ended after its second turn
    assert vs.kv.context_tokens.tolist() == [context, 0]
    assert vs.kv_from_split().tolist() == [MID + 1, -1]


# -- the components by hand ----------------------------------------------------------------------------------
def test_array_arguments_are_checked_against_their_lower_bound() -> None:
    with pytest.raises(ConfigError, match="x must be >= 0, got -1"):
        broadcast_n("x", np.array([1.0, -1.0]), 2, ge=0.0)
    battery = Battery(BatteryParams(), 2)
    with pytest.raises(ConfigError, match="energy_j must be >= 0"):
        battery.advance(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(broadcast_n("x", np.array([0.0, 2.0]), 2, ge=0.0), [0.0, 2.0])


def test_battery_parameters_bound_the_cutoff_and_the_spread() -> None:
    with pytest.raises(ConfigError, match="cutoff_soc"):
        BatteryParams(cutoff_soc=-0.1)
    for spread in (0.3, 0.5):  # initial_soc - spread must stay above the cutoff
        with pytest.raises(ConfigError, match="initial_soc_spread"):
            BatteryParams(initial_soc=0.5, cutoff_soc=0.2, initial_soc_spread=spread)
    assert BatteryParams(initial_soc=0.5, cutoff_soc=0.2, initial_soc_spread=0.29).initial_soc_spread == 0.29


def test_split_move_takes_whole_layers() -> None:
    move = split_move(KVParams(), np.array([1.0, 5.0]), np.array([4, 2]), np.array([10, 10]))
    assert move.moved_layers.dtype == np.int64
    assert move.moved_layers.tolist() == [3, 3] and move.to_device.tolist() == [True, False]
    np.testing.assert_array_equal(move.migrate_bytes, [3 * 10 * 1024.0, 3 * 10 * 1024.0])


def test_an_arrival_trace_is_kept_as_a_tuple_of_floats() -> None:
    params = ArrivalParams(kind="trace", trace_s=[0, 1.5, 2])  # type: ignore[arg-type]
    assert type(params.trace_s) is tuple and params.trace_s == (0.0, 1.5, 2.0)
    assert all(type(t) is float for t in params.trace_s)
    assert params == ArrivalParams(kind="trace", trace_s=(0.0, 1.5, 2.0))
    assert hash(params) == hash(ArrivalParams(kind="trace", trace_s=(0.0, 1.5, 2.0)))


def test_a_queue_advanced_before_reset_says_so() -> None:
    with pytest.raises(RuntimeError, match=r"^RequestQueue\.advance\(\) called before reset\(\)$"):
        RequestQueue(ArrivalParams(), 1).advance(1.0)


def test_a_radio_reads_any_truthy_activity_flag_as_busy() -> None:
    params = RadioParams()
    radio = Radio(params, 3)
    radio.reset(gap_s=0.0)
    energy = radio.advance(1.0, active=np.array([1.0, 0.0, 2.0]))
    assert radio.gap_s.tolist() == [0.0, 1.0, 0.0]
    idle: F = background_energy_j(params, 0.0, 1.0)
    np.testing.assert_allclose(energy, [0.0, float(idle), 0.0], rtol=1e-12)


def test_advancing_leaves_the_callers_split_array_alone() -> None:
    config = _config(state=("kv",), turns_per_conversation=1)
    vs = VectorSessionState(config, _world(config), 2)
    vs.reset(np.random.default_rng(0))
    split = np.array([MID, MID + 1])
    one = np.ones(2)
    vs.advance(np.ones(2, dtype=bool), split, np.array([3, 3]), one, one, one)
    assert split.tolist() == [MID, MID + 1]
