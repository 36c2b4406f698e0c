"""Run folders as a unit of trust: the manifest, weights-only loading, resumes consistent with their
checkpoint, and a full disk."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import pickle
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from splitgym.cli.main import main

ENV = "splitgym/PaperSplit-v0"


class _Payload:
    """Unpickling this creates ``marker`` (what a poisoned model file would do with ``os.system``)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _train(root: Path, algo: str = "a2c", steps: int = 400, *extra: str) -> Path:
    args = ["train", "--env", ENV, "--algo", algo, "-n", str(steps), "--eval-episodes", "2", "-f", str(root)]
    assert main([*args, *extra]) == 0
    (run,) = (root / algo).iterdir()
    return run


def _rewrite_zip(path: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries.update(change)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    path.write_bytes(out.getvalue())


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("splitgym: error:") and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train(tmp_path_factory.mktemp("runs"))


def test_the_manifest_lists_every_file_the_run_wrote_with_its_digest(trained: Path) -> None:
    data = json.loads((trained / "manifest.json").read_text())
    assert (data["algo"], data["env_id"]) == ("a2c", ENV)
    on_disk = {
        p.relative_to(trained).as_posix()
        for p in trained.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert set(data["files"]) == on_disk
    for name in (
        "config.yml",
        "model.zip",
        "training.yml",
        "evaluations.npz",
        "best_model.zip",
        "0.monitor.csv",
    ):
        assert name in data["files"]
    assert any(n.startswith("checkpoints/model_") for n in data["files"])
    for name, entry in data["files"].items():
        assert entry["sha256"] == hashlib.sha256((trained / name).read_bytes()).hexdigest(), name


def test_a_payload_planted_in_model_zip_never_runs(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    marker = tmp_path / "payload-ran"
    payload = pickle.dumps(_Payload(marker))
    # The payload is live: plain unpickling runs it (so the assertions below can fail).
    pickle.loads(payload).close()
    assert marker.is_file()
    marker.unlink()

    with zipfile.ZipFile(run / "model.zip") as archive:
        table = json.loads(archive.read("data"))
    table["policy_class"] = {":type:": "<class 'x'>", ":serialized:": base64.b64encode(payload).decode()}
    _rewrite_zip(run / "model.zip", {"data": json.dumps(table).encode()})
    capsys.readouterr()
    assert main(["evaluate", str(run), "--episodes", "2"]) == 2
    assert "model.zip changed since the run wrote it" in _one_error_line(capsys)
    assert not marker.exists()
    # --trust skips the manifest, but the model is still loaded weights-only: the payload never runs.
    assert main(["evaluate", str(run), "--episodes", "2", "--trust"]) == 0
    assert not marker.exists()
    capsys.readouterr()

    table["evil"] = {":type:": "<class 'x'>", ":serialized:": base64.b64encode(payload).decode()}
    _rewrite_zip(run / "model.zip", {"data": json.dumps(table).encode()})
    assert main(["evaluate", str(run), "--episodes", "2", "--trust"]) == 2
    assert "pickled entries ['evil']" in _one_error_line(capsys)
    assert not marker.exists()

    # A payload in the torch weights: torch.load(weights_only=True) refuses it.
    _rewrite_zip(run / "model.zip", {"policy.pth": payload})
    assert main(["evaluate", str(run), "--episodes", "2", "--trust"]) == 2
    assert "cannot be loaded" in _one_error_line(capsys)
    assert not marker.exists()


def test_an_edited_config_or_a_foreign_env_is_refused(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    config = yaml.safe_load((run / "config.yml").read_text())
    (run / "config.yml").write_text(yaml.safe_dump({**config, "env_id": "splitgym/PaperSplitDirect-v0"}))
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 2
    assert "names env_id 'splitgym/PaperSplitDirect-v0' but the run was trained with" in _one_error_line(
        capsys
    )
    # Trusted, the model of another env does not fit the config's env: a clear error, not a silent run.
    assert main(["evaluate", str(run), "--trust", "--episodes", "2"]) == 2
    assert "cannot be loaded" in _one_error_line(capsys)
    (run / "config.yml").write_text(yaml.safe_dump({**config, "seed": "zero"}))
    assert main(["evaluate", str(run)]) == 2
    assert "config.yml changed since the run wrote it" in _one_error_line(capsys)
    assert main(["evaluate", str(run), "--trust"]) == 2
    assert "'seed' must be a non-negative integer, got 'zero'" in _one_error_line(capsys)
    (run / "manifest.json").unlink()
    assert main(["evaluate", str(run)]) == 2
    assert "has no manifest.json" in _one_error_line(capsys)


def _evaluations(run: Path) -> dict[str, np.ndarray]:
    with np.load(run / "evaluations.npz") as npz:
        return {k: npz[k] for k in npz.files}


def test_resume_skips_a_truncated_checkpoint_and_keeps_the_runs_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _train(tmp_path, "ppo", 2000, "--hyperparams", "n_steps:100", "batch_size:50")
    before = _evaluations(run)
    monitor_before = pd.read_csv(run / "0.monitor.csv", skiprows=1)
    assert list(before["timesteps"]) == list(range(200, 2001, 200))
    # A kill at 1400 steps, while the 1400-step checkpoint was being written without atomic rename.
    (run / "model.zip").unlink()
    (run / "training.yml").unlink()
    for path in (run / "checkpoints").glob("model_*_steps.zip"):
        steps = int(path.stem.split("_")[1])
        if steps > 1400:
            path.unlink()
        elif steps == 1400:
            path.write_bytes(path.read_bytes()[:1000])
    with (run / "0.monitor.csv").open("a") as fh:
        fh.write("1.5,5,0.2")  # a row cut short
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 0
    record = yaml.safe_load((run / "training.yml").read_text())
    assert record["resumed_from_timesteps"] == 1200 and record["timesteps"] == 2000
    assert (
        len(record["skipped_checkpoints"]) == 1 and "model_1400_steps.zip" in record["skipped_checkpoints"][0]
    )
    after = _evaluations(run)
    assert list(after["timesteps"]) == list(range(200, 2001, 200))
    kept = before["timesteps"] <= 1200
    np.testing.assert_array_equal(after["results"][: kept.sum()], before["results"][kept])  # earlier kept
    # The monitor keeps exactly the episodes of the first 1200 steps, then the resumed ones.
    monitor = pd.read_csv(run / "0.monitor.csv", skiprows=1)
    first = monitor_before[monitor_before["l"].cumsum() <= 1200]
    pd.testing.assert_frame_equal(monitor.iloc[: len(first)], first)
    assert monitor["l"].sum() == 2000
    # best_model.zip is the run's best: the checkpoint of the best evaluation (of the whole run).
    means = after["results"].mean(axis=1)
    best_step = int(after["timesteps"][int(np.argmax(means))])
    manifest = json.loads((run / "manifest.json").read_text())["files"]
    assert (
        manifest["best_model.zip"]["sha256"]
        == hashlib.sha256((run / "best_model.zip").read_bytes()).hexdigest()
    )
    if best_step <= 1200:
        assert (run / "best_model.zip").read_bytes() == (
            run / "checkpoints" / f"model_{best_step}_steps.zip"
        ).read_bytes()
    assert main(["evaluate", str(run), "--episodes", "2"]) == 0


def test_a_resume_of_an_edited_run_is_refused_unless_trusted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _train(tmp_path, "a2c", 400)
    (run / "training.yml").unlink()
    (run / "args.yml").write_text("edited: true\n")
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 2
    assert "args.yml changed since the run wrote it" in _one_error_line(capsys)
    assert main(["train", "--resume", str(run), "--trust"]) == 0


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
        )
    except (FileNotFoundError, PermissionError):
        return False
    return done.returncode == 0


@pytest.mark.parametrize("size", ["8k", "120k", "400k"])
def test_a_full_disk_is_one_line_and_leaves_no_corrupt_file(
    tmp_path: Path, size: str, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, size):
        pytest.skip("cannot mount a tmpfs here (needs root and mount permission)")
    try:
        code = main(["train", "--env", ENV, "--algo", "ppo", "-n", "2000", "--eval-episodes", "2",
                     "--hyperparams", "n_steps:100", "batch_size:50", "-f", str(disk)])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1 and "No space left on device" in err, err
        for path in disk.rglob("*"):
            if not path.is_file():
                continue
            assert not path.name.startswith("."), f"temporary file left: {path}"
            if path.suffix == ".zip":
                assert zipfile.ZipFile(path).testzip() is None
            elif path.suffix == ".npz":
                np.load(path).close()
            elif path.suffix in (".yml", ".json"):
                yaml.safe_load(path.read_text())
            elif path.name.endswith("monitor.csv"):
                assert path.read_text().endswith("\n")
                pd.read_csv(path, skiprows=1)
    finally:
        subprocess.run(["umount", str(disk)], check=False)
