"""Reranking a split's lists with a sparse or a multi-vector encoder equals sentence-transformers'
SparseRerankingEvaluator and MultiVectorRerankingEvaluator; the plan records it, and a pipeline reranks a
first stage's top-k by the evaluator's scores."""

from __future__ import annotations

import pytest
from factories import build_tiny_cross_encoder, build_tiny_multi_vector, build_tiny_sparse_encoder

from hubrerank.errors import RecipeError
from hubrerank.evaluation import run_evaluations
from hubrerank.evaluation.encoder_reranking import encoder_samples, evaluate_encoder_reranking
from hubrerank.evaluation.multi_vector_retrieval import load_multi_vector_encoder
from hubrerank.evaluation.samples import load_reranking_data
from hubrerank.evaluation.sparse_retrieval import load_sparse_encoder

EVALUATORS = {
    "sparse": ("sentence_transformers.sparse_encoder.evaluation", "SparseRerankingEvaluator"),
    "multi-vector": (
        "sentence_transformers.multi_vector_encoder.evaluation",
        "MultiVectorRerankingEvaluator",
    ),
}


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    folder = tmp_path_factory.mktemp("encoders")
    return {
        "sparse": (build_tiny_sparse_encoder(folder / "splade"), load_sparse_encoder),
        "multi-vector": (build_tiny_multi_vector(folder / "colbert"), load_multi_vector_encoder),
    }


def _evaluator(kind: str, samples: list, at_k: int, batch_size: int):
    import importlib

    module, name = EVALUATORS[kind]
    evaluator = getattr(importlib.import_module(module), name)
    return evaluator(samples, at_k=at_k, batch_size=batch_size, write_csv=False)


@pytest.mark.parametrize("at_k", [10, 3])
@pytest.mark.parametrize("kind", ["sparse", "multi-vector"])
def test_metrics_equal_the_kinds_reranking_evaluator(reranking_file, encoders, kind, at_k):
    path, load = encoders[kind]
    retriever = load(path, batch_size=8)
    data = load_reranking_data(str(reranking_file), split="test")
    ours = evaluate_encoder_reranking(retriever, {"at_k": at_k}, data)
    samples = [{"query": row.query, "positive": row.positive, "negative": row.negative} for row in data.rows]
    theirs = _evaluator(kind, samples, at_k, 8)(retriever.model)
    # the evaluator drops the 4 rows without a positive and the one row whose every document is positive
    assert ours["num_queries"] + ours["queries_left_out"] == len(data.rows) and ours["queries_left_out"] >= 4
    assert set(ours["metrics"]) == set(theirs) and f"ndcg@{at_k}" in theirs
    for key, value in theirs.items():
        assert ours["metrics"][key] == pytest.approx(value, abs=1e-9, rel=0), key
    assert ours["task"] == "encoder-reranking" and ours["similarity"] == retriever.similarity_fn_name


def test_a_row_with_a_first_stage_list_ranks_its_documents_with_every_positive(reranking_file):
    data = load_reranking_data(str(reranking_file), split="test")
    samples = encoder_samples(data)
    row = next(row for row in data.rows if row.documents and set(row.positive) - set(row.documents))
    (sample,) = [sample for sample in samples if sample["query"] == row.query]
    assert sample["positive"] == row.positive
    assert sample["negative"] == [doc for doc in row.documents if doc not in row.positive]


@pytest.mark.parametrize("kind", ["sparse", "multi-vector"])
def test_run_evaluations_records_encoder_reranking(reranking_file, encoders, kind):
    path, load = encoders[kind]
    plan = {
        "retrieval": [{"dataset": str(reranking_file), "split": "test"}],
        "encoder-reranking": [{"dataset": str(reranking_file), "split": "test", "at_k": 5}],
    }
    retrieval, reranking = run_evaluations(path, None, plan)["results"]
    assert retrieval["task"] == "retrieval" and reranking["task"] == "encoder-reranking"
    data = load_reranking_data(str(reranking_file), split="test")
    expected = evaluate_encoder_reranking(load(path), {"at_k": 5}, data)
    assert {key: value for key, value in reranking.items() if key != "revision"} == {
        key: value for key, value in expected.items() if key != "revision"
    }


