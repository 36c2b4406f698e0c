"""Train the reference LLM deterministically on the standard-library corpus; write weights and model card.

Training: next-byte cross-entropy on random windows of ``seq_len`` bytes of the training split (window
starts drawn from ``numpy.random.default_rng(seed)``), AdamW with linear warm-up then cosine decay to
10 % of the peak rate, gradient clipping at 1.0, bfloat16 autocast on CPU. It checkpoints every
``checkpoint_every`` steps and resumes from the checkpoint, so an interrupted run loses at most that many
steps and ends with the same weights as an uninterrupted one.

Output folder: ``config.json`` + ``model.safetensors`` (float16, loadable with
``AutoModelForCausalLM.from_pretrained(folder)``) and ``model_card.json`` (architecture, corpus selection
and digests, steps, seed, held-out perplexity and next-byte accuracy of the shipped weights, and the
unigram-byte baseline on the same held-out text).
"""

from __future__ import annotations

import json
import math
import os
import pickle
import platform
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from splitgym.atomic import write_text_atomic
from splitgym.errors import ConfigError
from splitgym.profiles.reference.corpus import Corpus, load_corpus
from splitgym.profiles.reference.model import REFERENCE_ARCH, reference_config

__all__ = ["TrainSettings", "card_summary", "evaluate_bytes", "train_reference", "unigram_baseline"]


@dataclass(frozen=True)
class TrainSettings:
    """Hyperparameters of the reference model's training (defaults: about an hour on 2 CPU cores)."""

    steps: int = 1400
    batch_size: int = 32
    seq_len: int = 256
    lr: float = 3e-3
    warmup: int = 60
    weight_decay: float = 0.1
    seed: int = 0
    threads: int = 2
    checkpoint_every: int = 200

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "seq_len", "warmup", "threads", "checkpoint_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.seq_len > int(REFERENCE_ARCH["max_position_embeddings"]):
            raise ConfigError(
                f"seq_len must be <= {REFERENCE_ARCH['max_position_embeddings']}, got {self.seq_len}"
            )
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")


def _lr_at(step: int, s: TrainSettings) -> float:
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    progress = (step - s.warmup) / max(s.steps - s.warmup, 1)
    return s.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


def unigram_baseline(train: NDArray[np.uint8], held_out: NDArray[np.uint8]) -> dict[str, float]:
    """Perplexity and accuracy on ``held_out`` of byte frequencies counted on ``train`` (add-one smoothed)."""
    counts = np.bincount(train, minlength=256).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    nll = -float(np.mean(logp[held_out]))
    return {
        "perplexity": math.exp(nll),
        "bits_per_byte": nll / math.log(2),
        "accuracy": float(np.mean(held_out == int(np.argmax(counts)))),
    }


def evaluate_bytes(
    model: Any, data: NDArray[np.uint8], window: int = 256, batch: int = 16
) -> dict[str, float]:
    """Held-out perplexity ``exp(mean NLL)`` and next-byte accuracy over non-overlapping ``window``-byte
    chunks of ``data`` (each chunk predicts its bytes 2..window from the bytes before them)."""
    import torch

    n = (len(data) // window) * window
    if n == 0:
        raise ConfigError(f"held-out data has {len(data)} bytes, fewer than one window of {window}")
    chunks = torch.from_numpy(data[:n].astype(np.int64)).view(-1, window)
    total_nll, total_correct, total = 0.0, 0, 0
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(chunks), batch):
            x = chunks[i : i + batch]
            logits = model(input_ids=x).logits[:, :-1].float()
            target = x[:, 1:]
            nll = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="sum"
            )
            total_nll += float(nll)
            total_correct += int((logits.argmax(-1) == target).sum())
            total += target.numel()
    mean = total_nll / total
    return {
        "perplexity": math.exp(mean),
        "bits_per_byte": mean / math.log(2),
        "accuracy": total_correct / total,
    }


