"""Sequential state of the v1 split world (issue 13): components composed by ``SplitConfig.state``.

Each component has ``reset`` / ``advance`` / ``observe`` and is updated by the *executed* action; their
numbers come from the parameter classes of :mod:`splitgym.envs.state` (sources there), here evaluated in
Python scalars because a single environment steps one request at a time (numpy arrays of size 1 cost
~250-380 us a step for all five; these cost a few us; the vector env's lanes use the components themselves,
:mod:`.vector_state`). Poisson inter-arrival times are drawn ``GAP_BLOCK`` at a time from the env's
generator (the same distribution, fewer calls). A request ``i`` of the episode, at split ``k``:

* **queue** (``"queue"``): arrivals ``a_i`` (Poisson ``arrival_rate_per_s``, periodic or a trace) and a FIFO
  single server: service starts ``s_i = max(a_i, D_{i-1})`` after waiting ``W_i = s_i - a_i`` and departs
  ``D_i = s_i + S_i`` (``S_i`` its service time); the waiting time counts in TTFT and total latency, hence
  in the deadlines (Lindley's recursion [K]). Without it requests arrive every ``request_interval_s`` and
  do not wait.
* **thermal** (``"thermal"``): the two-node (die, skin) RC model of :class:`ThermalParams`, advanced exactly
  (matrix exponential through its modes) over the idle gap at the SoC idle power and over the service at
  the request's mean SoC power ``E_soc / S``; its clock scale ``c`` in ``[floor, 1]`` at ``s_i`` stretches
  the device's compute: ``a_d -> a_d / c``.
* **battery** (``"battery"``): ``SoC <- max(SoC - E_i / (eta C), 0)`` with ``E_i = info["energy_j"]``
  (everything the step
  drew: SoC, modem, promotion, gap background, migration); ``SoC <= cutoff`` ends the episode (terminated).
* **radio** (``"radio"``): the RRC state after the gap ``g`` since the last radio activity
  (:func:`~splitgym.envs.state.radio.promotion_after_gap`): a request that uses the radio (``k < L``) after
  ``g >= T_rrc`` pays the promotion delay (added to its latency) and ``P_promo`` times it (energy); inside the
  tail it pays nothing. The gap's background modem energy ``P_cdrx min(g, T_rrc) + P_idle max(g - T_rrc, 0)``
  is charged to the next request (the DRX-inactivity excess right after a request is already in that
  request's energy, :mod:`.energy`) [A: C-DRX average over the RRC tail].
* **kv** (``"kv"``): conversations of ``turns_per_conversation`` turns; the context ``c`` grows by the prompt
  and the generated tokens each turn. Layers ``1..k`` hold their KV on the device, so changing the split from
  ``k'`` to ``k`` between turns moves ``|k - k'|`` layers' KV: ``kv_mode="migrate"`` sends ``|k - k'| c b_kv``
  bytes over the link (uplink towards the edge, downlink towards the device) at the sustained full-buffer
  goodput of the request's pool realisation in that direction
  (:meth:`~splitgym.envs.split.link.NrLink.bulk_rates_bps`: the UL from the realisation's own PUSCH trace, the
  DL from its CQI reports; this SNR and fading), at the PUSCH / PDSCH power, for at most the request's timeout
  ``horizon_s`` (a link that cannot move it sooner is in outage; the transfer is abandoned there [A], so a
  dead link's near-zero rate does not charge hours of transmission); ``"recompute"`` recomputes the moved
  layers over the context on the side that gains them, at that side's per-layer prefill time per token
  (:mod:`.compute`). The delay adds to the latency, the device energy to the step's energy. The memory mask
  adds the device KV ``k (c + S) b_kv`` to the weights' memory.

The observation gains only what the device knows: queue wait and backlog, its own clock scale and skin
temperature, battery level, RRC state and time since the last radio activity, context length.
[A] The exogenous request process (channel, loads) still advances one ``request_interval_s`` per request.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from bisect import bisect_right
from typing import Any

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.split.config import STATE_COMPONENTS, SplitConfig
from splitgym.envs.state.battery import BatteryParams
from splitgym.envs.state.radio import RadioParams
from splitgym.envs.state.thermal import ThermalParams

__all__ = ["STATE_FIELDS", "SessionState", "StepInputs", "physics_config"]

_PREFIXES = ("arrival_", "thermal_", "battery_", "rrc_", "kv_", "turns_")
STATE_FIELDS = tuple(
    f.name for f in dataclasses.fields(SplitConfig) if f.name == "state" or f.name.startswith(_PREFIXES)
)
GAP_BLOCK = 64  # Poisson inter-arrival times drawn per generator call [A: speed only; same distribution]
LOOKAHEAD = 16  # arrivals buffered to count the backlog [A: 16 waiting requests = hopelessly overloaded]
WAIT_SCALE_S = 1.0  # waiting time the observation maps to 0.5 [A: about one request's latency]


def physics_config(config: SplitConfig) -> SplitConfig:
    """``config`` with the state fields at their defaults: the world's tables do not depend on them."""
    defaults: dict[str, Any] = {
        f.name: f.default for f in dataclasses.fields(SplitConfig) if f.name in STATE_FIELDS
    }
    return dataclasses.replace(config, **defaults)


