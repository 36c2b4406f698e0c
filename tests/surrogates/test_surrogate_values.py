"""Exact values of the surrogates: error messages naming the parameter, bounds, metadata and JSON format,
counters, dtypes, patience and the optimiser's settings (tiny data, a few epochs: fast)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError
from splitgym.profiles import TableQualityModel
from splitgym.surrogates import (
    EnsembleSurrogate,
    FitReport,
    PaperMLP,
    SurrogateMetadata,
    SurrogateQualityModel,
    fidelity_markdown,
    fit_on_budget,
    load_surrogate,
    sample_grid,
    surrogate_speedup,
)
from splitgym.surrogates._stack import init_stack, train_stack
from splitgym.surrogates.base import as_targets
from splitgym.surrogates.quality import level_range_of

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

NAMES = ["impairment", "split"]
FEW_SPLITS = [1, 2, 3, 4, 5]


@pytest.fixture(scope="module")
def tiny(table: TableQualityModel) -> PaperMLP:
    """The paper's MLP after one epoch on 3 levels x splits 1..5 (values do not matter, only the plumbing)."""
    model = PaperMLP(epochs=1, input_names=NAMES, target_name="quality")
    model.fit(*sample_grid(table, [0.0, 0.15, 0.3], FEW_SPLITS))
    return model


def _xy(n: int = 20, seed: int = 0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 1.0, size=(n, 2))
    return X, X[:, 0] - 0.5 * X[:, 1]


def _metadata(**changes: Any) -> SurrogateMetadata:
    meta = SurrogateMetadata(
        kind="paper_mlp",
        input_names=["a"],
        target_name="r",
        x_mean=[0.0],
        x_scale=[1.0],
        y_mean=0.0,
        y_scale=1.0,
        input_low=[0.0],
        input_high=[1.0],
        n_samples=3,
        n_train=3,
        n_val=0,
        seed=0,
        epochs=1,
        train_loss=0.5,
        val_loss=None,
        hyperparameters={},
        versions={},
        date="2026-01-01T00:00:00+00:00",
    )
    return dataclasses.replace(meta, **changes)


class _Stub:
    """A quality model with given tabulated ``levels`` whose ``quality_batch`` answers in ``float32``."""

    def __init__(self, levels: list[float]) -> None:
        self.levels = np.array(levels, dtype=np.float64)

    @property
    def level_name(self) -> str:
        return "impairment"

    @property
    def splits(self) -> NDArray[np.int64]:
        return np.array([1, 2], dtype=np.int64)

    def quality(self, split: int, level: float) -> float:
        return float(self.quality_batch(split, level))

    def quality_batch(self, splits: ArrayLike, levels: ArrayLike) -> Any:
        s, lv = np.broadcast_arrays(np.asarray(splits), np.asarray(levels, dtype=np.float64))
        return (0.25 * s + lv).astype(np.float32)


# -- the stack -------------------------------------------------------------------------------------------------
def test_init_stack_draws_weights_and_biases_in_plus_minus_one_over_sqrt_fan_in() -> None:
    stack = init_stack(3, (4, 16, 1), np.random.default_rng(0))
    rng = np.random.default_rng(0)
    for k, (fan_in, fan_out) in enumerate([(4, 16), (16, 1)]):
        bound = 1.0 / math.sqrt(fan_in)
        assert np.array_equal(stack.W[k], rng.uniform(-bound, bound, size=(3, fan_in, fan_out)))
        assert np.array_equal(stack.b[k], rng.uniform(-bound, bound, size=(3, fan_out)))
    assert stack.b[0].min() < 0.0 < stack.b[0].max() and np.all(np.abs(stack.b[0]) <= 0.5)
    assert stack.members == 3 and stack.sizes == (4, 16, 1)


def test_stack_float32_casts_weights_and_biases_and_caches_them() -> None:
    stack = init_stack(2, (3, 4, 1), np.random.default_rng(0))
    W, b = stack.float32()
    assert [w.dtype for w in W] == [np.float32, np.float32]
    assert [v.dtype for v in b] == [np.float32, np.float32]
    assert [v.shape for v in b] == [(2, 1, 4), (2, 1, 1)]
    assert np.array_equal(b[0][:, 0, :], stack.b[0].astype(np.float32))
    assert stack.float32() is stack.float32()


