"""UE radio state (RRC connected / inactive / idle with C-DRX) and modem energy, vectorised over ``n`` envs.

RRC timeline after the last radio activity ends (gap ``g`` in s)::

    0 <= g < T_drx          CONNECTED, DRX inactivity timer running: PDCCH monitored every slot
    T_drx <= g < T_rrc      CONNECTED, C-DRX: PDCCH on-duration T_on every cycle T_c, asleep otherwise
    T_rrc <= g < T_rrc + D  INACTIVE (RAN paging only; only if D = inactive_dwell_s > 0)
    T_rrc + D <= g          IDLE (paging DRX)

``[0, T_rrc)`` is the tail. A new request after gap ``g`` pays no promotion inside the tail, the resume
delay from INACTIVE and the RRC setup delay from IDLE; while promoting the modem draws ``P_promo``::

    promotion energy = P_promo · delay                                          [J]
    background energy over [g0, g1] = sum over segments of P_seg · |[g0, g1] ∩ segment|   [J]

Powers come from the 3GPP TR 38.840 §8.1 slot-level model (FR1, 30 kHz, 4Rx/1Tx; relative units per slot
as tabulated in the bjoluc/5g-handover-optimization thesis, which cites TR 38.840 [S]) times
``watts_per_unit``. DL powers scale with the DL bandwidth part ``S = 0.4 + 0.6·(X - 20)/80`` (PDCCH-only
floored at 50 units) and by 0.7 with 2 Rx antennas. PUSCH power interpolates between 250 units at 0 dBm
and 700 at 23 dBm: ``P_t(x) = 250 + 450·(10^(x/10) - 1)/(10^2.3 - 1)`` [S/A: the thesis's fit]. A DRX
off period of ``t`` ms uses the deepest sleep whose total transition time fits (deep 20 ms, light 6 ms,
micro 0) and costs ``P_sleep·t + E_transition`` (450 / 100 / 0 units·ms). The C-DRX average power is::

    P_cdrx = (P_pdcch·T_on + P_sleep·(T_c - T_on) + E_transition) / T_c

With the defaults (100 MHz BWP, T_c = 160 ms, T_on = 8 ms, 4 mW/unit): ``P_cdrx = 8.76 units = 35 mW``,
PDCCH-only 0.4 W, PDCCH+PDSCH 1.2 W, PUSCH at 23 dBm 2.8 W. These TR-based tail powers are far below
whole-phone tail measurements (about 1 W on LTE, Huang et al. 2012, recalled in the dossier, not
verified): set ``tail_power_w`` to charge a measured constant tail power over ``[0, T_rrc)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.envs.state._checks import as_mask, broadcast_n, check_finite, check_int, check_scalar
from splitgym.errors import ConfigError

__all__ = [
    "RELATIVE_POWER",
    "RRC_CONNECTED",
    "RRC_IDLE",
    "RRC_INACTIVE",
    "SLEEP_STATES",
    "Radio",
    "RadioParams",
    "RadioWake",
    "active_energy_j",
    "background_energy_j",
    "bwp_scale",
    "promotion_after_gap",
    "pusch_units",
    "rrc_state_after_gap",
    "sleep_energy_units_ms",
    "tail_energy_j",
]

F64 = NDArray[np.float64]
RRC_CONNECTED, RRC_INACTIVE, RRC_IDLE = 0, 1, 2

#: TR 38.840 §8.1 FR1 relative power per slot (units), via the bjoluc thesis table [S].
RELATIVE_POWER: dict[str, float] = {
    "deep_sleep": 1.0,
    "light_sleep": 20.0,
    "micro_sleep": 45.0,
    "ssb_1": 75.0,
    "ssb_2_or_csi_rs": 100.0,
    "ssb_2_and_csi_rs": 170.0,
    "pdcch_and_ssb_2": 170.0,
    "pdcch": 100.0,
    "pdsch": 280.0,
    "pdcch_pdsch": 300.0,
    "pusch_0dbm": 250.0,
    "pusch_23dbm": 700.0,
}
#: (name, relative power, additional transition energy in units·ms, total transition time in ms),
#: deepest first; TR 38.840 §8.1 [S] (the thesis lists the deep-sleep ramp as 40 slots = 20 ms).
SLEEP_STATES: tuple[tuple[str, float, float, float], ...] = (
    ("deep_sleep", 1.0, 450.0, 20.0),
    ("light_sleep", 20.0, 100.0, 6.0),
    ("micro_sleep", 45.0, 0.0, 0.0),
)
_PDCCH_FLOOR_UNITS = 50.0  # PDCCH-only power floor (the TR's 10 MHz value), applied at every BWP [A]


def bwp_scale(dl_bwp_mhz: ArrayLike) -> F64:
    """DL bandwidth-part scaling ``S(X) = 0.4 + 0.6·(X - 20)/80`` (1 at 100 MHz) [S: TR 38.840]."""
    return np.asarray(0.4 + 0.6 * (np.asarray(dl_bwp_mhz, dtype=np.float64) - 20.0) / 80.0)


def pusch_units(tx_power_dbm: ArrayLike) -> F64:
    """PUSCH relative power at ``x`` dBm: ``250 + 450·(10^(x/10) - 1)/(10^2.3 - 1)`` (x clipped at 23 dBm)."""
    x = np.minimum(np.asarray(tx_power_dbm, dtype=np.float64), 23.0)
    eps = (RELATIVE_POWER["pusch_23dbm"] - RELATIVE_POWER["pusch_0dbm"]) / (10.0**2.3 - 1.0)
    return np.asarray(RELATIVE_POWER["pusch_0dbm"] + eps * (10.0 ** (x / 10.0) - 1.0))


def sleep_energy_units_ms(off_ms: ArrayLike) -> F64:
    """Energy (units·ms) of an off period of ``off_ms`` ms in the deepest sleep whose transition fits."""
    t = np.asarray(off_ms, dtype=np.float64)
    out = np.full(t.shape, np.nan)
    for _, units, e_trans, t_trans in SLEEP_STATES:  # deepest first
        pick = np.isnan(out) & (t >= t_trans)
        out = np.where(pick, units * t + e_trans, out)
    return np.asarray(out)


@dataclass(frozen=True)
class RadioParams:
    """RRC / DRX timing and the modem power scale.

    Attributes:
        inactivity_timer_s: RRC inactivity timer ``T_rrc`` (end of the tail) in s (``> 0``). Default 10
            [S: my computation from the SIGCOMM'21 5G artifact, ``RRC-Probe/data``: first-packet RTTs
            jump from < 0.15 s to ~1 s for gaps from 10.0 s on (T-Mobile SA, Verizon LTE and mmWave);
            the ``RRC-Power`` README's 5G tail intervals are 10.54-10.68 s].
        inactive_dwell_s: time in RRC_INACTIVE after the timer before IDLE (``>= 0``, may be ``inf``).
            Default 0, straight to IDLE [A: the measured networks above release to IDLE].
        promotion_idle_s: IDLE -> CONNECTED delay for a UE-originated request in s (``>= 0``). Default
            0.33 [S: my computation, mean idle-end -> LTE-start interval 0.36/0.32/0.29 s in the
            SIGCOMM'21 ``RRC-Power`` README; RRC-Probe minima after >= 15 s idle are 0.30-0.40 s. A
            network-originated packet also waits for paging: median first-packet RTT 0.91-1.05 s].
        promotion_inactive_s: INACTIVE -> CONNECTED resume delay in s (``>= 0``). Default 0.010
            [S: TR 38.913 §7.4 control-plane latency target, a requirement, not a measurement].
        promotion_units: average relative power while promoting. Default 60.5 [S/A: the thesis's
            connection-setup average at 0 dBm, ``(3.3·P_t + 6255.75)/117`` units, 10 MHz initial BWP].
        watts_per_unit: W per TR 38.840 unit (``> 0``). Default 0.004 [A: dossier §4.1, PDCCH+PDSCH
            (300 units) = 1.2 W, in the 1.0-1.5 W of an FR1 modem].
        dl_bwp_mhz: DL bandwidth part in MHz, in ``[10, 100]``. Default 100 [S: TR 38.840 reference
            configuration; the unit calibration above assumes it].
        rx_antennas: 2 or 4. Default 4 [S: TR 38.840 reference configuration].
        drx_cycle_s: C-DRX long cycle ``T_c`` in s (``> 0``). Default 0.160 [S: TR 38.840 reference DRX,
            via the thesis §3.2.2].
        drx_on_duration_s: on-duration ``T_on`` in s, in ``(0, T_c]``. Default 0.008 [S: same].
        drx_inactivity_s: DRX inactivity timer ``T_drx`` in s, in ``[0, T_rrc]``. Default 0.100
            [S: same; the TR also evaluates 40 ms].
        idle_power_w: modem power in RRC_IDLE in W (``>= 0``). Default 0.015 [A: dossier §4.3, 10-20 mW].
        inactive_power_w: modem power in RRC_INACTIVE in W (``>= 0``; ``None`` = ``idle_power_w``).
            Default ``None`` [K: TS 38.300, an INACTIVE UE monitors paging like an IDLE one].
        tail_power_w: constant power over the whole tail ``[0, T_rrc)`` in W (``None`` = the TR-based
            PDCCH-then-C-DRX profile). Default ``None``.
    """

    inactivity_timer_s: float = 10.0
    inactive_dwell_s: float = 0.0
    promotion_idle_s: float = 0.33
    promotion_inactive_s: float = 0.010
    promotion_units: float = 60.5
    watts_per_unit: float = 0.004
    dl_bwp_mhz: float = 100.0
    rx_antennas: int = 4
    drx_cycle_s: float = 0.160
    drx_on_duration_s: float = 0.008
    drx_inactivity_s: float = 0.100
    idle_power_w: float = 0.015
    inactive_power_w: float | None = None
    tail_power_w: float | None = None

    def __post_init__(self) -> None:
        t_rrc = check_scalar("inactivity_timer_s", self.inactivity_timer_s, gt=0.0)
        check_scalar("inactive_dwell_s", self.inactive_dwell_s, ge=0.0, allow_inf=True)
        for name in ("promotion_idle_s", "promotion_inactive_s", "idle_power_w"):
            check_scalar(name, getattr(self, name), ge=0.0)
        for name in ("promotion_units", "watts_per_unit"):
            check_scalar(name, getattr(self, name), gt=0.0)
        check_scalar("dl_bwp_mhz", self.dl_bwp_mhz, ge=10.0, le=100.0)
        if self.rx_antennas not in (2, 4) or isinstance(self.rx_antennas, bool):
            raise ConfigError(f"rx_antennas must be 2 or 4, got {self.rx_antennas!r}")
        cycle = check_scalar("drx_cycle_s", self.drx_cycle_s, gt=0.0)
        check_scalar("drx_on_duration_s", self.drx_on_duration_s, gt=0.0, le=cycle)
        check_scalar("drx_inactivity_s", self.drx_inactivity_s, ge=0.0, le=t_rrc)
        for name in ("inactive_power_w", "tail_power_w"):
            if getattr(self, name) is not None:
                check_scalar(name, getattr(self, name), ge=0.0)

    # -- powers (W) ----------------------------------------------------------------------------------
    @property
    def _dl_scale(self) -> float:
        return float(bwp_scale(self.dl_bwp_mhz)) * (0.7 if self.rx_antennas == 2 else 1.0)

    @property
    def pdcch_w(self) -> float:
        """PDCCH-only monitoring power in W."""
        units = max(_PDCCH_FLOOR_UNITS, RELATIVE_POWER["pdcch"] * float(bwp_scale(self.dl_bwp_mhz)))
        return units * (0.7 if self.rx_antennas == 2 else 1.0) * self.watts_per_unit

    @property
    def rx_w(self) -> float:
        """PDCCH + PDSCH reception power in W."""
        return RELATIVE_POWER["pdcch_pdsch"] * self._dl_scale * self.watts_per_unit

    def tx_w(self, tx_power_dbm: ArrayLike = 23.0) -> F64:
        """PUSCH transmission power draw in W at the given transmit power (dBm)."""
        return pusch_units(tx_power_dbm) * self.watts_per_unit

    @property
    def cdrx_w(self) -> float:
        """C-DRX average power in W (module docstring)."""
        on_ms, cycle_ms = 1e3 * self.drx_on_duration_s, 1e3 * self.drx_cycle_s
        sleep = float(sleep_energy_units_ms(cycle_ms - on_ms)) * self.watts_per_unit  # W·ms
        return (self.pdcch_w * on_ms + sleep) / cycle_ms

    @property
    def promotion_w(self) -> float:
        """Modem power while promoting, in W."""
        return self.promotion_units * self.watts_per_unit

    @cached_property
    def gap_segments(self) -> tuple[F64, F64]:
        """Finite background segments after an activity: boundaries (s, ascending) and powers (W).

        Beyond the last boundary the modem is IDLE at ``idle_power_w``.
        """
        t_rrc = self.inactivity_timer_s
        if self.tail_power_w is not None:
            bounds, powers = [0.0, t_rrc], [self.tail_power_w]
        else:
            bounds, powers = [0.0, self.drx_inactivity_s, t_rrc], [self.pdcch_w, self.cdrx_w]
        if self.inactive_dwell_s > 0.0:
            inactive = self.idle_power_w if self.inactive_power_w is None else self.inactive_power_w
            bounds.append(t_rrc + self.inactive_dwell_s)
            powers.append(inactive)
        return np.asarray(bounds), np.asarray(powers)


def rrc_state_after_gap(params: RadioParams, gap_s: ArrayLike) -> NDArray[np.int64]:
    """RRC state ``gap_s`` seconds after the last activity: 0 connected, 1 inactive, 2 idle."""
    g = np.asarray(gap_s, dtype=np.float64)
    t_rrc = params.inactivity_timer_s
    state = np.where(g < t_rrc, RRC_CONNECTED, RRC_IDLE)
    return np.asarray(np.where((g >= t_rrc) & (g < t_rrc + params.inactive_dwell_s), RRC_INACTIVE, state))


def promotion_after_gap(params: RadioParams, gap_s: ArrayLike) -> tuple[F64, F64]:
    """Promotion ``(delay_s, energy_j)`` a request pays after a gap: 0 inside the tail (``gap < T_rrc``)."""
    g = np.asarray(gap_s, dtype=np.float64)
    t_rrc = params.inactivity_timer_s
    later = np.where(
        g < t_rrc + params.inactive_dwell_s, params.promotion_inactive_s, params.promotion_idle_s
    )
    delay = np.where(g < t_rrc, 0.0, later)
    return delay, delay * params.promotion_w


def background_energy_j(params: RadioParams, start_s: ArrayLike, duration_s: ArrayLike) -> F64:
    """Modem energy (J) over ``[start, start + duration]`` seconds after the last activity, no new activity.

    ``start_s`` may be ``inf`` (idle for ever): the whole interval is then IDLE.
    """
    g0 = np.asarray(start_s, dtype=np.float64)
    dt = np.asarray(duration_s, dtype=np.float64)
    bounds, powers = params.gap_segments
    end = bounds[-1]
    g1 = g0 + dt
    energy = np.zeros(np.broadcast_shapes(g0.shape, dt.shape))
    for lo, hi, p in zip(bounds[:-1], bounds[1:], powers, strict=True):
        overlap = np.maximum(0.0, np.minimum(g1, hi) - np.maximum(np.minimum(g0, hi), lo))
        energy = energy + p * overlap
    in_segments = np.minimum(g1, end) - np.minimum(g0, end)
    return np.asarray(energy + params.idle_power_w * (dt - in_segments), dtype=np.float64)


def tail_energy_j(params: RadioParams, gap_s: ArrayLike) -> F64:
    """Tail energy (J) charged from the last activity until ``min(gap, T_rrc)`` (the connected part)."""
    g = np.minimum(np.asarray(gap_s, dtype=np.float64), params.inactivity_timer_s)
    return background_energy_j(params, 0.0, g)


def active_energy_j(
    params: RadioParams,
    tx_s: ArrayLike,
    rx_s: ArrayLike,
    pdcch_s: ArrayLike = 0.0,
    wait_s: ArrayLike = 0.0,
    tx_power_dbm: ArrayLike = 23.0,
) -> F64:
    """Modem energy (J) of an active period from its slot-level timeline (all times in s, ``>= 0``).

    ``E = P_t(x)·t_tx + P_rx·t_rx + P_pdcch·t_pdcch + background_energy_j(0, t_wait)``: PUSCH slots,
    PDCCH+PDSCH slots, PDCCH-only monitoring slots (e.g. waiting for a grant), and idle waiting in
    connected mode (e.g. for the edge's compute), which runs the DRX inactivity timer, then C-DRX. A wait
    beyond ``T_rrc`` would release the connection: check it with :func:`rrc_state_after_gap`.
    """
    tx = check_finite("tx_s", tx_s, ge=0.0)
    rx = check_finite("rx_s", rx_s, ge=0.0)
    mon = check_finite("pdcch_s", pdcch_s, ge=0.0)
    wait = check_finite("wait_s", wait_s, ge=0.0)
    energy = params.tx_w(tx_power_dbm) * tx + params.rx_w * rx + params.pdcch_w * mon
    return np.asarray(energy + background_energy_j(params, 0.0, wait), dtype=np.float64)


@dataclass(frozen=True)
class RadioWake:
    """Cost of waking the radio for a request, arrays of shape ``(n,)`` (zeros where not woken)."""

    state_before: NDArray[np.int64]
    delay_s: F64
    energy_j: F64
    tail_energy_j: F64


class Radio:
    """RRC state of ``n`` UEs, kept as the gap since each one's last radio activity (``inf`` = long idle).

    Use: :meth:`wake` when a request starts (pays the promotion), the environment charges the active
    period with :func:`active_energy_j`, then ``advance(dt, active=True)`` over it (the gap stays 0) and
    ``advance(dt)`` over idle time, which returns the background (tail, inactive, idle) energy.

    Observation (:meth:`observe`, float32, shape ``(n, 4)``, each in ``[0, 1]``):
    ``[connected, inactive, idle, tail_left]`` (one-hot RRC state and ``clip((T_rrc - g)/T_rrc, 0, 1)``).
    """

    n_features = 4

    def __init__(self, params: RadioParams, n: int = 1) -> None:
        self.params = params
        self.n = check_int("n", n, ge=1)
        self.gap_s = np.full(self.n, np.inf)
        self.promotions = np.zeros(self.n, dtype=np.int64)

    @property
    def rrc_state(self) -> NDArray[np.int64]:
        """Current RRC state per env (0 connected, 1 inactive, 2 idle)."""
        return rrc_state_after_gap(self.params, self.gap_s)

    def reset(
        self,
        rng: np.random.Generator | None = None,
        mask: ArrayLike | None = None,
        gap_s: ArrayLike = np.inf,
    ) -> None:
        """Set the selected envs' gap since the last activity (default ``inf``: idle; ``rng`` unused)."""
        del rng  # deterministic: the start state is given
        g = np.asarray(gap_s, dtype=np.float64)
        if np.isnan(g).any() or (g < 0).any():
            raise ConfigError(f"gap_s must be >= 0 (inf allowed), got {g[np.isnan(g) | (g < 0)].flat[0]}")
        sel = as_mask(mask, self.n)
        self.gap_s[sel] = np.broadcast_to(g, (self.n,))[sel]
        self.promotions[sel] = 0

    def wake(self, mask: ArrayLike | None = None) -> RadioWake:
        """Start radio activity in the selected envs: return the promotion cost and set the gap to 0.

        ``tail_energy_j`` is the tail energy since the last activity (already charged by :meth:`advance`
        if the env advanced over the gap; reported for accounting).
        """
        state = self.rrc_state
        delay, energy = promotion_after_gap(self.params, self.gap_s)
        tail = tail_energy_j(self.params, self.gap_s)
        if mask is None:
            self.promotions += delay > 0
            self.gap_s = np.zeros(self.n)
            return RadioWake(state, delay, energy, tail)
        sel = as_mask(mask, self.n)
        self.promotions += sel & (delay > 0)
        self.gap_s = np.where(sel, 0.0, self.gap_s)
        return RadioWake(
            np.where(sel, state, RRC_CONNECTED),
            np.where(sel, delay, 0.0),
            np.where(sel, energy, 0.0),
            np.where(sel, tail, 0.0),
        )

    def advance(self, dt_s: ArrayLike, active: ArrayLike = False, mask: ArrayLike | None = None) -> F64:
        """Move the selected envs ``dt_s`` seconds on; returns the background energy (J) over the step.

        ``active`` (bool, scalar or ``(n,)``) marks envs whose radio was busy throughout (the gap stays 0
        and no background energy is charged: charge :func:`active_energy_j` instead).
        """
        dt = broadcast_n("dt_s", dt_s, self.n, ge=0.0)
        energy = background_energy_j(self.params, self.gap_s, dt)
        if mask is None and active is False:
            self.gap_s = self.gap_s + dt
            return energy
        busy = np.asarray(active, dtype=bool)
        sel: bool | NDArray[np.bool_] = True if mask is None else as_mask(mask, self.n)
        idle = sel & ~busy
        self.gap_s = np.where(idle, self.gap_s + dt, np.where(sel & busy, 0.0, self.gap_s))
        return np.asarray(np.where(idle, energy, 0.0), dtype=np.float64)

    def observe(self) -> NDArray[np.float32]:
        """``[connected, inactive, idle, tail_left]``, float32 of shape ``(n, 4)`` in ``[0, 1]``."""
        state = self.rrc_state
        t_rrc = self.params.inactivity_timer_s
        left = np.clip((t_rrc - self.gap_s) / t_rrc, 0.0, 1.0)
        onehot = state[:, None] == np.arange(3)[None, :]
        return np.concatenate([onehot, left[:, None]], axis=1).astype(np.float32)
