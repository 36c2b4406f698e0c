"""Training the online LinUCB bandit into a run folder, with checkpoints, and loading it.

The bandit plays the environment's requests one after another and learns from each reward
(:meth:`~splitgym.agents.policies.linucb.LinUCBPolicy.update`) for exactly ``n_timesteps``
steps; episode ``i`` is reset with seed ``seed + i``. Files besides the common run files:

* ``model.npz``: the learned arrays (``A``, ``b``, ``counts``) and the tie-breaking generator's state;
* ``episodes.csv``: return and length of every finished training episode (``monitor.csv``'s role);
* ``checkpoints/linucb_<steps>.npz``: the same as ``model.npz`` plus the episode to start next, written at
  episode ends about ``n_timesteps / 10`` steps apart; ``resume`` continues from the latest one, so the
  run ends with exactly ``n_timesteps`` steps and no finished episode is replayed;
* ``training.yml`` (written last).

TensorBoard (with ``tensorboard``): ``terms/*`` (mean of every numeric ``info`` entry, the reward terms
included) and ``rollout/ep_rew_mean`` per checkpoint interval, against the step count.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from splitgym.agents.trainers.base import FitOptions, Request, Trainer
from splitgym.atomic import write_bytes_atomic, write_text_atomic
from splitgym.errors import ConfigError

__all__ = ["LinUCBTrainer", "load_linucb", "train_linucb"]

CHECKPOINTS = "checkpoints"


def _save(path: Path, policy: Any, **extra: Any) -> None:
    buf = BytesIO()
    state = json.dumps(policy.rng.bit_generator.state)
    np.savez(buf, A=policy.A, b=policy.b, counts=policy.counts, rng_state=np.array(state), **extra)
    write_bytes_atomic(path, buf.getvalue())


def _restore(path: Path, policy: Any) -> dict[str, Any]:
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        A, b, counts = arrays["A"], arrays["b"], arrays["counts"]
        if A.shape != policy.A.shape or b.shape != policy.b.shape:
            raise ValueError(f"arrays of shape {A.shape}, {b.shape}; this bandit has {policy.A.shape}")
        policy.rng.bit_generator.state = json.loads(str(arrays["rng_state"]))
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is not a saved LinUCB bandit: {exc}") from None
    policy.A[...] = A
    policy.b[...] = b
    policy.counts[...] = counts
    policy.A_inv[...] = np.linalg.inv(A)
    policy.theta[...] = np.einsum("kij,kj->ki", policy.A_inv, b)
    return arrays


def load_linucb(run: Path, env: Any, params: Mapping[str, Any], seed: int) -> Any:
    """The trained bandit of ``run`` on ``env``, frozen (no more updates) and playing its UCB rule as
    learned (``explore`` stays on: ANS never switches to the greedy arm, and on FadingSplit-v1 the greedy
    arm of the learned model is worse: 83.3 against 89.1 mean return over 50 evaluation episodes after 200
    learning episodes, alpha 1)."""
    from splitgym.agents.policies.linucb import LinUCBPolicy

    policy = LinUCBPolicy(env, seed=seed, **{k: v for k, v in params.items() if k != "n_timesteps"})
    _restore(run / "model.npz", policy)
    return policy


def _checkpoints(run: Path) -> list[Path]:
    """The checkpoints of ``run``, newest first."""
    found = []
    for path in (run / CHECKPOINTS).glob("linucb_*.npz"):
        try:
            found.append((int(path.stem.split("_")[1]), path))
        except (IndexError, ValueError):
            continue
    return [path for _, path in sorted(found, reverse=True)]


def _restore_latest(run: Path, policy: Any, trust: bool) -> dict[str, Any] | None:
    """The arrays of the newest checkpoint that verifies and loads (restored into ``policy``)."""
    from splitgym.agents import manifest

    for path in _checkpoints(run):
        try:
            manifest.verified_bytes(run, path, trust=trust)
            return _restore(path, policy)
        except (OSError, ConfigError):
            continue
    return None


def train_linucb(
    run: Path,
    env_id: str,
    env_kwargs: Mapping[str, Any],
    params: Mapping[str, Any],
    steps: int,
    seed: int,
    progress: bool = False,
    tensorboard: Path | None = None,
    resume: bool = False,
    trust: bool = False,
) -> dict[str, Any]:
    """Learn online for ``steps`` steps (continuing, when ``resume``, the newest checkpoint that verifies
    against the run's manifest and loads; ``trust`` skips the manifest check)."""
    from rich.progress import Progress

    from splitgym.agents import manifest
    from splitgym.agents.envs import make_env
    from splitgym.agents.policies.linucb import LinUCBPolicy

    env = make_env(env_id, env_kwargs)
    policy = LinUCBPolicy(env, seed=seed, **{k: v for k, v in params.items() if k != "n_timesteps"})
    done, episode, resumed_from = 0, 0, None
    episodes: list[dict[str, float]] = []
    arrays = _restore_latest(run, policy, trust) if resume else None
    if arrays is not None:
        done, episode = int(arrays["steps"]), int(arrays["episode"])
        resumed_from = done
        if (run / "episodes.csv").is_file():
            episodes = pd.read_csv(run / "episodes.csv").to_dict("records")[:episode]
    logger = None
    if tensorboard is not None:
        from stable_baselines3.common.logger import configure

        logger = configure(str(Path(tensorboard) / f"linucb_{run.name}"), ["tensorboard"])
    every = max(steps // 10, 1)
    next_checkpoint = done + every
    start = time.perf_counter()
    with Progress(disable=not progress) as bar:
        task = bar.add_task("linucb", total=steps, completed=done)
        while done < steps:
            obs, _ = env.reset(seed=seed + episode)
            total, length, finished = 0.0, 0, False
            while not finished and done < steps:
                action, _ = policy.predict(obs)
                obs, reward, terminated, truncated, info = env.step(action)
                policy.update(action, float(reward))
                total += float(reward)
                length += 1
                done += 1
                finished = bool(terminated or truncated)
                if logger is not None:
                    for key, value in info.items():
                        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                            logger.record_mean(f"terms/{key}", float(value))
            bar.update(task, completed=done)
            if not finished:
                break  # the step budget ended inside an episode
            episodes.append({"episode": episode, "return": total, "length": length})
            episode += 1
            if done >= next_checkpoint and done < steps:
                write_text_atomic(run / "episodes.csv", pd.DataFrame(episodes).to_csv(index=False))
                (run / CHECKPOINTS).mkdir(exist_ok=True)
                _save(run / CHECKPOINTS / f"linucb_{done}.npz", policy, steps=done, episode=episode)
                manifest.record(run, [run / "episodes.csv", run / CHECKPOINTS / f"linucb_{done}.npz"])
                next_checkpoint = done + every
                if logger is not None:
                    logger.record(
                        "rollout/ep_rew_mean", float(np.mean([e["return"] for e in episodes[-10:]]))
                    )
                    logger.dump(done)
    env.close()
    seconds = time.perf_counter() - start
    if logger is not None:
        logger.dump(done)
        logger.close()
    write_text_atomic(run / "episodes.csv", pd.DataFrame(episodes).to_csv(index=False))
    _save(run / "model.npz", policy)
    record: dict[str, Any] = {"timesteps": done, "wall_time_s": round(seconds, 2), "real_evaluations": 0}
    if resumed_from is not None:
        record["resumed_from_timesteps"] = resumed_from
    return record


class LinUCBTrainer(Trainer):
    """``linucb``: the ANS-style bandit, learning online on a split environment (see the module)."""

    name = "linucb"
    families = ("split",)
    model_file = "model.npz"

    def schema(self) -> type[Any]:
        from splitgym.agents.policies.linucb import LinUCBPolicy

        return LinUCBPolicy

    def prepare(self, request: Request, probe: Any) -> None:
        self.schema()(probe, seed=request.seed, **request.agent_kwargs())  # checks the hyperparameters

    def fit(self, prepared: Any, request: Request, options: FitOptions) -> dict[str, Any]:
        return self._learn(request, options, resume=False)

    def resume(self, request: Request, options: FitOptions) -> dict[str, Any]:
        return self._learn(request, options, resume=True)

    def _learn(self, request: Request, options: FitOptions, resume: bool) -> dict[str, Any]:
        r = request
        return train_linucb(
            options.run,
            r.env_id,
            r.env_kwargs,
            r.params,
            r.steps,
            r.seed,
            options.progress,
            options.tensorboard,
            resume=resume,
            trust=options.trust,
        )

    def load(self, run: Path, request: Request, env: Any) -> tuple[Any, Any]:
        return load_linucb(run, env, request.params, request.seed), env
