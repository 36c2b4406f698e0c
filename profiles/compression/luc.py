"""Layer-wise unified compression (LUC, Edge-LLM §1.3 and dossier §7 items 2-3): per-layer policies.

A :class:`CompressionPolicy` holds one sparsity, one weight bit-width and one activation bit-width per
device-side decoder layer, **layer 0 first** (the released code maps an unsorted file listing to layers;
here the index is the layer).

**Sparsity rule** (the released ``pruning_schedular``, with its ordering bug fixed and clipping added).
With ``s_l`` the pruning sensitivity of layer ``l`` of ``L``, and ``R`` the budget (mean sparsity)::

    ŝ_l = (s_l − min s) / (max s − min s)        w_l = 1 − ŝ_l
    r_l = R · L · w_l / Σ_j w_j                   (mean r = R; the most sensitive layer gets 0)

then ``r`` is clipped to ``[0, r_max]`` by water-filling: capped layers are fixed at ``r_max`` and the
excess is spread over the others in proportion to ``w`` (equally, if only ``w = 0`` layers are left), until
none exceeds ``r_max``. The mean stays exactly ``R`` whenever ``R <= r_max`` (else :class:`ConfigError`),
and a more sensitive layer never gets a higher sparsity. Equal sensitivities give every layer ``R``.

**Bit rule** (the paper's rule, not the released hard-coded layers 2/29/30/31, which look inverted): a
layer whose quantisation sensitivity is strictly above the mean over the layers gets ``high_bits``, the
others ``base_bits``. Activations use ``act_bits`` everywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError
from splitgym.profiles.compression.prune import check_sparsity
from splitgym.profiles.compression.quantize import SUPPORTED_BITS, check_bits

__all__ = ["CompressionPolicy", "luc_policy", "matched_uniform", "uniform_policy"]


@dataclass(frozen=True)
class CompressionPolicy:
    """Per device-side layer (layer 0 first): sparsity in ``[0, 1)``, weight and activation bits."""

    sparsity: tuple[float, ...]
    weight_bits: tuple[int, ...]
    act_bits: tuple[int, ...]

    def __post_init__(self) -> None:
        n = len(self.sparsity)
        if n == 0:
            raise ConfigError("a compression policy needs at least one layer; got sparsity=()")
        if len(self.weight_bits) != n or len(self.act_bits) != n:
            raise ConfigError(
                f"policy lengths differ: sparsity {n}, weight_bits {len(self.weight_bits)}, "
                f"act_bits {len(self.act_bits)} (one entry per device-side layer)"
            )
        for i, (r, wb, ab) in enumerate(zip(self.sparsity, self.weight_bits, self.act_bits, strict=True)):
            check_sparsity(f"sparsity[{i}]", r)
            check_bits(f"weight_bits[{i}]", wb)
            check_bits(f"act_bits[{i}]", ab)

    @property
    def num_layers(self) -> int:
        return len(self.sparsity)

    @property
    def mean_sparsity(self) -> float:
        """Mean sparsity over the layers (every layer of a decoder has the same size)."""
        return float(np.mean(self.sparsity))

    @property
    def mean_bits(self) -> float:
        """Mean weight bit-width over the layers."""
        return float(np.mean(self.weight_bits))

    def describe(self) -> str:
        """``"r=[0.55 0.00 ...] w=[4 8 ...] a=[8 8 ...]"``: the policy on one line."""
        r = " ".join(f"{v:.2f}" for v in self.sparsity)
        w = " ".join(str(v) for v in self.weight_bits)
        a = " ".join(str(v) for v in self.act_bits)
        return f"r=[{r}] w=[{w}] a=[{a}]"


def _scores(name: str, values: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ConfigError(
            f"{name} must be a non-empty 1-D array (one score per layer), got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ConfigError(
            f"{name} holds a non-finite value at layer {int(np.flatnonzero(~np.isfinite(arr))[0])}"
        )
    return arr


def luc_sparsity(prune_score: ArrayLike, budget: float, max_sparsity: float = 0.95) -> NDArray[np.float64]:
    """Per-layer sparsities of the LUC rule (module docstring): mean ``budget``, in ``[0, max_sparsity]``."""
    s = _scores("prune_score", prune_score)
    budget = check_sparsity("budget", budget)
    max_sparsity = check_sparsity("max_sparsity", max_sparsity)
    if budget > max_sparsity:
        raise ConfigError(f"budget={budget} exceeds max_sparsity={max_sparsity}: the mean cannot be reached")
    n = s.size
    span = float(s.max() - s.min())
    weight = np.ones(n) if span == 0.0 else 1.0 - (s - s.min()) / span
    r = np.zeros(n)
    free = np.ones(n, dtype=bool)
    while free.any():
        share = weight[free] if weight[free].sum() > 0 else np.ones(int(free.sum()))
        remaining = budget * n - max_sparsity * int((~free).sum())
        r[free] = remaining * share / share.sum()
        over = free & (r > max_sparsity)
        if not over.any():
            break
        r[over] = max_sparsity
        free &= ~over
    return np.clip(r, 0.0, max_sparsity)


def luc_policy(
    prune_score: ArrayLike,
    quant_score: ArrayLike,
    budget: float,
    base_bits: int = 4,
    high_bits: int = 8,
    act_bits: int = 8,
    max_sparsity: float = 0.95,
) -> CompressionPolicy:
    """The LUC policy for per-layer sensitivities ``prune_score`` and ``quant_score`` (layer 0 first)."""
    q = _scores("quant_score", quant_score)
    p = _scores("prune_score", prune_score)
    if q.size != p.size:
        raise ConfigError(f"prune_score has {p.size} layers but quant_score has {q.size}")
    base_bits = check_bits("base_bits", base_bits)
    high_bits = check_bits("high_bits", high_bits)
    act_bits = check_bits("act_bits", act_bits)
    if high_bits < base_bits:
        raise ConfigError(f"high_bits={high_bits} must be >= base_bits={base_bits}")
    sparsity = luc_sparsity(p, budget, max_sparsity)
    bits = np.where(q > q.mean(), high_bits, base_bits)
    return CompressionPolicy(
        sparsity=tuple(float(v) for v in sparsity),
        weight_bits=tuple(int(b) for b in bits),
        act_bits=(act_bits,) * p.size,
    )


def uniform_policy(n_layers: int, budget: float, bits: int, act_bits: int = 8) -> CompressionPolicy:
    """Every one of ``n_layers`` layers at sparsity ``budget``, ``bits`` weight bits and ``act_bits``."""
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
        raise ConfigError(f"n_layers={n_layers!r} must be an integer >= 1")
    budget = check_sparsity("budget", budget)
    bits = check_bits("bits", bits)
    act_bits = check_bits("act_bits", act_bits)
    return CompressionPolicy((budget,) * n_layers, (bits,) * n_layers, (act_bits,) * n_layers)


def _spread(values: Sequence[int]) -> tuple[int, ...]:
    """The multiset ``values`` placed blind to sensitivity: each less common width (higher widths
    first) at evenly spaced free positions ``free[floor((j + 1/2)·len(free)/k)]``, the most common one
    filling the rest. E.g. 3 × 8 among 12 layers, 9 × 4: the 8s at layers 2, 6 and 10."""
    n = len(values)
    counts = Counter(values)
    common = max(counts, key=lambda b: (counts[b], -b))
    out: list[int | None] = [None] * n
    for width in sorted((b for b in counts if b != common), reverse=True):
        free = [i for i in range(n) if out[i] is None]
        k = counts[width]
        for j in range(k):
            out[free[int((j + 0.5) * len(free) / k)]] = width
    return tuple(common if v is None else v for v in out)


def matched_uniform(policy: CompressionPolicy, bits: str = "mix") -> CompressionPolicy:
    """The uniform baseline of ``policy``: every layer at its mean sparsity, with the same weight bits.

    ``bits="mix"`` (default) keeps the *same multiset* of bit-widths (so the mean bits and the storage
    match exactly) but places them blind to sensitivity, evenly spread over the layers (:func:`_spread`);
    this isolates LUC's contribution: *which* layers get the high precision. ``bits="nearest"`` uses one
    supported width for all layers, the one nearest the mean (ties to the higher), so the mean bits match
    only approximately. Activation bits are handled the same way.
    """
    n = policy.num_layers
    sparsity = (policy.mean_sparsity,) * n
    if bits == "mix":
        return CompressionPolicy(sparsity, _spread(policy.weight_bits), _spread(policy.act_bits))
    if bits == "nearest":

        def nearest(mean: float) -> int:
            return min(SUPPORTED_BITS, key=lambda b: (abs(b - mean), -b))

        return CompressionPolicy(
            sparsity, (nearest(policy.mean_bits),) * n, (nearest(float(np.mean(policy.act_bits))),) * n
        )
    raise ConfigError(f"bits={bits!r} is not supported; allowed: ['mix', 'nearest']")
