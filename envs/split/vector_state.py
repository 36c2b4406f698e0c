"""The sequential state of ``n`` v1 split environments as numpy arrays (the batched :mod:`.state`).

:class:`VectorSessionState` holds, for every lane of
:class:`~splitgym.envs.split.vector.FadingSplitV1VectorEnv`,
what :class:`~splitgym.envs.split.state.SessionState` holds for one environment, with the same semantics
(the formulas are stated there) evaluated by the vectorised components and functions of
:mod:`splitgym.envs.state`:

* **queue**: :class:`~splitgym.envs.state.queue.RequestQueue` (Poisson / periodic / trace arrivals drawn from
  the env's generator, FIFO single server ``s_i = max(a_i, D_(i-1))``); without it request ``i`` arrives at
  ``i·request_interval_s`` and starts then;
* **thermal**: :class:`~splitgym.envs.state.thermal.ThermalModel` (exact two-node RC step over the idle gap
  at the SoC idle power, then over the service at ``E_soc / S``), clock scale ``c`` stretching device compute;
* **battery**: :class:`~splitgym.envs.state.battery.Battery` (``SoC -= E / (eta C)``, depleted at the cutoff);
* **radio**: :func:`~splitgym.envs.state.radio.promotion_after_gap` and
  :func:`~splitgym.envs.state.radio.background_energy_j` with the C-DRX average over the whole tail
  (``tail_power_w = P_cdrx`` of the world's modem), from the time of the last radio activity;
* **kv**: :class:`~splitgym.envs.state.kv.KVCache` (context, split; :func:`~splitgym.envs.state.kv.split_move`
  for the moved bytes) plus the turn counter; migrate at the pool entry's PUSCH goodput, or recompute at the
  side's per-layer prefill time; the memory mask adds :meth:`KVParams.device_bytes
  <splitgym.envs.state.kv.KVParams.device_bytes>` of the context to the weights.

Nothing here is drawn except the arrivals (``rng`` passed to :meth:`VectorSessionState.reset`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.split.config import STATE_COMPONENTS, SplitConfig
from splitgym.envs.split.state import LOOKAHEAD, WAIT_SCALE_S
from splitgym.envs.split.world import SplitWorld
from splitgym.envs.state._checks import positive_features
from splitgym.envs.state.battery import Battery, BatteryParams
from splitgym.envs.state.kv import KVCache, KVParams, split_move
from splitgym.envs.state.queue import ArrivalParams, RequestQueue
from splitgym.envs.state.radio import (
    RRC_IDLE,
    RadioParams,
    background_energy_j,
    promotion_after_gap,
    rrc_state_after_gap,
)
from splitgym.envs.state.thermal import ThermalModel, ThermalParams, rise_feature

__all__ = ["STATE_INFO_KEYS", "VectorInputs", "VectorSessionState"]

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741
B = NDArray[np.bool_]
STATE_INFO_KEYS = (
    "arrival_s", "start_s", "wait_s", "promotion_s", "radio_gap_s", "kv_bytes", "kv_move_s", "kv_from_split",
    "context_tokens", "clock_scale", "die_c", "skin_c", "battery_soc",
)  # fmt: skip


@dataclasses.dataclass
class VectorInputs:
    """What the state adds to each lane's request at its split (arrays of the split's shape)."""

    stretch: F  # device compute multiplier 1/clock scale
    extra_s: F  # waiting + promotion + KV move delay (s), added to TTFT and total
    extra_j: F  # promotion + gap background + KV move energy (J)
    wait_s: F
    promotion_s: F
    kv_bytes: F
    kv_s: F


class VectorSessionState:
    """The composed state components of ``n`` environments, as arrays of shape ``(n,)``."""

    def __init__(self, config: SplitConfig, world: SplitWorld, n: int) -> None:
        c = self.config = config
        self.n = n
        self.on = {name: name in c.state for name in STATE_COMPONENTS}
        self.num_layers = L = world.num_layers
        e = world.energy
        self.arrivals = ArrivalParams(
            kind=c.arrival_kind, rate_per_s=c.arrival_rate_per_s, period_s=c.arrival_period_s,
            trace_s=c.arrival_trace_s if c.arrival_kind == "trace" else (), lookahead=LOOKAHEAD,
            wait_scale_s=WAIT_SCALE_S,
        )  # fmt: skip
        self.queue = RequestQueue(self.arrivals, n)
        self.thermal_params = ThermalParams(
            ambient_c=c.thermal_ambient_c, skin_throttle_c=c.thermal_skin_throttle_c,
            die_throttle_c=c.thermal_die_throttle_c,
        )  # fmt: skip
        self.thermal = ThermalModel(self.thermal_params, n)
        self.battery = Battery(
            BatteryParams(capacity_wh=c.battery_capacity_wh, initial_soc=c.battery_initial_soc), n
        )
        self.radio = RadioParams(
            inactivity_timer_s=c.rrc_inactivity_s, drx_inactivity_s=min(0.1, c.rrc_inactivity_s)
        )
        # The gap's background: the world's C-DRX average over the tail, then IDLE ([A], state.py).
        self.background = dataclasses.replace(self.radio, tail_power_w=float(e.radio.cdrx_w))
        comp = world.comp
        self.kv_params = KVParams(
            n_layers=L, kv_bytes_per_token_per_layer=float(comp.arch.kv_bytes_per_token(2.0)),
            max_context_tokens=int(comp.arch.max_positions), device_keeps_hidden=False,
        )  # fmt: skip
        self.kv = KVCache(self.kv_params, n)
        self.turn = np.zeros(n, dtype=np.int64)
        self._idle_w = float(e.idle_w)
        self._prefill_w = float(e.prefill_w)
        self._rx_w = float(e.radio.rx_w)
        self._prompts = world.prompts
        self._dev_prefill = comp.dev_prefill_s  # (level, k)
        self._edge_prefill = comp.edge_prefill_s
        ks = np.arange(L + 1)[None, :]
        kv_mem = self.kv_params.device_bytes(ks, world.prompts[:, None] + c.new_tokens)
        self._weights_mem = comp.memory_bytes - kv_mem  # (level, k): the memory without the KV
        self._budget = float(world.memory_budget_bytes)
        self._feasible = world.feasible
        self._fallback_flat = world.fallback.ravel()
        # The device KV grows with the context, so if the longest context a conversation can reach (below
        # the limit, plus a request) fits at every feasible split, the memory mask is the weights' one.
        longest = self.kv_params.max_context_tokens - 1 + world.prompts[:, None] + c.new_tokens
        need = self._weights_mem + self.kv_params.device_bytes(ks, longest)
        self._kv_binds = bool((world.feasible & (need > self._budget)).any())
        self._ul_bps = np.asarray(world.uplink_rate_bps)
        self._dl_bps = np.asarray(world.downlink_rate_bps)
        self._splits = np.arange(L + 1)
        self.index = np.zeros(n, dtype=np.int64)  # requests served in the episode
        self.free_at_s = np.zeros(n)
        self.radio_end_s = np.full(n, -np.inf)
        self.start_s = np.zeros(n)
        self.obs_dim = 2 * self.on["queue"] + 2 * self.on["thermal"] + self.on["battery"] + 2 * self.on[
            "radio"] + self.on["kv"]  # fmt: skip

    # -- reset -------------------------------------------------------------------------------------------
    def reset(self, rng: np.random.Generator, rows: I | None = None) -> None:
        """Start the lanes ``rows`` (default all) afresh, as :meth:`SessionState.reset
        <splitgym.envs.split.state.SessionState.reset>`."""
        sel = np.ones(self.n, dtype=bool)
        if rows is not None:
            sel = np.zeros(self.n, dtype=bool)
            sel[rows] = True
        idx = slice(None) if rows is None else rows
        if self.on["queue"]:
            self.queue.reset(rng, sel)
        self.thermal.reset(mask=sel)
        self.battery.reset(rng, sel)
        self.kv.reset(mask=sel)
        self.turn[idx] = 0
        self.index[idx] = 0
        self.free_at_s[idx] = 0.0
        self.radio_end_s[idx] = -np.inf  # no radio activity yet: the first request promotes from IDLE
        self.start_s[idx] = self._next_start()[idx]
        self._update_clock()

    def _next_start(self) -> F:
        if self.on["queue"]:
            return np.maximum(self.queue.upcoming_s[:, 0], self.free_at_s)
        return np.asarray(self.index * self.config.request_interval_s, dtype=np.float64)

    # -- what the state adds ---------------------------------------------------------------------------
    @property
    def head_arrival_s(self) -> F:
        """Arrival time of each lane's current request (s)."""
        if self.on["queue"]:
            return self.queue.upcoming_s[:, 0].copy()
        return self.start_s.copy()

    @property
    def exhausted(self) -> B:
        """Lanes whose arrival trace has no request left (the episode is truncated there)."""
        return np.asarray(~np.isfinite(self.start_s))

    def gap_s(self) -> F:
        """Time since the last radio activity at the current request's start (inf before any; never NaN:
        the last activity is finite or ``-inf``)."""
        return np.asarray(self.start_s - self.radio_end_s)

    def clock_scale(self) -> F:
        """Each lane's clock scale in ``[clock_floor, 1]`` (1 without the thermal component), read-only."""
        return self._clock

    def _update_clock(self) -> None:
        self._clock = np.asarray(self.thermal.clock_scale) if self.on["thermal"] else np.ones(self.n)
        self._clock.flags.writeable = False

    @staticmethod
    def _lanes(x: NDArray[Any], ndim: int) -> NDArray[Any]:
        """A per-lane array ``(n,)`` shaped to broadcast against splits of ``ndim`` dimensions (an array
        already of that many dimensions as it is)."""
        return x.reshape(x.shape + (1,) * (ndim - x.ndim)) if x.ndim < ndim else x

    def inputs(self, split: I, level: I, pool: I, tx_w: F) -> VectorInputs:
        """What the state adds to each lane's current request at ``split`` (``(n,)`` or ``(n, m)``; the
        other arguments per lane, or already broadcast); no state change."""
        split = np.asarray(split, dtype=np.int64)
        d = split.ndim
        on, shape = self.on, split.shape
        zeros = np.zeros(shape)
        wait = self._lanes(self.queue.waiting_time_s(), d) if on["queue"] else zeros
        wait = np.broadcast_to(wait, shape)
        stretch = np.broadcast_to(self._lanes(1.0 / self.clock_scale(), d), shape)
        extra_j = zeros.copy()
        promo = zeros
        if on["radio"]:
            g = self.gap_s()
            finite = np.isfinite(g)
            g0 = np.maximum(np.where(finite, self.free_at_s - self.radio_end_s, 0.0), 0.0)
            g1 = np.where(finite, g, 0.0)
            background = np.where(
                finite, background_energy_j(self.background, g0, np.maximum(g1 - g0, 0.0)), 0.0
            )
            delay, _ = promotion_after_gap(self.radio, g)
            promo = np.where(split < self.num_layers, self._lanes(delay, d), 0.0)
            extra_j = extra_j + self._lanes(background, d) + promo * self.radio.promotion_w
        kv_bytes = kv_s = zeros
        if on["kv"]:
            context = self._lanes(self.kv.context_tokens, d)
            move = split_move(self.kv_params, self._lanes(self.kv.split, d), split, context)
            moved = (context > 0) & (move.moved_layers > 0)
            if self.config.kv_mode == "migrate":
                kv_bytes = np.where(moved, move.migrate_bytes, 0.0)
                rate = np.where(move.to_device, self._lanes(self._dl_bps.take(pool), d),
                                self._lanes(self._ul_bps.take(pool), d))  # fmt: skip
                # abandoned at the request's timeout [A], as the single env
                kv_s = np.minimum(8.0 * kv_bytes / rate, self.config.horizon_s)
                power = np.where(move.to_device, self._rx_w, self._lanes(np.asarray(tx_w), d))
                extra_j = extra_j + power * kv_s
            else:
                old = self._lanes(self.kv.split, d)
                lo, hi = np.minimum(split, old), np.maximum(split, old)
                lv = self._lanes(level, d)
                per_token = context / self._prompts.take(lv)
                dev = (self._dev_prefill[lv, hi] - self._dev_prefill[lv, lo]) * per_token * stretch
                edge = (self._edge_prefill[lv, lo] - self._edge_prefill[lv, hi]) * per_token
                kv_s = np.where(moved, np.where(move.to_device, dev, edge), 0.0)
                extra_j = extra_j + np.where(moved & move.to_device, self._prefill_w * kv_s, 0.0)
        return VectorInputs(stretch, wait + promo + kv_s, extra_j, wait, promo, kv_bytes, kv_s)

    def mask(self, level: I) -> B:
        """Feasible splits of each lane's current request ``(n, L + 1)``: weights + the context's device KV
        within the memory budget (the weights' mask where no split fits)."""
        rows: B = np.asarray(self._feasible.take(level, axis=0))
        if not self.on["kv"] or not self._kv_binds:
            return rows
        ctx = self.kv.context_tokens
        busy = np.flatnonzero(ctx > 0)  # at context 0 the weights' mask already counts the request's KV
        if busy.size:
            lv = level[busy]
            tokens = ctx[busy] + self._prompts.take(lv) + self.config.new_tokens
            need = self._weights_mem[lv] + self.kv_params.device_bytes(self._splits[None, :], tokens[:, None])
            fits: B = rows[busy] & np.asarray(need <= self._budget)
            rows[busy] = np.where(np.asarray(fits.any(axis=1))[:, None], fits, rows[busy])
        return rows

    def execute(self, mask: B, level: I, requested: I) -> I:
        """The split that runs for each requested one under the lanes' ``mask`` (:meth:`mask`): the world's
        fallback table where the memory mask is the weights' one, else :meth:`nearest`."""
        if not self.on["kv"] or not self._kv_binds:
            return np.asarray(self._fallback_flat.take(level * (self.num_layers + 1) + requested))
        return self.nearest(mask, requested)

    @staticmethod
    def nearest(mask: B, requested: I) -> I:
        """The nearest feasible split to each requested one under ``mask`` (ties to the lower split)."""
        n = requested.shape[0]
        executed = requested.copy()
        bad = np.flatnonzero(~mask[np.arange(n), requested])
        if bad.size:
            ks = np.arange(mask.shape[1])[None, :]
            dist = np.where(mask[bad], np.abs(ks - requested[bad, None]) + 1e-3 * ks, np.inf)
            executed[bad] = np.argmin(dist, axis=1)
        return executed

    # -- advance / observe -----------------------------------------------------------------------------
    def advance(self, live: B, split: I, level: I, service_s: F, e_soc_j: F, energy_j: F) -> B:
        """Commit every lane's executed request; returns the ``live`` lanes whose battery is depleted.

        Lanes that are not ``live`` are reset at the end of the step (:meth:`reset`), so they advance too
        (one array operation each instead of a masked one), except those past an exhausted arrival trace
        (nothing to serve), which stay as they are."""
        on = self.on
        start, service = self.start_s, np.asarray(service_s, dtype=np.float64)
        stale = ~np.isfinite(start)  # past an exhausted trace: never live
        any_stale = bool(stale.any())
        if any_stale:
            start = np.where(stale, self.free_at_s, start)
            service = np.where(stale, 0.0, service)
        if on["thermal"]:
            th = self.thermal
            die, skin = th.predict(
                np.maximum(start - self.free_at_s, 0.0), self._idle_w, (th.die_c, th.skin_c)
            )
            busy = service > 0.0
            power = np.where(busy, np.maximum(e_soc_j, 0.0) / np.where(busy, service, 1.0), 0.0)
            th.die_c, th.skin_c = th.predict(service, power, (die, skin))
            self._update_clock()
        end = start + service
        if on["radio"]:
            self.radio_end_s = np.where(split < self.num_layers, end, self.radio_end_s)
        self.free_at_s = end
        depleted = live
        if on["battery"]:
            depleted = live & self.battery.advance(energy_j).depleted
        if on["kv"]:
            self.turn += 1
            # A copy: resetting ended conversations below writes into kv.split, not the caller's array.
            self.kv.split = np.array(split, dtype=np.int64)  # (KVCache.move_split without its cost)
            context = self.kv.advance(self._prompts.take(level), self.config.new_tokens)
            done = (self.turn >= self.config.turns_per_conversation) | (
                context >= self.kv_params.max_context_tokens
            )
            if done.any():
                self.turn[done] = 0
                self.kv.reset(mask=done)
        if on["queue"]:
            self.queue.advance(service, ~stale if any_stale else None)
            self.free_at_s = self.queue.free_at_s
        self.index += 1
        self.start_s = self._next_start()
        return np.asarray(depleted if on["battery"] else np.zeros(self.n, dtype=bool))

    def kv_from_split(self) -> I:
        """Each lane's split holding the context's KV (-1 where there is no context)."""
        return np.where(self.kv.context_tokens > 0, self.kv.split, -1)

    def observe(self) -> NDArray[np.float32]:
        """Features in [0, 1] ``(n, obs_dim)``, in :meth:`SessionState.observe
        <splitgym.envs.split.state.SessionState.observe>`'s order."""
        out: list[F] = []
        on = self.on
        if on["queue"]:
            up = self.queue.upcoming_s
            finite = np.isfinite(self.start_s)
            start = np.where(finite, self.start_s, 0.0)
            wait = np.where(finite, start - up[:, 0], 0.0)
            backlog = np.zeros(self.n)  # buffered arrivals after the head by the start (rows are sorted)
            for j in range(1, LOOKAHEAD):
                arrived = up[:, j] <= start
                if not arrived.any():
                    break
                backlog += arrived
            out += [positive_features(wait, WAIT_SCALE_S), backlog / LOOKAHEAD]
        if on["thermal"]:
            p = self.thermal_params
            out += [self._clock, rise_feature(p, self.thermal.skin_c, p.skin_throttle_c)]
        if on["battery"]:
            out.append(np.clip(self.battery.soc, 0.0, 1.0))
        if on["radio"]:
            g = self.gap_s()
            idle = rrc_state_after_gap(self.radio, g) == RRC_IDLE
            out += [idle.astype(np.float64), positive_features(g, self.radio.inactivity_timer_s)]
        if on["kv"]:
            out.append(np.minimum(self.kv.context_tokens / self.kv_params.max_context_tokens, 1.0))
        if not out:
            return np.zeros((self.n, 0), dtype=np.float32)
        return np.stack(out, axis=1).astype(np.float32)
