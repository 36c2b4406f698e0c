"""Answer quality of each split in the ``nr`` link mode: the cost of the activation precision sent.

The digital link delivers the hidden state bit-exact or not at all (:mod:`.link`), so quality depends on
what the device *sends*, never on the SNR: ``Q(k, b) = 1 - PPL/PPL_clean`` with the hidden state after
layer ``k`` quantised to ``b`` bits per element (fp16, int8 or int4 with one absmax scale per token),
measured on the reference model at every split with
:class:`~splitgym.profiles.quality.corruption.ActivationQuant` (profile ``accuracy/reference_activation``,
2048 held-out tokens; deterministic, one repeat). Splits 0 and ``L`` send no hidden state: ``Q = 0``.
A lost request (outage) scores 0. **Drawn**: nothing. **Averaged**: nothing (the profile is a property
of the model and the precision, not of a channel), so fading cannot be counted here at all.

Other models use the reference's measured profile at the same relative depth, ``k_ref =
round(k L_ref / L)`` (clipped to ``1..L_ref-1`` for ``0 < k < L``): a proxy, said so in
:attr:`QualityTable.source` and in ``info["quality_source"]``. A ``quality_profile`` measured on the model
itself (same axes) replaces it. Score: ``clip((Q - Q_lo)/(Q_hi - Q_lo), 0, 1)`` with the reference model
card's range ``(1 - PPL_unigram/PPL_model, 0)`` (0 = no better than a unigram model, 1 = clean) as in v0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.split.config import SplitConfig
from splitgym.errors import ConfigError
from splitgym.profiles.llm import reference_path
from splitgym.profiles.quality import TableQualityModel

__all__ = ["DEFAULT_QUALITY_PROFILE", "QualityTable"]

DEFAULT_QUALITY_PROFILE = "accuracy/reference_activation"
REFERENCE_LAYERS = 12


@dataclass(frozen=True)
class QualityTable:
    """Quality ``quality[k]`` and score ``score[k]`` of every split ``k = 0..L`` at the config's precision."""

    quality: NDArray[np.float64]
    score: NDArray[np.float64]
    source: str
    proxy: bool
    quality_range: tuple[float, float]

    @classmethod
    def build(cls, config: SplitConfig, num_layers: int) -> QualityTable:
        name = config.quality_profile or DEFAULT_QUALITY_PROFILE
        model = TableQualityModel(name)
        if model.level_name != "activation_bits":
            raise ConfigError(
                f"quality_profile {name!r} has channel axis {model.level_name!r}; the nr link needs a "
                "profile on 'activation_bits' (measured with the 'activation' operator)"
            )
        L = num_layers
        own = config.quality_profile is not None or config.model == "reference"
        l_ref = int(model.splits.max())
        k = np.arange(L + 1)
        if own:
            if l_ref != L:
                raise ConfigError(
                    f"quality_profile {name!r} has {l_ref} layers, model {config.model!r} has {L}"
                )
            k_ref = k
        else:
            k_ref = np.where((k > 0) & (k < L), np.clip(np.rint(k * l_ref / L), 1, l_ref - 1), 0)
            k_ref = np.where(k == L, l_ref, k_ref).astype(np.int64)
        q = model.quality_batch(k_ref, float(config.activation_bits))
        q = np.where((k == 0) | (k == L), 0.0, q)
        lo, hi = config.quality_range or _card_range()
        score = np.clip((q - lo) / (hi - lo), 0.0, 1.0)
        if own:
            source = f"{model.name} (measured on the model)"
        else:
            source = (
                f"{model.name} (proxy: the reference model's measured profile at the same relative depth, "
                f"k_ref = round(k*{l_ref}/{L}))"
            )
        return cls(np.asarray(q), np.asarray(score), source, not own, (float(lo), float(hi)))


def _card_range() -> tuple[float, float]:
    card = json.loads((reference_path() / "model_card.json").read_text())
    ratio = float(card["unigram_baseline"]["perplexity"]) / float(card["held_out"]["perplexity"])
    return 1.0 - ratio, 0.0
