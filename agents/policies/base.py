"""The one interface every agent and baseline offers: ``predict`` as in stable-baselines3.

``predict(obs, state, episode_start, deterministic) -> (action, state)``: ``state`` is whatever the
policy carries between steps of an episode (``None`` for memoryless policies), and ``episode_start``
says the observation is the first of an episode. A trained SB3 model satisfies this protocol as it is.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Policy"]


@runtime_checkable
class Policy(Protocol):
    """Anything that maps an observation to an action, SB3 style."""

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[Any, Any]: ...
