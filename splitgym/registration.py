"""Registration of every splitgym environment with Gymnasium (string entry points, idempotent).

``import splitgym`` registers them; ``gym.make("splitgym:splitgym/PaperSplit-v0")`` imports splitgym
first, so third-party code needs nothing but the string.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

__all__ = ["ENVS", "EnvEntry", "register_envs"]


@dataclass(frozen=True)
class EnvEntry:
    """One registered environment: its ID, entry point and a one-line summary."""

    env_id: str
    entry_point: str
    summary: str


ENVS: tuple[EnvEntry, ...] = (
    EnvEntry(
        "splitgym/PaperSplit-v0",
        "splitgym.envs.paper:PaperSplitEnv",
        "Chen et al. env B: relative split moves, Llama-2-7B quality table, 5-step episodes",
    ),
    EnvEntry(
        "splitgym/PaperSplitDirect-v0",
        "splitgym.envs.paper:PaperSplitDirectEnv",
        "Chen et al. env A: absolute split choice, reward from the perplexity change since the start",
    ),
)


def register_envs() -> None:
    """Register every environment in :data:`ENVS` that is not registered yet (safe to call again)."""
    for entry in ENVS:
        if entry.env_id not in gym.registry:
            gym.register(id=entry.env_id, entry_point=entry.entry_point)
