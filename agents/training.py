"""One entry point for every agent of the registry (:mod:`splitgym.agents.registry`): train into a run
folder, resume, load as a policy and evaluate.

Every run folder (``runs/<algo>/<Env>_<N>/``) holds ``config.yml``, ``args.yml`` and ``command.txt``; the
model file is the trainer's (``model.zip``, ``model.npz`` or ``policy.yml``); ``training.yml`` is written
last and records steps, wall time and the real evaluations of the quality model the training spent: a
folder without it is unfinished.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd
import yaml

from splitgym.agents import manifest
from splitgym.agents.envs import check_env_id, make_env
from splitgym.agents.registry import FitOptions, Request, get_trainer
from splitgym.agents.runs import RUN_FILES, new_run_dir, read_run, write_run_header, write_yaml_atomic
from splitgym.atomic import write_text_atomic
from splitgym.envs.config import config_dict
from splitgym.errors import ConfigError
from splitgym.registration import env_family
from splitgym.yamlfile import load_yaml

__all__ = [
    "TrainResult",
    "check_request",
    "check_writable_folder",
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
    is building it (the best fixed split runs its calibration episodes) and the run has 0 steps. Every
    file of the run is recorded in its manifest (:mod:`splitgym.agents.manifest`).
    """
    trainer = get_trainer(algo)
    request, key = _request(algo, env_id, n_timesteps, seed, env_kwargs, hyperparams)
    for flag, folder in (("--log-folder", Path(root)), ("--tensorboard", tensorboard)):
        if folder is not None:
            check_writable_folder(Path(folder), flag)
    probe = make_env(request.env_id, request.env_kwargs)
    try:
        inner_config = getattr(probe.unwrapped, "config", None)
        env_config = config_dict(inner_config) if dataclasses.is_dataclass(inner_config) else {}
        prepared = trainer.prepare(request, probe)
    finally:
        probe.close()
    run = new_run_dir(Path(root), algo, request.env_id)
    # The header is written into a hidden staging folder renamed onto the (empty, reserved) run folder:
    # a kill leaves an empty folder or a complete header, never a half-written one.
    staging = Path(tempfile.mkdtemp(prefix=f".{run.name}.", dir=run.parent))
    try:
        manifest.start_manifest(staging, algo, request.env_id)
        write_run_header(
            staging,
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
            evaluation={"eval_episodes": eval_episodes, "n_evaluations": n_evaluations},
        )
        manifest.record(staging, [staging / name for name in RUN_FILES])
        os.replace(staging, run)
    except BaseException:  # nothing of the run exists yet but a header: leave no half-made folder
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(run, ignore_errors=True)
        raise
    options = FitOptions(run, progress, tensorboard, eval_episodes, n_evaluations, verbose)
    start = time.perf_counter()
    record = trainer.fit(prepared, request, options)
    _finish(run, record)
    return TrainResult(run=run, timesteps=int(record["timesteps"]), seconds=time.perf_counter() - start)


# Files that grow while a run trains: recorded (again) when it finishes.
_LIVE = ("*.monitor.csv", "episodes.csv", "real_evaluations.csv")


def _finish(run: Path, record: Mapping[str, Any]) -> None:
    """Record every file of the run (checkpoints already listed keep their entry), then ``training.yml``
    (last: the run is finished)."""
    listed = manifest.recorded(run)
    new = []
    for path in sorted(p for p in run.rglob("*") if p.is_file()):
        name = path.relative_to(run).as_posix()
        if name == manifest.MANIFEST or path.name.startswith("."):
            continue
        # Checkpoints were recorded as written (and verified when a resume loaded one); every other file
        # is recorded as it is now (the model file, the surrogate, the monitors a resume rewrote, ...).
        if name not in listed or not name.startswith("checkpoints/"):
            new.append(path)
    manifest.record(run, new)
    write_yaml_atomic(run / "training.yml", dict(record))
    manifest.record(run, [run / "training.yml"])


def check_writable_folder(folder: Path, flag: str) -> None:
    """A ConfigError unless ``folder`` is, or can be created as, a writable folder (nothing is made)."""
    probe = Path(folder)
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ConfigError(f"{flag} {folder}: {probe} is not a folder")
    try:  # a real attempt (root passes os.access everywhere, /proc refuses anyway); removed at once
        os.rmdir(tempfile.mkdtemp(prefix=".splitgym-probe-", dir=probe))
    except OSError as exc:
        raise ConfigError(f"{flag} {folder}: {probe} is not writable ({exc.strerror or exc})") from None


def _config(run: Path) -> dict[str, Any]:
    config_path = run / "config.yml"
    if not config_path.is_file():
        raise ConfigError(f"--resume {run}: not a run folder (no config.yml)")
    config = load_yaml(config_path, f"--resume {run}: config.yml") or {}
    if not isinstance(config, dict) or not {"algo", "env_id", "n_timesteps", "seed"} <= set(config):
        raise ConfigError(f"--resume {run}: config.yml must map 'algo', 'env_id', 'n_timesteps' and 'seed'")
    return config


