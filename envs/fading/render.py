"""Rendering of the fading environment: a one-line text state and a picture (matplotlib, headless).

The picture shows the layer stack with the split (device layers below the line, edge layers above),
the episode's SNR trace with the chosen splits, and the last request's reward terms. It is drawn once
per figure size and episode length; a frame redraws only the changing artists (blitting on the Agg
canvas). Measured on the shared 2-core development machine (load about 2.4), 60 frames of
``splitgym/FadingSplit-v0``: median 9.6 ms, maximum 23 ms a frame; the first frame of a figure (its full
draw) 0.77 s; a full matplotlib draw of every frame, as before, took a median 369 ms there.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.fading.world import OBS_SNR_RANGE_DB, TERMS

if TYPE_CHECKING:
    from splitgym.envs.fading.env import FadingSplitEnv

__all__ = ["render_ansi", "render_rgb"]


def render_ansi(env: FadingSplitEnv) -> str:
    """``step 12 | d 143 m NLOS | SNR 7.9 dB (est 8.4) | split 3/12 | r 0.612 ...`` for the current state."""
    req = env.request()
    last = env.trace[-1] if env.trace else None
    head = (
        f"step {len(env.trace)} | d {float(req.distance_m):.0f} m {'LOS' if bool(req.los) else 'NLOS'} | "
        f"SNR {float(req.snr_db):.1f} dB (est {float(req.snr_est_db):.1f}) | prompt {int(req.prompt)} | "
        f"load dev {float(req.device_load):.2f} edge {float(req.edge_load):.2f}"
    )
    if last is None:
        return head
    return f"{head} | last split {last[1]}/{env.num_layers} r {last[2]:.3f}"


_SNR_AXIS_DB = OBS_SNR_RANGE_DB  # the SNR panel's fixed range: the observation's (values outside clipped)
_DEVICE, _EDGE, _SNR, _GOOD, _BAD = "#E69F00", "#0072B2", "#009E73", "#009E73", "#D55E00"  # Okabe-Ito
_CACHE_SIZE = 8


class _Frame:
    """One figure, drawn in full once; a frame restores its background and redraws only the artists
    that change (matplotlib's blitting), so a frame costs a few milliseconds instead of a full draw.

    The axes limits are fixed (the layer count, ``max_steps`` requests, the SNR range above, reward terms
    within ``+-term_limit``); a value beyond the terms' range rebuilds the figure with a wider one."""

    def __init__(self, width: int, height: int, num_layers: int, max_steps: int, term_limit: float) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        dpi = 100
        self.fig = fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
        self.canvas = FigureCanvasAgg(fig)
        self.size = (width, height)
        self.num_layers, self.max_steps, self.term_limit = num_layers, max_steps, term_limit
        ax_stack, ax_trace, ax_terms = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 3, 2]})
        L = num_layers
        self.bars = ax_stack.barh(np.arange(1, L + 1), np.ones(L), color=_EDGE, edgecolor="white").patches
        ax_stack.set_ylim(0.5, L + 0.5)
        ax_stack.set_xticks([])
        ax_stack.set_ylabel("decoder layer (orange: device, blue: edge)", fontsize=7)
        self.split_line = ax_stack.axhline(0.5, color="black", lw=2)
        self.stack_title = ax_stack.set_title("split 0/0", fontsize=9)
        steps = np.arange(1, max_steps + 1, dtype=np.float64)
        (self.snr,) = ax_trace.plot(steps[:1], [np.nan], color=_SNR, lw=1)
        ax_trace.set_xlim(0.5, max_steps + 0.5)
        ax_trace.set_ylim(*_SNR_AXIS_DB)
        ax_trace.set_ylabel("SNR (dB)", color=_SNR, fontsize=8)
        ax_trace.set_xlabel("request", fontsize=8)
        ax_trace.set_title("channel and split", fontsize=9)
        ax_trace.tick_params(labelsize=7)
        twin = ax_trace.twinx()
        (self.splits,) = twin.plot(steps[:1], [np.nan], color=_DEVICE, lw=1, drawstyle="steps-mid")
        twin.set_ylim(-0.5, L + 0.5)
        twin.set_ylabel("split (device layers)", color=_DEVICE, fontsize=8)
        twin.tick_params(labelsize=7)
        self.term_bars = ax_terms.barh(list(TERMS), np.zeros(len(TERMS)), color=_GOOD).patches
        ax_terms.axvline(0, color="black", lw=0.8)
        ax_terms.set_xlim(-term_limit, term_limit)
        ax_terms.set_title("reward terms (last request)", fontsize=9)
        ax_terms.tick_params(labelsize=7)
        fig.tight_layout()
        self.animated = [
            *self.bars,
            self.split_line,
            self.stack_title,
            self.snr,
            self.splits,
            *self.term_bars,
        ]
        for artist in self.animated:
            artist.set_animated(True)
        self.canvas.draw()  # type: ignore[no-untyped-call,unused-ignore]
        self.background = self.canvas.copy_from_bbox(fig.bbox)  # type: ignore[no-untyped-call,unused-ignore]

    def draw(self, env: FadingSplitEnv) -> NDArray[np.uint8]:
        L = self.num_layers
        split = int(env.trace[-1][1]) if env.trace else 0
        for i, bar in enumerate(self.bars):
            bar.set_facecolor(_DEVICE if i < split else _EDGE)
        self.split_line.set_ydata([split + 0.5, split + 0.5])
        self.stack_title.set_text(f"split {split}/{L}")
        trace = env.trace[-self.max_steps :]
        steps = np.arange(1, len(trace) + 1, dtype=np.float64)
        snr = np.clip(np.array([t[0] for t in trace], dtype=np.float64), *_SNR_AXIS_DB)
        self.snr.set_data(steps, snr)
        self.splits.set_data(steps, np.array([t[1] for t in trace], dtype=np.float64))
        for name, bar in zip(TERMS, self.term_bars, strict=True):
            value = float(env.last_info.get(name, 0.0))
            bar.set_width(value)
            bar.set_facecolor(_GOOD if value >= 0 else _BAD)
        self.canvas.restore_region(self.background)  # type: ignore[no-untyped-call,unused-ignore]
        for artist in self.animated:
            artist.axes.draw_artist(artist)
        frame = np.asarray(self.canvas.buffer_rgba())[..., :3]  # type: ignore[no-untyped-call,unused-ignore]
        return np.ascontiguousarray(frame)


