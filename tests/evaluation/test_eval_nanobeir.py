"""NanoBEIR on a dataset pinned to a revision, through the cache, equal to the evaluator run directly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evaluation_fixtures import build_nanobeir_files
from helpers import LocalHub

from hubrerank.errors import InputError
from hubrerank.evaluation import ScoreCache, Scorer, evaluate_nanobeir
from hubrerank.hub import download
from hubrerank.refs import ResolvedRef


@pytest.mark.parametrize("always_rerank_positives", [True, False])
def test_nanobeir_equals_the_evaluator_at_the_pinned_revision(
    nanobeir_repo: tuple[str, str], word_cross_encoder: Path, tmp_path: Path, always_rerank_positives: bool
) -> None:
    """hubrerank measures NanoBEIR reranking itself (under either definition); under the installed
    release's definition its numbers are the installed evaluator's, in both settings."""
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderNanoBEIREvaluator

    repo_id, sha = nanobeir_repo
    cache = ScoreCache(tmp_path / "scores.sqlite")
    scorer = Scorer(word_cross_encoder, cache=cache)
    result = evaluate_nanobeir(
        scorer, repo_id, sha, ["msmarco", "nq"], always_rerank_positives=always_rerank_positives
    )
    identity = ("task", "dataset", "revision", "datasets", "rerank_k", "at_k")
    assert {key: result[key] for key in identity} == {
        "task": "nanobeir",
        "dataset": repo_id,
        "revision": sha,
        "datasets": ["msmarco", "nq"],
        "rerank_k": 100,
        "at_k": 10,
    }
    assert result.get("always_rerank_positives", True) is always_rerank_positives

    folder = download(ResolvedRef(repo_id, sha, "dataset"))
    direct = CrossEncoderNanoBEIREvaluator(
        ["msmarco", "nq"],
        dataset_id=str(folder),
        write_csv=False,
        always_rerank_positives=always_rerank_positives,
    )
    expected = direct(CrossEncoder(str(word_cross_encoder)))
    assert list(result["metrics"]) == list(expected)
    for key, value in expected.items():
        assert result["metrics"][key] == pytest.approx(value, abs=1e-9), key
    assert "NanoBEIR_R100_mean_ndcg@10" in expected
    # BM25 misses positives in this data, so the other definition gives other first-stage numbers
    [(other, values)] = result["other_definitions"].items()
    assert other != result["metric_definition"] and "NanoBEIR_R100_mean_base_map" in values

    warm = Scorer(word_cross_encoder, cache=cache)
    again = evaluate_nanobeir(
        warm, repo_id, sha, ["msmarco", "nq"], always_rerank_positives=always_rerank_positives
    )
    assert again["metrics"] == result["metrics"]
    assert warm.computed == 0


def test_a_dataset_without_the_four_configs_is_refused(hub: LocalHub, word_cross_encoder: Path) -> None:
    from hubrerank.hub import publish

    files = build_nanobeir_files({"NanoMSMARCO": 2}, configs=("corpus", "queries", "qrels"))
    ref = publish("alice/not-nanobeir", files, repo_type="dataset", message="No bm25")
    with pytest.raises(InputError, match=r"lacks the config\(s\) bm25 \(needs corpus, queries, qrels, bm25"):
        evaluate_nanobeir(Scorer(word_cross_encoder), ref.repo_id, ref.sha, ["msmarco"])


def test_unknown_or_absent_subsets_are_refused(
    nanobeir_repo: tuple[str, str], word_cross_encoder: Path
) -> None:
    repo_id, sha = nanobeir_repo
    scorer = Scorer(word_cross_encoder)
    with pytest.raises(InputError, match=r"unknown NanoBEIR subset\(s\) msmacro"):
        evaluate_nanobeir(scorer, repo_id, sha, ["msmacro"])
    with pytest.raises(InputError, match="config 'corpus' has no split NanoSciFact"):
        evaluate_nanobeir(scorer, repo_id, sha, ["scifact"])


def test_the_run_file_holds_every_nanobeir_subset_and_trec_eval_agrees(
    nanobeir_repo: tuple[str, str], word_cross_encoder: Path, tmp_path: Path
) -> None:
    import datasets
    import pytrec_eval
    from helpers import run_cli

    from hubrerank.evaluation import read_run

    repo_id, sha = nanobeir_repo
    run_file = tmp_path / "nano.run"
    nanobeir = ("--nanobeir", f"{repo_id}@{sha}", "--nanobeir-datasets", "msmarco,nq")
    outputs = ("--run-file", str(run_file), "--json", str(tmp_path / "r.json"), "--no-cache")
    result = run_cli("eval", str(word_cross_encoder), *nanobeir, *outputs)
    assert result.exit_code == 0, result.output

    run = read_run(run_file)
    assert {qid.split(":")[0] for qid in run} == {"NanoMSMARCO", "NanoNQ"}
    assert all(
        [score for _, score in ranking] == sorted((s for _, s in ranking), reverse=True)
        for ranking in run.values()
    )
    folder = download(ResolvedRef(repo_id, sha, "dataset"))
    metrics = json.loads((tmp_path / "r.json").read_text())["results"][0]["metrics"]
    for split in ("NanoMSMARCO", "NanoNQ"):
        qrels: dict[str, dict[str, int]] = {}
        for row in datasets.load_dataset(str(folder), "qrels", split=split):
            qrels.setdefault(f"{split}:{row['query-id']}", {})[row["corpus-id"]] = 1
        subset_run = {
            qid: {doc: score for doc, score in ranking}
            for qid, ranking in run.items()
            if qid.startswith(split)
        }
        per_query = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10"}).evaluate(subset_run)
        mean = sum(values["ndcg_cut_10"] for values in per_query.values()) / len(per_query)
        assert mean == pytest.approx(metrics[f"{split}_R100_ndcg@10"], abs=1e-6), split
