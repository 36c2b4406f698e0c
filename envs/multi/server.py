"""The edge server's iteration time under continuous batching, fitted to published GPU profiles.

One iteration (Orca/vLLM iteration-level batching [S: OSDI'22, SOSP'23]) runs every admitted sequence
that is ready: a decode adds ``n = 1`` token at context ``c``, a prefill chunk adds ``n`` tokens. A
sequence of split ``k`` occupies only the edge's layers ``k+1..L`` and the head. Per decoder layer ``l``
with the set ``B_l = {s : k_s < l}`` of sequences there (``P`` parameters per layer, ``b_w`` bytes per
weight, ``d`` hidden size, ``d_kv`` key width, ``b_a = 2`` bytes per fp16 activation or KV element)::

    bytes_l  = P b_w + sum_{s in B_l} (2 c_s d_kv b_a + 2 n_s d b_a)                  [B]
    flops_l  = sum_{s in B_l} (2 n_s P + 4 d A_s),  A_s = n_s c_s - n_s (n_s - 1)/2     [FLOP]
    t_l      = [B_l non-empty] ((bytes_l/(eta_m BW))^p + (flops_l/(eta_c F))^p)^(1/p) + t_0   [s]
    T_iter   = sum_l t_l + t_head,  t_head of the same form with V d weights, 2 V d FLOPs per sequence

The ``p``-norm is a smooth roofline: ``p -> inf`` is the hard ``max`` of the calibrated single-request
model; the measured linear-layer times bend earlier (Llama-2-7B on an A100: 12.2 ms at 128 tokens where
the hard roofline gives 9.3). ``eta_m``, ``eta_c`` and ``p`` are fitted per GPU by least squares on
the log times of the Vidur profile of Llama-2-7B's linear layers [S: Vidur,
``data/profiling/compute/{a100,h100}/meta-llama/Llama-2-7b-hf/mlp.csv``, TP1, summed over 32 layers; the
dossier's table]; the per-layer overhead ``t_0`` is the calibrated timing model's per-component
kernel overhead of that GPU [S: ``profiles.timing.calibrated``, fitted to published end-to-end rates;
Vidur's per-operator sums leave out launch gaps, so they cannot identify it]. The fit's error at every
point is :attr:`ServerTimeModel.fit_table`. Other models on the same GPU keep the GPU's fitted
constants [A: efficiencies belong to the GPU and kernels, not to the model's width]. Attention's KV
read enters through ``bytes_l`` (the Vidur attention profiles are not in the snapshot: [A] the same
bandwidth efficiency as the weights).

**Drawn**: nothing. **Averaged**: nothing; the Vidur medians are per-operator medians.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import least_squares

from splitgym.envs.checks import choice
from splitgym.envs.split.compute import timing_profile_name
from splitgym.profiles.profile import load_bundled
from splitgym.profiles.timing.catalogue import Architecture, get_architecture
from splitgym.profiles.timing.roofline import get_device

__all__ = ["SERVER_GPUS", "VIDUR_LINEAR_MS", "ServerTimeModel", "kernel_overhead_s", "server_time_model"]

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741
B_ACT = 2.0  # bytes per fp16 activation / KV element [K]
B_FP16 = 2.0  # bytes per fp16 weight [K]
VIDUR_TOKENS = (1, 64, 128, 256, 512, 1024, 2048, 4096)
# [S: Vidur profiles via the dossier §6: Llama-2-7B linear + norm + activation ops, 32 layers, TP1, ms]
VIDUR_LINEAR_MS: dict[str, tuple[float, ...]] = {
    "a100-80gb": (9.3, 9.7, 12.2, 17.8, 33.4, 67.9, 133.4, 258.4),
    "h100-sxm": (5.6, 5.9, 6.4, 9.2, 12.0, 21.0, 40.3, 83.5),
}
SERVER_GPUS = tuple(VIDUR_LINEAR_MS)
GPU_MEMORY_GIB = {"a100-80gb": 80.0, "h100-sxm": 80.0}  # [S: vendor data sheets]
_FIT_MODEL = "llama2-7b"


def _smooth_roofline(mem_s: F, comp_s: F, p: float) -> F:
    """``(mem^p + comp^p)^(1/p)`` computed stably (scaled by the larger term)."""
    big = np.maximum(mem_s, comp_s)
    safe = np.where(big > 0, big, 1.0)
    return np.asarray(big * ((mem_s / safe) ** p + (comp_s / safe) ** p) ** (1.0 / p), dtype=np.float64)


@dataclass(frozen=True)
class ServerTimeModel:
    """Fitted iteration-time constants of one GPU and the model the edge serves (fp16 weights)."""

    gpu: str
    model: str
    bandwidth_bps: float  # DRAM bandwidth [B/s]
    peak_flops: float  # fp16 dense peak [FLOP/s]
    eta_m: float
    eta_c: float
    p: float
    overhead_layer_s: float  # t_0 per decoder layer (and the head) [s]
    arch: Architecture
    fit_table: pd.DataFrame  # tokens, measured_ms, predicted_ms, rel_error

    @property
    def num_layers(self) -> int:
        return self.arch.layers

    @property
    def weight_bytes(self) -> float:
        """All weights in fp16 (the edge can serve any split) [B]."""
        return float(self.arch.total_params()) * B_FP16

    @property
    def kv_bytes_per_token_layer(self) -> float:
        """Keys and values of one token in one layer, fp16 [B]."""
        return 2.0 * self.arch.kv_dim * B_ACT

    def _layer_s(self, bytes_: F, flops: F) -> F:
        return _smooth_roofline(
            bytes_ / (self.eta_m * self.bandwidth_bps), flops / (self.eta_c * self.peak_flops), self.p
        )

    def iteration_s(self, split: I, new_tokens: I, context: I, active: NDArray[np.bool_]) -> F:
        """Iteration time [s] of each cell's batch; arrays ``(C, S)``: per sequence its split ``k``, the
        tokens it adds ``n``, its context ``c`` (new tokens included); ``active`` marks the batch's members.
        A cell with no active sequence takes 0."""
        a = self.arch
        P, d = float(a.params_per_layer), float(a.hidden)
        k = np.asarray(split, dtype=np.int64)
        n = np.where(active, np.asarray(new_tokens, dtype=np.float64), 0.0)
        c = np.asarray(context, dtype=np.float64)
        att = n * c - n * (n - 1.0) / 2.0
        seq_bytes = np.where(active, 2.0 * c * a.kv_dim * B_ACT + 2.0 * n * d * B_ACT, 0.0)
        seq_flops = 2.0 * n * P + 4.0 * d * att
        layers = np.arange(1, a.layers + 1)[None, :, None]  # (1, L, 1)
        inside = active[:, None, :] & (k[:, None, :] < layers)  # (C, L, S)
        bytes_l = P * B_FP16 + np.einsum("cls,cs->cl", inside, seq_bytes)
        flops_l = np.einsum("cls,cs->cl", inside, seq_flops)
        used = inside.any(axis=2)
        t_layers = np.where(used, self._layer_s(bytes_l, flops_l) + self.overhead_layer_s, 0.0).sum(axis=1)
        head_w = float(a.vocab * a.hidden + a.hidden) * B_FP16  # the LM head reads V d weights, tied or not
        rows = active.sum(axis=1).astype(np.float64)
        t_head = self._layer_s(head_w + rows * d * B_ACT, 2.0 * rows * a.vocab * d) + self.overhead_layer_s
        return np.asarray(np.where(rows > 0, t_layers + t_head, 0.0), dtype=np.float64)

    def linear_s(self, tokens: F) -> F:
        """The Vidur quantity: linear layers of all ``L`` layers for ``tokens`` tokens (no attention,
        no head) [s]."""
        P, d = float(self.arch.params_per_layer), float(self.arch.hidden)
        n = np.asarray(tokens, dtype=np.float64)
        per = self._layer_s(P * B_FP16 + 2.0 * n * d * B_ACT, 2.0 * n * P) + self.overhead_layer_s
        return np.asarray(self.arch.layers * per, dtype=np.float64)

    def describe(self) -> str:
        err = self.fit_table["rel_error"].abs()
        return (
            f"{self.gpu}: eta_m {self.eta_m:.3f}, eta_c {self.eta_c:.3f}, p {self.p:.2f}, t0 "
            f"{self.overhead_layer_s * 1e6:.1f} us/layer; fit to Vidur Llama-2-7B: median |error| "
            f"{err.median():.1%}, max {err.max():.1%}"
        )


def kernel_overhead_s(gpu: str) -> float:
    """The calibrated timing model's per-component kernel overhead of ``gpu`` [s], read from the
    provenance of its shipped fp16 profile (the fit is not rerun)."""
    profile = load_bundled(timing_profile_name(_FIT_MODEL, gpu, "float16"))
    return float(profile.meta["calibration"]["parameters"]["overhead_s"])


def _fit(gpu: str) -> tuple[float, float, float, float, pd.DataFrame]:
    dev = get_device(gpu)
    arch = get_architecture(_FIT_MODEL)
    P, d, L = float(arch.params_per_layer), float(arch.hidden), arch.layers
    n = np.asarray(VIDUR_TOKENS, dtype=np.float64)
    measured_s = np.asarray(VIDUR_LINEAR_MS[gpu]) * 1e-3
    bw, peak = dev.bandwidth, dev.peak_flops["float16"]
    t0 = kernel_overhead_s(gpu)

    def predict(theta: F) -> F:
        eta_m, eta_c, p = np.exp(theta)
        mem = (P * B_FP16 + 2.0 * n * d * B_ACT) / (eta_m * bw)
        return L * (_smooth_roofline(mem, 2.0 * n * P / (eta_c * peak), p) + t0)

    theta0 = np.log([0.7, 0.6, 2.0])
    lo, hi = np.log([0.05, 0.05, 1.0]), np.log([1.0, 1.0, 50.0])
    fit = least_squares(lambda th: np.log(predict(th) / measured_s), theta0, bounds=(lo, hi))
    eta_m, eta_c, p = (float(x) for x in np.exp(fit.x))
    pred = predict(fit.x)
    table = pd.DataFrame(
        {
            "tokens": n.astype(int),
            "measured_ms": measured_s * 1e3,
            "predicted_ms": np.round(pred * 1e3, 3),
            "rel_error": np.round(pred / measured_s - 1.0, 4),
        }
    )
    return eta_m, eta_c, p, t0, table


@lru_cache(maxsize=8)
def _fitted(gpu: str) -> tuple[float, float, float, float, pd.DataFrame]:
    return _fit(gpu)


def server_time_model(gpu: str, model: str) -> ServerTimeModel:
    """The iteration-time model of ``model`` (fp16) on ``gpu`` (one of :data:`SERVER_GPUS`)."""
    choice("edge", gpu, SERVER_GPUS)
    eta_m, eta_c, p, t0, table = _fitted(gpu)
    dev = get_device(gpu)
    return ServerTimeModel(
        gpu=gpu, model=model, bandwidth_bps=dev.bandwidth, peak_flops=dev.peak_flops["float16"],
        eta_m=eta_m, eta_c=eta_c, p=p, overhead_layer_s=t0, arch=get_architecture(model),
        fit_table=table.copy(),
    )  # fmt: skip
