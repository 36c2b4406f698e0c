"""The figure style: one look per method everywhere, titles in words, units, legends outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitgym.benchmarks.suite import load_suite
from splitgym.style import (
    COLOURS,
    MARKERS,
    N_SLOTS,
    check_figure,
    env_title,
    figure,
    legend_outside,
    method_label,
    method_style,
    method_styles,
    save_figure,
)

SUITES = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "suites").glob("*.yml"))


def test_sixteen_methods_look_different() -> None:
    names = [f"method_{i}" for i in range(N_SLOTS)]
    styles = method_styles(names)
    assert len({(s.color, s.marker, s.filled) for s in styles.values()}) == N_SLOTS
    assert len({s.marker for s in styles.values()}) == N_SLOTS == len(MARKERS)  # every shape once
    assert {s.color for s in styles.values()} == set(COLOURS)


def test_a_method_keeps_its_look_in_every_figure() -> None:
    alone = method_styles(["oracle"])["oracle"]
    crowded = method_styles(["ppo", "paper_mb", "oracle", "random", "x_new"])["oracle"]
    assert alone == crowded == method_style("oracle")
    assert method_styles(["x_new"])["x_new"] == method_style("x_new")  # a hashed slot, stable
    # the complaint: paper_mb and the oracle looked the same
    assert method_style("paper_mb").color != method_style("oracle").color


@pytest.mark.parametrize("path", SUITES, ids=[p.stem for p in SUITES])
def test_every_shipped_suite_has_distinct_styles(path: Path) -> None:
    names = [a.name for a in load_suite(path, check_envs=False).agents]
    styles = [method_style(n) for n in names]  # the fixed slots alone, without moving any
    assert len({(s.color, s.marker) for s in styles}) == len(names), names


def test_words_not_ids() -> None:
    assert (
        env_title("splitgym/FadingSplit-Pedestrian-Stateless-v1")
        == "Fading channel, Pedestrian scenario, stateless (version 1)"
    )
    assert env_title("splitgym/FadingSplit-Vehicular-v1") == "Fading channel, Vehicular scenario (version 1)"
    assert env_title("FadingSplit-v1") == "Fading channel (version 1)"
    assert (
        env_title("splitgym/FadingSplit-Llama7B-Stateless-v1")
        == "Fading channel, Llama-2-7B, stateless (version 1)"
    )
    assert (
        env_title("FadingSplit-Reference-Stateless-v1")
        == "Fading channel, reference LLM, stateless (version 1)"
    )
    assert env_title("PaperSplitDirect-v0") == "Paper environment A (version 0)"
    assert method_label("maskable_ppo") == "MaskablePPO"
    assert method_label("edge_only") == "edge only"
    assert method_label("my_method") == "my method"


def _figure(title: str, xlabel: str, ylabel: str, outside: bool) -> object:
    fig, ax = figure(5.0, 3.0)
    ax.plot([0, 1, 2], [0.0, 1.0, 0.5], label="a")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if outside:
        legend_outside(ax)
    else:
        ax.legend(loc="center")
    return fig


def test_check_figure_finds_what_a_reviewer_objects_to(tmp_path: Path) -> None:
    good = _figure("Fading channel: learning curves", "steps (count)", "return (dimensionless)", True)
    assert check_figure(good) == []
    assert save_figure(good, tmp_path / "good.png").stat().st_size > 1000
    bad = _figure("reference_erasure on FadingSplit-v1", "steps", "return (dimensionless)", False)
    problems = check_figure(bad)
    assert any("'reference_erasure'" in p for p in problems)
    assert any("'FadingSplit-v1'" in p for p in problems)
    assert any("x axis label 'steps' names no unit" in p for p in problems)
    assert any("legend" in p for p in problems)
    with pytest.raises(ValueError, match=r"bad\.png is not paper-ready"):
        save_figure(bad, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