def _stored_request(config: Mapping[str, Any], where: Path) -> Request:
    """The request a run's ``config.yml`` describes, every value checked (an edited file gives a
    ConfigError naming the key, the value and what is allowed)."""
    what = f"{where}/config.yml"
    algo, env_id = config.get("algo"), config.get("env_id")
    if not isinstance(algo, str):
        raise ConfigError(f"{what}: 'algo' must be an algorithm name, got {algo!r}")
    trainer = get_trainer(algo)
    if not isinstance(env_id, str):
        raise ConfigError(f"{what}: 'env_id' must be an environment ID, got {env_id!r}")
    env_id = check_env_id(env_id)
    trainer.check_family(env_family(env_id), env_id)
    params = config.get("hyperparams") or {}
    kwargs = config.get("env_kwargs") or {}
    for key, value in (("hyperparams", params), ("env_kwargs", kwargs)):
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{what}: '{key}' must be a mapping of names to values, got {value!r}")
    steps, seed = config.get("n_timesteps"), config.get("seed", 0)
    least = 1 if trainer.trained else 0
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < least:
        raise ConfigError(f"{what}: 'n_timesteps' must be an integer >= {least}, got {steps!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{what}: 'seed' must be a non-negative integer, got {seed!r}")
    return Request(algo, env_id, dict(kwargs), dict(params), steps, seed)


def resume(run: Path, progress: bool = False, verbose: int = 0, trust: bool = False) -> TrainResult:
    """Continue an interrupted run up to its ``n_timesteps`` (each trainer's docstring says how).

    The run folder is first checked against its manifest (``config.yml`` and the header files unchanged,
    the manifest naming the same algorithm and environment); checkpoints are checked one by one as a
    trainer loads them, and one that does not verify is skipped. ``trust`` skips these checks.
    """
    run = Path(run)
    config = _config(run)
    if (run / "training.yml").is_file():
        raise ConfigError(f"--resume {run}: the run is finished (training.yml exists)")
    missing = [name for name in RUN_FILES if not (run / name).is_file()]
    if missing:
        raise ConfigError(f"--resume {run}: not a complete run folder: missing {missing}")
    manifest.verify(
        run, str(config["algo"]), str(config["env_id"]), required=RUN_FILES, only=RUN_FILES, trust=trust
    )
    request = _stored_request(config, run)
    trainer = get_trainer(request.algo)
    if not trainer.trained:
        raise ConfigError(f"--resume {run}: a baseline is not trained; start a new run")
    start = time.perf_counter()
    evaluation = config.get("evaluation") or {}
    settings = {"eval_episodes": 20, "n_evaluations": 10}
    if not isinstance(evaluation, dict):
        raise ConfigError(f"{run}/config.yml: 'evaluation' must be a mapping, got {evaluation!r}")
    if evaluation:
        for key, value in evaluation.items():
            if key in settings:
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(
                        f"{run}/config.yml: evaluation {key} must be an integer >= 1, got {value!r}"
                    )
                settings[key] = value
    options = FitOptions(
        run,
        progress,
        eval_episodes=settings["eval_episodes"],
        n_evaluations=settings["n_evaluations"],
        verbose=verbose,
        trust=trust,
    )
    record = trainer.resume(request, options)
    _finish(run, record)
    return TrainResult(run=run, timesteps=int(record["timesteps"]), seconds=time.perf_counter() - start)


def training_record(run: Path) -> dict[str, Any]:
    """The run's ``training.yml`` ({} when missing)."""
    path = run / "training.yml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        message = str(exc).replace("\n", " ")
        raise ConfigError(f"{path} is not valid YAML: {message}") from None
    return data if isinstance(data, dict) else {}


def load_policy(
    run: Path, env: gym.Env[Any, Any] | None = None, trust: bool = False
) -> tuple[Any, dict[str, Any], gym.Env[Any, Any]]:
    """The trained policy of ``run``, its ``config.yml`` and the environment to evaluate it on (``env``,
    or a new one from the config).

    Before anything is loaded, every file the run's manifest lists is checked (``config.yml`` and the
    model file included) and the manifest must name the algorithm and environment of ``config.yml``
    (:func:`splitgym.agents.manifest.verify`; ``trust`` skips this). Models are loaded weights-only.
    """
    run = Path(run)
    config = read_run(run)
    manifest.verify(run, str(config["algo"]), str(config["env_id"]), required=RUN_FILES, trust=trust)
    request = _stored_request(config, run)
    trainer = get_trainer(request.algo)
    if not (run / trainer.model_file).is_file():
        raise ConfigError(
            f"{run} is not a complete run folder: missing ['{trainer.model_file}'] (unfinished run?)"
        )
    if not trust and trainer.model_file not in manifest.recorded(run):
        raise manifest.ManifestError(
            f"{run}/{trainer.model_file} is not listed in {manifest.MANIFEST}; pass --trust to load it anyway"
        )
    if env is None:
        env = make_env(request.env_id, request.env_kwargs)
    policy, eval_env = trainer.load(run, request, env)
    return policy, config, eval_env


def real_evaluations_of(env: gym.Env[Any, Any]) -> int:
    """Calls of an expensive quality model (a live LLM) made by ``env``; 0 for table-based ones."""
    from splitgym.profiles.quality import expensive_calls

    return expensive_calls([getattr(env.unwrapped, "quality_model", None)])


def evaluate_run(
    run: Path, episodes: int = 100, seed: int = 1_000_000, trust: bool = False
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, int]]:
    """Evaluate a run's policy deterministically; write ``evaluation.csv`` into the run.

    Returns the per-episode frame, the run's config and the real evaluations of the quality model:
    ``{"training": ..., "evaluation": ...}`` (training from ``training.yml``; 0 where the quality model is
    a table).
    """
    from splitgym.agents.evaluation import evaluate

    policy, config, env = load_policy(run, trust=trust)
    try:
        before = real_evaluations_of(env)
        frame = evaluate(policy, env, episodes, seed=seed)
        spent = real_evaluations_of(env) - before
    finally:
        env.close()
    write_text_atomic(run / "evaluation.csv", frame.to_csv(index=False))
    manifest.record(run, [run / "evaluation.csv"])
    trained = int(training_record(run).get("real_evaluations", 0) or 0)
    return frame, config, {"training": trained, "evaluation": spent}
