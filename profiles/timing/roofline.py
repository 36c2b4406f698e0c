"""Calibrated roofline: per-layer times of a catalogued model on a named device class (dossier §2.2–§2.4).

For ``n`` new tokens attending to ``c`` tokens (prefill: ``n = c = S``; decode: ``n = 1``, ``c`` = context),
with ``P`` parameters per layer, ``d`` hidden size, ``d_kv = h_kv·d_h``, ``b_w`` bytes per weight and ``b_a``
bytes per activation/KV element (4 with float32 weights, else 2: W8A16/W4A16 runtimes)::

    FLOPs_layer = 2·n·P + 4·n·c·d                          [FLOP]
    bytes_layer = P·b_w + 2·c·d_kv·b_a + 2·n·d·b_a          [B]  (weights, KV read, layer input and output)
    t = max(FLOPs / (η_c·peak), bytes / (η_m·BW)) + t_overhead   [s]

The embedding is a gather (``n·d·(b_w + b_a)`` bytes, no FLOPs); the head is the final norm plus the LM
head for the last token only (``2·V·d`` FLOPs, ``V·d·b_w`` bytes). ``peak`` is the device's float32 peak
with float32 weights and its float16 peak otherwise. Efficiencies default to the dossier's values for
optimised runtimes (η_m = 0.7, η_c = 0.5); :func:`calibrate` fits them to a profile measured on a device of
known peak and bandwidth. Integer formats count 0.5 or 1 byte per weight without group scales.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from splitgym.errors import ConfigError, suggest
from splitgym.profiles.profile import Profile
from splitgym.profiles.timing.catalogue import Architecture, get_architecture
from splitgym.profiles.timing.precision import PRECISION_BYTES, precision
from splitgym.profiles.timing.table import AXES, CATEGORIES, UNITS, timing_table

__all__ = [
    "DEVICES",
    "PUBLISHED_DECODE",
    "DeviceClass",
    "PublishedRate",
    "RateCheck",
    "calibrate",
    "check_published",
    "decode_rate",
    "get_device",
    "layer_work",
    "roofline_profile",
    "scale_profile",
]


@dataclass(frozen=True)
class DeviceClass:
    """A device class: peaks (FLOP/s per compute precision), DRAM bandwidth (B/s), efficiencies, power."""

    name: str
    peak_flops: Mapping[str, float]  # "float32" and "float16" [FLOP/s]
    bandwidth: float  # [B/s]
    power_w: float  # typical active power of the device under LLM load [W]
    overhead_s: float  # fixed time per component (kernel launch or thread synchronisation) [s]
    source: str
    eta_c: float = 0.5
    eta_m: float = 0.7
    efficiency_source: str = "dossier §2.4 defaults for optimised runtimes (η_m 0.7, η_c 0.5)"

    def time(self, flops: float, nbytes: float, weights: str) -> float:
        """Roofline time (s) of ``flops`` FLOPs moving ``nbytes`` bytes with ``weights`` precision."""
        peak = self.peak_flops["float32" if weights == "float32" else "float16"]
        return max(flops / (self.eta_c * peak), nbytes / (self.eta_m * self.bandwidth)) + self.overhead_s


_STATS = ("median_ms", "p10_ms", "p90_ms")
_GPU_OVERHEAD = 0.05e-3  # launch-bound floor, low end of the dossier's 0.05-0.2 ms per layer (§2.4)
DEVICES: dict[str, DeviceClass] = {
    d.name: d
    for d in (
        DeviceClass(
            "raspberry-pi-5", {"float32": 154e9, "float16": 307e9}, 17.1e9, 7.0, 0.01e-3,
            "dossier §2.2: 4x Cortex-A76 @ 2.4 GHz, 2 NEON FMA pipes x 4 lanes [D]; 32-bit LPDDR4X-4267 [D]; "
            "6-8 W under CPU load [K]; overhead 0.01 ms (thread synchronisation, assumed)",
        ),
        DeviceClass(
            "phone-sd8gen3", {"float32": 4.6e12, "float16": 4.6e12}, 76.8e9, 5.0, _GPU_OVERHEAD,
            "dossier §2.2: Adreno 750 3-5 TFLOPS (not published; 4.6 used for both precisions, as in the "
            "§2.4 table); 64-bit LPDDR5X-4800 [D]; 3-8 W sustained SoC [K]; the class of the GPU (OpenCL "
            "runtimes: MLC LLM, llama.cpp); the CPU and NPU are phone-sd8gen3-cpu and phone-sd8gen3-npu",
        ),
        DeviceClass(
            "jetson-orin-nano-super", {"float32": 2.09e12, "float16": 16.7e12}, 102e9, 25.0, _GPU_OVERHEAD,
            "dossier §2.2: FP16 tensor dense 16.7 TFLOPS [D]; FP32 1024 CUDA cores x 2 x 1.02 GHz [D]; "
            "128-bit LPDDR5 102 GB/s; 7-25 W (25 W taken)",
        ),
        DeviceClass(
            "jetson-agx-orin", {"float32": 5.3e12, "float16": 42.5e12}, 204.8e9, 60.0, _GPU_OVERHEAD,
            "dossier §2.2: GPU FP16 dense 42.5 TFLOPS [D from 170 sparse INT8 TOPS]; FP32 2048 x 2 x 1.3 GHz "
            "[D]; 256-bit LPDDR5 204.8 GB/s; 15-60 W (60 W taken)",
        ),
        DeviceClass(
            "apple-m2", {"float32": 3.6e12, "float16": 3.6e12}, 100e9, 20.0, _GPU_OVERHEAD,
            "dossier §2.2: GPU 3.6 TFLOPS FP32 (also used for FP16, as in the §2.4 table); 100 GB/s; "
            "15-30 W [K]",
        ),
        DeviceClass(
            "rtx-4090", {"float32": 82.6e12, "float16": 165e12}, 1008e9, 450.0, _GPU_OVERHEAD,
            "dossier §2.2 (LLM-Viewer nvidia_RTX4090): FP16 dense 165 TFLOPS with FP32 accumulate; "
            "FP32 82.6 TFLOPS [K]; 1008 GB/s; 450 W",
        ),
        DeviceClass(
            "a100-80gb", {"float32": 19.5e12, "float16": 312e12}, 2039e9, 400.0, _GPU_OVERHEAD,
            "dossier §2.2 (LLM-Viewer): FP16 dense 312 TFLOPS; FP32 19.5 TFLOPS [K]; 2039 GB/s; 400 W",
        ),
        DeviceClass(
            "h100-sxm", {"float32": 67e12, "float16": 989e12}, 3.35e12, 700.0, _GPU_OVERHEAD,
            "dossier §2.2 (LLM-Viewer): FP16 dense 989 TFLOPS; FP32 67 TFLOPS [K]; 3.35 TB/s; 700 W",
        ),
        # Added for the calibration set (issue 15): devices with published whole-model rates.
        DeviceClass(
            "apple-m1-max", {"float32": 10.4e12, "float16": 10.4e12}, 400e9, 60.0, _GPU_OVERHEAD,
            "dossier §2.2: M1 Max (32-core GPU) 10.4 TFLOPS FP32, also used for FP16 as for apple-m2 [K]; "
            "400 GB/s [K, and llama.cpp discussion #4167 table]; 60 W package power under GPU load [A]",
        ),
        DeviceClass(
            "apple-m2-ultra", {"float32": 27.2e12, "float16": 27.2e12}, 800e9, 100.0, _GPU_OVERHEAD,
            "dossier §2.2: M2 Ultra (76-core GPU) 27.2 TFLOPS FP32, also used for FP16 as for apple-m2 [K]; "
            "800 GB/s [K, and llama.cpp discussion #4167 table]; 100 W package power under GPU load [A]",
        ),
        DeviceClass(
            "rtx-3090", {"float32": 35.6e12, "float16": 71e12}, 936e9, 350.0, _GPU_OVERHEAD,
            "dossier §2.2 (LLM-Viewer nvidia_RTX3090): FP16 dense 71 TFLOPS with FP32 accumulate (as "
            "rtx-4090); FP32 35.6 TFLOPS [K]; 936 GB/s; 350 W",
        ),
        DeviceClass(
            "h100-pcie", {"float32": 51e12, "float16": 756e12}, 2.0e12, 350.0, _GPU_OVERHEAD,
            "NVIDIA H100 PCIe product brief PB-11133-001 (350 W TDP, > 2000 GB/s) and spec table: FP16 "
            "tensor 1513 TFLOPS with sparsity, 756 dense; FP32 51 TFLOPS [S]",
        ),
        # The other execution units of the Snapdragon 8 Gen 3 (phone-sd8gen3 is its Adreno 750 GPU): the
        # published rates of each unit differ (issue 15), so each is a class of its own on the same DRAM.
        DeviceClass(
            "phone-sd8gen3-cpu", {"float32": 0.39e12, "float16": 0.78e12}, 76.8e9, 5.0, 0.01e-3,
            "Snapdragon 8 Gen 3 Kryo CPU: 1x Cortex-X4 3.3 GHz + 3x A720 3.2 GHz + 2x A720 3.0 GHz + 2x A520 "
            "2.3 GHz (Qualcomm launch specs [S]); FP16 peak = sum over cores of FMA lanes x 2 FLOP x clock, "
            "with 4x128-bit ASIMD pipes per X4, 2x128-bit per A720, 2x64-bit per A520 [K: Arm core guides]: "
            "211 + 499 + 74 = 0.78 TFLOPS, FP32 half of it [D]; 64-bit LPDDR5X-4800 76.8 GB/s as "
            "phone-sd8gen3 [D]; 5 W [K]; overhead 0.01 ms "
            "(thread synchronisation, as raspberry-pi-5) [A]",
        ),
        DeviceClass(
            "phone-sd8gen3-npu", {"float32": 45e12, "float16": 45e12}, 76.8e9, 5.0, _GPU_OVERHEAD,
            "Snapdragon 8 Gen 3 Hexagon NPU (HTP v75): Qualcomm publishes no TOPS figure; 45 TOPS INT8 as "
            "quoted by third-party spec pages, used as the peak of the w4a16 path (η_c absorbs the 16-bit "
            "activation rate) and, for want of a float32 path, also as the float32 entry [A]; 64-bit "
            "LPDDR5X-4800 76.8 GB/s as phone-sd8gen3 [D]; 5 W [K]",
        ),
    )
}  # fmt: skip


def get_device(name: str | DeviceClass) -> DeviceClass:
    """The device class ``name`` (a :class:`DeviceClass` is returned as is); unknown names list them."""
    if isinstance(name, DeviceClass):
        return name
    if name not in DEVICES:
        raise ConfigError(f"device={name!r} is unknown{suggest(name, DEVICES)}; allowed: {sorted(DEVICES)}")
    return DEVICES[name]


def layer_work(
    arch: Architecture, component: str, phase: str, tokens: int, weights: str
) -> tuple[float, float]:
    """``(FLOPs, bytes)`` of one ``component`` in ``phase`` at ``tokens`` (module docstring formulas)."""
    b_w = PRECISION_BYTES[weights]
    b_a = 4.0 if weights == "float32" else 2.0
    n = tokens if phase == "prefill" else 1
    d = arch.hidden
    if component == "embed":
        return 0.0, n * d * (b_w + b_a)
    if component == "head":
        return 2.0 * arch.vocab * d, arch.vocab * d * b_w
    p = arch.params_per_layer
    return 2.0 * n * p + 4.0 * n * tokens * d, p * b_w + 2 * tokens * arch.kv_dim * b_a + 2 * n * d * b_a


def _scaled(
    arch: Architecture, points: pd.DataFrame, device: DeviceClass, weights: str, scaled_from: str, name: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    rows = []
    for c, p, t in points[AXES].itertuples(index=False):
        ms = device.time(*layer_work(arch, c, p, int(t), weights), weights) * 1e3
        rows.append({"component": c, "phase": p, "tokens": int(t), "repeats": 0} | dict.fromkeys(_STATS, ms))
    meta = {
        "name": name,
        "kind": "layer_timing",
        "source": "scaled",
        "scaled_from": scaled_from,
        "model": f"{arch.hf_id} ({arch.layers} decoder layers)",
        "device": device.name,
        "axes": AXES,
        "units": UNITS | {"repeats": "0: a roofline prediction, not a measurement (p10 = median = p90)"},
        "categories": CATEGORIES,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "architecture": arch.name,
        "dtype": weights,
        "threads": None,
        "num_layers": arch.layers,
        "device_class": asdict(device),
        "formula": "t = max(FLOPs/(eta_c*peak), bytes/(eta_m*BW)) + overhead (splitgym roofline module)",
    }
    return timing_table(rows), meta


def roofline_profile(
    model: str | Architecture,
    device: str | DeviceClass,
    weights: str = "float16",
    *,
    prompt_lengths: Sequence[int] = (32, 128, 512),
    context_lengths: Sequence[int] = (128, 512, 1024),
    name: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A scaled profile of catalogued ``model`` from its analytic quantities alone."""
    arch, dev, w = get_architecture(model), get_device(device), precision(weights, "weights")
    bad = [n for n in (*prompt_lengths, *context_lengths) if n < 1]
    if bad or not prompt_lengths or not context_lengths:
        raise ConfigError(f"prompt_lengths/context_lengths: need non-empty lists of integers >= 1 ({bad})")
    points = pd.DataFrame(
        [(c, "prefill", n) for c in CATEGORIES["component"] for n in prompt_lengths]
        + [(c, "decode", n) for c in CATEGORIES["component"] for n in context_lengths],
        columns=AXES,
    ).drop_duplicates()
    label = name or f"roofline_{arch.name}_{dev.name}_{w}"
    return _scaled(arch, points, dev, w, f"analytic quantities of catalogue entry {arch.name}", label)


