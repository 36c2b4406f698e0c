"""Sequential state of the v1 split world (issue 13): components composed by ``SplitConfig.state``.

Each component has ``reset`` / ``advance`` / ``observe`` and is updated by the *executed* action; their
numbers come from the parameter classes of :mod:`splitgym.envs.state` (sources there), here evaluated in
Python scalars because a single environment steps one request at a time (numpy arrays of size 1 cost
~250-380 us a step for all five; these cost a few us). A request ``i`` of the episode, at split ``k``:

* **queue** (``"queue"``): arrivals ``a_i`` (Poisson ``arrival_rate_per_s``, periodic or a trace) and a FIFO
  single server: service starts ``s_i = max(a_i, D_{i-1})`` after waiting ``W_i = s_i - a_i`` and departs
  ``D_i = s_i + S_i`` (``S_i`` its service time); the waiting time counts in TTFT and total latency, hence
  in the deadlines (Lindley's recursion [K]). Without it requests arrive every ``request_interval_s`` and
  do not wait.
* **thermal** (``"thermal"``): the two-node (die, skin) RC model of :class:`ThermalParams`, advanced exactly
  (matrix exponential through its modes) over the idle gap at the SoC idle power and over the service at
  the request's mean SoC power ``E_soc / S``; its clock scale ``c`` in ``[floor, 1]`` at ``s_i`` stretches
  the device's compute: ``a_d -> a_d / c``.
* **battery** (``"battery"``): ``SoC -= E_i / (eta C)`` with ``E_i = info["energy_j"]`` (everything the step
  drew: SoC, modem, promotion, gap background, migration); ``SoC <= cutoff`` ends the episode (terminated).
* **radio** (``"radio"``): the RRC state after the gap ``g`` since the last radio activity
  (:func:`~splitgym.envs.state.radio.promotion_after_gap`): a request that uses the radio (``k < L``) after
  ``g >= T_rrc`` pays the promotion delay (added to its latency) and ``P_promo`` times it (energy); inside the
  tail it pays nothing. The gap's background modem energy ``P_cdrx min(g, T_rrc) + P_idle max(g - T_rrc, 0)``
  is charged to the next request (the DRX-inactivity excess right after a request is already in that
  request's energy, :mod:`.energy`) [A: C-DRX average over the RRC tail].
* **kv** (``"kv"``): conversations of ``turns_per_conversation`` turns; the context ``c`` grows by the prompt
  and the generated tokens each turn. Layers ``1..k`` hold their KV on the device, so changing the split
  from ``k'`` to ``k`` between turns moves ``|k - k'|`` layers' KV: ``kv_mode="migrate"`` sends
  ``|k - k'| c b_kv`` bytes over the link (uplink towards the edge, downlink towards the device) at the
  achieved rate of the request's pool realisation (the link model's own PUSCH goodput for this SNR and
  fading), at the PUSCH / PDSCH power; ``"recompute"`` recomputes the moved layers over the context on the
  side that gains them, at that side's per-layer prefill time per token (:mod:`.compute`). The delay adds to
  the latency, the device energy to the step's energy. The memory mask adds the device KV ``k (c + S) b_kv``
  to the weights' memory.

The observation gains only what the device knows: queue wait and backlog, its own clock scale and skin
temperature, battery level, RRC state and time since the last radio activity, context length.
[A] The exogenous request process (channel, loads) still advances one ``request_interval_s`` per request.
"""

from __future__ import annotations

import copy
import dataclasses
import math
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
LOOKAHEAD = 16  # arrivals buffered to count the backlog [A: 16 waiting requests = hopelessly overloaded]
WAIT_SCALE_S = 1.0  # waiting time the observation maps to 0.5 [A: about one request's latency]


def physics_config(config: SplitConfig) -> SplitConfig:
    """``config`` with the state fields at their defaults: the world's tables do not depend on them."""
    defaults: dict[str, Any] = {
        f.name: f.default for f in dataclasses.fields(SplitConfig) if f.name in STATE_FIELDS
    }
    return dataclasses.replace(config, **defaults)


