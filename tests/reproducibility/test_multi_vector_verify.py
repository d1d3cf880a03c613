"""A card sentence-transformers' own MultiVectorEncoderTrainer wrote, with a MultiVectorRerankingEvaluator
as its evaluator: `recipe from-card` rebuilds evaluation.encoder-reranking, and verify re-measures its
MAP, MRR@10 and NDCG@10 exactly. hubrerank's own card of a multi-vector encoder has that card's pipeline
tag."""

from __future__ import annotations

import json

import pytest
import yaml
from factories import build_tiny_bert_base
from helpers import card_front_matter, run_cli
from reproduce_fixtures import DATASET, write_recipe

from hubrerank.hub import publish

ST_COLBERT_RERANKING = "alice/st-colbert-reranking"


@pytest.fixture(scope="module")
def st_colbert_reranking(hub, faq_data, tmp_path_factory) -> str:
    """A MultiVectorEncoder built from a plain BERT checkpoint, trained a few steps by a plain
    sentence-transformers script (MultiVectorEncoderTrainer, MultiVectorMNRL) on data loaded from the Hub
    by revision, evaluated by a MultiVectorRerankingEvaluator named ``<dataset name>-<split>`` on each test
    query's first-stage documents (every positive included), pushed with ``push_to_hub``; its sha."""
    from datasets import load_dataset
    from sentence_transformers import (
        MultiVectorEncoder,
        MultiVectorEncoderTrainer,
        MultiVectorEncoderTrainingArguments,
    )
    from sentence_transformers.multi_vector_encoder.evaluation import MultiVectorRerankingEvaluator
    from sentence_transformers.multi_vector_encoder.losses import MultiVectorMultipleNegativesRankingLoss

    from hubrerank.hub import resolve

    work = tmp_path_factory.mktemp("st-colbert")
    base = build_tiny_bert_base(work / "base")
    files = {path.relative_to(base).as_posix(): path for path in base.rglob("*") if path.is_file()}
    base_sha = publish("alice/st-bert-base", files, message="Add a plain BERT base").sha
    test = load_dataset(DATASET, "rerank", split="test", revision=faq_data)
    samples = [
        {
            "query": row["query"],
            "positive": row["positive"],
            "negative": [text for text in row["documents"] if text not in row["positive"]],
        }
        for row in test
    ]
    evaluator = MultiVectorRerankingEvaluator(samples, name="repro-faq-test", write_csv=False)
    train = load_dataset(DATASET, "pairs", split="train", revision=faq_data)
    model = MultiVectorEncoder("alice/st-bert-base", revision=base_sha)
    model.max_seq_length = 32
    args = MultiVectorEncoderTrainingArguments(
        output_dir=str(work / "checkpoints"),
        max_steps=6,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        seed=12,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    loss = MultiVectorMultipleNegativesRankingLoss(model)
    MultiVectorEncoderTrainer(
        model=model, args=args, train_dataset=train, loss=loss, evaluator=evaluator
    ).train()
    evaluator(model)
    model.push_to_hub(ST_COLBERT_RERANKING)
    return resolve(ST_COLBERT_RERANKING).sha


def test_from_card_and_verify_on_a_multi_vector_reranking_evaluator_card(st_colbert_reranking, tmp_path):
    ref = f"{ST_COLBERT_RERANKING}@{st_colbert_reranking}"
    path = tmp_path / "recipe.yaml"
    written = run_cli("recipe", "from-card", ref, "-o", str(path))
    assert written.exit_code == 0, written.output
    recipe = yaml.safe_load(path.read_text())
    assert recipe["model"] == {"kind": "multi-vector", "max_length": 32}
    assert recipe["loss"]["name"] == "MultiVectorMultipleNegativesRankingLoss"
    entry = {"dataset": DATASET, "revision": "main", "config": "rerank", "split": "test", "at_k": 10}
    assert recipe["evaluation"] == {"encoder-reranking": [entry]}
    report_path = tmp_path / "report.json"
    verified = run_cli("verify", ref, "--json", str(report_path))
    assert verified.exit_code == 0, verified.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS"
    metrics = {row["metric"] for row in report["rows"]}
    reranking = f"{DATASET}:test/encoder-reranking"
    assert metrics == {f"{reranking}/map", f"{reranking}/mrr@10", f"{reranking}/ndcg@10"}
    assert all(row["source"] == "README.md model-index" for row in report["rows"])
    assert all(row["delta"] == 0 for row in report["rows"])


@pytest.fixture(scope="module")
def colbert_trained(hub, faq_data, st_colbert_reranking, tmp_path_factory) -> str:
    """A multi-vector encoder `hubrerank train` made from the same BERT base (MultiVectorMNRL on the
    split's (query, positive) pairs), judged by retrieval and encoder-reranking on the test split, pushed;
    returns ``REPO@SHA``."""
    from datasets import Dataset, load_dataset

    folder = tmp_path_factory.mktemp("colbert-trained")
    test = load_dataset(DATASET, "rerank", split="test", revision=faq_data)
    pairs = [{"query": row["query"], "positive": row["positive"][0]} for row in test]
    Dataset.from_list(pairs).push_to_hub("alice/repro-faq-mnrl", split="train")
    entry = {"dataset": DATASET, "config": "rerank", "split": "test"}
    recipe = write_recipe(
        folder,
        "alice/st-bert-base",
        model={"kind": "multi-vector", "max_length": 32},
        train={"dataset": "alice/repro-faq-mnrl", "split": "train"},
        loss={"name": "MultiVectorMNRL"},
        evaluation={"retrieval": [entry], "encoder-reranking": [entry]},
    )
    result = run_cli("train", str(recipe), "--out", str(folder / "out"), "--push", "alice/repro-colbert")
    assert result.exit_code == 0, result.output
    return next(line for line in result.output.splitlines() if line.startswith("alice/repro-colbert@"))


def test_the_model_index_task_type_is_the_pipeline_tag_sentence_transformers_writes(
    colbert_trained, st_colbert_reranking, tmp_path
):
    """hubrerank's card of a multi-vector encoder has the pipeline tag MultiVectorEncoder's own card has
    (feature-extraction), and so does its retrieval's model-index entry; its reranking of the same split is
    a reranker's (text-ranking), a result of its own. verify re-measures both, every delta 0."""
    ours = card_front_matter(*colbert_trained.split("@"))
    theirs = card_front_matter(ST_COLBERT_RERANKING, st_colbert_reranking)
    assert theirs["pipeline_tag"] == "feature-extraction" == ours["pipeline_tag"]
    results = ours["model-index"][0]["results"]
    tasks = [(result["task"]["type"], result["task"]["name"]) for result in results]
    assert tasks == [(theirs["pipeline_tag"], "Retrieval"), ("text-ranking", "Reranking")]
    report_path = tmp_path / "report.json"
    verified = run_cli("verify", colbert_trained, "--json", str(report_path))
    assert verified.exit_code == 0, verified.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS" and all(row["delta"] == 0 for row in report["rows"])
    assert not any(row["source"].endswith("model-index") for row in report["rows"])  # the card agrees
