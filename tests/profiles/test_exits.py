"""Early exits, voting and adaptive layer tuning on the reference model (Edge-LLM)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from splitgym.cli.main import main
from splitgym.errors import ConfigError
from splitgym.profiles.compression.exits import (
    CARD_FILE,
    ExitHeads,
    default_exits,
    evaluate_exits,
    exit_logits,
    load_exits,
    majority_vote,
    max_confidence_vote,
    operating_points,
    save_exits,
    train_exits,
    validate_exits,
)
from splitgym.profiles.compression.tuning import (
    activation_memory,
    full_depth_step,
    phase_steps,
    tune,
    tuning_step,
    window_schedule,
)
from splitgym.profiles.llm import LoadedLM, load_causal_lm
from splitgym.profiles.quality.live import held_out_text

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def lm() -> LoadedLM:
    return load_causal_lm("reference")


@pytest.fixture(scope="module")
def ids(lm: LoadedLM) -> torch.Tensor:
    return torch.from_numpy(lm.encode(held_out_text())[: 2 * 128].copy()).view(2, 128)


def _copy(lm: LoadedLM) -> LoadedLM:
    model = copy.deepcopy(lm.model)
    return LoadedLM(model=model, layers=model.model.layers, name=lm.name, path=lm.path, tokenizer=None)


# -- exits -------------------------------------------------------------------------------------------


def test_default_exits_are_quarter_depth() -> None:
    assert default_exits(12) == (3, 6, 9, 12)
    assert default_exits(32) == (8, 16, 24, 32)
    assert default_exits(2) == (1, 2)


@pytest.mark.parametrize(
    ("exits", "message"),
    [
        ([3, 13], "exit 13 is beyond the model's depth (12 decoder layers); exits must be in 1..12"),
        ([0, 3], "exit 0 is beyond"),
        ([6, 3], "sorted and unique"),
        ([3, 3], "sorted and unique"),
        ([], "at least one"),
        ([2.5], "not an integer"),
    ],
)
def test_exit_validation_errors(lm: LoadedLM, exits: list[Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_exits(exits, 12)
    with pytest.raises(ConfigError):
        ExitHeads(lm, exits)


def test_heads_hold_only_the_trainable_exits(lm: LoadedLM) -> None:
    heads = ExitHeads(lm)
    assert heads.trainable_exits == (3, 6, 9)
    assert sorted(name for name, _ in heads.named_parameters()) == [
        "heads.3.weight",
        "heads.6.weight",
        "heads.9.weight",
    ]
    assert torch.equal(heads.linear(3).weight, lm.model.lm_head.weight)
    assert heads.linear(3).weight.data_ptr() != lm.model.lm_head.weight.data_ptr()  # a copy, not shared


def test_exit_logits_at_depth_equal_the_models_logits(lm: LoadedLM, ids: torch.Tensor) -> None:
    heads = ExitHeads(lm)
    with torch.inference_mode():
        logits = exit_logits(lm, heads, ids)
        reference = lm.model(input_ids=ids).logits
    assert set(logits) == {3, 6, 9, 12}
    torch.testing.assert_close(logits[12], reference, rtol=0, atol=1e-5)
    assert not torch.allclose(logits[3], reference, atol=1e-2)  # a shallow exit is a different model


def test_exit_logits_stop_after_upto(lm: LoadedLM, ids: torch.Tensor) -> None:
    heads = ExitHeads(lm)
    ran: list[int] = []
    handles = [
        layer.register_forward_hook(lambda m, a, o, i=i: ran.append(i + 1))
        for i, layer in enumerate(lm.layers)
    ]
    try:
        with torch.inference_mode():
            logits = exit_logits(lm, heads, ids, upto=7)
    finally:
        for h in handles:
            h.remove()
    assert set(logits) == {3, 6}
    assert ran == [1, 2, 3, 4, 5, 6]  # layers 7..12 never ran
    with torch.inference_mode():
        full = exit_logits(lm, heads, ids)
    torch.testing.assert_close(logits[6], full[6])
    with pytest.raises(ConfigError, match="below every exit"):
        exit_logits(lm, heads, ids, upto=2)


# -- voting ------------------------------------------------------------------------------------------


def test_max_confidence_vote_is_the_most_confident_exits_answer() -> None:
    gen = torch.Generator().manual_seed(0)
    probs = [torch.softmax(3 * torch.randn(50, 7, generator=gen), dim=-1) for _ in range(4)]
    q = max_confidence_vote(probs)
    torch.testing.assert_close(q.sum(-1), torch.ones(50, dtype=q.dtype))
    stacked = torch.stack(probs)
    most_confident = stacked.max(-1).values.argmax(0)  # which exit is the most sure, per row
    expected = stacked.argmax(-1).gather(0, most_confident[None])[0]
    assert torch.equal(q.argmax(-1), expected)
    # Renormalised element-wise max, by hand for one row.
    top = torch.maximum(torch.maximum(probs[0][0], probs[1][0]), torch.maximum(probs[2][0], probs[3][0]))
    torch.testing.assert_close(q[0], top / top.sum())


def test_max_confidence_vote_of_one_exit_is_that_exit() -> None:
    p = torch.softmax(torch.randn(5, 9), -1)
    torch.testing.assert_close(max_confidence_vote([p]), p)


def test_majority_vote_constructed_example() -> None:
    # Rows: (a) 2 of 3 exits vote class 1 though exit 0 is very sure of 0; (b) a 1-1-1 tie broken by the
    # summed probability; (c) unanimous.
    p = torch.tensor(
        [
            [[0.98, 0.01, 0.01], [0.30, 0.40, 0.30], [0.20, 0.50, 0.30]],
            [[0.50, 0.30, 0.20], [0.10, 0.45, 0.45 - 1e-3], [0.05, 0.55, 0.40]],
            [[0.10, 0.20, 0.70], [0.10, 0.10, 0.80], [0.30, 0.30, 0.40]],
        ]
    ).transpose(0, 1)  # -> [exit, row, class]
    exits = list(p)
    assert majority_vote(exits).tolist() == [1, 1, 2]
    assert max_confidence_vote(exits).argmax(-1).tolist()[0] == 0  # the paper's rule picks the sure exit
    tie = [torch.tensor([[0.6, 0.4, 0.0]]), torch.tensor([[0.0, 0.45, 0.55]])]  # 1 vote each: 0 and 2
    assert majority_vote(tie).tolist() == [0]  # summed probability 0.6 > 0.55
    with pytest.raises(ConfigError):
        majority_vote([])
    with pytest.raises(ConfigError, match="same shape"):
        max_confidence_vote([torch.ones(2, 3), torch.ones(3, 3)])


def test_operating_points() -> None:
    points = dict(operating_points((3, 6, 9, 12), 12))
    assert points == {
        "device <= 6": (3, 6),
        "device <= 9": (3, 6, 9),
        "all exits": (3, 6, 9, 12),
        "exit 3 + output": (3, 12),
        "exit 6 + output": (6, 12),
        "exit 9 + output": (9, 12),
    }


def test_evaluate_exits_table(lm: LoadedLM) -> None:
    heads = ExitHeads(lm, [6, 12])
    frame = evaluate_exits(lm, heads, lm.encode(held_out_text())[:512], window=128)
    single = frame[frame["method"] == "single"].set_index("best_exit")
    assert list(single.index) == [6, 12]
    assert single.loc[12, "accuracy"] > single.loc[6, "accuracy"]
    assert single.loc[12, "perplexity"] < single.loc[6, "perplexity"] < 256
    vote = frame[frame["point"] == "all exits"].set_index("method")
    assert set(vote.index) == {"best single", "max-confidence", "majority"}
    assert vote.loc["best single", "best_exit"] == 12
    assert vote.loc["best single", "gain_vs_best_single"] == 0
    assert int(frame["tokens"].iloc[0]) == 4 * 127


# -- training and saving ---------------------------------------------------------------------------------


def test_train_exits_moves_only_the_heads_and_round_trips(lm: LoadedLM, tmp_path: Path) -> None:
    before = {n: p.detach().clone() for n, p in lm.model.named_parameters()}
    data = lm.encode(held_out_text())[:20000]
    heads, history = train_exits(lm, data, exits=[3, 12], steps=12, lr=1e-2, batch=4, window=64, seed=1)
    assert len(history) == 12 and set(history[0]) == {"step", "lr", "loss_3"}
    assert history[-1]["loss_3"] < history[0]["loss_3"]
    assert not torch.equal(heads.linear(3).weight, lm.model.lm_head.weight)
    for n, p in lm.model.named_parameters():
        assert torch.equal(p, before[n]), n  # backbone, final norm and lm_head untouched
        assert p.grad is None, n

    save_exits(heads, tmp_path / "ex", {"steps": 12})
    card = json.loads((tmp_path / "ex" / CARD_FILE).read_text())
    assert card["exits"] == [3, 12] and card["trained_exits"] == [3] and card["steps"] == 12
    loaded = load_exits(lm, tmp_path / "ex")
    assert loaded.exits == (3, 12)
    assert torch.equal(loaded.linear(3).weight, heads.linear(3).weight)
    with pytest.raises(ConfigError, match="must hold"):
        load_exits(lm, tmp_path / "missing")
    card["num_layers"] = 24
    (tmp_path / "ex" / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ConfigError, match="24 layers"):
        load_exits(lm, tmp_path / "ex")


# -- adaptive layer tuning -------------------------------------------------------------------------------


def test_window_schedule() -> None:
    assert window_schedule(12, 3) == [(1, 3), (4, 6), (7, 9), (10, 12)]
    assert window_schedule(12, 5) == [(1, 5), (6, 10), (11, 12)]
    assert window_schedule(12, 12) == [(1, 12)]
    with pytest.raises(ConfigError, match="window 13"):
        window_schedule(12, 13)
    with pytest.raises(ConfigError):
        window_schedule(12, 0)
    assert phase_steps(10, 4) == [2, 2, 2, 4]


def test_window_step_puts_gradients_only_on_the_window(lm: LoadedLM, ids: torch.Tensor) -> None:
    tuned = _copy(lm)
    heads = ExitHeads(tuned)
    flags = {n: p.requires_grad for n, p in tuned.model.named_parameters()}
    ran: list[int] = []
    handles = [
        layer.register_forward_hook(lambda m, a, o, i=i: ran.append(i + 1))
        for i, layer in enumerate(tuned.layers)
    ]
    optimizer = torch.optim.SGD([p for p in tuned.model.parameters()] + list(heads.parameters()), lr=0.0)
    loss = tuning_step(tuned, heads, ids, (4, 6), optimizer)
    for h in handles:
        h.remove()
    assert np.isfinite(loss)
    assert ran == [1, 2, 3, 4, 5, 6]  # the forward stopped at the exit
    for i, layer in enumerate(tuned.layers):
        for n, p in layer.named_parameters():
            if 3 <= i <= 5:
                assert p.grad is not None and p.grad.abs().sum() > 0, (i, n)
            else:
                assert p.grad is None, (i, n)
    assert tuned.model.model.embed_tokens.weight.grad is None
    assert tuned.model.model.norm.weight.grad is None
    assert heads.linear(6).weight.grad is not None
    assert heads.linear(3).weight.grad is None and heads.linear(9).weight.grad is None
    assert {n: p.requires_grad for n, p in tuned.model.named_parameters()} == flags  # restored


def test_window_and_full_depth_steps_train(lm: LoadedLM, ids: torch.Tensor) -> None:
    tuned = _copy(lm)
    heads = ExitHeads(tuned)
    layer1 = tuned.layers[0].mlp.down_proj.weight.detach().clone()
    history = tune(
        tuned, heads, lm.encode(held_out_text())[:5000], window=6, steps_per_phase=1, batch=1, seq_len=64
    )
    assert [(r["first"], r["exit"]) for r in history] == [(1.0, 6.0), (7.0, 12.0)]
    assert not torch.equal(tuned.layers[0].mlp.down_proj.weight, layer1)
    optimizer = torch.optim.SGD(tuned.model.parameters(), lr=0.0)
    assert np.isfinite(full_depth_step(tuned, ids, optimizer))
    assert tuned.model.model.embed_tokens.weight.grad is not None
    with pytest.raises(ConfigError, match="has no exit"):
        tune(tuned, ExitHeads(tuned, [3, 12]), lm.encode(held_out_text())[:5000], window=4)


def test_quarter_depth_window_needs_a_third_of_the_activation_memory(lm: LoadedLM, ids: torch.Tensor) -> None:
    heads = ExitHeads(lm)
    full = activation_memory(lm, heads, ids, None)
    first = activation_memory(lm, heads, ids, (1, 3))
    last = activation_memory(lm, heads, ids, (10, 12))
    untruncated = activation_memory(lm, heads, ids, (1, 3), truncate=False)
    assert full >= 3 * first and full >= 3 * last
    assert untruncated > 1.5 * first  # running to the model's end (the released code) saves far less
    # Deeper windows store no more than shallow ones: the frozen layers below save nothing.
    assert abs(activation_memory(lm, heads, ids, (7, 9)) - first) < 0.05 * first
    assert all(p.grad is None for p in lm.model.parameters())


# -- command line ----------------------------------------------------------------------------------------


def test_cli_vote_and_tune_memory(lm: LoadedLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_exits(ExitHeads(lm), tmp_path / "ex", {"steps": 0})
    args = ["--exits-dir", str(tmp_path / "ex"), "--tokens", "256", "--window", "128", "--out", str(tmp_path)]
    assert main(["compress", "vote", *args]) == 0
    assert "Max-confidence" in (tmp_path / "exits_voting.md").read_text()
    frame = pd.read_csv(tmp_path / "exits_voting.csv")
    assert set(frame["method"]) == {"single", "best single", "max-confidence", "majority"}
    argv = [
        "compress",
        "tune-memory",
        "--window",
        "6",
        "--tokens",
        "64",
        "--repeats",
        "1",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    table = pd.read_csv(tmp_path / "tuning_memory.csv")
    assert list(table["config"])[:3] == ["full depth (vanilla)", "window 1-6", "window 7-12"]
    assert table["memory_saving"].iloc[1] > 1.5
    capsys.readouterr()
    assert main(["compress", "exits", "--exits", "3", "13", "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the loader's progress bar
    assert err == (
        "splitgym: error: exit 13 is beyond the model's depth (12 decoder layers); exits must be in 1..12"
    )
    assert main(["compress", "tune-memory", "--window", "0"]) == 2
