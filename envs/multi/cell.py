"""One cell, N devices, one edge GPU: a step's requests simulated together at slot resolution.

In a step every device sends one request (prompt ``S``, ``G`` new tokens) at its offset
``t_u ~ U[0, arrival_spread_s)`` with the split ``k_u`` its agent chose. The devices share two resources:

* **the uplink** (PUSCH, TDD UL slots): every UL slot the cell's scheduler (:mod:`.scheduler`) gives PRBs
  to the users whose message is granted (its data ready, then the next SR opportunity (``sr_period_slots``)
  plus ``K2 = 2`` slots [S: dossier defaults]). Per user and allocation of ``n`` PRBs, open-loop power
  control ``SNR(n) = min(P_CMAX - 10 log10 n, P0 + 10 log10 2^mu + alpha PL) - PL - N_PRB - IoT`` per PRB
  [S: TS 38.213 7.1.1], capped at the rate-optimal allocation (:meth:`CellWorld._power`); the slot's SINR
  adds the user's fading gain of the coherence block (Rayleigh NLOS, Rician LOS with ``rician_k_db``;
  ``T_c = 0.423/f_D`` [K]; flat over the band [A: one subband]); the MCS is the highest of
  ``mcs_table`` at ``bler_target`` for that SINR
  (the gNB's SRS estimate of the block, period 10 slots < T_c [A]) less the device's outer-loop offset
  (OLLA: +``olla_delta_up_db`` on a lost TB, ``-delta_up * T/(1 - T)`` on a received one, kept across
  steps [S: Sionna, as the single-user link]), ``N_info = n_PRB 156 Q_m R`` bits
  [S: TS 38.214 5.1.3.2, TBS rounding ignored], the TB lost with its TBLER at the SINR the TB met: the
  slot's inter-cell interference over thermal is ``iot_db + X``, ``X ~ N(0, iot_sigma_db^2)`` per slot,
  common to the cell's receiver and unknown when the MCS is chosen (at the mean ``iot_db``) [A: dossier
  §8, IoT 3 dB, slot-to-slot sigma 2 dB]
  (:func:`~splitgym.envs.channels.nr.transport_block_error_rate`, drawn once per TB; a lost TB's bits
  stay queued [A: no soft combining]). A message has arrived at the end of its last slot plus
  ``gnb_decode_s + backhaul_s``.
* **the edge GPU**: iteration-level continuous batching (:mod:`.server`): when free, it runs every admitted
  sequence whose input has arrived (decodes one token each, prefills in chunks of the shared budget
  ``chunk_tokens``, at most ``max_batch`` sequences, first come first served); a request is admitted when
  its KV cache ``(L - k)(S + G) 2 d_kv b_a`` fits in the server's KV memory, else it waits
  [A: no preemption, the whole cache reserved at admission].

The downlink carries token ids (a few hundred bits: one PRB) in every D and S slot, up to ``N_PRB`` users a
slot, each lost with ``dl_bler`` (drawn) and resent in the next slot [A: the DL is not the bottleneck
for token ids]; a token is received ``ue_decode_s`` after its slot. Splits ``0 < k < L`` make a round trip
per token (device layers ``1..k`` over ``T_dd``, hidden state up, edge layers, token down), split 0 sends
the prompt's token ids and the edge decodes back to back, split ``L`` never uses the radio. Device compute
times are the single-user world's (calibrated profiles, stretched by ``1/(1 - u_d)``), as are quality,
energy and the reward's form (:class:`~splitgym.envs.split.world.SplitWorld`); the edge's times are the
batch model's instead of the single-request profile's. A request not finished ``horizon_s`` after its
arrival is an outage.

**Drawn** (from the step's generator, before the slot loop): the arrival offsets, fading gains per
(user, block), the interference rise per slot, one uniform per (user, slot) that decides the loss of the
user's UL TB or DL attempt in that slot (common random numbers: a change of one user's split changes no
other draw). **Averaged**: nothing. The slot loop skips slots in which nothing can happen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.channels.nr import (
    OuterLoopLinkAdaptation,
    mcs_table,
    n_prb,
    prb_noise_power_dbm,
    required_sinr_db,
    tdd_pattern,
    transport_block_error_rate,
)
from splitgym.envs.channels.nr.grid import RE_PER_PRB_CAP
from splitgym.envs.multi.config import CellConfig
from splitgym.envs.multi.scheduler import Scheduler, make_scheduler
from splitgym.envs.multi.server import GPU_MEMORY_GIB, ServerTimeModel, server_time_model
from splitgym.envs.split.channel import Request
from splitgym.envs.split.config import ACTIVATION_BITS
from splitgym.envs.split.world import DeviceSide, device_side_for
from splitgym.errors import ConfigError

__all__ = ["CellWorld", "RoundOutcome"]

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741
B = NDArray[np.bool_]
K2_SLOTS = 2  # [S: ns-3 default, dossier]
REF_PRB = 10  # TB size at which the MCS thresholds and TBLER table are computed [A: the code-block size
# of a 10-PRB TB; the thresholds move by < 0.3 dB between 5 and 51 PRBs]
SINR_GRID_DB = np.arange(-20.0, 50.0001, 0.05)
GRID_LAST = SINR_GRID_DB.size - 1
NEVER = np.iinfo(np.int64).max // 2  # the UL slot of a user with nothing to send
C_LIGHT = 299_792_458.0


@dataclass
class RoundOutcome:
    """A step's requests, arrays ``(N,)`` per user, and the server's totals."""

    split: I
    ttft_s: F
    tbt_s: F  # mean time between tokens
    tbt_p99_s: F
    latency_s: F
    outage: B
    uplink_delay_s: F  # mean over the request's UL messages: data ready -> arrived at the edge
    tx_slots: F
    rx_slots: F
    prb_slots: F
    energy_j: F
    energy_modem_j: F
    quality_score: F
    lateness: F
    load: F
    slo_ok: B
    r_quality: F
    r_latency: F
    r_energy: F
    r_load: F
    r_invalid: F
    reward: F
    admission_wait_s: F
    iterations: int = 0
    server_busy_s: float = 0.0
    mean_iteration_s: float = 0.0
    gaps_s: list[F] = field(default_factory=list)


class CellWorld:
    """The constants of a :class:`CellConfig` and :meth:`run_round`, one step of the whole cell."""

    def __init__(self, config: CellConfig) -> None:
        self.config = config
        c = self.split = config.split_config()
        self.world: DeviceSide = device_side_for(c)
        self.server: ServerTimeModel = server_time_model(c.edge, c.model)
        L = self.num_layers = self.world.num_layers
        self.n_users = config.n_users
        self.new_tokens = c.new_tokens
        gpu_bytes = GPU_MEMORY_GIB[c.edge] * 2**30
        if config.kv_memory_gib is None:
            self.kv_capacity_bytes = gpu_bytes - self.server.weight_bytes
        else:
            self.kv_capacity_bytes = config.kv_memory_gib * 2**30
        worst = L * self.server.kv_bytes_per_token_layer * (int(self.world.prompts.max()) + c.new_tokens)
        if self.kv_capacity_bytes < worst:
            raise ConfigError(
                f"kv_memory_gib={self.kv_capacity_bytes / 2**30:.4g} is too small for one request: the "
                f"longest prompt at split 0 needs {worst / 2**30:.4g} GiB of KV cache; allowed: >= that"
            )
        self.tdd = tdd_pattern(c.tdd_pattern, c.mu)
        period = np.arange(self.tdd.period_slots)
        self.ul_mask = self.tdd.is_slot(period, "ul")
        self.dl_mask = ~self.ul_mask
        self.slot_s = self.tdd.slot_s
        self.n_prb = n_prb(c.bandwidth_hz, c.scs_hz)
        tab = mcs_table(c.mcs_table)
        self.req_db = np.asarray(
            required_sinr_db(REF_PRB, c.mcs_table, c.bler_target, impl_margin_db=c.impl_margin_db)
        )
        self.bits_per_prb = RE_PER_PRB_CAP * tab.modulation_order * tab.code_rate
        mcs = np.arange(tab.n_mcs)
        tb_ref = np.maximum(REF_PRB * self.bits_per_prb, 24.0)
        self.bler_table = transport_block_error_rate(
            SINR_GRID_DB[None, :], mcs[:, None], tb_ref[:, None], c.mcs_table, c.impl_margin_db
        )
        self.noise_prb_dbm = float(prb_noise_power_dbm(1, c.mu, c.noise_figure_db))
        f_d = c.speed_mps * c.carrier_hz / C_LIGHT
        horizon_slots = math.ceil((config.arrival_spread_s + c.horizon_s) / self.slot_s) + 2
        self.block_slots = horizon_slots if f_d <= 0 else max(1, round(0.423 / f_d / self.slot_s))
        self.n_blocks = horizon_slots // self.block_slots + 2
        self.horizon_slots = horizon_slots
        d = self.world.comp.arch.hidden
        self.prefill_bits_per_token = d * ACTIVATION_BITS[c.activation]
        self.rician_k = 10.0 ** (c.rician_k_db / 10.0)
        comp = self.world.comp
        self.load_table = comp.dev_total_s / comp.dev_total_s[:, L : L + 1]

    # -- per-round pieces -------------------------------------------------------------------------------
    def _fading_db(self, rng: np.random.Generator, los: B) -> F:
        n = self.n_users
        if not self.split.fading:
            return np.zeros((n, self.n_blocks))
        k = np.where(los, self.rician_k, 0.0)[:, None]
        h = np.sqrt(k / (k + 1.0)) + np.sqrt(1.0 / (k + 1.0)) * (
            rng.standard_normal((n, self.n_blocks)) + 1j * rng.standard_normal((n, self.n_blocks))
        ) / math.sqrt(2.0)
        return np.asarray(10.0 * np.log10(np.maximum(np.abs(h) ** 2, 1e-12)), dtype=np.float64)

    def _power(self, pl_db: F) -> tuple[F, I, F]:
        """Per-PRB SNR (dB) at every allocation ``n = 1..N_PRB`` (``(N, N_PRB)``), the cap ``M_u`` (PRBs)
        and the open-loop power offset ``P0 + 10 log10 2^mu + alpha PL`` (dBm).

        ``SNR(n) = min(P_CMAX - 10 log10 n, P0 + 10 log10 2^mu + alpha PL) - PL - N_PRB - IoT``: below the
        power limit every PRB gets the power-controlled PSD; beyond it ``P_CMAX`` is spread over the PRBs.
        The cap is the allocation with the most bits per slot at the large-scale SNR (the MCS at
        ``bler_target``): a power-limited user gains nothing from more PRBs [A: the scheduler's rate-optimal
        cap; ``M_RB,max`` of TS 38.213 when below it, dossier §8].
        """
        c = self.split
        n = np.arange(1, self.n_prb + 1, dtype=np.float64)
        open_loop = c.p0_dbm + 10.0 * math.log10(2.0**c.mu) + c.alpha * pl_db
        per_prb = np.minimum(c.tx_power_dbm - 10.0 * np.log10(n)[None, :], open_loop[:, None])
        snr = per_prb - (pl_db + self.noise_prb_dbm + c.iot_db)[:, None]
        bits = n[None, :] * self.bits_per_prb[self._mcs(snr)]
        cap = np.argmax(bits, axis=1).astype(np.int64) + 1
        return np.asarray(snr, dtype=np.float64), cap, np.asarray(open_loop, dtype=np.float64)

    def _mcs(self, sinr_db: F) -> I:
        """Highest MCS whose TBLER at ``sinr_db`` is at most ``bler_target`` (0 below MCS 0's threshold)."""
        return np.maximum(np.searchsorted(self.req_db, sinr_db, side="right") - 1, 0).astype(np.int64)

    def _sr_slot(self, t_s: float) -> int:
        """First slot a message ready at ``t_s`` may be scheduled in (SR opportunity + K2)."""
        c = self.split
        s = math.ceil(t_s / self.slot_s - 1e-9)
        if c.grant == "configured":
            return s
        return math.ceil(s / c.sr_period_slots) * c.sr_period_slots + K2_SLOTS

    def _next_slot(self, s: int, mask: B) -> int:
        p = mask.size
        for d in range(p):
            if mask[(s + d) % p]:
                return s + d
        raise AssertionError("a TDD pattern without the direction")  # pragma: no cover

    def run_round(
        self,
        rng: np.random.Generator,
        req: Request,
        split: I,
        invalid: B,
        scheduler: Scheduler,
        olla: OuterLoopLinkAdaptation,
    ) -> RoundOutcome:
        """Simulate one request per user (``req`` arrays ``(N,)``, executed ``split``) to its end."""
        c, cfg, w, srv = self.split, self.config, self.world, self.server
        N, L, G, Ts = self.n_users, self.num_layers, self.new_tokens, self.slot_s
        level = np.asarray(req.prompt_level, dtype=np.int64)
        S = w.prompts[level]
        k = np.asarray(split, dtype=np.int64)
        stretch = 1.0 / (1.0 - np.asarray(req.device_load))
        t_dp = w.comp.dev_prefill_s[level, k] * stretch
        t_dd = w.comp.dev_decode_s[level, k] * stretch[:, None]  # (N, G-1)
        t_arr = rng.uniform(0.0, cfg.arrival_spread_s, N) if cfg.arrival_spread_s > 0 else np.zeros(N)
        deadline = t_arr + c.horizon_s
        fading = self._fading_db(rng, np.asarray(req.los, dtype=bool))
        # one uniform per (user, slot) for its UL TB and its DL attempt there: drawn before anything depends
        # on the actions, so two runs of a step that differ in one user's split see the same luck elsewhere
        luck_ul = rng.random((N, self.horizon_slots + 1))
        luck_dl = rng.random((N, self.horizon_slots + 1))
        # the interference over thermal of each slot at the gNB, log-normal about iot_db: its rise (dB)
        # above the mean, which link adaptation cannot know in advance
        iot_rise = cfg.iot_sigma_db * rng.standard_normal(self.horizon_slots + 1)
        snr_prb, cap, open_loop = self._power(np.asarray(req.path_loss_db))
        users = np.arange(N)
        snr_cap = snr_prb[users, cap - 1]
        header, tok_bits = c.header_bits, c.token_id_bits
        radio = k < L
        kv_need = (L - k) * srv.kv_bytes_per_token_layer * (S + G)

        # per-user state
        ul_bits = np.zeros(N)
        ul_slot = np.full(N, NEVER, dtype=np.int64)
        ul_ready_t = np.zeros(N)
        ul_is_prefill = np.zeros(N, dtype=bool)
        delays: list[list[float]] = [[] for _ in range(N)]
        tx_slots, rx_slots, prb_slots, tx_mw = np.zeros(N), np.zeros(N), np.zeros(N), np.zeros(N)
        dl_queue: list[list[float]] = [[] for _ in range(N)]
        tokens_rx = np.zeros(N, dtype=np.int64)
        ttft = np.full(N, np.nan)
        last_rx = np.zeros(N)
        done_t = np.full(N, np.nan)
        failed = np.zeros(N, dtype=bool)
        gaps: list[list[float]] = [[] for _ in range(N)]
        first_radio = np.full(N, np.nan)
        # edge sequences
        seq_ready = np.full(N, np.inf)
        admitted = np.zeros(N, dtype=bool)
        waiting: list[tuple[float, int]] = []  # admission queue (arrival time, user)
        admit_wait = np.zeros(N)
        prefill_left = np.where(radio, S, 0).astype(np.int64)
        ctx = np.zeros(N, dtype=np.int64)
        edge_out = np.zeros(N, dtype=np.int64)
        kv_used = 0.0
        in_iter = np.zeros(N, dtype=bool)
        iter_n = np.zeros(N, dtype=np.int64)
        server_free = 0.0
        server_busy = False
        iterations, busy_s = 0, 0.0

        # device-only requests end without the radio; the others start with device prefill
        for u in range(N):
            if k[u] == L:
                t = t_arr[u] + t_dp[u]
                ttft[u] = t - t_arr[u]
                times = t + np.concatenate([[0.0], np.cumsum(t_dd[u])])
                gaps[u] = list(np.diff(times))
                done_t[u] = times[-1]
                tokens_rx[u] = G
            else:
                ready = t_arr[u] + t_dp[u]
                ul_bits[u] = (S[u] * (tok_bits if k[u] == 0 else self.prefill_bits_per_token)) + header
                ul_ready_t[u], ul_slot[u], ul_is_prefill[u] = ready, self._sr_slot(ready), True
                first_radio[u] = ready - t_arr[u]

        def release(u: int, now: float) -> None:
            nonlocal kv_used
            if admitted[u]:
                kv_used -= float(kv_need[u])
                admitted[u] = False
            seq_ready[u] = np.inf
            while waiting and kv_used + kv_need[waiting[0][1]] <= self.kv_capacity_bytes:
                t_in, v = waiting.pop(0)
                admitted[v] = True
                kv_used += float(kv_need[v])
                seq_ready[v] = max(t_in, now)
                admit_wait[v] = max(now - t_in, 0.0)

        def arrive_at_edge(u: int, t: float) -> None:
            nonlocal kv_used
            if ul_is_prefill[u]:
                if not waiting and kv_used + kv_need[u] <= self.kv_capacity_bytes:
                    admitted[u] = True
                    kv_used += float(kv_need[u])
                    seq_ready[u] = t
                else:
                    waiting.append((t, u))
            else:
                seq_ready[u] = t

        def finish_iteration(t_c: float) -> None:
            members = np.flatnonzero(in_iter)
            for u in map(int, members):
                in_iter[u] = False
                if failed[u]:
                    continue
                n = int(iter_n[u])
                ctx[u] += n
                if prefill_left[u] > 0:
                    prefill_left[u] -= n
                    if prefill_left[u] > 0:
                        seq_ready[u] = t_c
                        continue
                edge_out[u] += 1
                dl_queue[u].append(t_c + c.backhaul_s)
                if edge_out[u] >= G:
                    release(int(u), t_c)
                elif k[u] == 0:
                    seq_ready[u] = t_c  # the edge decodes the next token at once
                else:
                    seq_ready[u] = np.inf  # waits for the device's next hidden state

        def start_iteration(t0: float) -> float:
            ready = np.flatnonzero(admitted & ~in_iter & (seq_ready <= t0) & ~failed)
            if ready.size == 0:
                return 0.0
            ready = ready[np.argsort(seq_ready[ready], kind="stable")][: cfg.max_batch]
            budget = cfg.chunk_tokens
            n = np.zeros(N, dtype=np.int64)
            for u in map(int, ready):
                if prefill_left[u] > 0:
                    take = min(int(prefill_left[u]), budget)
                    if take == 0:
                        continue
                    n[u], budget = take, budget - take
                else:
                    n[u] = 1
            members = n > 0
            if not members.any():
                return 0.0
            t_iter = float(srv.iteration_s(k[None, :], n[None, :], (ctx + n)[None, :], members[None, :])[0])
            in_iter[:] = members
            iter_n[:] = n
            seq_ready[members] = np.inf
            return t_iter

        s = 0
        while True:
            t_lo, t_hi = s * Ts, (s + 1) * Ts
            # 1. the server, in continuous time up to the slot's end
            while True:
                if server_busy:
                    if server_free >= t_hi:
                        break
                    finish_iteration(server_free)
                    server_busy = False
                waiting_ready = admitted & ~in_iter & ~failed
                if not waiting_ready.any():
                    break
                t0 = max(server_free, float(seq_ready[waiting_ready].min()))
                if t0 >= t_hi:
                    break
                dt = start_iteration(t0)
                if dt <= 0.0:
                    break
                iterations += 1
                busy_s += dt
                server_free, server_busy = t0 + dt, True
            # 2. the uplink
            phase = s % self.ul_mask.size
            if self.ul_mask[phase]:
                elig = (ul_bits > 0) & (ul_slot <= s) & ~failed
                if elig.any():
                    blk = min(s // self.block_slots, self.n_blocks - 1)
                    backoff = olla.offset_db
                    bpp_cap = self.bits_per_prb[self._mcs(snr_cap + fading[:, blk] - backoff)]
                    need = np.where(elig, np.ceil(ul_bits / bpp_cap), 0).astype(np.int64)
                    give = scheduler.allocate(need, cap, bpp_cap, self.n_prb)
                    sent = give > 0
                    sinr = snr_prb[users, np.maximum(give, 1) - 1] + fading[:, blk]
                    mcs = self._mcs(sinr - backoff)
                    bpp = self.bits_per_prb[mcs]
                    actual = sinr - iot_rise[min(s, self.horizon_slots)]  # the slot's interference
                    idx = np.minimum(
                        np.maximum(np.rint((actual - SINR_GRID_DB[0]) / 0.05).astype(np.int64), 0), GRID_LAST
                    )
                    lost = luck_ul[:, min(s, self.horizon_slots)] < self.bler_table[mcs, idx]
                    olla.update(~lost, active=sent)
                    delivered = np.where(sent & ~lost, give * bpp, 0.0)
                    scheduler.update(delivered)
                    tx_slots += sent
                    prb_slots += give
                    p_dbm = np.minimum(c.tx_power_dbm, open_loop + 10.0 * np.log10(np.maximum(give, 1)))
                    tx_mw += np.where(sent, 10.0 ** (p_dbm / 10.0), 0.0)
                    ul_bits = np.where(sent, np.maximum(ul_bits - delivered, 0.0), ul_bits)
                    for u in map(int, np.flatnonzero(sent & (ul_bits <= 0))):
                        t_edge = t_hi + c.gnb_decode_s + c.backhaul_s
                        delays[u].append(t_edge - ul_ready_t[u])
                        arrive_at_edge(int(u), t_edge)
                        ul_slot[u] = NEVER
            else:
                # 3. the downlink: token ids ready before the slot, up to N_PRB users, lost with dl_bler
                ready_dl = [u for u in range(N) if dl_queue[u] and dl_queue[u][0] <= t_lo and not failed[u]]
                ready_dl.sort(key=lambda v: dl_queue[v][0])  # oldest token first (stable: then by index)
                for u in ready_dl[: self.n_prb]:
                    q = dl_queue[u]
                    rx_slots[u] += 1
                    if luck_dl[u, min(s, self.horizon_slots)] < c.dl_bler:
                        continue
                    q.pop(0)
                    t_rx = t_hi + c.ue_decode_s
                    tokens_rx[u] += 1
                    if tokens_rx[u] == 1:
                        ttft[u] = t_rx - t_arr[u]
                    else:
                        gaps[u].append(t_rx - last_rx[u])
                    last_rx[u] = t_rx
                    if tokens_rx[u] >= G:
                        done_t[u] = t_rx
                    elif k[u] > 0:  # device layers 1..k for the received token, then its hidden state up
                        ready = t_rx + t_dd[u, tokens_rx[u] - 1]
                        ul_bits[u] = self.prefill_bits_per_token + header
                        ul_ready_t[u], ul_slot[u], ul_is_prefill[u] = ready, self._sr_slot(ready), False
            # 4. timeouts
            active = np.isnan(done_t) & ~failed
            late = active & (deadline <= t_hi)
            for u in map(int, np.flatnonzero(late)):
                failed[u] = True
                ul_bits[u] = 0.0
                dl_queue[u].clear()
                waiting[:] = [(t, v) for t, v in waiting if v != u]
                release(int(u), t_hi)
            active &= ~late
            if not active.any():
                break
            # 5. the next slot where anything can happen
            cand = [math.floor(deadline[active].min() / Ts)]
            up = np.flatnonzero(active & (ul_bits > 0))
            if up.size:
                cand.append(self._next_slot(max(s + 1, int(ul_slot[up].min())), self.ul_mask))
            heads = [dl_queue[u][0] for u in np.flatnonzero(active) if dl_queue[u]]
            if heads:
                cand.append(self._next_slot(max(s + 1, math.ceil(min(heads) / Ts - 1e-9)), self.dl_mask))
            if server_busy:
                cand.append(int(server_free // Ts))
            else:
                ready_t = seq_ready[admitted & ~failed]
                if ready_t.size and np.isfinite(ready_t.min()):
                    cand.append(int(max(server_free, float(ready_t.min())) // Ts))
            s = max(s + 1, min(cand))
            if s > self.horizon_slots + 10 * self.block_slots:
                raise AssertionError("the cell's round did not end")  # pragma: no cover

        return self._outcome(
            req, level, k, invalid, t_arr, t_dp, t_dd, ttft, done_t, failed, gaps, delays, tx_slots,
            rx_slots, prb_slots, tx_mw, first_radio, radio, admit_wait, iterations, busy_s,
        )  # fmt: skip

    def _outcome(
        self, req: Request, level: I, k: I, invalid: B, t_arr: F, t_dp: F, t_dd: F, ttft: F, done_t: F,
        failed: B, gaps: list[list[float]], delays: list[list[float]], tx_slots: F, rx_slots: F,
        prb_slots: F, tx_mw: F, first_radio: F, radio: B, admit_wait: F, iterations: int, busy_s: float,
    ) -> RoundOutcome:  # fmt: skip
        c, w, cfg = self.split, self.world, self.config
        G = self.new_tokens
        outage = failed | np.isnan(done_t)
        latency = np.where(outage, c.horizon_s, done_t - t_arr)
        ttft_v = np.where(outage | np.isnan(ttft), c.horizon_s, ttft)
        tbt = np.where(outage, c.horizon_s, (latency - ttft_v) / max(G - 1, 1))
        p99 = np.array([float(np.percentile(g, 99)) if len(g) else 0.0 for g in gaps])
        p99 = np.where(outage, c.horizon_s, p99)
        dev_decode = t_dd.sum(axis=1) * (k > 0)
        e_soc = w.energy.soc_j(latency, t_dp, dev_decode)
        mean_mw = np.where(tx_slots > 0, tx_mw / np.maximum(tx_slots, 1), 1.0)
        p_tx_dbm = 10.0 * np.log10(mean_mw)
        e_modem = w.energy.modem_j(latency, np.nan_to_num(first_radio), tx_slots, rx_slots, p_tx_dbm, radio)
        energy = e_soc + e_modem
        energy_n = np.clip(energy * w.energy_scale_per_j[level], 0.0, 1.0)

        def late(x: F, d: float) -> F:
            return np.asarray(np.clip((x - d) / d, 0.0, 1.0))

        lateness = np.maximum.reduce(
            [late(ttft_v, c.ttft_deadline_s), late(tbt, c.tbt_deadline_s), late(latency, c.total_deadline_s)]
        )
        lateness = np.where(outage, 1.0, lateness)
        score = np.where(outage, 0.0, w.quality.score[k])
        load = self.load_table[level, k]
        r_q, r_t = c.w_quality * score, -c.w_latency * lateness
        r_e, r_l = -c.w_energy * energy_n, -c.w_load * load
        r_i = -c.w_invalid * invalid.astype(np.float64)
        slo = ~outage & (ttft_v <= cfg.ttft_slo_s) & (p99 <= cfg.tbt_slo_s)
        return RoundOutcome(
            split=k, ttft_s=ttft_v, tbt_s=tbt, tbt_p99_s=p99, latency_s=latency, outage=outage,
            uplink_delay_s=np.array([float(np.mean(d)) if d else 0.0 for d in delays]),
            tx_slots=tx_slots, rx_slots=rx_slots, prb_slots=prb_slots, energy_j=energy,
            energy_modem_j=e_modem, quality_score=score, lateness=lateness, load=load, slo_ok=slo,
            r_quality=r_q, r_latency=r_t, r_energy=r_e, r_load=r_l, r_invalid=r_i,
            reward=r_q + r_t + r_e + r_l + r_i, admission_wait_s=admit_wait, iterations=iterations,
            server_busy_s=busy_s, mean_iteration_s=busy_s / iterations if iterations else 0.0,
            gaps_s=[np.asarray(g) for g in gaps],
        )  # fmt: skip

    def new_olla(self) -> OuterLoopLinkAdaptation:
        """Every device's outer-loop link adaptation (offsets at 0 dB), kept by the gNB across steps."""
        c = self.split
        return OuterLoopLinkAdaptation(
            self.n_users, table=c.mcs_table, bler_target=c.bler_target, delta_up_db=c.olla_delta_up_db,
            impl_margin_db=c.impl_margin_db,
        )  # fmt: skip

    def new_scheduler(self) -> Scheduler:
        sch = make_scheduler(self.config.scheduler)
        sch.reset(self.n_users)
        return sch
