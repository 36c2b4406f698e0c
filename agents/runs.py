"""Run folders: everything needed to regenerate a figure (RL Zoo layout).

``runs/<algo>/<Env>_<N>/`` holds ``model.zip``, ``config.yml`` (hyperparameters and env kwargs as used),
``args.yml`` (the command-line arguments), ``command.txt`` (the exact command), ``evaluations.npz`` and
``best_model.zip`` (periodic evaluation), ``monitor.csv`` files and ``evaluation.csv`` once evaluated.
Files are written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import platform
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from splitgym.atomic import write_text_atomic
from splitgym.errors import ConfigError
from splitgym.yamlfile import load_yaml

__all__ = ["RUN_FILES", "new_run_dir", "read_run", "versions", "write_run_header", "write_yaml_atomic"]

RUN_FILES = ("config.yml", "args.yml", "command.txt")  # every run; the model file depends on the algo


def env_folder_name(env_id: str) -> str:
    """``splitgym/PaperSplit-v0`` -> ``PaperSplit-v0``; other namespaces keep theirs (``ns-Name-v0``)."""
    if env_id.startswith("splitgym/"):
        env_id = env_id[len("splitgym/") :]
    return env_id.replace("/", "-").replace(":", "-")


def new_run_dir(root: Path, algo: str, env_id: str) -> Path:
    """Create and return the next free ``root/algo/<Env>_<N>`` (N counts from 1)."""
    base = root / algo
    base.mkdir(parents=True, exist_ok=True)
    name = env_folder_name(env_id)
    pattern = re.compile(rf"^{re.escape(name)}_(\d+)$")
    taken = [int(m.group(1)) for p in base.iterdir() if (m := pattern.match(p.name))]
    n = max(taken, default=0) + 1
    while True:
        run = base / f"{name}_{n}"
        try:
            run.mkdir()
            return run
        except FileExistsError:
            n += 1


def write_yaml_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, yaml.safe_dump(data, sort_keys=False))


def versions() -> dict[str, str]:
    """Versions of the packages a result depends on, and the machine."""
    import gymnasium as gym
    import numpy as np
    import stable_baselines3
    import torch

    import splitgym

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


def write_run_header(
    run: Path,
    algo: str,
    env_id: str,
    seed: int,
    steps: int,
    hyperparams_key: str,
    hyperparams: Mapping[str, Any],
    env_kwargs: Mapping[str, Any],
    env_config: Mapping[str, Any],
    command: Sequence[str] | None,
    args: Mapping[str, Any] | None,
    evaluation: Mapping[str, int] | None = None,
) -> None:
    """``config.yml`` (algo, env, seed, steps, hyperparameters, env kwargs and the resolved env config,
    versions), ``args.yml`` and ``command.txt`` of a new run."""
    write_yaml_atomic(
        run / "config.yml",
        {
            "algo": algo,
            "env_id": env_id,
            "seed": seed,
            "n_timesteps": steps,
            "hyperparams_key": hyperparams_key,
            "hyperparams": {k: v for k, v in hyperparams.items() if k != "n_timesteps"},
            "env_kwargs": dict(env_kwargs),
            "env_config": dict(env_config),  # every environment parameter as resolved, defaults included
            # periodic evaluation during training (a resume continues with the same settings)
            "evaluation": dict(evaluation or {}),
            "versions": versions(),
        },
    )
    write_yaml_atomic(run / "args.yml", dict(sorted((args or {}).items())))
    write_text_atomic(run / "command.txt", shlex.join(command if command is not None else sys.argv) + "\n")


def read_run(run: Path) -> dict[str, Any]:
    """The ``config.yml`` of a run folder, after checking the folder is a complete run."""
    if not run.is_dir():
        raise ConfigError(f"run folder {run} does not exist")
    missing = [f for f in RUN_FILES if not (run / f).is_file()]
    if missing:
        raise ConfigError(f"{run} is not a complete run folder: missing {missing}")
    config = load_yaml(run / "config.yml", f"{run}/config.yml")
    if not isinstance(config, dict) or not {"algo", "env_id"} <= set(config):
        raise ConfigError(f"{run}/config.yml must map 'algo' and 'env_id'")
    return config
