"""Shared fixtures: every test sees the registered environments and a temporary working folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import splitgym  # noqa: F401  (registers the environments)

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run the test inside an empty temporary folder."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


_fresh_worlds_in: tuple[int, str] | None = None


@pytest.fixture(autouse=True)
def _fresh_worlds_under_mutation() -> None:
    """Under mutmut, build worlds with the code under test, not take them from the cache.

    ``world_for`` caches a world per configuration, so only the first test to ask for it runs the world's
    construction. mutmut's call statistics (``MUTANT_UNDER_TEST=stats``) would then tie the construction
    code to that one test, and a mutant's forked process could inherit a world its parent built with the
    original code. So: in the statistics run every test starts with an empty cache; in a mutant's process
    the first test empties it (later tests share worlds built with the mutant). Outside mutmut: nothing.
    """
    global _fresh_worlds_in
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if not mutant or mutant == "fail":
        return
    key = (os.getpid(), mutant)
    if mutant == "stats" or key != _fresh_worlds_in:
        from splitgym.envs.split.world import world_for

        world_for.cache_clear()
        _fresh_worlds_in = key
