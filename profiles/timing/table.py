"""The ``layer_timing`` table: its columns and units and row order (written with :func:`write_profile`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from splitgym.profiles.profile import write_profile

__all__ = ["AXES", "CATEGORIES", "UNITS", "timing_table", "write_profile"]

AXES = ["component", "phase", "tokens"]
CATEGORIES: dict[str, list[str]] = {"component": ["embed", "layer", "head"], "phase": ["prefill", "decode"]}
UNITS: dict[str, str] = {
    "component": "model piece: embed (token/position embedding and the set-up before decoder layer 1), "
    "layer (one decoder layer), head (final norm and LM head, logits of the last token only)",
    "phase": "prefill (the whole prompt in one forward) or decode (one generated token with the KV cache)",
    "tokens": "prefill: prompt tokens; decode: tokens attended by the new token, cached plus itself (count)",
    "median_ms": "ms",
    "p10_ms": "ms (10th percentile)",
    "p90_ms": "ms (90th percentile)",
    "repeats": "timed forward passes behind the statistics (count)",
}


def timing_table(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (dicts with the :data:`UNITS` columns) as a table sorted by :data:`AXES` in category order."""
    table = pd.DataFrame(list(rows), columns=list(UNITS))

    def rank(col: pd.Series) -> pd.Series:
        names = CATEGORIES.get(str(col.name))
        return col if names is None else col.map({v: i for i, v in enumerate(names)})

    return table.sort_values(AXES, key=rank).reset_index(drop=True)
