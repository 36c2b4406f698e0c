"""The reference model's corpus: the Python standard library's own source files, present on every machine
that runs splitgym.

The selection is fixed: :data:`EXCLUDED_DIRS` are skipped, files are taken in sorted relative-path order,
and a file is held out for validation when the first byte of ``sha1(relative path)`` is below
:data:`VALIDATION_THRESHOLD` (about 1 in 16 files, whole files only). Text is UTF-8 bytes, one token per
byte (vocabulary 256); files are joined with a blank line.
"""

from __future__ import annotations

import hashlib
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["Corpus", "load_corpus", "stdlib_root"]

EXCLUDED_DIRS = frozenset(
    {
        "test",
        "tests",
        "idlelib",
        "lib2to3",
        "turtledemo",
        "ensurepip",
        "site-packages",
        "dist-packages",
        "encodings",
        "__pycache__",
        "pydoc_data",
        "tkinter",
        "distutils",
    }
)
VALIDATION_THRESHOLD = 16  # of 256: first byte of the path's SHA-1
SEPARATOR = b"\n\n"


def stdlib_root() -> Path:
    """The folder of the running interpreter's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def _is_validation(relative: str) -> bool:
    return hashlib.sha1(relative.encode()).digest()[0] < VALIDATION_THRESHOLD


def _source_files(root: Path) -> list[str]:
    out = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if any(part in EXCLUDED_DIRS or part.startswith("config-") for part in rel.parts[:-1]):
            continue
        out.append(rel.as_posix())
    return sorted(out)


@dataclass(frozen=True)
class Corpus:
    """Training and validation bytes, the files they came from and a digest of each split."""

    train: NDArray[np.uint8]
    validation: NDArray[np.uint8]
    train_files: tuple[str, ...]
    validation_files: tuple[str, ...]
    root: str

    def digest(self, split: str) -> str:
        """SHA-256 of a split's bytes (``"train"`` or ``"validation"``)."""
        data = self.train if split == "train" else self.validation
        return hashlib.sha256(data.tobytes()).hexdigest()


def load_corpus(root: Path | None = None) -> Corpus:
    """Read the fixed selection of standard-library files under ``root`` (default: this interpreter's)."""
    base = root or stdlib_root()
    files = _source_files(base)
    if not files:
        from splitgym.errors import ConfigError

        raise ConfigError(f"no Python source files under {base}: cannot build the reference corpus")
    train, val, train_names, val_names = [], [], [], []
    for rel in files:
        data = (base / rel).read_bytes() + SEPARATOR
        if _is_validation(rel):
            val.append(data)
            val_names.append(rel)
        else:
            train.append(data)
            train_names.append(rel)
    return Corpus(
        train=np.frombuffer(b"".join(train), dtype=np.uint8).copy(),
        validation=np.frombuffer(b"".join(val), dtype=np.uint8).copy(),
        train_files=tuple(train_names),
        validation_files=tuple(val_names),
        root=str(base),
    )
