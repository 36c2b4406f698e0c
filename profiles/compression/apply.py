"""Applying a compression policy to a real model, its storage, and its quality on text.

:func:`compressed` changes the weights in place, then gives them back bit-exactly. For each device-side
decoder layer ``i < len(policy.sparsity)``, and every ``nn.Linear`` inside it (q, k, v, o, gate, up, down
for a Llama layer):

1. prune: zero the weights outside the keep-mask (magnitude, or Wanda with the input norms of
   :func:`input_norms`, collected in one pass of the *uncompressed* model over the calibration ids; the
   errors of earlier compressed layers are not propagated, unlike SparseGPT's block-by-block pass);
2. quantise the pruned weight per output channel at ``weight_bits[i]`` (zeros stay exactly zero);
3. if ``act_bits[i] < 16``, a forward pre-hook quantises the Linear's input per token at ``act_bits[i]``.

:func:`weight_bytes` is what the compressed layers would take stored for real, per layer, summing its
Linear weights ``[out, in]``::

    bytes = out·(in − k)·b/8  +  [r > 0]·out·in/8  +  [b < 16]·2·out
            (kept values)       (1-bit keep bitmap)   (one float16 scale per output channel)

with ``k = round(r·in)`` the weights pruned per row and ``b`` the weight bits. Norm weights (float16) are
left out (``2·d`` values per layer). :func:`evaluate_lm` gives perplexity ``exp(mean NLL)`` and next-token
accuracy on non-overlapping windows, as in :mod:`splitgym.profiles.quality.live`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError
from splitgym.profiles.compression.luc import CompressionPolicy
from splitgym.profiles.compression.prune import magnitude_mask, pruned_per_row, wanda_mask
from splitgym.profiles.compression.quantize import quantize_per_token, quantize_weight
from splitgym.profiles.llm import LoadedLM

__all__ = [
    "METHODS",
    "compress_linear",
    "compressed",
    "evaluate_lm",
    "input_norms",
    "layer_linears",
    "token_windows",
    "weight_bytes",
]

METHODS = ("magnitude", "wanda")


def check_method(method: str) -> str:
    """``method`` if it is one of :data:`METHODS`, else a :class:`ConfigError`."""
    if method not in METHODS:
        raise ConfigError(f"method={method!r} is not supported; allowed: {list(METHODS)}")
    return method


def layer_linears(layer: torch.nn.Module) -> list[tuple[str, torch.nn.Linear]]:
    """The ``nn.Linear`` modules of one decoder layer with their names, in module order."""
    out = [(n, m) for n, m in layer.named_modules() if isinstance(m, torch.nn.Linear)]
    if not out:
        raise ConfigError(f"decoder layer {type(layer).__name__} holds no nn.Linear to compress")
    return out


def token_windows(ids: ArrayLike, window: int = 256) -> torch.Tensor:
    """``ids`` cut into ``[n, window]`` non-overlapping windows (the tail shorter than a window dropped)."""
    arr = np.asarray(ids, dtype=np.int64).ravel()
    if isinstance(window, bool) or not isinstance(window, int) or window < 2:
        raise ConfigError(f"window={window!r} must be an integer >= 2")
    n = (arr.size // window) * window
    if n == 0:
        raise ConfigError(f"ids hold {arr.size} tokens, fewer than one window of {window}")
    return torch.from_numpy(arr[:n].copy()).view(-1, window)


def input_norms(
    lm: LoadedLM, ids: ArrayLike, layers: int | None = None, window: int = 256
) -> dict[tuple[int, str], torch.Tensor]:
    """``{(layer, linear name): ||X_j||_2}``: L2 norm over the calibration tokens of each input feature of
    every Linear in the first ``layers`` decoder layers (default: all), from one clean forward pass."""
    batch = token_windows(ids, window)
    n = lm.num_layers if layers is None else layers
    sums: dict[tuple[int, str], torch.Tensor] = {}
    handles = []

    def record(key: tuple[int, str]) -> Any:
        def hook(module: torch.nn.Module, args: tuple[Any, ...]) -> None:
            x = args[0].detach().reshape(-1, args[0].shape[-1]).double()
            sums[key] = sums.get(key, 0) + (x * x).sum(dim=0)

        return hook

    for i in range(n):
        for name, lin in layer_linears(lm.layers[i]):
            handles.append(lin.register_forward_pre_hook(record((i, name))))
    try:
        with torch.inference_mode():
            lm.model(input_ids=batch, use_cache=False)
    finally:
        for h in handles:
            h.remove()
    return {k: v.sqrt().float() for k, v in sums.items()}


def compress_linear(
    lin: torch.nn.Linear, sparsity: float, bits: int, norm: torch.Tensor | None = None
) -> None:
    """Prune (Wanda when ``norm`` is given, else magnitude) then quantise ``lin.weight`` in place."""
    with torch.no_grad():
        w = lin.weight.data
        if sparsity > 0:
            mask = magnitude_mask(w, sparsity) if norm is None else wanda_mask(w, norm, sparsity)
            w = w * mask
        lin.weight.data.copy_(quantize_weight(w, bits))


def _check_policy(lm: LoadedLM, policy: CompressionPolicy) -> None:
    if policy.num_layers > lm.num_layers:
        raise ConfigError(
            f"the policy covers {policy.num_layers} layers but {lm.name} has only {lm.num_layers}"
        )


@contextmanager
def compressed(
    lm: LoadedLM,
    policy: CompressionPolicy,
    calib_ids: ArrayLike | None = None,
    method: str = "magnitude",
    window: int = 256,
) -> Iterator[LoadedLM]:
    """Inside the block ``lm`` runs with the first ``policy.num_layers`` decoder layers compressed
    (module docstring); on exit the original weights come back bit-exactly and the hooks go away."""
    _check_policy(lm, policy)
    check_method(method)
    norms: dict[tuple[int, str], torch.Tensor] = {}
    if method == "wanda" and any(r > 0 for r in policy.sparsity):
        if calib_ids is None:
            raise ConfigError("method='wanda' needs calib_ids (calibration token ids) for the input norms")
        norms = input_norms(lm, calib_ids, policy.num_layers, window)
    saved: list[tuple[torch.nn.Linear, torch.Tensor]] = []
    handles = []

    def act_hook(bits: int) -> Any:
        def hook(module: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
            return (quantize_per_token(args[0], bits), *args[1:])

        return hook

    try:
        for i in range(policy.num_layers):
            for name, lin in layer_linears(lm.layers[i]):
                saved.append((lin, lin.weight.data.clone()))
                compress_linear(lin, policy.sparsity[i], policy.weight_bits[i], norms.get((i, name)))
                if policy.act_bits[i] < 16:
                    handles.append(lin.register_forward_pre_hook(act_hook(policy.act_bits[i])))
        yield lm
    finally:
        for h in handles:
            h.remove()
        with torch.no_grad():
            for lin, original in saved:
                lin.weight.data.copy_(original)


def weight_bytes(policy: CompressionPolicy, lm: LoadedLM) -> NDArray[np.float64]:
    """Stored bytes of each device-side layer's Linear weights under ``policy`` (module docstring)."""
    _check_policy(lm, policy)
    out = np.zeros(policy.num_layers)
    for i in range(policy.num_layers):
        r, b = policy.sparsity[i], policy.weight_bits[i]
        for _, lin in layer_linears(lm.layers[i]):
            rows, cols = lin.weight.shape
            kept = rows * (cols - pruned_per_row(cols, r))
            out[i] += kept * b / 8 + (rows * cols / 8 if r > 0 else 0.0) + (2.0 * rows if b < 16 else 0.0)
    return out


def evaluate_lm(lm: LoadedLM, ids: ArrayLike, window: int = 256, batch: int = 16) -> dict[str, float]:
    """``{"perplexity", "accuracy", "tokens"}`` of ``lm`` on ``ids`` cut into non-overlapping windows:
    ``exp(mean NLL)`` and the fraction of next tokens that are the argmax, over all predicted positions."""
    windows = token_windows(ids, window)
    nll, correct, count = 0.0, 0, 0
    with torch.inference_mode():
        for chunk in torch.split(windows, batch):
            logits = lm.model(input_ids=chunk, use_cache=False).logits[:, :-1].float()
            target = chunk[:, 1:]
            logp = torch.log_softmax(logits, dim=-1)
            nll += float(-logp.gather(-1, target[..., None]).sum())
            correct += int((logits.argmax(-1) == target).sum())
            count += target.numel()
    mean = nll / count
    if not math.isfinite(mean):
        raise ConfigError("the compressed forward pass gave a non-finite loss")
    return {"perplexity": math.exp(min(mean, 700.0)), "accuracy": correct / count, "tokens": float(count)}
