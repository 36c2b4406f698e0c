"""Model-free agents from stable-baselines3 (PPO, A2C, DQN) and sb3-contrib (MaskablePPO, for
environments with action masks), as the registry's :class:`SB3Trainer`.

The run folder (:mod:`splitgym.agents.runs`) gets ``model.zip``, ``monitor.csv`` files,
``evaluations.npz`` and ``best_model.zip`` (periodic evaluation), ``checkpoints/`` and, with TensorBoard,
``terms/*`` (the mean of every numeric ``info`` entry) and ``real/evaluations`` for a live quality model.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from splitgym.agents.hyperparams import ZOO_KEYS
from splitgym.agents.trainers.base import FitOptions, Request, Trainer
from splitgym.errors import ConfigError, suggest

__all__ = ["ALGOS", "SB3Trainer", "algo_class", "reward_terms_callback"]

ALGOS = ("ppo", "a2c", "dqn", "maskable_ppo")
MASKABLE = ("maskable_ppo",)  # evaluated with MaskableEvalCallback
_RUNNER = ("n_timesteps", "policy", "n_envs")


def algo_class(algo: str) -> type[Any]:
    """The stable-baselines3 class of ``algo`` (imported lazily: torch loads only when training)."""
    if algo not in ALGOS:
        raise ConfigError(f"unknown algorithm {algo!r}{suggest(algo, ALGOS)}; allowed: {list(ALGOS)}")
    if algo == "maskable_ppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    import stable_baselines3 as sb3

    return {"ppo": sb3.PPO, "a2c": sb3.A2C, "dqn": sb3.DQN}[algo]


def reward_terms_callback() -> Any:
    from stable_baselines3.common.callbacks import BaseCallback

    class RewardTermsCallback(BaseCallback):
        """Logs the mean of every numeric ``info`` entry (reward terms, quality, split) per log interval,
        and ``real/evaluations`` when the training environments evaluate a live quality model."""

        def _on_step(self) -> bool:
            for info in self.locals.get("infos", ()):
                for key, value in info.items():
                    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                        self.logger.record_mean(f"terms/{key}", float(value))
            return True

        def _on_rollout_end(self) -> None:
            # Real evaluations of an expensive quality model (a live LLM) made by the training envs.
            if self.training_env is not None and (count := _venv_real_evaluations(self.training_env)):
                self.logger.record("real/evaluations", count)

    return RewardTermsCallback()


@dataclass(frozen=True)
class _Setup:
    run: Path
    env_id: str
    algo: str
    env_kwargs: Mapping[str, Any]
    n_envs: int
    seed: int
    steps: int
    info_keywords: tuple[str, ...]
    eval_episodes: int
    n_evaluations: int
    progress: bool


CHECKPOINTS = "checkpoints"


def _envs_and_callbacks(setup: _Setup, seed_offset: int, append: bool) -> tuple[Any, list[Any]]:
    """Monitored training envs, the evaluation callback, the reward-term logger and checkpoints."""
    from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback
    from stable_baselines3.common.env_util import make_vec_env

    s = setup
    venv = make_vec_env(
        s.env_id,
        n_envs=s.n_envs,
        seed=s.seed + seed_offset,
        env_kwargs=dict(s.env_kwargs),
        monitor_dir=str(s.run),
        monitor_kwargs={"info_keywords": s.info_keywords, "override_existing": not append},
    )
    eval_env = make_vec_env(
        s.env_id, n_envs=1, seed=s.seed + 10_000 + seed_offset, env_kwargs=dict(s.env_kwargs)
    )
    eval_cls: Any = EvalCallback
    if s.algo in MASKABLE:
        from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback

        eval_cls = MaskableEvalCallback
    every = max(s.steps // max(s.n_evaluations, 1) // s.n_envs, 1)
    eval_cb = eval_cls(
        eval_env,
        eval_freq=every,
        n_eval_episodes=s.eval_episodes,
        log_path=str(s.run),
        best_model_save_path=str(s.run),
        deterministic=True,
        verbose=0,
    )
    checkpoints = CheckpointCallback(
        save_freq=every, save_path=str(s.run / CHECKPOINTS), name_prefix="model", save_replay_buffer=True
    )
    return venv, [eval_cb, reward_terms_callback(), checkpoints]


def _learn(
    setup: _Setup,
    model: Any,
    venv: Any,
    callbacks: list[Any],
    steps: int,
    reset: bool,
    resumed_from: int | None,
) -> dict[str, Any]:
    start = time.perf_counter()
    model.learn(
        steps,
        callback=callbacks,
        progress_bar=setup.progress,
        tb_log_name=f"{setup.algo}_{setup.run.name}",
        reset_num_timesteps=reset,
    )
    seconds = time.perf_counter() - start
    tmp = setup.run / ".model.tmp.zip"
    model.save(tmp)
    os.replace(tmp, setup.run / "model.zip")
    record: dict[str, Any] = {
        "timesteps": int(model.num_timesteps),
        "wall_time_s": round(seconds, 2),
        "real_evaluations": _venv_real_evaluations(venv),  # this session's, for a live quality model
    }
    if resumed_from is not None:
        record["resumed_from_timesteps"] = resumed_from
    venv.close()
    callbacks[0].eval_env.close()
    return record


def _venv_real_evaluations(venv: Any) -> int:
    """Real evaluations made by the training environments' quality models (0 for tables or none)."""
    from splitgym.profiles.quality import expensive_calls

    try:
        return expensive_calls(venv.get_attr("quality_model"))
    except (AttributeError, ValueError):
        return 0


