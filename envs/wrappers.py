"""Observation modes of the masked environments, implemented once for every one of them.

``observation_mode="box"`` (the default) is the flat ``Box`` observation, with the action mask in
``info["action_mask"]`` and ``env.action_masks()`` (SB3/sb3-contrib's MaskablePPO). ``"dict"`` puts the
mask inside the observation, as PettingZoo's classic environments do (and RLlib, TorchRL and Tianshou
expect)::

    {"observation": Box (the flat observation), "action_mask": MultiBinary(n_actions)}

where ``action_mask[a] = 1`` when action ``a`` is feasible for the request the observation describes
(int8, as ``MultiBinary``). An environment adopts it with :func:`check_observation_mode`,
:func:`dict_space` (its ``observation_space``) and :func:`with_mask` (its observations), or from outside
with the :class:`DictMaskObservation` wrapper; a vector environment batches the same space with
``gymnasium.vector.utils.batch_space``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from splitgym.envs.checks import choice
from splitgym.errors import ConfigError

__all__ = ["OBSERVATION_MODES", "DictMaskObservation", "check_observation_mode", "dict_space", "with_mask"]

OBSERVATION_MODES = ("box", "dict")


def check_observation_mode(mode: object) -> str:
    """``mode`` if it is one of :data:`OBSERVATION_MODES`; a ConfigError naming the allowed ones otherwise."""
    return choice("observation_mode", mode, OBSERVATION_MODES)  # type: ignore[arg-type]


def dict_space(box: spaces.Box, n_actions: int) -> spaces.Dict:
    """``{"observation": box, "action_mask": MultiBinary(n_actions)}`` (PettingZoo classic style)."""
    return spaces.Dict({"observation": box, "action_mask": spaces.MultiBinary(n_actions)})


def with_mask(obs: NDArray[Any], mask: NDArray[Any]) -> dict[str, NDArray[Any]]:
    """The dict observation of ``obs`` and its feasible-action ``mask`` (any shape; batched rows too)."""
    return {"observation": obs, "action_mask": np.asarray(mask, dtype=np.int8)}


class DictMaskObservation(gym.ObservationWrapper[dict[str, NDArray[Any]], Any, NDArray[Any]]):
    """Any environment with a ``Box`` observation, a ``Discrete`` action and ``action_masks()`` in
    ``observation_mode="dict"`` (the mask of the request each observation describes)."""

    def __init__(self, env: gym.Env[NDArray[Any], Any]) -> None:
        super().__init__(env)
        box, act = env.observation_space, env.action_space
        if not isinstance(box, spaces.Box) or not isinstance(act, spaces.Discrete):
            raise ConfigError(
                f"DictMaskObservation needs a Box observation and a Discrete action, got {box} and {act}"
            )
        try:
            env.get_wrapper_attr("action_masks")
        except AttributeError:
            raise ConfigError(
                f"DictMaskObservation needs an env with action_masks(); {env} has none"
            ) from None
        self.observation_space = dict_space(box, int(act.n))  # type: ignore[assignment]

    def observation(self, observation: NDArray[Any]) -> dict[str, NDArray[Any]]:
        return with_mask(observation, self.env.get_wrapper_attr("action_masks")())
