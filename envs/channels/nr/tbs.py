"""Transport block size (TBS) determination of TS 38.214 5.1.3.2 (PDSCH; PUSCH uses the same, 6.1.4.2).

Vectorised over allocations. With ``n_PRB`` PRBs, ``N_RE,PRB = min(156, N'_RE)`` data REs per PRB
(:func:`grid.data_re_per_prb`), MCS ``(Q_m, R)`` and ``v`` layers [S: TS 38.214 5.1.3.2]:

1. ``N_RE = N_RE,PRB * n_PRB``; ``N_info = S * N_RE * R * Q_m * v`` (``S`` = TB scaling of Table 5.1.3.2-2,
   1 except for P-RNTI/RA-RNTI).
2. ``N_info <= 3824``: ``n = max(3, floor(log2 N_info) - 6)``, ``N'_info = max(24, 2^n floor(N_info/2^n))``,
   TBS = the smallest entry of Table 5.1.3.2-1 that is ``>= N'_info``.
3. ``N_info > 3824``: ``n = floor(log2(N_info - 24)) - 5``,
   ``N'_info = max(3840, 2^n round((N_info - 24)/2^n))`` (ties rounded up), then
   ``R <= 1/4``: ``C = ceil((N'_info + 24)/3816)``, ``TBS = 8 C ceil((N'_info + 24)/(8 C)) - 24``;
   else if ``N'_info > 8424``: ``C = ceil((N'_info + 24)/8424)``, same TBS formula;
   else ``TBS = 8 ceil((N'_info + 24)/8) - 24``.

Table 5.1.3.2-1 (93 entries, 24 ... 3824) was checked against Sionna v1.2.1 ``calculate_tb_size`` and
the AIMM simulator's ``TBS_TABLE_3824`` (quoting TS 38.214 V18.4.0); the procedure against both.
Hand-computed example: 51 PRB, 156 RE, MCS 28 of table 1 (64QAM, 948/1024), 1 layer:
``N_info = 44193.1``, ``n = 10``, ``N'_info = 44032``, ``C = 6``, TBS = 44040 bit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks
from .grid import RE_PER_PRB_CAP
from .mcs import mcs_table

__all__ = ["TBS_TABLE", "n_info_bits", "tbs_from_n_info", "transport_block_size"]

TBS_TABLE: NDArray[np.int64] = np.array(
    [
        24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136, 144, 152, 160, 168, 176, 184,
        192, 208, 224, 240, 256, 272, 288, 304, 320, 336, 352, 368, 384, 408, 432, 456, 480, 504, 528,
        552, 576, 608, 640, 672, 704, 736, 768, 808, 848, 888, 928, 984, 1032, 1064, 1128, 1160, 1192,
        1224, 1256, 1288, 1320, 1352, 1416, 1480, 1544, 1608, 1672, 1736, 1800, 1864, 1928, 2024, 2088,
        2152, 2216, 2280, 2408, 2472, 2536, 2600, 2664, 2728, 2792, 2856, 2976, 3104, 3240, 3368, 3496,
        3624, 3752, 3824,
    ],
    dtype=np.int64,
)  # fmt: skip
"""TS 38.214 Table 5.1.3.2-1: TBS for ``N_info <= 3824`` (93 entries)."""
TBS_TABLE.setflags(write=False)


def n_info_bits(
    n_prb: ArrayLike,
    modulation_order: ArrayLike,
    code_rate: ArrayLike,
    *,
    n_layers: int = 1,
    re_per_prb: int = RE_PER_PRB_CAP,
    scaling: float = 1.0,
) -> NDArray[np.float64]:
    """Unquantised information bits ``N_info = S min(156, N'_RE) n_PRB R Q_m v`` (float64)."""
    prbs = _checks.array("n_prb", n_prb, ge=0.0, le=275.0)
    qm = _checks.array("modulation_order", modulation_order, ge=1.0, le=10.0)
    r = _checks.array("code_rate", code_rate, gt=0.0, lt=1.0)
    layers = _checks.integer("n_layers", n_layers, ge=1, le=8)
    re = _checks.integer("re_per_prb", re_per_prb, ge=1, le=RE_PER_PRB_CAP)
    s = _checks.scalar("scaling", scaling, gt=0.0, le=1.0)
    return np.asarray(s * re * prbs * r * qm * layers, dtype=np.float64)


def tbs_from_n_info(n_info: ArrayLike, code_rate: ArrayLike) -> NDArray[np.int64]:
    """Quantise ``N_info`` to the TBS of TS 38.214 5.1.3.2 steps 3-4; ``N_info <= 0`` gives TBS 0."""
    ni = _checks.array("n_info", n_info, ge=0.0)
    r = _checks.array("code_rate", code_rate, gt=0.0, lt=1.0)
    ni, r = np.broadcast_arrays(ni, r)
    out = np.zeros(ni.shape, dtype=np.int64)

    small = (ni > 0) & (ni <= 3824)
    if small.any():
        x = ni[small]
        n = np.maximum(3.0, np.floor(np.log2(x)) - 6.0)
        q = np.maximum(24.0, 2.0**n * np.floor(x / 2.0**n))
        out[small] = TBS_TABLE[np.searchsorted(TBS_TABLE, q, side="left")]

    large = ni > 3824
    if large.any():
        x = ni[large] - 24.0
        n = np.floor(np.log2(x)) - 5.0
        q = np.maximum(3840.0, 2.0**n * np.floor(x / 2.0**n + 0.5))
        low_rate = r[large] <= 0.25
        c = np.where(
            low_rate,
            np.ceil((q + 24.0) / 3816.0),
            np.where(q > 8424.0, np.ceil((q + 24.0) / 8424.0), 1.0),
        )
        out[large] = (8.0 * c * np.ceil((q + 24.0) / (8.0 * c)) - 24.0).astype(np.int64)
    return out


def transport_block_size(
    n_prb: ArrayLike,
    mcs: ArrayLike,
    table: str = "64qam",
    *,
    n_layers: int = 1,
    re_per_prb: int = RE_PER_PRB_CAP,
    scaling: float = 1.0,
) -> NDArray[np.int64]:
    """TBS in bits for ``n_prb`` PRBs (one slot) at MCS index ``mcs`` of ``table`` (broadcast arrays)."""
    tab = mcs_table(table)
    idx = tab.check_mcs(mcs)
    qm = tab.modulation_order[idx]
    r = tab.code_rate[idx]
    ni = n_info_bits(n_prb, qm, r, n_layers=n_layers, re_per_prb=re_per_prb, scaling=scaling)
    return tbs_from_n_info(ni, np.broadcast_to(r, ni.shape))
