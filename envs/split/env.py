"""``splitgym/FadingSplit-v1``: split an LLM between a device and an edge server over an NR link.

One step is one request: a prompt, then ``new_tokens`` tokens, each a round trip device -> edge -> device
(:mod:`.timeline`) over the slot-level NR link (:mod:`.link`). The agent sees what the device knows
(:mod:`.observation`: large-scale SNR estimate, its last CQI reports, the previous request's measured
TTFT and latency, prompt length, loads, previous split) and picks the split ``k`` in ``0..L``. Splits the
device cannot hold in memory or below ``min_split`` are infeasible: :meth:`FadingSplitV1Env.action_masks`
and ``info["action_mask"]``; an infeasible action runs the nearest feasible split and costs ``w_invalid``.
Reward and terms: :meth:`SplitWorld.evaluate <splitgym.envs.split.world.SplitWorld.evaluate>`; ``info``
holds every term, weight, TTFT/TBT/latency, energy and the request's physics, and
``info["quality_source"]`` says whether quality is measured or a proxy.

Speed: the request process does not depend on actions, so requests are simulated ahead in blocks and every
runnable split is evaluated on each at once (a batch of fresh episodes at a reset; the next block of the
current episode when it outlasts the first); a step reads one precomputed row.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from splitgym.envs.config import build_config
from splitgym.envs.split.channel import FIELDS, LargeScale, Request
from splitgym.envs.split.config import DEFAULT_SCENARIO, SplitConfig, scenario_config
from splitgym.envs.split.observation import initial_cqi, observe, tail_columns
from splitgym.envs.split.world import world_for

__all__ = ["INFO_KEYS", "PER_SPLIT_KEYS", "PER_STEP_KEYS", "WEIGHT_KEYS", "FadingSplitV1Env"]

BLOCK = 256
BATCH_ROWS = 2048
PER_SPLIT_KEYS = (
    "reward", "r_invalid", "quality", "quality_score", "ttft_s", "tbt_s", "latency_s", "energy_j",
    "energy_modem_j", "load", "lateness", "outage", "r_quality", "r_latency", "r_energy", "r_load",
)  # fmt: skip
PER_STEP_KEYS = (
    "snr_db", "distance_m", "los", "tx_power_dbm", "prompt_tokens", "device_load", "edge_load",
)  # fmt: skip
WEIGHT_KEYS = ("w_quality", "w_latency", "w_energy", "w_load", "w_invalid")
INFO_KEYS = PER_SPLIT_KEYS + PER_STEP_KEYS + WEIGHT_KEYS
_OUTAGE = PER_SPLIT_KEYS.index("outage")


def _expand(req: Request) -> Request:
    return Request(*(np.asarray(getattr(req, f))[..., None] for f in FIELDS))


class FadingSplitV1Env(gym.Env[NDArray[np.float32], np.int64]):
    """The v1 split world as a single Gymnasium environment (a scenario plus keyword overrides)."""

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012

    def __init__(
        self,
        scenario: str = DEFAULT_SCENARIO,
        render_mode: str | None = None,
        config: SplitConfig | None = None,
        **overrides: Any,
    ) -> None:
        if config is not None:
            self.config = build_config(SplitConfig, config, overrides, "FadingSplitV1Env")
        else:
            self.config = scenario_config(scenario, **overrides)
        self.scenario = scenario
        self.world = world_for(self.config)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise gym.error.Error(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        L = self.num_layers = self.world.num_layers
        self.action_space = spaces.Discrete(L + 1)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(self.world.obs_dim,), dtype=np.float32)
        self._weights = [float(getattr(self.config, n)) for n in WEIGHT_KEYS]
        self._masks = list(self.world.feasible)
        self._fallback: list[list[int]] = self.world.fallback.tolist()
        self._slot = self.world.slot_of
        self._tail_cols = slice(1, 3 + self.config.cqi_history)
        self.quality_source = self.world.quality.source
        self._t = 0
        self._col = -1
        self._obs = np.zeros((0, 0, self.world.obs_dim), dtype=np.float32)
        self._step = 0
        self.last_info: dict[str, Any] = {}

    # -- block precomputation ------------------------------------------------------------------------
    def _new_batch(self) -> None:
        T = min(BLOCK, self.config.max_steps + 1)
        n = max(1, BATCH_ROWS // T)
        proc = self.world.process
        state, first = proc.init(self.np_random, n)
        rest = proc.simulate(state, self.np_random, T - 1)
        block = Request(
            *(np.concatenate([np.asarray(getattr(first, f))[None], getattr(rest, f)]) for f in FIELDS)
        )
        tail0 = tail_columns(
            self.config, initial_cqi(self.config, first.snr_est_db), np.zeros(n), np.zeros(n)
        )
        self._batch_state = state
        self._prepare(block, tail0)
        self._col = -1

    def _next_block(self, tail0: NDArray[np.float64]) -> None:
        col = self._col
        st = self._batch_state
        state = LargeScale(*(np.asarray(getattr(st, f))[col : col + 1] for f in vars(st)))
        block = self.world.process.simulate(state, self.np_random, BLOCK)
        self._batch_state = state
        self._prepare(block, tail0[None, :])
        self._col = 0

    def _prepare(self, s: Request, tail0: NDArray[np.float64]) -> None:
        """Evaluate block ``s`` (arrays ``(T, n)``) at every runnable split; ``tail0`` (n, H+2)."""
        w, c = self.world, self.config
        self._obs = observe(c, s, np.zeros((*s.snr_db.shape, c.cqi_history + 2)),
                            np.zeros(s.snr_db.shape, np.int64),
                            w.num_layers, w.prompts)  # fmt: skip
        self._obs[0, :, self._tail_cols] = tail0
        self._levels = np.asarray(s.prompt_level)
        self._level_list = self._levels.tolist()
        out = w.evaluate(_expand(s), w.runnable[None, None, :])
        tails = tail_columns(c, out.cqi, out.ttft_s, out.latency_s).astype(np.float32)
        self._tails = tails
        # The observation that follows each (request, split): the next request's row with this tail.
        nxt = np.empty((*out.reward.shape, w.obs_dim), dtype=np.float32)
        nxt[:-1] = self._obs[1:, :, None, :]
        nxt[..., self._tail_cols] = tails
        nxt[..., -1] = (w.runnable / w.num_layers)[None, None, :]
        self._obs_next = nxt
        shape = out.reward.shape
        per_step = [s.snr_db, s.distance_m, s.los, s.tx_power_dbm, w.prompts[s.prompt_level], s.device_load,
                    s.edge_load]  # fmt: skip
        # One plane per info key (contiguous writes); a step gathers one (request, split) column.
        table = np.empty((len(PER_SPLIT_KEYS), *shape))
        for j, key in enumerate(PER_SPLIT_KEYS):
            table[j] = getattr(out, key)
        steps = np.empty((len(PER_STEP_KEYS) + len(WEIGHT_KEYS), *shape[:2]))
        for j, v in enumerate(per_step):
            steps[j] = v
        steps[len(per_step) :] = np.asarray(self._weights)[:, None, None]
        self._table = table
        self._step_table = steps
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
        self.last_info = {}
        info = {"action_mask": self.action_masks(), "step": 0, "quality_source": self.quality_source}
        return self._obs[0, self._col].copy(), info

    def step(
        self, action: np.int64 | int
    ) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        k = int(action)
        if self._col < 0:
            raise gym.error.ResetNeeded("call reset() before step()")
        if not 0 <= k <= self.num_layers:
            raise gym.error.InvalidAction(f"action must be a split in 0..{self.num_layers}, got {action!r}")
        t, col = self._t, self._col
        split = self._fallback[self._level_list[t][col]][k]
        slot = self._slot[split]
        values = self._table[:, t, col, slot].tolist()
        info = dict(zip(INFO_KEYS, values + self._step_table[:, t, col].tolist(), strict=True))
        reward = values[0]
        info["split"] = split
        info["requested_split"] = k
        info["invalid"] = invalid = split != k
        if invalid:
            reward -= self.config.w_invalid
            info["reward"] = reward
            info["r_invalid"] = -self.config.w_invalid
        info["outage"] = values[_OUTAGE] > 0.0
        info["los"] = info["los"] > 0.0
        info["quality_source"] = self.quality_source
        self._step += 1
        info["step"] = self._step
        self.last_info = info
        if t + 1 >= self._obs.shape[0]:
            tail = self._tails[t, col, slot]
            self._next_block(tail)
            obs = self._obs[0, 0].copy()
            obs[self._tail_cols] = tail
            obs[-1] = split / self.num_layers
        else:
            self._t = t + 1
            obs = self._obs_next[t, col, slot].copy()
        info["action_mask"] = self._masks[self._level_list[self._t][self._col]].copy()
        return obs, reward, False, self._step >= self.config.max_steps, info

    # -- extras --------------------------------------------------------------------------------------
    def action_masks(self) -> NDArray[np.bool_]:
        """Feasible splits of the current request (``True`` = allowed), for MaskablePPO."""
        return np.array(self.world.feasible[self._levels[self._t, self._col]], dtype=bool)

    def runnable_splits(self) -> NDArray[np.int64]:
        """Splits some request of this configuration can run."""
        return self.world.runnable.copy()

    def split_rewards(self) -> NDArray[np.float64]:
        """The reward every action would get on the current request (for oracles)."""
        level = self._levels[self._t, self._col]
        executed = self.world.fallback[level]
        rewards = self._table[0, self._t, self._col, self._slot[executed]]
        return np.asarray(rewards - self.config.w_invalid * (executed != np.arange(executed.size)))

    def request(self) -> Request:
        """The current request's conditions (large-scale SNR, LOS, prompt, fading realisation, loads)."""
        return self._block.take((self._t, self._col))

    def describe(self) -> str:
        """The world's sources (model, profiles, link, quality: measured or proxy)."""
        return self.world.describe()

    def render(self) -> str | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi'")
            return None
        i = self.last_info
        if not i:
            return "FadingSplit-v1: no step yet"
        return (
            f"step {i['step']}: split {i['split']}/{self.num_layers} SNR {i['snr_db']:.1f} dB "
            f"TTFT {1e3 * i['ttft_s']:.0f} ms total {1e3 * i['latency_s']:.0f} ms "
            f"energy {i['energy_j']:.2f} J "
            f"reward {i['reward']:.3f}{' OUTAGE' if i['outage'] else ''}"
        )
