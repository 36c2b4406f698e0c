"""Fixed-action baselines for the compression environment: one (split, budget, mode) always.

``best_fixed_action`` picks, by exhaustive search over constant policies on calibration episodes, the
best split and budget for a given compression kind (the strongest fixed baseline of that kind):

* no compression: budget ``none``, edge answer, the best split;
* uniform compression: an environment with ``compression="uniform"``, the best split and budget;
* LUC: ``compression="luc"``, the best split and budget.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from splitgym.errors import ConfigError

__all__ = ["FixedActionPolicy", "best_fixed_action"]


class FixedActionPolicy:
    """Always the same action (the environment runs its nearest feasible action when it is masked)."""

    def __init__(self, action: int) -> None:
        self.action = int(action)

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[Any, Any]:
        return np.int64(self.action), state


def best_fixed_action(
    env: gym.Env[Any, Any], budgets: tuple[str, ...], mode: str = "edge", episodes: int = 5, seed: int = 0
) -> tuple[int, float]:
    """The constant action (over every split and the given budgets, in ``mode``) with the highest mean
    return on ``episodes`` calibration episodes (seeds ``seed..seed+episodes-1``); and that return."""
    inner: Any = env.unwrapped
    if not hasattr(inner, "encode"):
        raise ConfigError(f"best_fixed_action needs the compression environment, got {type(inner).__name__}")
    best, best_return = -1, -np.inf
    for split in range(inner.num_layers + 1):
        for budget in budgets:
            action = int(inner.encode(split, budget, mode))
            total = 0.0
            for i in range(episodes):
                env.reset(seed=seed + i)
                done = False
                while not done:
                    _, reward, terminated, truncated, _ = env.step(action)
                    total += float(reward)
                    done = terminated or truncated
            if total / episodes > best_return:
                best, best_return = action, total / episodes
    return best, best_return
