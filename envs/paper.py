"""The two environments of Chen et al. (arXiv 2406.02616), reproduced from the paper and its release.

Both observe ``[impairment, split]``: the element-erasure probability of the hidden state at the split
(the channel impairment, in ``[0, max_impairment]``) and the number of decoder layers on the device
(``min_split..max_split``). Both reward inference quality against device load,

    r = w_inf * quality_term + w_load * (max_split - split) / max_split,

and put every term in ``info``: ``quality`` (Q), ``load_saving`` ((L_max - split) / L_max), ``w_inf``,
``w_load``, the weighted terms ``r_quality`` and ``r_load`` (their sum is the reward), ``split``,
``impairment`` and ``step``. Episodes last ``horizon`` steps and end by truncation (a time limit, so agents
bootstrap); they never terminate.

* :class:`PaperSplitEnv` (the paper's environment B, trained against the reward surrogate): relative moves
  of the split, ``quality_term = Q(impairment', split')`` on the post-action state.
* :class:`PaperSplitDirectEnv` (environment A, evaluated on the LLM): absolute choice of the split,
  ``quality_term = (PPL_0 - PPL) / PPL_0``, the relative perplexity change against the episode's start.

``observation="normalized"`` (default) scales both entries to [0, 1]; ``observation="paper"`` gives the
raw values the paper's agent saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from splitgym.envs.checks import discrete_action
from splitgym.envs.config import (
    build_config,
    check_choice,
    check_int_range,
    check_interval,
    check_weights,
)
from splitgym.errors import ConfigError
from splitgym.profiles.quality import DEFAULT_PROFILE, QualityModel, resolve_quality_model

__all__ = [
    "MOVE_TABLE",
    "PaperSplitConfig",
    "PaperSplitDirectConfig",
    "PaperSplitDirectEnv",
    "PaperSplitEnv",
    "apply_relative_move",
]

# Environment B's relative moves: action -> (layers moved, factor on the impairment). Positive moves put
# more layers on the device. Written once here from the authors' release, with one correction: the
# release multiplies by 0.9995 for "+3 layers", breaking its own pattern 1 - 0.0005 * layers
# (0.9995, 0.999, ?, 0.998); we use 0.9985.
MOVE_TABLE: tuple[tuple[int, float], ...] = (
    (0, 1.0),  # 0: stay
    (-1, 1.0005),  # 1: one layer shallower
    (+1, 0.9995),  # 2: one layer deeper
    (-2, 1.001),  # 3
    (+2, 0.999),  # 4
    (-3, 1.0015),  # 5
    (+3, 0.9985),  # 6: the release's typo (0.9995) fixed
    (-4, 1.002),  # 7
    (+4, 0.998),  # 8
)
_FACTOR_BY_MOVE = {move: factor for move, factor in MOVE_TABLE}
_MOVES = np.array([m for m, _ in MOVE_TABLE], dtype=np.int64)
_FACTORS = np.array([_FACTOR_BY_MOVE[m] for m in range(-4, 5)], dtype=np.float64)  # indexed by move + 4

# Environment A moves the impairment by one factor whichever way the split moved.
DIRECT_FACTOR_DEEPER = 0.9995
DIRECT_FACTOR_SHALLOWER = 1.0005

OBSERVATIONS = ("normalized", "paper")


@dataclass(frozen=True)
class PaperSplitConfig:
    """Parameters of :class:`PaperSplitEnv`; defaults are the paper's environment B.

    Attributes:
        w_inf: weight of the inference-quality term (the paper: 10).
        w_load: weight of the load-saving term (the paper: 1).
        min_split, max_split: the splits the agent may choose; ``max_split`` is ``L_max`` in the load term.
        max_impairment: the impairment is clipped to ``[0, max_impairment]`` (the paper: 0.3).
        reset_impairment: reset draws the impairment uniformly from this interval.
        reset_split: reset draws the split uniformly from these integers (inclusive).
        horizon: steps per episode (the paper: 5).
        observation: ``"normalized"`` (both entries in [0, 1]) or ``"paper"`` (raw impairment and split).
        quality_model: a :class:`~splitgym.profiles.QualityModel` on the ``impairment`` axis, a shipped
            profile name or a profile path. Default: the paper's Llama-2-7B table.
    """

    w_inf: float = 10.0
    w_load: float = 1.0
    min_split: int = 1
    max_split: int = 10
    max_impairment: float = 0.3
    reset_impairment: tuple[float, float] = (0.01, 0.30)
    reset_split: tuple[int, int] = (1, 9)
    horizon: int = 5
    observation: str = "normalized"
    quality_model: Any = field(default=DEFAULT_PROFILE, compare=False)

    def __post_init__(self) -> None:
        check_weights(w_inf=self.w_inf, w_load=self.w_load)
        check_int_range("min_split", self.min_split, 1, 10_000)
        check_int_range("max_split", self.max_split, self.min_split + 1, 10_000)
        check_interval("max_impairment", (0.0, self.max_impairment), 0.0, 1.0)
        if self.max_impairment <= 0:
            raise ConfigError(f"max_impairment must be in (0, 1], got {self.max_impairment!r}")
        check_interval("reset_impairment", self.reset_impairment, 0.0, self.max_impairment)
        check_interval("reset_split", self.reset_split, self.min_split, self.max_split)
        for bound in self.reset_split:
            check_int_range("reset_split", bound, self.min_split, self.max_split)
        check_int_range("horizon", self.horizon, 1, 1_000_000)
        check_choice("observation", self.observation, OBSERVATIONS)


@dataclass(frozen=True)
class PaperSplitDirectConfig(PaperSplitConfig):
    """Parameters of :class:`PaperSplitDirectEnv`; defaults are the paper's environment A."""

    w_inf: float = 10.5
    reset_impairment: tuple[float, float] = (0.08, 0.22)
    reset_split: tuple[int, int] = (3, 6)


