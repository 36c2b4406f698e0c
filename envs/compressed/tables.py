"""Tables of the compression environment, read from a measured ``compressed_quality`` profile.

For budget ``b``, answer mode ``m`` (edge output, device exit, vote over the exits that ran) and split ``k``
the profile gives the reference model's quality ``Q = 1 - PPL/PPL_clean`` with its device-side layers
compressed and the hidden state after layer ``k`` sent at a precision (the ``activation`` operator,
:class:`~splitgym.profiles.quality.corruption.ActivationQuant`: the v1 NR link delivers that state
bit-exact, so quality depends on the precision sent and never on the SNR). Only the rows at the
configuration's ``activation_bits`` are read: no interpolation, a level the table lacks is an error. Per
budget and split the profile's metadata holds each compressed layer's relative compute time (our roofline
cost model, :mod:`splitgym.profiles.compression.costmodel`, prefill of 128 tokens on the phone) and its
weight bytes (LUC or uniform policy over layers ``1..k``; :mod:`splitgym.profiles.compression`).

The profile's level column is ``snr_db`` by the ``compressed_quality`` schema; its metadata
``level_name`` (``activation_bits`` here) says what the column holds, and a table measured with another
operator (``fading``: SNR levels) is refused for the v1 link.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.compressed.config import MODES, CompressedSplitConfig
from splitgym.errors import ConfigError, ProfileError
from splitgym.profiles.profile import resolve_profile

__all__ = ["LEVEL_COLUMN", "CompressionTables"]

LEVEL_COLUMN = "snr_db"  # the compressed_quality schema's level column (profiles/profile.py)


@dataclass(frozen=True)
class CompressionTables:
    """Arrays over (budget, mode, split) for the configured budgets at the configured precision."""

    budgets: tuple[str, ...]  # profile names of the configured budgets
    exits: tuple[int, ...]
    quality: NDArray[np.float64]  # (B, 3, L+1): Q = 1 - PPL/PPL_clean at config.activation_bits
    feasible: NDArray[np.bool_]  # (B, 3, L+1): the mode can run at the split (exit: an exit <= k)
    time_sum: NDArray[np.float64]  # (B, L+1): sum of relative layer times of the policy at split k
    exit_time_sum: NDArray[np.float64]  # (B, L+1): the same up to the deepest exit <= k
    bytes_sum: NDArray[np.float64]  # (B, L+1): compressed weight bytes of layers 1..k
    exit_bytes_sum: NDArray[np.float64]  # (B, L+1): ... of layers 1..e(k)
    exit_depth: NDArray[np.int64]  # (L+1,): deepest exit <= k (0 if none)
    dense_layer_bytes: float  # weight bytes of one dense (float16) layer as the profile counts them
    clean_perplexity: float
    source: str

    @classmethod
    def build(cls, config: CompressedSplitConfig, num_layers: int) -> CompressionTables:
        profile = resolve_profile(config.quality_table)
        if profile.kind != "compressed_quality":
            raise ProfileError(f"profile {profile.path}: kind {profile.kind!r} is not compressed_quality")
        meta = profile.meta
        level_name = str(meta.get("level_name", "snr_db"))
        if level_name != "activation_bits":
            raise ConfigError(
                f"quality_table {config.quality_table!r} is measured on {level_name!r} (operator "
                f"{meta.get('operator', {}).get('operator', '?')!r}); the nr link needs a table on "
                "'activation_bits' (splitgym compress table --operator activation)"
            )
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
        bits = float(config.activation_bits)
        levels = sorted(float(v) for v in table[LEVEL_COLUMN].unique())
        if bits not in levels:
            raise ConfigError(
                f"activation={config.activation!r} ({bits:g} bits) is not measured in "
                f"{config.quality_table!r}; measured bits: {[f'{v:g}' for v in levels]}"
            )
        at = table[table[LEVEL_COLUMN] == bits]
        B = len(names)
        quality = np.zeros((B, len(MODES), L + 1))
        feasible = np.zeros((B, len(MODES), L + 1), dtype=bool)
        for bi, name in enumerate(names):
            for mi, mode in enumerate(MODES):
                rows = at[(at["budget"] == name) & (at["mode"] == mode)].set_index("split")
                rows = rows.reindex(range(L + 1))
                if rows["quality"].isna().any():
                    raise ProfileError(f"profile {profile.path}: {name}/{mode} lacks splits at {bits:g} bits")
                quality[bi, mi] = rows["quality"].to_numpy(dtype=np.float64)
                feasible[bi, mi] = rows["feasible"].to_numpy() > 0
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
            dense_layer_bytes=float(costs["none"]["1"]["weight_bytes"][0]),
            clean_perplexity=float(meta["clean"]["perplexity"]),
            source=f"{profile.name} (measured on the model at {bits:g}-bit activations)",
        )  # fmt: skip
