"""Early exits on a real causal LM (Edge-LLM, Yu et al., arXiv 2406.15758, section "adaptive layer tuning
and voting"), with the released code's defects fixed.

Exit ``k`` means "after decoder layer ``k``" (1-based count of layers, ``k`` in ``1..L``); exit ``L`` is the
model's own output. The logits at exit ``k`` are ``W_k · norm(h_k)``, where ``h_k`` is the raw output of
decoder layer ``k``, ``norm`` is the model's own final RMSNorm (shared and frozen: the same normalisation in
training and inference) and ``W_k`` is a ``vocab x hidden`` linear head initialised from the model's
``lm_head``. Only the heads of exits ``k < L`` are trained; exit ``L`` uses ``norm`` and ``lm_head`` as they
are, so its logits are the model's logits exactly.

All exits come from ONE forward pass: forward hooks on the decoder layers record ``h_k``, and the hook on the
deepest exit needed raises a private exception, so the layers above it never run (that is what saves compute
and activation memory; the released code always ran the whole model).

Voting over the set ``S`` of exits that ran, with ``p_k = softmax(logits_k)`` over the vocabulary:

* max-confidence (the paper's rule): ``q(c) = max_{k in S} p_k(c) / sum_c' max_{k in S} p_k(c')``; the answer
  ``argmax_c q(c)`` is the answer of the single most confident exit;
* majority: every exit votes its ``argmax``; the most votes win, ties broken by the summed probability
  ``sum_{k in S} p_k(c)``.

Perplexity is ``exp(mean NLL)`` in nats per token; accuracy is next-token top-1 accuracy, both on
non-overlapping windows of held-out tokens (each window predicts its tokens 2..window).
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from splitgym.atomic import write_bytes_atomic, write_text_atomic
from splitgym.errors import ConfigError
from splitgym.profiles.llm import LoadedLM

__all__ = [
    "CARD_FILE",
    "WEIGHTS_FILE",
    "ExitHeads",
    "default_exits",
    "evaluate_exits",
    "exit_logits",
    "final_norm",
    "layer_outputs",
    "load_exits",
    "majority_vote",
    "max_confidence_vote",
    "operating_points",
    "save_exits",
    "train_exits",
    "training_card",
    "validate_exits",
]

WEIGHTS_FILE = "exits.safetensors"
CARD_FILE = "exits.json"


class _StopForward(Exception):
    """Raised by the forward hook of the deepest layer needed: the layers above it never run."""


# -- exits ---------------------------------------------------------------------------------------------


def default_exits(num_layers: int) -> tuple[int, ...]:
    """Exits at every quarter of the depth, ending with the model's own output: ``(3, 6, 9, 12)`` for 12
    layers (the paper puts them after every 8th of 32 layers). Fewer than 4 layers: one exit per layer."""
    if num_layers < 4:
        return tuple(range(1, num_layers + 1))
    return tuple(sorted({round(num_layers * q / 4) for q in (1, 2, 3, 4)}))


def validate_exits(exits: Iterable[int], num_layers: int) -> tuple[int, ...]:
    """``exits`` as a tuple after checking they are integers, sorted, unique and within ``1..num_layers``."""
    values = tuple(exits)
    if not values:
        raise ConfigError(f"exits must name at least one layer in 1..{num_layers}, got none")
    for k in values:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ConfigError(f"exit {k!r} is not an integer; exits must be in 1..{num_layers}")
        if not 1 <= k <= num_layers:
            raise ConfigError(
                f"exit {k} is beyond the model's depth ({num_layers} decoder layers); "
                f"exits must be in 1..{num_layers}"
            )
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ConfigError(f"exits must be sorted and unique (strictly increasing), got {list(values)}")
    return tuple(int(k) for k in values)


def final_norm(lm: LoadedLM) -> nn.Module:
    """The model's final normalisation (Llama-style ``model.norm``, GPT-2-style ``transformer.ln_f``)."""
    for owner, name in (("model", "norm"), ("transformer", "ln_f"), ("gpt_neox", "final_layer_norm")):
        base = getattr(lm.model, owner, None)
        module = getattr(base, name, None) if base is not None else None
        if isinstance(module, nn.Module):
            return module
    raise ConfigError(f"cannot find the final norm of {type(lm.model).__name__} (model.norm or ln_f)")


