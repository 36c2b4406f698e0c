"""Benchmark suites: loading and validation, the resumable runner (local processes and Ray), reports."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from splitgym.benchmarks.report import COLUMNS, bootstrap_iqm_ci, iqm, report_suite
from splitgym.benchmarks.runner import expand, run_suite
from splitgym.benchmarks.suite import load_suite, parse_suite, shipped_suites
from splitgym.errors import ConfigError

TINY: dict[str, Any] = {
    "name": "tiny",
    "envs": [{"id": "splitgym/FadingSplit-v1", "kwargs": {"max_steps": 20}}],
    "agents": [
        {
            "algo": "ppo",
            "n_timesteps": 256,
            "hyperparams": {"n_envs": 1, "n_steps": 128, "batch_size": 64, "n_epochs": 2},
        },
        {"baseline": "random"},
        {"baseline": "oracle"},
    ],
    "seeds": [0, 1],
    "eval_episodes": 2,
    "curve_evaluations": 2,
    "curve_episodes": 1,
}
CELLS = [f"FadingSplit-v1__{a}__s{s}" for a in ("ppo", "random", "oracle") for s in (0, 1)]


def _write_suite(folder: Path, data: dict[str, Any], name: str = "suite.yml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.glob("*.json"))}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny suite run once with two local worker processes: (suite file, results folder)."""
    root = tmp_path_factory.mktemp("bench")
    suite = _write_suite(root, TINY, "tiny.yml")
    out = root / "out"
    summary = run_suite(suite, out, workers=2, progress=False)
    assert sorted(summary.ran) == sorted(CELLS) and summary.skipped == ()
    return suite, out


# -- suites -----------------------------------------------------------------------------------------


def test_shipped_suites_load() -> None:
    assert {"quick", "paper", "fading", "compressed"} <= set(shipped_suites())
    for name in shipped_suites():
        suite = load_suite(name)
        assert suite.name == name and expand(suite)
    quick = load_suite("quick")
    assert [e.id for e in quick.envs] == ["splitgym/FadingSplit-v1"]
    assert {a.name for a in quick.agents} >= {"ppo", "random", "oracle"}
    fading = load_suite("fading", check_envs=False)
    assert [e.id for e in fading.envs] == [
        f"splitgym/FadingSplit-{s}-Stateless-v1"
        for s in ("Pedestrian", "Vehicular", "TinyLlama", "Llama7B", "Analog")
    ]
    assert fading.seeds == (0, 1, 2, 3, 4) and {a.name for a in fading.agents} == {
        "ppo", "maskable_ppo", "random", "edge_only", "device_only", "neurosurgeon_latency", "oracle"
    }  # fmt: skip