def _train(**kw: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(2, 20, 2)), rng.normal(size=(2, 20))
    Xv, yv = rng.normal(size=(7, 2)), rng.normal(size=7)
    args: dict[str, Any] = {
        "X_val": Xv,
        "y_val": yv,
        "lr": 1e-2,
        "epochs": 3,
        "batch_size": 8,
        "patience": None,
        "weight_decay": 0.0,
        "seed": 0,
    }
    args.update(kw)
    return train_stack(init_stack(2, (2, 4, 1), np.random.default_rng(1)), X, y, **args)


def test_train_stack_scores_in_float32() -> None:
    """Training and validation losses are computed in float32, the precision of the weights."""
    _, res = _train()
    assert res.epochs == 3 and len(res.history) == 3 and len(res.val_loss) == 2
    for v in [*res.val_loss, *res.train_loss]:
        assert isinstance(v, float) and float(np.float32(v)) == v


def test_train_stack_uses_fused_adam_with_the_given_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    real = torch.optim.Adam

    def spy(params: Any, **kw: Any) -> Any:
        calls.append(kw)
        return real(params, **kw)

    monkeypatch.setattr(torch.optim, "Adam", spy)
    _train(lr=0.02, weight_decay=0.001, epochs=1)
    assert calls == [{"lr": 0.02, "weight_decay": 0.001, "fused": True}]


@pytest.mark.parametrize("patience", [1, 3])
def test_patience_stops_after_exactly_patience_epochs_without_improvement(patience: int) -> None:
    """With a learning rate too small to move a float32 weight, the validation loss never improves after
    epoch 1: training stops at epoch ``patience + 1`` and every member keeps epoch 1."""
    X, y = _xy()
    model = EnsembleSurrogate(members=2, hidden=(4,), lr=1e-30, max_epochs=50, patience=patience, seed=0)
    report = model.fit(X, y)
    assert report.epochs == patience + 1
    assert report.stopped_early is True and report.best_epochs == (1, 1)
    assert model.metadata is not None and model.metadata.epochs == patience + 1
    assert model.metadata.extra["stopped_early"] is True and model.metadata.extra["best_epochs"] == [1, 1]


# -- the stack surrogate ---------------------------------------------------------------------------------------
def test_a_new_surrogate_has_no_aleatoric_term() -> None:
    assert EnsembleSurrogate().aleatoric_std == 0.0
    assert PaperMLP().aleatoric_std == 0.0


def test_metadata_without_weights_names_the_class(tiny: PaperMLP) -> None:
    bare = PaperMLP()
    bare.metadata = tiny.metadata
    with pytest.raises(ConfigError, match=r"^PaperMLP has metadata but no weights; fit or load it$"):
        bare.predict_members([[0.1, 2.0]])


def test_fit_records_the_validation_loss_in_the_metadata() -> None:
    X, y = _xy()
    held = EnsembleSurrogate(members=2, hidden=(4,), max_epochs=2, val_fraction=0.25, seed=0)
    report = held.fit(X, y)
    assert held.metadata is not None and report.n_val == 5
    assert math.isfinite(report.val_loss) and report.val_loss > 0
    assert held.metadata.val_loss == report.val_loss
    assert held.metadata.train_loss == report.train_loss
    none_held = EnsembleSurrogate(members=2, hidden=(4,), max_epochs=2, val_fraction=0.0, seed=0)
    none_held.fit(X, y)
    assert none_held.metadata is not None
    assert isinstance(none_held.metadata.val_loss, float) and math.isnan(none_held.metadata.val_loss)


def test_a_spread_at_rounding_level_of_the_magnitude_is_no_spread() -> None:
    """A column (or target) whose spread is below 1e-12 of its magnitude (of either sign) gets scale 1; a
    tiny spread around 0 is a real spread and is its own scale."""
    k = np.arange(16, dtype=np.float64)
    X = np.column_stack([1e6 + 2.3e-10 * k, -1e6 - 2.3e-10 * k, 1e-11 * k])
    for y, scale in [
        (1e6 + 2.3e-10 * k, 1.0),
        (-1e6 - 2.3e-10 * k, 1.0),
        (1e-11 * k, float(np.std(1e-11 * k))),
    ]:
        model = EnsembleSurrogate(members=2, hidden=(4,), max_epochs=1, val_fraction=0.0, seed=0)
        model.fit(X, y)
        meta = model.metadata
        assert meta is not None
        assert meta.x_scale[:2] == [1.0, 1.0]
        assert meta.x_scale[2] == pytest.approx(float(np.std(1e-11 * k)), rel=1e-12)
        assert meta.y_scale == pytest.approx(scale, rel=1e-12)


