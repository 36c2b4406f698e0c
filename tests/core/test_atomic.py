"""Atomic writes replace the target whole and leave no temporary file behind, even on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitgym.atomic import write_text_atomic


def test_replaces_whole_and_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "result.csv"
    target.write_text("old")
    write_text_atomic(target, "new contents")
    assert target.read_text() == "new contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.csv"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "result.csv"
    target.write_text("old")

    with pytest.raises(TypeError):
        write_text_atomic(target, 123)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.csv"]


def test_files_get_ordinary_permissions(tmp_path: Path) -> None:
    ordinary = tmp_path / "plain.txt"
    ordinary.write_text("x")
    target = tmp_path / "atomic.txt"
    write_text_atomic(target, "x")
    assert (target.stat().st_mode & 0o777) == (ordinary.stat().st_mode & 0o777)


def test_bytes_are_written_whole(tmp_path: Path) -> None:
    from splitgym.atomic import write_bytes_atomic

    target = tmp_path / "weights.bin"
    write_bytes_atomic(target, b"\x00\x01" * 1000)
    assert target.read_bytes() == b"\x00\x01" * 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.bin"]
