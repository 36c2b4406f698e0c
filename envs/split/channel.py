"""Between requests: mobility, large-scale channel, uplink power control, loads, prompt and fading draw.

Nothing here depends on the agent's actions, so the single environment simulates it ahead in blocks and
the vector environment one request at a time for many environments; both use the same recursions, with
``Δt`` the request interval and ``v`` the speed [S: TR 38.901 UMi, as v0]:

* position back and forth between ``d_lo`` and ``d_hi``: ``p' = (p + v Δt) mod 2W``, ``d = d_hi - |p - W|``;
* LOS state redrawn ``~ Bernoulli(P_LOS(d))`` with probability ``1 - exp(-v Δt / d_LOS)``;
* shadowing: unit Gudmundson AR(1) per condition, ``R = exp(-v Δt / d_corr)``, times ``sigma_SF``;
* path loss ``PL = PL_UMi(d, LOS) + X_SF``; PUSCH power on all ``M`` PRBs (TS 38.213 7.1.1, no TPC)
  ``P = min(P_CMAX, P0 + 10 log10(2^mu M) + alpha PL)``; large-scale SNR
  ``P - PL - N_M - IoT`` with ``N_M`` the noise over the ``M`` PRBs [K];
* the device's estimate of it ``+ N(0, sigma_est^2)`` (L3-filtered RSRP, measured in DRX too) [A];
* loads: unit AR(1) ``y' = a y + sqrt(1 - a^2) N(0, 1)``, ``u = clip(mean + std y, 0, 0.95)``;
* prompt level ``~ U{0..n_s - 1}`` and fading realisation ``r ~ U{0..R - 1}``, independent per request.

**Drawn** here: everything above, once per request. Small-scale fading is *not* drawn here: it is the
pool realisation ``r`` (:mod:`.fading`), whose blocks the request's own transmissions read, so the
observation (built from this module's state and the previous request) never sees the fading of the
request being decided; at ``Δt = 1 s`` and walking speed ``J0(2 pi f_D Δt) ~ 0``, so independent
realisations per request are what the Doppler spectrum gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.channels import (
    umi_decorrelation_distance_m,
    umi_los_probability,
    umi_path_loss_db,
    umi_shadowing_std_db,
)
from splitgym.envs.channels.nr import n_prb, prb_noise_power_dbm
from splitgym.envs.split.config import SplitConfig

__all__ = ["FIELDS", "LargeScale", "Request", "RequestProcess"]

F = NDArray[np.float64]
LOAD_MAX = 0.95


@dataclass
class LargeScale:
    """Hidden between-request state of ``n`` environments, arrays ``(n,)``."""

    position: F
    los: NDArray[np.bool_]
    z_los: F
    z_nlos: F
    y_device: F
    y_edge: F


@dataclass
class Request:
    """One request's conditions per environment; arrays ``(n,)`` or ``(T, n)`` for a block."""

    distance_m: F
    los: NDArray[np.bool_]
    path_loss_db: F
    tx_power_dbm: F
    snr_db: F
    snr_est_db: F
    prompt_level: NDArray[np.int64]
    fading_r: NDArray[np.int64]
    device_load: F
    edge_load: F

    def take(self, index: object) -> Request:
        return Request(*(getattr(self, f)[index] for f in FIELDS))


FIELDS = (
    "distance_m", "los", "path_loss_db", "tx_power_dbm", "snr_db", "snr_est_db", "prompt_level", "fading_r",
    "device_load", "edge_load",
)  # fmt: skip


