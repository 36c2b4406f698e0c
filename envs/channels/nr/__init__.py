"""NR (5G) link layer as a library: tables, BLER abstraction, link adaptation, HARQ, power control, TDD.

One concept per module, numpy-vectorised over links/requests, randomness only from a caller's
``numpy.random.Generator``, bad input -> one-line :class:`splitgym.errors.ConfigError`:

* :mod:`.mcs`: MCS tables (TS 38.214 5.1.3.1-1/-2) and CQI tables (5.2.2.1-2/-3), by name.
* :mod:`.grid`: numerology, ``N_RB`` per bandwidth (TS 38.101-1 5.3.2-1), data RE per PRB (156), noise,
  TS 38.306 peak rate.
* :mod:`.segmentation`: LDPC base graph and code-block segmentation (TS 38.212).
* :mod:`.tbs`: transport block size (TS 38.214 5.1.3.2).
* :mod:`.bler`: AWGN BLER per MCS (logistic around the ns-3 10 % thresholds, slope by CB size), TBLER.
* :mod:`.eesm`: effective SINR (EESM, ns-3/Sionna betas).
* :mod:`.cqi`: CQI quantisation, inverse, report delay line.
* :mod:`.olla`: outer-loop link adaptation towards 10 % BLER.
* :mod:`.harq`: HARQ with chase combining (max 4 transmissions).
* :mod:`.power`: PUSCH power control (TS 38.213 7.1.1).
* :mod:`.tdd`: TDD patterns / FDD, waiting times, UL fraction, HARQ round trips.
* :mod:`.reference`: spec quantities beside independent references (for ``splitgym physics``).

Units: SINR in dB unless a name says linear (EESM works on linear SINR), powers in dBm, times in s,
bandwidths and SCS in Hz, sizes in bits.
"""

from .bler import (
    SINR10_DB,
    bler_slope_per_db,
    cbs_shift_db,
    code_block_error_rate,
    sinr10_db,
    sinr_for_bler_db,
    transport_block_error_rate,
)
from .cqi import CqiDelayLine, cqi_from_sinr_db, cqi_sinr10_db, sinr_db_from_cqi
from .eesm import EESM_BETA, eesm_beta, effective_sinr, effective_sinr_db
from .grid import (
    N_RB_FR1,
    OVERHEAD_38306,
    RE_PER_PRB_CAP,
    data_re_per_prb,
    n_prb,
    numerology,
    peak_data_rate_bps,
    prb_bandwidth_hz,
    prb_noise_power_dbm,
    scs_hz,
    slot_duration_s,
    symbol_duration_s,
)
from .harq import MAX_TRANSMISSIONS, HarqOutcome, chase_combined_sinr_db, simulate_harq
from .mcs import (
    CQI_TABLES,
    DEFAULT_DL_MCS_TABLE,
    DEFAULT_UL_MCS_TABLE,
    MCS_TABLES,
    CqiTable,
    McsTable,
    cqi_table,
    mcs_table,
)
from .olla import OuterLoopLinkAdaptation, required_sinr_db, select_mcs
from .power import (
    ALPHA_VALUES,
    MAX_UE_POWER_DBM,
    P0_DEFAULT_DBM,
    P_CMAX_DBM,
    bits_per_re,
    delta_tf_db,
    max_prbs_power_limited,
    pusch_power_dbm,
)
from .reference import ReferenceRow, reference_rows
from .segmentation import LIFTING_SIZES, Segmentation, base_graph, segment, tb_crc_bits
from .tbs import TBS_TABLE, n_info_bits, tbs_from_n_info, transport_block_size
from .tdd import DEFAULT_TDD_PATTERN, TDD_PATTERNS, TddPattern, tdd_pattern

__all__ = [
    "ALPHA_VALUES",
    "CQI_TABLES",
    "DEFAULT_DL_MCS_TABLE",
    "DEFAULT_TDD_PATTERN",
    "DEFAULT_UL_MCS_TABLE",
    "EESM_BETA",
    "LIFTING_SIZES",
    "MAX_TRANSMISSIONS",
    "MAX_UE_POWER_DBM",
    "MCS_TABLES",
    "N_RB_FR1",
    "OVERHEAD_38306",
    "P0_DEFAULT_DBM",
    "P_CMAX_DBM",
    "RE_PER_PRB_CAP",
    "SINR10_DB",
    "TBS_TABLE",
    "TDD_PATTERNS",
    "CqiDelayLine",
    "CqiTable",
    "HarqOutcome",
    "McsTable",
    "OuterLoopLinkAdaptation",
    "ReferenceRow",
    "Segmentation",
    "TddPattern",
    "base_graph",
    "bits_per_re",
    "bler_slope_per_db",
    "cbs_shift_db",
    "chase_combined_sinr_db",
    "code_block_error_rate",
    "cqi_from_sinr_db",
    "cqi_sinr10_db",
    "cqi_table",
    "data_re_per_prb",
    "delta_tf_db",
    "eesm_beta",
    "effective_sinr",
    "effective_sinr_db",
    "max_prbs_power_limited",
    "mcs_table",
    "n_info_bits",
    "n_prb",
    "numerology",
    "peak_data_rate_bps",
    "prb_bandwidth_hz",
    "prb_noise_power_dbm",
    "pusch_power_dbm",
    "reference_rows",
    "required_sinr_db",
    "scs_hz",
    "segment",
    "select_mcs",
    "simulate_harq",
    "sinr10_db",
    "sinr_db_from_cqi",
    "sinr_for_bler_db",
    "slot_duration_s",
    "symbol_duration_s",
    "tb_crc_bits",
    "tbs_from_n_info",
    "tdd_pattern",
    "transport_block_error_rate",
    "transport_block_size",
]
