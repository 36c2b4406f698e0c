"""``splitgym compress sensitivity|apply``: layer sensitivity and LUC against uniform compression."""

from __future__ import annotations

from typing import Any

__all__ = ["add_luc_commands"]


def add_luc_commands(csub: Any) -> None:
    """Add the LUC subcommands to the ``compress`` subparsers ``csub``."""
