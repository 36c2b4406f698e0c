"""Environment speed, measured as ratios against a reference run side by side in the same process.

* **env step**: seconds per ``step`` of ``gym.make(ENV)`` against ``gym.make("CartPole-v1")``, both through
  Gymnasium's default wrappers, with uniformly random actions drawn beforehand and resets included. The
  two are timed in alternating rounds and the median round is kept, so background load affects both.
  ``ratio = t_ours / t_cartpole`` (at most 1 is the target).
* **surrogate**: seconds of one live quality evaluation (the reference LLM on 1024 held-out tokens with its
  hidden state erased at the split) against one prediction of the paper's surrogate MLP fitted to the
  reference model's erasure profile (batched, per point); ``ratio = t_live / t_surrogate`` (target
  >= 10^4). :func:`splitgym.surrogates.speed.surrogate_speedup`.
* **PPO throughput**: environment steps per second of stable-baselines3 PPO (default hyperparameters, one
  environment, one torch thread) learning on ``ENV`` against learning on ``CartPole-v1``;
  ``ratio = ours / CartPole``.
* **PPO on the native vector env**: environment steps per second of stable-baselines3 PPO learning on the
  native vector env at 64 environments (through :class:`splitgym.vector.SB3VecEnv`, with the episode
  monitor training uses) against the same PPO on one environment: the same rollout size (2048 steps:
  ``n_steps = 2048 / n_envs``), minibatch (the whole rollout), epochs (10) and one torch thread, a
  throughput setting [A], not a tuned one (with 512-step minibatches PPO's own updates take 3/4 of the
  time at 64 envs). ``ratio = vector / single``; targets at least 10^4 steps/s and at least 5x (issue 16).
* **vector env**: environment steps per second of the natively batched vector env at ``num_envs``
  environments against ``SyncVectorEnv`` over single environments of the same ID (the Python loop it
  replaces). ``ratio = native / sync`` steps per second; the native figure is also compared with the
  absolute target of 2x10^6 steps/s at 4096 environments (issue 12).
* **shared cell**: user-steps/s of the multi-user env at 64 cells x 32 users (random feasible splits)
  through :class:`~splitgym.envs.multi.sb3_vec.SharedCellVecEnv` against the PettingZoo ``ParallelEnv``
  stepped cell by cell; target at least 10^6 user-steps/s (issue 14), with the default ``ENV`` only.
* The default ``ENV`` (``splitgym/FadingSplit-v1``) has every state component on (queue, heat, battery, RRC
  state, KV cache): the env step and vector env rows hold the targets with all mechanisms on (issue 13).
  **Stateless** rows (``splitgym/FadingSplit-Pedestrian-Stateless-v1``): the same two measures beside them
  with the same targets (issue 12), when ``env_id`` is the default (not with ``--quick``).

Timings come from ``time.perf_counter``; the machine (CPU, cores, versions) is recorded with them.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = [
    "PerfResult",
    "env_step_ratio",
    "machine",
    "perf_report",
    "ppo_vector_ratio",
    "run_perf",
    "shared_cell_perf",
    "stateless_perf",
    "v1_perf",
    "vector_ratio",
]

V1_ENV = "splitgym/FadingSplit-v1"
DEFAULT_ENV = V1_ENV
V1_VECTOR_TARGET = 2e6  # env steps/s at 4096 envs (issue 12)
STATELESS_ENV = "splitgym/FadingSplit-Pedestrian-Stateless-v1"  # the default without state, same targets
REFERENCE_ENV = "CartPole-v1"


@dataclass(frozen=True)
class PerfResult:
    """One side-by-side measurement: ours against the reference, and their ratio."""

    name: str
    ours: str
    reference: str
    ours_value: float
    reference_value: float
    unit: str
    ratio: float
    target: str
    passed: bool


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu,
        "cores_available": affinity,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "gymnasium": gym.__version__,
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _step_loop(env: gym.Env[Any, Any], actions: list[int]) -> float:
    """Seconds per step over ``actions`` (resetting when an episode ends)."""
    step, reset = env.step, env.reset
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = step(a)
        if terminated or truncated:
            reset()
    return (time.perf_counter() - start) / len(actions)


def _alternate(fns: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Median over ``rounds`` of each function, the functions taking turns within a round."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(fn())
    return {name: float(np.median(v)) for name, v in times.items()}


def env_step_ratio(env_id: str = DEFAULT_ENV, steps: int = 50_000, rounds: int = 7) -> PerfResult:
    """Per-step time of ``env_id`` against CartPole-v1 (both from ``gym.make``)."""
    ours, ref = gym.make(env_id), gym.make(REFERENCE_ENV)
    rng = np.random.default_rng(0)
    ours.reset(seed=0)
    ref.reset(seed=0)
    n_ours = int(ours.action_space.n)  # type: ignore[attr-defined]
    a_ours = rng.integers(0, n_ours, steps).tolist()
    a_ref = rng.integers(0, 2, steps).tolist()
    med = _alternate(
        {"ours": lambda: _step_loop(ours, a_ours), "ref": lambda: _step_loop(ref, a_ref)}, rounds
    )
    ours.close()
    ref.close()
    ratio = med["ours"] / med["ref"]
    return PerfResult(
        "env step",
        env_id,
        REFERENCE_ENV,
        med["ours"] * 1e6,
        med["ref"] * 1e6,
        "us/step",
        ratio,
        "ratio <= 1",
        ratio <= 1.0,
    )


def _vector_loop(envs: gym.vector.VectorEnv[Any, Any, Any], actions: list[Any]) -> float:
    """Environment steps per second over the batched ``actions``."""
    start = time.perf_counter()
    for a in actions:
        envs.step(a)
    return len(actions) * envs.num_envs / (time.perf_counter() - start)


def vector_ratio(
    env_id: str = DEFAULT_ENV,
    num_envs: int = 4096,
    sync_envs: int = 64,
    steps: int = 200,
    rounds: int = 5,
    target: float = 1e6,
) -> list[PerfResult]:
    """Native vector env throughput at ``num_envs`` against ``SyncVectorEnv`` (``sync_envs`` envs)."""
    native = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    sync = gym.make_vec(env_id, num_envs=sync_envs, vectorization_mode="sync")
    native.reset(seed=0)
    sync.reset(seed=0)
    rng = np.random.default_rng(0)
    n_actions = int(native.single_action_space.n)  # type: ignore[attr-defined]
    a_native = [rng.integers(0, n_actions, num_envs) for _ in range(steps)]
    sync_steps = max(5, steps * sync_envs // 2000)
    a_sync = [rng.integers(0, n_actions, sync_envs) for _ in range(sync_steps)]
    med = _alternate(
        {"native": lambda: _vector_loop(native, a_native), "sync": lambda: _vector_loop(sync, a_sync)}, rounds
    )
    native.close()
    sync.close()
    ratio = med["native"] / med["sync"]
    return [
        PerfResult(
            "vector env",
            f"native x{num_envs}",
            f"SyncVectorEnv x{sync_envs}",
            med["native"],
            med["sync"],
            "env steps/s",
            ratio,
            f"native >= {target:.0e} steps/s at 4096 envs",
            med["native"] >= target or num_envs < 4096,
        ),
    ]


def surrogate_ratio(n_live: int = 3, tokens: int = 1024) -> PerfResult:
    """Live reference-LLM quality evaluation against the paper's surrogate MLP (batched, per point)."""
    from splitgym.profiles.quality import TableQualityModel
    from splitgym.profiles.quality.live import LiveQualityModel
    from splitgym.surrogates.quality import fit_on_budget
    from splitgym.surrogates.speed import SPEEDUP_TARGET, surrogate_speedup

    table = TableQualityModel("accuracy/reference_erasure")
    surrogate, _ = fit_on_budget(table, 16 * table.splits.size, kind="paper", seed=0)
    live = LiveQualityModel("reference", "erasure", n_tokens=tokens)
    out = surrogate_speedup(live, surrogate, n_live=n_live)
    live_s, sur_s = out["live_seconds_per_eval"], out["surrogate_seconds_per_point_batched"]
    ratio = live_s / sur_s
    return PerfResult(
        "surrogate",
        "PaperMLP (batched)",
        f"live reference LLM ({tokens} tokens)",
        sur_s * 1e6,
        live_s * 1e6,
        "us/evaluation",
        ratio,
        f"live / surrogate >= {SPEEDUP_TARGET:g}",
        ratio >= SPEEDUP_TARGET,
    )


