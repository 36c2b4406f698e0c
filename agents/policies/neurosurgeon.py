"""Neurosurgeon (Kang et al., ASPLOS 2017) for the fading environments: the split that minimises the
predicted end-to-end latency (or the device's energy) under the current bandwidth estimate.

Neurosurgeon profiles every layer offline, and at run time reads the current bandwidth and server load,
predicts for each candidate split ``k`` the mobile compute of layers ``1..k``, the transfer of layer
``k``'s output and the server compute of the rest, and runs the split with the smallest prediction. Here
it is given the best profile it could have: the environment's own per-request cost tables, so its only
handicap is the one of the paper's design, a bandwidth *estimate* and no notion of answer quality.

**What it observes.** Offline (the profile): the world's cost tables :attr:`FadingWorld.costs
<splitgym.envs.fading.world.FadingWorld.costs>` (``device_ms``, ``edge_ms``, ``uplink_bits`` per prompt
row and split, ``transmissions`` per split), the device's active power, the radio power
(``P_tx/eta_PA + P_circ``), the per-transmission link latency, the rate table ``R(SNR)``
(``world.tables.rate_bps``: the radio's modulation-and-coding curve) and, only with ``quality_floor``,
the quality score table ``world.tables.score``. Per request (all of them are in the agent's observation):
the device's **estimated** SNR ``snr_est_db``, the prompt length and the device and edge utilisation
``u_d``, ``u_e`` (through :meth:`FadingSplitEnv.request`), and the feasible splits
(:meth:`FadingSplitEnv.action_masks`). It never reads the true SNR, the reward or any of its terms.

**Prediction**, with ``R̂ = R(snr_est)`` the rate the estimate supports, for split ``k`` of prompt row ``s``::

    latency  T̂(k) = t_d(s,k)/(1 - u_d) + b(s,k)/R̂ + t_e(s,k)/(1 - u_e) + n_tx(k)·t_link
    energy   Ê(k) = P_dev·t_d(s,k) + (P_tx/eta_PA + P_circ)·b(s,k)/R̂
    quality  Ŝ(k) = score(k, snr_est)        (0 when b(s,k) > 0 and R̂ = 0)

(the environment's formulas of :mod:`splitgym.envs.fading.world` at the estimated SNR). A split that must
send bits when ``R̂ = 0`` is predicted to take forever (``b/R̂ = inf``). The policy plays the feasible
split with the smallest ``T̂`` (``objective="latency"``) or ``Ê`` (``"energy"``); ties go to the other
quantity, then to the smaller split. With ``quality_floor`` it only considers feasible splits with
``Ŝ(k) >= quality_floor``; when none reaches the floor it plays the feasible split of highest ``Ŝ``
(ties by the objective). When every candidate is predicted infinite (outage and the model does not fit
on the device), it plays the one whose finite part (compute, link latency) is smallest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from splitgym.envs.fading.env import FadingSplitEnv
from splitgym.envs.fading.tables import snr_index
from splitgym.errors import ConfigError, suggest

__all__ = ["OBJECTIVES", "NeurosurgeonPolicy", "Prediction", "fading_env"]

OBJECTIVES = ("latency", "energy")
F = NDArray[np.float64]


def fading_env(env: gym.Env[Any, Any], who: str) -> FadingSplitEnv:
    """The :class:`FadingSplitEnv` under ``env``'s wrappers, or a :class:`ConfigError` naming ``who``."""
    inner = env.unwrapped
    if not isinstance(inner, FadingSplitEnv):
        raise ConfigError(
            f"{who} needs a fading split environment (splitgym/FadingSplit-*), got env "
            f"{type(inner).__name__}; allowed: FadingSplitEnv"
        )
    return inner


@dataclass(frozen=True)
class Prediction:
    """Neurosurgeon's predictions for every split ``0..L`` of one request (arrays of shape ``(L + 1,)``)."""

    latency_s: F  # predicted end-to-end latency (inf when bits must be sent in predicted outage)
    energy_j: F  # predicted device energy (inf likewise)
    compute_s: F  # the finite part of the latency: compute and per-transmission link latency
    score: F  # predicted quality score at the estimated SNR (0 in predicted outage)
    rate_bps: float  # the rate the SNR estimate supports


class NeurosurgeonPolicy:
    """Neurosurgeon's cost-model argmin over the feasible splits (see the module docstring).

    ``objective``: ``"latency"`` (end-to-end latency) or ``"energy"`` (device energy);
    ``quality_floor``: ``None``, or a predicted quality score in ``[0, 1]`` every candidate must reach.
    """

    def __init__(
        self, env: gym.Env[Any, Any], objective: str = "latency", quality_floor: float | None = None
    ) -> None:
        self.env = fading_env(env, "NeurosurgeonPolicy")
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
        # The offline profile (per prompt row and split) and the radio/device constants.
        self._device_s = w.costs.device_ms * 1e-3
        self._edge_s = w.costs.edge_ms * 1e-3
        self._bits = w.costs.uplink_bits
        self._link_s = w.costs.transmissions * c.link_latency_ms * 1e-3
        self._prompt_lo = w.costs.prompt_lo
        self._device_power_w = w.device_power_w
        self._radio_power_w = w.radio_power_w
        self._rate_bps = w.tables.rate_bps
        self._score = w.tables.score  # (L + 1, SNR grid)

    def predict_request(
        self, snr_est_db: float, prompt: int, device_load: float, edge_load: float
    ) -> Prediction:
        """The predictions for every split of a request with these observed conditions."""
        row = int(prompt) - self._prompt_lo
        i = int(snr_index(np.asarray(float(snr_est_db))))
        rate = float(self._rate_bps[i])
        bits = self._bits[row]
        sent = bits > 0
        airtime = bits / rate if rate > 0 else np.where(sent, np.inf, 0.0)
        t_dev = self._device_s[row]
        compute = t_dev / (1.0 - device_load) + self._edge_s[row] / (1.0 - edge_load) + self._link_s
        score = self._score[:, i].copy()
        if rate <= 0:
            score[sent] = 0.0
        return Prediction(
            latency_s=compute + airtime,
            energy_j=self._device_power_w * t_dev + self._radio_power_w * airtime,
            compute_s=compute,
            score=score,
            rate_bps=rate,
        )

    def current_prediction(self) -> Prediction:
        """The predictions for the environment's current request (observed quantities only)."""
        req = self.env.request()
        return self.predict_request(
            float(req.snr_est_db), int(req.prompt), float(req.device_load), float(req.edge_load)
        )

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
        return np.int64(self.choose(self.current_prediction(), self.env.action_masks())), state
