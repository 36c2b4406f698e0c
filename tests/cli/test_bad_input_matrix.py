"""A matrix of bad inputs over the command line, env kwargs, hyperparameters, profile, suite and run-folder
files: each is exit status 2, exactly one line on stderr starting with ``splitgym: error:``, no
traceback, and nothing left behind in the working folder (or, for a run folder, no file added or
changed in it)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from splitgym.cli.main import main

PAPER, FADING, DIRECT = "splitgym/PaperSplit-v0", "splitgym/FadingSplit-v1", "splitgym/PaperSplitDirect-v0"


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in folder.rglob("*")
    }


def _expect_one_line_error(argv: list[str], capsys: pytest.CaptureFixture[str], folder: Path) -> str:
    before = _snapshot(folder)
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert code == 2, f"exit status {code} (silently accepted?): {argv}\n{err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("splitgym: error:"), err
    assert "Traceback" not in err
    assert _snapshot(folder) == before, "the command left files behind"
    return lines[0]


def _case(*argv: str, marks: Any = ()) -> Any:
    return pytest.param(list(argv), id=" ".join(argv)[:120], marks=marks)


# -- command-line arguments (argparse types, choices, required arguments) ----------------------------------

_INT_FLAGS = {
    ("train", "--env", PAPER, "--algo", "ppo"): {
        "-n": ["0", "-5", "x", "1.5"],
        "--seed": ["-1", "a", "1e3"],
        "--eval-episodes": ["0", "x"],
        "--verbose": ["x"],
    },
    ("evaluate", "runs/x"): {"--episodes": ["0", "-1", "x"], "--seed": ["-1", "x"]},
    ("benchmark", "run", "quick"): {"--workers": ["0", "x", "-2"]},
    ("benchmark", "budget-sweep"): {
        "--budgets": ["0", "x"],
        "--seeds": ["-1"],
        "--episodes": ["0"],
        "-n": ["0"],
        "--ppo-steps": ["0", "-1"],
    },
    ("profile", "train-reference"): {"--steps": ["0", "x"], "--seed": ["-1"], "--threads": ["0"]},
    ("profile", "accuracy"): {
        "--repeats": ["0"],
        "--tokens": ["0", "-5"],
        "--seed": ["-1"],
        "--levels": ["x"],
    },
    ("profile", "timings", "--model", "gpt2"): {
        "--prompt-lengths": ["0"],
        "--context-lengths": ["-1"],
        "--repeats": ["0"],
        "--warmup": ["0"],
        "--probe-layers": ["0"],
        "--threads": ["0"],
    },
    ("compress", "sensitivity"): {"--tokens": ["-5", "0"], "--window": ["0"]},
    ("compress", "apply"): {"--tokens": ["0"], "--calib-tokens": ["-1"], "--act-bits": ["x"]},
    ("compress", "table"): {"--tokens": ["-5", "0"], "--snrs": ["x"]},
    ("compress", "vote-channel"): {"--tokens": ["0"]},
    ("compress", "exits"): {"--steps": ["x"], "--lr": ["x"], "--batch": ["x"]},
    ("demo",): {"--workers": ["0"]},
    ("benchmark", "cell"): {
        "--users": ["0", "x", "2,-1", ""],
        "--seeds": ["0"],
        "--steps": ["0", "x"],
        "--methods": ["nope", "device,greedy"],
    },
}
ARGPARSE = [
    _case(*base, flag, value)
    for base, flags in _INT_FLAGS.items()
    for flag, values in flags.items()
    for value in values
]
ARGPARSE += [
    _case(*cmd, "--name", name)
    for cmd in (("benchmark", "budget-sweep"), ("compress", "sensitivity"), ("compress", "table"),
                ("profile", "accuracy"))
    for name in ("../../escape", "a/b", "..", ".hidden", "/abs")
]  # fmt: skip
ARGPARSE += [
    _case("nope"),
    _case("benchmark"),
    _case("benchmark", "nope"),
    _case("profile"),
    _case("profile", "nope"),
    _case("compress"),
    _case("compress", "nope"),
    _case("train", "--nope"),
    _case("evaluate"),
    _case("profile", "plot", "x"),  # --out is required
    _case("benchmark", "versus", "quick", "--agents", "ppo"),  # --against is required
    _case("benchmark", "run", "quick", "--backend", "slurm"),
    _case("benchmark", "run"),
    _case("profile", "scale"),
    _case("envs", "extra"),
]


@pytest.mark.parametrize("argv", ARGPARSE)
def test_bad_command_line_arguments(
    argv: list[str], capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    _expect_one_line_error(argv, capsys, in_tmp)


# -- train: env IDs, algorithms, hyperparameters, env kwargs, paths ------------------------------------------


def _train(env: str, algo: str, *extra: str, marks: Any = ()) -> Any:
    return _case("train", "--env", env, "--algo", algo, "-n", "200", *extra, marks=marks)


def _hp(algo: str, *items: str, env: str = PAPER) -> Any:
    return _train(env, algo, "--hyperparams", *items)


TRAIN = [
    _train("splitgym/PaperSplt-v0", "ppo"),
    _train("Nope-v0", "ppo"),
    _train("os:Foo-v0", "ppo"),
    _train("gymnasium.envs.classic_control:CartPole-v1", "ppo"),
    _train("evil.module:Thing-v0", "a2c"),
    _train("splitgym:splitgym/Nope-v0", "ppo"),
    _train("", "ppo"),
    _train(PAPER, "sac"),
    _train(PAPER, "PPO"),
    _train(PAPER, ""),
    _train(PAPER, "paper_mb"),  # a model-based agent on a paper env
    _train(PAPER, "linucb"),
    _train(PAPER, "maskable_ppo"),
    _train(DIRECT, "paper_mb", "--hyperparams", "budget:5"),
    _train(DIRECT, "paper_mb", "--hyperparams", "budget:0"),
    _train(DIRECT, "paper_mb", "--hyperparams", "n_steps:5"),
    _train(FADING, "edge_only", "--hyperparams", "x:1"),
    _case("train", "--env", FADING, "--algo", "edge_only", "-n", "100"),
    _case("train", "--env", PAPER),
    _case("train", "--algo", "ppo"),
    _case("train"),
    _case("train", "--resume", "runs/x", "--env", PAPER),
    _case("train", "--resume", "runs/x", "--algo", "ppo"),
    _case("train", "--env", PAPER, "--algo", "ppo", "--trust"),
    _case("train", "--resume", "nowhere"),
    _train(PAPER, "ppo", "--log-folder", "/proc/x"),
    _train(PAPER, "ppo", "--log-folder", "/etc/passwd"),
    _train(PAPER, "ppo", "--log-folder", "/etc/passwd/sub"),
    _train(PAPER, "ppo", "--tensorboard", "/proc/x"),
    _train(PAPER, "ppo", "--tensorboard", "/etc/hostname"),
    # hyperparameters: unknown keys, types and ranges (before the run folder exists)
    _hp("ppo", "budget:5"),
    _hp("ppo", "buffer_size:10"),
    _hp("ppo", "seed:1"),
    _hp("ppo", "env:x"),
    _hp("ppo", "verbose:1"),
    _hp("ppo", "learning_rat:0.1"),
    _hp("ppo", "novalue"),
    _hp("ppo", ":5"),
    _hp("ppo", "n_steps:[1,"),
    _hp("ppo", "gamma:0.9", "gamma:0.8"),
    *[
        _hp("ppo", f"{key}:{value}")
        for key, values in {
            "learning_rate": ["-1", "0", "abc", ".inf", ".nan", "true", "[1]", "-3e-4"],
            "gamma": ["2", "-0.1", "x", "1.0001"],
            "gae_lambda": ["1.5", "-1"],
            "n_steps": ["0", "-1", "1.5", "x", "true"],
            "batch_size": ["0", "1", "2.5"],
            "n_epochs": ["0", "x"],
            "clip_range": ["0", "-1", "x"],
            "clip_range_vf": ["0", "-0.5"],
            "ent_coef": ["-1", "x"],
            "vf_coef": ["-1"],
            "max_grad_norm": ["0", "-1"],
            "target_kl": ["0", "-0.01"],
            "policy": ["Foo", "1", "mlppolicy"],
            "n_envs": ["0", "-1", "1.5", "x", "true"],
            "normalize_advantage": ["3", "x"],
            "stats_window_size": ["0"],
            "sde_sample_freq": ["-2"],
            "policy_kwargs": ["5", "[1]"],
        }.items()
        for value in values
    ],
    *[
        _hp("dqn", f"{key}:{value}")
        for key, values in {
            "buffer_size": ["0", "x"],
            "learning_starts": ["-1"],
            "tau": ["2", "-0.1"],
            "train_freq": ["0", "[1, hour]", "x", "[0, step]"],
            "gradient_steps": ["0", "-2"],
            "target_update_interval": ["0"],
            "exploration_fraction": ["1.5", "-1"],
            "exploration_initial_eps": ["2"],
            "exploration_final_eps": ["-0.1"],
            "learning_rate": ["0"],
            "n_steps": ["0"],
        }.items()
        for value in values
    ],
    *[
        _hp("a2c", f"{key}:{value}")
        for key, values in {
            "rms_prop_eps": ["0"],
            "use_rms_prop": ["3"],
            "gamma": ["7"],
            "n_steps": ["0"],
            "batch_size": ["64"],
        }.items()
        for value in values
    ],
    _hp("maskable_ppo", "gamma:2", env=FADING),
    _hp("maskable_ppo", "n_envs:0", env=FADING),
    # environment keyword arguments
    *[
        _train(PAPER, "ppo", "--env-kwargs", item)
        for item in (
            "horizon:0",
            "horizon:-1",
            "horizon:x",
            "w_inf:-1",
            "w_inf:abc",
            "nope:1",
            "observation:foo",
            "reset_impairment:[1,2,3]",
            "w_load:.nan",
            "max_split:-1",
        )
    ],
    *[
        _train(FADING, "ppo", "--env-kwargs", item)
        for item in (
            "prompt_tokens:1000000",
            "model:nope",
            "horizon_s:0",
            "w_quality:.nan",
            "speed_kmh:-5",
            "operator:nope",
            "quality_profile:nope",
            "tdd_pattern:XYZ",
        )
    ],
    *[
        _train(FADING, "ppo", "--env-kwargs", item)
        for item in ("tx_power_dbm:1e6", "rician_k_db:1e6", "noise_figure_db:-1", "w_quality:1e300")
    ],
]


@pytest.mark.parametrize("argv", TRAIN)
def test_bad_training_requests(argv: list[str], capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    _expect_one_line_error(argv, capsys, in_tmp)


# -- suite files ----------------------------------------------------------------------------------------------

_GOOD_SUITE: dict[str, Any] = {
    "name": "bad",
    "envs": [{"id": PAPER}],
    "agents": [{"baseline": "random"}],
    "seeds": [0],
    "eval_episodes": 2,
}


def _suite(**change: Any) -> dict[str, Any]:
    out = {**_GOOD_SUITE, **change}
    return {k: v for k, v in out.items() if v is not None}


SUITES: list[Any] = [
    pytest.param(
        text,
        id=name,
        marks=(),
    )
    for name, text in {
        "invalid-yaml": "name: [unclosed",
        "a-list": "- 1\n- 2\n",
        "a-string": "hello",
        "empty": "",
        "non-utf8": b"\xff\xfe name: x".decode("latin-1"),
        "tabs": "name:\tx\n\tenvs: 1",
    }.items()
]
SUITES += [
    pytest.param(yaml.safe_dump(data), id=name)
    for name, data in {
        "no-name": _suite(name=None),
        "no-envs": _suite(envs=None),
        "no-agents": _suite(agents=None),
        "no-seeds": _suite(seeds=None),
        "empty-envs": _suite(envs=[]),
        "empty-agents": _suite(agents=[]),
        "empty-seeds": _suite(seeds=[]),
        "env-unknown": _suite(envs=[{"id": "Nope-v0"}]),
        "env-module-import": _suite(envs=[{"id": "os:System-v0"}]),
        "env-module-import-2": _suite(envs=[{"id": "evil:Env-v0"}]),
        "env-no-id": _suite(envs=[{"kwargs": {}}]),
        "env-kwargs-list": _suite(envs=[{"id": PAPER, "kwargs": [1, 2]}]),
        "env-kwargs-bad": _suite(envs=[{"id": PAPER, "kwargs": {"horizon": 0}}]),
        "env-kwargs-unknown": _suite(envs=[{"id": PAPER, "kwargs": {"nope": 1}}]),
        "env-name-escape": _suite(envs=[{"id": PAPER, "name": "../x"}]),
        "seed-negative": _suite(seeds=[-1]),
        "seed-string": _suite(seeds=["zero"]),
        "seed-float": _suite(seeds=[1.5]),
        "eval-episodes-0": _suite(eval_episodes=0),
        "eval-episodes-str": _suite(eval_episodes="x"),
        "agent-unknown-algo": _suite(agents=[{"algo": "sac"}]),
        "agent-unknown-baseline": _suite(agents=[{"baseline": "nope"}]),
        "agent-both": _suite(agents=[{"algo": "ppo", "baseline": "random"}]),
        "agent-neither": _suite(agents=[{"name": "x"}]),
        "agent-steps-0": _suite(agents=[{"algo": "ppo", "n_timesteps": 0}]),
        "agent-steps-str": _suite(agents=[{"algo": "ppo", "n_timesteps": "x"}]),
        "agent-hp-unknown": _suite(agents=[{"algo": "ppo", "hyperparams": {"budget": 1}}]),
        "agent-hp-gamma": _suite(agents=[{"algo": "ppo", "hyperparams": {"gamma": 2}}]),
        "agent-hp-lr": _suite(agents=[{"algo": "ppo", "hyperparams": {"learning_rate": -1}}]),
        "agent-hp-n_steps": _suite(agents=[{"algo": "ppo", "hyperparams": {"n_steps": 0}}]),
        "agent-hp-list": _suite(agents=[{"algo": "ppo", "hyperparams": [1]}]),
        "agent-wrong-family": _suite(agents=[{"algo": "paper_mb"}]),
        "agent-name-escape": _suite(agents=[{"baseline": "random", "name": "../x"}]),
        "agents-duplicate-name": _suite(agents=[{"baseline": "random"}, {"baseline": "random"}]),
    }.items()
]
SUITES += [
    pytest.param(yaml.safe_dump(_suite(seeds=0)), id="seeds-zero-count"),
    pytest.param(yaml.safe_dump(_suite(seeds=True)), id="seeds-bool"),
    pytest.param(
        "name: bad\nname: again\nenvs: [{id: splitgym/PaperSplit-v0}]\nagents: [{baseline: random}]\nseeds: [0]\n"
        "eval_episodes: 2\n",
        id="duplicate-key",
    ),
]


@pytest.mark.parametrize("text", SUITES)
@pytest.mark.parametrize("command", ["run", "report"])
def test_bad_suite_files(text: str, command: str, capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    (in_tmp / "suite.yml").write_text(text, encoding="latin-1")
    _expect_one_line_error(["benchmark", command, "suite.yml", "--workers", "1"][: 3 if command == "report" else 5],
                           capsys, in_tmp)  # fmt: skip


# -- profile files ---------------------------------------------------------------------------------------------

PROFILES = {
    "missing": None,
    "empty-csv": "",
    "garbage-csv": "a,b\n1\n,,,,\n",
    "binary": "\x00\x01\x02",
}


@pytest.mark.parametrize("name", list(PROFILES))
@pytest.mark.parametrize("command", ["plot", "scale", "budget-sweep"])
def test_bad_profile_files(name: str, command: str, capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    path = in_tmp / "p.csv"
    if PROFILES[name] is not None:
        path.write_text(str(PROFILES[name]), encoding="latin-1")
        (in_tmp / "p.json").write_bytes(b"\xff\xfe{not json")
    argv = {
        "plot": ["profile", "plot", str(path), "--out", "x.png"],
        "scale": ["profile", "scale", str(path), "--out", "scaled"],
        "budget-sweep": ["benchmark", "budget-sweep", "--real", str(path), "--out", "sweep"],
    }[command]
    _expect_one_line_error(argv, capsys, in_tmp)


# -- run folders -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("matrix-runs")
    argv = ["train", "--env", PAPER, "--algo", "a2c", "-n", "200", "--eval-episodes", "1", "-f", str(root)]
    assert main(argv) == 0
    (run,) = (root / "a2c").iterdir()
    return run


def _config_edit(**change: Any) -> Callable[[Path], object]:
    def edit(run: Path) -> None:
        config = yaml.safe_load((run / "config.yml").read_text())
        config.update(change)
        (run / "config.yml").write_text(yaml.safe_dump({k: v for k, v in config.items() if v is not None}))

    return edit


def _write(name: str, data: bytes) -> Callable[[Path], object]:
    return lambda run: (run / name).write_bytes(data)


def _truncate(name: str) -> Callable[[Path], object]:
    return lambda run: (run / name).write_bytes((run / name).read_bytes()[:500])


def _delete(name: str) -> Callable[[Path], object]:
    return lambda run: (run / name).unlink()


# Mutations refused even with --trust (the files are wrong, not only different).
ALWAYS = {
    "model-truncated": _truncate("model.zip"),
    "model-garbage": _write("model.zip", b"garbage"),
    "model-empty": _write("model.zip", b""),
    "model-missing": _delete("model.zip"),
    "config-missing-n_timesteps": _config_edit(n_timesteps=None),
    "config-seed-zero": _config_edit(seed="zero"),
    "config-seed-negative": _config_edit(seed=-3),
    "config-env_kwargs-list": _config_edit(env_kwargs=[1, 2]),
    "config-hyperparams-list": _config_edit(hyperparams=[1]),
    "config-algo-unknown": _config_edit(algo="sac"),
    "config-algo-other": _config_edit(algo="dqn"),
    "config-env-other": _config_edit(env_id=DIRECT),
    "config-env-module": _config_edit(env_id="os:System-v0"),
    "config-env-unknown": _config_edit(env_id="Nope-v0"),
    "config-not-yaml": _write("config.yml", b"algo: [unclosed"),
    "config-non-utf8": _write("config.yml", b"algo: \xff\xfe"),
    "config-a-list": _write("config.yml", b"- 1\n"),
    "config-missing": _delete("config.yml"),
    "args-missing": _delete("args.yml"),
    "command-missing": _delete("command.txt"),
}
# Mutations refused unless --trust (the files differ from the manifest).
UNTRUSTED = {
    "args-edited": _write("args.yml", b"edited: true\n"),
    "command-edited": _write("command.txt", b"splitgym train --other\n"),
    "model-replaced": lambda run: (run / "model.zip").write_bytes((run / "best_model.zip").read_bytes()),
    "manifest-missing": _delete("manifest.json"),
    "manifest-garbage": _write("manifest.json", b"{not json"),
    "manifest-non-utf8": _write("manifest.json", b"\xff\xfe"),
    "manifest-format": _write("manifest.json", b'{"format": 2, "files": {}}'),
    "manifest-files-list": _write("manifest.json", b'{"format": 1, "files": []}'),
    "manifest-empty-files": _write("manifest.json", b'{"format": 1, "files": {}}'),
    "config-seed-changed": _config_edit(seed=1),
    "config-comment-added": lambda run: (run / "config.yml").write_text(
        (run / "config.yml").read_text() + "# x\n"
    ),
}
RUN_CASES = [
    pytest.param(name, trust, id=f"{name}{' --trust' if trust else ''}")
    for name in ALWAYS
    for trust in (False, True)
] + [pytest.param(name, False, id=name) for name in UNTRUSTED]


@pytest.mark.parametrize(("mutation", "trust"), RUN_CASES)
@pytest.mark.parametrize("command", ["evaluate", "resume"])
def test_bad_run_folders(
    mutation: str,
    trust: bool,
    command: str,
    trained_run: Path,
    capsys: pytest.CaptureFixture[str],
    in_tmp: Path,
) -> None:
    run = in_tmp / "run"
    shutil.copytree(trained_run, run)
    if command == "resume":
        (run / "training.yml").unlink()
        if mutation.startswith("model-"):
            pytest.skip("a resume does not read model.zip")  # it restarts from a checkpoint
    mutate: Callable[[Path], object] = {**ALWAYS, **UNTRUSTED}[mutation]
    mutate(run)
    argv = (
        ["evaluate", str(run), "--episodes", "1"]
        if command == "evaluate"
        else ["train", "--resume", str(run)]
    )
    _expect_one_line_error([*argv, *(["--trust"] if trust else [])], capsys, in_tmp)


def test_a_finished_run_is_not_resumed(
    trained_run: Path, capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    run = in_tmp / "run"
    shutil.copytree(trained_run, run)
    assert "the run is finished" in _expect_one_line_error(["train", "--resume", str(run)], capsys, in_tmp)


@pytest.mark.parametrize("where", ["nowhere", "/etc/passwd", "/proc"])
@pytest.mark.parametrize("command", ["evaluate", "resume"])
def test_not_a_run_folder(where: str, command: str, capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    argv = ["evaluate", where] if command == "evaluate" else ["train", "--resume", where]
    _expect_one_line_error(argv, capsys, in_tmp)


# -- actions (validated by the environments, never cast) ------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [1.7, "1", True, [1, 2], -1, 10**6, np.array([1, 2]), np.array(1.0), np.array([[1]]), None],
    ids=["float", "str", "bool", "list", "negative", "huge", "array2", "float-array", "2d-array", "none"],
)
@pytest.mark.parametrize(
    "env_id",
    [PAPER, DIRECT, "splitgym/CompressedSplit-v1", FADING, "splitgym/FadingSplit-Pedestrian-Stateless-v1"],
)
def test_bad_actions_are_refused(action: Any, env_id: str) -> None:
    import gymnasium as gym

    from splitgym.errors import SplitGymError

    env = gym.make(env_id)
    env.reset(seed=0)
    with pytest.raises(SplitGymError) as info:
        env.step(action)
    assert isinstance(info.value, gym.error.InvalidAction) and "\n" not in str(info.value)


@pytest.mark.parametrize("action", [1, np.int64(1), np.array(1)], ids=["int", "np.int64", "0d"])
def test_integer_actions_are_taken(action: Any) -> None:
    import gymnasium as gym

    env = gym.make(FADING)
    env.reset(seed=0)
    assert env.step(action)[4]["requested_split"] == 1