def test_encoder_reranking_judges_only_sparse_and_multi_vector_encoders(reranking_file, tmp_path):
    plan = {"encoder-reranking": [{"dataset": str(reranking_file), "split": "test"}]}
    with pytest.raises(RecipeError, match="encoder-reranking judges a sparse or a multi-vector encoder"):
        run_evaluations(build_tiny_cross_encoder(tmp_path / "ce"), None, plan)


def test_a_sparse_reranker_reorders_bm25s_top_k_by_the_evaluators_scores(reranking_file, encoders, tmp_path):
    """`hubrerank pipeline --bm25 --reranker SPLADE`: each query's top 3 are BM25's three, ordered by the
    scores SparseRerankingEvaluator itself computes for those three candidates (recorded through its
    ``similarity_fct``), and the rest keep BM25's order."""
    from sentence_transformers.sparse_encoder.evaluation import SparseRerankingEvaluator

    from hubrerank.evaluation import read_run
    from hubrerank.evaluation.pipeline import PipelineRequest, evaluate_pipelines
    from hubrerank.evaluation.retrieval import retrieval_corpus

    path, load = encoders["sparse"]
    run_file = tmp_path / "runs.txt"
    request = PipelineRequest(
        data=str(reranking_file),
        bm25=True,
        reranker=str(path),
        reranker_name="SPLADE",
        top_k=3,
        run_file=run_file,
    )
    assert [p.name for p in evaluate_pipelines(request).pipelines] == ["BM25", "BM25 + SPLADE (top 3)"]
    bm25 = read_run(tmp_path / "runs.BM25.txt")
    reranked = read_run(next(path for path in tmp_path.glob("runs.*.txt") if "SPLADE" in path.name))
    corpus = retrieval_corpus(load_reranking_data(str(reranking_file), split="test"))
    model = load(path).model
    seen = []

    def similarity(query, documents):
        seen.append(model.similarity(query, documents))
        return seen[-1]

    tops = {qid: [doc for doc, _ in bm25[qid]] for qid in corpus.queries}
    # the evaluator's candidates are positives then negatives: one "positive", two "negatives"
    samples = [
        {
            "query": query,
            "positive": [corpus.corpus[tops[qid][0]]],
            "negative": [corpus.corpus[d] for d in tops[qid][1:3]],
        }
        for qid, query in corpus.queries.items()
    ]
    SparseRerankingEvaluator(samples, similarity_fct=similarity, write_csv=False)(model)
    assert len(seen) == len(corpus.queries)
    for qid, scores in zip(corpus.queries, seen, strict=True):
        first, ours = tops[qid], [doc for doc, _ in reranked[qid]]
        by_evaluator = sorted(first[:3], key=lambda doc: -float(scores.flatten()[first.index(doc)]))
        assert ours[:3] == by_evaluator and ours[3:] == first[3:]


def test_eval_cli_reranks_the_lists_with_sparse_and_multi_vector_encoders(reranking_file, encoders, tmp_path):
    import json

    from helpers import run_cli

    (sparse, load_sparse), (colbert, load_colbert) = encoders["sparse"], encoders["multi-vector"]
    json_path = tmp_path / "results.json"
    result = run_cli(
        "eval", str(sparse), str(colbert), "--data", str(reranking_file), "--json", str(json_path)
    )

    assert result.exit_code == 0, result.output
    assert "each ranking its own lists" in result.output
    assert f"{sparse} against the other retrievers, NDCG@10 per query" in result.output
    data = load_reranking_data(str(reranking_file), split="test")
    models = json.loads(json_path.read_text())["models"]
    for model, (path, load) in zip(models, [(sparse, load_sparse), (colbert, load_colbert)], strict=True):
        retrieval, reranking = model["results"]
        assert retrieval["task"] == "retrieval" and reranking["task"] == "encoder-reranking"
        assert reranking["metrics"] == evaluate_encoder_reranking(load(path), {"at_k": 10}, data)["metrics"]
