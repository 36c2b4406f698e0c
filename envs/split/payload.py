"""Links that send the hidden state without link adaptation: the shared slot mechanics of ``analog`` and
``uncoded``.

Both modes keep the NR link (:class:`~splitgym.envs.split.link.NrLink`) for everything that is not the
hidden state: the CSI and CQI reports the device observes, split 0's token ids, the token-id downlink,
the scheduling (SR and grant or configured grant, TDD pattern) and the fading pool. They replace
:meth:`uplink_hidden`: a message of ``n_RE`` resource elements (:meth:`PayloadLink.resource_elements`)
fills consecutive UL slots from the first PUSCH opportunity ``u0``, ``n_RE_slot = N_PRB * 156`` REs per
slot (TS 38.214 data REs, the DMRS excluded [S]), with no HARQ (nothing to retransmit against: analog
has no error detection, an uncoded packet would fail as often again [A]); it has arrived at the end of
its last slot plus the gNB's processing and the backhaul, like an NR message.

**Drawn**: nothing here; every RE reads the pool's fading gain of its block and subband, the REs of a
slot spread evenly over the subbands [A: subbands of equal width]. **Averaged**: the mode's per-RE
distortion ``m(gamma)`` (:meth:`PayloadLink.distortion`, a function of the instantaneous SINR
``gamma = SNR * gain``) is summed over the message's REs; the request's quality is read from the mode's
AWGN profile at the equivalent SNR ``gamma_eq = m^-1(mean m)`` (:meth:`equivalent_snr_db`). The profile
averages only the receiver noise (and pilot noise), never fading, so fading enters once: through the
instantaneous SINR of the REs where the state was sent. With fading off every RE has the same SINR and
``gamma_eq`` is exactly the large-scale SNR (tested). Matching the mean distortion maps a message whose
REs see different SINRs onto the profile's uniform one [A: the model sees the total distortion; exact
within one coherence block].
"""

from __future__ import annotations

import math
from abc import abstractmethod

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.channels.nr import RE_PER_PRB_CAP
from splitgym.envs.split.config import SplitConfig
from splitgym.envs.split.link import HiddenTransfer, NrLink

__all__ = ["PayloadLink"]

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741
_CHUNK = 128


class PayloadLink(NrLink):
    """An NR link whose hidden-state uplink is one of the non-adaptive modes (see the module docstring)."""

    def __init__(self, config: SplitConfig, snr_bins_db: F, rng: np.random.Generator) -> None:
        super().__init__(config, snr_bins_db, rng)
        self.re_per_slot = self.n_prb * RE_PER_PRB_CAP
        n = self.ul_slot.size
        mean = np.empty((self.n_pool, n))
        for lo in range(0, n, _CHUNK):
            gam = self._gamma(self.ul_slot[lo : lo + _CHUNK])  # (P, chunk, subbands)
            mean[:, lo : lo + _CHUNK] = self.distortion(gam).mean(axis=-1)
        self.slot_distortion = mean  # mean per-RE distortion of each kept UL slot (P, n_ul)
        self._cum_m = np.concatenate([np.zeros((self.n_pool, 1)), np.cumsum(mean, axis=1)], axis=1)

    @abstractmethod
    def distortion(self, gamma: NDArray[np.floating]) -> F:
        """Per-RE distortion at linear SINR ``gamma`` (decreasing in ``gamma``)."""

    @abstractmethod
    def resource_elements(self, elements: float) -> float:
        """REs that ``elements`` hidden-state values occupy."""

    def uplink_hidden(self, t_s: F, elements: float, p: I) -> HiddenTransfer:
        """``elements`` values ready at ``t_s``: ``ceil(n_RE / n_RE_slot)`` consecutive UL slots from the
        first PUSCH opportunity; the distortion summed over the REs (the last slot partly filled)."""
        c = self.config
        n_re = float(self.resource_elements(elements))
        n_slots = max(1, math.ceil(n_re / self.re_per_slot - 1e-12))
        last = n_re - (n_slots - 1) * self.re_per_slot
        u0 = self._pusch[self._boundary(t_s)]
        u1 = u0 + n_slots - 1
        lost = (u1 >= self.n_ul) | ~np.isfinite(t_s)
        u0c = np.minimum(u0, self.n_ul - 1)
        u1c = np.minimum(u1, self.n_ul - 1)
        done = (self.ul_slot[u1c] + 1) * self.slot_s + c.gnb_decode_s + c.backhaul_s
        full = self._cum_m[p, u1c] - self._cum_m[p, u0c]
        dist = full * self.re_per_slot + last * self.slot_distortion[p, u1c]
        shape = np.shape(t_s)
        return HiddenTransfer(
            np.where(lost, np.inf, done),
            np.full(shape, float(n_slots)),
            np.asarray(lost),
            np.where(lost, 0.0, dist),
            np.where(lost, 0.0, n_re),
        )
