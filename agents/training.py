"""One entry point for every agent of :mod:`splitgym.agents.algos`: train into a run folder, resume,
load as a policy and evaluate.

Every run folder (``runs/<algo>/<Env>_<N>/``) holds ``config.yml``, ``args.yml`` and ``command.txt``; the
model file depends on the kind: ``model.zip`` (SB3, and the PPO policy of a model-based agent, beside its
``surrogate/`` and ``real_evaluations.csv``), ``model.npz`` (LinUCB) or ``policy.yml`` (a baseline: what
it is and, for the best fixed split, which split calibration chose). ``training.yml`` is written last
and records steps, wall time and the real evaluations of the quality model the training spent.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd
import yaml

from splitgym.agents import sb3
from splitgym.agents.algos import algo_kind, hyperparams_for
from splitgym.agents.runs import new_run_dir, read_run, write_run_header, write_yaml_atomic
from splitgym.atomic import write_text_atomic
from splitgym.envs.config import config_dict
from splitgym.errors import ConfigError

__all__ = ["evaluate_run", "load_policy", "real_evaluations_of", "resume", "train", "training_record"]

MODEL_FILE = {"sb3": "model.zip", "model_based": "model.zip", "online": "model.npz", "baseline": "policy.yml"}
DEFAULT_STEPS = 100_000


def _check_env(algo: str, kind: str, env: gym.Env[Any, Any], env_id: str) -> None:
    from splitgym.agents.catalogue import baselines_for, env_family

    family = env_family(env)
    if kind == "model_based":
        from splitgym.envs.paper import PaperSplitDirectEnv

        if family != "split" and not isinstance(env.unwrapped, PaperSplitDirectEnv):
            raise ConfigError(
                f"{algo} runs on splitgym/PaperSplitDirect-v0 or a splitgym/FadingSplit-* environment, "
                f"not {env_id}"
            )
    elif (kind == "online" or algo == "neurosurgeon") and family != "split":
        raise ConfigError(f"{algo} needs a splitgym/FadingSplit-* environment, not {env_id}")
    elif kind == "baseline" and algo != "neurosurgeon" and algo not in baselines_for(family):
        raise ConfigError(
            f"baseline {algo!r} is not offered by {env_id}; its baselines: {list(baselines_for(family))}"
        )


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
) -> sb3.TrainResult:
    """Train ``algo`` (any of :data:`~splitgym.agents.algos.ALL_ALGOS`) on ``env_id`` into a new run folder.

    Every input is checked before anything is written. For a baseline, "training" is building it (the
    best fixed split runs its calibration episodes) and the run has 0 steps.
    """
    kind = algo_kind(algo)
    if kind == "sb3":
        return sb3.train(env_id, algo, n_timesteps, seed, env_kwargs, hyperparams, root, progress,
                         tensorboard, eval_episodes, n_evaluations, command, args, verbose)  # fmt: skip
    sb3.check_env_id(env_id)
    env_kwargs = dict(env_kwargs or {})
    params, key = hyperparams_for(algo, env_id, hyperparams)
    if kind == "baseline":
        if n_timesteps:
            raise ConfigError(f"baseline {algo!r} is not trained: drop --n-timesteps")
        steps = 0
    else:
        steps = int(n_timesteps if n_timesteps is not None else params.get("n_timesteps", DEFAULT_STEPS))
        if steps < 1:
            raise ConfigError(f"n_timesteps must be >= 1, got {steps}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    probe = sb3.make_env(env_id, env_kwargs)
    try:
        _check_env(algo, kind, probe, env_id)
        inner_config = getattr(probe.unwrapped, "config", None)
        env_config = config_dict(inner_config) if dataclasses.is_dataclass(inner_config) else {}
        # Constructor arguments are checked before the run folder exists.
        if kind == "baseline":
            policy = _baseline(algo, probe, params, seed, env_id, env_kwargs)
        elif kind == "model_based":
            from splitgym.agents.algos import agent_class

            kwargs = {k: v for k, v in params.items() if k != "n_timesteps"}
            agent_class(algo)(
                None, seed=seed, env_id=env_id, env_kwargs=env_kwargs, n_timesteps=steps, **kwargs
            )
        else:
            from splitgym.agents.linucb import LinUCBPolicy

            LinUCBPolicy(probe, seed=seed, **{k: v for k, v in params.items() if k != "n_timesteps"})
    finally:
        probe.close()
    run = new_run_dir(Path(root), algo, env_id)
    write_run_header(run, algo, env_id, seed, steps, key, params, env_kwargs, env_config, command, args)
    return _fit(run, algo, kind, env_id, env_kwargs, params, steps, seed, progress, tensorboard,
                policy if kind == "baseline" else None)  # fmt: skip


def _baseline(
    algo: str,
    env: gym.Env[Any, Any],
    params: Mapping[str, Any],
    seed: int,
    env_id: str,
    env_kwargs: Mapping[str, Any],
) -> Any:
    if algo == "neurosurgeon":
        from splitgym.agents.neurosurgeon import NeurosurgeonPolicy

        return NeurosurgeonPolicy(env, **params)
    if algo == "fixed_split":
        from splitgym.agents.catalogue import CALIBRATION_SEED
        from splitgym.agents.split_baselines import FixedSplitPolicy, best_fixed_split

        split = params.get("split")
        if split is None:
            split = best_fixed_split(env, seed=seed + CALIBRATION_SEED)[0]
        return FixedSplitPolicy(env, int(split))
    from splitgym.agents.catalogue import make_baseline

    return make_baseline(algo, env, seed=seed, env_id=env_id, env_kwargs=env_kwargs)[0]


def _fit(
    run: Path,
    algo: str,
    kind: str,
    env_id: str,
    env_kwargs: Mapping[str, Any],
    params: Mapping[str, Any],
    steps: int,
    seed: int,
    progress: bool,
    tensorboard: Path | None,
    policy: Any = None,
    resume: bool = False,
) -> sb3.TrainResult:
    start = time.perf_counter()
    if kind == "model_based":
        from splitgym.agents.model_based_runs import train_model_based

        record = train_model_based(run, algo, env_id, env_kwargs, params, steps, seed, progress, tensorboard)
    elif kind == "online":
        from splitgym.agents.online_runs import train_linucb

        record = train_linucb(run, env_id, env_kwargs, params, steps, seed, progress, tensorboard, resume)
    else:
        described: dict[str, Any] = {"baseline": algo, "class": type(policy).__name__}
        if hasattr(policy, "split"):
            described["split"] = int(policy.split)
        write_yaml_atomic(run / "policy.yml", described)
        record = {"timesteps": 0, "wall_time_s": round(time.perf_counter() - start, 2), "real_evaluations": 0}
        write_yaml_atomic(run / "training.yml", record)
    return sb3.TrainResult(run=run, timesteps=int(record["timesteps"]), seconds=time.perf_counter() - start)


def resume(run: Path, progress: bool = False, verbose: int = 0) -> sb3.TrainResult:
    """Continue an interrupted run up to its ``n_timesteps`` (see each kind's module for how)."""
    config_path = run / "config.yml"
    if not config_path.is_file():
        raise ConfigError(f"--resume {run}: not a run folder (no config.yml)")
    try:
        config = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"--resume {run}: config.yml is not valid YAML: {exc}") from None
    if not isinstance(config, dict) or "algo" not in config:
        raise ConfigError(f"--resume {run}: config.yml must map 'algo' and 'env_id'")
    kind = algo_kind(str(config["algo"]))
    if kind == "sb3":
        return sb3.resume(run, progress=progress, verbose=verbose)
    if (run / "training.yml").is_file():
        raise ConfigError(f"--resume {run}: the run is finished (training.yml exists)")
    if kind == "baseline":
        raise ConfigError(f"--resume {run}: a baseline is not trained; start a new run")
    params = dict(config.get("hyperparams") or {})
    return _fit(run, str(config["algo"]), kind, str(config["env_id"]), dict(config.get("env_kwargs") or {}),
                params, int(config["n_timesteps"]), int(config["seed"]), progress, None,
                resume=True)  # fmt: skip


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
    algo = str(config["algo"])
    kind = algo_kind(algo)
    if not (run / MODEL_FILE[kind]).is_file():
        raise ConfigError(
            f"{run} is not a complete run folder: missing ['{MODEL_FILE[kind]}'] (unfinished run?)"
        )
    env_id, env_kwargs = str(config["env_id"]), dict(config.get("env_kwargs") or {})
    if env is None:
        env = sb3.make_env(env_id, env_kwargs)
    params = dict(config.get("hyperparams") or {})
    seed = int(config.get("seed", 0))
    if kind == "sb3":
        return sb3.load_model(run)[0], config, env
    if kind == "model_based":
        from splitgym.agents.model_based import _learner_class

        try:
            cls = _learner_class(str(params.get("learner", "ppo")))
            return cls.load(run / "model.zip", device="cpu"), config, env
        except (ValueError, KeyError, OSError, RuntimeError) as exc:
            raise ConfigError(f"{run}/model.zip cannot be loaded: {exc}") from None
    if kind == "online":
        from splitgym.agents.online_runs import load_linucb

        return load_linucb(run, env, params, seed), config, env
    try:
        described = yaml.safe_load((run / "policy.yml").read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{run}/policy.yml is not valid YAML: {exc}") from None
    if isinstance(described, dict) and "split" in described:
        params = {**params, "split": described["split"]}
    return _baseline(algo, env, params, seed, env_id, env_kwargs), config, env


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
