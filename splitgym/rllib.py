"""RLlib: every splitgym environment ID in Ray's registry, so fresh env-runner processes know them.

Gymnasium's registry lives in each process: an RLlib env runner (a new Ray worker process) has never
imported splitgym, so ``config.environment("splitgym/FadingSplit-v1")`` fails there with
``NamespaceNotFound``. :func:`register_with_ray` registers every ID with Ray Tune's registry
(``ray.tune.registry.register_env``), which Ray ships to every worker; each ID's creator
(:func:`make_env`, bound to the ID) imports splitgym in the worker before ``gym.make``. The
``splitgym:`` module prefix (``gym.make("splitgym:splitgym/FadingSplit-v1")``) works as well, without Ray.

Recipe: RLlib PPO on ``splitgym/FadingSplit-v1`` with two env runners.

Install RLlib **in its own environment**: ``pip install "ray[rllib]"`` may replace Gymnasium 1.x with the
older version RLlib pins (Gymnasium 1.4 became 1.2, as reported in issue 16), which other parts of splitgym's
environment (stable-baselines3, the tests) do not expect::

    python -m venv .venv-rllib
    .venv-rllib/bin/pip install -c constraints.txt torch==2.13.0   # the CPU wheel first, never a CUDA one
    .venv-rllib/bin/pip install -c constraints.txt -e . -r tests/clients/requirements-rllib.txt

(``make clients`` does this and runs ``tests/clients/test_rllib_ppo.py``, the recipe below as a test).
Start Ray from outside the checkout: Ray puts the driver's working directory on every worker's path, and
from the repository root the top-level ``splitgym/`` folder would hide the installed package
(``No module named 'splitgym.envs'`` in the env runners). Then::

    import ray
    from ray.rllib.algorithms.ppo import PPOConfig

    from splitgym.rllib import register_with_ray

    ray.init()
    register_with_ray()  # every splitgym ID, in this process and (through Ray) in every worker
    config = (
        PPOConfig()
        .environment("splitgym/FadingSplit-v1", env_config={"scenario": "Vehicular"})  # gym.make kwargs
        .env_runners(num_env_runners=2)
        .training(train_batch_size_per_learner=800, minibatch_size=200, num_epochs=2)
    )
    algo = config.build_algo()  # ``config.build()`` before Ray 2.44
    for _ in range(2):
        result = algo.train()
    algo.stop()

``env_config`` holds the keyword arguments of ``gym.make`` (RLlib passes it as an ``EnvContext``, a dict);
an unknown keyword raises splitgym's ``UnknownParameterError`` (a ``ConfigError`` and a ``TypeError``).
RLlib's action masking expects the mask inside the observation (``{"observation", "action_mask"}``),
not in ``info``.

**Many users, one cell** (:mod:`splitgym.envs.multi`): :func:`register_shared_cell` registers
``"splitgym_shared_cell"``, the PettingZoo ``ParallelEnv`` with ``Box`` observations
(:func:`~splitgym.envs.multi.parallel.box_parallel_env`) in RLlib's ``ParallelPettingZooEnv``; its
``env_config`` holds the cell's keywords. Multi-agent PPO with one policy shared by every device::

    from splitgym.rllib import SHARED_CELL, register_shared_cell

    register_shared_cell()
    config = (
        PPOConfig()
        .environment(SHARED_CELL, env_config={"n_users": 8, "max_steps": 20})
        .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, episode, **kw: "shared")
        .env_runners(num_env_runners=2)
        .training(train_batch_size_per_learner=800, minibatch_size=200, num_epochs=2)
    )

(``tests/clients/test_rllib_multiagent.py`` runs it on a local Ray instance.) The devices' action masks
are in ``infos`` there; an infeasible split runs the nearest feasible one and costs ``w_invalid``.

Not run in this project's own environment (``ray[rllib]`` is not installed there):
``tests/core/test_rllib.py`` checks the registration and the creators with a stand-in for
``register_env``, and runs the recipe above (2 env runners, 2 iterations) only where RLlib imports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import gymnasium as gym

from splitgym.errors import ConfigError, suggest

__all__ = [
    "SHARED_CELL",
    "env_creator",
    "make_env",
    "register_shared_cell",
    "register_with_ray",
    "shared_cell_creator",
    "splitgym_ids",
]
SHARED_CELL = "splitgym_shared_cell"

Creator = Callable[[Mapping[str, Any]], gym.Env[Any, Any]]


def splitgym_ids() -> tuple[str, ...]:
    """Every splitgym environment ID (``splitgym/...``)."""
    import splitgym

    return tuple(splitgym.env_ids())


def make_env(env_id: str, env_config: Mapping[str, Any] | None = None) -> gym.Env[Any, Any]:
    """``gym.make(env_id, **env_config)`` after importing splitgym (which registers its IDs): the
    creator RLlib calls in each env runner. ``env_config`` is RLlib's ``EnvContext`` (a dict of
    ``gym.make`` keyword arguments) or ``None``."""
    import splitgym  # noqa: F401  (registers the IDs in a fresh worker process)

    ids = splitgym_ids()
    if env_id not in ids:
        raise ConfigError(f"env_id {env_id!r} is not a splitgym environment{suggest(env_id, ids)}")
    return gym.make(env_id, **dict(env_config or {}))


def env_creator(env_config: Mapping[str, Any]) -> gym.Env[Any, Any]:
    """One creator for any ID: ``env_config["env_id"]`` names it, the other keys go to ``gym.make``
    (for ``register_env("splitgym", env_creator)`` and ``env_config={"env_id": ..., ...}``)."""
    config = dict(env_config)
    if "env_id" not in config:
        raise ConfigError(
            f"env_config needs 'env_id' (one of {', '.join(splitgym_ids())}); got keys {sorted(config)}"
        )
    return make_env(str(config.pop("env_id")), config)


def _ray_register_env() -> Callable[[str, Creator], None]:
    try:
        from ray.tune.registry import register_env
    except ImportError as exc:
        raise ImportError(
            f"register_with_ray needs Ray Tune's registry ({exc}); install RLlib in its own environment: "
            'pip install "ray[rllib]" (it may pin another Gymnasium version)'
        ) from exc
    return register_env  # type: ignore[no-any-return,unused-ignore]


def register_with_ray(
    ids: Iterable[str] | None = None, register: Callable[[str, Creator], None] | None = None
) -> tuple[str, ...]:
    """Register ``ids`` (default: every splitgym ID) with Ray's registry under their own names, each
    with :func:`make_env` bound to it, and ``"splitgym"`` with :func:`env_creator`; return the names.
    ``register`` replaces ``ray.tune.registry.register_env`` (for tests)."""
    known = splitgym_ids()
    chosen = tuple(known if ids is None else ids)
    for env_id in chosen:
        if env_id not in known:
            raise ConfigError(f"ids: {env_id!r} is not a splitgym environment{suggest(env_id, known)}")
    do_register = register if register is not None else _ray_register_env()
    for env_id in chosen:
        do_register(env_id, partial(make_env, env_id))
    do_register("splitgym", env_creator)
    return (*chosen, "splitgym")


def shared_cell_creator(env_config: Mapping[str, Any]) -> Any:
    """RLlib's ``ParallelPettingZooEnv`` around the shared cell with ``Box`` observations;
    ``env_config``: the cell's keywords (``n_users``, ``scheduler``, ``user``, ...)."""
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    from splitgym.envs.multi.parallel import box_parallel_env

    return ParallelPettingZooEnv(box_parallel_env(**dict(env_config)))  # type: ignore[no-untyped-call,unused-ignore]


def register_shared_cell(register: Callable[[str, Any], None] | None = None) -> str:
    """Register :data:`SHARED_CELL` with Ray's registry (``register`` replaces it, for tests)."""
    do_register = register if register is not None else _ray_register_env()
    do_register(SHARED_CELL, shared_cell_creator)
    return SHARED_CELL
