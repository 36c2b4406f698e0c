"""Adaptive layer tuning (Edge-LLM, Yu et al., arXiv 2406.15758): tune one shallow window of decoder layers
per iteration, with the loss taken at the exit right after the window, bottom-up in sequential phases.

A window ``(first, last)`` (1-based, inclusive) trains layers ``first..last`` and the head of exit ``last``
(exit ``L`` uses the model's own frozen norm + ``lm_head``). In a window step:

* the embedding and layers ``1..first-1`` run under ``torch.no_grad`` (frozen, nothing saved for backward);
* layers ``first..last`` run with autograd and their parameters are trainable;
* the forward STOPS after layer ``last`` (layers ``last+1..L`` never run), and the loss is the next-token
  cross-entropy (nats) of ``W_last · norm(h_last)``.

So the activations saved for backward scale with the window's depth ``w`` instead of ``L``: about
``w / L`` of full-depth tuning (plus the exit's logits, which both pay). The released code ran the whole
model in every step, which stores the activations of every layer from the window up to ``L`` (a 1.09x saving
in its first phase); ``truncate=False`` reproduces that for comparison.

"Vanilla tuning" (:func:`full_depth_step`) trains every parameter through all ``L`` layers with the loss at
the model's output. Phases are bottom-up, so when window ``j`` trains, every layer below it already has its
final weights: each exit sees at inference exactly the context it was trained in.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from splitgym.errors import ConfigError
from splitgym.profiles.compression.exits import ExitHeads, layer_outputs
from splitgym.profiles.llm import LoadedLM

__all__ = [
    "activation_memory",
    "full_depth_loss",
    "full_depth_step",
    "iteration_time",
    "phase_steps",
    "trainable",
    "tune",
    "tuning_memory_table",
    "tuning_params",
    "tuning_step",
    "window_loss",
    "window_schedule",
]

Window = tuple[int, int]


def window_schedule(num_layers: int, window: int) -> list[Window]:
    """Bottom-up windows of ``window`` layers, ``(first_layer, last_layer)`` 1-based and inclusive; the last
    one is shorter when ``window`` does not divide ``num_layers``:
    ``window_schedule(12, 3) == [(1, 3), (4, 6), (7, 9), (10, 12)]``."""
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= num_layers:
        raise ConfigError(
            f"window {window!r} is not a layer count the model has; window must be in 1..{num_layers}"
        )
    return [(first, min(first + window - 1, num_layers)) for first in range(1, num_layers + 1, window)]


def phase_steps(max_steps: int, phases: int) -> list[int]:
    """``max_steps`` split evenly over ``phases`` sequential phases, the remainder going to the last phase
    (the released code's schedule)."""
    if max_steps < phases or phases < 1:
        raise ConfigError(f"max_steps must be >= the number of phases ({phases}), got {max_steps}")
    base = max_steps // phases
    return [base] * (phases - 1) + [max_steps - base * (phases - 1)]


def _check_window(lm: LoadedLM, heads: ExitHeads, window: Window) -> Window:
    first, last = window
    if not 1 <= first <= last <= lm.num_layers:
        raise ConfigError(f"window {window} must satisfy 1 <= first <= last <= {lm.num_layers}")
    if last not in heads.exits:
        raise ConfigError(
            f"window {window} ends at layer {last}, which has no exit; the exits are {list(heads.exits)}"
        )
    return int(first), int(last)


def tuning_params(lm: LoadedLM, heads: ExitHeads, window: Window | None) -> list[nn.Parameter]:
    """The trainable parameters: the window's layers and its exit head; every model parameter for ``None``."""
    if window is None:
        return list(lm.model.parameters())
    first, last = _check_window(lm, heads, window)
    params = [p for i in range(first - 1, last) for p in lm.layers[i].parameters()]
    if last in heads.trainable_exits:
        params += list(heads.linear(last).parameters())
    return params


@contextmanager
def trainable(lm: LoadedLM, heads: ExitHeads, window: Window | None) -> Iterator[list[nn.Parameter]]:
    """Within the block only :func:`tuning_params` require grad (everything else, the final norm and
    ``lm_head`` included, is frozen); the previous ``requires_grad`` flags are restored afterwards."""
    every = list(lm.model.parameters()) + list(heads.parameters())
    saved = [p.requires_grad for p in every]
    try:
        for p in every:
            p.requires_grad_(False)
        params = tuning_params(lm, heads, window)
        for p in params:
            p.requires_grad_(True)
        yield params
    finally:
        for p, flag in zip(every, saved, strict=True):
            p.requires_grad_(flag)


def _next_token_loss(logits: Tensor, ids: Tensor) -> Tensor:
    return nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1)
    )


