"""Pictures of profiles: quality against the channel level for every split (matplotlib, headless).

Two panels in the look of :mod:`splitgym.style`: the quality curves, one line per split coloured along a
sequential colour map with a colour bar for the split (a dozen splits stay readable: the colour orders
them), and the same table as a heat map, split against channel level, so no line hides another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from splitgym.errors import ProfileError
from splitgym.profiles.profile import Profile, resolve_profile
from splitgym.style import figure, save_figure

__all__ = ["plot_quality", "profile_title"]

_MODELS = {"reference": "Reference LLM"}


def _operator_words(op: Any) -> str:
    if not isinstance(op, dict):
        return str(op or "unknown corruption").replace("_", " ")
    name = str(op.get("operator", ""))
    if name == "erasure":
        return "element erasure of the hidden state"
    if name == "fading":
        m = float(op.get("m", 1.0))
        kind = f"Nakagami-m fading, m = {m:g}" + (" (Rayleigh)" if m == 1.0 else "")
        eq = "with" if op.get("equalize", True) else "without"
        return f"{kind}, {eq} equalisation"
    if name == "bitflip":
        dtype = str(op.get("dtype", "")).upper()
        modulation = str(op.get("modulation", "")).upper()
        return f"bit flips in the {dtype} hidden state sent over {modulation}".replace("  ", " ")
    rest = ", ".join(f"{k} {v}" for k, v in op.items() if k != "operator")
    return f"{name.replace('_', ' ')}" + (f" ({rest})" if rest else "")


def profile_title(prof: Profile) -> str:
    """The profile in words: ``Reference LLM: quality under element erasure of the hidden state``."""
    model = str(prof.meta.get("model", prof.name))
    words = _MODELS.get(model, model.replace("_", " "))
    return f"{words}: quality under {_operator_words(prof.meta.get('operator'))}"


def _with_unit(text: str) -> str:
    return text if "(" in text else f"{text} (dimensionless)"


def plot_quality(profile: str | Path | Profile, out: Path) -> Path:
    """Draw a ``quality_grid`` profile (quality with its spread, if recorded, against the channel level
    for every split; beside it the same table as a heat map); write a PNG to ``out`` and return it."""
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap

    prof = resolve_profile(profile)
    if prof.kind != "quality_grid":
        raise ProfileError(f"profile {prof.path}: kind {prof.kind!r} cannot be drawn as quality curves")
    level, column = str(prof.meta["channel_axis"]), str(prof.meta["quality_column"])
    units = prof.meta["units"]
    table = prof.table
    splits = sorted(int(s) for s in table["split"].unique())
    levels = np.array(sorted(table[level].unique()), dtype=np.float64)
    # viridis without its palest tenth, so the last split's line stays visible on white
    cmap = ListedColormap(colormaps["viridis"](np.linspace(0.0, 0.88, len(splits))))
    bounds = np.arange(len(splits) + 1) - 0.5
    norm = BoundaryNorm(bounds, cmap.N)
    fig, (ax, heat) = figure(11.0, 4.2, ncols=2, gridspec_kw={"width_ratios": [1.25, 1.0]})
    grid = np.full((len(splits), len(levels)), np.nan)
    for i, split in enumerate(splits):
        rows = table[table["split"] == split].sort_values(level)
        ax.plot(rows[level], rows[column], color=cmap(i), lw=1.4)
        if f"{column}_std" in table:
            ax.fill_between(
                rows[level], rows[column] - rows[f"{column}_std"], rows[column] + rows[f"{column}_std"],
                color=cmap(i), alpha=0.10, lw=0,
            )  # fmt: skip
        grid[i, np.searchsorted(levels, rows[level].to_numpy(dtype=np.float64))] = rows[column]
    x_label = _with_unit(str(units.get(level, level)))
    y_label = f"{column}: {units.get(column, '')}".rstrip(": ")
    ax.set_xlabel(x_label)
    ax.set_ylabel(_with_unit(y_label), fontsize=8)
    ax.set_title("one line per split", fontsize=9)
    ax.grid(alpha=0.3)
    mappable = ax.scatter([], [], c=[], cmap=cmap, norm=norm)
    bar = fig.colorbar(mappable, ax=ax, ticks=np.arange(len(splits)), pad=0.01)
    bar.ax.set_yticklabels([str(s) for s in splits], fontsize=7)
    bar.ax.minorticks_off()
    bar.set_label("split (decoder layers on the device)", fontsize=8)
    step = float(np.median(np.diff(levels))) if len(levels) > 1 else 1.0
    image = heat.imshow(
        grid, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
        extent=(levels[0] - step / 2, levels[-1] + step / 2, -0.5, len(splits) - 0.5),
    )  # fmt: skip
    heat.set_yticks(np.arange(len(splits)), [str(s) for s in splits], fontsize=7)
    heat.set_xlabel(x_label)
    heat.set_ylabel("split (decoder layers on the device)", fontsize=8)
    heat.set_title("the same table as a heat map", fontsize=9)
    hbar = fig.colorbar(image, ax=heat, pad=0.01)
    hbar.ax.tick_params(labelsize=7)
    hbar.set_label(_with_unit(f"{column} ({units.get(column, '').split(' (')[0]})"), fontsize=8)
    fig.suptitle(profile_title(prof), fontsize=11)
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, out)
