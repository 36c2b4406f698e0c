"""The baselines each environment family offers, by name, and how to build them.

Families (:func:`env_family`): ``"paper"`` (Chen et al.'s environments), ``"split"`` (FadingSplit),
``"compressed"`` (CompressedSplit) and ``"other"``. :data:`FAMILY_BASELINES` lists the names each offers:

* every family: ``random`` (uniform over the action space);
* paper: ``best_split`` (the best split per state from the quality table) and ``oracle`` (look-ahead);
* split: ``edge_only``, ``device_only``, ``fixed_split`` (the single split with the best mean return on
  calibration episodes, seeds disjoint from evaluation), ``neurosurgeon_latency`` and
  ``neurosurgeon_energy`` (Kang et al., ASPLOS 2017) and ``oracle`` (best split of each request);
* compressed: ``fixed_none``, ``fixed_luc``, ``fixed_uniform`` (the best constant action without
  compression / with LUC / with uniform compression, searched on calibration episodes) and ``oracle``.

:func:`make_baseline` returns the policy and the environment to evaluate it on (the given one, except
``fixed_luc``/``fixed_uniform`` on a compression environment of the other kind).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from splitgym.agents.policy import Policy
from splitgym.errors import ConfigError, suggest

__all__ = ["BASELINES", "FAMILY_BASELINES", "baselines_for", "env_family", "make_baseline"]

CALIBRATION_SEED = 10_000  # calibration episodes start at seed + CALIBRATION_SEED (evaluation: 1,000,000)

FAMILY_BASELINES: dict[str, tuple[str, ...]] = {
    "paper": ("random", "best_split", "oracle"),
    "split": (
        "random",
        "edge_only",
        "device_only",
        "fixed_split",
        "neurosurgeon_latency",
        "neurosurgeon_energy",
        "oracle",
    ),
    "compressed": ("random", "fixed_none", "fixed_luc", "fixed_uniform", "oracle"),
    "other": ("random",),
}
BASELINES: tuple[str, ...] = tuple(dict.fromkeys(b for bs in FAMILY_BASELINES.values() for b in bs))


def env_family(env: Any) -> str:
    """``"paper"``, ``"split"`` (FadingSplit), ``"compressed"`` or ``"other"`` for a built environment."""
    inner = env.unwrapped
    if hasattr(inner, "encode") and hasattr(inner, "split_rewards"):
        return "compressed"
    if hasattr(inner, "split_rewards") and hasattr(inner, "action_masks"):
        return "split"
    from splitgym.envs.paper import _PaperEnvBase

    return "paper" if isinstance(inner, _PaperEnvBase) else "other"


def baselines_for(family: str) -> tuple[str, ...]:
    """The baselines an environment family offers."""
    return FAMILY_BASELINES.get(family, FAMILY_BASELINES["other"])


def make_baseline(
    name: str,
    env: gym.Env[Any, Any],
    seed: int = 0,
    env_id: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> tuple[Policy, gym.Env[Any, Any]]:
    """The baseline policy ``name`` for ``env`` and the environment to evaluate it on.

    ``env_id``/``env_kwargs`` are needed only to build the other compression kind for ``fixed_luc`` or
    ``fixed_uniform``.
    """
    from splitgym.agents.baselines import BestSplitPolicy, PlanningOracle, RandomPolicy

    family = env_family(env)
    offered = baselines_for(family)
    if name not in offered:
        where = env_id or type(env.unwrapped).__name__
        hint = suggest(name, offered)
        raise ConfigError(f"baseline {name!r} is not offered by {where}{hint}; allowed: {list(offered)}")
    if name == "random":
        return RandomPolicy(env.action_space, seed=seed), env
    if family == "paper":
        return (BestSplitPolicy(env) if name == "best_split" else PlanningOracle(env)), env
    if family == "split":
        return _split(name, env, seed), env
    return _compressed(name, env, seed, env_id, env_kwargs)


def _split(name: str, env: gym.Env[Any, Any], seed: int) -> Policy:
    from splitgym.agents import split_baselines as sb
    from splitgym.agents.neurosurgeon import NeurosurgeonPolicy

    if name == "fixed_split":
        return sb.FixedSplitPolicy(env, sb.best_fixed_split(env, seed=seed + CALIBRATION_SEED)[0])
    if name.startswith("neurosurgeon_"):
        return NeurosurgeonPolicy(env, objective=name.removeprefix("neurosurgeon_"))
    simple: dict[str, type[Any]] = {
        "edge_only": sb.EdgeOnlyPolicy,
        "device_only": sb.DeviceOnlyPolicy,
        "oracle": sb.SplitOraclePolicy,
    }
    return simple[name](env)  # type: ignore[no-any-return]


def _compressed(
    name: str, env: gym.Env[Any, Any], seed: int, env_id: str | None, env_kwargs: Mapping[str, Any] | None
) -> tuple[Policy, gym.Env[Any, Any]]:
    """Constant actions searched on calibration episodes, or the oracle."""
    from splitgym.agents.fixed_action import FixedActionPolicy, best_fixed_action
    from splitgym.agents.split_baselines import SplitOraclePolicy

    if name == "oracle":
        return SplitOraclePolicy(env), env
    inner: Any = env.unwrapped
    budgets = tuple(str(b) for b in inner.config.budgets)
    if name == "fixed_none":
        action, _ = best_fixed_action(env, ("none",), seed=seed + CALIBRATION_SEED)
        return FixedActionPolicy(action), env
    kind = name.removeprefix("fixed_")
    if str(inner.config.compression) != kind:
        if env_id is None:
            raise ConfigError(f"baseline {name!r} on a {inner.config.compression} environment needs env_id")
        from splitgym.agents.sb3 import make_env

        env = make_env(env_id, {**dict(env_kwargs or {}), "compression": kind})
    action, _ = best_fixed_action(env, tuple(b for b in budgets if b != "none"), seed=seed + CALIBRATION_SEED)
    return FixedActionPolicy(action), env
