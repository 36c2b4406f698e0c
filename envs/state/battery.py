"""Battery state of charge from the energy the device draws, vectorised over ``n`` environments.

Linear in energy (dossier ``link_and_dynamics.md`` §5.3), with ``E_batt = 3600·capacity_wh`` J::

    SoC(t + dt) = SoC(t) - E / (eta·E_batt)          E = energy drawn by the load in the step [J]

so the cell loses ``E/eta`` joules for ``E`` delivered to the load. The battery is depleted when
``SoC <= cutoff_soc``; the state of charge is clipped at 0 (the remaining overdraw is reported as
``deficit_j``). An OCV(SoC) curve is not modelled (linear in Wh is adequate, dossier §5.3 [A]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.envs.state._checks import as_mask, broadcast_n, check_int, check_rng, check_scalar
from splitgym.errors import ConfigError

__all__ = ["JOULES_PER_WH", "Battery", "BatteryParams", "BatteryStep"]

F64 = NDArray[np.float64]
JOULES_PER_WH = 3600.0


@dataclass(frozen=True)
class BatteryParams:
    """Battery capacity and discharge settings.

    Attributes:
        capacity_wh: usable capacity in Wh (``> 0``). Default 13.9 [S: iPhone 16 Pro, 3582 mAh at
            3.88 V (Anatel filing via MacRumors), dossier §5.3; 3582 mAh × 3.88 V = 13.90 Wh].
        efficiency: fraction of the cell's energy delivered to the load, ``eta`` in ``(0, 1]``.
            Default 0.9 [A: dossier §5.3].
        initial_soc: state of charge at reset, in ``(cutoff_soc, 1]``. Default 1.0 [A: a session
            starts on a full battery].
        initial_soc_spread: reset draws ``U(initial_soc - spread, initial_soc)`` with the generator
            (``>= 0``, ``initial_soc - spread > cutoff_soc``). Default 0 [A].
        cutoff_soc: depletion threshold in ``[0, 1)``. Default 0 [A: the usable capacity is already
            what the phone reports as 0-100 %].
    """

    capacity_wh: float = 13.9
    efficiency: float = 0.9
    initial_soc: float = 1.0
    initial_soc_spread: float = 0.0
    cutoff_soc: float = 0.0

    def __post_init__(self) -> None:
        check_scalar("capacity_wh", self.capacity_wh, gt=0.0)
        check_scalar("efficiency", self.efficiency, gt=0.0, le=1.0)
        cut = check_scalar("cutoff_soc", self.cutoff_soc, ge=0.0, lt=1.0)
        check_scalar("initial_soc", self.initial_soc, gt=cut, le=1.0)
        check_scalar("initial_soc_spread", self.initial_soc_spread, ge=0.0, lt=self.initial_soc - cut)

    @classmethod
    def from_mah(cls, capacity_mah: float, nominal_v: float, **kwargs: float) -> BatteryParams:
        """Parameters from a rated charge (mAh) and nominal voltage (V): ``Wh = mAh·V/1000``."""
        mah = check_scalar("capacity_mah", capacity_mah, gt=0.0)
        volts = check_scalar("nominal_v", nominal_v, gt=0.0)
        return cls(capacity_wh=mah * volts / 1000.0, **kwargs)

    @property
    def capacity_j(self) -> float:
        """Capacity in J."""
        return self.capacity_wh * JOULES_PER_WH


@dataclass(frozen=True)
class BatteryStep:
    """Result of one :meth:`Battery.advance`, arrays of shape ``(n,)``."""

    soc: F64
    cell_energy_j: F64
    deficit_j: F64
    depleted: NDArray[np.bool_]


class Battery:
    """State of charge for ``n`` environments (see the module docstring).

    Observation (:meth:`observe`, float32, shape ``(n, 1)``): ``[SoC]`` in ``[0, 1]``.
    """

    n_features = 1

    def __init__(self, params: BatteryParams, n: int = 1) -> None:
        self.params = params
        self.n = check_int("n", n, ge=1)
        self.soc = np.full(self.n, params.initial_soc)
        self.drawn_j = np.zeros(self.n)

    @property
    def depleted(self) -> NDArray[np.bool_]:
        """True where ``SoC <= cutoff_soc``."""
        return np.asarray(self.soc <= self.params.cutoff_soc, dtype=bool)

    @property
    def remaining_j(self) -> F64:
        """Energy the cell still holds above 0 % in J (``SoC·E_batt``)."""
        return self.soc * self.params.capacity_j

    def reset(
        self,
        rng: np.random.Generator | None = None,
        mask: ArrayLike | None = None,
        soc: ArrayLike | None = None,
    ) -> F64:
        """Refill the selected envs: ``soc`` if given, else ``initial_soc`` less a spread from ``rng``."""
        sel = as_mask(mask, self.n)
        p = self.params
        if soc is not None:
            start = broadcast_n("soc", soc, self.n, ge=0.0)
            if (start > 1.0).any():
                raise ConfigError(f"soc must be <= 1, got {start[start > 1.0][0]:g}")
        elif p.initial_soc_spread > 0.0:
            if rng is None:
                raise ConfigError("rng is required when initial_soc_spread > 0")
            start = p.initial_soc - p.initial_soc_spread * check_rng(rng).random(self.n)
        else:
            start = np.full(self.n, p.initial_soc)
        self.soc[sel] = start[sel]
        self.drawn_j[sel] = 0.0
        return self.soc.copy()

    def advance(self, energy_j: ArrayLike, mask: ArrayLike | None = None) -> BatteryStep:
        """Draw ``energy_j`` joules (``>= 0``, delivered to the load) from the selected envs."""
        e = broadcast_n("energy_j", energy_j, self.n, ge=0.0)
        e = np.where(as_mask(mask, self.n), e, 0.0)
        cell = e / self.params.efficiency
        cap = self.params.capacity_j
        wanted = self.soc - cell / cap
        self.soc = np.maximum(wanted, 0.0)
        self.drawn_j += e
        return BatteryStep(self.soc.copy(), cell, np.maximum(-wanted, 0.0) * cap, self.depleted)

    def advance_power(
        self, dt_s: ArrayLike, power_w: ArrayLike, mask: ArrayLike | None = None
    ) -> BatteryStep:
        """Draw ``power_w·dt_s`` joules (both ``>= 0``)."""
        dt = broadcast_n("dt_s", dt_s, self.n, ge=0.0)
        p = broadcast_n("power_w", power_w, self.n, ge=0.0)
        return self.advance(dt * p, mask)

    def observe(self) -> NDArray[np.float32]:
        """``[SoC]``, float32 of shape ``(n, 1)`` in ``[0, 1]``."""
        return self.soc[:, None].astype(np.float32)
