"""The exogenous process of the fading environment: mobility, channel, load and requests.

Nothing here depends on the agent's actions, so the single environment simulates it ahead in blocks
(:meth:`ExogenousProcess.simulate`, vectorised over time with a parallel prefix scan) and the vector
environment
one step at a time for many environments (:meth:`ExogenousProcess.step`, vectorised over environments).
Both implement the same recursions, with ``Δt`` the request interval and ``v`` the speed:

* mobility: the device moves at ``v`` back and forth between ``d_lo`` and ``d_hi`` (m from the base
  station): unfolded position ``p' = (p + v Δt) mod 2W`` with ``W = d_hi - d_lo``, ``p ~ U[0, 2W)``,
  distance ``d = d_hi - |p - W|`` (uniform, stationary);
* LOS state: redrawn ``~ Bernoulli(P_LOS(d))`` (TR 38.901 UMi) with probability
  ``1 - exp(-v Δt / d_LOS)`` per request (spatial consistency, ``d_LOS`` = 50 m);
* shadowing: one unit Gudmundson process per condition, ``z' = R z + sqrt(1 - R^2) N(0, 1)``,
  ``R = exp(-v Δt / d_corr)`` (10 m LOS, 13 m NLOS), scaled by ``sigma_SF`` (4 / 7.82 dB) of the current
  condition;
* small-scale fading: ``h' = rho h + sqrt(1 - rho^2) CN(0, 1)``, ``rho = clip(J0(2 pi f_D Δt), 0, 0.9999)``;
  power gain ``|h|^2`` (NLOS, Rayleigh) or ``|sqrt(K/(K+1)) + h/sqrt(K+1)|^2`` (LOS, Rician K);
* SNR (dB) ``= P_tx + G - PL(d, LOS) - X_SF - N + 10 log10(gain)``, with ``N = -174 + 10 log10 B + NF``;
  the device observes ``SNR + N(0, sigma_est^2)``;
* device and edge utilisation: ``y' = a y + sqrt(1 - a^2) N(0, 1)``, ``u = clip(mean + std y, 0, 0.95)``;
* prompt length ``~ U{S_lo..S_hi}``, independent per request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.channels import (
    noise_power_dbm,
    rho_from_doppler,
    umi_decorrelation_distance_m,
    umi_los_probability,
    umi_path_loss_db,
    umi_shadowing_std_db,
)
from splitgym.envs.fading.config import FadingSplitConfig

__all__ = ["SAMPLE_FIELDS", "ExogenousProcess", "ProcessState", "Sample"]

LOAD_MAX = 0.95
F = NDArray[np.float64]


@dataclass
class ProcessState:
    """The hidden state of ``n`` environments (arrays of shape ``(n,)``)."""

    position: F  # unfolded position on the back-and-forth path [m]
    los: NDArray[np.bool_]
    z_los: F  # unit shadowing processes
    z_nlos: F
    fading: NDArray[np.complex128]  # diffuse fading coefficient, CN(0, 1)
    y_device: F  # unit load processes
    y_edge: F


@dataclass
class Sample:
    """One request's conditions; arrays of shape ``(n,)`` (one step) or ``(T, n)`` (a block)."""

    distance_m: F
    los: NDArray[np.bool_]
    snr_db: F
    snr_est_db: F
    prompt: NDArray[np.int64]
    device_load: F
    edge_load: F

    def row(self, t: int) -> Sample:
        """Row ``t`` of a block."""
        return Sample(*(getattr(self, f)[t] for f in SAMPLE_FIELDS))


SAMPLE_FIELDS = ("distance_m", "los", "snr_db", "snr_est_db", "prompt", "device_load", "edge_load")


