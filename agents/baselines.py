"""The baseline catalogue: every policy that is not trained, defined once and reached by name.

``train --algo NAME``, ``evaluate --baselines``, benchmark suites (``baseline: NAME``) and reports all
resolve names through :data:`BASELINES`. Each :class:`Baseline` says which environment families
(:data:`splitgym.registration.FAMILIES`) it runs on and how to build it there:

* every family: ``random`` (uniform over the action space; score 0 of the normalised score);
* paper (both environments): ``best_split`` (the best split per state from the quality table) and
  ``oracle`` (look-ahead over the episode);
* split: ``edge_only``, ``device_only``, ``fixed_split`` (the single split with the best mean return on
  calibration episodes, seeds disjoint from evaluation; hyperparameter ``split`` fixes it instead),
  ``neurosurgeon`` (Kang et al., ASPLOS 2017; hyperparameters ``objective``, ``quality_floor``) and its
  two named settings ``neurosurgeon_latency`` and ``neurosurgeon_energy``, and ``oracle`` (best split of
  each request); ``myopic`` (the same per-request rule, by its name in the sequential setting) and
  ``planning`` (:mod:`splitgym.agents.policies.planning`: look-ahead with a clone of a v1 env; hyperparameters
  ``horizon``, ``gamma``);
* compressed: ``fixed_none``, ``fixed_luc``, ``fixed_uniform`` (the best constant action without
  compression / with LUC / with uniform compression, searched on calibration episodes; hyperparameter
  ``action`` fixes it) and ``oracle``.

:meth:`Baseline.build` returns the policy, the environment to evaluate it on (the given one, except
``fixed_luc``/``fixed_uniform`` on a compression environment of the other kind) and the parameters that
rebuild exactly this policy (what calibration chose), which a run folder records in ``policy.yml``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from splitgym.agents.policies.base import Policy
from splitgym.errors import ConfigError, suggest
from splitgym.registration import FAMILIES

__all__ = [
    "BASELINES",
    "CALIBRATION_SEED",
    "Baseline",
    "BuildContext",
    "baselines_for",
    "compare_with_baselines",
    "family_baselines",
    "get_baseline",
    "high_reference",
    "make_baseline",
]

CALIBRATION_SEED = 10_000  # calibration episodes start at seed + CALIBRATION_SEED (evaluation: 1,000,000)


@dataclass(frozen=True)
class BuildContext:
    """What a baseline may need to build itself."""

    env: gym.Env[Any, Any]
    seed: int = 0
    env_id: str | None = None
    env_kwargs: Mapping[str, Any] | None = None


Built = tuple[Policy, gym.Env[Any, Any], dict[str, Any]]
Builder = Callable[[BuildContext, Mapping[str, Any]], Built]


@dataclass(frozen=True)
class Baseline:
    """One named baseline: a summary, its builder per family and the hyperparameters it takes."""

    name: str
    summary: str
    builders: Mapping[str, Builder]
    params: tuple[str, ...] = ()  # hyperparameter names it accepts (YAML hyperparams/<name>.yml, overrides)

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(self.builders)

    def check_params(self, params: Mapping[str, Any]) -> None:
        """A ConfigError naming any key this baseline does not take."""
        for key in params:
            if key not in self.params:
                if not self.params:
                    raise ConfigError(
                        f"baseline {self.name!r} takes no hyperparameters, got {sorted(params)}; it is not "
                        "trained"
                    )
                raise ConfigError(
                    f"hyperparameter {key!r} is not taken by {self.name}{suggest(key, self.params)}; "
                    f"allowed: {list(self.params)}"
                )

    def build(self, ctx: BuildContext, family: str, params: Mapping[str, Any] | None = None) -> Built:
        """The policy on ``ctx.env`` (of ``family``), the env to evaluate it on, and its parameters."""
        params = dict(params or {})
        self.check_params(params)
        builder = self.builders.get(family)
        if builder is None:
            where = ctx.env_id or type(ctx.env.unwrapped).__name__
            offered = baselines_for(family)
            raise ConfigError(
                f"baseline {self.name!r} is not offered by {where}{suggest(self.name, offered)}; "
                f"allowed: {list(offered)}"
            )
        return builder(ctx, params)


# -- builders --------------------------------------------------------------------------------------


def _random(ctx: BuildContext, params: Mapping[str, Any]) -> Built:
    from splitgym.agents.policies.paper import RandomPolicy

    return RandomPolicy(ctx.env.action_space, seed=ctx.seed), ctx.env, {}


def _best_split(ctx: BuildContext, params: Mapping[str, Any]) -> Built:
    from splitgym.agents.policies.paper import BestSplitPolicy

    return BestSplitPolicy(ctx.env), ctx.env, {}


def _planning_oracle(ctx: BuildContext, params: Mapping[str, Any]) -> Built:
    from splitgym.agents.policies.paper import PlanningOracle

    return PlanningOracle(ctx.env), ctx.env, {}


def _split_policy(cls_name: str) -> Builder:
    def build(ctx: BuildContext, params: Mapping[str, Any]) -> Built:
        from splitgym.agents.policies import split

        return getattr(split, cls_name)(ctx.env), ctx.env, {}

    return build


def _planning(ctx: BuildContext, params: Mapping[str, Any]) -> Built:
    from splitgym.agents.policies.planning import SplitPlanningPolicy

    settings = {"horizon": 5, "gamma": 1.0} | dict(params)
    return SplitPlanningPolicy(ctx.env, **settings), ctx.env, settings


def _fixed_split(ctx: BuildContext, params: Mapping[str, Any]) -> Built:
    from splitgym.agents.policies.split import FixedSplitPolicy, best_fixed_split

    chosen = params.get("split")
    if chosen is None:
        chosen = best_fixed_split(ctx.env, seed=ctx.seed + CALIBRATION_SEED)[0]
    if isinstance(chosen, bool) or not isinstance(chosen, int):
        raise ConfigError(f"fixed_split: split must be an integer, got {chosen!r}")
    return FixedSplitPolicy(ctx.env, chosen), ctx.env, {"split": int(chosen)}


def _neurosurgeon(objective: str | None) -> Builder:
    def build(ctx: BuildContext, params: Mapping[str, Any]) -> Built:
        from splitgym.agents.policies.neurosurgeon import NeurosurgeonPolicy

        settings = dict(params) if objective is None else {"objective": objective}
        return NeurosurgeonPolicy(ctx.env, **settings), ctx.env, dict(params)

    return build


def _fixed_action(compression: str) -> Builder:
    """The best constant action without compression (``none``) or with ``compression`` compression."""

    def build(ctx: BuildContext, params: Mapping[str, Any]) -> Built:
        from splitgym.agents.envs import make_env
        from splitgym.agents.policies.compressed import FixedActionPolicy, best_fixed_action

        env = ctx.env
        inner: Any = env.unwrapped
        if compression != "none" and str(inner.config.compression) != compression:
            if ctx.env_id is None:
                raise ConfigError(
                    f"baseline fixed_{compression} on a {inner.config.compression} env needs env_id"
                )
            env = make_env(ctx.env_id, {**dict(ctx.env_kwargs or {}), "compression": compression})
        action = params.get("action")
        if action is None:
            budgets = tuple(str(b) for b in env.unwrapped.config.budgets)  # type: ignore[attr-defined]
            allowed = ("none",) if compression == "none" else tuple(b for b in budgets if b != "none")
            action = best_fixed_action(env, allowed, seed=ctx.seed + CALIBRATION_SEED)[0]
        if isinstance(action, bool) or not isinstance(action, int):
            raise ConfigError(f"fixed_{compression}: action must be an integer, got {action!r}")
        return FixedActionPolicy(int(action)), env, {"action": int(action)}

    return build


_ALL = tuple(FAMILIES)
_PAPER = ("paper", "paper_direct")

BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline("random", "uniformly random actions", dict.fromkeys(_ALL, _random)),
        Baseline(
            "best_split", "best split per state from the quality table", dict.fromkeys(_PAPER, _best_split)
        ),
        Baseline("edge_only", "the smallest feasible split", {"split": _split_policy("EdgeOnlyPolicy")}),
        Baseline("device_only", "the largest feasible split", {"split": _split_policy("DeviceOnlyPolicy")}),
        Baseline(
            "fixed_split",
            "the best single split on calibration episodes",
            {"split": _fixed_split},
            ("split",),
        ),
        Baseline(
            "neurosurgeon",
            "Neurosurgeon's cost-model argmin",
            {"split": _neurosurgeon(None)},
            ("objective", "quality_floor"),
        ),
        Baseline(
            "neurosurgeon_latency", "Neurosurgeon, latency objective", {"split": _neurosurgeon("latency")}
        ),
        Baseline("neurosurgeon_energy", "Neurosurgeon, energy objective", {"split": _neurosurgeon("energy")}),
        Baseline(
            "fixed_none",
            "best constant action without compression",
            {"compressed": _fixed_action("none")},
            ("action",),
        ),
        Baseline(
            "fixed_luc",
            "best constant action with LUC compression",
            {"compressed": _fixed_action("luc")},
            ("action",),
        ),
        Baseline(
            "fixed_uniform",
            "best constant action with uniform compression",
            {"compressed": _fixed_action("uniform")},
            ("action",),
        ),
        Baseline(
            "oracle",
            "paper: look-ahead over the episode; split/compressed: the best action of each request",
            {
                **dict.fromkeys(_PAPER, _planning_oracle),
                "split": _split_policy("SplitOraclePolicy"),
                "compressed": _split_policy("SplitOraclePolicy"),
            },
        ),
        Baseline(
            "myopic",
            "split: the best split of each request, blind to the state it leaves (the oracle's rule)",
            {"split": _split_policy("SplitOraclePolicy")},
        ),
        Baseline(
            "planning",
            "split (v1 with state): clone the env, roll each split out with the myopic rule over a horizon",
            {"split": _planning},
            ("horizon", "gamma"),
        ),
    )
}

# What ``evaluate --baselines`` runs beside an agent (``neurosurgeon`` itself needs its hyperparameters).
# ``myopic`` repeats ``oracle`` on split envs; ``planning`` needs an env with clone() (v1) and is slow.
_EVALUATE_SKIP = ("neurosurgeon", "myopic", "planning")


def baselines_for(family: str, *, evaluation: bool = False) -> tuple[str, ...]:
    """The baselines an environment family offers (``evaluation``: those ``evaluate --baselines`` runs)."""
    names = tuple(name for name, b in BASELINES.items() if family in b.builders)
    return tuple(n for n in names if n not in _EVALUATE_SKIP) if evaluation else names


def get_baseline(name: str) -> Baseline:
    """The baseline ``name``; a ConfigError listing the catalogue otherwise."""
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}{suggest(name, BASELINES)}; allowed: {list(BASELINES)}")
    return BASELINES[name]


def make_baseline(
    name: str,
    env: gym.Env[Any, Any],
    family: str,
    seed: int = 0,
    env_id: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> Built:
    """Build baseline ``name`` on ``env`` of ``family``: ``(policy, env to evaluate on, parameters)``."""
    return get_baseline(name).build(BuildContext(env, seed, env_id, env_kwargs), family, params)


def family_baselines(env_id: str, env: gym.Env[Any, Any], seed: int = 0) -> dict[str, Policy]:
    """Every baseline ``evaluate --baselines`` runs on ``env_id``, built on ``env``: name -> policy (those
    that evaluate on another environment, ``fixed_luc``/``fixed_uniform`` of the other kind, are left
    out; :func:`compare_with_baselines` runs them)."""
    from splitgym.registration import env_family

    family = env_family(env_id)
    built = {n: make_baseline(n, env, family, seed, env_id) for n in baselines_for(family, evaluation=True)}
    return {n: policy for n, (policy, on, _) in built.items() if on is env}


def compare_with_baselines(
    env_id: str, env_kwargs: Mapping[str, Any], episodes: int, seed: int
) -> dict[str, Any]:
    """Every baseline ``evaluate --baselines`` runs on ``env_id``, evaluated on the same episodes
    (episode ``i`` reset with ``seed + i``): name -> per-episode frame
    (:func:`~splitgym.agents.evaluation.evaluate`)."""
    from splitgym.agents.envs import make_env
    from splitgym.agents.evaluation import evaluate
    from splitgym.registration import env_family

    family = env_family(env_id)
    env = make_env(env_id, env_kwargs)
    frames: dict[str, Any] = {}
    try:
        for name in baselines_for(family, evaluation=True):
            policy, eval_env, _ = make_baseline(name, env, family, seed, env_id, env_kwargs)
            frames[name] = evaluate(policy, eval_env, episodes, seed=seed)
            if eval_env is not env:
                eval_env.close()
    finally:
        env.close()
    return frames


def high_reference(family: str) -> tuple[str, str]:
    """The baseline that scores 1 in a family's normalised score, and what it is, in words."""
    if family in ("paper", "paper_direct"):
        return "best_split", "best split per state"
    return "oracle", "best action of each request"
