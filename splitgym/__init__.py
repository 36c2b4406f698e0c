"""splitgym: Gymnasium environments for split LLM inference at the wireless edge.

Importing the package registers its environments (``splitgym/PaperSplit-v0``, ...); it stays cheap: the
environments, torch and stable-baselines3 load only when used.
"""

from __future__ import annotations

from splitgym.errors import ConfigError, ProfileError, SplitGymError
from splitgym.registration import ENVS, register_envs

__version__ = "0.1.0"
__all__ = ["ENVS", "ConfigError", "ProfileError", "SplitGymError", "__version__", "env_ids", "register_envs"]


def env_ids() -> list[str]:
    """The IDs of every splitgym environment."""
    return [e.env_id for e in ENVS]


register_envs()
