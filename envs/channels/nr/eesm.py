"""Exponential effective SINR mapping (EESM) over frequency-selective SINRs.

``gamma_eff = -beta ln( (1/N) sum_n exp(-gamma_n / beta) )`` with ``gamma_n`` the **linear** SINR per
subcarrier, RE or PRB along ``axis`` and ``beta`` the calibration factor of the MCS [K: Brueninghaus et
al., PIMRC 2005; form as in ns-3 5G-LENA ``NrEesmErrorModel::SinrEff``]. Equal SINRs map to themselves,
and ``gamma_eff`` never exceeds the arithmetic mean. Computed with ``logsumexp`` so large SINRs do not
underflow. The AWGN BLER of :mod:`.bler` is then read at ``gamma_eff``.

``beta`` per MCS [S: ns-3 5G-LENA ``BetaTable1`` (``nr-eesm-t1.cc``) and ``BetaTable2``
(``nr-eesm-t2.cc``), identical to Sionna v1.2.1 ``sys/esm_params/eesm_beta_table.json`` indices 1 and 2;
calibrated by CTTC on TDL-A/TDL-D channels, 30-316 ns delay spread, 30/60 kHz SCS (5G-LENA docs)].
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special  # type: ignore[import-untyped, unused-ignore]

from splitgym.errors import ConfigError

from . import _checks
from .mcs import mcs_table

__all__ = ["EESM_BETA", "eesm_beta", "effective_sinr", "effective_sinr_db"]

EESM_BETA: dict[str, NDArray[np.float64]] = {
    "64qam": np.array(
        [
            1.60, 1.61, 1.63, 1.65, 1.67, 1.70, 1.73, 1.76, 1.79, 1.82, 3.97, 4.27, 4.71, 5.16, 5.66,
            6.16, 6.50, 9.95, 10.97, 12.92, 14.96, 17.06, 19.33, 21.85, 24.51, 27.14, 29.94, 32.05, 34.28,
        ]
    ),
    "256qam": np.array(
        [
            1.60, 1.63, 1.67, 1.73, 1.79, 4.27, 4.71, 5.16, 5.66, 6.16, 6.50, 10.97, 12.92, 14.96, 17.06,
            19.33, 21.85, 24.51, 27.14, 29.94, 56.48, 65.00, 78.58, 92.48, 106.27, 118.74, 126.36, 132.54,
        ]
    ),
}  # fmt: skip
"""EESM ``beta`` per MCS index of each MCS table (dimensionless, linear SINR scale)."""
for _beta in EESM_BETA.values():
    _beta.setflags(write=False)


def eesm_beta(mcs: ArrayLike, table: str = "64qam") -> NDArray[np.float64]:
    """EESM ``beta`` of MCS index ``mcs`` in ``table``."""
    idx = mcs_table(table).check_mcs(mcs)
    return np.asarray(EESM_BETA[table][idx], dtype=np.float64)


def effective_sinr(sinr: ArrayLike, beta: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """EESM of the linear SINRs ``sinr`` along ``axis``; ``beta`` broadcasts against the reduced shape."""
    gamma = _checks.array("sinr", sinr, ge=0.0)
    b = _checks.array("beta", beta, gt=0.0)
    if gamma.ndim == 0:
        raise ConfigError("sinr must have at least one axis to average over, got a scalar")
    n = gamma.shape[axis]
    b_axis = np.expand_dims(b, axis) if b.ndim else b
    lse = special.logsumexp(-gamma / b_axis, axis=axis)
    return np.asarray(-b * (lse - np.log(n)), dtype=np.float64)


def effective_sinr_db(
    sinr_db: ArrayLike, mcs: ArrayLike, table: str = "64qam", axis: int = -1
) -> NDArray[np.float64]:
    """EESM in dB of per-resource SINRs given in dB, with ``beta`` of MCS ``mcs`` in ``table``."""
    gamma = 10.0 ** (_checks.array("sinr_db", sinr_db) / 10.0)
    eff = effective_sinr(gamma, eesm_beta(mcs, table), axis=axis)
    return np.asarray(10.0 * np.log10(eff), dtype=np.float64)
