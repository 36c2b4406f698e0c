"""The accuracy-profile picture: a title in words and a figure that passes the style check."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from splitgym.profiles.plots import plot_quality, profile_title
from splitgym.profiles.profile import resolve_profile


def test_titles_in_words() -> None:
    assert profile_title(resolve_profile("accuracy/reference_erasure")) == (
        "Reference LLM: quality under element erasure of the hidden state"
    )
    assert profile_title(resolve_profile("accuracy/reference_fading_noeq")) == (
        "Reference LLM: quality under Nakagami-m fading, m = 1 (Rayleigh), without equalisation"
    )
    assert "FP16 hidden state sent over QPSK" in profile_title(
        resolve_profile("accuracy/reference_bitflip_fp16")
    )


def test_plot_writes_a_checked_png(tmp_path: Path) -> None:
    out = plot_quality("accuracy/reference_erasure", tmp_path / "sub" / "erasure.png")  # save_figure checks
    with Image.open(out) as image:
        width, height = image.size
    assert width > 1200 and height > 400  # two panels side by side
