"""One look for every figure splitgym draws: method styles, titles in words, units, legends outside.

* **Methods** (agents, baselines, any labelled curve) get a :class:`MethodStyle` by name, the same in
  every figure: 16 slots, the 8 colours below crossed with 16 marker shapes, slots 0-7 filled markers on
  solid lines, slots 8-15 open markers on dashed lines. The project's methods have fixed slots
  (:data:`METHOD_SLOTS`, chosen so that the methods of every shipped suite differ); another name gets
  slot ``crc32(name) mod 16`` (stable across processes), and :func:`method_styles` moves it to the next
  free slot where that collides within one figure, so up to 16 methods in a figure always look different.
* **Colours**: the Okabe-Ito palette, designed to stay distinguishable with the common colour-vision
  deficiencies [S: Okabe & Ito, "Color Universal Design", 2008, https://jfly.uni-koeln.de/color/], less
  its yellow (#F0E442, too faint for lines on white [A]) and with a mid grey in its place.
* **Words**: :func:`method_label` and :func:`env_title` turn internal IDs (``maskable_ppo``,
  ``splitgym/FadingSplit-Pedestrian-Stateless-v1``) into words; :func:`check_figure` rejects a figure
  whose title holds an internal ID, whose axis lacks a unit ``(...)`` or whose legend covers the data, and
  :func:`save_figure` runs it before it writes a PNG (atomically).

Matplotlib is used headless (``matplotlib.figure.Figure`` on the Agg canvas, no pyplot state).
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splitgym.atomic import write_bytes_atomic

__all__ = [
    "COLOURS",
    "MARKERS",
    "METHOD_SLOTS",
    "N_SLOTS",
    "MethodStyle",
    "check_figure",
    "env_title",
    "figure",
    "legend_outside",
    "method_label",
    "method_style",
    "method_styles",
    "save_figure",
]

# Okabe-Ito: blue, vermillion, bluish green, reddish purple, sky blue, orange, black; grey for yellow.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000", "#7F7F7F")
MARKERS = ("o", "s", "^", "D", "v", "P", "*", "X", "<", ">", "p", "h", "d", "H", "8", "x")
N_SLOTS = len(MARKERS)

METHOD_SLOTS: dict[str, int] = {
    "ppo": 0,
    "maskable_ppo": 1,
    "a2c": 2,
    "dqn": 3,
    "paper_mb": 4,
    "active_mb": 5,
    "oracle": 6,
    "random": 7,
    "edge_only": 8,
    "fixed_luc": 8,  # never in one suite with edge_only
    "device_only": 9,
    "best_split": 10,
    "fixed_split": 10,  # never in one suite with best_split
    "neurosurgeon": 11,
    "neurosurgeon_latency": 11,
    "neurosurgeon_energy": 12,
    "linucb": 13,
    "fixed_none": 14,
    "fixed_uniform": 15,
}
_LABELS = {
    "ppo": "PPO",
    "maskable_ppo": "MaskablePPO",
    "a2c": "A2C",
    "dqn": "DQN",
    "paper_mb": "model-based (paper)",
    "active_mb": "model-based (active)",
    "linucb": "LinUCB",
    "oracle": "oracle (per request)",
    "random": "random",
    "edge_only": "edge only",
    "device_only": "device only",
    "best_split": "best split (table)",
    "fixed_split": "best fixed split",
    "neurosurgeon": "Neurosurgeon",
    "neurosurgeon_latency": "Neurosurgeon (latency)",
    "neurosurgeon_energy": "Neurosurgeon (energy)",
    "fixed_none": "fixed, uncompressed",
    "fixed_uniform": "fixed, uniform compression",
    "fixed_luc": "fixed, LUC compression",
}
_ENV_WORDS = {
    "FadingSplit": "Fading channel",
    "PaperSplit": "Paper environment B",
    "PaperSplitDirect": "Paper environment A",
    "CompressedSplit": "Compressed split",
}
_SCENARIO_WORDS = {"Llama7B": "Llama-2-7B", "TinyLlama": "TinyLlama", "Reference": "reference LLM"}
_ID_PATTERNS = (
    re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*-v\d+\b"),  # an environment ID
    re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b"),  # a snake_case name
    re.compile(r"\bsplitgym/"),
)
_UNIT = re.compile(r"\(.+\)|\[.+\]")


@dataclass(frozen=True)
class MethodStyle:
    """How one method looks: a colour, a marker shape and whether the marker is filled (solid line) or
    open (dashed line)."""

    slot: int
    color: str
    marker: str
    filled: bool

    @property
    def linestyle(self) -> str:
        return "-" if self.filled else "--"

    def line(self, markersize: float = 5.0) -> dict[str, Any]:
        """Keyword arguments for ``Axes.plot``."""
        return {
            "color": self.color,
            "marker": self.marker,
            "linestyle": self.linestyle,
            "markersize": markersize,
            "markerfacecolor": self.color if self.filled else "white",
            "markeredgecolor": self.color,
        }

    def points(self) -> dict[str, Any]:
        """Keyword arguments for ``Axes.scatter`` (open markers keep a white face)."""
        return {
            "marker": self.marker,
            "facecolors": self.color if self.filled or self.marker == "x" else "white",
            "edgecolors": self.color if not self.filled or self.marker == "x" else "black",
            "linewidths": 1.2 if not self.filled else 0.6,
        }


def _style(slot: int) -> MethodStyle:
    return MethodStyle(slot, COLOURS[slot % len(COLOURS)], MARKERS[slot], slot < len(COLOURS))


def _home_slot(name: str) -> int:
    return METHOD_SLOTS.get(name, zlib.crc32(name.encode("utf-8")) % N_SLOTS)


def method_style(name: str) -> MethodStyle:
    """The style of method ``name`` on its own: its fixed slot, or ``crc32(name) mod 16``."""
    return _style(_home_slot(name))


def method_styles(names: Iterable[str]) -> dict[str, MethodStyle]:
    """Distinct styles for the methods of one figure (up to 16; beyond that the slots repeat): known
    methods keep their fixed slot; a name whose slot is taken moves to the next free one."""
    unique = list(dict.fromkeys(names))
    taken: set[int] = set()
    out: dict[str, MethodStyle] = {}
    for name in sorted(unique, key=lambda n: (n not in METHOD_SLOTS, unique.index(n))):
        slot = _home_slot(name)
        if len(taken) < N_SLOTS:
            while slot in taken:
                slot = (slot + 1) % N_SLOTS
        taken.add(slot)
        out[name] = _style(slot)
    return {n: out[n] for n in unique}


def method_label(name: str) -> str:
    """A method's name in words (``maskable_ppo`` -> ``MaskablePPO``, ``edge_only`` -> ``edge only``)."""
    return _LABELS.get(name, name.replace("_", " "))


