"""End to end: PPO with the paper's settings nearly matches the table's best split (slow: ~3-4 min)."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitgym.benchmarks.paper_score import paper_score


@pytest.mark.slow
def test_ppo_with_paper_settings_scores_at_least_095(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    frame = paper_score(observations=("normalized",), seeds=(0,), episodes=500, root=tmp_path)
    row = frame.iloc[0]
    assert row["timesteps"] == 240_000
    assert row["score"] >= 0.95, frame.to_string()
    assert row["oracle_score"] >= 1.0
