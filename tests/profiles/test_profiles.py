"""The profile data model: shipped profiles load; malformed files fail naming file, column and problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from splitgym.errors import ProfileError
from splitgym.profiles import TableQualityModel, bundled_profiles, load_bundled, load_profile

PAPER = "paper_llama2_7b_rsm_grid"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / f"{PAPER}.csv"


def test_paper_profile_ships_with_provenance() -> None:
    assert PAPER in bundled_profiles()
    prof = load_bundled(PAPER)
    assert prof.source == "cited" and "2406.02616" in prof.meta["citation"]
    assert prof.table.shape == (310, 3)
    assert prof.axes == ["impairment", "split"]
    assert prof.axis_values("split").tolist() == list(range(1, 11))
    assert prof.grid("inference_reward").shape == (31, 10)


@pytest.mark.skipif(not SHARED.is_file(), reason="shared reference data not beside the checkout")
def test_shipped_table_equals_the_reference_data() -> None:
    ours = load_bundled(PAPER).table
    pd.testing.assert_frame_equal(ours, pd.read_csv(SHARED))


def test_table_model_is_exact_on_the_grid() -> None:
    prof = load_bundled(PAPER)
    model = TableQualityModel(prof)
    t = prof.table
    got = model.quality_batch(t["split"].to_numpy(), t["impairment"].to_numpy())
    np.testing.assert_allclose(got, t["inference_reward"].to_numpy(), rtol=0, atol=1e-12)
    assert model.level_name == "impairment"


@pytest.fixture
def copy_profile(tmp_path: Path) -> Path:
    src = load_bundled(PAPER).path
    for suffix in (".csv", ".json"):
        shutil.copy(src.with_suffix(suffix), tmp_path / f"p{suffix}")
    return tmp_path / "p.csv"


def edit_csv(path: Path, fn) -> None:  # type: ignore[no-untyped-def]
    frame = pd.read_csv(path)
    fn(frame).to_csv(path, index=False)


def edit_meta(path: Path, fn) -> None:  # type: ignore[no-untyped-def]
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    fn(meta)
    meta_path.write_text(json.dumps(meta))


def test_copy_loads(copy_profile: Path) -> None:
    assert load_profile(copy_profile).name == PAPER


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns=["split"]), "column 'split' is missing"),
        (
            lambda f: f.rename(columns={"inference_reward": "inference_rewrd"}),
            "column 'inference_reward' is missing",
        ),
        (
            lambda f: f.assign(split=f["split"].where(f.index != 3, 2.5)),
            "column 'split' row 5: 2.5 is not an integer",
        ),
        (
            lambda f: f.assign(impairment=f["impairment"].where(f.index != 4, 1.5)),
            "column 'impairment' row 6: 1.5 is outside",
        ),
        (
            lambda f: f.assign(inference_reward=f["inference_reward"].where(f.index != 0, np.nan)),
            "column 'inference_reward' row 2: .* not a finite number",
        ),
        (lambda f: f.iloc[:-1], "need 310 rows .*found 309"),
        (lambda f: f.iloc[::-1], "not sorted by axes"),
        (lambda f: f.assign(extra=1.0), "column 'extra' has no unit"),
    ],
)
def test_malformed_tables_are_named_errors(copy_profile: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    edit_csv(copy_profile, edit)
    with pytest.raises(ProfileError, match=rf"profile .*p\.csv: (.* )?{message}"):
        load_profile(copy_profile)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.pop("citation"), r"a cited profile needs metadata key\(s\) \['citation'\]"),
        (lambda m: m.pop("units"), "lacks required key"),
        (lambda m: m.update(source="guessed"), "'source' is 'guessed'"),
        (lambda m: m.update(kind="nope"), "'kind' is 'nope'"),
        (lambda m: m.update(channel_axis="rain"), "channel_axis 'rain' is unknown"),
    ],
)
def test_malformed_metadata_is_a_named_error(copy_profile: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    edit_meta(copy_profile, edit)
    with pytest.raises(ProfileError, match=message):
        load_profile(copy_profile)


def test_missing_or_broken_files(copy_profile: Path) -> None:
    copy_profile.with_suffix(".json").write_text("{not json")
    with pytest.raises(ProfileError, match="not valid JSON"):
        load_profile(copy_profile)
    copy_profile.with_suffix(".json").unlink()
    with pytest.raises(ProfileError, match=r"metadata file p\.json is missing"):
        load_profile(copy_profile)
    with pytest.raises(ProfileError, match="file not found"):
        load_profile(copy_profile.with_name("absent.csv"))
    with pytest.raises(ProfileError, match=r"unknown profile 'paper_llama2_7b' .*did you mean"):
        load_bundled("paper_llama2_7b")
