"""Property-based: random valid configurations and actions keep observations in the space, rewards finite."""

from __future__ import annotations

import math

import gymnasium as gym
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import splitgym


@st.composite
def configs(draw: st.DrawFn) -> dict[str, object]:
    max_imp = draw(st.floats(0.01, 0.3))
    lo = draw(st.floats(0.0, max_imp))
    hi = draw(st.floats(lo, max_imp))
    min_split = draw(st.integers(1, 9))
    max_split = draw(st.integers(min_split + 1, 10))
    s_lo = draw(st.integers(min_split, max_split))
    s_hi = draw(st.integers(s_lo, max_split))
    w_inf = draw(st.floats(0.0, 100.0))
    w_load = draw(st.floats(0.0 if w_inf > 0 else 0.1, 100.0))
    return {
        "w_inf": w_inf,
        "w_load": w_load,
        "min_split": min_split,
        "max_split": max_split,
        "max_impairment": max_imp,
        "reset_impairment": (lo, hi),
        "reset_split": (s_lo, s_hi),
        "horizon": draw(st.integers(1, 8)),
        "observation": draw(st.sampled_from(["normalized", "paper"])),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    env_id=st.sampled_from([i for i in splitgym.env_ids() if "PaperSplit" in i]),
    config=configs(),
    seed=st.integers(0, 2**31),
    data=st.data(),
)
def test_random_configs_and_actions_stay_in_bounds(
    env_id: str, config: dict[str, object], seed: int, data: st.DataObject
) -> None:
    env = gym.make(env_id, **config)
    obs, _ = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    n = env.action_space.n  # type: ignore[attr-defined]
    for _ in range(12):
        obs, reward, terminated, truncated, info = env.step(data.draw(st.integers(0, n - 1)))
        assert env.observation_space.contains(obs)
        assert math.isfinite(float(reward))
        assert float(reward) == __import__("pytest").approx(info["r_quality"] + info["r_load"])
        assert config["min_split"] <= info["split"] <= config["max_split"]  # type: ignore[operator]
        if terminated or truncated:
            obs, _ = env.reset()
