"""SplitConfig's validation bounds, value by value: every bound admits its edge and rejects the value just
past it, with a one-line error that names the parameter and the value.

The bounds are the documented ranges of the fields (envs/split/config.py, envs/config.py's checks); a test
sits on each edge, so a bound that moves, a strict comparison that turns inclusive or a parameter name that
changes in a message fails here.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from splitgym.envs.split.config import MAX_SPEED_KMH, MAX_TX_POWER_DBM, SplitConfig
from splitgym.errors import ConfigError

# field: (values on or inside the bounds, values just outside them)
BOUNDS: dict[str, tuple[list[Any], list[Any]]] = {
    "memory_fraction": ([1e-9, 1.0], [0.0, 1.0000001]),
    "min_split": ([0, 1000], [-1, 1001, 1.0, True]),
    "prompt_tokens": ([(1, 1), (1, 100_000)], [(0, 8), (8, 100_001), (9, 8), (8.0, 16)]),
    "prompt_levels": ([1, 64], [0, 65]),
    "new_tokens": ([1, 4096], [0, 4097, -3]),
    "ttft_deadline_s": ([1e-6, 3600.0], [0.0, 3600.001]),
    "tbt_deadline_s": ([1e-6, 3600.0], [0.0, 3600.001]),
    "deadline_s": ([None, 1e-6, 36_000.0], [0.0, 36_000.1]),
    "carrier_hz": ([0.5e9 + 1.0, 7.125e9], [0.5e9, 7.126e9]),
    "bandwidth_hz": ([5e6, 100e6], [0.0, -20e6, 21e6]),
    "scs_hz": ([15e3, 30e3, 60e3], [120e3, 45e3]),
    "tx_power_dbm": ([-40.0, MAX_TX_POWER_DBM], [-40.001, MAX_TX_POWER_DBM + 0.001]),
    "noise_figure_db": ([0.0, 30.0], [-0.001, 30.001]),
    "iot_db": ([0.0, 30.0], [-0.001, 30.001]),
    "impl_margin_db": ([-10.0, 10.0], [-10.001, 10.001]),
    "bler_target": ([1e-6, 0.5], [0.0, 0.5001]),
    "olla_delta_up_db": ([1e-6, 10.0], [0.0, 10.001]),
    "harq_max_tx": ([1, 8], [0, 9]),
    "sr_period_slots": ([1, 640], [0, 641]),
    "k2_slots": ([0, 32], [-1, 33]),
    "csi_period_slots": ([1, 640], [0, 641]),
    "csi_delay_slots": ([0, 640], [-1, 641]),
    "gnb_decode_s": ([0.0, 1.0], [-1e-9, 1.001]),
    "ue_decode_s": ([0.0, 1.0], [-1e-9, 1.001]),
    "backhaul_s": ([0.0, 1.0], [-1e-9, 1.001]),
    "dl_bler": ([0.0, 0.5], [-1e-9, 0.5001]),
    "header_bits": ([0, 100_000], [-1, 100_001]),
    "token_id_bits": ([1, 64], [0, 65]),
    "fading": ([True, False], [1, "yes"]),
    "speed_kmh": ([0.0, MAX_SPEED_KMH], [-0.001, MAX_SPEED_KMH + 0.001]),
    "distance_m": ([(10.0, 10.0), (10.0, 5000.0)], [(9.99, 100.0), (100.0, 5000.1), (200.0, 100.0)]),
    "request_interval_s": ([1e-6, 3600.0], [0.0, 3600.001]),
    "rician_k_db": ([-20.0, 40.0], [-20.001, 40.001]),
    "los_decorrelation_m": ([1e-6, 1e6], [0.0, -5.0]),
    "delay_spread_s": ([0.0, 1e-5], [-1e-12, 1.0001e-5]),
    "snr_estimate_std_db": ([0.0, 20.0], [-0.001, 20.001]),
    "cqi_history": ([1, 32], [0, 33]),
    "pool_size": ([1, 1024], [0, 1025]),
    "snr_bin_db": ([0.05 + 1e-9, 10.0], [0.05, 10.001]),
    "snr_range_db": ([(-40.0, -40.0), (-40.0, 80.0)], [(-40.1, 0.0), (0.0, 80.1), (10.0, 0.0)]),
    "horizon_s": ([0.01 + 1e-9, 60.0], [0.01, 60.001]),
    "pool_seed": ([0, 2**63 - 1], [-1, 2**63]),
    "device_load": ([(0.0, 0.0), (0.95, 0.5)], [(-0.01, 0.1), (0.951, 0.1), (0.2, -0.01), (0.2, 0.501)]),
    "edge_load": ([(0.0, 0.0), (0.95, 0.5)], [(-0.01, 0.1), (0.951, 0.1), (0.2, -0.01), (0.2, 0.501)]),
    "load_correlation": ([0.0, 1.0], [-0.001, 1.001]),
    "device_decode_w": ([None, 0.0, 2000.0], [-0.001, 2000.1]),
    "device_prefill_w": ([None, 0.0, 2000.0], [-0.001, 2000.1]),
    "device_idle_w": ([None, 0.0, 2000.0], [-0.001, 2000.1]),
    "w_quality": ([0.0, 1e6], [-0.001, 1.0000001e6, math.nan]),
    "w_latency": ([0.0, 1e6], [-0.001, 1.0000001e6]),
    "w_energy": ([0.0, 1e6], [-0.001, 1.0000001e6]),
    "w_load": ([0.0, 1e6], [-0.001, 1.0000001e6]),
    "w_invalid": ([0.0, 1e9], [-0.001, math.inf]),
    "quality_range": ([None, (0.0, 1e-6)], [(1.0, 1.0), (2.0, 1.0)]),
    "max_steps": ([1, 10**9], [0, 10**9 + 1]),
    "analog_pilots": ([1, 100_000], [0, 100_001]),
    "uncoded_modulation": (["qpsk", "16qam"], ["qpsq", "QPSK"]),
    "packet_bits": ([64, 10**7], [63, 10**7 + 1]),
    # sequential state
    "arrival_rate_per_s": ([1e-9, 1e3], [0.0, -1.0, math.inf, True]),
    "arrival_period_s": ([1e-9, 1e3], [0.0, -1.0, math.nan]),
    "battery_capacity_wh": ([1e-9, 100.0], [0.0, -13.9]),
    "rrc_inactivity_s": ([1e-9, 100.0], [0.0, -10.0]),
    "arrival_trace_s": ([(), (0.0, 0.0, 1.5)], [(-0.5, 1.0), (2.0, 1.0), (0.0, math.inf), ("a",)]),
    "battery_initial_soc": ([1e-9, 1.0], [0.0, 1.0001, True]),
    "thermal_skin_throttle_c": ([25.0, 60.0], [24.999]),
    "thermal_die_throttle_c": ([25.0, 120.0], [24.999]),
    "turns_per_conversation": ([1, 10**6], [0, 10**6 + 1]),
}

OK = [(field, value) for field, (ok, _) in BOUNDS.items() for value in ok]
BAD = [(field, value) for field, (_, bad) in BOUNDS.items() for value in bad]


@pytest.mark.parametrize(("field", "value"), OK, ids=[f"{f}={v!r}" for f, v in OK])
def test_a_value_on_or_inside_the_bounds_is_accepted(field: str, value: Any) -> None:
    assert getattr(SplitConfig(**{field: value}), field) == value


@pytest.mark.parametrize(("field", "value"), BAD, ids=[f"{f}={v!r}" for f, v in BAD])
def test_a_value_past_a_bound_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as err:
        SplitConfig(**{field: value})
    message = str(err.value)
    assert "\n" not in message
    if (field, value) != ("bandwidth_hz", 21e6):  # not a TS 38.101-1 bandwidth: the table's error
        assert message.startswith(f"{field} "), message
    if field not in ("bandwidth_hz", "device_load", "edge_load"):
        # the value itself (bandwidth_hz names the TS 38.101-1 table, the load pairs name the rule)
        shown = repr(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
        assert shown in message or repr(value) in message, message


@pytest.mark.parametrize("kind", ["poisson", "periodic", "trace"])
def test_every_arrival_kind_is_accepted(kind: str) -> None:
    assert SplitConfig(arrival_kind=kind, arrival_trace_s=(0.0, 1.0)).arrival_kind == kind


def test_an_empty_trace_is_rejected_only_for_a_queue_fed_by_a_trace() -> None:
    assert SplitConfig(arrival_kind="trace", arrival_trace_s=()).arrival_trace_s == ()
    assert SplitConfig(arrival_kind="poisson", state=("queue",)).state == ("queue",)
    with pytest.raises(ConfigError, match=r"^arrival_trace_s must hold at least one time"):
        SplitConfig(arrival_kind="trace", arrival_trace_s=(), state=("queue",))


def test_a_throttle_below_ambient_follows_the_ambient() -> None:
    cfg = SplitConfig(thermal_ambient_c=10.0, thermal_skin_throttle_c=10.0, thermal_die_throttle_c=10.0)
    assert cfg.thermal_skin_throttle_c == 10.0
    with pytest.raises(
        ConfigError, match=r"^thermal_skin_throttle_c must be >= thermal_ambient_c \(50 °C\), got 42.0"
    ):
        SplitConfig(thermal_ambient_c=50.0, thermal_die_throttle_c=95.0)


@pytest.mark.parametrize(
    ("state", "match"),
    [
        ("queue", r"^state must be a tuple of component names"),
        (("queue", 3), r"^state must be a tuple of component names"),
        (("queue", "thermal", "queue"), r"^state must name each component once"),
        (("qeue",), r"^state: unknown component 'qeue'.*queue"),
    ],
)
def test_bad_state_tuples(state: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SplitConfig(state=state)


def test_the_link_modes_own_rules() -> None:
    assert SplitConfig(link="uncoded", activation="int8").activation == "int8"
    with pytest.raises(ConfigError, match=r"^activation='int8' does not apply to link='analog'"):
        SplitConfig(link="analog", activation="int8")
    with pytest.raises(ConfigError, match=r"^activation must be 'fp16' or 'int8' with link='uncoded'"):
        SplitConfig(link="uncoded", activation="int4")
    # the packet must hold the header and one element: 336 = 320 + 16 is the edge
    assert SplitConfig(link="uncoded", packet_bits=336).packet_bits == 336
    with pytest.raises(
        ConfigError, match=r"^packet_bits=335 leaves no room .*header_bits=320.* >= header_bits \+ 16"
    ):
        SplitConfig(link="uncoded", packet_bits=335)


def test_derived_fields_by_hand() -> None:
    cfg = SplitConfig(speed_kmh=36.0, new_tokens=5, ttft_deadline_s=1.0, tbt_deadline_s=0.25, scs_hz=60e3)
    assert cfg.speed_mps == pytest.approx(10.0)
    assert cfg.total_deadline_s == pytest.approx(1.0 + 4 * 0.25)
    assert SplitConfig(deadline_s=3.0).total_deadline_s == 3.0
    assert cfg.mu == 2 and SplitConfig(scs_hz=15e3).mu == 0
    assert SplitConfig(activation="int4").activation_bits == 4
