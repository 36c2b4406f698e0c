"""The command line as documented: every command and flag in the README parses, and every handler is thin
(parse, one library call, print)."""

from __future__ import annotations

import importlib
import inspect
import re
import shlex
from pathlib import Path

import pytest

from splitgym.cli import benchmark, compress, demo, envs, evaluate, physics, profile, train

main = importlib.import_module("splitgym.cli.main")  # the module (the package exports its function)

ROOT = Path(__file__).resolve().parents[2]
MODULES = (benchmark, compress, demo, envs, evaluate, main, physics, profile, train)


def _readme_commands() -> list[str]:
    """Every ``splitgym ...`` command line of the README's code blocks (continuations joined)."""
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```(?:bash|text)\n(.*?)```", text, re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("splitgym "):
                commands.append(line.split("  #")[0].split(" # ")[0].strip())
    return commands


COMMANDS = _readme_commands()


def test_the_readme_documents_commands() -> None:
    assert len(COMMANDS) >= 25, COMMANDS


@pytest.mark.parametrize("line", COMMANDS)
def test_every_readme_command_and_flag_parses(line: str) -> None:
    args = main.build_parser().parse_args(shlex.split(line)[1:])
    assert callable(args.func)


def test_handlers_are_thin() -> None:
    """Each handler (a function taking the parsed arguments) is at most 40 lines and computes nothing:
    the work is one library call."""
    for module in MODULES:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if (
                fn.__module__ != module.__name__
                or name.startswith("add_parser")
                or name in ("build_parser", "main")
            ):
                continue
            lines = len(inspect.getsourcelines(fn)[0])
            assert lines <= 40, f"{module.__name__}.{name} has {lines} lines"


def test_old_cli_modules_are_gone() -> None:
    assert not list((ROOT / "splitgym").glob("cli_*.py"))
    assert not (ROOT / "splitgym" / "cli.py").exists()


def test_no_default_output_inside_the_source_tree() -> None:
    """Defaults are relative to the current directory and never name a source folder."""
    parser = main.build_parser()
    sources = ("benchmarks/", "profiles/", "envs/", "agents/", "splitgym/")
    stack = [parser]
    while stack:
        p = stack.pop()
        for action in p._actions:
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                stack.extend(action.choices.values())
            default = action.default
            if isinstance(default, str) and "/" in default and action.dest not in ("env", "sensitivity"):
                assert not default.startswith(sources), (p.prog, action.dest, default)
