"""Profiles: data with provenance (tables plus metadata), and the quality models read from them."""

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
