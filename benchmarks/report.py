"""Reports of a benchmark suite: a results table per environment (CSV and Markdown) and plots.

Per environment and agent the table gives:

* ``return_mean``, ``return_std``: the mean return of each seed (over its evaluation episodes), then the
  mean and standard deviation (``ddof=1``) of those per-seed means over seeds;
* ``iqm`` with ``iqm_ci_low``/``iqm_ci_high``: the interquartile mean (the mean of the middle 50 %,
  ``scipy.stats.trim_mean(x, 0.25)`` as in rliable) over every (seed, episode) return, and its 95 %
  percentile bootstrap confidence interval: each resample draws the seeds with replacement and then, within
  each drawn seed, its episodes with replacement (a hierarchical bootstrap, so the interval covers both
  seed-to-seed and episode-to-episode variation); seeded, so a report is reproducible;
* ``score``: ``(return_mean - R_low) / (R_high - R_low)``, 0 for the suite's low reference agent
  (``random``) and 1 for its high one (``oracle``), empty when the suite lacks one of them;
* ``quality``, ``quality_score``, ``load`` (the device's share of the compute), ``latency_s``: means
  over every evaluation step; ``real_evaluations``: expensive quality-model evaluations (a live LLM, or
  the real model a model-based agent learns a surrogate of) per seed, in training and evaluation; 0 for
  table-based environments; ``timesteps``: training steps; ``wall_time_s``: the
  cell's wall time (training and evaluation) per seed;
* ``seeds`` and a ``note`` when there are fewer than 5 seeds (then the table is indicative, not a
  quantitative benchmark).

Plots per environment, in the look of :mod:`splitgym.style` (one colour and marker per method in every
figure, legends outside the data, titles in words): learning curves (periodic evaluation return against
environment steps, mean and standard deviation over seeds; those are other episodes than the final
evaluation, so the baselines' reference lines and a large marker per trained agent at its last step show
the final evaluation, on the same episodes for every agent); the split chosen against the channel level
(SNR or impairment, binned, from the first ``trace_episodes`` evaluation episodes); quality against device
load (one point per evaluation episode, the mean as a large marker; the normalised ``quality_score`` where
the environment reports one, else ``quality``). Everything goes to
``out_dir/<suite>/report/``, written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from splitgym.atomic import write_text_atomic
from splitgym.benchmarks.runner import Cell, expand, read_cell
from splitgym.benchmarks.sequential import sequential_markdown, sequential_table
from splitgym.benchmarks.suite import EnvSpec, Suite, load_suite
from splitgym.errors import ConfigError
from splitgym.style import env_title, figure, legend_outside, method_label, method_styles, save_figure
from splitgym.tables import markdown_table

__all__ = [
    "COLUMNS",
    "MIN_SEEDS",
    "Report",
    "bootstrap_iqm_ci",
    "iqm",
    "report_suite",
    "report_text",
    "results_table",
]

MIN_SEEDS = 5
COLUMNS = (
    "agent",
    "kind",
    "seeds",
    "episodes",
    "return_mean",
    "return_std",
    "iqm",
    "iqm_ci_low",
    "iqm_ci_high",
    "score",
    "quality",
    "quality_score",
    "load",
    "latency_s",
    "real_evaluations",
    "timesteps",
    "wall_time_s",
    "note",
)
_LEVEL_LABELS = {
    "snr_db": "SNR (dB)",
    "impairment": "impairment: element-erasure probability of the hidden state (0 to 1)",
}


@dataclass(frozen=True)
class Report:
    """What :func:`report_suite` wrote: the folder, the tables per environment label, every file and the
    cells that were not (validly) finished."""

    folder: Path
    tables: dict[str, pd.DataFrame]
    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


# -- statistics --------------------------------------------------------------------------------------


def iqm(values: ArrayLike) -> float:
    """Interquartile mean: the mean after cutting ``floor(n/4)`` values from each end of the sorted
    values (``scipy.stats.trim_mean(values, 0.25)``)."""
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x.size == 0:
        return float("nan")
    k = int(0.25 * x.size)
    return float(x[k : x.size - k].mean())


def _iqm_rows(samples: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`iqm` of every row of a 2-D array."""
    x = np.sort(samples, axis=1)
    k = int(0.25 * x.shape[1])
    return np.asarray(x[:, k : x.shape[1] - k].mean(axis=1), dtype=np.float64)


