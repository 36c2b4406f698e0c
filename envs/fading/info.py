"""The numeric ``info`` entries of a fading step, named once for the single and the vector environment.

* :data:`PER_SPLIT_KEYS`: what depends on the executed split (reward and its terms, quality, costs);
* :data:`PER_STEP_KEYS`: what depends on the request only (channel, prompt, loads);
* :data:`WEIGHT_KEYS`: the reward weights (constant over an episode);
* :data:`ACTION_KEYS`: the executed split, the requested one, and whether they differ.

Both environments report every key of :data:`INFO_KEYS` at every step (the vector env as arrays, with
``_key`` masks).
"""

from __future__ import annotations

__all__ = ["ACTION_KEYS", "INFO_KEYS", "PER_SPLIT_KEYS", "PER_STEP_KEYS", "TABLE_KEYS", "WEIGHT_KEYS"]

PER_SPLIT_KEYS = (
    "reward", "r_invalid", "quality", "quality_score", "load", "energy_j", "latency_s", "uplink_s", "outage",
    "r_quality", "r_load", "r_energy", "r_latency",
)  # fmt: skip
PER_STEP_KEYS = (
    "snr_db", "snr_est_db", "rate_bps", "distance_m", "los", "prompt_tokens", "device_load", "edge_load",
)  # fmt: skip
WEIGHT_KEYS = ("w_quality", "w_load", "w_energy", "w_latency", "w_invalid")
TABLE_KEYS = PER_SPLIT_KEYS + PER_STEP_KEYS + WEIGHT_KEYS  # the single env's precomputed row, in order
ACTION_KEYS = ("split", "requested_split", "invalid")
INFO_KEYS = TABLE_KEYS + ACTION_KEYS
