"""Every mutant mutmut makes of the configured scope, or a seeded uniform sample of them.

Run in the staging folder (tests/mutation/run.sh). The population is what ``mutmut run`` would test: the
files that ``[tool.mutmut] only_mutate`` selects, mutated by mutmut's own generator. A uniform sample of
``n`` mutants estimates the kill rate of the whole population with a binomial confidence interval (the
report states it); ``--all`` takes the population. Writes ``sample.txt`` (one name a line), ``population.txt`` (its size) and
``pending.txt``: the sampled mutants that still need a run, those without a verdict in mutmut's cache (an
interrupted run resumes there), and with ``--retest`` the survivors too (after tests were added).

``--keep REPORT.csv`` keeps an earlier report's sample instead of drawing one (after tests were added:
killed mutants stay killed when tests are only added, so only that report's survivors are pending, and
``report.py --previous`` carries the other verdicts over). ``--redraw PATTERN`` (fnmatch, repeatable) names
functions whose code changed since that report: their kept names would point at other mutants now, so they
are dropped and the same number is drawn (seeded, uniformly) from the current mutants matching the
patterns, and run.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import json
import sys
from pathlib import Path

import numpy as np
import tomllib
from mutmut.mutation.file_mutation import mutate_file_contents
from mutmut.stats import status_by_exit_code


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


def verdicts(root: Path) -> dict[str, int | None]:
    """mutmut's cached exit code of every mutant it knows (``None``: not run yet)."""
    out: dict[str, int | None] = {}
    for meta in (root / "mutants").rglob("*.py.meta"):
        out.update(json.loads(meta.read_text("utf-8"))["exit_code_by_key"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=800, help="sample size (default 800)")
    parser.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    parser.add_argument("--all", action="store_true", help="list the whole population")
    parser.add_argument("--retest", action="store_true", help="run the survivors again too")
    parser.add_argument("--keep", type=Path, help="an earlier report's mutants.csv: keep its sample")
    parser.add_argument("--redraw", action="append", default=[], help="with --keep: functions to redraw")
    args = parser.parse_args()
    names = population(Path.cwd())
    print(f"population: {len(names)} mutants", file=sys.stderr)
    Path("population.txt").write_text(f"{len(names)}\n", "utf-8")
    previous: dict[str, str] = {}
    fresh: set[str] = set()
    if args.keep is not None:
        with args.keep.open(encoding="utf-8") as f:
            previous = {row["mutant"]: row["status"] for row in csv.DictReader(f)}

        def changed(n: str) -> bool:
            return any(fnmatch.fnmatchcase(n, p) for p in args.redraw)

        kept = [n for n in previous if not changed(n)]
        present = set(names)
        lost = [n for n in kept if n not in present]
        if lost:
            sys.exit(f"--keep: {len(lost)} kept mutants are not in the population (redraw them): {lost[:3]}")
        pool = [n for n in names if changed(n)]
        rng = np.random.default_rng(args.seed)
        need = len(previous) - len(kept)
        fresh = (
            {pool[i] for i in rng.choice(len(pool), min(need, len(pool)), replace=False)} if need else set()
        )
        order = {n: i for i, n in enumerate(names)}
        names = sorted([*kept, *fresh], key=order.__getitem__)
        print(f"kept {len(kept)} of {len(previous)}, redrew {len(fresh)}", file=sys.stderr)
    elif not args.all:
        rng = np.random.default_rng(args.seed)
        names = [names[i] for i in sorted(rng.choice(len(names), min(args.n, len(names)), replace=False))]
    Path("sample.txt").write_text("\n".join(names) + "\n", "utf-8")
    known = verdicts(Path.cwd())
    settled = ("killed", "timeout", "equivalent")
    pending = [
        n
        for n in names
        if (known.get(n) is None and (n in fresh or previous.get(n) not in settled))
        or (known.get(n) is not None and args.retest and status_by_exit_code[known[n]] not in settled)
    ]
    Path("pending.txt").write_text("".join(n + "\n" for n in pending), "utf-8")
    print(f"sample: {len(names)} mutants, {len(pending)} to run", file=sys.stderr)


if __name__ == "__main__":
    main()
