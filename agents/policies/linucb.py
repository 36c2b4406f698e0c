"""An ANS-style contextual bandit for the fading environments: disjoint LinUCB with one arm per split.

Autodidactic Neurosurgeon (ANS; Zhang, Chen, Xu, WWW 2021) learns the split point online, without an
offline profile, as a contextual bandit whose arms are the partition points. This is its core learner,
disjoint LinUCB (Li, Chu, Langford, Schapire, WWW 2010, Algorithm 1), on a context vector read from the
agent's observation, learning from the reward the environment returns (ANS's key-frame weighting and
forced sampling are not implemented; the exploration bonus is the only exploration).

**Context.** ``x`` stacks the chosen ``features`` of the observation, every one already normalised to
``[0, 1]`` by the environment (:func:`splitgym.envs.split.observation.observe`): ``bias`` (the constant 1),
``snr_est`` (the device's large-scale SNR estimate), ``cqi`` (its newest CQI report, ``CQI/15``),
``cqi_history`` (its last ``cqi_history`` reports, newest first), ``ttft`` and ``latency`` (the previous
request's measured TTFT and end-to-end latency over twice their deadlines), ``prompt`` (prompt length),
``device_load``, ``edge_load`` and ``prev_split``. The policy reads nothing else but the feasible splits
(:meth:`FadingSplitV1Env.action_masks`): only feasible arms are played.

**Model and update.** Every arm ``a`` keeps ``A_a`` (``d x d``, initially ``ridge·I``) and ``b_a``
(``d``, initially 0); after playing ``a`` in context ``x`` and receiving reward ``r``::

    A_a += x x^T
    b_a += r x
    theta_a = A_a^{-1} b_a

and in context ``x`` it plays the feasible arm with the largest upper confidence bound::

    UCB_a(x) = theta_a·x + alpha sqrt(x^T A_a^{-1} x)

(ties broken uniformly at random with the policy's seeded generator). With ``explore = False`` the bonus
is dropped (``alpha = 0``: the greedy arm of the learned model).

:func:`run_online` plays episodes and calls :meth:`LinUCBPolicy.update` after every step (or, with
``learning=False``, plays the frozen policy); :func:`~splitgym.agents.evaluation.evaluate` evaluates a
frozen policy like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from splitgym.agents.policies.base import Policy
from splitgym.agents.policies.neurosurgeon import fading_env
from splitgym.errors import ConfigError, suggest

__all__ = ["DEFAULT_FEATURES", "FEATURES", "LinUCBPolicy", "run_online"]

FEATURES = (
    "bias", "snr_est", "cqi", "cqi_history", "ttft", "latency", "prompt", "device_load", "edge_load",
    "prev_split",
)  # fmt: skip
DEFAULT_FEATURES = ("bias", "snr_est", "cqi", "prompt", "device_load", "edge_load")
F = NDArray[np.float64]


class LinUCBPolicy:
    """Disjoint LinUCB over the splits ``0..L`` (see the module docstring for the model and update).

    ``alpha >= 0``: width of the confidence bonus; ``features``: names from :data:`FEATURES`;
    ``seed``: tie-breaking; ``ridge > 0``: the initial ``A_a = ridge·I``.
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        alpha: float = 1.0,
        features: Sequence[str] = DEFAULT_FEATURES,
        seed: int | None = 0,
        ridge: float = 1.0,
    ) -> None:
        self.env = fading_env(env, "LinUCBPolicy")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha < np.inf:
            raise ConfigError(f"alpha must be a finite number >= 0, got {alpha!r}")
        if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or not 0.0 < ridge < np.inf:
            raise ConfigError(f"ridge must be a finite number > 0, got {ridge!r}")
        if isinstance(features, str):
            raise ConfigError(f"features must be a sequence of names from {list(FEATURES)}, got {features!r}")
        features = tuple(features)
        if not features:
            raise ConfigError(f"features must name at least one of {list(FEATURES)}, got ()")
        for name in features:
            if name not in FEATURES:
                hint = suggest(str(name), FEATURES)
                raise ConfigError(f"features has unknown name {name!r}{hint}; allowed: {list(FEATURES)}")
        if len(set(features)) != len(features):
            raise ConfigError(f"features must not repeat a name, got {list(features)}")
        self.alpha = float(alpha)
        self.ridge = float(ridge)
        self.features = features
        self.explore = True
        H = self.env.config.cqi_history
        # Observation columns (envs/split/observation.py): [snr_est, CQI reports (H, newest first), TTFT,
        # latency, prompt, device_load, edge_load, prev_split], then any state features.
        columns = {
            "snr_est": [0],
            "cqi": [1],
            "cqi_history": list(range(1, 1 + H)),
            "ttft": [1 + H],
            "latency": [2 + H],
            "prompt": [3 + H],
            "device_load": [4 + H],
            "edge_load": [5 + H],
            "prev_split": [6 + H],
        }
        self.obs_size = int(np.prod(self.env.observation_space.shape or (0,)))
        self._bias = "bias" in features
        self._columns = np.array([j for name in features if name != "bias" for j in columns[name]], dtype=int)
        self.dim = int(self._bias) + self._columns.size
        self.num_arms = self.env.num_layers + 1
        self.rng = np.random.default_rng(seed)
        self.reset_model()

    # -- model ---------------------------------------------------------------------------------------
    def reset_model(self) -> None:
        """Forget everything learned: ``A_a = ridge·I``, ``b_a = 0`` for every arm."""
        K, d = self.num_arms, self.dim
        self.A: F = np.repeat(self.ridge * np.eye(d)[None], K, axis=0)  # (K, d, d)
        self.b: F = np.zeros((K, d))
        self.A_inv: F = np.repeat(np.eye(d)[None] / self.ridge, K, axis=0)
        self.theta: F = np.zeros((K, d))
        self.counts = np.zeros(K, dtype=np.int64)
        self._pending: NDArray[np.float64] | None = None

    def context(self, observation: Any) -> F:
        """The context vector ``x`` of an observation (or of the dict mode's ``"observation"`` entry)."""
        if isinstance(observation, dict) and "observation" in observation:
            observation = observation["observation"]
        obs = np.asarray(observation, dtype=np.float64).reshape(-1)
        if obs.size != self.obs_size:
            raise ConfigError(
                f"observation must have {self.obs_size} entries (FadingSplit v1), got shape "
                f"{np.shape(observation)}"
            )
        x = obs[self._columns]
        return np.concatenate([[1.0], x]) if self._bias else x

    def ucb(self, x: F) -> F:
        """``theta_a·x + alpha sqrt(x^T A_a^{-1} x)`` of every arm (``alpha`` is 0 when not exploring)."""
        mean = self.theta @ x
        if not self.explore or self.alpha == 0.0:
            return mean
        var = np.asarray(np.einsum("i,kij,j->k", x, self.A_inv, x), dtype=np.float64)
        return mean + self.alpha * np.sqrt(np.maximum(var, 0.0))

    def choose(self, x: F, mask: NDArray[np.bool_]) -> int:
        """The feasible arm of largest UCB in context ``x`` (ties uniformly at random)."""
        arms = np.flatnonzero(mask)
        if arms.size == 0:
            raise ConfigError("LinUCBPolicy got an action mask with no feasible split")
        values = self.ucb(x)[arms]
        best = arms[values >= values.max() - 1e-12 * max(1.0, abs(values.max()))]
        return int(best[0] if best.size == 1 else self.rng.choice(best))

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[Any, Any]:
        """The arm to play now; its context is kept for the next :meth:`update`."""
        x = self.context(observation)
        self._pending = x
        return np.int64(self.choose(x, self.env.action_masks())), state

    def update(self, action: Any, reward: float, context: F | None = None) -> None:
        """Learn from ``reward`` for playing ``action`` in ``context`` (default: the last predicted one).

        ``A_a += x x^T``, ``b_a += r x``, ``theta_a = A_a^{-1} b_a``.
        """
        a = int(action)
        if not 0 <= a < self.num_arms:
            raise ConfigError(f"action must be a split in 0..{self.num_arms - 1}, got {action!r}")
        r = float(reward)
        if not np.isfinite(r):
            raise ConfigError(f"reward must be finite, got {reward!r}")
        if context is None:
            if self._pending is None:
                raise ConfigError("update() needs a context: call predict() first or pass context=")
            x = self._pending
        else:
            x = np.asarray(context, dtype=np.float64).reshape(-1)
            if x.size != self.dim:
                raise ConfigError(f"context must have {self.dim} entries, got shape {np.shape(context)}")
        self.A[a] += np.outer(x, x)
        self.b[a] += r * x
        self.A_inv[a] = np.linalg.inv(self.A[a])
        self.theta[a] = self.A_inv[a] @ self.b[a]
        self.counts[a] += 1
        self._pending = None


