"""``splitgym/FadingSplit-v0``: split an LLM between a device and an edge server over a fading channel.

One step is one inference request. Before it the channel has evolved (mobility, path loss, shadowing,
fading; :mod:`.process`); the agent sees a normalised vector (:meth:`FadingWorld.observe
<splitgym.envs.fading.world.FadingWorld.observe>`): the device's SNR estimate and its last
``snr_history`` values, the rate that estimate supports, the prompt length, device and edge
utilisation and the previous split. The action is the split ``k`` in ``0..L`` (decoder layers on the
device). Splits the device cannot hold in memory, below ``min_split`` or without quality data are
infeasible: :meth:`FadingSplitEnv.action_masks` (MaskablePPO) and ``info["action_mask"]`` give the
feasible set of the next request; an infeasible action runs the nearest feasible split and costs
``w_invalid``; ``observation_mode="dict"`` puts the mask in the observation instead
(``{"observation", "action_mask"}``, :mod:`splitgym.envs.wrappers`). The reward and all its terms are
defined in :mod:`.world`; every term, weight and the request's physics are in ``info``. Episodes end by
truncation after ``max_steps`` requests.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from splitgym.envs.checks import discrete_action
from splitgym.envs.config import build_config
from splitgym.envs.fading.config import DEFAULT_SCENARIO, FadingSplitConfig, scenario_config
from splitgym.envs.fading.info import PER_SPLIT_KEYS, TABLE_KEYS, WEIGHT_KEYS
from splitgym.envs.fading.process import SAMPLE_FIELDS, ProcessState, Sample
from splitgym.envs.fading.tables import snr_index
from splitgym.envs.fading.world import world_for
from splitgym.envs.wrappers import check_observation_mode, dict_space, with_mask

__all__ = ["FadingSplitEnv"]

_OUTAGE = PER_SPLIT_KEYS.index("outage")
BLOCK = 256  # requests simulated ahead per block
BATCH_ROWS = 2048  # requests simulated ahead at a reset, in fresh episodes of one block each


class FadingSplitEnv(gym.Env[NDArray[np.float32], np.int64]):
    """Split inference over a fading channel, configured by a named scenario plus keyword overrides.

    ``gym.make("splitgym/FadingSplit-v0", speed_kmh=30, w_energy=0.2)``; see
    :class:`~splitgym.envs.fading.config.FadingSplitConfig` for every parameter.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012

    def __init__(
        self,
        scenario: str = DEFAULT_SCENARIO,
        render_mode: str | None = None,
        config: FadingSplitConfig | None = None,
        observation_mode: str = "box",
        **overrides: Any,
    ) -> None:
        self.observation_mode = check_observation_mode(observation_mode)
        if config is not None:
            self.config = build_config(FadingSplitConfig, config, overrides, "FadingSplitEnv")
        else:
            self.config = scenario_config(scenario, **overrides)
        self.scenario = scenario
        self.world = world_for(self.config)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise gym.error.Error(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        L = self.world.num_layers
        self.num_layers = L
        self.action_space = spaces.Discrete(L + 1)
        box = spaces.Box(0.0, 1.0, shape=(self.world.obs_dim,), dtype=np.float32)
        self._dict = self.observation_mode == "dict"  # {"observation", "action_mask"} (envs/wrappers.py)
        self.observation_space = dict_space(box, L + 1) if self._dict else box  # type: ignore[assignment]
        self._weight_values = [float(getattr(self.config, name)) for name in WEIGHT_KEYS]
        self._masks = list(self.world.feasible)  # one row per prompt length, copied into each info
        self._runnable = np.flatnonzero(self.world.feasible.any(axis=0))  # splits some request can run
        self._slot = np.full(self.num_layers + 1, -1, dtype=np.int64)
        self._slot[self._runnable] = np.arange(self._runnable.size)
        self._fallback: list[list[int]] = self.world.fallback.tolist()  # (prompt row, action) -> split run
        self._t = 0
        self._col = -1
        self._obs = np.zeros((0, 0, self.world.obs_dim), dtype=np.float32)
        self._step = 0
        self._prev_split = 0
        self.trace: list[tuple[float, int, float]] = []  # (snr_db, split, reward) of this episode
        self.last_info: dict[str, Any] = {}

    # -- block precomputation ------------------------------------------------------------------------
    # The process does not depend on actions, so requests are simulated ahead and every action is
    # evaluated on each: a batch of ``n`` fresh episodes at a reset (columns), or the next block of the
    # current episode when it outlasts the first one.
    def _new_batch(self) -> None:
        T = min(BLOCK, self.config.max_steps + 1)
        n = max(1, BATCH_ROWS // T)
        state, first = self.world.process.init(self.np_random, n)
        rest = self.world.process.simulate(state, self.np_random, T - 1)
        block = Sample(
            *(np.concatenate([np.asarray(getattr(first, f))[None], getattr(rest, f)]) for f in SAMPLE_FIELDS)
        )
        history = np.repeat(np.asarray(first.snr_est_db)[None, :], self.config.snr_history, axis=0)
        self._batch_state = state
        self._prepare(block, history)
        self._col = -1

    def _next_block(self) -> None:
        col = self._col
        st = self._batch_state
        state = ProcessState(*(np.asarray(getattr(st, f))[col : col + 1] for f in vars(st)))
        block = self.world.process.simulate(state, self.np_random, BLOCK)
        history = self._history_after[:, col : col + 1]
        self._batch_state = state
        self._prepare(block, history)
        self._col = 0

    def _prepare(self, s: Sample, past: NDArray[np.float64]) -> None:
        """Evaluate a block ``s`` (arrays ``(T, n)``); ``past``: the last ``H`` estimates, newest first."""
        w = self.world
        H = self.config.snr_history
        T = s.snr_db.shape[0]
        ext = np.concatenate([past[::-1], s.snr_est_db], axis=0)  # oldest .. newest, (H + T, n)
        idx = H + np.arange(T)[:, None] - 1 - np.arange(H)[None, :]
        history = np.moveaxis(ext[idx], 2, 1)  # (T, n, H)
        self._history_after = ext[::-1][:H]
        rows = w.row(s.prompt)
        self._obs = w.observe(s, history, np.zeros(rows.shape, dtype=np.int64))
        self._rows = rows
        self._row_list = rows.tolist()
        # Evaluate only the splits some request can run; an infeasible action reads its fallback's row.
        out = w.evaluate(
            rows[..., None], s.snr_db[..., None], s.device_load[..., None], s.edge_load[..., None],
            self._runnable[None, None, :],
        )  # fmt: skip
        cols = [out.reward, out.r_invalid, out.quality, out.quality_score, out.load, out.energy_j,
                out.latency_s, out.uplink_s, out.outage, out.r_quality, out.r_load, out.r_energy,
                out.r_latency]  # fmt: skip
        rate = w.tables.rate_bps[snr_index(s.snr_db)]
        per_step = [s.snr_db, s.snr_est_db, rate, s.distance_m, s.los, s.prompt, s.device_load, s.edge_load]
        # One row of info values per (request, action): a step reads it with one .tolist().
        table = np.empty((*out.reward.shape, len(TABLE_KEYS)))
        for j, c in enumerate(cols):
            table[..., j] = c
        for j, c in enumerate(per_step, start=len(cols)):
            table[..., j] = np.asarray(c, dtype=np.float64)[..., None]
        table[..., len(cols) + len(per_step) :] = self._weight_values
        self._table = table
        self._block = s
        self._t = 0

    # -- Gymnasium API -------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None or self._col + 1 >= self._obs.shape[1]:
            self._new_batch()
        self._col += 1
        self._t = 0
        self._step = 0
        self._prev_split = 0
        self.trace = []
        self.last_info = {}
        obs, mask = self._obs[0, self._col].copy(), self.action_masks()
        return (with_mask(obs, mask) if self._dict else obs), {"action_mask": mask, "step": 0}  # type: ignore[return-value]

    def step(
        self, action: np.int64 | int
    ) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        if self._col < 0:
            raise gym.error.ResetNeeded("call reset() before step()")
        k = discrete_action(action, self.num_layers + 1, "action (a split)")
        t, col = self._t, self._col
        split = self._fallback[self._row_list[t][col]][k]
        values = self._table[t, col, self._slot[split]].tolist()
        info = dict(zip(TABLE_KEYS, values, strict=True))
        reward = values[0]
        info["split"] = split
        info["requested_split"] = k
        info["invalid"] = invalid = split != k
        if invalid:
            reward -= self.config.w_invalid
            info["reward"] = reward
            info["r_invalid"] = -self.config.w_invalid
        info["outage"] = values[_OUTAGE] > 0.0
        self._step += 1
        info["step"] = self._step
        self.trace.append((info["snr_db"], split, reward))
        self.last_info = info
        if t + 1 >= self._obs.shape[0]:
            self._next_block()
        else:
            self._t = t + 1
        obs = self._obs[self._t, self._col].copy()
        obs[-1] = split / self.num_layers
        info["action_mask"] = mask = self._masks[self._rows[self._t, self._col]].copy()
        if self._dict:
            return with_mask(obs, mask), reward, False, self._step >= self.config.max_steps, info  # type: ignore[return-value]
        return obs, reward, False, self._step >= self.config.max_steps, info

    # -- extras --------------------------------------------------------------------------------------
    def action_masks(self) -> NDArray[np.bool_]:
        """Feasible splits of the current request (``True`` = allowed), for MaskablePPO."""
        return np.array(self.world.feasible[self._rows[self._t, self._col]], dtype=bool)

    def split_rewards(self) -> NDArray[np.float64]:
        """The reward every action would get on the current request (exhaustive search, for oracles)."""
        row = self._rows[self._t, self._col]
        executed = self.world.fallback[row]
        rewards = self._table[self._t, self._col, self._slot[executed], 0]
        return np.asarray(rewards - self.config.w_invalid * (executed != np.arange(executed.size)))

    def request(self) -> Sample:
        """The current request's conditions (true SNR, distance, LOS, prompt, loads)."""
        t, col = self._t, self._col
        return Sample(*(np.asarray(getattr(self._block, f)[t, col]) for f in SAMPLE_FIELDS))

    def render(self) -> str | NDArray[np.uint8] | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array'")
            return None
        from splitgym.envs.fading.render import render_ansi, render_rgb

        if self.render_mode == "ansi":
            return render_ansi(self)
        return render_rgb(self)
