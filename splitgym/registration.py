"""Registration of every splitgym environment with Gymnasium (string entry points, idempotent).

``import splitgym`` registers them; ``gym.make("splitgym:splitgym/PaperSplit-v0")`` imports splitgym
first, so third-party code needs nothing but the string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

__all__ = ["ENVS", "FAMILIES", "EnvEntry", "env_family", "register_envs"]

# What kind of decision problem an environment is; agents and baselines declare the families they run on.
FAMILIES: dict[str, str] = {
    "paper": "Chen et al.'s environment B (relative split moves over a quality table)",
    "paper_direct": "Chen et al.'s environment A (absolute split, reward from a QualityModel)",
    "split": "one split per request over a fading channel, with action masks and split_rewards()",
    "compressed": "split x compression budget x answer mode, with action masks and split_rewards()",
    "shared": "one learning device among background devices sharing a cell's uplink and an edge GPU",
    "other": "any other Gymnasium environment",
}


@dataclass(frozen=True)
class EnvEntry:
    """One registered environment: its ID, entry point, family (:data:`FAMILIES`), a one-line summary,
    fixed keyword arguments and (optionally) a natively batched vector entry point."""

    env_id: str
    entry_point: str
    family: str
    summary: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    vector_entry_point: str | None = None


_SPLIT_V1 = "splitgym.envs.split.env:FadingSplitV1Env"
_SPLIT_V1_VEC = "splitgym.envs.split.vector:FadingSplitV1VectorEnv"


# The v1 scenarios: the physical settings of envs/split/config.py SCENARIOS (a test checks both agree). Each
# is registered twice: `FadingSplit-<Name>-v1` with every sequential-state component on (STATE below), and
# `FadingSplit-<Name>-Stateless-v1` without any, a contextual bandit (each request independent of the actions
# before it, so the per-request argmax is optimal).
V1_SCENARIOS = {
    "Pedestrian": "Qwen2-0.5B int4 on a phone + A100 edge, NR TDD link, 3 km/h UMi (proxy quality)",
    "Vehicular": "Qwen2-0.5B int4 on a phone + A100 edge, NR TDD, 50 km/h UMi up to 400 m (proxy quality)",
    "Agentic": "Pedestrian with an agent's back-to-back calls: a request a second on average (proxy quality)",
    "TinyLlama": "TinyLlama-1.1B int4 on a phone + A100 edge, NR TDD link, 3 km/h (proxy quality)",
    "Llama7B": "Llama-2-7B int4 on a Jetson Orin Nano Super + A100 edge, NR TDD link, prompts to 512 (proxy)",
    "Reference": "the reference LLM (measured quality) on a phone + A100 edge, NR TDD link, 3 km/h",
    "Analog": "Reference with the hidden state sent analog (LMMSE, pilot estimates): SNR acts on quality",
    "Uncoded": "Reference with the hidden state sent as uncoded QPSK packets (bit flips, lost packets)",
}
# The sequential-state components a stateful ID turns on (envs/split/config.py STATE_COMPONENTS, checked by a
# test): arrivals and a queue, heat, battery, RRC radio state, multi-turn KV cache.
STATE = ("queue", "thermal", "battery", "radio", "kv")
DEFAULT_V1_SCENARIO = "Pedestrian"
# v1 scenarios without a native vector env (gym.make_vec falls back to the synchronous one): none, since
# the native vector env batches the state components (envs/split/vector_state.py).
_V1_STATEFUL: tuple[str, ...] = ()


def _v1_entries() -> tuple[EnvEntry, ...]:
    default = EnvEntry(
        "splitgym/FadingSplit-v1",
        _SPLIT_V1,
        "split",
        "v1 physics (NR link, token round trips, TR 38.840 energy), stateful: the Pedestrian scenario",
        {"scenario": DEFAULT_V1_SCENARIO, "state": STATE},
        _SPLIT_V1_VEC,
    )
    entries = [default]
    for name, summary in V1_SCENARIOS.items():
        vec = None if name in _V1_STATEFUL else _SPLIT_V1_VEC
        entries.append(
            EnvEntry(
                f"splitgym/FadingSplit-{name}-v1",
                _SPLIT_V1,
                "split",
                f"{summary}; stateful",
                {"scenario": name, "state": STATE},
                vec,
            )
        )
        entries.append(
            EnvEntry(
                f"splitgym/FadingSplit-{name}-Stateless-v1",
                _SPLIT_V1,
                "split",
                f"{summary}; stateless: a contextual bandit",
                {"scenario": name},
                vec,
            )
        )
    return tuple(entries)


ENVS: tuple[EnvEntry, ...] = (
    EnvEntry(
        "splitgym/PaperSplit-v0",
        "splitgym.envs.paper:PaperSplitEnv",
        "paper",
        "Chen et al. env B: relative split moves, Llama-2-7B quality table, 5-step episodes",
    ),
    EnvEntry(
        "splitgym/PaperSplitDirect-v0",
        "splitgym.envs.paper:PaperSplitDirectEnv",
        "paper_direct",
        "Chen et al. env A: absolute split choice, reward from the perplexity change since the start",
    ),
    EnvEntry(
        "splitgym/CompressedSplit-v1",
        "splitgym.envs.compressed.env:CompressedSplitEnv",
        "compressed",
        "Edge-LLM: split, LUC budget and answer mode (edge, device exit, vote) on the v1 Reference world",
    ),
    *_v1_entries(),
    EnvEntry(
        "splitgym/SharedCell-v1",
        "splitgym.envs.multi.single:SharedCellEnv",
        "shared",
        "8 devices in one cell (PF-scheduled NR uplink, continuously batching A100): one learner, 7 devices "
        "on the device",
        {"n_users": 8},
    ),
)


_BY_ID = {e.env_id: e for e in ENVS}


def env_family(env_id: str) -> str:
    """The family of ``env_id`` (``splitgym:`` prefix allowed); ``"other"`` for an ID splitgym does not
    register."""
    entry = _BY_ID.get(env_id.removeprefix("splitgym:"))
    return entry.family if entry is not None else "other"


def register_envs() -> None:
    """Register every environment in :data:`ENVS` that is not registered yet (safe to call again)."""
    for entry in ENVS:
        if entry.env_id not in gym.registry:
            gym.register(
                id=entry.env_id,
                entry_point=entry.entry_point,
                kwargs=dict(entry.kwargs),
                vector_entry_point=entry.vector_entry_point,
            )
