"""Configuration of the fading split-inference environment, and its named scenarios.

A scenario is configuration, not a subclass: :class:`FadingSplitConfig` holds every parameter (model,
device pair, channel, mobility, request, reward, episode) and each named scenario in :data:`SCENARIOS` is a
set of overrides of its defaults. ``gym.make("splitgym/FadingSplit-<Scenario>-v0", **overrides)`` changes
any field; an unknown field, scenario, device or model is an error that lists the allowed ones.

Where each default comes from (``[S]`` stated by the source, ``[K]`` textbook/standard value, ``[A]`` a
modelling assumption of this project, to be overridden by users with other conditions):

* channel: 3GPP TR 38.901 UMi street canyon at ``fc = 3.5 GHz`` (n78), ``h_BS = 10 m``, ``h_UT = 1.5 m``
  [S]; 20 MHz uplink share, UE power class 3 (23 dBm), gNB noise figure 5 dB, 0 dBi antennas [K, research
  dossier §3.9]; truncated Shannon ``rate = B min(0.6 log2(1 + SNR), 4.4)``, 0 below -10 dB (TR 36.942
  Annex A) [S]; Rician K of UMi LOS 9 dB (TR 38.901 Table 7.5-6) [S]; LOS state correlation distance
  50 m (TR 38.901 Table 7.6.3.1-2, UMi) [S]; uncoded QPSK over 12,000-bit packets for the packet-erasure
  mapping [A, dossier §6.2].
* radio energy ``(P_tx / eta_PA + P_circ) t_tx`` with ``eta_PA = 0.35``, ``P_circ = 0.5 W`` [K, dossier
  §4.2, §6.3]; user-plane latency 4 ms per transmission (IMT-2020 eMBB target, ITU-R M.2410) [S].
* devices: peaks, bandwidth and active power of each device class from
  :data:`splitgym.profiles.timing.roofline.DEVICES`; memory from :data:`DEVICE_MEMORY_GIB` below.
* request and load processes (prompt lengths, generated tokens, background and edge utilisation,
  request interval, deadline, memory share) and reward weights are [A].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from splitgym.envs.config import (
    build_config,
    check_choice,
    check_int_range,
    check_interval,
    check_pair,
    check_range,
    check_weights,
)
from splitgym.errors import ConfigError, suggest

__all__ = [
    "DEFAULT_SCENARIO",
    "DEVICE_MEMORY_GIB",
    "MODELS",
    "OPERATORS",
    "SCENARIOS",
    "FadingSplitConfig",
    "scenario_config",
]

# Memory of each device class (GiB) and where the figure comes from; the share of it the LLM may use is
# ``memory_fraction``.
DEVICE_MEMORY_GIB: dict[str, tuple[float, str]] = {
    "raspberry-pi-5": (8.0, "Raspberry Pi 5 launch specs: 8 GB LPDDR4X variant [S]"),
    "phone-sd8gen3": (12.0, "flagship phones on Snapdragon 8 Gen 3 ship 8-16 GB; 12 GB taken [K]"),
    "jetson-orin-nano-super": (8.0, "Jetson Orin Nano Super developer kit: 8 GB LPDDR5 [S]"),
    "jetson-agx-orin": (64.0, "Jetson AGX Orin 64 GB module [S]"),
    "apple-m2": (16.0, "Apple M2: 8, 16 or 24 GB unified memory; 16 GB taken [S]"),
    "rtx-4090": (24.0, "GeForce RTX 4090: 24 GB GDDR6X [S]"),
    "a100-80gb": (80.0, "A100 80 GB [S]"),
    "h100-sxm": (80.0, "H100 SXM: 80 GB HBM3 [S]"),
}

# Models the environment can run: the timing architecture (profiles/timing catalogue) and where quality
# comes from. "reference": the project's LLM, measured accuracy profiles per corruption operator;
# "llama2-7b": the paper's table (Chen et al.), element erasure reached through the packet-erasure
# probability of the link.
MODELS: dict[str, dict[str, Any]] = {
    "reference": {
        "operators": ("fading", "fading_noeq", "erasure", "bitflip_fp16", "bitflip_int8"),
        "profiles": {
            op: f"accuracy/reference_{op}"
            for op in ("fading", "fading_noeq", "erasure", "bitflip_fp16", "bitflip_int8")
        },
    },
    "llama2-7b": {"operators": ("erasure",), "profiles": {"erasure": "paper_llama2_7b_rsm_grid"}},
}
OPERATORS = ("fading", "fading_noeq", "erasure", "bitflip_fp16", "bitflip_int8")
MODULATIONS = ("bpsk", "qpsk", "16qam", "64qam")


@dataclass(frozen=True)
class FadingSplitConfig:
    """Every parameter of :class:`~splitgym.envs.fading.env.FadingSplitEnv` (units in the names)."""

    # Model, devices and quality source.
    model: str = "reference"
    operator: str = "fading"
    quality_profile: str | None = None  # a quality_grid profile (name or path) replacing the default
    # A quality model object replacing the table (a fitted surrogate, splitgym.surrogates): anything with
    # level_name, splits, levels (its valid level range) and quality_batch(splits, levels).
    quality_model: Any = None
    device: str = "phone-sd8gen3"
    edge: str = "a100-80gb"
    memory_fraction: float = 0.5  # share of the device's memory the LLM may use [A]
    # Request: prompt tokens ~ U{lo..hi}, generated tokens per request.
    prompt_tokens: tuple[int, int] = (32, 128)
    new_tokens: int = 16
    # Radio link (uplink, device -> edge).
    carrier_hz: float = 3.5e9
    bandwidth_hz: float = 20e6
    tx_power_dbm: float = 23.0
    antenna_gain_db: float = 0.0
    noise_figure_db: float = 5.0
    spectral_efficiency: tuple[float, float] = (0.6, 4.4)  # truncated Shannon (alpha, SE_max b/s/Hz)
    min_snr_db: float = -10.0  # rate is 0 below (outage)
    link_latency_ms: float = 4.0
    modulation: str = "qpsk"  # packet-erasure mapping (operator "erasure")
    packet_bits: int = 12000
    pa_efficiency: float = 0.35
    circuit_power_w: float = 0.5
    # Mobility and channel dynamics.
    speed_kmh: float = 3.0
    distance_m: tuple[float, float] = (20.0, 250.0)
    request_interval_s: float = 1.0
    rician_k_db: float = 9.0
    los_decorrelation_m: float = 50.0
    snr_estimate_std_db: float = 1.0
    snr_history: int = 4
    # Load on the device (background apps) and on the edge (other users): AR(1) in [0, 0.95].
    device_load: tuple[float, float] = (0.2, 0.1)  # (mean, std)
    edge_load: tuple[float, float] = (0.5, 0.2)
    load_correlation: float = 0.9
    # Reward.
    w_quality: float = 1.0
    w_load: float = 0.3
    w_energy: float = 0.0
    w_latency: float = 0.5
    w_invalid: float = 1.0
    deadline_s: float = 0.25
    quality_range: tuple[float, float] | None = None  # (Q scoring 0, Q scoring 1); None: from the model
    min_split: int = 1  # the raw prompt never leaves the device (Chen et al. keep >= 1 layer) [A]
    # Episode.
    max_steps: int = 100

    def __post_init__(self) -> None:
        check_choice("model", self.model, tuple(MODELS))
        ops = MODELS[self.model]["operators"]
        if self.quality_profile is None and self.operator not in ops:
            hint = suggest(str(self.operator), ops)
            raise ConfigError(
                f"operator {self.operator!r} has no accuracy profile for model {self.model!r}{hint}; "
                f"allowed: {list(ops)} (or pass quality_profile=...)"
            )
        check_choice("operator", self.operator, OPERATORS)
        if self.quality_model is not None:
            needed = ("level_name", "splits", "levels", "quality_batch")
            missing = [a for a in needed if not hasattr(self.quality_model, a)]
            if missing:
                raise ConfigError(
                    f"quality_model must be a quality model with {list(needed)}; "
                    f"{type(self.quality_model).__name__} lacks {missing}"
                )
            if self.quality_model.level_name not in ("snr_db", "impairment"):
                raise ConfigError(
                    f"quality_model's level_name must be 'snr_db' or 'impairment', "
                    f"got {self.quality_model.level_name!r}"
                )
        from splitgym.profiles.timing.roofline import DEVICES

        check_choice("device", self.device, tuple(DEVICES))
        check_choice("edge", self.edge, tuple(DEVICES))
        check_choice("modulation", self.modulation, MODULATIONS)
        check_range("memory_fraction", self.memory_fraction, high=1.0)
        check_interval("prompt_tokens", self.prompt_tokens, 1, 1_000_000)
        for v in self.prompt_tokens:
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"prompt_tokens must be a pair of integers, got {self.prompt_tokens!r}")
        check_int_range("new_tokens", self.new_tokens, 1, 1_000_000)
        check_range("carrier_hz", self.carrier_hz, low=0.5e9, high=100e9)
        check_range("bandwidth_hz", self.bandwidth_hz)
        # Physical ranges: a UE transmits at most 33 dBm (TS 38.101-1 power class 1.5 is 29 dBm; 33 dBm
        # covers FWA classes) [S]; antenna gains and noise figures within what devices have [K].
        check_range("tx_power_dbm", self.tx_power_dbm, zero=True, low=-50.0, high=33.0)
        check_range("antenna_gain_db", self.antenna_gain_db, zero=True, low=-30.0, high=30.0)
        check_range("noise_figure_db", self.noise_figure_db, zero=True, low=0.0, high=30.0)
        check_range("min_snr_db", self.min_snr_db, zero=True, low=-50.0, high=30.0)
        check_interval("spectral_efficiency", self.spectral_efficiency, 1e-9, 100.0)
        check_range("link_latency_ms", self.link_latency_ms, zero=True)
        check_int_range("packet_bits", self.packet_bits, 1, 10**9)
        check_range("pa_efficiency", self.pa_efficiency, high=1.0)
        check_range("circuit_power_w", self.circuit_power_w, zero=True)
        check_range("speed_kmh", self.speed_kmh, zero=True, high=500.0)
        check_interval("distance_m", self.distance_m, 10.0, 5000.0)
        check_range("request_interval_s", self.request_interval_s)
        check_range("rician_k_db", self.rician_k_db, zero=True, low=-30.0, high=40.0)  # measured K <= ~20 dB
        check_range("los_decorrelation_m", self.los_decorrelation_m)
        check_range("snr_estimate_std_db", self.snr_estimate_std_db, zero=True)
        check_int_range("snr_history", self.snr_history, 0, 64)
        for name in ("device_load", "edge_load"):
            mean, std = check_pair(getattr(self, name), name)
            if not (0.0 <= mean <= 0.95 and 0.0 <= std <= 0.5):
                raise ConfigError(
                    f"{name} must be (mean, std) with 0 <= mean <= 0.95, 0 <= std <= 0.5, "
                    f"got {getattr(self, name)!r}"
                )
        check_range("load_correlation", self.load_correlation, zero=True, high=1.0)
        check_weights(
            w_quality=self.w_quality,
            w_load=self.w_load,
            w_energy=self.w_energy,
            w_latency=self.w_latency,
        )
        check_range("w_invalid", self.w_invalid, zero=True)
        check_range("deadline_s", self.deadline_s)
        if self.quality_range is not None:
            lo, hi = check_pair(self.quality_range, "quality_range")
            if not lo < hi:
                raise ConfigError(
                    f"quality_range must be (low, high) with low < high, got {self.quality_range!r}"
                )
        check_int_range("min_split", self.min_split, 0, 1000)
        check_int_range("max_steps", self.max_steps, 1, 10**9)

    @property
    def speed_mps(self) -> float:
        """Device speed in m/s."""
        return self.speed_kmh / 3.6


# Named scenarios: overrides of the defaults. The default ID splitgym/FadingSplit-v0 is "Pedestrian".
SCENARIOS: dict[str, Mapping[str, Any]] = {
    "Pedestrian": {},
    "Vehicular": {"speed_kmh": 50.0, "distance_m": (20.0, 400.0)},
    "BitFlip": {"operator": "bitflip_fp16"},
    "Llama7B": {
        "model": "llama2-7b",
        "operator": "erasure",
        "device": "jetson-orin-nano-super",
        "edge": "a100-80gb",
        "prompt_tokens": (32, 512),
        "deadline_s": 2.0,
    },
}
DEFAULT_SCENARIO = "Pedestrian"


def scenario_config(scenario: str = DEFAULT_SCENARIO, **overrides: Any) -> FadingSplitConfig:
    """The configuration of ``scenario`` with ``overrides`` applied (unknown names list the valid ones)."""
    if scenario not in SCENARIOS:
        raise ConfigError(
            f"scenario {scenario!r} is unknown{suggest(scenario, SCENARIOS)}; allowed: {list(SCENARIOS)}"
        )
    merged = {**SCENARIOS[scenario], **overrides}
    return build_config(FadingSplitConfig, None, merged, f"FadingSplit scenario {scenario!r}")
