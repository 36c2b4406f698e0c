"""NR uplink (PUSCH) power control, TS 38.213 7.1.1.

[S: TS 38.213 7.1.1, read in the ``CrzyNxtG/mdspc`` markdown copy; form as in ns-3 5G-LENA
``NrUePowerControl::CalculatePuschTxPowerNr``]::

    P_PUSCH = min{ P_CMAX, P_O_PUSCH + 10 log10(2^mu M_RB) + alpha PL + Delta_TF + f }   [dBm]

* ``P_O_PUSCH = P_O_NOMINAL_PUSCH + P_O_UE_PUSCH`` (dBm, per 15-kHz-equivalent RB). Default -80 dBm with
  ``alpha = 1`` [S: ns-3 5G-LENA defaults ``PoNominalPusch = -80``, ``PoUePusch = 0``, ``Alpha = 1.0``];
  Sionna's examples use (-90 dBm, 1.0) and (-75 dBm, 0.8) [S: repo]. Accepted range -218 ... 39 dBm:
  ``p0-NominalWithGrant`` INTEGER (-202..24) [S: TS 38.331, recalled] plus ``P0-PUSCH-AlphaSet.p0``
  (-16..15) [S: TS 38.331 as encoded in UERANSIM ``RRC_P0_PUSCH_AlphaSet``].
* ``alpha`` in {0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1} [S: TS 38.331 ``Alpha`` ENUMERATED; ns-3 accepts the
  same set].
* ``PL`` the downlink path-loss estimate (dB); ``M_RB`` allocated PRBs; ``mu`` the numerology.
* ``Delta_TF = 10 log10((2^(1.25 BPRE) - 1) beta_offset)`` for ``K_s = 1.25`` (``deltaMCS`` enabled), else
  0; ``BPRE = sum_r K_r / N_RE`` and ``beta_offset = 1`` for PUSCH with UL-SCH data; 0 for more than one
  layer [S: TS 38.213 7.1.1].
* ``f`` the closed-loop TPC state (dB); TPC commands (Table 7.1.1-1): accumulated -1/0/+1/+3 dB, absolute
  -4/-1/+1/+4 dB [S: as encoded in ns-3 ``GetAccumulatedDelta`` / ``GetAbsoluteDelta``].
* ``P_CMAX = 23 dBm`` [S: TS 38.101-1 power class 3, the default class; ns-3 default ``Pcmax = 23``].
  Values above 33 dBm are rejected as physically impossible for a UE [A: issue 12's rule; every FR1 UE
  power class is at most 31 dBm].

Power-limited allocation [K: invert the formula]: ``M_RB,max = 10^((P_CMAX - P_O - alpha PL)/10) / 2^mu``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError

from . import _checks
from .grid import RE_PER_PRB_CAP
from .segmentation import segment

__all__ = [
    "ALPHA_VALUES",
    "MAX_UE_POWER_DBM",
    "P0_DEFAULT_DBM",
    "P_CMAX_DBM",
    "TPC_ABSOLUTE_DB",
    "TPC_ACCUMULATED_DB",
    "bits_per_re",
    "delta_tf_db",
    "max_prbs_power_limited",
    "pusch_power_dbm",
]

P_CMAX_DBM = 23.0
"""Configured maximum UE output power, power class 3 (dBm)."""
MAX_UE_POWER_DBM = 33.0
"""Upper limit accepted for ``p_cmax_dbm`` (dBm); anything above is a configuration error."""
P0_DEFAULT_DBM = -80.0
"""Default ``P_O_PUSCH`` (dBm), ns-3 5G-LENA."""
ALPHA_VALUES = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
"""Allowed fractional path-loss compensation factors ``alpha``."""
TPC_ACCUMULATED_DB = (-1.0, 0.0, 1.0, 3.0)
"""TPC command field 0-3 -> accumulated correction (dB), TS 38.213 Table 7.1.1-1."""
TPC_ABSOLUTE_DB = (-4.0, -1.0, 1.0, 4.0)
"""TPC command field 0-3 -> absolute correction (dB), TS 38.213 Table 7.1.1-1."""


def _alpha(alpha: float) -> float:
    a = _checks.scalar("alpha", alpha)
    if not any(math.isclose(a, v, abs_tol=1e-9) for v in ALPHA_VALUES):
        raise ConfigError(f"alpha must be one of {', '.join(f'{v:g}' for v in ALPHA_VALUES)}; got {a:g}")
    return a


def _p_cmax(p_cmax_dbm: float) -> float:
    return _checks.scalar("p_cmax_dbm", p_cmax_dbm, ge=-40.0, le=MAX_UE_POWER_DBM)


def pusch_power_dbm(
    path_loss_db: ArrayLike,
    n_rb: ArrayLike,
    mu: int = 1,
    *,
    p0_dbm: float = P0_DEFAULT_DBM,
    alpha: float = 1.0,
    delta_tf_db: ArrayLike = 0.0,
    f_db: ArrayLike = 0.0,
    p_cmax_dbm: float = P_CMAX_DBM,
) -> NDArray[np.float64]:
    """PUSCH transmit power (dBm) of TS 38.213 7.1.1; array arguments broadcast."""
    pl = _checks.array("path_loss_db", path_loss_db, ge=0.0, le=250.0)
    m_rb = _checks.array("n_rb", n_rb, ge=1.0, le=275.0)
    m = _checks.integer("mu", mu, ge=0, le=4)
    p0 = _checks.scalar("p0_dbm", p0_dbm, ge=-218.0, le=39.0)
    a = _alpha(alpha)
    dtf = _checks.array("delta_tf_db", delta_tf_db, ge=-50.0, le=50.0)
    f = _checks.array("f_db", f_db, ge=-100.0, le=100.0)
    p_max = _p_cmax(p_cmax_dbm)
    open_loop = p0 + 10.0 * np.log10(2.0**m * m_rb) + a * pl + dtf + f
    return np.asarray(np.minimum(p_max, open_loop), dtype=np.float64)


def bits_per_re(tb_bits: ArrayLike, code_rate: ArrayLike, n_re: ArrayLike) -> NDArray[np.float64]:
    """``BPRE = C K / N_RE`` with ``C`` code blocks of ``K`` bits (TS 38.212 segmentation) on ``N_RE`` REs."""
    seg = segment(tb_bits, code_rate)
    re = _checks.array("n_re", n_re, gt=0.0)
    return np.asarray(seg.n_code_blocks * seg.k_bits / re, dtype=np.float64)


def delta_tf_db(bpre: ArrayLike, k_s: float = 1.25, n_layers: int = 1) -> NDArray[np.float64]:
    """``Delta_TF = 10 log10(2^(K_s BPRE) - 1)`` (``beta_offset = 1``) for ``K_s = 1.25``; 0 for ``K_s = 0``
    or more than one layer."""
    b = _checks.array("bpre", bpre, gt=0.0, le=float(10 * RE_PER_PRB_CAP))
    ks = _checks.scalar("k_s", k_s)
    if ks not in (0.0, 1.25):
        raise ConfigError(f"k_s must be one of 0, 1.25 (TS 38.213 7.1.1 deltaMCS); got {ks:g}")
    layers = _checks.integer("n_layers", n_layers, ge=1, le=8)
    if ks == 0.0 or layers > 1:
        return np.zeros_like(b)
    return np.asarray(10.0 * np.log10(np.expm1(ks * b * math.log(2.0))), dtype=np.float64)


def max_prbs_power_limited(
    path_loss_db: ArrayLike,
    mu: int = 1,
    *,
    p0_dbm: float = P0_DEFAULT_DBM,
    alpha: float = 1.0,
    p_cmax_dbm: float = P_CMAX_DBM,
) -> NDArray[np.float64]:
    """Largest PRB count (real-valued) before ``P_CMAX`` caps the power.

    ``M_RB,max = 10^((P_CMAX - P_O - alpha PL) / 10) / 2^mu``.
    """
    pl = _checks.array("path_loss_db", path_loss_db, ge=0.0, le=250.0)
    m = _checks.integer("mu", mu, ge=0, le=4)
    p0 = _checks.scalar("p0_dbm", p0_dbm, ge=-218.0, le=39.0)
    a = _alpha(alpha)
    p_max = _p_cmax(p_cmax_dbm)
    return np.asarray(10.0 ** ((p_max - p0 - a * pl) / 10.0) / 2.0**m, dtype=np.float64)
