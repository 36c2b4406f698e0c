"""Benchmarks (``splitgym.benchmarks``): YAML suites of env x agent x seed cells (:mod:`.suite`,
``suites/``), the one runner for every suite on local processes or Ray (:mod:`.runner`), reports with
IQM, bootstrap CIs and plots (:mod:`.report`), paired comparisons (:mod:`.versus`), the real-evaluation
budget sweep (:mod:`.budget_sweep`), the paper report (:mod:`.paper_report`) and speed as ratios against
references in the same run (:mod:`.perf`). Committed results live in ``results/``, each beside the
command that made it."""