def bootstrap_iqm_ci(
    groups: Sequence[ArrayLike], n_boot: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the IQM of the pooled ``groups`` (one group of episode
    returns per seed): each resample draws groups with replacement, then values within each drawn group."""
    arrays = [np.asarray(g, dtype=np.float64).ravel() for g in groups]
    arrays = [a for a in arrays if a.size]
    if not arrays:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    n_groups = len(arrays)
    stats = np.empty(n_boot)
    if len({a.size for a in arrays}) == 1:  # the usual case: one block of draws
        table = np.stack(arrays)
        size = table.shape[1]
        picks = rng.integers(0, n_groups, size=(n_boot, n_groups))
        inner = rng.integers(0, size, size=(n_boot, n_groups, size))
        stats = _iqm_rows(table[picks[:, :, None], inner].reshape(n_boot, -1))
    else:
        for b in range(n_boot):
            chosen = [arrays[i] for i in rng.integers(0, n_groups, size=n_groups)]
            stats[b] = iqm(np.concatenate([a[rng.integers(0, a.size, size=a.size)] for a in chosen]))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(low), float(high)


# -- tables -----------------------------------------------------------------------------------------


def _mean_of(records: Sequence[dict[str, Any]], column: str) -> float:
    values = [v for r in records for v in r["episodes"].get(column, []) if v is not None]
    return float(np.mean(values)) if values else float("nan")


def results_table(
    suite: Suite, env: EnvSpec, records: dict[str, list[dict[str, Any]]], n_boot: int = 2000
) -> pd.DataFrame:
    """One row per agent of ``env`` that has finished cells (``records``: agent name -> cell records)."""
    rows: list[dict[str, Any]] = []
    for agent in suite.agents_for(env):
        cells = sorted(records.get(agent.name, []), key=lambda r: int(r["seed"]))
        if not cells:
            continue
        per_seed = [[float(v) for v in r["episodes"]["return"]] for r in cells]
        means = np.array([np.mean(g) for g in per_seed])
        low, high = bootstrap_iqm_ci(per_seed, n_boot=n_boot)
        rows.append(
            {
                "agent": agent.name,
                "kind": agent.kind,
                "seeds": len(cells),
                "episodes": int(np.mean([len(g) for g in per_seed])),
                "return_mean": float(means.mean()),
                "return_std": float(means.std(ddof=1)) if len(means) > 1 else float("nan"),
                "iqm": iqm(np.concatenate(per_seed)),
                "iqm_ci_low": low,
                "iqm_ci_high": high,
                "score": float("nan"),
                "quality": _mean_of(cells, "quality"),
                "quality_score": _mean_of(cells, "quality_score"),
                "load": _mean_of(cells, "load"),
                "latency_s": _mean_of(cells, "latency_s"),
                "real_evaluations": float(np.mean([r.get("real_evaluations", 0) for r in cells])),
                "timesteps": float(np.mean([r.get("timesteps", 0) for r in cells])),
                "wall_time_s": float(np.mean([r.get("wall_time_s", float("nan")) for r in cells])),
                "note": f"fewer than {MIN_SEEDS} seeds" if len(cells) < MIN_SEEDS else "",
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    lo_name, hi_name = suite.normalize
    ref = dict(zip(frame["agent"], frame["return_mean"], strict=True))
    if lo_name in ref and hi_name in ref and ref[hi_name] != ref[lo_name]:
        frame["score"] = (frame["return_mean"] - ref[lo_name]) / (ref[hi_name] - ref[lo_name])
    return frame


def _markdown(suite: Suite, env: EnvSpec, frame: pd.DataFrame, missing: list[str], n_boot: int) -> str:
    def fmt(v: float, digits: int = 3) -> str:
        return "" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"

    shown = pd.DataFrame(
        {
            "agent": frame["agent"],
            "seeds": frame["seeds"],
            "return (mean ± std over seeds)": [
                fmt(m) + (f" ± {fmt(s)}" if np.isfinite(s) else "")
                for m, s in zip(frame["return_mean"], frame["return_std"], strict=True)
            ],
            "IQM [95% CI]": [
                f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]"
                for m, lo, hi in zip(frame["iqm"], frame["iqm_ci_low"], frame["iqm_ci_high"], strict=True)
            ],
            "score": [fmt(v) for v in frame["score"]],
            "quality": [fmt(v, 4) for v in frame["quality"]],
            "quality score": [fmt(v) for v in frame["quality_score"]],
            "device load": [fmt(v) for v in frame["load"]],
            "latency (s)": [fmt(v, 4) for v in frame["latency_s"]],
            "real evals": [f"{v:.0f}" for v in frame["real_evaluations"]],
            "train steps": [f"{v:.0f}" for v in frame["timesteps"]],
            "wall time (s)": [fmt(v, 1) for v in frame["wall_time_s"]],
            "note": frame["note"],
        }
    )
    kwargs = ", ".join(f"{k}={v!r}" for k, v in env.kwargs.items()) or "defaults"
    low, high = suite.normalize
    lines = [
        f"## {env.name}: `{env.id}` ({kwargs})",
        "",
        markdown_table(shown).rstrip(),
        "",
        f"- Evaluation: {suite.eval_episodes} episodes per seed, episode i reset with seed 1000000 + i "
        "(the same episodes for every agent).",
        f"- IQM: interquartile mean over every (seed, episode) return; 95% CI from a hierarchical bootstrap "
        f"(seeds, then episodes; {n_boot} resamples, seeded).",
        f"- score: 0 = `{low}`, 1 = `{high}` (mean return)"
        + ("" if frame["score"].notna().any() else f"; not computed: the suite lacks `{low}` or `{high}`")
        + ".",
    ]
    few = frame.loc[frame["seeds"] < MIN_SEEDS, "agent"].tolist()
    if few:
        lines.append(
            f"- **Fewer than {MIN_SEEDS} seeds** for {', '.join(f'`{a}`' for a in few)}: indicative only, "
            "not a quantitative benchmark."
        )
    if missing:
        lines.append(
            f"- Missing cells (not run yet, failed or from another suite version): {', '.join(missing)}."
        )
    return "\n".join(lines) + "\n"


# -- plots ------------------------------------------------------------------------------------------


def _plot_curves(
    suite: Suite, env: EnvSpec, records: dict[str, list[dict[str, Any]]], frame: pd.DataFrame, path: Path
) -> Path | None:
    """Periodic-evaluation curves of the trained agents, and every agent's final evaluation.

    The periodic evaluations (``evaluations.npz``: ``curve_episodes`` episodes per point, drawn from the
    training run's own evaluation environment) are other episodes than the final evaluation (episodes
    reset with seeds ``1000000 + i``, the same for every agent). So the baselines' reference lines and
    a large marker per trained agent at its last step both show the final evaluation, comparable with
    each other; the curves show the trend of training, not a comparison with the lines."""
    agents = suite.agents_for(env)
    styles = method_styles(a.name for a in agents)
    fig, ax = figure(8.0, 4.6)
    drawn = False
    n_algos = sum(1 for a in agents if a.algo is not None)
    for k, agent in enumerate(a for a in agents if a.algo is not None):
        curves = [r["learning_curve"] for r in records.get(agent.name, []) if r.get("learning_curve")]
        if not curves:
            continue
        style = styles[agent.name]
        grid = np.asarray(curves[0]["timesteps"], dtype=np.float64)
        ys = np.stack([np.interp(grid, c["timesteps"], c["mean"]) for c in curves])
        mean = ys.mean(axis=0)
        ax.plot(grid, mean, **style.line(4.0), lw=1.4,
                label=f"{method_label(agent.name)}, periodic ({len(curves)} seeds)")  # fmt: skip
        if len(curves) > 1:
            sd = ys.std(axis=0, ddof=1)
            ax.fill_between(grid, mean - sd, mean + sd, color=style.color, alpha=0.15, lw=0)
        row = frame[frame["agent"] == agent.name]
        if len(row):
            # side by side at the last step, so that equal returns do not hide each other
            x_end = float(row["timesteps"].iloc[0]) * (1.0 + 0.025 * (k + 1 - (n_algos - 1) / 2))
            sd_end = float(row["return_std"].iloc[0])
            ax.errorbar([x_end], [float(row["return_mean"].iloc[0])],
                        yerr=[[sd_end], [sd_end]] if np.isfinite(sd_end) else None,
                        color=style.color, marker=style.marker, markersize=10, capsize=4, linestyle="none",
                        markerfacecolor=style.color if style.filled else "white", markeredgecolor="black",
                        label=f"{method_label(agent.name)}, final evaluation")  # fmt: skip
        drawn = True
    if not drawn:
        return None
    x0, x1 = ax.get_xlim()
    baselines = frame[frame["kind"] == "baseline"]
    gap = 0.92 * (x1 - x0) / 5
    for j, (_, row) in enumerate(baselines.iterrows()):
        # markers staggered per baseline, so that equal returns still show every marker
        ticks = x0 + 0.04 * (x1 - x0) + gap * (np.arange(5) + (j + 0.5) / max(len(baselines), 1))
        kw = {**styles[str(row["agent"])].line(5.0), "linestyle": ":"}
        ax.plot([x0, x1], [float(row["return_mean"])] * 2, lw=1.2, color=kw["color"], linestyle=":")
        ax.plot(ticks, np.full(ticks.shape, float(row["return_mean"])), lw=1.2, **kw,
                label=f"{method_label(str(row['agent']))}, final evaluation")  # fmt: skip
    ax.set_xlim(x0, x1)
    ax.set_xlabel("training steps (environment steps)")
    ax.set_ylabel("mean episode return (dimensionless)")
    ax.set_title(f"{env_title(env.name)}: learning curves")
    ax.grid(alpha=0.3)
    legend_outside(
        ax,
        title=(
            f"periodic: {suite.curve_episodes} episodes per point,\nmean ± std over seeds\n"
            f"final evaluation: {suite.eval_episodes} episodes\nper seed, the same for every agent"
        ),
    )
    return save_figure(fig, path)


def _plot_split(
    suite: Suite, env: EnvSpec, records: dict[str, list[dict[str, Any]]], path: Path
) -> Path | None:
    data: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
    level = None
    for agent in suite.agents_for(env):
        xs, ys = [], []
        for r in records.get(agent.name, []):
            trace = r.get("trace") or {}
            if trace.get("level"):
                level = trace["level"]
                xs += [float(v) for v in trace["x"]]
                ys += [float(v) for v in trace["split"]]
        if xs:
            data[agent.name] = (np.asarray(xs), np.asarray(ys))
    if not data:
        return None
    styles = method_styles(a.name for a in suite.agents_for(env))
    lo = min(float(x.min()) for x, _ in data.values())
    hi = max(float(x.max()) for x, _ in data.values())
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 13)
    centres = 0.5 * (edges[1:] + edges[:-1])
    fig, ax = figure(8.0, 4.6)
    for name, (x, y) in data.items():
        idx = np.clip(np.digitize(x, edges) - 1, 0, len(centres) - 1)
        counts = np.bincount(idx, minlength=len(centres))
        sums = np.bincount(idx, weights=y, minlength=len(centres))
        keep = counts >= 3
        mean = np.divide(sums, counts, out=np.full(len(centres), np.nan), where=counts > 0)
        ax.plot(centres[keep], mean[keep], **styles[name].line(5.0), lw=1.3, label=method_label(name))
    ax.set_xlabel(_LEVEL_LABELS.get(str(level), f"{level} (as the environment reports it)"))
    ax.set_ylabel("split chosen (decoder layers on the device)")
    ax.set_title(f"{env_title(env.name)}: split against the channel")
    ax.grid(alpha=0.3)
    legend_outside(ax, title=f"binned means, first {suite.trace_episodes}\nevaluation episodes per seed")
    return save_figure(fig, path)


def _plot_quality_load(
    suite: Suite, env: EnvSpec, records: dict[str, list[dict[str, Any]]], path: Path
) -> Path | None:
    styles = method_styles(a.name for a in suite.agents_for(env))
    fig, ax = figure(8.0, 4.6)
    drawn = False
    records_all = [r for rs in records.values() for r in rs]
    ykey = "quality_score" if all("quality_score" in r["episodes"] for r in records_all) else "quality"
    for agent in suite.agents_for(env):
        load, quality = [], []
        for r in records.get(agent.name, []):
            eps = r["episodes"]
            if "load" in eps and ykey in eps:
                pairs = [(a, b) for a, b in zip(eps["load"], eps[ykey], strict=True) if None not in (a, b)]
                load += [float(a) for a, _ in pairs]
                quality += [float(b) for _, b in pairs]
        if not load:
            continue
        style = styles[agent.name]
        ax.scatter(load, quality, s=9, alpha=0.25, color=style.color, marker=style.marker,
                   linewidths=0.8 if style.marker == "x" else 0)  # fmt: skip
        ax.scatter([np.mean(load)], [np.mean(quality)], s=110, zorder=3, **style.points(),
                   label=method_label(agent.name))  # fmt: skip
        drawn = True
    if not drawn:
        return None
    ax.set_xlabel("device load (share of the compute on the device, 0 to 1)")
    ax.set_ylabel(
        "quality score (0 to 1, per-episode mean)"
        if ykey == "quality_score"
        else "quality (1 - PPL/PPL_ref, per-episode mean)"
    )
    ax.set_title(f"{env_title(env.name)}: quality against device load")
    ax.grid(alpha=0.3)
    legend_outside(ax, title="small: one episode\nlarge: mean over episodes")
    return save_figure(fig, path)


# -- the suite ------------------------------------------------------------------------------------


def collect_records(
    suite: Suite, cells_dir: Path
) -> tuple[dict[str, dict[str, list[dict[str, Any]]]], list[str]]:
    """Finished records per env label and agent name, and the IDs of the cells without a valid file."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {e.name: {} for e in suite.envs}
    missing: list[str] = []
    cell: Cell
    for cell in expand(suite):
        record = read_cell(cells_dir / f"{cell.cell_id}.json")
        if record is None or record.get("spec_hash") != cell.spec_hash():
            missing.append(cell.cell_id)
            continue
        out[cell.env.name].setdefault(cell.agent.name, []).append(record)
    return out, missing


def report_suite(suite: Suite | str | Path, out_dir: str | Path, n_boot: int = 2000) -> Report:
    """Tables and plots of the finished cells of ``suite`` under ``out_dir/<suite>/report/``."""
    if not isinstance(suite, Suite):
        suite = load_suite(suite, check_envs=False)
    folder = Path(out_dir) / suite.name
    cells_dir = folder / "cells"
    records, missing = collect_records(suite, cells_dir)
    if not any(records.values()):
        raise ConfigError(
            f"suite {suite.name!r} has no finished cells in {cells_dir}; run 'splitgym benchmark run "
            f"{suite.name} --out {out_dir}' first"
        )
    report_dir = folder / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    tables: dict[str, pd.DataFrame] = {}
    files: list[Path] = []
    sections = [f"# Benchmark suite `{suite.name}`", ""]
    if suite.description:
        sections += [suite.description, ""]
    sections += [
        f"Seeds {list(suite.seeds)}; {suite.eval_episodes} evaluation episodes per seed. Cells: "
        f"{len(expand(suite)) - len(missing)} finished, {len(missing)} missing.",
        "",
    ]
    for env in suite.envs:
        env_records = records[env.name]
        if not env_records:
            continue
        frame = results_table(suite, env, env_records, n_boot=n_boot)
        tables[env.name] = frame
        env_missing = [m for m in missing if m.startswith(f"{env.name}__")]
        md = _markdown(suite, env, frame, env_missing, n_boot)
        csv_path, md_path = report_dir / f"{env.name}.csv", report_dir / f"{env.name}.md"
        write_text_atomic(csv_path, frame.to_csv(index=False))
        write_text_atomic(md_path, md)
        files += [csv_path, md_path]
        sections.append(md)
        seq = sequential_table(env_records, n_boot=n_boot)
        if seq is not None:  # the suite has random, myopic and planning: is the problem sequential?
            seq_csv = report_dir / f"{env.name}_sequential.csv"
            seq_md = report_dir / f"{env.name}_sequential.md"
            text = sequential_markdown(env.name, seq)
            write_text_atomic(seq_csv, seq.to_csv(index=False))
            write_text_atomic(seq_md, text)
            files += [seq_csv, seq_md]
            sections.append(text)
        stem = report_dir / env.name
        for kind, png in (
            (
                "learning curves",
                _plot_curves(suite, env, env_records, frame, Path(f"{stem}_learning_curves.png")),
            ),
            ("split vs channel", _plot_split(suite, env, env_records, Path(f"{stem}_split_vs_channel.png"))),
            (
                "quality vs load",
                _plot_quality_load(suite, env, env_records, Path(f"{stem}_quality_vs_load.png")),
            ),
        ):
            if png is not None:
                files.append(png)
                sections.append(f"![{env.name} {kind}]({png.name})\n")
    combined = pd.concat([f.assign(env=name) for name, f in tables.items()], ignore_index=True)
    combined = combined[["env", *COLUMNS]]
    write_text_atomic(report_dir / "results.csv", combined.to_csv(index=False))
    write_text_atomic(report_dir / "README.md", "\n".join(sections))
    files += [report_dir / "results.csv", report_dir / "README.md"]
    return Report(folder=report_dir, tables=tables, files=files, missing=missing)


def report_text(suite: Suite | str | Path, out_dir: str | Path) -> str:
    """Write the suite's report (:func:`report_suite`) and return its tables and files as text."""
    report = report_suite(suite, out_dir)
    cols = ["agent", "seeds", "return_mean", "return_std", "iqm", "iqm_ci_low", "iqm_ci_high", "score"]
    parts = [
        f"\n{env}\n" + frame[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}")
        for env, frame in report.tables.items()
    ]
    if report.missing:
        parts.append(
            f"\n{len(report.missing)} cells missing (not run yet or failed): {', '.join(report.missing)}"
        )
    parts.append(f"\nreport written to {report.folder} ({len(report.files)} files; start with README.md)")
    parts += [f"  plot: {p}" for p in sorted(str(f) for f in report.files if str(f).endswith(".png"))]
    return "\n".join(parts)
