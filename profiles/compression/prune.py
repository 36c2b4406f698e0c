"""Unstructured pruning masks, per output row: magnitude and Wanda (Sun et al., arXiv 2306.11695).

A mask has the weight's shape ``[out, in]`` and is ``True`` where the weight is KEPT. Every row loses
exactly ``k = round(sparsity · in)`` weights, those of the smallest score (ties broken by column index, the
lower column first, so masks are deterministic):

* magnitude: ``score_ij = |W_ij|``;
* Wanda: ``score_ij = |W_ij| · ||X_j||_2``, with ``||X_j||_2 = sqrt(Σ_t x_tj²)`` the L2 norm of input
  feature ``j`` of the layer over all calibration tokens ``t`` (rows compared separately, no weight update).

Edge-LLM prunes with SparseGPT (OBS saliency plus a weight update, dossier §1.4); magnitude and Wanda are
its cheap, update-free stand-ins: they pick *which* weights go, LUC picks *how many* per layer.
"""

from __future__ import annotations

import math

import torch

from splitgym.errors import ConfigError

__all__ = ["check_sparsity", "magnitude_mask", "mask_from_scores", "pruned_per_row", "wanda_mask"]


def check_sparsity(name: str, value: object) -> float:
    """``value`` as a float if it is a number in ``[0, 1)``, else a :class:`ConfigError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name}={value!r} must be a number in [0, 1)")
    v = float(value)
    if not (math.isfinite(v) and 0.0 <= v < 1.0):
        raise ConfigError(f"{name}={value!r} must be in [0, 1)")
    return v


def pruned_per_row(in_features: int, sparsity: float) -> int:
    """Weights removed from each row: ``round(sparsity · in_features)`` (Python's round-half-even)."""
    return round(check_sparsity("sparsity", sparsity) * in_features)


def mask_from_scores(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep-mask dropping the ``round(sparsity · in)`` lowest ``scores`` of every row of ``[out, in]``."""
    if scores.dim() != 2:
        raise ConfigError(f"scores of shape {tuple(scores.shape)} are not a 2-D [out, in] matrix")
    k = pruned_per_row(scores.shape[1], sparsity)
    mask = torch.ones(scores.shape, dtype=torch.bool, device=scores.device)
    if k > 0:
        order = torch.argsort(scores.float(), dim=1, stable=True)
        mask.scatter_(1, order[:, :k], False)
    return mask


def magnitude_mask(w: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep-mask of ``w`` removing the smallest ``|W_ij|`` of each row."""
    return mask_from_scores(w.abs(), sparsity)


def wanda_mask(w: torch.Tensor, input_norm: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep-mask of ``w`` removing the smallest ``|W_ij|·||X_j||_2`` of each row (``input_norm``: [in])."""
    if input_norm.shape != (w.shape[1],):
        raise ConfigError(
            f"input_norm of shape {tuple(input_norm.shape)} does not match the {w.shape[1]} input features"
        )
    if not bool(torch.isfinite(input_norm).all()) or bool((input_norm < 0).any()):
        raise ConfigError("input_norm must hold finite, non-negative L2 norms")
    return mask_from_scores(w.abs().float() * input_norm.float()[None, :], sparsity)
