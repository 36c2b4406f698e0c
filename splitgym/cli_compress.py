"""``splitgym compress ...``: Edge-LLM compression, exits and tuning on a real model (subcommands)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_compress_parser"]


def _cmd_table(args: argparse.Namespace) -> int:
    import torch

    from splitgym.errors import ConfigError
    from splitgym.profiles.compression.exits import load_exits
    from splitgym.profiles.compression.sensitivity import per_layer_score
    from splitgym.profiles.compression.table import measure_compressed_quality
    from splitgym.profiles.live import held_out_text
    from splitgym.profiles.llm import load_causal_lm
    from splitgym.profiles.profile import resolve_profile, write_profile

    torch.manual_seed(args.seed)
    lm = load_causal_lm(args.model)
    exits_dir = Path(args.exits_dir) if args.exits_dir else lm.path / "exits"
    if not exits_dir.is_dir():
        raise ConfigError(
            f"--exits-dir {str(exits_dir)!r} does not exist (train exits: 'splitgym compress exits')"
        )
    heads = load_exits(lm, exits_dir)
    sens = resolve_profile(args.sensitivity).table
    ids = lm.encode(held_out_text())[: args.tokens]
    table, meta = measure_compressed_quality(
        lm, heads, ids, per_layer_score(sens, "prune"), per_layer_score(sens, "quant"),
        snrs=tuple(args.snrs), operator=args.operator, seed=args.seed, progress=args.progress,
    )  # fmt: skip
    name = args.name or f"{lm.name}_compressed_{args.operator}"
    meta = {
        "name": name,
        "kind": "compressed_quality",
        "source": "measured",
        "model": lm.name,
        "device": "x86_64 CPU (quality does not depend on the device)",
        "axes": ["budget", "mode", "snr_db", "split"],
        "categories": {"budget": sorted(table["budget"].unique().tolist()), "mode": ["edge", "exit", "vote"]},
        "units": {
            "budget": "none, or <luc|uniform>-<mean sparsity>-<base weight bits> over the device-side layers",
            "mode": "edge: the edge's output; exit: the device's deepest exit <= split; vote: max-confidence "
            "vote over every exit that ran",
            "snr_db": "symbol SNR Es/N0 of the channel the hidden state crosses (dB)",
            "split": "decoder layers on the device (count)",
            "quality": "1 - PPL/PPL_clean (dimensionless), PPL_clean of the uncompressed model",
            "perplexity": "exp(mean next-token NLL)",
            "feasible": "1 if the mode can run at this split (exit needs an exit <= split)",
        },
        "sensitivity": str(args.sensitivity),
        "exits_dir": str(exits_dir.name),
        **meta,
    }
    path = write_profile(table, meta, Path(args.out))
    pivot = table[(table["mode"] == "edge") & (table["snr_db"] == max(args.snrs))]
    print(pivot.pivot(index="budget", columns="split", values="quality").round(3).to_string())
    print(f"written: {path}")
    return 0


def _point(text: str) -> tuple[str, float, int]:
    try:
        budget, snr, split = text.split(":")
        return budget, float(snr), int(split)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} must look like BUDGET:SNR_DB:SPLIT, e.g. luc-0.7-4:5:7"
        ) from None


def _cmd_vote_channel(args: argparse.Namespace) -> int:
    import torch

    from splitgym.atomic import write_text_atomic
    from splitgym.errors import ConfigError
    from splitgym.markdown import markdown_table
    from splitgym.profiles.compression.exits import load_exits
    from splitgym.profiles.compression.sensitivity import per_layer_score
    from splitgym.profiles.compression.vote_channel import vote_under_channel
    from splitgym.profiles.live import held_out_text
    from splitgym.profiles.llm import load_causal_lm
    from splitgym.profiles.profile import resolve_profile

    torch.set_num_threads(1)
    lm = load_causal_lm(args.model)
    for _, _, k in args.points:
        if not 1 <= k < lm.num_layers:
            raise ConfigError(
                f"split {k} of a point must be in 1..{lm.num_layers - 1} (the channel is crossed)"
            )
    heads = load_exits(lm, Path(args.exits_dir) if args.exits_dir else lm.path / "exits")
    sens = resolve_profile(args.sensitivity).table
    ids = lm.encode(held_out_text())[: args.tokens]
    frame = vote_under_channel(
        lm, heads, ids, per_layer_score(sens, "prune"), per_layer_score(sens, "quant"), args.points
    )
    text = frame.round(4).to_string(index=False)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "vote_channel.csv", frame.to_csv(index=False))
    write_text_atomic(out / "vote_channel.md", markdown_table(frame))
    print(f"written: {out / 'vote_channel.csv'}")
    return 0


def add_compress_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``compress`` and its subcommands to the top-level subparsers ``sub``."""
    p = sub.add_parser("compress", help="Edge-LLM: layer sensitivity, LUC compression, exits, window tuning")
    csub = p.add_subparsers(dest="compress", required=True, parser_class=parser_class)
    from splitgym.cli_exits import add_exit_commands
    from splitgym.cli_luc import add_luc_commands

    add_luc_commands(csub)
    add_exit_commands(csub)
    b = csub.add_parser("table", help="measure the compression environment's quality table")
    b.add_argument("--model", default="reference")
    b.add_argument("--exits-dir", help="trained exit heads (default: <model>/exits)")
    b.add_argument("--sensitivity", default="compression/reference_sensitivity_magnitude")
    b.add_argument("--operator", default="fading")
    b.add_argument("--snrs", nargs="+", type=float, default=[-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 30.0])
    b.add_argument("--tokens", type=int, default=1024)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--name", help="profile name (default: <model>_compressed_<operator>)")
    b.add_argument("--out", default="profiles-out", help="output folder")
    b.add_argument("--progress", "-P", action="store_true")
    b.set_defaults(func=_cmd_table)
    b = csub.add_parser(
        "vote-channel", help="every exit against the vote when the edge's exits see the channel"
    )
    b.add_argument("--model", default="reference")
    b.add_argument("--exits-dir", help="trained exit heads (default: <model>/exits)")
    b.add_argument("--sensitivity", default="compression/reference_sensitivity_magnitude")
    b.add_argument(
        "--points", nargs="+", type=_point, metavar="BUDGET:SNR:SPLIT",
        default=[_point(p) for p in ("none:10:6", "luc-0.3-8:20:6", "luc-0.7-4:5:7", "luc-0.7-4:10:9",
                                     "uniform-0.7-4:5:5")],
    )  # fmt: skip
    b.add_argument("--tokens", type=int, default=8192)
    b.add_argument("--out", default="benchmarks/results/compression")
    b.set_defaults(func=_cmd_vote_channel)
