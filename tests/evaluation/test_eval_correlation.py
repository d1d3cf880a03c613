"""Distillation metrics: Pearson and Spearman of the model's scores against the teacher ``scores`` a
reranking split carries, exactly as sentence-transformers' CrossEncoderCorrelationEvaluator computes them,
in eval_results.json, the eval tables and the model card."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
from evaluation_fixtures import parquet_bytes, reranking_records
from helpers import HubModel, run_cli

from hubrerank.evaluation import Scorer, evaluate_rows, rows_from_samples


def scored_records() -> list[dict]:
    """:func:`reranking_records` with a teacher score for most first-stage documents (None for some)."""
    rng = random.Random(3)
    records = copy.deepcopy(reranking_records())
    for record in records:
        if record.get("documents"):
            record["scores"] = [
                None if rng.random() < 0.2 else round(rng.random(), 3) for _ in record["documents"]
            ]
    return records


def _evaluator_pairs(records: list[dict]) -> tuple[list[list[str]], list[float]]:
    pairs, scores = [], []
    for record in records:
        for document, score in zip(record.get("documents") or [], record.get("scores") or [], strict=False):
            if score is not None:
                pairs.append([record["query"], document])
                scores.append(score)
    return pairs, scores


def test_pearson_and_spearman_equal_the_correlation_evaluator(tiny_cross_encoder: HubModel) -> None:
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator

    records = scored_records()
    scorer = Scorer(tiny_cross_encoder.path)
    outcome = evaluate_rows(rows_from_samples(records), scorer.predict, 10)

    pairs, scores = _evaluator_pairs(records)
    evaluator = CrossEncoderCorrelationEvaluator(pairs, scores, write_csv=False)
    same_scores = evaluator(scorer)  # the evaluator calling predict on the same scores
    assert outcome.teacher_pairs == len(pairs) > 100
    assert outcome.metrics["pearson"] == pytest.approx(same_scores["pearson"], abs=1e-9)
    assert outcome.metrics["spearman"] == pytest.approx(same_scores["spearman"], abs=1e-9)
    model = evaluator(CrossEncoder(str(tiny_cross_encoder.path)))  # its own forward passes
    assert outcome.metrics["pearson"] == pytest.approx(model["pearson"], abs=1e-6)
    assert outcome.metrics["spearman"] == pytest.approx(model["spearman"], abs=1e-6)


def test_data_without_scores_has_no_correlation(tiny_cross_encoder: HubModel) -> None:
    outcome = evaluate_rows(rows_from_samples(reranking_records()), Scorer(tiny_cross_encoder.path).predict)
    assert "pearson" not in outcome.metrics and outcome.teacher_pairs == 0


def test_eval_reports_correlation_in_results_tables_and_card(
    tiny_cross_encoder: HubModel, tmp_path: Path
) -> None:
    data = tmp_path / "scored.parquet"
    data.write_bytes(parquet_bytes(scored_records()))

    result = run_cli("eval", tiny_cross_encoder.ref, "--data", str(data), "--json", str(tmp_path / "r.json"))

    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "r.json").read_text())
    [reranking] = document["results"]
    assert set(reranking["metrics"]) >= {"pearson", "spearman"}
    assert reranking["teacher_pairs"] == len(_evaluator_pairs(scored_records())[1])
    assert (
        f"Distillation: correlation with the teacher scores ({reranking['teacher_pairs']} pairs)"
        in result.stdout
    )


def test_scores_not_aligned_with_documents_are_one_line(tiny_cross_encoder: HubModel, tmp_path: Path) -> None:
    records = scored_records()
    records[2]["scores"] = records[2]["scores"][:-1]
    data = tmp_path / "bad.parquet"
    data.write_bytes(parquet_bytes(records))

    result = run_cli("eval", tiny_cross_encoder.ref, "--data", str(data))

    assert result.exit_code == 2
    assert "row 2: scores has 11 values for 12 documents; they must be aligned" in result.output


def test_a_model_distilled_from_itself_correlates_perfectly(
    tiny_cross_encoder: HubModel, tiny_bi_encoder: HubModel, tmp_path: Path
) -> None:
    """``data build --teacher`` writes eval/test ``scores``; ``eval`` of the teacher itself gives 1."""
    from factories import QA_TOPICS

    qa_csv_path = tmp_path / "faq.csv"
    qa_csv_path.write_text("question,answer\n" + "".join(f"{q},{a}\n" for q, a in QA_TOPICS))
    out = tmp_path / "built"
    build = run_cli(
        "data", "build", str(qa_csv_path), "--out", str(out), "--teacher", str(tiny_cross_encoder.path),
        "--test-size", "4", "--eval-size", "0", "--mine-model", str(tiny_bi_encoder.path),
        "--first-stage", "embedding", "--candidates", "5",
    )  # fmt: skip
    assert build.exit_code == 0, build.output

    result = run_cli(
        "eval", str(tiny_cross_encoder.path), "--data", str(out), "--json", str(tmp_path / "r.json")
    )

    assert result.exit_code == 0, result.output
    [reranking] = json.loads((tmp_path / "r.json").read_text())["results"]
    assert reranking["metrics"]["pearson"] == pytest.approx(1.0, abs=1e-6)
    assert reranking["metrics"]["spearman"] == pytest.approx(1.0, abs=1e-6)
