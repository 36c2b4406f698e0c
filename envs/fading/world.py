"""Everything the fading environments compute, shared by the single and the vector environment.

:class:`FadingWorld` holds a configuration's tables (request costs per split, rate and quality per SNR,
feasibility per prompt length) and evaluates requests, vectorised over any broadcast shape. For a
request with prompt row ``s``, true SNR ``gamma``, device and edge utilisation ``u_d``, ``u_e`` and split
``k``, with ``R(gamma)`` the rate, ``t_d``/``t_e`` the nominal compute times and ``b`` the uplink bits::

    latency  T = t_d/(1 - u_d) + b/R + t_e/(1 - u_e) + n_tx·t_link            [s]
    energy   E = P_dev·t_d + (P_tx/eta_PA + P_circ)·b/R                       [J]
    load       = t_d(k) / t_d(L)                          (device compute share, in [0, 1])
    energy_n   = min(E / (P_dev·t_d(L)), 1)               (against computing everything on the device)
    lateness   = clip((T - D)/D, 0, 1)                    (0 when within the deadline D)
    reward   r = w_q·score - w_load·load - w_E·energy_n - w_T·lateness - w_inv·[invalid]

A split below ``L`` with bits to send fails in outage (``R = 0``): its answer scores 0 and the lateness is 1.
Times are compute times stretched by processor sharing (``1/(1 - u)``, an M/M/1-PS server at
utilisation ``u``); energy counts the nominal compute time at the device's active power.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.fading.config import DEVICE_MEMORY_GIB, FadingSplitConfig
from splitgym.envs.fading.costs import RequestCosts
from splitgym.envs.fading.process import LOAD_MAX, ExogenousProcess, Sample
from splitgym.envs.fading.tables import LinkTables, snr_index
from splitgym.errors import ConfigError
from splitgym.profiles.timing.roofline import DEVICES

__all__ = ["OBS_SNR_RANGE_DB", "TERMS", "FadingWorld", "Outcome", "world_for"]

OBS_SNR_RANGE_DB = (-30.0, 50.0)
TERMS = ("r_quality", "r_load", "r_energy", "r_latency", "r_invalid")
F = NDArray[np.float64]


@dataclass
class Outcome:
    """A batch of evaluated requests (arrays of the broadcast shape)."""

    reward: F
    quality: F
    quality_score: F
    load: F
    energy_j: F
    energy_norm: F
    latency_s: F
    uplink_s: F
    lateness: F
    rate_bps: F
    outage: NDArray[np.bool_]
    r_quality: F
    r_load: F
    r_energy: F
    r_latency: F
    r_invalid: F


class FadingWorld:
    """Tables and vectorised evaluation of one :class:`FadingSplitConfig`."""

    def __init__(self, config: FadingSplitConfig) -> None:
        self.config = config
        c = config
        self.costs = RequestCosts.build(c.model, c.device, c.edge, c.prompt_tokens, c.new_tokens)
        self.num_layers = self.costs.num_layers
        L = self.num_layers
        if c.min_split > L:
            raise ConfigError(f"min_split must be in [0, {L}] for model {c.model!r}, got {c.min_split}")
        self.tables = LinkTables.build(c, L)
        self.process = ExogenousProcess(c)
        self.device_power_w = DEVICES[c.device].power_w
        self.radio_power_w = 10.0 ** ((c.tx_power_dbm - 30.0) / 10.0) / c.pa_efficiency + c.circuit_power_w
        memory_gib, self.memory_source = DEVICE_MEMORY_GIB[c.device]
        self.memory_budget_bytes = c.memory_fraction * memory_gib * 2**30
        splits = np.arange(L + 1)
        self.feasible = (
            (self.costs.memory_bytes <= self.memory_budget_bytes)
            & (splits >= c.min_split)[None, :]
            & self.tables.has_quality[None, :]
        )  # (prompt rows, L + 1)
        if not self.feasible.any(axis=1).all():
            raise ConfigError(
                f"no split is feasible for some prompt lengths in {c.prompt_tokens}: model {c.model!r} needs "
                f"more than {self.memory_budget_bytes / 2**30:.2f} GiB on device {c.device!r} "
                f"(memory_fraction={c.memory_fraction}), or min_split={c.min_split} leaves no split with "
                "quality data"
            )
        self.device_only_ms = self.costs.device_ms[:, L]
        # Nearest feasible split for every (prompt row, requested split): what an invalid action runs.
        dist = np.abs(splits[None, :, None] - splits[None, None, :]).astype(np.float64)
        dist = np.where(self.feasible[:, None, :], dist + 1e-3 * splits[None, None, :], np.inf)
        self.fallback = np.argmin(dist, axis=2)  # (rows, requested) -> executed
        self.rate_max_bps = c.bandwidth_hz * c.spectral_efficiency[1]
        self.obs_dim = 6 + c.snr_history
        # Flat lookup tables for evaluate().
        self._dev_s = (self.costs.device_ms * 1e-3).ravel()
        self._edge_s = (self.costs.edge_ms * 1e-3).ravel()
        self._bits = self.costs.uplink_bits.ravel()
        self._load = (self.costs.device_ms / self.device_only_ms[:, None]).ravel()
        self._inv_e_ref = 1.0 / (self.device_power_w * self.device_only_ms * 1e-3)
        self._link_s = self.costs.transmissions * c.link_latency_ms * 1e-3

    # -- evaluation ----------------------------------------------------------------------------------
    def evaluate(
        self,
        row: NDArray[np.int64],
        snr_db: F,
        device_load: F,
        edge_load: F,
        split: NDArray[np.int64],
        invalid: NDArray[np.bool_] | None = None,
    ) -> Outcome:
        """Evaluate requests (arguments broadcast); ``split`` must be feasible (see :meth:`execute`)."""
        c = self.config
        i = snr_index(np.asarray(snr_db))
        rate = self.tables.rate_bps.take(i)
        cell = np.asarray(row) * (self.num_layers + 1) + split  # flat (prompt row, split) index
        t_dev = self._dev_s.take(cell)
        bits = self._bits.take(cell)
        sent = bits > 0
        outage = sent & (rate <= 0)
        airtime = np.divide(bits, rate, out=np.zeros(np.broadcast(bits, rate).shape), where=sent & ~outage)
        latency = t_dev / (1.0 - device_load) + airtime + self._edge_s.take(cell) / (1.0 - edge_load)
        latency += self._link_s.take(split)
        cap = 2.0 * c.deadline_s
        latency = np.where(outage, cap, np.minimum(latency, cap))
        lateness = np.clip((latency - c.deadline_s) * (1.0 / c.deadline_s), 0.0, 1.0)
        q_cell = np.asarray(split) * self.tables.snr_db.size + i
        quality = self.tables.quality.take(q_cell)
        score = np.where(outage, 0.0, self.tables.score.take(q_cell))
        energy = self.device_power_w * t_dev + self.radio_power_w * airtime
        energy_norm = np.minimum(energy * self._inv_e_ref.take(row), 1.0)
        load = self._load.take(cell)
        r_quality = c.w_quality * score
        r_load = -c.w_load * load
        r_energy = -c.w_energy * energy_norm
        r_latency = -c.w_latency * lateness
        r_invalid = np.zeros(np.shape(split)) if invalid is None else np.where(invalid, -c.w_invalid, 0.0)
        reward = r_quality + r_load + r_energy + r_latency + r_invalid
        return Outcome(
            reward=reward, quality=quality, quality_score=score, load=load, energy_j=energy,
            energy_norm=energy_norm, latency_s=latency, uplink_s=airtime, lateness=lateness, rate_bps=rate,
            outage=np.asarray(outage), r_quality=r_quality, r_load=r_load, r_energy=r_energy,
            r_latency=r_latency, r_invalid=r_invalid,
        )  # fmt: skip

    def execute(
        self, row: NDArray[np.int64], requested: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """The split that runs for each requested one (the nearest feasible) and whether it was invalid."""
        executed = self.fallback[row, requested]
        return executed, executed != requested

    def split_outcomes(self, sample: Sample) -> Outcome:
        """Every split evaluated at one request (arrays of shape ``(L + 1,)``; infeasible ones included)."""
        splits = np.arange(self.num_layers + 1)
        row = np.full_like(splits, self.row(sample.prompt))
        return self.evaluate(
            row,
            np.asarray(sample.snr_db),
            np.asarray(sample.device_load),
            np.asarray(sample.edge_load),
            splits,
        )

    def row(self, prompt: NDArray[np.int64] | int) -> NDArray[np.int64]:
        return np.asarray(prompt) - self.costs.prompt_lo

    # -- observation ---------------------------------------------------------------------------------
    def observe(self, sample: Sample, history: F, prev_split: NDArray[np.int64]) -> NDArray[np.float32]:
        """Observation rows ``[snr_est, history..., rate_est, prompt, device_load, edge_load, prev_split]``
        normalised to [0, 1]; ``history`` has shape ``(..., snr_history)`` (most recent first)."""
        c = self.config
        lo, hi = OBS_SNR_RANGE_DB
        est = np.asarray(sample.snr_est_db)
        rate = self.tables.rate_bps[snr_index(est)] / self.rate_max_bps
        span = max(c.prompt_tokens[1] - c.prompt_tokens[0], 1)
        cols = [
            ((est - lo) / (hi - lo))[..., None],
            (history - lo) / (hi - lo),
            rate[..., None],
            ((np.asarray(sample.prompt) - c.prompt_tokens[0]) / span)[..., None],
            (np.asarray(sample.device_load) / LOAD_MAX)[..., None],
            (np.asarray(sample.edge_load) / LOAD_MAX)[..., None],
            (np.asarray(prev_split) / self.num_layers)[..., None],
        ]
        return np.clip(np.concatenate(cols, axis=-1), 0.0, 1.0).astype(np.float32)

    def masks(self, prompt: NDArray[np.int64] | int) -> NDArray[np.bool_]:
        """Feasible splits for each prompt length (memory, ``min_split`` and quality data)."""
        return np.asarray(self.feasible[self.row(prompt)])

    def describe(self) -> str:
        """One paragraph on the configuration's sources."""
        c = self.config
        return (
            f"model {c.model} ({self.num_layers} layers), device {c.device} "
            f"({self.costs.device_profile}), edge {c.edge} ({self.costs.edge_profile}), quality "
            f"{self.tables.quality_source} via operator {c.operator}; memory budget "
            f"{self.memory_budget_bytes / 2**30:.2f} GiB ({self.memory_source})"
        )


@lru_cache(maxsize=16)
def world_for(config: FadingSplitConfig) -> FadingWorld:
    """The (read-only, shared) world of ``config``: environments of one configuration build it once."""
    return FadingWorld(config)
