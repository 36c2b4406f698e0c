"""Compute times and device memory of every split, from calibrated per-layer timing profiles.

Nothing here is random and nothing is averaged: the profiles give the median time of the embedding, one
decoder layer and the head (final norm + LM head) in prefill (``S`` prompt tokens) and decode (one token at
context ``c``), for the model in the weight precision each side uses (int4/int8 on the device, fp16 on the
edge) [S: ``profiles/data/timing/calibrated``, fitted to 62 published rates]. Linear in tokens between
profiled points, clamped at their ends. Split ``k`` puts layers ``1..k`` on the device (``L`` in all)::

    device prefill  T_dp(S, k) = [k>0] (E_p(S) + k T_p(S) + [k=L] H_p(S))
    edge prefill    T_ep(S, k) = [k<L] ([k=0] E_p(S) + (L-k) T_p(S) + H_p(S))
    device decode   T_dd(c, k) = [k>0] (E_d(c) + k T_d(c) + [k=L] H_d(c)),   c = S+1 .. S+G-1
    edge decode     T_ed(c, k) = [k<L] ([k=0] E_d(c) + (L-k) T_d(c) + H_d(c))

Device memory (bytes): ``w (P_embed + k P_layer + [k=L] P_head) + k kv (S + G)`` for ``k > 0``, with ``w``
bytes per weight of the device precision (int4 4.5 bit, int8 8.5 bit with group scales, as the calibrated
profiles count them) and ``kv`` the fp16 KV-cache bytes per token and layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from splitgym.errors import ConfigError
from splitgym.profiles.profile import Profile, load_bundled
from splitgym.profiles.timing.catalogue import Architecture, get_architecture

__all__ = ["WEIGHT_BITS", "ComputeTables", "timing_profile_name"]

F = NDArray[np.float64]
WEIGHT_BITS = {"float16": 16.0, "int8": 8.5, "int4": 4.5}  # incl. group scales [S: timing profiles]


def timing_profile_name(model: str, device: str, precision: str) -> str:
    """The shipped calibrated timing profile of ``model`` on ``device`` with ``precision`` weights."""
    return f"timing/calibrated/{device}/calibrated_{model}_{device}_{precision}"


class _Timing:
    def __init__(self, profile: Profile) -> None:
        self.name = profile.name
        self._points: dict[tuple[str, str], tuple[F, F]] = {}
        for (component, phase), rows in profile.table.groupby(["component", "phase"], observed=True):
            rows = rows.sort_values("tokens")
            self._points[(str(component), str(phase))] = (
                rows["tokens"].to_numpy(dtype=np.float64),
                rows["median_ms"].to_numpy(dtype=np.float64) * 1e-3,
            )

    def s(self, component: str, phase: str, tokens: F) -> F:
        try:
            x, y = self._points[(component, phase)]
        except KeyError:
            raise ConfigError(f"timing profile {self.name!r} has no {component}/{phase} rows") from None
        return np.asarray(np.interp(tokens, x, y), dtype=np.float64)


@dataclass(frozen=True)
class ComputeTables:
    """Per prompt level ``s`` (rows) and split ``k`` (columns ``0..L``); decode adds a token axis."""

    arch: Architecture
    num_layers: int
    prompts: NDArray[np.int64]  # prompt lengths of the levels
    dev_prefill_s: F  # (n_s, L+1)
    edge_prefill_s: F  # (n_s, L+1)
    dev_decode_s: F  # (n_s, L+1, G-1)
    edge_decode_s: F  # (n_s, L+1, G-1)
    memory_bytes: F  # (n_s, L+1)
    device_profile: str
    edge_profile: str

    @classmethod
    def build(
        cls,
        model: str,
        device: str,
        edge: str,
        device_precision: str,
        edge_precision: str,
        prompts: NDArray[np.int64],
        new_tokens: int,
    ) -> ComputeTables:
        arch = get_architecture(model)
        dev = _Timing(load_bundled(timing_profile_name(model, device, device_precision)))
        edg = _Timing(load_bundled(timing_profile_name(model, edge, edge_precision)))
        L = arch.layers
        s = prompts.astype(np.float64)
        ctx = s[:, None] + np.arange(1, new_tokens, dtype=np.float64)[None, :]  # (n_s, G-1)
        k = np.arange(L + 1, dtype=np.float64)
        on_dev, all_dev, all_edge = (k > 0) * 1.0, (k == L) * 1.0, (k == 0) * 1.0

        def pre(t: _Timing, c: str) -> F:
            return t.s(c, "prefill", s)[:, None]

        def dec(t: _Timing, c: str) -> F:
            return t.s(c, "decode", ctx)[:, None, :]

        dev_p = on_dev * (pre(dev, "embed") + k * pre(dev, "layer")) + all_dev * pre(dev, "head")
        edge_p = (1 - all_dev) * (
            all_edge * pre(edg, "embed") + (L - k) * pre(edg, "layer") + pre(edg, "head")
        )
        kk = k[None, :, None]
        dev_d = (k > 0)[None, :, None] * (dec(dev, "embed") + kk * dec(dev, "layer")) + (k == L)[
            None, :, None
        ] * dec(dev, "head")
        edge_d = (k < L)[None, :, None] * (
            (k == 0)[None, :, None] * dec(edg, "embed") + (L - kk) * dec(edg, "layer") + dec(edg, "head")
        )
        w = WEIGHT_BITS[device_precision] / 8.0
        weights = w * (arch.embedding_params + k * arch.params_per_layer + all_dev * arch.head_params)
        kv = k * arch.kv_bytes_per_token(2.0) * (s[:, None] + new_tokens)
        memory = np.where(k > 0, weights + kv, 0.0)
        return cls(
            arch, L, prompts.astype(np.int64), np.asarray(dev_p), np.asarray(edge_p), np.asarray(dev_d),
            np.asarray(edge_d), np.asarray(memory), dev.name, edg.name,
        )  # fmt: skip

    @property
    def dev_total_s(self) -> F:
        """Device compute time of the whole request (prefill + decode), ``(n_s, L+1)``."""
        return np.asarray(self.dev_prefill_s + self.dev_decode_s.sum(axis=-1))

    @property
    def edge_total_s(self) -> F:
        """Edge compute time of the whole request, ``(n_s, L+1)``."""
        return np.asarray(self.edge_prefill_s + self.edge_decode_s.sum(axis=-1))
