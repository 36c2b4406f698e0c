"""Values of the environment core that the mutation run (make mutation) found untested: masked radio
updates, a throttle reached within the first second, the invalid-action charge of the vector env's
per-action rewards, and a world whose quality comes from another model."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from numpy.typing import ArrayLike, NDArray

from splitgym.envs.split.config import scenario_config
from splitgym.envs.split.world import world_for
from splitgym.envs.state.radio import RRC_CONNECTED, RRC_IDLE, Radio, RadioParams
from splitgym.envs.state.thermal import ThermalModel, ThermalParams, time_to_throttle_s


def test_a_masked_wake_promotes_only_the_selected_radios() -> None:
    params = RadioParams()
    radio = Radio(params, n=3)
    radio.reset()  # all idle
    wake = radio.wake(mask=[True, False, True])
    promo = params.promotion_idle_s
    assert wake.delay_s.tolist() == pytest.approx([promo, 0.0, promo])
    assert wake.energy_j.tolist() == pytest.approx(
        [promo * params.promotion_w, 0.0, promo * params.promotion_w]
    )
    assert wake.state_before.tolist() == [RRC_IDLE, RRC_CONNECTED, RRC_IDLE]
    assert radio.gap_s[0] == 0.0 and radio.gap_s[2] == 0.0 and np.isinf(radio.gap_s[1])
    assert radio.promotions.tolist() == [1, 0, 1]


def test_a_masked_advance_moves_only_the_selected_idle_radios() -> None:
    params = RadioParams()
    radio = Radio(params, n=3)
    radio.reset(gap_s=0.0)
    energy = radio.advance(2.0, active=np.array([True, False, False]), mask=[True, True, False])
    # env 0 busy (charged elsewhere, gap stays 0), env 1 idle for 2 s (its tail energy), env 2 untouched.
    assert energy[0] == 0.0 and energy[2] == 0.0
    assert energy[1] == pytest.approx(0.4 * 0.1 + params.cdrx_w * 1.9)
    assert radio.gap_s.tolist() == [0.0, 2.0, 0.0]
    assert energy.dtype == np.float64


def test_time_to_throttle_below_one_second_at_a_high_power() -> None:
    params = ThermalParams()
    t = time_to_throttle_s(params, 1000.0)
    assert 0.0 < t < 1.0
    # At that instant the die reaches its throttle temperature (the skin is still far below its own).
    die, skin = ThermalModel(params, 1).predict(t, 1000.0, (params.ambient_c, params.ambient_c))
    assert float(np.squeeze(die)) == pytest.approx(params.die_throttle_c, abs=1e-6)
    assert float(np.squeeze(skin)) < params.skin_throttle_c


def test_vector_per_action_rewards_charge_the_invalid_weight() -> None:
    env = gym.make_vec(
        "splitgym/FadingSplit-Reference-Stateless-v1", num_envs=2, vectorization_mode="vector_entry_point",
        w_invalid=0.25,
    )  # fmt: skip
    env.reset(seed=0)
    base: Any = env.unwrapped
    rewards = base.split_rewards()
    mask = base.action_masks()
    bad = np.flatnonzero(~mask[0])
    assert bad.size, "the Reference scenario has an infeasible split (min_split)"
    w = base.world
    executed, _ = w.execute(np.asarray(base._req.prompt_level)[:1], np.array([bad[0]]))
    # The infeasible split runs the nearest feasible one and pays w_invalid on top.
    assert rewards[0, bad[0]] == pytest.approx(rewards[0, int(executed[0])] - 0.25)


class _ConstantQuality:
    """A quality model on the world's own axis and splits that answers one value everywhere."""

    def __init__(self, like: Any, value: float) -> None:
        self.level_name = like.level_name
        self.splits = like.splits
        self.value = value

    def quality_batch(self, splits: ArrayLike, levels: ArrayLike) -> NDArray[np.float64]:
        return np.full(np.broadcast(np.asarray(splits), np.asarray(levels)).shape, self.value)


def test_a_world_with_another_quality_model_changes_only_the_quality() -> None:
    w = world_for(scenario_config("Reference", pool_size=2, horizon_s=1.5))
    twin = w.with_quality(_ConstantQuality(w.quality.model, 0.123))
    interior = (w._kk > 0) & (w._kk < w.num_layers)  # the model answers the splits between the ends
    assert np.allclose(twin.t_quality.ravel()[interior], 0.123)
    assert not np.allclose(w.t_quality.ravel()[interior], 0.123)
    assert twin.t_quality.shape == w.t_quality.shape == twin.t_score.shape
    assert np.array_equal(twin.t_level, w.t_level)
    _, req = w.process.init(np.random.default_rng(0), 4)
    k = np.full(4, int(w.runnable[len(w.runnable) // 2]))
    a, b = w.evaluate(req, k), twin.evaluate(req, k)
    assert np.array_equal(a.latency_s, b.latency_s) and np.array_equal(a.energy_j, b.energy_j)
    assert np.allclose(b.quality[~b.outage], 0.123)


def test_hidden_state_distortion_adds_up_over_resource_elements() -> None:
    """A transfer of 1.5 slots' REs is charged one full slot and half of the next: the distortion of the
    partly filled last slot is in proportion to the REs it carries (analog: two values an RE, so the RE
    counts are exact; the uncoded mode shares this code)."""
    w = world_for(scenario_config("Reference", link="analog", fading=True, pool_size=2, horizon_s=1.5))
    link: Any = w.link
    R = float(link.re_per_slot)
    t, p = np.zeros(1), np.zeros(1, dtype=np.int64)

    def elements_for(n_re: float) -> float:  # the inverse of resource_elements on whole REs
        lo, hi = 1.0, 64.0 * n_re
        while hi - lo > 0.5:
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if link.resource_elements(mid) < n_re else (lo, mid)
        return hi

    one, half, two = (link.uplink_hidden(t, elements_for(f * R), p) for f in (1.0, 1.5, 2.0))
    assert one.slots[0] == 1 and half.slots[0] == 2 and two.slots[0] == 2
    d1, d_half, d2 = (float(x.distortion[0]) for x in (one, half, two))
    frac = (float(half.units[0]) - R) / R
    assert frac == pytest.approx(0.5, abs=1e-3)
    assert d_half == pytest.approx(d1 + frac * (d2 - d1), rel=1e-9)
