"""Crash-safe files of an SB3 run: monitors, checkpoints, periodic evaluations and the best model.

* ``<rank>.monitor.csv``: one ``os.write`` per episode on an ``O_APPEND`` descriptor, truncated back on a
  failed write (a full disk), so the file holds whole rows only;
* ``checkpoints/model_<steps>_steps.zip`` (and ``model_replay_buffer_<steps>_steps.npz`` for off-policy
  algorithms), ``evaluations.npz`` and ``best_model.zip``: written to memory or a temporary file and
  renamed into place, then recorded in the manifest (:mod:`splitgym.agents.manifest`).

Checkpoints and evaluations happen at the same steps (the callbacks share ``every``; the evaluation runs
first), so the model of an evaluation is the checkpoint of its step. :func:`restore_to_checkpoint` makes a
run's files consistent with the checkpoint a resume starts from: monitor rows after it dropped,
evaluations up to it kept, and ``best_model.zip`` the best of those (the checkpoint of the best one).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from splitgym.agents import manifest
from splitgym.agents.sb3_io import model_bytes, replay_buffer_bytes
from splitgym.atomic import write_bytes_atomic, write_text_atomic

__all__ = [
    "CHECKPOINTS",
    "checkpoint_path",
    "checkpoints",
    "make_monitored_vec_env",
    "replay_path",
    "restore_to_checkpoint",
    "safe_checkpoint_callback",
    "safe_eval_callback",
]

CHECKPOINTS = "checkpoints"
EVALUATIONS = "evaluations.npz"
BEST = "best_model.zip"


def checkpoint_path(run: Path, steps: int) -> Path:
    return Path(run) / CHECKPOINTS / f"model_{steps}_steps.zip"


def replay_path(run: Path, steps: int) -> Path:
    return Path(run) / CHECKPOINTS / f"model_replay_buffer_{steps}_steps.npz"


def checkpoints(run: Path) -> list[tuple[int, Path]]:
    """The checkpoint files of ``run``, newest first."""
    found = []
    for path in (Path(run) / CHECKPOINTS).glob("model_*_steps.zip"):
        try:
            found.append((int(path.stem.split("_")[1]), path))
        except (IndexError, ValueError):
            continue
    return sorted(found, reverse=True)


# -- monitors ------------------------------------------------------------------------------------------


class _AppendWriter:
    """SB3's ``ResultsWriter`` interface: whole rows appended with one write each."""

    def __init__(self, path: Path, header: dict[str, Any], fields: Sequence[str], append: bool) -> None:
        self.path = path
        self.fields = tuple(fields)
        if not append or not path.is_file():
            head = io.StringIO()
            head.write(f"#{json.dumps(header)}\n")
            csv.writer(head, lineterminator="\n").writerow(self.fields)
            write_text_atomic(path, head.getvalue())

    def write_row(self, epinfo: dict[str, Any]) -> None:
        line = io.StringIO()
        csv.DictWriter(line, fieldnames=self.fields, lineterminator="\n").writerow(epinfo)
        data = line.getvalue().encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            size = os.fstat(fd).st_size
            try:
                if os.write(fd, data) != len(data):
                    raise OSError(28, "No space left on device (short write)", str(self.path))
            except OSError:
                os.ftruncate(fd, size)  # no half row is left behind
                raise
        finally:
            os.close(fd)

    def close(self) -> None:
        pass


def _monitor(env: gym.Env[Any, Any], path: Path, info_keywords: tuple[str, ...], append: bool) -> Any:
    from stable_baselines3.common.monitor import Monitor

    monitor = Monitor(env, filename=None, info_keywords=info_keywords)
    header = {"t_start": monitor.t_start, "env_id": str(env.spec and env.spec.id)}
    monitor.results_writer = _AppendWriter(path, header, ("r", "l", "t", *info_keywords), append)  # type: ignore[assignment]
    return monitor


def make_monitored_vec_env(
    env_id: str,
    n_envs: int,
    seed: int,
    env_kwargs: dict[str, Any],
    monitor_dir: Path | None,
    info_keywords: tuple[str, ...] = (),
    append: bool = False,
) -> Any:
    """As SB3's ``make_vec_env`` (env ``rank`` seeded ``seed + rank``), with crash-safe monitors."""
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from splitgym.agents.envs import make_env

    def factory(rank: int) -> Any:
        def init() -> gym.Env[Any, Any]:
            env = make_env(env_id, env_kwargs)
            env.action_space.seed(seed + rank)
            if monitor_dir is None:
                return Monitor(env)
            monitored: gym.Env[Any, Any] = _monitor(
                env, Path(monitor_dir) / f"{rank}.monitor.csv", info_keywords, append
            )
            return monitored

        return init

    venv = DummyVecEnv([factory(i) for i in range(n_envs)])
    venv.seed(seed)
    return venv


