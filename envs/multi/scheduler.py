"""OFDMA schedulers of one cell's shared uplink: which user gets how many PRBs in a slot.

Every UL slot the scheduler splits the cell's ``N_PRB`` PRBs among the users with data to send and a
grant (``need_u > 0`` PRBs to empty their buffer), each capped at its power limit ``M_RB,max`` (the PRBs at
which open-loop power control reaches ``P_CMAX``; more PRBs would lower the power per PRB) [S: dossier §8
and §1.8; TS 38.213 7.1.1]. The fading is flat over the band [A: one subband], so a per-PRB rule reduces to
an order of users:

* ``rr`` (round robin) [K]: equal shares ``floor(N_PRB / N_u)`` of the active users, the remainder to the
  first users of a rotating order; PRBs a user cannot use (``need`` or cap reached) go to the others
  (water filling).
* ``pf`` (proportional fair; Jalali 2000, Sionna ``PFSchedulerSUMIMO``) [S]: users in decreasing order of
  ``R_u / T_u``, ``R_u`` the bits per PRB at the slot's MCS and ``T_u`` the throughput average
  ``T' = beta T + (1 - beta) r`` with ``beta = 0.98`` (about 50 slots) [S: Sionna]; each takes what it needs
  (up to its cap) before the next.

**Drawn**: nothing. Schedulers are registered by name in :data:`SCHEDULERS`.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = ["SCHEDULERS", "ProportionalFair", "RoundRobin", "Scheduler", "make_scheduler"]

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741
PF_BETA = 0.98  # [S: Sionna PFSchedulerSUMIMO default]


class Scheduler(Protocol):
    """One cell's scheduler; ``allocate`` is called once per UL slot."""

    name: ClassVar[str]

    def reset(self, n_users: int) -> None: ...

    def allocate(self, need: I, cap: I, bits_per_prb: F, n_prb: int) -> I: ...

    def update(self, delivered_bits: F) -> None: ...


def _water_fill(want: I, order: I, n_prb: int) -> I:
    """Equal shares of ``n_prb`` among users with ``want > 0``, the remainder to the first of ``order``,
    unused shares passed on until nobody can take more."""
    give = np.zeros_like(want)
    left = n_prb
    while left > 0:
        hungry = order[(want[order] - give[order]) > 0]
        if hungry.size == 0:
            break
        share, extra = divmod(left, hungry.size)
        add = np.full(hungry.size, share, dtype=np.int64)
        add[:extra] += 1
        add = np.minimum(add, want[hungry] - give[hungry])
        give[hungry] += add
        left -= int(add.sum())
    return give


class RoundRobin:
    """Equal PRB shares with a rotating remainder (see the module docstring)."""

    name: ClassVar[str] = "rr"

    def __init__(self) -> None:
        self._start = 0
        self._n = 0

    def reset(self, n_users: int) -> None:
        self._n, self._start = n_users, 0

    def allocate(self, need: I, cap: I, bits_per_prb: F, n_prb: int) -> I:
        order = np.roll(np.arange(self._n), -self._start)
        give = _water_fill(np.minimum(need, cap), order, n_prb)
        if give.any():
            self._start = (self._start + 1) % max(self._n, 1)
        return give

    def update(self, delivered_bits: F) -> None:
        return None


class ProportionalFair:
    """Greedy order by ``R/T`` with the exponential throughput average (see the module docstring)."""

    name: ClassVar[str] = "pf"

    def __init__(self, beta: float = PF_BETA) -> None:
        self.beta = beta
        self.avg_bits = np.zeros(0)

    def reset(self, n_users: int) -> None:
        self.avg_bits = np.ones(n_users)  # 1 bit/slot: a neutral start, forgotten within ~50 slots

    def allocate(self, need: I, cap: I, bits_per_prb: F, n_prb: int) -> I:
        want = np.minimum(need, cap)
        metric = np.where(want > 0, bits_per_prb / self.avg_bits, -np.inf)
        order = np.argsort(-metric, kind="stable")
        give = np.zeros_like(want)
        cum = np.cumsum(want[order])
        take = np.minimum(np.maximum(n_prb - (cum - want[order]), 0), want[order])
        give[order] = take
        return give

    def update(self, delivered_bits: F) -> None:
        # floored at 1e-9 bit/slot: a user idle for ~10^4 slots would otherwise decay to 0 (and R/T overflow)
        self.avg_bits = np.maximum(self.beta * self.avg_bits + (1.0 - self.beta) * delivered_bits, 1e-9)


SCHEDULERS: dict[str, type[RoundRobin] | type[ProportionalFair]] = {
    cls.name: cls for cls in (RoundRobin, ProportionalFair)
}


def make_scheduler(name: str) -> Scheduler:
    """A fresh scheduler registered as ``name``."""
    from splitgym.envs.checks import choice

    return SCHEDULERS[choice("scheduler", name, SCHEDULERS)]()
