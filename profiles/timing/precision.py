"""Numeric precisions: their names and their size in bytes per element.

Names follow torch (``float32``, ``float16``, ``bfloat16``) plus the weight-only integer formats ``int8`` and
``int4``; ``fp32``, ``fp16`` and ``bf16`` are accepted as aliases. ``int4`` counts 0.5 byte per weight and
ignores the per-group scales of real formats (q4f16 with groups of 32 adds 0.5 bit per weight, about 12 %).
"""

from __future__ import annotations

from collections.abc import Iterable

from splitgym.errors import ConfigError, suggest

__all__ = ["PRECISION_BYTES", "precision"]

PRECISION_BYTES: dict[str, float] = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "int4": 0.5}
_ALIASES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def precision(name: str, parameter: str, allowed: Iterable[str] = PRECISION_BYTES) -> str:
    """The canonical name of precision ``name``; :class:`ConfigError` naming ``parameter`` if not allowed."""
    canonical = _ALIASES.get(name, name)
    choices = list(allowed)
    if canonical not in choices:
        hint = suggest(name, choices)
        raise ConfigError(f"{parameter}={name!r} is not supported{hint}; allowed: {choices}")
    return canonical
