"""`hubrerank eval --fuse-first-stage`: each model's order fused with the first stage's by RRF."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import HubModel, run_cli

from hubrerank.evaluation.fusion import mix_score_function, rrf_order, rrf_score_function
from hubrerank.evaluation.metrics import evaluate_rows
from hubrerank.evaluation.samples import RerankingRow


def _fixed(scores: dict[str, float]):
    return lambda pairs: np.array([scores[doc] for _, doc in pairs])


def _order(score, pairs) -> list[str]:
    values = score(pairs)
    return [pairs[i][1] for i in np.argsort(-values, kind="stable")]


def test_rrf_adds_the_two_orders_and_ties_keep_the_first_stage_order() -> None:
    row = RerankingRow("q1", "q", ["p"], documents=["a", "p", "b", "c"])
    # reranker: b a p c; first stage: a p b c. RRF (k=60): a 1/62+1/61 > b 1/61+1/63 > p 1/63+1/62 > c
    score = rrf_score_function([row], _fixed({"a": 0.5, "p": 0.4, "b": 0.9, "c": 0.1}))
    assert _order(score, [("q", d) for d in "apbc"]) == ["a", "b", "p", "c"]
    # reranker: c p b a. a (4, 1) and c (1, 4) tie, p (2, 2) beats both; the first stage puts a before c
    score = rrf_score_function([row], _fixed({"a": 0.1, "p": 0.8, "b": 0.5, "c": 0.9}))
    assert _order(score, [("q", d) for d in "apbc"]) == ["p", "a", "c", "b"]


def test_a_positive_the_first_stage_missed_ranks_after_its_list() -> None:
    row = RerankingRow("q1", "q", ["p"], documents=["a", "b", "c"])
    score = rrf_score_function([row], _fixed({"a": 0.3, "b": 0.5, "c": 0.1, "p": 0.9}))
    # p: reranker 1st, first stage 4th (after its list of 3): 1/61+1/64, below a (3, 1) and b (2, 2)
    assert _order(score, [("q", d) for d in "pabc"]) == ["a", "b", "p", "c"]
    outcome = evaluate_rows([row], score, at_k=10)
    assert outcome.metrics["ndcg@10"] == pytest.approx(0.5)  # positives injected: p 3rd
    assert outcome.metrics["realistic_ndcg@10"] == 0.0  # the first stage did not return it


def test_a_query_without_a_first_stage_list_keeps_the_reranker_order() -> None:
    row = RerankingRow("q1", "q", ["p"], negative=["n", "m"])
    score = rrf_score_function([row], _fixed({"p": 0.2, "n": 0.9, "m": 0.1}))
    assert _order(score, [("q", d) for d in "pnm"]) == ["n", "p", "m"]


def test_data_without_any_first_stage_list_is_refused_before_scoring(
    tiny_cross_encoder: HubModel, tmp_path: Path
) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text(json.dumps({"query_id": "q1", "query": "q", "positive": ["p"], "negative": ["n"]}) + "\n")
    result = run_cli("eval", tiny_cross_encoder.ref, "--data", str(data), "--fuse-first-stage")
    assert result.exit_code == 2
    assert "has no first-stage `documents` lists to fuse with; build it with" in result.output
    assert "pairs scored" not in result.output


def test_eval_adds_a_fused_row_per_model(
    tiny_cross_encoder: HubModel, reranking_repo: tuple[str, str], tmp_path: Path
) -> None:
    data = "@".join(reranking_repo)
    runs = {}
    for name, extra in (("cached", ()), ("uncached", ("--no-cache",))):
        out = tmp_path / f"{name}.json"
        result = run_cli(
            "eval", tiny_cross_encoder.ref, "--data", data, "--fuse-first-stage",
            "--first-stage-name", "BM25", "--json", str(out), *extra,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        runs[name] = json.loads(out.read_text())["models"]
    label = f"{tiny_cross_encoder.ref} + BM25 (RRF)"
    assert [entry["label"] for entry in runs["cached"]] == [tiny_cross_encoder.ref, label]
    assert f"\n{label} " in result.stdout
    fused = runs["cached"][1]["results"][0]["metrics"]
    assert fused != runs["cached"][0]["results"][0]["metrics"]
    assert fused == runs["uncached"][1]["results"][0]["metrics"]


def test_fusion_without_reranking_data_is_a_usage_error(tiny_cross_encoder: HubModel) -> None:
    result = run_cli("eval", tiny_cross_encoder.ref, "--nanobeir", "--fuse-first-stage")
    assert result.exit_code == 2
    assert "--fuse-first-stage needs --data REF" in result.output


def test_rerank_fuses_with_the_order_the_documents_came_in(tiny_cross_encoder: HubModel) -> None:
    query = "what is the cost of a new roof"
    docs = ["the price of a roof", "a king was born", "blue sea", "roof tiles are red", "a new door"]
    options = ["rerank", tiny_cross_encoder.ref, "-q", query, *[f"--doc={d}" for d in docs], "--json"]
    plain = json.loads(run_cli(*options).stdout)
    fused = json.loads(run_cli(*options, "--fuse-first-stage").stdout)

    scores = np.array([next(item["score"] for item in plain if item["index"] == i) for i in range(len(docs))])
    expected = [int(i) for i in rrf_order(scores, np.arange(1, len(docs) + 1))]
    assert [item["index"] for item in fused] == expected
    assert expected != [item["index"] for item in plain]  # the first stage's order changed something
    assert sorted((item["index"], item["score"]) for item in fused) == sorted(
        (item["index"], item["score"]) for item in plain
    )


def test_a_score_mix_weights_per_query_z_scores() -> None:
    pairs = [("q", "a"), ("q", "b"), ("q", "c"), ("r", "a"), ("r", "b")]
    ours = {("q", "a"): 1.0, ("q", "b"): 2.0, ("q", "c"): 3.0, ("r", "a"): 5.0, ("r", "b"): 5.0}
    theirs = {("q", "a"): 0.9, ("q", "b"): 0.1, ("q", "c"): 0.5, ("r", "a"): 0.2, ("r", "b"): 0.4}
    mixed = mix_score_function(
        lambda ps: np.array([ours[p] for p in ps]), lambda ps: np.array([theirs[p] for p in ps]), 0.25
    )(pairs)
    z = np.sqrt(1.5)  # the z-scores of (1, 2, 3) and of (0.9, 0.1, 0.5) are +-sqrt(1.5) and 0
    expected_q = 0.25 * np.array([-z, 0, z]) + 0.75 * np.array([z, -z, 0])
    np.testing.assert_allclose(mixed[:3], expected_q)
    np.testing.assert_allclose(mixed[3:], 0.75 * np.array([-1.0, 1.0]))  # our constant scores add nothing


def test_eval_mixes_each_model_with_another_models_scores(
    tiny_cross_encoder: HubModel, tiny_bi_encoder: HubModel, reranking_repo: tuple[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "mixed.json"
    result = run_cli(
        "eval", tiny_cross_encoder.ref, "--data", "@".join(reranking_repo),
        "--fuse-with", tiny_bi_encoder.ref, "--fusion-weight", "0.4", "--json", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    models = json.loads(out.read_text())["models"]
    label = f"{tiny_cross_encoder.ref} + {tiny_bi_encoder.ref} (z-scores, 0.4:0.6)"
    assert [entry["label"] for entry in models] == [tiny_cross_encoder.ref, label]
    assert models[1]["results"][0]["metrics"] != models[0]["results"][0]["metrics"]


def test_fuse_with_a_model_that_scores_nothing_is_refused_before_scoring(
    tiny_cross_encoder: HubModel, reranking_repo: tuple[str, str], tmp_path: Path
) -> None:
    from factories import build_tiny_bert_base

    folder = build_tiny_bert_base(tmp_path / "plain-bert")
    result = run_cli(
        "eval", tiny_cross_encoder.ref, "--data", "@".join(reranking_repo), "--fuse-with", str(folder)
    )
    assert result.exit_code == 2
    assert (
        f"--fuse-with {folder} is neither a sentence-transformers bi-encoder nor a cross-encoder"
        in result.output
    )
    assert "pairs scored" not in result.output
