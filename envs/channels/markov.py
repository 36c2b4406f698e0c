"""Finite-state Markov channels: Wang-Moayeri FSMC for Rayleigh fading, and Gilbert-Elliott.

Each link is a discrete-time Markov chain over channel states ``0..K-1``; each state carries a bit error rate
(binary symmetric channel). ``reset(rng, n)`` draws ``n`` link states from the stationary distribution,
``step()`` advances every link one block; both return the state indices (int64, shape ``(n,)``).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validate import check_array, check_int, check_rng, check_scalar
from .link import ber_rayleigh_interval

__all__ = ["FiniteStateMarkovChannel", "GilbertElliottChannel", "MarkovChannel"]


def _sample(rng: np.random.Generator, cumulative: NDArray[np.float64]) -> NDArray[np.int64]:
    """One categorical draw per row of ``cumulative`` (row-wise CDFs whose last entry is 1)."""
    u = rng.random(int(cumulative.shape[0]))
    return np.asarray((u[:, None] >= cumulative).sum(axis=1), dtype=np.int64)


def _cdf(probabilities: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cumulative sums along the last axis, the last entry forced to exactly 1."""
    cumulative = np.cumsum(probabilities, axis=-1)
    cumulative[..., -1] = 1.0  # guard against rounding so every draw lands in a valid state
    return cumulative


class MarkovChannel:
    """A Markov channel with a given transition matrix and per-state BER, vectorised over ``n`` links.

    Args:
        transition_matrix: ``K x K`` row-stochastic matrix, ``P[i, j] = P(state[t+1] = j | state[t] = i)``;
            it must have a single stationary distribution.
        state_ber: bit error rate of each state, in ``[0, 1]``.

    The stationary distribution solves ``pi P = pi``, ``sum(pi) = 1``.
    """

    def __init__(self, transition_matrix: ArrayLike, state_ber: ArrayLike) -> None:
        matrix = check_array("transition_matrix", transition_matrix, ge=0.0, le=1.0)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
            raise ValueError(f"transition_matrix must be K x K with K >= 2, got shape {matrix.shape}")
        row_sums = matrix.sum(axis=1)
        bad_rows = np.flatnonzero(np.abs(row_sums - 1.0) > 1e-9)
        if bad_rows.size:
            row = int(bad_rows[0])
            raise ValueError(f"transition_matrix rows must sum to 1, row {row} sums to {row_sums[row]:.12g}")
        ber = check_array("state_ber", state_ber, ge=0.0, le=1.0)
        if ber.shape != (matrix.shape[0],):
            raise ValueError(f"state_ber must have shape ({matrix.shape[0]},), got {ber.shape}")
        n_states = matrix.shape[0]
        system = matrix.T - np.eye(n_states)
        system[-1] = 1.0
        rhs = np.zeros(n_states)
        rhs[-1] = 1.0
        try:
            stationary = np.linalg.solve(system, rhs)
        except np.linalg.LinAlgError as exc:
            raise ValueError("transition_matrix must have a single stationary distribution") from exc
        self.transition_matrix: NDArray[np.float64] = matrix
        self.stationary_distribution: NDArray[np.float64] = np.clip(stationary, 0.0, 1.0)
        self.state_ber: NDArray[np.float64] = ber
        self._transition_cdf = _cdf(matrix)
        self._rng: np.random.Generator | None = None
        self._state = np.zeros(0, dtype=np.int64)

    @property
    def n_states(self) -> int:
        """Number of states ``K``."""
        return int(self.transition_matrix.shape[0])

    @property
    def state(self) -> NDArray[np.int64]:
        """Current state index per link."""
        return self._state.copy()

    @property
    def ber(self) -> NDArray[np.float64]:
        """Bit error rate of the current state per link."""
        return self.state_ber[self._state]

    def reset(self, rng: np.random.Generator, n: int = 1) -> NDArray[np.int64]:
        """Store ``rng`` and draw the states of ``n`` links from the stationary distribution."""
        links = check_int("n", n, ge=1)
        self._rng = check_rng(rng)
        cdf = np.broadcast_to(_cdf(self.stationary_distribution), (links, self.n_states))
        self._state = _sample(rng, cdf)
        return self.state

    def step(self) -> NDArray[np.int64]:
        """Move every link one transition of the chain and return the new states."""
        if self._rng is None:
            raise RuntimeError(f"{type(self).__name__}.step() called before reset()")
        self._state = _sample(self._rng, self._transition_cdf[self._state])
        return self.state


