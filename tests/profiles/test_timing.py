"""Timing profiles: catalogue parameter counts, the hook profiler and its self-check, the roofline scaler."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM

from splitgym.errors import ConfigError
from splitgym.profiles import load_profile
from splitgym.profiles.reference import reference_config
from splitgym.profiles.timing import (
    CATALOGUE,
    DEVICES,
    TimingSettings,
    calibrate,
    check_published,
    get_architecture,
    measure_timings,
    profile_timings,
    roofline_profile,
    scale_profile,
    write_profile,
)

pytestmark = pytest.mark.filterwarnings("ignore:host is busy:UserWarning")

# Dossier profiles_channels.md §1.5: (total params in M, params per decoder layer in M).
DOSSIER_PARAMS = {
    "gpt2": (124.4, 7.09),
    "gpt2-medium": (354.8, 12.60),
    "gpt2-large": (774.0, 19.68),
    "gpt2-xl": (1557.6, 30.74),
    "tinyllama-1.1b": (1100.0, 44.04),
    "llama2-7b": (6738.4, 202.38),
    "llama3-8b": (8030.3, 218.11),
    "qwen2-0.5b": (494.0, 14.91),
    "qwen2-1.5b": (1543.7, 46.80),
    "phi-2": (2779.7, 78.67),
    # Not in the dossier table: the model cards' totals (13.0 B, 7.24 B), per layer from the config numbers.
    "llama2-13b": (13015.9, 317.20),
    "mistral-7b": (7241.7, 218.11),
}


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_parameter_counts_match_built_models_and_the_dossier(name: str) -> None:
    arch = get_architecture(name)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(arch.build_config(num_layers=2))
    layers = next(m for m in model.base_model.children() if isinstance(m, torch.nn.ModuleList))
    assert len(layers) == 2
    assert sum(p.numel() for p in layers[0].parameters()) == arch.params_per_layer
    assert sum(p.numel() for p in model.parameters()) == arch.total_params(2)
    if name != "reference":
        total_m, layer_m = DOSSIER_PARAMS[name]
        assert round(arch.total_params() / 1e6, 1) == total_m
        assert round(arch.params_per_layer / 1e6, 2) == layer_m


def test_catalogue_covers_the_dossier_and_the_reference_model() -> None:
    assert set(CATALOGUE) == {*DOSSIER_PARAMS, "reference"}
    ours, theirs = get_architecture("reference").build_config().to_dict(), reference_config().to_dict()
    for key in ("hidden_size", "num_hidden_layers", "intermediate_size", "vocab_size", "tie_word_embeddings"):
        assert ours[key] == theirs[key]
    llama3 = get_architecture("llama3-8b")
    assert llama3.hidden_bytes_per_token(2) == 8192 and llama3.kv_bytes_per_token(2) == 4096
    assert llama3.flops_per_token(100) == 2 * 218_112_000 + 4 * 100 * 4096


SMALL = {"prompt_lengths": (8, 64), "context_lengths": (16, 64), "repeats": 3, "warmup": 1, "threads": 1}


@pytest.fixture(scope="module")
def gpt2_profile(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("timing")
    return load_profile(profile_timings("gpt2", out, probe_layers=2, consistency=False, **SMALL))


def test_gpt2_profile_is_loadable_and_sane(gpt2_profile: Any) -> None:
    prof, table = gpt2_profile, gpt2_profile.table
    assert prof.kind == "layer_timing" and prof.source == "measured" and len(table) == 12
    assert (table.median_ms > 0).all()
    assert ((table.p10_ms <= table.median_ms) & (table.median_ms <= table.p90_ms)).all()
    layer = table[table.component == "layer"].set_index(["phase", "tokens"]).median_ms
    assert layer["prefill", 64] > layer["decode", 64] and layer["prefill", 64] > layer["prefill", 8]
    meta = prof.meta
    assert meta["threads"] == 1 and meta["probe_layers"] == 2 and meta["num_layers"] == 12
    assert meta["params_per_layer"] == 7_087_872 and meta["hidden_bytes_per_token"] == 768 * 4
    assert "torch" in meta["versions"] and meta["peak_rss_mib"] > 0 and "consistency" not in meta


@pytest.mark.parametrize("family", ["gpt2", "qwen2-0.5b", "phi-2", "mistral-7b", "llama3-8b"])
def test_every_family_is_timed_by_hooks(family: str) -> None:
    base = get_architecture(family)
    tiny = replace(
        base, name=f"tiny-{family}", hidden=64, layers=4, heads=4, kv_heads=min(base.kv_heads, 4),
        intermediate=128, vocab=1000, max_positions=512, extra=base.extra | {"bos_token_id": 0, "eos_token_id": 0},
    )  # fmt: skip
    settings = TimingSettings((16,), (16,), repeats=2, warmup=1, threads=1, consistency=False)
    table, meta = measure_timings(tiny, settings)
    assert len(table) == 6 and (table.median_ms > 0).all() and meta["probe_layers"] == 3


@pytest.mark.slow  # a ratio measured in one run, but only meaningful on an otherwise idle machine
@pytest.mark.parametrize("model", ["gpt2", "reference"])
def test_sum_of_parts_matches_the_whole_forward(model: str) -> None:
    settings = TimingSettings((64,), (64,), repeats=5, warmup=2, threads=1, consistency=True)
    _, meta = measure_timings(model, settings)
    ratios = meta["consistency_ratio"]
    print(f"{model}: consistency ratios {ratios}")
    assert all(0.85 <= r <= 1.15 for r in ratios.values()), meta["consistency"]


def test_roofline_matches_published_decode_rates() -> None:
    for check in check_published():
        print(f"{check.published.device} {check.published.model}: {check.predicted_tok_s:.1f} tok/s "
              f"vs {check.published.tok_s} published, ratio {check.ratio:.2f}")  # fmt: skip
        assert 0.67 <= check.ratio <= 1.5


def test_roofline_reproduces_the_dossier_worked_table(tmp_path: Path) -> None:
    table, meta = roofline_profile("llama2-7b", "jetson-agx-orin", "fp16", context_lengths=(512,))
    layer = table[table.component == "layer"].set_index(["phase", "tokens"]).median_ms
    assert layer["decode", 512] == pytest.approx(2.9, rel=0.05)
    assert layer["prefill", 512] == pytest.approx(10.0, rel=0.05)
    pi, _ = roofline_profile("gpt2", "raspberry-pi-5", "float32", context_lengths=(512,))
    assert pi.set_index(["component", "phase", "tokens"]).median_ms["layer", "decode", 512] == pytest.approx(
        2.6, rel=0.05
    )
    prof = load_profile(write_profile(table, meta, tmp_path))
    assert prof.source == "scaled" and prof.meta["device_class"]["bandwidth"] == 204.8e9


def test_calibration_recovers_the_efficiencies(tmp_path: Path) -> None:
    device = DEVICES["raspberry-pi-5"]
    prof = load_profile(write_profile(*roofline_profile("gpt2", device, "float32"), tmp_path))
    fitted = calibrate(prof, device)
    assert fitted.eta_m == pytest.approx(device.eta_m) and fitted.eta_c == pytest.approx(device.eta_c)


def test_measured_profile_scales_to_a_device(gpt2_profile: Any, tmp_path: Path) -> None:
    prof = load_profile(write_profile(*scale_profile(gpt2_profile, "h100-sxm"), tmp_path))
    assert prof.meta["scaled_from"] == gpt2_profile.name and len(prof.table) == len(gpt2_profile.table)
    assert (prof.table.median_ms < gpt2_profile.table.median_ms).all()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"model": "gpt-2"}, ["model='gpt-2'", "allowed", "llama2-7b"]),
        ({"prompt_lengths": (0, 8)}, ["prompt_lengths", "[1, 1024]"]),
        ({"context_lengths": (2000,)}, ["context_lengths", "[2, 1024]"]),
        ({"dtype": "float64"}, ["dtype='float64'", "float32"]),
        ({"repeats": 0}, ["repeats=0", ">= 1"]),
    ],
)
def test_bad_profiler_inputs_raise_config_errors(
    kwargs: dict[str, Any], words: list[str], tmp_path: Path
) -> None:
    args = {"model": "gpt2"} | kwargs
    with pytest.raises(ConfigError) as err:
        profile_timings(args.pop("model"), tmp_path, **args)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_default_lengths_fit_the_model() -> None:
    checked = TimingSettings().checked(get_architecture("reference"))  # 256 positions (the trained context)
    assert checked.prompt_lengths == (32, 128) and checked.context_lengths == (128,)


def test_bad_roofline_inputs_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"device='pi5'.*raspberry-pi-5"):
        roofline_profile("gpt2", "pi5")
    with pytest.raises(ConfigError, match="weights='int3'"):
        roofline_profile("gpt2", "a100-80gb", "int3")
