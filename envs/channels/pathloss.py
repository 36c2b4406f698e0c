"""3GPP TR 38.901 UMi street-canyon path loss, LOS probability and correlated log-normal shadowing.

Units: distances and heights in m, carrier frequency in Hz (the formulas use ``fc`` in GHz), losses in dB.
Formulas from TR 38.901 Table 7.4.1-1 (path loss, shadowing std), Table 7.4.2-1 (LOS probability) and
Table 7.5-6 (shadowing decorrelation distance). The effective environment height is ``h_E = 1 m``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validate import check_array, check_int, check_rng, check_scalar

__all__ = [
    "GudmundsonShadowing",
    "umi_breakpoint_distance_m",
    "umi_decorrelation_distance_m",
    "umi_los_probability",
    "umi_path_loss_db",
    "umi_shadowing_std_db",
]

C_38901 = 3.0e8
"""Speed of light as fixed by TR 38.901 for the breakpoint distance, m/s."""
H_E_UMI = 1.0
"""Effective environment height for UMi, m."""


def _check_los(los: ArrayLike) -> NDArray[np.bool_]:
    is_los = np.asarray(los)
    if is_los.dtype != np.bool_:
        raise ValueError(f"los must be a bool or an array of bools, got {los!r}")
    return is_los


def umi_breakpoint_distance_m(carrier_hz: float = 3.5e9, h_bs_m: float = 10.0, h_ut_m: float = 1.5) -> float:
    """Breakpoint distance ``d'_BP = 4 (h_BS - h_E)(h_UT - h_E) fc / c`` in m (210 m at the defaults)."""
    fc = check_scalar("carrier_hz", carrier_hz, ge=0.5e9, le=100e9)
    h_bs = check_scalar("h_bs_m", h_bs_m, gt=H_E_UMI)
    h_ut = check_scalar("h_ut_m", h_ut_m, ge=1.5, le=22.5)
    return 4.0 * (h_bs - H_E_UMI) * (h_ut - H_E_UMI) * fc / C_38901


def umi_los_probability(d2d_m: ArrayLike) -> NDArray[np.float64]:
    """UMi LOS probability: 1 for ``d2D <= 18 m``, else ``18/d2D + exp(-d2D/36) (1 - 18/d2D)``."""
    d = check_array("d2d_m", d2d_m, gt=0.0)
    far = np.maximum(d, 18.0)
    return np.asarray(18.0 / far + np.exp(-far / 36.0) * (1.0 - 18.0 / far), dtype=np.float64)


def umi_path_loss_db(
    d2d_m: ArrayLike,
    los: ArrayLike,
    *,
    carrier_hz: float = 3.5e9,
    h_bs_m: float = 10.0,
    h_ut_m: float = 1.5,
) -> NDArray[np.float64]:
    """UMi street-canyon path loss in dB; ``d2d_m`` (10 m .. 5 km) and boolean ``los`` broadcast.

    With ``d3D = sqrt(d2D^2 + (h_BS - h_UT)^2)`` and ``fc`` in GHz:

    * LOS: ``PL1 = 32.4 + 21 log10(d3D) + 20 log10(fc)`` for ``d2D <= d'_BP``, beyond it
      ``PL2 = 32.4 + 40 log10(d3D) + 20 log10(fc) - 9.5 log10(d'_BP^2 + (h_BS - h_UT)^2)``;
    * NLOS: ``max(PL_LOS, 35.3 log10(d3D) + 22.4 + 21.3 log10(fc) - 0.3 (h_UT - 1.5))``.

    Defaults: ``fc = 3.5 GHz``, ``h_BS = 10 m``, ``h_UT = 1.5 m``; valid for fc 0.5-100 GHz, h_UT 1.5-22.5 m.
    """
    d_bp = umi_breakpoint_distance_m(carrier_hz, h_bs_m, h_ut_m)
    d2d = check_array("d2d_m", d2d_m, ge=10.0, le=5000.0)
    is_los = _check_los(los)
    log_fc = math.log10(carrier_hz / 1e9)
    height = h_bs_m - h_ut_m
    log_d3d = 0.5 * np.log10(d2d**2 + height**2)
    near = 32.4 + 21.0 * log_d3d + 20.0 * log_fc
    far = 32.4 + 40.0 * log_d3d + 20.0 * log_fc - 9.5 * math.log10(d_bp**2 + height**2)
    pl_los = np.where(d2d <= d_bp, near, far)
    pl_nlos = np.maximum(pl_los, 35.3 * log_d3d + 22.4 + 21.3 * log_fc - 0.3 * (h_ut_m - 1.5))
    return np.asarray(np.where(is_los, pl_los, pl_nlos), dtype=np.float64)


