"""``splitgym compress sensitivity|apply``: layer sensitivity and LUC against uniform compression."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from splitgym.cli_args import positive_int as _positive_int
from splitgym.errors import ConfigError

__all__ = ["add_luc_commands", "parse_budget"]


def parse_budget(text: str) -> tuple[float, int]:
    """``"0.5:4"`` -> ``(0.5, 4)`` (mean sparsity, base weight bits), validated."""
    from splitgym.profiles.compression.prune import check_sparsity
    from splitgym.profiles.compression.quantize import check_bits

    parts = text.split(":")
    if len(parts) != 2:
        raise ConfigError(f"--budgets entry {text!r} must be SPARSITY:BITS, e.g. 0.5:4")
    try:
        sparsity, bits = float(parts[0]), int(parts[1])
    except ValueError:
        raise ConfigError(f"--budgets entry {text!r} must be SPARSITY:BITS, e.g. 0.5:4") from None
    return check_sparsity("budget", sparsity), check_bits("base_bits", bits)


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from splitgym.profiles.compression.apply import check_method
    from splitgym.profiles.compression.sensitivity import (
        calibration_ids,
        measure_sensitivity,
        per_layer_score,
        sensitivity_profile,
    )
    from splitgym.profiles.llm import load_causal_lm
    from splitgym.profiles.profile import load_profile, write_profile

    check_method(args.method)
    lm = load_causal_lm(args.model)
    ids = calibration_ids(lm, args.tokens, args.window, args.seed)
    start = time.perf_counter()
    df = measure_sensitivity(lm, ids, method=args.method, window=args.window, progress=args.progress)
    seconds = time.perf_counter() - start
    name = args.name or f"{lm.name}_sensitivity_{args.method}".replace(".", "p")
    table, meta = sensitivity_profile(
        df,
        {
            "name": name,
            "model": lm.name,
            "method": args.method,
            "num_layers": lm.num_layers,
            "calibration": {
                "text": "reference corpus TRAINING split (Python standard library), seeded random slices",
                "tokens": len(ids),
                "window": args.window,
                "seed": args.seed,
            },
            "wall_time_s": round(seconds, 1),
        },
    )
    path = write_profile(table, meta, Path(args.out))
    load_profile(path)  # what was written must validate
    prune, quant = per_layer_score(df, "prune"), per_layer_score(df, "quant")
    print(f"wrote {path} ({len(table)} rows, {seconds:.0f} s)")
    print("layer  prune rel_mse  quant rel_mse")
    for i, (p, q) in enumerate(zip(prune, quant, strict=True)):
        print(f"{i:5d}  {p:13.4g}  {q:13.4g}")
    return 0


def _sensitivity_table(spec: str | None, model: str, method: str) -> Any:
    from splitgym.profiles.profile import bundled_profiles, resolve_profile

    if spec is None:
        name = f"compression/{Path(model).name if model != 'reference' else 'reference'}_sensitivity_{method}"
        if name not in bundled_profiles():
            raise ConfigError(
                f"--sensitivity not given and no shipped profile {name!r}; run "
                f"'splitgym compress sensitivity --model {model} --method {method}' and pass its CSV"
            )
        spec = name
    prof = resolve_profile(spec)
    if prof.meta.get("kind") != "compression_sensitivity":
        raise ConfigError(
            f"--sensitivity {spec!r} is a {prof.meta.get('kind')!r} profile, not compression_sensitivity"
        )
    return prof.table


def _cmd_apply(args: argparse.Namespace) -> int:
    from splitgym.atomic import write_text_atomic
    from splitgym.profiles.compression.apply import check_method
    from splitgym.profiles.compression.compare import compare_luc_uniform, comparison_markdown
    from splitgym.profiles.compression.sensitivity import calibration_ids
    from splitgym.profiles.live import held_out_text
    from splitgym.profiles.llm import load_causal_lm

    check_method(args.method)
    budgets = [parse_budget(b) for b in args.budgets]
    table = _sensitivity_table(args.sensitivity, args.model, args.method)
    lm = load_causal_lm(args.model)
    eval_ids = lm.encode(held_out_text())[: args.tokens]
    calib = calibration_ids(lm, args.calib_tokens, 256, args.seed)
    start = time.perf_counter()
    df = compare_luc_uniform(
        lm, table, budgets, eval_ids, calib, args.method, act_bits=args.act_bits, device=args.device
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    md = comparison_markdown(df)
    write_text_atomic(out / "luc_vs_uniform.csv", df.to_csv(index=False, float_format="%.6g"))
    write_text_atomic(out / "luc_vs_uniform.md", md)
    print(md, end="")
    print(f"wrote {out / 'luc_vs_uniform.csv'} and .md ({time.perf_counter() - start:.0f} s)")
    return 0


def add_luc_commands(csub: Any) -> None:
    """Add the LUC subcommands to the ``compress`` subparsers ``csub``."""
    p = csub.add_parser("sensitivity", help="per-layer pruning and quantisation sensitivity (local MSE)")
    p.add_argument(
        "--model", default="reference", help="'reference' or a local Hugging Face checkpoint folder"
    )
    p.add_argument("--method", default="magnitude", help="pruning mask: magnitude or wanda")
    p.add_argument("--tokens", type=_positive_int, default=2048, help="calibration tokens (training split)")
    p.add_argument("--window", type=_positive_int, default=256, help="tokens per calibration window")
    p.add_argument("--seed", type=int, default=0, help="seed of the calibration slices")
    p.add_argument("--out", default="profiles-out", help="output folder")
    p.add_argument("--name", help="profile name (default: <model>_sensitivity_<method>)")
    p.add_argument("--progress", "-P", action="store_true")
    p.set_defaults(func=_cmd_sensitivity)

    p = csub.add_parser("apply", help="LUC against matched uniform compression on held-out text")
    p.add_argument(
        "--model", default="reference", help="'reference' or a local Hugging Face checkpoint folder"
    )
    p.add_argument(
        "--sensitivity",
        help="sensitivity profile: CSV path or shipped name "
        "(default: the shipped compression/<model>_sensitivity_<method>)",
    )
    p.add_argument("--method", default="magnitude", help="pruning mask: magnitude or wanda")
    p.add_argument(
        "--budgets",
        nargs="+",
        default=["0.3:8", "0.5:8", "0.5:4", "0.7:4"],
        metavar="SPARSITY:BITS",
        help="mean sparsity and base weight bits (default 0.3:8 0.5:8 0.5:4 0.7:4)",
    )
    p.add_argument("--act-bits", type=int, default=8, help="activation bits of every layer (default 8)")
    p.add_argument("--tokens", type=_positive_int, default=2048, help="held-out evaluation tokens")
    p.add_argument("--calib-tokens", type=_positive_int, default=2048, help="calibration tokens (Wanda)")
    p.add_argument("--seed", type=int, default=0, help="seed of the calibration slices")
    p.add_argument("--device", default="raspberry-pi-5", help="device class of the cost model")
    p.add_argument("--out", default="luc-out", help="folder for luc_vs_uniform.csv and .md")
    p.set_defaults(func=_cmd_apply)
