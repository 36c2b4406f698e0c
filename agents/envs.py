"""Building environments by ID for every agent: the ID checked first, so a typo lists the valid IDs.

IDs are Gymnasium IDs (``splitgym/FadingSplit-v1``). The ``module:ID`` form is accepted only for
splitgym's own IDs (``splitgym:splitgym/...``, which Gymnasium resolves by importing splitgym); no other
module named in a configuration, suite or run file is ever imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

import splitgym
from splitgym.errors import ConfigError, suggest

__all__ = ["check_env_id", "make_env"]


def check_env_id(env_id: str) -> str:
    """``env_id`` without a ``splitgym:`` prefix; a ConfigError listing the registered IDs otherwise."""
    if ":" in env_id:
        module, _, rest = env_id.partition(":")
        if module != "splitgym":
            raise ConfigError(
                f"env ID {env_id!r}: only the 'splitgym:' module prefix is accepted (no module named in a "
                "file is imported); register your environment and pass its ID"
            )
        env_id = rest
    if env_id not in gym.registry:
        ours = splitgym.env_ids()
        hint = suggest(env_id, list(gym.registry))
        raise ConfigError(f"unknown env ID {env_id!r}{hint}; splitgym's environments: {ours}")
    return env_id


def make_env(
    env_id: str, env_kwargs: Mapping[str, Any] | None = None, **make_kwargs: Any
) -> gym.Env[Any, Any]:
    """``gym.make`` with the env ID checked first."""
    return gym.make(check_env_id(env_id), **dict(env_kwargs or {}), **make_kwargs)
