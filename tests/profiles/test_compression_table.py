"""The compression environment's measured table and the vote-under-channel measurement, on small inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from splitgym.cli.main import main
from splitgym.errors import ConfigError
from splitgym.profiles.compression.exits import load_exits
from splitgym.profiles.compression.sensitivity import per_layer_score
from splitgym.profiles.compression.table import Budget, budget_name, measure_compressed_quality, parse_budget
from splitgym.profiles.compression.vote_channel import vote_under_channel
from splitgym.profiles.llm import load_causal_lm
from splitgym.profiles.profile import resolve_profile
from splitgym.profiles.quality.live import held_out_text


@pytest.fixture(scope="module")
def setup() -> tuple[object, object, np.ndarray, np.ndarray, np.ndarray]:
    torch.set_num_threads(1)
    lm = load_causal_lm("reference")
    heads = load_exits(lm, lm.path / "exits")
    sens = resolve_profile("compression/reference_sensitivity_magnitude").table
    ids = lm.encode(held_out_text())[:512]
    return lm, heads, ids, per_layer_score(sens, "prune"), per_layer_score(sens, "quant")


def test_budget_names_round_trip_and_bad_budgets_are_errors() -> None:
    for b in (Budget("none"), Budget("luc", 0.5, 4), Budget("uniform", 0.3, 8)):
        assert parse_budget(budget_name(b)) == b
    with pytest.raises(ConfigError, match=r"budget=1\.2"):
        parse_budget("luc-1.2-4")
    with pytest.raises(ConfigError, match="bits=5 is not supported"):
        parse_budget("luc-0.5-5")
    with pytest.raises(ConfigError, match="must be 'none' or"):
        parse_budget("sparsegpt-0.5-4")


def test_table_rows_follow_the_modes(setup: tuple) -> None:  # type: ignore[type-arg]
    lm, heads, ids, prune, quant = setup
    table, meta = measure_compressed_quality(
        lm, heads, ids, prune, quant, budgets=(Budget("none"), Budget("luc", 0.5, 4)), snrs=(0.0, 30.0)
    )
    assert len(table) == 2 * 3 * 2 * 13
    exit_rows = table[table["mode"] == "exit"]
    assert (exit_rows[exit_rows["split"] < 3]["feasible"] == 0).all()
    assert (exit_rows[exit_rows["split"] >= 3]["feasible"] == 1).all()
    edge = table[(table["mode"] == "edge") & (table["budget"] == "none")].pivot(
        index="snr_db", columns="split", values="quality"
    )
    assert edge[0].abs().max() == 0.0 and edge[12].abs().max() == 0.0  # no channel, no compression
    assert (edge.loc[0.0, 1:11] < edge.loc[30.0, 1:11]).all()  # the channel costs quality at every split
    assert len(meta["costs"]["luc-0.5-4"]["7"]["rel_time"]) == 7
    assert sum(meta["costs"]["luc-0.5-4"]["7"]["weight_bytes"]) < 0.3 * sum(
        meta["costs"]["none"]["7"]["weight_bytes"]
    )


def test_vote_under_channel_reports_every_exit_and_the_margin(setup: tuple) -> None:  # type: ignore[type-arg]
    lm, heads, ids, prune, quant = setup
    frame = vote_under_channel(lm, heads, ids, prune, quant, [("none", 30.0, 6)])
    row = frame.iloc[0]
    singles = [row[f"acc_exit{e}"] for e in (3, 6, 9, 12)]
    assert row["acc_margin"] == pytest.approx(row["acc_vote"] - max(singles))
    assert row["acc_exit12"] > row["acc_exit3"]  # a clean channel: the output beats the shallow exit


def test_cli_table_and_vote_channel_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compress", "table", "--exits-dir", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["compress", "vote-channel", "--points", "none:10:12", "--out", str(tmp_path)]) == 2
    assert "split 12 of a point must be in 1..11" in capsys.readouterr().err
