"""``splitgym profile list|train-reference|accuracy|plot|timings|scale``: measure and inspect profiles."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from splitgym.cli.common import file_name, positive_int, seed

__all__ = ["add_parser"]


def _list(args: argparse.Namespace) -> int:
    from splitgym.profiles.listing import profile_lines

    for line in profile_lines():
        print(line)
    return 0


def _train_reference(args: argparse.Namespace) -> int:
    from splitgym.profiles.reference.train import TrainSettings, card_summary, train_reference

    settings = TrainSettings(steps=args.steps, seed=args.seed, threads=args.threads)
    card = train_reference(Path(args.out), settings, progress=args.progress)
    print(f"reference model written to {args.out}\n{card_summary(card)}")
    return 0


def _accuracy(args: argparse.Namespace) -> int:
    from splitgym.agents.hyperparams import parse_kv
    from splitgym.profiles.accuracy import measure_accuracy_profile

    path = measure_accuracy_profile(
        Path(args.out),
        model=args.model,
        operator=args.operator,
        levels=args.levels,
        repeats=args.repeats,
        n_tokens=args.tokens,
        seed=args.seed,
        progress=args.progress,
        name=args.name,
        **parse_kv(args.param, "--param"),
    )
    print(f"accuracy profile written to {path}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from splitgym.profiles.plots import plot_quality

    print(f"wrote {plot_quality(args.profile, Path(args.out))}")
    return 0


def _timings(args: argparse.Namespace) -> int:
    from splitgym.profiles.timing.commands import profile_models

    for line in profile_models(
        args.model,
        Path(args.out),
        args.prompt_lengths or (),
        args.context_lengths or (),
        args.repeats,
        args.warmup,
        args.probe_layers,
        args.threads,
        args.progress,
    ):
        print(line)
    return 0


def _scale(args: argparse.Namespace) -> int:
    from splitgym.profiles.timing.commands import scale_profiles

    for line in scale_profiles(args.profiles, args.device, args.weights, Path(args.out)):
        print(line)
    return 0


def _calibration(args: argparse.Namespace) -> int:
    from splitgym.profiles.timing.calibration_report import calibration_command

    print(calibration_command(args.out, points=not args.summary))
    return 0


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("profile", help="measure profiles: reference model, accuracy, timings")
    psub = p.add_subparsers(dest="profile", required=True, parser_class=parser_class)
    psub.add_parser("list", help="list the shipped profiles").set_defaults(func=_list)

    b = psub.add_parser("train-reference", help="train the reference LLM on the standard library")
    b.add_argument("--out", default="reference-model", help="output folder (default: reference-model)")
    b.add_argument("--steps", type=positive_int, default=1400)
    b.add_argument("--seed", type=seed, default=0)
    b.add_argument("--threads", type=positive_int, default=2)
    b.add_argument("--progress", "-P", action="store_true")
    b.set_defaults(func=_train_reference)

    b = psub.add_parser("accuracy", help="sweep split x channel level with a live LLM")
    b.add_argument(
        "--model", default="reference", help="'reference' or a local Hugging Face checkpoint folder"
    )
    b.add_argument(
        "--operator", default="erasure", help="erasure, fading, bitflip, activation, analog or uncoded"
    )
    b.add_argument("--param", nargs="*", metavar="KEY:VALUE", help="operator parameters, e.g. m:1 dtype:int8")
    b.add_argument("--levels", nargs="+", type=float, help="channel levels (default per operator)")
    b.add_argument("--repeats", type=positive_int, default=3)
    b.add_argument("--tokens", type=positive_int, default=2048, help="held-out tokens per evaluation")
    b.add_argument("--seed", type=seed, default=0)
    b.add_argument("--out", default="profiles-out", help="output folder")
    b.add_argument("--name", type=file_name, help="profile name (default: <model>_<operator>[_<params>])")
    b.add_argument("--progress", "-P", action="store_true")
    b.set_defaults(func=_accuracy)

    b = psub.add_parser("plot", help="draw a quality profile: quality against channel level per split")
    b.add_argument("profile", help="shipped profile name (see 'splitgym profile list') or CSV path")
    b.add_argument("--out", required=True, help="PNG file to write")
    b.set_defaults(func=_plot)

    b = psub.add_parser("timings", help="measure per-layer timings of a catalogue model on this machine")
    b.add_argument("--model", required=True, help="catalogue name (e.g. llama2-7b), or 'all'")
    b.add_argument("--out", default="profiles-out", help="output folder")
    b.add_argument(
        "--prompt-lengths", nargs="+", type=positive_int, help="prefill lengths (default 32 128 512)"
    )
    b.add_argument(
        "--context-lengths", nargs="+", type=positive_int, help="decode contexts (default 128 512 1024)"
    )
    b.add_argument("--repeats", type=positive_int, default=10)
    b.add_argument("--warmup", type=positive_int, default=3)
    b.add_argument("--probe-layers", type=positive_int, default=3)
    b.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    b.add_argument("--progress", "-P", action="store_true")
    b.set_defaults(func=_timings)

    b = psub.add_parser("scale", help="scale measured timing profiles to device classes (roofline)")
    b.add_argument("profiles", nargs="+", help="measured timing profiles (CSV paths)")
    b.add_argument("--device", default="all", help="device class, or 'all'")
    b.add_argument("--weights", default="float16", help="weight precision on the device")
    b.add_argument("--out", default="profiles-out/scaled", help="output folder (one subfolder per device)")
    b.set_defaults(func=_scale)

    b = psub.add_parser(
        "calibration", help="the timing model against published measurements: leave-one-out error per point"
    )
    b.add_argument("--out", help="folder for calibration_points.csv, calibration_summary.csv, calibration.md")
    b.add_argument("--summary", action="store_true", help="print the summaries only, not every point")
    b.set_defaults(func=_calibration)
