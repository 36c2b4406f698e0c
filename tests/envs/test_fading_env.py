"""The fading split-inference environments: checkers, seeding, physics, masks, reward terms, bad input."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import splitgym
from splitgym.envs.fading.config import SCENARIOS, scenario_config
from splitgym.envs.fading.costs import RequestCosts
from splitgym.envs.fading.env import FadingSplitEnv
from splitgym.envs.fading.world import TERMS, FadingWorld
from splitgym.errors import ConfigError, SplitGymError
from splitgym.profiles.profile import load_bundled
from splitgym.profiles.timing.catalogue import get_architecture

IDS = [i for i in splitgym.env_ids() if "FadingSplit" in i and i.endswith("-v0")]


def test_every_scenario_is_registered_with_a_vector_entry_point() -> None:
    assert {f"splitgym/FadingSplit-{s}-v0" for s in SCENARIOS} | {"splitgym/FadingSplit-v0"} == set(IDS)
    for env_id in IDS:
        assert gym.spec(env_id).vector_entry_point == "splitgym.envs.fading.vector:FadingSplitVectorEnv"


@pytest.mark.parametrize("env_id", IDS)
def test_checkers_pass_with_warnings_as_errors(env_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # v0 has a v1 successor, so Gymnasium says v0 is out of date: that warning is meant for users.
        warnings.filterwarnings("ignore", message=".*is out of date", category=DeprecationWarning)
        env = gym.make(env_id)
        gym_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)
        env.reset(seed=0)
        for _ in range(5):  # the passive checker's warnings (e.g. shared info objects) are errors too
            env.step(env.action_space.sample())
        env.close()


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_render_modes(mode: str) -> None:
    env = gym.make("splitgym/FadingSplit-v0", render_mode=mode)
    env.reset(seed=0)
    env.step(3)
    frame = env.render()
    if mode == "ansi":
        assert isinstance(frame, str) and "SNR" in frame and "split 3/12" in frame and "\n" not in frame
    else:
        assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.shape == (360, 900, 3)
        assert frame.std() > 10  # something was drawn


def rollout(env_id: str, seed: int, steps: int = 150, **kwargs: Any) -> list[Any]:
    env = gym.make(env_id, max_steps=40, **kwargs)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    trace: list[Any] = [obs.tolist()]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace.append((obs.tolist(), reward, info["split"], info["snr_db"], info["latency_s"]))
        if terminated or truncated:
            obs, _ = env.reset()
            trace.append(obs.tolist())
    return trace


@pytest.mark.parametrize("env_id", ["splitgym/FadingSplit-v0", "splitgym/FadingSplit-Llama7B-v0"])
def test_same_seed_same_trajectory_different_seed_differs(env_id: str) -> None:
    assert rollout(env_id, 7) == rollout(env_id, 7)
    assert rollout(env_id, 7) != rollout(env_id, 8)


def test_long_episodes_continue_the_process_across_blocks() -> None:
    """Past the first simulated block (256 requests) the channel continues, it does not restart."""
    env = FadingSplitEnv(max_steps=700, speed_kmh=0.0, distance_m=(100.0, 100.0), snr_estimate_std_db=0.0)
    env.reset(seed=1)
    snr = []
    for _ in range(700):
        _, _, _, truncated, info = env.step(1)
        snr.append(info["snr_db"])
        assert info["distance_m"] == 100.0
    assert truncated
    # A static device keeps its shadowing and LOS state: the spread over the episode is fading alone.
    assert np.std(snr[:250]) == pytest.approx(np.std(snr[300:]), rel=0.25)


def test_step_reward_equals_the_exhaustive_evaluation_and_terms_sum_to_it() -> None:
    env = FadingSplitEnv()
    env.reset(seed=3)
    for t in range(300):
        table = env.split_rewards()
        k = t % (env.num_layers + 1)
        _, reward, _, truncated, info = env.step(k)
        assert reward == pytest.approx(table[k])
        assert reward == pytest.approx(sum(info[name] for name in TERMS))
        for name in ("w_quality", "w_load", "w_energy", "w_latency", "w_invalid"):
            assert name in info
        if truncated:
            env.reset()


def sample_requests(distance: float, n: int = 4000, **kwargs: Any) -> tuple[Any, Any]:
    """Requests at a fixed distance (static device), evaluated for every split."""
    config = scenario_config(
        "Pedestrian", distance_m=(distance, distance), speed_kmh=0.0, prompt_tokens=(64, 64),
        device_load=(0.2, 0.0), edge_load=(0.5, 0.0), **kwargs,
    )  # fmt: skip
    world = FadingWorld(config)
    _, sample = world.process.init(np.random.default_rng(0), n)
    rows = world.row(sample.prompt)[:, None]
    splits = np.arange(world.num_layers + 1)[None, :]
    col = (slice(None), None)
    out = world.evaluate(rows, sample.snr_db[col], sample.device_load[col], sample.edge_load[col], splits)
    return sample, out


def test_moving_away_lowers_snr_and_rate_and_raises_uplink_time() -> None:
    stats = []
    for distance in (30.0, 80.0, 150.0, 250.0):
        sample, out = sample_requests(distance)
        stats.append((np.mean(sample.snr_db), np.mean(out.rate_bps[:, 0]), np.median(out.uplink_s[:, 1])))
    snr, rate, uplink = np.array(stats).T
    assert np.all(np.diff(snr) < 0), snr
    assert np.all(np.diff(rate) < 0), rate
    assert np.all(np.diff(uplink) > 0), uplink


def test_best_split_moves_onto_the_device_as_the_channel_worsens() -> None:
    """Reference model: near the base station the best split keeps one layer on the device; far away,
    where the hidden state would arrive corrupted or not at all, it runs (nearly) everything locally."""
    best = {}
    for distance in (30.0, 250.0):
        _, out = sample_requests(distance)
        best[distance] = np.argmax(np.where(np.arange(13) >= 1, out.reward, -np.inf), axis=1)
    assert np.mean(best[30.0] == 1) > 0.8
    assert np.mean(best[250.0]) > np.mean(best[30.0]) + 3.0
    sample, out = sample_requests(120.0, n=6000)
    best_split = np.argmax(np.where(np.arange(13) >= 1, out.reward, -np.inf), axis=1)
    low, high = (
        sample.snr_db < np.percentile(sample.snr_db, 25),
        sample.snr_db > np.percentile(sample.snr_db, 75),
    )
    assert best_split[low].mean() > best_split[high].mean()


def test_request_costs_follow_the_timing_profiles() -> None:
    costs = RequestCosts.build("reference", "phone-sd8gen3", "a100-80gb", (32, 128), 4)
    dev = load_bundled("timing/scaled/phone-sd8gen3/scaled_reference_phone-sd8gen3_float16").table
    arch = get_architecture("reference")

    def ms(component: str, phase: str, tokens: float) -> float:
        rows = dev[(dev.component == component) & (dev.phase == phase)].sort_values("tokens")
        return float(np.interp(tokens, rows.tokens, rows.median_ms))

    s = 128
    decode = [s + i for i in range(1, 4)]
    expected_l = ms("embed", "prefill", s) + 12 * ms("layer", "prefill", s) + ms("head", "prefill", s)
    expected_l += sum(
        ms("embed", "decode", c) + 12 * ms("layer", "decode", c) + ms("head", "decode", c) for c in decode
    )
    row = costs.row(s)
    assert costs.device_ms[row, 12] == pytest.approx(expected_l)
    assert costs.device_ms[row, 0] == 0.0 and costs.edge_ms[row, 12] == 0.0
    assert np.all(np.diff(costs.device_ms[row]) > 0) and np.all(np.diff(costs.edge_ms[row]) < 0)
    assert costs.uplink_bits[row, 0] == 32 * s  # token ids
    assert costs.uplink_bits[row, 5] == 8 * 2 * arch.hidden * (s + 3)  # fp16 hidden states, S + G - 1 tokens
    assert costs.uplink_bits[row, 12] == 0
    assert list(costs.transmissions[[0, 5, 12]]) == [1, 4, 0]


def test_memory_masks_splits_the_device_cannot_hold() -> None:
    env = gym.make("splitgym/FadingSplit-Llama7B-v0")
    _, info = env.reset(seed=0)
    world = env.unwrapped.world  # type: ignore[attr-defined]
    mask = info["action_mask"]
    assert mask.dtype == bool and mask.shape == (33,)
    assert not mask[0]  # min_split 1: the raw prompt stays on the device
    assert not mask[32]  # 13 GB of float16 weights do not fit in 4 GiB of an 8 GB Orin Nano
    feasible = np.flatnonzero(mask)
    need = world.costs.memory_bytes[world.row(env.unwrapped.request().prompt)]  # type: ignore[attr-defined]
    assert np.all(need[feasible] <= world.memory_budget_bytes)
    assert need[feasible[-1] + 1] > world.memory_budget_bytes or feasible[-1] == 10  # memory or table end
    np.testing.assert_array_equal(mask, env.unwrapped.action_masks())  # type: ignore[attr-defined]
    # An infeasible action runs the nearest feasible split and costs w_invalid.
    *_, info = env.step(32)
    assert info["invalid"] and info["split"] == feasible[-1] and info["requested_split"] == 32
    assert info["r_invalid"] == -info["w_invalid"] == -1.0


def test_device_only_split_is_feasible_for_the_reference_model_and_clean() -> None:
    _, out = sample_requests(250.0)
    assert np.all(out.quality[:, 12] == 0.0) and np.all(out.uplink_s[:, 12] == 0.0)
    assert np.all(out.load[:, 12] == pytest.approx(1.0))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scenario": "Pedestrain"}, "did you mean 'Pedestrian'"),
        ({"device": "iphone"}, "device must be one of"),
        ({"edge": "h200"}, "edge must be one of"),
        ({"model": "gpt-5"}, "model must be one of"),
        ({"operator": "bitflip_fp32"}, "allowed: ['fading'"),
        ({"deadline_s": 0.0}, "deadline_s must be > 0"),
        ({"speed_kmh": -3.0}, "speed_kmh must be >= 0"),
        ({"bandwidth_hz": -20e6}, "bandwidth_hz must be > 0"),
        ({"w_quality": 0, "w_load": 0, "w_energy": 0, "w_latency": 0}, "are all zero"),
        ({"prompt_tokens": (128, 32)}, "prompt_tokens must satisfy"),
        ({"memory_fraction": 1.5}, "memory_fraction must be > 0.0 and <= 1.0"),
        ({"snr_estimat_std_db": 1.0}, "did you mean 'snr_estimate_std_db'"),
        ({"quality_profile": "accuracy/reference_fadin"}, "did you mean 'accuracy/reference_fading'"),
        ({"model": "llama2-7b"}, "operator 'fading' has no accuracy profile for model 'llama2-7b'"),
    ],
)
def test_bad_input_names_the_parameter_and_the_allowed_values(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(SplitGymError) as err:
        gym.make("splitgym/FadingSplit-v0", **overrides)
    assert message in str(err.value), str(err.value)


def test_a_model_that_does_not_fit_even_one_layer_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no split is feasible"):
        FadingSplitEnv("Llama7B", device="raspberry-pi-5", memory_fraction=0.05)
