"""Every agent through one entry point: run folders, TensorBoard scalars, evaluation, resume, mistakes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from splitgym.agents.recorded import RecordedQualityModel
from splitgym.agents.training import evaluate_run, load_policy, resume, train
from splitgym.cli.main import main
from splitgym.errors import ConfigError
from splitgym.profiles.quality import TableQualityModel

PED = "splitgym/FadingSplit-Pedestrian-Stateless-v1"
ANALOG = "splitgym/FadingSplit-Analog-Stateless-v1"  # measured quality that depends on the SNR: what a surrogate learns
DIRECT = "splitgym/PaperSplitDirect-v0"


def _scalars(folder: Path) -> dict[str, list[float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out: dict[str, list[float]] = {}
    for events in folder.rglob("events.out.tfevents.*"):
        acc = EventAccumulator(str(events.parent))
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            out.setdefault(tag, []).extend(e.value for e in acc.Scalars(tag))
    return out


@pytest.mark.parametrize(
    ("env_id", "algo", "hyperparams", "model_file"),
    [
        (DIRECT, "paper_mb", {"budget": 20, "n_timesteps": 200}, "model.zip"),
        (PED, "linucb", {"n_timesteps": 300}, "model.npz"),
        (PED, "fixed_split", {}, "policy.yml"),
        (PED, "neurosurgeon", {"objective": "energy"}, "policy.yml"),
        (PED, "oracle", {}, "policy.yml"),
        ("splitgym/PaperSplit-v0", "best_split", {}, "policy.yml"),
    ],
)
def test_every_kind_of_agent_trains_into_a_run_folder(
    env_id: str, algo: str, hyperparams: dict[str, object], model_file: str, tmp_path: Path
) -> None:
    result = train(env_id, algo, hyperparams=hyperparams, root=tmp_path, seed=3)
    run = result.run
    assert run == tmp_path / algo / f"{env_id.split('/')[1]}_1"
    for name in ("config.yml", "args.yml", "command.txt", "training.yml", model_file):
        assert (run / name).is_file(), name
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["algo"] == algo and config["seed"] == 3
    frame, _, real = evaluate_run(run, episodes=3)
    assert len(frame) == 3 and (run / "evaluation.csv").is_file()
    assert real["evaluation"] == 0
    if algo == "paper_mb":
        assert real["training"] == 20
        assert len(pd.read_csv(run / "real_evaluations.csv")) == 20
        assert (run / "surrogate").is_dir()
    else:
        assert real["training"] == 0
    if algo == "linucb":
        assert result.timesteps == 300
        policy, _, _ = load_policy(run)
        assert policy.explore  # played with its UCB rule, as ANS does, not greedily


def test_the_best_fixed_split_is_the_best_on_calibration_episodes(tmp_path: Path) -> None:
    import gymnasium as gym

    from splitgym.agents.evaluation import evaluate
    from splitgym.agents.policies.split import FixedSplitPolicy

    run = train(PED, "fixed_split", root=tmp_path, seed=0).run
    chosen = yaml.safe_load((run / "policy.yml").read_text())["params"]["split"]
    env = gym.make(PED)
    returns = {
        k: evaluate(FixedSplitPolicy(env, k), env, 10, seed=10_000)["return"].mean() for k in range(1, 25)
    }
    assert chosen == max(returns, key=lambda k: returns[k])
    policy, _, _ = load_policy(run)
    assert policy.split == chosen


def test_model_based_training_logs_real_evaluations_and_reward_terms(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--env", ANALOG, "--algo", "active_mb", "-n", "2048", "--tensorboard", "tb"]
    hp = ["--hyperparams", "budget:24", "rounds:2", "refine_timesteps:2048"]
    assert main([*args, *hp]) == 0
    out = capsys.readouterr().out
    assert "real evaluations of the quality model spent in training: 24" in out
    run = in_tmp / "runs" / "active_mb" / "FadingSplit-Analog-Stateless-v1_1"
    record = yaml.safe_load((run / "training.yml").read_text())
    assert record["real_evaluations"] == 24 and len(record["acquisition"]) == 2
    assert record["timesteps"] == 3 * 2048  # first round + two warm-started refinements
    scalars = _scalars(in_tmp / "tb")
    for tag in ("real/evaluations", "surrogate/evaluations", "terms/r_quality", "terms/r_load"):
        assert tag in scalars, sorted(scalars)
    assert max(scalars["real/evaluations"]) == 24
    assert min(scalars["real/evaluations"]) == 12  # the first round trains on the initial design only
    assert main(["evaluate", str(run), "--episodes", "2"]) == 0
    assert "real evaluations of the quality model: 24 in training, 0 in this evaluation" in (
        capsys.readouterr().out
    )


def test_linucb_logs_reward_terms(in_tmp: Path) -> None:
    assert main(["train", "--env", PED, "--algo", "linucb", "-n", "1000", "--tensorboard", "tb"]) == 0
    scalars = _scalars(in_tmp / "tb")
    assert "terms/r_quality" in scalars and "rollout/ep_rew_mean" in scalars


def test_an_interrupted_linucb_run_resumes_to_the_same_bandit(tmp_path: Path) -> None:
    whole = train(PED, "linucb", n_timesteps=1500, root=tmp_path / "a", seed=1).run
    cut = train(PED, "linucb", n_timesteps=1500, root=tmp_path / "b", seed=1).run
    # Interrupted after 700 steps: the final files and later checkpoints never happened.
    (cut / "model.npz").unlink()
    (cut / "training.yml").unlink()
    for path in (cut / "checkpoints").glob("linucb_*.npz"):
        if int(path.stem.split("_")[1]) > 700:
            path.unlink()
    result = resume(cut)
    assert result.timesteps == 1500
    record = yaml.safe_load((cut / "training.yml").read_text())
    assert record["resumed_from_timesteps"] == 600  # the latest checkpoint before the interruption
    with np.load(whole / "model.npz") as a, np.load(cut / "model.npz") as b:
        np.testing.assert_array_equal(a["A"], b["A"])
        np.testing.assert_array_equal(a["b"], b["b"])
    assert len(pd.read_csv(cut / "episodes.csv")) == len(pd.read_csv(whole / "episodes.csv")) == 15
    with pytest.raises(ConfigError, match="the run is finished"):
        resume(cut)


def test_a_resumed_model_based_run_pays_no_real_evaluation_twice(tmp_path: Path) -> None:
    hp = {"budget": 20, "initial": 12, "rounds": 2, "n_timesteps": 200, "refine_timesteps": 100}
    run = train(DIRECT, "active_mb", hyperparams=hp, root=tmp_path, seed=2).run
    full = pd.read_csv(run / "real_evaluations.csv")
    assert len(full) == 20
    # Interrupted after the initial design: only its 12 evaluations were recorded.
    full.iloc[:12].to_csv(run / "real_evaluations.csv", index=False, float_format="%.17g")
    for name in ("model.zip", "training.yml"):
        (run / name).unlink()
    shutil.rmtree(run / "surrogate")
    resume(run)
    record = yaml.safe_load((run / "training.yml").read_text())
    assert record["real_evaluations"] == 20
    assert record["real_evaluations_replayed"] == 12
    assert record["real_evaluations_paid_this_session"] == 8
    assert len(pd.read_csv(run / "real_evaluations.csv")) == 20
    (run / "training.yml").unlink()
    (run / "real_evaluations.csv").write_text("level,split\n0.1,3\n")
    with pytest.raises(ConfigError, match="not a valid record of real evaluations"):
        resume(run)


def test_the_recorded_model_replays_what_it_recorded(tmp_path: Path) -> None:
    real = TableQualityModel("accuracy/reference_erasure")
    first = RecordedQualityModel(real, tmp_path / "r.csv")
    q = first.quality_batch([1, 2, 3], [0.05, 0.1, 0.2])
    assert first.paid == 3 and first.replayed == 0

    class Broken:
        level_name = "impairment"
        splits = real.splits

        def quality_batch(self, splits: object, levels: object) -> np.ndarray:
            raise AssertionError("a recorded point reached the real model")

    again = RecordedQualityModel(Broken(), tmp_path / "r.csv")  # type: ignore[arg-type]
    np.testing.assert_array_equal(again.quality_batch([1, 2, 3], [0.05, 0.1, 0.2]), q)
    assert again.replayed == 3 and again.paid == 0


def test_real_evaluations_of_training_environments_are_counted() -> None:
    from stable_baselines3.common.env_util import make_vec_env

    from splitgym.agents.trainers.sb3 import _venv_real_evaluations
    from splitgym.profiles.quality import CountingQualityModel

    counted = CountingQualityModel(TableQualityModel("accuracy/reference_erasure"))
    venv = make_vec_env(DIRECT, n_envs=2, seed=0, env_kwargs={"quality_model": counted})
    venv.reset()
    for _ in range(5):
        venv.step(np.array([venv.action_space.sample() for _ in range(2)]))
    assert _venv_real_evaluations(venv) == counted.calls > 0  # both envs share it: counted once
    table = make_vec_env(DIRECT, n_envs=1, seed=0)
    assert _venv_real_evaluations(table) == 0  # a measured table costs no real evaluation
