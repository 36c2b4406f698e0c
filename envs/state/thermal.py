"""Lumped two-node RC thermal model of the device (die and skin) with a throttling clock scale.

Equations [K] (dossier ``link_and_dynamics.md`` §5.2), temperatures in °C, power ``P`` in W::

    C_j dT_j/dt = P - (T_j - T_s)/R_js
    C_s dT_s/dt = (T_j - T_s)/R_js - (T_s - T_amb)/R_sa

With ``x = (T_j - T_amb, T_s - T_amb)`` this is ``dx/dt = A x + B P`` and, for ``P`` constant over a step
``dt``, the exact discretisation is ``x(t + dt) = x_ss + expm(A dt) (x(t) - x_ss)`` with the steady state
``x_ss = P·(R_js + R_sa, R_sa)``. ``A`` has two real negative eigenvalues ``-1/tau_fast`` and
``-1/tau_slow`` (an RC ladder), so ``expm(A dt) = V diag(exp(-dt/tau)) V^-1`` is evaluated for an array of
step lengths at once from a decomposition computed once per parameter set.

Clock scale (dossier §5.2 throttle rule [A]): with gain ``g`` per K and floor ``s_min``::

    s = clip(min(1 - g·(T_s - T_s,th), 1 - g·(T_j - T_j,th)), s_min, 1)

i.e. 1 below both throttle temperatures, falling linearly above either, never below the floor. Compute
time on the device stretches by ``1/s``.

Check against the measured sustained slowdowns (dossier §5.1: 0.56 of peak on an iPhone 16 Pro, 0.51 on
a Galaxy S25 Ultra CPU, after minutes of continuous decoding): with the default parameters and the
device drawing ``s·P_peak`` (fixed energy per token, so power follows throughput),
:func:`sustained_clock_scale` gives 0.54 at ``P_peak = 10 W`` with throttling after 6.4 min, but 0.90 at
the dossier's 5 W decode power, where the skin first reaches 42 °C only after about 22 min. The model
reproduces the measurements only for a peak power near 10 W.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from splitgym.envs.state._checks import as_mask, broadcast_n, check_int, check_scalar
from splitgym.errors import ConfigError

__all__ = [
    "ThermalModel",
    "ThermalParams",
    "ThermalState",
    "rise_feature",
    "steady_state_c",
    "sustained_clock_scale",
    "time_to_throttle_s",
]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class ThermalParams:
    """Two-node RC parameters and the throttle rule (defaults from dossier §5.2).

    Attributes:
        ambient_c: ambient temperature ``T_amb`` in °C. Default 25 [A: room temperature].
        r_die_skin_k_per_w: die-to-skin resistance ``R_js`` in K/W (``> 0``). Default 2 [A: dossier].
        c_die_j_per_k: die/package capacitance ``C_j`` in J/K (``> 0``). Default 2 [A: dossier], so
            ``R_js·C_j = 4 s`` (an informal S25+ per-zone fit gives CPU tau = 6-9 s [S: informal]).
        r_skin_ambient_k_per_w: skin-to-ambient resistance ``R_sa = 1/(h·A)`` in K/W (``> 0``). Default 4
            [A: dossier, h = 10-12 W/m²K natural convection, A = 0.024 m² both faces].
        c_skin_j_per_k: skin (whole-body) capacitance ``C_s = m·c_p`` in J/K (``> 0``). Default 170
            [A: dossier, 0.2 kg × 850 J/kgK], so ``R_sa·C_s ≈ 11 min`` (S25+ battery tau = 540 s
            [S: informal]).
        skin_throttle_c: skin temperature ``T_s,th`` where throttling starts, °C (``>= ambient_c``).
            Default 42 [S: Galaxy S25 Ultra throttled at 42 °C, dossier §5.1, informal].
        die_throttle_c: die temperature ``T_j,th`` where throttling starts, °C (``>= ambient_c``).
            Default 90 [A: dossier §5.2].
        throttle_gain_per_k: clock-scale drop per K above a throttle temperature (``> 0``). Default 0.1
            [A: dossier §5.2].
        clock_floor: lowest clock scale ``s_min`` in ``(0, 1]``. Default 0.5 [S: arXiv:2603.23640,
            iPhone 16 Pro sustained 56 % of peak; S25 Ultra CPU 51 %, dossier §5.1].
    """

    ambient_c: float = 25.0
    r_die_skin_k_per_w: float = 2.0
    c_die_j_per_k: float = 2.0
    r_skin_ambient_k_per_w: float = 4.0
    c_skin_j_per_k: float = 170.0
    skin_throttle_c: float = 42.0
    die_throttle_c: float = 90.0
    throttle_gain_per_k: float = 0.1
    clock_floor: float = 0.5

    def __post_init__(self) -> None:
        amb = check_scalar("ambient_c", self.ambient_c, gt=-273.15)
        for name in ("r_die_skin_k_per_w", "c_die_j_per_k", "r_skin_ambient_k_per_w", "c_skin_j_per_k"):
            check_scalar(name, getattr(self, name), gt=0.0)
        for name in ("skin_throttle_c", "die_throttle_c"):
            value = check_scalar(name, getattr(self, name))
            if value < amb:
                raise ConfigError(
                    f"{name} must be >= ambient_c ({amb:g} °C), got {value:g} (a throttle temperature "
                    "below ambient would throttle an idle device)"
                )
        check_scalar("throttle_gain_per_k", self.throttle_gain_per_k, gt=0.0)
        check_scalar("clock_floor", self.clock_floor, gt=0.0, le=1.0)

    # -- linear system --------------------------------------------------------------------------------
    @cached_property
    def system_matrix(self) -> F64:
        """``A`` of ``dx/dt = A x + B P`` (1/s)."""
        rjs, cj, rsa, cs = (
            self.r_die_skin_k_per_w,
            self.c_die_j_per_k,
            self.r_skin_ambient_k_per_w,
            self.c_skin_j_per_k,
        )
        return np.array([[-1 / (rjs * cj), 1 / (rjs * cj)], [1 / (rjs * cs), -(1 / rjs + 1 / rsa) / cs]])

    @cached_property
    def _modes(self) -> tuple[F64, F64, F64]:
        """Eigenvalues (1/s, ascending magnitude), eigenvectors and their inverse."""
        lam, vec = np.linalg.eig(self.system_matrix)
        order = np.argsort(-lam.real)  # slow mode (smallest |lambda|) first
        lam, vec = lam.real[order], vec.real[:, order]
        return lam, vec, np.linalg.inv(vec)

    @property
    def time_constants_s(self) -> tuple[float, float]:
        """``(tau_slow, tau_fast)`` in s, ``-1/eigenvalue`` of ``A``."""
        lam = self._modes[0]
        return float(-1.0 / lam[0]), float(-1.0 / lam[1])

    @property
    def steady_gain_k_per_w(self) -> tuple[float, float]:
        """Steady-state rise per W: ``(R_js + R_sa, R_sa)`` for (die, skin), in K/W."""
        return self.r_die_skin_k_per_w + self.r_skin_ambient_k_per_w, self.r_skin_ambient_k_per_w

    def clock_scale(self, die_c: ArrayLike, skin_c: ArrayLike) -> F64:
        """Clock scale ``s`` in ``[clock_floor, 1]`` at the given temperatures (see the module docstring)."""
        g = self.throttle_gain_per_k
        hottest = np.maximum(
            np.asarray(skin_c, dtype=np.float64) - self.skin_throttle_c,
            np.asarray(die_c, dtype=np.float64) - self.die_throttle_c,
        )
        return np.minimum(np.maximum(1.0 - g * hottest, self.clock_floor), 1.0)


def rise_feature(params: ThermalParams, temp_c: ArrayLike, throttle_c: float) -> F64:
    """Rise over ambient as a fraction of the throttle temperature's, ``clip(dT/dT_th, 0, 2)/2`` in [0, 1]
    (``dT_th = throttle_c - ambient_c``, taken as 1 K where that is 0)."""
    span = throttle_c - params.ambient_c if throttle_c > params.ambient_c else 1.0
    t = np.asarray(temp_c, dtype=np.float64)
    return np.asarray(np.clip((t - params.ambient_c) / span, 0.0, 2.0) / 2.0)


def steady_state_c(params: ThermalParams, power_w: ArrayLike) -> tuple[F64, F64]:
    """Steady (die, skin) °C under constant power: ``T_amb + P·(R_js + R_sa)``, ``T_amb + P·R_sa``."""
    p = np.asarray(power_w, dtype=np.float64)
    gd, gs = params.steady_gain_k_per_w
    return params.ambient_c + p * gd, params.ambient_c + p * gs


def sustained_clock_scale(params: ThermalParams, peak_power_w: float, base_power_w: float = 0.0) -> float:
    """Closed-loop steady clock scale when the device draws ``P(s) = base + (peak - base)·s`` W.

    Solves ``s = clock_scale(T_ss(P(s)))`` (a decreasing function of ``s`` on the right, so the root is
    unique) with Brent's method. Energy per token fixed means power follows throughput, hence ``P ∝ s``.
    """
    peak = check_scalar("peak_power_w", peak_power_w, ge=0.0)
    base = check_scalar("base_power_w", base_power_w, ge=0.0, le=peak)

    def gap(s: float) -> float:
        die, skin = steady_state_c(params, base + (peak - base) * s)
        return float(params.clock_scale(die, skin)) - s

    if gap(1.0) >= 0.0:
        return 1.0
    if gap(params.clock_floor) <= 0.0:
        return params.clock_floor
    return float(brentq(gap, params.clock_floor, 1.0, xtol=1e-12))


def time_to_throttle_s(params: ThermalParams, power_w: float) -> float:
    """Time (s) from ambient until the clock scale drops below 1 at constant ``power_w`` (or ``inf``)."""
    p = check_scalar("power_w", power_w, ge=0.0)
    die_ss, skin_ss = steady_state_c(params, p)
    if float(params.clock_scale(die_ss, skin_ss)) >= 1.0:
        return float("inf")
    model = ThermalModel(params, 1)

    def margin(t: float) -> float:
        die, skin = model.predict(t, p, (params.ambient_c, params.ambient_c))
        return float(min(params.skin_throttle_c - skin, params.die_throttle_c - die))

    hi = 1.0
    while margin(hi) > 0.0:
        hi *= 2.0
    return float(brentq(margin, 0.0, hi, xtol=1e-9))


@dataclass(frozen=True)
class ThermalState:
    """Temperatures (°C) and clock scale per env, arrays of shape ``(n,)``."""

    die_c: F64
    skin_c: F64
    clock_scale: F64


class ThermalModel:
    """The two-node model for ``n`` environments (see the module docstring).

    Observation (:meth:`observe`, float32, shape ``(n, 3)``, each in ``[0, 1]``):
    ``[clip(dT_s/dT_s,th, 0, 2)/2, clip(dT_j/dT_j,th, 0, 2)/2, s]`` where ``dT`` is the rise over ambient
    and ``dT_th`` the throttle temperature's rise over ambient (1 where that rise is 0). ``s`` lies in
    ``[clock_floor, 1]``.
    """

    n_features = 3

    def __init__(self, params: ThermalParams, n: int = 1) -> None:
        self.params = params
        self.n = check_int("n", n, ge=1)
        self.die_c = np.full(self.n, params.ambient_c)
        self.skin_c = np.full(self.n, params.ambient_c)

    def reset(
        self,
        rng: np.random.Generator | None = None,
        mask: ArrayLike | None = None,
        die_c: ArrayLike | None = None,
        skin_c: ArrayLike | None = None,
    ) -> ThermalState:
        """Set the selected envs to the given temperatures (default: ambient; ``rng`` is not used)."""
        del rng  # deterministic: a device starts at the given (default ambient) temperatures
        sel = as_mask(mask, self.n)
        amb = self.params.ambient_c
        die = broadcast_n("die_c", amb if die_c is None else die_c, self.n, ge=-273.15)
        skin = broadcast_n("skin_c", amb if skin_c is None else skin_c, self.n, ge=-273.15)
        self.die_c[sel], self.skin_c[sel] = die[sel], skin[sel]
        return self.state

    @property
    def clock_scale(self) -> F64:
        """Current clock scale per env, in ``[clock_floor, 1]``."""
        return self.params.clock_scale(self.die_c, self.skin_c)

    @property
    def state(self) -> ThermalState:
        """A copy of the current temperatures and clock scale."""
        return ThermalState(self.die_c.copy(), self.skin_c.copy(), self.clock_scale)

    def predict(self, dt_s: ArrayLike, power_w: ArrayLike, start_c: ArrayLike) -> tuple[F64, F64]:
        """Exact (die, skin) °C after ``dt_s`` at constant ``power_w`` from ``start_c = (die, skin)``.

        Elementwise (broadcast) evaluation of ``x_ss + V diag(exp(lambda·dt)) V^-1 (x - x_ss)``.
        """
        lam, vec, inv = self.params._modes
        gd, gs = self.params.steady_gain_k_per_w
        amb = self.params.ambient_c
        start = np.asarray(start_c, dtype=np.float64)
        p = np.asarray(power_w, dtype=np.float64)
        dt = np.asarray(dt_s, dtype=np.float64)
        ss_die, ss_skin = amb + p * gd, amb + p * gs
        d0, d1 = start[0] - ss_die, start[1] - ss_skin
        z0 = (inv[0, 0] * d0 + inv[0, 1] * d1) * np.exp(lam[0] * dt)
        z1 = (inv[1, 0] * d0 + inv[1, 1] * d1) * np.exp(lam[1] * dt)
        return ss_die + vec[0, 0] * z0 + vec[0, 1] * z1, ss_skin + vec[1, 0] * z0 + vec[1, 1] * z1

    def advance(self, dt_s: ArrayLike, power_w: ArrayLike, mask: ArrayLike | None = None) -> ThermalState:
        """Step the selected envs by ``dt_s`` seconds (``>= 0``) at constant ``power_w`` watts (``>= 0``)."""
        dt = broadcast_n("dt_s", dt_s, self.n, ge=0.0)
        p = broadcast_n("power_w", power_w, self.n, ge=0.0)
        die, skin = self.predict(dt, p, (self.die_c, self.skin_c))
        if mask is None:
            self.die_c, self.skin_c = die, skin
        else:
            sel = as_mask(mask, self.n)
            self.die_c = np.where(sel, die, self.die_c)
            self.skin_c = np.where(sel, skin, self.skin_c)
        return self.state

    def observe(self) -> NDArray[np.float32]:
        """Normalised temperatures and clock scale, float32 of shape ``(n, 3)`` in ``[0, 1]``."""
        p = self.params
        feats = [
            rise_feature(p, self.skin_c, p.skin_throttle_c),
            rise_feature(p, self.die_c, p.die_throttle_c),
        ]
        feats.append(self.clock_scale)
        return np.stack(feats, axis=1).astype(np.float32)