def window_loss(lm: LoadedLM, heads: ExitHeads, ids: Tensor, window: Window, truncate: bool = True) -> Tensor:
    """Cross-entropy at exit ``last`` with layers below ``first`` under ``no_grad``; the forward stops at the
    exit (``truncate=False``: it runs to the model's end, as the released code did, and the graph of the
    layers above the exit is built too)."""
    first, last = _check_window(lm, heads, window)
    hidden = layer_outputs(lm, ids, [last], stop=truncate, grad_from=first)[last]
    return _next_token_loss(heads(last, hidden), ids)


def full_depth_loss(lm: LoadedLM, ids: Tensor) -> Tensor:
    """Cross-entropy of the model's own output after all ``L`` layers (vanilla tuning)."""
    return _next_token_loss(lm.model(input_ids=ids, use_cache=False).logits, ids)


def tuning_step(
    lm: LoadedLM, heads: ExitHeads, ids: Tensor, window: Window, optimizer: torch.optim.Optimizer
) -> float:
    """One window-tuning iteration on ``ids`` (``[batch, tokens]``): forward to the exit, backward through
    the window only, ``optimizer.step()``. Returns the loss (nats per token)."""
    with trainable(lm, heads, window):
        loss = window_loss(lm, heads, ids, window)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    return float(loss.detach())


def full_depth_step(lm: LoadedLM, ids: Tensor, optimizer: torch.optim.Optimizer) -> float:
    """One vanilla-tuning iteration: every parameter trainable, forward and backward through all layers."""
    every = list(lm.model.parameters())
    saved = [p.requires_grad for p in every]
    try:
        for p in every:
            p.requires_grad_(True)
        loss = full_depth_loss(lm, ids)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    finally:
        for p, flag in zip(every, saved, strict=True):
            p.requires_grad_(flag)
    return float(loss.detach())


def _training_loss(
    lm: LoadedLM, heads: ExitHeads, ids: Tensor, window: Window | None, truncate: bool
) -> Tensor:
    return full_depth_loss(lm, ids) if window is None else window_loss(lm, heads, ids, window, truncate)


def activation_memory(
    lm: LoadedLM, heads: ExitHeads, ids: Tensor, window: Window | None, truncate: bool = True
) -> int:
    """Bytes saved for backward by one training forward of ``ids`` (window tuning, or full depth for
    ``None``): the sum of ``nbytes`` of the unique storages (deduplicated by ``data_ptr``) that autograd
    packs through ``torch.autograd.graph.saved_tensors_hooks``, leaving out the parameters' own storages
    (weights are memory the model holds anyway, not activations)."""
    param_ptrs = {p.untyped_storage().data_ptr() for p in (*lm.model.parameters(), *heads.parameters())}
    saved: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in param_ptrs:
            saved[ptr] = max(saved.get(ptr, 0), int(storage.nbytes()))
        return t

    def unpack(t: Tensor) -> Tensor:
        return t

    with trainable(lm, heads, window), torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        loss = _training_loss(lm, heads, ids, window, truncate)
    del loss
    return sum(saved.values())


def iteration_time(
    lm: LoadedLM,
    heads: ExitHeads,
    ids: Tensor,
    window: Window | None,
    repeats: int = 5,
    truncate: bool = True,
) -> float:
    """Median wall time in seconds of one training iteration's forward + backward (after one warm-up), the
    same computation :func:`tuning_step` / :func:`full_depth_step` does. The optimizer update is left out
    so that the model is unchanged; the gradients are cleared afterwards."""
    if repeats < 1:
        raise ConfigError(f"repeats must be >= 1, got {repeats}")
    times = []
    with trainable(lm, heads, window) as params:
        for i in range(repeats + 1):
            start = time.perf_counter()
            loss = _training_loss(lm, heads, ids, window, truncate)
            loss.backward()  # type: ignore[no-untyped-call]
            if i > 0:
                times.append(time.perf_counter() - start)
            for p in params:
                p.grad = None
    return statistics.median(times)


