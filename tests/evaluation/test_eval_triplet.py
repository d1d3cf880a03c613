"""The triplet task: TripletEvaluator's own numbers, on a split's first three string columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import QA_TOPICS, build_tiny_bi_encoder

from hubrerank.errors import InputError
from hubrerank.evaluation import run_evaluations


@pytest.fixture(scope="module")
def bi_encoder(tmp_path_factory) -> Path:
    return build_tiny_bi_encoder(tmp_path_factory.mktemp("triplet") / "model")


def _triplets(folder: Path) -> tuple[Path, list[tuple[str, str, str]]]:
    """A parquet file whose string columns (after an integer id) are question, answer, other answer and a
    note: the triplets are the first three."""
    from datasets import Dataset

    triplets = [
        (query, answer, QA_TOPICS[(index + 1) % len(QA_TOPICS)][1])
        for index, (query, answer) in enumerate(QA_TOPICS)
    ]
    rows = [
        {"id": index, "question": anchor, "answer": positive, "other": negative, "note": "unused"}
        for index, (anchor, positive, negative) in enumerate(triplets)
    ]
    path = folder / "triplets.parquet"
    Dataset.from_list(rows).to_parquet(str(path))
    return path, triplets


def test_triplet_metrics_are_triplet_evaluators_own(bi_encoder, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.evaluation import TripletEvaluator

    path, triplets = _triplets(tmp_path)
    anchors, positives, negatives = (list(column) for column in zip(*triplets, strict=True))
    model = SentenceTransformer(str(bi_encoder))
    every = TripletEvaluator(
        anchors,
        positives,
        negatives,
        name="triplets-test",
        write_csv=False,
        similarity_fn_names=["cosine", "dot", "euclidean", "manhattan"],
    )(model)
    default = TripletEvaluator(anchors, positives, negatives, write_csv=False)(model)  # the model's own

    measured = run_evaluations(bi_encoder, None, {"triplet": [{"dataset": str(path)}]}, cache=False)
    [result] = measured["results"]

    assert {key: result[key] for key in ("task", "config", "split", "columns", "num_triplets")} == {
        "task": "triplet",
        "config": "default",
        "split": "test",
        "columns": ["question", "answer", "other"],
        "num_triplets": len(QA_TOPICS),
    }
    assert result["similarity"] == model.similarity_fn_name == "cosine"
    assert result["metrics"] == {key.removeprefix("triplets-test_"): value for key, value in every.items()}
    assert result["metrics"]["cosine_accuracy"] == default["cosine_accuracy"]
    assert set(result["metrics"]) == {
        "cosine_accuracy",
        "dot_accuracy",
        "euclidean_accuracy",
        "manhattan_accuracy",
        "max_accuracy",
    }


def test_a_split_without_three_string_columns_is_refused_in_one_line(bi_encoder, tmp_path):
    from datasets import Dataset

    path = tmp_path / "reranking.parquet"
    rows = [{"query": query, "positive": [answer], "negative": ["no"]} for query, answer in QA_TOPICS]
    Dataset.from_list(rows).to_parquet(str(path))

    with pytest.raises(InputError) as error:
        run_evaluations(bi_encoder, None, {"triplet": [{"dataset": str(path), "split": "dev"}]}, cache=False)

    message = str(error.value)
    assert "\n" not in message
    assert message == (
        f"{path} split 'dev' has 1 string column(s) among its columns query, positive, negative; "
        "evaluation.triplet reads anchor, positive and negative from the first three string columns"
    )


def test_a_plan_cannot_judge_triplets_and_reranking_at_once(bi_encoder, tmp_path):
    from hubrerank.errors import RecipeError

    plan = {"triplet": [{"dataset": "ORG/triplets"}], "reranking": [{"dataset": "ORG/rerank"}]}
    with pytest.raises(RecipeError, match="triplet judges a retriever, reranking a cross-encoder; not both"):
        run_evaluations(bi_encoder, None, plan, cache=False)
