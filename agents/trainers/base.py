"""What every kind of agent implements: :class:`Trainer`, and the :class:`Request` and
:class:`FitOptions` a run passes it (see :mod:`splitgym.agents.registry`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

from splitgym.agents.hyperparams import has_yaml, load_hyperparams, validate_hyperparams
from splitgym.errors import ConfigError
from splitgym.registration import FAMILIES

__all__ = ["FitOptions", "Request", "Trainer"]


@dataclass(frozen=True)
class Request:
    """What a run trains: env, its overrides, hyperparameters (YAML plus overrides), steps and seed."""

    algo: str
    env_id: str
    env_kwargs: Mapping[str, Any]
    params: Mapping[str, Any]
    steps: int
    seed: int

    def agent_kwargs(self, drop: tuple[str, ...] = ("n_timesteps",)) -> dict[str, Any]:
        """The hyperparameters the agent's constructor takes (without the runner's keys)."""
        return {k: v for k, v in self.params.items() if k not in drop}


@dataclass(frozen=True)
class FitOptions:
    """How a run is trained: its folder and the training hooks."""

    run: Path
    progress: bool = False
    tensorboard: Path | None = None
    eval_episodes: int = 20
    n_evaluations: int = 10
    verbose: int = 0
    #: skip the manifest checks of files a resume loads (``--trust``)
    trust: bool = False


class Trainer(ABC):
    """One kind of agent (see the module docstring)."""

    #: the ``--algo`` name
    name: str
    #: env families it runs on (:data:`splitgym.registration.FAMILIES`)
    families: tuple[str, ...] = tuple(FAMILIES)
    #: the file a finished run holds
    model_file: str = "model.zip"
    #: False for baselines (0 steps, nothing learned)
    trained: bool = True
    #: hyperparameter keys the runner reads itself (besides the constructor's arguments)
    zoo_keys: tuple[str, ...] = ("n_timesteps",)
    #: steps when neither the command line nor the YAML file says
    default_steps: int = 100_000

    def check_family(self, family: str, env_id: str) -> None:
        """A ConfigError if this agent does not run on ``env_id`` (of ``family``)."""
        if family not in self.families:
            raise ConfigError(
                f"{self.name} does not run on {env_id} (a {family!r} environment); it runs on "
                f"{list(self.families)} environments: {_ids_of(self.families)}"
            )

    @abstractmethod
    def schema(self) -> type[Any]:
        """The class whose constructor defines the hyperparameters."""

    def hyperparams(self, env_id: str, overrides: Mapping[str, Any] | None) -> tuple[dict[str, Any], str]:
        """The YAML entry of ``env_id`` (``default`` otherwise; no file: none) with ``overrides``, checked
        against :meth:`schema`; and the YAML key used (``"none"`` without a file)."""
        if not has_yaml(self.name):
            params = dict(overrides or {})
            validate_hyperparams(self.name, self.schema(), params, self.zoo_keys)
            return params, "none"
        return load_hyperparams(self.name, self.schema(), env_id, overrides, zoo_keys=self.zoo_keys)

    @abstractmethod
    def prepare(self, request: Request, probe: gym.Env[Any, Any]) -> Any:
        """Check and build what can be built before the run folder exists (nothing is written)."""

    @abstractmethod
    def fit(self, prepared: Any, request: Request, options: FitOptions) -> dict[str, Any]:
        """Train into ``options.run``; return the training record (``training.yml``)."""

    def resume(self, request: Request, options: FitOptions) -> dict[str, Any]:
        """Continue an unfinished run; the training record."""
        raise ConfigError(f"--resume {options.run}: {self.name} runs cannot be resumed; start a new run")

    @abstractmethod
    def load(self, run: Path, request: Request, env: gym.Env[Any, Any]) -> tuple[Any, gym.Env[Any, Any]]:
        """The trained policy of ``run`` (a :class:`~splitgym.agents.policies.base.Policy`) and the
        environment to evaluate it on (``env``, except for a baseline that needs another kind)."""


def _ids_of(families: tuple[str, ...]) -> list[str]:
    from splitgym.registration import ENVS

    return [e.env_id for e in ENVS if e.family in families]
