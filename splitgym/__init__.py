"""splitgym: Gymnasium environments for split LLM inference at the wireless edge.

Importing the package registers its environments (``splitgym/PaperSplit-v0``, ...); it stays cheap: the
environments, torch and stable-baselines3 load only when used.
"""

from __future__ import annotations

import os as _os

# In a source checkout run from its root (``python -m pytest``, ``python -c``), this folder shadows the
# installed package; the subpackages (envs/, agents/, ...) then lie beside it, so look there too.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_root, "envs", "paper.py")) and _root not in __path__:
    __path__.append(_root)

from splitgym.errors import ConfigError, ProfileError, SplitGymError  # noqa: E402
from splitgym.registration import ENVS, register_envs  # noqa: E402

__version__ = "0.1.0"
__all__ = ["ENVS", "ConfigError", "ProfileError", "SplitGymError", "__version__", "env_ids", "register_envs"]


def env_ids() -> list[str]:
    """The IDs of every splitgym environment."""
    return [e.env_id for e in ENVS]


register_envs()
