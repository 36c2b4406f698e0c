"""Neurosurgeon (Kang et al., ASPLOS 2017) for the v1 fading environments: the split that minimises the
predicted end-to-end latency (or the device's energy) under the current link estimate.

Neurosurgeon profiles every layer offline, and at run time reads the current bandwidth and server load,
predicts for each candidate split ``k`` the mobile compute of layers ``1..k``, the transfer of layer
``k``'s output and the server compute of the rest, and runs the split with the smallest prediction. Here
it is given the best profile it could have: the world's own compute tables and the NR link's tables, so
its handicaps are the ones of the paper's design: a rate *estimate* from the last channel report, a
fixed per-message link latency, and no notion of answer quality.

**What it reads.** Offline (the profile), from :class:`SplitWorld <splitgym.envs.split.world.SplitWorld>`
and its configuration: the compute tables ``world.comp`` (device/edge prefill and decode times per
prompt level and split), the model's hidden size, the activation/token-id/header bits, the energy model's
powers ``world.energy``, the quality scores ``world.quality.score`` (only with ``quality_floor``) and the
NR tables of :mod:`splitgym.envs.channels.nr` (CQI -> SINR, the required SINR and TBS of every MCS on the
carrier's PRBs, the TDD pattern). Per request: the newest CQI report in the observation (column 1, the
device's last report; before any request, or without an observation, the CQI of its large-scale SNR
estimate ``snr_est_db``), the prompt level, the loads ``u_d``, ``u_e`` and the device's own PUSCH power
(through :meth:`FadingSplitV1Env.request`), and the feasible splits (:meth:`FadingSplitV1Env.action_masks`).
It never reads the true SNR, the fading realisation, the link traces, the reward or any of its terms.

**Link estimate** [A: Neurosurgeon's bandwidth estimate on the NR tables]: the reported CQI ``q`` read as
the lower edge of its SINR interval ``gamma(q)``, the link adaptation's MCS without the outer loop
``m = max(0, max{m : required(m) <= gamma(q)})`` (as :mod:`splitgym.envs.split.link` picks it),
``n_b = TBS(m)`` bits per UL slot on all PRBs (TS 38.214 5.1.3.2) and ``R̂ = n_b f_UL / T_slot``
(``f_UL`` the TDD pattern's UL share); CQI 0 ("out of range", TS 38.214 Table 5.2.2.1-2) is predicted
outage (``R̂ = 0``). A message of ``b`` bits then takes ``N(b) = ceil(b / n_b)`` PUSCH slots
and arrives after::

    UL(b) = t_sched + T_slot (1 + (N(b) - 1)/f_UL) + BLER_T t_HARQ,UL + t_gNB + t_backhaul
    DL    = t_backhaul + mean wait for a DL slot + T_slot + BLER_DL t_HARQ,DL + t_UE

with ``t_sched`` the mean wait for the scheduling request occasion plus the grant -> PUSCH delay of the
TDD pattern (``grant="dynamic"``; the mean wait for a UL slot with ``"configured"``) and ``t_HARQ`` the
pattern's mean HARQ round trips (one expected retransmission at the BLER target) [K: TS 38.213/38.214
timing]. **Payloads** (as the world's timeline, :mod:`splitgym.envs.split.timeline`): split ``0 < k < L``
sends the prompt's hidden states ``S (d b + h)`` then one hidden state ``d b + h`` per further token and
receives ``G`` token ids; split 0 sends the prompt's ``S b_id + h`` bits and the edge streams the tokens;
split ``L`` uses no radio.

**Prediction** for split ``k`` of prompt level ``s``, with ``a_d = 1/(1 - u_d)``, ``a_e = 1/(1 - u_e)``
and ``T_dev``, ``T_edge`` the compute tables' whole-request device and edge times::

    0 < k < L   T̂ = a_d T_dev + a_e T_edge + UL(S (d b + h)) + (G - 1) UL(d b + h) + G DL
    k = 0       T̂ = UL(S b_id + h) + a_e T_edge + DL
    k = L       T̂ = a_d T_dev                                        (exact: no radio)
    energy      Ê = E_soc(T̂, a_d T_dp, a_d T_dd) + E_modem(T̂, t_r, n_tx, n_rx, P_PUSCH)   (world.energy)
    quality     Ŝ(k) = score(k)        (0 when the split uses the radio and R̂ = 0)

with ``t_r`` the predicted start of radio activity (``a_d T_dp`` for a mid split, 0 edge-only, ``T̂``
device-only), ``n_tx`` the predicted PUSCH slots and ``n_rx = G`` PDSCH slots. A split that must send
bits when ``R̂ = 0`` is predicted to take forever. The policy plays the feasible split with the smallest
``T̂`` (``objective="latency"``) or ``Ê`` (``"energy"``); ties go to the other quantity, then to the
smaller split. With ``quality_floor`` it only considers feasible splits with ``Ŝ(k) >= quality_floor``;
when none reaches the floor it plays the feasible split of highest ``Ŝ`` (ties by the objective). When
every candidate is predicted infinite, it plays the one whose finite part (compute and the fixed link
latency) is smallest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from splitgym.envs.channels.nr import (
    cqi_from_sinr_db,
    n_prb,
    required_sinr_db,
    sinr_db_from_cqi,
    slot_duration_s,
    tdd_pattern,
    transport_block_size,
)
from splitgym.envs.split.env import FadingSplitV1Env
from splitgym.errors import ConfigError, suggest

__all__ = ["OBJECTIVES", "LinkEstimate", "NeurosurgeonPolicy", "Prediction", "SplitView", "fading_env"]

OBJECTIVES = ("latency", "energy")
F = NDArray[np.float64]


class SplitView(Protocol):
    """What Neurosurgeon reads of a split environment: :class:`FadingSplitV1Env` is one; a device of the
    shared cell (:mod:`splitgym.agents.cell_baselines`) is another."""

    @property
    def world(self) -> Any: ...  # a DeviceSide (comp, quality, energy, prompts, config, num_layers)

    @property
    def config(self) -> Any: ...  # its SplitConfig

    @property
    def observation_space(self) -> Any: ...

    def request(self) -> Any: ...  # the current Request (snr_est_db, prompt_level, loads, tx power)

    def action_masks(self) -> NDArray[np.bool_]: ...


def fading_env(env: gym.Env[Any, Any], who: str) -> FadingSplitV1Env:
    """The :class:`FadingSplitV1Env` under ``env``'s wrappers whose actions are the splits ``0..L`` (not a
    subclass with a larger action space, such as the compressed env), or a :class:`ConfigError` naming
    ``who``."""
    inner = env.unwrapped
    if not isinstance(inner, FadingSplitV1Env) or getattr(inner.action_space, "n", None) != (
        inner.num_layers + 1
    ):
        raise ConfigError(
            f"{who} needs a fading split environment (splitgym/FadingSplit-*-v1), got env "
            f"{type(inner).__name__}; allowed: FadingSplitV1Env"
        )
    return inner


@dataclass(frozen=True)
class Prediction:
    """Neurosurgeon's predictions for every split ``0..L`` of one request (arrays of shape ``(L + 1,)``)."""

    latency_s: F  # predicted end-to-end latency (inf when bits must be sent in predicted outage)
    energy_j: F  # predicted device energy (inf likewise)
    compute_s: F  # the finite part of the latency: compute and the fixed per-message link latency
    score: F  # predicted quality score (0 for radio splits in predicted outage)
    rate_bps: float  # the UL rate the CQI supports, R̂ = TBS f_UL / T_slot
    cqi: int  # the CQI the prediction used


