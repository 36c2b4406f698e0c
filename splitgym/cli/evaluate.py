"""``splitgym evaluate RUN``: mean return, every reward term and (``--baselines``) the family's baselines."""

from __future__ import annotations

import argparse
from typing import Any

from splitgym.cli.common import positive_int, seed

__all__ = ["add_parser"]

_TRUST = (
    "load the run even if its files differ from its manifest.json (edited, replaced or not written by "
    "splitgym); models are still loaded weights-only"
)


def _evaluate(args: argparse.Namespace) -> int:
    from splitgym.agents.evaluation import evaluation_report

    print(evaluation_report(args.run, args.episodes, args.seed, baselines=args.baselines, trust=args.trust))
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="evaluate a run folder: mean return and every reward term")
    p.add_argument("run", help="run folder, e.g. runs/ppo/PaperSplit-v0_1")
    p.add_argument("--episodes", type=positive_int, default=100)
    p.add_argument("--seed", type=seed, default=1_000_000, help="seed of the first evaluation episode")
    p.add_argument(
        "--baselines",
        action="store_true",
        help="also evaluate every baseline of the environment's family on the same episodes",
    )
    p.add_argument("--trust", action="store_true", help=_TRUST)
    p.set_defaults(func=_evaluate)
