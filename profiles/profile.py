"""What a profile is: a pandas-readable CSV table plus a JSON metadata file beside it.

A profile ``name`` lives in two files, ``name.csv`` (the numbers) and ``name.json`` (where they came
from). Every number an environment uses is traced to such a pair. The metadata must say:

* ``name``, ``kind`` (which schema the table follows, see :data:`SCHEMAS`), ``model`` and ``device``;
* ``source``: ``"measured"`` (then ``versions`` and ``date`` of the measurement), ``"cited"`` (then
  ``citation``) or ``"scaled"`` (then ``scaled_from``);
* ``axes``: the grid axes in the order the rows are sorted by (first axis slowest);
* ``units``: one entry per column of the table;
* optionally ``categories``: ``{column: [allowed values in order]}`` for text columns (they sort by that
  order when they are axes).

:func:`load_profile` validates all of it and raises :class:`~splitgym.errors.ProfileError` naming the file,
the column and the problem.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from splitgym.atomic import write_text_atomic
from splitgym.errors import ProfileError, suggest

__all__ = [
    "SCHEMAS",
    "Column",
    "Profile",
    "ProfileSchema",
    "bundled_profiles",
    "load_bundled",
    "load_profile",
    "resolve_profile",
    "write_profile",
]

SOURCES = ("measured", "cited", "scaled")
REQUIRED_META = ("name", "kind", "source", "model", "device", "axes", "units", "date")
SOURCE_META = {"measured": ("versions",), "cited": ("citation",), "scaled": ("scaled_from",)}


@dataclass(frozen=True)
class Column:
    """One column a schema requires: its admissible range and whether it must hold integers."""

    name: str
    low: float = -math.inf
    high: float = math.inf
    integer: bool = False


@dataclass(frozen=True)
class ProfileSchema:
    """The columns a kind of profile must have. Metadata keys named in ``meta_columns`` name a column.

    ``categorical`` columns hold text from the metadata's ``categories``; ``full_grid`` requires every
    combination of axis values to appear exactly once; ``meta_keys`` are extra required metadata keys.
    ``validator`` names a ``module:function`` called as ``function(path, table, meta)`` before the column
    checks (imported on use, so kinds defined by subpackages add no import cycle); it raises
    :class:`~splitgym.errors.ProfileError` with one line naming the row.
    """

    kind: str
    columns: tuple[Column, ...] = ()
    meta_columns: Mapping[str, Column] = field(default_factory=dict)
    categorical: tuple[str, ...] = ()
    full_grid: bool = True
    meta_keys: tuple[str, ...] = ()
    validator: str | None = None

    def required(self, meta: Mapping[str, Any]) -> list[Column]:
        """The required columns for a profile with metadata ``meta`` (names taken from the metadata)."""
        cols = list(self.columns)
        for key, template in self.meta_columns.items():
            cols.append(Column(str(meta[key]), template.low, template.high, template.integer))
        return cols


CHANNEL_AXIS_RANGES: dict[str, tuple[float, float]] = {
    "impairment": (0.0, 1.0),
    "snr_db": (-60.0, 100.0),
    "activation_bits": (1.0, 32.0),  # precision of the sent hidden state (v1 digital link)
}

SCHEMAS: dict[str, ProfileSchema] = {
    # Quality of the model's output against the split and a channel level (one axis per grid).
    "quality_grid": ProfileSchema(
        kind="quality_grid",
        columns=(Column("split", 0, 10_000, integer=True),),
        meta_columns={"quality_column": Column("", -math.inf, 1.0)},
    ),
    # Measured (or scaled) time of one model's pieces: the embedding, one decoder layer, the final norm
    # plus LM head; prefill of ``tokens`` prompt tokens, or one decode step at a context of ``tokens``.
    "layer_timing": ProfileSchema(
        kind="layer_timing",
        columns=(
            Column("tokens", 1, 1_000_000, integer=True),
            Column("median_ms", 0.0),
            Column("p10_ms", 0.0),
            Column("p90_ms", 0.0),
        ),
        categorical=("component", "phase"),
        full_grid=False,
        meta_keys=("architecture", "dtype", "threads"),
    ),
    # Error of one decoder layer's output when that layer alone is pruned (``level`` = sparsity) or
    # quantised (``level`` = weight bits), on calibration text: ``mse`` and ``rel_mse`` (MSE over the
    # clean output's mean square). Axes kind, layer, level (the levels differ per kind).
    "compression_sensitivity": ProfileSchema(
        kind="compression_sensitivity",
        columns=(
            Column("layer", 0, 10_000, integer=True),
            Column("level", 0.0, 64.0),
            Column("mse", 0.0),
            Column("rel_mse", 0.0),
        ),
        categorical=("kind",),
        full_grid=False,
        meta_keys=("calibration",),
    ),
    # Quality of a split, compressed model under a channel: axes budget (a named LUC budget), mode (the
    # answer: edge output, device exit, vote), snr_db and split; quality ``1 - PPL/PPL_clean``.
    "compressed_quality": ProfileSchema(
        kind="compressed_quality",
        columns=(
            Column("split", 0, 10_000, integer=True),
            Column("snr_db", -60.0, 100.0),
            Column("quality", -math.inf, 1.0),
        ),
        categorical=("budget", "mode"),
        meta_keys=("budgets", "exits", "operator"),
    ),
    # Published whole-model rates (one row per measurement) that calibrate the timing model: the device
    # class, catalogue model, precision and weight format, phase, tokens, batch, tokens/s and a source id
    # from the metadata's 'sources'. Rows are checked against the registries by the validator.
    "timing_calibration": ProfileSchema(
        kind="timing_calibration",
        columns=(
            Column("point", 1, 1_000_000, integer=True),
            Column("tokens", 1, 1_000_000, integer=True),
            Column("batch", 1, 65_536, integer=True),
            Column("tokens_per_s", 0.0),
        ),
        categorical=("device", "model", "precision", "format", "phase", "framework", "source"),
        full_grid=False,
        meta_keys=("sources",),
        validator="splitgym.profiles.timing.calibration_set:check_points",
    ),
}


@dataclass(frozen=True)
class Profile:
    """A validated profile: the table, its metadata and the file it came from."""

    table: pd.DataFrame
    meta: Mapping[str, Any]
    path: Path

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def kind(self) -> str:
        return str(self.meta["kind"])

    @property
    def source(self) -> str:
        return str(self.meta["source"])

    @property
    def axes(self) -> list[str]:
        return [str(a) for a in self.meta["axes"]]

    def axis_values(self, axis: str) -> np.ndarray:
        """The sorted unique values of grid axis ``axis``."""
        return np.unique(self.table[axis].to_numpy())

    def grid(self, column: str) -> np.ndarray:
        """Column ``column`` as an array with one dimension per axis, in the order of :attr:`axes`."""
        shape = tuple(len(self.axis_values(a)) for a in self.axes)
        return np.asarray(self.table[column].to_numpy(dtype=np.float64), dtype=np.float64).reshape(shape)


def _fail(path: Path, problem: str) -> ProfileError:
    return ProfileError(f"profile {path}: {problem}")


def _read_meta(path: Path) -> dict[str, Any]:
    meta_path = path.with_suffix(".json")
    if not meta_path.is_file():
        raise _fail(path, f"metadata file {meta_path.name} is missing (every profile needs its provenance)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _fail(meta_path, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise _fail(meta_path, "not UTF-8 text (a JSON file)") from None
    if not isinstance(meta, dict):
        raise _fail(meta_path, "metadata must be a JSON object")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise _fail(meta_path, f"metadata lacks required key(s) {missing}")
    source = meta["source"]
    if source not in SOURCES:
        raise _fail(meta_path, f"metadata 'source' is {source!r}; allowed: {list(SOURCES)}")
    lacking = [k for k in SOURCE_META[source] if k not in meta]
    if lacking:
        raise _fail(meta_path, f"a {source} profile needs metadata key(s) {lacking}")
    if meta["kind"] not in SCHEMAS:
        raise _fail(meta_path, f"metadata 'kind' is {meta['kind']!r}; allowed: {sorted(SCHEMAS)}")
    schema = SCHEMAS[meta["kind"]]
    missing_col_keys = [k for k in (*schema.meta_columns, *schema.meta_keys) if k not in meta]
    if missing_col_keys:
        raise _fail(meta_path, f"a {meta['kind']} profile needs metadata key(s) {missing_col_keys}")
    if not isinstance(meta["axes"], list) or not meta["axes"]:
        raise _fail(meta_path, "metadata 'axes' must be a non-empty list of column names")
    if not isinstance(meta["units"], dict):
        raise _fail(meta_path, "metadata 'units' must map every column to its unit")
    categories = meta.get("categories", {})
    if not isinstance(categories, dict) or not all(isinstance(v, list) and v for v in categories.values()):
        raise _fail(meta_path, "metadata 'categories' must map text columns to non-empty lists of values")
    lacking_cat = [c for c in schema.categorical if c not in categories]
    if lacking_cat:
        raise _fail(meta_path, f"metadata 'categories' lacks the text column(s) {lacking_cat}")
    return meta


def _check_columns(path: Path, table: pd.DataFrame, meta: Mapping[str, Any]) -> None:
    schema = SCHEMAS[str(meta["kind"])]
    required = schema.required(meta)
    channel_axis = meta.get("channel_axis")
    if channel_axis is not None:
        if channel_axis not in CHANNEL_AXIS_RANGES:
            raise _fail(
                path, f"channel_axis {channel_axis!r} is unknown; allowed: {sorted(CHANNEL_AXIS_RANGES)}"
            )
        low, high = CHANNEL_AXIS_RANGES[channel_axis]
        required.append(Column(str(channel_axis), low, high))
    for col in required:
        if col.name not in table.columns:
            hint = suggest(col.name, [str(c) for c in table.columns])
            raise _fail(path, f"column '{col.name}' is missing{hint}; columns present: {list(table.columns)}")
    categories: dict[str, list[Any]] = meta.get("categories", {})
    for name in categories:
        if name not in table.columns:
            raise _fail(path, f"column '{name}' is missing; metadata 'categories' names it")
        unknown = ~table[name].isin(categories[name])
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise _fail(
                path,
                f"column '{name}' row {row + 2}: {table[name].iloc[row]!r} is not one of {categories[name]}",
            )
    for name in table.columns:
        if name not in meta["units"]:
            raise _fail(path, f"column '{name}' has no unit in the metadata 'units'")
        if name in categories:
            continue
        values = pd.to_numeric(table[name], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(
                path, f"column '{name}' row {row + 2}: {table[name].iloc[row]!r} is not a finite number"
            )
    for col in required:
        values = table[col.name].to_numpy(dtype=np.float64)
        out = (values < col.low) | (values > col.high)
        if out.any():
            row = int(np.flatnonzero(out)[0])
            raise _fail(
                path,
                f"column '{col.name}' row {row + 2}: {values[row]:g} is outside [{col.low:g}, {col.high:g}]",
            )
        if col.integer and not np.all(values == np.round(values)):
            row = int(np.flatnonzero(values != np.round(values))[0])
            raise _fail(path, f"column '{col.name}' row {row + 2}: {values[row]:g} is not an integer")


def _axis_keys(table: pd.DataFrame, axes: list[str], categories: Mapping[str, list[Any]]) -> np.ndarray:
    """The axis columns as numbers: text columns by their position in the metadata's category list."""
    cols = []
    for axis in axes:
        if axis in categories:
            order = {v: i for i, v in enumerate(categories[axis])}
            cols.append(table[axis].map(order).to_numpy(dtype=np.float64))
        else:
            cols.append(table[axis].to_numpy(dtype=np.float64))
    return np.column_stack(cols)