class LinkEstimate:
    """The NR link as Neurosurgeon's profile sees it (module docstring): per-message latencies from the
    configuration's tables, the UL slot payload from a CQI. Nothing here reads the fading or the traces."""

    def __init__(self, env: SplitView) -> None:
        c = env.config
        self.table = c.mcs_table
        self.margin_db = c.impl_margin_db
        self.slot_s = slot_duration_s(c.mu)
        pattern = tdd_pattern(c.tdd_pattern, c.mu)
        self.ul_fraction = pattern.fraction("ul")
        prbs = n_prb(c.bandwidth_hz, c.scs_hz)
        self.required_db = np.asarray(
            required_sinr_db(prbs, c.mcs_table, c.bler_target, impl_margin_db=c.impl_margin_db)
        )
        self.tbs_bits = transport_block_size(prbs, np.arange(self.required_db.size), c.mcs_table).astype(
            np.float64
        )
        p = pattern.period_slots
        ul = np.flatnonzero(pattern.is_slot(np.arange(p), "ul"))
        if c.grant == "configured":
            sched_s = pattern.mean_wait_s("ul")
        else:
            # SR occasions: UL slots at least sr_period apart, about one every ceil(sr/p) TDD periods
            # (exact with one UL slot per period), waited for half a spacing on average [A]; then the grant
            # in the first DL slot >= SR + 2 and PUSCH in the first UL slot >= grant + K2, as link.py
            # schedules, averaged over the pattern's UL slots [A].
            occasion_s = math.ceil(c.sr_period_slots / p) * p * self.slot_s if ul.size else 0.0
            grant = pattern.next_slot_index(ul + 2, "dl")
            pusch = pattern.next_slot_index(grant + c.k2_slots, "ul")
            sched_s = 0.5 * occasion_s + float(np.mean(pusch - ul)) * self.slot_s
        ul_harq = c.bler_target * pattern.harq_rtt_s("ul", c.k2_slots, 1)
        dl_harq = c.dl_bler * pattern.harq_rtt_s("dl", 2, 1)
        # UL(b) = ul_fixed_s + T_slot (N(b) - 1)/f_UL; DL = dl_s.
        self.ul_fixed_s = sched_s + self.slot_s + ul_harq + c.gnb_decode_s + c.backhaul_s
        self.dl_s = c.backhaul_s + pattern.mean_wait_s("dl") + self.slot_s + dl_harq + c.ue_decode_s

    def cqi_of_snr(self, snr_est_db: float) -> int:
        """The CQI a large-scale SNR estimate maps to (the device's report before any request)."""
        return int(cqi_from_sinr_db(np.asarray(float(snr_est_db)), self.table, self.margin_db))

    def slot_bits(self, cqi: int) -> float:
        """``n_b``: bits per UL slot at the MCS the CQI supports, at least MCS 0 (0 for CQI 0)."""
        if int(cqi) <= 0:
            return 0.0
        gamma = float(sinr_db_from_cqi(np.asarray(int(cqi)), self.table, self.margin_db))
        m = max(0, int(np.searchsorted(self.required_db, gamma, side="right")) - 1)
        return float(self.tbs_bits[m])


