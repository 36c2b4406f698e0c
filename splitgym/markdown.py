"""Markdown tables from DataFrames (for result files people paste into papers), without extra packages."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

__all__ = ["markdown_table"]


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def markdown_table(frame: pd.DataFrame, digits: int = 4) -> str:
    """``frame`` as a GitHub Markdown table; floats with ``digits`` decimals, NaN as an empty cell."""
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v, digits) for v in row) + " |")
    return "\n".join(lines) + "\n"