def apply_relative_move(
    split: NDArray[np.int64],
    impairment: NDArray[np.float64],
    action: NDArray[np.int64],
    cfg: PaperSplitConfig,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Environment B's dynamics, element-wise: the new split and impairment after ``action``.

    A move that would leave ``[min_split, max_split]`` is remapped to the largest feasible move in its
    direction (or to staying), as the release does, and the impairment is multiplied by the factor of the
    move actually made, then clipped to ``[0, max_impairment]``.
    """
    new_split = np.clip(split + _MOVES[action], cfg.min_split, cfg.max_split)
    factor = _FACTORS[new_split - split + 4]
    return new_split, np.clip(impairment * factor, 0.0, cfg.max_impairment)


class _PaperEnvBase(gym.Env[NDArray[np.float32], np.int64]):
    """Shared state, observation, reset and rendering of the two paper environments."""

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012
    config_class: ClassVar[type[PaperSplitConfig]] = PaperSplitConfig
    env_name: ClassVar[str] = ""

    def __init__(
        self, render_mode: str | None = None, config: PaperSplitConfig | None = None, **overrides: Any
    ):
        cfg = build_config(self.config_class, config, overrides, self.env_name)
        if render_mode is not None:
            check_choice("render_mode", render_mode, tuple(self.metadata["render_modes"]))
        self.config = cfg
        self.render_mode = render_mode
        self.quality_model: QualityModel = resolve_quality_model(cfg.quality_model)
        if self.quality_model.level_name != "impairment":
            raise ConfigError(
                f"quality_model must be on the 'impairment' axis for {self.env_name}, "
                f"got one on {self.quality_model.level_name!r}"
            )
        missing = sorted(
            set(range(cfg.min_split, cfg.max_split + 1)) - {int(s) for s in self.quality_model.splits}
        )
        if missing:
            raise ConfigError(f"quality_model has no values for split(s) {missing} in [min_split, max_split]")
        if cfg.observation == "normalized":
            low, high = np.zeros(2, np.float32), np.ones(2, np.float32)
        else:
            low = np.array([0.0, cfg.min_split], np.float32)
            high = np.array([cfg.max_impairment, cfg.max_split], np.float32)
        self._obs_low, self._obs_high = low, high
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.split = cfg.reset_split[0]
        self.impairment = cfg.reset_impairment[0]
        self.steps = 0
        self._last_info: dict[str, Any] = {}

    # -- the model of the dynamics, element-wise over arrays (used by planners such as the oracle) -----
    def transition_batch(
        self, split: NDArray[np.int64], impairment: NDArray[np.float64], action: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """The split and impairment after ``action``, element-wise (deterministic dynamics)."""
        raise NotImplementedError

    def reward_batch(
        self, split: NDArray[np.int64], impairment: NDArray[np.float64], quality_start: float
    ) -> NDArray[np.float64]:
        """The reward of arriving at ``(split, impairment)``, element-wise (``quality_start``: Q at reset)."""
        raise NotImplementedError

    def decode_obs(self, obs: NDArray[np.floating[Any]]) -> tuple[float, int]:
        """``(impairment, split)`` from an observation of this environment."""
        cfg = self.config
        if cfg.observation == "normalized":
            return float(obs[0]) * cfg.max_impairment, round(
                float(obs[1]) * (cfg.max_split - cfg.min_split)
            ) + cfg.min_split
        return float(obs[0]), round(float(obs[1]))

    # -- helpers -----------------------------------------------------------------------------------
    def _obs(self) -> NDArray[np.float32]:
        cfg = self.config
        if cfg.observation == "normalized":
            values = [
                self.impairment / cfg.max_impairment,
                (self.split - cfg.min_split) / (cfg.max_split - cfg.min_split),
            ]
        else:
            values = [self.impairment, self.split]
        return np.clip(np.array(values, np.float32), self._obs_low, self._obs_high)

    def _check_action(self, action: Any) -> int:
        space = self.action_space
        assert isinstance(space, gym.spaces.Discrete)
        return discrete_action(action, int(space.n))

    def load_saving(self, split: Any) -> Any:
        """``(max_split - split) / max_split``: the share of the device's layer budget left unused."""
        return (self.config.max_split - split) / self.config.max_split

    def _info(self, quality: float, quality_term: float) -> dict[str, Any]:
        cfg = self.config
        saving = float(self.load_saving(self.split))
        info = {
            "split": self.split,
            "impairment": self.impairment,
            "step": self.steps,
            "quality": quality,
            "load_saving": saving,
            "w_inf": cfg.w_inf,
            "w_load": cfg.w_load,
            "r_quality": cfg.w_inf * quality_term,
            "r_load": cfg.w_load * saving,
        }
        self._last_info = info
        return info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        lo, hi = self.config.reset_impairment
        self.impairment = float(self.np_random.uniform(lo, hi))
        self.split = int(self.np_random.integers(self.config.reset_split[0], self.config.reset_split[1] + 1))
        self.steps = 0
        quality = self.quality_model.quality(self.split, self.impairment)
        self._on_reset(quality)
        return self._obs(), self._info(quality, 0.0) | {"r_quality": 0.0, "r_load": 0.0}

    def _on_reset(self, quality: float) -> None:
        """Hook for subclasses that remember the start of the episode."""

    def _finish_step(
        self, quality: float, quality_term: float
    ) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        self.steps += 1
        info = self._info(quality, quality_term)
        reward = info["r_quality"] + info["r_load"]
        return self._obs(), float(reward), False, self.steps >= self.config.horizon, info

    def render(self) -> str | NDArray[np.uint8] | None:
        if self.render_mode == "rgb_array":
            return self._draw()
        if self.render_mode != "ansi":
            return None
        cfg, info = self.config, self._last_info
        bar = "".join("D" if k <= self.split else "." for k in range(cfg.min_split, cfg.max_split + 1))
        reward = info.get("r_quality", 0.0) + info.get("r_load", 0.0)
        return (
            f"step {self.steps}/{cfg.horizon}  impairment {self.impairment:.4f}  "
            f"split {self.split:2d} [{bar}]  "
            f"Q {info.get('quality', 0.0):+.4f}  r {reward:+.3f} "
            f"(quality {info.get('r_quality', 0.0):+.3f}, load {info.get('r_load', 0.0):+.3f})"
        )

    def _draw(self) -> NDArray[np.uint8]:
        """A 96 x (24 L) RGB picture: the layer stack (device blue, edge grey) under an impairment bar."""
        cfg = self.config
        n = cfg.max_split - cfg.min_split + 1
        img = np.full((96, 24 * n, 3), 255, dtype=np.uint8)
        for i, k in enumerate(range(cfg.min_split, cfg.max_split + 1)):
            color = (46, 110, 180) if k <= self.split else (190, 190, 190)
            img[32:92, 24 * i + 2 : 24 * i + 22] = color
        width = round(img.shape[1] * self.impairment / cfg.max_impairment)
        img[6:24, :width] = (200, 40, 40)
        return img


class PaperSplitEnv(_PaperEnvBase):
    """The paper's environment B: relative moves of the split against a quality table.

    Action ``Discrete(9)``: 0 stays; odd actions 1/3/5/7 move the split 1/2/3/4 layers shallower (fewer
    on the device), even actions 2/4/6/8 move it 1/2/3/4 layers deeper (see :data:`MOVE_TABLE`).
    Reward ``w_inf * Q(impairment', split') + w_load * (L_max - split') / L_max`` on the post-action state.
    """

    env_name = "splitgym/PaperSplit-v0"

    def __init__(
        self, render_mode: str | None = None, config: PaperSplitConfig | None = None, **overrides: Any
    ):
        super().__init__(render_mode, config, **overrides)
        self.action_space = spaces.Discrete(len(MOVE_TABLE))

    def step(self, action: Any) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        a = self._check_action(action)
        split, impairment = apply_relative_move(
            np.array(self.split), np.array(self.impairment), np.array(a), self.config
        )
        self.split, self.impairment = int(split), float(impairment)
        quality = self.quality_model.quality(self.split, self.impairment)
        return self._finish_step(quality, quality)

    def transition_batch(
        self, split: NDArray[np.int64], impairment: NDArray[np.float64], action: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        return apply_relative_move(split, impairment, action, self.config)

    def reward_batch(
        self, split: NDArray[np.int64], impairment: NDArray[np.float64], quality_start: float
    ) -> NDArray[np.float64]:
        q = self.quality_model.quality_batch(split, impairment)
        return np.asarray(self.config.w_inf * q + self.config.w_load * self.load_saving(split), np.float64)


class PaperSplitDirectEnv(_PaperEnvBase):
    """The paper's environment A: absolute choice of the split, reward from the perplexity change.

    Action ``Discrete(max_split - min_split + 1)``: action ``a`` sets the split to ``min_split + a``. The
    impairment is multiplied by 0.9995 when the split moved deeper and by 1.0005 when it moved shallower.
    Reward ``w_inf * (PPL_0 - PPL) / PPL_0 + w_load * (L_max - split) / L_max``, with ``PPL_0`` the
    perplexity at the episode's start. With quality ``Q = 1 - PPL / PPL_ref`` this is
    ``(Q - Q_0) / (1 - Q_0)``, so no absolute perplexity is needed. The quality model is queried only when
    the state changed: a live LLM is not re-run for a repeated state. Unlike the release, the cache is
    filled at reset, so staying on the first step gives a perplexity change of exactly 0.
    """

    env_name = "splitgym/PaperSplitDirect-v0"
    config_class = PaperSplitDirectConfig

    def __init__(
        self, render_mode: str | None = None, config: PaperSplitConfig | None = None, **overrides: Any
    ):
        super().__init__(render_mode, config, **overrides)
        self.action_space = spaces.Discrete(self.config.max_split - self.config.min_split + 1)
        self._quality_start = 0.0
        self._quality_now = 0.0

    def transition_batch(
        self, split: NDArray[np.int64], impairment: NDArray[np.float64], action: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        new_split = self.config.min_split + action
        factor = np.where(
            new_split > split, DIRECT_FACTOR_DEEPER, np.where(new_split < split, DIRECT_FACTOR_SHALLOWER, 1.0)
        )
        return new_split, np.clip(impairment * factor, 0.0, self.config.max_impairment)

    def reward_batch(
        self, split: NDArray[np.int64], impairment: NDArray[np.float64], quality_start: float
    ) -> NDArray[np.float64]:
        q = self.quality_model.quality_batch(split, impairment)
        change = (q - quality_start) / (1.0 - quality_start)
        return np.asarray(
            self.config.w_inf * change + self.config.w_load * self.load_saving(split), np.float64
        )

    def _on_reset(self, quality: float) -> None:
        if quality >= 1.0:
            raise ConfigError(
                f"quality model returned Q = {quality} >= 1 at reset (perplexity would be <= 0)"
            )
        self._quality_start = self._quality_now = quality

    def step(self, action: Any) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        new_split = self.config.min_split + self._check_action(action)
        if new_split != self.split:
            factor = DIRECT_FACTOR_DEEPER if new_split > self.split else DIRECT_FACTOR_SHALLOWER
            self.split = new_split
            self.impairment = float(np.clip(self.impairment * factor, 0.0, self.config.max_impairment))
            self._quality_now = self.quality_model.quality(self.split, self.impairment)
        q0 = self._quality_start
        relative_change = (self._quality_now - q0) / (1.0 - q0)
        obs, reward, terminated, truncated, info = self._finish_step(self._quality_now, relative_change)
        info["quality_start"] = q0
        info["ppl_change"] = relative_change
        return obs, reward, terminated, truncated, info