@dataclasses.dataclass
class StepInputs:
    """What the state adds to one request at one split (all floats)."""

    stretch: float  # device compute multiplier 1/clock scale
    extra_s: float  # waiting + promotion + KV move delay (s), added to TTFT and total
    extra_j: float  # promotion + gap background + KV move energy (J)
    wait_s: float
    promotion_s: float
    kv_bytes: float
    kv_s: float


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
        self._rate_bps = world.uplink_rate_bps
        self._mask_cache: dict[
            tuple[int, int], NDArray[np.bool_]
        ] = {}  # (pool entries,) achieved PUSCH goodput
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
        self.now_s = 0.0
        self.free_at_s = 0.0
        self.index = 0
        self._arrivals: list[float] = []
        self._trace_pos = 0
        self._last_arrival = 0.0
        self._fill()
        self.die_c = self.skin_c = float(c.thermal_ambient_c)
        self.soc = float(c.battery_initial_soc)
        self.radio_end_s = -math.inf  # no radio activity yet: the first request promotes from IDLE
        self.context = 0
        self.turn = 0
        self.kv_split = -1  # no KV yet
        self.start_s = self._next_start()

    def _fill(self) -> None:
        c, buf = self.config, self._arrivals
        while len(buf) < LOOKAHEAD:
            if not self.on["queue"]:
                buf.append(self.index * c.request_interval_s + len(buf) * c.request_interval_s)
                continue
            if c.arrival_kind == "poisson":
                self._last_arrival += float(self._rng.exponential(1.0 / c.arrival_rate_per_s))
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
        twin._rng = rng
        return twin

    def _next_start(self) -> float:
        head = self._arrivals[0]
        return head if head > self.free_at_s or not self.on["queue"] else self.free_at_s

    def clock_scale(self) -> float:
        p = self.thermal
        hot = max(self.skin_c - p.skin_throttle_c, self.die_c - p.die_throttle_c)
        return min(max(1.0 - p.throttle_gain_per_k * hot, p.clock_floor), 1.0)

    def _heat(self, dt: float, power_w: float) -> None:
        """Exact two-node RC step (:meth:`ThermalModel.predict` in scalars)."""
        if dt <= 0.0:
            return
        (l0, l1), v, iv = self._lam, self._vec, self._inv
        amb = self.thermal.ambient_c
        ss_d, ss_s = amb + power_w * self._gain[0], amb + power_w * self._gain[1]
        d0, d1 = self.die_c - ss_d, self.skin_c - ss_s
        z0 = (iv[0][0] * d0 + iv[0][1] * d1) * math.exp(l0 * dt)
        z1 = (iv[1][0] * d0 + iv[1][1] * d1) * math.exp(l1 * dt)
        self.die_c = ss_d + v[0][0] * z0 + v[0][1] * z1
        self.skin_c = ss_s + v[1][0] * z0 + v[1][1] * z1

    @property
    def exhausted(self) -> bool:
        """Whether the arrival trace has no request left (the episode is truncated there)."""
        return not math.isfinite(self._arrivals[0])

    def gap_s(self) -> float:
        """Time since the last radio activity at the current request's start (inf before any)."""
        return self.start_s - self.radio_end_s

    def inputs(self, split: int, level: int, pool: int, tx_w: float) -> StepInputs:
        """What the state adds to the current request at ``split`` (no state change)."""
        on = self.on
        wait = self.start_s - self._arrivals[0] if on["queue"] else 0.0
        stretch = 1.0 / self.clock_scale() if on["thermal"] else 1.0
        extra_j = 0.0
        promo = 0.0
        if on["radio"]:
            g = self.gap_s()
            t_rrc = self.radio.inactivity_timer_s
            prev_gap = self.free_at_s - self.radio_end_s  # background already charged up to free_at
            if math.isfinite(g):
                g0 = max(prev_gap, 0.0)
                extra_j += self._cdrx_w * max(min(g, t_rrc) - min(g0, t_rrc), 0.0)
                extra_j += self._idle_modem_w * max(max(g, t_rrc) - max(g0, t_rrc), 0.0)
            if split < self.num_layers and g >= t_rrc:
                promo = self.radio.promotion_idle_s
                extra_j += self._promo_w * promo
        kv_bytes = kv_s = 0.0
        if on["kv"] and self.context > 0 and 0 <= self.kv_split != split:
            moved = abs(split - self.kv_split)
            to_device = split > self.kv_split
            if self.config.kv_mode == "migrate":
                kv_bytes = moved * self.context * self._kv_b
                kv_s = 8.0 * kv_bytes / self._rate_bps[pool]
                extra_j += (self._rx_w if to_device else tx_w) * kv_s
            else:
                lo, hi = min(split, self.kv_split), max(split, self.kv_split)
                per_token = self.context / self._prompts[level]
                if to_device:
                    kv_s = (self._dev_prefill[level][hi] - self._dev_prefill[level][lo]) * per_token * stretch
                    extra_j += self._prefill_w * kv_s
                else:
                    kv_s = (self._edge_prefill[level][lo] - self._edge_prefill[level][hi]) * per_token
        return StepInputs(stretch, wait + promo + kv_s, extra_j, wait, promo, kv_bytes, kv_s)

    def mask(self, level: int) -> NDArray[np.bool_]:
        """Feasible splits of the current request: weights + the context's device KV within the budget."""
        key = (level, self.context if self.on["kv"] else 0)
        cached = self._mask_cache.get(key)
        if cached is None:
            row = self._feasible[level]
            cached = np.array(row, dtype=bool)
            if self.on["kv"]:
                per_layer = (self.context + self._prompts[level] + self.config.new_tokens) * self._kv_b
                fits = [m + k * per_layer <= self._budget for k, m in enumerate(self._weights_mem[level])]
                mask = row & np.array(fits)
                if mask.any():  # else a context too long for any split: the weights' mask [A]
                    cached = mask
            cached.flags.writeable = False
            self._mask_cache[key] = cached
        return cached.copy()

    def advance(self, split: int, level: int, service_s: float, e_soc_j: float, energy_j: float,
                radio_used: bool) -> bool:  # fmt: skip
        """Commit the executed request; returns whether the battery is depleted."""
        on = self.on
        start = self.start_s
        if on["thermal"]:
            self._heat(start - self.free_at_s, self._idle_w)
            self._heat(service_s, e_soc_j / service_s if service_s > 0.0 else 0.0)
        end = start + service_s
        if on["radio"] and radio_used:
            # Background energy was charged up to this request's start; the tail restarts at its end.
            self.radio_end_s = end
        self.free_at_s = end
        depleted = False
        if on["battery"]:
            self.soc -= energy_j / self._capacity_j
            depleted = self.soc <= self.battery.cutoff_soc
        if on["kv"]:
            self.turn += 1
            self.context += self._prompts[level] + self.config.new_tokens
            self.kv_split = split
            if self.turn >= self.config.turns_per_conversation or self.context >= self._max_context:
                self.turn, self.context, self.kv_split = 0, 0, -1
        self._arrivals.pop(0)
        self.index += 1
        self._fill()
        if not on["queue"]:
            self.free_at_s = max(end, self.free_at_s)
        self.start_s = self._next_start()
        if not on["queue"]:
            self.start_s = self._arrivals[0]
        return depleted

    def observe(self) -> list[float]:
        """Features in [0, 1], in the order queue (wait, backlog), thermal (clock scale, skin), battery
        (SoC), radio (RRC state / 2, gap / (gap + T_rrc)), kv (context / max context)."""
        out: list[float] = []
        on = self.on
        if on["queue"]:
            wait = self.start_s - self._arrivals[0] if math.isfinite(self.start_s) else 0.0
            backlog = sum(1 for a in self._arrivals[1:] if a <= self.start_s)
            out += [wait / (wait + WAIT_SCALE_S), backlog / LOOKAHEAD]
        if on["thermal"]:
            p = self.thermal
            span = p.skin_throttle_c - p.ambient_c if p.skin_throttle_c > p.ambient_c else 1.0
            out += [self.clock_scale(), min(max((self.skin_c - p.ambient_c) / span, 0.0), 2.0) / 2.0]
        if on["battery"]:
            out.append(min(max(self.soc, 0.0), 1.0))
        if on["radio"]:
            g = self.gap_s()
            t_rrc = self.radio.inactivity_timer_s
            idle = not g < t_rrc  # (a NaN gap after an exhausted trace reads as idle)
            out += [1.0 if idle else 0.0, g / (g + t_rrc) if math.isfinite(g) else 1.0]
        if on["kv"]:
            out.append(min(self.context / self._max_context, 1.0))
        return out
