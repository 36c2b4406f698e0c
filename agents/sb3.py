"""Model-free agents from stable-baselines3 (PPO, A2C, DQN) and sb3-contrib (MaskablePPO, for
environments with ``action_masks()``), trained into a run folder.

:func:`train` reads hyperparameters from ``hyperparams/<algo>.yml`` (keyed by env ID), builds monitored
vector environments, evaluates periodically, logs every reward term to TensorBoard and writes the run
folder described in :mod:`splitgym.agents.runs`. :func:`evaluate_run` reloads a run and evaluates it.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shlex
import sys
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
from splitgym.agents.runs import new_run_dir, read_run, write_yaml_atomic
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


def _versions() -> dict[str, str]:
    import stable_baselines3
    import torch

    return {
        "splitgym": splitgym.__version__,
        "python": platform.python_version(),
        "gymnasium": gym.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "torch": str(torch.__version__),
        "numpy": str(np.__version__),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
    }


def _reward_terms_callback() -> Any:
    from stable_baselines3.common.callbacks import BaseCallback

    class RewardTermsCallback(BaseCallback):
        """Logs the mean of every numeric ``info`` entry (reward terms, quality, split) per log interval."""

        def _on_step(self) -> bool:
            for info in self.locals.get("infos", ()):
                for key, value in info.items():
                    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                        self.logger.record_mean(f"terms/{key}", float(value))
            return True

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
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.env_util import make_vec_env

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
    write_yaml_atomic(
        run / "config.yml",
        {
            "algo": algo,
            "env_id": env_id,
            "seed": seed,
            "n_timesteps": steps,
            "hyperparams_key": key,
            "hyperparams": {k: v for k, v in params.items() if k != "n_timesteps"},
            "env_kwargs": env_kwargs,
            "env_config": env_config,  # every environment parameter as resolved, defaults included
            "versions": _versions(),
        },
    )
    write_yaml_atomic(run / "args.yml", dict(sorted((args or {}).items())))
    write_text_atomic(run / "command.txt", shlex.join(command if command is not None else sys.argv) + "\n")

    venv = make_vec_env(
        env_id,
        n_envs=n_envs,
        seed=seed,
        env_kwargs=env_kwargs,
        monitor_dir=str(run),
        monitor_kwargs={"info_keywords": info_keywords},
    )
    eval_env = make_vec_env(env_id, n_envs=1, seed=seed + 10_000, env_kwargs=env_kwargs)
    if algo in MASKABLE:
        from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback as EvalCallback
    eval_cb = EvalCallback(
        eval_env,
        eval_freq=max(steps // max(n_evaluations, 1) // n_envs, 1),
        n_eval_episodes=eval_episodes,
        log_path=str(run),
        best_model_save_path=str(run),
        deterministic=True,
        verbose=0,
    )
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
    start = time.perf_counter()
    model.learn(
        steps,
        callback=[eval_cb, _reward_terms_callback()],
        progress_bar=progress,
        tb_log_name=f"{algo}_{run.name}",
    )
    seconds = time.perf_counter() - start
    tmp = run / ".model.tmp.zip"
    model.save(tmp)
    os.replace(tmp, run / "model.zip")
    write_yaml_atomic(
        run / "training.yml", {"timesteps": int(model.num_timesteps), "wall_time_s": round(seconds, 2)}
    )
    venv.close()
    eval_env.close()
    return TrainResult(run=run, timesteps=int(model.num_timesteps), seconds=seconds)


def load_model(run: Path) -> tuple[Any, dict[str, Any]]:
    """The trained model of a run folder and its ``config.yml``."""
    config = read_run(run)
    cls = algo_class(str(config["algo"]))
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
