"""The command line: listing, training into a run folder, evaluating, and one-line errors for mistakes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from splitgym.cli.main import main


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "splitgym", *args], capture_output=True, text=True, cwd=cwd or "/", timeout=300
    )


def test_envs_lists_every_id_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["envs"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    import splitgym

    assert [line.split()[0] for line in lines] == splitgym.env_ids()
    assert all(len(line.split()) > 3 for line in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "--env", "splitgym/PaperSplt-v0", "--algo", "ppo"],
            "unknown env ID .*did you mean 'splitgym/PaperSplit-v0'",
        ),
        (
            ["train", "--env", "splitgym/PaperSplit-v0", "--algo", "sac"],
            "unknown algorithm 'sac'.*allowed: .*'paper_mb'",
        ),
        (
            ["train", "--env", "splitgym/PaperSplit-v0", "--algo", "ppo", "--hyperparams", "budget:5"],
            "hyperparameter 'budget' is not taken by ppo",
        ),
        (
            [
                "train",
                "--env",
                "splitgym/PaperSplitDirect-v0",
                "--algo",
                "paper_mb",
                "--hyperparams",
                "budget:0",
            ],
            "budget must be",
        ),
        (
            [
                "train",
                "--env",
                "splitgym/PaperSplitDirect-v0",
                "--algo",
                "paper_mb",
                "--hyperparams",
                "n_steps:5",
            ],
            "hyperparameter 'n_steps' is not taken by paper_mb",
        ),
        (
            ["train", "--env", "splitgym/PaperSplit-v0", "--algo", "paper_mb"],
            "paper_mb does not run on splitgym/PaperSplit-v0",
        ),
        (
            ["train", "--env", "splitgym/FadingSplit-v1", "--algo", "edge_only", "--hyperparams", "x:1"],
            "baseline 'edge_only' takes no hyperparameters",
        ),
        (
            ["train", "--env", "splitgym/PaperSplit-v0", "--algo", "linucb"],
            "linucb does not run on splitgym/PaperSplit-v0",
        ),
        (
            ["train", "--env", "splitgym/PaperSplit-v0", "--algo", "ppo", "--env-kwargs", "w_inff:1"],
            "unknown parameter 'w_inff'",
        ),
        (
            ["train", "--env", "splitgym/PaperSplit-v0", "--algo", "ppo", "--env-kwargs", "w_inf:-2"],
            r"w_inf must be in \[0, 1e\+06\]",
        ),
        (
            [
                "train",
                "--env",
                "splitgym/PaperSplit-v0",
                "--algo",
                "ppo",
                "--env-kwargs",
                "reset_impairment:[0.2,0.9]",
            ],
            "reset_impairment must satisfy",
        ),
        (
            ["train", "--env", "splitgym/PaperSplit-v0", "--algo", "ppo", "--hyperparams", "n_step:8"],
            "'n_step' is not taken by ppo .*'n_steps'",
        ),
        (
            ["train", "--env", "splitgym/PaperSplit-v0", "--algo", "ppo", "--env-kwargs", "w_inf"],
            "must look like key:value",
        ),
        (["train", "--env", "splitgym/PaperSplit-v0", "--algo", "ppo", "-n", "0"], "must be >= 1"),
        (["evaluate", "no/such/run"], "run folder no/such/run does not exist"),
        (["benchmark", "nope"], "invalid choice: 'nope'"),
        (["benchmark", "perf", "--env", "splitgym/Fading-v0"], "unknown env ID 'splitgym/Fading-v0'"),
        (
            ["train", "--env", "splitgym/FadingSplit-v1", "--algo", "ppo", "--env-kwargs", "device:iphone"],
            "device must be one of .*'raspberry-pi-5'",
        ),
        (
            [
                "train",
                "--env",
                "splitgym/FadingSplit-v1",
                "--algo",
                "ppo",
                "--env-kwargs",
                "scenario:Cycling",
            ],
            "scenario 'Cycling' is unknown.*'Pedestrian'",
        ),
        (
            ["train", "--env", "splitgym/FadingSplit-v1", "--algo", "ppo", "--env-kwargs", "deadline_s:0"],
            "deadline_s must be > 0",
        ),
        (
            ["train", "--env", "splitgym/PaperSplit-v0", "--algo", "maskable_ppo"],
            "maskable_ppo does not run on splitgym/PaperSplit-v0",
        ),
    ],
)
def test_user_mistakes_are_one_line_without_traceback(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code  # type: ignore[assignment]
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert re.search(message, err), err
    assert not (in_tmp / "runs").exists()  # nothing half-made is left behind


def test_console_script_exits_2_without_traceback() -> None:
    out = run_cli("train", "--env", "Nope-v0", "--algo", "ppo")
    assert out.returncode == 2
    assert out.stderr.startswith("splitgym: error: unknown env ID 'Nope-v0'")
    assert "Traceback" not in out.stderr


def test_train_then_evaluate_writes_a_complete_run_folder(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["train", "--env", "splitgym/PaperSplit-v0", "--algo", "a2c", "-n", "600", "--seed", "3",
         "--env-kwargs", "w_inf:5", "observation:paper", "--eval-episodes", "3"]
    )  # fmt: skip
    assert code == 0
    run = in_tmp / "runs" / "a2c" / "PaperSplit-v0_1"
    for name in ("model.zip", "config.yml", "args.yml", "command.txt", "evaluations.npz", "0.monitor.csv"):
        assert (run / name).is_file(), name
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["env_kwargs"] == {"w_inf": 5, "observation": "paper"}
    assert config["env_config"]["w_inf"] == 5 and config["env_config"]["horizon"] == 5
    assert config["env_config"]["reset_impairment"] == [0.01, 0.3]
    assert config["seed"] == 3 and config["n_timesteps"] == 600
    assert "train --env splitgym/PaperSplit-v0 --algo a2c -n 600" in (run / "command.txt").read_text()
    monitor = pd.read_csv(run / "0.monitor.csv", skiprows=1)
    assert {"r", "l", "r_quality", "r_load", "split"} <= set(monitor.columns)
    assert (monitor["l"] == 5).all()
    assert np.load(run / "evaluations.npz")["results"].shape[1] == 3
    capsys.readouterr()

    assert main(["evaluate", str(run), "--episodes", "7", "--baselines"]) == 0
    out = capsys.readouterr().out
    for word in ("a2c", "r_quality", "r_load", "random", "best_split", "oracle", "normalised score"):
        assert word in out
    frame = pd.read_csv(run / "evaluation.csv")
    assert len(frame) == 7
    np.testing.assert_allclose(frame["return"], frame["r_quality"] + frame["r_load"], rtol=1e-9)

    assert main(["train", "--env", "splitgym/PaperSplit-v0", "--algo", "dqn", "-n", "300"]) == 0
    assert (in_tmp / "runs" / "dqn" / "PaperSplit-v0_1" / "model.zip").is_file()
    assert main(["train", "--env", "splitgym/PaperSplit-v0", "--algo", "dqn", "-n", "300"]) == 0
    assert (in_tmp / "runs" / "dqn" / "PaperSplit-v0_2" / "model.zip").is_file()


def test_a_corrupt_run_folder_is_a_clear_error(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = in_tmp / "runs" / "ppo" / "X_1"
    run.mkdir(parents=True)
    (run / "config.yml").write_text("algo: ppo\nenv_id: splitgym/PaperSplit-v0\n")
    assert main(["evaluate", str(run)]) == 2
    assert "not a complete run folder: missing ['args.yml', 'command.txt']" in capsys.readouterr().err
    for name in ("args.yml", "command.txt"):
        (run / name).write_text("garbage")
    assert main(["evaluate", str(run)]) == 2
    assert "has no manifest.json" in capsys.readouterr().err  # not written by splitgym: refused first
    assert main(["evaluate", str(run), "--trust"]) == 2
    assert "config.yml: 'n_timesteps' must be an integer >= 1, got None" in capsys.readouterr().err
    (run / "config.yml").write_text("algo: ppo\nenv_id: splitgym/PaperSplit-v0\nn_timesteps: 100\nseed: 0\n")
    assert main(["evaluate", str(run), "--trust"]) == 2
    assert "not a complete run folder: missing ['model.zip']" in capsys.readouterr().err
    (run / "model.zip").write_text("garbage")
    assert main(["evaluate", str(run)]) == 2
    assert "has no manifest.json" in capsys.readouterr().err  # refused before anything is read
    assert main(["evaluate", str(run), "--trust"]) == 2
    assert "model.zip cannot be loaded" in capsys.readouterr().err


@pytest.mark.slow
def test_maskable_ppo_trains_on_a_fading_scenario_and_evaluates_against_its_baselines(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "train",
        "--env",
        "splitgym/FadingSplit-Llama7B-Stateless-v1",
        "--algo",
        "maskable_ppo",
        "-n",
        "1024",
    ]
    code = main([*args, "--hyperparams", "n_steps:128", "batch_size:64", "--eval-episodes", "2"])
    assert code == 0
    run = in_tmp / "runs" / "maskable_ppo" / "FadingSplit-Llama7B-Stateless-v1_1"
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["env_config"]["model"] == "llama2-7b" and config["hyperparams"]["n_envs"] == 4
    capsys.readouterr()
    assert main(["evaluate", str(run), "--episodes", "3", "--baselines"]) == 0
    out = capsys.readouterr().out
    for word in ("maskable_ppo", "edge_only", "device_only", "oracle", "normalised score"):
        assert word in out
    frame = pd.read_csv(run / "evaluation.csv")
    assert frame["r_invalid"].eq(0).all()  # masked actions are never chosen
    terms = frame[["r_quality", "r_load", "r_energy", "r_latency", "r_invalid"]].sum(axis=1)
    np.testing.assert_allclose(frame["return"], terms, rtol=1e-9)


def test_benchmark_perf_prints_the_ratios_and_saves_them(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["benchmark", "perf", "--quick", "--out", "perf"]) == 0
    out = capsys.readouterr().out
    assert "CartPole-v1" in out and "SyncVectorEnv" in out and "machine:" in out
    frame = pd.read_csv(in_tmp / "perf" / "perf.csv")
    # --quick: no live LLM; splitgym/FadingSplit-v1
    assert list(frame["name"]) == ["env step", "vector env", "PPO throughput", "PPO on vector env"]
    assert set(frame["ours"]) >= {"splitgym/FadingSplit-v1", "native x4096"}
    assert frame.loc[frame["name"] == "vector env", "target"].item() == "native >= 2e+06 steps/s at 4096 envs"
    assert (frame["ratio"] > 0).all()
    np.testing.assert_allclose(frame["ratio"], frame["ours_value"] / frame["reference_value"], rtol=1e-9)
    record = yaml.safe_load((in_tmp / "perf" / "perf.json").read_text())
    assert record["machine"]["cores_available"] >= 1 and record["command"].startswith(
        "splitgym benchmark perf"
    )


def test_resume_continues_an_interrupted_run_from_its_last_checkpoint(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--env", "splitgym/PaperSplit-v0", "--algo", "ppo", "-n", "2000", "--eval-episodes", "2"]
    assert main([*args, "--hyperparams", "n_steps:100", "batch_size:50"]) == 0
    run = in_tmp / "runs" / "ppo" / "PaperSplit-v0_1"
    checkpoints = sorted((run / "checkpoints").glob("model_*_steps.zip"))
    assert len(checkpoints) >= 5
    # Simulate an interruption after 1000 steps: the final model and the later checkpoints never happened.
    (run / "model.zip").unlink()
    (run / "training.yml").unlink()
    for path in checkpoints:
        if int(path.stem.split("_")[1]) > 1000:
            path.unlink()
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 0
    assert "now 2000 steps" in capsys.readouterr().out
    record = yaml.safe_load((run / "training.yml").read_text())
    assert record == {**record, "timesteps": 2000, "resumed_from_timesteps": 1000}
    monitor = pd.read_csv(run / "0.monitor.csv", skiprows=1)
    assert monitor["l"].sum() >= 1000  # the first part's episodes are kept, the new ones appended
    assert main(["train", "--resume", str(run)]) == 2
    assert "the run is finished" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--algo", "ppo"]) == 2
    assert "drop --algo" in capsys.readouterr().err
    assert main(["train", "--resume", str(in_tmp)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["train", "--env", "splitgym/PaperSplit-v0"]) == 2
    assert "--env and --algo are required" in capsys.readouterr().err


def test_budget_sweep_prints_the_real_evaluations_each_agent_needs(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["benchmark", "budget-sweep", "--real", "accuracy/reference_erasure", "--budgets", "5", "20"]
    more = ["--seeds", "0", "--episodes", "3", "-n", "200", "--ppo-steps", "100", "--out", "out"]
    assert main([*args, *more]) == 0
    out = capsys.readouterr().out
    assert "smallest real evaluations reaching 95 % of the oracle's return" in out
    for agent in ("paper", "active", "ppo_direct"):
        assert re.search(rf"^  {agent}\s+\S+$", out, re.M), out
    frame = pd.read_csv(in_tmp / "out" / "budget_sweep.csv")
    assert set(frame["agent"]) == {"paper", "active", "ppo_direct"}
    assert frame.loc[frame["agent"] == "paper", "real_evaluations"].tolist() == [20]  # 5 buys no grid
    # --resume keeps every finished row and its references, and runs only what is missing.
    base = ["benchmark", "budget-sweep", "--real", "accuracy/reference_erasure"]
    assert main([*base, "--budgets", "5", "20", "30", *more, "--resume"]) == 0
    again = pd.read_csv(in_tmp / "out" / "budget_sweep.csv")
    pd.testing.assert_frame_equal(again.iloc[: len(frame)].reset_index(drop=True), frame)
    added = again.iloc[len(frame) :]
    assert sorted(zip(added["agent"], added["budget"], strict=True)) == [("active", 30), ("paper", 30)]
    assert (again["oracle_return"] == frame["oracle_return"].iloc[0]).all()
    assert main(["benchmark", "budget-sweep", "--real", "no_such_profile"]) == 2
    assert "no_such_profile" in capsys.readouterr().err
