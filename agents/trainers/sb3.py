"""Model-free agents from stable-baselines3 (PPO, A2C, DQN) and sb3-contrib (MaskablePPO, for
environments with action masks), as the registry's :class:`SB3Trainer`.

The run folder (:mod:`splitgym.agents.runs`) gets ``model.zip``, ``monitor.csv`` files,
``evaluations.npz`` and ``best_model.zip`` (periodic evaluation), ``checkpoints/`` and, with TensorBoard,
``terms/*`` (the mean of every numeric ``info`` entry) and ``real/evaluations`` for a live quality model.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from splitgym.agents import manifest
from splitgym.agents.hyperparams import ZOO_KEYS
from splitgym.agents.sb3_io import load_replay_buffer_npz, load_sb3, save_model_atomic
from splitgym.agents.trainers.base import FitOptions, Request, Trainer
from splitgym.agents.trainers.sb3_files import (
    checkpoints,
    make_monitored_vec_env,
    replay_path,
    restore_to_checkpoint,
    safe_checkpoint_callback,
    safe_eval_callback,
)
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


def _envs_and_callbacks(setup: _Setup, seed_offset: int, append: bool) -> tuple[Any, list[Any]]:
    """Monitored training envs, the evaluation callback, the reward-term logger and checkpoints (every
    file crash-safe: :mod:`splitgym.agents.trainers.sb3_files`)."""
    from stable_baselines3.common.callbacks import EvalCallback

    s = setup
    venv = _training_env(s, seed_offset, append)
    eval_env = make_monitored_vec_env(s.env_id, 1, s.seed + 10_000 + seed_offset, dict(s.env_kwargs), None)
    eval_cls: Any = EvalCallback
    if s.algo in MASKABLE:
        from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback

        eval_cls = MaskableEvalCallback
    every = _every(s)
    eval_cb = safe_eval_callback(
        eval_cls,
        s.run,
        eval_env,
        eval_freq=every,
        n_eval_episodes=s.eval_episodes,
        deterministic=True,
        verbose=0,
    )
    return venv, [eval_cb, reward_terms_callback(), safe_checkpoint_callback(s.run, every)]


def _training_env(setup: _Setup, seed_offset: int, append: bool) -> Any:
    """The monitored training envs: with ``n_envs > 1`` on an ID with a natively batched
    ``vector_entry_point``, that vector env as one SB3 ``VecEnv`` (:class:`splitgym.vector.SB3VecEnv`,
    seeded ``seed``, the same ``<rank>.monitor.csv`` rows, crash-safe); otherwise (or when the vector env
    refuses these arguments) ``n_envs`` single envs (:func:`make_monitored_vec_env`)."""
    from splitgym.agents.envs import check_env_id
    from splitgym.vector import has_vector_entry_point

    s = setup
    seed = s.seed + seed_offset
    if s.n_envs > 1 and has_vector_entry_point(check_env_id(s.env_id)):
        from splitgym.agents.trainers.sb3_files import _AppendWriter
        from splitgym.vector import SB3EpisodeMonitor, make_sb3_vec_env

        try:
            native = make_sb3_vec_env(check_env_id(s.env_id), s.n_envs, dict(s.env_kwargs), seed)
        except ConfigError as exc:
            import warnings

            warnings.warn(
                f"native vector env refused {dict(s.env_kwargs)} ({exc}); using single envs", stacklevel=2
            )
        else:
            header = {"t_start": time.time(), "env_id": check_env_id(s.env_id)}
            fields = ("r", "l", "t", *s.info_keywords)
            writers = [
                _AppendWriter(Path(s.run) / f"{rank}.monitor.csv", header, fields, append)
                for rank in range(s.n_envs)
            ]
            return SB3EpisodeMonitor(native, writers, s.info_keywords)
    return make_monitored_vec_env(
        s.env_id, s.n_envs, seed, dict(s.env_kwargs), s.run, s.info_keywords, append
    )


def _every(setup: _Setup) -> int:
    """Calls between evaluations and checkpoints (the same steps: an evaluation's model is a checkpoint)."""
    return max(setup.steps // max(setup.n_evaluations, 1) // setup.n_envs, 1)


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
    try:
        model.learn(
            steps,
            callback=callbacks,
            progress_bar=setup.progress,
            tb_log_name=f"{setup.algo}_{setup.run.name}",
            reset_num_timesteps=reset,
        )
        real = _venv_real_evaluations(venv)  # this session's, for a live quality model
    finally:
        venv.close()
        callbacks[0].eval_env.close()
    seconds = time.perf_counter() - start
    path = setup.run / "model.zip"
    manifest.record_bytes(setup.run, path, save_model_atomic(model, path))
    record: dict[str, Any] = {
        "timesteps": int(model.num_timesteps),
        "wall_time_s": round(seconds, 2),
        "real_evaluations": real,
    }
    if resumed_from is not None:
        record["resumed_from_timesteps"] = resumed_from
    return record


def _venv_real_evaluations(venv: Any) -> int:
    """Real evaluations made by the training environments' quality models (0 for tables or none)."""
    from splitgym.profiles.quality import expensive_calls

    try:
        return expensive_calls(venv.get_attr("quality_model"))
    except (AttributeError, ValueError):
        return 0


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

    def hyperparams(self, env_id: str, overrides: Mapping[str, Any] | None) -> tuple[dict[str, Any], str]:
        """The YAML entry with ``overrides``: every key known and every value's type and range checked
        (:func:`~splitgym.agents.sb3_checks.check_sb3_hyperparams`), so a suite fails before any cell."""
        from splitgym.agents.sb3_checks import check_sb3_hyperparams

        params, key = super().hyperparams(env_id, overrides)
        check_sb3_hyperparams(self.name, self.schema(), params)
        return params, key

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

    def _model(self, request: Request, venv: Any, options: FitOptions, seed: int | None = -1) -> Any:
        """The model of ``request`` on ``venv`` (``seed``: the request's by default; ``None`` draws no
        seed, for a model that only receives saved parameters)."""
        algo_kwargs = request.agent_kwargs(_RUNNER)
        tensorboard = str(options.tensorboard) if options.tensorboard else None
        try:
            return self.schema()(
                request.params.get("policy", "MlpPolicy"),
                venv,
                seed=request.seed if seed == -1 else seed,
                verbose=options.verbose,
                tensorboard_log=tensorboard,
                **algo_kwargs,
            )
        except (TypeError, ValueError, AssertionError, KeyError) as exc:
            raise ConfigError(f"{self.name} rejected the hyperparameters {algo_kwargs}: {exc}") from None

    def prepare(self, request: Request, probe: gym.Env[Any, Any]) -> tuple[str, ...]:
        from stable_baselines3.common.vec_env import DummyVecEnv

        from splitgym.agents.sb3_checks import check_sb3_hyperparams

        check_sb3_hyperparams(self.name, self.schema(), request.params)
        # The model is built once on the probe, so a bad hyperparameter fails before any folder exists.
        self._model(request, DummyVecEnv([lambda: probe]), FitOptions(run=Path(".")))
        return _info_keywords(probe, request.seed)

    def fit(self, prepared: Any, request: Request, options: FitOptions) -> dict[str, Any]:
        setup = self._setup(request, options, prepared)
        venv, callbacks = _envs_and_callbacks(setup, seed_offset=0, append=False)
        model = self._model(request, venv, options)
        return _learn(setup, model, venv, callbacks, request.steps, reset=True, resumed_from=None)

    def _restore(self, request: Request, options: FitOptions, steps: int, path: Path, venv: Any) -> Any:
        """The model of checkpoint ``path`` (verified against the manifest, loaded weights-only) on
        ``venv``, with its replay buffer for an off-policy algorithm; a ConfigError when it does not
        verify or load."""
        run = options.run
        data = manifest.verified_bytes(run, path, trust=options.trust)
        fresh = self._model(request, venv, options)
        model = load_sb3(self.schema(), data, fresh, f"checkpoint {path}", env=venv)
        if getattr(fresh, "replay_buffer", None) is not None:
            buffer = replay_path(run, steps)
            if not buffer.is_file():
                raise ConfigError(f"checkpoint {path.name} has no replay buffer {buffer.name}")
            load_replay_buffer_npz(
                model.replay_buffer, manifest.verified_bytes(run, buffer, trust=options.trust), str(buffer)
            )
        return model

    def resume(self, request: Request, options: FitOptions) -> dict[str, Any]:
        """From the newest checkpoint that verifies against the manifest and loads (newer ones that do
        not, e.g. one cut short by a kill, are skipped and recorded in ``training.yml``); the run's files
        are first made consistent with it
        (:func:`~splitgym.agents.trainers.sb3_files.restore_to_checkpoint`)."""
        from splitgym.agents.envs import make_env

        probe = make_env(request.env_id, request.env_kwargs)
        try:
            keywords = _info_keywords(probe, request.seed)
        finally:
            probe.close()
        setup = self._setup(request, options, keywords)
        skipped: list[str] = []
        changed = False  # a listed checkpoint whose bytes differ: corruption or tampering, never ignored
        for done, path in checkpoints(options.run):
            venv, callbacks = _envs_and_callbacks(setup, seed_offset=done, append=True)
            try:
                model = self._restore(request, options, done, path, venv)
            except ConfigError as exc:
                venv.close()
                callbacks[0].eval_env.close()
                skipped.append(f"{path.name}: {exc}")
                changed = changed or not isinstance(exc, manifest.UnlistedFileError)
                continue
            restore_to_checkpoint(options.run, done, setup.n_envs, callbacks[0], trust=options.trust)
            remaining = max(request.steps - int(model.num_timesteps), 0)
            record = _learn(
                setup, model, venv, callbacks, remaining, reset=False, resumed_from=int(model.num_timesteps)
            )
            break
        else:
            # Only unlisted checkpoints (a kill between writing one and recording it): start over, since
            # none was ever complete. A listed one that changed: refuse rather than start over.
            if changed:
                raise ConfigError(
                    f"--resume {options.run}: no checkpoint verifies and loads ({len(skipped)} tried; "
                    f"newest: {skipped[0]})"
                )
            restore_to_checkpoint(options.run, 0, setup.n_envs, None)
            venv, callbacks = _envs_and_callbacks(setup, seed_offset=0, append=False)
            model = self._model(request, venv, options)
            record = _learn(setup, model, venv, callbacks, request.steps, reset=True, resumed_from=0)
        if skipped:
            record["skipped_checkpoints"] = skipped
        return record

    def load(self, run: Path, request: Request, env: gym.Env[Any, Any]) -> tuple[Any, gym.Env[Any, Any]]:
        """The saved model, weights-only (:func:`~splitgym.agents.sb3_io.load_sb3`); the caller has
        verified the run folder against its manifest."""
        from stable_baselines3.common.vec_env import DummyVecEnv

        path = run / self.model_file
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path} cannot be loaded: {exc.strerror or exc}") from None
        fresh = self._model(request, DummyVecEnv([lambda: env]), FitOptions(run=Path(".")), seed=None)
        return load_sb3(self.schema(), data, fresh, str(path)), env
