"""Hook-based timing of the pieces of one forward pass of a Hugging Face causal LM.

Forward pre/post hooks stamp ``time.perf_counter()``; no layer is ever called by hand, so the timing works
whatever arguments a transformers version passes between layers (dossier §1.3, §1.6). Per forward, in s:

* ``embed = pre(layer 0) − pre(input embedding)``: the token (and position) embedding plus the set-up the
  model does before its first layer (cache object, causal mask, rotary tables);
* ``layer i = post(layer i) − pre(layer i)``;
* ``head = post(LM head) − pre(final norm)``: the final norm, the slice to the kept logits and the LM head.

The modules are found generically: ``get_input_embeddings()``, ``get_output_embeddings()``, the
``ModuleList`` of ``config.num_hidden_layers`` decoder layers of ``base_model`` and its final-norm attribute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any

from torch import nn

from splitgym.errors import ConfigError

__all__ = ["ForwardSpans", "SpanRecorder"]

_FINAL_NORMS = ("norm", "ln_f", "final_layernorm", "final_layer_norm")


@dataclass(frozen=True)
class ForwardSpans:
    """Durations (s) of the pieces of one forward: the embedding, each decoder layer, norm plus LM head."""

    embed: float
    layers: tuple[float, ...]
    head: float


def _parts(model: Any) -> tuple[nn.Module, nn.ModuleList, nn.Module, nn.Module]:
    base, depth = model.base_model, model.config.num_hidden_layers
    layers = [m for m in base.children() if isinstance(m, nn.ModuleList) and len(m) == depth]
    norms = [getattr(base, a) for a in _FINAL_NORMS if isinstance(getattr(base, a, None), nn.Module)]
    if not layers or not norms:
        raise ConfigError(f"model={type(model).__name__}: cannot find its decoder layers and final norm")
    return model.get_input_embeddings(), layers[0], norms[0], model.get_output_embeddings()


class SpanRecorder:
    """Context manager that hooks ``model`` and hands out the :class:`ForwardSpans` of each forward."""

    def __init__(self, model: Any) -> None:
        self._embed, self._layers, self._norm, self._head = _parts(model)
        self._marks: dict[str, float] = {}
        self._handles: list[Any] = []

    def _mark(self, key: str, *_: object) -> None:
        self._marks[key] = time.perf_counter()

    def __enter__(self) -> SpanRecorder:
        pre = [(self._embed, "embed"), (self._norm, "norm")]
        pre += [(layer, f"in{i}") for i, layer in enumerate(self._layers)]
        post = [(self._head, "head")] + [(layer, f"out{i}") for i, layer in enumerate(self._layers)]
        self._handles = [m.register_forward_pre_hook(partial(self._mark, k)) for m, k in pre]
        self._handles += [m.register_forward_hook(partial(self._mark, k)) for m, k in post]
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def take(self) -> ForwardSpans:
        """The spans of the forward that just ran (its marks are then cleared)."""
        m = self._marks
        layers = tuple(m[f"out{i}"] - m[f"in{i}"] for i in range(len(self._layers)))
        spans = ForwardSpans(m["in0"] - m["embed"], layers, m["head"] - m["norm"])
        m.clear()
        return spans