def ppo_throughput_ratio(env_id: str = DEFAULT_ENV, steps: int = 4096) -> PerfResult:
    """PPO learning steps per second on ``env_id`` against CartPole-v1 (same settings, same process)."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)

    def rate(eid: str) -> float:
        model = PPO("MlpPolicy", gym.make(eid), n_steps=1024, batch_size=64, seed=0, device="cpu")
        start = time.perf_counter()
        model.learn(steps)
        return model.num_timesteps / (time.perf_counter() - start)

    med = _alternate({"ours": lambda: rate(env_id), "ref": lambda: rate(REFERENCE_ENV)}, rounds=2)
    ratio = med["ours"] / med["ref"]
    return PerfResult(
        "PPO throughput",
        env_id,
        REFERENCE_ENV,
        med["ours"],
        med["ref"],
        "env steps/s",
        ratio,
        "ratio ~ 1 (the env is not the bottleneck)",
        ratio >= 0.8,
    )


PPO_VECTOR_TARGET = 1e4  # env steps/s of PPO on the native vector env at 64 envs (issue 16)
PPO_VECTOR_RATIO = 5.0  # ... against the same PPO on one env


def ppo_vector_ratio(
    env_id: str = DEFAULT_ENV,
    num_envs: int = 64,
    vector_steps: int = 32_768,
    single_steps: int = 8_192,
    rollout: int = 2048,
    batch_size: int = 2048,
) -> PerfResult:
    """PPO learning steps per second on the native vector env (``num_envs``) against one env, the same
    hyperparameters (rollout ``rollout`` steps in all, minibatch ``batch_size``, 10 epochs)."""
    import torch
    from stable_baselines3 import PPO

    from splitgym.vector import SB3EpisodeMonitor, make_sb3_vec_env

    torch.set_num_threads(1)

    def rate(n: int, steps: int) -> float:
        env: Any = gym.make(env_id) if n == 1 else SB3EpisodeMonitor(make_sb3_vec_env(env_id, n, seed=0))
        model = PPO(
            "MlpPolicy", env, n_steps=rollout // n, batch_size=batch_size, seed=0, device="cpu", verbose=0
        )
        start = time.perf_counter()
        model.learn(steps)
        seconds = time.perf_counter() - start
        env.close()
        return model.num_timesteps / seconds

    med = _alternate(
        {"vector": lambda: rate(num_envs, vector_steps), "single": lambda: rate(1, single_steps)}, rounds=2
    )
    ratio = med["vector"] / med["single"]
    return PerfResult(
        "PPO on vector env",
        f"SB3 PPO, native x{num_envs}",
        "SB3 PPO, one env",
        med["vector"],
        med["single"],
        "env steps/s",
        ratio,
        f">= {PPO_VECTOR_TARGET:.0e} steps/s and >= {PPO_VECTOR_RATIO:g}x",
        med["vector"] >= PPO_VECTOR_TARGET and ratio >= PPO_VECTOR_RATIO,
    )


def run_perf(env_id: str = DEFAULT_ENV, quick: bool = False) -> tuple[list[PerfResult], dict[str, Any]]:
    """Every ratio above on ``env_id`` (``quick``: fewer steps and no live model, for tests) and the
    machine: :func:`v1_perf` (single step, native vector env), PPO throughput, PPO on the native vector env
    (when ``env_id`` has one) and the surrogate."""
    results = v1_perf(quick, env_id)
    if env_id == V1_ENV and not quick:
        results += stateless_perf(quick)
        results.append(shared_cell_perf())
    results.append(ppo_throughput_ratio(env_id, steps=4096 // (4 if quick else 1)))
    if gym.spec(env_id).vector_entry_point is not None:
        q = 4 if quick else 1
        results.append(ppo_vector_ratio(env_id, vector_steps=32_768 // q, single_steps=8_192 // q))
    if not quick:
        results.append(surrogate_ratio())
    return results, machine()


def v1_perf(quick: bool = False, env_id: str = V1_ENV) -> list[PerfResult]:
    """A v1 split world (default ``splitgym/FadingSplit-v1``): single step against CartPole-v1 (target
    ratio <= 1) and the native vector env at 4096 envs against ``SyncVectorEnv`` at 16 (target >= 2e6 env
    steps/s, issue 12)."""
    scale = 10 if quick else 1
    results = [env_step_ratio(env_id, steps=50_000 // scale, rounds=7 if not quick else 3)]
    if gym.spec(env_id).vector_entry_point is not None:
        results += vector_ratio(
            env_id, steps=200 // scale, rounds=5 if not quick else 2, sync_envs=16, target=V1_VECTOR_TARGET
        )
    return results


def stateless_perf(quick: bool = False) -> list[PerfResult]:
    """The default scenario without sequential state: :func:`v1_perf`'s two measures and targets on
    ``STATELESS_ENV``, named ``env step (stateless)`` and ``vector env (stateless)``."""
    return [replace(r, name=f"{r.name} (stateless)") for r in v1_perf(quick, STATELESS_ENV)]


SHARED_CELL_TARGET = 1e6  # user-steps/s at 64 cells x 32 users (issue 14)


def shared_cell_perf(cells: int = 64, users: int = 32, steps: int = 2, rounds: int = 3) -> PerfResult:
    """The multi-user env stepping ``cells`` cells of ``users`` devices (random feasible splits) through
    the parameter-sharing VecEnv, against the PettingZoo ``ParallelEnv`` stepped cell by cell (one cell);
    user-steps/s. The VecEnv steps its cells one after another (no batched kernel yet), so the ratio
    measures its overhead, and the absolute target (``>= 1e6`` user-steps/s) is the issue's."""
    from splitgym.envs.multi import parallel_env
    from splitgym.envs.multi.sb3_vec import SharedCellVecEnv

    rng = np.random.default_rng(0)
    venv = SharedCellVecEnv(n_cells=cells, seed=0, n_users=users)
    venv.reset()
    env = parallel_env(n_users=users)
    env.reset(seed=0)

    def feasible(masks: np.ndarray) -> np.ndarray:
        return np.array([rng.choice(np.flatnonzero(m)) for m in masks])

    def batched() -> float:
        start, n = time.perf_counter(), 0
        for _ in range(steps):
            venv.step(feasible(venv.action_masks()))
            n += venv.num_envs
        return n / (time.perf_counter() - start)

    def cell_by_cell() -> float:
        start, n = time.perf_counter(), 0
        for _ in range(steps * 4):
            if not env.agents:
                env.reset()
            masks = env.action_masks()
            env.step({a: int(rng.choice(np.flatnonzero(masks[a]))) for a in env.agents})
            n += users
        return n / (time.perf_counter() - start)

    med = _alternate({"batched": batched, "cells": cell_by_cell}, rounds)
    return PerfResult(
        "shared cell",
        f"SharedCellVecEnv {cells} cells x {users} users",
        f"ParallelEnv, 1 cell x {users} users",
        med["batched"],
        med["cells"],
        "user-steps/s",
        med["batched"] / med["cells"],
        f">= {SHARED_CELL_TARGET:.0e} user-steps/s at 64 x 32",
        med["batched"] >= SHARED_CELL_TARGET,
    )


