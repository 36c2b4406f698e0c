"""``splitgym physics``: the v1 world's numbers beside independent references, each with its tolerance."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parser"]


def _physics(args: argparse.Namespace) -> int:
    from splitgym.envs.split.physics import physics_text, write_physics

    print(physics_text())
    if args.out:
        print("written: " + ", ".join(str(p) for p in write_physics(Path(args.out))))
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("physics", help="the link, latency and energy model against its references (table)")
    p.add_argument("--out", help="folder for physics.csv and physics.md")
    p.set_defaults(func=_physics)
