"""The Edge-LLM study as library functions, one per ``splitgym compress`` subcommand.

Each function loads the model, runs the measurement, writes its files atomically (CSV beside Markdown, or a
profile) and returns what to print: the command-line handlers only parse and print. Every report's prose
(what was measured, how, and the verdict) lives here, beside the numbers it describes.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from splitgym.errors import ConfigError
from splitgym.tables import markdown_table

__all__ = [
    "apply_study",
    "exits_study",
    "parse_budget",
    "parse_point",
    "sensitivity_study",
    "table_study",
    "tune_memory_study",
    "vote_channel_study",
    "vote_study",
]


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


def parse_point(text: str) -> tuple[str, float, int]:
    """``"luc-0.7-4:5:7"`` -> ``("luc-0.7-4", 5.0, 7)`` (budget, SNR in dB, split)."""
    try:
        budget, snr, split = text.split(":")
        return budget, float(snr), int(split)
    except ValueError:
        raise ConfigError(f"point {text!r} must look like BUDGET:SNR_DB:SPLIT, e.g. luc-0.7-4:5:7") from None


def _threads(n: int) -> None:
    import torch

    if n < 1:
        raise ConfigError(f"--threads must be >= 1, got {n}")
    torch.set_num_threads(n)


def _write_frame(frame: Any, out: Path, stem: str, markdown: str) -> str:
    from splitgym.atomic import write_text_atomic

    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / f"{stem}.csv", frame.to_csv(index=False, float_format="%.6g"))
    write_text_atomic(out / f"{stem}.md", markdown)
    return f"wrote {out / stem}.csv and {stem}.md"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    import pandas as pd

    return markdown_table(pd.DataFrame(rows, columns=header))


def sensitivity_study(
    model: str,
    method: str,
    tokens: int,
    window: int,
    seed: int,
    out: Path,
    name: str | None,
    progress: bool = False,
) -> str:
    """Each decoder layer compressed alone (prune 0.1-0.9, quantise 2-8 bits): a sensitivity profile in
    ``out``; the text to print."""
    from splitgym.profiles.compression.apply import check_method
    from splitgym.profiles.compression.sensitivity import (
        calibration_ids,
        measure_sensitivity,
        per_layer_score,
        sensitivity_profile,
    )
    from splitgym.profiles.llm import load_causal_lm
    from splitgym.profiles.profile import load_profile, write_profile

    check_method(method)
    lm = load_causal_lm(model)
    ids = calibration_ids(lm, tokens, window, seed)
    start = time.perf_counter()
    df = measure_sensitivity(lm, ids, method=method, window=window, progress=progress)
    seconds = time.perf_counter() - start
    name = name or f"{lm.name}_sensitivity_{method}".replace(".", "p")
    table, meta = sensitivity_profile(
        df,
        {
            "name": name,
            "model": lm.name,
            "method": method,
            "num_layers": lm.num_layers,
            "calibration": {
                "text": "reference corpus TRAINING split (Python standard library), seeded random slices",
                "tokens": len(ids),
                "window": window,
                "seed": seed,
            },
            "wall_time_s": round(seconds, 1),
        },
    )
    path = write_profile(table, meta, Path(out))
    load_profile(path)  # what was written must validate
    prune, quant = per_layer_score(df, "prune"), per_layer_score(df, "quant")
    lines = [f"wrote {path} ({len(table)} rows, {seconds:.0f} s)", "layer  prune rel_mse  quant rel_mse"]
    lines += [f"{i:5d}  {p:13.4g}  {q:13.4g}" for i, (p, q) in enumerate(zip(prune, quant, strict=True))]
    return "\n".join(lines)


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


def apply_study(
    model: str,
    sensitivity: str | None,
    method: str,
    budgets: list[str],
    act_bits: int,
    tokens: int,
    calib_tokens: int,
    seed: int,
    device: str,
    out: Path,
) -> str:
    """LUC against matched uniform compression on held-out text: ``luc_vs_uniform.{csv,md}`` in ``out``."""
    from splitgym.atomic import write_text_atomic
    from splitgym.profiles.compression.apply import check_method
    from splitgym.profiles.compression.compare import compare_luc_uniform, comparison_markdown
    from splitgym.profiles.compression.sensitivity import calibration_ids
    from splitgym.profiles.llm import load_causal_lm
    from splitgym.profiles.quality.live import held_out_text

    check_method(method)
    parsed = [parse_budget(b) for b in budgets]
    table = _sensitivity_table(sensitivity, model, method)
    lm = load_causal_lm(model)
    eval_ids = lm.encode(held_out_text())[:tokens]
    calib = calibration_ids(lm, calib_tokens, 256, seed)
    start = time.perf_counter()
    df = compare_luc_uniform(lm, table, parsed, eval_ids, calib, method, act_bits=act_bits, device=device)
    out.mkdir(parents=True, exist_ok=True)
    md = comparison_markdown(df)
    write_text_atomic(out / "luc_vs_uniform.csv", df.to_csv(index=False, float_format="%.6g"))
    write_text_atomic(out / "luc_vs_uniform.md", md)
    return md + f"wrote {out / 'luc_vs_uniform.csv'} and .md ({time.perf_counter() - start:.0f} s)"


def _fmt(value: Any, digits: int = 4) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


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
    return _table(header, rows)


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
    return _table(header, rows)


def _held_out_ids(lm: Any, tokens: int, window: int, flag: str = "--tokens") -> Any:
    from splitgym.profiles.quality.live import held_out_text

    if window < 2:
        raise ConfigError(f"--window must be >= 2 tokens, got {window}")
    if tokens < window:
        raise ConfigError(f"{flag} must be at least one window of {window} tokens, got {tokens}")
    return lm.encode(held_out_text())[:tokens]


def exits_study(
    model: str,
    exits: list[int] | None,
    steps: int,
    lr: float,
    batch: int,
    window: int,
    seed: int,
    eval_tokens: int,
    threads: int,
    out: Path,
    progress: bool = False,
) -> str:
    """Train early-exit heads on the frozen model, save them with their card in ``out``."""
    from splitgym.profiles.compression.exits import (
        ExitHeads,
        evaluate_exits,
        save_exits,
        train_exits,
        training_card,
    )
    from splitgym.profiles.llm import load_causal_lm
    from splitgym.profiles.reference.corpus import load_corpus

    _threads(threads)
    lm = load_causal_lm(model)
    untrained = ExitHeads(lm, exits)  # checks the exits before any slow work
    corpus = load_corpus()
    held_out = _held_out_ids(lm, eval_tokens, window, "--eval-tokens")
    init = evaluate_exits(lm, untrained, held_out, window=window)
    start = time.perf_counter()
    heads, history = train_exits(
        lm,
        lm.encode(corpus.train.tobytes()),
        exits=exits,
        steps=steps,
        lr=lr,
        seed=seed,
        batch=batch,
        window=window,
        progress=progress,
    )
    seconds = time.perf_counter() - start
    trained = evaluate_exits(lm, heads, held_out, window=window)
    settings = {
        "model": lm.name,
        "steps": steps,
        "lr": lr,
        "seed": seed,
        "batch": batch,
        "window": window,
        "threads": threads,
        "corpus_train_sha256": corpus.digest("train"),
    }
    card = training_card(heads, history, settings, trained, init, seconds)
    path = save_exits(heads, out, card)
    return (
        f"trained exits {list(heads.trainable_exits)} for {steps} steps in {seconds:.0f} s -> {path}\n"
        f"held-out ({int(trained['tokens'].iloc[0])} tokens, windows of {window}):\n"
        + _per_exit_table(trained, init)
    )


def _default_exits_dir(model: str) -> Path:
    from splitgym.profiles.llm import reference_path

    if model != "reference":
        raise ConfigError(
            f"--exits-dir is required for model {model!r} (the shipped exits are the reference's)"
        )
    return reference_path() / "exits"


def vote_study(model: str, exits_dir: Path | None, tokens: int, window: int, threads: int, out: Path) -> str:
    """Per-exit accuracy and max-confidence / majority voting: ``exits_voting.{csv,md}`` in ``out``."""
    from splitgym.profiles.compression.exits import evaluate_exits, load_exits
    from splitgym.profiles.llm import load_causal_lm

    _threads(threads)
    lm = load_causal_lm(model)
    folder = exits_dir if exits_dir else _default_exits_dir(model)
    heads = load_exits(lm, folder)
    frame = evaluate_exits(lm, heads, _held_out_ids(lm, tokens, window), window=window)
    tokens = int(frame["tokens"].iloc[0])
    text = (
        "# Early exits and voting\n\n"
        f"Model `{lm.name}`, exit heads from `{folder}`, held-out text: {tokens} predicted tokens "
        f"(non-overlapping windows of {window}). Exit k = after decoder layer k; exit "
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
    return text + _write_frame(frame, out, "exits_voting", text)


def tune_memory_study(model: str, window: int, tokens: int, repeats: int, threads: int, out: Path) -> str:
    """Activation memory and time per iteration of window tuning against full depth, in ``out``."""
    import torch

    from splitgym.profiles.compression.exits import ExitHeads
    from splitgym.profiles.compression.tuning import tuning_memory_table, window_schedule
    from splitgym.profiles.llm import load_causal_lm

    _threads(threads)
    lm = load_causal_lm(model)
    limit = int(getattr(lm.model.config, "max_position_embeddings", 256) or 256)
    if tokens < 2:
        raise ConfigError(f"--tokens must be >= 2, got {tokens}")
    seq = min(tokens, limit)
    if tokens % seq:
        raise ConfigError(f"--tokens {tokens} must be a multiple of the sequence length {seq}")
    ids = torch.from_numpy(_held_out_ids(lm, tokens, seq)).view(-1, seq)
    schedule = window_schedule(lm.num_layers, window)
    heads = ExitHeads(lm, [last for _, last in schedule])  # an exit after every window; values don't matter
    frame = tuning_memory_table(lm, heads, ids, window=window, repeats=repeats)
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
        f"window of {window} layers, {threads} CPU thread(s), time = median of {repeats} "
        "iterations (forward + backward) after one warm-up. Activation memory = bytes of the unique "
        "storages autograd saves for backward in one training forward "
        "(torch.autograd.graph.saved_tensors_hooks, deduplicated "
        "by data_ptr, parameters excluded). Full depth = every parameter trainable, loss at the output. "
        "Window = its layers and exit head trainable, layers below under no_grad, forward stopped at the "
        'exit. "Full forward (released code)" = the same window, but the forward runs to the model\'s end as '
        "the released Edge-LLM code does.\n\n" + _table(header, rows)
    )
    return text + _write_frame(frame, out, "tuning_memory", text)


def table_study(
    model: str,
    exits_dir: Path | None,
    sensitivity: str,
    operator: str,
    snrs: list[float],
    tokens: int,
    seed: int,
    name: str | None,
    out: Path,
    progress: bool = False,
) -> str:
    """The compression environment's measured quality table, written as a profile into ``out``."""
    import torch

    from splitgym.errors import ConfigError
    from splitgym.profiles.compression.exits import load_exits
    from splitgym.profiles.compression.sensitivity import per_layer_score
    from splitgym.profiles.compression.table import measure_compressed_quality
    from splitgym.profiles.llm import load_causal_lm
    from splitgym.profiles.profile import resolve_profile, write_profile
    from splitgym.profiles.quality.live import held_out_text

    torch.manual_seed(seed)
    lm = load_causal_lm(model)
    exits_dir = exits_dir if exits_dir else lm.path / "exits"
    if not exits_dir.is_dir():
        raise ConfigError(
            f"--exits-dir {str(exits_dir)!r} does not exist (train exits: 'splitgym compress exits')"
        )
    heads = load_exits(lm, exits_dir)
    sens = resolve_profile(sensitivity).table
    ids = lm.encode(held_out_text())[:tokens]
    table, meta = measure_compressed_quality(
        lm,
        heads,
        ids,
        per_layer_score(sens, "prune"),
        per_layer_score(sens, "quant"),
        snrs=tuple(snrs),
        operator=operator,
        seed=seed,
        progress=progress,
    )
    name = name or f"{lm.name}_compressed_{operator}"
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
        "sensitivity": str(sensitivity),
        "exits_dir": str(exits_dir.name),
        **meta,
    }
    path = write_profile(table, meta, out)
    pivot = table[(table["mode"] == "edge") & (table["snr_db"] == max(snrs))]
    grid = str(pivot.pivot(index="budget", columns="split", values="quality").round(3).to_string())
    return grid + f"\nwritten: {path}"


