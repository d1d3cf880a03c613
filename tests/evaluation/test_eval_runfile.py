"""TREC run and qrels files, and the metrics checked against trec_eval (pytrec-eval-terrier) on TREC DL19."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from evaluation_fixtures import build_word_cross_encoder

from hubrerank.evaluation import (
    RerankingRow,
    Scorer,
    evaluate_rows,
    read_qrels,
    read_run,
    rows_from_trec,
    write_run,
)


def _trec_eval(qrels: dict, run: dict, measure: str, queries: list[str]) -> float:
    """The mean of trec_eval's ``measure`` over ``queries`` (a query absent from the run counts as 0)."""
    import pytrec_eval

    per_query = pytrec_eval.RelevanceEvaluator(qrels, {measure}).evaluate(run)
    key = measure.replace(".", "_")
    return float(np.mean([per_query.get(qid, {}).get(key, 0.0) for qid in queries]))


def _as_trec(rankings: dict[str, list[tuple[str, float]]], depth: int | None = None) -> dict:
    return {qid: {doc: score for doc, score in ranking[:depth]} for qid, ranking in rankings.items()}


def test_run_and_qrels_files_round_trip(tmp_path: Path) -> None:
    run = {"q 1": [("d2", 0.75), ("d1", 0.25)], "q2": [("d1", 1.0)]}
    path = write_run(tmp_path / "run.txt", run, tag="my model")
    assert path.read_text().splitlines()[0] == "q_1 Q0 d2 1 0.75 my_model"
    assert read_run(path) == {"q_1": [("d2", 0.75), ("d1", 0.25)], "q2": [("d1", 1.0)]}

    (tmp_path / "qrels.trec").write_text("q1 0 d1 2\nq1 0 d2 0\n")
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\n")
    assert (
        read_qrels(tmp_path / "qrels.trec")
        == read_qrels(tmp_path / "qrels.tsv")
        == {"q1": {"d1": 2, "d2": 0}}
    )


@pytest.fixture(scope="module")
def dl19(shared_data: Path) -> Path:
    folder = shared_data / "trec-dl19" / "derived"
    if not (folder / "bm25.run.trec.txt").is_file():
        pytest.skip(f"TREC DL19 not found in {folder}")
    return folder


