"""Type and range of every stable-baselines3 hyperparameter a run can set, checked before anything is
built or written (SB3 checks few of them itself: ``gamma: 2`` or ``learning_rate: -1`` would train).

Ranges are those of the quantities' definitions [K] (Sutton & Barto 2018: a discount ``gamma`` in
[0, 1]; Schulman et al. 2016, GAE: ``gae_lambda`` in [0, 1]; a learning rate, clipping range and gradient
norm are positive; probabilities and fractions in [0, 1]; counts are integers >= 1) and SB3's own
documented constraints (``gradient_steps: -1`` means "as many as steps"; ``sde_sample_freq: -1`` "only at
the start of a rollout"; ``train_freq`` an integer or ``[n, "step" | "episode"]``). Constraints SB3
asserts itself (PPO's ``batch_size > 1`` with advantage normalisation, ...) are left to it: the model is
built on a probe environment before the run folder exists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from splitgym.errors import ConfigError, suggest

__all__ = ["RULES", "check_sb3_hyperparams"]

_INT, _FLOAT, _BOOL = "an integer", "a number", "true or false"

# name: (kind, low, high, low allowed, high allowed, None allowed)
RULES: dict[str, tuple[str, float, float, bool, bool, bool]] = {
    "learning_rate": (_FLOAT, 0.0, math.inf, False, False, False),
    "gamma": (_FLOAT, 0.0, 1.0, True, True, False),
    "gae_lambda": (_FLOAT, 0.0, 1.0, True, True, False),
    "n_steps": (_INT, 1, math.inf, True, False, False),
    "batch_size": (_INT, 1, math.inf, True, False, False),
    "n_epochs": (_INT, 1, math.inf, True, False, False),
    "clip_range": (_FLOAT, 0.0, math.inf, False, False, False),
    "clip_range_vf": (_FLOAT, 0.0, math.inf, False, False, True),
    "ent_coef": (_FLOAT, 0.0, math.inf, True, False, False),
    "vf_coef": (_FLOAT, 0.0, math.inf, True, False, False),
    "max_grad_norm": (_FLOAT, 0.0, math.inf, False, False, False),
    "target_kl": (_FLOAT, 0.0, math.inf, False, False, True),
    "rms_prop_eps": (_FLOAT, 0.0, math.inf, False, False, False),
    "sde_sample_freq": (_INT, -1, math.inf, True, False, False),
    "buffer_size": (_INT, 1, math.inf, True, False, False),
    "learning_starts": (_INT, 0, math.inf, True, False, False),
    "tau": (_FLOAT, 0.0, 1.0, True, True, False),
    "gradient_steps": (_INT, -1, math.inf, True, False, False),
    "target_update_interval": (_INT, 1, math.inf, True, False, False),
    "exploration_fraction": (_FLOAT, 0.0, 1.0, True, True, False),
    "exploration_initial_eps": (_FLOAT, 0.0, 1.0, True, True, False),
    "exploration_final_eps": (_FLOAT, 0.0, 1.0, True, True, False),
    "stats_window_size": (_INT, 1, math.inf, True, False, False),
    "n_envs": (_INT, 1, math.inf, True, False, False),
    "normalize_advantage": (_BOOL, 0, 1, True, True, False),
    "use_sde": (_BOOL, 0, 1, True, True, False),
    "use_rms_prop": (_BOOL, 0, 1, True, True, False),
    "optimize_memory_usage": (_BOOL, 0, 1, True, True, False),
    "use_sde_at_warmup": (_BOOL, 0, 1, True, True, False),
}


def _check(name: str, value: Any) -> None:
    expected, low, high, low_ok, high_ok, none_ok = RULES[name]
    if value is None and none_ok:
        return
    if expected == _BOOL:
        if not isinstance(value, bool):
            raise ConfigError(f"hyperparameter {name} must be true or false, got {value!r}")
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (expected == _INT and not isinstance(value, int))
    ):
        raise ConfigError(f"hyperparameter {name} must be {expected}, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ConfigError(f"hyperparameter {name} must be finite, got {value!r}")
    too_low = value < low or (value == low and not low_ok)
    too_high = value > high or (value == high and not high_ok)
    if too_low or too_high:
        left, right = ("[" if low_ok else "("), ("]" if high_ok else ")")
        hi = "inf" if math.isinf(high) else f"{high:g}"
        raise ConfigError(f"hyperparameter {name} must be in {left}{low:g}, {hi}{right}, got {value!r}")
    if name == "gradient_steps" and value == 0:
        raise ConfigError("hyperparameter gradient_steps must be >= 1, or -1 (as many as steps), got 0")


def _check_train_freq(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and isinstance(value[0], int)
        and not isinstance(value[0], bool)
        and value[0] >= 1
        and value[1] in ("step", "episode")
    ):
        return
    raise ConfigError(
        f"hyperparameter train_freq must be an integer >= 1 or [n, 'step'|'episode'], got {value!r}"
    )


def check_sb3_hyperparams(algo: str, algo_class: type[Any], params: Mapping[str, Any]) -> None:
    """A ConfigError naming the first hyperparameter of ``params`` whose type or range is wrong
    (:data:`RULES`), or a ``policy`` that ``algo_class`` does not know."""
    for name, value in params.items():
        if name in RULES:
            _check(name, value)
        elif name == "train_freq":
            _check_train_freq(value)
        elif name == "policy":
            aliases = sorted(getattr(algo_class, "policy_aliases", {}))
            if not isinstance(value, str) or value not in aliases:
                hint = suggest(str(value), aliases)
                raise ConfigError(f"{algo}: policy {value!r} is unknown{hint}; allowed: {aliases}")
        elif name == "policy_kwargs" and value is not None and not isinstance(value, dict):
            raise ConfigError(f"hyperparameter policy_kwargs must be a mapping, got {value!r}")
