"""The live quality model and its channel operators, on a tiny random byte-level Llama (fast)."""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from splitgym.errors import ConfigError
from splitgym.profiles import load_profile
from splitgym.profiles.accuracy import measure_accuracy_profile
from splitgym.profiles.quality.corruption import BitFlip, Erasure, Fading, add_awgn, make_operator
from splitgym.profiles.quality.live import LiveQualityModel

torch = pytest.importorskip("torch")
TEXT = (Path(__file__).read_bytes() * 4)[:4096]


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import AutoModelForCausalLM

    from splitgym.profiles.reference import reference_config

    torch.manual_seed(0)
    cfg = reference_config(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=2,
        num_key_value_heads=2,
    )
    path = tmp_path_factory.mktemp("tiny") / "tiny-llama"
    AutoModelForCausalLM.from_config(cfg).save_pretrained(path)
    return path


def live(path: Path, operator: str = "erasure", **kw: object) -> LiveQualityModel:
    return LiveQualityModel(path, operator, text=TEXT, n_tokens=512, window=128, **kw)  # type: ignore[arg-type]


def test_splits_zero_and_l_do_not_cross_the_channel(tiny_lm: Path) -> None:
    q = live(tiny_lm)
    assert q.splits.tolist() == [0, 1, 2, 3, 4]
    clean = q.clean()["perplexity"]
    for split in (0, 4):
        out = q.evaluate(split, 0.3)
        assert out["perplexity"] == clean and out["quality"] == 0.0
    assert q.evaluate(2, 0.0)["quality"] == pytest.approx(0.0, abs=1e-9)
    assert q.evaluate(2, 0.3)["perplexity"] != clean


def test_seeded_and_counted(tiny_lm: Path) -> None:
    a, b = live(tiny_lm, seed=5), live(tiny_lm, seed=5)
    assert a.evaluate(2, 0.2) == b.evaluate(2, 0.2)
    assert a.evaluate(2, 0.2) != a.evaluate(2, 0.2, seed=99)
    assert a.counts()["calls"] == 3 and a.counts()["seconds"] > 0


def test_erasure_zeroes_the_expected_share() -> None:
    gen = torch.Generator().manual_seed(0)
    y = torch.ones(4, 64, 128)
    out = Erasure().apply(y, 0.25, gen)
    assert float((out == 0).float().mean()) == pytest.approx(0.25, abs=0.01)


def test_fading_noise_power_follows_snr() -> None:
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(8, 256, 64, generator=gen)
    out = Fading(m=1.0, equalize=False).apply(y, 10.0, gen)
    # E|h y + n - h y|^2 is hard to separate; with m huge h -> 1, so the residual is the noise.
    near_static = Fading(m=1e6, equalize=False).apply(y, 10.0, gen)
    ratio = float((near_static - y).pow(2).mean() / y.pow(2).mean())
    assert ratio == pytest.approx(0.1, rel=0.05)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("dtype", ["fp16", "bf16", "int8"])
def test_bitflip_rate_and_sanitising(dtype: str) -> None:
    gen = torch.Generator().manual_seed(1)
    y = torch.randn(2, 128, 256, generator=gen)
    op = BitFlip(dtype=dtype)
    clean = op.apply(y, 100.0, gen, clamp=float(y.abs().max()))  # BER ~ 0: quantisation only
    noisy = op.apply(y, 0.0, gen, clamp=float(y.abs().max()))  # QPSK at Es/N0 0 dB: BER Q(1) = 0.159
    assert torch.isfinite(noisy).all() and float(noisy.abs().max()) <= float(y.abs().max()) + 1e-6
    changed = float((noisy != clean).float().mean())
    width = 8 if dtype == "int8" else 16
    expected = 1 - (1 - op.ber(0.0)) ** width  # share of elements with at least one flipped bit
    assert changed == pytest.approx(expected, rel=0.05)
    sparse = BitFlip._flip(torch.zeros(200_000, dtype=torch.int16), 5e-5, 16, gen)  # the sparse path
    assert float((sparse != 0).float().mean()) == pytest.approx(1 - (1 - 5e-5) ** 16, rel=0.3)  # ~160 hits


def test_bitflip_never_yields_nan_quality(tiny_lm: Path) -> None:
    q = live(tiny_lm, "bitflip", dtype="bf16")
    for snr in (-10.0, 0.0, 30.0):
        assert math.isfinite(q.quality(2, snr))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Fading(m=0.3), "Nakagami m must be >= 0.5, got 0.3"),
        (
            lambda: add_awgn(torch.ones(3), -1.0, torch.Generator()),
            r"noise_power must be finite and >= 0, got -1\.0",
        ),
        (lambda: BitFlip(dtype="fp8"), r"dtype must be one of \['fp16', 'bf16', 'int8'\]"),
        (lambda: BitFlip(modulation="8psk"), "modulation must be one of"),
        (lambda: make_operator("erase"), "unknown operator 'erase' .*did you mean 'erasure'"),
        (
            lambda: Erasure().apply(torch.ones(2), 1.5, torch.Generator()),
            r"impairment must be a finite number in \[0, 1\], got 1.5",
        ),
        (
            lambda: Fading().apply(torch.ones(1, 2), float("nan"), torch.Generator()),
            "snr_db must be a finite number",
        ),
    ],
)
def test_operator_errors(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        make()


def test_model_and_split_errors(tiny_lm: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        LiveQualityModel(tmp_path / "nope")
    (tmp_path / "junk").mkdir()
    with pytest.raises(ConfigError, match=r"no config\.json"):
        LiveQualityModel(tmp_path / "junk")
    (tmp_path / "junk" / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ConfigError, match="not a loadable causal LM"):
        LiveQualityModel(tmp_path / "junk")
    q = live(tiny_lm)
    with pytest.raises(ConfigError, match=r"split must be an integer in \[0, 4\], got 5"):
        q.evaluate(5, 0.1)
    with pytest.raises(ConfigError, match="impairment must be"):
        q.evaluate(0, -0.1)


def test_live_model_drives_the_paper_direct_env(tiny_lm: Path) -> None:
    q = live(tiny_lm)
    env = gym.make("splitgym/PaperSplitDirect-v0", quality_model=q, max_split=4, reset_split=(1, 3))
    env.reset(seed=0)
    total = 0.0
    for _ in range(5):
        _obs, reward, _terminated, truncated, _info = env.step(env.action_space.sample())
        total += float(reward)
    assert truncated and math.isfinite(total)
    assert q.counts()["calls"] >= 1


def test_accuracy_profile_is_a_loadable_quality_grid(tiny_lm: Path, tmp_path: Path) -> None:
    path = measure_accuracy_profile(tmp_path, tiny_lm, "erasure", levels=[0.0, 0.3], repeats=2, n_tokens=256)
    prof = load_profile(path)
    assert prof.table.shape[0] == 2 * 5
    assert prof.meta["source"] == "measured" and prof.meta["operator"]["operator"] == "erasure"
    grid = prof.grid("quality")
    np.testing.assert_allclose(grid[:, [0, 4]], 0.0)  # splits 0 and L untouched by the channel
    np.testing.assert_allclose(grid[0], 0.0, atol=1e-9)  # no erasure, no loss
