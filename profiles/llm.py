"""Loading a causal LM from a local folder (the shipped reference model or any Hugging Face checkpoint),
finding its decoder layers, and turning held-out text into token ids. Nothing is ever downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from splitgym.errors import ConfigError

__all__ = ["LoadedLM", "load_causal_lm", "reference_path"]


def reference_path() -> Path:
    """Folder of the shipped reference model (config, safetensors weights, model card)."""
    return Path(str(resources.files("splitgym.profiles") / "data" / "reference"))


@dataclass
class LoadedLM:
    """A causal LM in eval mode, its decoder layers, and how to tokenise text for it."""

    model: Any
    layers: Any
    name: str
    path: Path
    tokenizer: Any | None  # None: byte-level (token = UTF-8 byte)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def encode(self, text: bytes) -> NDArray[np.int64]:
        """Token ids of ``text``: its bytes for a byte-level model, else the checkpoint tokenizer's ids."""
        if self.tokenizer is None:
            return np.frombuffer(text, dtype=np.uint8).astype(np.int64)
        ids = self.tokenizer(text.decode("utf-8", errors="replace"), add_special_tokens=False)["input_ids"]
        return np.asarray(ids, dtype=np.int64)


def _decoder_layers(model: Any) -> Any:
    import torch

    n = int(getattr(model.config, "num_hidden_layers", 0) or getattr(model.config, "n_layer", 0))
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n and n > 0:
            return module
    raise ConfigError(f"cannot find the {n} decoder layers of {type(model).__name__}")


def load_causal_lm(spec: str | Path = "reference", dtype: str = "float32") -> LoadedLM:
    """Load ``"reference"`` or a local Hugging Face causal-LM folder with ``from_pretrained``, offline."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = reference_path() if str(spec) == "reference" else Path(spec)
    if not path.is_dir():
        raise ConfigError(
            f"checkpoint path {str(spec)!r} does not exist (give 'reference' or a local folder)"
        )
    if not (path / "config.json").is_file():
        raise ConfigError(
            f"checkpoint path {str(spec)!r} has no config.json: not a Hugging Face model folder"
        )
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype), local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"checkpoint path {str(spec)!r} is not a loadable causal LM: {first}") from None
    model.eval()  # type: ignore[no-untyped-call]
    tokenizer = None
    if str(spec) != "reference":
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, KeyError):
            if int(model.config.vocab_size) != 256:
                raise ConfigError(
                    f"checkpoint path {str(spec)!r} has no tokenizer and is not byte-level"
                ) from None
    return LoadedLM(
        model=model,
        layers=_decoder_layers(model),
        name=path.name if str(spec) != "reference" else "reference",
        path=path,
        tokenizer=tokenizer,
    )
