"""One episode of a stateful v1 split environment, step by step: what the state components did.

:func:`episode_trace` runs one seeded episode of a policy (a baseline by name, or a trained run folder) and
records per request the info keys of the state (``start_s``, ``wait_s``, ``die_c``, ``skin_c``,
``clock_scale``, ``battery_soc``, ``radio_gap_s``, ``promotion_s``, ``split``, ``kv_from_split``,
``context_tokens``, ``kv_bytes``, ``kv_move_s``) with the reward; :func:`plot_episode` draws them over
the request start time: queue wait, die/skin temperature and the clock scale, battery, radio (the gap
since the last radio activity against the RRC inactivity timer, promotions marked), the split and where
the KV cache lives. ``splitgym benchmark episode`` is the command.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from splitgym.errors import ConfigError
from splitgym.style import env_title, figure, legend_outside, method_label, method_style, save_figure

__all__ = ["STATE_COLUMNS", "episode_trace", "plot_episode"]

STATE_COLUMNS = (
    "start_s", "wait_s", "die_c", "skin_c", "clock_scale", "battery_soc", "radio_gap_s", "promotion_s",
    "split", "kv_from_split", "context_tokens", "kv_bytes", "kv_move_s", "latency_s", "energy_j",
)  # fmt: skip


def _policy(env: gym.Env[Any, Any], env_id: str, policy: str, seed: int) -> Any:
    from splitgym.agents.baselines import make_baseline
    from splitgym.registration import env_family

    if Path(policy).is_dir():
        from splitgym.agents.training import load_policy

        model, _, _ = load_policy(Path(policy), env=env)
        return model
    return make_baseline(policy, env, env_family(env_id), seed=seed, env_id=env_id)[0]


def episode_trace(
    env_id: str,
    policy: str = "myopic",
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One episode (reset with ``seed``) of ``policy`` (a baseline name or a run folder) on ``env_id``:
    one row per request with :data:`STATE_COLUMNS` and ``reward``."""
    env = gym.make(env_id, **dict(env_kwargs or {}))
    if not getattr(env.unwrapped, "session", None):
        raise ConfigError(
            f"env {env_id!r} has no sequential state (a -Stateless ID or state=()); pick a stateful v1 ID"
        )
    pol = _policy(env, env_id, policy, seed)
    obs, _ = env.reset(seed=seed)
    rows: list[dict[str, Any]] = []
    done = False
    while not done:
        action, _ = pol.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, info = env.step(action)
        rows.append({**{k: info[k] for k in STATE_COLUMNS}, "reward": float(reward)})
        done = terminated or truncated
    env.close()
    return pd.DataFrame(rows)


def plot_episode(trace: pd.DataFrame, env_id: str, policy: str, path: Path, t_rrc_s: float = 10.0) -> Path:
    """Five panels over the request start time (s): queue wait, temperatures and clock scale, battery,
    radio gap vs the inactivity timer ``t_rrc_s`` (promotions marked), split and KV placement."""
    fig, axes = figure(8.0, 10.0, nrows=5, sharex=True)
    t = trace["start_s"].to_numpy()
    look = method_style(policy if not Path(policy).is_dir() else "ppo")
    name = method_label(policy) if not Path(policy).is_dir() else Path(policy).name
    ax = axes[0]
    ax.step(t, trace["wait_s"], where="post", color=look.color, label="queue wait")
    ax.set_ylabel("wait (s)")
    ax.set_title(f"{env_title(env_id)}: one episode of {name}")
    ax = axes[1]
    ax.plot(t, trace["die_c"], color="#D55E00", label="die")
    ax.plot(t, trace["skin_c"], color="#0072B2", label="skin")
    ax.set_ylabel("temperature (°C)")
    twin = ax.twinx()
    twin.plot(t, trace["clock_scale"], color="#555555", linestyle="--", label="clock scale")
    twin.set_ylabel("clock scale (fraction)")
    twin.set_ylim(0.0, 1.05)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.12, 1.0), frameon=False, fontsize=8)
    ax = axes[2]
    ax.plot(t, 100.0 * trace["battery_soc"], color="#009E73", label="state of charge")
    ax.set_ylabel("battery (%)")
    legend_outside(ax)
    ax = axes[3]
    gap = np.minimum(trace["radio_gap_s"].to_numpy(), 10.0 * t_rrc_s)
    ax.semilogy(t, np.maximum(gap, 1e-3), ".", color="#CC79A7", label="gap since radio use")
    ax.axhline(t_rrc_s, color="#555555", linestyle=":", label="RRC inactivity timer")
    promo = trace["promotion_s"].to_numpy() > 0.0
    ax.plot(t[promo], np.maximum(gap[promo], 1e-3), "x", color="#000000", label="promotion paid")
    ax.set_ylabel("radio gap (s)")
    legend_outside(ax)
    ax = axes[4]
    ax.step(t, trace["split"], where="post", color=look.color, label="split (layers on the device)")
    kv = trace["kv_from_split"].to_numpy(dtype=float)
    ax.step(t, np.where(kv >= 0, kv, np.nan), where="post", color="#E69F00", linestyle="--",
            label="KV cache layers on the device before")  # fmt: skip
    moved = trace["kv_bytes"].to_numpy() > 0.0
    ax.plot(
        t[moved], trace["split"].to_numpy()[moved], "o", color="#000000", markersize=3, label="KV migrated"
    )
    ax.set_ylabel("split (layers)")
    ax.set_xlabel("request start (s)")
    twin = ax.twinx()
    twin.plot(t, trace["context_tokens"], color="#56B4E9", alpha=0.6, label="context")
    twin.set_ylabel("context (tokens)")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.12, 1.0), frameon=False, fontsize=8)
    return save_figure(fig, path)
