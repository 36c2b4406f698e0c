"""NR modulation-and-coding-scheme (MCS) and CQI tables of TS 38.214.

* ``"64qam"``: TS 38.214 Table 5.1.3.1-1, MCS index table 1 for PDSCH (and for PUSCH without transform
  precoding, 6.1.4.1), MCS 0-28 (29-31 are reserved for retransmissions and not listed).
* ``"256qam"``: TS 38.214 Table 5.1.3.1-2, MCS index table 2, MCS 0-27 (28-31 reserved).
* CQI ``"64qam"``: TS 38.214 Table 5.2.2.1-2 (the 4-bit CQI table 1, same as LTE TS 36.213 Table 7.2.3-1);
  CQI ``"256qam"``: TS 38.214 Table 5.2.2.1-3. CQI 0 means "out of range" and has no format.

Each row gives the modulation order ``Q_m`` (bits per symbol), the target code rate ``R x 1024`` and the
spectral efficiency ``SE = Q_m R`` in information bits per resource element, as printed in the spec (four
decimals). [S] Values as in TS 38.214; checked against two independent encodings: ns-3 5G-LENA
``model/nr-mcs-tables.cc`` (CTTC, 2025) and Sionna v1.2.1 ``sionna/phy/nr/utils.py::decode_mcs_index``
(PDSCH tables 1 and 2), which agree row by row. CQI table 1 rows were checked against an independent LTE
encoding (``vaishdho1/LTE_PHY CQILTE.h``) and the AIMM simulator's ``_CQI_TABLE_1``; CQI table 2 against
the SE column of ns-3 ``m_spectralEfficiencyForCqi2`` (each ``Q_m R`` equals an MCS-table-2 row).
The ``nbulk/5G_MCS_tables`` CSVs contain typos (MCS 3 R=521, MCS 17 Q_m=4) and were not used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks

__all__ = [
    "CQI_TABLES",
    "DEFAULT_DL_MCS_TABLE",
    "DEFAULT_UL_MCS_TABLE",
    "MCS_TABLES",
    "CqiTable",
    "McsTable",
    "cqi_table",
    "mcs_table",
]


@dataclass(frozen=True)
class McsTable:
    """One MCS index table: per MCS index the modulation order, code rate x 1024 and spectral efficiency."""

    name: str
    source: str
    modulation_order: NDArray[np.int64]
    """``Q_m`` in bits per modulation symbol (2 QPSK, 4 16QAM, 6 64QAM, 8 256QAM)."""
    code_rate_x1024: NDArray[np.float64]
    """Target code rate ``R x 1024`` (682.5 and 916.5 occur in table 2)."""
    spectral_efficiency: NDArray[np.float64]
    """``Q_m R`` in bit per resource element as printed in the spec (rounded to 4 decimals)."""

    @property
    def n_mcs(self) -> int:
        """Number of usable MCS indices (29 for table 1, 28 for table 2)."""
        return int(self.modulation_order.size)

    @property
    def max_mcs(self) -> int:
        """Highest usable MCS index."""
        return self.n_mcs - 1

    @property
    def code_rate(self) -> NDArray[np.float64]:
        """Target code rate ``R`` (dimensionless, ``R x 1024 / 1024``)."""
        return self.code_rate_x1024 / 1024.0

    def check_mcs(self, mcs: ArrayLike) -> NDArray[np.int64]:
        """``mcs`` as an int64 array after checking ``0 <= mcs <= max_mcs`` (``ConfigError`` otherwise)."""
        return _checks.integer_array("mcs", mcs, ge=0, le=self.max_mcs)


@dataclass(frozen=True)
class CqiTable:
    """One 4-bit CQI table; index 0 ("out of range") has ``Q_m = 0``, ``R = 0`` and ``SE = 0``."""

    name: str
    source: str
    modulation_order: NDArray[np.int64]
    code_rate_x1024: NDArray[np.float64]
    spectral_efficiency: NDArray[np.float64]

    @property
    def code_rate(self) -> NDArray[np.float64]:
        """Target code rate ``R`` (dimensionless)."""
        return self.code_rate_x1024 / 1024.0

    def check_cqi(self, cqi: ArrayLike) -> NDArray[np.int64]:
        """``cqi`` as an int64 array after checking ``0 <= cqi <= 15``."""
        return _checks.integer_array("cqi", cqi, ge=0, le=15)


def _rows(
    rows: Sequence[tuple[int, float, float]],
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    qm = np.array([r[0] for r in rows], dtype=np.int64)
    rate = np.array([r[1] for r in rows], dtype=np.float64)
    se = np.array([r[2] for r in rows], dtype=np.float64)
    for arr in (qm, rate, se):
        arr.setflags(write=False)
    return qm, rate, se


# (Q_m, R x 1024, SE) per MCS index, TS 38.214 Table 5.1.3.1-1.
_MCS_TABLE_1 = [
    (2, 120, 0.2344), (2, 157, 0.3066), (2, 193, 0.3770), (2, 251, 0.4902), (2, 308, 0.6016),
    (2, 379, 0.7402), (2, 449, 0.8770), (2, 526, 1.0273), (2, 602, 1.1758), (2, 679, 1.3262),
    (4, 340, 1.3281), (4, 378, 1.4766), (4, 434, 1.6953), (4, 490, 1.9141), (4, 553, 2.1602),
    (4, 616, 2.4063), (4, 658, 2.5703), (6, 438, 2.5664), (6, 466, 2.7305), (6, 517, 3.0293),
    (6, 567, 3.3223), (6, 616, 3.6094), (6, 666, 3.9023), (6, 719, 4.2129), (6, 772, 4.5234),
    (6, 822, 4.8164), (6, 873, 5.1152), (6, 910, 5.3320), (6, 948, 5.5547),
]  # fmt: skip

# (Q_m, R x 1024, SE) per MCS index, TS 38.214 Table 5.1.3.1-2.
_MCS_TABLE_2 = [
    (2, 120, 0.2344), (2, 193, 0.3770), (2, 308, 0.6016), (2, 449, 0.8770), (2, 602, 1.1758),
    (4, 378, 1.4766), (4, 434, 1.6953), (4, 490, 1.9141), (4, 553, 2.1602), (4, 616, 2.4063),
    (4, 658, 2.5703), (6, 466, 2.7305), (6, 517, 3.0293), (6, 567, 3.3223), (6, 616, 3.6094),
    (6, 666, 3.9023), (6, 719, 4.2129), (6, 772, 4.5234), (6, 822, 4.8164), (6, 873, 5.1152),
    (8, 682.5, 5.3320), (8, 711, 5.5547), (8, 754, 5.8906), (8, 797, 6.2266), (8, 841, 6.5703),
    (8, 885, 6.9141), (8, 916.5, 7.1602), (8, 948, 7.4063),
]  # fmt: skip

# (Q_m, R x 1024, SE) per CQI index, TS 38.214 Table 5.2.2.1-2 (index 0: out of range).
_CQI_TABLE_1 = [
    (0, 0, 0.0), (2, 78, 0.1523), (2, 120, 0.2344), (2, 193, 0.3770), (2, 308, 0.6016),
    (2, 449, 0.8770), (2, 602, 1.1758), (4, 378, 1.4766), (4, 490, 1.9141), (4, 616, 2.4063),
    (6, 466, 2.7305), (6, 567, 3.3223), (6, 666, 3.9023), (6, 772, 4.5234), (6, 873, 5.1152),
    (6, 948, 5.5547),
]  # fmt: skip

# (Q_m, R x 1024, SE) per CQI index, TS 38.214 Table 5.2.2.1-3 (index 0: out of range).
_CQI_TABLE_2 = [
    (0, 0, 0.0), (2, 78, 0.1523), (2, 193, 0.3770), (2, 449, 0.8770), (4, 378, 1.4766),
    (4, 490, 1.9141), (4, 616, 2.4063), (6, 466, 2.7305), (6, 567, 3.3223), (6, 666, 3.9023),
    (6, 772, 4.5234), (6, 873, 5.1152), (8, 711, 5.5547), (8, 797, 6.2266), (8, 885, 6.9141),
    (8, 948, 7.4063),
]  # fmt: skip

MCS_TABLES: dict[str, McsTable] = {
    "64qam": McsTable("64qam", "TS 38.214 Table 5.1.3.1-1", *_rows(_MCS_TABLE_1)),
    "256qam": McsTable("256qam", "TS 38.214 Table 5.1.3.1-2", *_rows(_MCS_TABLE_2)),
}
"""MCS index tables by name."""

CQI_TABLES: dict[str, CqiTable] = {
    "64qam": CqiTable("64qam", "TS 38.214 Table 5.2.2.1-2", *_rows(_CQI_TABLE_1)),
    "256qam": CqiTable("256qam", "TS 38.214 Table 5.2.2.1-3", *_rows(_CQI_TABLE_2)),
}
"""4-bit CQI tables by name."""


DEFAULT_UL_MCS_TABLE = "64qam"
"""Default uplink MCS table [A: dossier's recommended default; 256QAM PUSCH needs high SINR rarely seen
at a power-limited UE]."""
DEFAULT_DL_MCS_TABLE = "256qam"
"""Default downlink MCS table [A: dossier's recommended default; common gNB configuration]."""


def mcs_table(name: str) -> McsTable:
    """The MCS table ``name`` (``"64qam"`` or ``"256qam"``); ``ConfigError`` listing both otherwise."""
    return MCS_TABLES[_checks.choice("mcs_table", name, MCS_TABLES)]


def cqi_table(name: str) -> CqiTable:
    """The CQI table ``name`` (``"64qam"`` or ``"256qam"``); ``ConfigError`` listing both otherwise."""
    return CQI_TABLES[_checks.choice("cqi_table", name, CQI_TABLES)]
