"""The ``uncoded`` link mode: fixed-modulation digital transmission without coding (bit flips and
packet losses, the paper's bit-flip setting with its own airtime).

The hidden state at the configured activation precision (``fp16`` or ``int8``) is cut into packets of
``packet_bits`` (``header_bits`` of header each, 1500 B by default: the IP MTU [K]) and sent with
``Q_m`` bits per RE of ``uncoded_modulation``: ``n_RE = ceil((n b + n_pkt h) / Q_m)`` with
``n_pkt = ceil(n / floor((packet_bits - h) / b))``. Per-RE distortion: the uncoded AWGN bit error rate
``m(gamma) = BER(gamma)`` (:func:`~splitgym.envs.channels.ber_awgn`) at the RE's instantaneous SINR.

**Drawn**: nothing (the NR link's fading pool gives every RE its block's gain). **Averaged**: the bit
errors and the packet losses they cause (a packet whose header is hit is lost and its contiguous
elements erased), inside the quality profile ``accuracy/reference_uncoded_qpsk_fp16`` (measured with
:class:`~splitgym.profiles.quality.corruption.UncodedPacket` at one AWGN SNR, no fading in it); the
request's quality is that profile at ``gamma_eq = BER^-1(mean BER)`` over the request's REs
(:mod:`.payload`): matching the mean BER keeps the expected number of flipped bits [A: the packet-loss
share is then that of the mean BER, exact within one coherence block].
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.channels.link import ber_awgn, bits_per_symbol
from splitgym.envs.split.payload import PayloadLink

__all__ = ["UncodedLink"]

F = NDArray[np.float64]
_GRID_DB = np.arange(-40.0, 60.0001, 0.01)


class UncodedLink(PayloadLink):
    """Uncoded packets of the hidden state over the NR grid (see the module docstring)."""

    @property
    def bits_per_re(self) -> int:
        return bits_per_symbol(self.config.uncoded_modulation)

    def distortion(self, gamma: NDArray[np.floating]) -> F:
        return ber_awgn(np.asarray(gamma, dtype=np.float64), self.config.uncoded_modulation)

    def resource_elements(self, elements: float) -> float:
        c = self.config
        per_packet = (c.packet_bits - c.header_bits) // c.activation_bits
        packets = math.ceil(elements / per_packet)
        return float(math.ceil((elements * c.activation_bits + packets * c.header_bits) / self.bits_per_re))

    def equivalent_snr_db(self, mean_distortion: F) -> F:
        ber = ber_awgn(10.0 ** (_GRID_DB / 10.0), self.config.uncoded_modulation)  # decreasing
        ok = ber > 0.0
        x = np.log(np.maximum(np.asarray(mean_distortion, dtype=np.float64), 1e-300))
        # np.interp needs increasing x: log BER reversed.
        return np.asarray(np.interp(x, np.log(ber[ok][::-1]), _GRID_DB[ok][::-1]))
