"""``hubrerank rerank MODEL --pairs FILE``: a batch of pairs with different queries, scored like
``FlagReranker.compute_score(pairs, normalize=True)``, one score a line in input order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import HubModel, run_cli

from hubrerank.evaluation import read_pairs, score_pairs

PAIRS = [("roof repair", "fixing a leaking roof"), ("river", "the river is wide"), ("apples", "a roof")]


def _expected(model: HubModel, raw: bool) -> np.ndarray:
    import torch
    from sentence_transformers import CrossEncoder

    activation = torch.nn.Identity() if raw else torch.nn.Sigmoid()
    return CrossEncoder(str(model.path)).predict(PAIRS, activation_fn=activation)


@pytest.mark.parametrize("form", ["objects", "arrays", "tsv"])
def test_pairs_are_scored_in_input_order(form: str, tiny_cross_encoder: HubModel, tmp_path: Path) -> None:
    if form == "tsv":
        path = tmp_path / "pairs.tsv"
        path.write_text("query\tpassage\n" + "".join(f"{q}\t{p}\n" for q, p in PAIRS))
    else:
        path = tmp_path / "pairs.jsonl"
        rows = [{"query": q, "passage": p} if form == "objects" else [q, p] for q, p in PAIRS]
        path.write_text("".join(json.dumps(row) + "\n" for row in rows) + "\n")

    assert read_pairs(path) == PAIRS
    result = run_cli("rerank", tiny_cross_encoder.ref, "--pairs", str(path))

    assert result.exit_code == 0, result.output
    expected = _expected(tiny_cross_encoder, raw=False)
    assert result.stdout.splitlines() == [f"{score:.6f}" for score in expected]


def test_raw_json_scores_are_the_logits(tiny_cross_encoder: HubModel, tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps([q, p]) + "\n" for q, p in PAIRS))

    result = run_cli("rerank", tiny_cross_encoder.ref, "--pairs", str(path), "--raw", "--json")

    assert result.exit_code == 0, result.output
    expected = _expected(tiny_cross_encoder, raw=True)
    np.testing.assert_allclose(json.loads(result.stdout), expected, atol=1e-6)
    np.testing.assert_allclose(score_pairs(tiny_cross_encoder.ref, PAIRS, raw=True), expected, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.jsonl", '{"query": "a", "passage": "b"}\n{"query": "a"\n', ":2: not JSON"),
        ("p.jsonl", '{"query": "a", "text": "b"}\n', ":1: the object has no 'passage'; write"),
        ("p.jsonl", '["a", "b", "c"]\n', ":1: not a (query, passage) pair of strings"),
        ("p.jsonl", '["a", " "]\n', ":1: empty passage; every pair needs both texts"),
        ("p.tsv", "a\tb\na b\n", ":2: 1 tab-separated column(s); write query<TAB>passage"),
        ("p.tsv", "\n\n", " has no pairs; write one (query, passage) pair a line"),
        ("p.csv", "a,b\n", ": unsupported pairs file; give a .jsonl or a .tsv file"),
    ],
)
def test_a_bad_pairs_file_is_one_line_naming_file_and_line(
    name: str, text: str, message: str, tiny_cross_encoder: HubModel, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_text(text)

    result = run_cli("rerank", tiny_cross_encoder.ref, "--pairs", str(path))

    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: {path}{message}")


def test_pairs_and_a_query_are_refused_together(tiny_cross_encoder: HubModel, tmp_path: Path) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tb\n")

    result = run_cli("rerank", tiny_cross_encoder.ref, "--pairs", str(path), "-q", "a")

    assert result.exit_code == 2
    assert "--pairs scores pairs in input order: drop --query" in result.output
