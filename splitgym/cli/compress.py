"""``splitgym compress sensitivity|apply|exits|vote|tune-memory|table|vote-channel``: the Edge-LLM study on
a real model (:mod:`splitgym.profiles.compression.study` does the work)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from splitgym.cli.common import file_name, positive_int

__all__ = ["add_parser"]

_MODEL = "'reference' or a local Hugging Face checkpoint folder"
_SENSITIVITY = "compression/reference_sensitivity_magnitude"
_POINTS = ["none:10:6", "luc-0.3-8:20:6", "luc-0.7-4:5:7", "luc-0.7-4:10:9", "uniform-0.7-4:5:5"]


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _sensitivity(a: argparse.Namespace) -> int:
    from splitgym.profiles.compression.study import sensitivity_study

    print(sensitivity_study(a.model, a.method, a.tokens, a.window, a.seed, Path(a.out), a.name, a.progress))
    return 0


def _apply(a: argparse.Namespace) -> int:
    from splitgym.profiles.compression.study import apply_study

    print(
        apply_study(
            a.model,
            a.sensitivity,
            a.method,
            a.budgets,
            a.act_bits,
            a.tokens,
            a.calib_tokens,
            a.seed,
            a.device,
            Path(a.out),
        )
    )
    return 0


def _exits(a: argparse.Namespace) -> int:
    from splitgym.profiles.compression.study import exits_study

    print(
        exits_study(
            a.model,
            a.exits,
            a.steps,
            a.lr,
            a.batch,
            a.window,
            a.seed,
            a.eval_tokens,
            a.threads,
            Path(a.out),
            a.progress,
        ),
        end="",
    )
    return 0


def _vote(a: argparse.Namespace) -> int:
    from splitgym.profiles.compression.study import vote_study

    print(vote_study(a.model, _path(a.exits_dir), a.tokens, a.window, a.threads, Path(a.out)))
    return 0


def _tune_memory(a: argparse.Namespace) -> int:
    from splitgym.profiles.compression.study import tune_memory_study

    print(tune_memory_study(a.model, a.window, a.tokens, a.repeats, a.threads, Path(a.out)))
    return 0


def _table(a: argparse.Namespace) -> int:
    from splitgym.profiles.compression.study import table_study

    print(
        table_study(
            a.model,
            _path(a.exits_dir),
            a.sensitivity,
            a.operator,
            a.snrs,
            a.tokens,
            a.seed,
            a.name,
            Path(a.out),
            a.progress,
        )
    )
    return 0


def _vote_channel(a: argparse.Namespace) -> int:
    from splitgym.profiles.compression.study import parse_point, vote_channel_study

    points = [parse_point(p) for p in a.points]
    print(vote_channel_study(a.model, _path(a.exits_dir), a.sensitivity, points, a.tokens, Path(a.out)))
    return 0


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("compress", help="Edge-LLM: layer sensitivity, LUC compression, exits, window tuning")
    csub = p.add_subparsers(dest="compress", required=True, parser_class=parser_class)

    b = csub.add_parser("sensitivity", help="per-layer pruning and quantisation sensitivity (local MSE)")
    b.add_argument("--model", default="reference", help=_MODEL)
    b.add_argument("--method", default="magnitude", help="pruning mask: magnitude or wanda")
    b.add_argument("--tokens", type=positive_int, default=2048, help="calibration tokens (training split)")
    b.add_argument("--window", type=positive_int, default=256, help="tokens per calibration window")
    b.add_argument("--seed", type=int, default=0, help="seed of the calibration slices")
    b.add_argument("--out", default="profiles-out", help="output folder")
    b.add_argument("--name", type=file_name, help="profile name (default: <model>_sensitivity_<method>)")
    b.add_argument("--progress", "-P", action="store_true")
    b.set_defaults(func=_sensitivity)

    b = csub.add_parser("apply", help="LUC against matched uniform compression on held-out text")
    b.add_argument("--model", default="reference", help=_MODEL)
    b.add_argument(
        "--sensitivity",
        help="sensitivity profile: CSV path or shipped name "
        "(default: the shipped compression/<model>_sensitivity_<method>)",
    )
    b.add_argument("--method", default="magnitude", help="pruning mask: magnitude or wanda")
    b.add_argument(
        "--budgets",
        nargs="+",
        default=["0.3:8", "0.5:8", "0.5:4", "0.7:4"],
        metavar="SPARSITY:BITS",
        help="mean sparsity and base weight bits (default 0.3:8 0.5:8 0.5:4 0.7:4)",
    )
    b.add_argument("--act-bits", type=int, default=8, help="activation bits of every layer (default 8)")
    b.add_argument("--tokens", type=positive_int, default=2048, help="held-out evaluation tokens")
    b.add_argument("--calib-tokens", type=positive_int, default=2048, help="calibration tokens (Wanda)")
    b.add_argument("--seed", type=int, default=0, help="seed of the calibration slices")
    b.add_argument("--device", default="raspberry-pi-5", help="device class of the cost model")
    b.add_argument("--out", default="luc-out", help="folder for luc_vs_uniform.csv and .md")
    b.set_defaults(func=_apply)

    b = csub.add_parser("exits", help="train early-exit heads on a frozen model and save them (+ card)")
    b.add_argument("--model", default="reference", help=_MODEL)
    b.add_argument(
        "--exits", type=int, nargs="+", default=None, help="exit layers (1-based), default quarter depth"
    )
    b.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    b.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (default 3e-3)")
    b.add_argument("--batch", type=int, default=16, help="windows per step (default 16)")
    b.add_argument("--window", type=int, default=256, help="tokens per window (default 256)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--eval-tokens", type=int, default=65536, help="held-out tokens to evaluate the exits on")
    b.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    b.add_argument("--out", default="exits", help="folder for exits.safetensors and exits.json")
    b.add_argument("--progress", action="store_true", help="print the loss every 50 steps")
    b.set_defaults(func=_exits)

    b = csub.add_parser("vote", help="per-exit accuracy and max-confidence / majority voting over exits")
    b.add_argument("--model", default="reference")
    b.add_argument("--exits-dir", default=None, help="folder written by `compress exits` (default: shipped)")
    b.add_argument("--tokens", type=int, default=2048, help="held-out tokens (default 2048)")
    b.add_argument("--window", type=int, default=256)
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--out", default=".", help="folder for exits_voting.csv/.md")
    b.set_defaults(func=_vote)

    b = csub.add_parser(
        "tune-memory", help="activation memory and time per iteration: window tuning vs full depth"
    )
    b.add_argument("--model", default="reference")
    b.add_argument("--window", type=int, default=3, help="layers per tuning window (default 3)")
    b.add_argument("--tokens", type=int, default=256, help="tokens per iteration (default 256)")
    b.add_argument("--repeats", type=int, default=5, help="timed iterations (median)")
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--out", default=".", help="folder for tuning_memory.csv/.md")
    b.set_defaults(func=_tune_memory)

    b = csub.add_parser("table", help="measure the compression environment's quality table")
    b.add_argument("--model", default="reference")
    b.add_argument("--exits-dir", help="trained exit heads (default: <model>/exits)")
    b.add_argument("--sensitivity", default=_SENSITIVITY)
    b.add_argument("--operator", default="fading")
    b.add_argument("--snrs", nargs="+", type=float, default=[-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 30.0])
    b.add_argument("--tokens", type=positive_int, default=1024)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--name", type=file_name, help="profile name (default: <model>_compressed_<operator>)")
    b.add_argument("--out", default="profiles-out", help="output folder")
    b.add_argument("--progress", "-P", action="store_true")
    b.set_defaults(func=_table)

    b = csub.add_parser(
        "vote-channel", help="every exit against the vote when the edge's exits see the channel"
    )
    b.add_argument("--model", default="reference")
    b.add_argument("--exits-dir", help="trained exit heads (default: <model>/exits)")
    b.add_argument("--sensitivity", default=_SENSITIVITY)
    b.add_argument("--points", nargs="+", metavar="BUDGET:SNR:SPLIT", default=_POINTS)
    b.add_argument("--tokens", type=positive_int, default=8192)
    b.add_argument("--out", default="vote-channel-out", help="folder for vote_channel.csv/.md")
    b.set_defaults(func=_vote_channel)
