"""Reading and writing stable-baselines3 files without executing pickled code, and without half-written
files.

An SB3 ``.zip`` holds ``policy.pth`` and ``policy.optimizer.pth`` (loaded by SB3 with
``torch.load(weights_only=True)``) and a JSON ``data`` entry in which every object that is not plain JSON
(spaces, the policy class, schedules, ...) is a base64 cloudpickle: loading one runs whatever code it
names. :func:`load_sb3` never unpickles them: it passes, for every pickled entry, the value an identical
model built from the run's own configuration has (``custom_objects``); an entry such a model does not
have is refused. What remains loaded from the file is JSON and tensors.

The replay buffer of an off-policy algorithm is saved as ``.npz`` (arrays only, ``allow_pickle=False``)
instead of SB3's pickle, and models are saved to memory first and written atomically
(:func:`splitgym.atomic.write_bytes_atomic`), so a kill or a full disk leaves the previous file or none.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from splitgym.atomic import write_bytes_atomic
from splitgym.errors import ConfigError

__all__ = [
    "LOAD_ERRORS",
    "load_replay_buffer_npz",
    "load_sb3",
    "model_bytes",
    "pickled_entries",
    "replay_buffer_bytes",
    "save_model_atomic",
]

# What a corrupt, truncated, foreign or hostile file raises inside SB3's and torch's loaders.
LOAD_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    AssertionError,
    RuntimeError,
    OSError,
    EOFError,
    pickle.UnpicklingError,
    json.JSONDecodeError,
    UnicodeDecodeError,
)

_REPLAY_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def pickled_entries(data: bytes) -> list[str]:
    """The keys of an SB3 zip's ``data`` entry that hold a cloudpickle (nothing is unpickled)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        table = json.loads(archive.read("data").decode("utf-8"))
    if not isinstance(table, dict):
        raise ValueError("the 'data' entry is not a JSON object")
    return [k for k, v in table.items() if isinstance(v, dict) and ":serialized:" in v]


def load_sb3(cls: type[Any], data: bytes, fresh: Any, what: str, env: Any = None) -> Any:
    """The model of class ``cls`` saved in ``data`` (an SB3 zip's bytes), its pickled entries replaced by
    the attributes of ``fresh`` (a model of the same class built from the run's configuration).

    ``what`` names the file in errors (a :class:`~splitgym.errors.ConfigError`: corrupt, truncated, of
    another shape than the configuration says, or holding a pickled entry no such model has).
    """
    try:
        entries = pickled_entries(data)
    except LOAD_ERRORS as exc:
        raise ConfigError(f"{what} cannot be loaded: not a stable-baselines3 model file ({exc})") from None
    attributes = vars(fresh)
    unknown = [k for k in entries if k not in attributes]
    if unknown:
        raise ConfigError(
            f"{what} cannot be loaded: it holds pickled entries {unknown} that a {cls.__name__} model "
            "does not have (refused: unpickling them could run code)"
        )
    custom = {k: attributes[k] for k in entries}
    try:
        return cls.load(io.BytesIO(data), env=env, device="cpu", custom_objects=custom)
    except LOAD_ERRORS as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{what} cannot be loaded: {message}") from None


def model_bytes(model: Any) -> bytes:
    """``model.save`` into memory."""
    buffer = io.BytesIO()
    model.save(buffer)
    return buffer.getvalue()


def save_model_atomic(model: Any, path: Path) -> bytes:
    """Save ``model`` to ``path`` atomically; the bytes written (for the manifest)."""
    data = model_bytes(model)
    write_bytes_atomic(Path(path), data)
    return data


def replay_buffer_bytes(buffer: Any) -> bytes:
    """The filled part of a :class:`~stable_baselines3.common.buffers.ReplayBuffer` as ``.npz`` bytes."""
    size = buffer.buffer_size if buffer.full else buffer.pos
    arrays: dict[str, Any] = {
        name: np.asarray(getattr(buffer, name))[:size]
        for name in _REPLAY_ARRAYS
        if getattr(buffer, name, None) is not None
    }
    out = io.BytesIO()
    np.savez(out, pos=np.int64(buffer.pos), full=np.bool_(buffer.full), **arrays)
    return out.getvalue()


def load_replay_buffer_npz(buffer: Any, data: bytes, what: str) -> None:
    """Fill ``buffer`` (a fresh model's replay buffer) from :func:`replay_buffer_bytes` output."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            pos, full = int(npz["pos"]), bool(npz["full"])
            arrays = {k: npz[k] for k in _REPLAY_ARRAYS if k in npz.files}
    except LOAD_ERRORS as exc:
        raise ConfigError(f"{what} is not a saved replay buffer: {exc}") from None
    size = buffer.buffer_size if full else pos
    if not 0 <= pos <= buffer.buffer_size:
        raise ConfigError(f"{what}: position {pos} outside a buffer of {buffer.buffer_size}")
    for name, array in arrays.items():
        target = getattr(buffer, name, None)
        if target is None:
            continue
        if array.shape != (size, *target.shape[1:]):
            raise ConfigError(f"{what}: {name} has shape {array.shape}, expected {(size, *target.shape[1:])}")
        target[:size] = array
    buffer.pos, buffer.full = pos, full


def fresh_model(build: Callable[[], Any]) -> Any:
    """``build()``, turning SB3's rejection of a configuration into a ConfigError."""
    try:
        return build()
    except (TypeError, ValueError, AssertionError, KeyError) as exc:
        raise ConfigError(f"the run's configuration cannot build its model: {exc}") from None
