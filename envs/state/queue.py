"""Request arrivals and a FIFO single-server queue, vectorised over ``n`` environments.

Arrivals (times ``A_1 <= A_2 <= ...`` in s from the episode start) follow one of three processes:

* ``poisson``: gaps ``A_i - A_(i-1) ~ Exp(rate_per_s)`` (mean ``1/rate_per_s``), ``A_0 = 0``;
* ``periodic``: ``A_i = phase_s + (i - 1)·period_s``;
* ``trace``: the given sorted, finite, non-negative times; after the last one the process is exhausted
  (the next arrival is ``inf``).

The device and its uplink serve one request at a time, first come first served. With ``D_(i-1)`` the
departure of the previous request (``D_0 = 0``) and ``S_i`` the service time of request ``i`` (the whole
latency the environment computes for it)::

    W_i = max(0, D_(i-1) - A_i)        waiting time                [s]
    D_i = A_i + W_i + S_i              departure                   [s]
    I_i = max(0, A_i - D_(i-1))        server idle before request i [s] (the radio's gap, for example)

so the backlog carries over from one request to the next. The queue keeps the next ``lookahead``
arrival times per environment, from which it counts the requests already waiting when the server frees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.envs.state._checks import (
    as_mask,
    broadcast_n,
    check_int,
    check_rng,
    check_scalar,
    positive_features,
)
from splitgym.errors import ConfigError, suggest

__all__ = ["ARRIVAL_KINDS", "ArrivalParams", "QueueStep", "RequestQueue", "load_trace"]

F64 = NDArray[np.float64]
ARRIVAL_KINDS = ("poisson", "periodic", "trace")


@dataclass(frozen=True)
class ArrivalParams:
    """Arrival process and queue observation settings.

    Attributes:
        kind: ``"poisson"``, ``"periodic"`` or ``"trace"``.
        rate_per_s: Poisson rate in requests/s (``> 0``). Default 0.05 /s, one request per 20 s
            [A: a chat user's think time between turns; no sourced figure, chosen to straddle the ~10 s
            RRC inactivity timer so that the radio state matters].
        period_s: periodic inter-arrival time in s (``> 0``). Default 20 s [A: same as the Poisson mean].
        phase_s: first periodic arrival in s (``>= 0``). Default 0 [A].
        trace_s: arrival times in s for ``kind="trace"``: finite, ``>= 0`` and sorted (non-decreasing).
        lookahead: arrivals buffered per environment to count the backlog (``>= 1``). Default 16 [A: a
            backlog of 16 waiting requests already means the device is hopelessly overloaded].
        wait_scale_s: waiting time that the observation maps to 0.5 (``> 0``). Default 1 s [A: about one
            request's latency].
    """

    kind: str = "poisson"
    rate_per_s: float = 0.05
    period_s: float = 20.0
    phase_s: float = 0.0
    trace_s: tuple[float, ...] = ()
    lookahead: int = 16
    wait_scale_s: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ARRIVAL_KINDS:
            raise ConfigError(
                f"kind must be one of {', '.join(ARRIVAL_KINDS)}, got {self.kind!r}"
                + suggest(str(self.kind), ARRIVAL_KINDS)
            )
        check_scalar("rate_per_s", self.rate_per_s, gt=0.0)
        check_scalar("period_s", self.period_s, gt=0.0)
        check_scalar("phase_s", self.phase_s, ge=0.0)
        check_int("lookahead", self.lookahead, ge=1)
        check_scalar("wait_scale_s", self.wait_scale_s, gt=0.0)
        trace = _check_trace(self.trace_s)
        if self.kind == "trace" and trace.size == 0:
            raise ConfigError("trace_s must hold at least one arrival time when kind='trace', got ()")
        object.__setattr__(self, "trace_s", tuple(float(t) for t in trace))


def _check_trace(trace: ArrayLike) -> F64:
    """The trace as a 1-D float array, after checking it is finite, non-negative and sorted."""
    try:
        arr = np.asarray(trace, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"trace_s must be a sequence of arrival times in s, got {trace!r}") from exc
    if arr.ndim != 1:
        raise ConfigError(f"trace_s must be one-dimensional, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ConfigError(f"trace_s must be finite, got {arr[bad[0]]} at index {bad[0]}")
    neg = np.flatnonzero(arr < 0)
    if neg.size:
        raise ConfigError(f"trace_s must be >= 0, got {arr[neg[0]]:g} at index {neg[0]}")
    down = np.flatnonzero(np.diff(arr) < 0)
    if down.size:
        i = int(down[0]) + 1
        raise ConfigError(
            f"trace_s must be sorted (non-decreasing), got {arr[i]:g} after {arr[i - 1]:g} at index {i}"
        )
    return arr


def load_trace(path: str | Path) -> tuple[float, ...]:
    """Arrival times (s) from a text file with one number per line (``#`` comments allowed), checked."""
    try:
        arr = np.loadtxt(Path(path), dtype=np.float64, comments="#", ndmin=1)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"trace file {str(path)!r} must be readable numbers, one per line: {exc}") from exc
    return tuple(float(t) for t in _check_trace(arr))


@dataclass(frozen=True)
class QueueStep:
    """One served request per environment (arrays of shape ``(n,)``; zeros where not advanced)."""

    arrival_s: F64
    wait_s: F64
    start_s: F64
    departure_s: F64
    idle_before_s: F64


class RequestQueue:
    """Arrival process plus FIFO single-server queue for ``n`` environments (see the module docstring).

    Observation (:meth:`observe`, float32, shape ``(n, 2)``, each in ``[0, 1]``):
    ``[W/(W + wait_scale_s), backlog/lookahead]`` with ``W`` the waiting time the head request would
    have if served now and ``backlog`` the buffered requests that arrived before the server frees.
    """

    n_features = 2

    def __init__(self, params: ArrivalParams, n: int = 1) -> None:
        self.params = params
        self.n = check_int("n", n, ge=1)
        self._trace = np.asarray(params.trace_s, dtype=np.float64)
        k = params.lookahead
        self._upcoming = np.full((self.n, k), np.inf)  # next k arrival times, [:, 0] is the head
        self._free_at = np.zeros(self.n)  # D_(i-1)
        self._trace_next = np.zeros(self.n, dtype=np.int64)
        self.served = np.zeros(self.n, dtype=np.int64)
        self._rng: np.random.Generator | None = None

    # -- state -------------------------------------------------------------------------------------
    @property
    def head_arrival_s(self) -> F64:
        """Arrival time ``A_i`` of the next request to serve (``inf`` once a trace is exhausted)."""
        return self._upcoming[:, 0].copy()

    @property
    def upcoming_s(self) -> F64:
        """The buffered arrival times ``(n, lookahead)`` (s, ascending per row; ``[:, 0]`` the head), a
        read-only view."""
        view = self._upcoming.view()
        view.flags.writeable = False
        return view

    @property
    def free_at_s(self) -> F64:
        """Departure time ``D_(i-1)`` of the last served request (0 before the first)."""
        return self._free_at.copy()

    @property
    def exhausted(self) -> NDArray[np.bool_]:
        """True where a trace has no arrivals left."""
        return np.asarray(np.isinf(self._upcoming[:, 0]), dtype=bool)

    def waiting_time_s(self) -> F64:
        """``W_i = max(0, D_(i-1) - A_i)`` of the head request, in s (0 where exhausted)."""
        head = self._upcoming[:, 0]
        return np.where(np.isinf(head), 0.0, np.maximum(0.0, self._free_at - head))

    def backlog(self) -> NDArray[np.int64]:
        """Requests that have arrived by ``D_(i-1)`` and wait (capped at ``lookahead``)."""
        return np.asarray((self._upcoming <= self._free_at[:, None]).sum(axis=1), dtype=np.int64)

    # -- dynamics ----------------------------------------------------------------------------------
    def _draw(self, rng: np.random.Generator, rows: NDArray[np.int64], last: F64, count: int) -> F64:
        """``count`` arrivals after ``last`` for each env in ``rows`` (shape ``(len(rows), count)``)."""
        p, m = self.params, rows.size
        if p.kind == "poisson":
            gaps = rng.exponential(1.0 / p.rate_per_s, size=(m, count))
            if count == 1:  # (one step: the cumulative sum is the gap itself, without its per-row cost)
                return np.asarray(last[:, None] + gaps, dtype=np.float64)
            return np.asarray(last[:, None] + np.cumsum(gaps, axis=1), dtype=np.float64)
        if p.kind == "periodic":
            steps = p.period_s * np.arange(1, count + 1, dtype=np.float64)
            return np.asarray(last[:, None] + steps[None, :], dtype=np.float64)
        idx = self._trace_next[rows, None] + np.arange(count)[None, :]
        self._trace_next[rows] += count
        padded = np.append(self._trace, np.inf)
        return np.asarray(padded[np.minimum(idx, self._trace.size)], dtype=np.float64)

    def reset(self, rng: np.random.Generator, mask: ArrayLike | None = None) -> None:
        """Start the selected envs afresh: empty server (``D_0 = 0``), the first ``lookahead`` arrivals."""
        self._rng = check_rng(rng)
        rows = np.flatnonzero(as_mask(mask, self.n))
        k = self.params.lookahead
        self._free_at[rows] = 0.0
        self.served[rows] = 0
        self._trace_next[rows] = 0
        if self.params.kind == "periodic":
            start = np.full(rows.size, self.params.phase_s - self.params.period_s)
        else:
            start = np.zeros(rows.size)
        self._upcoming[rows] = self._draw(rng, rows, start, k)

    def advance(self, service_s: ArrayLike, mask: ArrayLike | None = None) -> QueueStep:
        """Serve the head request of each selected env for ``service_s`` seconds and draw the next arrival.

        Args:
            service_s: service time ``S_i`` in s (scalar or shape ``(n,)``, ``>= 0``).
            mask: envs to advance (default all); the others are untouched and report zeros.

        Raises:
            RuntimeError: before :meth:`reset`, or when a selected env's trace is exhausted.
        """
        if self._rng is None:
            raise RuntimeError("RequestQueue.advance() called before reset()")
        s = broadcast_n("service_s", service_s, self.n, ge=0.0)
        if mask is None:
            rows: slice | NDArray[np.int64] = slice(None)
            index = np.arange(self.n)
        else:
            index = np.flatnonzero(as_mask(mask, self.n))
            rows = index
        head = np.array(self._upcoming[rows, 0])  # a copy: the buffer shifts below
        if np.isinf(head).any():
            raise RuntimeError(f"{int(np.isinf(head).sum())} env(s) have no arrivals left (trace exhausted)")
        prev = np.array(self._free_at[rows])
        wait = np.maximum(0.0, prev - head)
        start = np.maximum(head, prev)  # = head + wait, without its rounding (departures never go back)
        depart = start + s[rows]
        idle = np.maximum(0.0, head - prev)
        self._free_at[rows] = depart
        self.served[rows] += 1
        last = self._upcoming[rows, -1]
        self._upcoming[rows, :-1] = self._upcoming[rows, 1:]
        self._upcoming[rows, -1] = self._draw(self._rng, index, last, 1)[:, 0]
        if mask is None:
            return QueueStep(head, wait, start, depart, idle)
        out = np.zeros((5, self.n))
        out[:, index] = np.stack([head, wait, start, depart, idle])
        return QueueStep(out[0], out[1], out[2], out[3], out[4])

    def observe(self) -> NDArray[np.float32]:
        """``[W/(W + wait_scale_s), backlog/lookahead]``, float32 of shape ``(n, 2)``, in ``[0, 1]``."""
        wait = positive_features(self.waiting_time_s(), self.params.wait_scale_s)
        full = self.backlog() / float(self.params.lookahead)
        return np.stack([wait, full], axis=1).astype(np.float32)
