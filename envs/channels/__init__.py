"""Wireless channel models for split inference (numpy/scipy only).

* :mod:`.fading`: Rayleigh, Rician and Nakagami-m block fading, i.i.d. or AR(1)-correlated
  (``rho = J0(2 pi f_D T)``).
* :mod:`.markov`: Wang-Moayeri finite-state Markov channel and Gilbert-Elliott.
* :mod:`.pathloss`: 3GPP TR 38.901 UMi street canyon path loss, LOS probability, Gudmundson shadowing.
* :mod:`.link`: link budget, Shannon rates, uncoded BER (AWGN, Rayleigh, Nakagami-m), outage, packet erasure.

SNR convention: linear symbol SNR ``Es/N0`` unless a name ends in ``_db``; ``Eb/N0 = SNR / log2(M)``.
Stochastic components share ``reset(rng, n) -> array of shape (n,)`` and ``step()``, vectorised over
``n`` links.
"""

from .fading import (
    SPEED_OF_LIGHT,
    FadingModel,
    NakagamiFading,
    RayleighFading,
    RicianFading,
    doppler_frequency,
    rho_from_doppler,
)
from .link import (
    MODULATIONS,
    THERMAL_NOISE_DBM_PER_HZ,
    ber_awgn,
    ber_nakagami,
    ber_rayleigh,
    ber_rayleigh_interval,
    bits_per_symbol,
    db_to_linear,
    linear_to_db,
    noise_power_dbm,
    outage_probability,
    packet_erasure_probability,
    shannon_rate,
    snr_db,
    truncated_shannon_rate,
)
from .markov import FiniteStateMarkovChannel, GilbertElliottChannel, MarkovChannel
from .pathloss import (
    GudmundsonShadowing,
    umi_breakpoint_distance_m,
    umi_decorrelation_distance_m,
    umi_los_probability,
    umi_path_loss_db,
    umi_shadowing_std_db,
)

__all__ = [
    "MODULATIONS",
    "SPEED_OF_LIGHT",
    "THERMAL_NOISE_DBM_PER_HZ",
    "FadingModel",
    "FiniteStateMarkovChannel",
    "GilbertElliottChannel",
    "GudmundsonShadowing",
    "MarkovChannel",
    "NakagamiFading",
    "RayleighFading",
    "RicianFading",
    "ber_awgn",
    "ber_nakagami",
    "ber_rayleigh",
    "ber_rayleigh_interval",
    "bits_per_symbol",
    "db_to_linear",
    "doppler_frequency",
    "linear_to_db",
    "noise_power_dbm",
    "outage_probability",
    "packet_erasure_probability",
    "rho_from_doppler",
    "shannon_rate",
    "snr_db",
    "truncated_shannon_rate",
    "umi_breakpoint_distance_m",
    "umi_decorrelation_distance_m",
    "umi_los_probability",
    "umi_path_loss_db",
    "umi_shadowing_std_db",
]