def run_online(
    policy: Policy, env: gym.Env[Any, Any], episodes: int, seed: int = 0, learning: bool = True
) -> pd.DataFrame:
    """Play ``episodes`` episodes (episode ``i`` reset with seed ``seed + i``, as in
    :func:`~splitgym.agents.evaluation.evaluate`) and, when ``learning``, call ``policy.update(action,
    reward)`` after every step. One row per episode: ``episode``, ``return``, ``length`` and
    ``mean_reward``. With ``learning=False`` the policy is played frozen (any :class:`Policy` works)."""
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise ConfigError(f"episodes must be an integer >= 1, got {episodes!r}")
    update = getattr(policy, "update", None)
    if learning and not callable(update):
        raise ConfigError(
            "run_online(learning=True) needs a policy with update(action, reward), got "
            f"{type(policy).__name__}; pass learning=False to play it frozen"
        )
    rows = []
    for i in range(int(episodes)):
        obs, _ = env.reset(seed=seed + i)
        state: Any = None
        start = True
        total, length = 0.0, 0
        done = False
        while not done:
            action, state = policy.predict(
                obs, state=state, episode_start=np.array([start]), deterministic=True
            )
            start = False
            obs, reward, terminated, truncated, _ = env.step(action)
            if learning:
                update(action, float(reward))  # type: ignore[misc]
            total += float(reward)
            length += 1
            done = terminated or truncated
        rows.append({"episode": i, "return": total, "length": length, "mean_reward": total / length})
    return pd.DataFrame(rows)
