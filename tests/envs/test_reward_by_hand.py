"""Every reward term of the v1 world against a hand computation on fixed inputs.

Device-only requests (k = L) have no radio, so their timeline is the device's compute alone: TTFT is the
prefill, each later token one decode step, and the modem idles in C-DRX throughout. That gives closed
forms for every term, computed here from the timing profile's per-layer sums and the powers, not from
the world's tables: a wrong sum, a dropped deadline, a swapped weight or a mis-signed term fails.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from splitgym.envs.split.channel import Request
from splitgym.envs.split.config import scenario_config
from splitgym.envs.split.world import SplitWorld, world_for
from splitgym.envs.state.radio import RadioParams

QUIET = dict(
    fading=False, prompt_tokens=(64, 64), prompt_levels=1, dl_bler=0.0, device_load=(0.0, 0.0),
    edge_load=(0.0, 0.0), pool_size=2, horizon_s=60.0,
)  # fmt: skip
WEIGHTS = dict(w_quality=2.0, w_latency=3.0, w_energy=0.5, w_load=0.7, w_invalid=0.25)


def world(**overrides: Any) -> SplitWorld:
    return world_for(scenario_config("Reference", **{**QUIET, **WEIGHTS, **overrides}))


def request(snr_db: float = 35.0, device_load: float = 0.0) -> Request:
    one = np.ones(1)
    return Request(
        distance_m=one * 50, los=np.array([False]), path_loss_db=one * 90, tx_power_dbm=one * 23,
        snr_db=one * snr_db, snr_est_db=one * snr_db, prompt_level=np.array([0]),
        fading_r=np.array([0]), device_load=one * device_load, edge_load=one * 0,
    )  # fmt: skip


def device_only_by_hand(w: SplitWorld, device_load: float = 0.0) -> dict[str, float]:
    """TTFT, TBT, total (s) and SoC/modem energy (J) of a device-only request, by hand."""
    L, G = w.num_layers, w.config.new_tokens
    a = 1.0 / (1.0 - device_load)  # the load stretches the device's compute
    prefill = float(w.comp.dev_prefill_s[0, L]) * a
    decode = float(w.comp.dev_decode_s[0, L, : G - 1].sum()) * a
    total = prefill + decode
    e = w.energy
    cdrx = RadioParams().cdrx_w
    return {
        "ttft": prefill,
        "tbt": decode / (G - 1),
        "total": total,
        "soc": e.prefill_w * prefill + e.decode_w * decode,
        "modem": cdrx * total,
    }


def test_device_only_timeline_and_energy_by_hand() -> None:
    w = world()
    L = w.num_layers
    hand = device_only_by_hand(w)
    out = w.evaluate(request(), np.array([L]))
    assert out.ttft_s[0] == pytest.approx(hand["ttft"], rel=1e-9)
    assert out.tbt_s[0] == pytest.approx(hand["tbt"], rel=1e-9)
    assert out.latency_s[0] == pytest.approx(hand["total"], rel=1e-9)
    assert out.energy_modem_j[0] == pytest.approx(hand["modem"], rel=1e-9)
    assert out.energy_j[0] == pytest.approx(hand["soc"] + hand["modem"], rel=1e-9)
    assert out.tx_slots[0] == 0 and not out.outage[0]


def test_device_only_energy_and_load_terms_by_hand() -> None:
    """At no load the device-only request is the energy reference itself: normalised energy 1/2, load 1."""
    w = world()
    out = w.evaluate(request(), np.array([w.num_layers]))
    assert out.energy_norm[0] == pytest.approx(0.5, rel=1e-9)
    assert out.r_energy[0] == pytest.approx(-0.5 * 0.5, rel=1e-9)
    assert out.load[0] == pytest.approx(1.0)
    assert out.r_load[0] == pytest.approx(-0.7)
    # A loaded device stretches compute by 1/(1 - load); the load term is the split's share, unchanged.
    loaded = w.evaluate(request(device_load=0.5), np.array([w.num_layers]))
    hand = device_only_by_hand(w, device_load=0.5)
    assert loaded.latency_s[0] == pytest.approx(hand["total"], rel=1e-9)
    assert loaded.energy_j[0] == pytest.approx(hand["soc"] + hand["modem"], rel=1e-9)
    assert loaded.energy_norm[0] == pytest.approx(1.0)  # twice the reference, capped at 1
    assert loaded.load[0] == pytest.approx(1.0)


def test_configured_device_powers_replace_the_defaults() -> None:
    w = world(device_prefill_w=3.0, device_decode_w=2.0, device_idle_w=0.5)
    assert (w.energy.prefill_w, w.energy.decode_w, w.energy.idle_w) == (3.0, 2.0, 0.5)
    hand = device_only_by_hand(w)
    out = w.evaluate(request(), np.array([w.num_layers]))
    prefill, decode = hand["ttft"], hand["total"] - hand["ttft"]
    assert out.energy_j[0] == pytest.approx(3.0 * prefill + 2.0 * decode + hand["modem"], rel=1e-9)


def test_lateness_is_the_worst_deadline_overrun_divided_by_its_deadline() -> None:
    base = world()
    hand = device_only_by_hand(base)
    # Each deadline in turn set so that its overrun is a known fraction; the others loose.
    loose = dict(ttft_deadline_s=1e3, tbt_deadline_s=1e2, deadline_s=1e4)
    cases = [
        (dict(loose, ttft_deadline_s=hand["ttft"] / 1.25), 0.25),
        (dict(loose, tbt_deadline_s=hand["tbt"] / 1.4), 0.4),
        (dict(loose, deadline_s=hand["total"] / 1.6), 0.6),
        (dict(loose, deadline_s=hand["total"] / 3.0), 1.0),  # capped at 1
        (loose, 0.0),  # on time: no negative lateness
    ]
    for overrides, lateness in cases:
        w = world(**overrides)
        out = w.evaluate(request(), np.array([w.num_layers]))
        assert out.lateness[0] == pytest.approx(lateness, abs=1e-9), overrides
        assert out.r_latency[0] == pytest.approx(-3.0 * lateness, abs=1e-9), overrides


def test_quality_term_is_the_weighted_score_and_zero_in_outage() -> None:
    w = world()
    L = w.num_layers
    out = w.evaluate(request(), np.array([L]))
    clean = float(w.quality.score[L])
    assert 0.0 < clean <= 1.0
    assert out.quality_score[0] == pytest.approx(clean)
    assert out.r_quality[0] == pytest.approx(2.0 * clean)
    # An offloaded request over a dead link: outage, no answer, fully late, the horizon as its latency.
    k = int(w.runnable[w.runnable < L][-1])
    dead = w.evaluate(request(snr_db=-30.0), np.array([k]))
    assert dead.outage[0]
    assert dead.quality_score[0] == 0.0 and dead.r_quality[0] == 0.0
    assert dead.lateness[0] == 1.0 and dead.r_latency[0] == pytest.approx(-3.0)
    assert dead.latency_s[0] == dead.ttft_s[0] == 60.0


def test_reward_is_the_sum_of_independently_checked_terms() -> None:
    w = world(deadline_s=device_only_by_hand(world())["total"] / 1.5, ttft_deadline_s=1e3, tbt_deadline_s=1e2)
    out = w.evaluate(request(), np.array([w.num_layers]), invalid=np.array([True]))
    hand = 2.0 * float(w.quality.score[w.num_layers]) - 3.0 * 0.5 - 0.5 * 0.5 - 0.7 * 1.0 - 0.25
    assert out.reward[0] == pytest.approx(hand, rel=1e-9)
    assert out.r_invalid[0] == -0.25


def test_single_env_charges_an_infeasible_split_and_runs_the_nearest_feasible() -> None:
    import gymnasium as gym

    env = gym.make("splitgym/FadingSplit-Reference-Stateless-v1", w_invalid=0.25).unwrapped
    env.reset(seed=0)
    mask = env.action_masks()
    bad = np.flatnonzero(~mask)
    assert bad.size, "the Reference scenario has an infeasible split (min_split)"
    _, reward, _, _, info = env.step(int(bad[0]))
    assert info["r_invalid"] == -0.25
    assert mask[info["split"]] and info["split"] != bad[0]
    terms = ("r_quality", "r_latency", "r_energy", "r_load", "r_invalid")
    assert reward == pytest.approx(sum(info[t] for t in terms))
