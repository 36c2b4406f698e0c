"""Classic split policies for the fading environments, behind the
:class:`~splitgym.agents.policies.base.Policy` interface. They read the environment's current request
(they are not learned):

* :class:`DeviceOnlyPolicy`: as many layers on the device as it can hold (``L`` when the model fits;
  otherwise the largest feasible split).
* :class:`EdgeOnlyPolicy`: as few layers on the device as allowed (split 0, or ``min_split`` when the
  scenario keeps the raw prompt on the device).
* :class:`FixedSplitPolicy`: one split always (the nearest feasible one when it is masked).
* :class:`SplitOraclePolicy`: the split with the highest reward on the current request, by exhaustive
  search with the true channel, loads and quality model (:meth:`split_rewards`); requests do not depend
  on actions except through ``prev_split`` in the observation, so this is the optimal policy (the upper
  bound of the normalised score).
"""

from __future__ import annotations

from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from splitgym.errors import ConfigError

__all__ = [
    "DeviceOnlyPolicy",
    "EdgeOnlyPolicy",
    "FixedSplitPolicy",
    "SplitOraclePolicy",
    "best_fixed_split",
]


class _SplitEnv(Protocol):
    num_layers: int
    world: Any

    def action_masks(self) -> NDArray[np.bool_]: ...

    def split_rewards(self) -> NDArray[np.float64]: ...


def _split_env(env: gym.Env[Any, Any], who: str) -> _SplitEnv:
    inner = env.unwrapped
    if not (hasattr(inner, "action_masks") and hasattr(inner, "split_rewards")):
        raise ConfigError(
            f"{who} needs a split environment with action masks (FadingSplit), got {type(inner).__name__}"
        )
    return inner  # type: ignore[return-value]


class _MaskPolicy:
    def __init__(self, env: gym.Env[Any, Any]) -> None:
        self.env = _split_env(env, type(self).__name__)

    def choose(self, mask: NDArray[np.bool_]) -> int:
        raise NotImplementedError

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[Any, Any]:
        return np.int64(self.choose(self.env.action_masks())), state


class DeviceOnlyPolicy(_MaskPolicy):
    """The largest feasible split."""

    def choose(self, mask: NDArray[np.bool_]) -> int:
        return int(np.flatnonzero(mask)[-1])


class EdgeOnlyPolicy(_MaskPolicy):
    """The smallest feasible split."""

    def choose(self, mask: NDArray[np.bool_]) -> int:
        return int(np.flatnonzero(mask)[0])


class FixedSplitPolicy(_MaskPolicy):
    """Always ``split`` (the nearest feasible split when it is masked; ties go to the smaller)."""

    def __init__(self, env: gym.Env[Any, Any], split: int) -> None:
        super().__init__(env)
        if not 0 <= split <= self.env.num_layers:
            raise ConfigError(f"split must be in 0..{self.env.num_layers}, got {split}")
        self.split = split

    def choose(self, mask: NDArray[np.bool_]) -> int:
        allowed = np.flatnonzero(mask)
        return int(allowed[np.argmin(np.abs(allowed - self.split))])


class SplitOraclePolicy(_MaskPolicy):
    """The best split of the current request (exhaustive search over splits with the true state)."""

    def choose(self, mask: NDArray[np.bool_]) -> int:
        rewards = np.where(mask, self.env.split_rewards(), -np.inf)
        return int(np.argmax(rewards))


def best_fixed_split(env: gym.Env[Any, Any], seed: int = 10_000, episodes: int = 50) -> tuple[int, float]:
    """The split whose :class:`FixedSplitPolicy` has the highest mean return over ``episodes`` calibration
    episodes (seeds ``seed, seed + 1, ...``; keep them apart from evaluation seeds) and that return."""
    from splitgym.agents.evaluation import evaluate

    inner = _split_env(env, "best_fixed_split")
    runnable = np.flatnonzero(np.asarray(inner.world.feasible).any(axis=0))
    best, best_return = int(runnable[0]), -np.inf
    for k in runnable:
        mean = float(evaluate(FixedSplitPolicy(env, int(k)), env, episodes, seed=seed)["return"].mean())
        if mean > best_return:
            best, best_return = int(k), mean
    return best, float(best_return)
