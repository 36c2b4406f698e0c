"""``splitgym benchmark run|report|suites|versus|budget-sweep|paper-report|perf|episode|cell|cell-learn``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from splitgym.cli.common import DEFAULT_OUT, file_name, positive_int, seed

__all__ = ["add_parser"]

_SUITE_HELP = "shipped suite name (see 'splitgym benchmark suites') or the path of a suite YAML file"


def _run(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.report import report_text
    from splitgym.benchmarks.runner import expand, run_suite
    from splitgym.benchmarks.suite import load_suite

    suite = load_suite(args.suite)
    where = f"Ray ({args.address or 'local instance'})" if args.backend == "ray" else "local processes"
    print(
        f"suite {suite.name}: {len(suite.envs)} env(s) x {len(suite.agents)} agent(s) x {len(suite.seeds)} "
        f"seed(s) = {len(expand(suite))} cells, {args.workers} at a time on {where}; results in "
        f"{args.out}/{suite.name}"
    )
    summary = run_suite(
        suite,
        args.out,
        workers=args.workers,
        backend=args.backend,
        address=args.address,
        progress=not args.no_progress,
    )
    stale = f" ({len(summary.stale)} redone: the suite changed)" if summary.stale else ""
    print(
        f"{len(summary.ran)} cells run{stale}, {len(summary.skipped)} already finished, in "
        f"{summary.seconds:.1f} s -> {summary.folder}/cells"
    )
    print(
        report_text(suite, args.out)
        if args.report
        else f"next: splitgym benchmark report {args.suite} --out {args.out}"
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.report import report_text
    from splitgym.benchmarks.suite import load_suite

    print(report_text(load_suite(args.suite, check_envs=False), args.out))
    return 0


def _suites(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.suite import suite_listing

    print(suite_listing())
    return 0


def _versus(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.suite import load_suite
    from splitgym.benchmarks.versus import versus_report

    print(versus_report(load_suite(args.suite, check_envs=False), args.out, args.agents, args.against))
    return 0


def _budget_sweep(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.budget_sweep import run_budget_sweep

    print(
        run_budget_sweep(
            args.real,
            args.budgets,
            args.seeds,
            args.episodes,
            args.n_timesteps,
            args.ppo_steps,
            Path(args.out) if args.out else None,
            args.name,
            args.resume,
        )
    )
    return 0


def _paper_report(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.paper_report import measured_paper_report

    path = measured_paper_report(Path(args.suite_out), Path(args.out), note=args.note or "")
    print(f"paper report written to {path}")
    return 0


def _perf(args: argparse.Namespace) -> int:
    from splitgym.agents.envs import check_env_id
    from splitgym.benchmarks.perf import perf_report

    check_env_id(args.env)
    out = Path(args.out) if args.out else None
    print(perf_report(args.env, args.quick, out, " ".join(["splitgym", *args.argv])), end="")
    return 0


def _episode(args: argparse.Namespace) -> int:
    from splitgym.agents.envs import check_env_id
    from splitgym.atomic import write_text_atomic
    from splitgym.benchmarks.episode import episode_trace, plot_episode

    check_env_id(args.env)
    out = Path(args.out)
    trace = episode_trace(args.env, args.policy, seed=args.seed)
    stem = f"{args.env.split('/')[-1]}_{file_name(Path(args.policy).name)}_seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / f"{stem}.csv", trace.to_csv(index=False))
    png = plot_episode(trace, args.env, args.policy, out / f"{stem}.png")
    print(f"{len(trace)} requests, return {trace['reward'].sum():.2f}: {out / (stem + '.csv')}, {png}")
    return 0


def _users(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"must be positive integers separated by commas, got {text!r}")
    return values


def _cell(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.shared_cell import cell_suite, write_cell_suite

    methods = [m for m in args.methods.split(",") if m]
    frame = cell_suite(args.users, methods, seeds=args.seeds, steps=args.steps)
    paths = write_cell_suite(frame, Path(args.out), " ".join(["splitgym", *args.argv]))
    print("wrote " + ", ".join(map(str, paths)))
    return 0


def _cell_learn(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.shared_cell_learning import run_learning, write_learning
    from splitgym.envs.multi import cell_config

    for n in args.users:
        cell_config(n_users=n)
    out = Path(args.out)
    frame = run_learning(args.users, args.seeds, args.timesteps, args.episodes, args.steps, out, args.workers)
    print(f"wrote {write_learning(frame, out, ' '.join(['splitgym', *args.argv]))}")
    return 0


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("benchmark", help="benchmark suites, paired comparisons, budget sweep, speed")
    bsub = p.add_subparsers(dest="benchmark", required=True, parser_class=parser_class)
    b = bsub.add_parser("run", help="run a benchmark suite: every env x agent x seed cell, resumable")
    b.add_argument("suite", help=_SUITE_HELP)
    b.add_argument("--workers", type=positive_int, default=2, help="cells at a time (default 2)")
    b.add_argument("--backend", choices=("local", "ray"), default="local", help="local processes or Ray")
    b.add_argument("--address", default=None, help="Ray cluster HOST:PORT, ray://HOST:PORT or auto")
    b.add_argument("--out", default=DEFAULT_OUT, help=f"results folder (default: {DEFAULT_OUT})")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument("--report", action="store_true", help="write the report when the run is done")
    b.set_defaults(func=_run)

    b = bsub.add_parser("report", help="tables (CSV, Markdown) and plots of a suite's finished cells")
    b.add_argument("suite", help=_SUITE_HELP)
    b.add_argument("--out", default=DEFAULT_OUT, help=f"results folder (default: {DEFAULT_OUT})")
    b.set_defaults(func=_report)

    bsub.add_parser("suites", help="list the shipped benchmark suites").set_defaults(func=_suites)

    b = bsub.add_parser("versus", help="paired differences between agents of a finished suite, with CIs")
    b.add_argument("suite", help=_SUITE_HELP)
    b.add_argument("--agents", nargs="+", required=True, help="agent names of the suite to compare")
    b.add_argument("--against", nargs="+", required=True, help="the reference agents (e.g. baselines)")
    b.add_argument("--out", default=DEFAULT_OUT, help="the folder the suite was run into")
    b.set_defaults(func=_versus)

    b = bsub.add_parser(
        "budget-sweep",
        help="real evaluations the model-based agents and direct PPO need to reach 95 %% of the oracle",
    )
    b.add_argument(
        "--real",
        default="live:reference:erasure",
        help="the real quality model: 'live[:MODEL[:OPERATOR]]' or a quality profile name "
        "(default: %(default)s)",
    )
    b.add_argument("--budgets", nargs="+", type=positive_int, default=[5, 10, 20, 40])
    b.add_argument("--seeds", nargs="+", type=seed, default=[0, 1])
    b.add_argument("--episodes", type=positive_int, default=50, help="evaluation episodes (common seeds)")
    b.add_argument("-n", "--n-timesteps", type=positive_int, default=6000, help="PPO steps on the surrogate")
    b.add_argument(
        "--ppo-steps",
        nargs="+",
        type=positive_int,
        default=[100, 200, 500, 1000, 2000, 4000, 6000],
        help="training lengths at which direct PPO is evaluated",
    )
    b.add_argument("--out", help="folder for <name>.csv and <name>.md")
    b.add_argument("--name", type=file_name, default="budget_sweep")
    b.add_argument(
        "--resume",
        action="store_true",
        help="keep the rows of an existing <out>/<name>.csv and run only the missing ones",
    )
    b.set_defaults(func=_budget_sweep)

    b = bsub.add_parser(
        "paper-report", help="the paper's claims beside our measurements (needs a paper suite run)"
    )
    b.add_argument("--suite-out", default=f"{DEFAULT_OUT}/paper", help="folder of a finished paper suite")
    b.add_argument("--out", default="paper-report", help="report folder (default: paper-report)")
    b.add_argument("--note", help="a paragraph on how the suite was run (seeds, machine, load)")
    b.set_defaults(func=_paper_report)

    b = bsub.add_parser("perf", help="environment speed as ratios against references run beside it")
    b.add_argument("--env", default="splitgym/FadingSplit-v1", help="environment ID")
    b.add_argument("--quick", action="store_true", help="fewer steps (a smoke run, noisier ratios)")
    b.add_argument("--out", help="folder for perf.csv and perf.json")
    b.set_defaults(func=_perf)

    b = bsub.add_parser("episode", help="one episode of a stateful env: its state over time (CSV + plot)")
    b.add_argument("--env", default="splitgym/FadingSplit-v1", help="a stateful v1 environment ID")
    b.add_argument(
        "--policy", default="myopic", help="a baseline name (myopic, planning, ...) or a run folder"
    )
    b.add_argument("--seed", type=seed, default=0, help="episode seed (default: 0)")
    b.add_argument("--out", default="episode", help="folder for the CSV and the PNG (default: episode)")
    b.set_defaults(func=_episode)

    b = bsub.add_parser("cell", help="shared-cell baselines against the number of devices (table + plot)")
    b.add_argument("--users", type=_users, default=[2, 8, 32], help="devices per cell (default: 2,8,32)")
    b.add_argument(
        "--methods",
        default="device,edge,random,myopic,neurosurgeon,centralised",
        help="cell baselines, comma-separated",
    )
    b.add_argument("--seeds", type=positive_int, default=3, help="episodes per (N, method) (default: 3)")
    b.add_argument("--steps", type=positive_int, default=10, help="requests per device and episode")
    b.add_argument("--out", default="shared_cell", help="output folder (default: shared_cell)")
    b.set_defaults(func=_cell)

    b = bsub.add_parser(
        "cell-learn", help="parameter-shared MaskablePPO against myopic devices in a shared cell"
    )
    b.add_argument("--users", type=_users, default=[8, 32], help="devices per cell (default: 8,32)")
    b.add_argument("--seeds", type=positive_int, default=5, help="training seeds (default: 5)")
    b.add_argument("--timesteps", type=positive_int, default=20_000, help="device decisions per training run")
    b.add_argument("--episodes", type=positive_int, default=5, help="common evaluation episodes (default: 5)")
    b.add_argument("--steps", type=positive_int, default=10, help="requests per device and episode")
    b.add_argument("--workers", type=positive_int, default=1, help="parallel training jobs (default: 1)")
    b.add_argument("--out", default="shared_cell_learning", help="output folder")
    b.set_defaults(func=_cell_learn)
