"""Lookup tables of the fading environment: rate and answer quality against the instantaneous SNR.

Both environments (single and vector) evaluate a request by table lookup on a fine SNR grid
(:data:`SNR_STEP_DB` = 0.01 dB from :data:`SNR_LO_DB` to :data:`SNR_HI_DB`); the tables are computed once
from the channel library and the quality model, so the physics lives in one place.

* Rate: truncated Shannon ``B min(alpha log2(1 + SNR), SE_max)``, 0 below ``min_snr_db`` (TR 36.942
  Annex A), :func:`splitgym.envs.channels.truncated_shannon_rate`.
* Quality ``Q(k, SNR)`` of split ``k`` (relative perplexity change ``1 - PPL/PPL_ref``):

  - splits 0 and ``L`` send no hidden state, so their quality is the model's uncorrupted quality;
  - operators on the SNR axis (``fading``, ``bitflip_*``: measured with the channel in the loop) read
    the accuracy profile at the SNR (linear in SNR, clamped at the measured range);
  - the ``erasure`` operator (element erasure, the paper's impairment) is reached through the packet
    erasure probability ``p = 1 - (1 - BER(SNR))^L_pkt`` of uncoded packets of ``L_pkt`` bits with the
    configured modulation over AWGN at the instantaneous SNR: a lost packet zeroes its elements, so the
    element-erasure probability is ``p``. Beyond the largest tabulated ``p`` the answer counts as failed.

* Score: ``clip((Q - Q_lo) / (Q_hi - Q_lo), 0, 1)``; a failed answer scores 0. The default range for the
  reference model is ``(1 - PPL_unigram/PPL_model, 0)`` from its model card (0 = no better than a unigram
  model, 1 = the clean model), for other models the table's range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.channels import ber_awgn, packet_erasure_probability, truncated_shannon_rate
from splitgym.envs.fading.config import MODELS, FadingSplitConfig
from splitgym.profiles.llm import reference_path
from splitgym.profiles.quality import QualityModel, TableQualityModel

__all__ = ["SNR_HI_DB", "SNR_LO_DB", "SNR_STEP_DB", "LinkTables", "snr_index"]

SNR_LO_DB = -50.0
SNR_HI_DB = 70.0
SNR_STEP_DB = 0.01
_N = round((SNR_HI_DB - SNR_LO_DB) / SNR_STEP_DB) + 1


def snr_index(snr_db: NDArray[np.float64]) -> NDArray[np.int64]:
    """Index of the nearest grid point of each SNR (dB), clamped to the grid."""
    idx = np.rint((snr_db - SNR_LO_DB) * (1.0 / SNR_STEP_DB)).astype(np.int64)
    return np.clip(idx, 0, _N - 1)


@dataclass(frozen=True)
class LinkTables:
    """Rate (bit/s) and quality per SNR grid point; ``quality[k, i]`` for split ``k``."""

    snr_db: NDArray[np.float64]
    rate_bps: NDArray[np.float64]
    quality: NDArray[np.float64]  # Q, nan where the quality model has no data for the split
    score: NDArray[np.float64]  # normalised quality in [0, 1] (0 for a failed answer)
    has_quality: NDArray[np.bool_]  # per split: the quality model covers it
    quality_range: tuple[float, float]
    quality_source: str
    level_name: str  # the quality model's channel axis: "snr_db" or "impairment"
    level: NDArray[np.float64]  # that axis's value at each SNR grid point (SNR, or packet-erasure prob.)

    def quality_level(self, snr_db: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """The quality model's channel level at each SNR (dB): the SNR itself, or for an impairment-axis
        model the packet-erasure probability the link has at that SNR."""
        return np.asarray(self.level[snr_index(np.asarray(snr_db, dtype=np.float64))])

    @classmethod
    def build(cls, config: FadingSplitConfig, num_layers: int) -> LinkTables:
        snr = SNR_LO_DB + SNR_STEP_DB * np.arange(_N, dtype=np.float64)
        lin = 10.0 ** (snr / 10.0)
        alpha, se_max = config.spectral_efficiency
        rate = truncated_shannon_rate(
            lin, config.bandwidth_hz, alpha=alpha, snr_min_db=config.min_snr_db, se_max=se_max
        )
        source = config.quality_profile or MODELS[config.model]["profiles"][config.operator]
        model: QualityModel = (
            TableQualityModel(source) if config.quality_model is None else config.quality_model
        )
        levels = np.asarray(model.levels, dtype=np.float64)  # type: ignore[attr-defined]
        lo_level, hi_level = float(levels.min()), float(levels.max())
        splits = np.arange(num_layers + 1)
        has = np.isin(splits, model.splits)
        quality = np.full((num_layers + 1, _N), np.nan)
        failed = np.zeros((num_layers + 1, _N), dtype=bool)
        clean_level = levels.max() if model.level_name == "snr_db" else levels.min()
        if model.level_name == "snr_db":
            level = snr
        else:
            ber = ber_awgn(lin, config.modulation)
            level = packet_erasure_probability(ber, config.packet_bits)
        for k in splits[has]:
            if k in (0, num_layers):
                quality[k] = float(model.quality_batch(int(k), float(clean_level)))
            else:  # clamped to the model's levels, as a table does (no surrogate extrapolation)
                quality[k] = model.quality_batch(int(k), np.clip(level, lo_level, hi_level))
                if model.level_name != "snr_db":
                    failed[k] = level > levels.max() + 1e-12
        lo, hi = config.quality_range or _default_range(config, quality)
        score = np.clip((np.nan_to_num(quality, nan=lo) - lo) / (hi - lo), 0.0, 1.0)
        score[failed] = 0.0
        name = str(getattr(model, "name", None) or repr(model))
        return cls(
            snr, rate, quality, score, has, (float(lo), float(hi)), name, model.level_name, np.asarray(level)
        )


def _default_range(config: FadingSplitConfig, quality: NDArray[np.float64]) -> tuple[float, float]:
    if config.model == "reference" and config.quality_profile is None:  # also for a surrogate of it
        card = json.loads((reference_path() / "model_card.json").read_text())
        ratio = float(card["unigram_baseline"]["perplexity"]) / float(card["held_out"]["perplexity"])
        return 1.0 - ratio, 0.0
    return float(np.nanmin(quality)), float(np.nanmax(quality))
