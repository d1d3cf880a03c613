"""Retrieval over a split's whole corpus with a sparse encoder equals sentence-transformers'
SparseInformationRetrievalEvaluator: the ranking metrics and the sparsity it reports."""

from __future__ import annotations

import pytest
from factories import build_tiny_bi_encoder, build_tiny_sparse_encoder

from hubrerank.errors import InputError, RecipeError
from hubrerank.evaluation import run_evaluations
from hubrerank.evaluation.retrieval import evaluator_ks, retrieval_corpus
from hubrerank.evaluation.samples import load_reranking_data
from hubrerank.evaluation.sparse_retrieval import (
    SPARSITY_KEYS,
    evaluate_sparse_retrieval,
    load_sparse_encoder,
)


@pytest.fixture(scope="module")
def sparse_path(tmp_path_factory):
    return build_tiny_sparse_encoder(tmp_path_factory.mktemp("sparse") / "splade")


@pytest.mark.parametrize("at_k", [10, 5, 20])
def test_metrics_equal_sparse_information_retrieval_evaluator(reranking_file, sparse_path, at_k):
    from sentence_transformers.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator

    retriever = load_sparse_encoder(sparse_path)
    corpus = retrieval_corpus(load_reranking_data(str(reranking_file), split="test"))
    ours = evaluate_sparse_retrieval(retriever, corpus, at_k).metrics
    evaluator = SparseInformationRetrievalEvaluator(
        **corpus.evaluator_inputs(), **evaluator_ks(at_k), write_csv=False
    )
    prefix = f"{retriever.similarity_fn_name}_"
    theirs = {key.removeprefix(prefix): value for key, value in evaluator(retriever.model).items()}
    assert prefix == "dot_"
    assert set(ours) == set(theirs)
    assert set(SPARSITY_KEYS) <= set(ours) and f"ndcg@{at_k}" in ours
    for key, value in ours.items():
        assert value == pytest.approx(theirs[key], abs=1e-9, rel=0), key


def test_sparse_vectors_rank_by_the_terms_they_share(reranking_file, sparse_path):
    """A document sharing no active dimension with a query scores 0 and ranks after every document that
    shares one; the run keeps the scores the dot product gave."""
    retriever = load_sparse_encoder(sparse_path)
    corpus = retrieval_corpus(load_reranking_data(str(reranking_file), split="test"))
    outcome = evaluate_sparse_retrieval(retriever, corpus, 10)
    for ranking in outcome.rankings.values():
        scores = [score for _, score in ranking]
        assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_run_evaluations_records_the_retrieval_and_its_sparsity(reranking_file, sparse_path, tmp_path):
    plan = {"retrieval": [{"dataset": str(reranking_file), "split": "test", "at_k": 10}]}
    run = tmp_path / "run.txt"
    (result,) = run_evaluations(sparse_path, None, plan, run_file=run)["results"]
    assert result["task"] == "retrieval" and result["similarity"] == "dot"
    assert result["num_queries"] + result["queries_without_positives"] == 30
    assert 0 < result["metrics"]["query_active_dims"] <= result["metrics"]["corpus_active_dims"] + 200
    lines = run.read_text().splitlines()
    assert len(lines) == result["num_queries"] * min(100, result["corpus_size"])
    _, q0, _, rank, score, tag = lines[0].split()
    assert (q0, rank, tag) == ("Q0", "1", "hubrerank") and float(score) > 0


def test_the_same_model_evaluates_to_the_same_numbers(reranking_file, sparse_path):
    plan = {"retrieval": [{"dataset": str(reranking_file), "split": "test"}]}
    assert run_evaluations(sparse_path, None, plan) == run_evaluations(sparse_path, None, plan)


def test_a_sparse_encoder_has_no_triplet_task(reranking_file, sparse_path):
    plan = {"triplet": [{"dataset": str(reranking_file), "split": "test"}]}
    with pytest.raises(
        RecipeError, match="evaluates a sparse-encoder by retrieval, encoder-reranking and NanoBEIR"
    ):
        run_evaluations(sparse_path, None, plan)


def test_loading_a_bi_encoder_as_a_sparse_encoder_is_one_line(tmp_path):
    folder = build_tiny_bi_encoder(tmp_path / "bi")
    with pytest.raises(InputError, match=r"is a bi-encoder model, not a sparse encoder \(SparseEncoder\)$"):
        load_sparse_encoder(folder)


