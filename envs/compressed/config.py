"""Configuration of ``splitgym/CompressedSplit-v1``: the v1 split world's fields plus the compression ones.

Every field of :class:`~splitgym.envs.split.config.SplitConfig` (model, devices, NR link, channel,
request, energy, reward, episode) with the defaults of the v1 ``Reference`` scenario
(:data:`~splitgym.envs.split.config.SCENARIOS`: the reference model in float16 on a phone, an A100 edge,
NR TDD link, 3 km/h; a test checks the two agree). Added here:

* ``quality_table``: the measured ``compressed_quality`` profile: quality of the reference model with its
  device-side layers compressed, per budget, answer mode, split and the precision of the hidden state it
  sends (``splitgym compress table --operator activation``; the v1 link delivers the state bit-exact, so
  quality depends on the precision sent, never on the SNR);
* ``compression``: how a budget expands into the device-side policy, ``"luc"`` (layer-wise unified
  compression from the measured sensitivities) or ``"uniform"`` (the same mean sparsity, matched bits),
  the latter for the uniform-compression baseline;
* ``budgets``: the budgets the action chooses from, named ``"none"`` or ``"<mean sparsity>-<base bits>"``.

Restrictions (each a :class:`~splitgym.errors.ConfigError` naming the field): ``model`` must be
``"reference"`` and ``device_precision`` ``"float16"`` (the table is measured on the reference model and its
costs are relative to its dense float16 layers), ``link`` must be ``"nr"`` (the only v1 link mode), and
``state`` must be ``()`` (the compression environment composes no sequential state component yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from splitgym.envs.config import build_config, check_choice
from splitgym.envs.split.config import SplitConfig
from splitgym.errors import ConfigError

__all__ = ["COMPRESSIONS", "MODES", "CompressedSplitConfig", "compressed_config"]

MODES = ("edge", "exit", "vote")
COMPRESSIONS = ("luc", "uniform")


@dataclass(frozen=True)
class CompressedSplitConfig(SplitConfig):
    """Every parameter of :class:`~splitgym.envs.compressed.env.CompressedSplitEnv`."""

    # The v1 "Reference" scenario's overrides of SplitConfig (tested equal to SCENARIOS["Reference"]).
    model: str = "reference"
    device_precision: str = "float16"
    # Compression.
    quality_table: str = "compression/reference_compressed_activation"
    compression: str = "luc"
    budgets: tuple[str, ...] = ("none", "0.3-8", "0.5-8", "0.5-4", "0.7-4")

    def __post_init__(self) -> None:
        if self.model != "reference":
            raise ConfigError(
                f"model must be 'reference' for the compression environment (its quality table is "
                f"measured on it), got {self.model!r}"
            )
        if self.link != "nr":
            raise ConfigError(
                f"link must be 'nr' for the compression environment (its quality table assumes a "
                f"bit-exact hidden state at the activation precision), got {self.link!r}"
            )
        if self.device_precision != "float16":
            raise ConfigError(
                f"device_precision must be 'float16' for the compression environment (the budgets' "
                f"costs are relative to dense float16 layers), got {self.device_precision!r}"
            )
        if self.state != ():
            raise ConfigError(
                f"state must be () for the compression environment (no sequential state yet), "
                f"got {self.state!r}"
            )
        super().__post_init__()
        check_choice("compression", self.compression, COMPRESSIONS)
        if not isinstance(self.quality_table, str) or not self.quality_table:
            raise ConfigError(f"quality_table must be a profile name, got {self.quality_table!r}")
        if (
            not isinstance(self.budgets, tuple)
            or not self.budgets
            or not all(isinstance(b, str) for b in self.budgets)
            or len(set(self.budgets)) != len(self.budgets)
        ):
            raise ConfigError(f"budgets must be a non-empty list of distinct names, got {self.budgets!r}")

    def split_config(self) -> SplitConfig:
        """The plain :class:`SplitConfig` of the world this environment runs on (the compression fields
        dropped), so it shares :func:`~splitgym.envs.split.world.world_for`'s cache with
        ``FadingSplit-Reference-Stateless-v1``."""
        from dataclasses import fields

        return SplitConfig(**{f.name: getattr(self, f.name) for f in fields(SplitConfig)})


def compressed_config(**overrides: Any) -> CompressedSplitConfig:
    """The default configuration with ``overrides`` (unknown names are an error listing the allowed)."""
    return build_config(CompressedSplitConfig, None, overrides, "CompressedSplit")