# -- reports and metadata ----------------------------------------------------------------------------------------
def test_fit_report_as_dict() -> None:
    rep = FitReport(
        kind="ensemble",
        n_samples=10,
        n_train=8,
        n_val=2,
        members=2,
        epochs=3,
        best_epochs=(1, 3),
        train_loss=0.5,
        val_loss=0.25,
        stopped_early=True,
        seconds=1.5,
    )
    out = rep.as_dict()
    assert out == {
        "kind": "ensemble",
        "n_samples": 10,
        "n_train": 8,
        "n_val": 2,
        "members": 2,
        "epochs": 3,
        "best_epochs": [1, 3],
        "train_loss": 0.5,
        "val_loss": 0.25,
        "stopped_early": True,
        "seconds": 1.5,
    }
    assert type(out["best_epochs"]) is list and list(out) == [f.name for f in dataclasses.fields(FitReport)]


def test_metadata_json_is_indented_by_two_in_field_order() -> None:
    meta = _metadata()
    text = meta.to_json()
    assert text == json.dumps(dataclasses.asdict(meta), indent=2) + "\n"
    assert text.startswith('{\n  "kind": "paper_mlp",\n  "input_names": [\n    "a"\n  ],\n')
    assert text.endswith('\n  "format_version": 1\n}\n')
    assert list(json.loads(text)) == [f.name for f in dataclasses.fields(SurrogateMetadata)]
    assert SurrogateMetadata.from_json(text, Path("m.json")) == meta


def test_metadata_of_another_format_version_is_refused() -> None:
    raw = json.loads(_metadata().to_json())
    raw["format_version"] = 2
    with pytest.raises(ConfigError, match=r"^m\.json: format_version 2 is not supported; allowed: 1$"):
        SurrogateMetadata.from_json(json.dumps(raw), Path("m.json"))
    del raw["format_version"]  # absent: the current version
    assert SurrogateMetadata.from_json(json.dumps(raw), Path("m.json")).format_version == 1


def test_loading_an_unknown_kind_names_the_kinds(tmp_path: Path) -> None:
    (tmp_path / "surrogate.json").write_text(_metadata(kind="paper_mpl").to_json())
    msg = "surrogate kind 'paper_mpl' is not known; allowed: ['ensemble', 'paper_mlp'] (did you mean 'paper_mlp'?)"
    with pytest.raises(ConfigError, match="^" + re.escape(msg) + "$"):
        load_surrogate(tmp_path)


def test_as_targets_converts_to_float64_and_counts_non_finite_values() -> None:
    out = as_targets([1, 2, 3], 3)
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0, 3.0]
    assert as_targets(np.array([[1], [2]], dtype=np.int32), 2).dtype == np.float64
    with pytest.raises(ConfigError, match=r"^y must be a 1-D array of numbers, got list \("):
        as_targets(["a", "b"], 2)
    with pytest.raises(ConfigError, match=r"^y must be finite, got 2 NaN/inf value\(s\)$"):
        as_targets([1.0, math.nan, math.inf], 3)


def test_markdown_cells_keep_fractions_and_round_to_digits() -> None:
    rep = {"n": 3, "mae": 1.5, "rmse": 12.34567, "max_abs_error": 2.0, "bias": -0.25, "r2": 0.0}
    assert fidelity_markdown({"m": rep}).splitlines()[2] == "| m | 3 | 1.5 | 12.35 | 2 | -0.25 | 0 |  |  |  |"
    assert fidelity_markdown({"m": rep}, digits=2).splitlines()[2].startswith("| m | 3 | 1.5 | 12 | 2 |")


# -- constructor checks ------------------------------------------------------------------------------------------
def test_ensemble_members_are_at_most_1000() -> None:
    assert EnsembleSurrogate(members=1000).members == 1000
    with pytest.raises(ConfigError, match=r"^members must be an integer \[1, 1000\], got 1001$"):
        EnsembleSurrogate(members=1001)


