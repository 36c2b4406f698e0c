"""Natively batched Gymnasium vector environments as stable-baselines3 ``VecEnv`` s.

:class:`SB3VecEnv` wraps any Gymnasium 1.x ``VectorEnv`` (``gym.make_vec(..., vectorization_mode=
"vector_entry_point")``: splitgym's native vector envs, or ``SyncVectorEnv``) with SB3's conventions:

* ``step_async``/``step_wait``; ``done = terminated | truncated``; an environment whose episode ends is
  reset in the same call: its returned observation is the next episode's first one, and its info holds
  ``terminal_observation`` (the last one) and ``TimeLimit.truncated`` (``truncated and not terminated``);
* one info dict per environment, built from the vector env's info arrays and their ``_key`` masks (an
  entry appears for environment ``i`` where ``_key[i]`` is true; nested dicts likewise);
* ``get_attr``, ``set_attr`` and ``env_method`` act on the vector env: an attribute is the same for every
  environment, and a method whose result has one row per environment (``action_masks()``, shape
  ``(num_envs, n_actions)``) is split into its rows, so ``env_method("action_masks")`` and
  :meth:`SB3VecEnv.action_masks` serve sb3-contrib's MaskablePPO;
* ``seed(s)`` seeds the next reset: ``s`` as an int for consecutive seeds ``s, s+1, ...`` (what SB3's
  ``seed`` makes; a vector env seeds its environments ``s + i`` from it, as ``SyncVectorEnv`` does),
  otherwise the list of seeds.

Autoreset follows the vector env's ``autoreset_mode`` (``metadata["autoreset_mode"]``):

* ``SAME_STEP``: ``info["final_obs"]`` and ``info["final_info"]`` give the last observation and info;
* ``DISABLED``: the adapter resets the ended environments with ``reset(options={"reset_mask": done})``;
* ``NEXT_STEP``: the vector env resets an ended environment in the following step, ignoring its action.
  When every environment ended together (fixed-length episodes, as splitgym's), the adapter takes that
  reset step at once with the same actions, which are all ignored: exact. When only some ended, their
  first observation does not exist yet; the adapter returns the last one in its place and, in the next
  step, the reset (reward 0, info ``RESET_STEP_KEY``: true, not counted by :class:`SB3EpisodeMonitor`):
  one extra transition per episode for the agent. A warning says so once; give the env ``SAME_STEP``.

:func:`make_sb3_vec_env` builds one by ID (asking for ``SAME_STEP`` when the entry point takes an
``autoreset_mode`` argument) and :class:`SB3EpisodeMonitor` records episodes as SB3's ``Monitor`` does
(``info["episode"]``, rows ``r, l, t`` and ``info_keywords`` for per-environment writers).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from numpy.typing import NDArray
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from splitgym.errors import ConfigError

__all__ = [
    "RESET_STEP_KEY",
    "SB3EpisodeMonitor",
    "SB3VecEnv",
    "has_vector_entry_point",
    "make_sb3_vec_env",
    "split_infos",
]

RESET_STEP_KEY = "splitgym.reset_step"  # a NEXT_STEP reset the agent saw as a step (see module docstring)


def split_infos(info: Mapping[str, Any], n: int) -> list[dict[str, Any]]:
    """One dict per environment from a vector env's ``info`` (arrays of ``n`` rows with ``_key`` masks;
    a key without a mask is taken for every environment; nested dicts are split likewise)."""
    out: list[dict[str, Any]] = [{} for _ in range(n)]
    for key, value in info.items():
        if key.startswith("_") and key[1:] in info:
            continue
        mask = info.get("_" + key)
        rows = range(n) if mask is None else np.flatnonzero(mask).tolist()
        if isinstance(value, Mapping):
            nested = split_infos(value, n)
            for i in rows:
                out[i][key] = nested[i]
            continue
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype != object:
            items: Any = value.tolist()
        elif isinstance(value, (np.ndarray, list, tuple)) and len(value) == n:
            items = value
        else:
            items = [value] * n
        for i in rows:
            out[i][key] = items[i]
    return out


def _rows(obs: Any, i: int) -> Any:
    """Environment ``i``'s observation of a batched one (an array or a dict of arrays)."""
    if isinstance(obs, Mapping):
        return {k: np.array(v[i]) for k, v in obs.items()}
    return np.array(obs[i])


def _replace_rows(obs: Any, new: Any, mask: NDArray[np.bool_]) -> Any:
    """``obs`` with the rows of ``mask`` taken from ``new`` (arrays or dicts of arrays)."""
    if isinstance(obs, Mapping):
        return {k: _replace_rows(v, new[k], mask) for k, v in obs.items()}
    out = np.array(obs)
    out[mask] = np.asarray(new)[mask]
    return out


def _autoreset_mode(venv: gym.vector.VectorEnv[Any, Any, Any]) -> AutoresetMode:
    mode = getattr(venv, "autoreset_mode", None) or venv.metadata.get(
        "autoreset_mode", AutoresetMode.NEXT_STEP
    )
    return AutoresetMode(mode)


