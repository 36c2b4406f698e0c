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
    score     = quality score of the split (nr), or of the split at the request's equivalent SNR (analog,
                uncoded: tabulated per lane from the link's traces, :mod:`.payload`); 0 in outage
    load      = T_dev(k) / T_dev(L);  energy_n = clip(E / (2 E_dev-only), 0, 1)
    reward    r = w_q score - w_T lateness - w_E energy_n - w_load load - w_inv [invalid]

**Drawn**: the pool (once per world), nothing at evaluation. **Averaged**: nothing. Fading enters only
through the link traces (where each transmission reads its own block): in ``nr`` never through quality;
in ``analog``/``uncoded`` through the equivalent SNR of the REs that carried the hidden state, read from
an AWGN profile that averages noise only, so it is counted once. The single env, the vector env and the
physics report all call :meth:`evaluate`.
The single env's step uses :meth:`SplitWorld.evaluate_lane`, the same formulas for one (request, split) in
Python floats over one row of the packed lane table (``(P S K, 15)``: one contiguous gather per request);
the state components (:mod:`.state`) enter it as an added delay and energy and a device compute stretch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.channels.nr import slot_duration_s
from splitgym.envs.split.channel import Request, RequestProcess
from splitgym.envs.split.compute import ComputeTables
from splitgym.envs.split.config import SplitConfig
from splitgym.envs.split.energy import EnergyModel
from splitgym.envs.split.link import NrLink, build_link
from splitgym.envs.split.quality import QualityTable
from splitgym.envs.split.timeline import run_timeline
from splitgym.errors import ConfigError
from splitgym.profiles.quality import QualityModel

__all__ = ["TERMS", "DeviceSide", "Outcome", "SplitWorld", "device_side_for", "world_for"]

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
    quality_level: F = field(default_factory=lambda: np.zeros(0))  # the quality profile's level (axis)


class DeviceSide:
    """The part of a configuration's world that is not the link: prompt levels, compute tables, device
    memory and the feasible splits (with each requested split's fallback), quality, energy powers and the
    between-request process. :class:`SplitWorld` adds the link; the shared cell
    (:mod:`splitgym.envs.multi.cell`) uses it with its own shared uplink."""

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
        self._fallback_flat = self.fallback.ravel()
        self.runnable = np.flatnonzero(self.feasible.any(axis=0))
        self.slot_of = np.full(L + 1, -1, dtype=np.int64)
        self.slot_of[self.runnable] = np.arange(self.runnable.size)
        self.process = RequestProcess(c, self.prompts.size)
        self.quality = QualityTable.build(c, L)
        self.energy = EnergyModel.build(c, slot_duration_s(c.mu))
        dev_total = self.comp.dev_total_s
        e_ref = (
            self.energy.soc_j(
                dev_total[:, L], self.comp.dev_prefill_s[:, L], self.comp.dev_decode_s[:, L].sum(axis=-1)
            )
            + self.energy.radio.cdrx_w * dev_total[:, L]
        )
        self._inv_2e_ref = 0.5 / e_ref  # 1 / (2 E_ref) per prompt level, E_ref the device-only energy [1/J]

    @property
    def energy_scale_per_j(self) -> F:
        """``1 / (2 E_ref)`` per prompt level [1/J], ``E_ref`` the device-only request's energy: the reward's
        energy term is ``clip(E / (2 E_ref), 0, 1)``."""
        return self._inv_2e_ref


