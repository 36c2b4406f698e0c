"""Run folders as a unit of trust: ``manifest.json`` holds the SHA-256 of every file written into a run.

Every file a run writes (``config.yml``, ``args.yml``, ``command.txt``, checkpoints, ``evaluations.npz``,
``best_model.zip``, the model file, ``training.yml``, ...) is recorded here when it is written; the
manifest itself is rewritten atomically at each addition, so it is never half-written. The manifest also
names the run's algorithm and environment.

Loading a run (``evaluate``, :func:`~splitgym.agents.training.load_policy`, ``train --resume``) first
calls :func:`verify`, which reads the bytes of every recorded file and compares their digests *before*
anything in the folder is deserialised; a folder whose files changed, or whose ``config.yml`` names another
algorithm or environment than the manifest, is refused unless the user passes ``--trust``.

The manifest detects corruption and edits (a truncated checkpoint, a changed ``config.yml``, a replaced
``model.zip``); it is not a signature: whoever can write the folder can rewrite the manifest too. Only load
run folders from people you trust. Models are loaded weights-only in any case
(:mod:`splitgym.agents.sb3_io`), so a trusted folder executes no pickled code either.

Files that grow while a run trains (the ``*.monitor.csv`` files, ``episodes.csv``,
``real_evaluations.csv``) are recorded when training ends; a resume rewrites them consistently with the
checkpoint it starts from (they are read as CSV, never unpickled).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from splitgym.atomic import write_text_atomic
from splitgym.errors import ConfigError

__all__ = [
    "MANIFEST",
    "ManifestError",
    "digest",
    "forget",
    "read_manifest",
    "record",
    "record_bytes",
    "recorded",
    "start_manifest",
    "verified_bytes",
    "verify",
]

MANIFEST = "manifest.json"
FORMAT = 1
_CHUNK = 1 << 20


class ManifestError(ConfigError):
    """A run folder whose files do not match its manifest (or that has none)."""


class UnlistedFileError(ManifestError):
    """A file the manifest does not list: written but never recorded, as a kill between the two leaves
    it (a checkpoint cut short), or planted."""


def digest(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _key(run: Path, path: Path) -> str:
    rel = Path(path).resolve().relative_to(Path(run).resolve())
    return rel.as_posix()


def read_manifest(run: Path) -> dict[str, Any]:
    """The manifest of ``run`` (a :class:`ManifestError` when it is missing or malformed)."""
    path = Path(run) / MANIFEST
    if not path.is_file():
        raise ManifestError(
            f"{run} has no {MANIFEST} (not written by this splitgym, or tampered with); "
            "pass --trust to load it anyway"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(
            f"{path} is not valid JSON ({exc}); pass --trust to load the run anyway"
        ) from None
    files = data.get("files") if isinstance(data, dict) else None
    if (
        not isinstance(files, dict)
        or data.get("format") != FORMAT
        or not all(isinstance(k, str) and isinstance(v, dict) and isinstance(v.get("sha256"), str)
                   for k, v in files.items())
    ):  # fmt: skip
        raise ManifestError(
            f"{path} must map 'format': {FORMAT} and 'files' to {{path: {{'sha256': ...}}}}; "
            "pass --trust to load the run anyway"
        )
    return dict(data)


def start_manifest(run: Path, algo: str, env_id: str) -> None:
    """A new, empty manifest naming the run's algorithm and environment."""
    _write(run, {"format": FORMAT, "algo": algo, "env_id": env_id, "files": {}})


def _write(run: Path, data: dict[str, Any]) -> None:
    write_text_atomic(Path(run) / MANIFEST, json.dumps(data, indent=1, sort_keys=True) + "\n")


def _load_for_update(run: Path) -> dict[str, Any]:
    try:
        return read_manifest(run)
    except ManifestError:
        # A resumed run from before manifests, or a --trust'ed one: start a manifest from here on.
        return {"format": FORMAT, "files": {}}


