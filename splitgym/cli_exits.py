"""``splitgym compress exits|vote|tune-memory``: early exits, voting and adaptive layer tuning."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from splitgym.errors import ConfigError

__all__ = ["add_exit_commands"]


def _threads(n: int) -> None:
    import torch

    if n < 1:
        raise ConfigError(f"--threads must be >= 1, got {n}")
    torch.set_num_threads(n)


def _fmt(value: Any, digits: int = 4) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _markdown(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _per_exit_table(frame: Any, init: Any | None = None) -> str:
    single = frame[frame["method"] == "single"]
    header = ["exit (after layer)", "perplexity", "accuracy"]
    rows: list[list[Any]] = [
        [int(r.best_exit), float(r.perplexity), float(r.accuracy)] for r in single.itertuples()
    ]
    if init is not None:
        base = init[init["method"] == "single"].set_index("best_exit")
        header += ["untrained-init perplexity", "untrained-init accuracy"]
        for row in rows:
            row += [float(base.loc[row[0], "perplexity"]), float(base.loc[row[0], "accuracy"])]
    return _markdown(header, rows)


def _voting_table(frame: Any) -> str:
    header = [
        "operating point",
        "exits that ran",
        "best single exit",
        "best single acc",
        "best single ppl",
        "max-conf acc",
        "max-conf ppl",
        "max-conf − best",
        "majority acc",
        "majority − best",
    ]
    rows = []
    points = frame[frame["method"] != "single"]
    for point, group in points.groupby("point", sort=False):
        by = group.set_index("method")
        rows.append(
            [
                point,
                by.loc["best single", "exits"],
                int(by.loc["best single", "best_exit"]),
                float(by.loc["best single", "accuracy"]),
                float(by.loc["best single", "perplexity"]),
                float(by.loc["max-confidence", "accuracy"]),
                float(by.loc["max-confidence", "perplexity"]),
                float(by.loc["max-confidence", "gain_vs_best_single"]),
                float(by.loc["majority", "accuracy"]),
                float(by.loc["majority", "gain_vs_best_single"]),
            ]
        )
    return _markdown(header, rows)


def _write_frame(frame: Any, out: Path, stem: str, markdown: str) -> None:
    from splitgym.atomic import write_text_atomic

    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / f"{stem}.csv", frame.to_csv(index=False, float_format="%.6g"))
    write_text_atomic(out / f"{stem}.md", markdown)
    print(f"wrote {out / stem}.csv and {stem}.md")


def _held_out_ids(lm: Any, tokens: int, window: int, flag: str = "--tokens") -> Any:
    from splitgym.profiles.live import held_out_text

    if window < 2:
        raise ConfigError(f"--window must be >= 2 tokens, got {window}")
    if tokens < window:
        raise ConfigError(f"{flag} must be at least one window of {window} tokens, got {tokens}")
    return lm.encode(held_out_text())[:tokens]


def _cmd_exits(args: argparse.Namespace) -> int:
    from splitgym.profiles.compression.exits import (
        ExitHeads,
        evaluate_exits,
        save_exits,
        train_exits,
        training_card,
    )
    from splitgym.profiles.llm import load_causal_lm
    from splitgym.profiles.reference.corpus import load_corpus

    _threads(args.threads)
    lm = load_causal_lm(args.model)
    untrained = ExitHeads(lm, args.exits)  # checks the exits before any slow work
    corpus = load_corpus()
    held_out = _held_out_ids(lm, args.eval_tokens, args.window, "--eval-tokens")
    init = evaluate_exits(lm, untrained, held_out, window=args.window)
    start = time.perf_counter()
    heads, history = train_exits(
        lm,
        lm.encode(corpus.train.tobytes()),
        exits=args.exits,
        steps=args.steps,
        lr=args.lr,
        seed=args.seed,
        batch=args.batch,
        window=args.window,
        progress=args.progress,
    )
    seconds = time.perf_counter() - start
    trained = evaluate_exits(lm, heads, held_out, window=args.window)
    settings = {
        "model": lm.name,
        "steps": args.steps,
        "lr": args.lr,
        "seed": args.seed,
        "batch": args.batch,
        "window": args.window,
        "threads": args.threads,
        "corpus_train_sha256": corpus.digest("train"),
    }
    card = training_card(heads, history, settings, trained, init, seconds)
    path = save_exits(heads, Path(args.out), card)
    print(f"trained exits {list(heads.trainable_exits)} for {args.steps} steps in {seconds:.0f} s -> {path}")
    print(f"held-out ({int(trained['tokens'].iloc[0])} tokens, windows of {args.window}):")
    print(_per_exit_table(trained, init), end="")
    return 0


def _default_exits_dir(model: str) -> Path:
    from splitgym.profiles.llm import reference_path

    if model != "reference":
        raise ConfigError(
            f"--exits-dir is required for model {model!r} (the shipped exits are the reference's)"
        )
    return reference_path() / "exits"


def _cmd_vote(args: argparse.Namespace) -> int:
    from splitgym.profiles.compression.exits import evaluate_exits, load_exits
    from splitgym.profiles.llm import load_causal_lm

    _threads(args.threads)
    lm = load_causal_lm(args.model)
    folder = Path(args.exits_dir) if args.exits_dir else _default_exits_dir(args.model)
    heads = load_exits(lm, folder)
    frame = evaluate_exits(lm, heads, _held_out_ids(lm, args.tokens, args.window), window=args.window)
    tokens = int(frame["tokens"].iloc[0])
    text = (
        "# Early exits and voting\n\n"
        f"Model `{lm.name}`, exit heads from `{folder}`, held-out text: {tokens} predicted tokens "
        f"(non-overlapping windows of {args.window}). Exit k = after decoder layer k; exit "
        f"{lm.num_layers} is the model's own output. Perplexity = exp(mean NLL, nats/token); accuracy = "
        "next-token top-1.\n\n## Per exit\n\n"
        + _per_exit_table(frame)
        + "\n## Voting at each operating point\n\n"
        "Max-confidence = the paper's rule: element-wise max over the exits of the softmax probabilities, "
        "renormalised (its argmax is the most confident exit's answer; its perplexity is that of the "
        "renormalised distribution). Majority = each exit votes its argmax, ties broken by the summed "
        "probability. Best single = the exit of the set with the highest accuracy on this data (an oracle "
        "choice). Differences are in accuracy (fraction of tokens).\n\n" + _voting_table(frame)
    )
    beats = frame[(frame["method"] != "single") & (frame["method"] != "best single")]
    best = beats.loc[beats["gain_vs_best_single"].idxmax()]
    gain = float(best["gain_vs_best_single"])
    where = f"{best['method']} at '{best['point']}', {gain:+.4f}"
    verdict = (
        f"\nVerdict: voting beats the best single exit at this operating point ({where}).\n"
        if gain > 0
        else "\nVerdict: voting does not beat the best single exit at any operating point "
        f"(closest: {where}).\n"
    )
    text += verdict
    _write_frame(frame, Path(args.out), "exits_voting", text)
    print(text, end="")
    return 0


def _cmd_tune_memory(args: argparse.Namespace) -> int:
    import torch

    from splitgym.profiles.compression.exits import ExitHeads
    from splitgym.profiles.compression.tuning import tuning_memory_table, window_schedule
    from splitgym.profiles.llm import load_causal_lm

    _threads(args.threads)
    lm = load_causal_lm(args.model)
    limit = int(getattr(lm.model.config, "max_position_embeddings", 256) or 256)
    if args.tokens < 2:
        raise ConfigError(f"--tokens must be >= 2, got {args.tokens}")
    seq = min(args.tokens, limit)
    if args.tokens % seq:
        raise ConfigError(f"--tokens {args.tokens} must be a multiple of the sequence length {seq}")
    ids = torch.from_numpy(_held_out_ids(lm, args.tokens, seq)).view(-1, seq)
    schedule = window_schedule(lm.num_layers, args.window)
    heads = ExitHeads(lm, [last for _, last in schedule])  # an exit after every window; values don't matter
    frame = tuning_memory_table(lm, heads, ids, window=args.window, repeats=args.repeats)
    header = [
        "configuration",
        "layers run (fwd)",
        "layers backprop",
        "trainable params",
        "activation MiB",
        "memory saving ×",
        "time / iter ms",
        "speed-up ×",
    ]
    rows = [
        [
            r.config,
            int(r.layers_forward),
            int(r.layers_backprop),
            int(r.trainable_params),
            float(r.activation_mib),
            float(r.memory_saving),
            float(r.time_ms),
            float(r.speedup),
        ]
        for r in frame.itertuples()
    ]
    text = (
        "# Adaptive layer tuning: activation memory and time per iteration\n\n"
        f"Model `{lm.name}` ({lm.num_layers} layers), batch {ids.shape[0]} × {ids.shape[1]} tokens, "
        f"window of {args.window} layers, {args.threads} CPU thread(s), time = median of {args.repeats} "
        "iterations (forward + backward) after one warm-up. Activation memory = bytes of the unique "
        "storages autograd saves for backward in one training forward "
        "(torch.autograd.graph.saved_tensors_hooks, deduplicated "
        "by data_ptr, parameters excluded). Full depth = every parameter trainable, loss at the output. "
        "Window = its layers and exit head trainable, layers below under no_grad, forward stopped at the "
        'exit. "Full forward (released code)" = the same window, but the forward runs to the model\'s end as '
        "the released Edge-LLM code does.\n\n" + _markdown(header, rows)
    )
    _write_frame(frame, Path(args.out), "tuning_memory", text)
    print(text, end="")
    return 0


def add_exit_commands(csub: Any) -> None:
    """Add the exit and tuning subcommands to the ``compress`` subparsers ``csub``."""
    p = csub.add_parser("exits", help="train early-exit heads on a frozen model and save them (+ card)")
    p.add_argument("--model", default="reference", help="'reference' or a local Hugging Face model folder")
    p.add_argument(
        "--exits", type=int, nargs="+", default=None, help="exit layers (1-based), default quarter depth"
    )
    p.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (default 3e-3)")
    p.add_argument("--batch", type=int, default=16, help="windows per step (default 16)")
    p.add_argument("--window", type=int, default=256, help="tokens per window (default 256)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-tokens", type=int, default=65536, help="held-out tokens to evaluate the exits on")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--out", default="exits", help="folder for exits.safetensors and exits.json")
    p.add_argument("--progress", action="store_true", help="print the loss every 50 steps")
    p.set_defaults(func=_cmd_exits)

    p = csub.add_parser("vote", help="per-exit accuracy and max-confidence / majority voting over exits")
    p.add_argument("--model", default="reference")
    p.add_argument("--exits-dir", default=None, help="folder written by `compress exits` (default: shipped)")
    p.add_argument("--tokens", type=int, default=2048, help="held-out tokens (default 2048)")
    p.add_argument("--window", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=".", help="folder for exits_voting.csv/.md")
    p.set_defaults(func=_cmd_vote)

    p = csub.add_parser(
        "tune-memory", help="activation memory and time per iteration: window tuning vs full depth"
    )
    p.add_argument("--model", default="reference")
    p.add_argument("--window", type=int, default=3, help="layers per tuning window (default 3)")
    p.add_argument("--tokens", type=int, default=256, help="tokens per iteration (default 256)")
    p.add_argument("--repeats", type=int, default=5, help="timed iterations (median)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=".", help="folder for tuning_memory.csv/.md")
    p.set_defaults(func=_cmd_tune_memory)