def _latest_checkpoint(run: Path) -> tuple[Path, int] | None:
    found = []
    for path in (run / CHECKPOINTS).glob("model_*_steps.zip"):
        try:
            found.append((int(path.stem.split("_")[1]), path))
        except (IndexError, ValueError):
            continue
    if not found:
        return None
    steps, path = max(found)
    return path, steps


def _info_keywords(probe: gym.Env[Any, Any], seed: int) -> tuple[str, ...]:
    """The numeric ``info`` keys of a reset, which the monitor files record per episode."""
    _, info = probe.reset(seed=seed)
    return tuple(k for k, v in info.items() if isinstance(v, (int, float)) and not isinstance(v, bool))


class SB3Trainer(Trainer):
    """PPO, A2C, DQN (stable-baselines3) or MaskablePPO (sb3-contrib): monitored vector envs, periodic
    evaluation (``evaluations.npz``, ``best_model.zip``), checkpoints, every reward term to TensorBoard.

    Resuming continues from the latest checkpoint: steps before it are kept (the model, its optimiser
    and, for off-policy algorithms, its replay buffer are restored; the step counter continues); the
    monitor files are appended to and the environments are reseeded past the steps already taken, so no
    episode is replayed. Steps after the last checkpoint are redone (checkpoints are written at every
    evaluation, ``n_timesteps / 10`` steps apart). A run without a checkpoint starts over in its folder.
    """

    zoo_keys = ZOO_KEYS

    def __init__(self, name: str, families: tuple[str, ...] | None = None) -> None:
        self.name = name
        if families is not None:
            self.families = families

    def schema(self) -> type[Any]:
        return algo_class(self.name)

    def _setup(self, request: Request, options: FitOptions, info_keywords: tuple[str, ...]) -> _Setup:
        n_envs = int(request.params.get("n_envs", 1))
        return _Setup(
            options.run,
            request.env_id,
            self.name,
            request.env_kwargs,
            n_envs,
            request.seed,
            request.steps,
            info_keywords,
            options.eval_episodes,
            options.n_evaluations,
            options.progress,
        )

    def _model(self, request: Request, venv: Any, options: FitOptions) -> Any:
        algo_kwargs = request.agent_kwargs(_RUNNER)
        tensorboard = str(options.tensorboard) if options.tensorboard else None
        try:
            return self.schema()(
                request.params.get("policy", "MlpPolicy"),
                venv,
                seed=request.seed,
                verbose=options.verbose,
                tensorboard_log=tensorboard,
                **algo_kwargs,
            )
        except (TypeError, ValueError, AssertionError, KeyError) as exc:
            raise ConfigError(f"{self.name} rejected the hyperparameters {algo_kwargs}: {exc}") from None

    def prepare(self, request: Request, probe: gym.Env[Any, Any]) -> tuple[str, ...]:
        from stable_baselines3.common.vec_env import DummyVecEnv

        n_envs = request.params.get("n_envs", 1)
        if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
            raise ConfigError(f"n_envs must be an integer >= 1, got {n_envs!r}")
        # The model is built once on the probe, so a bad hyperparameter fails before any folder exists.
        self._model(request, DummyVecEnv([lambda: probe]), FitOptions(run=Path(".")))
        return _info_keywords(probe, request.seed)

    def fit(self, prepared: Any, request: Request, options: FitOptions) -> dict[str, Any]:
        setup = self._setup(request, options, prepared)
        venv, callbacks = _envs_and_callbacks(setup, seed_offset=0, append=False)
        model = self._model(request, venv, options)
        return _learn(setup, model, venv, callbacks, request.steps, reset=True, resumed_from=None)

    def resume(self, request: Request, options: FitOptions) -> dict[str, Any]:
        from splitgym.agents.envs import make_env

        probe = make_env(request.env_id, request.env_kwargs)
        try:
            keywords = _info_keywords(probe, request.seed)
        finally:
            probe.close()
        setup = self._setup(request, options, keywords)
        latest = _latest_checkpoint(options.run)
        if latest is None:
            venv, callbacks = _envs_and_callbacks(setup, seed_offset=0, append=False)
            model = self._model(request, venv, options)
            return _learn(setup, model, venv, callbacks, request.steps, reset=True, resumed_from=0)
        path, done = latest
        venv, callbacks = _envs_and_callbacks(setup, seed_offset=done, append=True)
        try:
            model = self.schema().load(path, env=venv, device="cpu")
        except (ValueError, KeyError, OSError, RuntimeError) as exc:
            raise ConfigError(
                f"--resume {options.run}: checkpoint {path.name} cannot be loaded: {exc}"
            ) from None
        buffer = path.with_name(f"model_replay_buffer_{done}_steps.pkl")
        if buffer.is_file() and hasattr(model, "load_replay_buffer"):
            model.load_replay_buffer(buffer)
        remaining = max(request.steps - int(model.num_timesteps), 0)
        return _learn(
            setup, model, venv, callbacks, remaining, reset=False, resumed_from=int(model.num_timesteps)
        )

    def load(self, run: Path, request: Request, env: gym.Env[Any, Any]) -> tuple[Any, gym.Env[Any, Any]]:
        try:
            return self.schema().load(run / self.model_file, device="cpu"), env
        except (ValueError, KeyError, OSError, RuntimeError) as exc:
            raise ConfigError(f"{run}/{self.model_file} cannot be loaded: {exc}") from None
