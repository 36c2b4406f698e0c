"""``splitgym.envs.multi.parallel_env``: N devices in one cell, one agent each (PettingZoo ``ParallelEnv``).

A step is one request per device (:meth:`CellWorld.run_round <splitgym.envs.multi.cell.CellWorld.run_round>`):
every agent picks its split ``k`` in ``0..L``, the cell runs all requests together over the shared uplink
and edge GPU, and each agent gets its own reward (the single-user reward's terms). What an agent observes
is what its device knows (:data:`OBS_FEATURES`): its large-scale SNR estimate, its next prompt length and
compute load, and what it measured on its previous request (split, TTFT, TBT P99, uplink delay, outage);
never the other devices' state. The observation is a dict with ``"observation"`` and ``"action_mask"``
(the splits its memory allows at the next prompt length). An infeasible split runs the nearest feasible
one and costs ``w_invalid``, as in the single-user env. Episodes end by truncation after ``max_steps``.

Between steps each device moves and its large-scale channel evolves by the single-user request process
(:class:`~splitgym.envs.split.channel.RequestProcess`). All randomness comes from ``self.np_random``.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from gymnasium import spaces
from gymnasium.utils import seeding
from numpy.typing import NDArray
from pettingzoo import ParallelEnv

from splitgym.envs.checks import discrete_action
from splitgym.envs.multi.cell import CellWorld, RoundOutcome
from splitgym.envs.multi.config import CellConfig, cell_config
from splitgym.envs.split.channel import LargeScale, Request

__all__ = [
    "INFO_KEYS",
    "OBS_FEATURES",
    "SharedCellBoxEnv",
    "SharedCellParallelEnv",
    "box_parallel_env",
    "parallel_env",
]

OBS_FEATURES = (
    "snr_est_db / 40", "prompt_tokens / max prompt", "device_load", "previous split / L",
    "previous TTFT / TTFT deadline", "previous TBT P99 / TBT deadline",
    "previous uplink delay / TBT deadline", "previous outage",
)  # fmt: skip
INFO_KEYS = (
    "split", "requested_split", "invalid", "reward_quality", "ttft_s", "tbt_s", "tbt_p99_s", "latency_s",
    "energy_j", "uplink_delay_s", "admission_wait_s", "prb_slots", "outage", "slo_ok", "r_quality",
    "r_latency", "r_energy", "r_load", "r_invalid", "server_iteration_s", "server_busy_s",
)  # fmt: skip
OBS_LOW, OBS_HIGH = -5.0, 50.0


class SharedCellParallelEnv(ParallelEnv[str, dict[str, NDArray[Any]], int]):  # type: ignore[misc]
    """The shared cell as a PettingZoo parallel environment (see the module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "splitgym_shared_cell_v1",
        "render_modes": [],
        "is_parallelizable": True,
    }

    def __init__(self, config: CellConfig | None = None, **overrides: Any) -> None:
        if config is not None and overrides:
            config = cell_config(**{**vars(config), **overrides})
        self.config = config if config is not None else cell_config(**overrides)
        self.cell = CellWorld(self.config)
        L = self.num_layers = self.cell.num_layers
        self.possible_agents = [f"device_{i}" for i in range(self.config.n_users)]
        self.agents: list[str] = []
        box = spaces.Box(OBS_LOW, OBS_HIGH, (len(OBS_FEATURES),), np.float32)
        self._obs_space = spaces.Dict({"observation": box, "action_mask": spaces.MultiBinary(L + 1)})
        self._act_space = spaces.Discrete(L + 1)
        self.observation_spaces = {a: self._obs_space for a in self.possible_agents}
        self.action_spaces = {a: self._act_space for a in self.possible_agents}
        self.np_random, _ = seeding.np_random()
        self.render_mode: str | None = None
        self._state: LargeScale | None = None
        self._req: Request | None = None
        self._prev = np.zeros((self.config.n_users, 5))
        self._t = 0
        self.last_outcome: RoundOutcome | None = None
        self._history: list[RoundOutcome] = []

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        return self.action_spaces[agent]

    # -- observations -----------------------------------------------------------------------------------
    def _observe(self) -> dict[str, dict[str, NDArray[Any]]]:
        assert self._req is not None
        w = self.cell.world
        level = np.asarray(self._req.prompt_level)
        feats = np.column_stack(
            [
                np.asarray(self._req.snr_est_db) / 40.0,
                w.prompts[level] / float(w.prompts.max()),
                np.asarray(self._req.device_load),
                self._prev,
            ]
        )
        feats = np.clip(feats, OBS_LOW, OBS_HIGH).astype(np.float32)
        masks = w.feasible[level].astype(np.int8)
        return {
            a: {"observation": feats[i], "action_mask": masks[i]} for i, a in enumerate(self.possible_agents)
        }

    def observations(self) -> dict[str, dict[str, NDArray[Any]]]:
        """Every device's current observation (what :meth:`reset` and :meth:`step` returned last)."""
        return self._observe()

    def action_masks(self) -> dict[str, NDArray[np.bool_]]:
        """Each agent's feasible splits for its next request."""
        assert self._req is not None
        masks = self.cell.world.feasible[np.asarray(self._req.prompt_level)]
        return {a: masks[i].copy() for i, a in enumerate(self.possible_agents)}

    # -- API --------------------------------------------------------------------------------------------
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, dict[str, NDArray[Any]]], dict[str, dict[str, Any]]]:
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
        self.agents = list(self.possible_agents)
        self._state, self._req = self.cell.world.process.init(self.np_random, self.config.n_users)
        self._prev = np.zeros((self.config.n_users, 5))
        self._t = 0
        self._scheduler = self.cell.new_scheduler()
        self._olla = self.cell.new_olla()
        self.last_outcome = None
        self._history = []
        return self._observe(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[
        dict[str, dict[str, NDArray[Any]]],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:  # fmt: skip
        if not self.agents:
            raise RuntimeError("step() after the episode ended: call reset() first")
        if not isinstance(actions, dict) or set(actions) != set(self.agents):
            got = sorted(actions) if isinstance(actions, dict) else type(actions).__name__
            raise ValueError(f"actions must be a dict with one action per agent {self.agents}, got {got}")
        n_act = self.num_layers + 1
        requested = np.array([discrete_action(actions[a], n_act, f"actions[{a!r}]") for a in self.agents])
        assert self._req is not None and self._state is not None
        w = self.cell.world
        level = np.asarray(self._req.prompt_level)
        executed = w.fallback[level, requested]
        invalid = executed != requested
        out = self.cell.run_round(self.np_random, self._req, executed, invalid, self._scheduler, self._olla)
        self.last_outcome = out
        self._history.append(out)
        self._t += 1
        c = self.cell.split
        self._prev = np.column_stack(
            [
                executed / self.num_layers,
                out.ttft_s / c.ttft_deadline_s,
                out.tbt_p99_s / c.tbt_deadline_s,
                out.uplink_delay_s / c.tbt_deadline_s,
                out.outage.astype(np.float64),
            ]
        )
        infos = {a: self._info(out, i, int(requested[i])) for i, a in enumerate(self.agents)}
        rewards = {a: float(out.reward[i]) for i, a in enumerate(self.agents)}
        self._req = w.process.step(self._state, self.np_random)
        obs = self._observe()
        done = self._t >= self.config.max_steps
        terminations = {a: False for a in self.agents}
        truncations = {a: done for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def peek(self, actions: dict[str, int]) -> RoundOutcome:
        """The outcome ``actions`` would have on this step, without taking it: the step's draws from a copy
        of the generator and the scheduler (the same draws :meth:`step` would use). For planners with the
        true model, such as the centralised baseline."""
        assert self._req is not None
        requested = np.array([int(actions[a]) for a in self.possible_agents])
        level = np.asarray(self._req.prompt_level)
        executed = self.cell.world.fallback[level, requested]
        rng, sch = copy.deepcopy(self.np_random), copy.deepcopy(self._scheduler)
        olla = copy.deepcopy(self._olla)
        return self.cell.run_round(rng, self._req, executed, executed != requested, sch, olla)

    @property
    def request(self) -> Request:
        """Every device's current request (its large-scale channel, prompt level and load)."""
        assert self._req is not None
        return self._req

    def _info(self, out: RoundOutcome, i: int, requested: int) -> dict[str, Any]:
        return {
            "split": int(out.split[i]), "requested_split": requested, "invalid": bool(out.r_invalid[i] < 0),
            "reward_quality": float(out.quality_score[i]), "ttft_s": float(out.ttft_s[i]),
            "tbt_s": float(out.tbt_s[i]), "tbt_p99_s": float(out.tbt_p99_s[i]),
            "latency_s": float(out.latency_s[i]), "energy_j": float(out.energy_j[i]),
            "uplink_delay_s": float(out.uplink_delay_s[i]),
            "admission_wait_s": float(out.admission_wait_s[i]), "prb_slots": float(out.prb_slots[i]),
            "outage": bool(out.outage[i]), "slo_ok": bool(out.slo_ok[i]),
            "r_quality": float(out.r_quality[i]), "r_latency": float(out.r_latency[i]),
            "r_energy": float(out.r_energy[i]), "r_load": float(out.r_load[i]),
            "r_invalid": float(out.r_invalid[i]), "server_iteration_s": out.mean_iteration_s,
            "server_busy_s": out.server_busy_s,
        }  # fmt: skip

    def slo_report(self) -> pd.DataFrame:
        """The episode so far against the SLOs, a row per device and one for the cell: requests, TTFT P90
        (s, over the device's requests), TBT P99 (s, over every gap between its tokens), the share of
        requests that met both per-request SLOs and the outage share. An outage counts as a TTFT and a gap
        of ``horizon_s``."""
        cfg, c = self.config, self.cell.split
        rows = []
        per_user: list[tuple[list[float], list[float], list[bool], list[bool]]] = [
            ([], [], [], []) for _ in self.possible_agents
        ]
        for out in self._history:
            for i, (ttft, gaps, ok, lost) in enumerate(per_user):
                ttft.append(float(out.ttft_s[i]))
                gaps.extend(out.gaps_s[i].tolist() if not out.outage[i] else [c.horizon_s])
                ok.append(bool(out.slo_ok[i]))
                lost.append(bool(out.outage[i]))
        for name, (ttft, gaps, ok, lost) in zip([*self.possible_agents], per_user, strict=True):
            rows.append(_slo_row(name, ttft, gaps, ok, lost))
        rows.append(
            _slo_row(
                "cell",
                [x for u in per_user for x in u[0]],
                [x for u in per_user for x in u[1]],
                [x for u in per_user for x in u[2]],
                [x for u in per_user for x in u[3]],
            )
        )
        frame = pd.DataFrame(rows)
        frame["ttft_p90_ok"] = frame["ttft_p90_s"] <= cfg.ttft_slo_s
        frame["tbt_p99_ok"] = frame["tbt_p99_s"] <= cfg.tbt_slo_s
        return frame

    def render(self) -> None:
        return None

    def close(self) -> None:
        return None

    def state(self) -> NDArray[np.float32]:
        """The global state (every device's observation, stacked): for centralised critics."""
        obs = self._observe()
        return np.concatenate([obs[a]["observation"] for a in self.possible_agents])


def _slo_row(
    name: str, ttft: list[float], gaps: list[float], ok: list[bool], lost: list[bool]
) -> dict[str, Any]:
    return {
        "device": name,
        "requests": len(ttft),
        "ttft_p90_s": float(np.percentile(ttft, 90)) if ttft else float("nan"),
        "tbt_p99_s": float(np.percentile(gaps, 99)) if gaps else 0.0,
        "attainment": float(np.mean(ok)) if ok else float("nan"),
        "outage": float(np.mean(lost)) if lost else float("nan"),
    }


def parallel_env(**kwargs: Any) -> SharedCellParallelEnv:
    """The shared cell with :class:`~splitgym.envs.multi.config.CellConfig` fields as keywords
    (``n_users``, ``scheduler``, ``scenario``, ``user={...}`` SplitConfig overrides, ...)."""
    return SharedCellParallelEnv(**kwargs)


class SharedCellBoxEnv(ParallelEnv[str, NDArray[np.float32], int]):  # type: ignore[misc]
    """The shared cell with each agent's observation the feature vector alone (``Box``), its feasible
    splits in ``infos[agent]["action_mask"]``: for libraries whose default models take no dict
    observation (RLlib's PPO without an action-masking module). Same dynamics and draws."""

    metadata: ClassVar[dict[str, Any]] = {
        **SharedCellParallelEnv.metadata,
        "name": "splitgym_shared_cell_box_v1",
    }

    def __init__(self, **kwargs: Any) -> None:
        self.cell_env = SharedCellParallelEnv(**kwargs)
        self.possible_agents = list(self.cell_env.possible_agents)
        self.agents: list[str] = []
        self.render_mode: str | None = None
        box = self.cell_env.observation_spaces[self.possible_agents[0]]["observation"]
        self.observation_spaces = {a: box for a in self.possible_agents}
        self.action_spaces = dict(self.cell_env.action_spaces)

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        return self.action_spaces[agent]

    @staticmethod
    def _split(
        obs: dict[str, dict[str, NDArray[Any]]], infos: dict[str, dict[str, Any]]
    ) -> tuple[dict[str, NDArray[np.float32]], dict[str, dict[str, Any]]]:
        boxes = {a: o["observation"] for a, o in obs.items()}
        return boxes, {
            a: dict(infos.get(a, {}), action_mask=o["action_mask"].astype(bool)) for a, o in obs.items()
        }

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[np.float32]], dict[str, dict[str, Any]]]:
        obs, infos = self.cell_env.reset(seed=seed, options=options)
        self.agents = list(self.cell_env.agents)
        return self._split(obs, infos)

    def step(self, actions: dict[str, Any]) -> tuple[
        dict[str, NDArray[np.float32]],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:  # fmt: skip
        obs, rew, term, trunc, infos = self.cell_env.step(actions)
        self.agents = list(self.cell_env.agents)
        boxes, infos = self._split(obs, infos)
        return boxes, rew, term, trunc, infos

    def render(self) -> None:
        return None

    def close(self) -> None:
        return None


def box_parallel_env(**kwargs: Any) -> SharedCellBoxEnv:
    """:func:`parallel_env` with ``Box`` observations and the action masks in ``infos``."""
    return SharedCellBoxEnv(**kwargs)
