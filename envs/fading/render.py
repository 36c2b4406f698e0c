"""Rendering of the fading environment: a one-line text state and a picture (matplotlib, headless).

The picture shows the layer stack with the split (device layers below the line, edge layers above),
the episode's SNR trace with the chosen splits, and the last request's reward terms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.fading.world import TERMS

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


def render_rgb(env: FadingSplitEnv, width: int = 900, height: int = 360) -> NDArray[np.uint8]:
    """An RGB frame ``(height, width, 3)`` of the layer stack, the SNR trace and the reward terms."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax_stack, ax_trace, ax_terms = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 3, 2]})
    L = env.num_layers
    split = env.trace[-1][1] if env.trace else 0
    colours = ["tab:orange" if i < split else "tab:blue" for i in range(L)]
    ax_stack.barh(np.arange(1, L + 1), np.ones(L), color=colours, edgecolor="white")
    ax_stack.axhline(split + 0.5, color="black", lw=2)
    ax_stack.set_title(f"split {split}/{L}", fontsize=9)
    ax_stack.set_xticks([])
    ax_stack.set_ylabel("decoder layer (orange: device, blue: edge)", fontsize=7)
    if env.trace:
        snr = np.array([t[0] for t in env.trace])
        splits = np.array([t[1] for t in env.trace])
        steps = np.arange(1, len(snr) + 1)
        ax_trace.plot(steps, snr, color="tab:green", lw=1)
        ax_trace.set_ylabel("SNR (dB)", color="tab:green", fontsize=8)
        twin = ax_trace.twinx()
        twin.step(steps, splits, where="mid", color="tab:orange", lw=1)
        twin.set_ylim(-0.5, L + 0.5)
        twin.set_ylabel("split", color="tab:orange", fontsize=8)
    ax_trace.set_xlabel("request", fontsize=8)
    ax_trace.set_title("channel and split", fontsize=9)
    terms = {name: float(env.last_info[name]) for name in TERMS if name in env.last_info}
    names = list(terms)
    ax_terms.barh(
        names, [terms[n] for n in names], color=["tab:green" if terms[n] >= 0 else "tab:red" for n in names]
    )
    ax_terms.axvline(0, color="black", lw=0.8)
    ax_terms.set_title("reward terms (last request)", fontsize=9)
    ax_terms.tick_params(labelsize=7)
    fig.tight_layout()
    canvas.draw()  # type: ignore[no-untyped-call,unused-ignore]
    frame = np.asarray(canvas.buffer_rgba())[..., :3]  # type: ignore[no-untyped-call,unused-ignore]
    return np.ascontiguousarray(frame)