class SB3VecEnv(VecEnv):
    """A Gymnasium 1.x ``VectorEnv`` as an SB3 ``VecEnv`` (see the module docstring)."""

    def __init__(self, venv: gym.vector.VectorEnv[Any, Any, Any]) -> None:
        if not isinstance(venv, gym.vector.VectorEnv):
            raise ConfigError(f"SB3VecEnv wraps a gymnasium.vector.VectorEnv, got {type(venv).__name__}")
        self.venv = venv
        self.autoreset_mode = _autoreset_mode(venv)
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: NDArray[Any] | None = None
        self._pending = np.zeros(venv.num_envs, dtype=bool)  # NEXT_STEP resets owed (some envs ended)
        self._warned = False

    # -- reset and step ------------------------------------------------------------------------------
    def reset(self) -> VecEnvObs:
        seeds = self._seeds
        seed: int | list[int | None] | None = None
        if any(s is not None for s in seeds):
            first = seeds[0]
            consecutive = first is not None and all(s == first + i for i, s in enumerate(seeds))
            seed = int(first) if consecutive and first is not None else list(seeds)
        options = self._options[0] if any(self._options) else None
        obs, info = self.venv.reset(seed=seed, options=options)  # type: ignore[arg-type]  # lists: Gymnasium 1.x
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = split_infos(info, self.num_envs)
        self._pending[:] = False
        return self._obs(obs)

    def step_async(self, actions: NDArray[Any]) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_async() must be called before step_wait()")
        actions, self._actions = self._actions, None
        n = self.num_envs
        reset_step = self._pending.copy()
        obs, reward, terminated, truncated, info = self.venv.step(actions)
        terminated, truncated = np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool)
        done = terminated | truncated
        infos = split_infos(info, n)
        self._pending[:] = False
        if done.any():
            mode = self.autoreset_mode
            if mode == AutoresetMode.SAME_STEP:
                final_infos = split_infos(info.get("final_info", {}), n)
                for i in np.flatnonzero(done).tolist():
                    self.reset_infos[i] = infos[i]
                    infos[i] = {**final_infos[i], "terminal_observation": info["final_obs"][i]}
            elif mode == AutoresetMode.DISABLED:
                for i in np.flatnonzero(done).tolist():
                    infos[i]["terminal_observation"] = _rows(obs, i)
                new_obs, reset_info = self.venv.reset(options={"reset_mask": done})
                obs = _replace_rows(obs, new_obs, done)
                for i, r in enumerate(split_infos(reset_info, n)):
                    if done[i]:
                        self.reset_infos[i] = r
            elif done.all():  # NEXT_STEP, every env ended: the reset step now, every action ignored
                for i in range(n):
                    infos[i]["terminal_observation"] = _rows(obs, i)
                obs, _, _, _, reset_info = self.venv.step(actions)
                self.reset_infos = split_infos(reset_info, n)
            else:  # NEXT_STEP, some ended: their first observation comes with the next step
                self._warn_next_step()
                for i in np.flatnonzero(done).tolist():
                    infos[i]["terminal_observation"] = _rows(obs, i)
                self._pending = done.copy()
        for i in np.flatnonzero(done).tolist():
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        for i in np.flatnonzero(reset_step).tolist():
            infos[i][RESET_STEP_KEY] = True
        return self._obs(obs), np.asarray(reward, dtype=np.float32), done, infos

    def _warn_next_step(self) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"{type(self.venv).__name__} autoresets NEXT_STEP and only some episodes ended: each such "
                "episode costs the agent one extra step (its action ignored, reward 0); construct the "
                "vector env with autoreset_mode=SAME_STEP for exact SB3 semantics",
                stacklevel=3,
            )

    def _obs(self, obs: Any) -> VecEnvObs:
        if isinstance(obs, Mapping):
            return {k: np.asarray(v) for k, v in obs.items()}
        return np.asarray(obs)

    # -- masks, attributes and methods -------------------------------------------------------------
    def action_masks(self) -> NDArray[np.bool_]:
        """Feasible actions of every environment, shape ``(num_envs, n_actions)`` (for MaskablePPO)."""
        return np.stack([np.asarray(m, dtype=bool) for m in self.env_method("action_masks")])

    def _find(self, name: str) -> Any:
        """Attribute ``name`` of the vector env or of a vector wrapper around it (outermost first)."""
        env: Any = self.venv
        while env is not None:
            try:
                return getattr(env, name)
            except AttributeError:
                env = getattr(env, "env", None)
        raise AttributeError(f"{type(self.venv).__name__} has no attribute {name!r}")

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The vector env's attribute for each environment of ``indices``; for a vector env of single
        envs (``SyncVectorEnv``) without it, each single env's (``get_attr``)."""
        rows = list(self._get_indices(indices))
        try:
            value = self._find(attr_name)
        except AttributeError:
            per_env = getattr(self.venv.unwrapped, "get_attr", None)
            if per_env is None:
                raise
            values = per_env(attr_name)
            return [values[i] for i in rows]
        return [value for _ in rows]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        if list(self._get_indices(indices)) != list(range(self.num_envs)):
            raise ConfigError("set_attr on a natively batched env sets the attribute of every environment")
        target = self.venv.unwrapped
        if not hasattr(target, attr_name) and hasattr(target, "set_attr"):
            target.set_attr(attr_name, value)
        else:
            setattr(target, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """``method_name`` called once on the vector env; a result with one row per environment is split
        into its rows (``indices`` picks them), any other result is given to every environment. For a
        vector env of single envs without the method, each single env's (``call``)."""
        rows = list(self._get_indices(indices))
        try:
            method = self._find(method_name)
        except AttributeError:
            call = getattr(self.venv.unwrapped, "call", None)
            if call is None:
                raise
            results = call(method_name, *method_args, **method_kwargs)
            return [results[i] for i in rows]
        result = method(*method_args, **method_kwargs)
        if isinstance(result, (np.ndarray, list, tuple)) and len(result) == self.num_envs:
            return [result[i] for i in rows]
        return [result for _ in rows]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper[Any, Any, Any, Any]], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        seeds = super().seed(seed)
        if seeds and seeds[0] is not None:
            self.action_space.seed(int(seeds[0]))
        return seeds

    def get_images(self) -> Sequence[np.ndarray[Any, Any] | None]:
        return [None for _ in range(self.num_envs)]

    def close(self) -> None:
        self.venv.close()


