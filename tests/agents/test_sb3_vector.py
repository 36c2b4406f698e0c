"""SB3 on the natively batched vector envs through :class:`splitgym.vector.SB3VecEnv`: SB3's autoreset
semantics for every Gymnasium autoreset mode, per-env infos from the ``_key`` masks, masks for
MaskablePPO, seeding, the monitor records; PPO and MaskablePPO learn; ``splitgym train`` uses it for
``n_envs > 1``; a CleanRL-style loop on ``gym.make_vec``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import splitgym  # noqa: F401  (registers the IDs)
from splitgym.envs.split.vector import FadingSplitV1VectorEnv
from splitgym.errors import ConfigError
from splitgym.vector import SB3EpisodeMonitor, SB3VecEnv, make_sb3_vec_env, split_infos

ID = "splitgym/FadingSplit-Pedestrian-Stateless-v1"


def _episodes(venv: Any, steps: int, actions: Any = None) -> list[tuple[int, dict[str, Any]]]:
    """(step, info) of every ``done`` over ``steps`` steps of constant action 4 (or ``actions(t)``)."""
    venv.reset()
    out = []
    for t in range(steps):
        a = np.full(venv.num_envs, 4) if actions is None else actions(t)
        obs, reward, dones, infos = venv.step(a)
        assert reward.dtype == np.float32 and dones.dtype == np.bool_ and len(infos) == venv.num_envs
        out += [(t, infos[i] | {"obs": _row(obs, i)}) for i in np.flatnonzero(dones)]
    return out


def _row(obs: Any, i: int) -> Any:
    return {k: v[i] for k, v in obs.items()} if isinstance(obs, dict) else obs[i]


def test_native_env_gets_sb3_autoreset_semantics() -> None:
    # The native env autoresets NEXT_STEP (SAME_STEP: the SyncVectorEnv test below).
    native = FadingSplitV1VectorEnv(4, max_steps=5)
    assert native.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    venv = SB3EpisodeMonitor(SB3VecEnv(native))
    ends = _episodes(venv, 12)
    assert [t for t, _ in ends] == [4] * 4 + [9] * 4  # episodes of 5 steps, no reset step seen
    for _, info in ends:
        assert info["TimeLimit.truncated"] is True and info["episode"]["l"] == 5
        assert info["terminal_observation"][-1] == pytest.approx(4 / 24)  # its last step ran split 4
        assert info["obs"][-1] == 0.0  # the returned observation is the next episode's first
        assert info["split"] == 4 and "latency_s" in info  # the step's info, not the reset's


def test_the_v1_vector_env_works_unchanged_through_the_adapter() -> None:
    venv = SB3EpisodeMonitor(make_sb3_vec_env(ID, 3, {"max_steps": 4}, seed=0))
    assert venv.venv.autoreset_mode == AutoresetMode.NEXT_STEP  # type: ignore[attr-defined]
    ends = _episodes(venv, 8)
    assert [t for t, _ in ends] == [3] * 3 + [7] * 3
    assert all(info["episode"]["l"] == 4 and "terminal_observation" in info for _, info in ends)
    masks = venv.env_method("action_masks")
    assert len(masks) == 3 and np.array_equal(np.stack(masks), venv.venv.unwrapped.action_masks())  # type: ignore[attr-defined]


def test_sync_vector_env_in_every_autoreset_mode_matches_dummy_vec_env_semantics() -> None:
    """Episodes of different lengths end at different steps: SAME_STEP and DISABLED are exact; NEXT_STEP
    warns and shows one reset step per episode, which the monitor does not count."""

    def fns() -> list[Any]:
        return [lambda: gym.make(ID, max_steps=2), lambda: gym.make(ID, max_steps=3)]

    for mode in (AutoresetMode.SAME_STEP, AutoresetMode.DISABLED):
        venv = SB3EpisodeMonitor(SB3VecEnv(SyncVectorEnv(fns(), autoreset_mode=mode)))
        ends = _episodes(venv, 6)
        assert sorted((t, info["episode"]["l"]) for t, info in ends) == [
            (1, 2),
            (2, 3),
            (3, 2),
            (5, 2),
            (5, 3),
        ]
        assert all(info["obs"][-1] == 0.0 for _, info in ends)
    venv = SB3EpisodeMonitor(SB3VecEnv(SyncVectorEnv(fns(), autoreset_mode=AutoresetMode.NEXT_STEP)))
    with pytest.warns(UserWarning, match="autoresets NEXT_STEP and only some episodes ended"):
        ends = _episodes(venv, 8)
    assert all(info["episode"]["l"] in (2, 3) for _, info in ends)
    assert [info["episode"]["l"] for _, info in ends if "split" in info][:2] == [2, 3]


def test_per_env_infos_follow_the_masks() -> None:
    info = {"a": np.array([1.0, 2.0, 3.0]), "_a": np.array([True, False, True]),
            "m": np.eye(3, dtype=bool), "_m": np.ones(3, dtype=bool),
            "episode": {"r": np.array([0.0, 5.0, 0.0]), "_r": np.array([False, True, False])},
            "_episode": np.array([False, True, False])}  # fmt: skip
    rows = split_infos(info, 3)
    assert set(rows[0]) == {"a", "m"} and rows[0]["a"] == 1.0 and isinstance(rows[0]["a"], float)
    np.testing.assert_array_equal(rows[0]["m"], [True, False, False])
    assert "a" not in rows[1] and rows[1]["episode"] == {"r": 5.0} and "episode" not in rows[2]
    np.testing.assert_array_equal(rows[2]["m"], [False, False, True])


def test_seeding_reproduces_and_masks_attributes_serve_maskable_ppo() -> None:
    def first(seed: int) -> np.ndarray:
        venv = make_sb3_vec_env(ID, 4, seed=seed)
        obs = venv.reset()
        return np.concatenate([obs, venv.step(np.full(4, 3))[0]])

    np.testing.assert_array_equal(first(5), first(5))
    assert not np.array_equal(first(5), first(6))
    venv = make_sb3_vec_env(ID, 4, {"scenario": "Llama7B"}, seed=0)
    venv.reset()
    masks = venv.action_masks()
    assert masks.shape == (4, 33) and not masks.all() and masks.any(axis=1).all()
    np.testing.assert_array_equal(np.stack(venv.env_method("action_masks", indices=[1, 3])), masks[[1, 3]])
    assert venv.has_attr("action_masks") and not venv.has_attr("no_such_thing")
    assert venv.get_attr("num_layers") == [32] * 4
    with pytest.raises(AttributeError):
        venv.get_attr("no_such_thing")


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="n_envs must be an integer >= 1, got 0"):
        make_sb3_vec_env(ID, 0)
    with pytest.raises(ConfigError, match="has no vector_entry_point"):
        make_sb3_vec_env("splitgym/CompressedSplit-v1", 2)
    with pytest.raises(ConfigError, match=r"wraps a gymnasium\.vector\.VectorEnv"):
        SB3VecEnv(gym.make(ID))  # type: ignore[arg-type]


def test_sb3_ppo_learns_on_the_native_vector_env() -> None:
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    venv = SB3EpisodeMonitor(make_sb3_vec_env(ID, 16, {"max_steps": 16}, seed=0))
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=256, seed=0, device="cpu")
    model.learn(3072)
    assert model.num_timesteps == 3072
    assert len(model.ep_info_buffer) == 100 and {e["l"] for e in model.ep_info_buffer} == {16}


def test_maskable_ppo_learns_on_the_native_vector_env_and_never_picks_a_masked_split() -> None:
    import torch
    from sb3_contrib import MaskablePPO

    torch.set_num_threads(1)
    venv = make_sb3_vec_env(ID, 8, {"scenario": "Llama7B", "max_steps": 16}, seed=0)
    model = MaskablePPO("MlpPolicy", venv, n_steps=128, batch_size=256, seed=0, device="cpu")
    model.learn(2048)
    obs = venv.reset()
    for _ in range(20):
        masks = venv.action_masks()
        actions, _ = model.predict(obs, action_masks=masks)
        assert masks[np.arange(8), actions].all()
        obs, _, _, infos = venv.step(actions)
        assert not any(info.get("invalid") for info in infos)


def test_cleanrl_style_loop_on_make_vec() -> None:
    """CleanRL's PPO loop shape: ``gym.make_vec`` plus RecordEpisodeStatistics, NEXT_STEP autoreset."""
    envs = gym.wrappers.vector.RecordEpisodeStatistics(
        gym.make_vec(ID, num_envs=8, vectorization_mode="vector_entry_point", max_steps=10)
    )
    envs.reset(seed=1)
    returns: list[float] = []
    rng = np.random.default_rng(0)
    next_done = np.zeros(8, dtype=bool)
    for _ in range(44):
        action = np.where(next_done, 0, rng.integers(1, 13, 8))
        _, _, terminations, truncations, infos = envs.step(action)
        next_done = np.logical_or(terminations, truncations)
        if "episode" in infos:
            returns += infos["episode"]["r"][infos["_episode"]].tolist()
            assert np.all(infos["episode"]["l"][infos["_episode"]] == 10)
    assert len(returns) == 32 and np.isfinite(returns).all()


