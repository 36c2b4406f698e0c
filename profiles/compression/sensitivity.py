"""Per-layer compression sensitivity (Edge-LLM LUC, dossier §1.2 and §7 item 1): the local output error of
one decoder layer compressed alone.

For layer ``l`` and a level (a sparsity for ``kind="prune"``, weight bits for ``kind="quant"``), only the
Linear weights of layer ``l`` are compressed (pruned by magnitude or Wanda, without quantisation; or
quantised per output channel, weights only, dense), the model runs on the calibration windows, and the
layer's output ``y`` (the hidden state it returns, residual stream included) is compared with the clean
output ``y0`` over all calibration tokens and hidden units::

    mse = mean((y − y0)²)        rel_mse = mse / mean(y0²)

The inputs of layer ``l`` are clean (earlier layers untouched), so this is a local reconstruction error.
Raw ``mse`` grows with depth as the residual stream grows (as in the released LLaMA-7B tables), ``rel_mse``
removes that scale; :func:`per_layer_score` averages ``rel_mse`` over the levels, the score LUC ranks.
The forward pass stops at layer ``l`` (nothing after it is needed), and the weights come back bit-exactly
after every measurement. Calibration text comes from the TRAINING split (:func:`calibration_ids`).
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError
from splitgym.profiles.compression.apply import (
    check_method,
    compress_linear,
    input_norms,
    layer_linears,
    token_windows,
)
from splitgym.profiles.compression.prune import check_sparsity
from splitgym.profiles.compression.quantize import check_bits
from splitgym.profiles.llm import LoadedLM

__all__ = [
    "KINDS",
    "UNITS",
    "calibration_ids",
    "measure_sensitivity",
    "per_layer_score",
    "sensitivity_profile",
]

KINDS = ("prune", "quant")
UNITS = {
    "kind": "prune: unstructured pruning of the layer's Linear weights; quant: weight-only RTN quantisation",
    "layer": "decoder layer index (0-based)",
    "level": "sparsity (fraction of weights removed per row) for prune; weight bits for quant",
    "mse": "mean squared error of the layer's output hidden state against the clean one",
    "rel_mse": "mse / mean(clean output²) (dimensionless)",
}


class _Stop(Exception):
    """Raised by a forward hook once the measured layer's output is known."""


