"""LLM rerankers (a ``*ForCausalLM`` checkpoint scoring "yes" against "no") are scored by ``eval`` and
``rerank`` as sentence-transformers' CrossEncoder loads them; layerwise ones are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from factories import build_tiny_causal_lm
from helpers import run_cli


@pytest.fixture(scope="module")
def tiny_llm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("llm") / "tiny-llm")


def test_a_causal_lm_reranker_is_evaluated(tiny_llm: Path, reranking_file: Path, tmp_path: Path) -> None:
    result = run_cli("eval", str(tiny_llm), "--data", str(reranking_file), "--json", str(tmp_path / "r.json"))

    assert result.exit_code == 0, result.output
    [reranking] = json.loads((tmp_path / "r.json").read_text())["results"]
    assert 0 < reranking["metrics"]["ndcg@10"] <= 1


def test_rerank_scores_a_causal_lm_as_the_cross_encoder_does(tiny_llm: Path) -> None:
    import torch
    from sentence_transformers import CrossEncoder

    documents = ["a roof over the house", "the river is wide", "green apples"]
    result = run_cli("rerank", str(tiny_llm), "-q", "roof", *[f"--doc={d}" for d in documents], "--json")

    assert result.exit_code == 0, result.output
    ranked = json.loads(result.stdout)
    model = CrossEncoder(str(tiny_llm))
    expected = model.predict([("roof", d) for d in documents], activation_fn=torch.nn.Sigmoid())
    got = np.array([item["score"] for item in sorted(ranked, key=lambda item: item["index"])])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_a_layerwise_llm_reranker_is_refused_in_one_line(tmp_path: Path, reranking_file: Path) -> None:
    folder = tmp_path / "layerwise"
    folder.mkdir()
    config = {"architectures": ["LayerWiseMiniCPMForCausalLM"], "model_type": "minicpm"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(b"")

    for args in (
        ("eval", str(folder), "--data", str(reranking_file)),
        ("rerank", str(folder), "-q", "q", "-d", "d"),
    ):
        result = run_cli(*args)
        assert result.exit_code == 2, result.output
        last = result.output.strip().splitlines()[-1]
        assert last.startswith(f"Error: {folder} is a layerwise LLM reranker (LayerWiseMiniCPMForCausalLM)")


def test_rerank_pairs_scores_a_causal_lm_and_it_can_be_a_teacher(tiny_llm: Path, tmp_path: Path) -> None:
    import torch
    from factories import QA_TOPICS
    from sentence_transformers import CrossEncoder

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{q}\t{a}\n" for q, a in QA_TOPICS[:3]))
    result = run_cli("rerank", str(tiny_llm), "--pairs", str(pairs), "--raw", "--json")

    assert result.exit_code == 0, result.output
    expected = CrossEncoder(str(tiny_llm)).predict(list(QA_TOPICS[:3]), activation_fn=torch.nn.Identity())
    np.testing.assert_allclose(json.loads(result.stdout), expected, atol=1e-5)

    source = tmp_path / "faq.csv"
    source.write_text("question,answer\n" + "".join(f"{q},{a}\n" for q, a in QA_TOPICS))
    out = tmp_path / "built"
    build = run_cli("data", "build", str(source), "--out", str(out), "--teacher", str(tiny_llm))
    assert build.exit_code == 0, build.output
    assert "(the cross-encoder's sigmoid score)" in (out / "README.md").read_text()