def as_records(results: list[PerfResult]) -> list[dict[str, Any]]:
    """The results as plain dicts (for CSV and JSON)."""
    return [asdict(r) for r in results]


def perf_report(env_id: str, quick: bool = False, out: Path | None = None, command: str = "") -> str:
    """Run :func:`run_perf`, write ``perf.csv`` and ``perf.json`` into ``out`` (if given); the text."""
    import json

    import pandas as pd

    from splitgym.atomic import write_text_atomic
    from splitgym.tables import terminal_table

    results, where = run_perf(env_id, quick=quick)
    frame = pd.DataFrame(
        [
            {
                "measure": r.name,
                "ours": r.ours,
                "reference": r.reference,
                "ours value": r.ours_value,
                "ref. value": r.reference_value,
                "unit": r.unit,
                "ratio": r.ratio,
                "target": r.target,
                "met": "yes" if r.passed else "NO",
            }
            for r in results
        ]
    )
    title = f"splitgym benchmark perf: {env_id} against references in the same process"
    text = terminal_table(frame, title, width=150)
    text += f"machine: {where['cpu']}, {where['cores_available']} cores, Python {where['python']}\n"
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        record = {"results": as_records(results), "machine": where, "command": command}
        write_text_atomic(out / "perf.csv", pd.DataFrame(as_records(results)).to_csv(index=False))
        write_text_atomic(out / "perf.json", json.dumps(record, indent=2) + "\n")
        text += f"written: {out / 'perf.csv'}, {out / 'perf.json'}\n"
    return text
