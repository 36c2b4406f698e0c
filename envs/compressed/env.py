"""``splitgym/CompressedSplit-v0``: split, compress the device side (Edge-LLM) and choose the answer.

Same conventions as the fading environment (:mod:`splitgym.envs.fading`): one step is one request over
the same channel, device pair and request process; observation as there plus the previous budget and
mode. The action is one of ``(L+1)·B·3`` combinations, ``a = (k·B + b)·3 + m`` (:meth:`decode`):

* split ``k`` (decoder layers on the device),
* budget ``b`` from ``config.budgets`` (mean sparsity and base bit-width), which LUC expands into the
  policy of layers ``1..k`` (``compression="uniform"``: the same on every layer),
* answer mode ``m``: ``edge`` (the hidden state crosses the channel, the edge finishes), ``exit`` (the
  device answers from its deepest exit ``e <= k``: no uplink, no edge), ``vote`` (the edge finishes and
  the max-confidence vote over every exit that ran decides; device exits are computed before the
  channel, edge exits after it).

Compute scales with the compressed layers' relative cost (our roofline cost model,
:mod:`splitgym.profiles.compression.costmodel`), memory with their weight bytes; quality comes from the
measured table (:mod:`.tables`). The reward is the fading environment's, term for term, in ``info``.
Infeasible actions (memory, ``min_split``, an exit mode with no exit at or below ``k``) are masked
(``action_masks()``, ``info["action_mask"]``); taken anyway, the nearest feasible one runs (same budget
and mode first) and costs ``w_invalid``. ``observation_mode="dict"`` puts the mask in the observation
(``{"observation", "action_mask"}``, :mod:`splitgym.envs.wrappers`).
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from splitgym.envs.checks import discrete_action
from splitgym.envs.compressed.config import MODES, CompressedSplitConfig, compressed_config
from splitgym.envs.compressed.tables import CompressionTables, grid_index
from splitgym.envs.config import build_config
from splitgym.envs.fading.process import SAMPLE_FIELDS, ProcessState, Sample
from splitgym.envs.fading.tables import snr_index
from splitgym.envs.fading.world import FadingWorld, world_for
from splitgym.envs.wrappers import check_observation_mode, dict_space, with_mask
from splitgym.profiles.timing.catalogue import get_architecture

__all__ = ["CompressedSplitEnv"]

BLOCK = 256


class CompressedSplitEnv(gym.Env[NDArray[np.float32], np.int64]):
    """Split inference with Edge-LLM compression and exits over a fading channel."""

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012

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
            self.config = build_config(CompressedSplitConfig, config, overrides, "CompressedSplitEnv")
        else:
            self.config = compressed_config(**overrides)
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise gym.error.Error(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.world: FadingWorld = world_for(self.config)
        L = self.num_layers = self.world.num_layers
        self.tables = CompressionTables.build(self.config, L)
        self.n_budgets = B = len(self.tables.budgets)
        self.n_actions = (L + 1) * B * len(MODES)
        a = np.arange(self.n_actions)
        self.act_split, self.act_budget, self.act_mode = a // (B * 3), (a // 3) % B, a % 3
        self._build_costs()
        self.action_space = spaces.Discrete(self.n_actions)
        box = spaces.Box(0.0, 1.0, shape=(self.world.obs_dim + 2,), dtype=np.float32)
        self.observation_space = dict_space(box, self.n_actions) if self._dict else box  # type: ignore[assignment]
        self._state: ProcessState | None = None
        self._t = 0
        self._step = 0
        self._prev = 0
        self.last_info: dict[str, Any] = {}
        self.trace: list[tuple[float, int, float]] = []  # (snr_db, split, reward) of this episode

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

    # -- static tables per (prompt row, action) ------------------------------------------------------
    def _build_costs(self) -> None:
        w, tb, L = self.world, self.tables, self.num_layers
        k, b, m = self.act_split, self.act_budget, self.act_mode
        dev = w.costs.device_ms  # (rows, L+1), uncompressed
        layer = (dev[:, 2] - dev[:, 1])[:, None]
        embed = (dev[:, 1] - layer[:, 0])[:, None]
        head = (dev[:, L] - embed[:, 0] - L * layer[:, 0])[:, None]
        is_exit = m == MODES.index("exit")
        is_vote = m == MODES.index("vote")
        n_dev_exits = np.array([sum(1 for e in tb.exits if e <= kk and e < L) for kk in range(L + 1)])
        stack = np.where(is_exit, tb.exit_time_sum[b, k], tb.time_sum[b, k])[None, :]
        on_dev = np.where(is_exit, tb.exit_depth[k] > 0, k > 0)[None, :]
        t_dev = on_dev * (embed + layer * stack)
        t_dev = t_dev + head * ((k == L) & ~is_exit)[None, :] + head * is_exit[None, :]
        t_dev = t_dev + head * (is_vote * n_dev_exits[k])[None, :]
        self.device_ms = t_dev
        self.edge_ms = np.where(is_exit[None, :], 0.0, w.costs.edge_ms[:, k])
        self.bits = np.where(is_exit[None, :], 0.0, w.costs.uplink_bits[:, k])
        self.link_s = np.where(is_exit, 0.0, w.costs.transmissions[k]) * self.config.link_latency_ms * 1e-3
        arch = get_architecture(self.config.model)
        dense_layer = 2.0 * arch.params_per_layer  # float16 bytes of one uncompressed layer
        depth = np.where(is_exit, tb.exit_depth[k], k)
        weights = np.where(is_exit, tb.exit_bytes_sum[b, k], tb.bytes_sum[b, k])
        memory = w.costs.memory_bytes[:, depth] - depth[None, :] * dense_layer + weights[None, :]
        self.memory_bytes = memory
        quality_ok = tb.feasible[b, m, k]
        self.feasible = (
            (memory <= w.memory_budget_bytes) & quality_ok[None, :] & (k >= self.config.min_split)[None, :]
        )
        # Fallback for infeasible actions: nearest split, then same budget and mode.
        dist = (
            10.0 * np.abs(k[:, None] - k[None, :])
            + 3.0 * (b[:, None] != b[None, :])
            + (m[:, None] != m[None, :])
        )
        dist = np.where(self.feasible[:, None, :], dist[None] + 1e-6 * np.arange(self.n_actions), np.inf)
        self.fallback = np.argmin(dist, axis=2)

    # -- evaluation ----------------------------------------------------------------------------------
    def _evaluate(self, s: Sample) -> dict[str, NDArray[np.float64]]:
        """Every action on request ``s`` (arrays of shape ``(A,)``; infeasible ones run their fallback)."""
        w, c, tb = self.world, self.config, self.tables
        row = int(w.row(s.prompt))
        run = self.fallback[row]
        invalid = run != np.arange(self.n_actions)
        snr = float(s.snr_db)
        rate = float(w.tables.rate_bps[snr_index(np.asarray(snr))])
        bits = self.bits[row, run]
        outage = (bits > 0) & (rate <= 0)
        airtime = np.where(bits > 0, bits / rate if rate > 0 else 0.0, 0.0)
        t_dev = self.device_ms[row, run] * 1e-3
        latency = (
            t_dev / (1 - float(s.device_load))
            + airtime
            + self.edge_ms[row, run] * 1e-3 / (1 - float(s.edge_load))
        )
        latency = latency + self.link_s[run]
        cap = 2.0 * c.deadline_s
        latency = np.where(outage, cap, np.minimum(latency, cap))
        lateness = np.clip((latency - c.deadline_s) / c.deadline_s, 0.0, 1.0)
        quality = tb.quality[self.act_budget[run], self.act_mode[run], self.act_split[run], grid_index(snr)]
        lo, hi = w.tables.quality_range
        score = np.where(outage, 0.0, np.clip((quality - lo) / (hi - lo), 0.0, 1.0))
        device_only = w.device_only_ms[row] * 1e-3
        energy = w.device_power_w * t_dev + w.radio_power_w * np.where(outage, 0.0, airtime)
        energy_norm = np.minimum(energy / (w.device_power_w * device_only), 1.0)
        load = t_dev / device_only
        terms = {
            "r_quality": c.w_quality * score,
            "r_load": -c.w_load * load,
            "r_energy": -c.w_energy * energy_norm,
            "r_latency": -c.w_latency * lateness,
            "r_invalid": np.where(invalid, -c.w_invalid, 0.0),
        }
        reward = sum(terms.values())
        return {
            "reward": np.asarray(reward), "run": run.astype(np.float64),
            "invalid": invalid.astype(np.float64),
            "quality": quality, "quality_score": score, "load": load, "energy_j": energy,
            "latency_s": latency, "uplink_s": airtime, "outage": outage.astype(np.float64),
            "memory_bytes": self.memory_bytes[row, run], **terms,
        }  # fmt: skip

    # -- Gymnasium API -------------------------------------------------------------------------------
    def _load_block(self) -> None:
        assert self._state is not None
        block = self.world.process.simulate(self._state, self.np_random, BLOCK)
        self._block = Sample(*(np.asarray(getattr(block, f))[:, 0] for f in SAMPLE_FIELDS))
        self._history_pad = np.concatenate([self._history[::-1], self._block.snr_est_db])
        self._t = 0

    def _request(self) -> Sample:
        if self._t == -1:
            return self._first
        return Sample(*(np.asarray(getattr(self._block, f)[self._t]) for f in SAMPLE_FIELDS))

    def _observe(self) -> NDArray[np.float32]:
        s = self._request()
        H = self.config.snr_history
        if self._t == -1:
            hist = np.full(H, float(s.snr_est_db))
        else:
            ext = self._history_pad
            i = H + self._t
            hist = ext[i - H : i][::-1]
        split = int(self.act_split[self._prev])
        base = self.world.observe(s, hist, np.asarray(split))
        extra = np.array(
            [self.act_budget[self._prev] / max(self.n_budgets - 1, 1), self.act_mode[self._prev] / 2.0],
            dtype=np.float32,
        )
        return np.concatenate([base, extra]).astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        self._state, first = self.world.process.init(self.np_random, 1)
        self._first = Sample(*(np.asarray(getattr(first, f))[0] for f in SAMPLE_FIELDS))
        self._history = np.full(self.config.snr_history, float(self._first.snr_est_db))
        self._t = -1
        self._step = 0
        self._prev = 0
        self._outcomes = self._evaluate(self._first)
        self.last_info = {}
        self.trace = []
        mask = self.action_masks()
        return self._package(self._observe(), mask), {"action_mask": mask, "step": 0}

    def step(
        self, action: np.int64 | int
    ) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        if self._state is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        a = discrete_action(action, self.n_actions)
        out = self._outcomes
        run = int(out["run"][a])
        split, budget, mode = self.decode(run)
        s = self._request()
        info: dict[str, Any] = {key: float(v[a]) for key, v in out.items() if key != "run"}
        info.update(
            split=split, budget=budget, mode=mode, requested_action=a, action=run,
            invalid=bool(out["invalid"][a]),
            outage=bool(out["outage"][a]), snr_db=float(s.snr_db), distance_m=float(s.distance_m),
            prompt_tokens=int(s.prompt), device_load=float(s.device_load), edge_load=float(s.edge_load),
            exit_depth=int(self.tables.exit_depth[split]) if mode == "exit" else split,
            w_quality=self.config.w_quality, w_load=self.config.w_load, w_energy=self.config.w_energy,
            w_latency=self.config.w_latency, w_invalid=self.config.w_invalid,
        )  # fmt: skip
        reward = info["reward"]
        self.trace.append((info["snr_db"], split, reward))
        self._prev = run
        self._step += 1
        info["step"] = self._step
        if self._t == -1:
            self._load_block()
        elif self._t + 1 >= BLOCK:
            self._history = self._block.snr_est_db[-self.config.snr_history :][::-1].copy()
            self._load_block()
        else:
            self._t += 1
        self._outcomes = self._evaluate(self._request())
        info["action_mask"] = self.action_masks()
        self.last_info = info
        obs = self._package(self._observe(), info["action_mask"])
        return obs, reward, False, self._step >= self.config.max_steps, info

    def _package(self, obs: NDArray[np.float32], mask: NDArray[np.bool_]) -> NDArray[np.float32]:
        """``obs``, or with ``observation_mode="dict"`` the dict of it and ``mask``."""
        return with_mask(obs, mask) if self._dict else obs  # type: ignore[return-value]

    def action_masks(self) -> NDArray[np.bool_]:
        """Feasible actions of the current request."""
        return np.array(self.feasible[int(self.world.row(self._request().prompt))], dtype=bool)

    def split_rewards(self) -> NDArray[np.float64]:
        """The reward of every action on the current request (exhaustive search, for oracles)."""
        return np.asarray(self._outcomes["reward"], dtype=np.float64).copy()

    @property
    def num_splits(self) -> int:
        return self.num_layers + 1

    def render(self) -> str | NDArray[np.uint8] | None:
        if self.render_mode == "rgb_array":
            from splitgym.envs.fading.render import render_rgb

            return render_rgb(self)  # type: ignore[arg-type]
        if self.render_mode != "ansi":
            return None
        s = self._request()
        last = self.last_info
        tail = (
            f" | last {last['split']}/{last['budget']}/{last['mode']} r {last['reward']:.3f}" if last else ""
        )
        return f"step {self._step} | SNR {float(s.snr_db):.1f} dB | prompt {int(s.prompt)}{tail}"
