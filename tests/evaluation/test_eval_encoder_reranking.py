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
from hubrerank.runtime import Variant, result_variant

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
    ours = evaluate_encoder_reranking(retriever, {"at_k": at_k}, data).result
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
    expected = evaluate_encoder_reranking(load(path), {"at_k": 5}, data).result
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
        expected = evaluate_encoder_reranking(load(path), {"at_k": 10}, data).result
        assert reranking["metrics"] == expected["metrics"]


@pytest.mark.parametrize("kind", ["sparse", "multi-vector"])
def test_trec_eval_reads_the_run_file_and_agrees(reranking_file, encoders, kind, tmp_path):
    """The lists encoder-reranking ranked, as a TREC run: trec_eval's NDCG@10, MAP and reciprocal rank
    of the top 10 equal the evaluator's ndcg@10, map and mrr@10, query by query."""
    import pytrec_eval

    from hubrerank.evaluation import read_run

    path, load = encoders[kind]
    plan = {"encoder-reranking": [{"dataset": str(reranking_file), "split": "test", "at_k": 10}]}
    run_file = tmp_path / "reranked.run"
    (result,) = run_evaluations(path, None, plan, run_file=run_file)["results"]
    data = load_reranking_data(str(reranking_file), split="test")
    outcome = evaluate_encoder_reranking(load(path), {"at_k": 10}, data)
    run = read_run(run_file)
    assert run == outcome.rankings and len(run) == result["num_queries"]
    rows = {row.query_id: row for row in data.rows if row.query_id in run}
    qrels = {qid: {row.doc_id(text): 1 for text in row.positive} for qid, row in rows.items()}
    top10 = {qid: dict(ranking[:10]) for qid, ranking in run.items()}
    everything = {qid: dict(ranking) for qid, ranking in run.items()}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10", "map"}).evaluate(everything)
    reciprocal = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    for qid, ndcg in outcome.per_query_ndcg.items():
        assert per_query[qid]["ndcg_cut_10"] == pytest.approx(ndcg, abs=1e-9), qid
    for measure, ours, scores in (
        ("ndcg_cut_10", "ndcg@10", per_query),
        ("map", "map", per_query),
        ("recip_rank", "mrr@10", reciprocal),
    ):
        mean = sum(values[measure] for values in scores.values()) / len(scores)
        assert mean == pytest.approx(result["metrics"][ours], abs=1e-9), measure


def test_the_reranked_lists_go_beside_the_retrieved_ones(reranking_file, encoders, tmp_path):
    from hubrerank.evaluation import read_run

    path, load = encoders["sparse"]
    plan = {
        "retrieval": [{"dataset": str(reranking_file), "split": "test"}],
        "encoder-reranking": [
            {"dataset": str(reranking_file), "split": "test", "at_k": 10},
            {"dataset": str(reranking_file), "split": "test", "at_k": 3},
        ],
    }
    run_evaluations(path, None, plan, run_file=tmp_path / "runs.txt")
    reranked = read_run(tmp_path / "runs.encoder-reranking.txt")
    data = load_reranking_data(str(reranking_file), split="test")
    rankings = evaluate_encoder_reranking(load(path), {"at_k": 10}, data).rankings
    assert reranked == {f"{index}:{qid}": ranking for index in (0, 1) for qid, ranking in rankings.items()}
    retrieved = read_run(tmp_path / "runs.txt")
    assert set(retrieved) == {row.query_id for row in data.rows if row.positive}
    assert all(len(ranking) > len(rankings[qid]) for qid, ranking in retrieved.items() if qid in rankings)


def test_eval_cli_tests_two_encoders_query_by_query_on_their_reranking(reranking_file, encoders, tmp_path):
    """`hubrerank eval A B --data X`: A's encoder-reranking result carries the paired test of its
    per-query NDCG@10 against B's on the same lists, and the output shows it; `--run-file` writes each
    model's retrieved and reranked lists."""
    import json

    from helpers import run_cli

    from hubrerank.evaluation import read_run
    from hubrerank.evaluation.runfile import labelled_run_path
    from hubrerank.evaluation.significance import versus_first_stage

    (sparse, load_sparse), (colbert, load_colbert) = encoders["sparse"], encoders["multi-vector"]
    json_path, run_file = tmp_path / "results.json", tmp_path / "runs.txt"
    result = run_cli(
        "eval", str(sparse), str(colbert), "--data", str(reranking_file), "--json", str(json_path),
        "--run-file", str(run_file),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    title = f"{sparse} against the other retrievers, NDCG@10 per query, each ranking its own lists"
    assert title in result.output
    data = load_reranking_data(str(reranking_file), split="test")
    ours = evaluate_encoder_reranking(load_sparse(sparse), {"at_k": 10}, data).per_query_ndcg
    theirs = evaluate_encoder_reranking(load_colbert(colbert), {"at_k": 10}, data).per_query_ndcg
    first, second = json.loads(json_path.read_text())["models"]
    reranking = first["results"][1]
    assert reranking["task"] == "encoder-reranking"
    expected = versus_first_stage(list(ours.values()), [theirs[q] for q in ours], "ndcg@10")
    assert reranking["versus_models"] == [{"model": str(colbert), **expected}]
    assert expected["queries"] == reranking["num_queries"] and expected["wins"] + expected["losses"] > 0
    assert "versus_models" in first["results"][0] and "versus_models" not in second["results"][1]
    for model, load in ((sparse, load_sparse), (colbert, load_colbert)):
        reranked = labelled_run_path(labelled_run_path(run_file, str(model)), "encoder-reranking")
        expected_lists = evaluate_encoder_reranking(load(model), {"at_k": 10}, data).rankings
        assert read_run(reranked) == expected_lists
        assert read_run(labelled_run_path(run_file, str(model)))  # what it retrieved


@pytest.mark.parametrize("kind", ["sparse", "multi-vector"])
@pytest.mark.parametrize("scheme", ["linear", "whole"])
def test_results_record_the_dtype_scheme_the_encoder_ran_in(reranking_file, encoders, kind, scheme):
    path, _ = encoders[kind]
    plan = {"encoder-reranking": [{"dataset": str(reranking_file), "split": "test", "at_k": 5}]}
    precision = Variant("bfloat16", scheme=scheme)
    [result] = run_evaluations(path, None, plan, cache=False, precision=precision)["results"]
    assert (result["dtype"], result["dtype_scheme"]) == ("bfloat16", scheme)
    # sentence-transformers encodes these kinds in its own batches
    assert result["batching"] == "characters"
    assert result_variant(result) == Variant("bfloat16", scheme=scheme, batching="characters")
