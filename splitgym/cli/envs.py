"""``splitgym envs``: the registered environments, one line each."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser"]


def _envs(args: argparse.Namespace) -> int:
    import splitgym

    width = max(len(e.env_id) for e in splitgym.ENVS)
    for entry in splitgym.ENVS:
        print(f"{entry.env_id:<{width}}  {entry.summary}")
    return 0


def add_parser(sub: Any) -> None:
    sub.add_parser("envs", help="list the registered environments").set_defaults(func=_envs)
