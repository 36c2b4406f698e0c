"""Errors that splitgym raises for a user's mistake.

Every error names the parameter, the value it got and what is allowed. The command line prints such an
error as one line and exits with status 2, without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "InvalidActionError",
    "ProfileError",
    "SplitGymError",
    "UnknownParameterError",
    "suggest",
]


class SplitGymError(ValueError):
    """Base class of every error caused by a user's input (a subclass of ``ValueError``)."""


class ConfigError(SplitGymError):
    """An environment, agent or command-line parameter has a value that is not allowed."""


class UnknownParameterError(ConfigError, TypeError):
    """A keyword argument that the environment or agent does not take. Also a ``TypeError`` whose message
    holds Python's own ``got an unexpected keyword argument 'name'``, so wrappers that probe a constructor
    with a keyword and match that text (TorchRL's ``GymEnv`` tries ``frameskip``) see what they expect."""


class InvalidActionError(ConfigError):
    """An action of the wrong type, shape or value for the environment's action space (never cast). The
    environments raise it as a subclass of both this and ``gymnasium.error.InvalidAction``."""


class ProfileError(SplitGymError):
    """A profile file (CSV table plus JSON metadata) is missing, malformed or inconsistent."""


def suggest(value: str, allowed: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest allowed string, or ``""`` when none is close.

    Numeric choices (such as ``scs_hz``) are compared as their text."""
    close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
