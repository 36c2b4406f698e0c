"""The ``analog`` link mode: uncoded analog transmission of the activations (semantic communication).

Two real values per complex channel use, ``n_RE = ceil(n / 2)`` for ``n`` hidden-state values, at the
request's PUSCH power (power control as for ``nr``), unit power per token (the scale factor goes beside
it digitally, negligible [A]). The receiver estimates the channel from ``N_p = analog_pilots`` DMRS REs
(least squares, error variance ``1/(gamma N_p)``) and equalises with LMMSE; the estimation error adds to
the noise, so the per-RE normalised MSE is ``m(gamma) = 1 / (1 + gamma_eff)`` with
``gamma_eff = gamma / (1 + 1/N_p)`` [K: Hassibi & Hochwald 2003, the estimation error as extra noise;
the profile's operator agrees to 2 % at -10 dB and 1 % above 0 dB].

**Drawn**: nothing (the NR link's fading pool gives every RE its block's gain). **Averaged**: the
receiver and pilot noise, inside the quality profile ``accuracy/reference_analog`` (measured with
:class:`~splitgym.profiles.quality.corruption.Analog` at the per-RE SNR of one block, no fading in it);
the request's quality is that profile at ``gamma_eq = m^-1(mean m)`` over the request's REs
(:mod:`.payload`). Nothing is lost: a weak channel degrades quality, never delivery (an outage only when
the horizon passes).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.split.payload import PayloadLink

__all__ = ["AnalogLink"]

F = NDArray[np.float64]


class AnalogLink(PayloadLink):
    """Analog hidden state over the NR grid, LMMSE with pilot-based estimates (see the module docstring)."""

    def distortion(self, gamma: NDArray[np.floating]) -> F:
        k = 1.0 + 1.0 / self.config.analog_pilots
        return np.asarray(1.0 / (1.0 + np.asarray(gamma, dtype=np.float64) / k))

    def resource_elements(self, elements: float) -> float:
        return float(np.ceil(elements / 2.0))

    def equivalent_snr_db(self, mean_distortion: F) -> F:
        k = 1.0 + 1.0 / self.config.analog_pilots
        m = np.clip(np.asarray(mean_distortion, dtype=np.float64), 1e-12, 1.0)
        gamma = (1.0 / m - 1.0) * k
        with np.errstate(divide="ignore"):
            return np.asarray(10.0 * np.log10(gamma))