class _RowWriter(Protocol):
    def write_row(self, epinfo: dict[str, Any]) -> None: ...


class SB3EpisodeMonitor(VecMonitor):
    """Episode records of every environment, as SB3's ``Monitor`` makes them: at an episode's end
    ``info["episode"] = {"r": return, "l": length, "t": seconds since start}`` (rounded to 6 digits) plus
    the ``info_keywords`` of that last info, and the same row written to ``writers[i]`` (one per
    environment, anything with ``write_row(dict)``; ``None`` for no file; a ``VecMonitor`` to SB3, which
    writes one file for all). Steps marked
    :data:`RESET_STEP_KEY` are not counted."""

    def __init__(
        self,
        venv: VecEnv,
        writers: Sequence[_RowWriter | None] | None = None,
        info_keywords: Sequence[str] = (),
    ) -> None:
        VecEnvWrapper.__init__(self, venv)  # SB3 treats it as its VecMonitor (evaluate_policy, logging)
        n = venv.num_envs
        self.writers = list(writers) if writers is not None else [None] * n
        if len(self.writers) != n:
            raise ConfigError(
                f"SB3EpisodeMonitor needs one writer per environment ({n}), got {len(self.writers)}"
            )
        self.info_keywords = tuple(info_keywords)
        self.t_start = time.time()
        self.returns = np.zeros(n)
        self.lengths = np.zeros(n, dtype=np.int64)

    def reset(self) -> VecEnvObs:
        obs = self.venv.reset()
        self.returns[:] = 0.0
        self.lengths[:] = 0
        return obs

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        counted = np.array([not info.get(RESET_STEP_KEY, False) for info in infos])
        self.returns += np.where(counted, rewards, 0.0)
        self.lengths += counted
        for i in np.flatnonzero(dones).tolist():
            info = infos[i]
            episode: dict[str, Any] = {
                "r": round(float(self.returns[i]), 6),
                "l": int(self.lengths[i]),
                "t": round(time.time() - self.t_start, 6),
            }
            for key in self.info_keywords:  # the batched env reports the single env's keys (tested)
                if key not in info:
                    raise ConfigError(
                        f"info_keywords: {key!r} is not in the episode's last info (keys: {sorted(info)})"
                    )
                episode[key] = info[key]
            info["episode"] = episode
            writer = self.writers[i]
            if writer is not None:
                writer.write_row(episode)
            self.returns[i] = 0.0
            self.lengths[i] = 0
        return obs, rewards, dones, infos

    def close(self) -> None:
        self.venv.close()


def has_vector_entry_point(env_id: str) -> bool:
    """Whether ``env_id`` (registered) has a natively batched ``vector_entry_point``."""
    return gym.spec(env_id).vector_entry_point is not None


def make_sb3_vec_env(
    env_id: str,
    n_envs: int,
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> SB3VecEnv:
    """``gym.make_vec(env_id, n_envs, vectorization_mode="vector_entry_point", **env_kwargs)`` as an SB3
    ``VecEnv``, seeded ``seed``. The native env's default ``NEXT_STEP`` autoreset is kept unless
    ``env_kwargs`` names ``autoreset_mode``: the committed PPO results were trained so (one ignored reset
    step per episode, not counted by the episode monitor); ``autoreset_mode="SameStep"`` gives SB3's exact
    semantics."""
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise ConfigError(f"n_envs must be an integer >= 1, got {n_envs!r}")
    spec = gym.spec(env_id)
    if spec.vector_entry_point is None:
        raise ConfigError(
            f"{env_id} has no vector_entry_point (no natively batched env); use SB3's make_vec_env instead"
        )
    kwargs = dict(env_kwargs or {})
    vec = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", **kwargs)
    out = SB3VecEnv(vec)
    if seed is not None:
        out.seed(seed)
    return out