def calibration_ids(lm: LoadedLM, tokens: int = 2048, window: int = 256, seed: int = 0) -> NDArray[np.int64]:
    """``tokens`` token ids (a multiple of ``window``) from the reference corpus's TRAINING split: the
    first ``window`` tokens of each of ``tokens // window`` byte slices at seeded random offsets."""
    from splitgym.profiles.reference.corpus import load_corpus

    if tokens < window:
        raise ConfigError(f"tokens={tokens} must be >= window={window}")
    train = load_corpus().train
    span = 8 * window  # bytes per slice: enough for `window` tokens with any sub-word tokenizer
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.choice(len(train) - span, size=tokens // window, replace=False))
    pieces = []
    for s in starts:
        ids = lm.encode(train[int(s) : int(s) + span].tobytes())
        if len(ids) < window:
            raise ConfigError(f"a calibration slice of {span} bytes gave only {len(ids)} < {window} tokens")
        pieces.append(ids[:window])
    return np.concatenate(pieces).astype(np.int64)


def _output(out: Any) -> torch.Tensor:
    tensor = out[0] if isinstance(out, tuple) else out
    if not isinstance(tensor, torch.Tensor):
        raise ConfigError(f"decoder layer output of type {type(tensor).__name__} is not a tensor")
    return tensor


def _clean_outputs(lm: LoadedLM, batch: torch.Tensor) -> list[torch.Tensor]:
    outs: dict[int, torch.Tensor] = {}

    def record(i: int) -> Any:
        def hook(module: torch.nn.Module, args: Any, out: Any) -> None:
            outs[i] = _output(out).detach().float().clone()

        return hook

    handles = [layer.register_forward_hook(record(i)) for i, layer in enumerate(lm.layers)]
    try:
        with torch.inference_mode():
            lm.model(input_ids=batch, use_cache=False)
    finally:
        for h in handles:
            h.remove()
    return [outs[i] for i in range(lm.num_layers)]


def _layer_output(lm: LoadedLM, batch: torch.Tensor, index: int) -> torch.Tensor:
    """Output of decoder layer ``index``, stopping the forward pass there."""
    got: list[torch.Tensor] = []

    def hook(module: torch.nn.Module, args: Any, out: Any) -> None:
        got.append(_output(out).detach().float().clone())
        raise _Stop

    handle = lm.layers[index].register_forward_hook(hook)
    try:
        with torch.inference_mode():
            lm.model(input_ids=batch, use_cache=False)
    except _Stop:
        pass
    finally:
        handle.remove()
    return got[0]


def measure_sensitivity(
    lm: LoadedLM,
    ids: ArrayLike,
    sparsities: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
    bits: Sequence[int] = (2, 3, 4, 8),
    method: str = "magnitude",
    window: int = 256,
    progress: bool = False,
) -> pd.DataFrame:
    """One row per (kind, layer, level): ``mse`` and ``rel_mse`` of that layer compressed alone, sorted by
    kind (prune first), layer and level."""
    from tqdm import tqdm

    check_method(method)
    levels_p = sorted({check_sparsity("sparsity", s) for s in sparsities})
    levels_q = sorted({check_bits("bits", b) for b in bits})
    if not levels_p and not levels_q:
        raise ConfigError("sparsities and bits are both empty: nothing to measure")
    batch = token_windows(ids, window)
    clean = _clean_outputs(lm, batch)
    norms = input_norms(lm, batch.numpy().ravel(), window=window) if method == "wanda" and levels_p else {}
    rows: list[dict[str, Any]] = []
    total = lm.num_layers * (len(levels_p) + len(levels_q))
    with tqdm(total=total, disable=not progress, desc=f"sensitivity ({method})") as bar:
        for i in range(lm.num_layers):
            linears = layer_linears(lm.layers[i])
            saved = [lin.weight.data.clone() for _, lin in linears]
            y0 = clean[i]
            power = float((y0 * y0).mean())
            plan = [("prune", s, s, 16) for s in levels_p] + [("quant", float(b), 0.0, b) for b in levels_q]
            for kind, level, sparsity, nbits in plan:
                try:
                    for name, lin in linears:
                        compress_linear(lin, sparsity, nbits, norms.get((i, name)))
                    y = _layer_output(lm, batch, i)
                finally:
                    with torch.no_grad():
                        for (_, lin), original in zip(linears, saved, strict=True):
                            lin.weight.data.copy_(original)
                mse = float(((y - y0) ** 2).mean())
                rel = mse / power if power > 0 else float("nan")
                rows.append({"kind": kind, "layer": i, "level": level, "mse": mse, "rel_mse": rel})
                bar.update(1)
    table = pd.DataFrame(rows, columns=["kind", "layer", "level", "mse", "rel_mse"])
    order = table["kind"].map({k: j for j, k in enumerate(KINDS)})
    return (
        table.assign(_k=order).sort_values(["_k", "layer", "level"]).drop(columns="_k").reset_index(drop=True)
    )


def per_layer_score(df: pd.DataFrame, kind: str, column: str = "rel_mse") -> NDArray[np.float64]:
    """Mean of ``column`` over the levels of ``kind``, one value per layer (index = layer, 0 first)."""
    if kind not in KINDS:
        raise ConfigError(f"kind={kind!r} is not supported; allowed: {list(KINDS)}")
    if column not in ("mse", "rel_mse"):
        raise ConfigError(f"column={column!r} is not supported; allowed: ['mse', 'rel_mse']")
    rows = df[df["kind"] == kind]
    if rows.empty:
        raise ConfigError(f"the sensitivity table has no rows of kind {kind!r}")
    means = rows.groupby("layer")[column].mean()
    layers = means.index.to_numpy(dtype=np.int64)
    if not np.array_equal(layers, np.arange(len(layers))):
        raise ConfigError(f"the {kind} rows cover layers {layers.tolist()}, not 0..{len(layers) - 1}")
    return np.asarray(means.to_numpy(dtype=np.float64), dtype=np.float64)


def sensitivity_profile(df: pd.DataFrame, meta_extra: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The ``compression_sensitivity`` profile of table ``df``: ``meta_extra`` supplies at least ``name``,
    ``model`` and ``calibration`` (it may override any default key)."""
    import transformers

    missing = [k for k in ("name", "model", "calibration") if k not in meta_extra]
    if missing:
        raise ConfigError(f"meta_extra lacks the key(s) {missing}")
    meta: dict[str, Any] = {
        "name": meta_extra["name"],
        "kind": "compression_sensitivity",
        "source": "measured",
        "model": meta_extra["model"],
        "device": platform.processor() or platform.machine(),
        "axes": ["kind", "layer", "level"],
        "categories": {"kind": list(KINDS)},
        "units": dict(UNITS),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "versions": {
            "torch": str(torch.__version__),
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
        "threads": torch.get_num_threads(),
        "definition": "local MSE of one decoder layer's output with only that layer compressed "
        "(splitgym.profiles.compression.sensitivity)",
    }
    meta |= meta_extra
    table = df[["kind", "layer", "level", "mse", "rel_mse"]].copy()
    table["layer"] = table["layer"].astype(int)
    return table, meta
