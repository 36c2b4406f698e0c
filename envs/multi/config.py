"""The configuration of a shared cell: N devices, one OFDMA uplink, one continuously batching edge GPU.

Each device is a v1 single-user scenario (``scenario``, with ``user`` overrides of its
:class:`~splitgym.envs.split.config.SplitConfig` fields: model, device, link constants, reward weights,
deadlines); the cell adds what the users share. Defaults and their sources:

* ``scheduler`` ``"pf"``: proportional fair, or ``"rr"`` [S: dossier §8];
* ``max_batch`` 128 sequences, ``chunk_tokens`` 512 prefill tokens per iteration [S: Vidur defaults,
  dossier §6 (Sarathi-Serve chunked prefill)];
* ``kv_memory_gib`` ``None``: the GPU's memory less the fp16 weights of the whole model [K];
* SLOs ``ttft_slo_s`` 2 s at P90 and ``tbt_slo_s`` 0.2 s at P99 [S: Vidur dashboard defaults, dossier §6];
* ``arrival_spread_s`` 1 s: in a step every device sends one request, at a uniform offset in
  ``[0, arrival_spread_s)`` [A: desynchronised users in a closed loop, a request each per step];
* ``iot_sigma_db`` 2 dB: the slot-to-slot spread of the interference over thermal about the user
  configuration's ``iot_db`` (3 dB) [A: dossier §8, typical planning margins];
* ``max_steps`` 100 requests per device per episode [A: as the single-user scenarios].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from splitgym.envs.checks import choice, integer, scalar
from splitgym.envs.split.config import SplitConfig, scenario_config
from splitgym.errors import ConfigError
from splitgym.registration import V1_SCENARIOS

__all__ = ["CellConfig", "cell_config"]

MAX_USERS = 1024


@dataclass(frozen=True)
class CellConfig:
    """A shared cell (see the module docstring)."""

    n_users: int = 8
    scheduler: str = "pf"
    scenario: str = "Pedestrian"
    user: Mapping[str, Any] = field(default_factory=dict)  # SplitConfig overrides of every device
    max_batch: int = 128
    chunk_tokens: int = 512
    kv_memory_gib: float | None = None
    ttft_slo_s: float = 2.0
    tbt_slo_s: float = 0.2
    arrival_spread_s: float = 1.0
    iot_sigma_db: float = 2.0
    max_steps: int = 100

    def __post_init__(self) -> None:
        from splitgym.envs.multi.scheduler import SCHEDULERS
        from splitgym.envs.multi.server import SERVER_GPUS

        integer("n_users", self.n_users, ge=1, le=MAX_USERS)
        choice("scheduler", self.scheduler, SCHEDULERS)
        choice("scenario", self.scenario, V1_SCENARIOS)
        if not isinstance(self.user, Mapping):
            raise ConfigError(f"user must be a mapping of SplitConfig fields, got {type(self.user).__name__}")
        integer("max_batch", self.max_batch, ge=1, le=4096)
        integer("chunk_tokens", self.chunk_tokens, ge=1, le=65536)
        if self.kv_memory_gib is not None:
            scalar("kv_memory_gib", self.kv_memory_gib, gt=0.0, le=1e4)
        scalar("ttft_slo_s", self.ttft_slo_s, gt=0.0, le=1e4)
        scalar("tbt_slo_s", self.tbt_slo_s, gt=0.0, le=1e4)
        scalar("arrival_spread_s", self.arrival_spread_s, ge=0.0, le=60.0)
        scalar("iot_sigma_db", self.iot_sigma_db, ge=0.0, le=20.0)
        integer("max_steps", self.max_steps, ge=1)
        split = self.split_config()
        choice("edge", split.edge, SERVER_GPUS)
        if split.link != "nr":
            raise ConfigError(
                f"link must be 'nr' in a shared cell (the scheduler sends bits), got {split.link!r}"
            )
        if split.edge_precision != "float16":
            raise ConfigError(
                f"edge_precision must be 'float16' in a shared cell, got {split.edge_precision!r}"
            )

    def split_config(self) -> SplitConfig:
        """Every device's single-user configuration (stateless: the cell holds the shared state)."""
        overrides = dict(self.user)
        if "state" in overrides:
            raise ConfigError("user: 'state' is not a shared-cell parameter (the cell's state is shared)")
        return scenario_config(self.scenario, **overrides, state=())


def cell_config(**overrides: Any) -> CellConfig:
    """A :class:`CellConfig` from keyword overrides (unknown names: a one-line error listing the fields)."""
    from splitgym.envs.config import build_config

    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in overrides.items()}
    return build_config(CellConfig, None, values, "shared cell")
