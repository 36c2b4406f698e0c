"""``splitgym demo``: the quick benchmark suite, its table and plots."""

from __future__ import annotations

import argparse
from typing import Any

from splitgym.cli.common import DEFAULT_OUT, positive_int

__all__ = ["add_parser"]


def _demo(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.report import report_text
    from splitgym.benchmarks.runner import expand, run_suite
    from splitgym.benchmarks.suite import load_suite

    suite = load_suite("quick")
    print(
        f"splitgym demo: the '{suite.name}' benchmark suite ({len(expand(suite))} cells: "
        f"{', '.join(a.name for a in suite.agents)} on {', '.join(e.id for e in suite.envs)}); "
        f"results in {args.out}/{suite.name} (finished cells are reused)"
    )
    run_suite(suite, args.out, workers=args.workers, progress=True)
    print(report_text(suite, args.out))
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the quick benchmark suite and print its table and plots")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"results folder (default: {DEFAULT_OUT})")
    p.add_argument("--workers", type=positive_int, default=2)
    p.set_defaults(func=_demo)
