"""No module imports upward: errors/atomic/tables < channel math < profiles < surrogates < environments
and registration < agents < benchmarks < command line. A lower layer never needs a higher one, so each can
be read, tested and reused on its own."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"splitgym": "splitgym", "splitgym.envs": "envs", "splitgym.agents": "agents",
           "splitgym.surrogates": "surrogates", "splitgym.profiles": "profiles",
           "splitgym.benchmarks": "benchmarks"}  # fmt: skip
LAYERS = {
    "splitgym.errors": 0, "splitgym.atomic": 0, "splitgym.tables": 0, "splitgym.style": 0,
    "splitgym.envs.channels": 1, "splitgym.envs.checks": 1,
    "splitgym.profiles": 2, "splitgym.surrogates": 3,
    "splitgym.registration": 4, "splitgym.envs": 4, "splitgym": 4,
    "splitgym.agents": 5, "splitgym.benchmarks": 6, "splitgym.cli": 7, "splitgym.__main__": 7,
}  # fmt: skip


def layer(module: str) -> int:
    prefixes = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    return LAYERS[max(prefixes, key=len)]


def imports() -> list[tuple[str, str]]:
    found = []
    for package, folder in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            module = ".".join([package, *parts])
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("splitgym."):
                    found.append((module, node.module))
                elif isinstance(node, ast.Import):
                    found += [(module, a.name) for a in node.names if a.name.startswith("splitgym.")]
    return found


def test_no_module_imports_a_higher_layer() -> None:
    edges = imports()
    assert len(edges) > 300  # the walk sees the code
    upward = sorted({(a, b) for a, b in edges if layer(b) > layer(a)})
    assert upward == [], upward