def test_a_sparse_encoder_on_another_backend_is_one_line(sparse_path):
    from hubrerank.runtime import Variant

    onnx = Variant(backend="onnx", model_file="onnx/model.onnx")
    with pytest.raises(InputError, match=r"a sparse encoder runs on torch here; drop --backend onnx$"):
        load_sparse_encoder(sparse_path, precision=onnx)


def test_trec_eval_reads_the_run_file_and_agrees(reranking_file, sparse_path, tmp_path):
    import pytrec_eval

    from hubrerank.evaluation import read_run

    plan = {"retrieval": [{"dataset": str(reranking_file), "split": "test", "at_k": 10}]}
    run_file = tmp_path / "sparse.run"
    (result,) = run_evaluations(sparse_path, None, plan, run_file=run_file)["results"]
    corpus = retrieval_corpus(load_reranking_data(str(reranking_file), split="test"))
    qrels = {qid: dict.fromkeys(docs, 1) for qid, docs in corpus.relevant_docs.items()}
    run = {qid: dict(ranking) for qid, ranking in read_run(run_file).items()}
    names = {"ndcg_cut_10": "ndcg@10", "recall_10": "recall@10", "P_10": "precision@10", "map": "map@100"}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, set(names)).evaluate(run)
    assert len(per_query) == result["num_queries"]
    for measure, ours in names.items():
        mean = sum(scores[measure] for scores in per_query.values()) / len(per_query)
        assert mean == pytest.approx(result["metrics"][ours], abs=1e-6), measure


def test_nanobeir_retrieval_equals_sparse_nanobeir_evaluator(nanobeir_repo, sparse_path, tmp_path):
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.evaluation import SparseNanoBEIREvaluator

    from hubrerank.hub import download
    from hubrerank.refs import ResolvedRef

    repo_id, sha = nanobeir_repo
    plan = {"nanobeir": {"dataset": repo_id, "revision": sha, "datasets": ["msmarco", "nq"]}}
    run_file = tmp_path / "nano.run"
    (result,) = run_evaluations(sparse_path, None, plan, run_file=run_file)["results"]
    assert (result["task"], result["similarity"], result["revision"]) == ("nanobeir-retrieval", "dot", sha)

    folder = download(ResolvedRef(repo_id, sha, "dataset"))
    direct = SparseNanoBEIREvaluator(["msmarco", "nq"], dataset_id=str(folder), write_csv=False)
    expected = direct(SparseEncoder(str(sparse_path)))
    assert set(result["metrics"]) == set(expected)
    assert {"NanoBEIR_mean_dot_ndcg@10", "NanoBEIR_mean_query_active_dims"} <= set(expected)
    for key, value in expected.items():
        assert result["metrics"][key] == pytest.approx(value, abs=1e-9, rel=0), key
    assert {line.split()[0].split(":")[0] for line in run_file.read_text().splitlines()} == {
        "NanoMSMARCO",
        "NanoNQ",
    }


def test_eval_cli_compares_a_sparse_encoder_with_a_bi_encoder_by_retrieval(
    reranking_file, sparse_path, tmp_path
):
    import json

    from helpers import run_cli

    bi = build_tiny_bi_encoder(tmp_path / "bi")
    json_path = tmp_path / "results.json"
    result = run_cli(
        "eval", str(sparse_path), str(bi), "--data", str(reranking_file), "--json", str(json_path)
    )

    assert result.exit_code == 0, result.output
    assert f"{sparse_path} against the other retrievers, NDCG@10 per query" in result.output
    first, second = json.loads(json_path.read_text())["models"]
    assert first["results"][0]["task"] == second["results"][0]["task"] == "retrieval"
    assert "corpus_active_dims" in first["results"][0]["metrics"]
    [versus] = first["results"][0]["versus_models"]
    assert versus["model"] == str(bi)


def test_eval_cli_refuses_reranking_options_for_a_sparse_encoder(reranking_file, sparse_path):
    from helpers import run_cli

    result = run_cli("eval", str(sparse_path), "--data", str(reranking_file), "--fuse-first-stage")
    assert result.exit_code == 2, result.output
    assert "--fuse-first-stage reranks with cross-encoders, but" in result.output
    assert "is a sparse-encoder (a retriever)" in result.output
