"""Answer quality of each split: in the ``nr`` link mode the cost of the activation precision sent; in
the ``analog`` and ``uncoded`` modes the cost of the channel, at the request's equivalent SNR.

The digital link delivers the hidden state bit-exact or not at all (:mod:`.link`), so quality depends on
what the device *sends*, never on the SNR: ``Q(k, b) = 1 - PPL/PPL_clean`` with the hidden state after
layer ``k`` quantised to ``b`` bits per element (fp16, int8 or int4 with one absmax scale per token),
measured on the reference model at every split with
:class:`~splitgym.profiles.quality.corruption.ActivationQuant` (profile ``accuracy/reference_activation``,
2048 held-out tokens; deterministic, one repeat). Splits 0 and ``L`` send no hidden state: ``Q = 0``.
A lost request (outage) scores 0. **Drawn**: nothing. **Averaged**: nothing (the profile is a property
of the model and the precision, not of a channel), so fading cannot be counted here at all.

In ``analog`` and ``uncoded`` (:mod:`.analog`, :mod:`.uncoded`) the profile's axis is ``snr_db``:
``Q(k, gamma_eq)`` with ``gamma_eq`` the request's equivalent SNR (:mod:`.payload`), read per lane by
:meth:`QualityTable.at` (linear in dB between the measured levels, clamped at their ends). Their
defaults are ``accuracy/reference_analog`` (operator ``analog`` with ``pilots = analog_pilots``) and
``accuracy/reference_uncoded_qpsk_fp16`` (operator ``uncoded``, QPSK, fp16, 1500-B packets with 40-B
headers); a configuration whose operator parameters differ needs its own profile (``quality_profile``,
measured with ``splitgym profile accuracy --operator analog|uncoded --param ...``), checked against the
profile's recorded operator.

Other models use the reference's measured profile at the same relative depth, ``k_ref =
round(k L_ref / L)`` (clipped to ``1..L_ref-1`` for ``0 < k < L``): a proxy, said so in
:attr:`QualityTable.source` and in ``info["quality_source"]``. A ``quality_profile`` measured on the model
itself (same axes) replaces it. Score: ``clip((Q - Q_lo)/(Q_hi - Q_lo), 0, 1)`` with the reference model
card's range ``(1 - PPL_unigram/PPL_model, 0)`` (0 = no better than a unigram model, 1 = clean) as in v0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.split.config import SplitConfig
from splitgym.errors import ConfigError
from splitgym.profiles.llm import reference_path
from splitgym.profiles.quality import QualityModel, TableQualityModel

__all__ = ["DEFAULT_QUALITY_PROFILE", "QualityTable"]

DEFAULT_QUALITY_PROFILE = "accuracy/reference_activation"
DEFAULT_PROFILES = {
    "nr": DEFAULT_QUALITY_PROFILE,
    "analog": "accuracy/reference_analog",
    "uncoded": "accuracy/reference_uncoded_qpsk_fp16",
}
REFERENCE_LAYERS = 12
F = NDArray[np.float64]
AXIS = {"nr": "activation_bits", "analog": "snr_db", "uncoded": "snr_db"}


def expected_operator(config: SplitConfig) -> dict[str, object]:
    """The operator parameters a profile for ``config``'s link mode must have been measured with."""
    c = config
    if c.link == "analog":
        return {"operator": "analog", "pilots": c.analog_pilots}
    if c.link == "uncoded":
        return {
            "operator": "uncodedpacket", "dtype": c.activation, "modulation": c.uncoded_modulation,
            "packet_bits": c.packet_bits, "header_bits": c.header_bits,
        }  # fmt: skip
    return {"operator": "activationquant"}


