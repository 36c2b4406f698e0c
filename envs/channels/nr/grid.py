"""NR resource grid (FR1): numerology, PRBs per channel bandwidth, data REs per PRB-slot, noise, peak rate.

* Numerology [S: TS 38.211 4.2 / 4.3.2, Table 4.3.2-1]: subcarrier spacing ``SCS = 15 kHz * 2^mu``,
  14 OFDM symbols per slot (normal cyclic prefix), slot duration ``T_slot = 1 ms / 2^mu``, average symbol
  duration ``T_s = 1 ms / (14 * 2^mu)``. One PRB is 12 subcarriers (``12 * SCS`` Hz).
* PRBs for a channel bandwidth [S: TS 38.101-1 Table 5.3.2-1, maximum transmission bandwidth configuration
  N_RB, FR1]: checked against two independent encodings (the AIMM simulator's ``NPRB_TABLE``, quoting
  TS 38.101-1 V18, and a module quoting V17.8.0); 35 and 45 MHz (Rel-16 additions) from the former only.
* Data REs per PRB and slot [S: TS 38.214 5.1.3.2 step 1]:
  ``N'_RE = 12 * N_symb - N_DMRS - N_oh`` and the TBS uses ``min(156, N'_RE)``. Default overhead: all 14
  symbols allocated, one single-symbol type-1 DMRS (12 RE/PRB incl. the CDM group without data) and
  ``xOverhead = 0`` -> ``168 - 12 - 0 = 156`` RE. A caller that reserves control/SRS symbols (ns-3 5G-LENA
  reserves 1 DL control, 1 UL control and 1 SRS symbol per slot [S: repo]) passes ``n_symbols=12`` etc.
* Noise power [K]: ``N = -174 dBm/Hz + 10 log10(B) + NF`` over the occupied bandwidth ``B = 12 N_PRB SCS``.
* Approximate peak data rate [S: TS 38.306 4.1.2]:
  ``rate = 1e-6 * sum_j v_layers Q_m f R_max (12 N_PRB / T_s^mu) (1 - OH)`` Mbit/s with
  ``R_max = 948/1024``, ``T_s^mu = 1e-3 / (14 * 2^mu)`` s, scaling ``f`` in {1, 0.8, 0.75, 0.4} and
  ``OH`` = 0.14 (FR1 DL), 0.18 (FR2 DL), 0.08 (FR1 UL), 0.10 (FR2 UL). This module returns bit/s.
  Example: 20 MHz, 30 kHz (51 PRB), 1 UL layer, 64QAM: 87.6 Mbit/s.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError

from ..link import noise_power_dbm
from . import _checks

__all__ = [
    "N_RB_FR1",
    "OVERHEAD_38306",
    "RE_PER_PRB_CAP",
    "R_MAX",
    "SCALING_FACTORS_38306",
    "SUBCARRIERS_PER_PRB",
    "SYMBOLS_PER_SLOT",
    "data_re_per_prb",
    "n_prb",
    "numerology",
    "peak_data_rate_bps",
    "prb_bandwidth_hz",
    "prb_noise_power_dbm",
    "scs_hz",
    "slot_duration_s",
    "symbol_duration_s",
]

SUBCARRIERS_PER_PRB = 12
"""Subcarriers per resource block, TS 38.211 4.4.4.1."""
SYMBOLS_PER_SLOT = 14
"""OFDM symbols per slot with normal cyclic prefix, TS 38.211 Table 4.3.2-1."""
RE_PER_PRB_CAP = 156
"""Upper bound on REs per PRB in the TBS determination, TS 38.214 5.1.3.2."""
R_MAX = 948.0 / 1024.0
"""Maximum code rate in the TS 38.306 4.1.2 peak-rate formula."""
SCALING_FACTORS_38306 = (1.0, 0.8, 0.75, 0.4)
"""Allowed scaling factors ``f`` in TS 38.306 4.1.2."""
OVERHEAD_38306: dict[tuple[str, str], float] = {
    ("FR1", "dl"): 0.14,
    ("FR2", "dl"): 0.18,
    ("FR1", "ul"): 0.08,
    ("FR2", "ul"): 0.10,
}
"""Overhead ``OH`` of TS 38.306 4.1.2 by (frequency range, direction)."""

# TS 38.101-1 Table 5.3.2-1: channel bandwidth [MHz] -> N_RB, per SCS [kHz] (FR1).
N_RB_FR1: dict[int, dict[int, int]] = {
    15: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 35: 188, 40: 216, 45: 242, 50: 270},
    30: {
        5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 35: 92, 40: 106, 45: 119, 50: 133,
        60: 162, 70: 189, 80: 217, 90: 245, 100: 273,
    },
    60: {
        10: 11, 15: 18, 20: 24, 25: 31, 30: 38, 35: 44, 40: 51, 45: 58, 50: 65,
        60: 79, 70: 93, 80: 107, 90: 121, 100: 135,
    },
}  # fmt: skip
"""Maximum transmission bandwidth configuration ``N_RB`` (FR1), by SCS in kHz then bandwidth in MHz."""

_MU_BY_SCS_KHZ = {15: 0, 30: 1, 60: 2, 120: 3, 240: 4}


def numerology(scs_hz: float) -> int:
    """The numerology ``mu`` with ``SCS = 15 kHz * 2^mu`` (``mu`` 0-4; ``ConfigError`` otherwise)."""
    value = _checks.scalar("scs_hz", scs_hz, gt=0.0)
    khz = value / 1e3
    key = round(khz)
    if abs(khz - key) > 1e-9 or key not in _MU_BY_SCS_KHZ:
        allowed = ", ".join(f"{k}e3" for k in _MU_BY_SCS_KHZ)
        raise ConfigError(f"scs_hz must be one of {allowed}; got {value:g}")
    return _MU_BY_SCS_KHZ[key]


def _check_mu(mu: int) -> int:
    return _checks.integer("mu", mu, ge=0, le=4)


def scs_hz(mu: int) -> float:
    """Subcarrier spacing ``15e3 * 2^mu`` Hz."""
    return float(15e3 * 2 ** _check_mu(mu))


def slot_duration_s(mu: int) -> float:
    """Slot duration ``1e-3 / 2^mu`` s (1, 0.5, 0.25, 0.125, 0.0625 ms)."""
    return float(1e-3 / 2 ** _check_mu(mu))


def symbol_duration_s(mu: int) -> float:
    """Average OFDM symbol duration including cyclic prefix, ``T_s = 1e-3 / (14 * 2^mu)`` s."""
    return slot_duration_s(mu) / SYMBOLS_PER_SLOT


def prb_bandwidth_hz(mu: int) -> float:
    """Bandwidth of one PRB, ``12 * SCS`` Hz (360 kHz at ``mu = 1``)."""
    return SUBCARRIERS_PER_PRB * scs_hz(mu)


def n_prb(bandwidth_hz: float, scs_hz: float) -> int:
    """``N_RB`` for an FR1 channel bandwidth and SCS, TS 38.101-1 Table 5.3.2-1 (51 at 20 MHz, 30 kHz).

    ``ConfigError`` for a non-positive bandwidth, a bandwidth not in the table, or an SCS the table does
    not allow at that bandwidth (e.g. 15 kHz at 100 MHz, 60 kHz at 5 MHz); the message lists what is allowed.
    """
    bw = _checks.scalar("bandwidth_hz", bandwidth_hz, gt=0.0)
    mu = numerology(scs_hz)
    scs_khz = 15 * 2**mu
    if scs_khz not in N_RB_FR1:
        raise ConfigError(
            f"scs_hz must be one of 15e3, 30e3, 60e3 in FR1 (TS 38.101-1); got {scs_khz * 1e3:g}"
        )
    mhz = bw / 1e6
    key = round(mhz)
    all_bw = sorted({b for table in N_RB_FR1.values() for b in table})
    if abs(mhz - key) > 1e-9 or key not in all_bw:
        raise ConfigError(
            f"bandwidth_hz must be one of {', '.join(f'{b}e6' for b in all_bw)} (TS 38.101-1 Table 5.3.2-1); "
            f"got {bw:g}"
        )
    table = N_RB_FR1[scs_khz]
    if key not in table:
        allowed_scs = [s for s, t in N_RB_FR1.items() if key in t]
        raise ConfigError(
            f"scs_hz={scs_khz * 1e3:g} is not allowed for bandwidth_hz={bw:g}; allowed scs_hz at {key} MHz: "
            f"{', '.join(f'{s}e3' for s in allowed_scs)} (TS 38.101-1 Table 5.3.2-1)"
        )
    return table[key]


def data_re_per_prb(n_symbols: int = SYMBOLS_PER_SLOT, dmrs_re: int = 12, overhead_re: int = 0) -> int:
    """Data REs per PRB per slot used by the TBS: ``min(156, 12 n_symbols - dmrs_re - overhead_re)``.

    ``n_symbols``: allocated OFDM symbols (1-14); ``dmrs_re``: DMRS REs per PRB incl. CDM groups without
    data (12 for one single-symbol type-1 DMRS symbol); ``overhead_re``: ``xOverhead`` (0, 6, 12 or 18 in
    TS 38.214, any value >= 0 accepted). Defaults give 156 [S: TS 38.214 5.1.3.2].
    """
    symbols = _checks.integer("n_symbols", n_symbols, ge=1, le=SYMBOLS_PER_SLOT)
    dmrs = _checks.integer("dmrs_re", dmrs_re, ge=0)
    overhead = _checks.integer("overhead_re", overhead_re, ge=0)
    n_re = SUBCARRIERS_PER_PRB * symbols - dmrs - overhead
    if n_re <= 0:
        raise ConfigError(
            f"dmrs_re + overhead_re must be < 12 * n_symbols = {12 * symbols}; got {dmrs} + {overhead}"
        )
    return min(RE_PER_PRB_CAP, n_re)


def prb_noise_power_dbm(n_prb: ArrayLike, mu: int, noise_figure_db: float = 5.0) -> NDArray[np.float64]:
    """Noise power over ``n_prb`` PRBs, ``-174 + 10 log10(12 n_prb SCS) + NF`` dBm [K].

    At ``mu = 1``: one PRB (360 kHz) is -118.4 dBm + NF; 51 PRBs (18.36 MHz) are -101.4 dBm + NF.
    Default NF 5 dB for a gNB receiver [A: typical macro/small-cell value, dossier section 1.8].
    """
    prbs = _checks.array("n_prb", n_prb, gt=0.0)
    nf = _checks.scalar("noise_figure_db", noise_figure_db, ge=0.0)
    return noise_power_dbm(prbs * prb_bandwidth_hz(mu), nf)


def peak_data_rate_bps(
    n_prb: int,
    mu: int,
    *,
    modulation_order: int = 6,
    n_layers: int = 1,
    scaling: float = 1.0,
    direction: str = "ul",
    frequency_range: str = "FR1",
) -> float:
    """Approximate data rate of TS 38.306 4.1.2 for one carrier, in bit/s.

    ``v_layers * Q_m * f * R_max * 12 * N_PRB / T_s^mu * (1 - OH)`` with ``R_max = 948/1024`` and
    ``T_s^mu = 1e-3/(14 * 2^mu)``; ``OH`` from :data:`OVERHEAD_38306`. Multiply by the UL (or DL) time
    fraction of a TDD pattern for a TDD carrier (:meth:`TddPattern.ul_fraction`).
    """
    prbs = _checks.integer("n_prb", n_prb, ge=1, le=275)
    qm = _checks.integer("modulation_order", modulation_order, ge=1, le=10)
    layers = _checks.integer("n_layers", n_layers, ge=1, le=8)
    f = _checks.scalar("scaling", scaling, gt=0.0)
    if not any(math.isclose(f, s) for s in SCALING_FACTORS_38306):
        raise ConfigError(f"scaling must be one of 1, 0.8, 0.75, 0.4 (TS 38.306 4.1.2); got {f:g}")
    fr = _checks.choice("frequency_range", frequency_range, ("FR1", "FR2"))
    way = _checks.choice("direction", direction, ("ul", "dl"))
    overhead = OVERHEAD_38306[(fr, way)]
    return layers * qm * f * R_MAX * SUBCARRIERS_PER_PRB * prbs / symbol_duration_s(mu) * (1.0 - overhead)
