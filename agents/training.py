"""One entry point for every agent of the registry (:mod:`splitgym.agents.registry`): train into a run
folder, resume, load as a policy and evaluate.

Every run folder (``runs/<algo>/<Env>_<N>/``) holds ``config.yml``, ``args.yml`` and ``command.txt``; the
model file is the trainer's (``model.zip``, ``model.npz`` or ``policy.yml``); ``training.yml`` is written
last and records steps, wall time and the real evaluations of the quality model the training spent: a
folder without it is unfinished.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd
import yaml

from splitgym.agents.envs import check_env_id, make_env
from splitgym.agents.registry import FitOptions, Request, get_trainer
from splitgym.agents.runs import new_run_dir, read_run, write_run_header, write_yaml_atomic
from splitgym.atomic import write_text_atomic
from splitgym.envs.config import config_dict
from splitgym.errors import ConfigError
from splitgym.registration import env_family

__all__ = [
    "TrainResult",
    "check_request",
    "evaluate_run",
    "load_policy",
    "real_evaluations_of",
    "resume",
    "train",
    "training_record",
]


@dataclass(frozen=True)
class TrainResult:
    """Where a training run went, how many steps it took and how long."""

    run: Path
    timesteps: int
    seconds: float


def _request(
    algo: str,
    env_id: str,
    n_timesteps: int | None,
    seed: int,
    env_kwargs: Mapping[str, Any] | None,
    hyperparams: Mapping[str, Any] | None,
) -> tuple[Request, str]:
    """Everything about a run that can be checked without building anything, and the YAML key used."""
    trainer = get_trainer(algo)
    env_id = check_env_id(env_id)
    trainer.check_family(env_family(env_id), env_id)
    params, key = trainer.hyperparams(env_id, hyperparams)
    if not trainer.trained:
        if n_timesteps:
            raise ConfigError(f"baseline {algo!r} is not trained: drop --n-timesteps")
        steps = 0
    else:
        raw = n_timesteps if n_timesteps is not None else params.get("n_timesteps", trainer.default_steps)
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise ConfigError(f"n_timesteps must be an integer >= 1, got {raw!r}")
        steps = raw
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    return Request(algo, env_id, dict(env_kwargs or {}), params, steps, seed), key


def check_request(
    algo: str,
    env_id: str,
    n_timesteps: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    hyperparams: Mapping[str, Any] | None = None,
) -> None:
    """Check what a run of ``algo`` on ``env_id`` would need, building nothing (suites check every cell
    this way before running any)."""
    _request(algo, env_id, n_timesteps, 0, env_kwargs, hyperparams)


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
    """Train ``algo`` (any registered name) on ``env_id`` into a new run folder under ``root``.

    Every input is checked, and the agent built, before anything is written. For a baseline, "training"
    is building it (the best fixed split runs its calibration episodes) and the run has 0 steps.
    """
    trainer = get_trainer(algo)
    request, key = _request(algo, env_id, n_timesteps, seed, env_kwargs, hyperparams)
    probe = make_env(request.env_id, request.env_kwargs)
    try:
        inner_config = getattr(probe.unwrapped, "config", None)
        env_config = config_dict(inner_config) if dataclasses.is_dataclass(inner_config) else {}
        prepared = trainer.prepare(request, probe)
    finally:
        probe.close()
    run = new_run_dir(Path(root), algo, request.env_id)
    write_run_header(
        run,
        algo,
        request.env_id,
        request.seed,
        request.steps,
        key,
        request.params,
        request.env_kwargs,
        env_config,
        command,
        args,
    )
    options = FitOptions(run, progress, tensorboard, eval_episodes, n_evaluations, verbose)
    start = time.perf_counter()
    record = trainer.fit(prepared, request, options)
    write_yaml_atomic(run / "training.yml", record)
    return TrainResult(run=run, timesteps=int(record["timesteps"]), seconds=time.perf_counter() - start)


def _config(run: Path) -> dict[str, Any]:
    config_path = run / "config.yml"
    if not config_path.is_file():
        raise ConfigError(f"--resume {run}: not a run folder (no config.yml)")
    try:
        config = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"--resume {run}: config.yml is not valid YAML: {exc}") from None
    if not isinstance(config, dict) or not {"algo", "env_id", "n_timesteps", "seed"} <= set(config):
        raise ConfigError(f"--resume {run}: config.yml must map 'algo', 'env_id', 'n_timesteps' and 'seed'")
    return config


def _stored_request(config: Mapping[str, Any]) -> Request:
    params = config.get("hyperparams") or {}
    kwargs = config.get("env_kwargs") or {}
    if not isinstance(params, dict) or not isinstance(kwargs, dict):
        raise ConfigError("config.yml: 'hyperparams' and 'env_kwargs' must be mappings")
    return Request(
        str(config["algo"]),
        str(config["env_id"]),
        dict(kwargs),
        dict(params),
        int(config.get("n_timesteps", 0)),
        int(config.get("seed", 0)),
    )


def resume(run: Path, progress: bool = False, verbose: int = 0) -> TrainResult:
    """Continue an interrupted run up to its ``n_timesteps`` (each trainer's docstring says how)."""
    config = _config(run)
    if (run / "training.yml").is_file():
        raise ConfigError(f"--resume {run}: the run is finished (training.yml exists)")
    trainer = get_trainer(str(config["algo"]))
    if not trainer.trained:
        raise ConfigError(f"--resume {run}: a baseline is not trained; start a new run")
    request = _stored_request(config)
    start = time.perf_counter()
    record = trainer.resume(request, FitOptions(run, progress, verbose=verbose))
    write_yaml_atomic(run / "training.yml", record)
    return TrainResult(run=run, timesteps=int(record["timesteps"]), seconds=time.perf_counter() - start)


def training_record(run: Path) -> dict[str, Any]:
    """The run's ``training.yml`` ({} when missing)."""
    path = run / "training.yml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    return data if isinstance(data, dict) else {}


def load_policy(
    run: Path, env: gym.Env[Any, Any] | None = None
) -> tuple[Any, dict[str, Any], gym.Env[Any, Any]]:
    """The trained policy of ``run``, its ``config.yml`` and the environment to evaluate it on (``env``,
    or a new one from the config)."""
    config = read_run(run)
    trainer = get_trainer(str(config["algo"]))
    if not (run / trainer.model_file).is_file():
        raise ConfigError(
            f"{run} is not a complete run folder: missing ['{trainer.model_file}'] (unfinished run?)"
        )
    request = _stored_request(config)
    if env is None:
        env = make_env(request.env_id, request.env_kwargs)
    policy, eval_env = trainer.load(run, request, env)
    return policy, config, eval_env


def real_evaluations_of(env: gym.Env[Any, Any]) -> int:
    """Calls of an expensive quality model (a live LLM) made by ``env``; 0 for table-based ones."""
    from splitgym.profiles.quality import expensive_calls

    return expensive_calls([getattr(env.unwrapped, "quality_model", None)])


def evaluate_run(
    run: Path, episodes: int = 100, seed: int = 1_000_000
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, int]]:
    """Evaluate a run's policy deterministically; write ``evaluation.csv`` into the run.

    Returns the per-episode frame, the run's config and the real evaluations of the quality model:
    ``{"training": ..., "evaluation": ...}`` (training from ``training.yml``; 0 where the quality model is
    a table).
    """
    from splitgym.agents.evaluation import evaluate

    policy, config, env = load_policy(run)
    try:
        before = real_evaluations_of(env)
        frame = evaluate(policy, env, episodes, seed=seed)
        spent = real_evaluations_of(env) - before
    finally:
        env.close()
    write_text_atomic(run / "evaluation.csv", frame.to_csv(index=False))
    trained = int(training_record(run).get("real_evaluations", 0) or 0)
    return frame, config, {"training": trained, "evaluation": spent}
