"""The paired randomization test of a reranking against the first stage's order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hubrerank.evaluation import evaluate_rows, rows_from_samples
from hubrerank.evaluation.significance import versus_first_stage


def test_counts_and_delta() -> None:
    result = versus_first_stage([1.0, 0.5, 0.3, 0.0], [0.5, 0.5, 0.6, 0.0], "realistic_ndcg@10")
    assert (result["wins"], result["losses"], result["ties"], result["queries"]) == (1, 1, 2, 4)
    assert result["delta"] == pytest.approx((0.5 - 0.3) / 4)
    assert result["metric"] == "realistic_ndcg@10" and "randomization" in result["test"]


def test_p_value_equals_the_exact_paired_randomization_test() -> None:
    """With 6 queries scipy enumerates all 2^6 sign flips; the p-value must equal counting them here."""
    model = np.array([0.9, 0.8, 0.7, 0.6, 0.65, 0.2])
    stage = np.array([0.5, 0.6, 0.4, 0.7, 0.3, 0.2])
    differences = model - stage
    observed = abs(differences.mean())
    flips = [np.array(signs) for signs in itertools.product((1, -1), repeat=len(differences))]
    extreme = sum(abs((signs * differences).mean()) >= observed - 1e-12 for signs in flips)
    assert versus_first_stage(model, stage, "m")["p_value"] == pytest.approx(extreme / len(flips))


def test_a_clear_gain_is_significant_and_no_change_is_not() -> None:
    rng = np.random.default_rng(1)
    stage = rng.uniform(0, 0.6, size=200)
    assert versus_first_stage(stage + 0.3, stage, "m")["p_value"] < 0.001
    same = versus_first_stage(stage, stage, "m")
    assert (same["p_value"], same["delta"], same["ties"]) == (1.0, 0.0, 200)
    noise = stage + rng.normal(0, 0.1, size=200)
    again = versus_first_stage(noise, stage, "m")
    assert again["p_value"] > 0.05
    assert versus_first_stage(noise, stage, "m") == again  # seeded: the same p-value every time


def test_one_query_has_the_exact_p_value_of_one() -> None:
    """Both sign flips of a single pair give the same |mean|: p = 1 (scipy refuses one observation)."""
    result = versus_first_stage([1.0], [0.5], "m")
    assert (result["p_value"], result["wins"], result["delta"]) == (1.0, 1, 0.5)
    assert versus_first_stage([], [], "m")["p_value"] == 1.0


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="3 reranked values against 2"):
        versus_first_stage([1.0, 0.0, 0.5], [1.0, 0.0], "m")


def test_evaluate_rows_pairs_each_query_with_its_first_stage() -> None:
    samples = [
        {"query": "q", "positive": ["a"], "documents": ["b", "a", "c"]},  # reranking puts a first: a win
        {"query": "r", "positive": ["d"], "documents": ["d", "e"]},  # d stays first: a tie
        {"query": "s", "positive": [], "documents": ["f", "g"]},  # no positive: 0 against 0, a tie
    ]
    rows = rows_from_samples(samples)
    best = {"a": 1.0, "b": 0.5, "c": 0.1, "d": 0.9, "e": 0.1, "f": 0.1, "g": 0.2}
    outcome = evaluate_rows(rows, lambda pairs: np.array([best[doc] for _, doc in pairs]), at_k=10)
    versus = outcome.versus_first_stage
    assert versus is not None and (versus["wins"], versus["losses"], versus["ties"]) == (1, 0, 2)
    gained = outcome.metrics["realistic_ndcg@10"] - outcome.metrics["realistic_base_ndcg@10"]
    assert versus["delta"] == pytest.approx(gained)
    without_lists = rows_from_samples([{"query": "q", "positive": ["a"], "negative": ["b"]}])
    assert evaluate_rows(without_lists, lambda pairs: np.zeros(len(pairs))).versus_first_stage is None