@dataclass(frozen=True)
class QualityTable:
    """Quality ``quality[k]`` and score ``score[k]`` of every split ``k = 0..L`` without channel impairment
    (``nr``: at the configured precision; ``analog``/``uncoded``: at the profile's best level), and
    :meth:`at` for any (split, level) pair: the per-lane reading."""

    quality: NDArray[np.float64]
    score: NDArray[np.float64]
    source: str
    proxy: bool
    quality_range: tuple[float, float]
    model: QualityModel
    k_ref: NDArray[np.int64]
    channel: bool  # quality depends on the request's channel (analog, uncoded)
    clean_level: float  # the level of ``quality``: activation bits (nr) or the profile's top SNR (dB)

    def at(self, split: NDArray[np.int64], level: NDArray[np.float64]) -> tuple[F, F]:
        """Quality and score of splits ``split`` at levels ``level`` (the profile's axis: activation bits
        for ``nr``, the equivalent SNR in dB otherwise); ``Q = 0`` at splits 0 and ``L`` (no hidden state
        crosses), where the model is not asked. Levels are clamped to the model's tabulated range (a
        surrogate must not extrapolate beyond the profile it learnt); ``nan`` (no hidden state) reads the
        clean level."""
        L = self.k_ref.size - 1
        k, lv = np.broadcast_arrays(np.asarray(split, dtype=np.int64), np.asarray(level, dtype=np.float64))
        q = np.zeros(k.shape)
        mid = (k > 0) & (k < L)
        if mid.any():
            lv_mid = np.nan_to_num(lv[mid], nan=self.clean_level, posinf=1e3, neginf=-1e3)
            levels = getattr(self.model, "levels", None)
            if levels is not None and np.size(levels):  # clamped to the model's range: no extrapolation
                lv_mid = np.clip(lv_mid, float(np.min(levels)), float(np.max(levels)))
            q[mid] = self.model.quality_batch(self.k_ref[k[mid]], lv_mid)
        lo, hi = self.quality_range
        return q, np.asarray(np.clip((q - lo) / (hi - lo), 0.0, 1.0))

    def with_model(self, model: QualityModel) -> QualityTable:
        """The same table with its quality from ``model`` (same axis and splits: e.g. a surrogate)."""
        needed = ("level_name", "splits", "quality_batch")
        missing = [a for a in needed if not hasattr(model, a)]
        if missing:
            raise ConfigError(
                f"quality_model must be a quality model with {list(needed)}; {type(model).__name__} lacks "
                f"{missing}"
            )
        if model.level_name != self.model.level_name:
            raise ConfigError(
                f"quality_model is on {model.level_name!r}; this world's quality is on "
                f"{self.model.level_name!r}"
            )
        missing = sorted(set(self.k_ref[1:-1].tolist()) - set(np.asarray(model.splits).tolist()))
        if missing:
            raise ConfigError(f"quality_model cannot evaluate split(s) {missing} of this world's profile")
        twin = replace(self, model=model, source=f"{getattr(model, 'name', type(model).__name__)} (given)")
        q, score = twin.at(np.arange(self.k_ref.size), np.full(self.k_ref.size, self.clean_level))
        return replace(twin, quality=q, score=score)

    @classmethod
    def build(cls, config: SplitConfig, num_layers: int) -> QualityTable:
        c = config
        name = c.quality_profile or DEFAULT_PROFILES[c.link]
        model = TableQualityModel(name)
        _check_profile(c, name, model)
        L = num_layers
        own = c.quality_profile is not None or c.model == "reference"
        l_ref = int(model.splits.max())
        k = np.arange(L + 1)
        if own:
            if l_ref != L:
                raise ConfigError(f"quality_profile {name!r} has {l_ref} layers, model {c.model!r} has {L}")
            k_ref = k
        else:
            k_ref = np.where((k > 0) & (k < L), np.clip(np.rint(k * l_ref / L), 1, l_ref - 1), 0)
            k_ref = np.where(k == L, l_ref, k_ref).astype(np.int64)
        clean = float(c.activation_bits) if c.link == "nr" else float(model.levels[-1])
        lo, hi = c.quality_range or _card_range()
        if own:
            source = f"{model.name} (measured on the model)"
        else:
            source = (
                f"{model.name} (proxy: the reference model's measured profile at the same relative depth, "
                f"k_ref = round(k*{l_ref}/{L}))"
            )
        empty = np.zeros(0)
        table = cls(
            empty, empty, source, not own, (float(lo), float(hi)), model, np.asarray(k_ref, dtype=np.int64),
            c.link != "nr", clean,
        )  # fmt: skip
        q, score = table.at(k, np.full(k.size, clean))
        return replace(table, quality=q, score=score)


def _check_profile(c: SplitConfig, name: str, model: TableQualityModel) -> None:
    """The profile's axis and operator must be those of the link mode."""
    axis = AXIS[c.link]
    want = expected_operator(c)
    if model.level_name != axis:
        raise ConfigError(
            f"quality_profile {name!r} has channel axis {model.level_name!r}; the {c.link} link needs a "
            f"profile on {axis!r} (measured with the {want['operator']!r} operator)"
        )
    got = model.profile.meta.get("operator", {})
    if c.link != "nr" and isinstance(got, dict) and any(got.get(k) != v for k, v in want.items()):
        raise ConfigError(
            f"quality_profile {name!r} was measured with {got}; link={c.link!r} here needs {want} "
            f"(measure one with `splitgym profile accuracy --operator "
            f"{'analog' if c.link == 'analog' else 'uncoded'} --param ...` and pass quality_profile)"
        )


def _card_range() -> tuple[float, float]:
    card = json.loads((reference_path() / "model_card.json").read_text())
    ratio = float(card["unigram_baseline"]["perplexity"]) / float(card["held_out"]["perplexity"])
    return 1.0 - ratio, 0.0
