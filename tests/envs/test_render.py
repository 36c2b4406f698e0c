"""rgb_array frames: the right shape, a new picture after every step, no state shared between envs."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np


def _env(seed: int) -> gym.Env:  # type: ignore[type-arg]
    env = gym.make("splitgym/FadingSplit-v0", render_mode="rgb_array")
    env.reset(seed=seed)
    return env


def test_frames_follow_the_episode() -> None:
    env = _env(0)
    first = env.render()
    assert isinstance(first, np.ndarray) and first.dtype == np.uint8 and first.shape == (360, 900, 3)
    frames = [first]
    for action in (3, 9, 0):
        env.step(action)
        frames.append(env.render())
    for before, after in itertools.pairwise(frames):
        assert (before != after).any(axis=2).sum() > 100  # the split, the trace and the terms moved
    env.close()


def test_a_cached_figure_does_not_mix_environments() -> None:
    a, b = _env(1), _env(2)
    a.step(2)
    b.step(11)
    frame_a = a.render()
    frame_b = b.render()
    assert (frame_a != frame_b).any()
    np.testing.assert_array_equal(a.render(), frame_a)  # b's frame in between left nothing behind
    a.close()
    b.close()
