"""What every command module shares: the parser class (one-line usage errors) and argument types."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["DEFAULT_OUT", "Parser", "file_name", "positive_int", "seed"]

DEFAULT_OUT = "benchmark-results"  # relative to the current directory: nothing writes into the source tree


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and a pointer to ``--help``)."""

    def error(self, message: str) -> Any:
        command = self.prog.partition(" ")[2]  # "splitgym train" -> "train"
        where = f"{command}: " if command else ""
        self.exit(2, f"splitgym: error: {where}{message} (see '{self.prog} --help')\n")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def seed(text: str) -> int:
    """An integer >= 0."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def file_name(text: str) -> str:
    """A bare file name (no folder, no ``..``): what ``--name`` becomes inside ``--out``."""
    if not text or text in (".", "..") or any(c in text for c in "/\\\0") or text.startswith("."):
        raise argparse.ArgumentTypeError(
            f"{text!r} must be a plain name (no '/', '\\', leading '.' or '..'): it names a file inside --out"
        )
    return text