def record(run: Path, paths: Iterable[Path]) -> None:
    """Add (or update) the digests of ``paths`` (files inside ``run``) to its manifest, atomically."""
    data = _load_for_update(run)
    for path in paths:
        path = Path(path)
        if path.is_file():
            data["files"][_key(run, path)] = {"sha256": _file_digest(path), "bytes": path.stat().st_size}
    _write(run, data)


def record_bytes(run: Path, path: Path, data: bytes) -> None:
    """Record ``path`` as holding ``data`` (the bytes just written atomically)."""
    manifest = _load_for_update(run)
    manifest["files"][_key(run, path)] = {"sha256": digest(data), "bytes": len(data)}
    _write(run, manifest)


def forget(run: Path, paths: Iterable[Path]) -> None:
    """Remove ``paths`` from the manifest (files a resume rewrites or drops)."""
    data = _load_for_update(run)
    for path in paths:
        data["files"].pop(_key(run, Path(path)), None)
    _write(run, data)


def recorded(run: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of the files the manifest lists ({} without a valid manifest)."""
    try:
        files = read_manifest(run)["files"]
    except ManifestError:
        return {}
    return {k: v["sha256"] for k, v in files.items()}


def verified_bytes(run: Path, path: Path, trust: bool = False) -> bytes:
    """The bytes of ``path`` (inside ``run``), read once and checked against the manifest: the caller
    deserialises exactly the bytes that were checked. With ``trust`` the check is skipped."""
    data = Path(path).read_bytes()
    if trust:
        return data
    expected = recorded(run).get(_key(run, path)) if (Path(run) / MANIFEST).is_file() else None
    if expected is None:
        read_manifest(run)  # a clear error when the manifest itself is missing or malformed
        raise UnlistedFileError(f"{path} is not listed in {run}/{MANIFEST}; pass --trust to load it anyway")
    if digest(data) != expected:
        raise ManifestError(
            f"{path} changed since the run wrote it (SHA-256 differs from {MANIFEST}): refusing to load it; "
            "pass --trust to load it anyway"
        )
    return data


def verify(
    run: Path,
    algo: str,
    env_id: str,
    required: Iterable[str] = (),
    skip: Iterable[str] = (),
    trust: bool = False,
    only: Iterable[str] | None = None,
) -> None:
    """Check every file the manifest of ``run`` lists (except ``skip``), that ``required`` files are
    listed, and that the manifest names ``algo`` and ``env_id`` (those of ``config.yml``); with ``only``,
    just the files named there (a resume checks its header files; checkpoints are checked as loaded).

    A :class:`ManifestError` names the first file that is missing or changed; nothing is deserialised.
    With ``trust`` nothing is checked.
    """
    if trust:
        return
    run = Path(run)
    data = read_manifest(run)
    for field, value in (("algo", algo), ("env_id", env_id)):
        if field in data and data[field] != value:
            raise ManifestError(
                f"{run}/config.yml names {field} {value!r} but the run was trained with {data[field]!r}: "
                "refusing to load it; pass --trust to load it anyway"
            )
    files: dict[str, Any] = data["files"]
    for name in required:
        if name not in files:
            raise ManifestError(f"{run}/{name} is not listed in {MANIFEST}; pass --trust to load it anyway")
    patterns = tuple(skip)
    for name, entry in sorted(files.items()):
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            continue
        if only is not None and name not in set(only):
            continue
        path = run / name
        if ".." in Path(name).parts or not path.is_file():
            raise ManifestError(
                f"{path} is listed in {MANIFEST} but missing: refusing to load the run; "
                "pass --trust to load it anyway"
            )
        if _file_digest(path) != entry["sha256"]:
            raise ManifestError(
                f"{path} changed since the run wrote it (SHA-256 differs from {MANIFEST}): refusing to load "
                "the run; pass --trust to load it anyway"
            )
