"""Profiles (``splitgym.profiles``): data with provenance (a CSV table plus JSON metadata saying where
every number came from; :mod:`.profile` loads and validates them, ``data/`` ships them) and the quality
models read from them (:mod:`.quality`: table, live LLM with a channel operator from :mod:`.corruption`,
counting). The research lines that produce profiles have their own subpackages: :mod:`.reference` (the
reference LLM and its training), :mod:`.timing` (the hook profiler, the roofline, the calibration against
published measurements) and :mod:`.compression` (the Edge-LLM study: LUC, exits, voting, tuning)."""

from splitgym.profiles.profile import (
    SCHEMAS,
    Profile,
    ProfileSchema,
    bundled_profiles,
    load_bundled,
    load_profile,
    resolve_profile,
)
from splitgym.profiles.quality import (
    CountingQualityModel,
    QualityModel,
    TableQualityModel,
    resolve_quality_model,
)

__all__ = [
    "SCHEMAS",
    "CountingQualityModel",
    "Profile",
    "ProfileSchema",
    "QualityModel",
    "TableQualityModel",
    "bundled_profiles",
    "load_bundled",
    "load_profile",
    "resolve_profile",
    "resolve_quality_model",
]
