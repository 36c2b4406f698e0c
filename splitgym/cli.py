"""The ``splitgym`` command line: list environments, train, evaluate, benchmark, demo.

A user's mistake (unknown env ID, algorithm or parameter, a bad value, a malformed file) prints one line,
``splitgym: error: ...``, and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from splitgym.cli_args import positive_int as _positive_int
from splitgym.cli_args import seed as _seed
from splitgym.errors import SplitGymError

__all__ = ["main"]


def _cmd_envs(args: argparse.Namespace) -> int:
    import splitgym

    width = max(len(e.env_id) for e in splitgym.ENVS)
    for entry in splitgym.ENVS:
        print(f"{entry.env_id:<{width}}  {entry.summary}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from splitgym.agents.evaluation import evaluate
    from splitgym.agents.hyperparams import parse_kv
    from splitgym.agents.sb3 import summary_line
    from splitgym.agents.training import load_policy, resume, train, training_record
    from splitgym.errors import ConfigError

    if args.resume:
        given = [flag for flag, value in (("--env", args.env), ("--algo", args.algo)) if value]
        if given:
            raise ConfigError(f"--resume takes the settings from the run folder; drop {' and '.join(given)}")
        result = resume(Path(args.resume), progress=args.progress, verbose=args.verbose)
        print(f"resumed {args.resume}: now {result.timesteps} steps ({result.seconds:.1f} s more)")
        return 0
    if not args.env or not args.algo:
        raise ConfigError("--env and --algo are required (or --resume RUN to continue an interrupted run)")
    result = train(
        env_id=args.env,
        algo=args.algo,
        n_timesteps=args.n_timesteps,
        seed=args.seed,
        env_kwargs=parse_kv(args.env_kwargs, "--env-kwargs"),
        hyperparams=parse_kv(args.hyperparams, "--hyperparams"),
        root=Path(args.log_folder),
        progress=args.progress,
        tensorboard=Path(args.tensorboard) if args.tensorboard else None,
        eval_episodes=args.eval_episodes,
        command=["splitgym", *args.argv],
        args={k: v for k, v in vars(args).items() if k not in ("func", "argv")},
        verbose=args.verbose,
    )
    print(f"trained {result.timesteps} steps in {result.seconds:.1f} s -> {result.run}")
    real = training_record(result.run).get("real_evaluations")
    if real:
        print(f"real evaluations of the quality model spent in training: {real}")
    policy, _, env = load_policy(result.run)
    print(summary_line(args.algo, evaluate(policy, env, args.eval_episodes, seed=1_000_000)))
    env.close()
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from splitgym.agents.evaluation import evaluate, normalized_score, summarize
    from splitgym.agents.sb3 import make_env, summary_line
    from splitgym.agents.training import evaluate_run

    frame, config, real = evaluate_run(Path(args.run), episodes=args.episodes, seed=args.seed)
    env_id = str(config["env_id"])
    print(f"{args.run}: {config['algo']} on {env_id}, {args.episodes} episodes (seed {args.seed})")
    print(summary_line(str(config["algo"]), frame))
    print(
        f"real evaluations of the quality model: {real['training']} in training, {real['evaluation']} in "
        "this evaluation (0 where the quality model is a measured table)"
    )
    if args.baselines:
        from splitgym.agents.baselines import BestSplitPolicy, PlanningOracle, RandomPolicy
        from splitgym.agents.policy import Policy
        from splitgym.agents.split_baselines import split_baselines

        env = make_env(env_id, config.get("env_kwargs") or {})
        returns = {"agent": summarize(frame)["return"]}
        split_env = hasattr(env.unwrapped, "split_rewards")
        if hasattr(env.unwrapped, "encode"):  # the compression environment
            from splitgym.agents.fixed_action import compressed_baselines

            policies: dict[str, Policy] = compressed_baselines(env, seed=args.seed)
        else:
            policies = (
                split_baselines(env, seed=args.seed)
                if split_env
                else {
                    "random": RandomPolicy(env.action_space, seed=args.seed),
                    "best_split": BestSplitPolicy(env),
                    "oracle": PlanningOracle(env),
                }
            )
        for name, policy in policies.items():
            baseline = evaluate(policy, env, args.episodes, seed=args.seed)
            returns[name] = summarize(baseline)["return"]
            print(summary_line(name, baseline))
        high, label = (
            ("oracle", "best split of each request") if split_env else ("best_split", "best split per state")
        )
        score = normalized_score(returns, "agent", "random", high)
        print(f"normalised score (0 random, 1 {label}): {score:.3f}")
    return 0


def _print_scores(frame: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="PPO (paper settings) on splitgym/PaperSplit-v0: mean episode return")
    for col in (
        "observation",
        "seed",
        "timesteps",
        "train_s",
        "random",
        "ppo",
        "best_split",
        "oracle",
        "score",
    ):
        table.add_column(col, justify="right")
    for _, row in frame.iterrows():
        table.add_row(
            str(row["observation"]),
            str(row["seed"]),
            str(row["timesteps"]),
            f"{row['train_s']:.0f}",
            f"{row['random']:.4f}",
            f"{row['ppo']:.4f}",
            f"{row['best_split']:.4f}",
            f"{row['oracle']:.4f}",
            f"{row['score']:.3f}",
        )
    Console(width=120).print(table)  # wide enough for every column, also when piped
    print(
        "score: 0 = uniformly random policy, 1 = best-split-per-state policy read from the table; "
        "the oracle (look-ahead knowing the step count) scores",
        f"{frame['oracle_score'].iloc[0]:.3f}",
    )


def _cmd_paper_score(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.paper_score import paper_score

    frame = paper_score(
        observations=args.observations,
        seeds=args.seeds,
        n_timesteps=args.n_timesteps,
        episodes=args.episodes,
        root=Path(args.log_folder),
        out=Path(args.out) if args.out else None,
        progress=args.progress,
    )
    _print_scores(frame)
    if args.out:
        print(f"results written to {Path(args.out) / 'paper_score.csv'}")
    return 0


def _cmd_perf(args: argparse.Namespace) -> int:
    import json

    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from splitgym.agents.sb3 import check_env_id
    from splitgym.atomic import write_text_atomic
    from splitgym.benchmarks.perf import as_records, run_perf

    check_env_id(args.env)
    results, where = run_perf(args.env, quick=args.quick)
    table = Table(title=f"splitgym benchmark perf: {args.env} against references in the same process")
    for col in ("measure", "ours", "reference", "ours value", "ref. value", "unit", "ratio", "target", "met"):
        table.add_column(col, justify="right" if "value" in col or col == "ratio" else "left")
    for r in results:
        table.add_row(
            r.name, r.ours, r.reference, f"{r.ours_value:,.2f}", f"{r.reference_value:,.2f}", r.unit,
            f"{r.ratio:.3f}", r.target, "yes" if r.passed else "NO",
        )  # fmt: skip
    Console(width=150).print(table)
    print(f"machine: {where['cpu']}, {where['cores_available']} cores, Python {where['python']}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        record = {
            "results": as_records(results),
            "machine": where,
            "command": " ".join(["splitgym", *args.argv]),
        }
        write_text_atomic(out / "perf.csv", pd.DataFrame(as_records(results)).to_csv(index=False))
        write_text_atomic(out / "perf.json", json.dumps(record, indent=2) + "\n")
        print(f"written: {out / 'perf.csv'}, {out / 'perf.json'}")
    return 0


def _cmd_compressed(args: argparse.Namespace) -> int:
    from splitgym.atomic import write_text_atomic
    from splitgym.benchmarks.compressed_agents import compressed_benchmark

    frame, base = compressed_benchmark(
        seeds=args.seeds, algo=args.algo, n_timesteps=args.n_timesteps, episodes=args.episodes,
        root=Path(args.log_folder), progress=args.progress,
    )  # fmt: skip
    for name in ("fixed_none", "fixed_uniform", "fixed_luc"):
        print(f"{name:<14} {base[name]['return']:8.2f}  (action {base[name]['action']})")
    print(f"{'oracle':<14} {base['oracle']['return']:8.2f}")
    cols = [
        "seed",
        "agent",
        "fixed_none",
        "fixed_uniform",
        "fixed_luc",
        "oracle",
        "beats_all_fixed",
        "train_s",
    ]
    print(frame[cols].round(2).to_string(index=False))
    mean, sd = frame["agent"].mean(), frame["agent"].std(ddof=1)
    print(f"{args.algo}: mean {mean:.2f} ± {sd:.2f} over {len(frame)} seeds")

    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "compressed_agents.csv", frame.to_csv(index=False))
        print(f"written: {out / 'compressed_agents.csv'}")
    return 0


def _cmd_paper_report(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.paper_report import write_paper_report
    from splitgym.benchmarks.perf import surrogate_ratio

    measured = surrogate_ratio()
    cost = {
        "live_s": measured.reference_value * 1e-6,
        "surrogate_s": measured.ours_value * 1e-6,
        "live_model": measured.reference,
    }
    path = write_paper_report(Path(args.suite_out), Path(args.out), cost, note=args.note or "")
    print(f"paper report written to {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from splitgym.benchmarks.runner import expand, run_suite
    from splitgym.benchmarks.suite import load_suite
    from splitgym.cli_bench import print_report

    suite = load_suite("quick")
    print(
        f"splitgym demo: the '{suite.name}' benchmark suite ({len(expand(suite))} cells: "
        f"{', '.join(a.name for a in suite.agents)} on {', '.join(e.id for e in suite.envs)}); "
        f"results in {args.out}/{suite.name} (finished cells are reused)"
    )
    run_suite(suite, args.out, workers=args.workers, progress=True)
    return print_report(suite, args.out)


def _cmd_profile_list(args: argparse.Namespace) -> int:
    from splitgym.profiles import bundled_profiles, load_bundled

    for name in bundled_profiles():
        prof = load_bundled(name)
        print(f"{name:<40} {prof.kind:<14} {prof.source:<9} {prof.meta['model']}")
    return 0


def _cmd_train_reference(args: argparse.Namespace) -> int:
    from splitgym.profiles.reference.train import TrainSettings, train_reference

    settings = TrainSettings(steps=args.steps, seed=args.seed, threads=args.threads)
    card = train_reference(Path(args.out), settings, progress=args.progress)
    held, base = card["held_out"], card["unigram_baseline"]
    print(f"reference model written to {args.out}")
    print(
        f"held-out perplexity {held['perplexity']:.3f} ({held['bits_per_byte']:.3f} bits/byte), next-byte "
        f"accuracy {held['accuracy']:.3f}; unigram baseline perplexity {base['perplexity']:.3f} "
        f"(ratio {base['perplexity'] / held['perplexity']:.2f})"
    )
    return 0


def _cmd_accuracy(args: argparse.Namespace) -> int:
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


def _cmd_plot(args: argparse.Namespace) -> int:
    from splitgym.profiles.plots import plot_quality

    print(f"wrote {plot_quality(args.profile, Path(args.out))}")
    return 0


def _cmd_timings(args: argparse.Namespace) -> int:
    import resource
    import time

    from splitgym.profiles.timing import CATALOGUE, get_architecture, profile_timings

    names = list(CATALOGUE) if args.model == "all" else [args.model]
    for name in names:
        get_architecture(name)  # an unknown name lists the catalogue before anything runs
    for name in names:
        start = time.perf_counter()
        path = profile_timings(
            name,
            Path(args.out),
            prompt_lengths=args.prompt_lengths or (),
            context_lengths=args.context_lengths or (),
            repeats=args.repeats,
            warmup=args.warmup,
            probe_layers=args.probe_layers,
            threads=args.threads,
            progress=args.progress,
        )
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        print(f"{name}: {path} ({time.perf_counter() - start:.0f} s, process peak memory {peak_gb:.2f} GB)")
    return 0


def _cmd_scale(args: argparse.Namespace) -> int:
    from splitgym.profiles import load_profile
    from splitgym.profiles.timing import DEVICES, get_device, scale_profile, write_profile

    devices = list(DEVICES) if args.device == "all" else [args.device]
    for device in devices:
        get_device(device)
    for source in args.profiles:
        measured = load_profile(source)
        for device in devices:
            table, meta = scale_profile(measured, device, args.weights)
            path = write_profile(table, meta, Path(args.out) / device)
            print(f"{measured.name} -> {device}: {path}")
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and a pointer to ``--help``)."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from splitgym.agents.algos import ALL_ALGOS
    from splitgym.agents.sb3 import ALGOS

    parser = _Parser(prog="splitgym", description="Split LLM inference at the wireless edge.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("envs", help="list the registered environments")
    p.set_defaults(func=_cmd_envs)

    p = sub.add_parser("train", help="train any agent (RL, model-based, bandit, baseline) into a run folder")
    p.add_argument("--env", help="environment ID, e.g. splitgym/PaperSplit-v0")
    p.add_argument(
        "--algo",
        metavar="ALGO",
        help=f"one of {', '.join(ALL_ALGOS)} (hyperparameters: agents/hyperparams/<algo>.yml by env ID)",
    )
    p.add_argument(
        "--resume", metavar="RUN", help="continue an interrupted run folder from its last checkpoint"
    )
    p.add_argument("-n", "--n-timesteps", type=_positive_int, default=None, help="steps (default: YAML)")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--env-kwargs", nargs="*", metavar="KEY:VALUE", help="environment overrides (YAML values)")
    p.add_argument("--hyperparams", nargs="*", metavar="KEY:VALUE", help="hyperparameter overrides")
    p.add_argument("--progress", "-P", action="store_true", help="show a progress bar")
    p.add_argument("--tensorboard", "-tb", metavar="DIR", help="TensorBoard log folder")
    p.add_argument("--log-folder", "-f", default="runs", help="root of the run folders (default: runs)")
    p.add_argument("--eval-episodes", type=_positive_int, default=20)
    p.add_argument("--verbose", type=int, default=0)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a run folder: mean return and every reward term")
    p.add_argument("run", help="run folder, e.g. runs/ppo/PaperSplit-v0_1")
    p.add_argument("--episodes", type=_positive_int, default=100)
    p.add_argument("--seed", type=_seed, default=1_000_000, help="seed of the first evaluation episode")
    p.add_argument("--baselines", action="store_true", help="also evaluate random, best-split and oracle")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("benchmark", help="benchmarks")
    bsub = p.add_subparsers(dest="benchmark", required=True, parser_class=_Parser)
    b = bsub.add_parser("paper-score", help="PPO (paper settings) normalised between random and best split")
    b.add_argument(
        "--observations", nargs="+", choices=("normalized", "paper"), default=["normalized", "paper"]
    )
    b.add_argument("--seeds", nargs="+", type=_seed, default=[0])
    b.add_argument("-n", "--n-timesteps", type=_positive_int, default=None, help="default: paper's 240000")
    b.add_argument("--episodes", type=_positive_int, default=1000)
    b.add_argument("--log-folder", "-f", default="runs")
    b.add_argument("--out", help="folder for paper_score.csv")
    b.add_argument("--progress", "-P", action="store_true")
    b.set_defaults(func=_cmd_paper_score)

    b = bsub.add_parser(
        "compressed", help="trained agent vs fixed baselines on CompressedSplit-v0, over seeds"
    )
    b.add_argument("--algo", default="maskable_ppo", choices=ALGOS)
    b.add_argument("--seeds", nargs="+", type=_seed, default=[0, 1, 2, 3, 4])
    b.add_argument("-n", "--n-timesteps", type=_positive_int, default=None, help="default: YAML")
    b.add_argument("--episodes", type=_positive_int, default=50)
    b.add_argument("--log-folder", "-f", default="runs")
    b.add_argument("--out", help="folder for compressed_agents.csv")
    b.add_argument("--progress", "-P", action="store_true")
    b.set_defaults(func=_cmd_compressed)

    from splitgym.cli_bench import add_suite_commands, add_versus_command
    from splitgym.cli_sweep import add_budget_sweep

    add_suite_commands(bsub)
    add_versus_command(bsub)
    add_budget_sweep(bsub)
    b = bsub.add_parser(
        "paper-report", help="the paper's claims beside our measurements (needs a paper suite run)"
    )
    b.add_argument("--suite-out", default="benchmark-results/paper", help="folder of a finished paper suite")
    b.add_argument("--out", default="benchmarks/results/paper", help="report folder")
    b.add_argument("--note", help="a paragraph on how the suite was run (seeds, machine, load)")
    b.set_defaults(func=_cmd_paper_report)

    b = bsub.add_parser("perf", help="environment speed as ratios against references run beside it")
    b.add_argument("--env", default="splitgym/FadingSplit-v0", help="environment ID")
    b.add_argument("--quick", action="store_true", help="fewer steps (a smoke run, noisier ratios)")
    b.add_argument("--out", help="folder for perf.csv and perf.json")
    b.set_defaults(func=_cmd_perf)

    p = sub.add_parser("profile", help="measure profiles: reference model, accuracy, timings")
    psub = p.add_subparsers(dest="profile", required=True, parser_class=_Parser)
    b = psub.add_parser("list", help="list the shipped profiles")
    b.set_defaults(func=_cmd_profile_list)
    b = psub.add_parser("train-reference", help="train the reference LLM on the standard library")
    b.add_argument("--out", default="reference-model", help="output folder (default: reference-model)")
    b.add_argument("--steps", type=_positive_int, default=1400)
    b.add_argument("--seed", type=_seed, default=0)
    b.add_argument("--threads", type=_positive_int, default=2)
    b.add_argument("--progress", "-P", action="store_true")
    b.set_defaults(func=_cmd_train_reference)
    b = psub.add_parser("accuracy", help="sweep split x channel level with a live LLM")
    b.add_argument(
        "--model", default="reference", help="'reference' or a local Hugging Face checkpoint folder"
    )
    b.add_argument("--operator", default="erasure", help="erasure, fading or bitflip")
    b.add_argument("--param", nargs="*", metavar="KEY:VALUE", help="operator parameters, e.g. m:1 dtype:int8")
    b.add_argument("--levels", nargs="+", type=float, help="channel levels (default per operator)")
    b.add_argument("--repeats", type=_positive_int, default=3)
    b.add_argument("--tokens", type=_positive_int, default=2048, help="held-out tokens per evaluation")
    b.add_argument("--seed", type=_seed, default=0)
    b.add_argument("--out", default="profiles-out", help="output folder")
    b.add_argument("--name", help="profile name (default: <model>_<operator>[_<params>])")
    b.add_argument("--progress", "-P", action="store_true")
    b.set_defaults(func=_cmd_accuracy)

    b = psub.add_parser("plot", help="draw a quality profile: quality against channel level per split")
    b.add_argument("profile", help="shipped profile name (see 'splitgym profile list') or CSV path")
    b.add_argument("--out", required=True, help="PNG file to write")
    b.set_defaults(func=_cmd_plot)

    b = psub.add_parser("timings", help="measure per-layer timings of a catalogue model on this machine")
    b.add_argument("--model", required=True, help="catalogue name (e.g. llama2-7b), or 'all'")
    b.add_argument("--out", default="profiles-out", help="output folder")
    b.add_argument(
        "--prompt-lengths", nargs="+", type=_positive_int, help="prefill lengths (default 32 128 512)"
    )
    b.add_argument(
        "--context-lengths", nargs="+", type=_positive_int, help="decode contexts (default 128 512 1024)"
    )
    b.add_argument("--repeats", type=_positive_int, default=10)
    b.add_argument("--warmup", type=_positive_int, default=3)
    b.add_argument("--probe-layers", type=_positive_int, default=3)
    b.add_argument("--threads", type=_positive_int, default=1, help="torch threads (default 1)")
    b.add_argument("--progress", "-P", action="store_true")
    b.set_defaults(func=_cmd_timings)
    b = psub.add_parser("scale", help="scale measured timing profiles to device classes (roofline)")
    b.add_argument("profiles", nargs="+", help="measured timing profiles (CSV paths)")
    b.add_argument("--device", default="all", help="device class, or 'all'")
    b.add_argument("--weights", default="float16", help="weight precision on the device")
    b.add_argument("--out", default="profiles-out/scaled", help="output folder (one subfolder per device)")
    b.set_defaults(func=_cmd_scale)

    from splitgym.cli_compress import add_compress_parser

    add_compress_parser(sub, _Parser)

    p = sub.add_parser("demo", help="run the quick benchmark suite and print its table and plots")
    p.add_argument("--out", default="benchmark-results", help="results folder (default: benchmark-results)")
    p.add_argument("--workers", type=_positive_int, default=2)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``splitgym`` console script; returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        import torch

        torch.set_num_threads(1)  # small MLPs: one thread is as fast and leaves a core to the envs
        return int(args.func(args))
    except SplitGymError as exc:
        print(f"splitgym: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("splitgym: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