def test_unknown_suite_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown suite 'quik' \(did you mean 'quick'\?\).*paper"):
        load_suite("quik")
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite("no/such/suite.yml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": [0]}, r"unknown key 'seed' \(did you mean 'seeds'\?\)"),
        (
            {"envs": [{"id": "splitgym/FadingSplit-v9"}]},
            r"unknown env ID 'splitgym/FadingSplit-v9'.*PaperSplit-v0",
        ),
        (
            {"envs": [{"id": "splitgym/FadingSplit-v1", "kwarg": {}}]},
            r"envs\[0\]: unknown key 'kwarg' \(did you mean 'kwargs'\?\)",
        ),
        (
            {"envs": [{"id": "splitgym/FadingSplit-v1", "kwargs": {"max_stepz": 3}}]},
            r"unknown parameter 'max_stepz' \(did you mean 'max_steps'\?\)",
        ),
        (
            {"agents": [{"algo": "ppp"}]},
            r"unknown algo 'ppp' \(did you mean 'ppo'\?\); allowed: \['ppo', 'a2c', 'dqn', 'maskable_ppo', 'paper_mb', 'active_mb', 'linucb'\]",
        ),
        (
            {"agents": [{"baseline": "orcle"}]},
            r"unknown baseline 'orcle' \(did you mean 'oracle'\?\); allowed: .*'edge_only'",
        ),
        (
            {"agents": [{"algo": "ppo", "n_timestep": 5}]},
            r"agents\[0\]: unknown key 'n_timestep' \(did you mean 'n_timesteps'\?\)",
        ),
        (
            {"agents": [{"algo": "ppo", "hyperparams": {"learning_rat": 0.1}}]},
            r"'learning_rat' is not taken by ppo \(did you mean 'learning_rate'\?\)",
        ),
        (
            {"agents": [{"baseline": "best_split"}]},
            r"baseline 'best_split' is not offered.*\['random', 'edge_only', 'device_only', 'fixed_split', .*'oracle'.*\]",
        ),
        ({"agents": [{"algo": "ppo", "baseline": "random"}]}, r"exactly one of 'algo'"),
        ({"agents": [{"algo": "ppo"}, {"algo": "ppo"}]}, r"share the name\(s\) \['ppo'\]"),
        (
            {"agents": [{"algo": "ppo", "envs": ["Fadin"]}]},
            r"names env 'Fadin'.*its envs: \['FadingSplit-v1'\]",
        ),
        ({"seeds": [0, -1]}, r"seeds entry must be an integer >= 0, got -1"),
        ({"eval_episodes": 0}, r"eval_episodes must be an integer >= 1, got 0"),
        ({"normalize": {"low": "random", "high": "orakel"}}, r"normalize names agent 'orakel'"),
    ],
)
def test_bad_suite_files(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = _write_suite(tmp_path, {**TINY, **change})
    with pytest.raises(ConfigError, match=message):
        load_suite(path)


def test_masked_algo_needs_masks() -> None:
    data = {**TINY, "envs": ["splitgym/PaperSplit-v0"], "agents": [{"algo": "maskable_ppo"}]}
    with pytest.raises(ConfigError, match="maskable_ppo does not run on splitgym/PaperSplit-v0"):
        parse_suite(data)


def test_bad_run_arguments(tiny: tuple[Path, Path]) -> None:
    suite, out = tiny
    with pytest.raises(ConfigError, match="backend must be one of"):
        run_suite(suite, out, backend="dask")
    with pytest.raises(ConfigError, match="is for backend 'ray'"):
        run_suite(suite, out, address="127.0.0.1:6379")


# -- the runner -------------------------------------------------------------------------------------


def test_cells_record_everything(tiny: tuple[Path, Path]) -> None:
    _, out = tiny
    cells = out / "tiny" / "cells"
    assert sorted(p.stem for p in cells.glob("*.json")) == sorted(CELLS)
    ppo = json.loads((cells / "FadingSplit-v1__ppo__s0.json").read_text())
    assert ppo["kind"] == "algo" and ppo["timesteps"] == 256 and ppo["real_evaluations"] == 0
    assert len(ppo["episodes"]["return"]) == 2 and {"quality", "load", "latency_s"} <= set(ppo["episodes"])
    assert ppo["learning_curve"]["timesteps"] == [128, 256]
    assert Path(ppo["run"], "model.zip").is_file() and Path(ppo["run"]).is_relative_to(out / "tiny" / "runs")
    assert ppo["trace"]["level"] == "snr_db" and len(ppo["trace"]["x"]) == len(ppo["trace"]["split"]) == 40
    random = json.loads((cells / "FadingSplit-v1__random__s0.json").read_text())
    assert random["kind"] == "baseline" and random["learning_curve"] is None and random["wall_time_s"] > 0
    # Common random numbers: every agent faces the same episodes (same SNR sequence).
    assert random["episodes"]["snr_db"] == ppo["episodes"]["snr_db"]
    assert (out / "tiny" / "suite.yml").is_file()


def test_rerun_does_no_work(tiny: tuple[Path, Path]) -> None:
    suite, out = tiny
    before = _mtimes(out / "tiny" / "cells")
    summary = run_suite(suite, out, workers=2, progress=False)
    assert summary.ran == () and sorted(summary.skipped) == sorted(CELLS)
    assert _mtimes(out / "tiny" / "cells") == before


def test_deleted_cell_is_redone_alone_and_identically(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    suite, out = tiny
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    cells = copy / "tiny" / "cells"
    target = cells / "FadingSplit-v1__ppo__s1.json"
    old = json.loads(target.read_text())
    target.unlink()
    before = _mtimes(cells)
    summary = run_suite(suite, copy, workers=1, progress=False)  # in this process, not a worker
    assert summary.ran == ("FadingSplit-v1__ppo__s1",)
    after = _mtimes(cells)
    assert {k: v for k, v in after.items() if k != target.name} == before
    new = json.loads(target.read_text())
    for key in ("episodes", "learning_curve", "trace", "timesteps", "summary"):
        assert new[key] == old[key], key  # same seed, same numbers, whichever process trains


def test_changed_cell_spec_is_redone(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = tiny
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    data = {**TINY, "agents": [TINY["agents"][1], TINY["agents"][2]], "eval_episodes": 3}
    summary = run_suite(_write_suite(tmp_path, data), copy, workers=1, progress=False)
    assert len(summary.stale) == 4 and len(summary.ran) == 4
    record = json.loads((copy / "tiny" / "cells" / "FadingSplit-v1__oracle__s0.json").read_text())
    assert len(record["episodes"]["return"]) == 3


# -- reports ----------------------------------------------------------------------------------------


def test_iqm_by_hand() -> None:
    assert iqm([8, 1, 7, 2, 6, 3, 5, 4]) == pytest.approx((3 + 4 + 5 + 6) / 4)  # cut 2 from each end
    assert iqm([1, 2, 3, 4, 100]) == pytest.approx((2 + 3 + 4) / 3)  # floor(5/4) = 1 cut from each end
    assert iqm([1.0, 2.0, 3.0]) == pytest.approx(2.0)
    groups = [[1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0]]
    low, high = bootstrap_iqm_ci(groups, n_boot=500, seed=3)
    assert (low, high) == bootstrap_iqm_ci(groups, n_boot=500, seed=3)  # seeded
    assert 1.0 <= low < iqm(np.concatenate(groups)) < high <= 8.0
    assert bootstrap_iqm_ci([[2.0, 2.0], [2.0, 2.0]]) == (2.0, 2.0)
    ragged = bootstrap_iqm_ci([[1.0, 5.0], [2.0, 3.0, 4.0]], n_boot=200)
    assert 1.0 <= ragged[0] <= ragged[1] <= 5.0


def test_report_tables_and_plots(tiny: tuple[Path, Path]) -> None:
    suite, out = tiny
    report = report_suite(suite, out, n_boot=500)
    folder = out / "tiny" / "report"
    for name in (
        "FadingSplit-v1.csv",
        "FadingSplit-v1.md",
        "results.csv",
        "README.md",
        "FadingSplit-v1_learning_curves.png",
        "FadingSplit-v1_split_vs_channel.png",
        "FadingSplit-v1_quality_vs_load.png",
    ):
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0, name
    table = pd.read_csv(folder / "FadingSplit-v1.csv")
    assert list(table.columns) == list(COLUMNS)
    assert list(table["agent"]) == ["ppo", "random", "oracle"]
    assert (table["seeds"] == 2).all() and (table["note"] == "fewer than 5 seeds").all()
    cells = out / "tiny" / "cells"
    for _, row in table.iterrows():
        per_seed = [
            json.loads((cells / f"FadingSplit-v1__{row['agent']}__s{s}.json").read_text())["episodes"][
                "return"
            ]
            for s in (0, 1)
        ]
        pooled = sorted(per_seed[0] + per_seed[1])  # 4 values: the IQM is the mean of the middle two
        assert row["iqm"] == pytest.approx((pooled[1] + pooled[2]) / 2)
        assert row["return_mean"] == pytest.approx((np.mean(per_seed[0]) + np.mean(per_seed[1])) / 2)
        assert row["return_std"] == pytest.approx(np.std([np.mean(g) for g in per_seed], ddof=1))
        assert row["iqm_ci_low"] <= row["iqm"] <= row["iqm_ci_high"]
    score = dict(zip(table["agent"], table["score"], strict=True))
    assert score["random"] == pytest.approx(0.0) and score["oracle"] == pytest.approx(1.0)
    assert table.loc[table["agent"] == "ppo", "timesteps"].item() == 256
    assert (table["real_evaluations"] == 0).all()
    md = (folder / "FadingSplit-v1.md").read_text()
    assert "IQM [95% CI]" in md and "Fewer than 5 seeds" in md
    assert report.tables["FadingSplit-v1"]["iqm"].tolist() == pytest.approx(table["iqm"].tolist())


def test_report_without_cells(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no finished cells"):
        report_suite(parse_suite(TINY, check_envs=False), tmp_path)


def test_cli_commands(tiny: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from splitgym.cli.main import main

    suite, out = tiny
    assert main(["benchmark", "run", str(suite), "--out", str(out), "--no-progress"]) == 0
    assert "0 cells run, 6 already finished" in capsys.readouterr().out
    assert main(["benchmark", "report", str(suite), "--out", str(out)]) == 0
    assert "report written to" in capsys.readouterr().out
    assert main(["benchmark", "suites"]) == 0
    assert "quick" in capsys.readouterr().out


# -- Ray ------------------------------------------------------------------------------------------


def test_ray_missing_is_a_config_error(
    tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite, out = tiny
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "tiny" / "cells" / "FadingSplit-v1__random__s0.json").unlink()
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ConfigError, match=r"pip install splitgym\[ray\]"):
        run_suite(suite, copy, backend="ray")


HAS_RAY = importlib.util.find_spec("ray") is not None


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install splitgym[ray])")
def test_ray_unreachable_address_loses_nothing(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    suite, out = tiny
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "tiny" / "cells" / "FadingSplit-v1__random__s0.json").unlink()
    before = _mtimes(copy / "tiny" / "cells")
    with pytest.raises(ConfigError, match=r"Ray address '127\.0\.0\.1:1' is unreachable"):
        run_suite(suite, copy, backend="ray", address="127.0.0.1:1")
    assert _mtimes(copy / "tiny" / "cells") == before
    with pytest.raises(ConfigError, match="must look like HOST:PORT"):
        run_suite(suite, copy, backend="ray", address="nowhere")


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install splitgym[ray])")
def test_ray_backend_matches_local(
    tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    monkeypatch.chdir(tmp_path)  # Ray puts the driver's directory on the workers' path: not the checkout

    suite, out = tiny
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_suite(suite, tmp_path / "ray", backend="ray", progress=False)
    finally:
        ray.shutdown()
    assert sorted(summary.ran) == sorted(CELLS)
    local = report_suite(suite, out, n_boot=200).tables["FadingSplit-v1"]
    remote = report_suite(suite, tmp_path / "ray", n_boot=200).tables["FadingSplit-v1"]
    pd.testing.assert_frame_equal(local.drop(columns="wall_time_s"), remote.drop(columns="wall_time_s"))


# -- paired comparisons ---------------------------------------------------------------------------------


def test_bootstrap_mean_ci_brackets_the_mean_and_shrinks_with_data() -> None:
    from splitgym.benchmarks.versus import bootstrap_mean_ci

    assert bootstrap_mean_ci(np.full((3, 4), 2.5)) == (2.5, 2.5)
    rng = np.random.default_rng(0)
    small = rng.normal(1.0, 1.0, size=(2, 10))
    large = rng.normal(1.0, 1.0, size=(8, 200))
    lo_s, hi_s = bootstrap_mean_ci(small)
    lo_l, hi_l = bootstrap_mean_ci(large)
    assert lo_s < small.mean() < hi_s and lo_l < large.mean() < hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 3
    assert 0.8 < lo_l < 1.0 < hi_l < 1.2


def test_paired_differences_use_the_same_episodes() -> None:
    from splitgym.benchmarks.versus import _paired

    a = {0: np.array([10.0, 20.0, 30.0]), 1: np.array([11.0, 21.0, 31.0])}
    b = {0: np.array([9.0, 19.0, 29.0])}  # one run of a deterministic baseline
    np.testing.assert_array_equal(_paired(a, b), [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    same_seed = {0: np.array([10.0, 10.0, 10.0]), 1: np.array([0.0, 0.0, 0.0])}
    np.testing.assert_array_equal(_paired(a, same_seed), [[0.0, 10.0, 20.0], [11.0, 21.0, 31.0]])


def test_versus_says_the_oracle_is_above_random(
    tiny: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from splitgym.benchmarks.versus import versus_table
    from splitgym.cli.main import main

    suite, out = tiny
    frame = versus_table(suite, out, ["oracle"], ["random", "ppo"])
    row = frame[frame["reference"] == "random"].iloc[0]
    assert row["verdict"] == "above" and row["difference_ci_low"] > 0
    assert row["share_of_oracle"] == pytest.approx(1.0)
    assert (
        main(
            [
                "benchmark",
                "versus",
                str(suite),
                "--agents",
                "oracle",
                "--against",
                "random",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "above" in capsys.readouterr().out
    assert (out / "tiny" / "report" / "versus.csv").is_file()
    with pytest.raises(ConfigError, match=r"agents \['nobody'\] are not in suite 'tiny'"):
        versus_table(suite, out, ["nobody"], ["random"])