class NeurosurgeonPolicy:
    """Neurosurgeon's cost-model argmin over the feasible splits (see the module docstring).

    ``objective``: ``"latency"`` (end-to-end latency) or ``"energy"`` (device energy);
    ``quality_floor``: ``None``, or a predicted quality score in ``[0, 1]`` every candidate must reach.
    """

    def __init__(
        self,
        env: gym.Env[Any, Any] | SplitView,
        objective: str = "latency",
        quality_floor: float | None = None,
    ) -> None:
        self.env: SplitView = fading_env(env, "NeurosurgeonPolicy") if isinstance(env, gym.Env) else env
        if objective not in OBJECTIVES:
            hint = suggest(str(objective), OBJECTIVES)
            raise ConfigError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}{hint}")
        if quality_floor is not None and (
            isinstance(quality_floor, bool)
            or not isinstance(quality_floor, (int, float))
            or not 0.0 <= float(quality_floor) <= 1.0
        ):
            raise ConfigError(f"quality_floor must be None or a score in [0, 1], got {quality_floor!r}")
        self.objective = objective
        self.quality_floor = None if quality_floor is None else float(quality_floor)
        w = self.env.world
        c = w.config
        L = self.num_layers = w.num_layers
        G = c.new_tokens
        self.link = LinkEstimate(self.env)
        # The offline profile, per prompt level (rows) and split (columns 0..L).
        comp = w.comp
        self._dev_prefill_s = comp.dev_prefill_s
        self._dev_decode_s = comp.dev_decode_s.sum(axis=-1)
        self._dev_total_s = comp.dev_total_s
        self._edge_total_s = comp.edge_total_s
        k = np.arange(L + 1)
        mid = (k > 0) & (k < L)
        prompt = w.prompts.astype(np.float64)[:, None]
        hidden_bits = float(comp.arch.hidden * c.activation_bits + c.header_bits)
        self._prompt_bits = np.where(
            mid, prompt * comp.arch.hidden * c.activation_bits + c.header_bits, 0.0
        ) + np.where(k == 0, prompt * c.token_id_bits + c.header_bits, 0.0)  # (n_s, L+1)
        self._token_bits = np.where(mid, hidden_bits, 0.0)  # (L+1,) per further token
        self._n_token_msgs = float(G - 1)
        self._n_dl = np.where(mid, float(G), np.where(k == 0, 1.0, 0.0))  # DL latencies on the path
        self._rx_slots = np.where(k < L, float(G), 0.0)
        self._mid, self._edge, self._radio = mid, k == 0, k < L
        self._energy = w.energy
        self._score = np.asarray(w.quality.score, dtype=np.float64)

    def predict_request(
        self, cqi: int, prompt_level: int, device_load: float, edge_load: float, tx_power_dbm: float
    ) -> Prediction:
        """The predictions for every split of a request with these observed conditions."""
        s = int(prompt_level)
        n_b = self.link.slot_bits(cqi)
        a_d, a_e = 1.0 / (1.0 - device_load), 1.0 / (1.0 - edge_load)
        lk = self.link
        # PUSCH slots of each split: the prompt message, then G - 1 hidden states (mid splits).
        if n_b > 0:
            n_prompt = np.ceil(self._prompt_bits[s] / n_b)
            n_token = np.ceil(self._token_bits / n_b)
            slots_to_s = lk.slot_s / lk.ul_fraction
            air = (
                np.maximum(n_prompt - 1.0, 0.0) * slots_to_s
                + self._n_token_msgs * np.maximum(n_token - 1.0, 0.0) * slots_to_s
            )
            tx_slots = n_prompt + self._n_token_msgs * n_token
        else:
            air = np.where(self._radio, np.inf, 0.0)
            tx_slots = np.where(self._radio, np.inf, 0.0)
        n_ul = np.where(self._mid, 1.0 + self._n_token_msgs, np.where(self._edge, 1.0, 0.0))
        fixed = n_ul * lk.ul_fixed_s + self._n_dl * lk.dl_s
        dev = a_d * self._dev_total_s[s]
        edge = a_e * self._edge_total_s[s]
        compute = np.where(self._edge, 0.0, dev) + edge + fixed
        latency = compute + air
        dp, dd = a_d * self._dev_prefill_s[s], a_d * self._dev_decode_s[s]
        first = np.where(self._mid, dp, np.where(self._edge, 0.0, latency))
        finite = np.isfinite(latency)
        t = np.where(finite, latency, 0.0)
        e = self._energy
        energy = e.soc_j(t, dp, dd) + e.modem_j(
            t, np.where(finite, first, 0.0), np.where(finite, tx_slots, 0.0), self._rx_slots,
            np.asarray(tx_power_dbm), self._radio,
        )  # fmt: skip
        energy = np.where(finite, energy, np.inf)
        score = self._score.copy()
        if n_b <= 0:
            score[self._radio] = 0.0
        rate = n_b * lk.ul_fraction / lk.slot_s
        return Prediction(latency, np.asarray(energy, dtype=np.float64), compute, score, rate, int(cqi))

    def observed_cqi(self, observation: Any = None) -> int:
        """The device's newest CQI report: column 1 of the observation (``round(15 x)``; of its
        ``"observation"`` entry in the dict mode), or, without an observation of the environment's shape,
        the CQI of the current request's SNR estimate."""
        if isinstance(observation, dict):
            observation = observation.get("observation")
        if observation is not None:
            obs = np.asarray(observation, dtype=np.float64).reshape(-1)
            if obs.size == int(np.prod(self.env.observation_space.shape or (0,))):
                return int(np.clip(np.rint(15.0 * obs[1]), 0, 15))
        return self.link.cqi_of_snr(float(self.env.request().snr_est_db))

    def current_prediction(self, observation: Any = None) -> Prediction:
        """The predictions for the environment's current request (observed quantities only)."""
        req = self.env.request()
        return self.predict_request(
            self.observed_cqi(observation), int(req.prompt_level), float(req.device_load),
            float(req.edge_load), float(req.tx_power_dbm),
        )  # fmt: skip

    def choose(self, prediction: Prediction, mask: NDArray[np.bool_]) -> int:
        """The split Neurosurgeon plays given its ``prediction`` and the feasible splits ``mask``."""
        candidates = np.flatnonzero(mask)
        if candidates.size == 0:
            raise ConfigError("NeurosurgeonPolicy got an action mask with no feasible split")
        if self.quality_floor is not None:
            scores = prediction.score[candidates]
            ok = scores >= self.quality_floor
            candidates = candidates[ok] if ok.any() else candidates[scores == scores.max()]
        primary, secondary = (
            (prediction.latency_s, prediction.energy_j)
            if self.objective == "latency"
            else (prediction.energy_j, prediction.latency_s)
        )
        if not np.isfinite(primary[candidates]).any():
            primary, secondary = prediction.compute_s, prediction.energy_j
        # Lexicographic: primary, then secondary, then the smaller split (np.lexsort sorts by the last key).
        order = np.lexsort((candidates, secondary[candidates], primary[candidates]))
        return int(candidates[order[0]])

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[Any, Any]:
        prediction = self.current_prediction(observation)
        return np.int64(self.choose(prediction, self.env.action_masks())), state
