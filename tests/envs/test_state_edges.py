"""The state components at their edges: each parameter's error names it, bounds sit where documented,
and the piecewise formulas take the documented branch at the breakpoints (values by hand)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from splitgym.envs.state.battery import BatteryParams
from splitgym.envs.state.kv import KVCache, KVParams
from splitgym.envs.state.queue import ArrivalParams, RequestQueue, load_trace
from splitgym.envs.state.radio import (
    RRC_IDLE,
    RRC_INACTIVE,
    RadioParams,
    rrc_state_after_gap,
    sleep_energy_units_ms,
)
from splitgym.envs.state.thermal import ThermalParams, rise_feature, sustained_clock_scale
from splitgym.errors import ConfigError


def _started_queue() -> RequestQueue:
    queue = RequestQueue(ArrivalParams(), n=2)
    queue.reset(np.random.default_rng(0))
    return queue


BAD: list[tuple[str, Callable[[], Any]]] = [
    ("context_scale_tokens", lambda: KVParams(context_scale_tokens=0)),
    ("device_keeps_hidden", lambda: KVParams(device_keeps_hidden=1)),  # type: ignore[arg-type]
    ("n", lambda: KVCache(KVParams(), n=0)),
    ("prompt_tokens", lambda: KVCache(KVParams(), n=2).advance(-1.0, 0.0)),
    ("generated_tokens", lambda: KVCache(KVParams(), n=2).advance(0.0, -1.0)),
    ("service_s", lambda: _started_queue().advance(-0.5)),
    ("inactivity_timer_s", lambda: RadioParams(inactivity_timer_s=0.0)),
    ("inactive_dwell_s", lambda: RadioParams(inactive_dwell_s=-1.0)),
    ("drx_inactivity_s", lambda: RadioParams(drx_inactivity_s=-0.1)),
    ("drx_inactivity_s", lambda: RadioParams(inactivity_timer_s=1.0, drx_inactivity_s=1.5)),
    ("ambient_c", lambda: ThermalParams(ambient_c=-300.0)),
    ("initial_soc", lambda: BatteryParams(initial_soc=1.5)),
    ("capacity_mah", lambda: BatteryParams.from_mah(0.0, 3.88)),
    ("base_power_w", lambda: sustained_clock_scale(ThermalParams(), 4.0, -1.0)),
]


@pytest.mark.parametrize(("field", "call"), BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)])
def test_each_bad_parameter_is_named_first(field: str, call: Callable[[], Any]) -> None:
    with pytest.raises(ConfigError) as err:
        call()
    assert str(err.value).startswith(f"{field} "), str(err.value)


def test_edges_that_are_allowed() -> None:
    assert KVParams(context_scale_tokens=1).context_scale_tokens == 1
    assert RadioParams(inactivity_timer_s=1.0, drx_inactivity_s=1.0).drx_inactivity_s == 1.0
    assert BatteryParams.from_mah(1000.0, 4.0).capacity_wh == pytest.approx(4.0)


def test_kv_context_stays_integer_tokens() -> None:
    kv = KVCache(KVParams(max_context_tokens=100), n=2)
    ctx = kv.advance(np.array([3.0, 60.0]), 2.0)
    assert ctx.dtype == np.int64 and kv.context_tokens.dtype == np.int64
    assert ctx.tolist() == [5, 62]
    assert kv.advance(50.0, 0.0).tolist() == [55, 100]  # capped at max_context_tokens


def test_a_trace_file_error_names_the_file(tmp_path: Any) -> None:
    path = tmp_path / "arrivals.txt"
    path.write_text("0.5\nsoon\n")
    with pytest.raises(ConfigError, match=r"^trace file '.*arrivals\.txt' must be readable numbers"):
        load_trace(path)


def test_sleep_state_at_its_transition_time_is_the_deeper_one() -> None:
    # deep sleep fits exactly at its 20 ms transition: 1 unit x 20 ms + 450 (light would be 20 x 20 + 100)
    assert sleep_energy_units_ms(np.array([20.0]))[0] == pytest.approx(470.0)
    assert sleep_energy_units_ms(np.array([6.0]))[0] == pytest.approx(20.0 * 6.0 + 100.0)
    assert sleep_energy_units_ms(np.array([5.0]))[0] == pytest.approx(45.0 * 5.0)


def test_rrc_state_at_the_timer_is_inactive_when_a_dwell_is_set() -> None:
    p = RadioParams(inactivity_timer_s=10.0, inactive_dwell_s=5.0)
    assert rrc_state_after_gap(p, [9.999, 10.0, 14.999, 15.0]).tolist() == [
        0,
        RRC_INACTIVE,
        RRC_INACTIVE,
        RRC_IDLE,
    ]


def test_rise_feature_with_the_throttle_at_ambient_uses_one_kelvin() -> None:
    p = ThermalParams(ambient_c=25.0)
    assert rise_feature(p, 25.5, 25.0) == pytest.approx(0.25)  # 0.5 K over a 1 K span, halved
    assert rise_feature(p, 33.5, 42.0) == pytest.approx(0.25)  # 8.5 K of 17 K, halved


def test_a_cool_device_keeps_its_full_clock() -> None:
    assert sustained_clock_scale(ThermalParams(), 0.5) == 1.0
    assert sustained_clock_scale(ThermalParams(), 0.5, 0.5) == 1.0
