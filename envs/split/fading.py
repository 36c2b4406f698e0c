"""Small-scale fading inside a request: a pool of unit-power realisations per coherence block and subband.

**Drawn**: ``R`` independent realisations (the pool) of the diffuse fading coefficient per coherence block
``j`` and subband ``n``, ``h[r, j, n] ~ CN(0, 1)``, AR(1) across blocks
``h[j+1] = rho h[j] + sqrt(1 - rho^2) w`` with ``rho = clip(J0(2 pi f_D T_b), 0, 0.9999)`` (Jakes), and
independent across subbands. Power gain ``|h|^2`` (NLOS, Rayleigh) or
``|sqrt(K/(K+1)) + h/sqrt(K+1)|^2`` (LOS, Rician K) [K]. ``E[gain] = 1``: the large-scale SNR is the mean.
**Averaged**: nothing. Every SINR the link sees is the large-scale SNR times one of these gains, read at
the block and subband where the transmission happens; no curve used downstream averages over fading
(the BLER curves are AWGN curves, the EESM maps the subbands of one block), so fading is counted once.

Timing [K/A]: Doppler ``f_D = v f_c / c``; coherence time ``T_c = 0.423 / f_D``; a block lasts ``T_b =
max(T_c / 4, one slot)`` (``rho(T_b) = J0(0.66) = 0.89``), one block for the whole horizon at ``v = 0``.
Coherence bandwidth ``B_c = 1 / (5 tau_rms)``; the allocation of ``B`` Hz spans ``ceil(B / B_c)`` independent
subbands (at most 16; 1 for ``tau_rms = 0``). ``fading=False`` sets every gain to 1 (AWGN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special  # type: ignore[import-untyped, unused-ignore]

from splitgym.envs.channels import SPEED_OF_LIGHT

__all__ = ["FadingPool", "block_slots", "n_subbands"]

MAX_SUBBANDS = 16


def block_slots(speed_mps: float, carrier_hz: float, slot_s: float, horizon_slots: int) -> tuple[int, float]:
    """Slots per fading block and the AR(1) correlation between consecutive blocks."""
    f_d = speed_mps * carrier_hz / SPEED_OF_LIGHT
    if f_d <= 0.0:
        return max(horizon_slots, 1), 1.0
    t_b = max(0.423 / f_d / 4.0, slot_s)
    n = max(1, round(t_b / slot_s))
    rho = float(np.clip(special.j0(2.0 * math.pi * f_d * n * slot_s), 0.0, 0.9999))
    return n, rho


def n_subbands(bandwidth_hz: float, delay_spread_s: float) -> int:
    """Independent subbands ``ceil(B / B_c)`` with ``B_c = 1 / (5 tau_rms)``, in ``[1, 16]``."""
    if delay_spread_s <= 0.0:
        return 1
    return int(min(MAX_SUBBANDS, max(1, math.ceil(bandwidth_hz * 5.0 * delay_spread_s - 1e-9))))


@dataclass(frozen=True)
class FadingPool:
    """Power gains ``gain[los, r, block, subband]`` (``los`` 0 = NLOS Rayleigh, 1 = LOS Rician)."""

    gain: NDArray[np.float64]
    slots_per_block: int
    rho: float

    @classmethod
    def draw(
        cls,
        rng: np.random.Generator,
        *,
        size: int,
        n_blocks: int,
        subbands: int,
        slots_per_block: int,
        rho: float,
        rician_k_db: float,
        fading: bool = True,
    ) -> FadingPool:
        shape = (size, n_blocks, subbands)
        if not fading:
            return cls(np.ones((2, *shape)), slots_per_block, 1.0)
        w = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * math.sqrt(0.5)
        h = np.empty(shape, dtype=np.complex128)
        h[:, 0] = w[:, 0]
        a = math.sqrt(max(0.0, 1.0 - rho * rho))
        for j in range(1, n_blocks):
            h[:, j] = rho * h[:, j - 1] + a * w[:, j]
        k = 10.0 ** (rician_k_db / 10.0)
        nlos = np.abs(h) ** 2
        los = np.abs(math.sqrt(k / (k + 1.0)) + h / math.sqrt(k + 1.0)) ** 2
        return cls(np.stack([nlos, los]), slots_per_block, rho)
