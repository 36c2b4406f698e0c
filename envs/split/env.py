"""``splitgym/FadingSplit-v1``: split an LLM between a device and an edge server over an NR link.

One step is one request: a prompt, then ``new_tokens`` tokens, each a round trip device -> edge -> device
(:mod:`.timeline`) over the slot-level NR link (:mod:`.link`). The agent sees what the device knows
(:mod:`.observation`: large-scale SNR estimate, its last CQI reports, the previous request's measured
TTFT and latency, prompt length, loads, previous split) and picks the split ``k`` in ``0..L``. Splits the
device cannot hold in memory or below ``min_split`` are infeasible: :meth:`FadingSplitV1Env.action_masks`
and ``info["action_mask"]``; an infeasible action runs the nearest feasible split and costs ``w_invalid``.
Reward and terms: :meth:`SplitWorld.evaluate <splitgym.envs.split.world.SplitWorld.evaluate>`; a step's
``info`` holds :data:`STEP_INFO_KEYS` (every reward term ``r_*``, TTFT/TBT/latency in s, energy in J and the
request's physics, each key naming its unit; no ``reward`` or ``step`` key, which RL frameworks use
themselves) plus the state's keys and ``action_mask`` (the reset's ``info`` holds ``action_mask`` only).
Constants are attributes, not info: :attr:`FadingSplitV1Env.reward_weights` and
:attr:`~FadingSplitV1Env.quality_source` (whether quality is measured or a proxy; also in :meth:`describe`),
so that every info key is a per-step number (TorchRL turns them into tensors) and none appears only at
reset.

Speed: the request process does not depend on actions, so requests are simulated ahead in blocks (a batch
of fresh episodes at a reset; the next block of the current episode when it outlasts the first) with their
packed-lane indices, load stretches and PUSCH power; a step evaluates only the executed split with
:meth:`SplitWorld.evaluate_lane <splitgym.envs.split.world.SplitWorld.evaluate_lane>` (one gathered row of
lane constants and a few dozen float operations, equal to :meth:`~SplitWorld.evaluate` to rounding).

Sequential state (issue 13): ``state=(...)`` composes the components of :mod:`.state` (queue, thermal,
battery, radio, kv), updated by the executed action; their features are appended to the observation, the
memory mask follows the KV context, a depleted battery ends the episode (``terminated``) and ``info`` holds
each mechanism's terms (``wait_s``, ``promotion_s``, ``kv_bytes``, ``clock_scale``, ``battery_soc``, ...).
:meth:`FadingSplitV1Env.clone` copies an episode for look-ahead planners.
"""

from __future__ import annotations

import copy
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from splitgym.envs.checks import discrete_action
from splitgym.envs.config import build_config
from splitgym.envs.split.channel import FIELDS, LargeScale, Request
from splitgym.envs.split.config import DEFAULT_SCENARIO, SplitConfig, scenario_config
from splitgym.envs.split.observation import initial_cqi, observe, tail_columns
from splitgym.envs.split.state import SessionState, physics_config
from splitgym.envs.split.world import world_for
from splitgym.envs.wrappers import check_observation_mode, dict_space, with_mask
from splitgym.profiles.quality import QualityModel

