"""``splitgym/SharedCell-v1``: one learning device in a shared cell of N, the others on fixed policies.

The single-agent view of :class:`~splitgym.envs.multi.parallel.SharedCellParallelEnv`: the learner is
``device_0``; the ``N - 1`` background devices act by ``background``, one policy for all or a sequence of
``N - 1``, each

* ``"device"`` (split ``L``), ``"edge"`` (split 0, the nearest feasible one where 0 is not),
  ``"fixed:<k>"`` (split ``k``), ``"random"`` (uniform over the feasible splits, from the env's
  generator), or
* a callable ``policy(observation, action_mask) -> split`` (a saved agent's ``predict``, for example).

Observation: the learner's :data:`~splitgym.envs.multi.parallel.OBS_FEATURES` vector; its feasible splits
are :meth:`SharedCellEnv.action_masks` and ``info["action_mask"]`` (MaskablePPO). Reward and info: the
learner's (the cell's totals included).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from splitgym.envs.checks import discrete_action
from splitgym.envs.multi.parallel import SharedCellParallelEnv
from splitgym.errors import ConfigError

__all__ = ["BACKGROUND_POLICIES", "SharedCellEnv"]

Policy = Callable[[NDArray[np.float32], NDArray[np.int8]], int]
BACKGROUND_POLICIES = ("device", "edge", "random", "fixed:<k>")


class SharedCellEnv(gym.Env[NDArray[np.float32], np.int64]):
    """One learner among ``n_users - 1`` background devices (see the module docstring)."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(self, background: str | Policy | Sequence[str | Policy] = "device", **kwargs: Any) -> None:
        self.cell_env = SharedCellParallelEnv(**kwargs)
        n = self.cell_env.config.n_users
        self.num_layers = self.cell_env.num_layers
        if isinstance(background, (str, bytes)) or callable(background):
            policies: list[str | Policy] = [background] * (n - 1)
        elif isinstance(background, Sequence):
            policies = list(background)
            if len(policies) != n - 1:
                raise ConfigError(
                    f"background must be one policy or a sequence of n_users - 1 = {n - 1} policies, got "
                    f"{len(policies)}"
                )
        else:
            raise ConfigError(
                f"background must be a policy name, a callable or a sequence of them, got {background!r}"
            )
        self._policies = [self._policy(p) for p in policies]
        space = self.cell_env.observation_space("device_0")
        self.observation_space = space["observation"]  # type: ignore[index]
        self.action_space = gym.spaces.Discrete(self.num_layers + 1)
        self._obs: dict[str, dict[str, NDArray[Any]]] = {}

    def _policy(self, p: str | Policy) -> Policy:
        L = self.num_layers
        if callable(p):
            return p
        if not isinstance(p, str):
            raise ConfigError(
                f"background policy must be one of {BACKGROUND_POLICIES} or a callable, got {p!r}"
            )
        if p == "device":
            return lambda obs, mask: L
        if p == "edge":
            return lambda obs, mask: int(np.flatnonzero(mask)[0])
        if p == "random":
            return lambda obs, mask: int(self.cell_env.np_random.choice(np.flatnonzero(mask)))
        if p.startswith("fixed:"):
            try:
                k = int(p.removeprefix("fixed:"))
            except ValueError:
                k = -1
            if not 0 <= k <= L:
                raise ConfigError(f"background policy {p!r}: the split must be an integer in 0..{L}")
            return lambda obs, mask: k
        raise ConfigError(f"background policy must be one of {BACKGROUND_POLICIES} or a callable, got {p!r}")

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        self.cell_env.np_random = self.np_random  # one generator for the whole cell
        self._obs, _ = self.cell_env.reset()
        me = self._obs["device_0"]
        return me["observation"], {"action_mask": me["action_mask"].astype(bool)}

    def step(self, action: Any) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        k = discrete_action(action, self.num_layers + 1)
        actions: dict[str, Any] = {"device_0": k}
        for i, policy in enumerate(self._policies, start=1):
            o = self._obs[f"device_{i}"]
            actions[f"device_{i}"] = int(policy(o["observation"], o["action_mask"]))
        self._obs, rewards, terms, truncs, infos = self.cell_env.step(actions)
        me = self._obs["device_0"]
        info = dict(infos["device_0"], action_mask=me["action_mask"].astype(bool))
        return me["observation"], rewards["device_0"], terms["device_0"], truncs["device_0"], info

    def action_masks(self) -> NDArray[np.bool_]:
        """The learner's feasible splits for its next request."""
        return np.asarray(self._obs["device_0"]["action_mask"], dtype=bool)
