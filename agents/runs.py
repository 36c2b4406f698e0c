"""Run folders: everything needed to regenerate a figure (RL Zoo layout).

``runs/<algo>/<Env>_<N>/`` holds ``model.zip``, ``config.yml`` (hyperparameters and env kwargs as used),
``args.yml`` (the command-line arguments), ``command.txt`` (the exact command), ``evaluations.npz`` and
``best_model.zip`` (periodic evaluation), ``monitor.csv`` files and ``evaluation.csv`` once evaluated.
Files are written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from splitgym.atomic import write_text_atomic
from splitgym.errors import ConfigError

__all__ = ["RUN_FILES", "new_run_dir", "read_run", "write_yaml_atomic"]

RUN_FILES = ("model.zip", "config.yml", "args.yml", "command.txt")


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


def read_run(run: Path) -> dict[str, Any]:
    """The ``config.yml`` of a run folder, after checking the folder is a complete run."""
    if not run.is_dir():
        raise ConfigError(f"run folder {run} does not exist")
    missing = [f for f in RUN_FILES if not (run / f).is_file()]
    if missing:
        raise ConfigError(f"{run} is not a complete run folder: missing {missing}")
    try:
        config = yaml.safe_load((run / "config.yml").read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{run}/config.yml is not valid YAML: {exc}") from None
    if not isinstance(config, dict) or not {"algo", "env_id"} <= set(config):
        raise ConfigError(f"{run}/config.yml must map 'algo' and 'env_id'")
    return config
