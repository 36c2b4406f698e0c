"""The compression environment's quality table, measured on a real model: split x budget x answer mode x SNR.

For every budget (``none``, or LUC / uniform at a mean sparsity and base bit-width) and split ``k``, the
device-side layers ``1..k`` are compressed for real (:func:`~splitgym.profiles.compression.apply.compressed`,
the policy expanded over those ``k`` layers), and the model runs on held-out text:

* one clean pass (no channel) gives the device's exits; mode ``exit`` answers from the deepest exit
  ``e <= k`` (infeasible when there is none);
* for ``0 < k < L`` and each level of the operator (an SNR for ``fading``, bits per element for
  ``activation``: metadata ``level_name``; the rows keep it in the schema's ``snr_db`` column), one pass
  with the hidden state after layer ``k`` corrupted by the channel operator (the receiver clamps at the
  uncompressed model's largest clean value at that layer, as in :mod:`splitgym.profiles.quality.live`)
  gives the edge's output (mode ``edge``) and the edge-side exits; mode ``vote`` is the max-confidence
  vote over every exit that ran: device exits ``<= k`` from the clean pass, edge exits ``> k`` and the
  final output from the corrupted one. Splits 0 and ``L`` cross no channel.

Quality is ``1 - PPL/PPL_clean`` against the uncompressed model's own output on the same tokens (for the
vote, PPL of the renormalised max-confidence distribution). Per budget and split the profile metadata also
holds each compressed layer's relative roofline time (:mod:`.costmodel`, prefill on ``cost_device``) and
weight bytes (:func:`~splitgym.profiles.compression.apply.weight_bytes`).
"""

from __future__ import annotations

import math
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import torch

from splitgym.errors import ConfigError
from splitgym.profiles.compression.apply import compressed, weight_bytes
from splitgym.profiles.compression.compare import high_bits_for
from splitgym.profiles.compression.costmodel import layer_costs
from splitgym.profiles.compression.exits import ExitHeads, layer_outputs, max_confidence_vote
from splitgym.profiles.compression.luc import CompressionPolicy, luc_policy, uniform_policy
from splitgym.profiles.llm import LoadedLM
from splitgym.profiles.quality.corruption import make_operator

__all__ = [
    "DEFAULT_BUDGETS",
    "MODES",
    "Budget",
    "budget_name",
    "budget_policy",
    "measure_compressed_quality",
    "parse_budget",
    "perplexity_of",
    "token_nll",
]

MODES = ("edge", "exit", "vote")


@dataclass(frozen=True)
class Budget:
    """A compression budget: mean sparsity and base weight bits, expanded by ``kind`` (luc or uniform)."""

    kind: str  # "none", "luc" or "uniform"
    sparsity: float = 0.0
    bits: int = 16


def budget_name(b: Budget) -> str:
    """``none``, or ``<kind>-<sparsity>-<bits>`` (e.g. ``luc-0.5-4``)."""
    return "none" if b.kind == "none" else f"{b.kind}-{b.sparsity:g}-{b.bits}"


DEFAULT_BUDGETS: tuple[Budget, ...] = (
    Budget("none"),
    *(Budget(kind, r, b) for kind in ("luc", "uniform") for r, b in ((0.3, 8), (0.5, 8), (0.5, 4), (0.7, 4))),
)


