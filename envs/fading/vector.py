"""A natively batched vector environment for the fading scenarios (``gym.make_vec``'s vector entry point).

:class:`FadingSplitVectorEnv` steps ``num_envs`` environments as numpy arrays in one call (no Python loop
over environments): the exogenous process advances with :meth:`ExogenousProcess.step
<splitgym.envs.fading.process.ExogenousProcess.step>` and requests are evaluated with the same
:meth:`FadingWorld.evaluate <splitgym.envs.fading.world.FadingWorld.evaluate>` as the single environment,
so both agree in distribution (tested). Autoreset follows Gymnasium's ``NEXT_STEP`` mode: the step after
an episode ends resets that environment, ignores its action and returns its first observation with
reward 0. ``infos`` holds arrays of the reward terms and the request's physics (with ``_key`` masks that
are ``False`` for environments that were reset in this step).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from splitgym.envs.fading.config import DEFAULT_SCENARIO, scenario_config
from splitgym.envs.fading.info import INFO_KEYS, WEIGHT_KEYS
from splitgym.envs.fading.process import ProcessState, Sample
from splitgym.envs.fading.world import world_for
from splitgym.errors import ConfigError

__all__ = ["FadingSplitVectorEnv"]


class FadingSplitVectorEnv(VectorEnv[NDArray[np.float32], NDArray[np.int64], NDArray[Any]]):
    """``num_envs`` fading split-inference environments of one scenario, stepped as arrays."""

    metadata: dict[str, Any] = {  # noqa: RUF012
        "render_modes": ["ansi"],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        scenario: str = DEFAULT_SCENARIO,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ConfigError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        if render_mode not in (None, "ansi"):
            raise ConfigError(f"render_mode must be None or 'ansi' for the vector env, got {render_mode!r}")
        overrides.pop("max_episode_steps", None)  # registered envs limit episodes themselves (max_steps)
        self.config = scenario_config(scenario, **overrides)
        self.scenario = scenario
        self.world = world_for(self.config)
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.num_layers = self.world.num_layers
        self.single_action_space = spaces.Discrete(self.num_layers + 1)
        self.single_observation_space = spaces.Box(0.0, 1.0, shape=(self.world.obs_dim,), dtype=np.float32)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self._state: ProcessState | None = None
        self._sample: Sample | None = None
        self._history = np.zeros((num_envs, self.config.snr_history))
        self._prev = np.zeros(num_envs, dtype=np.int64)
        self._steps = np.zeros(num_envs, dtype=np.int64)
        self._autoreset = np.zeros(num_envs, dtype=bool)

    # -- Gymnasium API -------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        if isinstance(seed, list):
            raise ConfigError(
                "seed must be an int or None for the batched vector env (one generator for all)"
            )
        super().reset(seed=seed)
        self._state, self._sample = self.world.process.init(self.np_random, self.num_envs)
        self._history = np.repeat(self._sample.snr_est_db[:, None], self.config.snr_history, axis=1)
        self._prev[:] = 0
        self._steps[:] = 0
        self._autoreset[:] = False
        obs = self.world.observe(self._sample, self._history, self._prev)
        return obs, {"action_mask": self.action_masks()}

    def step(
        self, actions: NDArray[np.int64]
    ) -> tuple[NDArray[np.float32], NDArray[Any], NDArray[Any], NDArray[Any], dict[str, Any]]:
        if self._state is None or self._sample is None:
            raise RuntimeError("call reset() before step()")
        acts = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)
        if acts.min() < 0 or acts.max() > self.num_layers:
            raise ValueError(f"actions must be splits in 0..{self.num_layers}, got {actions!r}")
        w, s = self.world, self._sample
        live = ~self._autoreset
        rows = w.row(s.prompt)
        executed, invalid = w.execute(rows, acts)
        out = w.evaluate(rows, s.snr_db, s.device_load, s.edge_load, executed, invalid)
        reward = np.where(live, out.reward, 0.0)
        self._steps = np.where(live, self._steps + 1, 0)
        truncated = live & (self._steps >= self.config.max_steps)
        terminated = np.zeros(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {}
        rate = out.rate_bps
        values = {
            "reward": out.reward, "r_invalid": out.r_invalid, "quality": out.quality,
            "quality_score": out.quality_score, "load": out.load, "energy_j": out.energy_j,
            "latency_s": out.latency_s, "uplink_s": out.uplink_s, "outage": out.outage,
            "r_quality": out.r_quality, "r_load": out.r_load, "r_energy": out.r_energy,
            "r_latency": out.r_latency,
            "snr_db": s.snr_db, "snr_est_db": s.snr_est_db, "rate_bps": rate, "distance_m": s.distance_m,
            "los": s.los, "prompt_tokens": s.prompt, "device_load": s.device_load, "edge_load": s.edge_load,
            **{k: np.full(self.num_envs, getattr(self.config, k)) for k in WEIGHT_KEYS},
            "split": executed, "requested_split": acts, "invalid": invalid,
        }  # fmt: skip
        for key in INFO_KEYS:
            infos[key] = values[key]
            infos["_" + key] = live
        # Advance every environment, then start afresh those that were waiting for their reset.
        old_est = s.snr_est_db
        new = w.process.step(self._state, self.np_random)
        hist = (
            np.concatenate([old_est[:, None], self._history[:, :-1]], axis=1)
            if self.config.snr_history
            else self._history
        )
        self._prev = np.where(live, executed, 0)
        if not live.all():
            idx = np.flatnonzero(~live)
            fresh_state, fresh = w.process.init(self.np_random, idx.size)
            for name in vars(self._state):
                getattr(self._state, name)[idx] = getattr(fresh_state, name)
            for name in vars(new):
                getattr(new, name)[idx] = getattr(fresh, name)
            hist[idx] = fresh.snr_est_db[:, None]
        self._sample, self._history = new, hist
        self._autoreset = terminated | truncated
        obs = w.observe(new, hist, self._prev)
        infos["action_mask"] = self.action_masks()
        return obs, reward, terminated, truncated, infos

    # -- extras --------------------------------------------------------------------------------------
    def action_masks(self) -> NDArray[np.bool_]:
        """Feasible splits of each environment's current request, shape ``(num_envs, L + 1)``."""
        assert self._sample is not None
        return np.asarray(self.world.feasible[self.world.row(self._sample.prompt)])

    def split_rewards(self) -> NDArray[np.float64]:
        """The reward of every action in every environment's current request, ``(num_envs, L + 1)``."""
        assert self._sample is not None
        s, w = self._sample, self.world
        rows = w.row(s.prompt)[:, None]
        splits = np.arange(self.num_layers + 1)[None, :]
        executed, invalid = w.execute(rows, splits)
        col = (slice(None), None)
        return w.evaluate(rows, s.snr_db[col], s.device_load[col], s.edge_load[col], executed, invalid).reward

    def render(self) -> tuple[str, ...] | None:
        if self.render_mode != "ansi" or self._sample is None:
            return None
        s = self._sample
        return tuple(
            f"env {i}: d {s.distance_m[i]:.0f} m SNR {s.snr_db[i]:.1f} dB prompt {s.prompt[i]} "
            f"prev split {self._prev[i]}/{self.num_layers}"
            for i in range(min(self.num_envs, 8))
        )
