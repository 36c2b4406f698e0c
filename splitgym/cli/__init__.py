"""The ``splitgym`` command line: one module per command group, each handler parse -> one library call ->
print. :func:`~splitgym.cli.main.main` dispatches and turns a user's mistake into one line."""

from splitgym.cli.main import main

__all__ = ["main"]
