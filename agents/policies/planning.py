"""A planning baseline for the stateful v1 split world: it knows the true model and looks ahead.

For each feasible split ``a`` of the current request it clones the environment
(:meth:`FadingSplitV1Env.clone <splitgym.envs.split.env.FadingSplitV1Env.clone>`: the same world, the
episode's state and a copy of the random generator, so the clone also knows the future draws), executes ``a``
and then follows the myopic policy (per-request argmax of ``split_rewards``, blind to the state it leaves
behind) for ``horizon - 1`` more requests, and scores ``a`` by the sum of rewards, discounted by ``gamma``::

    Q(a) = r(a) + sum_{j=1}^{H-1} gamma^j r(myopic_j)          choose argmax_a Q(a)

With ``horizon = 1`` it is the myopic policy (the ``oracle`` baseline). The gain it has over the myopic
policy measures how much the state components make the problem sequential.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from splitgym.agents.policies.split import _MaskPolicy
from splitgym.errors import ConfigError

__all__ = ["SplitPlanningPolicy", "myopic_split"]


def myopic_split(env: Any) -> int:
    """The best split of the current request alone (the ``oracle`` baseline on split envs)."""
    rewards = np.where(env.action_masks(), env.split_rewards(), -np.inf)
    return int(np.argmax(rewards))


class SplitPlanningPolicy(_MaskPolicy):
    """Roll out each feasible split with the myopic policy afterwards over ``horizon`` requests."""

    def __init__(self, env: gym.Env[Any, Any], horizon: int = 5, gamma: float = 1.0) -> None:
        super().__init__(env)
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ConfigError(f"horizon must be an integer >= 1, got {horizon!r}")
        if not 0.0 < gamma <= 1.0:
            raise ConfigError(f"gamma must be in (0, 1], got {gamma!r}")
        if not hasattr(self.env, "clone"):
            raise ConfigError(
                f"the planning baseline needs an env with clone(), got {type(self.env).__name__}"
            )
        self.horizon = horizon
        self.gamma = gamma

    def value(self, action: int) -> float:
        """``Q(action)`` from the current state (the environment itself is not changed)."""
        sim: Any = self.env.clone()  # type: ignore[attr-defined]
        _, reward, terminated, truncated, _ = sim.step(action)
        total, discount = float(reward), 1.0
        for _ in range(self.horizon - 1):
            if terminated or truncated:
                break
            discount *= self.gamma
            _, reward, terminated, truncated, _ = sim.step(myopic_split(sim))
            total += discount * float(reward)
        return total

    def choose(self, mask: NDArray[np.bool_]) -> int:
        if self.horizon == 1:
            return myopic_split(self.env)
        values = {int(a): self.value(int(a)) for a in np.flatnonzero(mask)}
        return max(values, key=lambda a: values[a])
