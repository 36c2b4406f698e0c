"""Configuration of the v1 split world (``splitgym/FadingSplit-*-v1``) and its named scenarios.

One frozen dataclass, :class:`SplitConfig`, holds every parameter (model and precisions, devices, NR link,
channel, request, energy, reward, episode); a scenario in :data:`SCENARIOS` is a set of overrides.
``gym.make("splitgym/FadingSplit-<Scenario>-v1", **overrides)`` changes any field; unknown fields, choices
or physically impossible values are :class:`~splitgym.errors.ConfigError` naming the parameter.

Where each default comes from (``[S]`` stated by the source, ``[K]`` textbook/standard, ``[A]`` assumption
of this project with its reason). The research dossier is ``shared/research/link_and_dynamics.md``:

* radio [S: TS 38.211/38.101-1]: 3.5 GHz (n78), 30 kHz SCS (mu = 1, 0.5 ms slots), 20 MHz -> 51 PRB, TDD
  ``DDDSU`` [A: GSMA 3.5 GHz synchronisation guidance, dossier]; UL MCS table 1 (64QAM) [A: dossier];
  BLER target 0.1 with OLLA ``Delta_up`` 1 dB [S: Sionna]; HARQ chase combining, 4 transmissions, K2 = 2
  slots, gNB decode 0.1 ms [S: ns-3 5G-LENA]; UE PDSCH processing N1 = 10 symbols at mu = 1 (0.357 ms)
  [S: TS 38.214 Table 5.3-1, capability 1, recalled in the dossier §2.1]; SR period 10 slots [A: dossier
  §2.1]; backhaul gNB <-> edge 0.5 ms one way [A: dossier, co-located edge]; DL token-id transmission at
  the DL link adaptation's 10 % first-attempt BLER [A: the gNB is not power limited, dossier §1.8];
  P_CMAX 23 dBm [S: TS 38.101-1 power class 3]; P0 -80 dBm, alpha 1 [S: ns-3 5G-LENA]; gNB noise
  figure 5 dB, IoT 3 dB [A: dossier §1.8, §8]; CSI (SRS/CQI) every 10 slots, used 4 slots later
  [A: typical 5-20 slot periods, dossier §1.3 / cqi.py]; per-packet header 40 B (IPv4 20 + UDP 8 +
  PDCP/RLC/MAC ~ 9 B) [K].
* channel [S: TR 38.901 UMi street canyon, as v0]: LOS probability, path loss, shadowing, Rician K 9 dB;
  coherence time ``T_c = 0.423/f_D`` [K], fading constant over blocks of ``T_c/4`` and AR(1) between
  blocks with ``rho = J0(2 pi f_D T_b)`` (Jakes) [K/A: a quarter of T_c keeps rho ~ 0.9 between blocks];
  coherence bandwidth ``1/(5 tau_rms)`` with ``tau_rms`` 100 ns -> independent subbands [K/A: dossier
  §3].
* devices: calibrated per-layer timing profiles in the precision a deployment uses (int4 weights on
  phones and Jetsons, fp16 on the edge) [S: profiles/data/timing/calibrated, 62 published points];
  SoC power in decode = the device class's ``power_w``, prefill 1.4x, idle 0.2x [A: dossier §4.3 phone
  defaults 5 / 7 / 1 W]; the modem from TR 38.840 via :class:`~splitgym.envs.state.radio.RadioParams`
  [S/A].
* link modes [A/K]: ``analog`` uses ``analog_pilots`` = 30 DMRS REs per estimate (type 1, one symbol:
  6 RE/PRB for one port, over the ~5 PRBs of a 10-subband 20 MHz carrier); ``uncoded`` sends 1500-B
  packets (the IP MTU [K]) of QPSK symbols [A: the paper's bit-flip setting]; see :mod:`.analog`,
  :mod:`.uncoded`.
* request: prompts on ``prompt_levels`` evenly spaced lengths in ``prompt_tokens`` [A: a grid keeps the
  request-outcome tables small], 16 generated tokens [A]; deadlines TTFT 2 s and TBT 0.2 s (Vidur
  dashboard defaults, TTFT P90 <= 2 s, TBT P99 <= 200 ms) [S: repo]; total = TTFT + (G - 1) TBT [K].
* reward weights, loads, memory share, pool sizes [A].
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from splitgym.envs.config import (
    build_config,
    check_choice,
    check_int_range,
    check_interval,
    check_number,
    check_pair,
    check_range,
    check_weights,
)
from splitgym.errors import ConfigError, suggest
from splitgym.registration import STATE, V1_SCENARIOS

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_BITS",
    "DEFAULT_SCENARIO",
    "GRANTS",
    "LINK_MODES",
    "MAX_SPEED_KMH",
    "SCENARIOS",
    "WEIGHT_PRECISIONS",
    "SplitConfig",
    "scenario_config",
]

LINK_MODES = ("nr", "analog", "uncoded")
ACTIVATIONS = ("fp16", "int8", "int4")
ACTIVATION_BITS = {"fp16": 16, "int8": 8, "int4": 4}
WEIGHT_PRECISIONS = ("float16", "int8", "int4")
GRANTS = ("dynamic", "configured")
MAX_SPEED_KMH = 500.0
MAX_TX_POWER_DBM = 33.0


@dataclass(frozen=True)
class SplitConfig:
    """Every parameter of the v1 split world (units in the names; sources in the module docstring)."""

    # Model, precisions, devices.
    model: str = "qwen2-0.5b"
    device: str = "phone-sd8gen3"
    edge: str = "a100-80gb"
    device_precision: str = "int4"
    edge_precision: str = "float16"
    activation: str = "fp16"  # precision of the hidden state sent over the link
    quality_profile: str | None = None  # a quality_grid on "activation_bits" (default: the reference's)
    memory_fraction: float = 0.5
    min_split: int = 1  # the raw prompt never leaves the device (as v0) [A]
    # Request.
    prompt_tokens: tuple[int, int] = (32, 128)
    prompt_levels: int = 8
    new_tokens: int = 16
    ttft_deadline_s: float = 2.0
    tbt_deadline_s: float = 0.2
    deadline_s: float | None = None  # total; None = TTFT + (G - 1) TBT deadlines
    # Link.
    link: str = "nr"  # "nr" (digital, link adaptation), "analog" or "uncoded" (envs/split/link.py)
    analog_pilots: int = 30  # DMRS REs per channel estimate (analog)
    uncoded_modulation: str = "qpsk"  # fixed modulation of the uncoded mode
    packet_bits: int = 12000  # packet size of the uncoded mode, header included (1500 B)
    mcs_table: str = "64qam"
    tdd_pattern: str = "DDDSU"
    carrier_hz: float = 3.5e9
    bandwidth_hz: float = 20e6
    scs_hz: float = 30e3
    tx_power_dbm: float = 23.0  # P_CMAX
    p0_dbm: float = -80.0
    alpha: float = 1.0
    noise_figure_db: float = 5.0
    iot_db: float = 3.0
    impl_margin_db: float = 0.0
    bler_target: float = 0.1
    olla_delta_up_db: float = 1.0
    harq_max_tx: int = 4
    grant: str = "dynamic"
    sr_period_slots: int = 10
    k2_slots: int = 2
    csi_period_slots: int = 10
    csi_delay_slots: int = 4
    gnb_decode_s: float = 1e-4
    ue_decode_s: float = 10.0 / 28.0 * 1e-3
    backhaul_s: float = 5e-4
    dl_bler: float = 0.1
    header_bits: int = 320
    token_id_bits: int = 32
    # Channel and mobility.
    fading: bool = True
    speed_kmh: float = 3.0
    distance_m: tuple[float, float] = (20.0, 250.0)
    request_interval_s: float = 1.0
    rician_k_db: float = 9.0
    los_decorrelation_m: float = 50.0
    delay_spread_s: float = 100e-9
    snr_estimate_std_db: float = 1.0
    cqi_history: int = 4
    pool_size: int = 16  # fading realisations per (LOS, SNR bin) in the request-outcome tables [A]
    snr_bin_db: float = 1.0
    snr_range_db: tuple[float, float] = (-10.0, 36.0)
    horizon_s: float = 4.0  # requests not finished by then time out (outage) [A]
    pool_seed: int = 0  # seed of the fading/HARQ pool (a property of the world, not of an episode)
    # Loads (exogenous until the state issue): AR(1) utilisation, processor sharing 1/(1 - u) [A].
    device_load: tuple[float, float] = (0.2, 0.1)
    edge_load: tuple[float, float] = (0.3, 0.15)
    load_correlation: float = 0.9
    # Energy (None = derived from the device class, see the module docstring).
    device_decode_w: float | None = None
    device_prefill_w: float | None = None
    device_idle_w: float | None = None
    # Reward.
    w_quality: float = 1.0
    w_latency: float = 0.5
    w_energy: float = 0.2
    w_load: float = 0.1
    w_invalid: float = 1.0
    quality_range: tuple[float, float] | None = None
    # Episode.
    max_steps: int = 100
    # Sequential state (issue 13, :mod:`splitgym.envs.split.state`): the components composed into the world,
    # each updated by the executed action. () = stateless (the request process alone).
    state: tuple[str, ...] = ()
    arrival_kind: str = "poisson"  # queue: "poisson", "periodic" or "trace"
    arrival_rate_per_s: float = 0.2  # [A: a busy chat session, a request per 5 s; see state.py]
    arrival_period_s: float = 5.0  # [A: same mean as the Poisson default]
    arrival_trace_s: tuple[float, ...] = ()  # arrival times (s), sorted, finite, >= 0
    thermal_ambient_c: float = 25.0  # [A: room temperature; ThermalParams]
    thermal_skin_throttle_c: float = 42.0  # [S: Galaxy S25 Ultra, dossier §5.1; ThermalParams]
    thermal_die_throttle_c: float = 90.0  # [A: dossier §5.2]
    battery_capacity_wh: float = 13.9  # [S: iPhone 16 Pro 3582 mAh x 3.88 V; BatteryParams]
    battery_initial_soc: float = 1.0  # [A: a session starts on a full battery]
    rrc_inactivity_s: float = 10.0  # [S: SIGCOMM'21 5G artifact; RadioParams]
    kv_mode: str = "migrate"  # a split change between turns: "migrate" the moved layers' KV or "recompute"
    turns_per_conversation: int = 4  # [A: a short multi-turn chat]

    def __post_init__(self) -> None:
        _check_state(self)
        from splitgym.envs.channels.nr import MCS_TABLES, TDD_PATTERNS
        from splitgym.profiles.timing.catalogue import CATALOGUE
        from splitgym.profiles.timing.roofline import DEVICES

        check_choice("model", self.model, tuple(CATALOGUE))
        check_choice("device", self.device, tuple(DEVICES))
        check_choice("edge", self.edge, tuple(DEVICES))
        check_choice("device_precision", self.device_precision, WEIGHT_PRECISIONS)
        check_choice("edge_precision", self.edge_precision, WEIGHT_PRECISIONS)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("link", self.link, LINK_MODES)
        _check_link_mode(self)
        check_choice("mcs_table", self.mcs_table, tuple(MCS_TABLES))
        check_choice("tdd_pattern", self.tdd_pattern, tuple(TDD_PATTERNS))
        check_choice("grant", self.grant, GRANTS)
        check_range("memory_fraction", self.memory_fraction, high=1.0)
        check_int_range("min_split", self.min_split, 0, 1000)
        check_interval("prompt_tokens", self.prompt_tokens, 1, 100_000)
        for v in self.prompt_tokens:
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"prompt_tokens must be a pair of integers, got {self.prompt_tokens!r}")
        check_int_range("prompt_levels", self.prompt_levels, 1, 64)
        if isinstance(self.new_tokens, int) and not isinstance(self.new_tokens, bool) and self.new_tokens < 1:
            raise ConfigError(
                f"new_tokens must be >= 1 (a request generates at least one token), got {self.new_tokens}"
            )
        check_int_range("new_tokens", self.new_tokens, 1, 4096)
        check_range("ttft_deadline_s", self.ttft_deadline_s, high=3600.0)
        check_range("tbt_deadline_s", self.tbt_deadline_s, high=3600.0)
        if self.deadline_s is not None:
            check_range("deadline_s", self.deadline_s, high=36_000.0)
        check_range("carrier_hz", self.carrier_hz, low=0.5e9, high=7.125e9)
        check_number("bandwidth_hz", self.bandwidth_hz)
        if self.bandwidth_hz <= 0:
            raise ConfigError(f"bandwidth_hz must be > 0 (a channel bandwidth), got {self.bandwidth_hz!r}")
        check_choice("scs_hz", self.scs_hz, (15e3, 30e3, 60e3))  # type: ignore[arg-type]
        check_number("tx_power_dbm", self.tx_power_dbm)
        if not -40.0 <= self.tx_power_dbm <= MAX_TX_POWER_DBM:
            raise ConfigError(
                f"tx_power_dbm must be in [-40, {MAX_TX_POWER_DBM}] dBm (no UE power class exceeds "
                f"{MAX_TX_POWER_DBM} dBm), got {self.tx_power_dbm!r}"
            )
        check_number("p0_dbm", self.p0_dbm)
        check_number("alpha", self.alpha)
        check_range("noise_figure_db", self.noise_figure_db, zero=True, high=30.0)
        check_range("iot_db", self.iot_db, zero=True, high=30.0)
        check_range("impl_margin_db", self.impl_margin_db, zero=True, low=-10.0, high=10.0)
        check_range("bler_target", self.bler_target, high=0.5)
        check_range("olla_delta_up_db", self.olla_delta_up_db, high=10.0)
        check_int_range("harq_max_tx", self.harq_max_tx, 1, 8)
        check_int_range("sr_period_slots", self.sr_period_slots, 1, 640)
        check_int_range("k2_slots", self.k2_slots, 0, 32)
        check_int_range("csi_period_slots", self.csi_period_slots, 1, 640)
        check_int_range("csi_delay_slots", self.csi_delay_slots, 0, 640)
        for name in ("gnb_decode_s", "ue_decode_s", "backhaul_s"):
            check_range(name, getattr(self, name), zero=True, high=1.0)
        check_range("dl_bler", self.dl_bler, zero=True, high=0.5)
        check_int_range("header_bits", self.header_bits, 0, 100_000)
        check_int_range("token_id_bits", self.token_id_bits, 1, 64)
        if not isinstance(self.fading, bool):
            raise ConfigError(f"fading must be True or False, got {self.fading!r}")
        check_number("speed_kmh", self.speed_kmh)
        if not 0.0 <= self.speed_kmh <= MAX_SPEED_KMH:
            raise ConfigError(f"speed_kmh must be in [0, {MAX_SPEED_KMH}] km/h, got {self.speed_kmh!r}")
        check_interval("distance_m", self.distance_m, 10.0, 5000.0)
        check_range("request_interval_s", self.request_interval_s, high=3600.0)
        check_range("rician_k_db", self.rician_k_db, zero=True, low=-20.0, high=40.0)
        check_range("los_decorrelation_m", self.los_decorrelation_m)
        check_range("delay_spread_s", self.delay_spread_s, zero=True, high=1e-5)
        check_range("snr_estimate_std_db", self.snr_estimate_std_db, zero=True, high=20.0)
        check_int_range("cqi_history", self.cqi_history, 1, 32)
        check_int_range("pool_size", self.pool_size, 1, 1024)
        check_range("snr_bin_db", self.snr_bin_db, low=0.05, high=10.0)
        check_interval("snr_range_db", self.snr_range_db, -40.0, 80.0)
        check_range("horizon_s", self.horizon_s, low=0.01, high=60.0)
        check_int_range("pool_seed", self.pool_seed, 0, 2**63 - 1)
        for name in ("device_load", "edge_load"):
            mean, std = check_pair(getattr(self, name), name)
            if not (0.0 <= mean <= 0.95 and 0.0 <= std <= 0.5):
                raise ConfigError(f"{name} must be (mean, std) with 0 <= mean <= 0.95, 0 <= std <= 0.5")
        check_range("load_correlation", self.load_correlation, zero=True, high=1.0)
        for name in ("device_decode_w", "device_prefill_w", "device_idle_w"):
            if getattr(self, name) is not None:
                check_range(name, getattr(self, name), zero=True, high=2000.0)
        check_weights(
            w_quality=self.w_quality, w_latency=self.w_latency, w_energy=self.w_energy, w_load=self.w_load
        )
        check_range("w_invalid", self.w_invalid, zero=True)
        if self.quality_range is not None:
            lo, hi = check_pair(self.quality_range, "quality_range")
            if not lo < hi:
                raise ConfigError(
                    f"quality_range must be (low, high) with low < high, got {self.quality_range!r}"
                )
        check_int_range("max_steps", self.max_steps, 1, 10**9)
        from splitgym.envs.channels.nr import n_prb

        n_prb(self.bandwidth_hz, self.scs_hz)  # bandwidth must be a TS 38.101-1 channel bandwidth

    # -- derived -------------------------------------------------------------------------------------
    @property
    def speed_mps(self) -> float:
        """Device speed (m/s)."""
        return self.speed_kmh / 3.6

    @property
    def total_deadline_s(self) -> float:
        """Deadline of the whole request (s)."""
        if self.deadline_s is not None:
            return self.deadline_s
        return self.ttft_deadline_s + (self.new_tokens - 1) * self.tbt_deadline_s

    @property
    def activation_bits(self) -> int:
        """Bits per element of the sent hidden state."""
        return ACTIVATION_BITS[self.activation]

    @property
    def mu(self) -> int:
        """Numerology."""
        return round(math.log2(self.scs_hz / 15e3))


STATE_COMPONENTS: tuple[str, ...] = STATE  # the registry's stateful IDs turn every one on


def _check_link_mode(c: SplitConfig) -> None:
    """The fields of the analog and uncoded modes (errors name the field, the value, what is allowed)."""
    from splitgym.envs.channels.link import MODULATIONS

    check_int_range("analog_pilots", c.analog_pilots, 1, 100_000)
    check_choice("uncoded_modulation", c.uncoded_modulation, MODULATIONS)
    check_int_range("packet_bits", c.packet_bits, 64, 10**7)
    if c.link == "analog" and c.activation != "fp16":
        raise ConfigError(
            f"activation={c.activation!r} does not apply to link='analog' (it sends the values themselves); "
            "leave activation='fp16', or choose link 'nr' or 'uncoded'"
        )
    if c.link == "uncoded":
        if c.activation not in ("fp16", "int8"):
            raise ConfigError(
                f"activation must be 'fp16' or 'int8' with link='uncoded' (the uncoded operator's dtypes), "
                f"got {c.activation!r}"
            )
        if c.packet_bits - c.header_bits < ACTIVATION_BITS[c.activation]:
            raise ConfigError(
                f"packet_bits={c.packet_bits} leaves no room for an element after header_bits="
                f"{c.header_bits}; allowed: packet_bits >= header_bits + {ACTIVATION_BITS[c.activation]}"
            )


def _check_state(c: SplitConfig) -> None:
    """The sequential-state fields (errors name the field, the value and what is allowed)."""
    if isinstance(c.state, str) or not all(isinstance(x, str) for x in c.state):
        raise ConfigError(
            f"state must be a tuple of component names from {STATE_COMPONENTS}, got {c.state!r}"
        )
    for name in c.state:
        if name not in STATE_COMPONENTS:
            raise ConfigError(
                f"state: unknown component {name!r}{suggest(name, STATE_COMPONENTS)}; allowed: "
                f"{list(STATE_COMPONENTS)}"
            )
    if len(set(c.state)) != len(c.state):
        raise ConfigError(f"state must name each component once, got {c.state!r}")
    check_choice("arrival_kind", c.arrival_kind, ("poisson", "periodic", "trace"))
    for name in ("arrival_rate_per_s", "arrival_period_s", "battery_capacity_wh", "rrc_inactivity_s"):
        v = getattr(c, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0.0:
            raise ConfigError(f"{name} must be a finite number > 0, got {v!r}")
    trace = c.arrival_trace_s
    try:
        t = [float(x) for x in trace]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"arrival_trace_s must be a sequence of times in s, got {trace!r}") from exc
    if not all(math.isfinite(x) and x >= 0.0 for x in t):
        raise ConfigError(f"arrival_trace_s must hold finite times >= 0 s, got {trace!r}")
    if any(b < a for a, b in itertools.pairwise(t)):
        raise ConfigError(f"arrival_trace_s must be sorted (non-decreasing), got {trace!r}")
    if c.arrival_kind == "trace" and "queue" in c.state and not t:
        raise ConfigError("arrival_trace_s must hold at least one time when arrival_kind='trace', got ()")
    check_number("thermal_ambient_c", c.thermal_ambient_c)
    for name in ("thermal_skin_throttle_c", "thermal_die_throttle_c"):
        v = getattr(c, name)
        check_number(name, v)
        if v < c.thermal_ambient_c:
            raise ConfigError(
                f"{name} must be >= thermal_ambient_c ({c.thermal_ambient_c:g} °C), got {v!r} (a throttle "
                "temperature below ambient would throttle an idle device)"
            )
    v = c.battery_initial_soc
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 < v <= 1.0:
        raise ConfigError(f"battery_initial_soc must be in (0, 1], got {v!r}")
    check_choice("kv_mode", c.kv_mode, ("migrate", "recompute"))
    check_int_range("turns_per_conversation", c.turns_per_conversation, 1, 10**6)


# Named scenarios (physical settings): overrides of the defaults, stateless (``state=()``) as configured here;
# the registry's ``FadingSplit-<Name>-v1`` IDs add every state component, ``-Stateless-v1`` ones do not
# (splitgym/registration.py). The default ID splitgym/FadingSplit-v1 is "Pedestrian" with every component.
SCENARIOS: dict[str, Mapping[str, Any]] = {
    "Pedestrian": {},
    "Vehicular": {"speed_kmh": 50.0, "distance_m": (20.0, 400.0)},
    # An agent's back-to-back LLM calls (tool use loops) [A: a request a second on average, five times the
    # chat default; service times of 0.4-2 s make the queue bite].
    "Agentic": {"arrival_rate_per_s": 1.0},
    "TinyLlama": {"model": "tinyllama-1.1b"},
    "Llama7B": {
        "model": "llama2-7b",
        "device": "jetson-orin-nano-super",
        "prompt_tokens": (32, 512),
        "horizon_s": 8.0,
        "ttft_deadline_s": 4.0,
    },
    "Reference": {"model": "reference", "device_precision": "float16"},
    "Analog": {"model": "reference", "device_precision": "float16", "link": "analog"},
    "Uncoded": {"model": "reference", "device_precision": "float16", "link": "uncoded"},
}
DEFAULT_SCENARIO = "Pedestrian"
SCENARIO_SUMMARIES: dict[str, str] = dict(V1_SCENARIOS)  # one line each, named in the registration


def scenario_config(scenario: str = DEFAULT_SCENARIO, **overrides: Any) -> SplitConfig:
    """The configuration of ``scenario`` with ``overrides`` applied (unknown names list the valid ones)."""
    if scenario not in SCENARIOS:
        raise ConfigError(
            f"scenario {scenario!r} is unknown{suggest(scenario, SCENARIOS)}; allowed: {list(SCENARIOS)}"
        )
    merged = {**SCENARIOS[scenario], **overrides}
    return build_config(SplitConfig, None, merged, f"FadingSplit-v1 scenario {scenario!r}")
