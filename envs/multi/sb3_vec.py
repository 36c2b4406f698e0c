"""Parameter sharing for stable-baselines3: the cell's devices as the slots of one ``VecEnv``.

:class:`SharedCellVecEnv` presents ``n_cells`` shared cells of ``N`` devices as ``n_cells * N``
environments: slot ``c N + i`` is device ``i`` of cell ``c``, its observation the device's own vector
(:data:`~splitgym.envs.multi.parallel.OBS_FEATURES`), its action the device's split, its reward the
device's. One policy trained on it (PPO, MaskablePPO: ``action_masks`` is served through
``env_method``) is shared by every device: independent learners with parameter sharing. When a cell's
episode ends its slots report ``done`` with ``terminal_observation`` in their infos and the cell resets
(SB3's convention). Cells are seeded ``seed, seed + 1, ...`` at the first reset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.vec_env import VecEnv

from splitgym.envs.checks import discrete_actions
from splitgym.envs.multi.parallel import SharedCellParallelEnv

__all__ = ["SharedCellVecEnv"]


class SharedCellVecEnv(VecEnv):
    """``n_cells`` shared cells as ``n_cells * n_users`` SB3 environment slots (see the module docstring)."""

    def __init__(self, n_cells: int = 1, seed: int = 0, **cell_kwargs: Any) -> None:
        self.cells = [SharedCellParallelEnv(**cell_kwargs) for _ in range(n_cells)]
        first = self.cells[0]
        self.n_users = first.config.n_users
        space = first.observation_spaces["device_0"]["observation"]
        super().__init__(n_cells * self.n_users, space, gym.spaces.Discrete(first.num_layers + 1))
        self._seed = seed
        self._obs: list[dict[str, dict[str, NDArray[Any]]]] = []
        self._actions: NDArray[np.int64] = np.zeros(self.num_envs, dtype=np.int64)

    def _stack(self) -> NDArray[np.float32]:
        return np.stack(
            [
                o[a]["observation"]
                for o, c in zip(self._obs, self.cells, strict=True)
                for a in c.possible_agents
            ]
        )

    def reset(self) -> NDArray[np.float32]:
        self._obs = [cell.reset(seed=self._seed + i)[0] for i, cell in enumerate(self.cells)]
        return self._stack()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = discrete_actions(actions, self.cells[0].num_layers + 1, self.num_envs)

    def step_wait(
        self,
    ) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.bool_], list[dict[str, Any]]]:
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = []
        N = self.n_users
        for c, cell in enumerate(self.cells):
            acts = {a: int(self._actions[c * N + i]) for i, a in enumerate(cell.possible_agents)}
            obs, rew, term, trunc, info = cell.step(acts)
            done = not cell.agents
            for i, a in enumerate(cell.possible_agents):
                rewards[c * N + i] = rew[a]
                item = dict(info[a])
                if done:
                    item["terminal_observation"] = obs[a]["observation"]
                    item["TimeLimit.truncated"] = bool(trunc[a]) and not term[a]
                infos.append(item)
            dones[c * N : (c + 1) * N] = done
            self._obs[c] = cell.reset()[0] if done else obs
        return self._stack(), rewards, dones, infos

    def action_masks(self) -> NDArray[np.bool_]:
        """``(num_envs, L + 1)``: every slot's feasible splits."""
        return np.stack(
            [
                o[a]["action_mask"].astype(bool)
                for o, c in zip(self._obs, self.cells, strict=True)
                for a in c.possible_agents
            ]
        )

    def close(self) -> None:
        return None

    def _slots(self, indices: Any) -> Iterable[int]:
        return list(self._get_indices(indices))

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self.cells[i // self.n_users], attr_name) for i in self._slots(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        for i in self._slots(indices):
            setattr(self.cells[i // self.n_users], attr_name, value)

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list[Any]:
        slots = self._slots(indices)
        if method_name == "action_masks":
            masks = self.action_masks()
            return [masks[i] for i in slots]
        return [getattr(self.cells[i // self.n_users], method_name)(*args, **kwargs) for i in slots]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper[Any, Any, Any, Any]], indices: Any = None
    ) -> list[bool]:
        return [False for _ in self._slots(indices)]

    def seed(self, seed: int | None = None) -> Sequence[None]:
        if seed is not None:
            self._seed = seed
        return [None] * self.num_envs
