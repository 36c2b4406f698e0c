"""CQI reporting: quantise a measured effective SINR to a 4-bit CQI, map a CQI back, delay the reports.

TS 38.214 5.2.2.1 [S]: the UE reports the highest CQI index whose modulation and code rate (Table
5.2.2.1-2 or -3) a single transport block could be received with at block error probability <= 0.1 in
the CSI reference resource; CQI 0 means out of range. Here "could be received" is read off the AWGN BLER
model of :mod:`.bler`: the threshold of CQI ``i`` is the 10 % SINR of the MCS with the same ``(Q_m, R)``
in the MCS table of the same name (large code blocks) [A: same coded format, same BLER]. CQI 1
(QPSK, R = 78/1024) has no MCS twin in either table; its threshold keeps MCS 0's gap to Shannon,
``gamma10 = 10 log10(2^0.1523 - 1) + (SINR10[MCS 0] - 10 log10(2^0.2344 - 1)) = -3.01 dB``
[A: constant gap to capacity at the two lowest rates].

The gNB's view of the channel is the **lower edge** of the reported CQI interval,
:func:`sinr_db_from_cqi`; outer-loop adaptation (:mod:`.olla`) corrects the bias. Reports reach the gNB
``delay`` report periods late (:class:`CqiDelayLine`); typical CSI periods are 5-20 slots and ns-3 5G-LENA
refreshes its CQI at least every 1 s (``CqiTimerThreshold``) [S: repo].
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError

from . import _checks
from .bler import SINR10_DB
from .mcs import cqi_table, mcs_table

__all__ = ["CqiDelayLine", "cqi_from_sinr_db", "cqi_sinr10_db", "sinr_db_from_cqi"]


def _cqi1_threshold_db(table: str) -> float:
    se_mcs0 = float(mcs_table(table).spectral_efficiency[0])
    gap = float(SINR10_DB[table][0]) - 10.0 * math.log10(2.0**se_mcs0 - 1.0)
    se_cqi1 = float(cqi_table(table).spectral_efficiency[1])
    return 10.0 * math.log10(2.0**se_cqi1 - 1.0) + gap


def cqi_sinr10_db(table: str = "64qam", impl_margin_db: float = 0.0) -> NDArray[np.float64]:
    """Threshold SINR (dB) per CQI index 0-15 (index 0 is ``-inf``: always reportable)."""
    cqi = cqi_table(table)
    mcs = mcs_table(table)
    margin = _checks.scalar("impl_margin_db", impl_margin_db, ge=-10.0, le=10.0)
    out = np.full(16, -np.inf)
    out[1] = _cqi1_threshold_db(table)
    for i in range(2, 16):
        same = (mcs.modulation_order == cqi.modulation_order[i]) & (
            mcs.code_rate_x1024 == cqi.code_rate_x1024[i]
        )
        out[i] = SINR10_DB[table][int(np.flatnonzero(same)[0])]
    out[1:] += margin
    return out


def cqi_from_sinr_db(
    sinr_db: ArrayLike, table: str = "64qam", impl_margin_db: float = 0.0
) -> NDArray[np.int64]:
    """Highest CQI whose threshold is ``<= sinr_db`` (0 when even CQI 1 would exceed 10 % BLER)."""
    gamma = _checks.array("sinr_db", sinr_db, allow_inf=True)
    thresholds = cqi_sinr10_db(table, impl_margin_db)
    return (np.searchsorted(thresholds[1:], gamma, side="right")).astype(np.int64)


def sinr_db_from_cqi(
    cqi: ArrayLike, table: str = "64qam", impl_margin_db: float = 0.0
) -> NDArray[np.float64]:
    """The gNB's SINR estimate (dB) for a reported CQI: the CQI's threshold (``-inf`` for CQI 0)."""
    idx = cqi_table(table).check_cqi(cqi)
    return np.asarray(cqi_sinr10_db(table, impl_margin_db)[idx], dtype=np.float64)


class CqiDelayLine:
    """FIFO of CQI reports for ``n`` links: a report pushed now is delivered ``delay`` pushes later.

    ``push(cqi)`` stores this period's report and returns the one the gNB holds now (measured ``delay``
    periods ago; ``initial_cqi`` until then). With ``delay = 0`` a report is used in its own period.
    """

    def __init__(self, delay: int, n: int = 1, initial_cqi: int = 0) -> None:
        self.delay = _checks.integer("delay", delay, ge=0, le=10_000)
        self.n = _checks.integer("n", n, ge=1)
        start = _checks.integer("initial_cqi", initial_cqi, ge=0, le=15)
        self._buffer = np.full((self.delay + 1, self.n), start, dtype=np.int64)
        self._head = 0

    def push(self, cqi: ArrayLike) -> NDArray[np.int64]:
        """Store the reports ``cqi`` (scalar or shape ``(n,)``, 0-15) and return the delivered ones."""
        values = _checks.integer_array("cqi", cqi, ge=0, le=15)
        if values.ndim != 0 and values.shape != (self.n,):
            raise ConfigError(f"cqi must be a scalar or of shape ({self.n},), got shape {values.shape}")
        self._buffer[self._head] = values
        self._head = (self._head + 1) % (self.delay + 1)
        return np.asarray(self._buffer[self._head].copy(), dtype=np.int64)