def scale_profile(
    profile: Profile, device: str | DeviceClass, weights: str = "float16", *, name: str | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The grid of measured ``profile`` predicted for ``device`` with ``weights`` precision."""
    arch, dev = get_architecture(str(profile.meta["architecture"])), get_device(device)
    w = precision(weights, "weights")
    label = name or f"scaled_{arch.name}_{dev.name}_{w}"
    return _scaled(arch, profile.table, dev, w, profile.name, label)


def calibrate(profile: Profile, device: str | DeviceClass) -> DeviceClass:
    """``device`` with η_m and η_c fitted to ``profile``, measured on a device of that class.

    η_m is the median of ``bytes / ((t − t_overhead)·BW)`` over decode layer rows, η_c the median of
    ``FLOPs / ((t − t_overhead)·peak)`` over prefill layer rows at the largest prompt length.
    """
    dev, arch = get_device(device), get_architecture(str(profile.meta["architecture"]))
    weights = precision(str(profile.meta["dtype"]), "dtype")
    peak = dev.peak_flops["float32" if weights == "float32" else "float16"]
    layers = profile.table[profile.table.component == "layer"]
    prefill, decode = layers[layers.phase == "prefill"], layers[layers.phase == "decode"]
    prefill = prefill[prefill.tokens == prefill.tokens.max()]
    fits = []
    for rows, index, scale in ((decode, 1, dev.bandwidth), (prefill, 0, peak)):
        if rows.empty:
            raise ConfigError(f"profile {profile.name!r}: calibration needs decode and prefill layer rows")
        points = rows[["phase", "tokens"]].itertuples(index=False)
        work = [layer_work(arch, "layer", p, int(t), weights)[index] for p, t in points]
        seconds = rows.median_ms.to_numpy() * 1e-3 - dev.overhead_s
        fits.append(float(np.median(np.asarray(work) / (seconds * scale))))
    source = f"calibrated from profile {profile.name}"
    return replace(dev, eta_m=fits[0], eta_c=fits[1], efficiency_source=source)


@dataclass(frozen=True)
class PublishedRate:
    """A published batch-1 decode rate of a whole model on a device class."""

    device: str
    model: str
    weights: str
    tok_s: float
    context: int  # tokens attended, assumed (the KV term is a few % of the bytes at this size)
    source: str


PUBLISHED_DECODE = (
    PublishedRate(
        "jetson-agx-orin", "llama2-7b", "int4", 46.9, 128,
        "MLC q4f16_ft, jetson-containers packages/llm/mlc/docs.md (dossier §2.1)",
    ),
    PublishedRate(
        "jetson-orin-nano-super", "llama3-8b", "int4", 19.1, 128,
        "MLC INT4 Llama-3.1-8B (Llama-3-8B shapes), jetson-ai-lab docs/benchmarks.md (dossier §2.1)",
    ),
)  # fmt: skip


def decode_rate(
    model: str | Architecture, device: str | DeviceClass, weights: str = "int4", context: int = 128
) -> float:
    """Predicted decode rate (tokens/s) of the whole model: ``1 / (L·t_layer + t_head)``."""
    arch, dev, w = get_architecture(model), get_device(device), precision(weights, "weights")
    per_token = sum(
        count * dev.time(*layer_work(arch, c, "decode", context, w), w)
        for c, count in (("layer", arch.layers), ("head", 1))
    )
    return 1.0 / per_token


@dataclass(frozen=True)
class RateCheck:
    """A published decode rate against the roofline's prediction (``ratio`` = predicted / published)."""

    published: PublishedRate
    predicted_tok_s: float

    @property
    def ratio(self) -> float:
        return self.predicted_tok_s / self.published.tok_s


def check_published() -> list[RateCheck]:
    """The roofline's decode rates against each of :data:`PUBLISHED_DECODE`."""
    return [RateCheck(p, decode_rate(p.model, p.device, p.weights, p.context)) for p in PUBLISHED_DECODE]
