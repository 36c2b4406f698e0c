"""Issue 15: the calibration set of published rates, the calibrated timing model with its leave-one-out
error, the batched step time, the calibrated int4/int8/float16 profiles and the error report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from splitgym.errors import ProfileError
from splitgym.profiles import load_profile
from splitgym.profiles.timing.calibrated import (
    CalibratedDevice,
    CalibrationFit,
    default_fit,
    fit_calibration,
    model_rate,
    step_time,
    synthetic_points,
)
from splitgym.profiles.timing.calibrated_profiles import CALIBRATED_DIR, calibrated_profile_name
from splitgym.profiles.timing.calibration_report import (
    calibration_report,
    render_calibration_report,
    write_calibration_report,
)
from splitgym.profiles.timing.calibration_set import DATA_DIR, load_calibration_set
from splitgym.profiles.timing.catalogue import CATALOGUE
from splitgym.profiles.timing.formats import weight_bytes
from splitgym.profiles.timing.roofline import DEVICES

SET_CSV = DATA_DIR / "timing" / "calibration" / "published_rates.csv"


@pytest.fixture(scope="module")
def fit() -> CalibrationFit:
    return default_fit()  # the shipped set with leave-one-out (about a minute on two cores)


def test_shipped_set_loads_with_enough_points_devices_precisions_and_sources() -> None:
    prof = load_calibration_set()
    t = prof.table
    assert len(t) >= 30 and t["device"].nunique() >= 8
    assert {"float16", "int8", "int4"} <= set(t["precision"]) and set(t["phase"]) == {"prefill", "decode"}
    assert set(t["device"]) <= set(DEVICES) and set(t["model"]) <= set(CATALOGUE)
    sources = prof.meta["sources"]
    assert set(t["source"]) <= set(sources)
    assert all(s["url"].startswith("https://") and s["citation"] for s in sources.values())
    assert set(prof.meta["notes"]) == {str(p) for p in t["point"]}  # every row says how it was read
    # A value read at its source: llama.cpp #4167, M2 Ultra 76-core, Q4_0 tg128.
    row = t[(t.device == "apple-m2-ultra") & (t.format == "Q4_0") & (t.phase == "decode")]
    assert row["tokens_per_s"].tolist() == [94.27]


def _broken(tmp_path: Path, column: str, value: object, row: int = 4) -> Path:
    shutil.copy(SET_CSV.with_suffix(".json"), tmp_path / "bad.json")
    table = pd.read_csv(SET_CSV)
    table[column] = table[column].astype(object)
    table.loc[row, column] = value
    table.to_csv(tmp_path / "bad.csv", index=False)
    return tmp_path / "bad.csv"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("device", "rtx-9090", "device 'rtx-9090' is unknown"),
        ("precision", "int3", "precision 'int3' is unknown"),
        ("tokens_per_s", -5.0, "tokens_per_s=-5.0 must be a finite number > 0"),
        ("tokens_per_s", 0.0, "tokens_per_s=0.0 must be a finite number > 0"),
        ("source", None, "source is missing"),
        ("source", "my-blog", "source 'my-blog' is unknown"),
        ("model", "llama9-70b", "model 'llama9-70b' is unknown"),
        ("phase", "generate", "phase 'generate' is unknown"),
        ("format", "Q4_0", "format 'Q4_0' stores int4 weights, not precision 'float16'"),
    ],
)
def test_bad_points_give_one_line_naming_the_row(
    tmp_path: Path, column: str, value: object, message: str
) -> None:
    path = _broken(tmp_path, column, value, row=0)  # row 0 of the table is point 1, line 2 of the file
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    text = str(err.value)
    assert "\n" not in text and "row 2 (point 1)" in text and message in text, text


def test_group_scales_are_counted_in_the_weight_bytes() -> None:
    assert weight_bytes("int4") == pytest.approx((4 + 16 / 32) / 8)  # 0.5625 B
    assert weight_bytes("int8") == pytest.approx((8 + 16 / 32) / 8)  # 1.0625 B
    assert weight_bytes("float16") == 2.0


TRUE = {
    "rtx-4090": dict(eta_c=0.62, eta_m=0.81, overhead_s=30e-6, f_m=0.83, f_c=0.9),
    "apple-m2": dict(eta_c=0.45, eta_m=0.9, overhead_s=80e-6, f_m=0.7, f_c=0.8),
}


def _true_devices() -> dict[str, CalibratedDevice]:
    out = {}
    for name, p in TRUE.items():
        out[name] = CalibratedDevice(
            device=DEVICES[name], kind="x", eta_c=p["eta_c"], eta_m=p["eta_m"], overhead_s=p["overhead_s"],
            memory_factor={"float16": 1.0, "int8": 1.0, "int4": p["f_m"]},
            compute_factor={"float16": 1.0, "int8": 1.0, "int4": p["f_c"]},
        )  # fmt: skip
    return out


def test_fit_recovers_known_parameters_from_points_the_model_generated() -> None:
    rows = [
        {"device": d, "model": m, "precision": p, "format": f, "phase": ph, "tokens": n}
        for d in TRUE
        for m in ("gpt2", "qwen2-0.5b", "tinyllama-1.1b", "llama2-7b", "llama3-8b")
        for p, f in (("float16", "F16"), ("int4", "Q4_0"))
        for ph, n in (("prefill", 512), ("prefill", 64), ("decode", 64), ("decode", 1024))
    ]
    points = synthetic_points(_true_devices(), rows)
    got = fit_calibration(points, loo=False)
    for name, p in TRUE.items():
        dev = got.device(name)
        assert dev.eta_c == pytest.approx(p["eta_c"], rel=0.05), name
        assert dev.eta_m == pytest.approx(p["eta_m"], rel=0.05), name
        assert dev.overhead_s == pytest.approx(p["overhead_s"], rel=0.2), name
        assert dev.memory_factor["int4"] == pytest.approx(p["f_m"], rel=0.05), name
        assert dev.compute_factor["int4"] == pytest.approx(p["f_c"], rel=0.05), name
    assert got.points["rel_error"].abs().max() < 0.03


PHONE_UNITS = ("phone-sd8gen3", "phone-sd8gen3-cpu", "phone-sd8gen3-npu")  # Adreno GPU, Kryo CPU, Hexagon NPU


def test_leave_one_out_error_meets_the_targets_except_the_phone_gpu(fit: CalibrationFit) -> None:
    overall = fit.loo_summary()
    assert overall["decode_median_abs"] <= 0.15 and overall["prefill_median_abs"] <= 0.25, overall
    per_device = fit.points.assign(a=fit.points["loo_rel_error"].abs()).groupby("device")["a"].median()
    # Every class meets the per-class target but the phone's GPU, the CPU and NPU of the phone included.
    assert (per_device.drop("phone-sd8gen3") <= 0.35).all(), per_device
    assert per_device["phone-sd8gen3-cpu"] <= 0.35 and per_device["phone-sd8gen3-npu"] <= 0.35
    # The data contradict the target for the phone's GPU: besides the anomalous MLC prefill (point 61),
    # its fitted points are one 7B decode (MLC) and one Qwen2.5-0.5B prefill and decode (llama.cpp
    # OpenCL); each small-model point is the only one that pins the GPU's per-layer overhead (about
    # 0.8 ms) or its compute efficiency, so out of sample it falls back on the priors (+118 %, +241 %).
    assert per_device["phone-sd8gen3"] > 1.0, per_device
    phone = fit.points[fit.points["device"] == "phone-sd8gen3"].set_index("point")
    assert phone.loc[[63, 64], "loo_rel_error"].min() > 0.5
    # The shipped fit leaves point 61 out (DEFAULT_EXCLUDE) and still fits the GPU's other points.
    assert not phone.loc[61, "in_fit"] and phone.loc[[62, 63, 64], "rel_error"].abs().max() < 0.1


def test_the_phone_execution_units_are_classes_of_their_own(fit: CalibrationFit) -> None:
    """The CPU, GPU and NPU of the Snapdragon 8 Gen 3 share the DRAM but not the efficiencies: the NPU's
    published 7B prefill (684.57 tok/s) is far above the GPU's model of it, and the CPU class has no
    prefill point to borrow."""
    bandwidth = {DEVICES[d].bandwidth for d in PHONE_UNITS}
    assert bandwidth == {76.8e9}
    counts = fit.points.groupby("device").size()
    assert counts["phone-sd8gen3-npu"] == 4 and counts["phone-sd8gen3-cpu"] == 2
    npu = fit.device("phone-sd8gen3-npu")
    gpu = fit.device("phone-sd8gen3")
    npu_prefill = model_rate("llama2-7b", npu, "int4", "prefill", 1024)
    gpu_prefill = model_rate("llama2-7b", gpu, "int4", "prefill", 1024)
    assert npu_prefill == pytest.approx(684.57, rel=0.25) and npu_prefill > 5 * gpu_prefill
    for d in PHONE_UNITS:  # 7B int4 decode on every unit: 8-16 tok/s as published (10, 11.55, 12.85)
        assert 8 < model_rate("llama2-7b", fit.device(d), "int4", "decode", 64) < 16, d


def test_excluded_points_are_predicted_out_of_sample() -> None:
    prof = load_calibration_set()
    got = fit_calibration(prof, loo=False, exclude=[61])  # the phone's prefill point
    row = got.points.set_index("point").loc[61]
    assert not row["in_fit"] and got.points["in_fit"].sum() == len(prof.table) - 1
    # The GPU's llama.cpp OpenCL prefill (point 63) puts the 7B prefill far above the reported 7 tok/s.
    assert row["predicted"] > 5 * row["tokens_per_s"]


def test_fitted_efficiencies_respect_their_bounds(fit: CalibrationFit) -> None:
    for dev in fit.devices.values():
        assert 0 < dev.eta_c <= 1 and 0 < dev.eta_m <= 1 and dev.overhead_s > 0
        assert 0 < dev.memory_factor["int4"] <= 1 and 0 < dev.compute_factor["int4"] <= 2


def test_batched_step_time_is_monotone_and_reduces_to_batch_one(fit: CalibrationFit) -> None:
    dev = fit.device("jetson-agx-orin")
    one = step_time("llama2-7b", dev, "int4", batch=1, context=512)
    assert one == pytest.approx(1 / model_rate("llama2-7b", dev, "int4", "decode", 512))
    times = np.asarray([step_time("llama2-7b", dev, "int4", batch=b, context=512) for b in range(1, 65)])
    assert np.all(np.diff(times) > 0)  # more sequences, more KV to read and more FLOPs
    assert np.all(np.diff(times / np.arange(1, 65)) < 0)  # weights read once: time per sequence falls
    assert times[0] == pytest.approx(one)
    with pytest.raises(Exception, match="context >= new_tokens"):
        step_time("llama2-7b", dev, "int4", batch=2, context=4, new_tokens=8)


def test_calibrated_profiles_load_and_int4_decode_beats_float16_on_a_memory_bound_device() -> None:
    def layer_ms(precision: str) -> float:
        name = calibrated_profile_name("llama2-7b", "jetson-agx-orin", precision)
        prof = load_profile(CALIBRATED_DIR / "jetson-agx-orin" / f"{name}.csv")
        assert prof.kind == "layer_timing" and prof.meta["dtype"] == precision
        assert prof.meta["calibration"]["profile"] == "timing/calibration/published_rates"
        t = prof.table
        return float(
            t[(t.component == "layer") & (t.phase == "decode") & (t.tokens == 512)]["median_ms"].iloc[0]
        )

    fp16, int8, int4 = layer_ms("float16"), layer_ms("int8"), layer_ms("int4")
    assert int4 < int8 < fp16 and fp16 / int4 > 2.5  # bytes per weight 2 : 1.0625 : 0.5625
    names = {p.stem for p in (CALIBRATED_DIR / "rtx-4090").glob("*.csv")}
    assert len(names) == 3 * len(CATALOGUE)
    meta = json.loads((CALIBRATED_DIR / "rtx-4090" / "calibrated_llama3-8b_rtx-4090_int4.json").read_text())
    assert meta["weight_bytes"] == pytest.approx(CATALOGUE["llama3-8b"].total_params() * 0.5625)
    assert meta["calibration"]["loo_error"]["decode_n"] >= 1


def test_report_has_every_point_and_writes_csv_and_markdown(fit: CalibrationFit, tmp_path: Path) -> None:
    report = calibration_report(fit)
    assert len(report.points) == len(fit.points)
    assert set(report.summary["phase"]) == {"decode", "prefill", "all"}
    paths = write_calibration_report(report, tmp_path / "out")
    assert {p.name for p in paths} == {
        "calibration_points.csv", "calibration_summary.csv", "calibration_overall.csv", "calibration.md",
    }  # fmt: skip
    assert len(pd.read_csv(tmp_path / "out" / "calibration_points.csv")) == len(fit.points)
    text = render_calibration_report(report, points=False)
    assert "Per device class and phase" in text and "phone-sd8gen3" in text


@pytest.mark.parametrize("device", PHONE_UNITS)
def test_the_phone_runs_int4_faster_than_float16_in_the_shipped_fit(device: str) -> None:
    """With the anomalous prefill point out of the fit every phone unit is memory-bound in decode."""

    def layer_ms(precision: str) -> float:
        name = calibrated_profile_name("llama2-7b", device, precision)
        t = load_profile(CALIBRATED_DIR / device / f"{name}.csv").table
        return float(
            t[(t.component == "layer") & (t.phase == "decode") & (t.tokens == 512)]["median_ms"].iloc[0]
        )

    assert layer_ms("int4") < layer_ms("int8") < layer_ms("float16")
