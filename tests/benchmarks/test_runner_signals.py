"""Killing or interrupting ``splitgym benchmark run`` ends its worker processes (slow)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from splitgym.benchmarks import reaper

SUITE = """
name: killme
envs:
  - id: splitgym/PaperSplit-v0
agents:
  - algo: ppo
    n_timesteps: 200000
seeds: [0, 1]
eval_episodes: 2
curve_evaluations: 2
curve_episodes: 1
"""


def _alive(pid: int) -> bool:
    return reaper._stat(pid) is not None


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs /proc")
@pytest.mark.parametrize(
    ("backend", "how"),
    [("local", signal.SIGKILL), ("local", signal.SIGTERM), ("local", signal.SIGINT), ("ray", signal.SIGKILL)],
)
def test_no_worker_survives_the_benchmark_run(tmp_path: Path, backend: str, how: signal.Signals) -> None:
    """Local workers are in the run's care; a local Ray instance (its GCS, raylet and task workers) shares
    the fate of the process that started it, so a SIGKILL of ``benchmark run`` ends it too."""
    if backend == "ray":
        pytest.importorskip("ray")
    (tmp_path / "suite.yml").write_text(SUITE)
    command = ["benchmark", "run", "suite.yml", "--workers", "2", "--no-progress", "--backend", backend]
    process = subprocess.Popen(
        [sys.executable, "-m", "splitgym", *command],
        # As a foreground run's Ctrl-C finds it: a shell starts background jobs with SIGINT ignored, and a
        # process started from such a job (make test &) would inherit that and never see the signal.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(workers) < 2 and process.poll() is None:
        time.sleep(0.5)
        workers = set(reaper.descendants(process.pid))
    if len(workers) < 2:
        process.kill()
        pytest.fail(f"the pool's workers never started: {process.communicate()[1][-2000:]}")
    time.sleep(4.0 if backend == "local" else 15.0)  # let them import and start training
    workers |= set(reaper.descendants(process.pid))
    os.kill(process.pid, how)
    _, err = process.communicate(timeout=120)
    if how != signal.SIGKILL:
        assert process.returncode == 130 and "interrupted" in err, err
    deadline = time.monotonic() + (15 if backend == "local" else 60)
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.5)
    survivors = [p for p in workers if _alive(p)]
    for pid in survivors:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"orphaned worker processes: {survivors}"
