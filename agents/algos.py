"""Every agent ``splitgym train --algo`` accepts, by kind, and its hyperparameters.

* ``sb3``: PPO, A2C, DQN (stable-baselines3) and MaskablePPO (sb3-contrib), :mod:`splitgym.agents.sb3`;
* ``model_based``: ``paper_mb`` (Chen et al.'s grid + surrogate + PPO) and ``active_mb`` (the active,
  Dyna-style ensemble agent), :mod:`splitgym.agents.model_based`;
* ``online``: ``linucb`` (the ANS-style contextual bandit, learning online), :mod:`splitgym.agents.linucb`;
* ``baseline``: policies that are not trained: every name of
  :data:`~splitgym.agents.catalogue.BASELINES` (random, edge/device-only, the best fixed split, the
  oracles, ...) and ``neurosurgeon`` (with its ``objective`` and ``quality_floor`` as hyperparameters).

Hyperparameters come from ``hyperparams/<algo>.yml`` keyed by env ID (``default`` otherwise), merged with
overrides and checked against the agent's constructor: a key it does not take is an error naming it.
Baselines without a YAML file take no hyperparameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from splitgym.agents.catalogue import BASELINES
from splitgym.agents.hyperparams import load_hyperparams
from splitgym.errors import ConfigError, suggest

__all__ = [
    "ALL_ALGOS",
    "BASELINE_ALGOS",
    "MODEL_BASED_ALGOS",
    "ONLINE_ALGOS",
    "SB3_ALGOS",
    "algo_kind",
    "hyperparams_for",
]

SB3_ALGOS = ("ppo", "a2c", "dqn", "maskable_ppo")
MODEL_BASED_ALGOS = ("paper_mb", "active_mb")
ONLINE_ALGOS = ("linucb",)
BASELINE_ALGOS = (*BASELINES, "neurosurgeon")
ALL_ALGOS = (*SB3_ALGOS, *MODEL_BASED_ALGOS, *ONLINE_ALGOS, *BASELINE_ALGOS)


def algo_kind(algo: str) -> str:
    """``"sb3"``, ``"model_based"``, ``"online"`` or ``"baseline"``; a ConfigError for an unknown name."""
    if algo in SB3_ALGOS:
        return "sb3"
    if algo in MODEL_BASED_ALGOS:
        return "model_based"
    if algo in ONLINE_ALGOS:
        return "online"
    if algo in BASELINE_ALGOS:
        return "baseline"
    raise ConfigError(
        f"unknown algorithm {algo!r}{suggest(str(algo), ALL_ALGOS)}; allowed: {list(ALL_ALGOS)}"
    )


def agent_class(algo: str) -> type[Any]:
    """The class whose constructor defines ``algo``'s hyperparameters."""
    kind = algo_kind(algo)
    if kind == "sb3":
        from splitgym.agents.sb3 import algo_class

        return algo_class(algo)
    if algo == "paper_mb":
        from splitgym.agents.model_based import PaperModelBasedAgent

        return PaperModelBasedAgent
    if algo == "active_mb":
        from splitgym.agents.model_based import ActiveModelBasedAgent

        return ActiveModelBasedAgent
    if algo == "linucb":
        from splitgym.agents.linucb import LinUCBPolicy

        return LinUCBPolicy
    from splitgym.agents.neurosurgeon import NeurosurgeonPolicy

    return NeurosurgeonPolicy


def _has_yaml(algo: str) -> bool:
    return Path(str(resources.files("splitgym.agents") / "hyperparams" / f"{algo}.yml")).is_file()


def hyperparams_for(
    algo: str, env_id: str, overrides: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """``algo``'s hyperparameters on ``env_id`` (YAML entry plus ``overrides``) and the YAML key used."""
    kind = algo_kind(algo)
    if kind == "sb3":
        return load_hyperparams(algo, agent_class(algo), env_id, overrides)
    if kind == "baseline" and not _has_yaml(algo):
        if overrides:
            raise ConfigError(
                f"baseline {algo!r} takes no hyperparameters, got {sorted(overrides)}; it is not trained"
            )
        return {}, "none"
    zoo = ("n_timesteps",) if kind != "baseline" else ()
    return load_hyperparams(algo, agent_class(algo), env_id, overrides, zoo_keys=zoo)
