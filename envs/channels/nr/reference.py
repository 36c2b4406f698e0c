"""Spec-defined quantities of the NR link layer beside independent references (for ``splitgym physics``).

Each row holds what this package computes, a reference value typed in here from its source (never read
back from the tables the code uses), the source, a tolerance and why that tolerance. Tolerances: exact (0)
for integers a spec defines (PRB counts, TBS, code blocks, slot counts), 1 % for rates a spec defines by
formula whose worked values are quoted to 3-4 significant digits, 5e-5 bit/RE for spectral efficiencies
(the spec prints 4 decimals), 0.05 dB for BLER thresholds (our logistic reproduces the tabulated
log-interpolated ns-3 value; 0.05 dB is a quarter of the ns-3 SINR grid spacing), 0.1 dB for noise powers
(``-174 dBm/Hz`` is ``kT`` at 290 K rounded from -173.98).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import constants  # type: ignore[import-untyped, unused-ignore]

from ..link import noise_power_dbm
from .bler import sinr_for_bler_db
from .grid import n_prb, peak_data_rate_bps, prb_bandwidth_hz, prb_noise_power_dbm, slot_duration_s
from .harq import chase_combined_sinr_db
from .mcs import mcs_table
from .power import pusch_power_dbm
from .segmentation import segment
from .tbs import transport_block_size
from .tdd import tdd_pattern

__all__ = ["ReferenceRow", "reference_rows"]


@dataclass(frozen=True)
class ReferenceRow:
    """One checked quantity: ``ours`` must lie within ``tolerance`` of ``reference``."""

    quantity: str
    unit: str
    ours: float
    reference: float
    source: str
    tolerance: float
    relative: bool
    """``True``: ``tolerance`` is a fraction of ``reference``; ``False``: absolute, in ``unit``."""
    justification: str

    @property
    def deviation(self) -> float:
        """``ours - reference`` (relative to ``reference`` when :attr:`relative`)."""
        diff = self.ours - self.reference
        return diff / self.reference if self.relative else diff

    @property
    def ok(self) -> bool:
        """Whether ``|deviation| <= tolerance`` (with a 1e-12 allowance for floating point)."""
        return abs(self.deviation) <= self.tolerance + 1e-12

    def as_dict(self) -> dict[str, object]:
        """The row as a plain dict, with ``deviation`` and ``ok`` added."""
        return {**asdict(self), "deviation": self.deviation, "ok": self.ok}


def _kt_noise_dbm(bandwidth_hz: float, noise_figure_db: float) -> float:
    return 10.0 * math.log10(constants.k * 290.0 * bandwidth_hz * 1e3) + noise_figure_db


_SPEC_RATE = "worked value of TS 38.306 4.1.2 (dossier link_and_dynamics.md 1.9)"
_RATE_WHY = "the spec defines the formula; the worked value is quoted to 3-4 digits"
_SE_WHY = "TS 38.214 prints the spectral efficiency to 4 decimals"
_BLER_WHY = "model reproduces the tabulated threshold; 0.05 dB = 1/4 of the ns-3 SINR grid spacing"
_EXACT = "integer defined by the spec"


def reference_rows() -> list[ReferenceRow]:
    """All reference rows of the NR link layer (defaults: 20 MHz, 30 kHz SCS, DDDSU, NF 5 dB)."""
    rows: list[ReferenceRow] = []
    prbs = n_prb(20e6, 30e3)
    rows.append(
        ReferenceRow(
            "PRBs at 20 MHz, 30 kHz SCS", "PRB", prbs, 51, "TS 38.101-1 Table 5.3.2-1", 0, False, _EXACT
        )
    )
    for label, qm, bw, ref in (
        ("peak UL rate 20 MHz, 30 kHz, 1 layer, 64QAM", 6, 20e6, 87.6),
        ("peak UL rate 20 MHz, 30 kHz, 1 layer, 256QAM", 8, 20e6, 116.8),
        ("peak UL rate 100 MHz, 30 kHz, 1 layer, 64QAM", 6, 100e6, 469.0),
    ):
        ours = peak_data_rate_bps(n_prb(bw, 30e3), 1, modulation_order=qm, direction="ul") / 1e6
        rows.append(ReferenceRow(label, "Mbit/s", ours, ref, _SPEC_RATE, 0.01, True, _RATE_WHY))
    rows.append(
        ReferenceRow(
            "noise power in 20 MHz, NF 5 dB",
            "dBm",
            float(noise_power_dbm(20e6, 5.0)),
            _kt_noise_dbm(20e6, 5.0),
            "k T B at T = 290 K (scipy.constants.k) + NF",
            0.1,
            False,
            "-174 dBm/Hz is kT at 290 K rounded from -173.98",
        )
    )
    rows.append(
        ReferenceRow(
            "noise power in 51 PRB (18.36 MHz), NF 5 dB",
            "dBm",
            float(prb_noise_power_dbm(51, 1, 5.0)),
            _kt_noise_dbm(51 * prb_bandwidth_hz(1), 5.0),
            "k T B at T = 290 K (scipy.constants.k) + NF",
            0.1,
            False,
            "-174 dBm/Hz is kT at 290 K rounded from -173.98",
        )
    )
    for table, mcs, ref_se, src in (
        ("64qam", 0, 0.2344, "TS 38.214 Table 5.1.3.1-1"),
        ("64qam", 10, 1.3281, "TS 38.214 Table 5.1.3.1-1"),
        ("64qam", 17, 2.5664, "TS 38.214 Table 5.1.3.1-1"),
        ("64qam", 28, 5.5547, "TS 38.214 Table 5.1.3.1-1"),
        ("256qam", 27, 7.4063, "TS 38.214 Table 5.1.3.1-2"),
    ):
        tab = mcs_table(table)
        ours = float(tab.modulation_order[mcs] * tab.code_rate_x1024[mcs] / 1024.0)
        rows.append(
            ReferenceRow(
                f"spectral efficiency, {table} MCS {mcs}", "bit/RE", ours, ref_se, src, 5e-5, False, _SE_WHY
            )
        )
    for table, mcs, ref_db, src in (
        ("64qam", 0, -1.01, "ns-3 5G-LENA nr-eesm-t1.cc, BG2, CBS 3624, log-interpolated at 10 %"),
        ("64qam", 10, 6.26, "ns-3 5G-LENA nr-eesm-t1.cc, BG1, CBS 8192, log-interpolated at 10 %"),
        ("64qam", 20, 14.00, "ns-3 5G-LENA nr-eesm-t1.cc, BG1, CBS 7808, log-interpolated at 10 %"),
        ("64qam", 27, 20.61, "ns-3 5G-LENA nr-eesm-t1.cc, BG1, CBS 8192, log-interpolated at 10 %"),
        ("256qam", 27, 27.08, "ns-3 5G-LENA nr-eesm-t2.cc, BG1, CBS 5248, log-interpolated at 10 %"),
    ):
        ours = float(sinr_for_bler_db(0.1, mcs, table, cb_bits=8192))
        rows.append(
            ReferenceRow(
                f"SINR at 10 % BLER, {table} MCS {mcs}", "dB", ours, ref_db, src, 0.05, False, _BLER_WHY
            )
        )
    rows.append(
        ReferenceRow(
            "slot duration, 30 kHz SCS",
            "ms",
            slot_duration_s(1) * 1e3,
            0.5,
            "TS 38.211 Table 4.3.2-1",
            0,
            False,
            _EXACT,
        )
    )
    dddsu = tdd_pattern("DDDSU", 1)
    rows.append(
        ReferenceRow(
            "UL slot fraction, DDDSU",
            "-",
            dddsu.ul_fraction(),
            0.2,
            "1 U slot in 5 (pattern definition)",
            0,
            False,
            _EXACT,
        )
    )
    rows.append(
        ReferenceRow(
            "UL HARQ round trip, DDDSU, 30 kHz, K2 = 2",
            "ms",
            dddsu.harq_rtt_s("ul") * 1e3,
            2.5,
            "one TDD period (dossier 1.7; ns-3 5G-LENA K2 = 2 slots, decode 0.1 ms)",
            0,
            False,
            "slot counts follow from the timing rules; no rounding",
        )
    )
    rows.append(
        ReferenceRow(
            "UL HARQ round trip, FDD, 30 kHz, K2 = 2",
            "ms",
            tdd_pattern("FDD", 1).harq_rtt_s("ul") * 1e3,
            2.0,
            "decode 1 slot + K2 2 slots + PUSCH 1 slot (dossier 1.7)",
            0,
            False,
            "slot counts follow from the timing rules; no rounding",
        )
    )
    gain = chase_combined_sinr_db(np.array([5.0, 5.0]))
    rows.append(
        ReferenceRow(
            "chase-combining gain of two equal transmissions",
            "dB",
            float(gain[1] - gain[0]),
            10.0 * math.log10(2.0),
            "10 log10 2 (linear SINRs add) [K]",
            0.01,
            False,
            "exact in theory; 0.01 dB covers rounding",
        )
    )
    rows.append(
        ReferenceRow(
            "TBS, 51 PRB, 156 RE, 64qam MCS 28, 1 layer",
            "bit",
            float(transport_block_size(51, 28, "64qam")),
            44040,
            "TS 38.214 5.1.3.2 by hand: N_info 44193.1, n 10, N'_info 44032, C 6",
            0,
            False,
            _EXACT,
        )
    )
    rows.append(
        ReferenceRow(
            "code blocks of a 65536-bit TB (fp16 Llama-2-7B hidden state)",
            "CB",
            float(segment(65536, 0.6).n_code_blocks),
            8,
            "TS 38.212 5.2.2: ceil((65536 + 24) / 8424) (dossier 1.4)",
            0,
            False,
            _EXACT,
        )
    )
    rows.append(
        ReferenceRow(
            "PUSCH power, 51 PRB, 30 kHz, PL 70 dB, P0 -80 dBm, alpha 1",
            "dBm",
            float(pusch_power_dbm(70.0, 51, 1)),
            -80.0 + 10.0 * math.log10(2 * 51) + 70.0,
            "TS 38.213 7.1.1 by hand",
            1e-9,
            False,
            "closed form",
        )
    )
    return rows
