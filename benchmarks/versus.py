"""Paired comparisons inside a finished benchmark suite: is an agent above, level with or below another?

Every agent of a suite is evaluated on the same episodes (episode ``i`` starts from seed
``1,000,000 + i``), so two agents can be compared episode by episode: the difference ``d[s, i] =
R_A[s, i] - R_B[s, i]`` of agent ``A`` and reference ``B`` at seed ``s`` and episode ``i`` has far less
variance than either return. :func:`versus_table` reports per environment and pair the mean of ``d`` with a
hierarchical bootstrap 95 % confidence interval (resampling seeds, then the common episode indices
within each), and a verdict: ``above`` (the interval is above 0), ``below`` (under 0) or ``level``. It also
gives each agent's mean return with the same kind of interval and its share of the oracle's mean return.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from splitgym.benchmarks.report import collect_records
from splitgym.benchmarks.suite import Suite, load_suite
from splitgym.errors import ConfigError

__all__ = [
    "bootstrap_mean_ci",
    "versus_report",
    "versus_table",
]


def _returns(records: Sequence[dict[str, Any]]) -> dict[int, NDArray[np.float64]]:
    return {int(r["seed"]): np.asarray(r["episodes"]["return"], dtype=np.float64) for r in records}


def bootstrap_mean_ci(
    table: NDArray[np.float64], n_boot: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``table`` (seeds x episodes): each resample draws seeds
    with replacement, then episode indices with replacement (the same indices for every drawn seed, so
    paired differences stay paired with the episodes they came from)."""
    x = np.asarray(table, dtype=np.float64)
    if x.ndim != 2 or x.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    n_seeds, n_eps = x.shape
    rows = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    cols = rng.integers(0, n_eps, size=(n_boot, n_eps))
    stats = x[rows[:, :, None], cols[:, None, :]].mean(axis=(1, 2))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _paired(a: dict[int, NDArray[np.float64]], b: dict[int, NDArray[np.float64]]) -> NDArray[np.float64]:
    """``d[s, i]`` for every seed ``s`` of ``a``: against the reference's run of the same seed, or, where
    the reference has no such seed, against its mean over seeds of the same episode."""
    seeds = sorted(a)
    n = min(min(v.size for v in a.values()), min(v.size for v in b.values()))
    ref_mean = np.mean([v[:n] for v in b.values()], axis=0)
    return np.stack([a[s][:n] - (b[s][:n] if s in b else ref_mean) for s in seeds])


def versus_table(
    suite: Suite | str | Path,
    out_dir: str | Path,
    agents: Sequence[str],
    against: Sequence[str],
    oracle: str = "oracle",
    n_boot: int = 2000,
) -> pd.DataFrame:
    """One row per (env, agent, reference): mean returns, the paired difference with its interval and the
    verdict; plus, per agent, its mean return's interval and share of ``oracle``'s mean return."""
    if not isinstance(suite, Suite):
        suite = load_suite(suite, check_envs=False)
    cells = Path(out_dir) / suite.name / "cells"
    records, _ = collect_records(suite, cells)
    names = {a.name for a in suite.agents}
    unknown = sorted((set(agents) | set(against)) - names)
    if unknown:
        raise ConfigError(f"agents {unknown} are not in suite {suite.name!r}; its agents: {sorted(names)}")
    rows = []
    for env, by_agent in records.items():
        returns = {name: _returns(recs) for name, recs in by_agent.items()}
        oracle_mean = np.nan
        if oracle in returns:
            oracle_mean = float(np.mean(np.concatenate(list(returns[oracle].values()))))
        for agent in agents:
            if agent not in returns:
                continue
            own = np.stack(list(returns[agent].values()))
            lo, hi = bootstrap_mean_ci(own, n_boot)
            for ref in against:
                if ref not in returns or ref == agent:
                    continue
                d = _paired(returns[agent], returns[ref])
                d_lo, d_hi = bootstrap_mean_ci(d, n_boot)
                verdict = "above" if d_lo > 0 else "below" if d_hi < 0 else "level"
                rows.append(
                    {
                        "env": env,
                        "agent": agent,
                        "seeds": own.shape[0],
                        "return": float(own.mean()),
                        "return_ci_low": lo,
                        "return_ci_high": hi,
                        "share_of_oracle": float(own.mean()) / oracle_mean if oracle_mean else np.nan,
                        "reference": ref,
                        "reference_return": float(np.mean(np.concatenate(list(returns[ref].values())))),
                        "difference": float(d.mean()),
                        "difference_ci_low": d_lo,
                        "difference_ci_high": d_hi,
                        "verdict": verdict,
                    }
                )
    return pd.DataFrame(rows)


def versus_report(suite: Any, out: str | Path, agents: Sequence[str], against: Sequence[str]) -> str:
    """:func:`versus_table` rendered, and written as ``versus.{csv,md}`` into the suite's report folder."""
    from splitgym.atomic import write_text_atomic
    from splitgym.tables import markdown_table, terminal_table

    frame = versus_table(suite, out, agents, against)
    if frame.empty:
        return f"no finished cells of those agents in {out}/{suite.name}"
    shown = pd.DataFrame(
        {
            "env": frame["env"],
            "agent": frame["agent"],
            "return": frame["return"],
            "share of oracle": frame["share_of_oracle"],
            "vs": frame["reference"],
            "its return": frame["reference_return"],
            "difference": frame["difference"],
            "CI": [
                f"[{lo:+.3f}, {hi:+.3f}]"
                for lo, hi in zip(frame["difference_ci_low"], frame["difference_ci_high"], strict=True)
            ],
            "verdict": frame["verdict"],
        }
    )
    title = f"{suite.name}: paired differences on common episodes (95 % bootstrap CI)"
    folder = Path(out) / suite.name / "report"
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "versus.csv", frame.to_csv(index=False))
    write_text_atomic(folder / "versus.md", markdown_table(frame) + "\n")
    return terminal_table(shown, title) + f"written: {folder / 'versus.csv'}, {folder / 'versus.md'}"
