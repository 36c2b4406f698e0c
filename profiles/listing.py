"""``splitgym profile list``: the shipped profiles, one line each (name, kind, source, model)."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["profile_lines"]


def profile_lines() -> Iterator[str]:
    """One line per shipped profile."""
    from splitgym.profiles import bundled_profiles, load_bundled

    for name in bundled_profiles():
        prof = load_bundled(name)
        yield f"{name:<40} {prof.kind:<14} {prof.source:<9} {prof.meta['model']}"
