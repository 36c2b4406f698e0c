"""A natively batched vector environment for the v1 split world (``gym.make_vec``'s vector entry point).

:class:`FadingSplitV1VectorEnv` steps ``num_envs`` environments as numpy arrays in one call: the request
process advances with :meth:`RequestProcess.step <splitgym.envs.split.channel.RequestProcess.step>` and
requests are evaluated with the same :meth:`SplitWorld.evaluate
<splitgym.envs.split.world.SplitWorld.evaluate>` as the single environment (only at the executed split),
so both agree in distribution (tested). Autoreset follows Gymnasium's ``NEXT_STEP`` mode; ``infos`` holds
arrays of the reward terms and physics with ``_key`` masks (``False`` where the env was reset).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from splitgym.envs.split.channel import LargeScale, Request
from splitgym.envs.split.config import DEFAULT_SCENARIO, scenario_config
from splitgym.envs.split.observation import initial_cqi, observe, tail_columns
from splitgym.envs.split.world import world_for
from splitgym.errors import ConfigError
from splitgym.profiles.quality import QualityModel

__all__ = ["INFO_KEYS", "FadingSplitV1VectorEnv"]

INFO_KEYS = (
    "split", "invalid", "quality", "quality_score", "ttft_s", "tbt_s", "latency_s", "energy_j",
    "energy_norm", "load", "lateness", "outage", "r_quality", "r_latency", "r_energy", "r_load", "r_invalid",
    "quality_level",
    "snr_db", "distance_m",
)  # fmt: skip


class FadingSplitV1VectorEnv(VectorEnv[NDArray[np.float32], NDArray[np.int64], NDArray[Any]]):
    """``num_envs`` v1 split environments of one scenario, stepped as arrays."""

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012

    def __init__(self, num_envs: int = 1, scenario: str = DEFAULT_SCENARIO, render_mode: str | None = None,
                 quality_model: QualityModel | None = None, **overrides: Any) -> None:  # fmt: skip
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ConfigError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        if render_mode is not None:
            raise ConfigError(f"render_mode must be None for the vector env, got {render_mode!r}")
        overrides.pop("max_episode_steps", None)
        self.config = scenario_config(scenario, **overrides)
        if self.config.state:
            raise ConfigError(
                f"state={self.config.state!r}: the native vector env does not batch the state components "
                "yet; use gym.make_vec(..., vectorization_mode='sync') or a stateless scenario"
            )
        self.scenario = scenario
        self.world = world_for(self.config)
        if quality_model is not None:  # e.g. a reward surrogate (agents/model_based.py)
            self.world = self.world.with_quality(quality_model)
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.num_layers = self.world.num_layers
        self.single_action_space = spaces.Discrete(self.num_layers + 1)
        self.single_observation_space = spaces.Box(0.0, 1.0, shape=(self.world.obs_dim,), dtype=np.float32)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self._state: LargeScale | None = None
        self._req: Request | None = None
        self._tail = np.zeros((num_envs, self.config.cqi_history + 2))
        self._prev = np.zeros(num_envs, dtype=np.int64)
        self._steps = np.zeros(num_envs, dtype=np.int64)
        self._autoreset = np.zeros(num_envs, dtype=bool)

    def _fresh_tail(self, req: Request) -> NDArray[np.float64]:
        n = req.snr_db.shape[0]
        return tail_columns(self.config, initial_cqi(self.config, req.snr_est_db), np.zeros(n), np.zeros(n))

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        if isinstance(seed, list):
            raise ConfigError(
                "seed must be an int or None for the batched vector env (one generator for all)"
            )
        super().reset(seed=seed)
        self._state, self._req = self.world.process.init(self.np_random, self.num_envs)
        self._tail = self._fresh_tail(self._req)
        self._prev[:] = 0
        self._steps[:] = 0
        self._autoreset[:] = False
        w = self.world
        obs = observe(self.config, self._req, self._tail, self._prev, w.num_layers, w.prompts)
        return obs, {"action_mask": self.action_masks(), "quality_source": w.quality.source}

    def step(
        self, actions: NDArray[np.int64]
    ) -> tuple[NDArray[np.float32], NDArray[Any], NDArray[Any], NDArray[Any], dict[str, Any]]:
        if self._state is None or self._req is None:
            raise RuntimeError("call reset() before step()")
        acts = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)
        if acts.min() < 0 or acts.max() > self.num_layers:
            raise ValueError(f"actions must be splits in 0..{self.num_layers}, got {actions!r}")
        w, s = self.world, self._req
        live = ~self._autoreset
        executed, invalid = w.execute(s.prompt_level, acts)
        out = w.evaluate(s, executed, invalid)
        reward = np.where(live, out.reward, 0.0)
        self._steps = np.where(live, self._steps + 1, 0)
        truncated = live & (self._steps >= self.config.max_steps)
        terminated = np.zeros(self.num_envs, dtype=bool)
        values = {"split": executed, "invalid": invalid, "snr_db": s.snr_db, "distance_m": s.distance_m}
        infos: dict[str, Any] = {}
        for key in INFO_KEYS:
            infos[key] = values[key] if key in values else getattr(out, key)
            infos["_" + key] = live
        tail = tail_columns(self.config, out.cqi, out.ttft_s, out.latency_s)
        new = w.process.step(self._state, self.np_random)
        self._prev = np.where(live, executed, 0)
        if not live.all():
            idx = np.flatnonzero(~live)
            fresh_state, fresh = w.process.init(self.np_random, idx.size)
            for name in vars(self._state):
                getattr(self._state, name)[idx] = getattr(fresh_state, name)
            for name in vars(new):
                getattr(new, name)[idx] = getattr(fresh, name)
            tail[idx] = self._fresh_tail(fresh)
        self._req, self._tail = new, tail
        self._autoreset = terminated | truncated
        obs = observe(self.config, new, tail, self._prev, w.num_layers, w.prompts)
        infos["action_mask"] = self.action_masks()
        return obs, reward, terminated, truncated, infos

    def action_masks(self) -> NDArray[np.bool_]:
        """Feasible splits of each environment's current request, ``(num_envs, L + 1)``."""
        assert self._req is not None
        return np.asarray(self.world.feasible.take(self._req.prompt_level, axis=0))

    def split_rewards(self) -> NDArray[np.float64]:
        """The reward of every action in every environment's current request, ``(num_envs, L + 1)``."""
        assert self._req is not None
        s, w = self._req, self.world
        splits = np.arange(self.num_layers + 1)[None, :]
        executed, invalid = w.execute(s.prompt_level[:, None], splits)
        req = Request(*(np.asarray(getattr(s, f))[:, None] for f in vars(s)))
        return w.evaluate(req, executed, invalid).reward
