"""The agent registry: one :class:`Trainer` per ``--algo`` name (RL Zoo's ``ALGOS``, as a registry).

A trainer knows everything that differs between kinds of agent: the env families it runs on, the class
whose constructor defines its hyperparameters (checked against ``hyperparams/<algo>.yml`` and overrides),
how to check and build it before a run folder exists (:meth:`Trainer.prepare`), how to train it into a run
folder (:meth:`Trainer.fit`), resume an interrupted run (:meth:`Trainer.resume`), the model file it writes
and how to load it as a policy (:meth:`Trainer.load`). Callers (``splitgym train``, ``evaluate``, the
benchmark runner, the budget sweep) go through :mod:`splitgym.agents.training`, which asks this registry.

Adding an agent is one module with a :class:`~splitgym.agents.trainers.base.Trainer` subclass and one
line in :data:`ALGOS` (or :func:`register` at run time, as the tests do with a toy agent).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from splitgym.agents.baselines import BASELINES
from splitgym.agents.trainers.base import FitOptions, Request, Trainer
from splitgym.agents.trainers.baseline import BaselineTrainer
from splitgym.agents.trainers.model_based import ModelBasedTrainer
from splitgym.agents.trainers.online import LinUCBTrainer
from splitgym.agents.trainers.sb3 import SB3Trainer
from splitgym.errors import ConfigError, suggest

__all__ = [
    "ALGOS",
    "FitOptions",
    "Request",
    "Trainer",
    "algo_names",
    "get_trainer",
    "register",
    "registered",
]


ALGOS: dict[str, Trainer] = {
    t.name: t
    for t in (
        SB3Trainer("ppo"),
        SB3Trainer("a2c"),
        SB3Trainer("dqn"),
        SB3Trainer("maskable_ppo", families=("split", "compressed", "shared")),
        ModelBasedTrainer("paper_mb"),
        ModelBasedTrainer("active_mb"),
        LinUCBTrainer(),
        *(BaselineTrainer(b) for b in BASELINES.values()),
    )
}


def algo_names(*, trained: bool | None = None) -> tuple[str, ...]:
    """Every registered ``--algo`` name (``trained``: only trained agents / only baselines)."""
    return tuple(n for n, t in ALGOS.items() if trained is None or t.trained == trained)


def get_trainer(algo: str) -> Trainer:
    """The trainer of ``algo``; a ConfigError listing the registered names otherwise."""
    if not isinstance(algo, str) or algo not in ALGOS:
        names = algo_names()
        raise ConfigError(f"unknown algorithm {algo!r}{suggest(str(algo), names)}; allowed: {list(names)}")
    return ALGOS[algo]


def register(trainer: Trainer) -> None:
    """Add ``trainer`` under its name (a ConfigError if the name is taken)."""
    if trainer.name in ALGOS:
        raise ConfigError(f"algorithm {trainer.name!r} is already registered")
    ALGOS[trainer.name] = trainer


@contextmanager
def registered(trainer: Trainer) -> Iterator[Trainer]:
    """Register ``trainer`` for the duration of a ``with`` block (tests, notebooks)."""
    register(trainer)
    try:
        yield trainer
    finally:
        del ALGOS[trainer.name]