def _lm_head(lm: LoadedLM) -> nn.Linear:
    head = lm.model.get_output_embeddings()
    if not isinstance(head, nn.Linear):
        raise ConfigError(f"{type(lm.model).__name__} has no linear output head (lm_head)")
    return head


class ExitHeads(nn.Module):
    """One trainable ``Linear(hidden, vocab)`` head per exit ``k < L``, applied after the model's shared,
    frozen final norm; exit ``L`` (if listed) is the model's own norm + ``lm_head``.

    The norm and ``lm_head`` are held by reference, not registered: ``parameters()`` and ``state_dict()``
    hold the exit heads only (keys ``heads.<k>.weight``).
    """

    def __init__(self, lm: LoadedLM, exits: Sequence[int] | None = None) -> None:
        super().__init__()
        self.num_layers = lm.num_layers
        self.exits = validate_exits(default_exits(lm.num_layers) if exits is None else exits, lm.num_layers)
        head = _lm_head(lm)
        # A tuple is not registered as a submodule: the shared modules stay out of parameters().
        self._shared: tuple[nn.Module, nn.Linear] = (final_norm(lm), head)
        weight = head.weight.detach().to(torch.float32)
        vocab, hidden = weight.shape
        self.heads = nn.ModuleDict()
        for k in self.trainable_exits:
            linear = nn.Linear(hidden, vocab, bias=False)
            with torch.no_grad():
                linear.weight.copy_(weight)
            self.heads[str(k)] = linear

    @property
    def trainable_exits(self) -> tuple[int, ...]:
        """Exits with their own trained head (every exit below the model's depth)."""
        return tuple(k for k in self.exits if k < self.num_layers)

    @property
    def norm(self) -> nn.Module:
        """The model's final norm, shared by every exit."""
        return self._shared[0]

    def linear(self, k: int) -> nn.Linear:
        """The trained linear head of exit ``k < L``."""
        module = dict(self.heads.items()).get(str(k))  # ModuleDict has no .get()
        if not isinstance(module, nn.Linear):
            raise ConfigError(
                f"exit {k} has no trained head; the trained exits are {list(self.trainable_exits)}"
            )
        return module

    def head(self, k: int) -> nn.Module:
        """The linear head of exit ``k`` (the model's ``lm_head`` for ``k = L``)."""
        if k not in self.exits:
            raise ConfigError(f"exit {k} has no head; the heads' exits are {list(self.exits)}")
        return self._shared[1] if k == self.num_layers else self.heads[str(k)]

    def forward(self, k: int, hidden: Tensor) -> Tensor:
        """Logits ``W_k · norm(h_k)`` of exit ``k`` from the raw output ``hidden`` of decoder layer ``k``."""
        out: Tensor = self.head(k)(self.norm(hidden))
        return out


# -- one forward, hooked ---------------------------------------------------------------------------------


def _enable_grad(module: nn.Module, args: Any) -> None:
    torch.set_grad_enabled(True)


