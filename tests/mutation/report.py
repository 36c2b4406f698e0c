"""The mutation report: kill rate of the sampled mutants, per file, with every survivor's diff.

Reads mutmut's verdicts (``mutants/**/*.py.meta`` in the staging folder) for the names in ``sample.txt``
and writes ``README.md`` and ``mutants.csv`` to ``--out``. Statuses: killed (a test failed), timeout
(counted as killed: the mutant hangs the code), survived, no tests (no selected test reaches the function:
counted as a survivor). Mutants listed in ``tests/mutation/equivalent.toml`` with a reason (the mutation
cannot change behaviour) leave the denominator::

    score = (killed + timeout) / (sampled - equivalent)

with a Wilson 95 % interval, the estimate of the whole population's score from a uniform sample.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import tomllib
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from scipy.stats import binomtest

HERE = Path(__file__).resolve().parent


def verdicts(stage: Path) -> dict[str, tuple[str, str]]:
    """Mutant name -> (status, source path relative to the stage) from mutmut's meta files."""
    out: dict[str, tuple[str, str]] = {}
    for meta in (stage / "mutants").rglob("*.py.meta"):
        source = meta.relative_to(stage / "mutants").as_posix().removesuffix(".meta")
        for name, code in json.loads(meta.read_text("utf-8"))["exit_code_by_key"].items():
            out[name] = (status_by_exit_code[code], source)
    return out


def _markdown(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", type=Path, required=True, help="the staging folder of run.sh")
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    parser.add_argument(
        "--previous",
        type=Path,
        help="an earlier report's mutants.csv: its verdicts stand for mutants without one now (mutmut drops "
        "its cache when the test selection changes; rerun mutants get their new verdict)",
    )
    parser.add_argument("--note", default="", help="a paragraph on how this run went")
    args = parser.parse_args()
    stage: Path = args.stage
    sample = [n for n in (stage / "sample.txt").read_text("utf-8").split() if n]
    population = int((stage / "population.txt").read_text("utf-8"))
    equivalent: dict[str, str] = tomllib.loads((HERE / "equivalent.toml").read_text("utf-8"))["equivalent"]
    found = verdicts(stage)
    previous: dict[str, tuple[str, str]] = {}
    if args.previous is not None:
        old = pd.read_csv(args.previous).fillna("")
        previous = {r.mutant: (r.status, r.file) for r in old.itertuples() if r.status != "not checked"}
    rows = []
    for name in sample:
        status, source = found.get(name, ("not checked", ""))
        if status == "not checked" and name in previous:
            status, source = previous[name]
            source = source or found.get(name, ("", ""))[1]
        if name in equivalent:
            status = "equivalent"
        rows.append({"mutant": name, "file": source, "status": status})
    table = pd.DataFrame(rows)
    counts = Counter(table["status"])
    killed = counts["killed"] + counts["timeout"]
    checked = len(table) - counts["equivalent"] - counts["not checked"]
    ci = binomtest(killed, checked).proportion_ci(method="wilson") if checked else None

    per_file = (
        table.assign(killed=table["status"].isin(["killed", "timeout"]))
        .query("status != 'equivalent' and status != 'not checked'")
        .groupby("file")
        .agg(mutants=("mutant", "size"), killed=("killed", "sum"))
    )
    per_file["score"] = (per_file["killed"] / per_file["mutants"]).round(3)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "mutants.csv", index=False)

    lines = [
        "# Mutation testing: the environment core and the surrogates",
        "",
        "Made with `make mutation` (tests/mutation/run.sh: mutmut 3 in a staging copy of the installed "
        "package, the tests of `tests/envs` and `tests/surrogates` without the slow ones); "
        "the scope is `[tool.mutmut]` in pyproject.toml.",
        "",
        f"Population: {population} mutants of the scope. Sampled uniformly (seed 0): {len(table)}. "
        + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        + ".",
        "",
    ]
    if ci is not None:
        lines += [
            f"**Score: {killed}/{checked} = {killed / checked:.1%} of the non-equivalent sampled mutants "
            f"killed** (Wilson 95 % interval {ci.low:.1%} to {ci.high:.1%}, the estimate for the "
            "population). Timeouts count as killed; mutants no selected test reaches count as survivors.",
            "",
        ]
        if counts["not checked"]:
            lines += [
                f"{counts['not checked']} sampled mutants were not checked (the run was stopped before them; "
                "the sample is tested in file order, so the checked part is not a uniform sample of the "
                "population, and the interval is that of the checked mutants only). `make mutation` "
                "resumes with them.",
                "",
            ]
    if args.note:
        lines += [args.note, ""]
    lines += ["## Per file", "", _markdown(per_file.reset_index()), "", "## Survivors", ""]
    for row in table.query("status in ['survived', 'no tests', 'suspicious']").itertuples():
        try:
            diff = get_diff_for_mutant(row.mutant, path=row.file)  # cwd: the stage
        except Exception as error:  # the report must not die on one unreadable mutant
            diff = f"(diff unavailable: {error})"
        lines += [f"### `{row.mutant}` ({row.status})", "", "```diff", diff.strip(), "```", ""]
    lines += ["## Equivalent (excluded, with the reason)", ""]
    lines += [f"- `{n}`: {r}" for n, r in equivalent.items() if n in set(sample)]
    (args.out / "README.md").write_text("\n".join(lines) + "\n", "utf-8")
    print(f"mutation score {killed}/{checked}" + (f" = {killed / checked:.1%}" if checked else ""))


if __name__ == "__main__":
    main()
