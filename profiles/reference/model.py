"""Architecture of the reference LLM: the Llama architecture (RMSNorm, rotary positions, gated SiLU MLP)
at a size that trains in about an hour on 2 CPU cores, over a byte-level vocabulary (256 tokens, no
tokenizer to download).
"""

from __future__ import annotations

from typing import Any

__all__ = ["REFERENCE_ARCH", "reference_config"]

# Published-style configuration numbers, as for the catalogue's other models.
REFERENCE_ARCH: dict[str, Any] = {
    "model_type": "llama",
    "vocab_size": 256,
    "hidden_size": 160,
    "intermediate_size": 432,
    "num_hidden_layers": 12,
    "num_attention_heads": 5,
    "num_key_value_heads": 5,
    "max_position_embeddings": 256,  # the trained context (positions beyond it are never seen)
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
    "bos_token_id": None,
    "eos_token_id": None,
    "pad_token_id": None,
}


def reference_config(**overrides: Any) -> Any:
    """A ``transformers.LlamaConfig`` of the reference model (``overrides`` change any field)."""
    from transformers import LlamaConfig

    values = {k: v for k, v in REFERENCE_ARCH.items() if k != "model_type"} | overrides
    return LlamaConfig(**values)
