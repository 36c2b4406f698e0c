"""Tables for people: GitHub Markdown (result files pasted into papers) and terminal tables (rich).

The one table writer of the project: every command and report renders DataFrames through these two.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pandas as pd

__all__ = ["markdown_table", "terminal_table"]


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


def terminal_table(frame: pd.DataFrame, title: str = "", digits: int = 3, width: int = 160) -> str:
    """``frame`` as a boxed terminal table (rich), numbers right-aligned; the rendered text."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title or None)
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        table.add_column(str(col), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v, digits) for v in row))
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()
