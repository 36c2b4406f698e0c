"""Hyperparameters per algorithm, keyed by environment ID, read from YAML (RL Zoo layout).

``hyperparams/<algo>.yml`` maps env IDs (and ``default``) to the algorithm's keyword arguments plus the
zoo keys :data:`ZOO_KEYS`. :func:`load_hyperparams` merges the entry with command-line overrides and
checks every key against the algorithm's constructor, so a typo is an error, not a silent default.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from splitgym.errors import ConfigError, suggest

__all__ = ["ZOO_KEYS", "has_yaml", "load_hyperparams", "parse_kv", "read_yaml_entry", "validate_hyperparams"]

ZOO_KEYS = ("n_timesteps", "policy", "n_envs")
# Arguments that the runner sets itself and that a hyperparameter file must not set.
RUNNER_KEYS = (
    "env",
    "seed",
    "tensorboard_log",
    "verbose",
    "device",
    "_init_setup_model",
    "real_model",
    "env_id",
    "env_kwargs",
)


def _yaml_file(algo: str, folder: Path | None) -> Path:
    if folder is not None:
        return folder / f"{algo}.yml"
    return Path(str(resources.files("splitgym.agents") / "hyperparams" / f"{algo}.yml"))


def validate_hyperparams(
    algo: str, algo_class: type[Any], params: Mapping[str, Any], zoo_keys: tuple[str, ...] = ZOO_KEYS
) -> None:
    """Every key is one of ``zoo_keys`` or an argument of ``algo_class``; else a ConfigError naming it."""
    accepted = [p for p in inspect.signature(algo_class.__init__).parameters if p not in ("self", "kwargs")]
    allowed = sorted(set(accepted) - set(RUNNER_KEYS) | set(zoo_keys))
    for key in params:
        if key not in allowed:
            raise ConfigError(
                f"hyperparameter {key!r} is not taken by {algo}{suggest(key, allowed)}; allowed: {allowed}"
            )


def load_hyperparams(
    algo: str,
    algo_class: type[Any],
    env_id: str,
    overrides: Mapping[str, Any] | None = None,
    folder: Path | None = None,
    zoo_keys: tuple[str, ...] = ZOO_KEYS,
) -> tuple[dict[str, Any], str]:
    """The hyperparameters for ``algo`` on ``env_id`` and the YAML key they came from."""
    params, key = read_yaml_entry(algo, env_id, folder)
    params.update(overrides or {})
    validate_hyperparams(algo, algo_class, params, zoo_keys)
    return params, key


def has_yaml(algo: str, folder: Path | None = None) -> bool:
    """Whether ``hyperparams/<algo>.yml`` exists (shipped, or in ``folder``)."""
    return _yaml_file(algo, folder).is_file()


def read_yaml_entry(algo: str, env_id: str, folder: Path | None = None) -> tuple[dict[str, Any], str]:
    """The entry of ``env_id`` (``default`` otherwise) in ``hyperparams/<algo>.yml`` and its key."""
    path = _yaml_file(algo, folder)
    if not path.is_file():
        raise ConfigError(f"no hyperparameter file for algorithm {algo!r} at {path}")
    table = yaml.safe_load(path.read_text()) or {}
    key = env_id if env_id in table else "default"
    return dict(table.get(key) or {}), key


def parse_kv(items: list[str] | None, what: str) -> dict[str, Any]:
    """``["k:v", ...]`` to a dict; each value is parsed as YAML (numbers, lists, booleans, strings)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition(":")
        if not sep or not key:
            raise ConfigError(f"{what} entry {item!r} must look like key:value")
        try:
            value = yaml.safe_load(raw) if raw else None
        except yaml.YAMLError:
            raise ConfigError(f"{what} entry {item!r}: value {raw!r} is not valid YAML") from None
        if isinstance(value, str) and _FLOAT.fullmatch(raw.strip()):
            value = float(value)  # YAML 1.1 reads 3e-4 (no dot) as a string
        if key in out:
            raise ConfigError(f"{what}: {key!r} is given twice ({item!r})")
        out[key] = value
    return out


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
