"""Model-based agents: learn a reward surrogate from a budget of real evaluations, train PPO against it.

Chen et al. (arXiv 2406.02616) never train on the expensive LLM: they spend real evaluations offline on a
grid of (channel level, split), fit a reward surrogate model (RSM) and train PPO in an environment whose
expensive quality term is the surrogate. Two agents reproduce and improve that recipe, on the paper's
environment A (``splitgym/PaperSplitDirect-v0``, the default) and on the fading environments
(``splitgym/FadingSplit-*``: the surrogate replaces the measured accuracy profile ``Q(split, level)`` that
the environment reads at each request's SNR, or at its packet-erasure probability for an impairment-axis
model; the surrogate environment keeps the real environment's quality scoring range):

* :class:`PaperModelBasedAgent`: the paper's recipe. ``budget`` buys an evenly spaced grid (every split at
  ``budget // n_splits`` levels, :func:`~splitgym.surrogates.fit_on_budget`), one surrogate is fitted
  (``"paper"``: the paper's MLP, or ``"ensemble"``) and PPO (the paper's env-A settings by default: n_steps
  100, batch 25, 6000 steps) trains against it.
* :class:`ActiveModelBasedAgent`: Dyna-style active learning. A small stratified design of ``initial``
  real evaluations, an :class:`~splitgym.surrogates.EnsembleSurrogate`, PPO on the surrogate; then, round
  after round, the next real evaluations go where the ensemble is least sure (highest member std) among
  the (level, split) points the current policy visits in surrogate rollouts, plus a few
  uncertainty-maximising points over the whole domain; the ensemble is refitted on all data and PPO is
  warm-started from the previous policy. It spends exactly ``budget`` real evaluations.

Both count what they cost: ``real_evaluations`` / ``real_seconds`` (points of the real quality model
evaluated, through a :class:`~splitgym.profiles.CountingQualityModel`), ``surrogate_evaluations`` /
``surrogate_seconds`` (points the surrogate answered, during PPO training, rollouts and acquisition;
:class:`~splitgym.surrogates.SurrogateQualityModel` counts its own points, so it is the counted surrogate
wrapper) and ``train_seconds`` (wall time of PPO's ``learn``). Both are policies: ``predict`` as in SB3.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from splitgym.envs.paper import PaperSplitDirectConfig
from splitgym.errors import ConfigError, suggest
from splitgym.profiles.quality import CountingQualityModel, QualityModel
from splitgym.surrogates.base import RewardSurrogate, check_int
from splitgym.surrogates.quality import (
    SURROGATE_CHOICES,
    SurrogateQualityModel,
    fit_on_budget,
    level_range_of,
    make_surrogate,
)

__all__ = [
    "ENV_ID",
    "PAPER_PPO_KWARGS",
    "PAPER_TIMESTEPS",
    "ActiveModelBasedAgent",
    "ActiveSettings",
    "ModelBasedSettings",
    "PaperModelBasedAgent",
    "PaperSettings",
    "learner_class",
]

ENV_ID = "splitgym/PaperSplitDirect-v0"
# The paper's PPO for environment A (agents/hyperparams/ppo.yml): SB3 defaults with these.
PAPER_PPO_KWARGS: dict[str, Any] = {"n_steps": 100, "batch_size": 25}
PAPER_TIMESTEPS = 6000


LEARNERS = ("ppo", "maskable_ppo")


def learner_class(learner: str) -> type[Any]:
    if learner not in LEARNERS:
        hint = suggest(str(learner), LEARNERS)
        raise ConfigError(f"learner must be one of {list(LEARNERS)}, got {learner!r}{hint}")
    if learner == "maskable_ppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    from stable_baselines3 import PPO

    return PPO


def _ppo_settings(
    env_id: str, ppo_kwargs: Mapping[str, Any] | None, n_timesteps: int | None, learner: str = "ppo"
) -> tuple[dict[str, Any], int, int]:
    """PPO keyword arguments, training steps and number of environments: the YAML entry of ``env_id``
    (``hyperparams/<learner>.yml``; for environment A the paper's settings) with ``ppo_kwargs`` on top."""
    from splitgym.agents.hyperparams import load_hyperparams

    params, _ = load_hyperparams(learner, learner_class(learner), env_id, ppo_kwargs)
    steps = int(params.pop("n_timesteps", PAPER_TIMESTEPS) if n_timesteps is None else n_timesteps)
    params.pop("n_timesteps", None)
    n_envs = int(params.pop("n_envs", 1))
    if params.pop("policy", "MlpPolicy") != "MlpPolicy":
        raise ConfigError("the model-based agents train an MlpPolicy")
    return params, steps, n_envs


@dataclass(frozen=True, kw_only=True)
class ModelBasedSettings:
    """Settings shared by both model-based agents (their hyperparameters; see each agent's docstring).

    Args:
        budget: real evaluations of the quality model allowed.
        seed: seeds the surrogate and PPO.
        ppo_kwargs: PPO arguments over the YAML entry of ``env_id`` (``hyperparams/<learner>.yml``).
        n_timesteps: PPO steps on the surrogate environment (default the YAML's).
        env_kwargs: environment overrides (not ``quality_model``); they fix the splits.
        level_range: the levels the design spans (default the real model's tabulated range).
        surrogate_kwargs: passed to the surrogate's constructor.
        env_id: ``splitgym/PaperSplitDirect-v0`` or a ``splitgym/FadingSplit-*`` environment.
        learner: ``"ppo"`` (the paper's) or ``"maskable_ppo"`` (on environments with action masks).
    """

    budget: int
    seed: int = 0
    ppo_kwargs: Mapping[str, Any] | None = None
    n_timesteps: int | None = None
    env_kwargs: Mapping[str, Any] | None = None
    level_range: tuple[float, float] | None = None
    surrogate_kwargs: Mapping[str, Any] | None = None
    env_id: str = ENV_ID
    learner: str = "ppo"


@dataclass(frozen=True, kw_only=True)
class PaperSettings(ModelBasedSettings):
    """:class:`ModelBasedSettings` plus ``surrogate``: ``"paper"`` (the paper's MLP) or ``"ensemble"``."""

    surrogate: str = "paper"


@dataclass(frozen=True, kw_only=True)
class ActiveSettings(ModelBasedSettings):
    """:class:`ModelBasedSettings` plus the acquisition schedule of :class:`ActiveModelBasedAgent`."""

    initial: int | None = None
    rounds: int = 3
    per_round: int | None = None
    refine_timesteps: int | None = None
    rollout_episodes: int = 20
    domain_share: float = 0.25


_A = TypeVar("_A", bound="_ModelBasedAgent")


class _ModelBasedAgent:
    """Counters, the surrogate environment, PPO training and ``predict`` shared by both agents.

    Built from a settings dataclass (``settings=``, or its fields as keyword arguments); trained by
    :meth:`fit`, which takes the training hooks as SB3's ``learn`` does.
    """

    Settings: type[ModelBasedSettings] = ModelBasedSettings

    def __init__(
        self,
        real_model: QualityModel | None,
        budget: int | None = None,
        *,
        settings: ModelBasedSettings | None = None,
        **kwargs: Any,
    ) -> None:
        from splitgym.agents.envs import check_env_id

        if settings is None:
            if budget is None:
                raise ConfigError(f"{type(self).__name__} needs a budget of real evaluations")
            try:
                settings = self.Settings(budget=budget, **kwargs)
            except TypeError as exc:
                raise ConfigError(f"{type(self).__name__}: {exc}") from None
        elif budget is not None or kwargs:
            raise ConfigError("give either settings= or budget and keyword arguments, not both")
        if not isinstance(settings, self.Settings):
            raise ConfigError(f"{type(self).__name__} takes {self.Settings.__name__}, got {settings!r}")
        self.settings = settings
        self.budget = check_int("budget", settings.budget, 1)
        self.seed = check_int("seed", settings.seed, 0)
        self.env_id = check_env_id(settings.env_id)
        self.env_kwargs = dict(settings.env_kwargs or {})
        if "quality_model" in self.env_kwargs and real_model is not None:
            raise ConfigError(
                "give the real quality model either as real_model or as env_kwargs['quality_model'], not both"
            )
        self.learner = settings.learner
        self.ppo_kwargs, steps, self.n_envs = _ppo_settings(
            self.env_id, settings.ppo_kwargs, settings.n_timesteps, self.learner
        )
        self.n_timesteps = check_int("n_timesteps", steps, 1)
        real_model, self.splits, self._surrogate_env_kwargs = self._environment(real_model)
        self.surrogate_kwargs = dict(settings.surrogate_kwargs or {})
        self.real_model = real_model
        self.level_range = level_range_of(real_model, settings.level_range)
        self.counter = CountingQualityModel(real_model)
        self.surrogate: RewardSurrogate | None = None
        self.model: Any = None  # the SB3 PPO, once trained
        self.train_seconds = 0.0
        self._surrogate_models: list[SurrogateQualityModel] = []
        self._learn: dict[str, Any] = {"callback": None, "progress_bar": False}
        self._tensorboard_log: str | None = None
        self._tb_log_name = type(self).__name__

    def fit(
        self: _A,
        *,
        quality_wrapper: Callable[[QualityModel], QualityModel] | None = None,
        callback: Any = None,
        progress_bar: bool = False,
        tensorboard_log: str | Path | None = None,
        tb_log_name: str | None = None,
    ) -> _A:
        """Spend the budget and train the policy.

        ``quality_wrapper`` wraps the real quality model before it is counted (a run folder records every
        real evaluation through it); ``callback``, ``progress_bar``, ``tensorboard_log`` and
        ``tb_log_name`` go to every PPO ``learn`` call, as in stable-baselines3.
        """
        real = quality_wrapper(self.real_model) if quality_wrapper is not None else self.real_model
        self.counter = CountingQualityModel(real)
        self._learn = {"callback": callback, "progress_bar": progress_bar}
        self._tensorboard_log = None if tensorboard_log is None else str(tensorboard_log)
        self._tb_log_name = tb_log_name or type(self).__name__
        self._fit()
        return self

    def _fit(self) -> None:
        raise NotImplementedError

    # -- counters ------------------------------------------------------------------------------------
    @property
    def real_evaluations(self) -> int:
        """Points of the real quality model evaluated so far."""
        return int(self.counter.points)

    @property
    def real_seconds(self) -> float:
        return float(self.counter.seconds)

    @property
    def surrogate_evaluations(self) -> int:
        """Points the surrogate(s) answered so far (training, rollouts and acquisition)."""
        return int(sum(q.points for q in self._surrogate_models))

    @property
    def surrogate_seconds(self) -> float:
        return float(sum(q.seconds for q in self._surrogate_models))

    def counts(self) -> dict[str, float]:
        return {
            "real_evaluations": self.real_evaluations,
            "real_seconds": self.real_seconds,
            "surrogate_evaluations": self.surrogate_evaluations,
            "surrogate_seconds": self.surrogate_seconds,
            "train_seconds": self.train_seconds,
        }

    # -- helpers -------------------------------------------------------------------------------------
    def _environment(
        self, real_model: QualityModel | None
    ) -> tuple[QualityModel, NDArray[np.int64], dict[str, Any]]:
        """The real quality model (default: the environment's own), the splits to learn, and the extra
        keyword arguments of the surrogate environment."""
        from splitgym.registration import env_family

        probe = gym.make(self.env_id, **self.env_kwargs)
        inner: Any = probe.unwrapped
        probe.close()
        family = env_family(self.env_id)
        if family == "split":
            if "quality_model" in self.env_kwargs:
                raise ConfigError(
                    "env_kwargs must not set quality_model on a fading environment: give real_model"
                )
            return self._split_v1(inner, real_model)
        if family != "paper_direct" or not isinstance(inner.config, PaperSplitDirectConfig):
            raise ConfigError(
                f"the model-based agents run on splitgym/PaperSplitDirect-v0 or a splitgym/FadingSplit-* "
                f"environment, not {self.env_id}"
            )
        if self.learner == "maskable_ppo":
            raise ConfigError(
                f"learner 'maskable_ppo' needs an environment with action masks; {self.env_id} has none"
            )
        cfg = inner.config
        if real_model is None:
            real_model = inner.quality_model
        splits = np.arange(cfg.min_split, cfg.max_split + 1, dtype=np.int64)
        missing = sorted(set(splits.tolist()) - set(np.asarray(real_model.splits).tolist()))
        if missing:
            raise ConfigError(f"real_model cannot evaluate split(s) {missing} of the environment")
        return real_model, splits, {}

    def _split_v1(
        self, inner: Any, real_model: QualityModel | None
    ) -> tuple[QualityModel, NDArray[np.int64], dict[str, Any]]:
        """A v1 split world: the surrogate learns the world's own quality profile ``Q(split, level)`` (the
        level: the equivalent SNR of the analog/uncoded links, the activation bits of nr)."""
        world = inner.world
        table = world.quality
        if table.proxy:
            raise ConfigError(
                f"{self.env_id} reads a proxy quality profile (another model's, at the same relative depth); "
                "the model-based agents learn a model's own profile: use a scenario on the reference model "
                "(FadingSplit-Reference-Stateless-v1, -Analog-v1, -Uncoded-v1) or give quality_profile"
            )
        if real_model is None:
            real_model = table.model
        if real_model.level_name != table.model.level_name:
            raise ConfigError(
                f"real_model is on {real_model.level_name!r} but {self.env_id}'s quality model is on "
                f"{table.model.level_name!r}"
            )
        runnable = world.runnable[(world.runnable > 0) & (world.runnable < world.num_layers)]
        splits = np.intersect1d(runnable, np.asarray(real_model.splits)).astype(np.int64)
        return real_model, splits, {"quality_range": table.quality_range}

    def _surrogate_model(self, surrogate: RewardSurrogate) -> SurrogateQualityModel:
        qm = SurrogateQualityModel(surrogate, self.real_model.level_name, self.splits, self.level_range)
        self._surrogate_models.append(qm)
        return qm

    def _make_env(self, quality_model: QualityModel) -> gym.Env[Any, Any]:
        kwargs = {**self.env_kwargs, **self._surrogate_env_kwargs, "quality_model": quality_model}
        return gym.make(self.env_id, **kwargs)

    def _level(self, env: gym.Env[Any, Any], info: Mapping[str, Any]) -> float:
        """The quality model's channel level of the step that produced ``info``."""
        if "impairment" in info:
            return float(info["impairment"])
        if "quality_level" in info:  # v1: the lane's level (equivalent SNR, or activation bits)
            return float(info["quality_level"])
        raise ConfigError(f"{self.env_id} reports no quality level in its info (quality_level, impairment)")

    def _train(self, quality_model: QualityModel, steps: int) -> None:
        """PPO on the surrogate environment; a later call warm-starts from the current policy."""
        import torch
        from stable_baselines3.common.vec_env import DummyVecEnv

        torch.set_num_threads(1)
        vec = DummyVecEnv([lambda: self._make_env(quality_model) for _ in range(self.n_envs)])
        vec.seed(self.seed + 1000 * len(self._surrogate_models))
        start = time.perf_counter()
        learn = {**self._learn, "tb_log_name": self._tb_log_name}
        if self.model is None:
            kwargs: dict[str, Any] = {"verbose": 0, "device": "cpu", "seed": self.seed}
            kwargs.update(self.ppo_kwargs)
            if self._tensorboard_log is not None:
                kwargs["tensorboard_log"] = self._tensorboard_log
            self.model = learner_class(self.learner)("MlpPolicy", vec, **kwargs)
            self.model.learn(total_timesteps=steps, **learn)
        else:
            self.model.set_env(vec)
            self.model.learn(total_timesteps=steps, reset_num_timesteps=False, **learn)
        self.train_seconds += time.perf_counter() - start

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
        action_masks: Any = None,
    ) -> tuple[Any, Any]:
        """The policy's action; ``action_masks`` is used by a ``maskable_ppo`` learner (ignored by PPO)."""
        if self.model is None:
            raise ConfigError(f"{type(self).__name__} is not trained: call fit() first")
        extra = {"action_masks": action_masks} if self.learner == "maskable_ppo" else {}
        action, new_state = self.model.predict(
            observation, state=state, episode_start=episode_start, deterministic=deterministic, **extra
        )
        return action, new_state


