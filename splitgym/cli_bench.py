"""``splitgym benchmark run|report|suites``: benchmark suites from YAML, resumable, local or on Ray."""

from __future__ import annotations

import argparse
from typing import Any

from splitgym.cli_args import positive_int as _workers

__all__ = ["DEFAULT_OUT", "add_suite_commands", "add_versus_command", "print_report"]

DEFAULT_OUT = "benchmark-results"
_SUITE_HELP = "shipped suite name (see 'splitgym benchmark suites') or the path of a suite YAML file"


def _cmd_run(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.runner import expand, run_suite
    from splitgym.benchmarks.suite import load_suite

    suite = load_suite(args.suite)
    cells = len(expand(suite))
    where = f"Ray ({args.address or 'local instance'})" if args.backend == "ray" else "local processes"
    print(
        f"suite {suite.name}: {len(suite.envs)} env(s) x {len(suite.agents)} agent(s) x {len(suite.seeds)} "
        f"seed(s) = {cells} cells, {args.workers} at a time on {where}; results in {args.out}/{suite.name}"
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
    if args.report:
        return print_report(suite, args.out)
    print(f"next: splitgym benchmark report {args.suite} --out {args.out}")
    return 0


def print_report(suite: Any, out: str) -> int:
    from splitgym.benchmarks.report import report_suite

    report = report_suite(suite, out)
    cols = ["agent", "seeds", "return_mean", "return_std", "iqm", "iqm_ci_low", "iqm_ci_high", "score"]
    for env, frame in report.tables.items():
        print(f"\n{env}")
        print(frame[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if report.missing:
        print(f"\n{len(report.missing)} cells missing (not run yet or failed): {', '.join(report.missing)}")
    print(f"\nreport written to {report.folder} ({len(report.files)} files; start with README.md)")
    for path in sorted(str(f) for f in report.files if str(f).endswith(".png")):
        print(f"  plot: {path}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.suite import load_suite

    return print_report(load_suite(args.suite, check_envs=False), args.out)


def _cmd_suites(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.runner import expand
    from splitgym.benchmarks.suite import load_suite, shipped_suites

    for name, path in shipped_suites().items():
        suite = load_suite(path, check_envs=False)
        print(f"{name:<12} {len(expand(suite)):>4} cells  {suite.description or path}")
    return 0


def add_suite_commands(bsub: Any) -> None:
    """Add ``run``, ``report`` and ``suites`` to the ``splitgym benchmark`` subparsers ``bsub``."""
    b = bsub.add_parser("run", help="run a benchmark suite: every env x agent x seed cell, resumable")
    b.add_argument("suite", help=_SUITE_HELP)
    b.add_argument("--workers", type=_workers, default=2, help="cells at a time (default 2)")
    b.add_argument("--backend", choices=("local", "ray"), default="local", help="local processes or Ray")
    b.add_argument(
        "--address", default=None, help="Ray cluster HOST:PORT, ray://HOST:PORT or auto (default: local Ray)"
    )
    b.add_argument("--out", default=DEFAULT_OUT, help=f"results folder (default: {DEFAULT_OUT})")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument("--report", action="store_true", help="write the report when the run is done")
    b.set_defaults(func=_cmd_run)

    b = bsub.add_parser("report", help="tables (CSV, Markdown) and plots of a suite's finished cells")
    b.add_argument("suite", help=_SUITE_HELP)
    b.add_argument("--out", default=DEFAULT_OUT, help=f"results folder (default: {DEFAULT_OUT})")
    b.set_defaults(func=_cmd_report)

    b = bsub.add_parser("suites", help="list the shipped benchmark suites")
    b.set_defaults(func=_cmd_suites)


def _cmd_versus(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from splitgym.atomic import write_text_atomic
    from splitgym.benchmarks.suite import load_suite
    from splitgym.benchmarks.versus import versus_table
    from splitgym.markdown import markdown_table

    suite = load_suite(args.suite, check_envs=False)
    frame = versus_table(suite, args.out, args.agents, args.against)
    if frame.empty:
        print(f"no finished cells of those agents in {args.out}/{suite.name}")
        return 0
    table = Table(title=f"{suite.name}: paired differences on common episodes (95 % bootstrap CI)")
    for col in (
        "env",
        "agent",
        "return",
        "share of oracle",
        "vs",
        "its return",
        "difference",
        "CI",
        "verdict",
    ):
        table.add_column(col, justify="left" if col in ("env", "agent", "vs", "verdict") else "right")
    for _, r in frame.iterrows():
        table.add_row(
            str(r["env"]), str(r["agent"]), f"{r['return']:.3f}", f"{r['share_of_oracle']:.3f}",
            str(r["reference"]), f"{r['reference_return']:.3f}", f"{r['difference']:+.3f}",
            f"[{r['difference_ci_low']:+.3f}, {r['difference_ci_high']:+.3f}]", str(r["verdict"]),
        )  # fmt: skip
    Console(width=160).print(table)
    folder = Path(args.out) / suite.name / "report"
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "versus.csv", frame.to_csv(index=False))
    write_text_atomic(folder / "versus.md", markdown_table(frame) + "\n")
    print(f"written: {folder / 'versus.csv'}, {folder / 'versus.md'}")
    return 0


def add_versus_command(bsub: Any) -> None:
    b = bsub.add_parser("versus", help="paired differences between agents of a finished suite, with CIs")
    b.add_argument("suite", help=_SUITE_HELP)
    b.add_argument("--agents", nargs="+", required=True, help="agent names of the suite to compare")
    b.add_argument("--against", nargs="+", required=True, help="the reference agents (e.g. baselines)")
    b.add_argument("--out", default=DEFAULT_OUT, help="the folder the suite was run into")
    b.set_defaults(func=_cmd_versus)
