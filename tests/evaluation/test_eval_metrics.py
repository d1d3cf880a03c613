"""The metrics equal CrossEncoderRerankingEvaluator's on the same data and model, in both settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from evaluation_fixtures import reranking_records

from hubrerank.errors import InputError
from hubrerank.evaluation import Scorer, evaluate_rows, rows_from_samples
from hubrerank.evaluation.metrics import candidates, metric_names


@pytest.mark.parametrize("always_rerank_positives", [True, False])
def test_metrics_equal_the_evaluators(word_cross_encoder: Path, always_rerank_positives: bool) -> None:
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    rows = rows_from_samples(reranking_records())
    samples = [row.sample() for row in rows]
    expected = CrossEncoderRerankingEvaluator(
        samples, at_k=10, always_rerank_positives=always_rerank_positives, write_csv=False
    )(CrossEncoder(str(word_cross_encoder)))
    outcome = evaluate_rows(rows, Scorer(word_cross_encoder).predict, at_k=10)

    prefix = "" if always_rerank_positives else "realistic_"
    assert set(expected) == {"map", "mrr@10", "ndcg@10", "base_map", "base_mrr@10", "base_ndcg@10"}
    for key, value in expected.items():
        mine = outcome.metrics[key if key.startswith("base_") else prefix + key]
        assert mine == pytest.approx(value, abs=1e-9), key
    # the two settings differ on this data (missed positives), so the comparison is not vacuous
    assert outcome.metrics["map"] != outcome.metrics["realistic_map"]


def test_the_four_settings_on_one_query() -> None:
    row = rows_from_samples([{"query": "q", "positive": ["a", "x"], "documents": ["b", "a", "c"]}])[0]
    assert candidates(row, "").documents == ["a", "x", "b", "c"]
    assert candidates(row, "").relevant == [1, 1, 0, 0]
    assert (candidates(row, "realistic_").documents, candidates(row, "realistic_").relevant) == (
        ["b", "a", "c"],
        [0, 1, 0],
    )
    assert candidates(row, "base_").relevant == [0, 1, 0, 1]  # the missed positive appended
    assert candidates(row, "realistic_base_").relevant == [0, 1, 0]

    scores = {"a": 0.2, "x": 0.9, "b": 0.5, "c": 0.1}
    outcome = evaluate_rows([row], lambda pairs: np.array([scores[doc] for _, doc in pairs]), at_k=10)
    metrics = outcome.metrics
    assert metrics["hit_rate@1"] == 1.0 and metrics["mrr@1"] == 1.0  # x first
    assert metrics["realistic_hit_rate@1"] == 0.0  # b, then a
    assert metrics["realistic_hit_rate@2"] == 1.0 and metrics["realistic_mrr@2"] == 0.5
    assert metrics["realistic_base_mrr@5"] == 0.5 and metrics["base_mrr@10"] == 0.5
    assert outcome.rankings["q0"][0][1] == 0.5  # the run keeps the realistic list: b first


def test_queries_without_positives_count_as_zero() -> None:
    rows = rows_from_samples(
        [
            {"query": "q", "positive": ["a"], "documents": ["a", "b"]},
            {"query": "r", "positive": [], "documents": ["c", "d"]},
        ]
    )
    outcome = evaluate_rows(rows, lambda pairs: np.arange(len(pairs), 0, -1, dtype=np.float32), at_k=10)
    assert outcome.queries_without_positives == 1
    assert outcome.metrics["ndcg@10"] == 0.5  # 1.0 for q, 0 for r: the mean is over both
    assert "q1" not in outcome.rankings  # nothing scored for r
    assert set(outcome.metrics) == {
        p + name for p in ("", "realistic_", "base_", "realistic_base_") for name in metric_names(10)
    }


def test_first_stage_metrics_only_with_documents() -> None:
    rows = rows_from_samples([{"query": "q", "positive": ["a"], "negative": ["b", "c"]}])
    outcome = evaluate_rows(rows, lambda pairs: np.array([1.0, 0.0, 0.5]), at_k=10)
    assert "base_map" not in outcome.metrics
    assert outcome.metrics["realistic_map"] == outcome.metrics["map"] == 1.0


def test_a_single_candidate_is_an_input_error() -> None:
    rows = rows_from_samples([{"query": "q", "positive": ["a"], "negative": []}])
    with pytest.raises(InputError, match="q0"):
        evaluate_rows(rows, lambda pairs: np.zeros(len(pairs)), at_k=10)


def test_the_two_definitions_by_hand() -> None:
    """One query, positives a and x, the first stage listing b, a, c (x missed), ranked as listed.

    listed-positives: NDCG@10 = (1/log2 3) / 1 = 0.6309, AP = 1/2 (a at rank 2, the only listed positive).
    all-positives: NDCG@10 = (1/log2 3) / (1 + 1/log2 3) = 0.3869, AP = 1/2 * 1/2 (half the positives
    listed) = 0.25.
    """
    rows = rows_from_samples([{"query": "q", "positive": ["a", "x"], "documents": ["b", "a", "c"]}])
    scores = {"b": 3.0, "a": 2.0, "c": 1.0, "x": 0.5}

    def score(pairs):
        return np.array([scores[doc] for _, doc in pairs], dtype=np.float32)

    listed = evaluate_rows(rows, score, at_k=10, definition="listed-positives")
    every = evaluate_rows(rows, score, at_k=10, definition="all-positives")

    third = 1 / np.log2(3)
    assert listed.metrics["realistic_ndcg@10"] == pytest.approx(third)
    assert listed.metrics["realistic_map"] == pytest.approx(0.5)
    assert every.metrics["realistic_ndcg@10"] == pytest.approx(third / (1 + third))
    assert every.metrics["realistic_map"] == pytest.approx(0.25)
    # the first stage: sentence-transformers <= 6.2 appends the missed x after the list; >= 6.3 does not
    assert listed.metrics["base_map"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert every.metrics["base_map"] == every.metrics["realistic_base_map"] == pytest.approx(0.25)
    # MRR, hit rates and the all-positives-injected setting do not depend on the definition
    for key in ("realistic_mrr@10", "realistic_hit_rate@1", "ndcg@10", "map", "mrr@10"):
        assert listed.metrics[key] == pytest.approx(every.metrics[key], abs=1e-15), key
    assert (listed.definition, every.definition) == ("listed-positives", "all-positives")
    assert listed.other_definitions["all-positives"]["realistic_map"] == every.metrics["realistic_map"]
    listed_ndcg = every.other_definitions["listed-positives"]["realistic_ndcg@10"]
    assert listed_ndcg == listed.metrics["realistic_ndcg@10"]
    assert "realistic_mrr@10" not in every.other_definitions["listed-positives"]


def test_without_missed_positives_the_definitions_agree() -> None:
    rows = rows_from_samples([{"query": "q", "positive": ["a"], "documents": ["b", "a", "c"]}])
    outcome = evaluate_rows(rows, lambda pairs: np.arange(len(pairs), dtype=np.float32), at_k=10)
    assert outcome.other_definitions == {}


def test_the_default_is_the_installed_release_definition() -> None:
    from importlib.metadata import version

    from hubrerank.evaluation.definitions import definition_of_release

    rows = rows_from_samples([{"query": "q", "positive": ["a", "x"], "documents": ["b", "a", "c"]}])
    outcome = evaluate_rows(rows, lambda pairs: np.arange(len(pairs), dtype=np.float32), at_k=10)
    assert outcome.definition == definition_of_release(version("sentence-transformers"))