def tuning_memory_table(
    lm: LoadedLM, heads: ExitHeads, ids: Tensor, window: int = 3, repeats: int = 5
) -> pd.DataFrame:
    """Activation memory and time per iteration of every window of :func:`window_schedule` (truncated at
    its exit, and as the released code ran it, to the model's end), and of full-depth tuning.

    ``memory_saving = full-depth bytes / bytes`` and ``speedup = full-depth time / time``.
    """
    rows: list[dict[str, Any]] = []

    def add(config: str, win: Window | None, truncate: bool) -> None:
        first, last = win if win is not None else (1, lm.num_layers)
        n_params = sum(p.numel() for p in tuning_params(lm, heads, win))
        rows.append(
            {
                "config": config,
                "first_layer": first,
                "exit": last,
                "layers_forward": last if truncate else lm.num_layers,
                "layers_backprop": last - first + 1,
                "trainable_params": int(n_params),
                "activation_bytes": activation_memory(lm, heads, ids, win, truncate),
                "time_ms": 1000.0 * iteration_time(lm, heads, ids, win, repeats, truncate),
            }
        )

    add("full depth (vanilla)", None, True)
    for win in window_schedule(lm.num_layers, window):
        add(f"window {win[0]}-{win[1]}", win, True)
    for win in window_schedule(lm.num_layers, window):
        if win[1] < lm.num_layers:
            add(f"window {win[0]}-{win[1]}, full forward (released code)", win, False)
    frame = pd.DataFrame(rows)
    full = frame.iloc[0]
    frame["activation_mib"] = frame["activation_bytes"] / 2**20
    frame["memory_saving"] = full["activation_bytes"] / frame["activation_bytes"]
    frame["speedup"] = full["time_ms"] / frame["time_ms"]
    frame["tokens"] = int(ids.numel())
    return frame


def tune(
    lm: LoadedLM,
    heads: ExitHeads,
    ids: NDArray[np.int64] | Tensor,
    window: int = 3,
    steps_per_phase: int | Sequence[int] = 50,
    lr: float = 1e-4,
    seed: int = 0,
    batch: int = 8,
    seq_len: int = 256,
    progress: bool = False,
) -> list[dict[str, float]]:
    """Sequential bottom-up adaptive layer tuning of ``lm`` and ``heads`` in place: one phase per window of
    :func:`window_schedule`, each of ``steps_per_phase`` :func:`tuning_step` iterations (one number for every
    phase, or one per phase, e.g. :func:`phase_steps`) with a fresh AdamW over that window's parameters, on
    random ``seq_len``-token windows of ``ids``. Returns one history row per step."""
    schedule = window_schedule(lm.num_layers, window)
    for win in schedule:
        _check_window(lm, heads, win)
    steps = [steps_per_phase] * len(schedule) if isinstance(steps_per_phase, int) else list(steps_per_phase)
    if len(steps) != len(schedule) or any(s < 0 for s in steps):
        raise ConfigError(f"steps_per_phase must be >= 0 for each of the {len(schedule)} phases, got {steps}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise ConfigError(f"lr must be a finite number > 0, got {lr!r}")
    data = torch.as_tensor(np.asarray(ids, dtype=np.int64)).reshape(-1)
    if len(data) <= seq_len:
        raise ConfigError(f"ids has {len(data)} tokens, not more than one window of {seq_len}")
    rng = np.random.default_rng(seed)
    offsets = torch.arange(seq_len)
    history: list[dict[str, float]] = []
    for phase, (win, n) in enumerate(zip(schedule, steps, strict=True)):
        optim = torch.optim.AdamW(tuning_params(lm, heads, win), lr=lr, weight_decay=0.0)
        for step in range(n):
            starts = torch.from_numpy(rng.integers(0, len(data) - seq_len + 1, size=batch))
            loss = tuning_step(lm, heads, data[starts[:, None] + offsets], win, optim)
            history.append(
                {"phase": float(phase), "first": float(win[0]), "exit": float(win[1]), "step": step + 1.0}
                | {"loss": loss}
            )
        if progress and n:
            print(
                f"phase {phase + 1}/{len(schedule)} window {win[0]}-{win[1]}: loss {history[-1]['loss']:.3f}"
            )
    return history