def parse_budget(name: str) -> Budget:
    """The budget named ``none`` or ``<luc|uniform>-<sparsity>-<bits>`` (inverse of :func:`budget_name`)."""
    if name == "none":
        return Budget("none")
    parts = name.split("-")
    try:
        kind, sparsity, bits = parts[0], float(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        raise ConfigError(f"budget {name!r} must be 'none' or '<luc|uniform>-<sparsity>-<bits>'") from None
    if kind not in ("luc", "uniform") or len(parts) != 3:
        raise ConfigError(f"budget {name!r} must be 'none' or '<luc|uniform>-<sparsity>-<bits>'")
    from splitgym.profiles.compression.prune import check_sparsity
    from splitgym.profiles.compression.quantize import check_bits

    return Budget(kind, check_sparsity("budget", sparsity), check_bits("bits", bits))


def budget_policy(
    b: Budget, k: int, prune: np.ndarray, quant: np.ndarray, act_bits: int
) -> CompressionPolicy | None:
    if b.kind == "none" or k == 0:
        return None
    if b.kind == "luc":
        return luc_policy(prune[:k], quant[:k], b.sparsity, b.bits, high_bits_for(b.bits), act_bits)
    if b.kind == "uniform":
        # The uniform twin of LUC at this budget: same mean sparsity, same multiset of bit-widths.
        from splitgym.profiles.compression.luc import matched_uniform

        luc = luc_policy(prune[:k], quant[:k], b.sparsity, b.bits, high_bits_for(b.bits), act_bits)
        return matched_uniform(luc) if k > 1 else uniform_policy(1, b.sparsity, luc.weight_bits[0], act_bits)
    raise ConfigError(f"budget kind {b.kind!r} is not supported; allowed: ['none', 'luc', 'uniform']")


def token_nll(probs_or_logits: torch.Tensor, ids: torch.Tensor, logits: bool) -> tuple[float, int]:
    """Summed next-token NLL (nats) of ``ids`` under logits (``logits=True``) or probabilities, and the
    number of predicted tokens."""
    target = ids[:, 1:]
    x = probs_or_logits[:, :-1].float()
    logp = torch.log_softmax(x, dim=-1) if logits else torch.log(x.clamp_min(1e-30))
    return float(-logp.gather(-1, target[..., None]).sum()), int(target.numel())


def perplexity_of(nll: float, count: int) -> float:
    """``exp(nll / count)`` (capped to stay finite)."""
    return math.exp(min(nll / count, 700.0))


def measure_compressed_quality(
    lm: LoadedLM,
    heads: ExitHeads,
    ids: np.ndarray,
    prune_score: np.ndarray,
    quant_score: np.ndarray,
    budgets: Sequence[Budget] = DEFAULT_BUDGETS,
    snrs: Sequence[float] = (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 30.0),
    operator: str = "fading",
    operator_params: Mapping[str, Any] | None = None,
    act_bits: int = 8,
    window: int = 256,
    seed: int = 0,
    cost_device: str = "phone-sd8gen3",
    cost_tokens: int = 128,
    progress: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table (one row per budget, mode, SNR, split) and the per-(budget, split) layer costs."""
    from tqdm import tqdm

    L = lm.num_layers
    if L not in heads.exits:
        raise ConfigError(f"the exits must include the model's output (layer {L}), got {list(heads.exits)}")
    op = make_operator(operator, **dict(operator_params or {}))
    n = (len(ids) // window) * window
    if n == 0:
        raise ConfigError(f"ids has {len(ids)} tokens, fewer than one window of {window}")
    batch = torch.from_numpy(np.asarray(ids[:n], dtype=np.int64)).view(-1, window)
    exits = tuple(heads.exits)
    with torch.inference_mode():
        clean_hidden = layer_outputs(lm, batch, range(1, L + 1), stop=False)
        clamp = {k: float(h.abs().max()) for k, h in clean_hidden.items()}
        clean_nll, count = token_nll(heads(L, clean_hidden[L]), batch, logits=True)
    ppl_clean = perplexity_of(clean_nll, count)
    rows: list[dict[str, Any]] = []
    costs: dict[str, dict[str, dict[str, list[float]]]] = {}
    gen = torch.Generator().manual_seed(seed)
    total = len(budgets) * (L + 1)
    with tqdm(total=total, disable=not progress, desc="compressed quality") as bar:
        for b in budgets:
            name = budget_name(b)
            costs[name] = {}
            for k in range(L + 1):
                policy = budget_policy(b, k, prune_score, quant_score, act_bits)
                if policy is not None:
                    rel = layer_costs(policy, "reference", cost_device, cost_tokens)["rel_time"].to_numpy()
                    costs[name][str(k)] = {
                        "rel_time": [float(v) for v in rel],
                        "weight_bytes": [float(v) for v in weight_bytes(policy, lm)],
                    }
                elif k > 0:
                    dense = CompressionPolicy((0.0,) * k, (16,) * k, (16,) * k)
                    costs[name][str(k)] = {
                        "rel_time": [1.0] * k,
                        "weight_bytes": [float(v) for v in weight_bytes(dense, lm)],
                    }
                rows += _measure_split(
                    lm, heads, batch, k, policy, exits, snrs, op, clamp, gen, ppl_clean, name
                )
                bar.update(1)
    table = pd.DataFrame(rows).sort_values(["budget", "mode", "snr_db", "split"]).reset_index(drop=True)
    meta = {
        "budgets": {
            budget_name(b): {"kind": b.kind, "sparsity": b.sparsity, "bits": b.bits} for b in budgets
        },
        "exits": list(exits),
        "operator": op.describe(),
        "level_name": op.level_name,  # what the level column (snr_db by the schema) holds
        "costs": costs,
        "cost_model": {"device": cost_device, "tokens": cost_tokens, "phase": "prefill",
                       "module": "splitgym.profiles.compression.costmodel (ours, not the paper's)"},
        "act_bits": act_bits,
        "clean": {"perplexity": ppl_clean},
        "text": {"tokens": int(n), "window": window, "source": "held-out text"},
        "seed": seed,
        "versions": {"torch": str(torch.__version__), "python": platform.python_version()},
        "date": datetime.now(timezone.utc).date().isoformat(),
    }  # fmt: skip
    return table, meta


def _measure_split(
    lm: LoadedLM,
    heads: ExitHeads,
    batch: torch.Tensor,
    k: int,
    policy: CompressionPolicy | None,
    exits: tuple[int, ...],
    snrs: Sequence[float],
    op: Any,
    clamp: Mapping[int, float],
    gen: torch.Generator,
    ppl_clean: float,
    name: str,
) -> list[dict[str, Any]]:
    L = lm.num_layers
    from contextlib import nullcontext

    ctx = compressed(lm, policy) if policy is not None else nullcontext()
    out: list[dict[str, Any]] = []

    def row(mode: str, snr: float, ppl: float, feasible: bool) -> dict[str, Any]:
        return {
            "budget": name, "mode": mode, "snr_db": float(snr), "split": k,
            "quality": (1.0 - ppl / ppl_clean) if feasible else 0.0, "perplexity": ppl if feasible else 0.0,
            "feasible": int(feasible),
        }  # fmt: skip

    with ctx, torch.inference_mode():
        clean = layer_outputs(lm, batch, exits, stop=False)
        clean_logits = {e: heads(e, clean[e]) for e in exits}
        device_exits = [e for e in exits if e <= k]
        e_dev = max(device_exits, default=0)
        exit_ppl = perplexity_of(*token_nll(clean_logits[e_dev], batch, logits=True)) if e_dev else 0.0
        if k in (0, L):
            edge_ppl = perplexity_of(*token_nll(clean_logits[L], batch, logits=True))
            vote = max_confidence_vote([torch.softmax(clean_logits[e].float(), -1) for e in exits])
            vote_ppl = perplexity_of(*token_nll(vote, batch, logits=False))
            for snr in snrs:
                out += [row("edge", snr, edge_ppl, True), row("exit", snr, exit_ppl, e_dev > 0)]
                out.append(row("vote", snr, vote_ppl, True))
            return out
        for snr in snrs:

            def corrupt(module: Any, args: Any, output: Any, snr: float = snr) -> Any:
                if isinstance(output, tuple):
                    return (op.apply(output[0], snr, gen, clamp[k]), *output[1:])
                return op.apply(output, snr, gen, clamp[k])

            handle = lm.layers[k - 1].register_forward_hook(corrupt)
            try:
                edge_exits = [e for e in exits if e > k]
                hidden = layer_outputs(lm, batch, edge_exits, stop=False)
            finally:
                handle.remove()
            edge_logits = {e: heads(e, hidden[e]) for e in edge_exits}
            edge_ppl = perplexity_of(*token_nll(edge_logits[L], batch, logits=True))
            probs = [torch.softmax(clean_logits[e].float(), -1) for e in device_exits]
            probs += [torch.softmax(edge_logits[e].float(), -1) for e in edge_exits]
            vote_ppl = perplexity_of(*token_nll(max_confidence_vote(probs), batch, logits=False))
            out += [row("edge", snr, edge_ppl, True), row("exit", snr, exit_ppl, e_dev > 0)]
            out.append(row("vote", snr, vote_ppl, True))
    return out
