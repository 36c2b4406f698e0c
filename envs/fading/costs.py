"""Per-request costs of each split from measured timing profiles: compute time, payload, memory.

A request is a prompt of ``S`` tokens followed by ``G`` generated tokens: one prefill forward over the
prompt, then ``G - 1`` decode forwards whose context is ``S + 1, ..., S + G - 1`` tokens. Split ``k`` puts
decoder layers ``1..k`` on the device (``L`` layers in all):

* ``k = 0`` (edge only): the device sends the prompt's token ids (32 bit each) once; the edge runs the
  embedding, all layers and the head.
* ``0 < k < L``: the device runs the embedding and layers ``1..k``, sends the hidden state of every token
  it processes (``S + G - 1`` tokens of ``d·b`` bytes, ``b`` the device's activation bytes) in ``G``
  transmissions, and the edge runs layers ``k+1..L`` and the head.
* ``k = L`` (device only): everything runs on the device; nothing is sent.

Component times (embedding, one layer, head; prefill at ``S`` tokens, decode at context ``c``) are read
from the timing profiles of the model on each device (measured, or roofline-scaled from a measurement),
linear in tokens between the profiled points and clamped at their ends::

    t_dev(S, k)  = [k>0](E_p(S) + k·T_p(S) + [k=L]·H_p(S)) + sum_c [k>0](E_d(c) + k·T_d(c) + [k=L]·H_d(c))
    t_edge(S, k) = [k<L]([k=0]·E_p(S) + (L-k)·T_p(S) + H_p(S) + sum_c ([k=0]·E_d(c) + (L-k)·T_d(c) + H_d(c)))

Device memory (bytes): ``b_w·(P_embed + k·P_layer + [k=L]·P_head) + k·kv·(S + G)`` for ``k > 0``, with
``kv`` the KV-cache bytes per token and layer, ``b_w`` bytes per weight (from the profile's dtype).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from splitgym.errors import ConfigError
from splitgym.profiles.profile import Profile, load_bundled
from splitgym.profiles.timing.catalogue import Architecture, get_architecture
from splitgym.profiles.timing.precision import PRECISION_BYTES

__all__ = ["RequestCosts", "timing_profile_name"]

TOKEN_ID_BITS = 32


def timing_profile_name(model: str, device: str) -> str:
    """The shipped timing profile of ``model`` on ``device`` (roofline-scaled, float16)."""
    return f"timing/scaled/{device}/scaled_{model}_{device}_float16"


class _Timing:
    """Linear-in-tokens interpolation of one profile's component medians (ms)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        table = profile.table
        self._points: dict[tuple[str, str], tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
        for (component, phase), rows in table.groupby(["component", "phase"], observed=True):
            rows = rows.sort_values("tokens")
            x = rows["tokens"].to_numpy(dtype=np.float64)
            y = rows["median_ms"].to_numpy(dtype=np.float64)
            self._points[(str(component), str(phase))] = (x, y)

    def ms(self, component: str, phase: str, tokens: NDArray[np.float64]) -> NDArray[np.float64]:
        try:
            x, y = self._points[(component, phase)]
        except KeyError:
            raise ConfigError(
                f"timing profile {self.profile.name!r} has no {component}/{phase} rows"
            ) from None
        return np.interp(tokens, x, y)


@dataclass(frozen=True)
class RequestCosts:
    """Tables over prompt length ``S`` (rows, ``S_lo..S_hi``) and split ``k`` (columns, ``0..L``)."""

    num_layers: int
    prompt_lo: int
    device_ms: NDArray[np.float64]  # device compute time of the request, nominal (idle device) [ms]
    edge_ms: NDArray[np.float64]  # edge compute time, nominal [ms]
    uplink_bits: NDArray[np.float64]  # bits sent device -> edge [bit]
    transmissions: NDArray[np.float64]  # uplink transmissions per request (shape (L+1,)) [count]
    memory_bytes: NDArray[np.float64]  # device memory the split needs [B]
    device_profile: str
    edge_profile: str

    @classmethod
    def build(
        cls, model: str, device: str, edge: str, prompt_tokens: tuple[int, int], new_tokens: int
    ) -> RequestCosts:
        arch = get_architecture(model)
        dev_profile = load_bundled(timing_profile_name(model, device))
        edge_profile = load_bundled(timing_profile_name(model, edge))
        dev, edg = _Timing(dev_profile), _Timing(edge_profile)
        n_layers = arch.layers
        s = np.arange(prompt_tokens[0], prompt_tokens[1] + 1, dtype=np.float64)
        ctx = s[:, None] + np.arange(1, new_tokens, dtype=np.float64)[None, :]  # decode contexts

        def parts(t: _Timing) -> dict[str, NDArray[np.float64]]:
            return {
                f"{c}_{p}": t.ms(c, "prefill", s) if p == "p" else t.ms(c, "decode", ctx).sum(axis=1)
                for c in ("embed", "layer", "head")
                for p in ("p", "d")
            }

        d, e = parts(dev), parts(edg)
        k = np.arange(n_layers + 1, dtype=np.float64)[None, :]
        on_dev = (k > 0).astype(np.float64)
        all_dev = (k == n_layers).astype(np.float64)
        all_edge = (k == 0).astype(np.float64)
        col = {name: v[:, None] for name, v in d.items()}
        ecol = {name: v[:, None] for name, v in e.items()}
        device_ms = on_dev * (
            col["embed_p"] + col["embed_d"] + k * (col["layer_p"] + col["layer_d"])
        ) + all_dev * (col["head_p"] + col["head_d"])
        edge_ms = (1.0 - all_dev) * (
            all_edge * (ecol["embed_p"] + ecol["embed_d"])
            + (n_layers - k) * (ecol["layer_p"] + ecol["layer_d"])
            + ecol["head_p"]
            + ecol["head_d"]
        )
        act_bytes = _element_bytes(dev_profile)
        hidden_bits = 8.0 * arch.hidden_bytes_per_token(act_bytes)
        middle = ((k > 0) & (k < n_layers)).astype(np.float64)
        uplink_bits = all_edge * TOKEN_ID_BITS * s[:, None] + middle * hidden_bits * (
            s[:, None] + new_tokens - 1
        )
        transmissions = (all_edge + middle * new_tokens)[0]
        memory_bytes = _memory(arch, act_bytes, k, s[:, None] + new_tokens)
        return cls(
            num_layers=n_layers,
            prompt_lo=prompt_tokens[0],
            device_ms=device_ms,
            edge_ms=edge_ms,
            uplink_bits=uplink_bits,
            transmissions=transmissions,
            memory_bytes=memory_bytes,
            device_profile=dev_profile.name,
            edge_profile=edge_profile.name,
        )

    def row(self, prompt: int) -> int:
        """Row index of prompt length ``prompt``."""
        return prompt - self.prompt_lo


def _element_bytes(profile: Profile) -> float:
    dtype = str(profile.meta.get("dtype", "float16"))
    return float(PRECISION_BYTES.get(dtype, 2))


def _memory(
    arch: Architecture, element_bytes: float, k: NDArray[np.float64], tokens: NDArray[np.float64]
) -> NDArray[np.float64]:
    n = arch.layers
    weights = element_bytes * (
        arch.embedding_params + k * arch.params_per_layer + (k == n) * arch.head_params
    )
    kv = k * arch.kv_bytes_per_token(element_bytes) * tokens
    return np.asarray(np.where(k > 0, weights + kv, 0.0), dtype=np.float64)
