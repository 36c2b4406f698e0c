"""A natively batched vector environment for the fading scenarios (``gym.make_vec``'s vector entry point).

:class:`FadingSplitVectorEnv` steps ``num_envs`` environments as numpy arrays in one call (no Python loop
over environments): the exogenous process advances with :meth:`ExogenousProcess.step
<splitgym.envs.fading.process.ExogenousProcess.step>` and requests are evaluated with the same
:meth:`FadingWorld.evaluate <splitgym.envs.fading.world.FadingWorld.evaluate>` as the single environment,
so both agree in distribution (tested). It follows Gymnasium 1.x's vector API as ``SyncVectorEnv`` over
single environments does:

* ``autoreset_mode`` (attribute and ``metadata["autoreset_mode"]``): ``NEXT_STEP`` (default; the step
  after an episode ends resets that environment, ignores its action and returns its first observation
  with reward 0) or ``SAME_STEP`` (the ending step returns the first observation of the next episode;
  the last one and its info are in ``info["final_obs"]`` and ``info["final_info"]``);
* ``reset(seed=int | list)``: one generator drives every environment (the batch is simulated as arrays),
  seeded from the int or from the whole list (``numpy.random.SeedSequence``); the same seed or list
  reproduces a run;
* ``infos``: the single environment's keys (:data:`~splitgym.envs.fading.info.INFO_KEYS`, ``step`` and
  ``action_mask``), each with its ``_key`` mask and the dtype ``SyncVectorEnv`` gives it (float64, int64
  or bool); keys of a step are masked ``False`` (and zero) for environments that were reset in it;
* actions: an integer array of shape ``(num_envs,)`` with values in ``0..L``; anything else raises
  :class:`~splitgym.envs.checks.InvalidAction` (``gymnasium.error.InvalidAction`` and our ConfigError);
* ``observation_mode="dict"``: observations ``{"observation", "action_mask"}``
  (:mod:`splitgym.envs.wrappers`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from splitgym.envs.checks import InvalidAction
from splitgym.envs.fading.config import DEFAULT_SCENARIO, scenario_config
from splitgym.envs.fading.info import INFO_KEYS, WEIGHT_KEYS
from splitgym.envs.fading.process import ProcessState, Sample
from splitgym.envs.fading.world import world_for
from splitgym.envs.wrappers import check_observation_mode, dict_space, with_mask
from splitgym.errors import ConfigError

# The dtype SyncVectorEnv gives each info key from the single env's Python values (float, int or bool).
_INT_KEYS = ("split", "requested_split")
_BOOL_KEYS = ("outage", "invalid")
_DTYPES = {k: np.int64 if k in _INT_KEYS else np.bool_ if k in _BOOL_KEYS else np.float64 for k in INFO_KEYS}
AUTORESET_MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)

__all__ = ["FadingSplitVectorEnv"]


def _autoreset_mode(mode: object) -> AutoresetMode:
    """``mode`` (an :class:`AutoresetMode` or its value) if this env supports it; a ConfigError otherwise."""
    allowed = [m.value for m in AUTORESET_MODES]
    try:
        parsed = AutoresetMode(mode)
    except ValueError:
        parsed = None
    if parsed not in AUTORESET_MODES:
        raise ConfigError(f"autoreset_mode must be one of {allowed}, got {mode!r}")
    assert parsed is not None
    return parsed


class FadingSplitVectorEnv(VectorEnv[Any, NDArray[np.int64], NDArray[Any]]):
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
        observation_mode: str = "box",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **overrides: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ConfigError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        if render_mode not in (None, "ansi"):
            raise ConfigError(f"render_mode must be None or 'ansi' for the vector env, got {render_mode!r}")
        self.observation_mode = check_observation_mode(observation_mode)
        self.autoreset_mode = _autoreset_mode(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        overrides.pop("max_episode_steps", None)  # registered envs limit episodes themselves (max_steps)
        self.config = scenario_config(scenario, **overrides)
        self.scenario = scenario
        self.world = world_for(self.config)
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.num_layers = self.world.num_layers
        self.single_action_space = spaces.Discrete(self.num_layers + 1)
        box = spaces.Box(0.0, 1.0, shape=(self.world.obs_dim,), dtype=np.float32)
        self._dict = self.observation_mode == "dict"
        self.single_observation_space: spaces.Space[Any] = (
            dict_space(box, self.num_layers + 1) if self._dict else box
        )
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
        if isinstance(seed, (list, tuple)):
            self._seed_list(list(seed))
        else:
            super().reset(seed=seed)
        self._state, self._sample = self.world.process.init(self.np_random, self.num_envs)
        self._history = np.repeat(self._sample.snr_est_db[:, None], self.config.snr_history, axis=1)
        self._prev[:] = 0
        self._steps[:] = 0
        self._autoreset[:] = False
        obs = self.world.observe(self._sample, self._history, self._prev)
        masks = self.action_masks()
        return self._package(obs, masks), self._reset_info(masks)

    def _seed_list(self, seeds: list[Any]) -> None:
        """Seed the one generator from a list of per-environment seeds (``None`` entries draw entropy)."""
        if len(seeds) != self.num_envs:
            raise ConfigError(
                f"seed must be an int or a list of {self.num_envs} seeds, got {len(seeds)} seeds"
            )
        for s in seeds:
            if s is not None and (isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0):
                raise ConfigError(f"seed list entries must be integers >= 0 or None, got {s!r}")
        if all(s is None for s in seeds):
            super().reset(seed=None)
            return
        entropy = [int(s) if s is not None else int(np.random.SeedSequence().entropy) for s in seeds]  # type: ignore[arg-type]
        self._np_random = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
        self._np_random_seed = -1  # seeded from a list, not one int

    def _package(self, obs: NDArray[np.float32], masks: NDArray[np.bool_]) -> Any:
        return with_mask(obs, masks) if self._dict else obs

    def _reset_info(self, masks: NDArray[np.bool_]) -> dict[str, Any]:
        """The single env's reset info (``action_mask``, ``step`` 0), batched with its masks."""
        n = self.num_envs
        return {
            "action_mask": masks, "_action_mask": np.ones(n, dtype=bool),
            "step": np.zeros(n, dtype=np.int64), "_step": np.ones(n, dtype=bool),
        }  # fmt: skip

    def step(
        self, actions: NDArray[np.int64]
    ) -> tuple[Any, NDArray[Any], NDArray[Any], NDArray[Any], dict[str, Any]]:
        if self._state is None or self._sample is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        acts = self._check_actions(actions)
        w, s = self.world, self._sample
        live = ~self._autoreset
        rows = w.row(s.prompt)
        executed, invalid = w.execute(rows, acts)
        out = w.evaluate(rows, s.snr_db, s.device_load, s.edge_load, executed, invalid)
        reward = np.where(live, out.reward, 0.0)
        self._steps = np.where(live, self._steps + 1, 0)
        truncated = live & (self._steps >= self.config.max_steps)
        terminated = np.zeros(self.num_envs, dtype=bool)
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
        done = terminated | truncated
        same_step = self.autoreset_mode == AutoresetMode.SAME_STEP
        # SyncVectorEnv's layout: in SAME_STEP an ended env's step info is in final_info only.
        infos = self._step_info(values, live & ~done if same_step else live)
        # Advance every environment, then start afresh those that were waiting for their reset
        # (NEXT_STEP) or that ended in this step (SAME_STEP).
        old_est = s.snr_est_db
        new = w.process.step(self._state, self.np_random)
        hist = (
            np.concatenate([old_est[:, None], self._history[:, :-1]], axis=1)
            if self.config.snr_history
            else self._history
        )
        self._prev = np.where(live, executed, 0)
        restart = done if same_step else ~live
        if same_step and done.any():
            final = w.observe(new, hist, self._prev)
            final_masks = np.asarray(w.feasible[w.row(new.prompt)])
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(done):
                final_obs[i] = self._package(final[i], final_masks[i])
            final_info = self._step_info(values, done)
            final_info["action_mask"] = np.where(done[:, None], final_masks, False)
            final_info["_action_mask"] = done.copy()
            final_info["step"], final_info["_step"] = np.where(done, self._steps, 0), done.copy()
            infos.update(final_obs=final_obs, _final_obs=done.copy(), final_info=final_info,
                         _final_info=done.copy())  # fmt: skip
        if restart.any():
            idx = np.flatnonzero(restart)
            fresh_state, fresh = w.process.init(self.np_random, idx.size)
            for name in vars(self._state):
                getattr(self._state, name)[idx] = getattr(fresh_state, name)
            for name in vars(new):
                getattr(new, name)[idx] = getattr(fresh, name)
            hist[idx] = fresh.snr_est_db[:, None]
            self._prev[idx] = 0
        if same_step:
            self._steps = np.where(done, 0, self._steps)
        self._sample, self._history = new, hist
        self._autoreset = np.zeros(self.num_envs, dtype=bool) if same_step else done
        obs = w.observe(new, hist, self._prev)
        masks = self.action_masks()
        infos["step"], infos["_step"] = self._steps.copy(), np.ones(self.num_envs, dtype=bool)
        infos["action_mask"], infos["_action_mask"] = masks, np.ones(self.num_envs, dtype=bool)
        return self._package(obs, masks), reward, terminated, truncated, infos

    def _check_actions(self, actions: Any) -> NDArray[np.int64]:
        """``actions`` as int64 after checking shape ``(num_envs,)``, an integer dtype and the range."""
        acts = np.asarray(actions)
        L, n = self.num_layers, self.num_envs
        if acts.shape != (n,) or acts.dtype.kind not in "iu":
            raise InvalidAction(
                f"actions must be an integer array of shape ({n},) with splits in 0..{L}, got shape "
                f"{acts.shape} and dtype {acts.dtype}"
            )
        if n and (acts.min() < 0 or acts.max() > L):
            bad = acts[(acts < 0) | (acts > L)]
            raise InvalidAction(f"actions must be splits in 0..{L}, got {bad.tolist()[:8]}")
        return acts.astype(np.int64, copy=False)

    def _step_info(self, values: dict[str, Any], live: NDArray[np.bool_]) -> dict[str, Any]:
        """The step's info arrays (SyncVectorEnv's dtypes) with their masks; zero where not ``live``, and
        absent when no environment stepped (all were resetting), as in ``SyncVectorEnv``."""
        infos: dict[str, Any] = {}
        if not live.any():
            return infos
        every = bool(live.all())
        for key in INFO_KEYS:
            value: NDArray[Any] = np.asarray(values[key], dtype=_DTYPES[key])
            infos[key] = value if every else np.where(live, value, np.zeros((), dtype=value.dtype))
            infos["_" + key] = live.copy()
        return infos

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
