"""Tolerances (defaults by situation, tolerance files) and comparing claims with re-measured results."""

from __future__ import annotations

import pytest

from hubrerank.errors import InputError
from hubrerank.reproducibility.claims import claims_from_results
from hubrerank.reproducibility.tolerances import load_tolerance_file, reproduce_tolerances, verify_tolerances
from hubrerank.reproducibility.verify import compare

RERANKING = {
    "task": "reranking",
    "dataset": "acme/faq",
    "revision": "a" * 40,
    "config": "default",
    "split": "test",
    "at_k": 10,
    "num_queries": 50,
}
NANOBEIR = {
    "task": "nanobeir",
    "dataset": "sentence-transformers/NanoBEIR-en",
    "revision": "b" * 40,
    "datasets": ["msmarco", "nq"],
    "rerank_k": 100,
    "at_k": 10,
}


def results(ndcg: float, nano: float) -> dict:
    return {
        "results": [
            {**RERANKING, "metrics": {"ndcg@10": ndcg, "base_ndcg@10": 0.5}},
            {**NANOBEIR, "metrics": {"NanoBEIR_R100_mean_ndcg@10": nano, "NanoNQ_R100_base_ndcg@10": 0.4}},
        ]
    }


def test_defaults_depend_on_what_is_rerun_and_where():
    assert verify_tolerances().default == 0.001
    assert reproduce_tolerances(same_environment=True).for_metric("ndcg@10") == 0
    elsewhere = reproduce_tolerances(same_environment=False)
    assert elsewhere.for_metric("ndcg@10") == 0.01
    assert elsewhere.for_metric("NanoBEIR_R100_mean_ndcg@10") == 0.07
    assert reproduce_tolerances(False, tolerance=0.2).for_metric("NanoNQ_R100_map") == 0.2


def test_a_tolerance_file_matches_keys_and_labels_exact_names_first(tmp_path):
    path = tmp_path / "tolerances.yaml"
    path.write_text('default: 0.02\nmetrics:\n  "*ndcg*": 0.005\n  "acme/faq:test/*": 0.003\n  "map": 0.1\n')

    tolerances = load_tolerance_file(path)

    assert tolerances.for_metric("ndcg@10", "acme/faq:test/ndcg@10") == 0.005  # first matching pattern
    assert tolerances.for_metric("mrr@10", "acme/faq:test/mrr@10") == 0.003
    assert tolerances.for_metric("map", "acme/faq:test/map") == 0.1  # an exact name beats the patterns
    assert tolerances.for_metric("hit_rate@1", "other/data:test/hit_rate@1") == 0.02


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics: {}\n", "must be a mapping with 'default'"),
        ("default: -1\n", "'default' must be a number >= 0"),
        ("default: 0.1\nmetrics: {ndcg@10: fast}\n", "metrics['ndcg@10'] must be a number"),
        ("default: [\n", "is not valid YAML"),
    ],
)
def test_a_bad_tolerance_file_is_a_one_line_error(tmp_path, text, message):
    path = tmp_path / "tolerances.yaml"
    path.write_text(text)

    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("(", r"\(")) as error:
        load_tolerance_file(path)

    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_claims_skip_first_stage_metrics_and_match_their_evaluation():
    claims = claims_from_results(results(0.70, 0.60), "eval_results.json")

    checks = compare(claims, results(0.7005, 0.65), reproduce_tolerances(same_environment=False))

    assert [(c.claim.label, c.ok) for c in checks] == [
        ("acme/faq:test/ndcg@10", True),
        ("NanoBEIR_R100_mean_ndcg@10", True),
    ]
    assert checks[1].delta == pytest.approx(0.05)


def test_a_claim_measured_on_another_revision_is_missing_not_compared():
    claims = claims_from_results(results(0.70, 0.60), "eval_results.json")
    elsewhere = results(0.70, 0.60)
    elsewhere["results"][0]["revision"] = "c" * 40

    [reranking, _] = compare(claims, elsewhere, verify_tolerances())

    assert reranking.measured is None and not reranking.ok
