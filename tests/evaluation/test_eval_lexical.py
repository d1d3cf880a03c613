"""The BM25 row of `hubrerank eval --bm25`: the same candidates, reranked lexically."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import HubModel, run_cli

from hubrerank.evaluation.lexical import bm25_score_function
from hubrerank.evaluation.metrics import evaluate_rows
from hubrerank.evaluation.samples import RerankingRow


def test_bm25_prefers_documents_sharing_the_query_terms() -> None:
    roof, door = "the red roof has tiles", "paint the blue door"
    rows = [
        RerankingRow("q1", "red roof tiles", [roof], documents=["a blue door", roof, "green walls"]),
        RerankingRow("q2", "blue door paint", [door], documents=["red roof", "green walls", door]),
    ]
    score = bm25_score_function(rows)
    values = score([("red roof tiles", "the red roof has tiles"), ("red roof tiles", "green walls")])
    assert values[0] > 0 and values[1] == 0
    outcome = evaluate_rows(rows, score, at_k=10)
    assert outcome.metrics["realistic_ndcg@10"] == 1.0
    assert outcome.metrics["realistic_base_ndcg@10"] < 1.0  # the first stage put them 2nd and 3rd


def test_eval_adds_a_bm25_row(
    tiny_cross_encoder: HubModel, reranking_repo: tuple[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "results.json"
    result = run_cli(
        "eval", tiny_cross_encoder.ref, "--data", "@".join(reranking_repo), "--bm25", "--json", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "\nBM25 " in result.stdout
    labels = [entry["label"] for entry in json.loads(out.read_text())["models"]]
    assert labels == [tiny_cross_encoder.ref, "BM25"]


def test_bm25_keeps_stopwords_outside_english() -> None:
    """Spanish "no" is an English stopword: with ``en`` the query scores nothing."""
    rows = [RerankingRow("q", "no", ["no hay agua"], documents=["la casa", "no hay agua"])]
    pair = [("no", "no hay agua")]
    assert bm25_score_function(rows, "en")(pair)[0] == 0
    assert bm25_score_function(rows, "es")(pair)[0] > 0


def test_eval_passes_the_language_to_the_bm25_row(tiny_cross_encoder: HubModel, tmp_path: Path) -> None:
    from evaluation_fixtures import parquet_bytes

    data = tmp_path / "es.parquet"
    documents = ["la casa grande", "el perro", "no hay agua"]  # the first stage put the answer last
    rows = [{"query_id": "q", "query": "no", "positive": [documents[2]], "documents": documents}]
    data.write_bytes(parquet_bytes(rows))
    ndcg = {}
    for language in ("en", "es"):
        out = tmp_path / f"{language}.json"
        result = run_cli(
            "eval", tiny_cross_encoder.ref, "--data", str(data), "--bm25", "--language", language,
            "--json", str(out),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        [_, bm25] = json.loads(out.read_text())["models"]
        ndcg[language] = bm25["results"][0]["metrics"]["ndcg@10"]
    # en: "no" is dropped, every document scores 0 and the tie is averaged; es: the answer is first
    assert ndcg["en"] < 1.0 and ndcg["es"] == 1.0