_frames: dict[tuple[int, int, int, int], _Frame] = {}
_lock = threading.Lock()


def _term_limit(env: FadingSplitEnv, current: float) -> float:
    """The reward-term panel's half-range: ``current`` while every term fits, else the next power of
    two above the largest magnitude."""
    largest = max((abs(float(env.last_info.get(n, 0.0))) for n in TERMS), default=0.0)
    if largest <= current:
        return current
    return float(2.0 ** np.ceil(np.log2(largest)))


def render_rgb(env: FadingSplitEnv, width: int = 900, height: int = 360) -> NDArray[np.uint8]:
    """An RGB frame ``(height, width, 3)`` of the layer stack, the SNR trace and the reward terms.

    The figure for a given size, layer count and episode length is drawn once and kept (up to
    8 of them per process); each frame redraws only what changed (:class:`_Frame`)."""
    max_steps = int(getattr(getattr(env, "config", None), "max_steps", 0) or 100)
    key = (width, height, int(env.num_layers), max_steps)
    with _lock:
        cached = _frames.get(key)
        limit = _term_limit(env, cached.term_limit if cached is not None else 1.0)
        if cached is None or limit != cached.term_limit:
            if len(_frames) >= _CACHE_SIZE:
                _frames.pop(next(iter(_frames)))
            cached = _frames[key] = _Frame(width, height, int(env.num_layers), max_steps, limit)
        return cached.draw(env)
