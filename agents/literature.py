"""Baselines from the split-computing literature for the fading environments, by name.

* ``neurosurgeon_latency`` / ``neurosurgeon_energy``: Neurosurgeon (Kang et al., ASPLOS 2017), the
  cost-model argmin of predicted end-to-end latency / device energy at the estimated bandwidth
  (:class:`~splitgym.agents.neurosurgeon.NeurosurgeonPolicy`).
* ``linucb``: an ANS-style (Zhang et al., WWW 2021) disjoint LinUCB bandit with one arm per split
  (:class:`~splitgym.agents.linucb.LinUCBPolicy`). It starts untrained: train it online with
  :func:`~splitgym.agents.linucb.run_online` before evaluating it frozen.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from splitgym.agents.linucb import LinUCBPolicy
from splitgym.agents.neurosurgeon import NeurosurgeonPolicy
from splitgym.agents.policy import Policy

__all__ = ["literature_baselines"]


def literature_baselines(env: gym.Env[Any, Any], seed: int = 0) -> dict[str, Policy]:
    """``{"neurosurgeon_latency", "neurosurgeon_energy", "linucb"}`` for a fading environment."""
    return {
        "neurosurgeon_latency": NeurosurgeonPolicy(env, objective="latency"),
        "neurosurgeon_energy": NeurosurgeonPolicy(env, objective="energy"),
        "linucb": LinUCBPolicy(env, seed=seed),
    }
