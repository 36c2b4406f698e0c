"""Per-layer timing profiles of LLMs: the architecture catalogue, the hook-based CPU profiler and the
calibrated roofline that scales profiles to named device classes.

The profiler (which needs torch and transformers) loads on first use, so environments that only read
profiles stay light.
"""

from typing import TYPE_CHECKING, Any

from splitgym.profiles.timing.catalogue import CATALOGUE, Architecture, get_architecture
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

if TYPE_CHECKING:
    from splitgym.profiles.timing.profiler import TimingSettings, measure_timings, profile_timings

_PROFILER = ("TimingSettings", "measure_timings", "profile_timings")


def __getattr__(name: str) -> Any:
    if name in _PROFILER:
        from splitgym.profiles.timing import profiler

        return getattr(profiler, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
