"""The ``splitgym profile timings|scale`` work: profile catalogue models on this machine, and scale
measured profiles to device classes; each yields one line per file it wrote."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["profile_models", "scale_profiles"]


def profile_models(
    model: str,
    out: Path,
    prompt_lengths: Sequence[int] = (),
    context_lengths: Sequence[int] = (),
    repeats: int = 10,
    warmup: int = 3,
    probe_layers: int = 3,
    threads: int = 1,
    progress: bool = False,
) -> Iterator[str]:
    """Measure catalogue ``model`` (or ``"all"``) with the hook profiler; a line per written profile."""
    from splitgym.profiles.timing import CATALOGUE, get_architecture, profile_timings

    names = list(CATALOGUE) if model == "all" else [model]
    for name in names:
        get_architecture(name)  # an unknown name lists the catalogue before anything runs
    for name in names:
        start = time.perf_counter()
        path = profile_timings(
            name,
            out,
            prompt_lengths=prompt_lengths,
            context_lengths=context_lengths,
            repeats=repeats,
            warmup=warmup,
            probe_layers=probe_layers,
            threads=threads,
            progress=progress,
        )
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        yield f"{name}: {path} ({time.perf_counter() - start:.0f} s, process peak memory {peak_gb:.2f} GB)"


def scale_profiles(sources: Sequence[str], device: str, weights: str, out: Path) -> Iterator[str]:
    """Scale each measured profile to ``device`` (or ``"all"``) with ``weights``; a line per file."""
    from splitgym.profiles import load_profile
    from splitgym.profiles.timing import DEVICES, get_device, scale_profile, write_profile

    devices = list(DEVICES) if device == "all" else [device]
    for d in devices:
        get_device(d)
    for source in sources:
        measured = load_profile(source)
        for d in devices:
            table, meta = scale_profile(measured, d, weights)
            yield f"{measured.name} -> {d}: {write_profile(table, meta, out / d)}"