def layer_outputs(
    lm: LoadedLM,
    ids_batch: Tensor,
    layers: Iterable[int],
    stop: bool = True,
    grad_from: int | None = None,
) -> dict[int, Tensor]:
    """Raw outputs ``h_k`` (before any norm) of decoder layers ``layers`` (1-based) from ONE forward pass of
    ``ids_batch`` (``[batch, tokens]`` token ids).

    ``stop``: the forward stops right after the deepest requested layer (a forward hook raises a private
    exception), so no layer above it runs. ``grad_from = j``: the embedding and layers ``1..j-1`` run under
    ``torch.no_grad`` (no activations saved) and autograd is switched on from layer ``j`` (a forward
    pre-hook); ``None`` leaves the caller's grad mode alone.
    """
    wanted = sorted(set(validate_exits(sorted(set(layers)), lm.num_layers)))
    deepest = wanted[-1]
    out: dict[int, Tensor] = {}

    def record(k: int) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            out[k] = output[0] if isinstance(output, tuple) else output
            if stop and k == deepest:
                raise _StopForward

        return hook

    handles = [lm.layers[k - 1].register_forward_hook(record(k)) for k in wanted]
    if grad_from is not None:
        if not 1 <= grad_from <= deepest:
            raise ConfigError(f"grad_from {grad_from} must be a layer in 1..{deepest}")
        handles.append(lm.layers[grad_from - 1].register_forward_pre_hook(_enable_grad))
    try:
        with torch.no_grad() if grad_from is not None else nullcontext():
            lm.model(input_ids=ids_batch, use_cache=False)
    except _StopForward:
        pass
    finally:
        for handle in handles:
            handle.remove()
    missing = [k for k in wanted if k not in out]
    if missing:
        raise ConfigError(f"the forward pass never reached layers {missing}")
    return out


def exit_logits(
    lm: LoadedLM, heads: ExitHeads, ids_batch: Tensor, upto: int | None = None
) -> dict[int, Tensor]:
    """Logits ``[batch, tokens, vocab]`` at every exit of ``heads`` (up to layer ``upto`` if given) from ONE
    forward that stops after the deepest of them."""
    exits = [k for k in heads.exits if upto is None or k <= upto]
    if not exits:
        raise ConfigError(f"upto {upto} is below every exit {list(heads.exits)}; no exit would run")
    hidden = layer_outputs(lm, ids_batch, exits)
    return {k: heads(k, hidden[k]) for k in exits}


# -- training ---------------------------------------------------------------------------------------------


