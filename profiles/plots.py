"""Pictures of profiles: quality against the channel level, one line per split (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

from splitgym.errors import ProfileError
from splitgym.profiles.profile import Profile, resolve_profile

__all__ = ["plot_quality"]


def plot_quality(profile: str | Path | Profile, out: Path) -> Path:
    """Draw a ``quality_grid`` profile: mean quality (with its spread, if recorded) against the channel
    level, one line per split; write a PNG to ``out`` and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prof = resolve_profile(profile)
    if prof.kind != "quality_grid":
        raise ProfileError(f"profile {prof.path}: kind {prof.kind!r} cannot be drawn as quality curves")
    level, column = str(prof.meta["channel_axis"]), str(prof.meta["quality_column"])
    table = prof.table
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    splits = sorted(table["split"].unique())
    cmap = plt.get_cmap("viridis", len(splits))
    for i, split in enumerate(splits):
        rows = table[table["split"] == split]
        ax.plot(rows[level], rows[column], color=cmap(i), label=f"{split}", lw=1.4)
        if f"{column}_std" in table:
            ax.fill_between(
                rows[level], rows[column] - rows[f"{column}_std"], rows[column] + rows[f"{column}_std"],
                color=cmap(i), alpha=0.12, lw=0,
            )  # fmt: skip
    ax.set_xlabel(prof.meta["units"].get(level, level))
    ax.set_ylabel(f"{column}: " + prof.meta["units"].get(column, ""), fontsize=8)
    op = prof.meta.get("operator")
    detail = ", ".join(f"{k}={v}" for k, v in op.items()) if isinstance(op, dict) else str(op or "")
    ax.set_title(f"{prof.name} ({prof.meta['model']}; {detail})", fontsize=9)
    ax.legend(title="split", fontsize=7, ncol=2, loc="lower left" if level == "impairment" else "lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