class PaperModelBasedAgent(_ModelBasedAgent):
    """Chen et al.'s agent: a grid of real evaluations, one surrogate, PPO against the surrogate.

    Args:
        real_model: the expensive quality model (a live LLM, or a table standing in for it); ``None``: the
            environment's own.
        budget: real evaluations allowed; the grid uses ``(budget // n_splits) * n_splits`` of them (at
            least 2 levels per split, so ``budget >= 2 * n_splits``).
        surrogate: ``"paper"`` (the paper's MLP) or ``"ensemble"``.
        seed: seeds the surrogate and PPO.
        ppo_kwargs: PPO arguments over the YAML entry of ``env_id`` (``hyperparams/ppo.yml``; for
            environment A the paper's settings, n_steps 100, batch 25).
        n_timesteps: PPO steps on the surrogate environment (default the YAML's; 6000 for environment A).
        env_kwargs: environment overrides (not ``quality_model``); they fix the splits.
        level_range: the levels the grid spans (default the real model's tabulated range, else [0, 0.3]).
        surrogate_kwargs: passed to the surrogate's constructor.
        env_id: ``splitgym/PaperSplitDirect-v0`` or a ``splitgym/FadingSplit-*`` environment.
        learner: ``"ppo"`` (the paper's) or ``"maskable_ppo"`` (sb3-contrib; on environments with action
            masks it never spends steps on infeasible splits).
    """

    Settings = PaperSettings

    def __init__(
        self,
        real_model: QualityModel | None,
        budget: int | None = None,
        *,
        settings: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(real_model, budget, settings=settings, **kwargs)
        assert isinstance(self.settings, PaperSettings)
        if self.settings.surrogate not in SURROGATE_CHOICES:
            make_surrogate(self.settings.surrogate)  # raises the error naming the choices
        self.kind = self.settings.surrogate

    def _fit(self) -> None:
        fitted, _ = fit_on_budget(
            self.counter,
            self.budget,
            self.kind,
            self.seed,
            splits=self.splits,
            level_range=self.level_range,
            **self.surrogate_kwargs,
        )
        self.surrogate = fitted
        self._train(self._surrogate_model(fitted), self.n_timesteps)


class ActiveModelBasedAgent(_ModelBasedAgent):
    """Dyna-style active learning of the reward surrogate where the policy goes and the ensemble is unsure.

    Args:
        real_model, budget, seed, ppo_kwargs, n_timesteps, env_kwargs, level_range, env_id, learner: as for
            :class:`PaperModelBasedAgent` (``n_timesteps``: PPO steps of the first round).
        initial: real evaluations of the first, stratified design (each split in turn, Latin-hypercube
            levels); default ``max(min(budget, n_splits), budget // 2)``.
        rounds: acquisition rounds sharing the remaining ``budget - initial`` evaluations evenly.
        per_round: evaluations per round instead (then ``rounds = ceil((budget - initial) / per_round)``,
            the last one taking what is left).
        refine_timesteps: PPO steps after each refit, warm-started (default ``n_timesteps // 2``).
        rollout_episodes: surrogate episodes of the current (stochastic) policy whose visited states are
            the candidates of a round.
        domain_share: share of a round's points chosen over the whole domain grid (at least one).
        surrogate_kwargs: passed to :class:`~splitgym.surrogates.EnsembleSurrogate`.

    ``history`` has one row per acquisition round: ``round``, ``points``, ``queried_std`` (mean ensemble std
    at the queried points when they were chosen) and ``random_std`` (mean std at uniformly random domain
    points at the same time).
    """

    Settings = ActiveSettings

    def __init__(
        self,
        real_model: QualityModel | None,
        budget: int | None = None,
        *,
        settings: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(real_model, budget, settings=settings, **kwargs)
        cfg = self.settings
        assert isinstance(cfg, ActiveSettings)
        initial, rounds, per_round = cfg.initial, cfg.rounds, cfg.per_round
        refine_timesteps, rollout_episodes, domain_share = (
            cfg.refine_timesteps,
            cfg.rollout_episodes,
            cfg.domain_share,
        )
        n_splits = len(self.splits)
        if initial is None:
            initial = max(min(self.budget, n_splits), self.budget // 2)
        self.initial = check_int("initial", initial, 2, self.budget)
        remaining = self.budget - self.initial
        if per_round is not None:
            per_round = check_int("per_round", per_round, 1)
            rounds = -(-remaining // per_round)
            self.round_sizes = [min(per_round, remaining - i * per_round) for i in range(rounds)]
        else:
            rounds = check_int("rounds", rounds, 0)
            if remaining and rounds == 0:
                raise ConfigError(f"rounds must be >= 1 to spend the remaining {remaining} evaluation(s)")
            base, extra = divmod(remaining, max(rounds, 1))
            self.round_sizes = [base + (1 if i < extra else 0) for i in range(rounds)] if remaining else []
        self.round_sizes = [n for n in self.round_sizes if n > 0]
        self.refine_timesteps = check_int(
            "refine_timesteps",
            max(1, self.n_timesteps // 2) if refine_timesteps is None else refine_timesteps,
            1,
        )
        self.rollout_episodes = check_int("rollout_episodes", rollout_episodes, 1)
        if not 0.0 <= float(domain_share) <= 1.0:
            raise ConfigError(f"domain_share must be in [0, 1], got {domain_share!r}")
        self.domain_share = float(domain_share)
        self.rng = np.random.default_rng(self.seed)
        self.X = np.zeros((0, 2))
        self.y = np.zeros(0)
        self.history: list[dict[str, float]] = []

    # -- data ----------------------------------------------------------------------------------------
    def _initial_design(self, n: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        lo, hi = self.level_range
        cycles = -(-n // len(self.splits))
        splits = np.concatenate([self.rng.permutation(self.splits) for _ in range(cycles)])[:n]
        strata = self.rng.permutation(n)
        levels = lo + (hi - lo) * (strata + self.rng.uniform(size=n)) / n
        return levels, splits.astype(np.int64)

    def _query(self, levels: NDArray[np.float64], splits: NDArray[np.int64]) -> None:
        y = np.asarray(self.counter.quality_batch(splits, levels), dtype=np.float64).reshape(-1)
        self.X = np.vstack([self.X, np.column_stack([levels, splits.astype(np.float64)])])
        self.y = np.concatenate([self.y, y])

    def _fit_surrogate(self, round_index: int) -> SurrogateQualityModel:
        kwargs: dict[str, Any] = {
            "input_names": [self.real_model.level_name, "split"],
            "target_name": "quality",
        }
        kwargs.update(self.surrogate_kwargs)
        surrogate = make_surrogate("ensemble", seed=self.seed + round_index, **kwargs)
        surrogate.fit(self.X, self.y)
        self.surrogate = surrogate
        return self._surrogate_model(surrogate)

    # -- acquisition ---------------------------------------------------------------------------------
    def _visited(self, quality_model: SurrogateQualityModel) -> NDArray[np.float64]:
        """``[level, split]`` of every state the current stochastic policy reaches in surrogate rollouts."""
        env = self._make_env(quality_model)
        rows: list[tuple[float, float]] = []
        base = int(self.rng.integers(0, 2**31 - 1))
        for i in range(self.rollout_episodes):
            obs, info = env.reset(seed=base + i)
            done = False
            while not done:
                inner: Any = env.unwrapped
                masks = inner.action_masks() if self.learner == "maskable_ppo" else None
                action, _ = self.predict(obs, deterministic=False, action_masks=masks)
                obs, _, terminated, truncated, info = env.step(action)
                rows.append((self._level(env, info), float(info["split"])))
                done = bool(terminated or truncated)
        env.close()
        # Levels beyond the design domain are where the real model has no answer of its own (a table
        # clamps, the environment counts an impairment beyond it as failed): the candidate is its edge.
        lo, hi = self.level_range
        visited = np.asarray(rows, dtype=np.float64).reshape(-1, 2)
        visited[:, 0] = np.clip(visited[:, 0], lo, hi)
        # Only splits whose quality the model answers for (v1: no hidden state crosses at 0 and L).
        return visited[np.isin(visited[:, 1], self.splits)]

    def _domain(self) -> NDArray[np.float64]:
        lo, hi = self.level_range
        L, S = np.meshgrid(np.linspace(lo, hi, 31), self.splits.astype(np.float64), indexing="ij")
        return np.column_stack([L.ravel(), S.ravel()])

    def _pick(
        self, candidates: NDArray[np.float64], std: NDArray[np.float64], n: int, taken: list[NDArray[Any]]
    ) -> list[int]:
        """Greedy: the ``n`` highest-std candidates, none within a small level gap of a taken point at the
        same split."""
        lo, hi = self.level_range
        gap = (hi - lo) / 60.0
        chosen: list[int] = []
        pool = [self.X, *taken]
        for idx in np.argsort(-std, kind="stable"):
            point = candidates[idx]
            clash = False
            for block in pool:
                if block.size:
                    same = block[:, 1] == point[1]
                    if np.any(np.abs(block[same, 0] - point[0]) < gap):
                        clash = True
                        break
            if chosen and not clash:
                picked = candidates[chosen]
                same = picked[:, 1] == point[1]
                clash = bool(np.any(np.abs(picked[same, 0] - point[0]) < gap))
            if not clash:
                chosen.append(int(idx))
                if len(chosen) == n:
                    break
        return chosen

    def _acquire(self, n: int, round_index: int, quality_model: SurrogateQualityModel) -> None:
        visited = self._visited(quality_model)
        domain = self._domain()
        n_domain = min(n, max(1, round(self.domain_share * n))) if n > 1 else 0
        n_visited = n - n_domain
        picked: list[NDArray[Any]] = []
        stds: list[float] = []
        if n_visited and visited.size:
            v_std = quality_model.std_batch(visited[:, 1].astype(np.int64), visited[:, 0])
            idx = self._pick(visited, v_std, n_visited, [])
            picked.append(visited[idx])
            stds.extend(v_std[idx].tolist())
        d_std = quality_model.std_batch(domain[:, 1].astype(np.int64), domain[:, 0])
        short = n - sum(len(p) for p in picked)
        idx = self._pick(domain, d_std, short, picked)
        picked.append(domain[idx])
        stds.extend(d_std[idx].tolist())
        points = np.vstack(picked) if picked else np.zeros((0, 2))
        short = n - len(points)
        if short > 0:  # the domain grid is exhausted: uniformly random points
            lo, hi = self.level_range
            extra = np.column_stack(
                [self.rng.uniform(lo, hi, short), self.rng.choice(self.splits, short).astype(np.float64)]
            )
            points = np.vstack([points, extra])
            stds.extend(quality_model.std_batch(extra[:, 1].astype(np.int64), extra[:, 0]).tolist())
        lo, hi = self.level_range
        probe_levels = self.rng.uniform(lo, hi, 200)
        probe_splits = self.rng.choice(self.splits, 200)
        random_std = float(np.mean(quality_model.std_batch(probe_splits, probe_levels)))
        self.history.append(
            {
                "round": float(round_index),
                "points": float(n),
                "queried_std": float(np.mean(stds)) if stds else float("nan"),
                "random_std": random_std,
            }
        )
        self._query(points[:, 0].astype(np.float64), points[:, 1].astype(np.int64))

    def _fit(self) -> None:
        levels, splits = self._initial_design(self.initial)
        self._query(levels, splits)
        quality_model = self._fit_surrogate(0)
        self._train(quality_model, self.n_timesteps)
        for r, n in enumerate(self.round_sizes, start=1):
            self._acquire(n, r, quality_model)
            quality_model = self._fit_surrogate(r)
            self._train(quality_model, self.refine_timesteps)
        if self.real_evaluations != self.budget:  # pragma: no cover - an invariant of the design
            raise RuntimeError(f"spent {self.real_evaluations} real evaluations, budget {self.budget}")
