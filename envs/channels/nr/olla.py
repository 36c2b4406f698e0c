"""Outer-loop link adaptation (OLLA) towards a target BLER, vectorised over ``n`` links.

[S: Sionna v1.2.1 ``sys.OuterLoopLinkAdaptation``, after Pedersen et al., VTC 2005, and Sampath et al.,
PIMRC 1997]. The gNB knows an effective-SINR estimate ``gamma_fb`` (dB) from the UE's delayed, quantised
CQI (:func:`cqi.sinr_db_from_cqi`) and keeps an offset ``Delta`` (dB) per link:

* MCS selection: ``MCS = max{ m : TBLER(m, gamma_fb - Delta, TBS(n_PRB, m)) <= BLER_target }``, MCS 0
  if none qualifies, with TBLER as in :func:`bler.transport_block_error_rate` and TBS from
  :func:`tbs.transport_block_size` (so larger, multi-code-block TBs are handled); evaluated through the
  per-MCS required SINR of :func:`required_sinr_db` (cached per allocation size);
* feedback of a first transmission: ACK -> ``Delta -= Delta_down``; NACK -> ``Delta += Delta_up``, with
  ``Delta_down = Delta_up T / (1 - T)`` so that in steady state ``P(NACK) Delta_up = P(ACK) Delta_down``,
  i.e. the long-run BLER equals ``T`` whatever the bias of ``gamma_fb``;
* ``Delta`` is clipped to ``[offset_min_db, offset_max_db]``.

Defaults [S: Sionna]: ``T = 0.1``, ``Delta_up = 1 dB`` (``Delta_down = 0.111 dB``), offsets in [-20, 20] dB.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError

from . import _checks
from .bler import sinr_for_bler_db
from .grid import RE_PER_PRB_CAP
from .mcs import mcs_table
from .segmentation import segment
from .tbs import transport_block_size

__all__ = ["OuterLoopLinkAdaptation", "required_sinr_db", "select_mcs"]


def select_mcs(
    sinr_db: ArrayLike,
    n_prb: ArrayLike = 51,
    *,
    table: str = "64qam",
    bler_target: float = 0.1,
    re_per_prb: int = RE_PER_PRB_CAP,
    n_layers: int = 1,
    impl_margin_db: float = 0.0,
) -> NDArray[np.int64]:
    """Highest MCS whose TBLER at ``sinr_db`` (one slot of ``n_prb`` PRBs) is ``<= bler_target``, else 0.

    Evaluated as ``sinr_db >= required_sinr_db(...)[mcs]`` (exactly equivalent, as TBLER falls with SINR).
    """
    tab = mcs_table(table)
    gamma = _checks.array("sinr_db", sinr_db, allow_inf=True)
    prbs = _checks.integer_array("n_prb", n_prb, ge=1, le=275)
    if prbs.ndim == 0:
        req = required_sinr_db(int(prbs), table, bler_target, re_per_prb, n_layers, impl_margin_db)
    else:
        req = _required(prbs[..., None], table, bler_target, re_per_prb, n_layers, impl_margin_db)
    ok = gamma[..., None] >= req
    best = tab.max_mcs - np.argmax(ok[..., ::-1], axis=-1)
    return np.where(ok.any(axis=-1), best, 0).astype(np.int64)


def _required(
    n_prb: ArrayLike, table: str, bler_target: float, re_per_prb: int, n_layers: int, impl_margin_db: float
) -> NDArray[np.float64]:
    tab = mcs_table(table)
    target = _checks.scalar("bler_target", bler_target, gt=0.0, lt=1.0)
    mcs = np.arange(tab.n_mcs)
    tbs = np.maximum(transport_block_size(n_prb, mcs, table, n_layers=n_layers, re_per_prb=re_per_prb), 1)
    seg = segment(tbs, tab.code_rate)
    cb_target = -np.expm1(np.log1p(-target) / seg.n_code_blocks)  # 1 - (1 - T)^(1/C)
    return sinr_for_bler_db(cb_target, mcs, table, seg.cb_bits, impl_margin_db)


@lru_cache(maxsize=256)
def _required_cached(
    n_prb: int, table: str, bler_target: float, re_per_prb: int, n_layers: int, impl_margin_db: float
) -> NDArray[np.float64]:
    out = _required(n_prb, table, bler_target, re_per_prb, n_layers, impl_margin_db)
    out.setflags(write=False)
    return out


def required_sinr_db(
    n_prb: int = 51,
    table: str = "64qam",
    bler_target: float = 0.1,
    re_per_prb: int = RE_PER_PRB_CAP,
    n_layers: int = 1,
    impl_margin_db: float = 0.0,
) -> NDArray[np.float64]:
    """SINR (dB) per MCS at which a one-slot TB on ``n_prb`` PRBs has TBLER = ``bler_target`` (cached).

    With ``C`` code blocks of ``K'`` bits: ``TBLER <= T`` iff ``CBLER <= 1 - (1 - T)^(1/C)``, inverted with
    :func:`bler.sinr_for_bler_db` at ``K'``. Read-only array of shape ``(n_mcs,)``.
    """
    prbs = _checks.integer("n_prb", n_prb, ge=1, le=275)
    return _required_cached(
        prbs,
        mcs_table(table).name,
        _checks.scalar("bler_target", bler_target, gt=0.0, lt=1.0),
        _checks.integer("re_per_prb", re_per_prb, ge=1, le=RE_PER_PRB_CAP),
        _checks.integer("n_layers", n_layers, ge=1, le=8),
        _checks.scalar("impl_margin_db", impl_margin_db, ge=-10.0, le=10.0),
    )


class OuterLoopLinkAdaptation:
    """OLLA state (one SINR offset per link) plus the MCS rule; see the module docstring for the formulas."""

    def __init__(
        self,
        n: int = 1,
        *,
        table: str = "64qam",
        bler_target: float = 0.1,
        delta_up_db: float = 1.0,
        offset_min_db: float = -20.0,
        offset_max_db: float = 20.0,
        re_per_prb: int = RE_PER_PRB_CAP,
        n_layers: int = 1,
        impl_margin_db: float = 0.0,
    ) -> None:
        self.table = mcs_table(table).name
        self.bler_target = _checks.scalar("bler_target", bler_target, gt=0.0, lt=1.0)
        self.delta_up_db = _checks.scalar("delta_up_db", delta_up_db, gt=0.0, le=10.0)
        self.delta_down_db = self.delta_up_db * self.bler_target / (1.0 - self.bler_target)
        self.offset_min_db = _checks.scalar("offset_min_db", offset_min_db, le=0.0)
        self.offset_max_db = _checks.scalar("offset_max_db", offset_max_db, ge=0.0)
        self.re_per_prb = _checks.integer("re_per_prb", re_per_prb, ge=1, le=RE_PER_PRB_CAP)
        self.n_layers = _checks.integer("n_layers", n_layers, ge=1, le=8)
        self.impl_margin_db = _checks.scalar("impl_margin_db", impl_margin_db, ge=-10.0, le=10.0)
        self._offset = np.zeros(_checks.integer("n", n, ge=1))

    @property
    def offset_db(self) -> NDArray[np.float64]:
        """Current SINR offsets ``Delta`` in dB, shape ``(n,)`` (a copy)."""
        return self._offset.copy()

    def reset(self, n: int | None = None) -> None:
        """Set every offset to 0 dB (optionally for a new number of links ``n``)."""
        size = self._offset.size if n is None else _checks.integer("n", n, ge=1)
        self._offset = np.zeros(size)

    def select_mcs(self, sinr_fb_db: ArrayLike, n_prb: ArrayLike = 51) -> NDArray[np.int64]:
        """MCS per link from the fed-back effective SINR (dB, scalar or ``(n,)``) minus the offset."""
        gamma = _checks.array("sinr_fb_db", sinr_fb_db, allow_inf=True)
        return select_mcs(
            gamma - self._offset,
            n_prb,
            table=self.table,
            bler_target=self.bler_target,
            re_per_prb=self.re_per_prb,
            n_layers=self.n_layers,
            impl_margin_db=self.impl_margin_db,
        )

    def update(self, ack: ArrayLike, active: ArrayLike | None = None) -> NDArray[np.float64]:
        """Apply HARQ feedback of first transmissions: ACK lowers, NACK raises the offset; returns offsets.

        ``ack`` is a bool scalar or shape ``(n,)``; ``active`` (bool, optional) masks links that sent no TB.
        """
        acks = np.asarray(ack)
        if acks.dtype != np.bool_:
            raise ConfigError(f"ack must be a bool or an array of bools, got {ack!r}")
        step = np.where(acks, -self.delta_down_db, self.delta_up_db)
        if active is not None:
            mask = np.asarray(active)
            if mask.dtype != np.bool_:
                raise ConfigError(f"active must be a bool or an array of bools, got {active!r}")
            step = np.where(mask, step, 0.0)
        self._offset = np.clip(self._offset + step, self.offset_min_db, self.offset_max_db)
        return self._offset.copy()