class ExogenousProcess:
    """Constants and recursions of the process above for one configuration."""

    def __init__(self, config: FadingSplitConfig) -> None:
        c = config
        self.config = c
        self.d_lo, self.d_hi = c.distance_m
        self.width = self.d_hi - self.d_lo
        self.move = c.speed_mps * c.request_interval_s  # metres per request
        self.p_redraw = -math.expm1(-self.move / c.los_decorrelation_m)
        corr = umi_decorrelation_distance_m(np.array([True, False]))
        self.r_los, self.r_nlos = (math.exp(-self.move / float(x)) for x in corr)
        self.sigma_los, self.sigma_nlos = (float(x) for x in umi_shadowing_std_db(np.array([True, False])))
        self.rho = rho_from_doppler(c.speed_mps, c.carrier_hz, c.request_interval_s)
        k = 10.0 ** (c.rician_k_db / 10.0)
        self.los_mean = math.sqrt(k / (k + 1.0))
        self.los_scatter = math.sqrt(1.0 / (k + 1.0))
        self.budget_db = (
            c.tx_power_dbm + c.antenna_gain_db - float(noise_power_dbm(c.bandwidth_hz, c.noise_figure_db))
        )
        self.a_load = c.load_correlation
        self.prompt_lo, self.prompt_hi = c.prompt_tokens

    # -- shared pieces -------------------------------------------------------------------------------
    def distance(self, position: F) -> F:
        return np.asarray(self.d_hi - np.abs(position - self.width), dtype=np.float64)

    def _sample(
        self, state_like: dict[str, NDArray[np.generic]], rng: np.random.Generator, shape: tuple[int, ...]
    ) -> Sample:
        c = self.config
        d = self.distance(np.asarray(state_like["position"]))
        los = np.asarray(state_like["los"], dtype=bool)
        h = np.asarray(state_like["fading"])
        gain = np.where(los, np.abs(self.los_mean + self.los_scatter * h) ** 2, np.abs(h) ** 2)
        z_los = np.asarray(state_like["z_los"], dtype=np.float64)
        z_nlos = np.asarray(state_like["z_nlos"], dtype=np.float64)
        shadow = np.where(los, self.sigma_los * z_los, self.sigma_nlos * z_nlos)
        path_loss = umi_path_loss_db(d, los, carrier_hz=c.carrier_hz)
        snr = self.budget_db - path_loss - shadow + 10.0 * np.log10(np.maximum(gain, 1e-30))
        est = snr + c.snr_estimate_std_db * rng.standard_normal(shape)
        prompt = rng.integers(self.prompt_lo, self.prompt_hi + 1, size=shape)
        return Sample(
            distance_m=d,
            los=los,
            snr_db=snr,
            snr_est_db=est,
            prompt=prompt,
            device_load=self._load(c.device_load, np.asarray(state_like["y_device"])),
            edge_load=self._load(c.edge_load, np.asarray(state_like["y_edge"])),
        )

    @staticmethod
    def _load(mean_std: tuple[float, float], y: F) -> F:
        return np.asarray(np.clip(mean_std[0] + mean_std[1] * y, 0.0, LOAD_MAX), dtype=np.float64)

    def _los_draw(self, d: F, rng: np.random.Generator) -> NDArray[np.bool_]:
        return np.asarray(rng.random(d.shape) < umi_los_probability(d))

    # -- initial state -------------------------------------------------------------------------------
    def init(self, rng: np.random.Generator, n: int) -> tuple[ProcessState, Sample]:
        """Stationary initial state of ``n`` environments and their first request."""
        position = rng.uniform(0.0, 2.0 * self.width, n) if self.width > 0 else np.zeros(n)
        los = self._los_draw(self.distance(position), rng)
        fading = np.asarray(
            (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * math.sqrt(0.5), dtype=np.complex128
        )
        state = ProcessState(
            position=position,
            los=los,
            z_los=rng.standard_normal(n),
            z_nlos=rng.standard_normal(n),
            fading=fading,
            y_device=rng.standard_normal(n),
            y_edge=rng.standard_normal(n),
        )
        return state, self._sample(vars(state), rng, (n,))

    # -- one step for many environments --------------------------------------------------------------
    def step(self, state: ProcessState, rng: np.random.Generator) -> Sample:
        """Advance every environment one request; return the new requests."""
        n = state.position.shape[0]
        if self.width > 0:
            state.position = np.mod(state.position + self.move, 2.0 * self.width)
        d = self.distance(state.position)
        redraw = rng.random(n) < self.p_redraw
        state.los = np.where(redraw, self._los_draw(d, rng), state.los)
        state.z_los = _ar1(state.z_los, self.r_los, rng.standard_normal(n))
        state.z_nlos = _ar1(state.z_nlos, self.r_nlos, rng.standard_normal(n))
        w = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * math.sqrt(0.5)
        state.fading = self.rho * state.fading + math.sqrt(1.0 - self.rho**2) * w
        state.y_device = _ar1(state.y_device, self.a_load, rng.standard_normal(n))
        state.y_edge = _ar1(state.y_edge, self.a_load, rng.standard_normal(n))
        return self._sample(vars(state), rng, (n,))

    # -- a block of steps for few environments -------------------------------------------------------
    def simulate(self, state: ProcessState, rng: np.random.Generator, steps: int) -> Sample:
        """The next ``steps`` requests of each environment, arrays ``(steps, n)``; ``state`` advances."""
        n = state.position.shape[0]
        shape = (steps, n)
        t = np.arange(1, steps + 1, dtype=np.float64)[:, None]
        position = (
            np.mod(state.position[None, :] + self.move * t, 2.0 * self.width)
            if self.width > 0
            else np.zeros(shape)
        )
        d = self.distance(position)
        redraw = rng.random(shape) < self.p_redraw
        candidate = self._los_draw(d, rng)
        last = np.maximum.accumulate(np.where(redraw, np.arange(steps)[:, None], -1), axis=0)
        los = np.where(last >= 0, np.take_along_axis(candidate, np.maximum(last, 0), axis=0), state.los)
        z_los = _ar1_block(state.z_los, self.r_los, rng.standard_normal(shape))
        z_nlos = _ar1_block(state.z_nlos, self.r_nlos, rng.standard_normal(shape))
        w = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * math.sqrt(0.5)
        fading = _ar1_block(state.fading, self.rho, w)
        y_device = _ar1_block(state.y_device, self.a_load, rng.standard_normal(shape))
        y_edge = _ar1_block(state.y_edge, self.a_load, rng.standard_normal(shape))
        block = {
            "position": position,
            "los": los,
            "z_los": z_los,
            "z_nlos": z_nlos,
            "fading": fading,
            "y_device": y_device,
            "y_edge": y_edge,
        }
        for name, values in block.items():
            setattr(state, name, np.array(values[-1]))
        return self._sample(block, rng, shape)


def _ar1(x: F, a: float, noise: Any) -> F:
    """``a x + sqrt(1 - a^2) noise``."""
    return np.asarray(a * x + math.sqrt(max(0.0, 1.0 - a * a)) * noise)


def _ar1_block(x0: NDArray[np.generic], a: float, noise: NDArray[np.generic]) -> NDArray[np.generic]:
    """``T`` steps of :func:`_ar1` from ``x0`` along axis 0 by a Hillis-Steele scan (``log2 T`` array ops).

    With innovations ``e_t = sqrt(1 - a^2) noise_t`` (plus ``a x0`` at ``t = 0``), after the pass with
    shift ``d`` each entry holds ``sum_{j < 2d} a^j e_{t-j}``; powers of ``a <= 1`` keep it stable.
    """
    y = math.sqrt(max(0.0, 1.0 - a * a)) * np.asarray(noise)
    y[0] = y[0] + a * np.asarray(x0)
    shift, power = 1, a
    while shift < y.shape[0]:
        y[shift:] = y[shift:] + power * y[:-shift]
        shift, power = 2 * shift, power * power
    return y
