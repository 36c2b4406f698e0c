"""A natively batched vector environment for the v1 split world (``gym.make_vec``'s vector entry point).

:class:`FadingSplitV1VectorEnv` steps ``num_envs`` environments as numpy arrays in one call: the request
process advances with :meth:`RequestProcess.step <splitgym.envs.split.channel.RequestProcess.step>` and
requests are evaluated with the same :meth:`SplitWorld.evaluate
<splitgym.envs.split.world.SplitWorld.evaluate>` as the single environment (only at the executed split),
so both agree in distribution (tested). ``infos`` holds the single env's step keys
(:data:`~splitgym.envs.split.env.STEP_INFO_KEYS`, plus the state's) as arrays with ``_key`` masks, as
``SyncVectorEnv`` over single envs gives them. Autoreset follows Gymnasium: ``autoreset_mode=NEXT_STEP``
(default; the step after an episode's end resets that env, its action ignored, reward 0, masks ``False``) or
``SAME_STEP`` (the env resets in the step that ends its episode; ``infos["final_obs"]`` and
``infos["final_info"]`` hold what it ended with, the returned observation is the new episode's) or
``DISABLED`` (the caller resets ended envs with ``reset(options={"reset_mask": mask})``; TorchRL's choice).
``reset`` takes an int, None or a list of ``num_envs`` seeds; the lanes share one generator, so a list seeds
it as a whole (:func:`numpy.random.SeedSequence` of the list): reproducible, but lane ``i`` is not the single
env reset with ``seed[i]``.

With sequential state (``state=(...)``) the lanes' components live in
:class:`~splitgym.envs.split.vector_state.VectorSessionState` (the single env's
:class:`~splitgym.envs.split.state.SessionState` as arrays): each step executes the nearest split the state's
memory mask allows, adds the state's delay, energy and device compute stretch to the evaluation, commits the
executed requests, ends depleted batteries (``terminated``) and exhausted arrival traces (``truncated``),
appends the state's features to the observation and reports its terms in ``infos`` (``wait_s``,
``promotion_s``, ``kv_bytes``, ``clock_scale``, ``battery_soc``, ...), as the single env does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from splitgym.envs.checks import discrete_actions
from splitgym.envs.split.channel import LargeScale, Request
from splitgym.envs.split.config import DEFAULT_SCENARIO, scenario_config
from splitgym.envs.split.env import STEP_INFO_KEYS, WEIGHT_KEYS
from splitgym.envs.split.observation import initial_cqi, observe, tail_columns
from splitgym.envs.split.state import physics_config
from splitgym.envs.split.vector_state import (
    STATE_INFO_KEYS,
    VectorSessionState,
)
from splitgym.envs.split.world import world_for
from splitgym.errors import ConfigError
from splitgym.profiles.quality import QualityModel

__all__ = ["INFO_KEYS", "FadingSplitV1VectorEnv"]

INFO_KEYS = STEP_INFO_KEYS  # the single env's, in its order


class FadingSplitV1VectorEnv(VectorEnv[NDArray[np.float32], NDArray[np.int64], NDArray[Any]]):
    """``num_envs`` v1 split environments of one scenario, stepped as arrays."""

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012

    def __init__(self, num_envs: int = 1, scenario: str = DEFAULT_SCENARIO, render_mode: str | None = None,
                 quality_model: QualityModel | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 **overrides: Any) -> None:  # fmt: skip
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ConfigError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        modes = {
            m.value: m for m in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED)
        }
        mode = autoreset_mode.value if isinstance(autoreset_mode, AutoresetMode) else autoreset_mode
        if mode not in modes:
            raise ConfigError(
                f"autoreset_mode must be one of {list(modes)} (or AutoresetMode), got {autoreset_mode!r}"
            )
        self.autoreset_mode = modes[mode]
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        if render_mode is not None:
            raise ConfigError(f"render_mode must be None for the vector env, got {render_mode!r}")
        overrides.pop("max_episode_steps", None)
        self.config = scenario_config(scenario, **overrides)
        self.scenario = scenario
        self.world = world_for(physics_config(self.config))
        if quality_model is not None:  # e.g. a reward surrogate (agents/model_based.py)
            self.world = self.world.with_quality(quality_model)
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.quality_source = self.world.quality.source  # constants: attributes, as the single env's
        self.reward_weights = {k: float(getattr(self.config, k)) for k in WEIGHT_KEYS}
        self.num_layers = self.world.num_layers
        self.single_action_space = spaces.Discrete(self.num_layers + 1)
        self.session = VectorSessionState(self.config, self.world, num_envs) if self.config.state else None
        obs_dim = self.world.obs_dim + (self.session.obs_dim if self.session is not None else 0)
        self.single_observation_space = spaces.Box(0.0, 1.0, shape=(obs_dim,), dtype=np.float32)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self._state: LargeScale | None = None
        self._req: Request | None = None
        self._tail = np.zeros((num_envs, self.config.cqi_history + 2))
        self._prev = np.zeros(num_envs, dtype=np.int64)
        self._steps = np.zeros(num_envs, dtype=np.int64)
        self._autoreset = np.zeros(num_envs, dtype=bool)
        self._mask = np.zeros((num_envs, self.num_layers + 1), dtype=bool)

    def _fresh_tail(self, req: Request) -> NDArray[np.float64]:
        n = req.snr_db.shape[0]
        return tail_columns(self.config, initial_cqi(self.config, req.snr_est_db), np.zeros(n), np.zeros(n))

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        if isinstance(seed, list):
            if len(seed) != self.num_envs or not all(
                x is None or (isinstance(x, int | np.integer) and not isinstance(x, bool) and x >= 0)
                for x in seed
            ):
                raise ConfigError(
                    f"seed: a list needs {self.num_envs} entries (one per env), each an int >= 0 or None, "
                    f"got {seed!r}"
                )
            known = [int(x) for x in seed if x is not None]
            seed = (
                int(np.random.SeedSequence(known).generate_state(1)[0]) if len(known) == len(seed) else None
            )
        mask = (options or {}).get("reset_mask")
        if mask is not None:
            return self._reset_masked(mask, seed)
        super().reset(seed=seed)
        self._state, self._req = self.world.process.init(self.np_random, self.num_envs)
        self._tail = self._fresh_tail(self._req)
        self._prev[:] = 0
        self._steps[:] = 0
        self._autoreset[:] = False
        w = self.world
        obs = observe(self.config, self._req, self._tail, self._prev, w.num_layers, w.prompts)
        if self.session is not None:
            self.session.reset(self.np_random)
            obs = np.concatenate([obs, self.session.observe()], axis=1)
            self._mask = self.session.mask(self._req.prompt_level)
        return obs, self._reset_info(np.ones(self.num_envs, dtype=bool))

    def _reset_masked(self, mask: Any, seed: int | None) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """``reset(options={"reset_mask": mask})`` (``DISABLED`` autoreset, as ``SyncVectorEnv``): new
        episodes in the envs ``mask`` selects, the others untouched; every env's observation, the reset
        info of the selected ones. A seed reseeds the batch's one generator first."""
        if (
            not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (self.num_envs,)
            or not mask.any()
        ):  # fmt: skip
            raise ConfigError(
                f"options['reset_mask'] must be a numpy bool array of shape ({self.num_envs},) with a True "
                f"entry, got {mask!r}"
            )
        if self._req is None or self._state is None:
            raise ConfigError("options['reset_mask'] needs a full reset() first")
        if seed is not None:
            super().reset(seed=seed)
        obs = self._fresh_lanes(np.flatnonzero(mask))
        return obs, self._reset_info(mask.copy())

    def _fresh_lanes(self, idx: NDArray[np.int64]) -> NDArray[np.float32]:
        """New episodes in envs ``idx`` (their request process, tail, previous split, step count and state);
        every env's current observation."""
        assert self._req is not None and self._state is not None
        fresh_state, fresh = self.world.process.init(self.np_random, idx.size)
        for name in vars(self._state):
            getattr(self._state, name)[idx] = getattr(fresh_state, name)
        for name in vars(self._req):
            getattr(self._req, name)[idx] = getattr(fresh, name)
        self._tail[idx] = self._fresh_tail(fresh)
        self._prev[idx] = 0
        self._steps[idx] = 0
        self._autoreset[idx] = False
        w = self.world
        obs = observe(self.config, self._req, self._tail, self._prev, w.num_layers, w.prompts)
        if self.session is not None:
            self.session.reset(self.np_random, idx)
            obs = np.concatenate([obs, self.session.observe()], axis=1)
            self._mask = self.session.mask(self._req.prompt_level)
        return np.asarray(obs, dtype=np.float32)

    def _reset_info(self, where: NDArray[np.bool_]) -> dict[str, Any]:
        """The single env's reset info (``action_mask``) as arrays over the envs ``where`` reset."""
        return {"action_mask": self.action_masks(), "_action_mask": where.copy()}

    def step(
        self, actions: NDArray[np.int64]
    ) -> tuple[NDArray[np.float32], NDArray[Any], NDArray[Any], NDArray[Any], dict[str, Any]]:
        if self._state is None or self._req is None:
            raise RuntimeError("call reset() before step()")
        acts = discrete_actions(actions, self.num_layers + 1, self.num_envs)
        w, s = self.world, self._req
        live = ~self._autoreset
        session = self.session
        values: dict[str, Any] = {
            "snr_db": s.snr_db, "distance_m": s.distance_m, "los": s.los, "tx_power_dbm": s.tx_power_dbm,
            "prompt_tokens": w.prompts.take(s.prompt_level).astype(np.float64), "device_load": s.device_load,
            "edge_load": s.edge_load, "requested_split": acts,
        }  # fmt: skip
        if session is None:
            executed, invalid = w.execute(s.prompt_level, acts)
            out = w.evaluate(s, executed, invalid)
        else:
            out, executed, invalid = self._evaluate_state(session, s, acts, live, values)
        reward = np.where(live, out.reward, 0.0)
        self._steps = np.where(live, self._steps + 1, 0)
        truncated = live & (self._steps >= self.config.max_steps)
        terminated = np.zeros(self.num_envs, dtype=bool)
        if session is not None:
            terminated = values.pop("depleted")
            truncated = (truncated | (live & session.exhausted)) & ~terminated
        values.update(split=executed, invalid=invalid)
        infos: dict[str, Any] = {}
        for key in (*INFO_KEYS, *(STATE_INFO_KEYS if session is not None else ())):
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
            if session is not None:
                session.reset(self.np_random, idx)
        self._req, self._tail = new, tail
        done = terminated | truncated
        obs = observe(self.config, new, tail, self._prev, w.num_layers, w.prompts)
        if session is not None:
            obs = np.concatenate([obs, session.observe()], axis=1)
            self._mask = session.mask(new.prompt_level)
        infos["action_mask"], infos["_action_mask"] = self.action_masks(), np.ones(self.num_envs, dtype=bool)
        if not live.any():  # NEXT_STEP, every env reset in this step: only the reset info (action_mask)
            infos = {k: v for k, v in infos.items() if k.lstrip("_") == "action_mask"}
        if self.autoreset_mode is AutoresetMode.SAME_STEP and done.any():
            return self._same_step_reset(obs, done, infos), reward, terminated, truncated, infos
        # DISABLED: an ended env waits for reset(options={"reset_mask": ...}) (stepped before it, it goes on)
        self._autoreset = done if self.autoreset_mode is AutoresetMode.NEXT_STEP else self._autoreset
        return obs, reward, terminated, truncated, infos

    def _same_step_reset(
        self, obs: NDArray[np.float32], done: NDArray[np.bool_], infos: dict[str, Any]
    ) -> NDArray[np.float32]:
        """``SAME_STEP``: reset the envs whose episode ended now, as ``SyncVectorEnv`` does: their step info
        and observation move to ``final_info`` / ``final_obs``; ``infos`` gets their reset info; returns
        the observations with theirs replaced by the new episodes' first."""
        assert self._req is not None and self._state is not None
        idx = np.flatnonzero(done)
        keys = [k for k in infos if not k.startswith("_")]
        final_info = {k: infos[k] for k in keys} | {"_" + k: done.copy() for k in keys}
        for key in keys:
            if key != "action_mask":  # a step key: the reset envs have none (absent if every env reset)
                mask = infos["_" + key] & ~done
                if mask.any():
                    infos["_" + key] = mask
                else:
                    del infos[key], infos["_" + key]
        final_obs = np.full(self.num_envs, None, dtype=object)
        for i in idx:
            final_obs[i] = obs[i].copy()
        new_obs = self._fresh_lanes(idx)
        infos["action_mask"] = self.action_masks()  # the reset info is action_mask alone
        infos.update(
            final_obs=final_obs, _final_obs=done.copy(), final_info=final_info, _final_info=done.copy()
        )
        return new_obs

    def _evaluate_state(
        self,
        session: VectorSessionState,
        s: Request,
        acts: NDArray[np.int64],
        live: NDArray[np.bool_],
        values: dict[str, Any],
    ) -> tuple[Any, NDArray[np.int64], NDArray[np.bool_]]:
        """The current requests at the nearest splits the state allows, with the state's additions; commits
        the live lanes' requests to the state and writes its info terms (and ``depleted``) into ``values``."""
        w = self.world
        level = np.asarray(s.prompt_level)
        executed = session.execute(self._mask, level, acts)
        invalid = executed != acts
        pool = w.pool_index(s.los, s.snr_db, s.fading_r)
        inp = session.inputs(executed, level, pool, w.energy.radio.tx_w(s.tx_power_dbm))
        out = w.evaluate(s, executed, invalid, stretch=inp.stretch, extra_s=inp.extra_s, extra_j=inp.extra_j)
        service = np.where(out.outage, out.latency_s, out.latency_s - inp.wait_s)
        values.update(
            arrival_s=session.head_arrival_s, start_s=session.start_s.copy(), wait_s=inp.wait_s,
            promotion_s=inp.promotion_s, radio_gap_s=session.gap_s(), kv_bytes=inp.kv_bytes,
            kv_move_s=inp.kv_s, kv_from_split=session.kv_from_split(),
            context_tokens=session.kv.context_tokens.copy(), clock_scale=1.0 / inp.stretch,
            die_c=session.thermal.die_c.copy(), skin_c=session.thermal.skin_c.copy(),
        )  # fmt: skip
        e_soc = out.energy_j - out.energy_modem_j
        values["depleted"] = session.advance(live, executed, level, service, e_soc, out.energy_j)
        values["battery_soc"] = session.battery.soc.copy()
        return out, executed, invalid

    def action_masks(self) -> NDArray[np.bool_]:
        """Feasible splits of each environment's current request, ``(num_envs, L + 1)``."""
        assert self._req is not None
        if self.session is not None:
            return self._mask.copy()
        return np.asarray(self.world.feasible.take(self._req.prompt_level, axis=0))

    def split_rewards(self) -> NDArray[np.float64]:
        """The reward of every action in every environment's current request, ``(num_envs, L + 1)``."""
        assert self._req is not None
        s, w = self._req, self.world
        splits = np.arange(self.num_layers + 1)[None, :]
        req = Request(*(np.asarray(getattr(s, f))[:, None] for f in vars(s)))
        if self.session is None:
            executed, invalid = w.execute(s.prompt_level[:, None], splits)
            return w.evaluate(req, executed, invalid).reward
        n, m = self.num_envs, self.num_layers + 1
        requested = np.broadcast_to(splits, (n, m))
        executed = np.stack(
            [self.session.nearest(self._mask, requested[:, k].copy()) for k in range(m)], axis=1
        )
        level = np.broadcast_to(np.asarray(s.prompt_level)[:, None], (n, m))
        pool = np.broadcast_to(w.pool_index(s.los, s.snr_db, s.fading_r)[:, None], (n, m))
        tx_w = np.broadcast_to(w.energy.radio.tx_w(s.tx_power_dbm)[:, None], (n, m))
        inp = self.session.inputs(executed, level, pool, tx_w)
        out = w.evaluate(
            req,
            executed,
            executed != requested,
            stretch=inp.stretch,
            extra_s=inp.extra_s,
            extra_j=inp.extra_j,
        )
        return out.reward