def env_title(name: str) -> str:
    """An environment's name in words: ``splitgym/FadingSplit-Pedestrian-Stateless-v1`` -> ``Fading channel,
    Pedestrian scenario, stateless (version 1)``; a suite label such as ``PaperSplit-normalized`` keeps its
    suffix as words."""
    base = name.split("/")[-1]
    version = re.search(r"-v(\d+)$", base)
    if version:
        base = base[: version.start()]
    stem, _, mid = base.partition("-")
    words = _ENV_WORDS.get(stem, re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem).capitalize())
    stateless = mid == "Stateless" or mid.endswith("-Stateless")
    mid = mid.removesuffix("Stateless").removesuffix("-")
    if mid:
        scenario = _SCENARIO_WORDS.get(mid, mid.replace("-", " ").replace("_", " "))
        words += f", {scenario} scenario" if mid in ("Pedestrian", "Vehicular") else f", {scenario}"
    if stateless:
        words += ", stateless"
    if version:
        words += f" (version {version.group(1)})"
    return words


# -- figures ------------------------------------------------------------------------------------------


def figure(
    width_in: float = 7.0, height_in: float = 4.2, ncols: int = 1, nrows: int = 1, **kwargs: Any
) -> tuple[Any, Any]:
    """A headless figure (Agg canvas) and its axes (an array of them with ``ncols > 1`` or ``nrows > 1``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def legend_outside(ax: Any, title: str | None = None, ncol: int = 1) -> Any:
    """The legend to the right of the axes, outside the data."""
    return ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
        fontsize=8,
        title=title,
        title_fontsize=8,
        ncol=ncol,
        alignment="left",
    )


def _titles(fig: Any) -> list[str]:
    texts = [ax.get_title() for ax in fig.axes] + [ax.get_title(loc="left") for ax in fig.axes]
    sup = getattr(fig, "_suptitle", None)
    if sup is not None:
        texts.append(sup.get_text())
    return [t for t in texts if t]


def check_figure(fig: Any) -> list[str]:
    """What a reviewer would object to, as sentences (empty: none): no title, an internal ID in a title,
    an axis with tick labels but no unit in ``(...)``, a legend overlapping its axes' data area."""
    problems: list[str] = []
    titles = _titles(fig)
    if not titles:
        problems.append("the figure has no title")
    for text in titles:
        for pattern in _ID_PATTERNS:
            hit = pattern.search(text)
            if hit:
                problems.append(f"title {text!r} holds the internal ID {hit.group(0)!r}")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for which, axis, label in (("x", ax.xaxis, ax.get_xlabel()), ("y", ax.yaxis, ax.get_ylabel())):
            ticks = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            if axis.get_visible() and ticks and not _UNIT.search(label or ""):
                problems.append(f"{which} axis label {label!r} names no unit in (...)")
        legend = ax.get_legend()
        if legend is not None:
            box, area = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
            if box.overlaps(area):
                problems.append(f"the legend of axes {ax.get_title()!r} lies over the data")
    return problems


def save_figure(fig: Any, path: Path, dpi: int = 150) -> Path:
    """Check the figure (:func:`check_figure`; a problem raises ``ValueError``) and write it to ``path``
    as a PNG, atomically."""
    problems = check_figure(fig)
    if problems:
        raise ValueError(f"figure {path.name} is not paper-ready: " + "; ".join(problems))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buf.getvalue())
    return path
