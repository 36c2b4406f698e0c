"""The v1 split world: everything the v1 environments compute, behind ONE evaluation function.

:class:`SplitWorld` is built once per configuration (:func:`world_for` caches it) and is read-only:

1. compute tables per (prompt level, split) from calibrated timing profiles (:mod:`.compute`);
2. the link (:mod:`.link`): a pool of ``R`` fading/HARQ realisations per (LOS, large-scale SNR bin),
   each a slot-level trace of CSI, OLLA, MCS, TBS and HARQ outcomes, drawn once from ``pool_seed``;
3. the request timeline (:mod:`.timeline`) of every (pool entry, runnable split, prompt level) at nominal
   compute speed: TTFT, total, PUSCH/PDSCH slots, start of radio activity, outcome, last CQI reports;
4. quality per split at the configured activation precision (:mod:`.quality`), energy powers
   (:mod:`.energy`).

A request (:class:`~splitgym.envs.split.channel.Request`) selects its pool entry from its LOS state, its
large-scale SNR (nearest bin of ``snr_bin_db``, clamped to ``snr_range_db``: +-0.5 dB at the default) and
its fading realisation ``r``; :meth:`SplitWorld.evaluate` then adds what depends on the request's
continuous state (loads, transmit power) and forms the reward::

    stretch   a_d = 1/(1 - u_d), a_e = 1/(1 - u_e)           (processor sharing on device and edge [A])
    TTFT      = TTFT_0 + (a_d - 1) T_dp + (a_e - 1) T_ep
    total     = total_0 + (a_d - 1) T_dev + (a_e - 1) T_edge;  TBT = (total - TTFT)/(G - 1)
    energy    E = E_soc + E_modem                           (:mod:`.energy`)
    lateness  = max over (TTFT, TBT, total) of clip((x - D_x)/D_x, 0, 1);  1 in outage
    score     = quality score of the split, 0 in outage
    load      = T_dev(k) / T_dev(L);  energy_n = clip(E / (2 E_dev-only), 0, 1)
    reward    r = w_q score - w_T lateness - w_E energy_n - w_load load - w_inv [invalid]

**Drawn**: the pool (once per world), nothing at evaluation. **Averaged**: nothing. Fading enters only
through the link traces (where each transmission reads its own block) and never through quality, so it is
counted once. The single env, the vector env and the physics report all call :meth:`evaluate`.
State components (queue, thermal, battery, radio RRC, KV) slot in through :attr:`SplitWorld.components`
(empty in v1): each has ``reset``/``advance``/``observe`` (:mod:`splitgym.envs.state`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.split.channel import Request, RequestProcess
from splitgym.envs.split.compute import ComputeTables
from splitgym.envs.split.config import SplitConfig
from splitgym.envs.split.energy import EnergyModel
from splitgym.envs.split.link import NrLink, build_link
from splitgym.envs.split.quality import QualityTable
from splitgym.envs.split.timeline import run_timeline
from splitgym.errors import ConfigError

__all__ = ["TERMS", "Outcome", "SplitWorld", "world_for"]

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741
TERMS = ("r_quality", "r_latency", "r_energy", "r_load", "r_invalid")
DEVICE_MEMORY_GIB: dict[str, tuple[float, str]] = {
    "raspberry-pi-5": (8.0, "Raspberry Pi 5: 8 GB LPDDR4X variant [S]"),
    "phone-sd8gen3": (12.0, "Snapdragon 8 Gen 3 flagships ship 8-16 GB; 12 GB taken [K]"),
    "jetson-orin-nano-super": (8.0, "Jetson Orin Nano Super developer kit: 8 GB LPDDR5 [S]"),
    "jetson-agx-orin": (64.0, "Jetson AGX Orin 64 GB module [S]"),
    "apple-m2": (16.0, "Apple M2: 16 GB taken [S]"),
    "apple-m1-max": (32.0, "Apple M1 Max: 32 GB taken [S]"),
    "apple-m2-ultra": (64.0, "Apple M2 Ultra: 64 GB taken [S]"),
    "rtx-4090": (24.0, "GeForce RTX 4090: 24 GB [S]"),
    "rtx-3090": (24.0, "GeForce RTX 3090: 24 GB [S]"),
    "a100-80gb": (80.0, "A100 80 GB [S]"),
    "h100-sxm": (80.0, "H100 SXM: 80 GB [S]"),
    "h100-pcie": (80.0, "H100 PCIe: 80 GB [S]"),
}


@dataclass
class Outcome:
    """A batch of evaluated requests (arrays of the broadcast shape)."""

    reward: F
    quality: F
    quality_score: F
    ttft_s: F
    tbt_s: F
    latency_s: F
    energy_j: F
    energy_modem_j: F
    energy_norm: F
    load: F
    lateness: F
    outage: NDArray[np.bool_]
    tx_slots: F
    r_quality: F
    r_latency: F
    r_energy: F
    r_load: F
    r_invalid: F
    cqi: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


class SplitWorld:
    """Tables and the one vectorised evaluation of a :class:`SplitConfig`."""

    def __init__(self, config: SplitConfig) -> None:
        c = config
        self.config = c
        lo, hi = c.prompt_tokens
        self.prompts = np.unique(np.rint(np.linspace(lo, hi, c.prompt_levels))).astype(np.int64)
        self.comp = ComputeTables.build(
            c.model, c.device, c.edge, c.device_precision, c.edge_precision, self.prompts, c.new_tokens
        )
        L = self.num_layers = self.comp.num_layers
        if c.min_split > L:
            raise ConfigError(f"min_split must be in [0, {L}] for model {c.model!r}, got {c.min_split}")
        memory_gib, self.memory_source = DEVICE_MEMORY_GIB.get(c.device, (8.0, "[A] 8 GB"))
        self.memory_budget_bytes = c.memory_fraction * memory_gib * 2**30
        splits = np.arange(L + 1)
        self.feasible = (self.comp.memory_bytes <= self.memory_budget_bytes) & (splits >= c.min_split)[
            None, :
        ]
        if not self.feasible.any(axis=1).all():
            raise ConfigError(
                f"no split is feasible for some prompt lengths in {c.prompt_tokens}: model {c.model!r} "
                f"({c.device_precision}) needs more than {self.memory_budget_bytes / 2**30:.2f} GiB on "
                f"{c.device!r} (memory_fraction={c.memory_fraction}) or min_split={c.min_split} excludes all"
            )
        dist = np.abs(splits[None, :, None] - splits[None, None, :]).astype(np.float64)
        dist = np.where(self.feasible[:, None, :], dist + 1e-3 * splits[None, None, :], np.inf)
        self.fallback = np.argmin(dist, axis=2)  # (prompt level, requested) -> executed
        self.runnable = np.flatnonzero(self.feasible.any(axis=0))
        self.slot_of = np.full(L + 1, -1, dtype=np.int64)
        self.slot_of[self.runnable] = np.arange(self.runnable.size)
        self.snr_bins_db = np.arange(c.snr_range_db[0], c.snr_range_db[1] + 1e-9, c.snr_bin_db)
        rng = np.random.default_rng(c.pool_seed)
        self.link: NrLink = build_link(c, self.snr_bins_db, rng)
        self.process = RequestProcess(c, self.prompts.size)
        self.quality = QualityTable.build(c, L)
        self.energy = EnergyModel.build(c, self.link.slot_s)
        self.components: list[Any] = []  # sequential state components (next issue)
        self._build_tables()
        dev_total = self.comp.dev_total_s
        self._load = (dev_total / dev_total[:, L : L + 1]).ravel()
        e_ref = (
            self.energy.soc_j(
                dev_total[:, L], self.comp.dev_prefill_s[:, L], self.comp.dev_decode_s[:, L].sum(axis=-1)
            )
            + self.energy.radio.cdrx_w * dev_total[:, L]
        )
        self._inv_2e_ref = 0.5 / e_ref
        self._dp = self.comp.dev_prefill_s.ravel()
        self._ep = self.comp.edge_prefill_s.ravel()
        self._dd = self.comp.dev_decode_s.sum(axis=-1).ravel()
        self._dt = dev_total.ravel()
        self._et = self.comp.edge_total_s.ravel()
        self.obs_dim = 7 + c.cqi_history

    def _build_tables(self) -> None:
        c, link = self.config, self.link
        P, K, S = link.n_pool, self.runnable.size, self.prompts.size
        p, kk, s = (a.ravel() for a in np.meshgrid(np.arange(P), self.runnable, np.arange(S), indexing="ij"))
        tl = run_timeline(c, link, self.comp, p, link.r_p[p], kk, s)
        shape = (P, K, S)
        self.t_ttft = tl.ttft_s.reshape(shape)
        self.t_total = tl.total_s.reshape(shape)
        self.t_tx = tl.tx_slots.reshape(shape)
        self.t_rx = tl.rx_slots.reshape(shape)
        self.t_first = tl.first_radio_s.reshape(shape)
        self.t_ok = tl.ok.reshape(shape)
        self.t_cqi = tl.cqi.reshape((*shape, c.cqi_history)).astype(np.int8)
        self._flat = {
            name: getattr(self, name).ravel()
            for name in ("t_ttft", "t_total", "t_tx", "t_rx", "t_first", "t_ok")
        }
        self._cqi_flat = self.t_cqi.reshape(-1, c.cqi_history)

    # -- indices -------------------------------------------------------------------------------------
    def pool_index(self, los: NDArray[np.bool_], snr_db: F, r: I) -> I:
        """Pool entry of each request: (LOS, nearest SNR bin, fading realisation)."""
        c = self.config
        B = self.snr_bins_db.size
        b = np.clip(np.rint((np.asarray(snr_db) - c.snr_range_db[0]) / c.snr_bin_db), 0, B - 1).astype(
            np.int64
        )
        return np.asarray((np.asarray(los, dtype=np.int64) * B + b) * c.pool_size + r, dtype=np.int64)

    def execute(self, level: I, requested: I) -> tuple[I, NDArray[np.bool_]]:
        """The split that runs for each requested one (nearest feasible) and whether it was invalid."""
        executed = self.fallback[level, requested]
        return executed, executed != requested

    # -- the one evaluation function -----------------------------------------------------------------
    def evaluate(self, req: Request, split: I, invalid: NDArray[np.bool_] | None = None) -> Outcome:
        """Evaluate requests ``req`` at executed splits ``split`` (broadcast; must be runnable)."""
        c = self.config
        L = self.num_layers
        K, S = self.runnable.size, self.prompts.size
        split = np.asarray(split, dtype=np.int64)
        level = np.asarray(req.prompt_level)
        p = self.pool_index(req.los, req.snr_db, req.fading_r)
        idx = (p * K + self.slot_of[split]) * S + level
        f = self._flat
        ok = f["t_ok"].take(idx)
        cell = level * (L + 1) + split
        a_d = 1.0 / (1.0 - np.asarray(req.device_load))
        a_e = 1.0 / (1.0 - np.asarray(req.edge_load))
        dp, dt = self._dp.take(cell) * a_d, self._dt.take(cell) * a_d
        ep_x = self._ep.take(cell) * (a_e - 1.0)
        et_x = self._et.take(cell) * (a_e - 1.0)
        ttft = f["t_ttft"].take(idx) + (dp - self._dp.take(cell)) + ep_x
        total = f["t_total"].take(idx) + (dt - self._dt.take(cell)) + et_x
        cap = c.horizon_s
        ttft = np.where(ok, ttft, cap)
        total = np.where(ok, total, cap)
        G = c.new_tokens
        tbt = (total - ttft) / (G - 1) if G > 1 else np.zeros_like(total)
        late = np.maximum(
            np.maximum(
                (ttft - c.ttft_deadline_s) / c.ttft_deadline_s, (tbt - c.tbt_deadline_s) / c.tbt_deadline_s
            ),
            (total - c.total_deadline_s) / c.total_deadline_s,
        )
        lateness = np.where(ok, np.clip(late, 0.0, 1.0), 1.0)
        first = f["t_first"].take(idx) + (dp - self._dp.take(cell))
        first = np.minimum(first, total)
        tx = f["t_tx"].take(idx)
        e_soc = self.energy.soc_j(total, dp, dt - dp)
        e_modem = self.energy.modem_j(
            total, first, tx, f["t_rx"].take(idx), np.asarray(req.tx_power_dbm), split < L
        )
        energy = e_soc + e_modem
        energy_norm = np.minimum(energy * self._inv_2e_ref.take(level), 1.0)
        load = self._load.take(cell)
        quality = self.quality.quality.take(split)
        score = np.where(ok, self.quality.score.take(split), 0.0)
        r_quality = c.w_quality * score
        r_latency = -c.w_latency * lateness
        r_energy = -c.w_energy * energy_norm
        r_load = -c.w_load * load
        r_invalid = np.zeros(np.shape(split)) if invalid is None else np.where(invalid, -c.w_invalid, 0.0)
        reward = r_quality + r_latency + r_energy + r_load + r_invalid
        return Outcome(
            reward=reward, quality=np.broadcast_to(quality, reward.shape), quality_score=score, ttft_s=ttft,
            tbt_s=tbt, latency_s=total, energy_j=energy, energy_modem_j=e_modem, energy_norm=energy_norm,
            load=load, lateness=lateness, outage=~ok, tx_slots=tx, r_quality=r_quality, r_latency=r_latency,
            r_energy=r_energy, r_load=r_load, r_invalid=r_invalid, cqi=self._cqi_flat[idx],
        )  # fmt: skip

    # -- helpers -------------------------------------------------------------------------------------
    def masks(self, level: I | int) -> NDArray[np.bool_]:
        """Feasible splits for each prompt level (memory and ``min_split``)."""
        return np.asarray(self.feasible[np.asarray(level)])

    def describe(self) -> str:
        """One paragraph on the configuration's sources."""
        c = self.config
        return (
            f"model {c.model} ({self.num_layers} layers, {c.device_precision} weights on {c.device}: "
            f"{self.comp.device_profile}; {c.edge_precision} on {c.edge}: {self.comp.edge_profile}); link "
            f"{c.link} ({c.tdd_pattern}, {c.mcs_table}, {self.link.n_prb} PRB, {c.grant} grant, "
            f"{self.link.subbands} subbands, {self.link.fading.slots_per_block}-slot fading blocks); "
            f"hidden state sent as {c.activation}; quality {self.quality.source}; memory budget "
            f"{self.memory_budget_bytes / 2**30:.2f} GiB ({self.memory_source})"
        )


@lru_cache(maxsize=16)
def world_for(config: SplitConfig) -> SplitWorld:
    """The (read-only, shared) world of ``config``."""
    return SplitWorld(config)
