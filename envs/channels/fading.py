"""Small-scale block fading for ``n`` independent links, i.i.d. or time-correlated across blocks.

Every model is driven by one complex Gaussian process per link, ``g[t] ~ CN(0, 1)``, which is first-order
Gauss-Markov (AR(1)) across blocks::

    g[t+1] = rho g[t] + sqrt(1 - rho^2) w[t],    w[t] ~ CN(0, 1) i.i.d.,    E[g[t] g*[t+k]] = rho^k

``rho = 0`` gives i.i.d. blocks. ``g[0]`` is drawn from the stationary law, so the marginal holds at every
block. The models map ``g`` to the channel coefficient ``h`` (normalised so ``E|h|^2 = 1``);
``reset``/``step`` return the power gain ``|h|^2`` per link (linear, shape ``(n,)``), to be multiplied with
the mean SNR.

All randomness comes from the ``numpy.random.Generator`` given to :meth:`FadingModel.reset`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import NDArray
from scipy import special  # type: ignore[import-untyped, unused-ignore]

from ._validate import check_int, check_rng, check_scalar

__all__ = [
    "SPEED_OF_LIGHT",
    "FadingModel",
    "NakagamiFading",
    "RayleighFading",
    "RicianFading",
    "doppler_frequency",
    "rho_from_doppler",
]

SPEED_OF_LIGHT = 299_792_458.0
"""Speed of light in m/s."""
RHO_MAX = 0.9999
"""Upper clip of :func:`rho_from_doppler`, keeping some innovation even for a static user."""


def doppler_frequency(speed_mps: float, carrier_hz: float) -> float:
    """Maximum Doppler shift ``f_D = v fc / c`` in Hz (speed in m/s, carrier in Hz)."""
    speed = check_scalar("speed_mps", speed_mps, ge=0.0)
    return speed * check_scalar("carrier_hz", carrier_hz, gt=0.0) / SPEED_OF_LIGHT


def rho_from_doppler(speed_mps: float, carrier_hz: float, block_s: float) -> float:
    """Clarke/Jakes lag-one correlation ``rho = clip(J0(2 pi f_D T), 0, 0.9999)`` (block length ``T`` in s).

    ``J0`` turns negative for ``f_D T > 0.383``; such blocks are treated as independent (``rho = 0``).
    Example: 3 km/h at 3.5 GHz (``f_D = 9.7 Hz``) gives 0.91 for 10 ms blocks.
    """
    doppler = doppler_frequency(speed_mps, carrier_hz)
    block = check_scalar("block_s", block_s, gt=0.0)
    return float(np.clip(special.j0(2.0 * math.pi * doppler * block), 0.0, RHO_MAX))


def _complex_normal(rng: np.random.Generator, n: int) -> NDArray[np.complex128]:
    """``n`` samples of ``CN(0, 1)``: real and imaginary parts ``N(0, 1/2)``."""
    samples = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * math.sqrt(0.5)
    return np.asarray(samples, dtype=np.complex128)


class FadingModel(ABC):
    """Common interface: ``reset(rng, n)`` starts ``n`` links, ``step()`` advances them one block.

    Args:
        rho: lag-one correlation of the underlying ``CN(0, 1)`` process between consecutive blocks, in
            ``[0, 1]``; 0 (default) is i.i.d. block fading, 1 a static channel. See :func:`rho_from_doppler`.
    """

    mean_gain: float = 1.0
    """``E[|h|^2]`` of every model (normalised)."""

    def __init__(self, rho: float = 0.0) -> None:
        self.rho = check_scalar("rho", rho, ge=0.0, le=1.0)
        self._rng: np.random.Generator | None = None
        self._g: NDArray[np.complex128] = np.zeros(0, dtype=np.complex128)

    def reset(self, rng: np.random.Generator, n: int = 1) -> NDArray[np.float64]:
        """Store ``rng``, draw ``n`` links from the stationary law, return ``|h|^2`` (shape ``(n,)``)."""
        self._rng = check_rng(rng)
        self._g = _complex_normal(rng, check_int("n", n, ge=1))
        return self.gain

    def step(self) -> NDArray[np.float64]:
        """Advance every link one block (AR(1) update of ``g``); return the new ``|h|^2`` (shape ``(n,)``)."""
        if self._rng is None:
            raise RuntimeError(f"{type(self).__name__}.step() called before reset()")
        innovation = _complex_normal(self._rng, self._g.size)
        self._g = self.rho * self._g + math.sqrt(1.0 - self.rho**2) * innovation
        return self.gain

    @property
    def n_links(self) -> int:
        """Number of links started by the last :meth:`reset` (0 before)."""
        return int(self._g.size)

    @property
    def gain(self) -> NDArray[np.float64]:
        """Current power gain ``|h|^2`` per link (linear, mean 1)."""
        return np.asarray(np.abs(self.coefficient) ** 2, dtype=np.float64)

    @property
    @abstractmethod
    def coefficient(self) -> NDArray[np.complex128]:
        """Current complex channel coefficient ``h`` per link."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rho={self.rho:g})"


