"""Every mutant mutmut makes of the configured scope, or a seeded uniform sample of them.

Run in the staging folder (tests/mutation/run.sh). The population is what ``mutmut run`` would test: the
files that ``[tool.mutmut] only_mutate`` selects, mutated by mutmut's own generator. A uniform sample of
``n`` mutants estimates the kill rate of the whole population with a binomial confidence interval (the
report states it); ``--all`` takes the population. Writes ``sample.txt`` (one name a line) and ``population.txt`` (its size).
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from pathlib import Path

import numpy as np
import tomllib
from mutmut.mutation.file_mutation import mutate_file_contents


def population(root: Path) -> list[str]:
    """Names ``module.function__mutmut_i`` of every mutant of the configured files under ``root``."""
    cfg = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["tool"]["mutmut"]
    patterns: list[str] = cfg["only_mutate"]
    names: list[str] = []
    for path in sorted((root / "splitgym").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if not any(fnmatch.fnmatch(rel, p) for p in patterns):
            continue
        module = rel.removesuffix(".py").replace("/", ".")
        mutated = mutate_file_contents(rel, path.read_text("utf-8"))
        names += [f"{module}.{name}" for name in mutated.mutant_names]
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=800, help="sample size (default 800)")
    parser.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    parser.add_argument("--all", action="store_true", help="list the whole population")
    args = parser.parse_args()
    names = population(Path.cwd())
    print(f"population: {len(names)} mutants", file=sys.stderr)
    Path("population.txt").write_text(f"{len(names)}\n", "utf-8")
    if not args.all:
        rng = np.random.default_rng(args.seed)
        names = [names[i] for i in sorted(rng.choice(len(names), min(args.n, len(names)), replace=False))]
    Path("sample.txt").write_text("\n".join(names) + "\n", "utf-8")


if __name__ == "__main__":
    main()