@pytest.fixture(scope="module")
def dl19_cross_encoder(dl19: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny cross-encoder that knows DL19's 5,000 most frequent words: passages fit in 256 tokens, so
    no two inputs are cut to the same prefix (which would tie their scores; trec_eval and the evaluator
    break ties differently)."""
    counts = Counter(re.findall(r"[a-z0-9]+", (dl19 / "corpus.jsonl").read_text(encoding="utf-8").lower()))
    words = [word for word, _ in counts.most_common(5000)]
    return build_word_cross_encoder(tmp_path_factory.mktemp("eval-models") / "dl19-cross-encoder", words)


def _without_identical_inputs(rows: list[RerankingRow], tokenizer: Any) -> list[RerankingRow]:
    """The rows without passages that tokenize like an earlier one of the same list.

    DL19 has near-duplicate passages (differing in whitespace or mis-encoded characters) that the
    model reads identically, so their scores tie; trec_eval breaks ties by doc id while sklearn averages
    them, and no run file can agree with both. Dropping the few repeats removes the ties.
    """
    kept = []
    for row in rows:
        seen: set[tuple[int, ...]] = set()
        pairs = []
        for document, doc_id in zip(row.documents, row.document_ids, strict=True):
            key = tuple(tokenizer(document)["input_ids"])
            if key not in seen:
                seen.add(key)
                pairs.append((document, doc_id))
        documents = [document for document, _ in pairs]
        kept.append(
            dataclasses.replace(
                row,
                documents=documents,
                document_ids=[doc_id for _, doc_id in pairs],
                positive=[text for text in row.positive if text in documents],
            )
        )
    return kept


def _rows(dl19: Path) -> list[RerankingRow]:
    return rows_from_trec(
        dl19 / "corpus.jsonl", dl19 / "queries.jsonl", dl19 / "qrels.trec.txt", dl19 / "bm25.run.trec.txt"
    )


def test_the_bm25_order_of_trec_dl19(dl19: Path, tmp_path: Path) -> None:
    bm25 = read_run(write_run(tmp_path / "bm25.txt", read_run(dl19 / "bm25.run.trec.txt"), "bm25"))
    graded = read_qrels(dl19 / "qrels.trec.txt")
    queries = list(bm25)
    assert len(queries) == 43
    assert _trec_eval(graded, _as_trec(bm25), "ndcg_cut.10", queries) == pytest.approx(0.5058, abs=1e-4)

    # sentence-transformers <= 6.2's semantics: grade >= 2 passages of the top-100 are the positives
    # (measurements.md); the corpus holds only the top-100's texts, so nothing is appended
    zeros = lambda pairs: np.zeros(len(pairs), np.float32)  # noqa: E731
    listed = evaluate_rows(_rows(dl19), zeros, definition="listed-positives").metrics
    assert listed["base_ndcg@10"] == pytest.approx(0.5038, abs=1e-4)
    assert listed["base_mrr@10"] == pytest.approx(0.7024, abs=1e-4)
    assert listed["base_map"] == pytest.approx(0.4598, abs=1e-4)

    # all-positives (>= 6.3) counts every grade >= 2 judgment, also those outside the top-100: it is
    # trec_eval's MAP and NDCG@10 of the BM25 run with the whole qrels, binarised at 2
    every = evaluate_rows(_rows(dl19), zeros, definition="all-positives").metrics
    binary = {qid: {doc: int(grade >= 2) for doc, grade in docs.items()} for qid, docs in graded.items()}
    top100 = {qid: dict(list(ranking.items())[:100]) for qid, ranking in _as_trec(bm25).items()}
    assert every["base_map"] == pytest.approx(_trec_eval(binary, top100, "map", queries), abs=1e-9)
    trec_ndcg = _trec_eval(binary, top100, "ndcg_cut.10", queries)
    assert every["base_ndcg@10"] == pytest.approx(trec_ndcg, abs=1e-9)
    assert every["base_map"] == pytest.approx(0.248, abs=1e-3)  # docs/metrics.md's DL19 table


@pytest.mark.slow  # scores TREC DL19 with a model: 4 s
def test_a_models_metrics_equal_trec_eval_on_its_run_file(
    dl19: Path, dl19_cross_encoder: Path, tmp_path: Path
) -> None:
    scorer = Scorer(dl19_cross_encoder)
    rows = _without_identical_inputs(_rows(dl19), scorer.model.tokenizer)
    # judged against the top-100 only (the test_the_bm25_order_of_trec_dl19 checks all-positives against
    # the whole qrels)
    outcome = evaluate_rows(rows, scorer.predict, at_k=10, definition="listed-positives")
    assert all(len({score for _, score in ranking}) == len(ranking) for ranking in outcome.rankings.values())
    run = read_run(write_run(tmp_path / "model.run", outcome.rankings, "tiny"))
    assert len(run) == 42  # the query without a grade >= 2 passage in its top-100 is not scored

    # qrels binarised the evaluator's way (grade >= 2) and restricted to each query's top-100
    graded = read_qrels(dl19 / "qrels.trec.txt")
    binary = {
        row.query_id: {
            doc_id: int(graded.get(row.query_id, {}).get(doc_id, 0) >= 2) for doc_id in row.document_ids
        }
        for row in rows
    }
    queries = [row.query_id for row in rows]
    metrics = outcome.metrics
    assert _trec_eval(binary, _as_trec(run), "ndcg_cut.10", queries) == pytest.approx(
        metrics["realistic_ndcg@10"], abs=1e-9
    )
    assert _trec_eval(binary, _as_trec(run), "map", queries) == pytest.approx(
        metrics["realistic_map"], abs=1e-9
    )
    assert _trec_eval(binary, _as_trec(run, 10), "recip_rank", queries) == pytest.approx(
        metrics["realistic_mrr@10"], abs=1e-9
    )
    # every positive is in the top-100 here, so injecting them changes nothing
    assert metrics["ndcg@10"] == pytest.approx(metrics["realistic_ndcg@10"], abs=1e-12)
    assert metrics["ndcg@10"] != pytest.approx(metrics["base_ndcg@10"])  # the model did rerank
