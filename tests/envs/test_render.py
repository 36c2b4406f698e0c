"""ansi frames of the v1 fading env: a line per step that follows the episode, no state shared between
envs, and a warning without a render mode."""

from __future__ import annotations

import gymnasium as gym
import pytest


def _env(seed: int, render_mode: str | None = "ansi") -> gym.Env:  # type: ignore[type-arg]
    env = gym.make("splitgym/FadingSplit-v1", render_mode=render_mode)
    env.reset(seed=seed)
    return env


def test_frames_follow_the_episode() -> None:
    env = _env(0)
    assert env.render() == "FadingSplit-v1: no step yet"
    for step, action in enumerate((3, 9, 24), start=1):
        _, reward, _, _, info = env.step(action)
        frame = env.render()
        assert isinstance(frame, str)
        assert frame.startswith(f"step {step}: split {action}/24 SNR {info['snr_db']:.1f} dB")
        assert f"TTFT {1e3 * info['ttft_s']:.0f} ms" in frame and f"reward {reward:.3f}" in frame
    env.close()


def test_a_frame_does_not_mix_environments() -> None:
    a, b = _env(1), _env(2)
    a.step(2)
    b.step(11)
    frame_a = a.render()
    assert frame_a != b.render() and "split 2/24" in str(frame_a)
    assert a.render() == frame_a  # b's frame in between left nothing behind
    a.close()
    b.close()


def test_render_modes_are_checked() -> None:
    with pytest.raises(gym.error.Error, match="render_mode must be one of"):
        gym.make("splitgym/FadingSplit-v1", render_mode="rgb_array")
    env = _env(0, None)
    with pytest.warns(UserWarning, match="without a render_mode"):
        assert env.render() is None
