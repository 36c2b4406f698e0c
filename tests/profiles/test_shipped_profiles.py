"""The shipped artefacts hold what their issue promises: the reference model, timings, accuracy profiles."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from splitgym.profiles import bundled_profiles, load_bundled
from splitgym.profiles.llm import load_causal_lm, reference_path
from splitgym.profiles.timing import CATALOGUE, DEVICES

torch = pytest.importorskip("torch")


def test_reference_model_card_and_weights() -> None:
    card = json.loads((reference_path() / "model_card.json").read_text())
    weights = reference_path() / "model.safetensors"
    assert weights.stat().st_size <= 10 * 1024 * 1024
    arch = card["architecture"]
    assert arch["model_type"] == "llama" and arch["num_hidden_layers"] >= 10 and arch["vocab_size"] == 256
    assert card["unigram_baseline"]["perplexity"] / card["held_out"]["perplexity"] >= 6.0
    assert card["corpus"]["validation_files"] and card["training"]["seed"] == 0


def test_reference_perplexity_recomputed_on_a_held_out_slice() -> None:
    from splitgym.profiles.reference.corpus import load_corpus
    from splitgym.profiles.reference.train import evaluate_bytes, unigram_baseline

    lm = load_causal_lm("reference")
    corpus = load_corpus()
    piece = corpus.validation[: 24 * 512]
    ours = evaluate_bytes(lm.model, piece)
    base = unigram_baseline(corpus.train, piece[1:])
    assert base["perplexity"] / ours["perplexity"] >= 6.0, (ours, base)
    card = json.loads((reference_path() / "model_card.json").read_text())
    assert ours["perplexity"] == pytest.approx(card["held_out"]["perplexity"], rel=0.35)


ACCURACY = [n for n in bundled_profiles() if n.startswith("accuracy/")]


def test_accuracy_profiles_are_shipped_for_every_operator() -> None:
    operators = {load_bundled(n).meta["operator"]["operator"] for n in ACCURACY}
    assert {"erasure", "fading", "bitflip"} <= operators


@pytest.mark.parametrize("name", ACCURACY)
def test_quality_falls_as_the_channel_worsens(name: str) -> None:
    prof = load_bundled(name)
    grid = prof.grid("quality")  # [level, split]
    splits = prof.axis_values("split")
    np.testing.assert_array_equal(grid[:, [0, -1]], 0.0)  # split 0 and split L never cross the channel
    mean_over_splits = grid[:, 1:-1].mean(axis=1)
    worse_first = mean_over_splits if prof.meta["channel_axis"] == "impairment" else mean_over_splits[::-1]
    # From the best channel to the worst, quality falls (small noise allowed between neighbours). The
    # activation precision costs far less than a noisy channel (int4 per token: 0.5-1.3 % perplexity).
    drop = 0.002 if prof.meta["channel_axis"] == "activation_bits" else 0.05
    assert worse_first[0] > worse_first[-1] + drop
    assert np.all(np.diff(worse_first) <= 0.02), worse_first
    assert np.isfinite(grid).all() and splits[0] == 0


MEASURED = {
    load_bundled(n).meta["architecture"]: n
    for n in bundled_profiles()
    if n.count("/") == 1 and n.startswith("timing/")
}


@pytest.mark.parametrize("model", sorted(CATALOGUE))
def test_measured_timing_profile_for_every_catalogue_model(model: str) -> None:
    prof = load_bundled(MEASURED[model])
    assert prof.source == "measured" and prof.meta["architecture"] == model
    layer = prof.table[(prof.table["component"] == "layer")]
    assert (layer["median_ms"] > 0).all() and math.isfinite(layer["median_ms"].sum())
    if model in ("gpt2", "reference"):
        for phase, ratio in prof.meta["consistency_ratio"].items():
            assert 0.85 <= ratio <= 1.15, (phase, ratio)


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_scaled_profiles_for_every_device_class(device: str) -> None:
    names = [n for n in bundled_profiles() if n.startswith(f"timing/scaled/{device}/")]
    assert len(names) == len(CATALOGUE)
    prof = load_bundled(names[0])
    assert prof.source == "scaled" and prof.meta["scaled_from"]
