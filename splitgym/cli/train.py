"""``splitgym train``: any registered agent (RL, model-based, bandit, baseline) into a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from splitgym.cli.common import positive_int, seed

__all__ = ["add_parser"]


def _train(args: argparse.Namespace) -> int:
    from splitgym.agents.evaluation import evaluate, summary_line
    from splitgym.agents.hyperparams import parse_kv
    from splitgym.agents.training import load_policy, resume, train, training_record
    from splitgym.errors import ConfigError

    if args.resume:
        given = [flag for flag, value in (("--env", args.env), ("--algo", args.algo)) if value]
        if given:
            raise ConfigError(f"--resume takes the settings from the run folder; drop {' and '.join(given)}")
        result = resume(Path(args.resume), progress=args.progress, verbose=args.verbose, trust=args.trust)
        print(f"resumed {args.resume}: now {result.timesteps} steps ({result.seconds:.1f} s more)")
        return 0
    if args.trust:
        raise ConfigError("--trust is for --resume RUN (a new run has nothing to trust)")
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
    if real := training_record(result.run).get("real_evaluations"):
        print(f"real evaluations of the quality model spent in training: {real}")
    policy, _, env = load_policy(result.run)
    print(summary_line(args.algo, evaluate(policy, env, args.eval_episodes, seed=1_000_000)))
    env.close()
    return 0


def add_parser(sub: Any) -> None:
    from splitgym.agents.registry import algo_names

    p = sub.add_parser("train", help="train any agent (RL, model-based, bandit, baseline) into a run folder")
    p.add_argument("--env", help="environment ID, e.g. splitgym/PaperSplit-v0")
    p.add_argument(
        "--algo",
        metavar="ALGO",
        help=f"one of {', '.join(algo_names())} (hyperparameters: agents/hyperparams/<algo>.yml)",
    )
    p.add_argument(
        "--resume", metavar="RUN", help="continue an interrupted run folder from its last checkpoint"
    )
    p.add_argument(
        "--trust",
        action="store_true",
        help="with --resume: continue even if the run's files differ from its manifest.json",
    )
    p.add_argument("-n", "--n-timesteps", type=positive_int, default=None, help="steps (default: YAML)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--env-kwargs", nargs="*", metavar="KEY:VALUE", help="environment overrides (YAML values)")
    p.add_argument("--hyperparams", nargs="*", metavar="KEY:VALUE", help="hyperparameter overrides")
    p.add_argument("--progress", "-P", action="store_true", help="show a progress bar")
    p.add_argument("--tensorboard", "-tb", metavar="DIR", help="TensorBoard log folder")
    p.add_argument("--log-folder", "-f", default="runs", help="root of the run folders (default: runs)")
    p.add_argument("--eval-episodes", type=positive_int, default=20)
    p.add_argument("--verbose", type=int, default=0)
    p.set_defaults(func=_train)
