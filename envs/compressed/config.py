"""Configuration of the compression environment: the fading scenario's fields plus the compression ones.

The channel, devices, request and reward fields are those of
:class:`~splitgym.envs.fading.config.FadingSplitConfig` (same defaults: the Pedestrian scenario with the
reference model). Added here:

* ``quality_table``: the measured ``compressed_quality`` profile (quality of the reference model with its
  device-side layers compressed and its hidden state crossing the channel, per budget, answer mode, SNR
  and split; ``splitgym compress table``);
* ``compression``: how a budget expands into the device-side policy, ``"luc"`` (layer-wise unified
  compression from the measured sensitivities) or ``"uniform"`` (the same mean sparsity and bits on every
  layer), the latter for the uniform-compression baseline;
* ``budgets``: the budgets the action chooses from, named ``"none"`` or ``"<mean sparsity>-<base bits>"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from splitgym.envs.config import build_config, check_choice
from splitgym.envs.fading.config import FadingSplitConfig
from splitgym.errors import ConfigError

__all__ = ["COMPRESSIONS", "MODES", "CompressedSplitConfig", "compressed_config"]

MODES = ("edge", "exit", "vote")
COMPRESSIONS = ("luc", "uniform")


@dataclass(frozen=True)
class CompressedSplitConfig(FadingSplitConfig):
    """Every parameter of :class:`~splitgym.envs.compressed.env.CompressedSplitEnv`."""

    quality_table: str = "compression/reference_compressed_fading"
    compression: str = "luc"
    budgets: tuple[str, ...] = ("none", "0.3-8", "0.5-8", "0.5-4", "0.7-4")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model != "reference":
            raise ConfigError(
                f"model must be 'reference' for the compression environment, got {self.model!r}"
            )
        check_choice("compression", self.compression, COMPRESSIONS)
        if (
            not isinstance(self.budgets, tuple)
            or not self.budgets
            or len(set(self.budgets)) != len(self.budgets)
        ):
            raise ConfigError(f"budgets must be a non-empty list of distinct names, got {self.budgets!r}")


def compressed_config(**overrides: Any) -> CompressedSplitConfig:
    """The default configuration with ``overrides`` (unknown names are an error listing the allowed)."""
    return build_config(CompressedSplitConfig, None, overrides, "CompressedSplit")