def _windows(ids: NDArray[np.int64] | Tensor, window: int, name: str = "ids") -> Tensor:
    data = torch.as_tensor(np.asarray(ids, dtype=np.int64)).reshape(-1)
    n = (len(data) // window) * window
    if window < 2 or n == 0:
        raise ConfigError(f"{name} has {len(data)} tokens, fewer than one window of {window} (window >= 2)")
    return data[:n].view(-1, window)


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 10 % of ``lr``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(steps - warmup, 1)
    return lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


def train_exits(
    lm: LoadedLM,
    ids: NDArray[np.int64] | Tensor,
    exits: Sequence[int] | None = None,
    steps: int = 400,
    lr: float = 2e-3,
    seed: int = 0,
    batch: int = 16,
    window: int = 256,
    progress: bool = False,
) -> tuple[ExitHeads, list[dict[str, float]]]:
    """Train the exit heads on random ``window``-token windows of ``ids`` (starts drawn from
    ``numpy.random.default_rng(seed)``), with the backbone frozen.

    Each step computes the normalised hidden states ``norm(h_k)`` under ``torch.no_grad`` in one forward
    that stops at the deepest trainable exit, and minimises ``sum_k CE(W_k norm(h_k))`` (next-token
    cross-entropy, nats) over the trainable heads with AdamW (no weight decay), linear warm-up over 5 % of
    the steps then cosine decay to 10 % of ``lr``. Returns the heads and one history row per step.
    """
    for name, value in (("steps", steps), ("batch", batch), ("window", window)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if not lr > 0:
        raise ConfigError(f"lr must be > 0, got {lr!r}")
    limit = int(getattr(lm.model.config, "max_position_embeddings", window) or window)
    if window > limit:
        raise ConfigError(f"window {window} is longer than the model's {limit} positions")
    torch.manual_seed(seed)
    heads = ExitHeads(lm, exits)
    trainable = heads.trainable_exits
    if not trainable:
        raise ConfigError(f"exits {list(heads.exits)} have no exit below layer {lm.num_layers} to train")
    data = torch.as_tensor(np.asarray(ids, dtype=np.int64)).reshape(-1)
    if len(data) <= window:
        raise ConfigError(f"ids has {len(data)} tokens, not more than one window of {window}")
    rng = np.random.default_rng(seed)
    offsets = torch.arange(window)
    optim = torch.optim.AdamW(heads.parameters(), lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 20)
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    for step in range(steps):
        starts = torch.from_numpy(rng.integers(0, len(data) - window + 1, size=batch))
        x = data[starts[:, None] + offsets]
        with torch.no_grad():
            hidden = layer_outputs(lm, x, trainable)
            normed = {k: heads.norm(h).float() for k, h in hidden.items()}
        for group in optim.param_groups:
            group["lr"] = _lr_at(step, steps, lr, warmup)
        target = x[:, 1:].reshape(-1)
        losses = {
            k: nn.functional.cross_entropy(
                heads.linear(k)(normed[k][:, :-1]).reshape(target.numel(), -1), target
            )
            for k in trainable
        }
        loss = torch.stack(list(losses.values())).sum()
        optim.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optim.step()
        row = {"step": float(step + 1), "lr": optim.param_groups[0]["lr"]}
        row |= {f"loss_{k}": float(v.detach()) for k, v in losses.items()}
        history.append(row)
        if progress and ((step + 1) % 50 == 0 or step + 1 == steps):
            parts = " ".join(f"exit {k}: {row[f'loss_{k}']:.3f}" for k in trainable)
            print(f"step {step + 1}/{steps} ({time.perf_counter() - start:.0f} s) loss {parts}", flush=True)
    heads.eval()
    return heads, history


# -- saving -------------------------------------------------------------------------------------------------


def save_exits(heads: ExitHeads, folder: Path, card: dict[str, Any]) -> Path:
    """Write the trained heads to ``folder/exits.safetensors`` (float32, keys ``exit_<k>.weight``) and
    ``card`` plus the exits and shapes to ``folder/exits.json``, both atomically; return the card's path."""
    from safetensors.torch import save

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {
        f"exit_{k}.weight": heads.linear(k).weight.detach().float().contiguous()
        for k in heads.trainable_exits
    }
    write_bytes_atomic(
        folder / WEIGHTS_FILE, save(tensors, metadata={"exits": json.dumps(list(heads.exits))})
    )
    vocab, hidden = (int(n) for n in heads._shared[1].weight.shape)
    full = {
        "exits": list(heads.exits),
        "trained_exits": list(heads.trainable_exits),
        "num_layers": heads.num_layers,
        "head": {"shape": [vocab, hidden], "bias": False, "dtype": "float32", "file": WEIGHTS_FILE},
        "note": "exit k = after decoder layer k (1-based); logits_k = W_k · final_norm(h_k) with the model's "
        "own frozen final norm; exit L (if listed) is the model's own norm + lm_head, not trained",
    } | card
    path = folder / CARD_FILE
    write_text_atomic(path, json.dumps(full, indent=2) + "\n")
    return path


def load_exits(lm: LoadedLM, folder: Path) -> ExitHeads:
    """The heads saved by :func:`save_exits` in ``folder``, attached to ``lm`` (checked against its depth
    and its head's shape)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    card_path, weights_path = folder / CARD_FILE, folder / WEIGHTS_FILE
    if not card_path.is_file() or not weights_path.is_file():
        raise ConfigError(
            f"exits folder {str(folder)!r} must hold {CARD_FILE} and {WEIGHTS_FILE} "
            "(write them with `splitgym compress exits --out DIR`)"
        )
    try:
        card = json.loads(card_path.read_text())
        exits = card["exits"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"{card_path} is not an exits card: {exc}") from None
    if int(card.get("num_layers", lm.num_layers)) != lm.num_layers:
        raise ConfigError(
            f"exits in {str(folder)!r} were trained for {card['num_layers']} layers; "
            f"model {lm.name!r} has {lm.num_layers}"
        )
    heads = ExitHeads(lm, exits)
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError) as exc:
        raise ConfigError(f"{weights_path} is not a readable safetensors file: {exc}") from None
    expected = {f"exit_{k}.weight" for k in heads.trainable_exits}
    if set(tensors) != expected:
        raise ConfigError(f"{weights_path} holds {sorted(tensors)}, expected {sorted(expected)}")
    for k in heads.trainable_exits:
        linear = heads.linear(k)
        weight = tensors[f"exit_{k}.weight"]
        if tuple(weight.shape) != tuple(linear.weight.shape):
            raise ConfigError(
                f"exit {k} head in {weights_path} has shape {tuple(weight.shape)}, "
                f"the model needs {tuple(linear.weight.shape)}"
            )
        with torch.no_grad():
            linear.weight.copy_(weight)
    heads.eval()
    return heads


# -- voting -----------------------------------------------------------------------------------------------


def _stack(probs: Sequence[Tensor]) -> Tensor:
    if len(probs) == 0:
        raise ConfigError("voting needs the probabilities of at least one exit, got none")
    shapes = {tuple(p.shape) for p in probs}
    if len(shapes) != 1:
        raise ConfigError(f"every exit's probabilities must have the same shape, got {sorted(shapes)}")
    return torch.stack(list(probs))


def max_confidence_vote(probs: Sequence[Tensor]) -> Tensor:
    """The paper's vote: ``q(c) = max_k p_k(c) / sum_c' max_k p_k(c')`` over the last (vocabulary) axis.

    ``argmax q`` is the answer of the most confident exit (the exit whose top probability is largest).
    """
    top = _stack(probs).max(dim=0).values
    return top / top.sum(dim=-1, keepdim=True)


def majority_vote(probs: Sequence[Tensor]) -> Tensor:
    """Each exit votes for its ``argmax``; the class with the most votes wins, ties broken by the summed
    probability ``sum_k p_k(c)``. Returns the predicted ids (shape of ``probs[0]`` without the last axis)."""
    stacked = _stack(probs)
    n = stacked.shape[0]
    votes = nn.functional.one_hot(stacked.argmax(dim=-1), stacked.shape[-1]).sum(dim=0).to(stacked.dtype)
    # sum_k p_k(c) <= n < n + 1, so the vote count dominates and the summed probability only breaks ties.
    return (votes * (n + 1) + stacked.sum(dim=0)).argmax(dim=-1)


def operating_points(exits: Sequence[int], num_layers: int) -> list[tuple[str, tuple[int, ...]]]:
    """The sets of exits that can have run, named by scenario.

    * ``device <= k``: a split after layer ``k`` whose server is unreachable: the device's exits ``<= k``
      ran (every exit when ``k`` is the deepest, i.e. the whole model ran);
    * ``exit k + output``: the device's exit ``k`` and the model's own output (the server's answer), when
      the deepest exit is ``L``.

    Sets of a single exit are left out (a vote over one exit is that exit).
    """
    points: list[tuple[str, tuple[int, ...]]] = []
    for k in exits[1:]:
        members = tuple(e for e in exits if e <= k)
        name = "all exits" if k == exits[-1] else f"device <= {k}"
        points.append((name, members))
    if exits[-1] == num_layers:
        for k in exits[:-1]:
            pair = (k, num_layers)
            if all(members != pair for _, members in points):
                points.append((f"exit {k} + output", pair))
    return points


def evaluate_exits(
    lm: LoadedLM,
    heads: ExitHeads,
    ids: NDArray[np.int64] | Tensor,
    window: int = 256,
    batch: int = 16,
) -> pd.DataFrame:
    """Per-exit perplexity and accuracy, and both votes at every :func:`operating_points` set, on
    non-overlapping ``window``-token windows of ``ids``.

    Rows: ``method == "single"`` (one per exit), then per operating point ``"best single"`` (the exit of the
    set with the highest accuracy on this data: an oracle choice, which favours the single exit),
    ``"max-confidence"`` (accuracy and the perplexity of the renormalised ``q``) and ``"majority"`` (accuracy
    only). ``gain_vs_best_single`` is the accuracy minus the best single exit's of the same set.
    """
    chunks = _windows(ids, window)
    exits = heads.exits
    points = operating_points(exits, heads.num_layers)
    nll = {k: 0.0 for k in exits}
    correct = {k: 0 for k in exits}
    mc_nll = {name: 0.0 for name, _ in points}
    mc_correct = {name: 0 for name, _ in points}
    mj_correct = {name: 0 for name, _ in points}
    count = 0
    with torch.inference_mode():
        for i in range(0, len(chunks), batch):
            x = chunks[i : i + batch]
            target = x[:, 1:]
            logits = exit_logits(lm, heads, x)
            probs = {}
            for k in exits:
                logp = torch.log_softmax(logits[k][:, :-1].double(), dim=-1)
                nll[k] -= float(logp.gather(-1, target[..., None]).sum())
                correct[k] += int((logp.argmax(-1) == target).sum())
                probs[k] = logp.exp()
            for name, members in points:
                q = max_confidence_vote([probs[k] for k in members])
                mc_nll[name] -= float(q.gather(-1, target[..., None]).log().sum())
                mc_correct[name] += int((q.argmax(-1) == target).sum())
                mj_correct[name] += int((majority_vote([probs[k] for k in members]) == target).sum())
            count += target.numel()

    def ppl(total: float) -> float:
        return math.exp(min(total / count, 700.0))

    rows: list[dict[str, Any]] = []
    for k in exits:
        rows.append(
            {
                "point": f"exit {k}",
                "exits": str(k),
                "method": "single",
                "best_exit": k,
                "accuracy": correct[k] / count,
                "perplexity": ppl(nll[k]),
            }
        )
    for name, members in points:
        best = max(members, key=lambda k: (correct[k], k))
        base = {"point": name, "exits": " ".join(map(str, members))}
        rows.append(
            base
            | {
                "method": "best single",
                "best_exit": best,
                "accuracy": correct[best] / count,
                "perplexity": ppl(nll[best]),
            }
        )
        rows.append(
            base
            | {
                "method": "max-confidence",
                "best_exit": best,
                "accuracy": mc_correct[name] / count,
                "perplexity": ppl(mc_nll[name]),
            }
        )
        rows.append(
            base
            | {
                "method": "majority",
                "best_exit": best,
                "accuracy": mj_correct[name] / count,
                "perplexity": float("nan"),
            }
        )
    frame = pd.DataFrame(rows)
    best_acc = frame[frame["method"].isin(["single", "best single"])].set_index("point")["accuracy"]
    frame["gain_vs_best_single"] = frame["accuracy"] - frame["point"].map(best_acc)
    frame["tokens"] = count
    return frame


def training_card(
    heads: ExitHeads,
    history: list[dict[str, float]],
    settings: dict[str, Any],
    held_out: pd.DataFrame,
    held_out_init: pd.DataFrame,
    seconds: float,
) -> dict[str, Any]:
    """The ``exits.json`` fields of a training run: settings, tokens seen, per-exit held-out perplexity and
    accuracy of the trained heads and of their untrained init (``lm_head`` copies), versions and date."""
    import safetensors
    import transformers

    def per_exit(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
        single = frame[frame["method"] == "single"]
        return {
            str(r.best_exit): {
                "perplexity": round(float(r.perplexity), 4),
                "accuracy": round(float(r.accuracy), 4),
            }
            for r in single.itertuples()
        }

    last = history[-1] if history else {}
    return {
        "training": settings
        | {
            "training_tokens": int(settings["steps"]) * int(settings["batch"]) * int(settings["window"]),
            "optimizer": "AdamW(weight_decay=0) on the exit heads only, backbone and final norm frozen "
            "(hidden states under torch.no_grad); warm-up 5 % then cosine to 10 %",
            "loss": "sum over trained exits of next-token cross-entropy (nats)",
            "final_loss": {
                k.removeprefix("loss_"): round(v, 4) for k, v in last.items() if k.startswith("loss_")
            },
            "wall_time_s": round(seconds, 1),
        },
        "held_out": {
            "tokens": int(held_out["tokens"].iloc[0]),
            "window": int(settings["window"]),
            "trained": per_exit(held_out),
            "untrained_init": per_exit(held_out_init),
        },
        "versions": {
            "torch": str(torch.__version__),
            "transformers": transformers.__version__,
            "safetensors": safetensors.__version__,
        },
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }
