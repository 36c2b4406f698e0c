"""Classic baselines behind the :class:`~splitgym.agents.policies.base.Policy` interface.

* :class:`RandomPolicy`: uniform over the action space (score 0 of the normalised score).
* :class:`BestSplitPolicy`: the best-split-per-state policy read from the quality table: in each state it
  finds the split with the highest reward at the current channel level and moves as close to it as one
  action allows (score 1 of the normalised score).
* :class:`PlanningOracle`: the best policy read from the environment's own model of its dynamics and its
  quality table: at every step it enumerates every action sequence to the end of the episode and takes the
  first action of the best one. The paper environments are deterministic after reset, so this is the
  optimal policy (an upper bound). It knows the step count, which the agents' observation does not show,
  so it may avoid a move whose gain would not pay back before the episode ends.
"""

from __future__ import annotations

import itertools
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from splitgym.envs.paper import _PaperEnvBase
from splitgym.errors import ConfigError

__all__ = ["BestSplitPolicy", "PlanningOracle", "RandomPolicy"]


class RandomPolicy:
    """Uniformly random actions from ``action_space``, seeded."""

    def __init__(self, action_space: gym.Space[Any], seed: int | None = None) -> None:
        self.action_space = action_space
        self.action_space.seed(seed)

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[Any, Any]:
        return self.action_space.sample(), state


def _paper_env(env: gym.Env[Any, Any], who: str) -> _PaperEnvBase:
    inner = env.unwrapped
    if not isinstance(inner, _PaperEnvBase):
        raise ConfigError(f"{who} needs a paper environment, got {type(inner).__name__}")
    return inner


class BestSplitPolicy:
    """Move toward the split with the best reward at the current channel level (stationary, greedy).

    ``state`` carries the quality at reset (which environment A's reward is relative to).
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        self.env = _paper_env(env, "BestSplitPolicy")
        cfg = self.env.config
        self.splits = np.arange(cfg.min_split, cfg.max_split + 1)
        assert isinstance(self.env.action_space, gym.spaces.Discrete)
        self.actions = np.arange(int(self.env.action_space.n))

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[Any, Any]:
        impairment, split = self.env.decode_obs(np.asarray(observation))
        if state is None or bool(np.any(episode_start)):
            state = self.env.quality_model.quality(split, impairment)
        levels = np.full(len(self.splits), impairment)
        target = self.splits[int(np.argmax(self.env.reward_batch(self.splits, levels, state)))]
        n = len(self.actions)
        nxt, imp = self.env.transition_batch(np.full(n, split), np.full(n, impairment), self.actions)
        reward = self.env.reward_batch(nxt, imp, state)
        # Closest to the target first; among equally close moves, the best immediate reward.
        best = np.lexsort((-reward, np.abs(nxt - target)))[0]
        return np.int64(self.actions[best]), state


class PlanningOracle:
    """Exhaustive look-ahead to the end of the episode on a paper environment's deterministic model.

    ``state`` carries ``(steps_taken, quality_at_reset)``. Cost per decision: ``|A|^(steps left)``
    vectorised model evaluations (59,049 at the first step of a 5-step episode with 9 actions).
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        self.env = _paper_env(env, "PlanningOracle")
        assert isinstance(self.env.action_space, gym.spaces.Discrete)
        self.n_actions = int(self.env.action_space.n)
        self._sequences: dict[int, NDArray[np.int64]] = {}

    def _all_sequences(self, length: int) -> NDArray[np.int64]:
        if length not in self._sequences:
            seqs = np.array(list(itertools.product(range(self.n_actions), repeat=length)), dtype=np.int64)
            self._sequences[length] = seqs.reshape(-1, length)
        return self._sequences[length]

    def best_action(self, impairment: float, split: int, steps_left: int, quality_start: float) -> int:
        """The first action of the best action sequence over the remaining ``steps_left`` steps."""
        seqs = self._all_sequences(max(steps_left, 1))
        s = np.full(len(seqs), split, dtype=np.int64)
        imp = np.full(len(seqs), impairment, dtype=np.float64)
        total = np.zeros(len(seqs))
        for t in range(seqs.shape[1]):
            s, imp = self.env.transition_batch(s, imp, seqs[:, t])
            total += self.env.reward_batch(s, imp, quality_start)
        return int(seqs[int(np.argmax(total)), 0])

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[Any, Any]:
        impairment, split = self.env.decode_obs(np.asarray(observation))
        if state is None or bool(np.any(episode_start)):
            state = (0, self.env.quality_model.quality(split, impairment))
        steps, q0 = state
        action = self.best_action(impairment, split, self.env.config.horizon - steps, q0)
        return np.int64(action), (steps + 1, q0)