def vote_channel_study(
    model: str,
    exits_dir: Path | None,
    sensitivity: str,
    points: list[tuple[str, float, int]],
    tokens: int,
    out: Path,
) -> str:
    """Every exit against the vote when the edge's exits see the channel: ``vote_channel.{csv,md}``."""
    import torch

    from splitgym.atomic import write_text_atomic
    from splitgym.errors import ConfigError
    from splitgym.profiles.compression.exits import load_exits
    from splitgym.profiles.compression.sensitivity import per_layer_score
    from splitgym.profiles.compression.vote_channel import vote_under_channel
    from splitgym.profiles.llm import load_causal_lm
    from splitgym.profiles.profile import resolve_profile
    from splitgym.profiles.quality.live import held_out_text

    torch.set_num_threads(1)
    lm = load_causal_lm(model)
    for _, _, k in points:
        if not 1 <= k < lm.num_layers:
            raise ConfigError(
                f"split {k} of a point must be in 1..{lm.num_layers - 1} (the channel is crossed)"
            )
    heads = load_exits(lm, exits_dir if exits_dir else lm.path / "exits")
    sens = resolve_profile(sensitivity).table
    ids = lm.encode(held_out_text())[:tokens]
    frame = vote_under_channel(
        lm, heads, ids, per_layer_score(sens, "prune"), per_layer_score(sens, "quant"), points
    )
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "vote_channel.csv", frame.to_csv(index=False))
    write_text_atomic(out / "vote_channel.md", markdown_table(frame))
    return str(frame.round(4).to_string(index=False)) + f"\nwritten: {out / 'vote_channel.csv'}"