def test_ensemble_refuses_a_zero_learning_rate() -> None:
    assert EnsembleSurrogate(lr=10.0).lr == 10.0
    with pytest.raises(ConfigError, match=r"^lr must be in \(0\.0, 10\.0\], got 0\.0$"):
        EnsembleSurrogate(lr=0.0)


def test_paper_mlp_errors_name_the_parameter() -> None:
    with pytest.raises(ConfigError, match=r"^epochs must be an integer >= 1, got 0$"):
        PaperMLP(epochs=0)
    with pytest.raises(ConfigError, match=r"^seed must be an integer >= 0, got -1$"):
        PaperMLP(seed=-1)


# -- quality models ----------------------------------------------------------------------------------------------
def test_surrogate_quality_model_refuses_a_non_surrogate() -> None:
    with pytest.raises(ConfigError, match=r"^surrogate must be a RewardSurrogate, got object$"):
        SurrogateQualityModel(object())  # type: ignore[arg-type]


def test_surrogate_quality_model_counts_calls_points_and_seconds(tiny: PaperMLP) -> None:
    qm = SurrogateQualityModel(tiny)
    t0 = time.perf_counter()
    qm.predict_batch([1, 2, 5], 0.1)
    t1 = time.perf_counter()
    assert (qm.calls, qm.points) == (1, 3) and 0.0 <= qm.seconds <= t1 - t0
    qm.quality(2, 0.2)
    t2 = time.perf_counter()
    assert (qm.calls, qm.points) == (2, 4) and 0.0 <= qm.seconds <= t2 - t0
    assert qm.counts() == {"calls": 2, "points": 4, "seconds": qm.seconds}


def test_sample_grid_returns_float64_targets() -> None:
    X, y = sample_grid(_Stub([0.0, 0.3]), [0.0, 0.5], [1, 2])
    assert y.dtype == np.float64 and X.dtype == np.float64
    assert y.tolist() == [0.25, 0.5, 0.75, 1.0]


def test_level_range_of_needs_two_tabulated_levels() -> None:
    assert level_range_of(_Stub([0.1, 0.2, 0.05])) == (0.05, 0.2)
    # one level is no range: the axis's default
    assert level_range_of(_Stub([0.1])) == (0.0, 0.3)
    assert level_range_of(_Stub([])) == (0.0, 0.3)


def test_fit_on_budget_checks_the_budget_before_the_grid(table: TableQualityModel) -> None:
    with pytest.raises(ConfigError, match=r"^budget must be an integer >= 1, got 0$"):
        fit_on_budget(table, 0)
    with pytest.raises(ConfigError, match=r"^budget 1 is too small for 10 split\(s\)"):
        fit_on_budget(table, 1)


# -- speed -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "kw"),
    [("n_live", {"n_live": 0}), ("n_surrogate", {"n_surrogate": 0}), ("n_single", {"n_single": 0})],
)
def test_speedup_errors_name_the_parameter(table: TableQualityModel, name: str, kw: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match=rf"^{name} must be an integer >= 1, got 0$"):
        surrogate_speedup(table, PaperMLP(), **kw)  # type: ignore[arg-type]


def test_speedup_uses_a_given_surrogate_quality_model(tiny: PaperMLP, table: TableQualityModel) -> None:
    qm = SurrogateQualityModel(tiny, "impairment", FEW_SPLITS)
    out = surrogate_speedup(table, qm, n_live=1, n_surrogate=20, n_single=3)
    assert out["surrogate"] == "PaperMLP" and out["n_single"] == 3
    assert (qm.calls, qm.points) == (3, 3)  # the single calls went through it


def test_speedup_times_five_batches_over_the_live_models_splits(
    tiny: PaperMLP, table: TableQualityModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The surrogate (fitted on splits 1..5) answers for all the live model's splits; the batch is timed
    five times after one warm-up of 16 rows; each single call is one more one-row predict."""
    batches: list[NDArray[np.float64]] = []
    real = tiny.predict

    def spy(X: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        batches.append(np.asarray(X, dtype=np.float64))
        return real(X)

    monkeypatch.setattr(tiny, "predict", spy)
    surrogate_speedup(table, tiny, n_live=1, n_surrogate=200, n_single=4)
    assert [len(b) for b in batches] == [16, 200, 200, 200, 200, 200, 1, 1, 1, 1]
    assert sorted(set(batches[1][:, 1].tolist())) == [float(s) for s in table.splits]
