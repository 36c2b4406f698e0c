"""Fixtures shared by the surrogate tests."""

from __future__ import annotations

import pytest

from splitgym.profiles import TableQualityModel


@pytest.fixture(scope="module")
def table() -> TableQualityModel:
    """The paper's measured quality grid (Llama-2-7B RSM table), the real model the surrogates learn."""
    return TableQualityModel("paper_llama2_7b_rsm_grid")
