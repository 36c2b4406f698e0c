"""Symmetric round-to-nearest quantisation, LLM-QAT style (Edge-LLM dossier §1.5), returned de-quantised.

For ``b`` bits the integer grid is ``{-q, ..., q}`` with ``q = 2^(b-1) - 1`` (``2q + 1 = 2^b - 1`` levels:
symmetric, so one code of the two's-complement range stays unused). With ``s`` the scale of a group,

    s = max|x_group| / q          x_hat = s · clamp(round(x / s), -q, q)

so ``|x - x_hat| <= s/2`` for every element. Weights use one scale per **output channel** (a row of the
``[out, in]`` matrix); activations one scale per **token** (absmax over the last, hidden dimension). There
are no groups and no clipping; 16 bits means "leave the float tensor unchanged" (float16 storage). 2 bits
(``q = 1``: values ``{-s, 0, s}``) uses the same absmax rule, not LLM-QAT's mean-|w| scale for 1-2 bits.
The result is the de-quantised float tensor ("fake" quantisation): the storage and compute savings are
accounted for by :mod:`~splitgym.profiles.compression.costmodel` and ``weight_bytes``, not by this module.
"""

from __future__ import annotations

import torch

from splitgym.errors import ConfigError

__all__ = ["SUPPORTED_BITS", "check_bits", "quantize_per_token", "quantize_weight"]

SUPPORTED_BITS = (2, 3, 4, 8, 16)


def check_bits(name: str, bits: object) -> int:
    """``bits`` as an int if it is in :data:`SUPPORTED_BITS`, else a :class:`ConfigError` naming ``name``."""
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in SUPPORTED_BITS:
        raise ConfigError(f"{name}={bits!r} is not supported; allowed: {list(SUPPORTED_BITS)}")
    return int(bits)


def _quantize_lastdim(x: torch.Tensor, bits: int) -> torch.Tensor:
    q = float(2 ** (bits - 1) - 1)
    xf = x.float()
    scale = xf.abs().amax(dim=-1, keepdim=True) / q
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero group stays zero
    return (torch.clamp(torch.round(xf / scale), -q, q) * scale).to(x.dtype)


def quantize_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    """``w`` (``[out, in]``) quantised per output channel at ``bits`` and de-quantised (a new tensor)."""
    bits = check_bits("weight_bits", bits)
    if w.dim() != 2:
        raise ConfigError(f"weight of shape {tuple(w.shape)} is not a 2-D [out, in] matrix")
    return w.clone() if bits == 16 else _quantize_lastdim(w, bits)


def quantize_per_token(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Activations ``x`` (``[..., hidden]``) quantised per token (absmax over the last dimension)."""
    bits = check_bits("act_bits", bits)
    return x if bits == 16 else _quantize_lastdim(x, bits)
