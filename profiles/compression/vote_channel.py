"""Voting over exits when the edge's exits see a corrupted hidden state (an operating point of the
compression environment): every single exit against the max-confidence vote, measured.

At split ``k`` with budget ``b`` and channel SNR ``s``, the device's exits ``e <= k`` run on its compressed
layers before the channel; the edge's exits ``e > k`` (and the model's output) run after the hidden state
crossed the channel. Per exit and for the vote over all of them: quality ``1 - PPL/PPL_clean`` (against
the uncompressed model) and next-token accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import pandas as pd
import torch

from splitgym.profiles.compression.apply import compressed
from splitgym.profiles.compression.exits import ExitHeads, layer_outputs, max_confidence_vote
from splitgym.profiles.compression.table import (
    budget_name,
    budget_policy,
    parse_budget,
    perplexity_of,
    token_nll,
)
from splitgym.profiles.llm import LoadedLM
from splitgym.profiles.quality.corruption import make_operator

__all__ = ["vote_under_channel"]


def vote_under_channel(
    lm: LoadedLM,
    heads: ExitHeads,
    ids: np.ndarray,
    prune_score: np.ndarray,
    quant_score: np.ndarray,
    points: Sequence[tuple[str, float, int]],
    operator: str = "fading",
    window: int = 256,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per operating point ``(budget name, snr_db, split)``: each exit's and the vote's quality
    and accuracy, and the vote's margin over the best single exit."""
    L = lm.num_layers
    n = (len(ids) // window) * window
    batch = torch.from_numpy(np.asarray(ids[:n], dtype=np.int64)).view(-1, window)
    exits = tuple(heads.exits)
    op = make_operator(operator)
    with torch.inference_mode():
        clean_h = layer_outputs(lm, batch, range(1, L + 1), stop=False)
        clamp = {k: float(h.abs().max()) for k, h in clean_h.items()}
        ppl0 = perplexity_of(*token_nll(heads(L, clean_h[L]), batch, logits=True))
    target = batch[:, 1:]
    rows = []
    for name, snr, k in points:
        budget = parse_budget(name)
        policy = budget_policy(budget, k, prune_score, quant_score, 8)
        gen = torch.Generator().manual_seed(seed)

        def corrupt(
            module: object,
            args: object,
            out: object,
            snr: float = snr,
            k: int = k,
            gen: torch.Generator = gen,
        ) -> object:
            if isinstance(out, tuple):
                return (op.apply(out[0], snr, gen, clamp[k]), *out[1:])
            return op.apply(out, snr, gen, clamp[k])

        ctx: AbstractContextManager[object] = compressed(lm, policy) if policy is not None else nullcontext()
        with ctx, torch.inference_mode():
            clean = layer_outputs(lm, batch, exits, stop=False)
            handle = lm.layers[k - 1].register_forward_hook(corrupt)
            try:
                corrupted = layer_outputs(lm, batch, [e for e in exits if e > k], stop=False)
            finally:
                handle.remove()
            logits = {e: heads(e, (clean if e <= k else corrupted)[e]) for e in exits}
            row: dict[str, object] = {"budget": budget_name(budget), "snr_db": snr, "split": k}
            for e, lg in logits.items():
                row[f"q_exit{e}"] = 1 - perplexity_of(*token_nll(lg, batch, logits=True)) / ppl0
                row[f"acc_exit{e}"] = float((lg[:, :-1].argmax(-1) == target).float().mean())
            vote = max_confidence_vote([torch.softmax(lg.float(), -1) for lg in logits.values()])
            row["q_vote"] = 1 - perplexity_of(*token_nll(vote, batch, logits=False)) / ppl0
            row["acc_vote"] = float((vote[:, :-1].argmax(-1) == target).float().mean())
        row["q_margin"] = float(row["q_vote"]) - max(float(row[f"q_exit{e}"]) for e in exits)  # type: ignore[arg-type]
        row["acc_margin"] = float(row["acc_vote"]) - max(float(row[f"acc_exit{e}"]) for e in exits)  # type: ignore[arg-type]
        rows.append(row)
    return pd.DataFrame(rows)
