"""Training a model-based agent into a run folder, and loading and resuming it.

The run folder has the files of every run (``config.yml``, ``args.yml``, ``command.txt``) and:

* ``real_evaluations.csv``: every real evaluation of the quality model, written as it is made (see
  :class:`~splitgym.agents.recorded.RecordedQualityModel`);
* ``surrogate/``: the last fitted surrogate (weights and metadata);
* ``model.zip``: the PPO policy trained against the surrogate;
* ``training.yml``: steps, wall time, real and surrogate evaluations and their seconds (written last: a
  run without it is unfinished).

TensorBoard (with ``tensorboard``): PPO's own scalars, ``terms/*`` (every numeric ``info`` entry, the
reward terms included) and ``real/evaluations``, ``real/seconds``, ``surrogate/evaluations``.

Resuming an unfinished run starts the agent again from its seed with the recorded real evaluations
replayed, so no real evaluation is paid twice; PPO's steps against the surrogate are redone (they cost
no real evaluation), so the run ends with exactly its ``n_timesteps``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gymnasium as gym

from splitgym.agents.recorded import RECORD_FILE, RecordedQualityModel
from splitgym.agents.sb3_io import save_model_atomic
from splitgym.agents.trainers.base import FitOptions, Request, Trainer
from splitgym.errors import ConfigError

__all__ = ["SURROGATE_DIR", "ModelBasedTrainer"]

SURROGATE_DIR = "surrogate"


def _counts_callback(agent: Any) -> Any:
    from stable_baselines3.common.callbacks import BaseCallback

    class CountsCallback(BaseCallback):
        """Logs the agent's real and surrogate evaluation counts at the end of every rollout."""

        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            self.logger.record("real/evaluations", agent.real_evaluations)
            self.logger.record("real/seconds", agent.real_seconds)
            self.logger.record("surrogate/evaluations", agent.surrogate_evaluations)

    return CountsCallback()


class ModelBasedTrainer(Trainer):
    """``paper_mb`` (:class:`~splitgym.agents.model_based.PaperModelBasedAgent`) or ``active_mb``
    (:class:`~splitgym.agents.model_based.ActiveModelBasedAgent`); ``n_timesteps`` is the agent's PPO
    steps on the surrogate (the first round's, for ``active_mb``)."""

    families = ("paper_direct", "split")

    def __init__(self, name: str) -> None:
        self.name = name

    def schema(self) -> type[Any]:
        from splitgym.agents.model_based import ActiveModelBasedAgent, PaperModelBasedAgent

        return (PaperModelBasedAgent if self.name == "paper_mb" else ActiveModelBasedAgent).Settings

    def _agent(self, request: Request) -> Any:
        from splitgym.agents.model_based import ActiveModelBasedAgent, PaperModelBasedAgent

        cls = PaperModelBasedAgent if self.name == "paper_mb" else ActiveModelBasedAgent
        settings = cls.Settings(
            seed=request.seed,
            env_id=request.env_id,
            env_kwargs=dict(request.env_kwargs),
            n_timesteps=request.steps,
            **request.agent_kwargs(),
        )
        return cls(None, settings=settings)

    def prepare(self, request: Request, probe: gym.Env[Any, Any]) -> Any:
        agent = self._agent(request)  # built once: the checks run here, before the run folder exists
        if self.name == "paper_mb":  # the grid the budget buys (surrogates.quality.fit_on_budget)
            splits = agent.splits if agent.splits is not None else agent.real_model.splits
            if agent.budget // max(len(splits), 1) < 2:
                raise ConfigError(
                    f"budget {agent.budget} is too small for {len(splits)} split(s): a grid needs at least "
                    f"2 levels per split, i.e. budget >= {2 * len(splits)}"
                )
        return agent

    def fit(self, prepared: Any, request: Request, options: FitOptions) -> dict[str, Any]:
        from splitgym.agents.trainers.sb3 import reward_terms_callback

        agent, run = prepared, options.run
        recorded: list[RecordedQualityModel] = []

        def record(model: Any) -> Any:  # every real evaluation is recorded (and a resumed run's replayed)
            recorded.append(RecordedQualityModel(model, run / RECORD_FILE))
            return recorded[-1]

        start = time.perf_counter()
        agent.fit(
            quality_wrapper=record,
            callback=[reward_terms_callback(), _counts_callback(agent)],
            progress_bar=options.progress,
            tensorboard_log=options.tensorboard,
            tb_log_name=f"{self.name}_{run.name}",
        )
        seconds = time.perf_counter() - start
        agent.surrogate.save(run / SURROGATE_DIR)
        save_model_atomic(agent.model, run / self.model_file)
        rec = recorded[0]
        result: dict[str, Any] = {
            "timesteps": int(agent.model.num_timesteps),
            "wall_time_s": round(seconds, 2),
            "real_evaluations": agent.real_evaluations,
            "real_evaluations_paid_this_session": rec.paid,
            "real_evaluations_replayed": rec.replayed,
            **{k: float(v) for k, v in agent.counts().items() if k != "real_evaluations"},
        }
        if rec.replayed_at_start:
            result["resumed_with_recorded_evaluations"] = rec.replayed_at_start
        if getattr(agent, "history", None):
            result["acquisition"] = [{k: float(v) for k, v in row.items()} for row in agent.history]
        return result

    def resume(self, request: Request, options: FitOptions) -> dict[str, Any]:
        """The agent starts again from its seed with the recorded real evaluations replayed, so none is
        paid twice; PPO's steps against the surrogate are redone (they cost no real evaluation)."""
        return self.fit(self._agent(request), request, options)

    def load(self, run: Path, request: Request, env: gym.Env[Any, Any]) -> tuple[Any, gym.Env[Any, Any]]:
        from stable_baselines3.common.vec_env import DummyVecEnv

        from splitgym.agents.model_based import learner_class
        from splitgym.agents.sb3_io import fresh_model, load_sb3

        cls = learner_class(str(request.params.get("learner", "ppo")))
        path = run / self.model_file
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path} cannot be loaded: {exc.strerror or exc}") from None
        fresh = fresh_model(lambda: cls("MlpPolicy", DummyVecEnv([lambda: env]), device="cpu"))
        return load_sb3(cls, data, fresh, str(path)), env  # weights-only: nothing is unpickled
