"""The request's timeline at slot resolution: prefill and its uplink burst, then one round trip per token.

For a lane (pool entry ``p`` = LOS, SNR bin, fading realisation ``r``; split ``k``; prompt level ``s``),
starting at the request's absolute start time ``t0`` (a random phase of the TDD period, per ``r``)::

    0 < k < L   t = t0 + T_dp(s, k)                        device: embedding + layers 1..k over the prompt
                t = UL(t, S (d b + h))                     the prompt's hidden states, one message
                t = DL(t + T_ep(s, k))                     edge: layers k+1..L + head; token 1 down
                TTFT = t - t0
                for token i = 2..G:                        (G - 1 round trips)
                    t = UL(t + T_dd(i), d b + h)           device layers 1..k, hidden state up
                    t = DL(t + T_ed(i))                    edge layers k+1..L + head, token id down
    k = 0       t = UL(t0, S b_id + h); token i leaves the edge at t + T_ep + sum_{j<=i} T_ed(j) and is
                received at DL(.) (the edge decodes back to back, the downlink streams)
    k = L       no radio: TTFT = T_dp(s, L), total = TTFT + sum_i T_dd(i)

``UL`` of a hidden state is the link's :meth:`uplink_hidden` (``S d`` values after prefill, ``d`` per
token), which also sums the mode's per-RE distortion over the request (``distortion``, ``units``: 0 for
``nr``, whose state arrives bit-exact); token ids go by :meth:`uplink`. ``UL``/``DL`` are the link's
transfers (:mod:`.link`): scheduling (SR + grant or configured grant), TDD
waiting, link adaptation, HARQ, decoding and backhaul, all at the instants the data is ready, on the
channel of those instants. A lost message (residual HARQ failure) or the horizon passing is an outage.
**Drawn**: nothing here (all draws live in the link's traces). **Averaged**: nothing. Compute times are at
nominal speed; the loads' stretch is added afterwards in :mod:`.world` [A: no re-alignment to the TDD
grid, an error below one TDD period per token].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from splitgym.envs.split.compute import ComputeTables
from splitgym.envs.split.config import SplitConfig
from splitgym.envs.split.link import LinkModel

__all__ = ["Timeline", "run_timeline"]

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741


@dataclass
class Timeline:
    """Per lane: latencies (s, relative to the request start), radio slots, outcome, last CQI reports."""

    ttft_s: F
    total_s: F
    tx_slots: F
    rx_slots: F
    first_radio_s: F  # start of radio activity (s from the request start; = total when none)
    ok: NDArray[np.bool_]
    cqi: NDArray[np.int64]  # (lanes, H): the device's last CQI reports at the request's end
    distortion: F  # per-RE distortion summed over the hidden state's REs (0: nr, or no hidden state sent)
    units: F  # REs the hidden state occupied (0: nr, or none sent)


def run_timeline(
    config: SplitConfig, link: LinkModel, comp: ComputeTables, p: I, r: I, k: I, s: I
) -> Timeline:
    """The timeline of every lane (arrays broadcast to one shape ``(n,)``)."""
    c = config
    L = comp.num_layers
    G = c.new_tokens
    d = comp.arch.hidden
    n = p.size
    t0 = link.start_s[r]
    prompt = comp.prompts[s].astype(np.float64)
    ttft = np.zeros(n)
    t_end = np.zeros(n)
    tx = np.zeros(n)
    rx = np.zeros(n)
    first_radio = np.zeros(n)
    lost = np.zeros(n, dtype=bool)
    dist = np.zeros(n)
    units = np.zeros(n)

    mid = np.flatnonzero((k > 0) & (k < L))
    if mid.size:
        pm, rm, km, sm = p[mid], r[mid], k[mid], s[mid]
        t = t0[mid] + comp.dev_prefill_s[sm, km]
        first_radio[mid] = t - t0[mid]
        m = mid.size
        tx_m, dist_m, units_m = np.zeros(m), np.zeros(m), np.zeros(m)
        bad = np.zeros(m, dtype=bool)
        for sp in np.unique(sm):  # the prompt's hidden state: one message of S d values per prompt level
            j = np.flatnonzero(sm == sp)
            up = link.uplink_hidden(t[j], float(comp.prompts[sp]) * d, pm[j])
            t[j], tx_m[j], bad[j], dist_m[j], units_m[j] = (up.done_s, up.slots, up.lost, up.distortion,
                                                            up.units)  # fmt: skip
        down = link.downlink(t + comp.edge_prefill_s[sm, km], rm)
        t, rx_m, bad = down.done_s, down.slots, bad | down.lost
        ttft[mid] = t - t0[mid]
        for i in range(G - 1):
            up = link.uplink_hidden(t + comp.dev_decode_s[sm, km, i], float(d), pm)
            down = link.downlink(up.done_s + comp.edge_decode_s[sm, km, i], rm)
            t = down.done_s
            tx_m = tx_m + up.slots
            rx_m = rx_m + down.slots
            dist_m = dist_m + up.distortion
            units_m = units_m + up.units
            bad = bad | up.lost | down.lost
        t_end[mid], tx[mid], rx[mid], lost[mid] = t - t0[mid], tx_m, rx_m, bad
        dist[mid], units[mid] = dist_m, units_m

    edge = np.flatnonzero(k == 0)
    if edge.size:
        pe, re_, se = p[edge], r[edge], s[edge]
        ids = link.uplink(t0[edge], prompt[edge] * c.token_id_bits + c.header_bits, pe)
        t_edge = ids.done_s + comp.edge_prefill_s[se, 0]
        down = link.downlink(t_edge, re_)
        arrive, rx_e, bad = down.done_s, down.slots, ids.lost | down.lost
        ttft[edge] = arrive - t0[edge]
        for i in range(G - 1):
            t_edge = t_edge + comp.edge_decode_s[se, 0, i]
            down = link.downlink(t_edge, re_)
            arrive = np.maximum(arrive, down.done_s)
            rx_e = rx_e + down.slots
            bad = bad | down.lost
        t_end[edge], tx[edge], rx[edge], lost[edge] = arrive - t0[edge], ids.slots, rx_e, bad

    dev = np.flatnonzero(k == L)
    if dev.size:
        sd = s[dev]
        ttft[dev] = comp.dev_prefill_s[sd, L]
        t_end[dev] = ttft[dev] + comp.dev_decode_s[sd, L].sum(axis=-1)
        first_radio[dev] = t_end[dev]

    horizon = link.slot_s * (link.total_slots if hasattr(link, "total_slots") else 1) - t0
    ok = ~lost & np.isfinite(t_end) & (t_end <= horizon)
    cap = c.horizon_s
    ttft = np.where(ok, ttft, cap)
    t_end = np.where(ok, t_end, cap)
    cqi = link.cqi_history(t0 + t_end, p, c.cqi_history)
    return Timeline(ttft, t_end, tx, rx, first_radio, ok, cqi, dist, units)