def test_splitgym_train_uses_the_native_vector_env_for_several_envs(tmp_path: Path) -> None:
    from splitgym.agents.training import train

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no fallback to single envs, no NEXT_STEP warning
        # SB3's EvalCallback notes that the (single-env) evaluation env is of another VecEnv type: by
        # design, evaluations run on the same single-env episodes as every other agent's.
        warnings.filterwarnings("ignore", "Training and eval env are not of the same type")
        run = train(ID, "ppo", n_timesteps=1024, hyperparams={"n_envs": 4, "n_steps": 64, "batch_size": 64},
                    root=tmp_path, seed=0, env_kwargs={"max_steps": 20}, eval_episodes=2, n_evaluations=2).run  # fmt: skip
    files = sorted(p.name for p in run.glob("*.monitor.csv"))
    assert files == [f"{i}.monitor.csv" for i in range(4)]
    for name in files:
        frame = pd.read_csv(run / name, skiprows=1)
        assert list(frame.columns[:3]) == ["r", "l", "t"] and (frame["l"] == 20).all()
        assert len(frame) == 1024 // 4 // 20  # every episode of that env, one row each
    assert (run / "model.zip").is_file() and (run / "evaluations.npz").is_file()


def test_n_envs_of_zero_is_a_clear_error(tmp_path: Path) -> None:
    from splitgym.agents.training import train

    with pytest.raises(ConfigError, match="n_envs"):
        train(ID, "ppo", n_timesteps=256, hyperparams={"n_envs": 0}, root=tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_native_vector_run_resumes_from_its_checkpoint_with_consistent_monitors(tmp_path: Path) -> None:
    """Cut after the checkpoint at 512 steps (the later files gone, as after a kill): the resume trims each
    env's monitor to its episodes within 512 / 4 steps and appends the rest, whole episodes only."""
    from splitgym.agents.trainers.sb3_files import checkpoint_path
    from splitgym.agents.training import resume, train

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Training and eval env are not of the same type")
        hp = {"n_envs": 4, "n_steps": 32, "batch_size": 64}
        run = train(ID, "ppo", n_timesteps=1024, hyperparams=hp, root=tmp_path, seed=1,
                    env_kwargs={"max_steps": 20}, eval_episodes=1, n_evaluations=2).run  # fmt: skip
        for path in (run / "training.yml", run / "model.zip", checkpoint_path(run, 1024)):
            path.unlink()
        resume(run)
    for i in range(4):
        frame = pd.read_csv(run / f"{i}.monitor.csv", skiprows=1)
        # 6 whole episodes by step 128 of each env, then 128 more steps from fresh episodes: 6 more
        assert len(frame) == 12 and (frame["l"] == 20).all(), (i, frame)