class FiniteStateMarkovChannel(MarkovChannel):
    """Wang-Moayeri (IEEE TVT 1995) finite-state Markov model of Rayleigh block fading.

    The instantaneous symbol SNR ``gamma ~ Exp(mean_snr)`` (linear) is cut at thresholds
    ``0 = G_0 < G_1 < ... < G_K = inf``; state ``k`` is ``G_k <= gamma < G_(k+1)``:

    * steady state ``pi_k = exp(-G_k / mean_snr) - exp(-G_(k+1) / mean_snr)``;
    * level-crossing rate ``N(G) = sqrt(2 pi G / mean_snr) f_D exp(-G / mean_snr)`` (crossings/s);
    * adjacent-only transitions per block ``T``: ``P[k, k+1] = N(G_(k+1)) T / pi_k``,
      ``P[k, k-1] = N(G_k) T / pi_k``, ``P[k, k] = 1 - P[k, k+1] - P[k, k-1]``. These satisfy detailed
      balance, so ``pi`` is exactly stationary. They are probabilities only if ``f_D T`` is small enough;
      otherwise a ``ValueError`` says so.

    Args:
        mean_snr: mean symbol SNR (linear, ``> 0``).
        doppler_hz: maximum Doppler frequency ``f_D`` in Hz (see :func:`doppler_frequency`).
        block_s: block (slot) length ``T`` in s.
        n_states: ``K >= 2``; default thresholds are equiprobable, ``G_k = -mean_snr ln(1 - k/K)``.
        thresholds: optional ``K - 1`` interior thresholds ``G_1..G_(K-1)`` (linear, strictly increasing).
        modulation: modulation for the per-state BER (see :data:`MODULATIONS`).

    Per state: ``state_snr`` is the conditional mean SNR ``E[gamma | state]`` and ``state_ber`` the
    conditional mean uncoded BER (:func:`ber_rayleigh_interval`).
    """

    def __init__(
        self,
        mean_snr: float,
        doppler_hz: float,
        block_s: float,
        *,
        n_states: int = 6,
        thresholds: ArrayLike | None = None,
        modulation: str = "qpsk",
    ) -> None:
        mean = check_scalar("mean_snr", mean_snr, gt=0.0)
        doppler = check_scalar("doppler_hz", doppler_hz, gt=0.0)
        doppler_block = doppler * check_scalar("block_s", block_s, gt=0.0)
        k = check_int("n_states", n_states, ge=2)
        if thresholds is None:
            inner = -mean * np.log1p(-np.arange(1, k) / k)
        else:
            inner = check_array("thresholds", thresholds, gt=0.0)
            if inner.shape != (k - 1,) or np.any(np.diff(inner) <= 0.0):
                raise ValueError(
                    f"thresholds must be n_states - 1 = {k - 1} strictly increasing values, "
                    f"got {inner.tolist()}"
                )
        bounds = np.concatenate(([0.0], inner, [np.inf]))
        survival = np.exp(-bounds / mean)
        finite = np.where(np.isinf(bounds), 0.0, bounds)  # survival is 0 there, so every product below is 0
        pi = survival[:-1] - survival[1:]
        crossings = np.sqrt(2.0 * math.pi * finite / mean) * survival * doppler_block  # N(G) T
        up, down = crossings[1:] / pi, crossings[:-1] / pi
        leave = up + down
        if np.any(leave > 1.0):
            worst = int(np.argmax(leave))
            raise ValueError(
                f"doppler_hz * block_s = {doppler_block:g} is too large for an FSMC with {k} states: "
                f"state {worst} would be left with probability {leave[worst]:.3g} > 1; "
                "use shorter blocks or fewer states"
            )
        matrix = np.diag(1.0 - leave) + np.diag(up[:-1], 1) + np.diag(down[1:], -1)
        super().__init__(matrix, ber_rayleigh_interval(mean, bounds[:-1], bounds[1:], modulation))
        self.mean_snr = mean
        self.modulation = modulation
        self.thresholds: NDArray[np.float64] = bounds
        moment = (finite + mean) * survival  # int_G^inf g p(g) dg
        self.state_snr: NDArray[np.float64] = (moment[:-1] - moment[1:]) / pi

    @property
    def snr(self) -> NDArray[np.float64]:
        """Representative SNR (conditional mean, linear) of the current state per link."""
        return self.state_snr[self._state]


class GilbertElliottChannel(MarkovChannel):
    """Gilbert-Elliott bursty channel: state 0 = Good, 1 = Bad.

    ``P = [[1 - p_gb, p_gb], [p_bg, 1 - p_bg]]``; stationary ``P(Bad) = p_gb / (p_gb + p_bg)``; bursts of Bad
    are geometric with mean length ``1 / p_bg`` blocks. Defaults: ``p_gb = 0.05``, ``p_bg = 0.3``,
    ``ber_good = 1e-6``, ``ber_bad = 1e-2``.
    """

    def __init__(
        self, p_gb: float = 0.05, p_bg: float = 0.3, ber_good: float = 1e-6, ber_bad: float = 1e-2
    ) -> None:
        enter = check_scalar("p_gb", p_gb, gt=0.0, le=1.0)
        leave = check_scalar("p_bg", p_bg, gt=0.0, le=1.0)
        good = check_scalar("ber_good", ber_good, ge=0.0, le=1.0)
        bad = check_scalar("ber_bad", ber_bad, ge=0.0, le=1.0)
        super().__init__([[1.0 - enter, enter], [leave, 1.0 - leave]], [good, bad])
        self.p_gb, self.p_bg = enter, leave
