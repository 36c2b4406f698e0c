"""``benchmark perf``'s PPO-on-the-native-vector-env measure: both sides run, the ratio and the verdict
follow from the figures."""

from __future__ import annotations

import warnings

import pytest

from splitgym.benchmarks.perf import PPO_VECTOR_RATIO, PPO_VECTOR_TARGET, ppo_vector_ratio


def test_ppo_vector_ratio_measures_both_sides() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = ppo_vector_ratio(
            num_envs=16, vector_steps=1024, single_steps=256, rollout=256, batch_size=256
        )
    assert result.name == "PPO on vector env" and result.unit == "env steps/s"
    assert result.ours == "SB3 PPO, native x16" and result.reference == "SB3 PPO, one env"
    assert result.ours_value > 0 and result.reference_value > 0
    assert result.ratio == pytest.approx(result.ours_value / result.reference_value)
    met = result.ours_value >= PPO_VECTOR_TARGET and result.ratio >= PPO_VECTOR_RATIO
    assert result.passed == met
    assert result.ratio > 1.5  # batching is faster even at 16 envs and a small rollout
