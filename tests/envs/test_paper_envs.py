"""The paper environments reproduce the release's dynamics and rewards, with its bugs fixed."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from splitgym.envs.paper import MOVE_TABLE, PaperSplitDirectEnv, PaperSplitEnv
from splitgym.errors import ConfigError, SplitGymError
from splitgym.profiles import CountingQualityModel, TableQualityModel


def place(env: PaperSplitEnv | PaperSplitDirectEnv, impairment: float, split: int) -> None:
    env.reset(seed=0)
    env.impairment, env.split = impairment, split
    if isinstance(env, PaperSplitDirectEnv):
        q = env.quality_model.quality(split, impairment)
        env._quality_start = env._quality_now = q


def test_move_table_pattern_and_typo_fix() -> None:
    moves = [m for m, _ in MOVE_TABLE]
    assert moves == [0, -1, 1, -2, 2, -3, 3, -4, 4]
    for move, factor in MOVE_TABLE:
        assert factor == pytest.approx(1 - 0.0005 * move)  # the release's +3 (0.9995) is corrected
    assert dict(MOVE_TABLE)[3] == 0.9985


@pytest.mark.parametrize(
    ("split", "action", "expected_split", "expected_factor"),
    [
        (5, 0, 5, 1.0),
        (5, 2, 6, 0.9995),
        (5, 7, 1, 1.002),
        (8, 8, 10, 0.999),  # +4 overshoots 10: remapped to +2 with +2's factor
        (2, 5, 1, 1.0005),  # -3 overshoots 1: remapped to -1
        (10, 2, 10, 1.0),  # cannot go deeper: stays
        (1, 1, 1, 1.0),
    ],
)
def test_relative_moves_clamp_like_the_release(
    split: int, action: int, expected_split: int, expected_factor: float
) -> None:
    env = PaperSplitEnv()
    place(env, 0.2, split)
    _, _, _, _, info = env.step(action)
    assert info["split"] == expected_split
    assert info["impairment"] == pytest.approx(0.2 * expected_factor)


def test_reward_is_the_papers_formula_on_the_post_action_state() -> None:
    env = PaperSplitEnv()
    table = TableQualityModel()
    place(env, 0.153, 4)
    _, reward, terminated, truncated, info = env.step(4)  # +2 layers
    q = table.quality(6, 0.153 * 0.999)
    assert reward == pytest.approx(10 * q + 1 * (10 - 6) / 10)
    assert reward == pytest.approx(info["r_quality"] + info["r_load"])
    assert (info["w_inf"], info["w_load"], info["quality"]) == (10.0, 1.0, pytest.approx(q))
    assert not terminated and not truncated


def test_episodes_truncate_at_the_horizon() -> None:
    env = gym.make("splitgym/PaperSplit-v0", horizon=3)
    env.reset(seed=1)
    flags = [env.step(0)[3] for _ in range(3)]
    assert flags == [False, False, True]


def test_quality_interpolates_linearly_in_impairment_and_clips() -> None:
    table = TableQualityModel()
    q0, q1 = table.quality(7, 0.12), table.quality(7, 0.13)
    assert table.quality(7, 0.1225) == pytest.approx(0.75 * q0 + 0.25 * q1)
    assert table.quality(7, 0.5) == table.quality(7, 0.30)
    with pytest.raises(ConfigError, match="split 11"):
        table.quality(11, 0.1)


def test_direct_env_staying_first_gives_zero_perplexity_change() -> None:
    """The release reused a stale (or zero) perplexity on a first 'stay'; we must give exactly 0."""
    env = PaperSplitDirectEnv()
    _, info = env.reset(seed=4)
    _, reward, _, _, info = env.step(info["split"] - 1)  # the current split
    assert info["ppl_change"] == 0.0 and info["r_quality"] == 0.0
    assert reward == pytest.approx(info["r_load"])


def test_direct_env_reward_is_relative_perplexity_change() -> None:
    env = PaperSplitDirectEnv()
    place(env, 0.2, 4)
    q0 = env.quality_model.quality(4, 0.2)
    _, reward, _, _, info = env.step(8 - 1)  # split 8: deeper
    q = env.quality_model.quality(8, 0.2 * 0.9995)
    ppl_ratio = (1 - q) / (1 - q0)  # PPL / PPL_0
    assert info["ppl_change"] == pytest.approx(1 - ppl_ratio)
    assert reward == pytest.approx(10.5 * (1 - ppl_ratio) + (10 - 8) / 10)


def test_direct_env_queries_the_quality_model_only_when_the_state_changes() -> None:
    counter = CountingQualityModel(TableQualityModel())
    env = PaperSplitDirectEnv(quality_model=counter)
    _, info = env.reset(seed=0)
    assert counter.calls == 1
    env.step(info["split"] - 1)
    env.step(info["split"] - 1)
    assert counter.calls == 1
    env.step(info["split"] % 10)  # a different split
    assert counter.calls == 2
    assert counter.seconds > 0


def test_observation_modes() -> None:
    norm = PaperSplitEnv()
    raw = PaperSplitEnv(observation="paper")
    o1, i1 = norm.reset(seed=5)
    o2, _ = raw.reset(seed=5)
    assert o2 == pytest.approx([i1["impairment"], i1["split"]])
    assert o1 == pytest.approx([i1["impairment"] / 0.3, (i1["split"] - 1) / 9])
    assert norm.decode_obs(o1) == (pytest.approx(i1["impairment"]), i1["split"])
    assert raw.observation_space.high.tolist() == pytest.approx([0.3, 10.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"w_inff": 1.0}, "unknown parameter 'w_inff' .*did you mean 'w_inf'"),
        ({"w_inf": -1.0}, r"w_inf must be in \[0, 1e\+06\], got -1"),
        ({"w_inf": 0.0, "w_load": 0.0}, "all zero"),
        ({"w_load": float("nan")}, "w_load must be a finite number"),
        ({"reset_impairment": (0.2, 0.1)}, "reset_impairment must satisfy"),
        ({"reset_impairment": (0.1, 0.5)}, "reset_impairment must satisfy"),
        ({"reset_split": (0, 9)}, "reset_split must satisfy"),
        ({"max_split": 12}, r"no values for split\(s\) \[11, 12\]"),
        ({"horizon": 0}, r"horizon must be in \[1,"),
        ({"observation": "raw"}, "observation must be one of"),
        ({"quality_model": "no_such_profile"}, "unknown profile 'no_such_profile'"),
    ],
)
def test_bad_configuration_is_a_clear_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SplitGymError, match=message):
        gym.make("splitgym/PaperSplit-v0", **kwargs)


def test_unknown_render_mode_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"render_mode must be one of \['ansi', 'rgb_array'\], got 'video'"):
        PaperSplitEnv(render_mode="video")


@pytest.mark.parametrize("action", [9, -1, 2.5, "1"])
def test_action_outside_the_space_is_a_clear_error(action: object) -> None:
    env = gym.make("splitgym/PaperSplit-v0", disable_env_checker=True)
    env.reset(seed=0)
    with pytest.raises(ConfigError, match=r"action must be an integer in 0\.\.8, got"):
        env.step(action)


def test_renders() -> None:
    env = gym.make("splitgym/PaperSplit-v0", render_mode="ansi")
    env.reset(seed=0)
    env.step(8)
    text = env.render()
    assert isinstance(text, str) and "split" in text and "impairment" in text
    img_env = gym.make("splitgym/PaperSplit-v0", render_mode="rgb_array")
    img_env.reset(seed=0)
    img = img_env.render()
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (96, 240, 3)
