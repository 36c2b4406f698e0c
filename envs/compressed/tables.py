"""Tables of the compression environment, read from a measured ``compressed_quality`` profile.

For budget ``b``, answer mode ``m`` (edge output, device exit, vote over the exits that ran) and split
``k`` the profile gives the reference model's quality ``Q = 1 - PPL/PPL_clean`` against the SNR of the
channel its hidden state crosses (the fading operator, measured with the channel in the loop), and, per
budget and split, the relative compute time and the weight bytes of each compressed device-side layer
(LUC or uniform policy over layers ``1..k``; :mod:`splitgym.profiles.compression`). Quality is linear in
SNR between the measured points and clamped at their ends; the score is normalised as in the fading
environment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.compressed.config import MODES, CompressedSplitConfig
from splitgym.errors import ConfigError, ProfileError
from splitgym.profiles.profile import resolve_profile

__all__ = ["SNR_GRID_DB", "CompressionTables", "grid_index"]

SNR_LO, SNR_HI, SNR_STEP = -50.0, 70.0, 0.1
SNR_GRID_DB = SNR_LO + SNR_STEP * np.arange(round((SNR_HI - SNR_LO) / SNR_STEP) + 1)


def grid_index(snr_db: NDArray[np.float64] | float) -> NDArray[np.int64]:
    """Nearest index of :data:`SNR_GRID_DB` (clamped)."""
    idx = np.rint((np.asarray(snr_db) - SNR_LO) / SNR_STEP).astype(np.int64)
    return np.clip(idx, 0, SNR_GRID_DB.size - 1)


@dataclass(frozen=True)
class CompressionTables:
    """Arrays over (budget, mode, split[, SNR grid]) for the configured budgets."""

    budgets: tuple[str, ...]  # profile names of the configured budgets
    exits: tuple[int, ...]
    quality: NDArray[np.float64]  # (B, 3, L+1, grid)
    feasible: NDArray[np.bool_]  # (B, 3, L+1)
    time_sum: NDArray[np.float64]  # (B, L+1): sum of relative layer times of the policy at split k
    exit_time_sum: NDArray[np.float64]  # (B, L+1): the same up to the deepest exit <= k
    bytes_sum: NDArray[np.float64]  # (B, L+1): compressed weight bytes of layers 1..k
    exit_bytes_sum: NDArray[np.float64]  # (B, L+1): ... of layers 1..e(k)
    exit_depth: NDArray[np.int64]  # (L+1,): deepest exit <= k (0 if none)
    clean_perplexity: float
    source: str

    @classmethod
    def build(cls, config: CompressedSplitConfig, num_layers: int) -> CompressionTables:
        profile = resolve_profile(config.quality_table)
        if profile.kind != "compressed_quality":
            raise ProfileError(f"profile {profile.path}: kind {profile.kind!r} is not compressed_quality")
        meta = profile.meta
        available = [str(b) for b in meta["categories"]["budget"]]
        names = tuple(b if b == "none" else f"{config.compression}-{b}" for b in config.budgets)
        for name in names:
            if name not in available:
                raise ConfigError(
                    f"budget {name!r} is not in {profile.name}; allowed budgets: "
                    f"{sorted({a.split('-', 1)[-1] if a != 'none' else a for a in available})}"
                )
        L = num_layers
        table = profile.table
        snrs = np.sort(table["snr_db"].unique()).astype(np.float64)
        B = len(names)
        quality = np.zeros((B, len(MODES), L + 1, SNR_GRID_DB.size))
        feasible = np.zeros((B, len(MODES), L + 1), dtype=bool)
        for bi, name in enumerate(names):
            for mi, mode in enumerate(MODES):
                rows = table[(table["budget"] == name) & (table["mode"] == mode)]
                grid = rows.pivot(index="snr_db", columns="split", values="quality").reindex(snrs)
                ok = rows.groupby("split")["feasible"].min().reindex(range(L + 1)).fillna(0).to_numpy()
                feasible[bi, mi] = ok > 0
                for k in range(L + 1):
                    quality[bi, mi, k] = np.interp(SNR_GRID_DB, snrs, grid[k].to_numpy(dtype=np.float64))
        exits = tuple(int(e) for e in meta["exits"])
        depth = np.array([max([e for e in exits if e <= k], default=0) for k in range(L + 1)])
        costs = meta["costs"]
        time_sum = np.zeros((B, L + 1))
        exit_time = np.zeros((B, L + 1))
        bytes_sum = np.zeros((B, L + 1))
        exit_bytes = np.zeros((B, L + 1))
        for bi, name in enumerate(names):
            for k in range(1, L + 1):
                entry = costs[name][str(k)]
                rel, nbytes = np.asarray(entry["rel_time"]), np.asarray(entry["weight_bytes"])
                if rel.size != k or nbytes.size != k:
                    raise ProfileError(
                        f"profile {profile.path}: costs of {name} at split {k} need {k} layers"
                    )
                time_sum[bi, k], bytes_sum[bi, k] = rel.sum(), nbytes.sum()
                e = depth[k]
                exit_time[bi, k], exit_bytes[bi, k] = rel[:e].sum(), nbytes[:e].sum()
        return cls(
            budgets=names, exits=exits, quality=quality, feasible=feasible, time_sum=time_sum,
            exit_time_sum=exit_time, bytes_sum=bytes_sum, exit_bytes_sum=exit_bytes, exit_depth=depth,
            clean_perplexity=float(meta["clean"]["perplexity"]), source=profile.name,
        )  # fmt: skip
