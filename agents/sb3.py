"""Model-free agents from stable-baselines3 (PPO, A2C, DQN) and sb3-contrib (MaskablePPO, for
environments with ``action_masks()``), trained into a run folder.

:func:`train` reads hyperparameters from ``hyperparams/<algo>.yml`` (keyed by env ID), builds monitored
vector environments, evaluates periodically, logs every reward term to TensorBoard and writes the run
folder described in :mod:`splitgym.agents.runs`. :func:`evaluate_run` reloads a run and evaluates it.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

import splitgym
from splitgym.agents.evaluation import evaluate, summarize
from splitgym.agents.hyperparams import load_hyperparams
from splitgym.agents.runs import new_run_dir, read_run, write_run_header, write_yaml_atomic
from splitgym.atomic import write_text_atomic
from splitgym.envs.config import config_dict
from splitgym.errors import ConfigError, SplitGymError, suggest

__all__ = [
    "ALGOS",
    "TrainResult",
    "algo_class",
    "check_env_id",
    "evaluate_run",
    "load_model",
    "make_env",
    "resume",
    "train",
]

ALGOS = ("ppo", "a2c", "dqn", "maskable_ppo")
MASKABLE = ("maskable_ppo",)


def algo_class(algo: str) -> type[Any]:
    """The stable-baselines3 class of ``algo`` (imported lazily: torch loads only when training)."""
    if algo not in ALGOS:
        raise ConfigError(f"unknown algorithm {algo!r}{suggest(algo, ALGOS)}; allowed: {list(ALGOS)}")
    if algo == "maskable_ppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    import stable_baselines3 as sb3

    return {"ppo": sb3.PPO, "a2c": sb3.A2C, "dqn": sb3.DQN}[algo]


def check_env_id(env_id: str) -> None:
    """Raise a ConfigError listing the registered IDs if ``env_id`` is not registered."""
    if ":" in env_id:
        module, _, rest = env_id.partition(":")
        try:
            __import__(module)
        except ImportError:
            raise ConfigError(f"env ID {env_id!r}: module {module!r} cannot be imported") from None
        env_id = rest
    if env_id not in gym.registry:
        ours = splitgym.env_ids()
        hint = suggest(env_id, list(gym.registry))
        raise ConfigError(f"unknown env ID {env_id!r}{hint}; splitgym's environments: {ours}")


def make_env(
    env_id: str, env_kwargs: Mapping[str, Any] | None = None, **make_kwargs: Any
) -> gym.Env[Any, Any]:
    """``gym.make`` with the env ID checked first, so a typo lists the valid IDs."""
    check_env_id(env_id)
    return gym.make(env_id, **dict(env_kwargs or {}), **make_kwargs)


def _reward_terms_callback() -> Any:
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
class TrainResult:
    """Where a training run went, how many steps it took and how long."""

    run: Path
    timesteps: int
    seconds: float


def train(
    env_id: str,
    algo: str,
    n_timesteps: int | None = None,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    hyperparams: Mapping[str, Any] | None = None,
    root: Path = Path("runs"),
    progress: bool = False,
    tensorboard: Path | None = None,
    eval_episodes: int = 20,
    n_evaluations: int = 10,
    command: Sequence[str] | None = None,
    args: Mapping[str, Any] | None = None,
    verbose: int = 0,
) -> TrainResult:
    """Train ``algo`` on ``env_id`` and write a run folder under ``root``; return where it went.

    Every input is checked before anything is written, so a mistake leaves no half-made folder.
    """
    cls = algo_class(algo)
    check_env_id(env_id)
    env_kwargs = dict(env_kwargs or {})
    params, key = load_hyperparams(algo, cls, env_id, hyperparams)
    steps = int(n_timesteps if n_timesteps is not None else params.get("n_timesteps", 100_000))
    if steps < 1:
        raise ConfigError(f"n_timesteps must be >= 1, got {steps}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    probe = make_env(env_id, env_kwargs)  # validates the env kwargs
    if algo in MASKABLE and not hasattr(probe.unwrapped, "action_masks"):
        probe.close()
        raise ConfigError(f"{algo} needs an environment with action masks; {env_id} has none")
    inner_config = getattr(probe.unwrapped, "config", None)
    env_config = config_dict(inner_config) if dataclasses.is_dataclass(inner_config) else {}
    _, probe_info = probe.reset(seed=seed)
    info_keywords = tuple(
        k for k, v in probe_info.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    )
    probe.close()
    algo_kwargs = {k: v for k, v in params.items() if k not in ("n_timesteps", "policy", "n_envs")}
    n_envs = int(params.get("n_envs", 1))
    policy = params.get("policy", "MlpPolicy")

    run = new_run_dir(Path(root), algo, env_id)
    write_run_header(run, algo, env_id, seed, steps, key, params, env_kwargs, env_config, command, args)

    setup = _Setup(run, env_id, algo, env_kwargs, n_envs, seed, steps, info_keywords, eval_episodes,
                   n_evaluations, progress)  # fmt: skip
    venv, callbacks = _envs_and_callbacks(setup, seed_offset=0, append=False)
    try:
        model = cls(
            policy,
            venv,
            seed=seed,
            verbose=verbose,
            tensorboard_log=str(tensorboard) if tensorboard else None,
            **algo_kwargs,
        )
    except (TypeError, ValueError, AssertionError) as exc:
        raise ConfigError(f"{algo} rejected the hyperparameters {algo_kwargs}: {exc}") from None
    return _learn(setup, model, venv, callbacks, steps, reset=True, resumed_from=None)


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
    return venv, [eval_cb, _reward_terms_callback(), checkpoints]


def _learn(
    setup: _Setup,
    model: Any,
    venv: Any,
    callbacks: list[Any],
    steps: int,
    reset: bool,
    resumed_from: int | None,
) -> TrainResult:
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
    write_yaml_atomic(setup.run / "training.yml", record)
    venv.close()
    callbacks[0].eval_env.close()
    return TrainResult(run=setup.run, timesteps=int(model.num_timesteps), seconds=seconds)


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


def resume(run: Path, progress: bool = False, verbose: int = 0) -> TrainResult:
    """Continue an interrupted run from its latest checkpoint up to the run's ``n_timesteps``.

    Steps done before the checkpoint are kept (the model, its optimiser and, for off-policy algorithms,
    its replay buffer are restored; the step counter continues); the monitor files are appended to and the
    environments are reseeded past the steps already taken, so no episode is replayed. Steps done after
    the last checkpoint and before the interruption are not recovered (checkpoints are written at every
    evaluation, ``n_timesteps / 10`` steps apart). A finished run is an error; a run without a checkpoint
    starts over in the same folder.
    """
    import yaml

    config_path = run / "config.yml"
    if not config_path.is_file():
        raise ConfigError(f"--resume {run}: not a run folder (no config.yml)")
    config = yaml.safe_load(config_path.read_text()) or {}
    if (run / "model.zip").is_file() and (run / "training.yml").is_file():
        raise ConfigError(f"--resume {run}: the run is finished (model.zip and training.yml exist)")
    algo, env_id = str(config["algo"]), str(config["env_id"])
    cls = algo_class(algo)
    params = dict(config.get("hyperparams") or {})
    steps, seed = int(config["n_timesteps"]), int(config["seed"])
    env_kwargs = dict(config.get("env_kwargs") or {})
    probe = make_env(env_id, env_kwargs)
    _, probe_info = probe.reset(seed=seed)
    probe.close()
    info_keywords = tuple(
        k for k, v in probe_info.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    )
    n_envs = int(params.get("n_envs", 1))
    setup = _Setup(run, env_id, algo, env_kwargs, n_envs, seed, steps, info_keywords, 20, 10, progress)
    latest = _latest_checkpoint(run)
    if latest is None:
        venv, callbacks = _envs_and_callbacks(setup, seed_offset=0, append=False)
        algo_kwargs = {k: v for k, v in params.items() if k not in ("n_timesteps", "policy", "n_envs")}
        model = cls(params.get("policy", "MlpPolicy"), venv, seed=seed, verbose=verbose, **algo_kwargs)
        return _learn(setup, model, venv, callbacks, steps, reset=True, resumed_from=0)
    path, done = latest
    venv, callbacks = _envs_and_callbacks(setup, seed_offset=done, append=True)
    try:
        model = cls.load(path, env=venv, device="cpu")
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        raise ConfigError(f"--resume {run}: checkpoint {path.name} cannot be loaded: {exc}") from None
    buffer = path.with_name(f"model_replay_buffer_{done}_steps.pkl")
    if buffer.is_file() and hasattr(model, "load_replay_buffer"):
        model.load_replay_buffer(buffer)
    remaining = max(steps - int(model.num_timesteps), 0)
    return _learn(
        setup, model, venv, callbacks, remaining, reset=False, resumed_from=int(model.num_timesteps)
    )


def load_model(run: Path) -> tuple[Any, dict[str, Any]]:
    """The trained model of a run folder and its ``config.yml``."""
    config = read_run(run)
    cls = algo_class(str(config["algo"]))
    if not (run / "model.zip").is_file():
        raise ConfigError(f"{run} is not a complete run folder: missing ['model.zip'] (unfinished run?)")
    try:
        model = cls.load(run / "model.zip", device="cpu")
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        raise ConfigError(f"{run}/model.zip cannot be loaded: {exc}") from None
    return model, config


def evaluate_run(
    run: Path, episodes: int = 100, seed: int = 1_000_000
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Evaluate a run's model deterministically; write ``evaluation.csv`` into the run; return it."""
    model, config = load_model(run)
    env = make_env(str(config["env_id"]), config.get("env_kwargs") or {})
    try:
        frame = evaluate(model, env, episodes, seed=seed)
    except SplitGymError:
        raise
    finally:
        env.close()
    write_text_atomic(run / "evaluation.csv", frame.to_csv(index=False))
    return frame, config


def summary_line(name: str, frame: pd.DataFrame) -> str:
    """``name: return mean ± std | r_quality ... | r_load ...`` for printing."""
    s = summarize(frame)
    terms = "  ".join(
        f"{k} {s[k]:+.4f}" for k in sorted(s) if k.startswith("r_") or k in ("quality", "split")
    )
    return f"{name:<12} return {s['return']:+.4f} ± {s['return_std']:.4f}  {terms}"
