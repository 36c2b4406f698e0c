"""Weight formats as runtimes store them: the precision class and the bytes per weight, scales included.

Per-group integer formats store ``b`` bits per weight plus one fp16 scale (2 bytes) per group of ``g``
weights, so ``bits_per_weight = b + 16/g`` [D]. splitgym's own ``int4`` and ``int8`` profiles use groups of
32 with an fp16 scale (the layout of llama.cpp's ``Q4_0``/``Q8_0`` and MLC's ``q4f16_1``) and fp16
activations [A: the common edge layout]:

* ``int4``: 4 + 16/32 = 4.5 bits = 0.5625 B per weight;
* ``int8``: 8 + 16/32 = 8.5 bits = 1.0625 B per weight.

Mixed formats (``Q4_K_M``) are given by their measured file size over the parameter count.
"""

from __future__ import annotations

from dataclasses import dataclass

from splitgym.errors import ConfigError, suggest

__all__ = ["FORMATS", "PRECISION_FORMAT", "WeightFormat", "get_format", "weight_bytes"]


@dataclass(frozen=True)
class WeightFormat:
    """A stored weight format: its precision class, its bits per weight (scales included) and the source."""

    name: str
    precision: str  # float16, int8 or int4
    bits_per_weight: float  # [bit]
    source: str

    @property
    def bytes_per_weight(self) -> float:
        """Bytes per weight ``bits_per_weight / 8`` [B]."""
        return self.bits_per_weight / 8.0


_GGML = "ggml-common.h block layout"
FORMATS: dict[str, WeightFormat] = {
    f.name: f
    for f in (
        WeightFormat("float16", "float16", 16.0, "IEEE half precision [K]"),
        WeightFormat("F16", "float16", 16.0, "llama.cpp F16 tensors [K]"),
        WeightFormat("int8", "int8", 8.5, "splitgym int8: 8-bit weights, fp16 scale per group of 32 [A]"),
        WeightFormat("int4", "int4", 4.5, "splitgym int4: 4-bit weights, fp16 scale per group of 32 [A]"),
        WeightFormat("Q8_0", "int8", 8.5, f"{_GGML}: block_q8_0 = fp16 scale + 32 int8 = 34 B per 32 [S]"),
        WeightFormat("Q4_0", "int4", 4.5, f"{_GGML}: block_q4_0 = fp16 scale + 16 B = 18 B per 32 [S]"),
        WeightFormat(
            "Q4_K_M", "int4", 4.9,
            "file size over parameters: Llama-3-8B Q4_K_M 4.58 GiB / 8.03 B = 4.90 bits "
            "(XiongjieDai/GPU-Benchmarks-on-LLM-Inference size table) [S]",
        ),
        WeightFormat("q4f16_1", "int4", 4.5, "MLC LLM q4f16_1: 4-bit, group 32, fp16 scale [K]"),
        WeightFormat(
            "q4f16_ft", "int4", 4.0,
            "MLC LLM q4f16_ft: FasterTransformer int4 with one fp16 scale per output channel (scales "
            "negligible) [A]",
        ),
    )
}  # fmt: skip

PRECISION_FORMAT: dict[str, str] = {"float16": "float16", "int8": "int8", "int4": "int4"}


def get_format(name: str) -> WeightFormat:
    """The weight format ``name``; an unknown name lists the known ones."""
    if name not in FORMATS:
        raise ConfigError(f"format={name!r} is unknown{suggest(name, FORMATS)}; allowed: {sorted(FORMATS)}")
    return FORMATS[name]


def weight_bytes(precision: str) -> float:
    """Bytes per weight [B] of splitgym's profile precision ``precision`` (float16, int8 or int4)."""
    if precision not in PRECISION_FORMAT:
        raise ConfigError(
            f"precision={precision!r} is not supported{suggest(precision, PRECISION_FORMAT)}; "
            f"allowed: {sorted(PRECISION_FORMAT)}"
        )
    return FORMATS[PRECISION_FORMAT[precision]].bytes_per_weight