def umi_shadowing_std_db(los: ArrayLike) -> NDArray[np.float64]:
    """UMi shadow-fading std ``sigma_SF`` (Table 7.4.1-1): 4 dB (LOS), 7.82 dB (NLOS); ns-3 uses 7 dB."""
    return np.asarray(np.where(_check_los(los), 4.0, 7.82), dtype=np.float64)


def umi_decorrelation_distance_m(los: ArrayLike) -> NDArray[np.float64]:
    """UMi shadowing decorrelation distance ``d_corr``: 10 m (LOS), 13 m (NLOS)."""
    return np.asarray(np.where(_check_los(los), 10.0, 13.0), dtype=np.float64)


class GudmundsonShadowing:
    """Spatially correlated log-normal shadowing (Gudmundson 1991), vectorised over ``n`` links, in dB.

    ``X[0] ~ N(0, sigma^2)`` and, after a displacement ``delta_d`` (m),
    ``X[t+1] = R X[t] + sqrt(1 - R^2) sigma N(0, 1)`` with ``R = exp(-delta_d / d_corr)``, so
    ``corr(X(x), X(x + d)) = exp(-|d| / d_corr)`` and the marginal stays ``N(0, sigma^2)``.
    TR 38.901 keeps separate shadowing for LOS and NLOS: use one process per condition
    (:meth:`umi`) and pick per link with ``np.where(los, x_los, x_nlos)``.
    """

    def __init__(self, sigma_db: float, decorrelation_m: float) -> None:
        self.sigma_db = check_scalar("sigma_db", sigma_db, ge=0.0)
        self.decorrelation_m = check_scalar("decorrelation_m", decorrelation_m, gt=0.0)
        self._rng: np.random.Generator | None = None
        self._x = np.zeros(0)

    @classmethod
    def umi(cls, los: bool) -> GudmundsonShadowing:
        """UMi defaults: 4 dB / 10 m for LOS, 7.82 dB / 13 m for NLOS."""
        return cls(float(umi_shadowing_std_db(los)), float(umi_decorrelation_distance_m(los)))

    def reset(self, rng: np.random.Generator, n: int = 1) -> NDArray[np.float64]:
        """Store ``rng`` and draw ``n`` independent shadowing values ``N(0, sigma^2)`` in dB."""
        self._rng = check_rng(rng)
        self._x = self.sigma_db * rng.standard_normal(check_int("n", n, ge=1))
        return self._x.copy()

    def step(self, displacement_m: ArrayLike) -> NDArray[np.float64]:
        """Move each link by ``displacement_m`` (m, ``>= 0``, scalar or shape ``(n,)``); return X in dB."""
        if self._rng is None:
            raise RuntimeError("GudmundsonShadowing.step() called before reset()")
        moved = check_array("displacement_m", displacement_m, ge=0.0)
        if moved.ndim != 0 and moved.shape != self._x.shape:
            raise ValueError(f"displacement_m must be scalar or of shape {self._x.shape}, got {moved.shape}")
        r = np.exp(-moved / self.decorrelation_m)
        self._x = r * self._x + np.sqrt(1.0 - r**2) * self.sigma_db * self._rng.standard_normal(self._x.size)
        return self._x.copy()
