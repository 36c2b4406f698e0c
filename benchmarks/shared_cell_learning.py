"""Learned policies in the shared cell against independent myopic devices: ``splitgym benchmark cell-learn``.

For each N, MaskablePPO with parameter sharing (one policy for every device: the cell's devices are the
slots of :class:`~splitgym.envs.multi.sb3_vec.SharedCellVecEnv`) is trained from ``seeds`` seeds for
``timesteps`` device decisions each, then evaluated deterministically on ``episodes`` common episodes
(seeds ``EVAL_SEED + i``) of ``steps`` requests per device, as are the myopic and centralised baselines
(:mod:`splitgym.agents.cell_baselines`, deterministic given the episode: once), with Neurosurgeon on every
device and all on the device beside them. Per episode: the mean
reward over devices and requests, and the SLO attainment. The table gives each method's mean and, for
the learned policy, the paired difference to myopic with a hierarchical bootstrap 95 % CI (training
seeds, then episodes; :func:`splitgym.benchmarks.sequential.paired_difference_ci`).

Each (N, seed) job writes its rows to ``runs/`` when it ends (atomically): a rerun skips finished jobs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from splitgym.atomic import write_text_atomic
from splitgym.tables import markdown_table

__all__ = ["EVAL_SEED", "PPO_KWARGS", "learning_table", "run_learning"]

EVAL_SEED = 1_000
# [A: MaskablePPO defaults but a shorter rollout per device and gamma 0.9 for a 20-request episode]
PPO_KWARGS: dict[str, Any] = {
    "n_steps": 64,
    "batch_size": 256,
    "gamma": 0.9,
    "ent_coef": 0.01,
    "learning_rate": 3e-4,
}


def _evaluate(
    n_users: int, act: Callable[[Any], dict[str, int]], episodes: int, steps: int
) -> list[dict[str, float]]:
    from splitgym.envs.multi import parallel_env

    env = parallel_env(n_users=n_users, max_steps=steps)
    rows = []
    for i in range(episodes):
        env.reset(seed=EVAL_SEED + i)
        rewards, slo = [], []
        while env.agents:
            env.step(act(env))
            out = env.last_outcome
            assert out is not None
            rewards.append(out.reward.mean())
            slo.append(out.slo_ok.mean())
        rows.append({"episode": i, "reward": float(np.mean(rewards)), "slo": float(np.mean(slo))})
    return rows


def _ppo_job(n_users: int, seed: int, timesteps: int, episodes: int, steps: int) -> list[dict[str, Any]]:
    import torch
    from sb3_contrib import MaskablePPO

    from splitgym.envs.multi.sb3_vec import SharedCellVecEnv

    torch.set_num_threads(1)
    venv = SharedCellVecEnv(n_cells=1, seed=100 * seed, n_users=n_users, max_steps=steps)
    kwargs = dict(PPO_KWARGS, n_steps=max(8, PPO_KWARGS["n_steps"] * 8 // n_users))
    model = MaskablePPO("MlpPolicy", venv, seed=seed, verbose=0, device="cpu", **kwargs)
    model.learn(timesteps)

    def act(env: Any) -> dict[str, int]:
        obs = np.stack([o["observation"] for o in env.observations().values()])
        masks = np.stack(list(env.action_masks().values()))
        actions, _ = model.predict(obs, action_masks=masks, deterministic=True)
        return {a: int(actions[i]) for i, a in enumerate(env.possible_agents)}

    rows = _evaluate(n_users, act, episodes, steps)
    return [dict(r, n_users=n_users, method="mppo_shared", seed=seed) for r in rows]


def _baseline_job(n_users: int, name: str, episodes: int, steps: int) -> list[dict[str, Any]]:
    from splitgym.agents.cell_baselines import make_cell_baseline
    from splitgym.envs.multi import parallel_env

    policy = make_cell_baseline(name, parallel_env(n_users=n_users, max_steps=steps))
    rows = _evaluate(n_users, policy, episodes, steps)
    return [dict(r, n_users=n_users, method=name, seed=0) for r in rows]


# job kind -> its runner (n_users, who: a training seed or a baseline name, timesteps, episodes, steps)
_JOBS: dict[str, Callable[[int, Any, int, int, int], list[dict[str, Any]]]] = {
    "ppo": lambda n, seed, timesteps, episodes, steps: _ppo_job(n, int(seed), timesteps, episodes, steps),
    "base": lambda n, name, _timesteps, episodes, steps: _baseline_job(n, str(name), episodes, steps),
}


def _run(job: tuple[Any, ...], out: Path) -> Path:
    kind, n, who, timesteps, episodes, steps = job
    path = out / "runs" / f"N{n}_{kind}_{who}.csv"
    if path.exists():
        return path
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    rows = _JOBS[kind](n, who, timesteps, episodes, steps)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, pd.DataFrame(rows).to_csv(index=False))
    return path


def run_learning(
    users: Sequence[int], seeds: int, timesteps: int, episodes: int, steps: int, out: Path, workers: int = 1
) -> pd.DataFrame:
    """Every (N, seed) training job and the baselines' evaluations; the rows of all of them."""
    jobs: list[tuple[Any, ...]] = []
    for n in users:
        jobs += [("ppo", n, s, timesteps, episodes, steps) for s in range(seeds)]
        jobs += [
            ("base", n, name, 0, episodes, steps)
            for name in ("myopic", "neurosurgeon", "centralised", "device")
        ]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            paths = list(tqdm(pool.map(_run, jobs, [out] * len(jobs)), total=len(jobs), desc="cell-learn"))
    else:
        paths = [_run(j, out) for j in tqdm(jobs, desc="cell-learn")]
    return pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)


def learning_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per N and method: mean reward and SLO attainment; for the learned policy the paired difference to
    myopic with its hierarchical bootstrap 95 % CI."""
    from splitgym.benchmarks.sequential import paired_difference_ci

    rows = []
    for n, g in frame.groupby("n_users"):
        ref = g[g["method"] == "myopic"].sort_values("episode")
        for m, h in g.groupby("method", sort=False):
            row: dict[str, Any] = {"N": n, "method": m, "seeds": h["seed"].nunique()}
            for metric in ("reward", "slo"):
                row[metric] = round(float(h[metric].mean()), 4)
                if m == "mppo_shared" and len(ref):
                    grid = h.pivot_table(index="seed", columns="episode", values=metric).to_numpy()
                    d, lo, hi = paired_difference_ci(grid, ref[metric].to_numpy())
                    row[f"{metric} - myopic [95% CI]"] = f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                else:
                    row[f"{metric} - myopic [95% CI]"] = ""
            rows.append(row)
    return pd.DataFrame(rows)


def write_learning(frame: pd.DataFrame, out: Path, command: str) -> Path:
    table = learning_table(frame)
    write_text_atomic(out / "results.csv", frame.to_csv(index=False))
    text = "\n".join(
        [
            "# Shared cell: parameter-shared MaskablePPO against independent myopic devices",
            "",
            f"Made with `{command}` (module `splitgym.benchmarks.shared_cell_learning`; PPO settings "
            f"{PPO_KWARGS}, rollout n_steps scaled by 8/N).",
            "",
            markdown_table(table),
            "",
        ]
    )
    md = out / "README.md"
    write_text_atomic(md, text)
    return md
