"""Retrieval over a split's whole corpus with a multi-vector (ColBERT-style) encoder equals
sentence-transformers' MultiVectorInformationRetrievalEvaluator; eval and pipeline take one as a retriever."""

from __future__ import annotations

import json

import pytest
from factories import build_tiny_multi_vector, build_tiny_sparse_encoder

from hubrerank.errors import InputError
from hubrerank.evaluation import run_evaluations
from hubrerank.evaluation.multi_vector_retrieval import (
    evaluate_multi_vector_retrieval,
    load_multi_vector_encoder,
)
from hubrerank.evaluation.retrieval import evaluator_ks, retrieval_corpus
from hubrerank.evaluation.samples import load_reranking_data


@pytest.fixture(scope="module")
def colbert_path(tmp_path_factory):
    return build_tiny_multi_vector(tmp_path_factory.mktemp("multi-vector") / "colbert")


@pytest.mark.parametrize("at_k", [10, 5])
def test_metrics_equal_multi_vector_information_retrieval_evaluator(reranking_file, colbert_path, at_k):
    from sentence_transformers.multi_vector_encoder.evaluation import MultiVectorInformationRetrievalEvaluator

    retriever = load_multi_vector_encoder(colbert_path)
    corpus = retrieval_corpus(load_reranking_data(str(reranking_file), split="test"))
    ours = evaluate_multi_vector_retrieval(retriever, corpus, at_k).metrics
    evaluator = MultiVectorInformationRetrievalEvaluator(
        **corpus.evaluator_inputs(), **evaluator_ks(at_k), write_csv=False
    )
    prefix = f"{retriever.similarity_fn_name}_"
    theirs = {key.removeprefix(prefix): value for key, value in evaluator(retriever.model).items()}
    assert prefix == "maxsim_"
    assert set(ours) == set(theirs) and f"ndcg@{at_k}" in ours
    for key, value in ours.items():
        assert value == pytest.approx(theirs[key], abs=1e-9, rel=0), key


def test_run_evaluations_records_the_retrieval_and_a_run_file(reranking_file, colbert_path, tmp_path):
    plan = {"retrieval": [{"dataset": str(reranking_file), "split": "test", "at_k": 10}]}
    run = tmp_path / "run.txt"
    (result,) = run_evaluations(colbert_path, None, plan, run_file=run)["results"]
    assert result["task"] == "retrieval" and result["similarity"] == "maxsim"
    assert result["num_queries"] + result["queries_without_positives"] == 30
    assert len(run.read_text().splitlines()) == result["num_queries"] * min(100, result["corpus_size"])
    assert run_evaluations(colbert_path, None, plan)["results"] == [result]  # the same numbers again


def test_nanobeir_retrieval_equals_multi_vector_nanobeir_evaluator(nanobeir_repo, colbert_path):
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.multi_vector_encoder.evaluation import MultiVectorNanoBEIREvaluator

    from hubrerank.hub import download
    from hubrerank.refs import ResolvedRef

    repo_id, sha = nanobeir_repo
    plan = {"nanobeir": {"dataset": repo_id, "revision": sha, "datasets": ["msmarco", "nq"]}}
    (result,) = run_evaluations(colbert_path, None, plan)["results"]
    assert (result["task"], result["similarity"]) == ("nanobeir-retrieval", "maxsim")

    folder = download(ResolvedRef(repo_id, sha, "dataset"))
    direct = MultiVectorNanoBEIREvaluator(["msmarco", "nq"], dataset_id=str(folder), write_csv=False)
    expected = direct(MultiVectorEncoder(str(colbert_path)))
    assert set(result["metrics"]) == set(expected) and "NanoBEIR_mean_maxsim_ndcg@10" in expected
    for key, value in expected.items():
        assert result["metrics"][key] == pytest.approx(value, abs=1e-9, rel=0), key


def test_eval_and_pipeline_take_a_multi_vector_retriever(reranking_file, colbert_path, tmp_path):
    from helpers import run_cli

    splade = build_tiny_sparse_encoder(tmp_path / "splade")
    json_path = tmp_path / "results.json"
    result = run_cli(
        "eval", str(colbert_path), str(splade), "--data", str(reranking_file), "--json", str(json_path)
    )
    assert result.exit_code == 0, result.output
    first, second = json.loads(json_path.read_text())["models"]
    assert [first["results"][0]["task"], second["results"][0]["task"]] == ["retrieval", "retrieval"]
    assert first["results"][0]["versus_models"][0]["model"] == str(splade)

    pipelines = tmp_path / "pipelines.json"
    arguments = ("--retriever", str(colbert_path), "--retriever-name", "ColBERT", "--bm25", "--hybrid", "0.5")
    result = run_cli("pipeline", "--data", str(reranking_file), *arguments, "--json", str(pipelines))
    assert result.exit_code == 0, result.output
    names = [pipeline["name"] for pipeline in json.loads(pipelines.read_text())["pipelines"]]
    assert names == ["ColBERT", "BM25", "BM25 + ColBERT (RRF 0.5:0.5)"]


def test_loading_a_sparse_encoder_as_a_multi_vector_encoder_is_one_line(tmp_path):
    folder = build_tiny_sparse_encoder(tmp_path / "splade")
    with pytest.raises(InputError, match=r"is a sparse-encoder model, not a multi-vector encoder"):
        load_multi_vector_encoder(folder)


def test_a_multi_vector_encoder_reranks_bm25s_top_k_by_maxsim(reranking_file, colbert_path, tmp_path):
    """Reranking BM25's top 5 by MaxSim: each query's top 5 are BM25's five, ordered by the multi-vector
    encoder's own scores, and the rest keep BM25's order."""
    from hubrerank.evaluation import read_run
    from hubrerank.evaluation.pipeline import PipelineRequest, evaluate_pipelines

    run_file = tmp_path / "runs.txt"
    request = PipelineRequest(
        data=str(reranking_file),
        bm25=True,
        reranker=str(colbert_path),
        reranker_name="ColBERT",
        top_k=5,
        run_file=run_file,
    )
    names = [pipeline.name for pipeline in evaluate_pipelines(request).pipelines]
    assert names == ["BM25", "BM25 + ColBERT (top 5)"]
    bm25 = read_run(tmp_path / "runs.BM25.txt")
    reranked = read_run(next(path for path in tmp_path.glob("runs.*.txt") if "ColBERT" in path.name))

    corpus = retrieval_corpus(load_reranking_data(str(reranking_file), split="test"))
    scores = load_multi_vector_encoder(colbert_path).similarity_matrix(corpus)
    column = {doc: index for index, doc in enumerate(corpus.corpus)}
    for row, qid in enumerate(corpus.queries):
        first = [doc for doc, _ in bm25[qid]]
        ours = [doc for doc, _ in reranked[qid]]
        by_maxsim = sorted(first[:5], key=lambda doc: -scores[row, column[doc]])
        assert ours[:5] == by_maxsim and ours[5:] == first[5:]