class RayleighFading(FadingModel):
    """Rayleigh fading (NLOS): ``h = g ~ CN(0, 1)``, so ``|h|^2 ~ Exp(1)`` (mean 1, variance 1).

    With ``rho > 0`` the power gains are correlated with ``corr(|h[t]|^2, |h[t+k]|^2) = rho^(2k)``.
    """

    @property
    def coefficient(self) -> NDArray[np.complex128]:
        return self._g


class RicianFading(FadingModel):
    """Rician fading (LOS): ``h = sqrt(K/(K+1)) e^(j phi) + sqrt(1/(K+1)) g``.

    ``K`` is the **linear** ratio of LOS to scattered power (``K = 0`` is Rayleigh); use :meth:`from_db` for
    ``K`` in dB (TR 38.901 UMi LOS: ``K_dB ~ N(9, 5)``). The LOS phase ``phi ~ U[0, 2 pi)`` is drawn per link
    at reset and held; only the scattered part follows the AR(1) process. ``E|h|^2 = 1`` and
    ``Var|h|^2 = (1 + 2K)/(K + 1)^2``.
    """

    def __init__(self, k_factor: float, rho: float = 0.0) -> None:
        super().__init__(rho)
        self.k_factor = check_scalar("k_factor", k_factor, ge=0.0)
        self._los = np.zeros(0, dtype=np.complex128)

    @classmethod
    def from_db(cls, k_factor_db: float, rho: float = 0.0) -> RicianFading:
        """Build from ``K`` in dB: ``K = 10^(K_dB / 10)``."""
        return cls(10.0 ** (check_scalar("k_factor_db", k_factor_db) / 10.0), rho)

    def reset(self, rng: np.random.Generator, n: int = 1) -> NDArray[np.float64]:
        """Draw the LOS phase of each link, then the scattered part (see :meth:`FadingModel.reset`)."""
        phase = 2.0 * math.pi * check_rng(rng).random(check_int("n", n, ge=1))
        self._los = math.sqrt(self.k_factor / (self.k_factor + 1.0)) * np.exp(1j * phase)
        return super().reset(rng, n)

    @property
    def coefficient(self) -> NDArray[np.complex128]:
        return np.asarray(self._los + self._g / math.sqrt(self.k_factor + 1.0), dtype=np.complex128)

    def __repr__(self) -> str:
        return f"RicianFading(k_factor={self.k_factor:g}, rho={self.rho:g})"


class NakagamiFading(FadingModel):
    """Nakagami-m fading: ``|h|^2 ~ Gamma(m, 1/m)`` exactly (mean 1, variance ``1/m``), ``m >= 0.5``.

    Time correlation maps the correlated Rayleigh process ``g`` through a copula (probability integral
    transform): ``|g|^2 ~ Exp(1)``, so ``U = exp(-|g|^2)`` is uniform on (0, 1) and
    ``|h|^2 = F^-1(1 - U) = gammainccinv(m, U) / m`` with ``F`` the Gamma(m, 1/m) CDF. The marginal is
    therefore exactly Gamma(m, 1/m) at every block for any ``rho``; the mapping is monotone, so the gains
    inherit the correlation of ``|g|^2`` (exactly ``rho^(2k)`` for ``m = 1``, within about 0.01 of it for
    ``0.5 <= m <= 2.5``). The phase of ``h`` is that of ``g``. ``m = 1`` reproduces :class:`RayleighFading`.
    """

    def __init__(self, m: float, rho: float = 0.0) -> None:
        super().__init__(rho)
        self.m = check_scalar("m", m, ge=0.5)

    @property
    def coefficient(self) -> NDArray[np.complex128]:
        power = special.gammainccinv(self.m, np.exp(-(np.abs(self._g) ** 2))) / self.m
        return np.asarray(np.sqrt(power) * np.exp(1j * np.angle(self._g)), dtype=np.complex128)

    def __repr__(self) -> str:
        return f"NakagamiFading(m={self.m:g}, rho={self.rho:g})"
