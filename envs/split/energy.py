"""Device energy of a request: SoC compute by phase, idle waiting, and the modem's TR 38.840 states.

For a request of total latency ``T`` with device prefill time ``t_p``, device decode time ``t_d`` (both
after the load's stretch), ``n_tx`` PUSCH slots and ``n_rx`` PDSCH slots of ``T_slot`` and radio activity
from ``t_r`` (the first scheduling request) on::

    E_soc   = P_prefill t_p + P_decode t_d + P_idle max(T - t_p - t_d, 0)
    E_modem = P_cdrx t_r + P_tx(x) n_tx T_slot + P_rx n_rx T_slot + P_pdcch (T - t_r - (n_tx + n_rx) T_slot)
              + (P_pdcch - P_cdrx) T_drx                          (radio used, 0 < k or edge-only)
    E_modem = P_cdrx T                                            (device-only: the modem stays in C-DRX)

The active part is :func:`splitgym.envs.state.radio.active_energy_j` with no idle wait (inlined for
speed, same powers; a test checks the two agree) (PUSCH at transmit power ``x`` from
power control, PDCCH+PDSCH reception, PDCCH monitoring while waiting for grants and tokens: the DRX
inactivity timer is restarted by every grant, so the UE monitors throughout); before the first radio event
the modem is in C-DRX (the previous request's inactivity timer expired long ago), and after the last one
the DRX inactivity timer ``T_drx`` keeps it monitoring: that tail above the C-DRX baseline belongs to this
request [K: TS 38.321 DRX; powers from TR 38.840 via :class:`~splitgym.envs.state.radio.RadioParams`]. The
RRC inactivity timer (10 s) outlasts the 1 s request interval, so there is no promotion or RRC tail per
request (the next issue's radio state handles longer gaps). Nothing is drawn or averaged here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.split.config import SplitConfig
from splitgym.envs.state.radio import RadioParams
from splitgym.profiles.timing.roofline import DEVICES

__all__ = ["EnergyModel"]

F = NDArray[np.float64]
PREFILL_FACTOR = 1.4  # [A: dossier §4.3, phone prefill 7 W vs decode 5 W]
IDLE_FACTOR = 0.2  # [A: dossier §4.3, phone idle with screen on 1 W vs decode 5 W]


@dataclass(frozen=True)
class EnergyModel:
    """Powers (W) of the device's SoC phases and its modem states."""

    prefill_w: float
    decode_w: float
    idle_w: float
    radio: RadioParams
    slot_s: float

    def __post_init__(self) -> None:
        # The radio's powers as floats (its properties recompute them on every access).
        r = self.radio
        for name, value in (("_pdcch_w", r.pdcch_w), ("_rx_w", r.rx_w), ("_cdrx_w", r.cdrx_w)):
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "_tail_j", (r.pdcch_w - r.cdrx_w) * r.drx_inactivity_s)

    @classmethod
    def build(cls, config: SplitConfig, slot_s: float) -> EnergyModel:
        base = DEVICES[config.device].power_w
        return cls(
            config.device_prefill_w if config.device_prefill_w is not None else PREFILL_FACTOR * base,
            config.device_decode_w if config.device_decode_w is not None else base,
            config.device_idle_w if config.device_idle_w is not None else IDLE_FACTOR * base,
            RadioParams(),
            slot_s,
        )

    @property
    def tail_j(self) -> float:
        """DRX inactivity tail above the C-DRX baseline after the last radio event (J)."""
        return (self.radio.pdcch_w - self.radio.cdrx_w) * self.radio.drx_inactivity_s

    def soc_j(self, total_s: F, prefill_s: F, decode_s: F) -> F:
        busy = prefill_s + decode_s
        return np.asarray(
            self.prefill_w * prefill_s
            + self.decode_w * decode_s
            + self.idle_w * np.maximum(total_s - busy, 0.0)
        )

    def modem_j(
        self,
        total_s: F,
        first_radio_s: F,
        tx_slots: F,
        rx_slots: F,
        tx_power_dbm: F,
        radio_used: NDArray[np.bool_],
    ) -> F:
        tx = tx_slots * self.slot_s
        rx = rx_slots * self.slot_s
        d: dict[str, float] = self.__dict__
        mon = np.maximum(total_s - first_radio_s - tx - rx, 0.0)
        active = self.radio.tx_w(tx_power_dbm) * tx + d["_rx_w"] * rx + d["_pdcch_w"] * mon
        used = active + d["_cdrx_w"] * first_radio_s + d["_tail_j"]
        return np.asarray(np.where(radio_used, used, d["_cdrx_w"] * total_s))
