"""The calibrated timing model: per-device roofline efficiencies and per-kernel overhead fitted to the
published rates of the calibration set, with leave-one-out error, and the step time of a batch.

**Work of one step** (``B`` sequences, each adding ``n`` new tokens at a context of ``c`` attended tokens,
the new ones included; ``P`` parameters per layer, ``d`` hidden size, ``d_kv = h_kv·d_h``, ``V`` vocabulary,
``b_w`` bytes per weight of the format, scales included, ``b_a = 2`` bytes per fp16 activation/KV element)::

    layer:  FLOPs = B·(2·n·P + 4·d·A),  A = n·c − n(n−1)/2  (causal attention: QKᵀ and AV)       [FLOP]
            bytes = P·b_w + B·(2·c·d_kv·b_a + 2·n·d·b_a)  (weights once, each sequence's KV, in/out) [B]
    embed:  FLOPs = 0,          bytes = B·n·d·(b_w + b_a)                                          [B]
    head:   FLOPs = 2·B·V·d,    bytes = V·d·b_w + B·d·b_a   (final norm + LM head, last token)     [B]

**Time of a component** on device class ``k`` with weight precision ``p``::

    t = max(FLOPs / (η_c·f_c[p]·F16), bytes / (η_m·f_m[p]·BW)) + t_k        [s]

with ``F16`` the fp16 peak [FLOP/s], ``BW`` the DRAM bandwidth [B/s], ``t_k`` the fixed time per kernel
launch group (one per component) [s] and ``f_m``, ``f_c`` the precision factors of quantised weights
(1 for float16): ``f_m ≤ 1`` is the bandwidth efficiency of the dequantising GEMV relative to fp16,
``f_c ≤ 2`` the throughput of the quantised GEMM relative to the fp16 one (integer tensor cores can exceed
the fp16 rate [K]). A whole model is ``t = t_embed + L·t_layer + t_head``; prefill of ``S`` tokens runs
at ``S / t(n = c = S)`` tokens/s, decode at ``1 / t(n = 1, c)``.

**Fit** (MAP by ``scipy.optimize.least_squares`` in log space): the residuals are the log rate errors of
the points over ``σ_data`` and three layers of priors [A, documented]:

* each device's ``ln η_c, ln η_m, ln t_k`` tie to its device *kind*'s means (σ 0.5 for η, 1.0 for t_k) —
  classes with few points borrow from their kind (``cpu``, ``phone``, ``jetson``, ``apple``,
  ``consumer-gpu``, ``datacentre-gpu``);
* each kind's means tie to the defaults of :mod:`~splitgym.profiles.timing.roofline` (η_c 0.5, η_m 0.7,
  ``DeviceClass.overhead_s``; σ 1.0);
* each kind's precision factors ``ln f_m[int8|int4]``, ``ln f_c[int8|int4]`` tie to 0 (σ 0.7).

Bounds: ``0 < η ≤ 1``, ``t_k > 0`` (fitted as a logarithm), ``0.05 ≤ f_m ≤ 1``, ``0.05 ≤ f_c ≤ 2``.
Leave-one-out: every point is predicted by a refit without it (warm-started from the full fit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from splitgym.errors import ConfigError, suggest
from splitgym.profiles.profile import Profile
from splitgym.profiles.timing.catalogue import Architecture, get_architecture
from splitgym.profiles.timing.formats import PRECISION_FORMAT, get_format, weight_bytes
from splitgym.profiles.timing.roofline import DEVICES, DeviceClass, get_device

__all__ = [
    "DEVICE_KINDS",
    "PRIORS",
    "CalibratedDevice",
    "CalibrationFit",
    "calibrated_device",
    "default_fit",
    "fit_calibration",
    "model_rate",
    "step_time",
    "step_work",
]

DEVICE_KINDS: dict[str, str] = {
    "raspberry-pi-5": "cpu",
    "phone-sd8gen3": "phone",
    "jetson-orin-nano-super": "jetson",
    "jetson-agx-orin": "jetson",
    "apple-m2": "apple",
    "apple-m1-max": "apple",
    "apple-m2-ultra": "apple",
    "rtx-4090": "consumer-gpu",
    "rtx-3090": "consumer-gpu",
    "a100-80gb": "datacentre-gpu",
    "h100-sxm": "datacentre-gpu",
    "h100-pcie": "datacentre-gpu",
    "phone-sd8gen3-cpu": "phone",
    "phone-sd8gen3-npu": "phone",
}
QUANTISED = ("int8", "int4")
PRIORS: dict[str, float] = {
    "sigma_data": 0.15,  # log-rate spread of one published measurement (builds, settings) [A]
    "sigma_device_eta": 0.5,  # device efficiency around its kind's [A]
    "sigma_device_overhead": 1.0,  # device kernel overhead around its kind's [A]
    "sigma_kind": 1.0,  # kind means around the roofline defaults [A]
    "sigma_factor": 0.7,  # precision factors around 1 [A]
    "eta_c": 0.5,  # dossier §2.4 default for optimised runtimes [S]
    "eta_m": 0.7,  # dossier §2.4 default for optimised runtimes [S]
}
_ACT_BYTES = 2.0  # fp16 activations and KV cache [A: W4A16/W8A16 runtimes]
_LN_ETA_MIN, _LN_T_MIN, _LN_T_MAX = np.log(1e-3), np.log(1e-7), np.log(1e-1)
_LN_F_MIN, _LN_FC_MAX = np.log(0.05), np.log(2.0)


def kind_of(device: str) -> str:
    """The device kind of class ``device`` (its prior group)."""
    if device not in DEVICE_KINDS:
        raise ConfigError(
            f"device={device!r} has no kind{suggest(device, DEVICE_KINDS)}; allowed: {sorted(DEVICE_KINDS)}"
        )
    return DEVICE_KINDS[device]


def step_work(
    arch: Architecture, bytes_per_weight: float, batch: int, context: int, new_tokens: int
) -> dict[str, tuple[float, float]]:
    """``{component: (FLOPs, bytes)}`` of one step (module docstring formulas) for embed, layer, head."""
    if batch < 1 or new_tokens < 1 or context < new_tokens:
        raise ConfigError(
            f"batch={batch}, new_tokens={new_tokens}, context={context}: need batch >= 1, new_tokens >= 1 "
            "and context >= new_tokens (the context counts the new tokens)"
        )
    b_w, b_a, d, n, c = bytes_per_weight, _ACT_BYTES, arch.hidden, new_tokens, context
    p = arch.params_per_layer
    attended = n * c - n * (n - 1) / 2
    layer = (
        batch * (2.0 * n * p + 4.0 * d * attended),
        p * b_w + batch * (2 * c * arch.kv_dim * b_a + 2 * n * d * b_a),
    )
    return {
        "embed": (0.0, batch * n * d * (b_w + b_a)),
        "layer": layer,
        "head": (2.0 * batch * arch.vocab * d, arch.vocab * d * b_w + batch * d * b_a),
    }


@dataclass(frozen=True)
class CalibratedDevice:
    """A device class with fitted efficiencies, kernel overhead and precision factors."""

    device: DeviceClass
    kind: str
    eta_c: float
    eta_m: float
    overhead_s: float  # per component (kernel group) [s]
    memory_factor: Mapping[str, float]  # f_m per precision (float16: 1)
    compute_factor: Mapping[str, float]  # f_c per precision (float16: 1)
    n_points: int = 0

    def component_time(self, flops: float, nbytes: float, precision: str) -> float:
        """``max(FLOPs/(η_c·f_c·F16), bytes/(η_m·f_m·BW)) + t_k`` [s]."""
        compute = self.eta_c * self.compute_factor[precision] * self.device.peak_flops["float16"]
        memory = self.eta_m * self.memory_factor[precision] * self.device.bandwidth
        return max(flops / compute, nbytes / memory) + self.overhead_s

    def parameters(self) -> dict[str, Any]:
        """The fitted parameters as plain numbers (for provenance)."""
        return {
            "device": self.device.name,
            "kind": self.kind,
            "eta_c": self.eta_c,
            "eta_m": self.eta_m,
            "overhead_s": self.overhead_s,
            "memory_factor": dict(self.memory_factor),
            "compute_factor": dict(self.compute_factor),
            "n_points": self.n_points,
        }


def _bytes(precision: str, fmt: str | None) -> float:
    return get_format(fmt).bytes_per_weight if fmt is not None else weight_bytes(precision)


def step_time(
    arch: str | Architecture,
    device: str | CalibratedDevice,
    precision: str = "int4",
    batch: int = 1,
    context: int = 128,
    new_tokens: int = 1,
    *,
    weight_format: str | None = None,
) -> float:
    """Time [s] of one step of the whole model: ``batch`` sequences each adding ``new_tokens`` tokens at
    ``context`` attended tokens (weights read once, KV per sequence, FLOPs times the batch).

    ``device`` is a name (calibrated by the shipped calibration set) or a :class:`CalibratedDevice`;
    ``weight_format`` overrides the bytes per weight of ``precision`` (e.g. ``Q4_K_M``).
    """
    a = get_architecture(arch)
    dev = calibrated_device(device) if isinstance(device, str) else device
    if precision not in PRECISION_FORMAT:
        raise ConfigError(f"precision={precision!r} is not supported; allowed: {sorted(PRECISION_FORMAT)}")
    work = step_work(a, _bytes(precision, weight_format), batch, context, new_tokens)
    counts = {"embed": 1, "layer": a.layers, "head": 1}
    return sum(counts[c] * dev.component_time(f, b, precision) for c, (f, b) in work.items())


def model_rate(
    arch: str | Architecture,
    device: str | CalibratedDevice,
    precision: str,
    phase: str,
    tokens: int,
    *,
    weight_format: str | None = None,
) -> float:
    """Whole-model rate [tokens/s] at batch 1: prefill ``tokens / t(n = c = tokens)``, decode
    ``1 / t(n = 1, c = tokens)``."""
    if phase == "prefill":
        return tokens / step_time(arch, device, precision, 1, tokens, tokens, weight_format=weight_format)
    if phase == "decode":
        return 1.0 / step_time(arch, device, precision, 1, tokens, 1, weight_format=weight_format)
    raise ConfigError(f"phase={phase!r} is unknown; allowed: ['prefill', 'decode']")


# ---------------------------------------------------------------------------------------------------------
# The fit


@dataclass(frozen=True)
class _Design:
    """What the fit needs from the points, precomputed: work per component and indices into θ."""

    devices: list[str]
    kinds: list[str]
    flops: np.ndarray  # [point, component]
    nbytes: np.ndarray  # [point, component]
    counts: np.ndarray  # [point, component]
    tokens_out: np.ndarray  # tokens produced by the timed step (prefill S, decode 1)
    measured: np.ndarray  # tokens/s
    device_index: np.ndarray
    kind_index: np.ndarray
    precision_slot: np.ndarray  # -1 float16, 0 int8, 1 int4
    peak: np.ndarray
    bandwidth: np.ndarray


def _design(points: pd.DataFrame) -> _Design:
    devices = sorted(set(points["device"]))
    kinds = sorted({kind_of(d) for d in DEVICE_KINDS} | {kind_of(d) for d in devices})
    flops, nbytes, counts, out = [], [], [], []
    for row in points.itertuples(index=False):
        arch = get_architecture(str(row.model))
        n, c = (int(row.tokens), int(row.tokens)) if row.phase == "prefill" else (1, int(row.tokens))
        work = step_work(arch, get_format(str(row.format)).bytes_per_weight, int(row.batch), c, n)
        flops.append([work[k][0] for k in ("embed", "layer", "head")])
        nbytes.append([work[k][1] for k in ("embed", "layer", "head")])
        counts.append([1, arch.layers, 1])
        out.append(n * int(row.batch))
    devs = [get_device(str(d)) for d in points["device"]]
    return _Design(
        devices=devices,
        kinds=kinds,
        flops=np.asarray(flops, dtype=np.float64),
        nbytes=np.asarray(nbytes, dtype=np.float64),
        counts=np.asarray(counts, dtype=np.float64),
        tokens_out=np.asarray(out, dtype=np.float64),
        measured=points["tokens_per_s"].to_numpy(dtype=np.float64),
        device_index=np.asarray([devices.index(str(d)) for d in points["device"]]),
        kind_index=np.asarray([kinds.index(kind_of(str(d))) for d in points["device"]]),
        precision_slot=np.asarray(
            [-1 if p == "float16" else QUANTISED.index(str(p)) for p in points["precision"]]
        ),
        peak=np.asarray([d.peak_flops["float16"] for d in devs]),
        bandwidth=np.asarray([d.bandwidth for d in devs]),
    )


# θ layout: per device [ln η_c, ln η_m, ln t_k]; then per kind [ln η_c, ln η_m, ln t_k, ln f_m8, ln f_m4,
# ln f_c8, ln f_c4].
_DEV, _KIND = 3, 7


def _unpack(theta: np.ndarray, design: _Design) -> tuple[np.ndarray, np.ndarray]:
    nd = len(design.devices) * _DEV
    return theta[:nd].reshape(-1, _DEV), theta[nd:].reshape(-1, _KIND)


def _log_rates(theta: np.ndarray, design: _Design) -> np.ndarray:
    dev, kind = _unpack(theta, design)
    d, k = design.device_index, design.kind_index
    eta_c, eta_m, t_k = np.exp(dev[d, 0]), np.exp(dev[d, 1]), np.exp(dev[d, 2])
    slot = design.precision_slot
    quant = slot >= 0
    f_m = np.ones(len(d))
    f_c = np.ones(len(d))
    f_m[quant] = np.exp(kind[k[quant], 3 + slot[quant]])
    f_c[quant] = np.exp(kind[k[quant], 5 + slot[quant]])
    compute = (eta_c * f_c * design.peak)[:, None]
    memory = (eta_m * f_m * design.bandwidth)[:, None]
    per = np.maximum(design.flops / compute, design.nbytes / memory) + t_k[:, None]
    seconds = (design.counts * per).sum(axis=1)
    return np.asarray(np.log(design.tokens_out / seconds))


def _kind_defaults(design: _Design) -> np.ndarray:
    rows = []
    for kind in design.kinds:
        members = [get_device(d) for d, k in DEVICE_KINDS.items() if k == kind]
        overhead = float(np.mean([m.overhead_s for m in members]))
        rows.append([np.log(PRIORS["eta_c"]), np.log(PRIORS["eta_m"]), np.log(overhead)])
    return np.asarray(rows)


def _residuals(theta: np.ndarray, design: _Design, mask: np.ndarray) -> np.ndarray:
    dev, kind = _unpack(theta, design)
    data = (_log_rates(theta, design) - np.log(design.measured))[mask] / PRIORS["sigma_data"]
    own_kind = np.asarray([design.kinds.index(kind_of(d)) for d in design.devices])
    sig_dev = np.asarray([PRIORS["sigma_device_eta"]] * 2 + [PRIORS["sigma_device_overhead"]])
    tie = ((dev - kind[own_kind, :3]) / sig_dev).ravel()
    base = ((kind[:, :3] - _kind_defaults(design)) / PRIORS["sigma_kind"]).ravel()
    factors = (kind[:, 3:] / PRIORS["sigma_factor"]).ravel()
    return np.concatenate([data, tie, base, factors])


def _bounds(design: _Design) -> tuple[np.ndarray, np.ndarray]:
    lo_dev, hi_dev = [_LN_ETA_MIN, _LN_ETA_MIN, _LN_T_MIN], [0.0, 0.0, _LN_T_MAX]
    lo_kind = [_LN_ETA_MIN, _LN_ETA_MIN, _LN_T_MIN, _LN_F_MIN, _LN_F_MIN, _LN_F_MIN, _LN_F_MIN]
    hi_kind = [0.0, 0.0, _LN_T_MAX, 0.0, 0.0, _LN_FC_MAX, _LN_FC_MAX]
    nd, nk = len(design.devices), len(design.kinds)
    return np.asarray(lo_dev * nd + lo_kind * nk), np.asarray(hi_dev * nd + hi_kind * nk)


def _start(design: _Design) -> np.ndarray:
    base = _kind_defaults(design)
    own = [design.kinds.index(kind_of(d)) for d in design.devices]
    kind = np.hstack([base, np.zeros((len(design.kinds), 4))])
    return np.concatenate([base[own].ravel(), kind.ravel()])


def _reset_device(theta: np.ndarray, design: _Design, device: int) -> np.ndarray:
    """``theta`` with device ``device`` and its kind set back to the prior defaults (a second LOO start:
    a point can be the one that chose between two basins, e.g. compute- or memory-bound decode)."""
    out = theta.copy()
    dev, kind = _unpack(out, design)
    k = design.kinds.index(kind_of(design.devices[device]))
    kind[k] = np.concatenate([_kind_defaults(design)[k], np.zeros(4)])
    for j, name in enumerate(design.devices):
        if kind_of(name) == design.kinds[k]:
            dev[j] = kind[k, :3]
    return np.concatenate([dev.ravel(), kind.ravel()])


def _solve(design: _Design, mask: np.ndarray, starts: Sequence[np.ndarray]) -> np.ndarray:
    """The lowest-cost solution over ``starts`` (the roofline's max() leaves flat regions a start can
    stall in, so a refit tries both the full fit and the prior defaults)."""
    lo, hi = _bounds(design)
    best: Any = None
    for x0 in starts:
        x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)
        result = least_squares(_residuals, x0, bounds=(lo, hi), args=(design, mask), method="trf")
        if best is None or result.cost < best.cost:
            best = result
    return np.asarray(best.x)


@dataclass(frozen=True)
class CalibrationFit:
    """The fitted model: calibrated devices (every class in :data:`DEVICE_KINDS`) and the per-point table
    ``points`` with ``predicted`` and, if computed, ``loo_predicted`` rates [tokens/s]."""

    devices: Mapping[str, CalibratedDevice]
    points: pd.DataFrame
    source: str
    priors: Mapping[str, float] = field(default_factory=lambda: dict(PRIORS))

    def device(self, name: str) -> CalibratedDevice:
        """The calibrated device class ``name``."""
        if name not in self.devices:
            raise ConfigError(
                f"device={name!r} is unknown{suggest(name, self.devices)}; allowed: {sorted(self.devices)}"
            )
        return self.devices[name]

    def loo_summary(self, device: str | None = None) -> dict[str, float]:
        """Median and worst absolute LOO relative error per phase (all points, or one device's)."""
        rows = self.points if device is None else self.points[self.points["device"] == device]
        out: dict[str, float] = {}
        for phase in ("decode", "prefill"):
            err = rows.loc[rows["phase"] == phase, "loo_rel_error"].abs()
            out[f"{phase}_n"] = float(len(err))
            out[f"{phase}_median_abs"] = float(err.median()) if len(err) else float("nan")
            out[f"{phase}_worst_abs"] = float(err.max()) if len(err) else float("nan")
        return out


def _calibrated(theta: np.ndarray, design: _Design, points: pd.DataFrame) -> dict[str, CalibratedDevice]:
    dev, kind = _unpack(theta, design)
    out = {}
    for name, kind_name in DEVICE_KINDS.items():
        k = kind[design.kinds.index(kind_name)]
        params = dev[design.devices.index(name)] if name in design.devices else k[:3]
        f_m = {"float16": 1.0, "int8": float(np.exp(k[3])), "int4": float(np.exp(k[4]))}
        f_c = {"float16": 1.0, "int8": float(np.exp(k[5])), "int4": float(np.exp(k[6]))}
        out[name] = CalibratedDevice(
            device=DEVICES[name], kind=kind_name, eta_c=float(np.exp(params[0])),
            eta_m=float(np.exp(params[1])), overhead_s=float(np.exp(params[2])), memory_factor=f_m,
            compute_factor=f_c,
            n_points=int((points["device"] == name).sum()),
        )  # fmt: skip
    return out


def fit_calibration(
    profile: Profile | pd.DataFrame,
    *,
    loo: bool = True,
    source: str | None = None,
    exclude: Sequence[int] = (),
) -> CalibrationFit:
    """Fit the model to the points of a calibration profile (or a table with its columns).

    With ``loo`` every point is also predicted by a refit that leaves it out (``loo_predicted``). Points
    whose ``point`` id is in ``exclude`` stay in the table (``in_fit`` False) but not in the fit; their
    prediction is out of sample already, so it is also their ``loo_predicted``.
    """
    points = (profile.table if isinstance(profile, Profile) else profile).reset_index(drop=True).copy()
    label = source or (profile.name if isinstance(profile, Profile) else "table")
    unknown = sorted(set(points["device"]) - set(DEVICE_KINDS))
    if unknown:
        raise ConfigError(f"device(s) {unknown} have no kind; allowed: {sorted(DEVICE_KINDS)}")
    design = _design(points)
    everything = ~points["point"].isin(list(exclude)).to_numpy()
    points["in_fit"] = everything
    theta = _solve(design, everything, [_start(design)])
    points["predicted"] = np.exp(_log_rates(theta, design))
    points["rel_error"] = points["predicted"] / points["tokens_per_s"] - 1.0
    if loo:
        loo_pred = np.empty(len(points))
        fitted = points[everything]
        groups = (
            fitted.groupby(["device", "phase"])["point"].transform("size").reindex(points.index).to_numpy()
        )
        for i in range(len(points)):
            if not everything[i]:
                loo_pred[i] = points["predicted"].iloc[i]
                continue
            mask = everything.copy()
            mask[i] = False
            starts = [theta]
            if groups[i] == 1:  # the only point of its device and phase: its removal may change basin
                starts.append(_reset_device(theta, design, int(design.device_index[i])))
            refit = _solve(design, mask, starts)
            loo_pred[i] = np.exp(_log_rates(refit, design)[i])
        points["loo_predicted"] = loo_pred
        points["loo_rel_error"] = loo_pred / points["tokens_per_s"] - 1.0
    return CalibrationFit(devices=_calibrated(theta, design, points), points=points, source=label)


# Points kept in the calibration set and its report but left out of the shipped fit, with the reason:
# 61, phone-sd8gen3 (the Adreno 750 GPU) prefill 7 tok/s (MLC LLM Android, mlc-llm issue #1359), which that
# thread itself calls anomalously slow. The GPU's llama.cpp OpenCL rates (points 63-64, llama.cpp #14987)
# confirm it: fitted without it, the GPU's model puts that 7B prefill at 39 tok/s (5.5x); fitted with it,
# point 61 stays at +142 % in sample while it halves the GPU's compute efficiency and drags point 63 to
# -54 %. Its leave-one-out error stays in the report (predicted out of sample).
DEFAULT_EXCLUDE: tuple[int, ...] = (61,)


@lru_cache(maxsize=1)
def default_fit() -> CalibrationFit:
    """The fit (with leave-one-out) to the shipped calibration set, without :data:`DEFAULT_EXCLUDE`;
    computed once per process."""
    from splitgym.profiles.timing.calibration_set import CALIBRATION_SET, load_calibration_set

    return fit_calibration(load_calibration_set(), source=CALIBRATION_SET, exclude=DEFAULT_EXCLUDE)


def calibrated_device(name: str | CalibratedDevice, fit: CalibrationFit | None = None) -> CalibratedDevice:
    """Device class ``name`` calibrated by ``fit`` (default: :func:`default_fit`)."""
    if isinstance(name, CalibratedDevice):
        return name
    return (fit or default_fit()).device(name)


def synthetic_points(
    devices: Mapping[str, CalibratedDevice], rows: Sequence[Mapping[str, Any]]
) -> pd.DataFrame:
    """Calibration rows whose ``tokens_per_s`` the model itself predicts for ``devices`` (for tests)."""
    out = []
    for i, r in enumerate(rows):
        rate = model_rate(r["model"], devices[r["device"]], r["precision"], r["phase"], int(r["tokens"]),
                          weight_format=r["format"])  # fmt: skip
        out.append(dict(r) | {"point": i + 1, "batch": 1, "tokens_per_s": rate})
    return pd.DataFrame(out)
