"""Quality models: the one abstraction every environment reads inference quality through.

:mod:`.models` holds the :class:`QualityModel` protocol, the measured-table model, the counting wrapper
and the resolver; :mod:`.live` the live LLM whose hidden state crosses a channel operator at the split;
:mod:`.corruption` those operators (erasure, fading, bit flips, activation precision), beside the model
that uses them. A learned surrogate (:mod:`splitgym.surrogates`) is the third implementation.
"""

from splitgym.profiles.quality.models import (
    DEFAULT_PROFILE,
    CountingQualityModel,
    QualityModel,
    TableQualityModel,
    expensive_calls,
    resolve_quality_model,
)

__all__ = [
    "DEFAULT_PROFILE",
    "CountingQualityModel",
    "QualityModel",
    "TableQualityModel",
    "expensive_calls",
    "resolve_quality_model",
]
