"""HARQ with chase combining: up to ``max_transmissions`` attempts of one transport block per link.

Chase combining [S: ns-3 5G-LENA ``NrEesmCc::ComputeSINR``]: every retransmission repeats the same coded
bits, so the receiver adds the per-resource **linear** SINRs of all attempts so far,
``gamma^(k)_n = sum_{j <= k} gamma_{j,n}``, and the effective SINR of attempt ``k`` is the EESM of
``gamma^(k)`` with the MCS's ``beta`` (:mod:`.eesm`). Two equal attempts therefore gain
``10 log10 2 = 3.01 dB``. Attempt ``k`` fails with probability ``TBLER(gamma_eff^(k))``
(:func:`bler.transport_block_error_rate`); attempts are drawn independently given their SINRs
[A: the system-level convention of ns-3 5G-LENA and Sionna].

At most 4 transmissions by default (``maxHarqReTx = 3`` in ns-3 5G-LENA) [S: repo]. Timing is the caller's:
each column of ``sinr_db`` is the SINR of one (re)transmission, drawn wherever the caller's TDD pattern
and HARQ round trip (:func:`tdd.TddPattern.harq_rtt_slots`) put it. Incremental redundancy is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError

from .._validate import check_rng
from . import _checks
from .bler import transport_block_error_rate
from .eesm import eesm_beta, effective_sinr

__all__ = ["MAX_TRANSMISSIONS", "HarqOutcome", "chase_combined_sinr_db", "simulate_harq"]

MAX_TRANSMISSIONS = 4
"""Default maximum number of transmissions of a TB (1 + 3 retransmissions), ns-3 5G-LENA."""


@dataclass(frozen=True)
class HarqOutcome:
    """Per link: transmissions used (1 ... max), whether the TB was delivered, and the per-attempt TBLER."""

    transmissions: NDArray[np.int64]
    delivered: NDArray[np.bool_]
    attempt_tbler: NDArray[np.float64]
    """Shape ``(n, max_transmissions)``: error probability of attempt ``k`` after combining ``k`` copies."""
    effective_sinr_db: NDArray[np.float64]
    """Shape ``(n, max_transmissions)``: effective SINR (dB) of attempt ``k`` after chase combining."""


def chase_combined_sinr_db(sinr_db: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """Chase combining along ``axis``: ``10 log10(sum_{j<=k} 10^(sinr_j/10))`` for each attempt ``k``."""
    gamma = 10.0 ** (_checks.array("sinr_db", sinr_db, allow_inf=True) / 10.0)
    with np.errstate(divide="ignore"):
        return np.asarray(10.0 * np.log10(np.cumsum(gamma, axis=axis)), dtype=np.float64)


def simulate_harq(
    sinr_db: ArrayLike,
    mcs: ArrayLike,
    tb_bits: ArrayLike,
    rng: np.random.Generator,
    *,
    table: str = "64qam",
    max_transmissions: int = MAX_TRANSMISSIONS,
    impl_margin_db: float = 0.0,
) -> HarqOutcome:
    """Run chase-combining HARQ for ``n`` transport blocks.

    ``sinr_db``: shape ``(n, k)`` (one SINR per attempt, flat channel) or ``(n, k, n_res)`` (per PRB/RE of
    each attempt), ``k >= max_transmissions``; only the first ``max_transmissions`` columns are used.
    ``mcs`` and ``tb_bits``: scalar or ``(n,)``. ``rng`` draws one uniform per link and attempt.
    """
    check_rng(rng)
    m_tx = _checks.integer("max_transmissions", max_transmissions, ge=1, le=32)
    gamma_db = _checks.array("sinr_db", sinr_db, allow_inf=True)
    if gamma_db.ndim not in (2, 3) or gamma_db.shape[1] < m_tx:
        raise ConfigError(
            f"sinr_db must have shape (n, k) or (n, k, n_res) with k >= max_transmissions={m_tx}, "
            f"got shape {gamma_db.shape}"
        )
    gamma_db = gamma_db[:, :m_tx]
    n = gamma_db.shape[0]
    mcs_arr = np.broadcast_to(np.asarray(mcs), (n,))
    bits = np.broadcast_to(np.asarray(tb_bits), (n,))
    gamma = 10.0 ** (gamma_db / 10.0)
    combined = np.cumsum(gamma, axis=1)
    if combined.ndim == 3:
        beta = eesm_beta(mcs_arr, table)[:, None]
        eff = effective_sinr(combined, beta, axis=-1)
    else:
        eff = combined
    with np.errstate(divide="ignore"):
        eff_db = 10.0 * np.log10(eff)
    tbler = transport_block_error_rate(eff_db, mcs_arr[:, None], bits[:, None], table, impl_margin_db)
    success = rng.random((n, m_tx)) >= tbler
    delivered = success.any(axis=1)
    first = np.argmax(success, axis=1)
    transmissions = np.where(delivered, first + 1, m_tx).astype(np.int64)
    return HarqOutcome(
        transmissions=transmissions,
        delivered=np.asarray(delivered, dtype=np.bool_),
        attempt_tbler=np.asarray(tbler, dtype=np.float64),
        effective_sinr_db=np.asarray(eff_db, dtype=np.float64),
    )
