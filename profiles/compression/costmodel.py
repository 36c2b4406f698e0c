"""OUR hardware cost model of a compressed decoder layer (dossier §3.3). It is NOT the paper's: Edge-LLM's
hardware simulator, accelerator parameters and scheduling search were never released (dossier §3.1-3.2).

For a layer with ``P`` parameters (``params_per_layer``), hidden size ``d``, KV width ``d_kv``, sparsity
``r``, weight bits ``b_w`` and activation bits ``b_a``, processing ``n`` new tokens that attend to ``c``
tokens (prefill: ``n = c = tokens``; decode: ``n = 1``, ``c = tokens``)::

    F_lin  = 2·n·P                     F_attn = 4·n·c·d                         [FLOP]
    F_eff  = F_lin·(1 − r)·κ(b_w, b_a)/η(r)  +  F_attn·κ(b_a, b_a)              [16-bit-equivalent FLOP]
    κ(b_w, b_a) = max(b_w, b_a)/16     (bit-serial / precision-scalable PEs: cost ∝ the wider operand)
    η(r) = 1 if r = 0, else max(η_s, 1 − r)
    bytes  = P·(1 − r)·b_w/8 + [r > 0]·P/8  +  2·c·d_kv·b_a/8 + 2·n·d·b_a/8      [B]
             (kept weights, 1-bit keep bitmap; KV read; layer input and output)
    t      = max(F_eff/(η_c·peak_fp16), bytes/(η_m·BW)) + t_overhead               [s]

The irregularity efficiency ``η`` models unstructured sparsity: a sparse kernel runs at ``η_s`` (default
0.3) of the dense throughput per kept weight, and the runtime falls back to the dense kernel when that is
faster, so ``F_lin·(1−r)/η(r) = min(F_lin, F_lin·(1−r)/η_s)``: unstructured pruning only saves compute
above ``r = 1 − η_s`` (70 % by default; the dossier's "η falls below about 70 % sparsity"). Attention
score/value products (activation × activation) are not pruned and run at the activation precision.
Weight traffic always uses the stored compressed format (sparse values plus bitmap). The relative cost is
against the same layer uncompressed in float16 (``r = 0``, ``b_w = b_a = 16``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from splitgym.errors import ConfigError
from splitgym.profiles.compression.luc import CompressionPolicy
from splitgym.profiles.timing.catalogue import Architecture, get_architecture
from splitgym.profiles.timing.roofline import DeviceClass, get_device

__all__ = ["ETA_SPARSE", "eta", "kappa", "layer_costs", "policy_cost"]

ETA_SPARSE = 0.3  # throughput of an unstructured sparse kernel per kept weight, relative to dense (ours)
PHASES = ("prefill", "decode")


def kappa(weight_bits: int, act_bits: int) -> float:
    """Precision cost factor ``max(b_w, b_a)/16`` (1 for float16)."""
    return max(weight_bits, act_bits) / 16.0


def eta(sparsity: float, eta_sparse: float = ETA_SPARSE) -> float:
    """Irregularity efficiency ``η(r)``: 1 when dense, else ``max(η_s, 1 − r)`` (module docstring)."""
    if not 0.0 < eta_sparse <= 1.0:
        raise ConfigError(f"eta_sparse={eta_sparse} must be in (0, 1]")
    return 1.0 if sparsity == 0 else max(eta_sparse, 1.0 - sparsity)


def _layer(
    arch: Architecture, r: float, bw: int, ba: int, n: int, c: int, eta_sparse: float
) -> tuple[float, float, float]:
    p, d = float(arch.params_per_layer), float(arch.hidden)
    f_lin, f_attn = 2.0 * n * p, 4.0 * n * c * d
    flops = f_lin + f_attn
    f_eff = f_lin * (1.0 - r) * kappa(bw, ba) / eta(r, eta_sparse) + f_attn * kappa(ba, ba)
    nbytes = (
        p * (1.0 - r) * bw / 8 + (p / 8 if r > 0 else 0.0) + 2 * c * arch.kv_dim * ba / 8 + 2 * n * d * ba / 8
    )
    return flops, f_eff, nbytes


def layer_costs(
    policy: CompressionPolicy,
    arch: str | Architecture,
    device: str | DeviceClass,
    tokens: int,
    phase: str = "prefill",
    eta_sparse: float = ETA_SPARSE,
) -> pd.DataFrame:
    """One row per device-side layer: ``flops``, ``flops_eff``, ``bytes``, ``time_s`` and the same layer's
    float16 dense values ``*_dense``, with ``rel_flops``, ``rel_bytes`` and ``rel_time`` (ratios)."""
    a, dev = get_architecture(arch) if isinstance(arch, str) else arch, get_device(device)
    if phase not in PHASES:
        raise ConfigError(f"phase={phase!r} is not supported; allowed: {list(PHASES)}")
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        raise ConfigError(f"tokens={tokens!r} must be an integer >= 1")
    if policy.num_layers > a.layers:
        raise ConfigError(f"the policy covers {policy.num_layers} layers but {a.name} has {a.layers}")
    n = tokens if phase == "prefill" else 1
    _, f_dense, b_dense = _layer(a, 0.0, 16, 16, n, tokens, eta_sparse)
    t_dense = dev.time(f_dense, b_dense, "float16")
    rows = []
    for i, (r, bw, ba) in enumerate(zip(policy.sparsity, policy.weight_bits, policy.act_bits, strict=True)):
        flops, f_eff, nbytes = _layer(a, r, bw, ba, n, tokens, eta_sparse)
        t = dev.time(f_eff, nbytes, "float16")
        rows.append(
            {
                "layer": i,
                "sparsity": r,
                "weight_bits": bw,
                "act_bits": ba,
                "flops": flops,
                "flops_eff": f_eff,
                "bytes": nbytes,
                "time_s": t,
                "flops_eff_dense": f_dense,
                "bytes_dense": b_dense,
                "time_s_dense": t_dense,
                "rel_flops": f_eff / f_dense,
                "rel_bytes": nbytes / b_dense,
                "rel_time": t / t_dense,
            }
        )
    return pd.DataFrame(rows)


def policy_cost(
    policy: CompressionPolicy,
    arch: str | Architecture,
    device: str | DeviceClass,
    tokens: int,
    phase: str = "prefill",
    eta_sparse: float = ETA_SPARSE,
) -> dict[str, float]:
    """Totals over the device-side layers, relative to the same layers dense in float16:
    ``{"rel_flops", "rel_bytes", "rel_time", "time_s"}``."""
    t = layer_costs(policy, arch, device, tokens, phase, eta_sparse)
    return {
        "rel_flops": float(t["flops_eff"].sum() / t["flops_eff_dense"].sum()),
        "rel_bytes": float(t["bytes"].sum() / t["bytes_dense"].sum()),
        "rel_time": float(t["time_s"].sum() / t["time_s_dense"].sum()),
        "time_s": float(np.sum(t["time_s"])),
    }
