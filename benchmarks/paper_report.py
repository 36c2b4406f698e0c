"""The paper's claims (Chen et al., arXiv 2406.02616) beside our measured figures.

Three claims, each reproduced by our code on this machine:

1. **PPO outperforms A2C and DQN** on the paper's environments: from a finished run of the ``paper``
   benchmark suite (``splitgym benchmark run paper``; its ``results.csv``).
2. **Training with the reward surrogate takes 7.7 minutes instead of 24 days with real evaluations**:
   measured here as the wall time of PPO's 240k steps on environment B with the surrogate (from the suite
   run), against the same number of real quality evaluations at the per-evaluation cost we measure for the
   live reference LLM (:func:`splitgym.benchmarks.perf.surrogate_ratio`), and the cost per evaluation that
   the paper's 24 days imply.
3. **The optimal split moves deeper as the channel worsens**: the best split per impairment level by
   exhaustive search of environment B's reward ``10 Q(p, k) + (10 - k)/10`` over the paper's table and over
   the measured erasure profile of the reference LLM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from splitgym.atomic import write_text_atomic
from splitgym.errors import ConfigError
from splitgym.tables import markdown_table

__all__ = [
    "PAPER_CLAIMS",
    "best_split_by_level",
    "best_split_curves",
    "measured_paper_report",
    "plot_best_split",
    "write_paper_report",
]

PAPER_CLAIMS = {
    "algorithms": "PPO outperforms A2C and DQN (no numbers published)",
    "training_cost": "24 days with real LLM evaluations, 7.7 minutes with the reward surrogate",
    "split_vs_channel": "the optimal split moves deeper (more layers on the device) as channel noise grows",
}
PAPER_STEPS = 240_000
PAPER_DAYS = 24.0
PAPER_MINUTES = 7.7


def best_split_by_level(
    profile: str, levels: np.ndarray, w_inf: float = 10.0, w_load: float = 1.0
) -> np.ndarray:
    """Environment B's best split per impairment level: argmax over the profile's splits ``1..10`` of
    ``w_inf Q(p, k) + w_load (10 - k)/10``."""
    from splitgym.profiles.quality import TableQualityModel

    model = TableQualityModel(profile)
    splits = np.array([k for k in model.splits if 1 <= k <= 10])
    q = model.quality_batch(splits[None, :], levels[:, None])
    reward = w_inf * q + w_load * (10 - splits[None, :]) / 10.0
    return np.asarray(splits[np.argmax(reward, axis=1)])


def best_split_curves() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The impairment levels ``0, 0.01, ..., 0.3`` and environment B's best split at each, over the
    paper's table and over the measured erasure profile of the reference LLM."""
    levels = np.round(np.linspace(0.0, 0.3, 31), 3)
    return levels, {
        "paper table (Llama-2-7B)": best_split_by_level("paper_llama2_7b_rsm_grid", levels),
        "reference LLM (measured erasure profile)": best_split_by_level("accuracy/reference_erasure", levels),
    }


def plot_best_split(levels: np.ndarray, curves: dict[str, np.ndarray], path: Path) -> Path:
    """Environment B's best split against the impairment, one step line per quality table (in the look of
    :mod:`splitgym.style`); a PNG written atomically to ``path``."""
    from splitgym.style import figure, legend_outside, method_styles, save_figure

    fig, ax = figure(7.5, 3.8)
    styles = method_styles(curves)
    for i, (label, best) in enumerate(curves.items()):
        # where the curves agree they share a segment: a wide pale line under a thin dashed one, and
        # markers on alternate levels, so that both stay visible
        kw = {**styles[label].line(5.0), "linestyle": "-" if i == 0 else "--"}
        ax.step(levels, best, where="mid", lw=4.0 if i == 0 else 1.5, alpha=0.55 if i == 0 else 1.0,
                markevery=(i % 2, 2), label=label, **kw)  # fmt: skip
    ax.set_xlabel("impairment p: element-erasure probability of the hidden state (0 to 1)")
    ax.set_ylabel("best split (decoder layers on the device)")
    ax.set_title("Paper environment B: best split against the channel")
    ax.grid(alpha=0.3)
    legend_outside(ax, title="quality table")
    return save_figure(fig, path)