StepInputs = tuple[float, float, float, float, float, float, float]
"""What the state adds to one request at one split, all floats: ``(stretch, extra_s, extra_j, wait_s,
promotion_s, kv_bytes, kv_s)``: the device compute multiplier ``1/clock scale``; the waiting + promotion + KV
move delay (s) added to TTFT and total; the promotion + gap background + KV move energy (J); and the three
delays' and the moved bytes' parts (a plain tuple: the single env reads it once a step)."""


class SessionState:
    """The composed components of one environment, in Python scalars."""

    def __init__(self, config: SplitConfig, world: Any) -> None:
        c = config
        self.config = c
        self.on = {name: name in c.state for name in STATE_COMPONENTS}
        self.thermal = ThermalParams(
            ambient_c=c.thermal_ambient_c, skin_throttle_c=c.thermal_skin_throttle_c,
            die_throttle_c=c.thermal_die_throttle_c,
        )  # fmt: skip
        self.battery = BatteryParams(capacity_wh=c.battery_capacity_wh, initial_soc=c.battery_initial_soc)
        self.radio = RadioParams(
            inactivity_timer_s=c.rrc_inactivity_s, drx_inactivity_s=min(0.1, c.rrc_inactivity_s)
        )
        lam, vec, inv = self.thermal._modes
        self._lam = lam.tolist()
        self._vec = vec.tolist()
        self._inv = inv.tolist()
        self._gain = self.thermal.steady_gain_k_per_w
        e = world.energy
        self._idle_w = float(e.idle_w)
        self._prefill_w = float(e.prefill_w)
        self._cdrx_w = float(e.radio.cdrx_w)
        self._rx_w = float(e.radio.rx_w)
        self._promo_w = float(self.radio.promotion_w)
        self._idle_modem_w = float(self.radio.idle_power_w)
        self._capacity_j = float(self.battery.capacity_j) * float(self.battery.efficiency)
        self.num_layers = world.num_layers
        comp = world.comp
        self._kv_b = float(comp.arch.kv_bytes_per_token(2.0))  # fp16 KV [A: as compute.memory_bytes]
        self._prompts = world.prompts.tolist()
        self._dev_prefill = comp.dev_prefill_s.tolist()  # (level, k)
        self._edge_prefill = comp.edge_prefill_s.tolist()
        self._weights_mem = (comp.memory_bytes - self._kv_mem(world)).tolist()
        self._budget = float(world.memory_budget_bytes)
        self._feasible = world.feasible
        self._min_split = c.min_split
        self._max_context = int(comp.arch.max_positions)
        self._ul_bps, self._dl_bps = world.uplink_rate_bps, world.downlink_rate_bps
        self._horizon_s = float(c.horizon_s)
        self._mask_cache: dict[tuple[int, int], tuple[NDArray[np.bool_], list[int]]] = {}
        # The device KV grows with the context: if the longest context a conversation reaches (below the
        # limit, plus a request) fits at every feasible split, the memory mask is the weights' one.
        ks = np.arange(world.num_layers + 1)[None, :]
        longest = self._max_context - 1 + world.prompts[:, None] + c.new_tokens
        need = np.asarray(self._weights_mem) + ks * (longest * self._kv_b)
        self._kv_binds = bool(self.on["kv"] and (world.feasible & (need > self._budget)).any())
        self._fallback: list[list[int]] = world.fallback.tolist()
        # The hot path's constants as plain floats / bools (attribute and list look-ups cost a step dearly).
        th = self.thermal
        self._th = (
            *self._lam, *self._vec[0], *self._vec[1], *self._inv[0], *self._inv[1], float(th.ambient_c),
            float(self._gain[0]), float(self._gain[1]),
        )  # fmt: skip
        self._clock_k = (float(th.skin_throttle_c), float(th.die_throttle_c), float(th.throttle_gain_per_k),
                         float(th.clock_floor))  # fmt: skip
        span = th.skin_throttle_c - th.ambient_c
        self._skin_span = float(span) if span > 0.0 else 1.0
        self._t_rrc = float(self.radio.inactivity_timer_s)
        self._promo_s = float(self.radio.promotion_idle_s)
        self._cutoff = float(self.battery.cutoff_soc)
        self._q, self._th_on, self._bat, self._rad, self._kv = (self.on[n] for n in STATE_COMPONENTS)
        self._poisson = c.arrival_kind == "poisson"
        self._gap_scale = 1.0 / c.arrival_rate_per_s
        self._new_tokens = int(c.new_tokens)
        self._turns = int(c.turns_per_conversation)
        self._migrate = c.kv_mode == "migrate"
        self.obs_dim = 2 * self.on["queue"] + 2 * self.on["thermal"] + self.on["battery"] + 2 * self.on[
            "radio"] + self.on["kv"]  # fmt: skip

    def _kv_mem(self, world: Any) -> NDArray[np.float64]:
        """The KV part of ``comp.memory_bytes`` (prompt + generated tokens); the context's replaces it."""
        comp = world.comp
        k = np.arange(world.num_layers + 1)[None, :]
        s = world.prompts[:, None].astype(np.float64)
        return np.asarray(k * comp.arch.kv_bytes_per_token(2.0) * (s + self.config.new_tokens))

    # -- reset / advance / observe --------------------------------------------------------------------
    def reset(self, rng: np.random.Generator) -> None:
        c = self.config
        self._rng = rng
        self.free_at_s = 0.0
        self.index = 0
        self._arrivals: list[float] = []
        self._gaps: list[float] = []  # Poisson inter-arrival times drawn ahead, consumed from the end
        self._trace_pos = 0
        self._last_arrival = 0.0
        self._fill()
        self.die_c = self.skin_c = float(c.thermal_ambient_c)
        self._clock = self.clock_scale()
        self.soc = float(c.battery_initial_soc)
        self.radio_end_s = -math.inf  # no radio activity yet: the first request promotes from IDLE
        self.context = 0
        self.turn = 0
        self.kv_split = -1  # no KV yet
        self.start_s = self._next_start()

    def _fill(self) -> None:
        c, buf = self.config, self._arrivals
        while len(buf) < LOOKAHEAD:
            if not self._q:
                buf.append(self.index * c.request_interval_s + len(buf) * c.request_interval_s)
            elif self._poisson:
                if not self._gaps:  # one generator call per GAP_BLOCK arrivals (the same Exp draws)
                    self._gaps = self._rng.exponential(self._gap_scale, GAP_BLOCK).tolist()
                self._last_arrival += self._gaps.pop()
                buf.append(self._last_arrival)
            elif c.arrival_kind == "periodic":
                buf.append((self.index + len(buf)) * c.arrival_period_s)
            else:
                trace = c.arrival_trace_s
                buf.append(float(trace[self._trace_pos]) if self._trace_pos < len(trace) else math.inf)
                self._trace_pos += 1

    def copy(self, rng: np.random.Generator) -> SessionState:
        """An independent copy drawing from ``rng`` (the tables it reads are shared, read-only)."""
        twin = copy.copy(self)
        twin._arrivals = list(self._arrivals)
        twin._gaps = list(self._gaps)
        twin._rng = rng
        return twin

    def _next_start(self) -> float:
        head = self._arrivals[0]
        return head if head > self.free_at_s or not self.on["queue"] else self.free_at_s

    def clock_scale(self) -> float:
        skin_th, die_th, gain, floor = self._clock_k
        hot = max(self.skin_c - skin_th, self.die_c - die_th)
        return min(max(1.0 - gain * hot, floor), 1.0)

    @property
    def exhausted(self) -> bool:
        """Whether the arrival trace has no request left (the episode is truncated there)."""
        return not math.isfinite(self._arrivals[0])

    def gap_s(self) -> float:
        """Time since the last radio activity at the current request's start (inf before any)."""
        return self.start_s - self.radio_end_s

    def inputs(self, split: int, level: int, pool: int, tx_w: float) -> StepInputs:
        """What the state adds to the current request at ``split`` (no state change), a :data:`StepInputs`."""
        start = self.start_s
        wait = start - self._arrivals[0] if self._q else 0.0
        stretch = 1.0 / self._clock if self._th_on else 1.0
        extra_j = 0.0
        promo = 0.0
        if self._rad:
            end = self.radio_end_s
            g = start - end
            t_rrc = self._t_rrc
            if g < math.inf:
                g0 = self.free_at_s - end  # background already charged up to free_at
                g0 = g0 if g0 > 0.0 else 0.0
                x = (g if g < t_rrc else t_rrc) - (g0 if g0 < t_rrc else t_rrc)
                if x > 0.0:
                    extra_j += self._cdrx_w * x
                x = (g if g > t_rrc else t_rrc) - (g0 if g0 > t_rrc else t_rrc)
                if x > 0.0:
                    extra_j += self._idle_modem_w * x
            if split < self.num_layers and g >= t_rrc:
                promo = self._promo_s
                extra_j += self._promo_w * promo
        kv_bytes = kv_s = 0.0
        if self._kv and self.context > 0 and 0 <= self.kv_split != split:
            moved = abs(split - self.kv_split)
            to_device = split > self.kv_split
            if self._migrate:
                kv_bytes = moved * self.context * self._kv_b
                kv_s = 8.0 * kv_bytes / (self._dl_bps if to_device else self._ul_bps)[pool]
                kv_s = kv_s if kv_s < self._horizon_s else self._horizon_s  # abandoned at the timeout [A]
                extra_j += (self._rx_w if to_device else tx_w) * kv_s
            else:
                lo, hi = min(split, self.kv_split), max(split, self.kv_split)
                per_token = self.context / self._prompts[level]
                if to_device:
                    kv_s = (self._dev_prefill[level][hi] - self._dev_prefill[level][lo]) * per_token * stretch
                    extra_j += self._prefill_w * kv_s
                else:
                    kv_s = (self._edge_prefill[level][lo] - self._edge_prefill[level][hi]) * per_token
        return (stretch, wait + promo + kv_s, extra_j, wait, promo, kv_bytes, kv_s)

    def mask(self, level: int) -> NDArray[np.bool_]:
        """Feasible splits of the current request: weights + the context's device KV within the budget."""
        return self.allowed(level)[0].copy()

    def allowed(self, level: int) -> tuple[NDArray[np.bool_], list[int]]:
        """The current request's mask (read-only, cached per (level, context)) and, for each requested
        split, the nearest feasible one under it (ties to the lower split, as the world's fallback)."""
        key = (level, self.context if self._kv_binds else 0)
        cached = self._mask_cache.get(key)
        if cached is None:
            row = self._feasible[level]
            mask = np.array(row, dtype=bool)
            if self._kv_binds:
                per_layer = (self.context + self._prompts[level] + self.config.new_tokens) * self._kv_b
                fits = [m + k * per_layer <= self._budget for k, m in enumerate(self._weights_mem[level])]
                kv_mask = row & np.array(fits)
                if kv_mask.any():  # else a context too long for any split: the weights' mask [A]
                    mask = kv_mask
            mask.flags.writeable = False
            if (mask == row).all():
                nearest = self._fallback[level]
            else:
                ks = np.arange(mask.size)
                dist = np.where(mask[None, :], np.abs(ks[None, :] - ks[:, None]) + 1e-3 * ks[None, :], np.inf)
                nearest = np.argmin(dist, axis=1).tolist()
            cached = self._mask_cache[key] = (mask, nearest)
        return cached

    def advance(self, split: int, level: int, service_s: float, e_soc_j: float, energy_j: float,
                radio_used: bool) -> bool:  # fmt: skip
        """Commit the executed request; returns whether the battery is depleted."""
        start = self.start_s
        if self._th_on:  # ThermalModel.predict in scalars over the idle gap, then the service; clock_scale
            l0, l1, v00, v01, v10, v11, i00, i01, i10, i11, amb, g_d, g_s = self._th
            die, skin = self.die_c, self.skin_c
            dt = start - self.free_at_s  # the idle gap at the SoC idle power
            if dt > 0.0:
                ss_d, ss_s = amb + self._idle_w * g_d, amb + self._idle_w * g_s
                d0, d1 = die - ss_d, skin - ss_s
                z0 = (i00 * d0 + i01 * d1) * math.exp(l0 * dt)
                z1 = (i10 * d0 + i11 * d1) * math.exp(l1 * dt)
                die, skin = ss_d + v00 * z0 + v01 * z1, ss_s + v10 * z0 + v11 * z1
            if service_s > 0.0:  # the service at its mean SoC power
                power_w = e_soc_j / service_s
                ss_d, ss_s = amb + power_w * g_d, amb + power_w * g_s
                d0, d1 = die - ss_d, skin - ss_s
                z0 = (i00 * d0 + i01 * d1) * math.exp(l0 * service_s)
                z1 = (i10 * d0 + i11 * d1) * math.exp(l1 * service_s)
                die, skin = ss_d + v00 * z0 + v01 * z1, ss_s + v10 * z0 + v11 * z1
            self.die_c, self.skin_c = die, skin
            skin_th, die_th, gain, floor = self._clock_k
            x = 1.0 - gain * max(skin - skin_th, die - die_th)
            self._clock = floor if x < floor else (x if x < 1.0 else 1.0)  # = clock_scale()
        end = start + service_s
        if self._rad and radio_used:
            # Background energy was charged up to this request's start; the tail restarts at its end.
            self.radio_end_s = end
        self.free_at_s = end
        depleted = False
        if self._bat:
            soc = self.soc - energy_j / self._capacity_j
            self.soc = soc = soc if soc > 0.0 else 0.0  # clipped at 0, as :class:`..state.battery.Battery`
            depleted = soc <= self._cutoff
        if self._kv:
            self.turn += 1
            self.context += self._prompts[level] + self._new_tokens
            self.kv_split = split
            if self.turn >= self._turns or self.context >= self._max_context:
                self.turn, self.context, self.kv_split = 0, 0, -1
        buf = self._arrivals
        del buf[0]
        self.index += 1
        if self._q and self._poisson and self._gaps:  # _fill's Poisson case, inlined
            self._last_arrival += self._gaps.pop()
            buf.append(self._last_arrival)
        else:
            self._fill()
        head = buf[0]
        self.start_s = head if not self._q or head > end else end
        return depleted

    def observe(self) -> list[float]:
        """Features in [0, 1], in the order queue (wait, backlog), thermal (clock scale, skin), battery
        (SoC), radio (RRC state / 2, gap / (gap + T_rrc)), kv (context / max context)."""
        out: list[float] = []
        start = self.start_s
        if self._q:
            if start < math.inf:
                wait = start - self._arrivals[0]
                backlog = bisect_right(self._arrivals, start, 1) - 1  # the buffer is sorted
            else:
                wait, backlog = 0.0, 0
            out += (wait / (wait + WAIT_SCALE_S), backlog / LOOKAHEAD)
        if self._th_on:
            x = (self.skin_c - self._th[10]) / self._skin_span
            out += (self._clock, (0.0 if x < 0.0 else (x if x < 2.0 else 2.0)) / 2.0)
        if self._bat:
            out.append(self.soc if self.soc < 1.0 else 1.0)  # (never below 0: clipped when drawn)
        if self._rad:
            g = start - self.radio_end_s
            t_rrc = self._t_rrc
            idle = not g < t_rrc  # (a NaN gap after an exhausted trace reads as idle)
            # (a request that starts before the last one ended, without the queue, reads as gap 0)
            out += (1.0 if idle else 0.0, (g / (g + t_rrc) if g > 0.0 else 0.0) if g < math.inf else 1.0)
        if self._kv:
            x = self.context / self._max_context
            out.append(x if x < 1.0 else 1.0)
        return out
