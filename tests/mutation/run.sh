#!/usr/bin/env bash
# Mutation run over the environment core and the surrogates (`make mutation`; not in CI). mutmut names a
# mutant by the module path of its file and the tests import `splitgym.envs...`, so the run happens in a
# staging copy laid out as the package installs (build/mutation/splitgym/envs/..., real files, not the
# editable install's links). MUTATION_SAMPLE mutants (default 800, a seeded uniform sample of the
# population; "all" for every one) are run, then tests/mutation/report.py writes the report. Verdicts are
# cached in build/mutation/mutants: a second run tests only the sampled mutants without one (an
# interrupted run resumes); MUTATION_RETEST=1 tests the survivors again (after adding tests).
# MUTATION_KEEP=<report mutants.csv> keeps that report's sample and runs only its survivors (mutmut's cache
# is gone in a new checkout; killed mutants stay killed when tests are only added); MUTATION_REDRAW lists
# fnmatch patterns of functions changed since, whose sampled mutants are drawn afresh.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
stage="$root/build/mutation"
tree="$(ls -d "$root"/build/__editable__.*/splitgym | head -1)"
py="$root/.venv/bin/python"
mkdir -p "$stage"
# Fresh copies of the package, the tests and the configuration. mutmut's cache (mutants/) survives: an
# interrupted run resumes where it stopped, and a changed function is mutated and tested again.
rm -rf "$stage/splitgym" "$stage/tests"
cp -rL "$tree" "$stage/splitgym"
cp -r "$root/tests" "$stage/tests"
rm -rf "$stage/tests/clients" "$stage/tests/mutation"
cp "$root/pyproject.toml" "$stage/pyproject.toml"
cd "$stage"
# One thread per process: mutmut forks a worker per mutant after the tests imported torch, and torch's
# thread pool does not survive a fork.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg
sample="${MUTATION_SAMPLE:-800}"
flags=()
[ -n "${MUTATION_RETEST:-}" ] && flags+=(--retest)
report=()
if [ -n "${MUTATION_KEEP:-}" ]; then
    # keep an earlier report's sample: only its survivors (and the redrawn mutants) run again
    flags+=(--keep "$MUTATION_KEEP")
    for pattern in ${MUTATION_REDRAW:-}; do flags+=(--redraw "$pattern"); done
    report=(--previous "$MUTATION_KEEP")
fi
if [ -n "${MUTATION_KEEP:-}" ]; then "$py" "$root/tests/mutation/sample.py" "${flags[@]}"
elif [ "$sample" = all ]; then "$py" "$root/tests/mutation/sample.py" --all "${flags[@]}"
else "$py" "$root/tests/mutation/sample.py" --n "$sample" "${flags[@]}"; fi
if [ -s pending.txt ]; then
    # shellcheck disable=SC2046
    "$root/.venv/bin/mutmut" run --max-children "${MUTATION_JOBS:-2}" $(cat pending.txt) || true
fi
"$py" "$root/tests/mutation/report.py" --stage "$stage" --out "$root/benchmarks/results/mutation" \
    ${report[@]+"${report[@]}"} ${MUTATION_NOTE:+--note "$MUTATION_NOTE"}
