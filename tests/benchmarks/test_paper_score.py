"""End to end: PPO with the paper's settings nearly matches the table's best split (slow: ~4 min)."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitgym.benchmarks.report import report_suite
from splitgym.benchmarks.runner import run_suite
from splitgym.benchmarks.suite import load_suite, parse_suite


@pytest.mark.slow
def test_ppo_with_paper_settings_scores_at_least_095(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    shipped = load_suite("paper_score", check_envs=False)
    assert shipped.normalize == ("random", "best_split")
    data = {
        "name": "paper_score_one",
        "envs": [{"id": "splitgym/PaperSplit-v0", "kwargs": {"observation": "normalized"}}],
        "agents": [
            {"algo": "ppo"},
            {"baseline": "random"},
            {"baseline": "best_split"},
            {"baseline": "oracle"},
        ],
        "seeds": [0],
        "eval_episodes": 500,
        "normalize": {"low": "random", "high": "best_split"},
    }
    suite = parse_suite(data)
    run_suite(suite, tmp_path, workers=1, progress=False)
    table = report_suite(suite, tmp_path).tables["PaperSplit-v0"].set_index("agent")
    assert table.loc["ppo", "score"] >= 0.95, table.to_string()
    assert table.loc["oracle", "score"] >= 1.0
