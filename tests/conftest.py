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
