"""NanoBEIR on a dataset pinned to a revision, through the cache, equal to the evaluator run directly."""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluation_fixtures import build_nanobeir_files
from helpers import LocalHub

from hubrerank.errors import InputError
from hubrerank.evaluation import ScoreCache, Scorer, evaluate_nanobeir
from hubrerank.hub import download
from hubrerank.refs import ResolvedRef


def test_nanobeir_equals_the_evaluator_at_the_pinned_revision(
    nanobeir_repo: tuple[str, str], word_cross_encoder: Path, tmp_path: Path
) -> None:
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderNanoBEIREvaluator

    repo_id, sha = nanobeir_repo
    cache = ScoreCache(tmp_path / "scores.sqlite")
    result = evaluate_nanobeir(Scorer(word_cross_encoder, cache=cache), repo_id, sha, ["msmarco", "nq"])
    assert {key: result[key] for key in ("task", "dataset", "revision", "datasets", "rerank_k", "at_k")} == {
        "task": "nanobeir",
        "dataset": repo_id,
        "revision": sha,
        "datasets": ["msmarco", "nq"],
        "rerank_k": 100,
        "at_k": 10,
    }

    folder = download(ResolvedRef(repo_id, sha, "dataset"))
    direct = CrossEncoderNanoBEIREvaluator(["msmarco", "nq"], dataset_id=str(folder), write_csv=False)
    expected = direct(CrossEncoder(str(word_cross_encoder)))
    assert set(result["metrics"]) == set(expected)
    for key, value in expected.items():
        assert result["metrics"][key] == pytest.approx(value, abs=1e-9), key
    assert "NanoBEIR_R100_mean_ndcg@10" in expected

    warm = Scorer(word_cross_encoder, cache=cache)
    assert evaluate_nanobeir(warm, repo_id, sha, ["msmarco", "nq"])["metrics"] == result["metrics"]
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
