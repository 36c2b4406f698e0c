"""The live quality model: a real causal LM on held-out text, its hidden state corrupted at the split.

``evaluate(split, level)`` runs the model on ``n_tokens`` of held-out text (non-overlapping windows of
``window`` tokens) with a forward hook on decoder layer ``split`` that replaces the layer's output with
the channel operator's corruption of it, and returns perplexity ``exp(mean NLL)`` and next-token accuracy,
clean and corrupted. Split 0 sends the prompt to the edge losslessly and split L runs everything on the
device: neither crosses the channel, so both equal the clean model.

Quality ``Q = 1 - PPL / PPL_clean`` (relative perplexity improvement against the clean model; 0 when
nothing is lost, negative when the channel hurts), the same quantity as the paper's table. It counts its
calls, evaluated points and wall time: it is the expensive evaluation a surrogate replaces.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError
from splitgym.profiles.llm import LoadedLM, load_causal_lm
from splitgym.profiles.quality.corruption import ChannelOperator, make_operator

__all__ = ["LiveQualityModel", "held_out_text"]


def held_out_text() -> bytes:
    """The reference corpus's held-out validation text (whole standard-library files)."""
    from splitgym.profiles.reference.corpus import load_corpus

    return load_corpus().validation.tobytes()


class LiveQualityModel:
    """Quality of a real LLM whose hidden state crosses a corrupting channel after layer ``split``."""

    def __init__(
        self,
        model: str | Path | LoadedLM = "reference",
        operator: str | ChannelOperator = "erasure",
        text: bytes | None = None,
        n_tokens: int = 2048,
        window: int = 256,
        seed: int = 0,
        **operator_params: Any,
    ) -> None:
        if n_tokens < window or window < 2:
            raise ConfigError(f"n_tokens ({n_tokens}) must be >= window ({window}) and window >= 2")
        self.lm = model if isinstance(model, LoadedLM) else load_causal_lm(model)
        self.operator = make_operator(operator, **operator_params)
        ids = self.lm.encode(text if text is not None else held_out_text())
        n = (min(len(ids), n_tokens) // window) * window
        if n == 0:
            raise ConfigError(f"held-out text has {len(ids)} tokens, fewer than one window of {window}")
        import torch

        self._ids = torch.from_numpy(ids[:n]).view(-1, window)
        self.seed = seed
        self.calls = 0
        self.points = 0
        self.seconds = 0.0
        self._clean: dict[str, float] | None = None
        self._clamp: dict[int, float] = {}

    # -- QualityModel protocol -------------------------------------------------------------------
    @property
    def level_name(self) -> str:
        return self.operator.level_name

    @property
    def splits(self) -> NDArray[np.int64]:
        return np.arange(self.lm.num_layers + 1, dtype=np.int64)

    @property
    def num_tokens(self) -> int:
        return int(self._ids.numel())

    def quality(self, split: int, level: float) -> float:
        return self.evaluate(split, level)["quality"]

    def quality_batch(self, splits: ArrayLike, levels: ArrayLike) -> NDArray[np.float64]:
        s, lv = np.broadcast_arrays(np.asarray(splits), np.asarray(levels, dtype=np.float64))
        out = [self.quality(int(a), float(b)) for a, b in zip(s.ravel(), lv.ravel(), strict=True)]
        return np.asarray(out, dtype=np.float64).reshape(s.shape)

    # -- evaluation ------------------------------------------------------------------------------
    def _run(self, hook_layer: int | None, hook: Any) -> dict[str, float]:
        import torch

        handle = self.lm.layers[hook_layer].register_forward_hook(hook) if hook_layer is not None else None
        nll, correct, count = 0.0, 0, 0
        try:
            with torch.inference_mode():
                logits = self.lm.model(input_ids=self._ids).logits[:, :-1].float()
                target = self._ids[:, 1:]
                logp = torch.log_softmax(logits, dim=-1)
                nll = float(-logp.gather(-1, target[..., None]).sum())
                correct = int((logits.argmax(-1) == target).sum())
                count = target.numel()
        finally:
            if handle is not None:
                handle.remove()
        mean = nll / count
        if not math.isfinite(mean):
            raise ConfigError("the corrupted forward pass gave a non-finite loss")  # sanitisation failed
        return {"perplexity": math.exp(min(mean, 700.0)), "accuracy": correct / count}

    def clean(self) -> dict[str, float]:
        """Perplexity and accuracy of the uncorrupted model (computed once), and each split's clean
        largest hidden-state magnitude (the receiver's calibrated clamp)."""
        if self._clean is None:
            handles = []

            def record(index: int) -> Any:
                def hook(module: Any, args: Any, output: Any) -> None:
                    tensor = output[0] if isinstance(output, tuple) else output
                    self._clamp[index + 1] = float(tensor.abs().max())

                return hook

            for i, layer in enumerate(self.lm.layers):
                handles.append(layer.register_forward_hook(record(i)))
            try:
                self._clean = self._run(None, None)
            finally:
                for h in handles:
                    h.remove()
        return self._clean

    def _check(self, split: int, level: float) -> None:
        if (
            isinstance(split, bool)
            or not isinstance(split, (int, np.integer))
            or not 0 <= split <= self.lm.num_layers
        ):
            raise ConfigError(f"split must be an integer in [0, {self.lm.num_layers}], got {split!r}")

    def evaluate(self, split: int, level: float, seed: int | None = None) -> dict[str, float]:
        """Perplexity, accuracy and quality at ``split`` and channel ``level``, with their clean values.

        The corruption draws from ``torch.Generator().manual_seed(seed)``; by default the seed is
        ``self.seed + calls`` so repeated calls give independent draws and a seeded run reproduces.
        """
        import torch

        self._check(split, level)
        start = time.perf_counter()
        clean = self.clean()
        gen = torch.Generator().manual_seed(int(self.seed + self.calls if seed is None else seed))
        if split in (0, self.lm.num_layers):
            # Nothing crosses the channel; still validate the level for a clear error on bad input.
            self.operator.apply(torch.zeros(1, 1, 1), level, gen)
            result = dict(clean)
        else:
            bound = self._clamp.get(split)

            def corrupt(module: Any, args: Any, output: Any) -> Any:
                if isinstance(output, tuple):
                    return (self.operator.apply(output[0], level, gen, bound), *output[1:])
                return self.operator.apply(output, level, gen, bound)

            result = self._run(split - 1, corrupt)
        self.calls += 1
        self.points += 1
        self.seconds += time.perf_counter() - start
        return {
            "perplexity": result["perplexity"],
            "accuracy": result["accuracy"],
            "perplexity_clean": clean["perplexity"],
            "accuracy_clean": clean["accuracy"],
            "quality": 1.0 - result["perplexity"] / clean["perplexity"],
        }

    def counts(self) -> dict[str, float]:
        """``{"calls", "points", "seconds"}`` so far."""
        return {"calls": self.calls, "points": self.points, "seconds": self.seconds}
