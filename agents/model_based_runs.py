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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from splitgym.agents.recorded import RECORD_FILE, RecordedQualityModel
from splitgym.agents.runs import write_yaml_atomic
from splitgym.profiles.quality import CountingQualityModel

__all__ = ["SURROGATE_DIR", "train_model_based"]

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


def train_model_based(
    run: Path,
    algo: str,
    env_id: str,
    env_kwargs: Mapping[str, Any],
    params: Mapping[str, Any],
    steps: int,
    seed: int,
    progress: bool = False,
    tensorboard: Path | None = None,
) -> dict[str, Any]:
    """Fit ``algo`` (``paper_mb``/``active_mb``) on ``env_id``, save it into ``run``; the training record."""
    import os

    from splitgym.agents.algos import agent_class
    from splitgym.agents.sb3 import _reward_terms_callback

    cls = agent_class(algo)
    kwargs = {k: v for k, v in params.items() if k != "n_timesteps"}
    agent = cls(None, seed=seed, env_id=env_id, env_kwargs=env_kwargs, n_timesteps=steps, **kwargs)
    # Every real evaluation goes through the counter: record it (and replay what a resumed run has).
    recorded = RecordedQualityModel(agent.real_model, run / RECORD_FILE)
    replayed_at_start = len(recorded.frame)
    agent.counter = CountingQualityModel(recorded)
    agent.callbacks = [_reward_terms_callback(), _counts_callback(agent)]
    agent.progress_bar = progress
    agent.tensorboard_log = tensorboard
    agent.tb_log_name = f"{algo}_{run.name}"
    start = time.perf_counter()
    agent.fit()
    seconds = time.perf_counter() - start
    assert agent.surrogate is not None and agent.model is not None
    agent.surrogate.save(run / SURROGATE_DIR)
    tmp = run / ".model.tmp.zip"
    agent.model.save(tmp)
    os.replace(tmp, run / "model.zip")
    record: dict[str, Any] = {
        "timesteps": int(agent.model.num_timesteps),
        "wall_time_s": round(seconds, 2),
        "real_evaluations": agent.real_evaluations,
        "real_evaluations_paid_this_session": recorded.paid,
        "real_evaluations_replayed": recorded.replayed,
        **{k: float(v) for k, v in agent.counts().items() if k != "real_evaluations"},
    }
    if replayed_at_start:
        record["resumed_with_recorded_evaluations"] = replayed_at_start
    history = getattr(agent, "history", None)
    if history:
        record["acquisition"] = [{k: float(v) for k, v in row.items()} for row in history]
    write_yaml_atomic(run / "training.yml", record)
    return record
