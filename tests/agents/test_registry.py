"""The agent registry and the baseline catalogue: one entry per name, reached the same way from every
caller, and a new agent is one Trainer plus one registration."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml

from splitgym.agents.baselines import BASELINES, baselines_for, make_baseline
from splitgym.agents.registry import ALGOS, FitOptions, Request, Trainer, algo_names, get_trainer, registered
from splitgym.agents.trainers.baseline import BaselineTrainer
from splitgym.agents.training import load_policy
from splitgym.cli.main import main
from splitgym.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PED = "splitgym/FadingSplit-Pedestrian-Stateless-v1"


class ToyPolicy:
    """Always the same split; "learns" it as the split with the best mean reward over ``steps`` requests."""

    def __init__(self, split: int) -> None:
        self.split = split

    def predict(
        self, obs: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> Any:
        return np.int64(self.split), state


class ToySettings:
    def __init__(self, warmup: int = 1) -> None:
        self.warmup = warmup


class ToyTrainer(Trainer):
    """A trained agent in 30 lines: it tries every split, keeps the best, checkpoints after each split."""

    name = "toy"
    families = ("split",)
    model_file = "toy.yml"
    default_steps = 26

    def schema(self) -> type[Any]:
        return ToySettings

    def prepare(self, request: Request, probe: gym.Env[Any, Any]) -> int:
        return int(probe.action_space.n)  # type: ignore[attr-defined]

    def _learn(self, request: Request, options: FitOptions, start: int) -> dict[str, Any]:
        from splitgym.agents.envs import make_env

        env = make_env(request.env_id, request.env_kwargs)
        best = (
            yaml.safe_load((options.run / "checkpoint.yml").read_text())
            if start
            else {"split": 0, "mean": -1e9}
        )
        n = int(env.action_space.n)  # type: ignore[attr-defined]
        per_split = max(request.steps // n, 1)
        for k in range(start, n):
            env.reset(seed=request.seed)
            mean = float(np.mean([env.step(k)[1] for _ in range(per_split)]))
            if mean > best["mean"]:
                best = {"split": k, "mean": mean}
            (options.run / "checkpoint.yml").write_text(yaml.safe_dump({**best, "next": k + 1}))
        (options.run / self.model_file).write_text(yaml.safe_dump(best))
        return {"timesteps": per_split * n, "wall_time_s": 0.0, "real_evaluations": 0}

    def fit(self, prepared: Any, request: Request, options: FitOptions) -> dict[str, Any]:
        return self._learn(request, options, 0)

    def resume(self, request: Request, options: FitOptions) -> dict[str, Any]:
        done = yaml.safe_load((options.run / "checkpoint.yml").read_text())["next"]
        return self._learn(request, options, int(done))

    def load(self, run: Path, request: Request, env: gym.Env[Any, Any]) -> tuple[Any, gym.Env[Any, Any]]:
        return ToyPolicy(int(yaml.safe_load((run / self.model_file).read_text())["split"])), env


def test_a_new_agent_is_one_trainer_and_one_registration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with registered(ToyTrainer()):
        assert "toy" in algo_names(trained=True)
        # train, evaluate (with the family's baselines) through the command line
        assert (
            main(
                ["train", "--env", PED, "--algo", "toy", "-f", str(tmp_path / "runs"), "--eval-episodes", "1"]
            )
            == 0
        )
        run = tmp_path / "runs" / "toy" / "FadingSplit-Pedestrian-Stateless-v1_1"
        assert (run / "toy.yml").is_file() and (run / "training.yml").is_file()
        assert main(["evaluate", str(run), "--episodes", "2", "--baselines"]) == 0
        out = capsys.readouterr().out
        assert "toy on splitgym/FadingSplit-Pedestrian-Stateless-v1" in out and "oracle" in out
        # resume: an interrupted run (no training.yml) continues from its checkpoint
        (run / "training.yml").unlink()
        assert main(["train", "--resume", str(run)]) == 0
        assert "resumed" in capsys.readouterr().out
        policy, config, _ = load_policy(run)
        assert config["algo"] == "toy" and isinstance(policy, ToyPolicy)
        # a hyperparameter it does not take is an error before anything is written
        assert (
            main(
                [
                    "train",
                    "--env",
                    PED,
                    "--algo",
                    "toy",
                    "--hyperparams",
                    "bogus:1",
                    "-f",
                    str(tmp_path / "x"),
                ]
            )
            == 2
        )
        assert not (tmp_path / "x").exists()
        # and on an env of another family it is refused by its declared families
        assert (
            main(["train", "--env", "splitgym/PaperSplit-v0", "--algo", "toy", "-f", str(tmp_path / "y")])
            == 2
        )
        assert "toy does not run on splitgym/PaperSplit-v0" in capsys.readouterr().err
        # benchmark it: a suite with the toy agent, run in this process (workers 1)
        suite = tmp_path / "toy.yml"
        suite.write_text(yaml.safe_dump({
            "name": "toy", "envs": [{"id": PED, "kwargs": {"max_steps": 10}}],
            "agents": [{"algo": "toy"}, {"baseline": "random"}, {"baseline": "oracle"}],
            "seeds": [0], "eval_episodes": 2,
        }))  # fmt: skip
        out_dir = tmp_path / "bench"
        assert main(["benchmark", "run", str(suite), "--out", str(out_dir), "--workers", "1", "--no-progress",
                     "--report"]) == 0  # fmt: skip
        report = (out_dir / "toy" / "report" / "FadingSplit-Pedestrian-Stateless-v1.csv").read_text()
        assert "toy" in report and "oracle" in report
    assert "toy" not in ALGOS
    assert main(["train", "--env", PED, "--algo", "toy"]) == 2  # unregistered again


def test_every_baseline_is_defined_once_and_reached_the_same_way() -> None:
    """train --algo, evaluate --baselines and suites resolve a baseline name to the same catalogue entry."""
    from splitgym.benchmarks.suite import BASELINES as SUITE_BASELINES

    assert SUITE_BASELINES is BASELINES
    for name, baseline in BASELINES.items():
        trainer = get_trainer(name)
        assert isinstance(trainer, BaselineTrainer) and trainer.baseline is baseline
        assert trainer.families == baseline.families and not trainer.trained
    from splitgym.registration import FAMILIES

    for family in FAMILIES:
        evaluated = baselines_for(family, evaluation=True)
        assert set(evaluated) <= set(baselines_for(family)) and "random" in evaluated
    assert baselines_for("split", evaluation=True) == (
        "random", "edge_only", "device_only", "fixed_split", "neurosurgeon_latency", "neurosurgeon_energy",
        "oracle",
    )  # fmt: skip
    # the same builder whichever door it is reached through
    env = gym.make(PED)
    a, _, pa = make_baseline("fixed_split", env, "split", seed=3)
    b, _, pb = get_trainer("fixed_split").baseline.build(  # type: ignore[attr-defined]
        __import__("splitgym.agents.baselines", fromlist=["BuildContext"]).BuildContext(env, 3), "split"
    )
    assert type(a) is type(b) and pa == pb
    with pytest.raises(
        ConfigError,
        match=r"baseline 'edge_only' is not offered by .*allowed: \['random', 'best_split', 'oracle'\]",
    ):
        make_baseline("edge_only", gym.make("splitgym/PaperSplit-v0"), "paper")
    with pytest.raises(ConfigError, match="unknown baseline 'orakel' \\(did you mean 'oracle'\\?\\)"):
        make_baseline("orakel", env, "split")


def test_no_dispatch_on_agent_kind() -> None:
    """No ``kind ==`` switches in the shell: what an agent is lives in its Trainer."""
    found = subprocess.run(
        [
            "grep",
            "-rn",
            "--include=*.py",
            "--exclude-dir=results",
            "kind ==",
            "agents",
            "splitgym",
            "benchmarks",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    assert found == "", found


def test_unknown_algorithm_lists_the_registry() -> None:
    with pytest.raises(ConfigError, match=r"unknown algorithm 'ppo2' \(did you mean 'ppo'\?\)"):
        get_trainer("ppo2")
