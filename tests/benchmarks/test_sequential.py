"""The sequential report's statistics and the episode trace/plot of a stateful env."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from splitgym.benchmarks.episode import STATE_COLUMNS, episode_trace, plot_episode
from splitgym.benchmarks.sequential import gain_ci, paired_difference_ci, sequential_table
from splitgym.errors import ConfigError


def _record(returns: list[float], evals: int = 0) -> dict[str, Any]:
    return {"episodes": {"return": returns}, "real_evaluations_training": evals, "timesteps": 10}


def test_gain_by_hand() -> None:
    p, m, r = np.array([12.0, 14.0, 16.0]), np.array([10.0, 10.0, 10.0]), np.array([0.0, 2.0, 4.0])
    gain, low, high = gain_ci(p, m, r, n_boot=500)
    assert gain == pytest.approx(4.0 / 8.0)  # mean(P - M) = 4, mean(M - R) = 8
    assert low <= gain <= high
    with pytest.raises(ValueError, match="same episodes"):
        gain_ci(p, m[:2], r)


def test_paired_difference_by_hand() -> None:
    agent = np.array([[11.0, 12.0], [13.0, 14.0]])  # 2 seeds x 2 episodes
    ref = np.array([10.0, 10.0])
    mean, low, high = paired_difference_ci(agent, ref, n_boot=500)
    assert mean == pytest.approx(2.5)
    assert 1.0 <= low <= mean <= high <= 4.0
    same, lo, hi = paired_difference_ci(ref[None, :], ref)
    assert same == lo == hi == 0.0


def test_sequential_table_needs_the_three_baselines_and_scores_agents() -> None:
    recs = {
        "random": [_record([0.0, 0.0])],
        "myopic": [_record([10.0, 10.0])],
        "planning": [_record([12.0, 12.0])],
        "ppo": [_record([11.0, 11.0]), _record([12.0, 12.0])],
        "paper_mb": [_record([9.0, 9.0], evals=66)],
    }
    frame = sequential_table(recs, n_boot=200)
    assert frame is not None
    row = frame.set_index("agent")
    assert row.loc["planning", "gain"] == pytest.approx(0.2)
    assert row.loc["ppo", "minus_myopic"] == pytest.approx(1.5) and row.loc["ppo", "beats_myopic"]
    assert row.loc["ppo", "score"] == pytest.approx(0.75)
    assert not row.loc["paper_mb", "beats_myopic"] and row.loc["paper_mb", "real_evals"] == 66
    assert sequential_table({k: v for k, v in recs.items() if k != "planning"}) is None


def test_episode_trace_follows_the_state_and_plots(tmp_path: Path) -> None:
    trace = episode_trace(
        "splitgym/FadingSplit-v1", "myopic", seed=3, env_kwargs={"max_steps": 25, "pool_size": 4}
    )
    assert len(trace) == 25 and set(STATE_COLUMNS) <= set(trace.columns)
    soc = 1.0 - np.cumsum(trace["energy_j"]) / (13.9 * 3600.0 * 0.9)  # capacity x efficiency (BatteryParams)
    assert np.all(np.diff(trace["battery_soc"]) < 0.0) and np.all(np.diff(trace["start_s"]) > 0.0)
    assert trace["battery_soc"].iloc[-1] == pytest.approx(soc.iloc[-1], rel=1e-3)
    png = plot_episode(trace, "splitgym/FadingSplit-v1", "myopic", tmp_path / "ep.png")
    assert png.stat().st_size > 10_000
    with pytest.raises(ConfigError, match="no sequential state"):
        episode_trace("splitgym/FadingSplit-Pedestrian-Stateless-v1")


def test_episode_command_writes_csv_and_png_and_refuses_a_stateless_env(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from splitgym.cli.main import main

    out = tmp_path / "ep"
    assert main(["benchmark", "episode", "--env", "splitgym/FadingSplit-Agentic-v1", "--out", str(out)]) == 0
    assert sorted(p.suffix for p in out.iterdir()) == [".csv", ".png"]
    assert "100 requests" in capsys.readouterr().out
    bad = tmp_path / "bad"
    code = main(
        ["benchmark", "episode", "--env", "splitgym/FadingSplit-Pedestrian-Stateless-v1", "--out", str(bad)]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "no sequential state" in err
    assert not bad.exists()  # validated before anything is written