def write_paper_report(suite_results: Path, out_dir: Path, cost: dict[str, Any], note: str = "") -> Path:
    """Write ``out_dir/README.md`` (+ CSVs and a plot) from a finished ``paper`` suite's ``results.csv``
    and the measured evaluation ``cost`` (``{"live_s": ..., "surrogate_s": ..., "live_model": ...}``)."""
    results_csv = suite_results / "report" / "results.csv"
    if not results_csv.is_file():
        raise ConfigError(f"{results_csv} does not exist: run and report the paper suite first")
    results = pd.read_csv(results_csv)
    out_dir.mkdir(parents=True, exist_ok=True)
    # 1. Algorithms.
    algos = results[results["kind"] == "algo"][
        ["env", "agent", "seeds", "return_mean", "return_std", "score"]
    ]
    base = results[results["kind"] != "algo"][["env", "agent", "return_mean"]]
    ranking = []
    for env, frame in algos.groupby("env"):
        order = frame.sort_values("return_mean", ascending=False)["agent"].tolist()
        ranking.append({"env": env, "ranking (best first)": " > ".join(order), "PPO best": order[0] == "ppo"})
    # 2. Training cost.
    train_s = float(
        results.loc[(results["env"] == "PaperSplit-v0") & (results["agent"] == "ppo"), "wall_time_s"].mean()
    )
    live_s, sur_s = float(cost["live_s"]), float(cost["surrogate_s"])
    cost_rows = [
        {
            "quantity": "PPO training, 240k steps, surrogate (measured)",
            "ours": f"{train_s / 60:.1f} min",
            "paper": f"{PAPER_MINUTES} min",
        },
        {
            "quantity": "one real quality evaluation (measured)",
            "ours": f"{live_s:.3f} s ({cost['live_model']})",
            "paper": f"{PAPER_DAYS * 86400 / PAPER_STEPS:.1f} s (implied by 24 days / 240k steps)",
        },
        {
            "quantity": "one surrogate evaluation (measured, batched)",
            "ours": f"{sur_s * 1e6:.2f} us",
            "paper": "-",
        },
        {
            "quantity": "240k real evaluations",
            "ours": f"{PAPER_STEPS * live_s / 3600:.1f} h",
            "paper": f"{PAPER_DAYS} days",
        },
        {
            "quantity": "training with real evaluations / with the surrogate",
            "ours": f"{(PAPER_STEPS * live_s + train_s) / train_s:.0f}x",
            "paper": f"{PAPER_DAYS * 24 * 60 / PAPER_MINUTES:.0f}x",
        },
    ]
    # 3. Split against the channel.
    levels, curves = best_split_curves()
    split_frame = pd.DataFrame({"impairment": levels, **{k: v for k, v in curves.items()}})
    plot_best_split(levels, curves, out_dir / "best_split_vs_impairment.png")
    write_text_atomic(out_dir / "algorithms.csv", algos.to_csv(index=False))
    write_text_atomic(out_dir / "training_cost.csv", pd.DataFrame(cost_rows).to_csv(index=False))
    write_text_atomic(out_dir / "best_split.csv", split_frame.to_csv(index=False))
    paper_deeper = bool(curves["paper table (Llama-2-7B)"][-1] > curves["paper table (Llama-2-7B)"][0])
    ref_deeper = bool(
        curves["reference LLM (measured erasure profile)"][-1]
        > curves["reference LLM (measured erasure profile)"][0]
    )
    text = [
        "# The paper's claims beside our measurements (Chen et al., arXiv 2406.02616)",
        "",
        *([note, ""] if note else []),
        "## 1. PPO against A2C and DQN",
        "",
        f"Claim: {PAPER_CLAIMS['algorithms']}. Ours (mean return over seeds; score 0 random, 1 the suite's "
        "normalisation reference; baselines below):",
        "",
        markdown_table(algos, digits=4),
        markdown_table(pd.DataFrame(ranking)),
        markdown_table(base, digits=4),
        *(
            [
                "Where ours differs: PPO is not the best algorithm on "
                + ", ".join(str(r["env"]) for r in ranking if not r["PPO best"])
                + ". Compare the spreads over seeds above: where the returns of the three algorithms lie "
                "within a few standard deviations of each other (the paper's 6k-step budget on "
                "environment A leaves all three about half-way between random and the oracle), the "
                "ranking is not meaningful; the paper publishes no numbers to compare with.",
                "",
            ]
            if not all(r["PPO best"] for r in ranking)
            else []
        ),
        "## 2. Training cost: surrogate against real evaluations",
        "",
        f"Claim: {PAPER_CLAIMS['training_cost']}.",
        "",
        markdown_table(pd.DataFrame(cost_rows)),
        "Our real evaluation is the reference LLM (3.8 M parameters) on 1024 held-out tokens on a CPU, far "
        "cheaper than the paper's Llama-2-7B perplexity evaluation, so our ratio is smaller; the paper's "
        "24 days correspond to about 8.6 s per evaluation over 240k steps. The surrogate run's wall time is "
        "PPO's own: the surrogate's 240k evaluations take well under a second.",
        "",
        "## 3. The best split against the channel",
        "",
        f"Claim: {PAPER_CLAIMS['split_vs_channel']}. Exhaustive search of environment B's reward per "
        f"impairment level: the paper table's best split moves deeper as p grows: {paper_deeper}; the "
        f"reference LLM's measured profile: {ref_deeper}.",
        "",
        "![best split against impairment](best_split_vs_impairment.png)",
        "",
        markdown_table(split_frame),
    ]
    if not ref_deeper:
        text.append(
            "Where ours differs: the reference LLM under element erasure loses about as much quality at "
            "every split (its profile is nearly flat in the split), so the load term decides and the split "
            "stays shallow; the paper's surrogate makes deeper splits more robust."
        )
    path = out_dir / "README.md"
    write_text_atomic(path, "\n".join(text) + "\n")
    return path


def measured_paper_report(suite_results: Path, out_dir: Path, note: str = "") -> Path:
    """:func:`write_paper_report` with the training cost measured now: one live evaluation of the
    reference LLM against one surrogate call (:func:`splitgym.benchmarks.perf.surrogate_ratio`)."""
    from splitgym.benchmarks.perf import surrogate_ratio

    measured = surrogate_ratio()
    cost = {
        "live_s": measured.reference_value * 1e-6,
        "surrogate_s": measured.ours_value * 1e-6,
        "live_model": measured.reference,
    }
    return write_paper_report(suite_results, out_dir, cost, note=note)
