"""The project's own reference LLM: a small byte-level Llama trained on the Python standard library."""

from splitgym.profiles.reference.model import REFERENCE_ARCH, reference_config

__all__ = ["REFERENCE_ARCH", "reference_config"]