class SplitWorld(DeviceSide):
    """Tables and the one vectorised evaluation of a :class:`SplitConfig`."""

    def __init__(self, config: SplitConfig) -> None:
        super().__init__(config)
        c = config
        L = self.num_layers
        self.snr_bins_db = np.arange(c.snr_range_db[0], c.snr_range_db[1] + 1e-9, c.snr_bin_db)
        rng = np.random.default_rng(c.pool_seed)
        self.link: NrLink = build_link(c, self.snr_bins_db, rng)
        self.components: list[Any] = []  # the state lives in the env (envs/split/state.py), not the world
        self._build_tables()
        dev_total = self.comp.dev_total_s
        self._load = (dev_total / dev_total[:, L : L + 1]).ravel()
        self._dp = self.comp.dev_prefill_s.ravel()
        self._ep = self.comp.edge_prefill_s.ravel()
        self._dd = self.comp.dev_decode_s.sum(axis=-1).ravel()
        self._dt = dev_total.ravel()
        self._et = self.comp.edge_total_s.ravel()
        self.obs_dim = 7 + c.cqi_history
        self._inv_ttft, self._inv_tbt = 1.0 / c.ttft_deadline_s, 1.0 / c.tbt_deadline_s
        self._inv_total = 1.0 / c.total_deadline_s
        self._pack_lanes()
        e = self.energy
        G = c.new_tokens
        self._scalars: tuple[float, ...] = tuple(float(x) for x in (
            self._inv_ttft, self._inv_tbt, self._inv_total, 1.0 / (G - 1) if G > 1 else 0.0, c.horizon_s,
            e.prefill_w, e.decode_w, e.idle_w, e.slot_s, e.radio.rx_w, e.radio.pdcch_w, e.radio.cdrx_w,
            e.tail_j, c.w_quality, c.w_latency, c.w_energy, c.w_load,
        ))  # fmt: skip
        # Bulk (KV-migration) goodput of each pool entry, bit/s: the link's own full-buffer rates.
        ul, dl = self.link.bulk_rates_bps()
        self.uplink_rate_bps: list[float] = np.maximum(ul, 1.0).tolist()
        self.downlink_rate_bps: list[float] = np.maximum(dl, 1.0).tolist()

    def _pack_lanes(self) -> None:
        """Every constant of a lane (pool entry, prompt level, runnable split: a request's splits adjacent)
        in one ``(P S K, 15)`` table, so
        :meth:`evaluate` gathers once: nominal TTFT, total and first-radio times (s), PUSCH/PDSCH slots,
        outcome, device prefill/total and edge prefill/total compute (s), load, quality score,
        ``1/(2 E_ref)``, whether the radio is used and the quality (per lane: it depends on the channel
        in analog/uncoded)."""
        L = self.num_layers
        P, K, S = self.link.n_pool, self.runnable.size, self.prompts.size
        pp, s, kk = (a.ravel() for a in np.meshgrid(np.arange(P), np.arange(S), self.runnable, indexing="ij"))
        cell = s * (L + 1) + kk
        old = (pp * K + self.slot_of[kk]) * S + s  # the (P, K, S) order of the timeline tables
        f = {name: v[old] for name, v in self._flat.items()}
        self._cqi_packed = np.ascontiguousarray(self._cqi_flat[old])
        self.level_packed = np.ascontiguousarray(f["t_level"])  # quality level of each packed lane
        self._lane_rows = self._lane = np.ascontiguousarray(np.stack(axis=1, arrays=[
            f["t_ttft"], f["t_total"], f["t_first"], f["t_tx"], f["t_rx"], f["t_ok"].astype(np.float64),
            self._dp[cell], self._dt[cell], self._ep[cell], self._et[cell], self._load[cell],
            f["t_score"], self._inv_2e_ref[s], (kk < L).astype(np.float64), f["t_quality"],
        ]))  # fmt: skip

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
        # Quality per lane at its level: the configured precision (nr), or the equivalent SNR of the REs
        # that carried the hidden state (analog, uncoded; nan where none did).
        if self.quality.channel:
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(tl.units > 0, tl.distortion / np.where(tl.units > 0, tl.units, 1.0), np.nan)
            level = np.where(np.isfinite(mean), link.equivalent_snr_db(np.nan_to_num(mean, nan=1.0)), np.nan)
        else:
            level = np.full(kk.shape, self.quality.clean_level)
        self.t_level = level.reshape(shape)
        self._kk = kk
        q, sc = self.quality.at(kk, level)
        self.t_quality, self.t_score = q.reshape(shape), sc.reshape(shape)
        self._flat = {
            name: getattr(self, name).ravel()
            for name in (
                "t_ttft",
                "t_total",
                "t_tx",
                "t_rx",
                "t_first",
                "t_ok",
                "t_quality",
                "t_score",
                "t_level",
            )
        }
        self._cqi_flat = self.t_cqi.reshape(-1, c.cqi_history)

    def with_quality(self, model: QualityModel) -> SplitWorld:
        """This world with its quality from ``model`` (a surrogate of the profile: same axis and splits):
        the lanes' quality and score recomputed at their stored levels, everything else shared."""
        twin = copy.copy(self)
        twin.quality = self.quality.with_model(model)
        q, sc = twin.quality.at(self._kk, self.t_level.ravel())
        shape = self.t_level.shape
        twin.t_quality, twin.t_score = q.reshape(shape), sc.reshape(shape)
        twin._flat = {**self._flat, "t_quality": q, "t_score": sc}  # t_level unchanged
        twin._pack_lanes()
        return twin

    # -- indices -------------------------------------------------------------------------------------
    def pool_index(self, los: NDArray[np.bool_], snr_db: F, r: I) -> I:
        """Pool entry of each request: (LOS, nearest SNR bin, fading realisation)."""
        c = self.config
        B = self.snr_bins_db.size
        x = np.rint((np.asarray(snr_db) - c.snr_range_db[0]) * (1.0 / c.snr_bin_db))
        b = np.minimum(np.maximum(x, 0.0), B - 1).astype(np.int64)
        return np.asarray((np.asarray(los) * B + b) * c.pool_size + r, dtype=np.int64)

    def execute(self, level: I, requested: I) -> tuple[I, NDArray[np.bool_]]:
        """The split that runs for each requested one (nearest feasible) and whether it was invalid."""
        cell = np.asarray(level) * (self.num_layers + 1) + np.asarray(requested)
        executed = self._fallback_flat.take(cell)
        return executed, executed != requested

    # -- the one evaluation function -----------------------------------------------------------------
    def evaluate(
        self,
        req: Request,
        split: I,
        invalid: NDArray[np.bool_] | None = None,
        *,
        device_scale: F | None = None,
        score: F | None = None,
        stretch: F | None = None,
        extra_s: F | None = None,
        extra_j: F | None = None,
    ) -> Outcome:
        """Evaluate requests ``req`` at executed splits ``split`` (broadcast; must be runnable).

        ``device_scale`` (broadcast, > 0) multiplies the device's compute time at the split (a compressed
        device side, :mod:`splitgym.envs.compressed`); it enters as the load stretch does,
        ``a_d -> a_d * device_scale``, and scales the load term (``T_dev(k) device_scale / T_dev(L)``).
        ``score`` (broadcast, in [0, 1]) replaces the split's quality score (0 in outage still).
        ``stretch`` (>= 1) stretches the device's compute as a slower clock does (thermal throttling:
        ``a_d -> a_d * stretch``, the load term unchanged). ``extra_s`` (s) is added to TTFT and total
        before the deadlines apply and ``extra_j`` (J) to the modem energy (the state components: queue
        wait, RRC promotion, KV migration), exactly as in :meth:`evaluate_lane`. All ``None``: the split
        as the world tabulates it."""
        c = self.config
        K, S = self.runnable.size, self.prompts.size
        split = np.asarray(split, dtype=np.int64)
        level = np.asarray(req.prompt_level)
        p = self.pool_index(req.los, req.snr_db, req.fading_r)
        idx = np.asarray((p * S + level) * K + self.slot_of.take(split))  # packed order (P, S, K)
        lane = np.moveaxis(self._lane.take(idx, axis=0), -1, 0)  # one gather of contiguous rows
        ttft0, total0, first0, tx, rx, okf, dp0, dt0, ep0, et0, load, score0, inv2e, used, quality = lane
        ok = okf > 0.0
        x_d = 1.0 / (1.0 - np.asarray(req.device_load)) - 1.0  # a_d - 1
        if device_scale is not None:
            x_d = (1.0 + x_d) * np.asarray(device_scale, dtype=np.float64) - 1.0
            load = load * np.asarray(device_scale, dtype=np.float64)
        if stretch is not None:
            x_d = (1.0 + x_d) * np.asarray(stretch, dtype=np.float64) - 1.0
        x_e = 1.0 / (1.0 - np.asarray(req.edge_load)) - 1.0  # a_e - 1
        dx = dp0 * x_d  # extra device prefill time (s)
        dp, dt = dp0 + dx, dt0 * (1.0 + x_d)
        cap = c.horizon_s
        ttft = np.where(ok, ttft0 + dx + ep0 * x_e, cap)
        total = np.where(ok, total0 + dt0 * x_d + et0 * x_e, cap)
        G = c.new_tokens
        tbt = (total - ttft) * (1.0 / (G - 1)) if G > 1 else np.zeros_like(total)
        own = total  # the request's own timeline: its compute and radio energy
        if extra_s is not None:
            ttft = np.where(ok, ttft + extra_s, ttft)
            total = np.where(ok, total + extra_s, total)
        late = np.maximum(
            np.maximum(ttft * self._inv_ttft - 1.0, tbt * self._inv_tbt - 1.0), total * self._inv_total - 1.0
        )
        lateness = np.where(ok, np.clip(late, 0.0, 1.0), 1.0)
        first = np.minimum(first0 + dx, own)
        e_soc = self.energy.soc_j(own, dp, dt - dp)
        e_modem = self.energy.modem_j(own, first, tx, rx, np.asarray(req.tx_power_dbm), used > 0.0)
        if extra_j is not None:
            e_modem = e_modem + extra_j
        energy = e_soc + e_modem
        energy_norm = np.minimum(energy * inv2e, 1.0)
        score = np.where(ok, score0 if score is None else np.asarray(score, dtype=np.float64), 0.0)
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
            r_energy=r_energy, r_load=r_load, r_invalid=r_invalid, cqi=self._cqi_packed.take(idx, axis=0),
            quality_level=self.level_packed.take(idx),
        )  # fmt: skip

    # -- the same evaluation for one request at one split, in Python scalars (single-env fast path) --------
    def lane_base(self, req: Request) -> I:
        """Packed-lane index of each request at slot 0 (add ``slot_of[k]`` for split ``k``)."""
        K, S = self.runnable.size, self.prompts.size
        p = self.pool_index(req.los, req.snr_db, req.fading_r)
        return np.asarray((p * S + np.asarray(req.prompt_level)) * K, dtype=np.int64)

    def evaluate_lane(
        self,
        lane: int,
        split: int,
        x_d: float,
        x_e: float,
        tx_w: float,
        extra_s: float = 0.0,
        extra_j: float = 0.0,
        score: float | None = None,
        device_scale: float = 1.0,
    ) -> list[float]:
        """:meth:`evaluate` of one request (packed lane ``lane`` = :meth:`lane_base` + slot of ``split``) in
        Python floats, in the order of ``PER_SPLIT_KEYS`` of :mod:`.env`: reward, r_invalid (0), quality,
        score, TTFT, TBT, total, energy, modem energy, load, lateness, outage, r_quality, r_latency,
        r_energy, r_load. ``x_d = a_d - 1`` and ``x_e = a_e - 1`` are the compute stretches less one,
        ``tx_w`` the PUSCH power (W) at the request's transmit power. ``extra_s`` (s) is added to TTFT and
        total before the deadlines apply (queue wait, RRC promotion delay: the state components; the
        device's own compute and radio timeline, hence its SoC and modem energy, are unchanged by it [A])
        and ``extra_j`` (J) to the modem energy (promotion, KV migration). With both 0 this equals
        :meth:`evaluate` to rounding (tested). ``score`` and ``device_scale`` as in :meth:`evaluate` (the
        device compute stretch becomes ``(1 + x_d) device_scale``, the load ``load device_scale``)."""
        ttft0, total0, first0, tx, rx, okf, dp0, dt0, ep0, et0, load, score0, inv2e, used, quality = (
            self._lane_rows[lane].tolist()
        )
        (inv_ttft, inv_tbt, inv_total, inv_g, cap, prefill_w, decode_w, idle_w, slot_s, rx_w, pdcch_w, cdrx_w,
         tail_j, w_quality, w_latency, w_energy, w_load) = self._scalars  # fmt: skip
        if device_scale != 1.0:
            x_d = (1.0 + x_d) * device_scale - 1.0
            load *= device_scale
        dx = dp0 * x_d
        dp = dp0 + dx
        dt = dt0 * (1.0 + x_d)
        if okf > 0.0:
            ttft = ttft0 + dx + ep0 * x_e
            own = total = total0 + dt0 * x_d + et0 * x_e  # the request's own timeline (energy below)
            tbt = (total - ttft) * inv_g
            ttft += extra_s
            total += extra_s
            late = ttft * inv_ttft - 1.0
            x = tbt * inv_tbt - 1.0
            late = x if x > late else late
            x = total * inv_total - 1.0
            late = x if x > late else late
            lateness = 0.0 if late < 0.0 else (1.0 if late > 1.0 else late)
            score = score0 if score is None else score
        else:
            ttft = total = own = cap
            tbt = 0.0
            lateness = 1.0
            score = 0.0
        first = first0 + dx
        first = own if own < first else first
        dd = dt - dp
        idle = own - (dp + dd)
        e_soc = prefill_w * dp + decode_w * dd + (idle_w * idle if idle > 0.0 else 0.0)
        if used > 0.0:
            tx_s, rx_s = tx * slot_s, rx * slot_s
            mon = own - first - tx_s - rx_s
            mon = mon if mon > 0.0 else 0.0
            e_modem = tx_w * tx_s + rx_w * rx_s + pdcch_w * mon + cdrx_w * first + tail_j + extra_j
        else:
            e_modem = cdrx_w * own + extra_j
        energy = e_soc + e_modem
        e_n = energy * inv2e
        r_q = w_quality * score
        r_l = -w_latency * lateness
        r_e = -w_energy * (e_n if e_n < 1.0 else 1.0)
        r_load = -w_load * load
        reward = r_q + r_l + r_e + r_load + 0.0
        outage = 0.0 if okf > 0.0 else 1.0
        head = [reward, 0.0, quality, score, ttft, tbt, total, energy, e_modem, load, lateness, outage]
        return [*head, r_q, r_l, r_e, r_load]

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
            f"{_sent(c)}; quality {self.quality.source}; memory budget "
            f"{self.memory_budget_bytes / 2**30:.2f} GiB ({self.memory_source})"
        )


def _sent(c: SplitConfig) -> str:
    if c.link == "analog":
        return f"hidden state sent analog (LMMSE, {c.analog_pilots} pilot REs per estimate)"
    if c.link == "uncoded":
        mod, act = c.uncoded_modulation, c.activation
        return f"hidden state sent as uncoded {mod} {act} in {c.packet_bits}-bit packets"
    return f"hidden state sent as {c.activation}"


@lru_cache(maxsize=16)
def device_side_for(config: SplitConfig) -> DeviceSide:
    """The (read-only, shared) link-free part of ``config``'s world."""
    return DeviceSide(config)


@lru_cache(maxsize=16)
def world_for(config: SplitConfig) -> SplitWorld:
    """The (read-only, shared) world of ``config``."""
    return SplitWorld(config)
