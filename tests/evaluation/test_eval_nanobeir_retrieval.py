"""NanoBEIR retrieval for bi-encoders: NanoBEIREvaluator's numbers at a pinned revision, through the
embedding cache, in eval_results.json, the eval table and a TREC run file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evaluation_fixtures import build_nanobeir_files
from factories import build_tiny_bi_encoder
from helpers import LocalHub

from hubrerank.embeddings import EmbeddingCache
from hubrerank.evaluation import run_evaluations
from hubrerank.evaluation.nanobeir import evaluate_nanobeir_retrieval
from hubrerank.evaluation.retrieval import load_bi_encoder
from hubrerank.hub import download
from hubrerank.refs import ResolvedRef


@pytest.fixture(scope="module")
def bi_encoder_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bi_encoder(tmp_path_factory.mktemp("nano-retrieval") / "bi")


def test_nanobeir_retrieval_equals_the_evaluator_at_the_pinned_revision(
    nanobeir_repo: tuple[str, str], bi_encoder_path: Path, tmp_path: Path
) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.evaluation import NanoBEIREvaluator

    repo_id, sha = nanobeir_repo
    cache = EmbeddingCache(tmp_path / "scores.sqlite")
    cold = load_bi_encoder(bi_encoder_path, cache)
    result = evaluate_nanobeir_retrieval(cold, repo_id, None, ["msmarco", "nq"])
    assert {
        key: result[key] for key in ("task", "dataset", "revision", "datasets", "at_k", "similarity")
    } == {
        "task": "nanobeir-retrieval",
        "dataset": repo_id,
        "revision": sha,  # main, resolved and recorded
        "datasets": ["msmarco", "nq"],
        "at_k": 10,
        "similarity": "cosine",
    }
    assert cold.computed > 0

    folder = download(ResolvedRef(repo_id, sha, "dataset"))
    direct = NanoBEIREvaluator(["msmarco", "nq"], dataset_id=str(folder), write_csv=False)
    expected = direct(SentenceTransformer(str(bi_encoder_path)))
    assert set(result["metrics"]) == set(expected)
    assert "NanoBEIR_mean_cosine_ndcg@10" in expected and "NanoNQ_cosine_map@100" in expected
    for key, value in expected.items():
        assert result["metrics"][key] == pytest.approx(value, abs=1e-9, rel=0), key

    warm = load_bi_encoder(bi_encoder_path, cache)
    assert evaluate_nanobeir_retrieval(warm, repo_id, sha, ["msmarco", "nq"]) == result
    assert (warm.computed, warm.reused) == (0, cold.computed)


def test_a_bi_encoder_plan_runs_nanobeir_retrieval(
    nanobeir_repo: tuple[str, str], bi_encoder_path: Path
) -> None:
    repo_id, sha = nanobeir_repo
    plan = {"nanobeir": {"dataset": repo_id, "revision": sha, "datasets": ["nq"], "at_k": 5}}
    (result,) = run_evaluations(bi_encoder_path, None, plan, cache=False)["results"]
    assert result["task"] == "nanobeir-retrieval" and result["at_k"] == 5
    assert "NanoNQ_cosine_ndcg@5" in result["metrics"]


def test_eval_cli_writes_the_retrieved_lists_and_trec_eval_agrees(
    nanobeir_repo: tuple[str, str], bi_encoder_path: Path, tmp_path: Path
) -> None:
    import datasets
    import pytrec_eval
    from helpers import run_cli

    from hubrerank.evaluation import read_run

    repo_id, sha = nanobeir_repo
    run_file = tmp_path / "nano.run"
    nanobeir = ("--nanobeir", f"{repo_id}@{sha}", "--nanobeir-datasets", "msmarco,nq")
    outputs = ("--run-file", str(run_file), "--json", str(tmp_path / "r.json"), "--no-cache")
    result = run_cli("eval", str(bi_encoder_path), *nanobeir, *outputs)
    assert result.exit_code == 0, result.output
    assert "NanoBEIR retrieval" in result.output

    run = read_run(run_file)
    assert {qid.split(":")[0] for qid in run} == {"NanoMSMARCO", "NanoNQ"}
    document = json.loads((tmp_path / "r.json").read_text())
    (entry,) = document["results"]
    assert entry["task"] == "nanobeir-retrieval" and entry["revision"] == sha
    folder = download(ResolvedRef(repo_id, sha, "dataset"))
    for split in ("NanoMSMARCO", "NanoNQ"):
        qrels: dict[str, dict[str, int]] = {}
        for row in datasets.load_dataset(str(folder), "qrels", split=split):
            qrels.setdefault(f"{split}:{row['query-id']}", {})[row["corpus-id"]] = 1
        subset_run = {
            qid: {doc: score for doc, score in ranking}
            for qid, ranking in run.items()
            if qid.startswith(split)
        }
        assert len(next(iter(subset_run.values()))) == 40  # the whole (40-document) corpus ranked
        per_query = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10"}).evaluate(subset_run)
        mean = sum(values["ndcg_cut_10"] for values in per_query.values()) / len(per_query)
        assert mean == pytest.approx(entry["metrics"][f"{split}_cosine_ndcg@10"], abs=1e-6), split


def test_a_retriever_needs_no_bm25_lists_but_a_reranker_does(
    hub: LocalHub, bi_encoder_path: Path, word_cross_encoder: Path
) -> None:
    from helpers import run_cli

    from hubrerank.hub import publish

    files = build_nanobeir_files({"NanoNQ": 3}, configs=("corpus", "queries", "qrels"))
    ref = publish("alice/nanobeir-no-bm25", files, repo_type="dataset", message="No bm25")
    nanobeir = ("--nanobeir", f"{ref.repo_id}@{ref.sha}", "--nanobeir-datasets", "nq", "--no-cache")
    assert run_cli("eval", str(bi_encoder_path), *nanobeir).exit_code == 0
    refused = run_cli("eval", str(bi_encoder_path), str(word_cross_encoder), *nanobeir)
    assert refused.exit_code == 2
    assert "lacks the config(s) bm25" in refused.output
