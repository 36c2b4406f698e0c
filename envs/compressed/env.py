"""``splitgym/CompressedSplit-v1``: split, compress the device side (Edge-LLM) and choose the answer.

The v1 split world (:mod:`splitgym.envs.split`) with a compressed device side: one step is one request
over the same NR link, devices and request process as ``FadingSplit-Reference-Stateless-v1`` (the same
requests for the same seed); the observation is the v1 observation (:mod:`splitgym.envs.split.observation`)
plus the previous budget ``b/(B-1)`` and mode ``m/2``. The action is one of ``(L+1)·B·3`` combinations,
``a = (k·B + b)·3 + m`` (:meth:`CompressedSplitEnv.decode`):

* split ``k`` (decoder layers on the device),
* budget ``b`` from ``config.budgets`` (mean sparsity and base bit-width), which LUC expands into the
  policy of layers ``1..k`` (``compression="uniform"``: the matched uniform policy),
* answer mode ``m``: ``edge`` (the hidden state crosses the link, the edge finishes), ``exit`` (the device
  answers from its deepest exit ``e <= k``: no uplink, no edge), ``vote`` (the edge finishes and the
  max-confidence vote over every exit that ran decides; the device's exits ``e <= k, e < L`` run on it).

The reward is computed by the world's one evaluation function,
:meth:`SplitWorld.evaluate <splitgym.envs.split.world.SplitWorld.evaluate>` (its scalar twin
:meth:`~splitgym.envs.split.world.SplitWorld.evaluate_lane` in :meth:`~CompressedSplitEnv.step`): an
action runs on a world *lane* with a device compute multiplier ``device_scale`` and the action's measured
quality ``score``; this module holds no reward term of its own. With ``E``, ``T``, ``H`` the device's
embedding, one-layer and head compute of the request (prefill + decode, from the world's timing tables,
``T_dev(k) = [k>0](E + k T + [k=L] H)``), ``rho_i`` the cost model's relative time of compressed layer ``i``
(:mod:`splitgym.profiles.compression.costmodel`, our roofline model, prefill of 128 tokens; applied to
decode too [A: the same ratio for both phases, as v0]) and ``e(k)`` the deepest exit ``<= k``::

    edge  lane k   device_scale = [k>0](E + T sum_{i<=k} rho_i + [k=L] H) / T_dev(k)
    exit  lane L   device_scale = (E + T sum_{i<=e(k)} rho_i + H) / T_dev(L)     (no uplink, no edge)
    vote  lane k   device_scale = (edge's device time + H n_exits(k)) / T_dev(k),  n_exits = #{e <= k, e < L}
    score          = clip((Q(b, m, k) - Q_lo)/(Q_hi - Q_lo), 0, 1)   (the world's quality range)

(an exit head costs the final head's time [A: an exit is a norm plus a vocabulary projection like the
final head]; ``device_scale = 1`` at ``k = 0``). ``Q`` is the measured table at the configuration's
activation precision (:mod:`.tables`). Memory: the world's device memory at depth ``d`` (``k``, or
``e(k)`` for an exit) with each dense float16 layer's weights scaled by the compressed layer's bytes over
the dense layer's (exit heads not counted [A: as v0]). Infeasible actions (memory, ``min_split``, an exit
mode with no exit at or below ``k``, a lane the world cannot run) are masked
(:meth:`~CompressedSplitEnv.action_masks`, ``info["action_mask"]``); taken anyway, the nearest feasible
one runs (nearest split, then same budget, then same mode) and costs ``w_invalid``.
``observation_mode="dict"`` puts the mask in the observation (``{"observation", "action_mask"}``,
:mod:`splitgym.envs.wrappers`).
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from splitgym.envs.checks import discrete_action
from splitgym.envs.compressed.config import MODES, CompressedSplitConfig, compressed_config
from splitgym.envs.compressed.tables import CompressionTables
from splitgym.envs.config import build_config
from splitgym.envs.split.channel import Request
from splitgym.envs.split.env import REWARD_TERMS, FadingSplitV1Env
from splitgym.envs.split.world import Outcome
from splitgym.envs.wrappers import check_observation_mode, dict_space, with_mask

__all__ = ["CompressedSplitEnv"]

F = NDArray[np.float64]
_EXIT, _VOTE = MODES.index("exit"), MODES.index("vote")


class CompressedSplitEnv(FadingSplitV1Env):
    """Split inference with Edge-LLM compression and exits on the v1 split world."""

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012

    def __init__(
        self,
        render_mode: str | None = None,
        config: CompressedSplitConfig | None = None,
        observation_mode: str = "box",
        **overrides: Any,
    ) -> None:
        self.observation_mode = check_observation_mode(observation_mode)
        self._dict = self.observation_mode == "dict"  # {"observation", "action_mask"} (envs/wrappers.py)
        if config is not None:
            cfg = build_config(CompressedSplitConfig, config, overrides, "CompressedSplitEnv")
        else:
            cfg = compressed_config(**overrides)
        super().__init__(
            render_mode=render_mode, config=cfg.split_config(), observation_mode=observation_mode
        )
        self.config: CompressedSplitConfig = cfg
        self.scenario = "Reference"
        L = self.num_layers
        self.tables = CompressionTables.build(cfg, L)
        self.quality_source = self.tables.source
        self.n_budgets = B = len(self.tables.budgets)
        self.n_actions = (L + 1) * B * len(MODES)
        a = np.arange(self.n_actions)
        self.act_split, self.act_budget, self.act_mode = a // (B * 3), (a // 3) % B, a % 3
        self._build_actions()
        self.action_space = spaces.Discrete(self.n_actions)
        box = spaces.Box(0.0, 1.0, shape=(self._base_dim + 2,), dtype=np.float32)
        self.observation_space = dict_space(box, self.n_actions) if self._dict else box  # type: ignore[assignment]
        self._extra = [
            np.array([b / max(B - 1, 1), m / 2.0], dtype=np.float32)
            for b, m in zip(self.act_budget.tolist(), self.act_mode.tolist(), strict=True)
        ]

    # -- actions -------------------------------------------------------------------------------------
    def decode(self, action: int) -> tuple[int, str, str]:
        """``(split, budget name, mode)`` of action index ``action``."""
        return (
            int(self.act_split[action]),
            self.config.budgets[int(self.act_budget[action])],
            MODES[int(self.act_mode[action])],
        )

    def encode(self, split: int, budget: str, mode: str) -> int:
        """The action index of ``(split, budget, mode)``."""
        return (split * self.n_budgets + self.config.budgets.index(budget)) * 3 + MODES.index(mode)

    @property
    def num_splits(self) -> int:
        return self.num_layers + 1

    def _build_actions(self) -> None:
        """Per (prompt level, action): lane split, device_scale, memory, feasibility, fallback; per action:
        measured quality and score (formulas in the module docstring)."""
        w, tb, L, c = self.world, self.tables, self.num_layers, self.config
        k, b, m = self.act_split, self.act_budget, self.act_mode
        is_exit, is_vote = m == _EXIT, m == _VOTE
        dev = w.comp.dev_total_s  # (levels, L+1): device compute of the whole request, uncompressed (s)
        layer = (dev[:, 2] - dev[:, 1])[:, None]
        embed = (dev[:, 1] - layer[:, 0])[:, None]
        head = (dev[:, L] - embed[:, 0] - L * layer[:, 0])[:, None]
        n_dev_exits = np.array([sum(1 for e in tb.exits if e <= kk and e < L) for kk in range(L + 1)])
        self.lane_split = np.where(is_exit, L, k).astype(np.int64)
        stack = np.where(is_exit, tb.exit_time_sum[b, k], tb.time_sum[b, k])[None, :]
        on_dev = np.where(is_exit, True, k > 0)[None, :]
        t_dev = on_dev * (embed + layer * stack) + head * ((k == L) | is_exit)[None, :]
        t_dev = t_dev + head * (is_vote * n_dev_exits[k])[None, :]
        base = dev[:, self.lane_split]
        self.device_time_s = t_dev
        self.device_scale = np.where(base > 0.0, t_dev / np.where(base > 0.0, base, 1.0), 1.0)
        self._scale_rows: list[list[float]] = self.device_scale.tolist()
        # Memory: the world's device memory at depth d, each dense layer's weights scaled by the compressed
        # layer's bytes over the dense layer's (both as the profile counts them).
        depth = np.where(is_exit, tb.exit_depth[k], k)
        dense_layer = 2.0 * w.comp.arch.params_per_layer  # float16 bytes of one layer, as the world counts
        weights = np.where(is_exit, tb.exit_bytes_sum[b, k], tb.bytes_sum[b, k]) / tb.dense_layer_bytes
        self.memory_bytes = w.comp.memory_bytes[:, depth] - (depth - weights)[None, :] * dense_layer
        runnable = w.slot_of[self.lane_split] >= 0
        self.feasible = (self.memory_bytes <= w.memory_budget_bytes) & (
            tb.feasible[b, m, k] & (k >= c.min_split) & runnable
        )[None, :]
        if not self.feasible.any(axis=1).all():
            raise RuntimeError("no feasible action for some prompt level")  # min_split <= L keeps one
        dist = (
            10.0 * np.abs(k[:, None] - k[None, :])
            + 3.0 * (b[:, None] != b[None, :])
            + (m[:, None] != m[None, :])
        )
        dist = np.where(self.feasible[:, None, :], dist[None] + 1e-6 * np.arange(self.n_actions), np.inf)
        self.fallback = np.argmin(dist, axis=2)  # (level, requested action) -> executed action
        self._fallback_rows: list[list[int]] = self.fallback.tolist()
        self.quality = tb.quality[b, m, k]
        lo, hi = w.quality.quality_range
        self.score = np.clip((self.quality - lo) / (hi - lo), 0.0, 1.0)
        self._lane_list: list[int] = self.lane_split.tolist()
        self._quality_list: list[float] = self.quality.tolist()
        self._score_list: list[float] = self.score.tolist()
        self._exit_split = np.where(is_exit, tb.exit_depth[k], k).tolist()

    # -- evaluation (the world's one function) ----------------------------------------------------------
    def evaluate_actions(self, req: Request, level: int, actions: NDArray[np.int64]) -> Outcome:
        """:meth:`SplitWorld.evaluate <splitgym.envs.split.world.SplitWorld.evaluate>` of ``actions`` on
        request ``req`` (prompt level ``level``): each runs its fallback on its lane, with its
        ``device_scale`` and ``score``; ``r_invalid`` for the ones that fell back."""
        run = self.fallback[level, np.asarray(actions)]
        return self.world.evaluate(
            req,
            self.lane_split[run],
            run != np.asarray(actions),
            device_scale=self.device_scale[level, run],
            score=self.score[run],
        )

    # -- block precomputation: the v1 env's, with two more observation columns -------------------------
    def _prepare(self, s: Request, tail0: NDArray[np.float64]) -> None:
        super()._prepare(s, tail0)
        extra = np.zeros((*self._obs.shape[:2], 2), dtype=np.float32)
        self._obs = np.concatenate([self._obs, extra], axis=-1)

    # -- Gymnasium API -------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        obs, info = self._reset_box(seed, options)
        info["action_mask"] = mask = self.action_masks()
        return self._package(obs, mask), info

    def step(
        self, action: np.int64 | int
    ) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        t, col = self._t, self._col
        if col < 0:
            raise gym.error.ResetNeeded("call reset() before step()")
        a = discrete_action(action, self.n_actions)
        _, base, x_d, x_e, tx_w, snr, dist, los, ptx, prompt, u_d, u_e = self._c_rows[t]
        level = self._c_level[t]
        run = self._fallback_rows[level][a]
        lane_split = self._lane_list[run]
        scale = self._scale_rows[level][run]
        lane = base + self._slot_list[lane_split]
        values = self.world.evaluate_lane(
            lane, lane_split, x_d, x_e, tx_w, score=self._score_list[run], device_scale=scale
        )
        reward, r_inv, _, score, ttft, tbt, total, energy, e_modem, load, lateness, outage = values[:12]
        r_q, r_l, r_e, r_load = values[12:]
        invalid = run != a
        if invalid:
            reward -= self._w_invalid
            r_inv = -self._w_invalid
        split, budget, mode = self.decode(run)
        self._step += 1
        info = {
            "r_invalid": r_inv, "quality": self._quality_list[run], "quality_score": score,
            "ttft_s": ttft, "tbt_s": tbt, "latency_s": total, "energy_j": energy, "energy_modem_j": e_modem,
            "load": load, "lateness": lateness, "outage": outage > 0.0, "r_quality": r_q, "r_latency": r_l,
            "r_energy": r_e, "r_load": r_load, "snr_db": snr, "distance_m": dist, "los": los > 0.0,
            "tx_power_dbm": ptx, "prompt_tokens": prompt, "device_load": u_d, "edge_load": u_e,
            "split": split, "budget": budget, "mode": mode, "requested_split": int(self.act_split[a]),
            "action": run, "requested_action": a, "invalid": invalid, "lane_split": lane_split,
            "exit_depth": self._exit_split[run], "device_scale": scale,
            "memory_bytes": float(self.memory_bytes[level, run]),
            "tx_slots": float(self.world._lane_rows[lane, 3]),
        }  # fmt: skip
        self.last_info = info
        obs = self._next_obs(t, col)
        H = self._cqi_h  # what this request left: CQI reports, TTFT, total, split, budget, mode
        obs[1 : H + 1] = self._cqi_obs[lane]
        obs[H + 1] = min(ttft * self._k_ttft, 1.0)
        obs[H + 2] = min(total * self._k_total, 1.0)
        obs[self._prev_col] = self._split_frac[split]
        obs[self._base_dim :] = self._extra[run]
        if self._t == 0:
            self._obs[0, 0] = obs
        info["action_mask"] = mask = self.action_masks()
        return self._package(obs, mask), reward, False, self._step >= self._max_steps, info

    def _package(self, obs: NDArray[np.float32], mask: NDArray[np.bool_]) -> NDArray[np.float32]:
        """``obs``, or with ``observation_mode="dict"`` the dict of it and ``mask``."""
        return with_mask(obs, mask) if self._dict else obs  # type: ignore[return-value]

    def action_masks(self) -> NDArray[np.bool_]:
        """Feasible actions of the current request (``True`` = allowed), for MaskablePPO."""
        return np.array(self.feasible[self._c_level[self._t]], dtype=bool)

    def split_rewards(self) -> NDArray[np.float64]:
        """The reward of every action on the current request (exhaustive search, for oracles)."""
        level = self._c_level[self._t]
        out = self.evaluate_actions(self.request(), level, np.arange(self.n_actions))
        return np.asarray(out.reward, dtype=np.float64)

    def describe(self) -> str:
        """The world's sources plus the compression's (table, cost model, budgets)."""
        c = self.config
        return (
            f"{self.world.describe()}; compression {c.compression} budgets {list(c.budgets)}, answer modes "
            f"{list(MODES)}, exits {list(self.tables.exits)}; compressed quality {self.quality_source}; "
            "compute from the compression cost model's relative layer times "
            "(splitgym.profiles.compression.costmodel)"
        )

    def render(self) -> str | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi'")
            return None
        i = self.last_info
        if not i:
            return "CompressedSplit-v1: no step yet"
        return (
            f"step {self._step}: split {i['split']}/{self.num_layers} budget {i['budget']} mode {i['mode']} "
            f"SNR {i['snr_db']:.1f} dB total {1e3 * i['latency_s']:.0f} ms energy {i['energy_j']:.2f} J "
            f"reward {sum(i[k] for k in REWARD_TERMS):.3f}{' OUTAGE' if i['outage'] else ''}"
        )
