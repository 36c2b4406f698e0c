"""Literature baselines on the v1 fading environments: Neurosurgeon's cost-model argmin and ANS-style
LinUCB."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from splitgym.agents.baselines import make_baseline
from splitgym.agents.evaluation import evaluate
from splitgym.agents.policies.base import Policy
from splitgym.agents.policies.linucb import LinUCBPolicy, run_online
from splitgym.agents.policies.neurosurgeon import NeurosurgeonPolicy
from splitgym.agents.policies.paper import RandomPolicy
from splitgym.envs.channels.nr import (
    required_sinr_db,
    sinr_db_from_cqi,
    transport_block_size,
)
from splitgym.errors import ConfigError

FADING = ("splitgym/FadingSplit-Vehicular-Stateless-v1", "splitgym/FadingSplit-Llama7B-Stateless-v1")


def _brute_force(
    inner: Any, policy: NeurosurgeonPolicy, cqi: int, objective: str, floor: float | None = None
) -> int:
    """Neurosurgeon's choice by a loop over splits, from the observed request and the world's tables."""
    w, c = inner.world, inner.world.config
    L, G, d = w.num_layers, c.new_tokens, w.comp.arch.hidden
    req = inner.request()
    s = int(req.prompt_level)
    S = float(w.prompts[s])
    a_d, a_e = 1 / (1 - float(req.device_load)), 1 / (1 - float(req.edge_load))
    gamma = float(sinr_db_from_cqi(cqi, c.mcs_table, c.impl_margin_db))  # 51 PRBs: 20 MHz at 30 kHz
    req_db = required_sinr_db(51, c.mcs_table, c.bler_target, impl_margin_db=c.impl_margin_db)
    mcs = max([0] + [m for m in range(req_db.size) if req_db[m] <= gamma])  # at least MCS 0
    n_b = float(transport_block_size(51, mcs, c.mcs_table)) if cqi > 0 else 0.0  # CQI 0: out of range
    link = policy.link
    e = w.energy

    def ul(bits: float) -> tuple[float, float]:  # (seconds, PUSCH slots) of one message
        if n_b == 0:
            return math.inf, math.inf
        n = math.ceil(bits / n_b)
        return link.ul_fixed_s + link.slot_s * (n - 1) / link.ul_fraction, n

    candidates = []
    for k in np.flatnonzero(inner.action_masks()):
        dp = a_d * w.comp.dev_prefill_s[s, k]
        dd = a_d * w.comp.dev_decode_s[s, k].sum()
        t_edge = a_e * w.comp.edge_total_s[s, k]
        if k == L:
            lat = finite = dp + dd
            energy = float(e.soc_j(lat, dp, dd)) + e.radio.cdrx_w * lat
        else:
            if k == 0:
                t_up, n_tx = ul(S * c.token_id_bits + c.header_bits)
                lat, fixed, first = t_up + t_edge + link.dl_s, link.ul_fixed_s + link.dl_s, 0.0
            else:
                t_p, n_p = ul(S * d * c.activation_bits + c.header_bits)
                t_h, n_h = ul(d * c.activation_bits + c.header_bits)
                lat = dp + dd + t_edge + t_p + (G - 1) * t_h + G * link.dl_s
                fixed = G * (link.ul_fixed_s + link.dl_s)
                n_tx, first = n_p + (G - 1) * n_h, dp
            finite = dp + dd + t_edge + fixed
            if math.isfinite(lat):
                energy = float(e.soc_j(lat, dp, dd)) + float(
                    e.modem_j(lat, first, n_tx, G, float(req.tx_power_dbm), np.asarray(True))
                )
            else:
                energy = math.inf
        score = 0.0 if (k < L and n_b == 0) else float(w.quality.score[k])
        candidates.append((int(k), lat, energy, score, finite))
    if floor is not None:
        ok = [x for x in candidates if x[3] >= floor]
        top = max(x[3] for x in candidates)
        candidates = ok or [x for x in candidates if x[3] == top]
    keys = [(lat, en, k) if objective == "latency" else (en, lat, k) for k, lat, en, _, _ in candidates]
    if not any(np.isfinite(key[0]) for key in keys):  # all in predicted outage: compute and link decide
        keys = [(finite, en, k) for k, _, en, _, finite in candidates]
    return min(keys)[2]


def _steps(env: gym.Env[Any, Any], n: int, seed: int) -> Iterator[Any]:
    """Yield the observation of ``n`` requests of one episode (random feasible actions in between)."""
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    inner: Any = env.unwrapped
    for _ in range(n):
        yield obs
        obs, *_ = env.step(rng.choice(np.flatnonzero(inner.action_masks())))


def test_the_link_estimate_follows_the_tdd_timing() -> None:
    inner: Any = gym.make("splitgym/FadingSplit-Pedestrian-Stateless-v1").unwrapped
    link = NeurosurgeonPolicy(inner).link
    # DDDSU at 0.5 ms slots, SR every 10 slots: mean SR wait 2.5 ms; SR in UL slot 4, grant in DL slot 6,
    # PUSCH in UL slot 9 (K2 = 2): 2.5 ms; the TB's slot 0.5 ms; 10 % x the 2.5 ms HARQ round trip;
    # gNB decode 0.1 ms and backhaul 0.5 ms.
    assert link.ul_fixed_s == pytest.approx(2.5e-3 + 2.5e-3 + 0.5e-3 + 0.25e-3 + 0.1e-3 + 0.5e-3, rel=1e-12)
    assert link.ul_fraction == pytest.approx(0.2)
    assert link.slot_bits(0) == 0.0 and link.slot_bits(15) > link.slot_bits(7) > link.slot_bits(1) > 0
    assert link.cqi_of_snr(40.0) == 15 and link.cqi_of_snr(-40.0) == 0


@pytest.mark.parametrize("name", FADING)
@pytest.mark.parametrize("objective", ["latency", "energy"])
def test_neurosurgeon_is_the_argmin_of_its_prediction(name: str, objective: str) -> None:
    env = gym.make(name)
    inner: Any = env.unwrapped
    policy = NeurosurgeonPolicy(env, objective=objective)
    chosen = set()
    L = inner.num_layers
    for obs in _steps(env, 60, seed=3):
        k = int(policy.predict(obs)[0])
        chosen.add(k)
        cqi = round(15 * float(obs[1]))
        assert k == _brute_force(inner, policy, cqi, objective)
        pred = policy.current_prediction(obs)
        assert pred.cqi == cqi
        # Device-only uses no radio: its prediction is the world's exact outcome.
        exact = inner.world.evaluate(inner.request(), np.asarray(L))
        assert pred.latency_s[L] == pytest.approx(float(exact.latency_s), rel=1e-9)
        assert pred.energy_j[L] == pytest.approx(float(exact.energy_j), rel=1e-9)
    # Every mid split sends the same hidden state and the device is slower than the edge, so only the
    # shallowest feasible split and device-only are ever worth it (measured: both, on 60 requests).
    assert chosen and chosen <= {1, L}, chosen


def test_neurosurgeon_predicts_the_realised_latency_and_energy() -> None:
    env = gym.make("splitgym/FadingSplit-Pedestrian-Stateless-v1")
    inner: Any = env.unwrapped
    policy = NeurosurgeonPolicy(env)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(300):
        pred = policy.current_prediction(obs)
        k = int(rng.integers(1, inner.num_layers))
        obs, _, _, _, info = env.step(k)
        if not info["outage"] and np.isfinite(pred.latency_s[k]):
            ratios.append((pred.latency_s[k] / info["latency_s"], pred.energy_j[k] / info["energy_j"]))
    lat, energy = np.median(np.asarray(ratios), axis=0)
    # Measured 0.993 and 0.994 (mid splits, 280 requests): an estimate, right on the median.
    assert 0.9 < lat < 1.1 and 0.9 < energy < 1.1, (lat, energy)


def test_neurosurgeon_never_reads_the_true_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    env = gym.make("splitgym/FadingSplit-Pedestrian-Stateless-v1")
    inner: Any = env.unwrapped
    policies = [NeurosurgeonPolicy(env, obj, floor) for obj in ("latency", "energy") for floor in (None, 0.9)]
    honest = [[int(p.predict(obs)[0]) for p in policies] for obs in _steps(env, 40, seed=7)]
    original = inner.request

    def lying(**fields: Any) -> Any:
        return lambda: dataclasses.replace(original(), **fields)

    nonsense = {"snr_db": np.asarray(1e9), "distance_m": np.asarray(np.nan), "los": np.asarray(True),
                "path_loss_db": np.asarray(-1e9), "fading_r": np.asarray(10**9)}  # fmt: skip
    for t, obs in enumerate(_steps(env, 40, seed=7)):
        with monkeypatch.context() as m:  # the true channel, the fading pool and the link traces
            m.setattr(inner, "request", lying(**nonsense))
            for name in ("link", "t_ttft", "t_total", "t_tx", "t_cqi", "_lane_rows", "_lane"):
                m.setattr(inner.world, name, None)
            m.setattr(inner, "split_rewards", None)
            assert [int(p.predict(obs)[0]) for p in policies] == honest[t]
    # It does read the device's CQI report: CQI 0 leaves only device-only (nothing to send).
    obs, _ = env.reset(seed=7)
    obs = obs.copy()
    obs[1] = 0.0
    assert int(policies[0].predict(obs)[0]) == inner.num_layers
    assert policies[0].current_prediction(obs).rate_bps == 0.0
    assert policies[0].observed_cqi({"observation": obs, "action_mask": np.ones(25)}) == 0  # dict mode
    # Without an observation it uses the CQI of the large-scale SNR estimate.
    monkeypatch.setattr(inner, "request", lying(snr_est_db=np.asarray(-40.0), snr_db=np.asarray(40.0)))
    assert int(policies[0].predict(None)[0]) == inner.num_layers
    monkeypatch.setattr(inner, "request", lying(snr_est_db=np.asarray(40.0), snr_db=np.asarray(-40.0)))
    assert policies[0].current_prediction(None).cqi == 15


def test_neurosurgeon_respects_masks_and_the_quality_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    env = gym.make(
        "splitgym/FadingSplit-Reference-Stateless-v1", activation="int4"
    )  # scores below 1 mid-model
    inner: Any = env.unwrapped
    L = inner.num_layers
    rng = np.random.default_rng(0)
    latency = NeurosurgeonPolicy(env, "latency")
    floored = NeurosurgeonPolicy(env, "latency", quality_floor=0.999)
    perfect = NeurosurgeonPolicy(env, "latency", quality_floor=1.0)
    original = inner.action_masks
    for obs in _steps(env, 40, seed=11):
        mask = original() & (rng.random(L + 1) < 0.5)
        if not mask.any():
            mask = original()
        monkeypatch.setattr(inner, "action_masks", lambda m=mask: m.copy())
        assert mask[int(latency.predict(obs)[0])]
        score = latency.current_prediction(obs).score
        cqi = round(15 * float(obs[1]))
        k = int(floored.predict(obs)[0])
        assert mask[k] and k == _brute_force(inner, floored, cqi, "latency", floor=0.999)
        assert score[k] >= 0.999 or score[k] == score[mask].max()
        # Only device-only reaches 1.0 (int4 activations cost quality at every mid split).
        k = int(perfect.predict(obs)[0])
        assert k == L if mask[L] else score[k] == score[mask].max()
        monkeypatch.undo()


def test_linucb_updates_follow_the_formulas() -> None:
    env = gym.make("splitgym/FadingSplit-Pedestrian-Stateless-v1")
    policy = LinUCBPolicy(env, alpha=0.7, features=("bias", "snr_est", "prompt"), ridge=2.0)
    assert policy.dim == 3
    x1, x2 = np.array([1.0, 0.5, 0.25]), np.array([1.0, 0.1, 0.9])
    policy.update(4, 1.0, context=x1)
    policy.update(4, -0.5, context=x2)
    policy.update(7, 0.3, context=x2)
    A4 = 2.0 * np.eye(3) + np.outer(x1, x1) + np.outer(x2, x2)
    b4 = 1.0 * x1 - 0.5 * x2
    np.testing.assert_allclose(policy.A[4], A4)
    np.testing.assert_allclose(policy.b[4], b4)
    np.testing.assert_allclose(policy.theta[4], np.linalg.solve(A4, b4))
    np.testing.assert_allclose(policy.A[7], 2.0 * np.eye(3) + np.outer(x2, x2))
    np.testing.assert_allclose(policy.b[7], 0.3 * x2)
    for a in (0, 1, 12):  # untouched arms
        np.testing.assert_allclose(policy.A[a], 2.0 * np.eye(3))
        np.testing.assert_allclose(policy.b[a], 0.0)
    x = np.array([1.0, 0.3, 0.6])
    ucb = policy.ucb(x)
    expected = np.linalg.solve(A4, b4) @ x + 0.7 * np.sqrt(x @ np.linalg.solve(A4, x))
    assert ucb[4] == pytest.approx(expected, rel=1e-12)
    assert ucb[0] == pytest.approx(0.7 * np.sqrt(x @ x / 2.0), rel=1e-12)
    policy.explore = False
    assert policy.ucb(x)[4] == pytest.approx(np.linalg.solve(A4, b4) @ x, rel=1e-12)
    # predict() keeps the observation's context for the next update(): SNR estimate and prompt length.
    obs, _ = env.reset(seed=0)
    action, _ = policy.predict(obs)
    ctx = np.array([1.0, obs[0], obs[3 + env.unwrapped.config.cqi_history]])  # type: ignore[attr-defined]
    before = policy.A[int(action)].copy()
    policy.update(action, 0.5)
    np.testing.assert_allclose(policy.A[int(action)] - before, np.outer(ctx, ctx), rtol=1e-6)
    with pytest.raises(ConfigError, match="needs a context"):
        policy.update(action, 0.5)
    # The CQI features: the newest report, and every report.
    H = env.unwrapped.config.cqi_history  # type: ignore[attr-defined]
    cqi = LinUCBPolicy(env, features=("cqi", "cqi_history", "ttft", "latency", "prev_split"))
    assert cqi.dim == 1 + H + 3
    np.testing.assert_allclose(cqi.context(obs), np.r_[obs[1], obs[1 : 1 + H], obs[1 + H : 3 + H], obs[-1]])
    np.testing.assert_array_equal(cqi.context({"observation": obs}), cqi.context(obs))  # dict mode


def test_linucb_plays_only_feasible_arms(monkeypatch: pytest.MonkeyPatch) -> None:
    env = gym.make("splitgym/FadingSplit-Llama7B-Stateless-v1")
    inner: Any = env.unwrapped
    policy = LinUCBPolicy(env, seed=1)
    run_online(policy, env, 3, seed=0)
    assert policy.counts.sum() == 300
    assert (policy.counts[~inner.world.feasible.any(axis=0)] == 0).all()  # split 0: below min_split
    assert (policy.counts[inner.world.feasible.all(axis=0)] > 0).all()  # it explores every feasible arm
    mask = np.zeros(inner.num_layers + 1, dtype=bool)
    mask[[2, 5]] = True
    monkeypatch.setattr(inner, "action_masks", lambda: mask.copy())
    obs, _ = env.reset(seed=1)
    for _ in range(30):
        action, _ = policy.predict(obs)
        assert int(action) in (2, 5)
        obs, reward, *_ = env.step(action)
        policy.update(action, float(reward))


def test_linucb_learns_online_and_beats_random() -> None:
    env = gym.make("splitgym/FadingSplit-Pedestrian-Stateless-v1")
    policy = LinUCBPolicy(env, seed=0)
    learned = run_online(policy, env, 40, seed=0)
    assert list(learned.columns) == ["episode", "return", "length", "mean_reward"]
    assert (learned["length"] == 100).all()
    random = run_online(RandomPolicy(env.action_space, seed=0), env, 40, seed=0, learning=False)
    gap = learned["mean_reward"].tail(10).mean() - random["mean_reward"].tail(10).mean()
    # Measured 0.25 per step (0.23..0.25 over seeds 0..3); random's last 10 match evaluate's episodes.
    assert gap > 0.15, gap
    same = evaluate(RandomPolicy(env.action_space, seed=0), env, 10, seed=30)["return"]
    assert abs(same.mean() - random["return"].tail(10).mean()) < 10
    # Frozen: no update, same episodes give the same returns.
    counts = policy.counts.copy()
    frozen = [run_online(policy, env, 2, seed=500, learning=False)["return"].tolist() for _ in range(2)]
    assert frozen[0] == frozen[1] and (policy.counts == counts).all()
    assert evaluate(policy, env, 2, seed=500)["return"].tolist() == frozen[0]


def test_literature_baselines_by_name() -> None:
    env = gym.make("splitgym/FadingSplit-Pedestrian-Stateless-v1")
    names = ("neurosurgeon_latency", "neurosurgeon_energy")
    policies = {n: make_baseline(n, env, "split", seed=3)[0] for n in names}
    policies["linucb"] = LinUCBPolicy(env, seed=3)
    for policy in policies.values():
        assert isinstance(policy, Policy)
        assert len(evaluate(policy, env, 1, seed=0)) == 1
    # Neurosurgeon beats both fixed extremes on the default scenario (measured 91.1 and 92.2 against
    # 85.4 edge-most and 77.5 device-only over 5 episodes).
    returns = {
        n: evaluate(make_baseline(n, env, "split", seed=0)[0], env, 5, seed=100)["return"].mean()
        for n in ("edge_only", "device_only", *names)
    }
    for n in names:
        assert returns[n] > max(returns["edge_only"], returns["device_only"]) + 2, returns


def test_both_run_on_the_stateful_scenario() -> None:
    env = gym.make("splitgym/FadingSplit-Pedestrian-v1", max_steps=20)
    obs, _ = env.reset(seed=0)
    assert obs.size == 11 + 8  # the state's features follow the stateless columns
    neurosurgeon, bandit = NeurosurgeonPolicy(env, "energy"), LinUCBPolicy(env, seed=0)
    assert neurosurgeon.observed_cqi(obs) == round(15 * float(obs[1]))
    np.testing.assert_allclose(bandit.context(obs), [1.0, *obs[[0, 1, 7, 8, 9]]], rtol=1e-6)
    for policy in (neurosurgeon, bandit):
        assert len(evaluate(policy, env, 1, seed=0)) == 1
    assert run_online(bandit, env, 1)["length"].tolist() == [20]


def test_bad_input_is_a_config_error() -> None:
    env = gym.make("splitgym/FadingSplit-Pedestrian-Stateless-v1")
    with pytest.raises(ConfigError, match=r"objective must be one of \['latency', 'energy'\], got 'latnecy'"):
        NeurosurgeonPolicy(env, objective="latnecy")
    with pytest.raises(ConfigError, match="quality_floor"):
        NeurosurgeonPolicy(env, quality_floor=1.5)
    with pytest.raises(ConfigError, match="alpha must be a finite number >= 0, got -1"):
        LinUCBPolicy(env, alpha=-1.0)
    with pytest.raises(ConfigError, match="ridge"):
        LinUCBPolicy(env, ridge=0.0)
    with pytest.raises(ConfigError, match=r"unknown name 'snr'.*allowed"):
        LinUCBPolicy(env, features=("bias", "snr"))
    with pytest.raises(ConfigError, match=r"action must be a split in 0\.\.24"):
        LinUCBPolicy(env).update(25, 0.0, context=np.ones(6))
    with pytest.raises(ConfigError, match=r"observation must have 11 entries"):
        LinUCBPolicy(env).context(np.ones(7))
    with pytest.raises(ConfigError, match="needs a policy with update"):
        run_online(RandomPolicy(env.action_space), env, 1)
    with pytest.raises(ConfigError, match="episodes must be"):
        run_online(LinUCBPolicy(env), env, 0)
    for other in (gym.make("splitgym/PaperSplit-v0"), gym.make("splitgym/CompressedSplit-v1")):
        for make in (NeurosurgeonPolicy, LinUCBPolicy):
            with pytest.raises(ConfigError, match=r"needs a fading split environment .*-v1.*got env"):
                make(other)
