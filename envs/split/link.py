"""The link between device and edge, one explicit mode behind one interface (``link=`` in the config).

A link answers two vectorised questions for the request timeline (:mod:`.timeline`), for lanes that each
carry a pool entry ``p`` (LOS state, large-scale SNR bin, fading realisation ``r``):

* :meth:`NrLink.uplink` ``(t, bits, p)``: when ``bits`` that are ready at absolute time ``t`` have
  arrived at the edge server, how many PUSCH slots that took, and whether they were lost;
* :meth:`NrLink.downlink` ``(t, r)``: when a token id handed to the gNB at ``t`` is decoded at the device.

Every mode carries the hidden state through :meth:`NrLink.uplink_hidden` (``elements`` real values
ready at ``t``), which also returns the message's summed per-RE distortion for the quality model; token
ids (split 0's prompt, every generated token's downlink) always travel over the NR link, whatever the mode
[A: discrete symbols are never sent analog or uncoded]. ``analog`` (:mod:`.analog`) and ``uncoded``
(:mod:`.uncoded`) replace the hidden state's uplink only; their docstrings say what they draw and average.

Mode ``nr`` (the default): digital with link adaptation. **Drawn** (once per pool entry, at world build):
the fading of every coherence block and subband (:mod:`.fading`), the HARQ ACK/NACK of every
(re)transmission (one uniform each), the DL HARQ outcomes. **Averaged**: nothing; BLER curves are AWGN
curves evaluated at the EESM of the instantaneous per-subband SINRs, so fading enters once. The hidden state
arrives **bit-exact or is lost**: a TB still in error after ``harq_max_tx`` transmissions is recovered by
RLC AM (its bits are sent again in later TBs, so only delivered TBs count) [K: TS 38.322]; a message that
cannot be delivered before the horizon is lost (outage). SNR acts through MCS, airtime, retransmissions,
latency, energy and outage, never through corruption.

Per UL slot ``u`` of the horizon (TDD pattern, :mod:`splitgym.envs.channels.nr.tdd`) and pool entry ``p``:

1. CSI: every ``csi_period_slots`` the gNB measures the wideband effective SINR (EESM with the beta of the
   CQI the mean SINR maps to) and quantises it to a 4-bit CQI (TS 38.214 5.2.2.1 table); at slot ``n`` it
   uses the report measured ``csi_delay_slots`` earlier, read as the lower edge of its CQI interval
   (:func:`~splitgym.envs.channels.nr.sinr_db_from_cqi`) [S: nr library; A: UL link adaptation from
   SRS on the CQI grid, TDD reciprocity].
2. OLLA (:mod:`~splitgym.envs.channels.nr.olla`): ``MCS = max{m : est - Delta >= required(m)}`` with the
   required SINR of a one-slot TB on all PRBs at the BLER target; ``Delta`` moves by ``+Delta_up`` on a
   first-transmission NACK and ``-Delta_up T/(1-T)`` on an ACK, updated at every UL slot of the trace
   (the loop runs through a warm-up before the request starts) [S: Sionna; A: the loop sees every slot].
3. HARQ, chase combining: attempt ``j`` of the TB first sent in slot ``u`` goes ``rtt`` slots after attempt
   ``j-1`` (TS-timing of :meth:`TddPattern.harq_rtt_slots`, so a new block when ``rtt >= T_b``), linear
   per-subband SINRs add up, the EESM of the sum with the MCS's beta gives the TBLER of the
   :mod:`~splitgym.envs.channels.nr.bler` logistic; success if the attempt's uniform ``>= TBLER``
   [S: ns-3 ``NrEesmCc``]. Retransmissions use resources beside new TBs (no blocking) [A: one user,
   all HARQ processes in parallel].
4. TBS of each slot: TS 38.214 5.1.3.2 at the slot's MCS on all PRBs (156 RE/PRB) [S].

Scheduling of data ready at ``t`` [A, on the dossier's §2.1 timeline]: ``dynamic``: the next SR
occasion (UL slots ``sr_period_slots`` apart), the grant in the first DL slot after one slot of gNB
processing, PUSCH in the first UL slot ``>= grant + K2``; a multi-slot message is granted slot after slot
(BSR in the first TB). ``configured``: the first UL slot at or after ``t``. The message of ``bits`` fills
consecutive UL slots until their TBS sum reaches ``bits``; it has arrived when the last TB that carries it
is decoded (``+ gnb_decode_s``) plus ``backhaul_s``. Downlink: the token id goes in the first DL slot after
``backhaul_s``, succeeds with probability ``1 - dl_bler`` per attempt, retransmissions after the DL HARQ
round trip, decoded ``ue_decode_s`` after the slot ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.channels.nr import (
    EESM_BETA,
    cqi_from_sinr_db,
    cqi_table,
    mcs_table,
    n_prb,
    required_sinr_db,
    segment,
    sinr10_db,
    sinr_db_from_cqi,
    slot_duration_s,
    tdd_pattern,
    transport_block_size,
)
from splitgym.envs.channels.nr.bler import bler_slope_per_db
from splitgym.envs.split.config import SplitConfig
from splitgym.envs.split.fading import FadingPool, block_slots, n_subbands

__all__ = ["HiddenTransfer", "LinkModel", "NrLink", "Transfer", "build_link"]

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741
_LN9 = math.log(9.0)
WARMUP_UL_SLOTS = 60  # OLLA warm-up before the request starts [A: converges from 0 dB in ~50 slots]


@dataclass
class Transfer:
    """Result of moving data over the link for a batch of lanes."""

    done_s: F  # absolute time the data is usable at the receiver (inf when lost)
    slots: F  # slots spent transmitting (PUSCH) or receiving (PDSCH), retransmissions included
    lost: NDArray[np.bool_]


@dataclass
class HiddenTransfer(Transfer):
    """A hidden-state message: the transfer, plus the sum over its REs of the mode's per-RE distortion
    (``distortion``, 0 for ``nr``) and the number of REs it occupied (``units``, 0 for ``nr``)."""

    distortion: F
    units: F


class LinkModel(Protocol):
    """What the request timeline needs from a link mode."""

    slot_s: float
    start_s: F  # absolute start time of a request, per fading realisation r

    def uplink(self, t_s: F, bits: F, p: I) -> Transfer: ...

    def uplink_hidden(self, t_s: F, elements: float, p: I) -> HiddenTransfer: ...

    def downlink(self, t_s: F, r: I) -> Transfer: ...

    def cqi_history(self, t_end_s: F, p: I, n: int) -> NDArray[np.int64]: ...

    def bulk_rates_bps(self) -> tuple[F, F]: ...


# TS 38.306 §4.1.2 overhead for FR1 downlink [S]: the share of REs not carrying PDSCH data.
DL_OVERHEAD = 0.14
SYMBOLS_PER_SLOT = 14  # normal cyclic prefix [K: TS 38.211]


def _eesm_db(gamma: NDArray[np.floating], beta: NDArray[np.floating]) -> F:
    """EESM in dB of linear SINRs ``gamma[..., n]`` with ``beta[...]`` (stable: shifted by the minimum)."""
    g0 = gamma.min(axis=-1)
    b = beta[..., None]
    m = np.mean(np.exp(-(gamma - g0[..., None]) / b), axis=-1)
    eff = g0 - beta * np.log(m)
    with np.errstate(divide="ignore"):
        return np.asarray(10.0 * np.log10(np.maximum(eff, 0.0)))


class NrLink:
    """The ``nr`` link mode: per-pool-entry UL slot traces and DL traces (see the module docstring)."""

    def __init__(self, config: SplitConfig, snr_bins_db: F, rng: np.random.Generator) -> None:
        c = config
        self.config = c
        self.mu = c.mu
        self.slot_s = slot_duration_s(self.mu)
        self.pattern = tdd_pattern(c.tdd_pattern, self.mu)
        self.n_prb = n_prb(c.bandwidth_hz, c.scs_hz)
        self.table = mcs_table(c.mcs_table)
        R, B = c.pool_size, snr_bins_db.size
        self.n_pool = 2 * B * R
        p = np.arange(self.n_pool)
        self.los_p, self.bin_p, self.r_p = p // (B * R), (p // R) % B, p % R
        period = self.pattern.period_slots
        n_ul_period = round(self.pattern.fraction("ul") * period)
        self.warmup_slots = period * math.ceil(WARMUP_UL_SLOTS / n_ul_period)
        self.horizon_slots = math.ceil(c.horizon_s / self.slot_s) + period
        total = self.warmup_slots + self.horizon_slots
        self.total_slots = total
        # Request start: a uniformly random phase within the TDD period after the warm-up, per realisation.
        self.start_s = (self.warmup_slots + rng.uniform(0.0, period, R)) * self.slot_s
        spb, rho = block_slots(c.speed_mps, c.carrier_hz, self.slot_s, total)
        self.subbands = n_subbands(self.n_prb * 12 * c.scs_hz, c.delay_spread_s)
        n_blocks = total // spb + 2
        self.fading = FadingPool.draw(
            rng, size=R, n_blocks=n_blocks, subbands=self.subbands, slots_per_block=spb, rho=rho,
            rician_k_db=c.rician_k_db, fading=c.fading,
        )  # fmt: skip
        self.snr_lin_p = 10.0 ** (snr_bins_db[self.bin_p] / 10.0)
        # Per-MCS constants of a one-slot TB on all PRBs.
        mcs = np.arange(self.table.n_mcs)
        self.tbs = transport_block_size(self.n_prb, mcs, c.mcs_table).astype(np.float64)
        seg = segment(np.maximum(self.tbs, 1), self.table.code_rate)
        self._c = seg.n_code_blocks.astype(np.float64)
        self._a = bler_slope_per_db(seg.cb_bits)
        self._g50 = sinr10_db(mcs, c.mcs_table, seg.cb_bits, c.impl_margin_db) - _LN9 / self._a
        self._beta = np.asarray(EESM_BETA[c.mcs_table])
        self.required_db = required_sinr_db(
            self.n_prb, c.mcs_table, c.bler_target, impl_margin_db=c.impl_margin_db
        )
        self._build_csi()
        self._build_ul(rng)
        self._build_dl(rng)
        self._build_schedule()

    # -- pieces ----------------------------------------------------------------------------------
    def _gamma(self, slots: I) -> F:
        """Linear per-subband SINR of every pool entry at absolute slots ``slots`` (shape (P, ..., n))."""
        blk = slots // self.fading.slots_per_block
        g = self.fading.gain[self.los_p[:, None], self.r_p[:, None], blk]
        return np.asarray(self.snr_lin_p.reshape((-1,) + (1,) * (g.ndim - 1)) * g)

    def _tbler(self, eff_db: F, mcs: I) -> F:
        x = self._a[mcs] * (eff_db - self._g50[mcs])
        # log P(CB ok) = -softplus(-x); TBLER = 1 - exp(C log P(ok))
        return np.asarray(-np.expm1(-self._c[mcs] * np.logaddexp(0.0, -x)))

    def _build_csi(self) -> None:
        c = self.config
        tab = cqi_table(c.mcs_table)
        # beta per CQI: the MCS with the same (Qm, R); CQI 0 and 1 use MCS 0's [A].
        beta_cqi = np.full(16, self._beta[0])
        for i in range(2, 16):
            same = (self.table.modulation_order == tab.modulation_order[i]) & (
                self.table.code_rate_x1024 == tab.code_rate_x1024[i]
            )
            beta_cqi[i] = self._beta[int(np.flatnonzero(same)[0])]
        meas = np.arange(0, self.total_slots, c.csi_period_slots)
        cqi = np.empty((self.n_pool, meas.size), dtype=np.int64)
        for lo in range(0, meas.size, 256):
            gam = self._gamma(meas[lo : lo + 256])  # (P, m, n)
            with np.errstate(divide="ignore"):
                mean_db = 10.0 * np.log10(gam.mean(axis=-1))
            cqi0 = cqi_from_sinr_db(mean_db, c.mcs_table, c.impl_margin_db)
            cqi[:, lo : lo + 256] = cqi_from_sinr_db(
                _eesm_db(gam, beta_cqi[cqi0]), c.mcs_table, c.impl_margin_db
            )
        self.cqi = cqi
        self.cqi_est_db = sinr_db_from_cqi(cqi, c.mcs_table, c.impl_margin_db)

    def _build_ul(self, rng: np.random.Generator) -> None:
        c = self.config
        ul = np.flatnonzero(self.pattern.is_slot(np.arange(self.total_slots), "ul"))
        n_ul = ul.size
        rtt = self.pattern.harq_rtt_slots("ul", c.k2_slots, 1)
        own = np.flatnonzero(self.pattern._mask("ul"))
        rtt_of_slot = np.zeros(self.pattern.period_slots, dtype=np.int64)
        rtt_of_slot[own] = rtt
        m_tx = c.harq_max_tx
        # Attempt slots of the TB first sent in UL slot u (absolute slot numbers).
        att = np.empty((n_ul, m_tx), dtype=np.int64)
        att[:, 0] = ul
        for j in range(1, m_tx):
            prev = att[:, j - 1]
            att[:, j] = prev + rtt_of_slot[prev % self.pattern.period_slots]
        # 1) OLLA + first transmissions, sequential over UL slots (float32: ~2x faster, SINR to 1e-6).
        meas_idx = np.clip((ul - c.csi_delay_slots) // c.csi_period_slots, 0, self.cqi.shape[1] - 1)
        up = c.olla_delta_up_db
        down = up * c.bler_target / (1.0 - c.bler_target)
        delta = np.zeros(self.n_pool)
        mcs = np.empty((self.n_pool, n_ul), dtype=np.int64)
        ack0 = np.empty((self.n_pool, n_ul), dtype=bool)
        req = self.required_db
        top = self.table.max_mcs
        uni0 = rng.random((n_ul, self.n_pool))
        gain32 = self.fading.gain.astype(np.float32)
        snr32 = self.snr_lin_p.astype(np.float32)[:, None]
        beta32 = self._beta.astype(np.float32)
        blk_ul = ul // self.fading.slots_per_block
        for u in range(n_ul):
            m = np.clip(
                np.searchsorted(req, self.cqi_est_db[:, meas_idx[u]] - delta, side="right") - 1, 0, top
            )
            gam = snr32 * gain32[self.los_p, self.r_p, blk_ul[u]]
            ok = uni0[u] >= self._tbler(_eesm_db(gam, beta32[m]), m)
            delta = np.clip(delta + np.where(ok, -down, up), -20.0, 20.0)
            mcs[:, u] = m
            ack0[:, u] = ok
        # 2) Retransmissions with chase combining for the NACKed first transmissions (chunked).
        ntx = np.ones((self.n_pool, n_ul), dtype=np.int64)
        succ_slot = np.broadcast_to(ul, (self.n_pool, n_ul)).copy()
        lost = np.zeros((self.n_pool, n_ul), dtype=bool)
        pp_all, uu_all = np.nonzero(~ack0)
        for lo in range(0, pp_all.size, 1 << 16):
            pp, uu = pp_all[lo : lo + (1 << 16)], uu_all[lo : lo + (1 << 16)]
            slots = np.minimum(att[uu], self.total_slots - 1)  # (N, m_tx)
            g = gain32[self.los_p[pp][:, None], self.r_p[pp][:, None], slots // self.fading.slots_per_block]
            comb = np.cumsum(snr32[pp][:, :, None] * g, axis=1)
            mm = mcs[pp, uu]
            eff = _eesm_db(comb, np.broadcast_to(beta32[mm][:, None], comb.shape[:2]))
            success = rng.random(eff.shape) >= self._tbler(eff, mm[:, None])
            success[:, 0] = False
            success &= att[uu] < self.total_slots
            got = success.any(axis=1)
            first = np.argmax(success, axis=1)
            ntx[pp, uu] = np.where(got, first + 1, m_tx)
            succ_slot[pp, uu] = np.where(got, att[uu, first], att[uu, -1])
            lost[pp, uu] = ~got
        # Keep the UL slots of the request part (absolute slot >= warm-up).
        keep = ul >= self.warmup_slots
        self.ul_slot = ul[keep]
        self.ul_start_s = self.ul_slot * self.slot_s
        self.mcs = mcs[:, keep]
        # RLC AM: a TB still lost after HARQ carries nothing; its bits go again in later TBs, so only
        # delivered TBs count towards a message and a lost one does not gate its completion.
        tbs = self.tbs[self.mcs] * ~lost[:, keep]
        self.cum_bits = np.concatenate([np.zeros((self.n_pool, 1)), np.cumsum(tbs, axis=1)], axis=1)
        done = (succ_slot[:, keep] + 1) * self.slot_s + c.gnb_decode_s
        self.done_s = np.where(lost[:, keep], -np.inf, done)
        z = np.zeros((self.n_pool, 1))
        self.cum_ntx = np.concatenate([z, np.cumsum(ntx[:, keep], axis=1)], axis=1)
        self.cum_lost = np.concatenate([z, np.cumsum(lost[:, keep], axis=1)], axis=1)
        self.ack0 = ack0[:, keep]
        self.n_ul = int(keep.sum())
        self._row = self.n_ul + 1
        self._big = float(self.cum_bits[:, -1].max()) + 1e12
        self._flat = (self.cum_bits + np.arange(self.n_pool)[:, None] * self._big).ravel()
        # HARQ completion window: a TB first sent before u1 - window has finished before u1 starts.
        max_rtt_ul = int(max(np.searchsorted(ul, att[:, -1]) - np.arange(n_ul))) if n_ul else 0
        self._window = max(1, max_rtt_ul + 1)

    def _build_dl(self, rng: np.random.Generator) -> None:
        c = self.config
        dl = np.flatnonzero(self.pattern.is_slot(np.arange(self.total_slots), "dl"))
        rtt = self.pattern.harq_rtt_slots("dl", 2, 1)
        own = np.flatnonzero(self.pattern._mask("dl"))
        rtt_of_slot = np.zeros(self.pattern.period_slots, dtype=np.int64)
        rtt_of_slot[own] = rtt
        R, m_tx = c.pool_size, c.harq_max_tx
        att = np.empty((dl.size, m_tx), dtype=np.int64)
        att[:, 0] = dl
        for j in range(1, m_tx):
            att[:, j] = att[:, j - 1] + rtt_of_slot[att[:, j - 1] % self.pattern.period_slots]
        ok = rng.random((R, dl.size, m_tx)) >= c.dl_bler
        got = ok.any(axis=2)
        first = np.argmax(ok, axis=2)  # (R, n_dl)
        slot = att[np.arange(dl.size)[None, :], first]
        self.dl_slot = dl
        self.dl_done_s = np.where(got, (slot + 1) * self.slot_s + c.ue_decode_s, np.inf)
        self.dl_ntx = np.where(got, first + 1, m_tx).astype(np.float64)

    def _build_schedule(self) -> None:
        """Lookups from 'data ready at slot boundary n0' to the PUSCH UL index and the next DL index."""
        c = self.config
        n = np.arange(self.total_slots + 1)
        ul_all = self.ul_slot
        dl = self.dl_slot
        first_ul = np.searchsorted(ul_all, n, side="left")  # UL index (into the kept UL slots)
        if c.grant == "configured":
            pusch = first_ul
        else:
            # SR occasions: UL slots at least sr_period apart, from the first kept UL slot.
            occ: list[int] = []
            for s in ul_all:
                if not occ or s - occ[-1] >= c.sr_period_slots:
                    occ.append(int(s))
            occ_a = np.asarray([*occ, self.total_slots * 4])
            sr = occ_a[np.searchsorted(occ_a, n, side="left")]
            di = np.searchsorted(dl, sr + 2, side="left")  # grant: first DL slot >= SR + 1 + 1 slot
            grant = np.where(di < dl.size, dl[np.minimum(di, dl.size - 1)], self.total_slots * 4)
            pusch = np.searchsorted(ul_all, grant + c.k2_slots, side="left")
        self._pusch = np.minimum(pusch, self.n_ul).astype(np.int64)
        self._first_dl = np.minimum(np.searchsorted(dl, n, side="left"), dl.size - 1).astype(np.int64)
        self._dl_valid = np.searchsorted(dl, n, side="left") < dl.size

    # -- the interface ---------------------------------------------------------------------------
    def _boundary(self, t_s: F) -> I:
        n0 = np.ceil(t_s / self.slot_s - 1e-9)
        return np.asarray(np.clip(np.nan_to_num(n0, posinf=self.total_slots), 0, self.total_slots), np.int64)

    def uplink(self, t_s: F, bits: F, p: I) -> Transfer:
        """Data of ``bits`` ready at absolute ``t_s`` for pool entries ``p``: arrival at the edge."""
        u0 = self._pusch[self._boundary(t_s)]
        base = p * self._row
        target = self._flat[base + u0] + bits
        j = np.searchsorted(self._flat, target, side="left") - base  # prefix index reaching the target
        timeout = (j > self.n_ul) | (u0 >= self.n_ul) | ~np.isfinite(t_s)
        u1 = np.clip(j - 1, 0, self.n_ul - 1)
        u0c = np.minimum(u0, self.n_ul - 1)
        row = p * self.n_ul
        done_flat = self.done_s.ravel()
        done = done_flat[row + u1]
        for w in range(1, self._window):
            done = np.maximum(done, done_flat[row + np.maximum(u1 - w, u0c)])
        cn = self.cum_ntx.ravel()
        slots = cn[base + u1 + 1] - cn[base + u0c]
        bad = timeout
        return Transfer(np.where(bad, np.inf, done + self.config.backhaul_s), slots, bad)

    def uplink_hidden(self, t_s: F, elements: float, p: I) -> HiddenTransfer:
        """The hidden state of ``elements`` values sent at the configured activation precision with one
        header: ``elements * b + header_bits`` bits over :meth:`uplink`; bit-exact, so no distortion."""
        c = self.config
        bits = np.broadcast_to(elements * c.activation_bits + c.header_bits, np.shape(t_s)).astype(float)
        tr = self.uplink(t_s, bits, p)
        zero = np.zeros(np.shape(t_s))
        return HiddenTransfer(tr.done_s, tr.slots, tr.lost, zero, zero)

    def equivalent_snr_db(self, mean_distortion: F) -> F:
        """The SNR (dB) whose per-RE distortion equals ``mean_distortion`` (modes that distort only)."""
        raise NotImplementedError("the nr link delivers bit-exact: it has no equivalent SNR")

    def downlink(self, t_s: F, r: I) -> Transfer:
        """A token id handed to the core at ``t_s`` (before backhaul) for realisations ``r``."""
        n0 = self._boundary(t_s + self.config.backhaul_s)
        d = self._first_dl[n0]
        flat = r * self.dl_slot.size + d
        done = self.dl_done_s.ravel()[flat]
        lost = ~np.isfinite(done) | ~self._dl_valid[n0]
        return Transfer(np.where(lost, np.inf, done), self.dl_ntx.ravel()[flat], lost)

    def bulk_rates_bps(self) -> tuple[F, F]:
        """Sustained full-buffer goodput (bit/s) of every pool entry for bulk data (KV-cache migration),
        ``(uplink, downlink)``, each of shape ``(n_pool,)``.

        * uplink: what this realisation's own PUSCH trace delivers (all PRBs in every UL slot at the OLLA's
          MCS, TBs lost after HARQ carrying nothing) over the trace's duration,
          ``R_UL = sum_u TBS_u 1[delivered] / ((N_total - N_warmup) T_slot)`` (TDD share included);
        * downlink: the TS 38.306 rate at the spectral efficiency of the CQI reports of the realisation,
          ``R_DL = mean_j SE(CQI_j) * 12 N_PRB * 14 (1 - OH) * f_DL / T_slot * (1 - BLER_DL)`` with
          ``SE = Q_m R`` (TS 38.214 Table 5.2.2.1-2/3) [S], ``OH = 0.14`` (TS 38.306 FR1 DL) [S] and ``f_DL``
          the DL share of the TDD pattern [S: pattern]; a report of CQI 0 counts as CQI 1 (the gNB can still
          use the lowest MCS: its power is not what limits it) [A]. [A] The DL SINR is taken equal to the UL
          SINR the CQI quantises (TDD reciprocity; the gNB's higher transmit power would only raise it, so the
          DL rate is conservative).
        """
        c = self.config
        duration_s = (self.total_slots - self.warmup_slots) * self.slot_s
        ul = self.cum_bits[:, -1] / duration_s
        se = cqi_table(c.mcs_table).spectral_efficiency[np.maximum(self.cqi, 1)]
        res = 12 * self.n_prb * SYMBOLS_PER_SLOT * (1.0 - DL_OVERHEAD)
        dl = se.mean(axis=1) * res * self.pattern.fraction("dl") / self.slot_s * (1.0 - c.dl_bler)
        return np.asarray(ul, dtype=np.float64), np.asarray(dl, dtype=np.float64)

    def cqi_history(self, t_end_s: F, p: I, n: int) -> NDArray[np.int64]:
        """The last ``n`` CQI reports measured before ``t_end_s`` (newest first), shape ``(..., n)``."""
        period = self.config.csi_period_slots * self.slot_s
        last = np.floor(np.nan_to_num(t_end_s, posinf=self.total_slots * self.slot_s) / period)
        idx = np.clip(last.astype(np.int64)[..., None] - np.arange(n), 0, self.cqi.shape[1] - 1)
        return np.asarray(self.cqi[p[..., None], idx], dtype=np.int64)


def build_link(config: SplitConfig, snr_bins_db: F, rng: np.random.Generator) -> NrLink:
    """The link of ``config.link`` (``nr``, ``analog`` or ``uncoded``; the config validated the name)."""
    from splitgym.envs.split.analog import AnalogLink
    from splitgym.envs.split.uncoded import UncodedLink

    links: dict[str, type[NrLink]] = {"nr": NrLink, "analog": AnalogLink, "uncoded": UncodedLink}
    return links[config.link](config, snr_bins_db, rng)
