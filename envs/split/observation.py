"""What the device knows when it decides the split of a request (the observation), normalised to [0, 1].

Columns (``H = cqi_history``)::

    0        large-scale SNR estimate (L3-filtered RSRP view, +-sigma_est), over snr_range_db
    1..H     the last H CQI reports it sent, newest first, / 15 (measured during the previous request,
             quantised by the TS 38.214 CQI table; before the first request: the CQI of the estimate)
    H+1      measured TTFT of the previous request / (2 TTFT deadline)
    H+2      measured total latency of the previous request / (2 total deadline)
    H+3      prompt length (position in prompt_tokens)
    H+4/H+5  device / edge utilisation / 0.95
    H+6      previous split / L

Never the fading of the request being decided: that request's transmissions read blocks of its own pool
realisation, which enters no column above (the previous request's realisation is independent of it);
the causality test changes only the current request's fading and checks this.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.channels.nr import cqi_from_sinr_db
from splitgym.envs.split.channel import LOAD_MAX, Request
from splitgym.envs.split.config import SplitConfig

__all__ = ["initial_cqi", "observe", "tail_columns"]

F = NDArray[np.float64]


def initial_cqi(config: SplitConfig, snr_est_db: F) -> NDArray[np.int64]:
    """CQI history before any request: the estimate's CQI repeated, shape ``(..., H)``."""
    cqi = cqi_from_sinr_db(np.asarray(snr_est_db), config.mcs_table, config.impl_margin_db)
    return np.repeat(np.asarray(cqi)[..., None], config.cqi_history, axis=-1)


def tail_columns(config: SplitConfig, cqi: NDArray[np.int64], ttft_s: F, total_s: F) -> F:
    """Columns ``1..H+2`` (what the previous request left), shape ``(..., H + 2)``."""
    return np.concatenate(
        [
            np.asarray(cqi, dtype=np.float64) / 15.0,
            (np.asarray(ttft_s) / (2.0 * config.ttft_deadline_s))[..., None],
            (np.asarray(total_s) / (2.0 * config.total_deadline_s))[..., None],
        ],
        axis=-1,
    )


def observe(
    config: SplitConfig,
    req: Request,
    tail: F,
    prev_split: NDArray[np.int64],
    num_layers: int,
    prompts: NDArray[np.int64],
) -> NDArray[np.float32]:
    """Observation rows for requests ``req`` given the previous request's :func:`tail_columns`."""
    lo, hi = config.snr_range_db
    plo, phi = config.prompt_tokens
    snr_est = np.asarray(req.snr_est_db)
    H2 = np.shape(tail)[-1]
    out = np.empty((*snr_est.shape, H2 + 5), dtype=np.float32)  # written column by column, then clipped
    out[..., 0] = (snr_est - lo) / (hi - lo)
    out[..., 1 : H2 + 1] = tail
    out[..., H2 + 1] = (prompts.take(np.asarray(req.prompt_level)) - plo) / max(phi - plo, 1)
    out[..., H2 + 2] = np.asarray(req.device_load) / LOAD_MAX
    out[..., H2 + 3] = np.asarray(req.edge_load) / LOAD_MAX
    out[..., H2 + 4] = np.asarray(prev_split) / num_layers
    return np.clip(out, 0.0, 1.0, out=out)