def trim_monitor(path: Path, steps: int) -> None:
    """Keep the rows of a monitor file whose episodes ended within the first ``steps`` steps of its env
    (and drop a partial last line); rewritten atomically."""
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    if len(lines) < 2:
        path.unlink()
        return
    keep = lines[:2]
    columns = next(csv.reader([lines[1]]))
    try:
        length_at = columns.index("l")
    except ValueError:
        path.unlink()
        return
    total = 0
    for line in lines[2:]:
        if not line.endswith("\n"):
            break
        row = next(csv.reader([line]), [])
        try:
            total += int(float(row[length_at]))
        except (IndexError, ValueError):
            break
        if total > steps:
            break
        keep.append(line)
    write_text_atomic(path, "".join(keep))


# -- callbacks ------------------------------------------------------------------------------------------


def safe_checkpoint_callback(run: Path, every: int) -> Any:
    """Every ``every`` calls: the replay buffer (off-policy) and then the model, each written atomically
    and recorded in the manifest (a checkpoint whose buffer is missing is never used)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class SafeCheckpoint(BaseCallback):
        def _on_step(self) -> bool:
            if self.n_calls % every == 0:
                (Path(run) / CHECKPOINTS).mkdir(exist_ok=True)
                steps = self.num_timesteps
                buffer = getattr(self.model, "replay_buffer", None)
                if buffer is not None:
                    _write_recorded(run, replay_path(run, steps), replay_buffer_bytes(buffer))
                _write_recorded(run, checkpoint_path(run, steps), model_bytes(self.model))
            return True

    return SafeCheckpoint()


def _write_recorded(run: Path, path: Path, data: bytes) -> None:
    write_bytes_atomic(path, data)
    manifest.record_bytes(run, path, data)


def safe_eval_callback(base: type[Any], run: Path, eval_env: Any, **kwargs: Any) -> Any:
    """An instance of ``base`` (SB3's ``EvalCallback`` or sb3-contrib's ``MaskableEvalCallback``) whose
    ``evaluations.npz`` and ``best_model.zip`` are written atomically and recorded in the manifest."""

    class SafeEval(base):  # type: ignore[misc]
        def _on_step(self) -> bool:
            before = (len(self.evaluations_timesteps), self.best_mean_reward)
            tmp = Path(run) / ".evaluations.tmp.npz"
            self.log_path = str(tmp)
            try:
                result = bool(super()._on_step())
                if len(self.evaluations_timesteps) > before[0] and tmp.is_file():
                    os.replace(tmp, Path(run) / EVALUATIONS)
                    manifest.record(run, [Path(run) / EVALUATIONS])
            finally:
                tmp.unlink(missing_ok=True)
            if self.best_mean_reward > before[1]:
                _write_recorded(run, Path(run) / BEST, model_bytes(self.model))
            return result

    return SafeEval(eval_env, log_path=str(run), best_model_save_path=None, **kwargs)


def write_evaluations(run: Path, callback: Any) -> None:
    """``evaluations.npz`` from the lists a callback holds (atomic, recorded)."""
    out = io.BytesIO()
    extra = {"successes": callback.evaluations_successes} if callback.evaluations_successes else {}
    np.savez(
        out,
        timesteps=np.asarray(callback.evaluations_timesteps),
        results=np.asarray(callback.evaluations_results),
        ep_lengths=np.asarray(callback.evaluations_length),
        **extra,
    )
    _write_recorded(run, Path(run) / EVALUATIONS, out.getvalue())


def restore_to_checkpoint(
    run: Path, steps: int, n_envs: int, callback: Any | None, trust: bool = False
) -> None:
    """Make ``run`` consistent with its checkpoint at ``steps`` (see the module docstring); ``callback``
    (the resumed run's evaluation callback) gets the evaluations kept and the best mean return."""
    run = Path(run)
    for path in run.rglob(".*.tmp*"):  # what a killed writer left before its rename
        path.unlink(missing_ok=True)
    for path in run.glob("*.monitor.csv"):
        trim_monitor(path, steps // max(n_envs, 1))
    path = run / EVALUATIONS
    kept: dict[str, np.ndarray[Any, Any]] = {}
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                mask = np.asarray(npz["timesteps"]) <= steps
                kept = {k: np.asarray(npz[k])[mask] for k in npz.files if len(npz[k]) == len(mask)}
        except (OSError, ValueError, KeyError, EOFError):
            kept = {}
    if not kept or len(kept.get("timesteps", ())) == 0:
        for name in (EVALUATIONS, BEST):
            (run / name).unlink(missing_ok=True)
        manifest.forget(run, [run / EVALUATIONS, run / BEST])
        return
    if callback is not None:
        callback.evaluations_timesteps = [int(t) for t in kept["timesteps"]]
        callback.evaluations_results = [list(r) for r in kept["results"]]
        callback.evaluations_length = [list(r) for r in kept.get("ep_lengths", [])]
        if "successes" in kept:
            callback.evaluations_successes = [list(r) for r in kept["successes"]]
        means = [float(np.mean(r)) for r in kept["results"]]
        callback.best_mean_reward = max(means)
        write_evaluations(run, callback)
        best_step = int(kept["timesteps"][int(np.argmax(means))])
        source = checkpoint_path(run, best_step)
        try:  # the model of that evaluation (evaluations and checkpoints share steps)
            data = manifest.verified_bytes(run, source, trust=trust)
        except (OSError, manifest.ManifestError):
            return
        _write_recorded(run, run / BEST, data)