class RequestProcess:
    """Constants and recursions of the process above for one configuration."""

    def __init__(self, config: SplitConfig, n_prompt_levels: int) -> None:
        c = config
        self.config = c
        self.d_lo, self.d_hi = c.distance_m
        self.width = self.d_hi - self.d_lo
        self.move = c.speed_mps * c.request_interval_s
        self.p_redraw = -math.expm1(-self.move / c.los_decorrelation_m)
        corr = umi_decorrelation_distance_m(np.array([True, False]))
        self.r_los, self.r_nlos = (math.exp(-self.move / float(x)) for x in corr)
        self.sigma_los, self.sigma_nlos = (float(x) for x in umi_shadowing_std_db(np.array([True, False])))
        m = n_prb(c.bandwidth_hz, c.scs_hz)
        self.open_loop_dbm = c.p0_dbm + 10.0 * math.log10(2.0**c.mu * m)
        self.noise_dbm = float(prb_noise_power_dbm(m, c.mu, c.noise_figure_db))
        self.n_levels = n_prompt_levels

    def distance(self, position: F) -> F:
        return np.asarray(self.d_hi - np.abs(position - self.width), dtype=np.float64)

    def _sample(
        self, st: dict[str, NDArray[np.generic]], rng: np.random.Generator, shape: tuple[int, ...]
    ) -> Request:
        c = self.config
        d = self.distance(np.asarray(st["position"], dtype=np.float64))
        los = np.asarray(st["los"], dtype=bool)
        shadow = np.where(
            los, self.sigma_los * np.asarray(st["z_los"]), self.sigma_nlos * np.asarray(st["z_nlos"])
        )
        pl = np.asarray(umi_path_loss_db(d, los, carrier_hz=c.carrier_hz)) + shadow
        ptx = np.minimum(c.tx_power_dbm, self.open_loop_dbm + c.alpha * pl)
        snr = ptx - pl - self.noise_dbm - c.iot_db
        est = snr + c.snr_estimate_std_db * rng.standard_normal(shape)
        return Request(
            distance_m=d, los=los, path_loss_db=pl, tx_power_dbm=ptx, snr_db=snr, snr_est_db=est,
            prompt_level=rng.integers(0, self.n_levels, size=shape),
            fading_r=rng.integers(0, c.pool_size, size=shape),
            device_load=_load(c.device_load, np.asarray(st["y_device"])),
            edge_load=_load(c.edge_load, np.asarray(st["y_edge"])),
        )  # fmt: skip

    def init(self, rng: np.random.Generator, n: int) -> tuple[LargeScale, Request]:
        """Stationary initial state of ``n`` environments and their first request."""
        position = rng.uniform(0.0, 2.0 * self.width, n) if self.width > 0 else np.zeros(n)
        los = rng.random(n) < umi_los_probability(self.distance(position))
        st = LargeScale(position, np.asarray(los), rng.standard_normal(n), rng.standard_normal(n),
                        rng.standard_normal(n), rng.standard_normal(n))  # fmt: skip
        return st, self._sample(vars(st), rng, (n,))

    def step(self, st: LargeScale, rng: np.random.Generator) -> Request:
        """Advance every environment one request interval; return the new requests."""
        n = st.position.shape[0]
        a = self.config.load_correlation
        if self.width > 0:
            period = 2.0 * self.width
            p = st.position + self.move
            if 0.0 <= self.move < period:  # one wrap at most: p - 2W is exact (Sterbenz), as np.mod
                np.subtract(p, period, out=p, where=p >= period)
                st.position = p
            else:
                st.position = np.mod(p, period)
        d = self.distance(st.position)
        redraw = np.flatnonzero(rng.random(n) < self.p_redraw)
        cand = np.asarray(rng.random(n))
        if redraw.size:  # the LOS probability only where the state is redrawn (same draws as everywhere)
            los = np.array(st.los, dtype=bool)
            los[redraw] = cand[redraw] < umi_los_probability(d[redraw])
            st.los = los
        st.z_los = _ar1(st.z_los, self.r_los, rng.standard_normal(n))
        st.z_nlos = _ar1(st.z_nlos, self.r_nlos, rng.standard_normal(n))
        st.y_device = _ar1(st.y_device, a, rng.standard_normal(n))
        st.y_edge = _ar1(st.y_edge, a, rng.standard_normal(n))
        return self._sample(vars(st), rng, (n,))

    def simulate(self, st: LargeScale, rng: np.random.Generator, steps: int) -> Request:
        """The next ``steps`` requests of each environment, arrays ``(steps, n)``; ``st`` advances."""
        n = st.position.shape[0]
        shape = (steps, n)
        a = self.config.load_correlation
        t = np.arange(1, steps + 1, dtype=np.float64)[:, None]
        position = (
            np.mod(st.position[None] + self.move * t, 2.0 * self.width) if self.width > 0 else np.zeros(shape)
        )
        d = self.distance(position)
        redraw = rng.random(shape) < self.p_redraw
        cand = rng.random(shape) < umi_los_probability(d)
        last = np.maximum.accumulate(np.where(redraw, np.arange(steps)[:, None], -1), axis=0)
        los = np.where(last >= 0, np.take_along_axis(cand, np.maximum(last, 0), axis=0), st.los[None])
        block = {
            "position": position, "los": los,
            "z_los": _ar1_block(st.z_los, self.r_los, rng.standard_normal(shape)),
            "z_nlos": _ar1_block(st.z_nlos, self.r_nlos, rng.standard_normal(shape)),
            "y_device": _ar1_block(st.y_device, a, rng.standard_normal(shape)),
            "y_edge": _ar1_block(st.y_edge, a, rng.standard_normal(shape)),
        }  # fmt: skip
        for name, values in block.items():
            setattr(st, name, np.array(values[-1]))
        return self._sample(block, rng, shape)


def _load(mean_std: tuple[float, float], y: F) -> F:
    return np.asarray(np.clip(mean_std[0] + mean_std[1] * y, 0.0, LOAD_MAX), dtype=np.float64)


def _ar1(x: F, a: float, noise: F | float) -> F:
    return np.asarray(a * x + math.sqrt(max(0.0, 1.0 - a * a)) * noise)


def _ar1_block(x0: F, a: float, noise: F) -> F:
    """``T`` AR(1) steps from ``x0`` along axis 0 by a Hillis-Steele prefix scan."""
    y = math.sqrt(max(0.0, 1.0 - a * a)) * np.asarray(noise, dtype=np.float64)
    y[0] = y[0] + a * x0
    shift, power = 1, a
    while shift < y.shape[0]:
        y[shift:] = y[shift:] + power * y[:-shift]
        shift, power = 2 * shift, power * power
    return y
