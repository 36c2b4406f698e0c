"""Measure a ``layer_timing`` profile of a catalogued model on this host's CPU (dossier §1.2–§1.4).

Method:

* The model is built from its config with random weights (normal, std 0.02, the transformers default
  init) in eval mode under ``torch.inference_mode()``, batch 1, ``attn_implementation="sdpa"``. Only
  ``probe_layers`` decoder layers are materialised (all decoder layers have the same shape), and the LM
  head is tied to the embedding: its compute is the same shape, and one ``V×d`` matrix instead of two keeps
  a 7–13 B probe within a few GB.
* Pieces are timed with forward hooks (:mod:`.spans`) during real forward passes: prefill is one forward
  of S prompt tokens with ``use_cache=True``; decode at context c is an untimed prefill of c−1 tokens and
  then timed one-token forwards with the returned cache, the cache being cropped back by one token after
  each. Every forward keeps the logits of the last token only (``logits_to_keep=1``), as generation does.
* After ``warmup`` untimed forwards, ``repeats`` timed ones give median, p10 and p90. The layer statistic
  pools the probe layers, leaving out layer 0 when there are at least 3 (it runs first after the set-up
  and absorbs cache warm-up effects).
* Self-check for small models: the full-depth model's whole forward is timed without hooks at the largest
  prompt and context, and ``consistency_ratio = (embed + L·layer + head) / whole_forward`` per phase goes
  into the metadata (it should lie within 0.85–1.15).
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from splitgym.errors import ConfigError
from splitgym.profiles.timing.catalogue import Architecture, get_architecture
from splitgym.profiles.timing.precision import PRECISION_BYTES, precision
from splitgym.profiles.timing.spans import ForwardSpans, SpanRecorder
from splitgym.profiles.timing.table import AXES, CATEGORIES, UNITS, timing_table, write_profile

__all__ = ["TimingSettings", "measure_timings", "profile_timings"]

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
DEFAULT_PROMPTS = (32, 128, 512)
DEFAULT_CONTEXTS = (128, 512, 1024)
CONSISTENCY_MAX_PARAMS = 200_000_000  # the full-depth self-check runs by default up to this model size
T = TypeVar("T")


def _lengths(
    values: Sequence[int], defaults: tuple[int, ...], parameter: str, low: int, arch: Architecture
) -> tuple[int, ...]:
    if not values:  # the defaults that fit the model's positions
        return tuple(n for n in defaults if n <= arch.max_positions) or (arch.max_positions,)
    bad = [v for v in values if not isinstance(v, int) or not low <= v <= arch.max_positions]
    if bad:
        raise ConfigError(
            f"{parameter}={list(values)!r}: need integers in "
            f"[{low}, {arch.max_positions}] (the maximum is {arch.name}'s number of positions)"
        )
    return tuple(sorted(set(values)))


def _at_least(value: int | None, parameter: str, low: int) -> None:
    if value is not None and (not isinstance(value, int) or value < low):
        raise ConfigError(f"{parameter}={value!r} is not allowed; need an integer >= {low}")


@dataclass(frozen=True)
class TimingSettings:
    """What to measure: prompt lengths (prefill), context lengths (decode), repeats and run settings."""

    prompt_lengths: Sequence[int] = ()  # empty: DEFAULT_PROMPTS up to the model's positions
    context_lengths: Sequence[int] = ()  # empty: DEFAULT_CONTEXTS up to the model's positions
    repeats: int = 10
    warmup: int = 3
    probe_layers: int = 3
    threads: int | None = None  # None: torch's current setting
    dtype: str = "float32"
    consistency: bool | None = None  # None: only for models up to CONSISTENCY_MAX_PARAMS parameters
    progress: bool = False

    def checked(self, arch: Architecture) -> TimingSettings:
        """These settings validated for ``arch`` (lengths sorted and unique, names canonical, threads set)."""
        _at_least(self.repeats, "repeats", 1)
        _at_least(self.warmup, "warmup", 0)
        _at_least(self.probe_layers, "probe_layers", 1)
        _at_least(self.threads, "threads", 1)
        return replace(
            self,
            prompt_lengths=_lengths(self.prompt_lengths, DEFAULT_PROMPTS, "prompt_lengths", 1, arch),
            context_lengths=_lengths(self.context_lengths, DEFAULT_CONTEXTS, "context_lengths", 2, arch),
            probe_layers=min(self.probe_layers, arch.layers),
            threads=self.threads or torch.get_num_threads(),
            dtype=precision(self.dtype, "dtype", DTYPES),
            consistency=arch.total_params() <= CONSISTENCY_MAX_PARAMS
            if self.consistency is None
            else self.consistency,
        )


def _build(arch: Architecture, depth: int, dtype: str) -> Any:
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    config = arch.build_config(depth, tie_word_embeddings=True)
    model = AutoModelForCausalLM.from_config(  # type: ignore[no-untyped-call]
        config, attn_implementation="sdpa", dtype=DTYPES[dtype]
    )
    return model.eval()


def _stepper(model: Any, phase: str, tokens: int) -> Callable[[], float]:
    """Per call, one real forward of ``phase`` at ``tokens`` (module doc); returns its wall time (s)."""
    ids = torch.randint(model.config.vocab_size, (1, tokens), generator=torch.Generator().manual_seed(tokens))
    kwargs: dict[str, Any] = {"use_cache": True, "logits_to_keep": 1}
    if phase == "decode":
        kwargs["past_key_values"] = model(input_ids=ids[:, :-1], **kwargs).past_key_values
        ids = ids[:, -1:]

    def step() -> float:
        start = time.perf_counter()
        model(input_ids=ids, **kwargs)
        wall = time.perf_counter() - start
        if phase == "decode":
            kwargs["past_key_values"].crop(-1)
        return wall

    return step


def _timed(step: Callable[[], T], s: TimingSettings) -> list[T]:
    """The results of ``s.repeats`` calls of ``step`` after ``s.warmup`` discarded ones."""
    return [step() for _ in range(s.warmup + s.repeats)][s.warmup :]


def _stats(values_s: Sequence[float]) -> dict[str, float]:
    p10, median, p90 = np.percentile(np.asarray(values_s) * 1e3, [10, 50, 90])
    return {"median_ms": float(median), "p10_ms": float(p10), "p90_ms": float(p90)}


def _used(spans: ForwardSpans) -> tuple[float, ...]:
    """The probe layers behind the layer statistic: all, or all but layer 0 when there are 3 or more."""
    return spans.layers[1:] if len(spans.layers) >= 3 else spans.layers


def _rows(phase: str, tokens: int, spans: list[ForwardSpans]) -> list[dict[str, Any]]:
    pieces = {
        "embed": [s.embed for s in spans],
        "layer": [t for s in spans for t in _used(s)],
        "head": [s.head for s in spans],
    }
    common = {"phase": phase, "tokens": tokens, "repeats": len(spans)}
    return [{"component": c, **common, **_stats(v)} for c, v in pieces.items()]


def _spans(rec: SpanRecorder, step: Callable[[], float]) -> ForwardSpans:
    step()
    return rec.take()


def _paired(
    rec: SpanRecorder, parts: Callable[[], float], whole: Callable[[], float]
) -> tuple[ForwardSpans, float]:
    return _spans(rec, parts), whole()


def _consistency(arch: Architecture, s: TimingSettings, rec: SpanRecorder, probe: Any) -> dict[str, Any]:
    """Whole forwards of the full-depth model against ``embed + L·layer + head`` of the probe.

    The probe and the full model run alternately; ``ratio`` is the median over these pairs of
    ``(embed + L·layer + head) / whole_forward``, so that a change of the load on the host cancels.
    """
    full = _build(arch, arch.layers, s.dtype)
    result = {}
    for phase, tokens in (("prefill", max(s.prompt_lengths)), ("decode", max(s.context_lengths))):
        parts_step, whole_step = _stepper(probe, phase, tokens), _stepper(full, phase, tokens)
        pairs = _timed(partial(_paired, rec, parts_step, whole_step), s)
        parts = np.array([p.embed + arch.layers * np.median(_used(p)) + p.head for p, _ in pairs]) * 1e3
        whole = np.array([w for _, w in pairs]) * 1e3
        result[phase] = {
            "tokens": tokens,
            "whole_forward_ms": float(np.median(whole)),
            "sum_of_parts_ms": float(np.median(parts)),
            "ratio": float(np.median(parts / whole)),
        }
    return result


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else platform.processor() or platform.machine()


def _metadata(arch: Architecture, s: TimingSettings, name: str) -> dict[str, Any]:
    import transformers

    b = PRECISION_BYTES[s.dtype]
    return {
        "name": name,
        "kind": "layer_timing",
        "source": "measured",
        "model": f"{arch.hf_id} (random weights, {arch.layers} decoder layers)",
        "device": f"CPU {_cpu_name()}, {s.threads} thread(s)",
        "axes": AXES,
        "units": UNITS,
        "categories": CATEGORIES,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
        "architecture": arch.name,
        "dtype": s.dtype,
        "threads": s.threads,
        "attn_implementation": "sdpa",
        "cpu": _cpu_name(),
        "platform": platform.platform(),
        "num_layers": arch.layers,
        "probe_layers": s.probe_layers,
        "layer_statistic": "pooled over repeats and probe layers "
        + ("1.. (layer 0 left out)" if s.probe_layers >= 3 else "0.. (all)"),
        "params_per_layer": arch.params_per_layer,
        "flops_per_token_per_layer": {
            "formula": "2*P_layer + 4*ctx*d_model",
            "2*P_layer": 2 * arch.params_per_layer,
            "4*d_model": 4 * arch.hidden,
        },
        "hidden_bytes_per_token": arch.hidden_bytes_per_token(b),
        "kv_bytes_per_token_per_layer": arch.kv_bytes_per_token(b),
        "settings": {"warmup": s.warmup, "repeats": s.repeats, "logits_to_keep": 1, "batch": 1},
        "method": "forward hooks in real forwards (splitgym.profiles.timing.profiler); LM head tied to the "
        "embedding when probing (same compute shape, one matrix instead of two)",
    }


def measure_timings(
    model: str | Architecture, settings: TimingSettings = TimingSettings(), name: str | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Measure the profile of ``model`` (a catalogue name or an architecture): table and metadata."""
    arch = get_architecture(model)
    s = settings.checked(arch)
    name = name or f"timing_{arch.name}_{s.dtype}_{s.threads}t"
    meta = _metadata(arch, s, name)
    threads = torch.get_num_threads()
    torch.set_num_threads(s.threads or threads)
    load = meta["loadavg_before"] = list(os.getloadavg())
    if load[0] >= (os.cpu_count() or 1):
        warnings.warn(f"host is busy (load {load[0]:.2f}); timings will be inflated", stacklevel=2)
    points = [("prefill", n) for n in s.prompt_lengths] + [("decode", n) for n in s.context_lengths]
    rows: list[dict[str, Any]] = []
    try:
        bar = tqdm(total=len(points) + bool(s.consistency), disable=not s.progress)
        with torch.inference_mode(), bar:
            probe = _build(arch, s.probe_layers, s.dtype)
            with SpanRecorder(probe) as rec:
                for phase, tokens in points:
                    bar.set_description(f"{arch.name} {phase} {tokens}")
                    step = partial(_spans, rec, _stepper(probe, phase, tokens))
                    rows += _rows(phase, tokens, _timed(step, s))
                    bar.update()
                if s.consistency:
                    bar.set_description(f"{arch.name} full-depth consistency check")
                    meta["consistency"] = _consistency(arch, s, rec, probe)
                    meta["consistency_ratio"] = {p: c["ratio"] for p, c in meta["consistency"].items()}
                    bar.update()
    finally:
        torch.set_num_threads(threads)
    meta["loadavg_after"] = list(os.getloadavg())
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes on macOS, KiB on Linux
    meta["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    meta["peak_rss_note"] = "peak resident memory of the whole process (ru_maxrss), not of this run alone"
    return timing_table(rows), meta


def profile_timings(
    model: str | Architecture,
    out_dir: Path,
    *,
    prompt_lengths: Sequence[int] = (),
    context_lengths: Sequence[int] = (),
    repeats: int = TimingSettings.repeats,
    warmup: int = TimingSettings.warmup,
    probe_layers: int = TimingSettings.probe_layers,
    threads: int | None = None,
    dtype: str = TimingSettings.dtype,
    progress: bool = False,
    consistency: bool | None = None,
    name: str | None = None,
) -> Path:
    """Measure ``model`` (see :func:`measure_timings`) and write the profile; returns the CSV path."""
    settings = TimingSettings(
        prompt_lengths, context_lengths, repeats, warmup, probe_layers, threads, dtype, consistency, progress
    )
    table, meta = measure_timings(model, settings, name)
    return write_profile(table, meta, Path(out_dir))
