"""Catalogue of LLM architectures, defined by their published configuration numbers (nothing is downloaded).

Each :class:`Architecture` holds the numbers of the model's ``config.json`` (dossier
``profiles_channels.md`` §1.5; Llama-2-13B and Mistral-7B-v0.1 from their model cards) and derives the
per-layer quantities the environments need, with ``d`` = hidden size, ``h``/``h_kv`` = query/KV heads,
``d_h = d/h`` = head size, ``I`` = MLP inner size, ``V`` = vocabulary and ``b`` = bytes per element:

* parameters per decoder layer ``P = d·(h+2h_kv)·d_h + h·d_h·d`` (attention) ``+ m·d·I`` (MLP, ``m`` = 3
  gated or 2 plain) ``+`` biases ``+`` norm weights;
* FLOPs per token per layer ``2·P + 4·ctx·d`` (2 per weight for the matmuls, plus ``QKᵀ`` and ``AV`` over
  ``ctx`` attended tokens) [FLOP];
* hidden-state bytes per token at the split ``d·b`` [B] (the same for every split of a decoder-only model);
* KV-cache bytes per token per layer ``2·h_kv·d_h·b`` [B].

Mistral-7B is catalogued without its 4096-token sliding window (full attention): for contexts of at most
4096 tokens, which is all a profile uses, the computation is the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from splitgym.errors import ConfigError, suggest
from splitgym.profiles.reference import REFERENCE_ARCH

__all__ = ["CATALOGUE", "Architecture", "Layout", "get_architecture"]

_UNIFORM = ("hidden", "layers", "heads", "kv_heads", "intermediate", "vocab", "max_positions")
_HF_NAMES = dict(
    zip(
        _UNIFORM,
        (
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "num_key_value_heads",
            "intermediate_size",
            "vocab_size",
            "max_position_embeddings",
        ),
        strict=True,
    )
)


@dataclass(frozen=True)
class Layout:
    """How one family lays out a decoder layer, and the names its transformers config gives the sizes."""

    qkv_bias: bool = False
    out_bias: bool = False
    gated_mlp: bool = True
    mlp_bias: bool = False
    norms: int = 2
    norm_bias: bool = False
    head_bias: bool = False
    learned_positions: bool = False
    names: Mapping[str, str | None] = field(default_factory=lambda: _HF_NAMES)


LLAMA = Layout()
QWEN2 = Layout(qkv_bias=True)
PHI = Layout(
    qkv_bias=True, out_bias=True, gated_mlp=False, mlp_bias=True, norms=1, norm_bias=True, head_bias=True
)
GPT2 = Layout(
    qkv_bias=True,
    out_bias=True,
    gated_mlp=False,
    mlp_bias=True,
    norm_bias=True,
    learned_positions=True,
    names=dict(
        hidden="n_embd",
        layers="n_layer",
        heads="n_head",
        kv_heads=None,
        intermediate="n_inner",
        vocab="vocab_size",
        max_positions="n_positions",
    ),
)


@dataclass(frozen=True)
class Architecture:
    """One catalogued model: its published sizes, its family's layout and the other config fields."""

    name: str
    hf_id: str
    model_type: str
    layout: Layout
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    max_positions: int
    tied: bool
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def head_dim(self) -> int:
        """Size of one attention head ``d_h = d/h``."""
        return self.hidden // self.heads

    @property
    def kv_dim(self) -> int:
        """Width of the keys (and of the values) of one layer ``h_kv·d_h``."""
        return self.kv_heads * self.head_dim

    def config_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the transformers config class (``config.json`` field names)."""
        sizes = {
            str(self.layout.names[k]): getattr(self, k) for k in _UNIFORM if self.layout.names[k] is not None
        }
        return sizes | {"tie_word_embeddings": self.tied} | dict(self.extra)

    def build_config(self, num_layers: int | None = None, **overrides: Any) -> Any:
        """A transformers config; ``num_layers`` sets the depth (for probing), ``overrides`` any field."""
        from transformers import AutoConfig

        kwargs = self.config_kwargs() | overrides
        if num_layers is not None:
            kwargs[str(self.layout.names["layers"])] = num_layers
        return AutoConfig.for_model(self.model_type, **kwargs)

    @property
    def params_per_layer(self) -> int:
        """Parameters of one decoder layer ``P`` (count), see the module docstring."""
        lay, d, i = self.layout, self.hidden, self.intermediate
        qkv = (self.heads + 2 * self.kv_heads) * self.head_dim
        attention = d * qkv + self.heads * self.head_dim * d + lay.qkv_bias * qkv + lay.out_bias * d
        mlp = (3 if lay.gated_mlp else 2) * d * i + lay.mlp_bias * (i + d)
        return attention + mlp + lay.norms * d * (1 + lay.norm_bias)

    @property
    def embedding_params(self) -> int:
        """Parameters of the input embedding (token table ``V·d``, plus learned positions where used)."""
        return (self.vocab + self.layout.learned_positions * self.max_positions) * self.hidden

    @property
    def head_params(self) -> int:
        """Parameters of the final norm plus the LM head (``V·d`` unless tied to the embedding)."""
        head = 0 if self.tied else self.vocab * self.hidden + self.layout.head_bias * self.vocab
        return self.hidden * (1 + self.layout.norm_bias) + head

    def total_params(self, num_layers: int | None = None) -> int:
        """Parameters of the whole model with ``num_layers`` decoder layers (default: all of them)."""
        depth = self.layers if num_layers is None else num_layers
        return self.embedding_params + depth * self.params_per_layer + self.head_params

    def flops_per_token(self, context: int) -> int:
        """FLOPs of one decoder layer for one token attending to ``context`` tokens: ``2·P + 4·ctx·d``."""
        return 2 * self.params_per_layer + 4 * context * self.hidden

    def hidden_bytes_per_token(self, element_bytes: float) -> float:
        """Bytes of the hidden state of one token at the split: ``d·b`` [B]."""
        return self.hidden * element_bytes

    def kv_bytes_per_token(self, element_bytes: float) -> float:
        """KV-cache bytes of one token in one layer: ``2·h_kv·d_h·b`` [B]."""
        return 2 * self.kv_dim * element_bytes


def _gpt2(name: str, hidden: int, layers: int, heads: int) -> Architecture:
    return Architecture(
        name, name, "gpt2", GPT2, hidden, layers, heads, heads, 4 * hidden, 50257, 1024, True,
        {"layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"},
    )  # fmt: skip


def _rope(theta: float, eps: float = 1e-5, **more: Any) -> dict[str, Any]:
    return {"rope_theta": theta, "rms_norm_eps": eps, "hidden_act": "silu"} | more


def _reference() -> Architecture:
    # Read from the configuration numbers, not a transformers config, so the catalogue stays light.
    sizes = {k: REFERENCE_ARCH[str(_HF_NAMES[k])] for k in _UNIFORM}
    skip = (*_HF_NAMES.values(), "model_type", "tie_word_embeddings")
    extra = {k: v for k, v in REFERENCE_ARCH.items() if k not in skip}
    return Architecture(
        name="reference", hf_id="splitgym reference model (splitgym.profiles.reference)",
        model_type=str(REFERENCE_ARCH["model_type"]), layout=LLAMA,
        tied=bool(REFERENCE_ARCH["tie_word_embeddings"]),
        extra=extra, **sizes,
    )  # fmt: skip


CATALOGUE: dict[str, Architecture] = {
    a.name: a
    for a in (
        _gpt2("gpt2", 768, 12, 12),
        _gpt2("gpt2-medium", 1024, 24, 16),
        _gpt2("gpt2-large", 1280, 36, 20),
        _gpt2("gpt2-xl", 1600, 48, 25),
        Architecture(
            "tinyllama-1.1b", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "llama", LLAMA,
            2048, 22, 32, 4, 5632, 32000, 2048, False, _rope(1e4),
        ),
        Architecture(
            "qwen2-0.5b", "Qwen/Qwen2-0.5B", "qwen2", QWEN2,
            896, 24, 14, 2, 4864, 151936, 131072, True, _rope(1e6, 1e-6, use_sliding_window=False),
        ),
        Architecture(
            "qwen2-1.5b", "Qwen/Qwen2-1.5B", "qwen2", QWEN2,
            1536, 28, 12, 2, 8960, 151936, 131072, True, _rope(1e6, 1e-6, use_sliding_window=False),
        ),
        Architecture(
            "phi-2", "microsoft/phi-2", "phi", PHI, 2560, 32, 32, 32, 10240, 51200, 2048, False,
            {"rope_theta": 1e4, "partial_rotary_factor": 0.4, "layer_norm_eps": 1e-5,
             "hidden_act": "gelu_new"},
        ),
        Architecture(
            "llama2-7b", "meta-llama/Llama-2-7b-hf", "llama", LLAMA,
            4096, 32, 32, 32, 11008, 32000, 4096, False, _rope(1e4),
        ),
        Architecture(
            "llama2-13b", "meta-llama/Llama-2-13b-hf", "llama", LLAMA,
            5120, 40, 40, 40, 13824, 32000, 4096, False, _rope(1e4),
        ),
        Architecture(
            "mistral-7b", "mistralai/Mistral-7B-v0.1", "mistral", LLAMA,
            4096, 32, 32, 8, 14336, 32000, 32768, False, _rope(1e4, sliding_window=None),
        ),
        Architecture(
            "llama3-8b", "meta-llama/Meta-Llama-3-8B", "llama", LLAMA,
            4096, 32, 32, 8, 14336, 128256, 8192, False, _rope(5e5),
        ),
        _reference(),
    )
}  # fmt: skip


def get_architecture(name: str | Architecture) -> Architecture:
    """The catalogued architecture ``name`` (an architecture is returned as is); unknown names list them."""
    if isinstance(name, Architecture):
        return name
    if name not in CATALOGUE:
        raise ConfigError(
            f"model={name!r} is not in the catalogue{suggest(name, CATALOGUE)}; allowed: {sorted(CATALOGUE)}"
        )
    return CATALOGUE[name]
