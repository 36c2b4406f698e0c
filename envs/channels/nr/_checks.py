"""The argument checks of :mod:`splitgym.envs.channels.nr` are the environments' shared ones."""

from splitgym.envs.checks import array, choice, integer, integer_array, scalar

__all__ = ["array", "choice", "integer", "integer_array", "scalar"]
