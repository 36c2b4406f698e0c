"""Baselines of the shared cell (:mod:`splitgym.envs.multi`): a joint action for every device per step.

Registered in :data:`CELL_BASELINES` by name; each builds a policy ``policy(env) -> {agent: split}`` for a
:class:`~splitgym.envs.multi.parallel.SharedCellParallelEnv`:

* ``device``: every device runs the whole model (no shared resource used);
* ``edge``: every device at its lowest feasible split (``min_split``: the most work on the edge);
* ``random``: uniform over each device's feasible splits (the env's generator);
* ``myopic``: each device alone, on what it knows: the split with the best *expected* single-user reward
  at its own SNR estimate, prompt length and load, averaged over the fading realisations of the v1
  single-user world (:class:`~splitgym.envs.split.world.SplitWorld`, edge load at its configured mean);
  blind to the other devices (the "everyone offloads" failure when the uplink is shared);
* ``neurosurgeon``: Neurosurgeon on every device, latency objective, from its own SNR estimate;
* ``centralised``: sees every device and the true cell: starts from all on the device and, in the order
  of the devices' myopic gains, moves a device to its myopic split when the cell's summed reward of this
  step (:meth:`~splitgym.envs.multi.parallel.SharedCellParallelEnv.peek`, the step's own draws) rises:
  greedy on the shared resources' marginal cost, an upper reference that no device could run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.checks import choice
from splitgym.envs.multi.parallel import SharedCellParallelEnv
from splitgym.envs.split.channel import Request
from splitgym.envs.split.world import SplitWorld, world_for

__all__ = ["CELL_BASELINES", "CellPolicy", "make_cell_baseline"]

CellPolicy = Callable[[SharedCellParallelEnv], dict[str, int]]


def _device(env: SharedCellParallelEnv) -> CellPolicy:
    L = env.num_layers
    return lambda e: {a: L for a in e.agents}


def _edge(env: SharedCellParallelEnv) -> CellPolicy:
    def policy(e: SharedCellParallelEnv) -> dict[str, int]:
        masks = e.action_masks()
        return {a: int(np.flatnonzero(masks[a])[0]) for a in e.agents}

    return policy


def _random(env: SharedCellParallelEnv) -> CellPolicy:
    def policy(e: SharedCellParallelEnv) -> dict[str, int]:
        masks = e.action_masks()
        return {a: int(e.np_random.choice(np.flatnonzero(masks[a]))) for a in e.agents}

    return policy


class _Myopic:
    """Expected single-user reward per split at each device's own estimate (see the module docstring)."""

    def __init__(self, env: SharedCellParallelEnv) -> None:
        self.world: SplitWorld = world_for(env.cell.split)

    def expected_rewards(self, e: SharedCellParallelEnv) -> NDArray[np.float64]:
        """``(N, L + 1)``: each device's expected alone-in-the-cell reward of every split (``-inf`` where
        infeasible)."""
        w, req = self.world, e.request
        n, R = len(e.possible_agents), w.config.pool_size
        edge_load = np.full(n, w.config.edge_load[0])
        base = replace(req, snr_db=np.asarray(req.snr_est_db), edge_load=edge_load)
        out = np.full((n, e.num_layers + 1), -np.inf)
        masks = w.feasible[np.asarray(req.prompt_level)]
        # one broadcast evaluation over (split, fading realisation, device): (K, R, N)
        ks = np.asarray(w.runnable, dtype=np.int64)
        fading = np.arange(R, dtype=np.int64)[None, :, None]
        one = replace(base, fading_r=np.broadcast_to(fading, (1, R, n)))
        reward = w.evaluate(one, np.broadcast_to(ks[:, None, None], (ks.size, R, n))).reward
        mean = np.asarray(reward).mean(axis=1)  # (K, N)
        out[:, ks] = np.where(masks[:, ks], mean.T, -np.inf)
        return out

    def __call__(self, e: SharedCellParallelEnv) -> dict[str, int]:
        best = np.argmax(self.expected_rewards(e), axis=1)
        return {a: int(best[i]) for i, a in enumerate(e.possible_agents)}


class _DeviceView:
    """Device ``i`` of a shared cell as Neurosurgeon's
    :class:`~splitgym.agents.policies.neurosurgeon.SplitView`: its world, configuration, request and
    feasible splits (the edge load it reads is 0: the server's batching is not in its batch-1 profile
    [A])."""

    def __init__(self, env: SharedCellParallelEnv, i: int) -> None:
        self.env, self.i, self.agent = env, i, env.possible_agents[i]

    @property
    def world(self) -> Any:
        return self.env.cell.world

    @property
    def config(self) -> Any:
        return self.env.cell.split

    @property
    def observation_space(self) -> Any:
        return None

    def request(self) -> Request:
        return replace(self.env.request.take(self.i), edge_load=np.zeros(()))

    def action_masks(self) -> NDArray[np.bool_]:
        return self.env.action_masks()[self.agent]


class _Neurosurgeon:
    """Neurosurgeon on every device (Kang et al., ASPLOS 2017): each minimises its own predicted latency
    from its SNR estimate's rate (:class:`~splitgym.agents.policies.neurosurgeon.NeurosurgeonPolicy`),
    blind to the other devices."""

    def __init__(self, env: SharedCellParallelEnv) -> None:
        from splitgym.agents.policies.neurosurgeon import NeurosurgeonPolicy

        self.views = [_DeviceView(env, i) for i in range(len(env.possible_agents))]
        self.policies = [NeurosurgeonPolicy(v) for v in self.views]

    def __call__(self, e: SharedCellParallelEnv) -> dict[str, int]:
        for v in self.views:  # the cell being stepped (the policy may have been built on a twin)
            v.env = e
        return {
            v.agent: p.choose(p.current_prediction(None), v.action_masks())
            for v, p in zip(self.views, self.policies, strict=True)
        }


class _Centralised:
    """Greedy joint assignment with the true cell (see the module docstring)."""

    def __init__(self, env: SharedCellParallelEnv) -> None:
        self.myopic = _Myopic(env)

    def __call__(self, e: SharedCellParallelEnv) -> dict[str, int]:
        L = e.num_layers
        exp = self.myopic.expected_rewards(e)
        want = np.argmax(exp, axis=1)
        gain = exp[np.arange(exp.shape[0]), want] - exp[:, L]
        agents = e.possible_agents
        joint = {a: L for a in agents}
        best = float(e.peek(joint).reward.sum())
        for i in np.argsort(-gain, kind="stable"):
            if want[i] == L or gain[i] <= 0:
                continue
            trial = dict(joint, **{agents[i]: int(want[i])})
            value = float(e.peek(trial).reward.sum())
            if value > best:
                joint, best = trial, value
        return joint


CELL_BASELINES: dict[str, Callable[[SharedCellParallelEnv], CellPolicy]] = {
    "device": _device,
    "edge": _edge,
    "random": _random,
    "myopic": _Myopic,
    "neurosurgeon": _Neurosurgeon,
    "centralised": _Centralised,
}


def make_cell_baseline(name: str, env: SharedCellParallelEnv) -> CellPolicy:
    """The baseline registered as ``name``, built for ``env``."""
    return CELL_BASELINES[choice("baseline", name, CELL_BASELINES)](env)
