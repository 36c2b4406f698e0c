"""``kill -9`` at random points of ``splitgym train`` (and of its resume), then ``--resume``: every resume
completes and the run's files are consistent (slow: 20 trials, about 5 minutes on 2 cores)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from splitgym.agents import manifest

ENV = "splitgym/PaperSplit-v0"
STEPS = 1000  # checkpoints and evaluations every 100 steps; PaperSplit episodes are 5 steps long
TRIALS = int(os.environ.get("SPLITGYM_KILL_TRIALS", "20"))

# Widens the window in which a file is written but not yet renamed into place (every atomic write of
# splitgym, checkpoints included, ends with os.replace), so that kills land inside checkpoint writes.
SLOW_REPLACE = """
import os, time
_replace = os.replace
def _slow_replace(src, dst, *args, **kwargs):
    time.sleep(0.15)
    return _replace(src, dst, *args, **kwargs)
os.replace = _slow_replace
"""


def _start(args: list[str], cwd: Path, hooks: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(hooks)}
    return subprocess.Popen(
        [sys.executable, "-m", "splitgym", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_after(process: subprocess.Popen[str], seconds: float) -> bool:
    """SIGKILL ``process`` after ``seconds`` unless it ended first; whether it was killed."""
    try:
        process.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True


def _check_consistent(run: Path) -> None:
    record = yaml.safe_load((run / "training.yml").read_text())
    assert record["timesteps"] == STEPS
    manifest.verify(run, "ppo", ENV)  # every listed file is the one the run wrote
    listed = manifest.recorded(run)
    for name in ("model.zip", "training.yml", "evaluations.npz", "best_model.zip", "0.monitor.csv"):
        assert name in listed, name
    with np.load(run / "evaluations.npz") as npz:
        assert list(npz["timesteps"]) == list(range(100, STEPS + 1, 100))
    monitor = pd.read_csv(run / "0.monitor.csv", skiprows=1)
    assert (monitor["l"] == 5).all() and monitor["l"].sum() == STEPS  # no lost, no replayed episode
    assert not list(run.rglob(".*.tmp*")), "a temporary file was left behind"


@pytest.mark.slow
def test_kill_9_at_random_points_of_train_then_resume(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SLOW_REPLACE)
    rng = np.random.default_rng(17)
    killed = inside_writes = 0
    args = ["train", "--env", ENV, "--algo", "ppo", "-n", str(STEPS), "--eval-episodes", "1",
            "--hyperparams", "n_steps:50", "batch_size:50"]  # fmt: skip
    for trial in range(TRIALS):
        root = tmp_path / f"trial{trial}"
        root.mkdir()
        if _kill_after(_start([*args, "-f", "runs"], root, hooks), float(rng.uniform(3.0, 9.0))):
            killed += 1
        folder = root / "runs" / "ppo"
        runs = [p for p in folder.glob("*") if not p.name.startswith(".")] if folder.is_dir() else []
        if not runs:
            continue  # killed before the run folder existed: nothing to resume
        (run,) = runs
        if not (run / "config.yml").is_file():
            continue  # killed before the run's header was renamed into place: an empty folder, no run
        inside_writes += bool(list(run.rglob(".*.tmp*")))
        if (run / "training.yml").is_file():
            _check_consistent(run)
            continue
        if trial % 2 and _kill_after(
            _start(["train", "--resume", str(run)], root, hooks), rng.uniform(3.0, 6.0)
        ):
            killed += 1  # the resume itself killed too
            inside_writes += bool(list(run.rglob(".*.tmp*")))
        if not (run / "training.yml").is_file():
            done = _start(["train", "--resume", str(run)], root, hooks)
            _, err = done.communicate(timeout=300)
            assert done.returncode == 0, err
        _check_consistent(run)
    print(
        f"kill trials: {TRIALS}, kills: {killed}, kills inside a write (temporary file left): {inside_writes}"
    )
    assert killed >= TRIALS // 2
