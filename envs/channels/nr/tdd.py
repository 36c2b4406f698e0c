"""TDD slot patterns (and FDD): UL/DL opportunities, waiting times, UL fraction and HARQ round trips.

A pattern is a string of slots repeated from time 0: ``D`` downlink, ``U`` uplink, ``S`` special (DL
symbols, guard, few UL symbols), ``F`` (FDD: every slot carries both directions). Slot duration
``1 ms / 2^mu`` [S: TS 38.211 4.3.2]. Conventions [A, stated so callers can change them]: a transmission
starts at a slot boundary and occupies whole slots; ``S`` counts as a DL opportunity (its DL symbols carry
PDCCH/PDSCH) and not as a UL data opportunity (its 2-4 UL symbols carry SRS/PUCCH, not the PUSCH here).

Patterns (names are the slot strings; ``"FDD"`` is the paired-spectrum case):

* ``DDDSU`` (2.5 ms at 30 kHz): the common 3.5 GHz pattern, the default [S/A: dossier, GSMA 3.5 GHz TDD
  synchronisation guidelines (2020)];
* ``DDDDDDDSUU`` (5 ms): LTE-TDD-compatible European pattern [S/A: same];
* ``DDSUU`` (2.5 ms) and ``DDDSUDDSUU`` (5 ms, "2.5 ms double period"): UL-heavier variants [A: widely
  deployed configurations, recalled];
* ``DSUUU`` (2.5 ms): UL-heavy (uplink-centric private networks) [A];
* ``FDD``.

HARQ round trip [A: built on the dossier's timing rules, section 1.7; ns-3 5G-LENA defaults K1 = K2 = 2
slots, TB decode 0.1 ms]: for a PUSCH in UL slot ``n``, the gNB decodes during ``proc_slots`` slots after
it, sends the retransmission grant in the first DL slot ``g >= n + 1 + proc_slots`` and the UE
retransmits in the first UL slot ``>= g + K2``; the RTT is that slot minus ``n``. FDD: ``1 + 1 + 2 = 4``
slots (2 ms at 30 kHz); DDDSU: 5 slots = one 2.5 ms period. Downlink: PDSCH in DL slot ``n``, HARQ-ACK in
the first UL slot ``a >= n + K1``, retransmission in the first DL slot ``>= a + 1 + proc_slots``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks
from .grid import slot_duration_s

__all__ = ["DEFAULT_TDD_PATTERN", "TDD_PATTERNS", "TddPattern", "tdd_pattern"]

TDD_PATTERNS: dict[str, str] = {
    "DDDSU": "DDDSU",
    "DDSUU": "DDSUU",
    "DDDSUDDSUU": "DDDSUDDSUU",
    "DDDDDDDSUU": "DDDDDDDSUU",
    "DSUUU": "DSUUU",
    "FDD": "F",
}
"""Allowed pattern names -> slot strings."""
DEFAULT_TDD_PATTERN = "DDDSU"
"""Default duplex pattern."""

_DIRECTIONS = ("ul", "dl")


@dataclass(frozen=True)
class TddPattern:
    """A named slot pattern at numerology ``mu``; all time arguments and results are in seconds."""

    name: str
    mu: int = 1
    slots: str = field(init=False)

    def __post_init__(self) -> None:
        _checks.choice("tdd_pattern", self.name, TDD_PATTERNS)
        _checks.integer("mu", self.mu, ge=0, le=4)
        object.__setattr__(self, "slots", TDD_PATTERNS[self.name])

    @property
    def slot_s(self) -> float:
        """Slot duration (s)."""
        return slot_duration_s(self.mu)

    @property
    def period_slots(self) -> int:
        """Slots per pattern period."""
        return len(self.slots)

    @property
    def period_s(self) -> float:
        """Pattern period (s)."""
        return self.period_slots * self.slot_s

    def _mask(self, direction: str) -> NDArray[np.bool_]:
        way = _checks.choice("direction", direction, _DIRECTIONS)
        ok = "UF" if way == "ul" else "DSF"
        return np.array([c in ok for c in self.slots], dtype=bool)

    def is_slot(self, slot_index: ArrayLike, direction: str = "ul") -> NDArray[np.bool_]:
        """Whether slot ``slot_index`` (integer, counted from time 0) carries ``direction`` data."""
        k = _checks.integer_array("slot_index", slot_index, ge=0, le=2**53)
        return np.asarray(self._mask(direction)[k % self.period_slots], dtype=np.bool_)

    def fraction(self, direction: str = "ul") -> float:
        """Share of slots that carry ``direction`` data (0.2 UL for DDDSU, 1 for FDD)."""
        return float(self._mask(direction).mean())

    def ul_fraction(self) -> float:
        """Share of UL data slots (multiply a TS 38.306 rate by it for a TDD carrier)."""
        return self.fraction("ul")

    def _slots_to_next(self, direction: str) -> NDArray[np.int64]:
        mask = self._mask(direction)
        p = self.period_slots
        return np.array([next(d for d in range(p) if mask[(k + d) % p]) for k in range(p)], dtype=np.int64)

    def next_slot_index(self, slot_index: ArrayLike, direction: str = "ul") -> NDArray[np.int64]:
        """First slot ``>= slot_index`` that carries ``direction`` data."""
        k = _checks.integer_array("slot_index", slot_index, ge=0, le=2**53)
        return np.asarray(k + self._slots_to_next(direction)[k % self.period_slots], dtype=np.int64)

    def next_opportunity_s(self, time_s: ArrayLike, direction: str = "ul") -> NDArray[np.float64]:
        """Start time (s) of the first ``direction`` slot beginning at or after ``time_s`` (>= 0)."""
        t = _checks.array("time_s", time_s, ge=0.0)
        first = np.ceil(t / self.slot_s - 1e-9).astype(np.int64)
        return np.asarray(self.next_slot_index(first, direction) * self.slot_s, dtype=np.float64)

    def wait_s(self, time_s: ArrayLike, direction: str = "ul") -> NDArray[np.float64]:
        """Waiting time (s) from ``time_s`` until the next ``direction`` slot starts (0 at its boundary)."""
        t = _checks.array("time_s", time_s, ge=0.0)
        return np.asarray(np.maximum(self.next_opportunity_s(t, direction) - t, 0.0), dtype=np.float64)

    def mean_wait_s(self, direction: str = "ul") -> float:
        """Mean of :meth:`wait_s` over a uniformly random time in the period (exact, per slot segment)."""
        p = self.period_slots
        nxt = self._slots_to_next(direction)
        # within slot k at offset x in (0, 1] slots the wait is nxt[(k+1) % p] + 1 - x (next boundary on)
        waits = [nxt[(k + 1) % p] + 0.5 for k in range(p)]
        return float(np.mean(waits)) * self.slot_s

    def harq_rtt_slots(
        self, direction: str = "ul", k_slots: int = 2, proc_slots: int = 1
    ) -> NDArray[np.int64]:
        """HARQ round trip in slots for a first transmission in each ``direction`` slot of one period.

        ``direction="ul"``: ``k_slots`` is K2 (grant -> PUSCH); ``"dl"``: K1 (PDSCH -> HARQ-ACK).
        ``proc_slots``: gNB processing after the PUSCH or HARQ-ACK slot (1 slot covers the 0.1 ms decode
        and scheduling). See the module docstring.
        """
        way = _checks.choice("direction", direction, _DIRECTIONS)
        k = _checks.integer("k_slots", k_slots, ge=0, le=32)
        proc = _checks.integer("proc_slots", proc_slots, ge=0, le=32)
        own = np.flatnonzero(self._mask(way))
        if way == "ul":
            grant = self.next_slot_index(own + 1 + proc, "dl")
            retx = self.next_slot_index(grant + k, "ul")
        else:
            ack = self.next_slot_index(own + k, "ul")
            retx = self.next_slot_index(ack + 1 + proc, "dl")
        return np.asarray(retx - own, dtype=np.int64)

    def harq_rtt_s(self, direction: str = "ul", k_slots: int = 2, proc_slots: int = 1) -> float:
        """Mean HARQ round trip (s) over the ``direction`` slots of one period."""
        return float(np.mean(self.harq_rtt_slots(direction, k_slots, proc_slots))) * self.slot_s


def tdd_pattern(name: str = DEFAULT_TDD_PATTERN, mu: int = 1) -> TddPattern:
    """The pattern ``name`` (one of :data:`TDD_PATTERNS`) at numerology ``mu``; ``ConfigError`` otherwise."""
    return TddPattern(name, mu)