__all__ = [
    "INFO_KEYS",
    "PER_SPLIT_KEYS",
    "PER_STEP_KEYS",
    "REWARD_TERMS",
    "STEP_INFO_KEYS",
    "WEIGHT_KEYS",
    "FadingSplitV1Env",
]

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
REWARD_TERMS = ("r_quality", "r_latency", "r_energy", "r_load", "r_invalid")  # the reward is their sum
# A stateless step's info keys (besides "action_mask"); the stateful one adds the state's (STATE_INFO_KEYS).
STEP_INFO_KEYS = (
    *PER_SPLIT_KEYS[1:], *PER_STEP_KEYS, "split", "requested_split", "invalid", "quality_level",
)  # fmt: skip
INFO_KEYS = STEP_INFO_KEYS
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
        quality_model: QualityModel | None = None,
        observation_mode: str = "box",
        **overrides: Any,
    ) -> None:
        self.observation_mode = check_observation_mode(observation_mode)
        self._dict = self.observation_mode == "dict"  # {"observation", "action_mask"} (envs/wrappers.py)
        if config is not None:
            self.config = build_config(SplitConfig, config, overrides, "FadingSplitV1Env")
        else:
            self.config = scenario_config(scenario, **overrides)
        self.scenario = scenario
        self.world = world_for(physics_config(self.config))
        if quality_model is not None:  # e.g. a reward surrogate (agents/model_based.py)
            self.world = self.world.with_quality(quality_model)
        self.session = SessionState(self.config, self.world) if self.config.state else None
        self._base_dim = self.world.obs_dim
        obs_dim = self._base_dim + (self.session.obs_dim if self.session is not None else 0)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise gym.error.Error(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        L = self.num_layers = self.world.num_layers
        self.action_space = spaces.Discrete(L + 1)
        box = spaces.Box(0.0, 1.0, shape=(obs_dim,), dtype=np.float32)
        self.observation_space = dict_space(box, L + 1) if self._dict else box  # type: ignore[assignment]
        self.reward_weights: dict[str, float] = {n: float(getattr(self.config, n)) for n in WEIGHT_KEYS}
        """The reward's weights (constant over the environment's life)."""
        self._masks = list(self.world.feasible)
        self._fallback: list[list[int]] = self.world.fallback.tolist()
        self._slot = self.world.slot_of
        self._tail_cols = slice(1, 3 + self.config.cqi_history)
        self.quality_source = self.world.quality.source
        self._w_invalid = float(self.config.w_invalid)
        self._slot_list: list[int] = self.world.slot_of.tolist()
        self._split_frac = [k / self.world.num_layers for k in range(self.world.num_layers + 1)]
        self._cqi_h = self.config.cqi_history
        self._cqi_obs = (self.world._cqi_packed / 15.0).astype(np.float32)
        self._level_packed: list[float] = self.world.level_packed.tolist()
        self._k_ttft = 1.0 / (2.0 * self.config.ttft_deadline_s)
        self._k_total = 1.0 / (2.0 * self.config.total_deadline_s)
        self._max_steps = int(self.config.max_steps)
        self._block_len = 0
        self._t = 0
        self._col = -1
        self._obs = np.zeros((0, 0, obs_dim), dtype=np.float32)
        self._prev_col = self._base_dim - 1
        self._pool_div = self.world.runnable.size * self.world.prompts.size
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

    def _next_block(self) -> None:
        col = self._col
        tail0 = np.zeros(self.config.cqi_history + 2)  # the caller writes the tail
        st = self._batch_state
        state = LargeScale(*(np.asarray(getattr(st, f))[col : col + 1] for f in vars(st)))
        block = self.world.process.simulate(state, self.np_random, BLOCK)
        self._batch_state = state
        self._prepare(block, tail0[None, :])
        self._select(0)

    def _prepare(self, s: Request, tail0: NDArray[np.float64]) -> None:
        """Tabulate block ``s`` (arrays ``(T, n)``): observations without the previous request's tail (row 0
        with ``tail0``, ``(n, H+2)``), packed-lane bases, compute stretches, PUSCH power and per-step info."""
        w, c = self.world, self.config
        self._obs = observe(c, s, np.zeros((*s.snr_db.shape, c.cqi_history + 2)),
                            np.zeros(s.snr_db.shape, np.int64),
                            w.num_layers, w.prompts)  # fmt: skip
        self._obs[0, :, self._tail_cols] = tail0
        if self.session is not None:
            extra = np.zeros((*self._obs.shape[:2], self.session.obs_dim), dtype=np.float32)
            self._obs = np.concatenate([self._obs, extra], axis=-1)
        self._levels = np.asarray(s.prompt_level)
        self._lane_base = w.lane_base(s)
        self._x_d = 1.0 / (1.0 - np.asarray(s.device_load)) - 1.0
        self._x_e = 1.0 / (1.0 - np.asarray(s.edge_load)) - 1.0
        self._tx_w = w.energy.radio.tx_w(s.tx_power_dbm)
        prompt = w.prompts.take(s.prompt_level)
        per_step = [s.snr_db, s.distance_m, s.los, s.tx_power_dbm, prompt, s.device_load, s.edge_load]
        self._step_rows = np.stack(per_step, axis=-1).astype(np.float64)
        self._block = s
        self._block_len = s.snr_db.shape[0]
        self._t = 0

    def _select(self, col: int) -> None:
        """Make column ``col`` of the block the current episode (its per-request values as Python lists)."""
        self._col = col
        self._c_level: list[int] = self._levels[:, col].tolist()
        self._c_lane: list[int] = self._lane_base[:, col].tolist()
        self._c_xd: list[float] = self._x_d[:, col].tolist()
        self._c_xe: list[float] = self._x_e[:, col].tolist()
        self._c_txw: list[float] = self._tx_w[:, col].tolist()
        fb = self._fallback
        # One tuple per request of the episode: what a stateless step reads (fewer lookups per step); built
        # by zip in C (the per-step columns as lists), not a Python loop.
        self._c_rows = list(
            zip(
                map(fb.__getitem__, self._c_level), self._c_lane, self._c_xd, self._c_xe, self._c_txw,
                *self._step_rows[:, col].T.tolist(), strict=True,
            )
        )  # fmt: skip

    # -- Gymnasium API -------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        obs, info = self._reset_box(seed, options)
        if self._dict:
            return with_mask(obs, info["action_mask"]), info  # type: ignore[return-value]
        return obs, info

    def _reset_box(
        self, seed: int | None, options: dict[str, Any] | None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None or self._col + 1 >= self._obs.shape[1]:
            self._new_batch()
        self._select(self._col + 1)
        self._t = 0
        self._step = 0
        self.last_info = {}
        obs = self._obs[0, self._col].copy()
        if self.session is not None:
            self.session.reset(self.np_random)
            obs[self._base_dim :] = self.session.observe()
            self._mask_now, self._nearest_now = self.session.allowed(self._c_level[0])
        return obs, {"action_mask": self.action_masks()}

    def step(
        self, action: np.int64 | int
    ) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        t, col = self._t, self._col
        if col < 0:
            raise gym.error.ResetNeeded("call reset() before step()")
        kind = type(action)
        if kind is np.int64 or kind is int:  # the common case, checked without a call
            k = int(action)
            if not 0 <= k <= self.num_layers:
                discrete_action(k, self.num_layers + 1)  # raises the one InvalidAction message
        else:
            k = discrete_action(action, self.num_layers + 1)
        if self.session is not None:
            obs, reward, terminated, truncated, info = self._step_state(k, t, col)
            if self._dict:
                return with_mask(obs, info["action_mask"]), reward, terminated, truncated, info  # type: ignore[return-value]
            return obs, reward, terminated, truncated, info
        row = self._c_rows[t]
        fallback, base, x_d, x_e, tx_w = row[:5]
        split = fallback[k]
        lane = base + self._slot_list[split]
        values = self.world.evaluate_lane(lane, split, x_d, x_e, tx_w)
        info = self._request_info(values, row, k, split, lane)
        reward, ttft, total = values[0] - self._w_invalid * (split != k), values[4], values[6]
        self.last_info = info
        obs = self._next_obs(t, col)
        H = self._cqi_h  # what this request left: CQI reports, TTFT, total, split
        obs[1 : H + 1] = self._cqi_obs[lane]
        x = ttft * self._k_ttft
        obs[H + 1] = x if x < 1.0 else 1.0
        x = total * self._k_total
        obs[H + 2] = x if x < 1.0 else 1.0
        obs[self._prev_col] = self._split_frac[split]
        if self._t == 0:
            self._obs[0, 0] = obs
        info["action_mask"] = mask = self._masks[self._c_level[self._t]].copy()
        if self._dict:
            return with_mask(obs, mask), reward, False, self._step >= self._max_steps, info  # type: ignore[return-value]
        return obs, reward, False, self._step >= self._max_steps, info

    def _request_info(self, values: list[float], row: Any, k: int, split: int, lane: int) -> dict[str, Any]:
        """The ``info`` of a request (:data:`STEP_INFO_KEYS`): :meth:`SplitWorld.evaluate_lane`'s ``values``
        (``r_invalid = -w_invalid`` when ``split != k``), the request's conditions (``row`` of the block)
        and the split."""
        (
            _, r_inv, quality, score, ttft, tbt, total, energy, e_modem, load, lateness, outage,
            r_q, r_l, r_e, r_load,
        ) = values  # fmt: skip
        _, _, _, _, _, snr, dist, los, ptx, prompt, u_d, u_e = row
        self._step += 1
        invalid = split != k
        if invalid:
            r_inv = -self._w_invalid
        return {
            "r_invalid": r_inv, "quality": quality, "quality_score": score, "ttft_s": ttft,
            "tbt_s": tbt, "latency_s": total, "energy_j": energy, "energy_modem_j": e_modem, "load": load,
            "lateness": lateness, "outage": outage > 0.0, "r_quality": r_q, "r_latency": r_l,
            "r_energy": r_e, "r_load": r_load, "snr_db": snr, "distance_m": dist, "los": los > 0.0,
            "tx_power_dbm": ptx, "prompt_tokens": prompt, "device_load": u_d, "edge_load": u_e,
            "split": split, "requested_split": k, "invalid": invalid,
            "quality_level": self._level_packed[lane],
        }  # fmt: skip

    def _next_obs(self, t: int, col: int) -> NDArray[np.float32]:
        """A copy of the next request's precomputed observation (a new block when this one is used up)."""
        if t + 1 >= self._block_len:
            self._next_block()
            t, col = -1, 0
        else:
            self._t = t + 1
        obs: NDArray[np.float32] = self._obs[t + 1, col].copy()
        return obs

    # -- the stateful step (issue 13) ------------------------------------------------------------------
    def _executed(self, k: int, mask: NDArray[np.bool_]) -> int:
        """The nearest feasible split to ``k`` under ``mask`` (ties to the lower split, as the world's)."""
        if mask[k]:
            return k
        cand = np.flatnonzero(mask)
        return int(cand[np.argmin(np.abs(cand - k) + 1e-3 * cand)])

    def _outcome(self, t: int, col: int, split: int) -> tuple[list[float], Any, int]:
        """The current request at executed ``split`` with the state's additions (no state change)."""
        session = self.session
        assert session is not None
        level = self._c_level[t] if col == self._col else int(self._levels[t, col])
        lane = self._c_lane[t] + self._slot_list[split]
        txw = self._c_txw[t]
        inp = session.inputs(split, level, lane // self._pool_div, txw)
        x_d = (1.0 + self._c_xd[t]) * inp[0] - 1.0
        values = self.world.evaluate_lane(lane, split, x_d, self._c_xe[t], txw, inp[1], inp[2])
        return values, inp, lane

    def _step_state(
        self, k: int, t: int, col: int
    ) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        """The stateful step: :meth:`_outcome` and the state's commit, inlined (one pass, Python floats)."""
        session = self.session
        assert session is not None
        row = self._c_rows[t]
        _, base, x_d, x_e, tx_w = row[:5]
        level = self._c_level[t]
        split = self._nearest_now[k]
        lane = base + self._slot_list[split]
        stretch, extra_s, extra_j, wait, promo, kv_bytes, kv_s = session.inputs(
            split, level, lane // self._pool_div, tx_w
        )
        x_d = (1.0 + x_d) * stretch - 1.0
        values = self.world.evaluate_lane(lane, split, x_d, x_e, tx_w, extra_s, extra_j)
        info = self._request_info(values, row, k, split, lane)
        reward = values[0] - self._w_invalid * (split != k)
        ttft, total, energy, e_modem, outage = values[4], values[6], values[7], values[8], values[11]
        info.update(
            arrival_s=session._arrivals[0], start_s=session.start_s, wait_s=wait, promotion_s=promo,
            radio_gap_s=session.start_s - session.radio_end_s, kv_bytes=kv_bytes, kv_move_s=kv_s,
            kv_from_split=session.kv_split, context_tokens=session.context, clock_scale=1.0 / stretch,
            die_c=session.die_c, skin_c=session.skin_c,
        )  # fmt: skip
        service = total if outage > 0.0 else total - wait
        depleted = session.advance(split, level, service, energy - e_modem, energy, split < self.num_layers)
        info["battery_soc"] = session.soc
        self.last_info = info
        obs = self._next_obs(t, col)
        H = self._cqi_h  # what this request left: CQI reports, TTFT, total, split; then the state
        obs[1 : H + 1] = self._cqi_obs[lane]
        x = ttft * self._k_ttft
        obs[H + 1] = x if x < 1.0 else 1.0
        x = total * self._k_total
        obs[H + 2] = x if x < 1.0 else 1.0
        obs[self._prev_col :] = [self._split_frac[split], *session.observe()]
        if self._t == 0:
            self._obs[0, 0] = obs
        mask, self._nearest_now = session.allowed(self._c_level[self._t])
        self._mask_now = mask
        info["action_mask"] = mask.copy()
        truncated = (self._step >= self._max_steps or session.exhausted) and not depleted
        return obs, reward, depleted, truncated, info

    # -- extras --------------------------------------------------------------------------------------
    def clone(self) -> FadingSplitV1Env:
        """An independent copy of this environment at this instant, for look-ahead planners: the same world
        (shared, read-only), the episode's block and state copied, the random generator copied (so the copy
        sees the same future draws as the original would)."""
        twin = copy.copy(self)
        twin._np_random = copy.deepcopy(self.np_random)
        twin._obs = self._obs.copy()
        if self.session is not None:
            twin.session = self.session.copy(twin._np_random)
        return twin

    def action_masks(self) -> NDArray[np.bool_]:
        """Feasible splits of the current request (``True`` = allowed), for MaskablePPO."""
        if self.session is not None:
            return self._mask_now.copy()
        return np.array(self.world.feasible[self._c_level[self._t]], dtype=bool)

    def runnable_splits(self) -> NDArray[np.int64]:
        """Splits some request of this configuration can run."""
        return self.world.runnable.copy()

    def split_rewards(self) -> NDArray[np.float64]:
        """The reward every action would get on the current request (for oracles)."""
        t, col = self._t, self._col
        if self.session is not None:
            mask = self._mask_now
            executed = np.array([self._executed(k, mask) for k in range(self.num_layers + 1)])
            rewards = [self._outcome(t, col, int(k))[0][0] for k in executed.tolist()]
            out = np.asarray(rewards) - self.config.w_invalid * (executed != np.arange(executed.size))
            return np.asarray(out, dtype=np.float64)
        executed = self.world.fallback[self._levels[t, col]]
        rewards = [self._lane_reward(t, col, int(k)) for k in executed.tolist()]
        out = np.asarray(rewards) - self.config.w_invalid * (executed != np.arange(executed.size))
        return np.asarray(out, dtype=np.float64)

    def _lane_reward(self, t: int, col: int, split: int) -> float:
        lane = int(self._lane_base[t, col]) + self._slot_list[split]
        xd, xe, txw = float(self._x_d[t, col]), float(self._x_e[t, col]), float(self._tx_w[t, col])
        return self.world.evaluate_lane(lane, split, xd, xe, txw)[0]

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
            f"step {self._step}: split {i['split']}/{self.num_layers} SNR {i['snr_db']:.1f} dB "
            f"TTFT {1e3 * i['ttft_s']:.0f} ms total {1e3 * i['latency_s']:.0f} ms "
            f"energy {i['energy_j']:.2f} J "
            f"reward {sum(i[k] for k in REWARD_TERMS):.3f}{' OUTAGE' if i['outage'] else ''}"
        )
