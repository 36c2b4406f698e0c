"""The paper report: claims beside measured figures, from a suite's results and measured costs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from splitgym.benchmarks.paper_report import best_split_by_level, write_paper_report
from splitgym.errors import ConfigError


def test_best_split_moves_deeper_with_impairment_on_the_paper_table() -> None:
    best = best_split_by_level("paper_llama2_7b_rsm_grid", np.array([0.0, 0.1, 0.3]))
    assert list(best) == [1, 1, 7]


def test_report_from_a_suite_result(tmp_path: Path) -> None:
    suite = tmp_path / "paper"
    (suite / "report").mkdir(parents=True)
    rows = [
        ("PaperSplit-v0", "ppo", "algo", 3.17, 500.0),
        ("PaperSplit-v0", "a2c", "algo", 3.0, 400.0),
        ("PaperSplit-v0", "dqn", "algo", 2.9, 600.0),
        ("PaperSplit-v0", "random", "baseline", 2.77, 0.1),
    ]
    frame = pd.DataFrame(rows, columns=["env", "agent", "kind", "return_mean", "wall_time_s"])
    frame["seeds"], frame["return_std"], frame["score"] = 2, 0.01, 0.5
    frame.to_csv(suite / "report" / "results.csv", index=False)
    path = write_paper_report(
        suite, tmp_path / "out", {"live_s": 0.2, "surrogate_s": 1e-6, "live_model": "x"}
    )
    text = path.read_text()
    assert "ppo > a2c > dqn" in text and "| True |" in text
    assert "13.3 h" in text  # 240k evaluations x 0.2 s
    assert (tmp_path / "out" / "best_split_vs_impairment.png").stat().st_size > 1000
    with pytest.raises(ConfigError, match="run and report the paper suite first"):
        write_paper_report(
            tmp_path / "none", tmp_path / "out", {"live_s": 1, "surrogate_s": 1, "live_model": ""}
        )
