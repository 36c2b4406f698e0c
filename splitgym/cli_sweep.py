"""``splitgym benchmark budget-sweep``: real evaluations each agent needs to reach the oracle.

Runs :func:`~splitgym.benchmarks.budget_sweep.budget_sweep` (the paper's model-based agent and the
active one, one per budget and seed) and :func:`~splitgym.benchmarks.budget_sweep.ppo_direct_cost` (PPO
on the real-model environment, evaluated at each training length) on ``splitgym/PaperSplitDirect-v0``,
prints per agent and budget the mean real evaluations and share of the oracle's return, then the
smallest number of real evaluations with which each reaches 95 % of the oracle's return and the ratios
between them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from splitgym.cli_args import positive_int, seed

__all__ = ["add_budget_sweep"]


def _real_model(spec: str) -> tuple[Any, Any]:
    """The real quality model and, for a live one, the table the oracle plans with."""
    from splitgym.profiles.quality import TableQualityModel, resolve_quality_model

    model = resolve_quality_model(spec)
    if isinstance(model, TableQualityModel):
        return model, None
    operator = spec.split(":")[2] if spec.count(":") >= 2 else "erasure"
    return model, TableQualityModel(f"accuracy/reference_{operator}")


def _cmd_budget_sweep(args: argparse.Namespace) -> int:
    import pandas as pd
    import torch
    from rich.console import Console
    from rich.table import Table

    from splitgym.benchmarks.budget_sweep import (
        budget_sweep,
        ppo_direct_cost,
        reference_returns,
        smallest_budget_reaching,
        write_results,
    )

    torch.set_num_threads(1)
    real, planner = _real_model(args.real)
    csv = Path(args.out or ".") / f"{args.name}.csv"
    done = pd.read_csv(csv) if args.resume and csv.is_file() else pd.DataFrame()
    if len(done):  # the same references as the rows already there, so every row is comparable
        refs = {
            "oracle": float(done["oracle_return"].iloc[0]),
            "random": float(done["random_return"].iloc[0]),
        }
    else:
        refs = reference_returns(real, args.episodes, oracle_model=planner)
    print(f"real model {args.real}: oracle return {refs['oracle']:.4f}, random {refs['random']:.4f}")
    frames = [done]

    def save() -> None:  # after every piece, so an interrupted sweep resumes with --resume
        so_far = pd.concat(frames, ignore_index=True)
        if args.out and "agent" in so_far:
            write_results(so_far, Path(args.out), name=args.name)

    have = set(zip(done.get("agent", []), done.get("budget", []), done.get("seed", []), strict=True))
    for agent in ("paper", "active"):
        for budget in args.budgets:
            for s in args.seeds:
                if (agent, budget, s) in have:
                    continue
                frames.append(
                    budget_sweep(real, [budget], seeds=(s,), episodes=args.episodes, references=refs,
                                 n_timesteps=args.n_timesteps, agents=(agent,))
                )  # fmt: skip
                save()
    for s in args.seeds:  # direct PPO trains on through its lengths: a seed missing any length is redone
        if not all(("ppo_direct", n, s) in have for n in args.ppo_steps):
            frames = [f[~((f["agent"] == "ppo_direct") & (f["seed"] == s))] if len(f) else f for f in frames]
            frames.append(ppo_direct_cost(real, (s,), args.ppo_steps, args.episodes, references=refs))
            save()
    frame = pd.concat(frames, ignore_index=True)
    means = frame.groupby(["agent", "budget"], sort=True)[["real_evaluations", "fraction_of_oracle"]].mean()
    table = Table(title="mean over seeds (budget: real evaluations allowed; PPO: training steps)")
    for col in ("agent", "budget", "real evaluations", "share of oracle return"):
        table.add_column(col, justify="left" if col == "agent" else "right")
    for (agent, budget), row in means.iterrows():
        table.add_row(
            str(agent), str(budget), f"{row['real_evaluations']:.1f}", f"{row['fraction_of_oracle']:.3f}"
        )
    Console(width=100).print(table)
    reach = smallest_budget_reaching(frame, 0.95)
    print("smallest real evaluations reaching 95 % of the oracle's return (NaN: not reached):")
    for agent in ("paper", "active", "ppo_direct"):
        print(f"  {agent:<11} {reach.get(agent, float('nan')):g}")
    paper, active, ppo = (reach.get(a, float("nan")) for a in ("paper", "active", "ppo_direct"))
    print(f"active / paper = {active / paper:.3f} (goal <= 0.5); paper / PPO = {paper / ppo:.3f}, "
          f"active / PPO = {active / ppo:.3f} (goal <= 0.05)")  # fmt: skip
    if args.out:
        write_results(frame, Path(args.out), name=args.name)
        print(f"written: {Path(args.out) / (args.name + '.csv')}, .md")
    return 0


def add_budget_sweep(bsub: Any) -> None:
    b = bsub.add_parser(
        "budget-sweep",
        help="real evaluations the model-based agents and direct PPO need to reach 95 %% of the oracle",
    )
    b.add_argument(
        "--real",
        default="live:reference:erasure",
        help="the real quality model: 'live[:MODEL[:OPERATOR]]' (the LLM itself) or a quality profile name, "
        "e.g. accuracy/reference_erasure or paper_llama2_7b_rsm_grid (default: %(default)s)",
    )
    b.add_argument("--budgets", nargs="+", type=positive_int, default=[5, 10, 20, 40])
    b.add_argument("--seeds", nargs="+", type=seed, default=[0, 1])
    b.add_argument("--episodes", type=positive_int, default=50, help="evaluation episodes (common seeds)")
    b.add_argument("-n", "--n-timesteps", type=positive_int, default=6000, help="PPO steps on the surrogate")
    b.add_argument(
        "--ppo-steps", nargs="+", type=positive_int, default=[100, 200, 500, 1000, 2000, 4000, 6000],
        help="training lengths at which direct PPO is evaluated",
    )  # fmt: skip
    b.add_argument("--out", help="folder for <name>.csv and <name>.md")
    b.add_argument("--name", default="budget_sweep")
    b.add_argument(
        "--resume", action="store_true",
        help="keep the rows of an existing <out>/<name>.csv (and its oracle and random returns); run only "
        "the missing (agent, budget, seed) rows and direct-PPO seeds",
    )  # fmt: skip
    b.set_defaults(func=_cmd_budget_sweep)
