"""Per-layer timing profiles of LLMs: the architecture catalogue, the hook-based CPU profiler and the
calibrated roofline that scales profiles to named device classes."""

from splitgym.profiles.timing.catalogue import CATALOGUE, Architecture, get_architecture
from splitgym.profiles.timing.profiler import TimingSettings, measure_timings, profile_timings
from splitgym.profiles.timing.roofline import (
    DEVICES,
    PUBLISHED_DECODE,
    DeviceClass,
    PublishedRate,
    RateCheck,
    calibrate,
    check_published,
    decode_rate,
    get_device,
    roofline_profile,
    scale_profile,
)
from splitgym.profiles.timing.table import write_profile

__all__ = [
    "CATALOGUE",
    "DEVICES",
    "PUBLISHED_DECODE",
    "Architecture",
    "DeviceClass",
    "PublishedRate",
    "RateCheck",
    "TimingSettings",
    "calibrate",
    "check_published",
    "decode_rate",
    "get_architecture",
    "get_device",
    "measure_timings",
    "profile_timings",
    "roofline_profile",
    "scale_profile",
    "write_profile",
]
