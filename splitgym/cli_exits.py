"""``splitgym compress exits|vote|tune-memory``: early exits, voting and adaptive layer tuning."""

from __future__ import annotations

from typing import Any

__all__ = ["add_exit_commands"]


def add_exit_commands(csub: Any) -> None:
    """Add the exit and tuning subcommands to the ``compress`` subparsers ``csub``."""
