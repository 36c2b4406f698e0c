"""Entry point of the ``splitgym`` console script: build the parser from the command modules, dispatch,
and turn every user-caused failure into one line (``splitgym: error: ...``, exit status 2).

User-caused failures are a :class:`~splitgym.errors.SplitGymError` (a bad value, an unknown name, a
malformed file), an :class:`OSError` (a missing, unreadable or unwritable path; a full disk) and a closed
output pipe (``splitgym profile list | head -1``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from splitgym.cli import benchmark, compress, demo, envs, evaluate, physics, profile, train
from splitgym.cli.common import Parser
from splitgym.errors import SplitGymError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="splitgym", description="Split LLM inference at the wireless edge.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in (envs, train, evaluate, demo, physics):
        module.add_parser(sub)
    for grouped in (benchmark, profile, compress):
        grouped.add_parser(sub, Parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process arguments); the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not sys.stderr.isatty():  # no Hugging Face "Loading weights" bars in logs: errors stay one line
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        import torch

        torch.set_num_threads(1)  # small MLPs: one thread is as fast and leaves a core to the envs
        return int(args.func(args))
    except SplitGymError as exc:
        print(f"splitgym: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"splitgym: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("splitgym: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
