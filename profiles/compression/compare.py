"""LUC against uniform compression at matched budgets, measured on a real model.

For each budget ``(R, b)`` (mean sparsity, base weight bits), LUC builds its policy from the per-layer
sensitivities (:func:`~splitgym.profiles.compression.luc.luc_policy`, high bits ``8`` when ``b < 8``, else
``b``: the dossier's "sensitive layers raised to 8 bits when b_base = 4") and the uniform baseline takes
the same mean sparsity and the same multiset of bit-widths spread blind to sensitivity
(:func:`~splitgym.profiles.compression.luc.matched_uniform`, ``bits="mix"``), so both store the same
number of bits. Both are applied to all decoder layers and evaluated on held-out ids: perplexity,
next-token accuracy and quality ``Q = 1 − PPL/PPL_clean``. The costs come from our cost model
(:mod:`~splitgym.profiles.compression.costmodel`), relative to the dense float16 layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from splitgym.errors import ConfigError
from splitgym.profiles.compression.apply import check_method, compressed, evaluate_lm, weight_bytes
from splitgym.profiles.compression.costmodel import policy_cost
from splitgym.profiles.compression.luc import CompressionPolicy, luc_policy, matched_uniform
from splitgym.profiles.compression.prune import check_sparsity
from splitgym.profiles.compression.quantize import check_bits
from splitgym.profiles.compression.sensitivity import per_layer_score
from splitgym.profiles.llm import LoadedLM
from splitgym.profiles.timing.catalogue import get_architecture
from splitgym.profiles.timing.roofline import get_device

__all__ = ["DEFAULT_BUDGETS", "compare_luc_uniform", "comparison_markdown", "high_bits_for"]

DEFAULT_BUDGETS: tuple[tuple[float, int], ...] = ((0.3, 8), (0.5, 8), (0.5, 4), (0.7, 4))


def high_bits_for(base_bits: int) -> int:
    """Bits of LUC's sensitive layers: 8 when the base is below 8, else the base itself."""
    return 8 if base_bits < 8 else base_bits


def _dense(n: int) -> CompressionPolicy:
    return CompressionPolicy((0.0,) * n, (16,) * n, (16,) * n)


def _row(
    lm: LoadedLM,
    policy: CompressionPolicy,
    label: str,
    budget: tuple[float, int],
    clean: dict[str, float],
    eval_ids: ArrayLike,
    calib_ids: ArrayLike | None,
    method: str,
    cost: dict[str, Any],
) -> dict[str, Any]:
    with compressed(lm, policy, calib_ids, method):
        res = evaluate_lm(lm, eval_ids)
    dense = weight_bytes(_dense(policy.num_layers), lm)
    nbytes = float(weight_bytes(policy, lm).sum())
    prefill = policy_cost(policy, cost["arch"], cost["device"], cost["tokens"], "prefill")
    decode = policy_cost(policy, cost["arch"], cost["device"], cost["tokens"], "decode")
    return {
        "budget_sparsity": budget[0],
        "base_bits": budget[1],
        "policy": label,
        "mean_sparsity": policy.mean_sparsity,
        "mean_bits": policy.mean_bits,
        "perplexity": res["perplexity"],
        "accuracy": res["accuracy"],
        "quality": 1.0 - res["perplexity"] / clean["perplexity"],
        "weight_bytes": nbytes,
        "rel_weight_bytes": nbytes / float(dense.sum()),
        "rel_flops": prefill["rel_flops"],
        "rel_time_prefill": prefill["rel_time"],
        "rel_time_decode": decode["rel_time"],
        "sparsity_per_layer": " ".join(f"{v:.3f}" for v in policy.sparsity),
        "bits_per_layer": " ".join(str(v) for v in policy.weight_bits),
    }


def compare_luc_uniform(
    lm: LoadedLM,
    sensitivity_df: pd.DataFrame,
    budgets: Sequence[tuple[float, int]] = DEFAULT_BUDGETS,
    eval_ids: ArrayLike | None = None,
    calib_ids: ArrayLike | None = None,
    method: str = "magnitude",
    act_bits: int = 8,
    arch: str = "reference",
    device: str = "raspberry-pi-5",
    cost_tokens: int = 256,
) -> pd.DataFrame:
    """Per budget, one ``luc`` row and one matched ``uniform`` row (after a ``clean`` row at budget 0/16):
    mean sparsity and bits, perplexity, accuracy, quality, weight bytes (absolute and relative to
    float16), relative effective FLOPs and roofline time on ``device`` (``cost_tokens`` prefill tokens,
    and one decode token at that context)."""
    if eval_ids is None:
        raise ConfigError("eval_ids (held-out token ids) are required")
    check_method(method)
    get_device(device)
    act_bits = check_bits("act_bits", act_bits)
    checked = []
    for i, budget in enumerate(budgets):
        if not isinstance(budget, (tuple, list)) or len(budget) != 2:
            raise ConfigError(f"budgets[{i}]={budget!r} must be a pair (mean sparsity, base bits)")
        checked.append((check_sparsity("budget", budget[0]), check_bits("base_bits", budget[1])))
    prune = per_layer_score(sensitivity_df, "prune")
    quant = per_layer_score(sensitivity_df, "quant")
    if prune.size != lm.num_layers or quant.size != lm.num_layers:
        raise ConfigError(
            f"the sensitivity table covers {prune.size} layers but {lm.name} has {lm.num_layers}"
        )
    clean = evaluate_lm(lm, eval_ids)
    cost = {"arch": get_architecture(arch), "device": device, "tokens": cost_tokens}
    rows = [_row(lm, _dense(lm.num_layers), "clean", (0.0, 16), clean, eval_ids, calib_ids, method, cost)]
    for budget in checked:
        luc = luc_policy(prune, quant, budget[0], budget[1], high_bits_for(budget[1]), act_bits)
        rows.append(_row(lm, luc, "luc", budget, clean, eval_ids, calib_ids, method, cost))
        uni = matched_uniform(luc)
        rows.append(_row(lm, uni, "uniform", budget, clean, eval_ids, calib_ids, method, cost))
    return pd.DataFrame(rows)


def comparison_markdown(df: pd.DataFrame) -> str:
    """The comparison as a Markdown table (one line per row; per-layer policies left out)."""
    cols = [
        ("budget_sparsity", "R", "{:.2f}"),
        ("base_bits", "base bits", "{:d}"),
        ("policy", "policy", "{}"),
        ("mean_sparsity", "mean r", "{:.3f}"),
        ("mean_bits", "mean bits", "{:.2f}"),
        ("perplexity", "PPL", "{:.3f}"),
        ("accuracy", "accuracy", "{:.4f}"),
        ("quality", "Q = 1-PPL/PPL0", "{:+.4f}"),
        ("rel_weight_bytes", "weight bytes / fp16", "{:.3f}"),
        ("rel_flops", "eff. FLOPs / fp16", "{:.3f}"),
        ("rel_time_prefill", "time / fp16 (prefill)", "{:.3f}"),
        ("rel_time_decode", "time / fp16 (decode)", "{:.3f}"),
    ]
    lines = ["| " + " | ".join(c[1] for c in cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        cells = []
        for key, _, fmt in cols:
            value = row[key]
            if isinstance(value, (np.integer, np.floating)):
                value = value.item()
            cells.append(fmt.format(int(value)) if fmt == "{:d}" else fmt.format(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
