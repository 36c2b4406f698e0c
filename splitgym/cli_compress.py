"""``splitgym compress ...``: Edge-LLM compression, exits and tuning on a real model (subcommands)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_compress_parser"]


def add_compress_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``compress`` and its subcommands to the top-level subparsers ``sub``."""
    p = sub.add_parser("compress", help="Edge-LLM: layer sensitivity, LUC compression, exits, window tuning")
    csub = p.add_subparsers(dest="compress", required=True, parser_class=parser_class)
    from splitgym.cli_exits import add_exit_commands
    from splitgym.cli_luc import add_luc_commands

    add_luc_commands(csub)
    add_exit_commands(csub)