def _check_grid(
    path: Path, table: pd.DataFrame, axes: list[str], categories: Mapping[str, list[Any]], full: bool
) -> None:
    for axis in axes:
        if axis not in table.columns:
            raise _fail(path, f"axis '{axis}' named in the metadata is not a column")
    sizes = [table[a].nunique() for a in axes]
    if full and int(np.prod(sizes)) != len(table):
        raise _fail(
            path,
            f"axes {axes} with {sizes} distinct values need {int(np.prod(sizes))} rows (a full grid), "
            f"found {len(table)}",
        )
    keys = _axis_keys(table, axes, categories)
    # Rows must be sorted by the axes, first axis slowest, each axis strictly increasing inside its block.
    order = np.lexsort(keys.T[::-1])
    if not np.array_equal(order, np.arange(len(table))):
        row = int(np.flatnonzero(order != np.arange(len(table)))[0])
        raise _fail(
            path, f"rows are not sorted by axes {axes} (monotone grid axes expected); first at row {row + 2}"
        )
    if table.duplicated(subset=axes).any():
        row = int(np.flatnonzero(table.duplicated(subset=axes).to_numpy())[0])
        raise _fail(path, f"row {row + 2} repeats a grid point of axes {axes}")


def load_profile(path: str | Path) -> Profile:
    """Load and validate the profile at ``path`` (``name.csv``; its ``name.json`` must lie beside it)."""
    csv_path = Path(path)
    if csv_path.suffix != ".csv":
        csv_path = csv_path.with_suffix(".csv")
    if not csv_path.is_file():
        raise _fail(csv_path, "file not found")
    meta = _read_meta(csv_path)
    try:
        table = pd.read_csv(csv_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _fail(csv_path, f"not a readable CSV table ({exc})") from None
    if table.empty:
        raise _fail(csv_path, "the table has no rows")
    schema = SCHEMAS[str(meta["kind"])]
    if schema.validator is not None:
        module, function = schema.validator.split(":")
        getattr(importlib.import_module(module), function)(csv_path, table, meta)
    _check_columns(csv_path, table, meta)
    _check_grid(csv_path, table, [str(a) for a in meta["axes"]], meta.get("categories", {}), schema.full_grid)
    return Profile(table=table, meta=meta, path=csv_path)


def _data_dir() -> Path:
    return Path(str(resources.files("splitgym.profiles") / "data"))


def bundled_profiles() -> list[str]:
    """Names of the profiles shipped with splitgym: their paths under the data folder, without ``.csv``
    (e.g. ``paper_llama2_7b_rsm_grid``, ``timing/llama2-7b``, ``accuracy/reference_erasure``)."""
    root = _data_dir()
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.csv"))


def load_bundled(name: str) -> Profile:
    """Load a shipped profile by name; an unknown name lists the shipped ones."""
    names = bundled_profiles()
    if name not in names:
        folder = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
        nearby = [n for n in names if n.startswith(folder) and n.count("/") == folder.count("/")]
        raise ProfileError(
            f"unknown profile {name!r}{suggest(name, names)}; shipped profiles"
            f"{' in ' + folder if folder else ''}: {nearby} (all: 'splitgym profile list')"
        )
    return load_profile(_data_dir() / f"{name}.csv")


def resolve_profile(spec: str | Path | Profile) -> Profile:
    """A profile from a shipped name, a path to a CSV file, or a :class:`Profile` (returned as is)."""
    if isinstance(spec, Profile):
        return spec
    text = str(spec)
    if text in bundled_profiles():
        return load_bundled(text)
    if text.endswith(".csv") or Path(text).with_suffix(".csv").is_file():
        return load_profile(text)
    return load_bundled(text)


def write_profile(table: pd.DataFrame, meta: Mapping[str, Any], out_dir: Path) -> Path:
    """Write ``<out_dir>/<meta["name"]>.json`` and ``.csv`` atomically (temporary file, then
    ``os.replace``); return the CSV path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"{meta['name']}.csv"
    write_text_atomic(csv_path.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")
    write_text_atomic(csv_path, table.to_csv(index=False))
    return csv_path
