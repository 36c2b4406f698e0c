"""Baselines through ``train --algo``: "training" builds the policy (the best fixed split or action runs
its calibration episodes), the run has 0 steps, and ``policy.yml`` records what was built (the baseline,
its class and the parameters that rebuild it exactly, e.g. the split calibration chose)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import yaml

from splitgym.agents.baselines import Baseline, BuildContext
from splitgym.agents.runs import write_yaml_atomic
from splitgym.agents.trainers.base import FitOptions, Request, Trainer
from splitgym.errors import ConfigError
from splitgym.registration import env_family

__all__ = ["BaselineTrainer"]


class BaselineTrainer(Trainer):
    """The trainer of one catalogue baseline (:data:`splitgym.agents.baselines.BASELINES`)."""

    trained = False
    model_file = "policy.yml"
    zoo_keys = ()

    def __init__(self, baseline: Baseline) -> None:
        self.baseline = baseline
        self.name = baseline.name
        self.families = baseline.families

    def schema(self) -> type[Any]:
        return type(self.baseline)

    def hyperparams(self, env_id: str, overrides: Mapping[str, Any] | None) -> tuple[dict[str, Any], str]:
        from splitgym.agents.hyperparams import has_yaml, read_yaml_entry

        params, key = read_yaml_entry(self.name, env_id) if has_yaml(self.name) else ({}, "none")
        params.update(overrides or {})
        self.baseline.check_params(params)
        return params, key

    def _build(
        self, request: Request, env: gym.Env[Any, Any]
    ) -> tuple[Any, gym.Env[Any, Any], dict[str, Any]]:
        ctx = BuildContext(env, request.seed, request.env_id, request.env_kwargs)
        return self.baseline.build(ctx, env_family(request.env_id), request.params)

    def prepare(
        self, request: Request, probe: gym.Env[Any, Any]
    ) -> tuple[Any, gym.Env[Any, Any], dict[str, Any]]:
        return self._build(request, probe)

    def fit(self, prepared: Any, request: Request, options: FitOptions) -> dict[str, Any]:
        policy, _, params = prepared
        write_yaml_atomic(
            options.run / self.model_file,
            {"baseline": self.name, "class": type(policy).__name__, "params": params},
        )
        return {"timesteps": 0, "wall_time_s": 0.0, "real_evaluations": 0}

    def load(self, run: Path, request: Request, env: gym.Env[Any, Any]) -> tuple[Any, gym.Env[Any, Any]]:
        try:
            described = yaml.safe_load((run / self.model_file).read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{run}/{self.model_file} is not valid YAML: {exc}") from None
        recorded = described.get("params") if isinstance(described, dict) else None
        if not isinstance(recorded, dict):
            raise ConfigError(f"{run}/{self.model_file} must map 'params' to what was built")
        chosen = Request(
            request.algo,
            request.env_id,
            request.env_kwargs,
            {**request.params, **recorded},
            request.steps,
            request.seed,
        )
        policy, eval_env, _ = self._build(chosen, env)
        return policy, eval_env