def train_reference(
    out_dir: Path, settings: TrainSettings | None = None, progress: bool = False, corpus: Corpus | None = None
) -> dict[str, Any]:
    """Train (or resume) the reference model into ``out_dir``; return its model card."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM

    s = settings or TrainSettings()
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(s.threads)
    corpus = corpus or load_corpus()
    if len(corpus.train) <= s.seq_len + 1:
        raise ConfigError(f"training corpus has only {len(corpus.train)} bytes")
    torch.manual_seed(s.seed)
    model = AutoModelForCausalLM.from_config(reference_config(), dtype=torch.float32)  # type: ignore[no-untyped-call]
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optim = torch.optim.AdamW(
        [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=s.lr,
        betas=(0.9, 0.95),
    )
    rng = np.random.default_rng(s.seed)
    step, elapsed = 0, 0.0
    ckpt = out_dir / "checkpoint.pt"
    if ckpt.is_file():
        try:  # weights only: tensors and plain values, never arbitrary pickled objects
            state = torch.load(ckpt, weights_only=True)
        except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:
            raise ConfigError(
                f"{ckpt} is not a checkpoint of this trainer ({exc}); delete it to restart"
            ) from None
        if state["settings"] != asdict(s):
            raise ConfigError(
                f"{ckpt} was made with other settings {state['settings']}; delete it to restart"
            )
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        rng.bit_generator.state = state["rng"]
        step, elapsed = int(state["step"]), float(state["elapsed"])
    data = torch.from_numpy(corpus.train.astype(np.int64))
    offsets = torch.arange(s.seq_len + 1)
    model.train()
    bar = tqdm(total=s.steps, initial=step, disable=not progress, desc="train reference", unit="step")
    start = time.perf_counter() - elapsed
    loss_value = float("nan")
    while step < s.steps:
        starts = torch.from_numpy(rng.integers(0, len(data) - s.seq_len - 1, size=s.batch_size))
        batch = data[starts[:, None] + offsets]
        for group in optim.param_groups:
            group["lr"] = _lr_at(step, s)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(input_ids=batch[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, 256), batch[:, 1:].reshape(-1))
        optim.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        step += 1
        current = float(loss.detach())
        loss_value = 0.95 * loss_value + 0.05 * current if math.isfinite(loss_value) else current
        bar.update(1)
        bar.set_postfix(loss=f"{loss_value:.3f}", bits=f"{loss_value / math.log(2):.2f}")
        if step % s.checkpoint_every == 0 or step == s.steps:
            state = {
                "model": model.state_dict(),
                "optim": optim.state_dict(),
                "rng": rng.bit_generator.state,
                "step": step,
                "elapsed": time.perf_counter() - start,
                "settings": asdict(s),
            }
            torch.save(state, ckpt.with_suffix(".tmp"))
            os.replace(ckpt.with_suffix(".tmp"), ckpt)
    bar.close()
    train_seconds = time.perf_counter() - start

    model.to(torch.float16).save_pretrained(out_dir, safe_serialization=True)
    shipped = AutoModelForCausalLM.from_pretrained(out_dir, dtype=torch.float32)
    held_out = evaluate_bytes(shipped, corpus.validation)
    import transformers

    card = {
        "name": "splitgym-reference",
        "architecture": REFERENCE_ARCH | {"parameters": int(sum(p.numel() for p in shipped.parameters()))},
        "weights": {"file": "model.safetensors", "dtype": "float16"},
        "tokenizer": "bytes: token = UTF-8 byte value (0..255), no special tokens",
        "corpus": {
            "source": "Python standard library source files of the training interpreter",
            "python": platform.python_version(),
            "root": 'sysconfig.get_paths()["stdlib"] of the training interpreter',
            "selection": "profiles/reference/corpus.py: all *.py outside EXCLUDED_DIRS, sorted; a file is "
            "held out when sha1(relative path)[0] < 16",
            "train_files": len(corpus.train_files),
            "train_bytes": len(corpus.train),
            "train_sha256": corpus.digest("train"),
            "validation_files": list(corpus.validation_files),
            "validation_bytes": len(corpus.validation),
            "validation_sha256": corpus.digest("validation"),
        },
        "training": asdict(s)
        | {
            "optimizer": "AdamW(betas=(0.9, 0.95)), warm-up then cosine to 10 %, clip 1.0, bf16 autocast",
            "tokens_seen": s.steps * s.batch_size * s.seq_len,
            "wall_time_s": round(train_seconds, 1),
            "final_train_loss_ema": round(loss_value, 4),
        },
        "held_out": {"window": 256, **{k: round(v, 4) for k, v in held_out.items()}},
        "unigram_baseline": {
            k: round(v, 4) for k, v in unigram_baseline(corpus.train, corpus.validation).items()
        },
        "versions": {"torch": str(torch.__version__), "transformers": transformers.__version__},
        "machine": {"processor": platform.processor() or platform.machine(), "threads": s.threads},
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }
    write_text_atomic(out_dir / "model_card.json", json.dumps(card, indent=2) + "\n")
    ckpt.unlink(missing_ok=True)
    return card


def card_summary(card: Mapping[str, Any]) -> str:
    """One line on a trained reference model: held-out perplexity, accuracy and the unigram baseline."""
    held, base = card["held_out"], card["unigram_baseline"]
    return (
        f"held-out perplexity {held['perplexity']:.3f} ({held['bits_per_byte']:.3f} bits/byte), next-byte "
        f"accuracy {held['accuracy']:.3f}; unigram baseline perplexity {base['perplexity']:.3f} "
        f"(ratio {base['perplexity'] / held['perplexity']:.2f})"
    )
