"""Edge-LLM layer-wise unified compression (LUC): quantiser, masks, policies, application to the reference
model, sensitivity measurement, cost model and the command line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from splitgym.errors import ConfigError
from splitgym.profiles.compression.luc import (
    CompressionPolicy,
    luc_policy,
    luc_sparsity,
    matched_uniform,
    uniform_policy,
)
from splitgym.profiles.compression.prune import check_sparsity, magnitude_mask, wanda_mask
from splitgym.profiles.compression.quantize import check_bits, quantize_per_token, quantize_weight
from splitgym.profiles.llm import LoadedLM

Texts = tuple[np.ndarray, np.ndarray]
torch.set_num_threads(1)


# -- quantiser ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_weight_quantiser_error_bound_and_levels(bits: int) -> None:
    gen = torch.Generator().manual_seed(bits)
    w = torch.randn(16, 64, generator=gen) * torch.linspace(0.1, 3.0, 16)[:, None]
    q = quantize_weight(w, bits)
    qmax = 2 ** (bits - 1) - 1
    scale = w.abs().amax(dim=1, keepdim=True) / qmax
    assert torch.all((w - q).abs() <= scale / 2 + 1e-6)
    for row, s in zip(q, scale[:, 0], strict=True):
        codes = torch.round(row / s)
        assert torch.allclose(codes * s, row, atol=1e-6)  # every value on the row's grid
        assert codes.abs().max() == qmax  # the absmax element maps to the top code
        assert len(torch.unique(codes)) <= 2**bits - 1
    # A row spanning the whole range uses exactly 2^b - 1 levels.
    ramp = torch.linspace(-1.0, 1.0, 1001)[None, :]
    assert len(torch.unique(quantize_weight(ramp, bits))) == 2**bits - 1


def test_quantiser_16_bits_is_identity_and_zero_row_stays_zero() -> None:
    w = torch.randn(4, 8)
    assert torch.equal(quantize_weight(w, 16), w)
    w[1] = 0.0
    assert torch.equal(quantize_weight(w, 4)[1], torch.zeros(8))


def test_per_token_activation_quantiser_uses_one_scale_per_token() -> None:
    x = torch.randn(2, 5, 32)
    x[0, 0] *= 100.0  # one loud token must not coarsen the others
    q = quantize_per_token(x, 8)
    scale = x.abs().amax(dim=-1, keepdim=True) / 127
    assert torch.all((x - q).abs() <= scale / 2 + 1e-5)
    assert (x[0, 1] - q[0, 1]).abs().max() < 0.05
    assert torch.equal(quantize_per_token(x, 16), x)


@pytest.mark.parametrize("bad", [5, 1, 32, 4.0, True, "4"])
def test_unsupported_bit_width_is_rejected_with_its_name(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"weight_bits=.* is not supported; allowed: \[2, 3, 4, 8, 16\]"):
        check_bits("weight_bits", bad)
    with pytest.raises(ConfigError, match="weight_bits"):
        quantize_weight(torch.ones(2, 2), bad)  # type: ignore[arg-type]


# -- masks -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.33, 0.5, 0.9])
def test_magnitude_mask_removes_exactly_the_smallest_per_row(sparsity: float) -> None:
    w = torch.randn(12, 50, generator=torch.Generator().manual_seed(1))
    mask = magnitude_mask(w, sparsity)
    k = round(sparsity * 50)
    assert mask.shape == w.shape and mask.dtype == torch.bool
    assert torch.all((~mask).sum(dim=1) == k)
    for row, keep in zip(w.abs(), mask, strict=True):
        if 0 < k < 50:
            assert row[~keep].max() <= row[keep].min()


def test_wanda_mask_weighs_magnitudes_by_input_norm() -> None:
    w = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    norm = torch.tensor([10.0, 1.0, 1.0, 0.1])  # scores 10, 2, 3, 0.4
    assert magnitude_mask(w, 0.5).tolist() == [[False, False, True, True]]
    assert wanda_mask(w, norm, 0.5).tolist() == [[True, False, True, False]]
    with pytest.raises(ConfigError, match="input_norm"):
        wanda_mask(w, torch.ones(3), 0.5)


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5, float("nan"), "0.5"])
def test_sparsity_outside_unit_interval_is_rejected(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"budget=.* must be .*\[0, 1\)"):
        check_sparsity("budget", bad)


# -- policies ----------------------------------------------------------------------------------------
PRUNE = np.array([0.26, 0.029, 0.027, 0.017, 0.038, 0.021, 0.020, 0.028, 0.032, 0.034, 0.034, 0.074])
QUANT = np.array([0.127, 0.012, 0.012, 0.010, 0.018, 0.011, 0.011, 0.015, 0.017, 0.020, 0.022, 0.048])


@pytest.mark.parametrize("budget", [0.0, 0.3, 0.5, 0.7])
def test_luc_sparsity_meets_the_budget_and_protects_the_most_sensitive_layer(budget: float) -> None:
    pol = luc_policy(PRUNE, QUANT, budget)
    r = np.asarray(pol.sparsity)
    assert pol.mean_sparsity == pytest.approx(budget, abs=1e-12)
    assert r[np.argmax(PRUNE)] == 0.0 == r.min()
    assert r[np.argmin(PRUNE)] == r.max()
    # More sensitive never gets more sparsity.
    order = np.argsort(PRUNE)
    assert np.all(np.diff(r[order]) <= 1e-12)
    # The formula of the released scheduler (no clipping needed at these budgets).
    w = 1 - (PRUNE - PRUNE.min()) / np.ptp(PRUNE)
    np.testing.assert_allclose(r, budget * len(w) * w / w.sum(), atol=1e-12)


def test_luc_clips_at_max_sparsity_and_redistributes() -> None:
    scores = np.array([1.0, 0.0, 0.0, 0.0])  # unclipped: [0, 1.2, 1.2, 1.2] at budget 0.9
    r = luc_sparsity(scores, 0.9, max_sparsity=0.95)
    assert r.max() <= 0.95 and r.mean() == pytest.approx(0.9)
    np.testing.assert_allclose(r, [0.75, 0.95, 0.95, 0.95])
    r = luc_sparsity([3.0, 2.0, 1.0], 0.6, max_sparsity=0.8)
    assert r.mean() == pytest.approx(0.6) and r.max() <= 0.8 + 1e-12 and r[0] <= r[1] <= r[2]
    np.testing.assert_allclose(luc_sparsity([1.0, 1.0, 1.0], 0.4), [0.4, 0.4, 0.4])
    with pytest.raises(ConfigError, match=r"budget=0\.97 exceeds max_sparsity=0\.95"):
        luc_sparsity(scores, 0.97)


def test_luc_bits_are_raised_exactly_for_above_mean_layers() -> None:
    pol = luc_policy(PRUNE, QUANT, 0.5, base_bits=4, high_bits=8, act_bits=8)
    expected = [8 if q > QUANT.mean() else 4 for q in QUANT]
    assert list(pol.weight_bits) == expected == [8] + [4] * 10 + [8]
    assert pol.act_bits == (8,) * 12
    assert pol.mean_bits == pytest.approx(np.mean(expected))


def test_luc_preserves_layer_order() -> None:
    perm = np.random.default_rng(0).permutation(len(PRUNE))
    a = luc_policy(PRUNE, QUANT, 0.5)
    b = luc_policy(PRUNE[perm], QUANT[perm], 0.5)
    np.testing.assert_allclose(np.asarray(b.sparsity), np.asarray(a.sparsity)[perm])
    assert list(b.weight_bits) == [a.weight_bits[i] for i in perm]


def test_bad_policy_inputs_name_the_parameter() -> None:
    with pytest.raises(ConfigError, match=r"budget=1\.2 must be in \[0, 1\)"):
        luc_policy(PRUNE, QUANT, 1.2)
    with pytest.raises(ConfigError, match=r"base_bits=5 is not supported"):
        luc_policy(PRUNE, QUANT, 0.5, base_bits=5)
    with pytest.raises(ConfigError, match="high_bits=4 must be >= base_bits=8"):
        luc_policy(PRUNE, QUANT, 0.5, base_bits=8, high_bits=4)
    with pytest.raises(ConfigError, match="quant_score has 3"):
        luc_policy(PRUNE, QUANT[:3], 0.5)
    with pytest.raises(ConfigError, match="non-finite"):
        luc_policy([1.0, np.nan], [1.0, 1.0], 0.5)
    with pytest.raises(ConfigError, match=r"budget=-0\.1"):
        uniform_policy(4, -0.1, 8)
    with pytest.raises(ConfigError, match="lengths differ"):
        CompressionPolicy((0.1, 0.2), (8,), (8, 8))


def test_matched_uniform_has_the_same_mean_sparsity_and_bits() -> None:
    luc = luc_policy(PRUNE, QUANT, 0.5, base_bits=4)
    uni = matched_uniform(luc)
    assert len(set(uni.sparsity)) == 1 and uni.mean_sparsity == pytest.approx(luc.mean_sparsity)
    assert Counter(uni.weight_bits) == Counter(luc.weight_bits) and uni.mean_bits == luc.mean_bits
    assert uni.weight_bits == (4, 4, 4, 8, 4, 4, 4, 4, 4, 8, 4, 4)  # evenly spread, blind to sensitivity
    assert matched_uniform(luc, bits="nearest").weight_bits == (4,) * 12  # mean 4.67 -> 4
    assert uniform_policy(3, 0.5, 8) == CompressionPolicy((0.5,) * 3, (8,) * 3, (8,) * 3)
    with pytest.raises(ConfigError, match="bits='x'"):
        matched_uniform(luc, bits="x")


# -- on the reference model -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lm() -> LoadedLM:
    from splitgym.profiles.llm import load_causal_lm

    return load_causal_lm("reference")


@pytest.fixture(scope="module")
def texts(lm: LoadedLM) -> Texts:
    from splitgym.profiles.compression.sensitivity import calibration_ids
    from splitgym.profiles.quality.live import held_out_text

    calib = calibration_ids(lm, 512)
    held = lm.encode(held_out_text())[:1024]
    return calib, held


def _state(lm: LoadedLM) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in lm.model.state_dict().items()}


def _assert_same(lm: LoadedLM, before: dict[str, torch.Tensor]) -> None:
    after = lm.model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("method", ["magnitude", "wanda"])
def test_compressed_prunes_quantises_and_restores_bit_exactly(
    lm: LoadedLM, texts: Texts, method: str
) -> None:
    from splitgym.profiles.compression.apply import compressed, evaluate_lm

    calib, held = texts
    before = _state(lm)
    clean = evaluate_lm(lm, held)
    policy = CompressionPolicy((0.5, 0.25), (4, 16), (8, 16))
    with compressed(lm, policy, calib, method) as c:
        q0 = c.layers[0].self_attn.q_proj.weight
        up1 = c.layers[1].mlp.up_proj.weight
        assert torch.all((q0 == 0).sum(dim=1) >= 80)  # 80 of 160 pruned per row (rounding may add zeros)
        assert all(len(torch.unique(row)) <= 15 for row in q0)  # 4 bits: at most 2^4 - 1 levels
        assert torch.all((up1 == 0).sum(dim=1) == 40)  # 16 bits: exactly round(0.25*160) zeros
        assert len(c.layers[0].self_attn.q_proj._forward_pre_hooks) == 1
        assert len(c.layers[1].self_attn.q_proj._forward_pre_hooks) == 0  # act_bits 16: no hook
        assert torch.equal(c.layers[2].mlp.down_proj.weight, before["model.layers.2.mlp.down_proj.weight"])
        inside = evaluate_lm(c, held)
    assert inside["perplexity"] != clean["perplexity"]
    _assert_same(lm, before)
    assert all(len(m._forward_pre_hooks) == 0 for m in lm.model.modules())
    assert evaluate_lm(lm, held) == clean


def test_compressed_restores_after_an_exception(lm: LoadedLM) -> None:
    from splitgym.profiles.compression.apply import compressed

    before = _state(lm)
    with pytest.raises(RuntimeError, match="boom"), compressed(lm, uniform_policy(12, 0.5, 4)):
        raise RuntimeError("boom")
    _assert_same(lm, before)


def test_high_budget_raises_perplexity(lm: LoadedLM, texts: Texts) -> None:
    from splitgym.profiles.compression.apply import compressed, evaluate_lm

    _, held = texts
    clean = evaluate_lm(lm, held)
    with compressed(lm, uniform_policy(12, 0.3, 8)):
        mild = evaluate_lm(lm, held)
    with compressed(lm, uniform_policy(12, 0.8, 4)):
        harsh = evaluate_lm(lm, held)
    assert clean["perplexity"] < mild["perplexity"] < 1.1 * clean["perplexity"]
    assert harsh["perplexity"] > 1.5 * clean["perplexity"]
    assert harsh["accuracy"] < clean["accuracy"] - 0.05


def test_wanda_needs_calibration_ids_and_bad_method_is_rejected(lm: LoadedLM) -> None:
    from splitgym.profiles.compression.apply import compressed

    with (
        pytest.raises(ConfigError, match="calib_ids"),
        compressed(lm, uniform_policy(2, 0.5, 8), method="wanda"),
    ):
        pass
    with (
        pytest.raises(ConfigError, match=r"method='obs' is not supported"),
        compressed(lm, uniform_policy(2, 0.5, 8), method="obs"),
    ):
        pass
    with pytest.raises(ConfigError, match="covers 13 layers"), compressed(lm, uniform_policy(13, 0.5, 8)):
        pass


def test_weight_bytes_counts_kept_values_bitmap_and_scales(lm: LoadedLM) -> None:
    from splitgym.profiles.compression.apply import weight_bytes

    # Linears: 4 x [160,160] + 2 x [432,160] + [160,432] = 309,760 weights; rows 4*160 + 2*432 + 160 = 1664.
    dense = weight_bytes(CompressionPolicy((0.0,), (16,), (16,)), lm)
    assert dense.tolist() == [309_760 * 2]
    half = weight_bytes(CompressionPolicy((0.5,), (4,), (8,)), lm)
    kept = 4 * 160 * 80 + 2 * 432 * 80 + 160 * 216
    assert half.tolist() == [kept * 4 / 8 + 309_760 / 8 + 2 * 1664]


def test_sensitivity_is_per_layer_monotone_and_leaves_the_model_unchanged(
    lm: LoadedLM, texts: Texts, tmp_path: Path
) -> None:
    from splitgym.profiles.compression.sensitivity import (
        measure_sensitivity,
        per_layer_score,
        sensitivity_profile,
    )
    from splitgym.profiles.profile import load_profile, write_profile

    calib, _ = texts
    before = _state(lm)
    df = measure_sensitivity(lm, calib, sparsities=(0.7, 0.2), bits=(8, 3))
    _assert_same(lm, before)
    assert list(df.columns) == ["kind", "layer", "level", "mse", "rel_mse"]
    assert len(df) == 12 * 4 and (df["mse"] > 0).all()
    assert df["kind"].tolist() == ["prune"] * 24 + ["quant"] * 24
    assert df[df.kind == "prune"]["level"].tolist()[:2] == [0.2, 0.7]
    for (kind, _), rows in df.groupby(["kind", "layer"]):
        err = rows.sort_values("level")["rel_mse"].to_numpy()
        assert err[1] > err[0] if kind == "prune" else err[1] < err[0]  # more sparsity / fewer bits hurt
    score = per_layer_score(df, "prune")
    assert score.shape == (12,) and int(np.argmax(score)) == 0  # the first layer is the most sensitive
    table, meta = sensitivity_profile(df, {"name": "t", "model": "reference", "calibration": {"tokens": 512}})
    prof = load_profile(write_profile(table, meta, tmp_path))
    assert prof.meta["kind"] == "compression_sensitivity" and len(prof.table) == 48


def test_luc_against_uniform_rows(lm: LoadedLM, texts: Texts) -> None:
    from splitgym.profiles.compression.compare import compare_luc_uniform, comparison_markdown

    calib, held = texts
    sens = pd.DataFrame(
        [{"kind": "prune", "layer": i, "level": 0.5, "mse": 1.0, "rel_mse": PRUNE[i]} for i in range(12)]
        + [{"kind": "quant", "layer": i, "level": 4, "mse": 1.0, "rel_mse": QUANT[i]} for i in range(12)]
    )
    df = compare_luc_uniform(lm, sens, [(0.5, 4)], held, calib, "magnitude")
    assert df["policy"].tolist() == ["clean", "luc", "uniform"]
    assert df.loc[0, "quality"] == 0.0 and df.loc[0, "rel_weight_bytes"] == 1.0
    luc, uni = df.iloc[1], df.iloc[2]
    assert luc["mean_sparsity"] == pytest.approx(uni["mean_sparsity"]) == pytest.approx(0.5)
    assert luc["mean_bits"] == uni["mean_bits"] == pytest.approx(56 / 12)
    assert (df.loc[1:, "quality"] < 0).all() and (df.loc[1:, "rel_weight_bytes"] < 0.3).all()
    md = comparison_markdown(df)
    assert md.count("\n") == 2 + 3 and "| 0.50 | 4 | luc |" in md
    with pytest.raises(ConfigError, match=r"budget=1\.5"):
        compare_luc_uniform(lm, sens, [(1.5, 4)], held, calib)


# -- cost model ---------------------------------------------------------------------------------------
def test_cost_model_relative_costs() -> None:
    from splitgym.profiles.compression.costmodel import eta, layer_costs, policy_cost

    assert eta(0.0) == 1.0 and eta(0.5) == pytest.approx(0.5) and eta(0.9) == pytest.approx(0.3)
    dense = policy_cost(uniform_policy(4, 0.0, 16, 16), "reference", "raspberry-pi-5", 256)
    assert dense["rel_flops"] == dense["rel_bytes"] == dense["rel_time"] == 1.0
    w8 = layer_costs(uniform_policy(2, 0.0, 8, 8), "reference", "raspberry-pi-5", 256)
    np.testing.assert_allclose(w8["rel_flops"], 0.5)
    # Unstructured 50 % sparsity saves no compute (dense fallback) but does save weight traffic.
    s50 = layer_costs(uniform_policy(1, 0.5, 16, 16), "reference", "raspberry-pi-5", 1, "decode")
    assert s50.loc[0, "rel_flops"] == pytest.approx(1.0) and s50.loc[0, "rel_bytes"] < 0.7
    s90 = layer_costs(uniform_policy(1, 0.9, 16, 16), "reference", "raspberry-pi-5", 256)
    assert s90.loc[0, "rel_flops"] < 0.6
    with pytest.raises(ConfigError, match="phase='train'"):
        layer_costs(uniform_policy(1, 0.5, 8), "reference", "raspberry-pi-5", 8, "train")
    with pytest.raises(ConfigError, match="device="):
        layer_costs(uniform_policy(1, 0.5, 8), "reference", "no-such-device", 8)


# -- command line --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--budgets", "1.2:4"], "budget=1.2 must be in [0, 1)"),
        (["--budgets", "0.5:5"], "base_bits=5 is not supported"),
        (["--budgets", "0.5"], "must be SPARSITY:BITS"),
        (["--method", "obs"], "method='obs' is not supported"),
    ],
)
def test_cli_apply_rejects_bad_input_in_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from splitgym.cli.main import main

    assert main(["compress", "apply", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_sensitivity_writes_a_valid_profile(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from splitgym.cli.main import main
    from splitgym.profiles.profile import load_profile

    assert main(["compress", "sensitivity", "--tokens", "256", "--out", "out", "--name", "s"]) == 0
    prof = load_profile(in_tmp / "out" / "s.csv")
    assert prof.meta["calibration"]["tokens"] == 256 and prof.meta["method"] == "magnitude"
    assert len(prof.table) == 12 * 9
    assert "layer  prune rel_mse" in capsys.readouterr().out
